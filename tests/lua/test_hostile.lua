-- test_hostile.lua: hostile peers never stall the other coroutines. While
-- each attack runs, 20 well-behaved echo clients must all be served:
--   endless line (10 MiB without LF; with asok.setlimit: cut at the limit),
--   slowloris (1 byte per 100 ms), a peer that never reads (the sender
--   times out per its own timeout), a reset in the middle of a receive,
--   and a UDP flood.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local MIB = 1024 * 1024

-- echoes starts n echo clients (each: 5 lines through its own pair) and
-- returns a function telling how many finished correctly.
local function echoes(n)
  local done = 0
  for i = 1, n do
    local server, client = T.pair()
    asok.spawn(function()
      while true do
        local line = asok.receive(server)
        if not line then break end
        asok.send(server, line .. "\n")
      end
      server:close()
    end)
    asok.spawn(function()
      local ok = true
      for k = 1, 5 do
        local msg = ("client %d line %d"):format(i, k)
        asok.send(client, msg .. "\n")
        ok = ok and asok.receive(client) == msg
      end
      asok.close(client)
      if ok then done = done + 1 end
    end)
  end
  return function() return done end
end

-- endless line without a limit: the 10 MiB line arrives whole, the echo
-- clients finish before it does
do
  local victim, attacker = T.pair()
  local big, order = nil, {}
  asok.spawn(function()
    big = T.pack(asok.receive(victim))
    order[#order + 1] = "big"
  end)
  asok.spawn(function() asok.send(attacker, string.rep("A", 10 * MIB)); asok.send(attacker, "\n") end)
  local served = echoes(20)
  asok.spawn(function()
    T.run(function() return served() == 20 end, 20)
    order[#order + 1] = "echoes"
  end)
  T.run(function() return big ~= nil and #order == 2 end, 30)
  T.eq(served(), 20, "echo clients served during a 10 MiB line")
  T.eq(big and #big[1] or -1, 10 * MIB, "the 10 MiB line")
  asok.close(victim)
  asok.close(attacker)
end

-- endless line with a limit: cut at 64 KiB, repeatedly, memory bounded
do
  local victim, attacker = T.pair()
  asok.setlimit(victim, 64 * 1024)
  local cuts, last = 0, nil
  asok.spawn(function()
    while true do
      local line, err, partial = asok.receive(victim)
      if err ~= "receive limit exceeded" then last = T.pack(line, err); break end
      T.eq(#partial, 64 * 1024, "partial of a cut line")
      cuts = cuts + 1
    end
  end)
  asok.spawn(function() asok.send(attacker, string.rep("B", 10 * MIB)); asok.send(attacker, "tail\n") end)
  local served = echoes(20)
  T.run(function() return last ~= nil and served() == 20 end, 30)
  T.eq(served(), 20, "echo clients served during an endless line (limited)")
  T.eq(cuts, 160, "10 MiB cut into 64 KiB pieces")
  T.same(last or T.pack(), T.pack("tail", nil), "the rest after the cuts")
  asok.close(victim)
  asok.close(attacker)
end

-- slowloris: one byte per 100 ms; everyone else finishes first
do
  local victim, attacker = T.pair()
  local slow
  asok.spawn(function() slow = T.pack(asok.receive(victim)) end)
  asok.spawn(function()
    for c in ("slow\n"):gmatch(".") do asok.send(attacker, c); asok.sleep(0.1) end
  end)
  local served = echoes(20)
  T.run(function() return served() == 20 end, 20)
  T.eq(served(), 20, "echo clients served during slowloris")
  T.check(slow == nil, "slowloris line not complete yet")
  T.run(function() return slow ~= nil end, 10)
  T.same(slow or T.pack(), T.pack("slow", nil, nil), "slowloris line")
  asok.close(victim)
  asok.close(attacker)
end

-- a peer that never reads: the sender's own timeout ends its send
do
  local victim, sink = T.pair()
  victim:setoption("tcp-nodelay", true)
  asok.settimeout(victim, 0.5)
  local res
  asok.spawn(function() res = T.pack(asok.send(victim, string.rep("C", 64 * MIB))) end)
  local served = echoes(20)
  T.run(function() return res ~= nil and served() == 20 end, 20)
  T.eq(served(), 20, "echo clients served while a send is stuck")
  T.eq(res and res[2], "timeout", "stuck send times out")
  T.check(res and res[3] and res[3] > 0 and res[3] < 64 * MIB, "partial send index", res and res[3])
  asok.close(victim)
  asok.close(sink)
end

-- a reset in the middle of a receive: nil, 'closed' with the partial data
do
  local victim, attacker = T.pair()
  local res
  asok.spawn(function() res = T.pack(asok.receive(victim, 100)) end)
  attacker:send("part")
  T.run(function() return false end, 0.1)
  attacker:setoption("linger", { on = true, timeout = 0 })
  attacker:close() -- RST
  T.run(function() return res ~= nil end, 5)
  T.same(res or T.pack(), T.pack(nil, "closed", "part"), "receive cut by a reset")
  asok.close(victim)
end

-- a UDP flood: the receiver keeps up or drops datagrams, nobody stalls
if asok.receivefrom then
  local rx = assert(socket.udp())
  assert(rx:setsockname("127.0.0.1", 0))
  local _, port = rx:getsockname()
  local tx = assert(socket.udp())
  local got, stop = 0, false
  asok.spawn(function()
    asok.settimeout(rx, 0.3)
    while not stop do
      local d = asok.receivefrom(rx)
      if d then got = got + 1 elseif got > 0 then break end
    end
  end)
  asok.spawn(function()
    for i = 1, 20000 do
      tx:sendto("flood " .. i, "127.0.0.1", port)
      if i % 500 == 0 then asok.sleep(0) end
    end
  end)
  local served = echoes(20)
  T.run(function() return served() == 20 end, 20)
  stop = true
  T.eq(served(), 20, "echo clients served during a UDP flood")
  T.check(got > 0, "flood datagrams received:", got)
  T.run(function() return false end, 0.5)
  asok.close(rx)
  tx:close()
end

-- T.done checks that the live asok handles are back to the baseline
T.done("test_hostile")
