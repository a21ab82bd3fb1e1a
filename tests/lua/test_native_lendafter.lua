-- test_native_lendafter.lua: a native client (a wrapper server's accept)
-- whose fd another LuaSocket object closed (items 61-63: fdgone), then
-- given a socket again: by setfd, or by connect after its close (a
-- reconnect). docs/reliability.md item 66 lends such a client's
-- getpeername, getsockname, getoption, setoption and connect a number no
-- socket has (INT_MAX) while it is gone; once it has a socket again they
-- run on that socket, as LuaSocket's own object's do, and no INT_MAX is
-- ever the client's number (getfd), recorded or closed. The answers are
-- asked of LuaSocket's own objects here, not written down.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local NEVER = 2147483647

-- gone returns a native client whose fd a sharer closed, its old number,
-- and its peer (a LuaSocket client)
local function gone()
  local a, p = T.nativepair()
  local fd = a:getfd()
  local o = T.sharer(fd)
  o:close()
  return a, fd, p
end

-- 1. gone, then setfd to a connected LuaSocket socket's fd (handed over:
-- the LuaSocket object lets go of it): the client answers for it, sends
-- on it, and its close closes it
do
  local a, fd, p = gone()
  T.eq(T.showpack(T.pack(a:getpeername())), '(2) nil, "Bad file descriptor"', "1: gone: getpeername")
  local l, port = T.listener()
  local s = assert(socket.connect("127.0.0.1", port))
  local peer = assert(l:accept())
  local want = { T.pack(s:getpeername()), T.pack(s:getsockname()), T.pack(s:getoption("tcp-nodelay")) }
  local nfd = s:getfd()
  s:setfd(-1); s:close()
  a:setfd(nfd)
  T.eq(a:getfd(), nfd, "1: the client's number after setfd")
  T.same(T.pack(a:getpeername()), want[1], "1: getpeername after setfd")
  T.same(T.pack(a:getsockname()), want[2], "1: getsockname after setfd")
  T.same(T.pack(a:getoption("tcp-nodelay")), want[3], "1: getoption after setfd")
  T.eq(a:setoption("tcp-nodelay", true), 1, "1: setoption after setfd")
  local _ = fd
  -- a LuaSocket object on the same fd sees the option the client set
  local view = T.sharer(nfd)
  T.eq(view:getoption("tcp-nodelay"), true, "1: the option set on the client's new socket")
  view:setfd(-1); view:close()
  T.eq(a:send("x"), 1, "1: send after setfd")
  peer:settimeout(5)
  T.eq(peer:receive(1), "x", "1: its peer receives")
  T.eq(a:getfd(), nfd, "1: the number stays")
  T.eq(a:close(), 1, "1: close")
  T.eq(peer:receive(1), nil, "1: the client's close closed its new socket")
  peer:close(); l:close(); p:close()
end

-- 2. gone, then closed, then connect: a reconnect (a new socket, as
-- LuaSocket's closed object makes one), its number a real one
do
  local a, fd, p = gone()
  T.eq(a:close(), 1, "2: close of a gone client")
  T.eq(a:getfd(), -1, "2: closed: getfd")
  local l, port = T.listener()
  -- LuaSocket's closed object's connect (its connection accepted, dropped)
  local ref = assert(socket.tcp())
  ref:close()
  local want = T.pack(ref:connect("127.0.0.1", port))
  ref:close()
  assert(l:accept()):close()
  local r
  asok.spawn(function() r = T.pack(a:connect("127.0.0.1", port)) end)
  T.run(function() return r end, 5)
  T.same(r or T.pack(), want, "2: connect of a closed gone client")
  local nfd = a:getfd()
  T.check(nfd >= 0 and nfd ~= NEVER, "2: the client's new number", nfd)
  local peer = assert(l:accept())
  local _, cport = a:getsockname()
  local _, pport = peer:getpeername()
  T.eq(tonumber(cport), tonumber(pport), "2: the client's name is its peer's peer")
  T.eq(a:send("y"), 1, "2: send after reconnect")
  peer:settimeout(5)
  T.eq(peer:receive(1), "y", "2: its peer receives")
  a:close(); peer:close(); l:close(); p:close()
  local _ = fd
end

-- 3. gone, not closed: connect and setpeername answer LuaSocket's on a
-- closed fd (no reconnect: the client still has its number), and the
-- number stays the old one, never the lent one
do
  local a, fd, p = gone()
  local l, port = T.listener()
  local ref = assert((socket.tcp4 or socket.tcp)())
  local rfd = ref:getfd()
  local tmp = T.sharer(rfd); tmp:close()
  local want = T.pack(ref:connect("127.0.0.1", port))
  ref:setfd(-1)
  T.same(T.pack(a:connect("127.0.0.1", port)), want, "3: connect of a gone client")
  T.same(T.pack(a:setpeername("127.0.0.1", port)), want, "3: setpeername of a gone client")
  T.eq(a:getfd(), fd, "3: the client's number after them")
  l:settimeout(0)
  T.same(T.pack(l:accept()), T.pack(nil, "timeout"), "3: no connection made")
  T.eq(a:close(), 1, "3: close")
  l:close(); p:close()
end

T.done("native_lendafter")
