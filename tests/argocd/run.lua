-- Runs Saqr's Argo CD health scripts (deploy/argocd/health/*.lua) on sample objects
-- (tests/data/argocd/*.json) and checks each result against tests/argocd/cases.lua.
-- Each script runs as Argo CD runs it: a fresh environment holding only `obj` and the base,
-- string, table and math libraries; it must return {status=..., message=...}.
-- Works under Lua 5.1 (what Argo CD's gopher-lua implements) and 5.4.
--   lua run.lua [--list] [--cases FILE] [CASE...]
-- Prints "ok <case> <status>" or "not ok <case>: <why>" per case; exits 1 if any failed.

local here = (arg[0]:match("^(.*)/[^/]*$") or ".")
local root = here .. "/../.."

-- A small JSON decoder (RFC 8259; \u escapes to UTF-8; null becomes nil as in Argo CD).
local json = {}

local function decode_error(s, i, what)
  error(string.format("JSON: %s at byte %d near %q", what, i, s:sub(i, i + 10)), 0)
end

local function skip_ws(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function utf8_char(cp)
  if cp < 0x80 then
    return string.char(cp)
  elseif cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  end
  return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40,
    0x80 + cp % 0x40)
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
  r = "\r", t = "\t" }

local decode_value

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then
      decode_error(s, i, "unterminated string")
    elseif c == '"' then
      return table.concat(out), j + 1
    elseif c == "\\" then
      local e = s:sub(j + 1, j + 1)
      if e == "u" then
        local hex = s:sub(j + 2, j + 5)
        if not hex:match("^%x%x%x%x$") then
          decode_error(s, j, "bad \\u escape")
        end
        table.insert(out, utf8_char(tonumber(hex, 16)))
        j = j + 6
      elseif escapes[e] then
        table.insert(out, escapes[e])
        j = j + 2
      else
        decode_error(s, j, "bad escape")
      end
    else
      table.insert(out, c)
      j = j + 1
    end
  end
end

local function decode_number(s, i)
  local text = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  local n = text and tonumber(text)
  if n == nil then
    decode_error(s, i, "bad number")
  end
  return n, i + #text
end

local function decode_array(s, i)
  local out, n = {}, 0
  i = skip_ws(s, i + 1)
  if s:sub(i, i) == "]" then
    return out, i + 1
  end
  while true do
    local v
    v, i = decode_value(s, i)
    n = n + 1
    out[n] = v
    i = skip_ws(s, i)
    local c = s:sub(i, i)
    if c == "]" then
      return out, i + 1
    elseif c ~= "," then
      decode_error(s, i, "expected , or ]")
    end
    i = skip_ws(s, i + 1)
  end
end

local function decode_object(s, i)
  local out = {}
  i = skip_ws(s, i + 1)
  if s:sub(i, i) == "}" then
    return out, i + 1
  end
  while true do
    if s:sub(i, i) ~= '"' then
      decode_error(s, i, "expected a key")
    end
    local k
    k, i = decode_string(s, i)
    i = skip_ws(s, i)
    if s:sub(i, i) ~= ":" then
      decode_error(s, i, "expected :")
    end
    out[k], i = decode_value(s, skip_ws(s, i + 1))
    i = skip_ws(s, i)
    local c = s:sub(i, i)
    if c == "}" then
      return out, i + 1
    elseif c ~= "," then
      decode_error(s, i, "expected , or }")
    end
    i = skip_ws(s, i + 1)
  end
end

local literals = { ["true"] = true, ["false"] = false }

decode_value = function(s, i)
  i = skip_ws(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    return decode_object(s, i)
  elseif c == "[" then
    return decode_array(s, i)
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "-" or c:match("%d") then
    return decode_number(s, i)
  end
  for word, v in pairs(literals) do
    if s:sub(i, i + #word - 1) == word then
      return v, i + #word
    end
  end
  if s:sub(i, i + 3) == "null" then
    return nil, i + 4
  end
  decode_error(s, i, "unexpected character")
end

function json.decode(s)
  local v, i = decode_value(s, 1)
  if skip_ws(s, i) <= #s then
    decode_error(s, i, "trailing data")
  end
  return v
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if f == nil then
    error(err, 0)
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- Run one health script the way Argo CD does and return its table.
local function run_script(path, object)
  local env = {
    obj = object, ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring,
    tonumber = tonumber, select = select, error = error, pcall = pcall, string = string,
    table = table, math = math,
  }
  local chunk, err
  if setfenv ~= nil then
    chunk, err = loadstring(read_file(path), "@" .. path)
    if chunk ~= nil then
      setfenv(chunk, env)
    end
  else
    chunk, err = load(read_file(path), "@" .. path, "t", env)
  end
  if chunk == nil then
    error(err, 0)
  end
  return chunk()
end

local statuses = { Healthy = true, Progressing = true, Degraded = true, Suspended = true,
  Missing = true, Unknown = true }

local function check(case)
  local script = root .. "/deploy/argocd/health/saqr.dev_" .. case.kind .. ".lua"
  local object = json.decode(read_file(root .. "/tests/data/argocd/" .. case.sample .. ".json"))
  if object.kind ~= case.kind then
    return "sample is a " .. tostring(object.kind) .. ", not a " .. case.kind
  end
  local hs = run_script(script, object)
  if type(hs) ~= "table" or not statuses[hs.status] then
    return "script returned no valid status"
  end
  if type(hs.message) ~= "string" or hs.message == "" then
    return "script returned no message"
  end
  if hs.status ~= case.status then
    return string.format("status %s, want %s (message %q)", hs.status, case.status, hs.message)
  end
  if hs.message ~= case.message then
    return string.format("message %q, want %q", hs.message, case.message)
  end
  return nil
end

local cases_file = here .. "/cases.lua"
local list_only, wanted = false, {}
local a = 1
while a <= #arg do
  if arg[a] == "--list" then
    list_only = true
  elseif arg[a] == "--cases" then
    a = a + 1
    cases_file = arg[a]
  else
    wanted[arg[a]] = true
  end
  a = a + 1
end

local cases = dofile(cases_file)
local failed, ran = 0, 0
for _, case in ipairs(cases) do
  if list_only then
    print(case.name)
  elseif next(wanted) == nil or wanted[case.name] then
    ran = ran + 1
    local ok, why = pcall(check, case)
    if ok and why == nil then
      print("ok " .. case.name .. " " .. case.status)
    else
      failed = failed + 1
      print("not ok " .. case.name .. ": " .. tostring(why))
    end
  end
end
if not list_only then
  print(string.format("argocd: %d passed, %d failed", ran - failed, failed))
end
if failed > 0 or (not list_only and ran == 0) then
  os.exit(1)
end
