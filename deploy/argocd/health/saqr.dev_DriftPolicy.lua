-- Argo CD health for saqr.dev/v1alpha1 DriftPolicy.
-- Health is the policy's own: evaluating on schedule is Healthy even when it has found drift
-- (drift is the model's problem, reported through incidents and the message). A policy that
-- cannot evaluate (source unreachable, target missing) is Degraded. Lua 5.1 only.
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
  SourceUnavailable = true, TargetNotFound = true, InvalidSpec = true, BaselineInvalid = true,
  ReconcileError = true, Forbidden = true, SinkUnavailable = true,
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
if (obj.spec ~= nil and obj.spec.suspend == true) or is_true("Suspended") then
  hs.status = "Suspended"
  hs.message = "Evaluation suspended"
  return hs
end
if is_true("Degraded") then
  hs.status = "Degraded"
  hs.message = describe(condition("Degraded"))
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first evaluation"
  return hs
end
if ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Ready condition is from generation " .. ready.observedGeneration
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  local findings = {}
  if is_true("DriftDetected") then
    table.insert(findings, "drift: " .. describe(condition("DriftDetected")))
  end
  if is_true("SLOBreached") then
    table.insert(findings, "SLO: " .. describe(condition("SLOBreached")))
  end
  if #findings > 0 then
    hs.message = table.concat(findings, "; ")
  end
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
