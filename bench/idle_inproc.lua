-- idle_inproc.lua - does an idle connection cost the active ones anything?
-- asok's CPU per round trip with and without idle connections, in one
-- process, without the load generator.
--
--   LUA_CPATH='build/lib/lua/5.4/?.so;;' lua5.4 bench/idle_inproc.lua [IDLE [ACTIVE [ROUNDS [REPS]]]]
--
-- One process runs an echo server like the harness's asok_echo (a coroutine
-- per connection, receive("*l") then send) and ACTIVE (default 1000) client
-- coroutines connected to it. Each phase, every client makes ROUNDS (200)
-- round trips with 64-byte lines made as the harness's load generator
-- makes them ("c<id> s<seq> " then filler: unique strings, which matters
-- to LuaJIT's string interning); the process's CPU time (user + system, os.clock; the split
-- from /proc/self/stat) over the phase, divided by the round trips, is the
-- cost of one round trip with both ends in this process. Phases alternate
-- without and with IDLE (14000) idle connections, opened by a child
-- interpreter (plain LuaSocket) and accepted and parked in receive by the
-- server as the harness's idle ones are; the child closes them between
-- pairs. The slope is the median over REPS (3) pairs of with / without.
-- The clients are connected before the first phase: no connect is timed
-- (a connect among 15,000 sockets is the kernel's port search, O(n)).
-- A measurement, not a test: it fails only when it cannot set up.
local socket = require "socket"
local asok = require "asok"

local IDLE = tonumber(arg and arg[1]) or 14000
local ACTIVE = tonumber(arg and arg[2]) or 1000
local ROUNDS = tonumber(arg and arg[3]) or 200
local REPS = tonumber(arg and arg[4]) or 3
local interp = arg and arg[-1] or "lua5.4"
local LINE = ("x"):rep(63) .. "\n" -- 64 bytes with the LF; each line overwrites its head

-- cputicks returns this process's user and system time, in clock ticks.
local function cputicks()
  local f = assert(io.open("/proc/self/stat"))
  local s = f:read("*a")
  f:close()
  local fields = {}
  for w in s:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = w end
  return tonumber(fields[12]), tonumber(fields[13]) -- utime, stime
end

-- the server: a coroutine per connection, as asok_echo.lua
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0, 4096)))
local _, port = server:getsockname()
local accepted, live = 0, 0
asok.spawn(function()
  while true do
    local c = assert(server:accept())
    accepted, live = accepted + 1, live + 1
    asok.spawn(function()
      while true do
        local line = c:receive("*l")
        if not line or not c:send(line .. "\n") then break end
      end
      c:close()
      live = live - 1
    end)
  end
end)

-- wait runs the reactor until cond() holds (at most secs seconds).
local function wait(cond, secs, what)
  local deadline = socket.gettime() + secs
  while not cond() do
    if socket.gettime() > deadline then error("idle_inproc: timed out waiting for " .. what, 0) end
    asok.select(nil, nil, 0.05)
  end
end

-- the active clients: each runs ROUNDS round trips per phase
local phase, ready, finished = 0, 0, 0
for id = 1, ACTIVE do
  asok.spawn(function()
    local seq = 0
    local c = asok.wrap(assert(socket.tcp()))
    assert(c:connect("127.0.0.1", port))
    ready = ready + 1
    local mine = 0
    while true do
      while phase == mine do asok.sleep(0.001) end
      mine = phase
      if mine < 0 then break end
      for k = 1, ROUNDS do
        local head = ("c%d s%d "):format(id, seq + k)
        assert(c:send(head .. LINE:sub(#head + 1)))
        assert(c:receive("*l"))
      end
      seq = seq + ROUNDS
      finished = finished + 1
    end
    c:close()
  end)
end
wait(function() return ready == ACTIVE and live == ACTIVE end, 60, "the active clients")

-- openidle starts a child holding n idle connections; returns its pipe
-- (closing it makes the child close them and exit).
local function openidle(n)
  local code = ("local s = require 'socket' local t = {} for i = 1, %d do " ..
    "local c = s.tcp() assert(c:connect('127.0.0.1', %d)) t[i] = c end " ..
    "io.read('*a') for i = 1, #t do t[i]:close() end"):format(n, port)
  local child = assert(io.popen(("%q -e %q"):format(interp, code), "w"))
  local want = accepted + n
  wait(function() return accepted >= want end, 120, "the idle connections")
  return child
end

-- runphase times one phase; returns µs per round trip, user and system
-- ticks per round trip (in µs).
local function runphase()
  collectgarbage()
  for _ = 1, 20 do asok.select(nil, nil, 0.005) end
  local hz = 100 -- USER_HZ
  local u0, s0 = cputicks()
  local c0 = os.clock()
  finished = 0
  phase = phase + 1
  wait(function() return finished == ACTIVE end, 300, "a phase")
  local c1 = os.clock()
  local u1, s1 = cputicks()
  local n = ACTIVE * ROUNDS
  return (c1 - c0) * 1e6 / n, (u1 - u0) / hz * 1e6 / n, (s1 - s0) / hz * 1e6 / n
end

print(("# %s, %s: %d active clients x %d round trips per phase, 0 vs %d idle connections, %d pairs")
  :format(jit and jit.version or _VERSION, tostring(asok._VERSION), ACTIVE, ROUNDS, IDLE, REPS))
print("| pair | idle | CPU µs/round trip | user | system | Lua heap |")
print("| ---: | ---: | ---: | ---: | ---: | ---: |")
local ratios = {}
for rep = 1, REPS do
  local a, au, as = runphase()
  print(("| %d | 0 | %.2f | %.2f | %.2f | %.1f MiB |"):format(rep, a, au, as, collectgarbage("count") / 1024))
  local child = openidle(IDLE)
  local b, bu, bs = runphase()
  print(("| %d | %d | %.2f | %.2f | %.2f | %.1f MiB |"):format(rep, IDLE, b, bu, bs, collectgarbage("count") / 1024))
  child:close()
  wait(function() return live == ACTIVE end, 120, "the idle connections to close")
  ratios[rep] = b / a
end
table.sort(ratios)
local k = #ratios
local med = k % 2 == 1 and ratios[(k + 1) / 2] or (ratios[k / 2] + ratios[k / 2 + 1]) / 2
print(("slope: %+.1f %% (median of %d paired ratios; range %+.1f … %+.1f %%)")
  :format((med - 1) * 100, #ratios, (ratios[1] - 1) * 100, (ratios[#ratios] - 1) * 100))
phase = -1
for _ = 1, 20 do asok.select(nil, nil, 0.005) end
