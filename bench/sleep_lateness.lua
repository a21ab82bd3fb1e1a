-- bench/sleep_lateness.lua: how late asok.sleep wakes coroutines.
-- N coroutines each sleep ROUNDS times for random durations (1..MAXMS ms);
-- prints p50/p99/max of (wake time - deadline), first rounds left out (they
-- include the time spent spawning everyone). A benchmark, not a test.
--   LUA_CPATH='build/lib/lua/5.4/?.so;;' lua5.4 bench/sleep_lateness.lua [N [ROUNDS [MAXMS]]]
local asok = require "asok"
local socket = require "socket"

local N = tonumber(arg and arg[1]) or 10000
local ROUNDS = math.max(2, tonumber(arg and arg[2]) or 5)
local MAXMS = tonumber(arg and arg[3]) or 100

local late = {}
math.randomseed(42)
local t0 = socket.gettime()
for _ = 1, N do
  asok.spawn(function()
    for round = 1, ROUNDS do
      local d = math.random(1, MAXMS) / 1000
      local due = socket.gettime() + d
      asok.sleep(d)
      if round > 1 then late[#late + 1] = socket.gettime() - due end
    end
  end)
end
asok.select()
local elapsed = socket.gettime() - t0
table.sort(late)

-- pct returns the p-th percentile of the sorted samples, in milliseconds.
local function pct(p)
  return late[math.max(1, math.ceil(#late * p / 100))] * 1000
end
print(("sleep_lateness (%s): %d coroutines x %d sleeps of 1..%d ms in %.2fs"):format(
  jit and jit.version or _VERSION, N, ROUNDS, MAXMS, elapsed))
print(("  lateness p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%d samples)"):format(
  pct(50), pct(99), late[#late] * 1000, #late))
