-- test_late_deadline.lua: a deadline the reactor meets late (the main
-- thread blocked past it) while the peer had already acted. LuaSocket's
-- poll(2) answers for the socket as it is when it runs, so its call returns
-- what is there: the data and the EOF or reset behind it, a count larger
-- than one read, a queued connection, a datagram, the reset of a send's
-- peer; the receive limit still applies. asok's last look at a passed
-- deadline must give the same, for a LuaSocket object through asok.*, a
-- wrapper and a native client (and not 'timeout'). And a receive limit
-- lowered while a receive waits applies to what it buffered, at once.
local T = dofile("asoktest.lua")
local socket = require "socket"
local asok = require "asok"

local LATE = 0.05 -- the timeout; the main thread then blocks for 2 * LATE (the
-- reactor runs only after that: no race with the peer, which acts first)

-- late runs op(obj) in a coroutine with obj's asynchronous timeout LATE,
-- lets peer() act once op waits, blocks the reactor past the deadline,
-- and returns op's results.
local function late(obj, op, peer)
  asok.settimeout(obj, LATE)
  local res
  T.spawn(function() res = T.pack(op(obj)) end)
  T.check(res == nil, "the operation waits")
  peer()
  socket.sleep(2 * LATE) -- the reactor does not run: the deadline passes
  T.check(T.run(function() return res end, 5), "the operation returned")
  return res or T.pack()
end

