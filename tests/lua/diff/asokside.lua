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

-- A.api(asok, style, inco) is api, for the differential fuzzer too
-- (test_diffuzz.lua)
A.api = api

-- A.styles returns the asok styles scenario s runs in: its own list (fn
-- and wrap by default), plus "native" for TCP scenarios run as wrappers:
-- the same calls on a native client (what wrapper:accept() returns).
function A.styles(s)
  local st = {}
  for _, x in ipairs(s.styles or { "fn", "wrap" }) do
    st[#st + 1] = x
    local proto = s.proto or "tcp"
    if x == "wrap" and (proto == "tcp" or proto == "tcp6") then st[#st + 1] = "native" end
  end
  return st
end

-- listeners: family -> an asok-wrapped listener that makes native clients
local listeners = {}

-- nativeize returns a native client that owns sok's connection: a native
-- client accepted from a local listener trades fds with sok (setfd on
-- both), so sok, closed later, closes the local connection instead; the
-- byte counters (H.open sent the scenario name) go along.
local function nativeize(asok, sok, proto)
  local socket = require("socket")
  local six = proto == "tcp6"
  local l = listeners[six]
  if not l then
    l = asok.wrap(assert(socket.bind(six and "::1" or "127.0.0.1", 0)))
    listeners[six] = l
  end
  local _, port = l:getsockname()
  local d = assert((six and socket.tcp6 or socket.tcp4)())
  assert(d:connect(six and "::1" or "127.0.0.1", port))
  local n = assert(l:accept())
  local nfd, sfd = n:getfd(), sok:getfd()
  local received, sent = sok:getstats() -- the scenario name H.open sent
  sok:setfd(nfd) -- first: lets go of sok's asok handle on sfd (asok.connect made one)
  n:setfd(sfd)
  n:setstats(received, sent)
  d:close()
  return n
end

-- A.closelisteners closes the listeners nativeize opened.
function A.closelisteners()
  for k, l in pairs(listeners) do l:close(); listeners[k] = nil end
end

-- run_one opens s, runs it in style through asok, closes; fills recs.
local function run_one(asok, s, style, env, recs, inco)
  local sok = H.open(s, env, inco and asok.connect or nil)
  local obj = sok
  if style == "wrap" then obj = asok.wrap(sok) end
  if style == "native" then obj = nativeize(asok, sok, s.proto or "tcp") end
  H.run(s, obj, api(asok, style, inco), env, recs)
  pcall(obj.close, obj)
  if obj ~= sok then pcall(sok.close, sok) end
end

-- run runs list through asok; returns results by style and name.
function A.run(asok, list, env, deadline)
  local out = { fn = {}, wrap = {}, native = {}, mainfn = {}, mainwrap = {} }
  local live = {}
  -- started in waves of WAVE, 20 ms apart: hundreds of connections opened in
  -- one burst kept the peer and the reactor busy for 0.1-0.2 s, longer than
  -- the shortest timeouts the scenarios race; waves still overlap heavily
  local WAVE, started = 16, 0
  for _, s in ipairs(list) do
    for _, style in ipairs(A.styles(s)) do
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
