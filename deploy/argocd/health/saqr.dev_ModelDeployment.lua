-- Argo CD health for saqr.dev/v1alpha1 ModelDeployment.
-- Reads the operator's summary condition Ready, but only once the operator has observed the
-- current generation; Lua 5.1 only (Argo CD runs gopher-lua), no libraries beyond string/table.
local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

-- Ready=False reasons that will not clear without a change to the spec or the cluster.
local failures = {
  ProgressDeadlineExceeded = true, InvalidSpec = true, ImagePullFailed = true,
  CrashLoopBackOff = true, ReconcileError = true, Forbidden = true, QuotaExceeded = true,
  ModelUnavailable = true, RollbackFailed = true,
}

-- Progressing=True reasons that mean a rollout is under way (the Deployment controller's own,
-- which the operator passes on); NewReplicaSetAvailable and the like mean it is complete.
local rolling = {
  RollingOut = true, ReplicaSetUpdated = true, NewReplicaSetCreated = true, FoundNewReplicaSet = true,
}

local generation = obj.metadata.generation or 0

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  return hs
end
if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
if obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded)
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Ready condition is from generation " .. ready.observedGeneration
  return hs
end
if ready.status == "True" then
  local progressing = condition("Progressing")
  if progressing ~= nil and progressing.status == "True" and rolling[progressing.reason or ""] then
    hs.status = "Progressing"
    hs.message = describe(progressing)
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
if ready.status == "False" and failures[ready.reason or ""] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
hs.status = "Progressing"
hs.message = describe(ready)
return hs