-- shapes: the same stream socket as LuaSocket object, wrapper, native client
local function shapes()
  local list = {}
  local a, b = T.pair()
  list[#list + 1] = { "raw", a, b, function(o, ...) return asok.receive(o, ...) end }
  a, b = T.pair()
  list[#list + 1] = { "wrapper", asok.wrap(a), b, function(o, ...) return o:receive(...) end }
  local n, c = T.nativepair()
  if n then list[#list + 1] = { "native", n, c, function(o, ...) return o:receive(...) end } end
  return list
end

-- data and the EOF behind it: the receive ends as LuaSocket's does at EOF
for _, pat in ipairs { { "*l", T.pack(nil, "closed", "hello") }, { "*a", T.pack("hello", nil, nil) },
  { 10, T.pack(nil, "closed", "hello") }, { 3, T.pack("hel", nil, nil) } } do
  for _, sh in ipairs(shapes()) do
    local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
    local got = late(obj, function(o) return recv(o, pat[1]) end, function()
      peer:send("hello"); peer:close()
    end)
    T.same(got, pat[2], what .. " " .. tostring(pat[1]) .. ": data then EOF")
    obj:close()
  end
end

-- data and a reset behind it: 'closed' with the data, as LuaSocket's
for _, sh in ipairs(shapes()) do
  local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
  local got = late(obj, function(o) return recv(o, "*l") end, function()
    obj:send("unread\n") -- the peer closes with this unread: a reset
    peer:send("hello"); peer:close()
  end)
  T.same(got, T.pack(nil, "closed", "hello"), what .. ": data then reset")
  obj:close()
end

-- more than one read's worth (64 KiB): the whole count
local N = 100000
local body = string.rep("0123456789", N / 10)
for _, sh in ipairs(shapes()) do
  local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
  local got = late(obj, function(o) return recv(o, N) end, function()
    peer:settimeout(5)
    T.eq(peer:send(body), N, what .. ": the peer sent it all")
  end)
  T.check(got[1] == body and got.n == 3 and got[2] == nil, what .. ": " .. N .. " bytes, got", T.showpack(got):sub(1, 80))
  obj:close(); peer:close()
end

-- the receive limit applies to what the last look read
for _, sh in ipairs(shapes()) do
  local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
  asok.setlimit(obj, 10)
  local got = late(obj, function(o) return recv(o, "*l") end, function()
    peer:send(string.rep("q", 100))
  end)
  T.same(got, T.pack(nil, "receive limit exceeded", string.rep("q", 10)), what .. ": the limit")
  obj:close(); peer:close()
end

-- a limit lowered below what a waiting receive has buffered ends it at
-- once, as it ends a receive made then (not at the next byte: the peer is
-- silent, and there is no timeout); a line or '*a', not a count
for _, pat in ipairs { "*l", "*a" } do
  for _, sh in ipairs(shapes()) do
    local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
    what = what .. " " .. pat .. ": setlimit while it waits"
    asok.settimeout(obj, nil)
    local got, count
    T.spawn(function() got = T.pack(recv(obj, pat)) end)
    T.spawn(function() count = T.pack(recv(obj, 2000)) end) -- queued behind
    peer:send(string.rep("e", 1000))
    -- (held, not dirty(): the partial is the waiting receive's, which
    -- dirty() leaves out, as LuaSocket's receive keeps it)
    T.check(T.run(function() return asok._debug.held(obj) == 1000 end, 5), what .. ": the data is buffered")
    T.eq(obj:dirty(), false, what .. ": dirty() leaves the waiting receive's partial out")
    T.run(function() return false end, 0.05)
    T.eq(got, nil, what .. ": the receive waits on it")
    asok.setlimit(obj, 100)
    T.check(T.run(function() return got end, 2), what .. ": the receive ended")
    T.same(got or T.pack(), T.pack(nil, "receive limit exceeded", string.rep("e", 100)), what .. ": the limit")
    T.eq(count, nil, what .. ": a count receive is not limited: it waits")
    peer:send(string.rep("f", 1100))
    T.check(T.run(function() return count end, 5), what .. ": the count receive ended")
    T.same(count or T.pack(), T.pack(string.rep("e", 900) .. string.rep("f", 1100), nil, nil), what .. ": the rest, in order")
    obj:close(); peer:close()
  end
end

-- a send into a peer that does not read, which then resets: 'closed' and
-- the count sent, not 'timeout'
for _, sh in ipairs(shapes()) do
  local what, obj, peer = sh[1], sh[2], sh[3]
  local big = string.rep("z", 16 * 1024 * 1024)
  local got = late(obj, function(o) return asok.send(o, big) end, function()
    peer:setoption("linger", { on = true, timeout = 0 })
    peer:close()
  end)
  T.eq(got[1], nil, what .. ": send after the reset")
  T.eq(got[2], "closed", what .. ": send after the reset: 'closed'")
  T.check(type(got[3]) == "number" and got[3] > 0, what .. ": with its count", got[3])
  obj:close()
end

-- a connection queued: accepted (raw server and wrapper)
for _, shape in ipairs { "raw", "wrapper" } do
  local server, port = T.listener()
  local obj = shape == "wrapper" and asok.wrap(server) or server
  local c
  local got = late(obj, function(o) return asok.accept(o) end, function()
    c = assert(socket.connect("127.0.0.1", port))
  end)
  T.check(got[1] ~= nil and got[2] == nil, shape .. ": accept after the deadline, got", T.showpack(got))
  if got[1] then got[1]:close() end
  c:close(); obj:close()
end

-- a datagram: received
do
  local u = assert(socket.udp()); assert(u:setsockname("127.0.0.1", 0))
  local ip, port = u:getsockname()
  local sender = assert(socket.udp()); assert(sender:setsockname("127.0.0.1", 0))
  local _, sport = sender:getsockname()
  local got = late(u, function(o) return asok.receivefrom(o) end, function()
    sender:sendto("dgram", ip, port)
  end)
  T.same(got, T.pack("dgram", "127.0.0.1", tonumber(sport)), "udp receivefrom after the deadline")
  got = late(u, function(o) return asok.receive(o) end, function()
    sender:sendto("again", ip, port)
  end)
  T.same(got, T.pack("again"), "udp receive after the deadline")
  -- nothing came: the timeout
  got = late(u, function(o) return asok.receivefrom(o) end, function() end)
  T.same(got, T.pack(nil, "timeout"), "udp: nothing came")
  u:close(); sender:close()
end

-- nothing came: still the timeout, with the partial
for _, sh in ipairs(shapes()) do
  local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
  local got = late(obj, function(o) return recv(o, "*l") end, function() peer:send("part") end)
  T.same(got, T.pack(nil, "timeout", "part"), what .. ": no line: timeout")
  obj:close(); peer:close()
end

-- with both a block and a total timeout, a part read at the late look
-- does not end the receive while the total has time left: LuaSocket's
-- next wait is min(block, total left), and the line completes (helper R2)
for _, sh in ipairs(shapes()) do
  local what, obj, peer, recv = sh[1], sh[2], sh[3], sh[4]
  asok.settimeout(obj, 0.3, "b")
  asok.settimeout(obj, 30, "t")
  local res
  T.spawn(function() res = T.pack(recv(obj, "*l")) end)
  peer:send("a")
  socket.sleep(0.4) -- past the block deadline, the reactor not running
  asok.select(nil, nil, 0) -- the last look reads "a"; a new wait of 0.3 s
  T.eq(res, nil, what .. ": both timeouts: the receive waits on")
  peer:send("b\n")
  T.run(function() return res end, 5)
  T.same(res, T.pack("ab", nil, nil), what .. ": both timeouts: the line")
  obj:close(); peer:close()
end

T.done("test_late_deadline")
