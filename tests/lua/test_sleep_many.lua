-- test_sleep_many.lua: 10,000 sleeping coroutines all wake, in deadline
-- order, none early; sleep(0) lets the other ready coroutines run.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- Each sleeper notes the time just before asok.sleep; sleepers are spawned
-- one after the other, each running until its sleep parks, so sleeper i's
-- deadline in asok lies between before[i] + d[i] and before[i + 1] + d[i].
-- The checks below fail only on a definite error, however loaded the
-- machine is. CLOCKS: socket.gettime is the wall clock, asok's the
-- monotonic one; they may drift apart by a fraction of a millisecond.
local N, CLOCKS = 10000, 0.001
local before, d, woke, order = {}, {}, {}, {}
for i = 1, N do
  d[i] = 0.01 + ((i * 7919) % N) * 0.0001 -- distinct, shuffled
  asok.spawn(function()
    before[i] = socket.gettime()
    asok.sleep(d[i])
    woke[i] = socket.gettime()
    order[#order + 1] = i
  end)
end
before[N + 1] = socket.gettime()
T.eq(#order, 0, "nobody woke before select")
asok.select()
T.eq(#order, N, "all sleepers woke")
local early, inversions, worst, maxlow = 0, 0, 0, -math.huge
for _, i in ipairs(order) do
  local low, high = before[i] + d[i], before[i + 1] + d[i]
  if woke[i] < low - CLOCKS then early = early + 1 end
  -- someone who woke earlier surely had a later deadline than i
  if maxlow > high + CLOCKS then inversions = inversions + 1 end
  if low > maxlow then maxlow = low end
  if woke[i] - high > worst then worst = woke[i] - high end
end
T.eq(early, 0, "none woke before its deadline")
T.eq(inversions, 0, "woke in deadline order")
T.check(order[1] ~= 1 or order[N] ~= N, "order is not spawn order")
print(("sleep_many: %d sleepers, worst lateness %.1f ms"):format(N, worst * 1000))

-- sleep(0) alternates two ready coroutines
local trace = {}
for _, name in ipairs({ "A", "B" }) do
  asok.spawn(function() for _ = 1, 3 do trace[#trace + 1] = name; asok.sleep(0) end end)
end
asok.select()
T.eq(table.concat(trace), "ABABAB", "sleep(0) yields to the other ready coroutine")

-- sleep(0) lets a coroutine whose socket became ready run
local a, b = T.pair()
local spins, seen = 0, nil
asok.spawn(function() for _ = 1, 1000 do asok.sleep(0); spins = spins + 1 end end)
asok.spawn(function() asok.receive(b, "*l"); seen = spins end)
asok.send(a, "ready\n")
asok.select()
T.eq(spins, 1000, "spinner finished")
T.check(seen and seen < 10, "receiver ran among the spins:", seen)
a:close(); b:close()
a, b = nil, nil -- T.done counts the live handles
T.done("test_sleep_many")
