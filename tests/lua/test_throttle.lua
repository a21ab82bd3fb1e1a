-- test_throttle.lua: asok.throttle_receive / asok.throttle_send. Four
-- flows throttled at 100,000 B/s run at once for 2 s on one loop (TCP send,
-- TCP receive, UDP send, UDP receive); each must measure within 5% of the
-- rate, while an unthrottled TCP pair on the same loop moves far more
-- (a generous lower bound: 10x a throttled flow). Then argument checks,
-- wrapper methods and lifting a limit.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local RATE, WINDOW = 100000, 2.0
local gettime = socket.gettime
local stop = false -- set once every measured flow is done

-- udppair returns two UDP sockets bound on loopback and their ports.
local function udppair()
  local a, b = socket.udp(), socket.udp()
  assert(a:setsockname("127.0.0.1", 0)); assert(b:setsockname("127.0.0.1", 0))
  local _, pa = a:getsockname()
  local _, pb = b:getsockname()
  return a, tonumber(pa), b, tonumber(pb)
end

-- drain receives on sok (TCP: size bytes; UDP: datagrams) until stop.
local function drain(sok, size)
  asok.spawn(function()
    asok.settimeout(sok, 0.2)
    while not stop do asok.receive(sok, size) end
  end)
end

-- measure runs step() (returns the bytes it moved) in a coroutine from the
-- moment the throttle is set until WINDOW seconds have passed; it records
-- bytes / elapsed at the last completion in results[name].
local results, running = {}, 0
local function measure(name, setup, step)
  running = running + 1
  asok.spawn(function()
    local t0 = gettime()
    setup()
    local total, t = 0, t0
    while t - t0 < WINDOW do
      total = total + step()
      t = gettime()
    end
    results[name] = { bytes = total, secs = t - t0 }
    running = running - 1
  end)
end

local chunk = string.rep("x", 4000)
local dgram = string.rep("d", 1000)

-- TCP send: a -> b, a throttled
local a, b = T.pair()
drain(b, 4000)
measure("tcp send", function() T.eq(asok.throttle_send(a, RATE), 1, "throttle_send returns 1") end,
  function() assert(asok.send(a, chunk)); return #chunk end)

-- TCP receive: d -> c, c throttled; d sends as fast as it can
local c, d = T.pair()
asok.spawn(function() while not stop do asok.send(d, chunk) end end)
measure("tcp receive", function() asok.throttle_receive(c, RATE) end,
  function() return #assert(asok.receive(c, 4000)) end)

-- UDP send: u1 -> u2, u1 throttled
local u1, _, u2, p2 = udppair()
drain(u2)
measure("udp send", function() asok.throttle_send(u1, RATE) end,
  function() assert(asok.sendto(u1, dgram, "127.0.0.1", p2)); return #dgram end)

-- UDP receive: u4 -> u3, u3 throttled; u4 paced at 4x the rate (surplus
-- datagrams are dropped by the kernel, as UDP does)
local u3, p3, u4 = udppair()
asok.throttle_send(u4, 4 * RATE)
asok.spawn(function() while not stop do asok.sendto(u4, dgram, "127.0.0.1", p3) end end)
measure("udp receive", function() asok.throttle_receive(u3, RATE) end,
  function() return #assert(asok.receive(u3)) end)

-- the unthrottled pair on the same loop
local e, f = T.pair()
local fast = 0
local big = string.rep("f", 65536)
asok.spawn(function() while not stop do asok.send(e, big) end end)
asok.spawn(function()
  asok.settimeout(f, 0.2)
  while not stop do
    local got, _, partial = asok.receive(f, 65536)
    fast = fast + #(got or partial)
  end
end)

T.run(function() return running == 0 end, 4 * WINDOW)
stop = true
T.eq(running, 0, "every measured flow finished")
for _, name in ipairs({ "tcp send", "tcp receive", "udp send", "udp receive" }) do
  local r = results[name]
  if T.check(r, name .. ": no result") then
    local rate = r.bytes / r.secs
    print(("info: %-11s %7.0f B/s (%d bytes in %.3f s)"):format(name, rate, r.bytes, r.secs))
    T.check(r.secs >= WINDOW, name .. ": measured over " .. r.secs .. " s")
    T.check(math.abs(rate - RATE) <= 0.05 * RATE,
      ("%s: %.0f B/s (%d bytes in %.3f s), want %d +- 5%%"):format(name, rate, r.bytes, r.secs, RATE))
  end
end
print(("info: unthrottled pair: %d bytes meanwhile"):format(fast))
T.check(fast > 10 * RATE * WINDOW, "the unthrottled pair moved only " .. fast .. " bytes meanwhile")
T.run(function() return false end, 0.3) -- let the flows see stop

-- arguments, wrapper methods, lifting
for _, bad in ipairs({ -1, "abc", {}, 0 / 0 }) do
  local ok = pcall(asok.throttle_receive, a, bad)
  T.eq(ok, false, "throttle_receive(" .. tostring(bad) .. ") raises")
  T.eq((pcall(asok.throttle_send, a, bad)), false, "throttle_send(" .. tostring(bad) .. ") raises")
end
T.eq((pcall(asok.throttle_send, "sock", 1)), false, "not a socket: raises")
local w = asok.wrap(a)
T.eq(type(w.throttle_receive), "function", "wrapper:throttle_receive")
T.eq(type(w.throttle_send), "function", "wrapper:throttle_send")
T.eq(type(asok.wrap(u1).throttle_send), "function", "UDP wrapper:throttle_send")
T.eq(w:throttle_send(nil), 1, "nil lifts the limit")
T.eq(asok.throttle_send(a, "0"), 1, "0 (a numeric string) lifts the limit")
local done, t0 = false, gettime()
asok.spawn(function()
  for _ = 1, 50 do assert(w:send(chunk)) end -- 200,000 bytes: 2 s if still throttled
  done = true
end)
T.check(T.run(function() return done end, 1), "unthrottled again: 200,000 bytes in < 1 s")
T.check(gettime() - t0 < 1, "lifted: fast")
T.eq(asok.throttle_receive(c, "2.5e4"), 1, "a numeric string rate")
for _, s in ipairs({ a, b, c, d, e, f, u1, u2, u3, u4 }) do asok.close(s) end
T.same(T.pack(asok.throttle_receive(a, 10)), T.pack(nil, "closed"), "closed socket")
-- drop every socket (the closes woke any flow still parked; T.done counts
-- the live handles)
a, b, c, d, e, f, u1, u2, u3, u4, w = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_throttle")
