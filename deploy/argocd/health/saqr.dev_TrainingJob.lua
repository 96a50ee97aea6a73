-- Argo CD health for saqr.dev/v1alpha1 TrainingJob.
-- A finished job is Healthy (Succeeded) or Degraded (Failed); a running one is Progressing; a
-- suspended one is Suspended. Lua 5.1 only (Argo CD runs gopher-lua).
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

local function is_true(kind)
  local c = condition(kind)
  return c ~= nil and c.status == "True"
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

local failures = {
  BackoffLimitExceeded = true, DeadlineExceeded = true, InvalidSpec = true, Failed = true,
  PromotionFailed = true, ReconcileError = true, Forbidden = true, QuotaExceeded = true,
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

-- Terminal states first: a finished job stays finished whatever suspend says.
if is_true("Failed") then
  hs.status = "Degraded"
  hs.message = describe(condition("Failed"))
  return hs
end
if is_true("Succeeded") then
  hs.status = "Healthy"
  hs.message = describe(condition("Succeeded"))
  return hs
end
if is_true("Suspended") or (obj.spec ~= nil and obj.spec.suspend == true) then
  hs.status = "Suspended"
  local c = condition("Suspended")
  hs.message = c ~= nil and describe(c) or "Suspended by spec.suspend"
  return hs
end
if is_true("Running") then
  hs.status = "Progressing"
  local c = condition("Running")
  hs.message = describe(c)
  if obj.status.active ~= nil then
    hs.message = hs.message .. " (" .. obj.status.active .. " active)"
  end
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "False" and failures[ready.reason or ""] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
hs.status = "Progressing"
hs.message = ready ~= nil and describe(ready) or "Waiting for the job to start"
return hs
