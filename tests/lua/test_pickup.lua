-- test_pickup.lua - a receive that waits is answered by the retry
-- asok.select armed, reading in C (asok._debug.pickups counts them), with
-- LuaSocket's exact results and statistics, and nothing lost or
-- reordered when another coroutine reaches the socket first.
local T = dofile("asoktest.lua")
local socket = require "socket"
local asok = require "asok"

-- 1. echo pairs, lines (CRLF, prefix) and counts: every result exact,
-- getstats exact, and the waits answered without a second Go call
do
  local PAIRS, ROUNDS = 20, 100
  local p0, s0, k0 = asok._debug.pickups()
  local ok, socks, sent, asked = 0, {}, {}, {}
  for p = 1, PAIRS do
    local a, b = T.pair()
    local wa, wb = asok.wrap(a), asok.wrap(b)
    socks[#socks + 1] = wa
    socks[#socks + 1] = wb
    T.spawn(function() -- echo: a line back as a CRLF line, a count back as is
      while true do
        local line = wa:receive("*l")
        if not line then break end
        if line:sub(1, 1) == "#" then
          local n = tonumber(line:sub(2))
          local data = wa:receive(n)
          if not data then break end
          wa:send(data)
        else
          wa:send(line .. "\r\n")
        end
      end
    end)
    T.spawn(function()
      local bytes, out = 0, 0
      for r = 1, ROUNDS do
        local want = p .. ":" .. r
        if r % 3 == 0 then
          local data = want .. string.rep("x", r)
          wb:send("#" .. #data .. "\n" .. data)
          out = out + #("#" .. #data .. "\n" .. data)
          local got = wb:receive(#data)
          if got ~= data then T.eq(got, data, "echoed count"); return end
          bytes = bytes + #data
        elseif r % 3 == 1 then
          wb:send(want .. "\n")
          out = out + #want
          local got = wb:receive("*l", "pre-")
          if got ~= "pre-" .. want then T.eq(got, "pre-" .. want, "echoed line with prefix"); return end
          bytes = bytes + #want + 2
        else
          wb:send(want .. "\n")
          out = out + #want
          local got = wb:receive()
          if got ~= want then T.eq(got, want, "echoed line"); return end
          bytes = bytes + #want + 2
        end
      end
      sent[p], asked[p] = bytes, out + (ROUNDS - math.floor(ROUNDS / 3)) -- + the LFs
      ok = ok + 1
    end)
  end
  T.check(T.run(function() return ok == PAIRS end, 30), "all pairs finished", ok)
  for p = 1, PAIRS do
    local received, out = socks[2 * p]:getstats()
    T.eq(received, sent[p], "getstats of pair " .. p)
    T.eq(out, asked[p], "getstats sent of pair " .. p)
    received, out = socks[2 * p - 1]:getstats()
    T.eq(received, asked[p], "getstats of the echo of pair " .. p)
    T.eq(out, sent[p], "getstats sent of the echo of pair " .. p)
  end
  local p1, s1, k1 = asok._debug.pickups()
  local taken = p1 - p0
  T.check(taken >= PAIRS * ROUNDS, "waiting receives answered from asok.select:", taken)
  -- after those, the replies and the next receives stay in C too
  T.check(s1 - s0 >= PAIRS * ROUNDS / 2, "sends made in C after them:", s1 - s0)
  T.check(k1 - k0 >= PAIRS * ROUNDS / 2, "receives parked in C after them:", k1 - k0)
  for i = 1, #socks do socks[i]:close() end
  socks = nil
end

-- 2. X waits on A; in the batch that completes X's line, W (a sleeper,
-- handed out first) reads A before X runs: W queues behind X, X still
-- gets the first line and W the second
do
  local a, b = T.pair()
  local wa = asok.wrap(a)
  local order = {}
  local p0 = asok._debug.pickups()
  local x = T.spawn(function()
    local line = wa:receive("*l")
    order[#order + 1] = "X:" .. tostring(line)
  end)
  local w = T.spawn(function()
    asok.sleep(0)
    local line = wa:receive("*l")
    order[#order + 1] = "W:" .. tostring(line)
  end)
  assert(b:send("one\ntwo\n"))
  T.check(T.run(function() return #order == 2 end, 5), "both received", #order)
  T.eq(table.concat(order, " "), "X:one W:two", "FIFO order kept")
  -- the sleeper is handed out before the socket's token (timers first):
  -- W's receive withdrew X's offer, so X's retry went through Go
  T.eq(asok._debug.pickups() - p0, 0, "X's offer withdrawn")
  T.eq(coroutine.status(x), "dead", "X finished")
  T.eq(coroutine.status(w), "dead", "W finished")
  T.eq((wa:getstats()), 8.0, "getstats")
  wa:close()
  b:close()
end

-- 3. native clients (asok.accept on a wrapped server) take them too
do
  local server, port = T.listener()
  local ws = asok.wrap(server)
  local done, got = false, {}
  local p0 = asok._debug.pickups()
  T.spawn(function()
    local c = ws:accept()
    for _ = 1, 50 do
      local line = c:receive("*l")
      if not line then break end
      c:send(line .. "\n")
    end
    c:close()
  end)
  T.spawn(function()
    local c = asok.wrap(socket.tcp())
    assert(c:connect("127.0.0.1", port))
    for i = 1, 50 do
      c:send("n" .. i .. "\n")
      got[#got + 1] = c:receive("*l")
    end
    T.eq(c:receive("*l"), nil, "closed after 50")
    c:close()
    done = true
  end)
  T.check(T.run(function() return done end, 10), "native echo finished")
  T.eq(#got, 50, "lines")
  T.eq(got[50], "n50", "last line")
  T.check(asok._debug.pickups() - p0 >= 50, "native waits answered from asok.select")
  ws:close()
end

T.done("test_pickup")
