-- test_atomic.lua: atomic I/O and the close guarantees, as issue 4 shows
-- them through the Lua API:
--  * 4 coroutines each send 4 MiB of distinct bytes through one socket:
--    the peer receives four whole blocks, in FIFO order, never interleaved;
--  * 3 coroutines reading '*l' from one socket get the lines in FIFO order;
--  * a peer reset resumes 3 waiters with nil, 'closed';
--  * a new socket that reuses a closed socket's fd number works normally and
--    gets no stale wake-up;
--  * settimeout(0.3) on a silent peer returns nil, 'timeout' after about
--    0.3 s while another coroutine keeps exchanging data.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local MIB4 = 4 * 1024 * 1024
local FMIB4 = MIB4 * 1.0 -- LuaSocket pushes send's index with lua_pushnumber

-- the sections run inside body(): once it returns, Lua 5.1 and LuaJIT no
-- longer see its locals as live (they mark a frame's whole register window)
local function body()
-- 4 x 4 MiB through one socket
do
  local peer, sender = T.pair()
  -- 4 MiB exceeds what loopback buffers hold while the reader sleeps: every
  -- send parks, so the four are queued on the socket at once
  local blocks, sent = {}, {}
  for i = 1, 4 do
    -- each block its own two bytes: any interleaving shows
    blocks[i] = string.rep(string.char(64 + i, 96 + i), MIB4 / 2)
    T.spawn(function() sent[i] = T.pack(asok.send(sender, blocks[i])) end)
  end
  local got, total = {}, 0
  T.spawn(function()
    asok.sleep(0.05) -- let all four queue up behind the kernel's buffer
    while total < 4 * MIB4 do
      local data, err, partial = asok.receive(peer, 65536)
      data = data or partial
      got[#got + 1] = data
      total = total + #data
      if err then break end
    end
  end)
  T.check(T.run(function() return total >= 4 * MIB4 and sent[4] end, 60), "16 MiB moved")
  local stream = table.concat(got)
  T.eq(#stream, 4 * MIB4, "bytes received")
  for i = 1, 4 do
    T.same(sent[i] or T.pack(), T.pack(FMIB4, nil, nil), "send " .. i .. " reports the last index")
    T.check(stream:sub((i - 1) * MIB4 + 1, i * MIB4) == blocks[i],
      "block " .. i .. " arrived whole, in FIFO position " .. i)
  end
  peer:close(); sender:close()
end

-- 3 readers of '*l' on one socket, FIFO
do
  local peer, raw = T.pair()
  local lines = {}
  for i = 1, 3 do T.spawn(function() lines[i] = asok.receive(raw, "*l") end) end
  T.run(function() return false end, 0.05)
  peer:send("on"); T.run(function() return false end, 0.02)
  peer:send("e\ntwo\r\nth"); T.run(function() return false end, 0.02)
  peer:send("ree\n")
  T.check(T.run(function() return lines[3] end, 5), "all three lines read")
  T.eq(lines[1], "one", "first reader, first line")
  T.eq(lines[2], "two", "second reader, second line")
  T.eq(lines[3], "three", "third reader, third line")
  peer:close(); raw:close()
end

-- a peer reset resumes every waiter with nil, 'closed'
do
  local peer, raw = T.pair()
  local results = {}
  for i, pattern in ipairs({ "*l", "*a", 10 }) do
    T.spawn(function() results[i] = T.pack(asok.receive(raw, pattern)) end)
  end
  T.run(function() return false end, 0.05)
  T.eq(next(results), nil, "reset: all three parked")
  assert(peer:setoption("linger", { on = true, timeout = 0 }))
  peer:close() -- RST
  T.check(T.run(function() return results[1] and results[2] and results[3] end, 5),
    "reset: all three resumed")
  for i = 1, 3 do T.same(results[i] or T.pack(), T.pack(nil, "closed", ""), "reset waiter " .. i) end
  raw:close()
end

-- fd number reuse: no stale wake-up, the new socket works normally
do
  local peer, raw = T.pair()
  local server, port = T.listener() -- before the close: it must not take the fd
  local fd = raw:getfd()
  local woken = 0
  for _ = 1, 3 do T.spawn(function() asok.receive(raw); woken = woken + 1 end) end
  T.run(function() return false end, 0.02)
  raw:close()
  T.check(T.run(function() return woken == 3 end, 5), "reuse: old waiters resumed")
  peer:close()
  -- take fds until one has the old number (POSIX hands out the lowest free)
  local spare, new = {}, nil
  for _ = 1, 64 do
    local s = socket.tcp4() -- tcp() would create its fd only on connect
    if s:getfd() == fd then new = s; break end
    spare[#spare + 1] = s
  end
  T.check(new, "a new socket got fd", fd)
  if new then
    local line, parked = nil, true
    T.spawn(function()
      T.eq(asok.connect(new, "127.0.0.1", port), 1, "reuse: connect")
      line = asok.receive(new, "*l")
      parked = false
    end)
    local accepted = server:accept()
    T.run(function() return false end, 0.1)
    T.check(parked, "reuse: no stale wake-up for the new socket")
    accepted:send("fresh\n")
    T.check(T.run(function() return not parked end, 5), "reuse: receive completes")
    T.eq(line, "fresh", "reuse: the new socket's own data")
    T.same(T.pack(asok.send(new, "back\n")), T.pack(5.0, nil, nil), "reuse: send")
    T.eq(accepted:receive("*l"), "back", "reuse: peer got it")
    accepted:close(); new:close()
  end
  for _, s in ipairs(spare) do s:close() end
  server:close()
end

-- settimeout 0.3 on a silent peer, while another coroutine keeps talking
do
  local silent, raw = T.pair()
  local a, b = T.pair()
  local trips, result, elapsed, stop = 0, nil, nil, false
  T.spawn(function()
    while not stop do
      asok.send(a, "ping\n")
      if asok.receive(b, "*l") ~= "ping" then break end
      trips = trips + 1
      asok.sleep(0) -- loopback answers at once: without this it never yields
    end
  end)
  T.spawn(function()
    asok.settimeout(raw, 0.3)
    local t0 = socket.gettime()
    result = T.pack(asok.receive(raw, "*l"))
    elapsed = socket.gettime() - t0
    stop = true
  end)
  T.check(T.run(function() return result end, 10), "timeout returned")
  T.same(result or T.pack(), T.pack(nil, "timeout", ""), "silent peer: nil, 'timeout'")
  -- a tolerance, not an exact time: never before 0.3 s, and not stuck
  T.check(elapsed and elapsed >= 0.29 and elapsed < 3, "timed out after about 0.3 s:", elapsed)
  T.check(trips > 0, "the other coroutine exchanged data meanwhile:", trips)
  silent:close(); raw:close(); a:close(); b:close()
end

end
body()
-- T.done checks that no asok handle is left behind
T.done("test_atomic")
