-- test_sleep.lua: asok.sleep parks only the calling coroutine; sleepers wake
-- in deadline order; asok.select runs until its timeout; an error in one
-- coroutine neither stops asok.select nor the others.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local order = {}
for _, d in ipairs({ 0.3, 0.1, 0.2, 0 }) do
  T.spawn(function()
    local t0 = socket.gettime()
    T.same(T.pack(asok.sleep(d)), T.pack(), "sleep returns nothing")
    T.check(socket.gettime() - t0 >= d - 0.02, "slept at least", d)
    order[#order + 1] = d
  end)
end
T.eq(#order, 0, "nobody woke before select")
local t0 = socket.gettime()
T.same(T.pack(asok.select(nil, nil, 0.5)), T.pack(nil, "timeout"), "select returns nil, 'timeout'")
T.check(socket.gettime() - t0 >= 0.45, "select ran for its timeout")
T.eq(table.concat(order, " "), "0 0.1 0.2 0.3", "wake order")

-- select with no timeout returns once nothing waits
local n = 0
for i = 1, 50 do T.spawn(function() asok.sleep(i / 1000); n = n + 1 end) end
T.same(T.pack(asok.select()), T.pack(nil, "timeout"), "select() until idle")
T.eq(n, 50, "all 50 sleepers ran")

-- an erroring coroutine is reported and the others go on
local survived = false
T.spawn(function() asok.sleep(0.01); error("deliberate test error (expected on stderr)") end)
T.spawn(function() asok.sleep(0.05); survived = true end)
asok.select(nil, nil, 0.1)
T.check(survived, "select survived a failing coroutine")

-- many short sleeps in one coroutine
local count = 0
T.spawn(function() for _ = 1, 100 do asok.sleep(0) ; count = count + 1 end end)
T.check(T.run(function() return count == 100 end, 5), "100 zero sleeps")
T.done("test_sleep")
