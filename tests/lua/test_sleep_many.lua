-- test_sleep_many.lua: 10,000 sleeping coroutines all wake, in deadline
-- order, none early; sleep(0) lets the other ready coroutines run.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local N, SLACK = 10000, 0.002 -- SLACK: the test's clock vs asok's
local deadline, woke, order = {}, {}, {}
for i = 1, N do
  local d = 0.01 + ((i * 7919) % N) * 0.0001 -- distinct, shuffled
  asok.spawn(function()
    deadline[i] = socket.gettime() + d
    asok.sleep(d)
    woke[i] = socket.gettime()
    order[#order + 1] = i
  end)
end
T.eq(#order, 0, "nobody woke before select")
asok.select()
T.eq(#order, N, "all sleepers woke")
local early, inversions, worst = 0, 0, 0
for k, i in ipairs(order) do
  if woke[i] < deadline[i] - SLACK then early = early + 1 end
  if k > 1 and deadline[i] < deadline[order[k - 1]] - SLACK then inversions = inversions + 1 end
  if woke[i] - deadline[i] > worst then worst = woke[i] - deadline[i] end
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
T.done("test_sleep_many")
