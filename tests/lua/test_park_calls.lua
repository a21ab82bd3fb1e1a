-- test_park_calls.lua - what a wait and a round trip cost the glue, in
-- counts, not times:
--   1. a park in a coroutine of its own (the common case) calls neither
--      coroutine.running nor coroutine.isyieldable: step.c's noteself
--      answers for both in the one C call that notes the wait. Under
--      LuaJIT neither function is compiled: each was a trace exit (a
--      stitch) per park, twice per request-reply round trip of an echo;
--   2. the other cases still go park's general way: a coroutine run by a
--      driver (asok.coroutine) and the main thread (a blocking call);
--   3. a request-reply round trip allocates nothing in the glue (no table,
--      closure or string of asok's): collectgarbage("count") with the
--      collector stopped, lines the interpreter already holds;
--   4. under LuaJIT, the warm echo aborts no trace (jit.attach).

-- the glue's calls of coroutine.running and isyieldable, from the
-- coroutines under test only (the reactor's loop in the main thread is not
-- counted): the counting versions are installed before asok is loaded,
-- which keeps its own references to them
local counted = {} -- coroutine -> true: its calls are counted
local calls = 0
local running, isyieldable = coroutine.running, coroutine.isyieldable
coroutine.running = function(...)
  local co = running()
  if co and counted[co] then calls = calls + 1 end
  return running(...)
end
if isyieldable then
  coroutine.isyieldable = function(...)
    local co = running()
    if co and counted[co] then calls = calls + 1 end
    return isyieldable(...)
  end
end

local T = dofile("asoktest.lua")
local socket = require "socket"
local asok = require "asok"

-- counting runs f in a new counted coroutine driven by asok.select until
-- it returns; returns the glue's running/isyieldable calls meanwhile.
local function counting(f)
  local finished = false
  local co = coroutine.create(function() f(); finished = true end)
  counted[co] = true
  local before = calls
  local ok, err = coroutine.resume(co)
  T.check(ok, "counted coroutine failed:", err)
  T.check(T.run(function() return finished end, 30), "counted coroutine did not finish")
  counted[co] = nil
  return calls - before
end

-- 1a. parks through asok.sleep(0): one park each, on every interpreter
do
  local N = 1000
  local slept = 0
  local n = counting(function()
    for _ = 1, N do asok.sleep(0); slept = slept + 1 end
  end)
  T.eq(slept, N, "sleeps done")
  T.eq(n, 0, "coroutine.running/isyieldable calls of " .. N .. " parks")
end

-- echo starts a server coroutine answering each line of obj with the
-- line and a LF, until the peer closes.
local function echo(obj)
  T.spawn(function()
    while true do
      local line = obj:receive("*l")
      if not line or not obj:send(line .. "\n") then break end
    end
    obj:close()
  end)
end

-- 1b. request-reply round trips between wrappers and with a native client
-- (parked through the glue under LuaJIT, in C on PUC Lua: none either way)
for _, kind in ipairs { "wrapper", "native" } do
  local srv, cli
  if kind == "native" then
    srv, cli = T.nativepair()
  else
    srv, cli = T.pair()
    srv = asok.wrap(srv)
  end
  cli = asok.wrap(cli)
  echo(srv)
  local N, got = 500, 0
  local n = counting(function()
    for i = 1, N do
      cli:send("ping " .. i .. "\n")
      if cli:receive("*l") == "ping " .. i then got = got + 1 end
    end
  end)
  T.eq(got, N, kind .. ": echoed lines")
  T.eq(n, 0, kind .. ": coroutine.running/isyieldable calls of " .. N .. " round trips")
  cli:close()
  T.run(function() return false end, 0.05)
end

-- 2. the general way still serves the other cases: a coroutine driven by
-- asok.coroutine (its driver parks for it) and the main thread (blocks)
do
  local a, b = T.pair()
  local wa, wb = asok.wrap(a), asok.wrap(b)
  local got
  local co = asok.coroutine.wrap(function() got = wa:receive("*l") end)
  T.spawn(function() co() end)
  T.steps(function() return false end, 3)
  wb:send("driven\n")
  T.run(function() return got ~= nil end, 5)
  T.eq(got, "driven", "receive in a driven coroutine")
  T.spawn(function() asok.sleep(0.01); wa:send("main\n") end)
  T.eq(wb:receive("*l"), "main", "blocking receive in the main thread")
  wa:close()
  wb:close()
end

-- 3. and 4. the garbage and the trace aborts of a warm echo: a native
-- client (asok_echo's) and a wrapper client, the same three lines over
-- and over (strings the interpreter holds already: 5.4 interns them too)
do
  local srv, cli = T.nativepair()
  cli = asok.wrap(cli)
  echo(srv)
  local LINES = { "alpha\n", "beta\n", "gamma\n" }
  local function rounds(n)
    local ok = 0
    for i = 1, n do
      local line = LINES[i % 3 + 1]
      cli:send(line)
      if cli:receive("*l") .. "\n" == line then ok = ok + 1 end
    end
    return ok
  end
  local done, okw, okm = false, 0, 0
  local aborts, N = 0, 10000
  local co = coroutine.create(function()
    okw = rounds(2000) -- warm-up: the JIT's traces made, tables grown
    collectgarbage()
    collectgarbage("stop")
    local k0 = collectgarbage("count")
    okm = rounds(N)
    local grown = (collectgarbage("count") - k0) * 1024
    collectgarbage("restart")
    -- (a table or closure is 32 bytes or more; 4 bytes a round trip is
    -- room for the reactor's own rare growth, none of it per round trip)
    T.check(grown <= 4 * N, "the glue allocated", grown, "bytes in", N, "round trips")
    done = true
  end)
  local attached = false
  if jit and jit.attach and jit.status() then
    jit.attach(function(what) if what == "abort" and attached then aborts = aborts + 1 end end, "trace")
  end
  local ok, err = coroutine.resume(co)
  T.check(ok, "echo coroutine failed:", err)
  T.run(function() return okw == 2000 end, 30)
  attached = true
  T.run(function() return done end, 60)
  attached = false
  T.eq(okm, N, "warm echo: lines back")
  if jit and jit.attach and jit.status() then
    T.eq(aborts, 0, "LuaJIT trace aborts in " .. N .. " warm round trips")
  end
  cli:close()
  T.run(function() return false end, 0.05)
end

T.done("test_park_calls")
