-- test_native_fdgone.lua: a native client (a wrapper server's accept)
-- whose fd another LuaSocket object, given it by setfd, closes (its close
-- or its __gc). epoll drops a closed fd without an event: before
-- docs/reliability.md item 61 a receive, send or select waiting on the
-- client waited for ever, and the client's close closed the number again
-- (maybe another socket's by then). Now each wait ends at once as
-- LuaSocket's own call on the closed fd does ("Bad file descriptor", with
-- the partial result), later calls too, and the client's close and
-- shutdown leave the number alone. Waits are bounded by reactor steps
-- (T.steps), never by the clock.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local EBADF = "Bad file descriptor"

local steps, sharer, collect = T.steps, T.sharer, T.collect

-- reference: what LuaSocket's own receive(pattern, "P") answers on a
-- client whose fd a sharer closed, "ab" in its buffer (received, not yet
-- handed out, as the waiting receive below holds it)
local function reference(pattern)
  local l = T.listener()
  local _, port = l:getsockname()
  local c = assert(socket.connect("127.0.0.1", port))
  local a = assert(l:accept())
  assert(c:send("xab"))
  T.arrived(a)
  T.eq(a:receive(1), "x", "reference: one byte")
  local o = sharer(a:getfd())
  o:close()
  local want = T.showpack(T.pack(a:receive(pattern, "P")))
  a:setfd(-1) -- (its fd is closed: its __gc must not close the number again)
  c:close(); l:close()
  return want
end

for _, how in ipairs { "close", "collect" } do
  -- 1. a receive waiting with a partial result, each pattern
  for _, pattern in ipairs { "*l", "*a", 10 } do
    local want = reference(pattern)
    T.eq(want, '(3) nil, "Bad file descriptor", "Pab"', how .. ": LuaSocket's receive " .. pattern)
    local a, p = T.nativepair()
    assert(p:send("ab"))
    T.arrived(a)
    local res
    asok.spawn(function() res = T.pack(a:receive(pattern, "P")) end)
    T.check(not steps(function() return res end), how, pattern, ": the receive waits (partial \"ab\")")
    local o = sharer(a:getfd())
    if how == "close" then o:close() else o = nil; collect() end
    T.check(steps(function() return res end), how, pattern, ": the receive woke")
    T.eq(res and T.showpack(res), want, how .. ": the receive " .. tostring(pattern) .. " after the sharer's " .. how)
    a:close(); p:close()
  end

  -- 2. a receive waiting with nothing received, then later calls
  do
    local a, p = T.nativepair()
    local fd = a:getfd()
    local res
    asok.spawn(function() res = T.pack(a:receive()) end)
    T.check(not steps(function() return res end), how, ": the receive waits")
    local o = sharer(fd)
    if how == "close" then o:close() else o = nil; collect() end
    local woke = T.check(steps(function() return res end), how, ": the receive woke")
    T.eq(res and T.showpack(res), '(3) nil, "Bad file descriptor", ""', how .. ": the receive after the sharer's " .. how)
    -- (a receive still waiting, main's build: the calls below would wait
    -- behind it, for ever; its failure is counted)
    if not woke then a:close() end
    T.eq(T.showpack(T.pack(a:receive(3, "q"))), '(3) nil, "Bad file descriptor", "q"', how .. ": a receive after")
    T.eq(T.showpack(T.pack(a:send("abc"))), T.showpack(T.pack(nil, EBADF, 0.0)),
      how .. ": a send after")
    T.eq(a:getfd(), fd, how .. ": getfd still the number, as LuaSocket's")
    T.eq(a:close(), 1, how .. ": close")
    T.eq(a:getfd(), -1, how .. ": getfd after the close")
    T.eq(T.showpack(T.pack(a:receive())), '(3) nil, "closed", ""', how .. ": a receive after the close")
    p:close()
  end
end

-- 3. a send waiting (the peer reads nothing): it ends as LuaSocket's send
-- on the closed fd, with what it had sent
do
  local a, p = T.nativepair()
  local big = string.rep("x", 8 * 1024 * 1024)
  local res
  asok.spawn(function() res = T.pack(a:send(big)) end)
  T.check(not steps(function() return res end), "the send waits (the peer's buffer full)")
  local o = sharer(a:getfd())
  o:close()
  T.check(steps(function() return res end), "the send woke")
  T.eq(res and res.n, 3, "the send: three results")
  T.eq(res and res[1], nil, "the send failed")
  T.eq(res and res[2], EBADF, "the send's error")
  T.check(res and type(res[3]) == "number" and res[3] > 0 and res[3] < #big,
    "the send's count: some sent, not all: got", res and res[3])
  local r, s = a:getstats()
  T.eq(s, res and res[3], "getstats counts what it sent")
  a:close(); p:close()
end

-- 4. a select waiting on the client: it lists it (as item 52's on a
-- LuaSocket object: the closed socket is ready)
do
  local a, p = T.nativepair()
  local res
  asok.spawn(function() res = T.pack(asok.select({ a }, nil)) end)
  T.check(not steps(function() return res end), "the select waits")
  local o = sharer(a:getfd())
  o:close()
  T.check(steps(function() return res end), "the select woke")
  T.eq(res and res.n, 2, "the select's results")
  T.eq(res and res[1][1], a, "the client is listed")
  a:close(); p:close()
end

-- 5. a caller that cannot yield (the main thread) waiting in receive; a
-- coroutine closes the sharer; a guard closes the client after many steps
-- (then the receive would say 'closed')
do
  local a, p = T.nativepair()
  local o = sharer(a:getfd())
  local finished = false
  asok.spawn(function() asok.sleep(0); asok.sleep(0); o:close() end)
  asok.spawn(function()
    for _ = 1, 200 do
      asok.sleep(0)
      if finished then return end
    end
    a:close()
  end)
  local res = T.pack(a:receive())
  finished = true
  T.eq(T.showpack(res), '(3) nil, "Bad file descriptor", ""', "a blocked receive after the sharer's close")
  a:close(); p:close()
  steps(function() return false end, 3)
end

-- 6. the number taken again by a new socket: the client's shutdown and
-- close leave it alone (LuaSocket's would shut it down and close it)
do
  local l = T.listener()
  local _, port = l:getsockname()
  local a, p = T.nativepair()
  local fd = a:getfd()
  local o = sharer(fd)
  o:close()
  -- a LuaSocket socket on that number (the lowest free one, usually)
  local s2, extra = nil, {}
  for _ = 1, 64 do
    local s = assert((socket.tcp4 or socket.tcp)()) -- (3.1's tcp() makes its fd at connect)
    if s:getfd() == fd then s2 = s; break end
    extra[#extra + 1] = s
  end
  for _, s in ipairs(extra) do s:close() end
  T.check(s2, "a new socket on the closed number", fd)
  if s2 then
    assert(s2:connect("127.0.0.1", port))
    local peer = assert(l:accept())
    T.eq(a:shutdown("both"), 1, "the client's shutdown")
    T.eq(s2:send("z"), 1, "the new socket sends after the client's shutdown")
    T.eq(a:close(), 1, "the client's close")
    T.eq(s2:send("y"), 1, "the new socket sends after the client's close")
    peer:settimeout(5)
    T.eq(peer:receive(2), "zy", "its peer receives both")
    peer:close(); s2:close()
  end
  p:close(); l:close()
end

T.done("native_fdgone")
