-- diff/asokside.lua: the asok half. Runs every scenario through asok in
-- coroutines (function style asok.f(sok, ...) and wrapper style w:f(...)),
-- all at once, plus the main=true scenarios from the main thread, and
-- returns {style = {name = records}}.
local H = require("harness")
local A = {}

-- the asok functions that mirror LuaSocket methods (the seed's list)
local ASOK_FUNCS = { receive = true, send = true, receivefrom = true, sendto = true,
  settimeout = true, accept = true, connect = true }
local unpack = table.unpack or unpack
local plain51 = _VERSION == "Lua 5.1" and not jit -- pcall cannot span a yield

-- protect calls f(...) catching errors; yield-safe where the VM allows.
local function protect(asok, inco, f, ...)
  local function go(...) return H.pack(f(...)) end
  local ok, res
  if inco and plain51 then
    if not asok.xpcall then return true, go(...) end -- errors kill the coroutine
    ok, res = asok.xpcall(go, function(e) return e end, ...)
  else
    ok, res = pcall(go, ...)
  end
  if not ok then return false, { n = 1, res } end
  return true, res
end

-- api builds the H.run API for a style: "fn" (asok functions on the raw
-- socket; other methods are the raw LuaSocket methods) or "wrap".
local function api(asok, style, inco)
  local a = {}
  function a.call(obj, m, args)
    local f
    if style == "fn" and ASOK_FUNCS[m] then
      f = asok[m]
      if type(f) ~= "function" then return "lacks", { n = 1, "asok lacks asok." .. m } end
    else
      local ok, g = pcall(function() return obj[m] end)
      f = ok and g or nil
      if not f then
        return "lacks", { n = 1, (style == "wrap" and "asok wrapper lacks method " or
          "LuaSocket object lacks method ") .. m }
      end
    end
    return protect(asok, inco, f, obj, unpack(args, 1, args.n))
  end
  function a.sleep(t) asok.sleep(t) end
  return a
end

-- run_one opens s, runs it in style through asok, closes; fills recs.
local function run_one(asok, s, style, env, recs, inco)
  local sok = H.open(s, env, inco and asok.connect or nil)
  local obj = sok
  if style == "wrap" then obj = asok.wrap(sok) end
  H.run(s, obj, api(asok, style, inco), env, recs)
  pcall(obj.close, obj)
  if obj ~= sok then pcall(sok.close, sok) end
end

-- run runs list through asok; returns results by style and name.
function A.run(asok, list, env, deadline)
  local out = { fn = {}, wrap = {}, mainfn = {}, mainwrap = {} }
  local live = {}
  -- started in waves of WAVE, 20 ms apart: hundreds of connections opened in
  -- one burst kept the peer and the reactor busy for 0.1-0.2 s, longer than
  -- the shortest timeouts the scenarios race; waves still overlap heavily
  local WAVE, started = 16, 0
  for _, s in ipairs(list) do
    for _, style in ipairs(s.styles or { "fn", "wrap" }) do
      started = started + 1
      if started % WAVE == 0 then asok.select(nil, nil, 0.02) end
      local recs = {}
      out[style][s.name] = recs
      local co = coroutine.create(function() run_one(asok, s, style, env, recs, true) end)
      local ok, err = coroutine.resume(co)
      if not ok then recs[#recs + 1] = { err = "coroutine died: " .. tostring(err) } end
      if coroutine.status(co) ~= "dead" then live[co] = recs end
    end
  end
  -- main-thread calls, while the coroutines above keep running
  for _, s in ipairs(list) do
    if s.main then
      for _, style in ipairs({ "fn", "wrap" }) do
        local recs = {}
        out["main" .. style][s.name] = recs
        local ok, err = pcall(run_one, asok, s, style, env, recs, false)
        if not ok then recs[#recs + 1] = { err = "main thread call raised: " .. tostring(err) } end
      end
    end
  end
  local stop = os.time() + deadline
  local gettime, longest = require("socket").gettime, 0
  while next(live) and os.time() < stop do
    local t0 = gettime()
    local ok, err = pcall(asok.select, nil, nil, 0.05)
    longest = math.max(longest, gettime() - t0)
    for co, recs in pairs(live) do
      if coroutine.status(co) == "dead" then
        live[co] = nil
        if not ok then recs[#recs + 1] = { err = "asok.select raised: " .. tostring(err) } end
      end
    end
    if not ok then io.stderr:write("asok.select raised: ", tostring(err), "\n") end
  end
  -- a diagnostic for stalls: asok.select(nil, nil, 0.05) should return
  -- after about 0.05 s; much longer means someone blocked the reactor
  print(string.format("info: longest asok.select(nil, nil, 0.05) took %.3f s", longest))
  for co, recs in pairs(live) do
    recs[#recs + 1] = { err = "coroutine never finished (still " .. coroutine.status(co) .. ")" }
  end
  return out
end

return A
