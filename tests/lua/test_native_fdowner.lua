-- test_native_fdowner.lua: the fd sharing of docs/reliability.md items
-- 62 and 63 (item 61's two gaps, and a second close of the number).
-- 62: a native client whose fd came from setfd or a reconnect was never
-- recorded as the fd's watcher, so another object's close of that fd
-- left its waiters waiting for ever (epoll drops a closed fd without an
-- event). 63: a native client's close (or __gc) of an fd that another
-- object's handle watches (the client was given it by setfd, which asok
-- could not wrap for it: "File exists") left that object's waiters
-- waiting for ever. Also: a second sharer's close of the number before
-- the woken waiter retried turned its 'Bad file descriptor' into
-- 'closed'. Each wait now ends as LuaSocket's own call on the closed fd
-- ("Bad file descriptor"). Waits are bounded by reactor steps, never by
-- the clock.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local EBADF = '(3) nil, "Bad file descriptor", '

local steps, sharer, collect, closefd = T.steps, T.sharer, T.collect, T.closefd

-- receiver starts a receive of pattern, prefix on obj (asok.receive for a
-- raw LuaSocket object); returns a function giving its results once done.
local function receiver(obj, raw, pattern, prefix)
  local res
  asok.spawn(function()
    if raw then res = T.pack(asok.receive(obj, pattern, prefix))
    else res = T.pack(obj:receive(pattern, prefix)) end
  end)
  return function() return res end
end

-- 1 (item 62). a native client given a connected socket's fd by setfd:
-- a receive waiting with a partial result, the sharer closed or collected
for _, how in ipairs { "close", "collect" } do
  local a, p = T.nativepair()
  local x, y = T.pair()
  local fd, old = x:getfd(), a:getfd()
  x:setfd(-1)
  a:setfd(fd); closefd(old)
  assert(y:send("ab"))
  local res = receiver(a, false, "*l", "P")
  T.check(not steps(res), how, ": the setfd client's receive waits")
  local o = sharer(fd)
  if how == "close" then o:close() else o = nil; collect() end
  T.check(steps(res), how, ": the setfd client's receive woke")
  T.eq(res() and T.showpack(res()), EBADF .. '"Pab"', how .. ": the setfd client's receive")
  a:close(); p:close(); y:close()
end

-- 2 (item 62). a native client connected again (closed, then connect):
-- a receive and a select waiting on it
for _, what in ipairs { "receive", "select" } do
  local l, port = T.listener()
  local a, p = T.nativepair()
  a:close()
  local ok
  asok.spawn(function() ok = T.pack(a:connect("127.0.0.1", port)) end)
  T.check(steps(function() return ok end, 200), what, ": the reconnect ended")
  T.eq(ok and T.showpack(ok), T.showpack(T.pack(1.0)), what .. ": the reconnect")
  local peer = assert(l:accept())
  local res
  if what == "receive" then res = receiver(a, false)
  else asok.spawn(function() local r = T.pack(asok.select({ a }, nil)); res = function() return r end end) end
  local done = function() return res and res() end
  T.check(not steps(done), what, ": waits on the reconnected client")
  sharer(a:getfd()):close()
  T.check(steps(done), what, ": woke after the sharer's close")
  if what == "receive" then
    T.eq(done() and T.showpack(done()), EBADF .. '""', "the reconnected client's receive")
  else
    T.eq(done() and done()[1][1], a, "the select lists the reconnected client")
  end
  a:close(); p:close(); peer:close(); l:close()
end

-- 3 (item 63). an object watching fd F (a native client, a raw LuaSocket
-- object, a wrapper: a receive waiting; a raw object's select) and a
-- native client given F by setfd ("File exists": no handle of its own)
-- that closes it or is collected
local OWNERS = {
  { "native", function() local s, p = T.nativepair(); return s, p, false end },
  { "raw", function() local s, p = T.pair(); return s, p, true end },
  { "wrapper", function() local s, p = T.pair(); return asok.wrap(s), p, false end },
}
for _, how in ipairs { "close", "collect" } do
  for _, k in ipairs(OWNERS) do
    for _, what in ipairs { "receive", "select" } do
      local name = how .. ", " .. k[1] .. " " .. what
      local x, p, raw = k[2]()
      local res
      if what == "receive" then
        res = receiver(x, raw)
      else
        asok.spawn(function() local r = T.pack(asok.select({ x }, nil)); res = function() return r end end)
      end
      local done = function() return res and res() end
      T.check(not steps(done), name, ": waits")
      local a, q = T.nativepair()
      local old = a:getfd()
      a:setfd(x:getfd()); closefd(old)
      T.eq(T.showpack(T.pack(a:receive())), '(3) nil, "File exists", ""', name .. ": the setfd client has no handle")
      if how == "close" then T.eq(a:close(), 1, name .. ": the client's close") else a = nil; collect() end
      T.check(steps(done), name, ": woke after the client's " .. how)
      if what == "receive" then
        T.eq(done() and T.showpack(done()), EBADF .. '""', name .. ": the receive")
      else
        T.eq(done() and done()[1][1], x, name .. ": the select lists it")
      end
      if raw then x:setfd(-1) else x:close() end -- (its fd is closed)
      p:close(); q:close()
    end
  end
end

-- 4. two sharers close the number one after the other, before the woken
-- receive retried: LuaSocket's answer still (a second close of the number
-- is not the client's own)
do
  local a, p = T.nativepair()
  local res = receiver(a, false, 5, "P")
  assert(p:send("ab"))
  T.check(steps(function() return asok._debug.held(a) == 2 end), "4: the partial arrived")
  local o1, o2 = sharer(a:getfd()), sharer(a:getfd())
  o1:close(); o2:close()
  T.check(steps(res), "4: the receive woke")
  T.eq(res() and T.showpack(res()), EBADF .. '"Pab"', "4: the receive after two sharers' closes")
  a:close(); p:close()
end

-- 5. guards: a native client whose fd another object closed leaves the
-- number alone at its own close and collection, when a socket asok
-- watches took it (its receive goes on: no 'closed', no EBADF)
for _, how in ipairs { "close", "collect" } do
  local a, p = T.nativepair()
  local fd = a:getfd()
  sharer(fd):close()
  local l, port = T.listener()
  local s2, extra = nil, {}
  for _ = 1, 64 do
    local s = assert((socket.tcp4 or socket.tcp)())
    if s:getfd() == fd then s2 = s; break end
    extra[#extra + 1] = s
  end
  for _, s in ipairs(extra) do s:close() end
  T.check(s2, how, ": a new socket on the closed number", fd)
  if s2 then
    assert(s2:connect("127.0.0.1", port))
    local peer = assert(l:accept())
    local res = receiver(s2, true)
    T.check(not steps(res), how, ": the new socket's receive waits")
    if how == "close" then T.eq(a:close(), 1, how .. ": the client's close") else a = nil; collect() end
    T.check(not steps(res), how, ": the new socket's receive still waits")
    assert(peer:send("line\n"))
    T.check(steps(res, 200), how, ": the new socket's receive ended")
    T.eq(res() and T.showpack(res()), '(3) "line", nil, nil', how .. ": the new socket's receive")
    peer:close(); s2:close()
  end
  if a then a:close() end
  p:close(); l:close()
end

T.done("native_fdowner")
