-- test_fork.lua (LuaJIT: fork through its ffi; registered for luajit only):
-- a child forked after `require "asok"` cannot use asok (the Go runtime's
-- threads are not in it): each asok call there fails at once with
-- "asok is not usable in a process forked after it loaded" (asok.select
-- and asok.sleep raise it, a socket operation returns it) instead of
-- waiting for ever. What the child closes — the listener through
-- LuaSocket's close, a native client, everything at the end of its script
-- (lua_close runs the finalizers) — leaves the parent's loop alone (before,
-- those closes removed the sockets from the epoll instance the two share,
-- and the parent's accept and receive never woke), and a native client's
-- close in the child closes the child's copy of the fd (the peer sees the
-- parent's close as EOF while the child lives).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local ffi = require "ffi"
ffi.cdef [[
int fork(void);
int waitpid(int pid, int *status, int options);
int pipe(int fds[2]);
long read(int fd, void *buf, unsigned long n);
long write(int fd, const void *buf, unsigned long n);
int close(int fd);
unsigned alarm(unsigned seconds);
]]
local C = ffi.C
local FORKED = "asok is not usable in a process forked after it loaded"

-- a pipe each way; one byte is a signal
local function newpipe()
  local fds = ffi.new("int[2]")
  assert(C.pipe(fds) == 0)
  return fds[0], fds[1]
end
local function signal(fd) assert(C.write(fd, "x", 1) == 1) end
local function await(fd)
  local b = ffi.new("char[1]")
  return C.read(fd, b, 1) == 1
end

-- the parent's state before the fork: an accept waiting on a wrapped
-- listener, a receive waiting on a wrapped connection, a native client
local lsn, port = T.listener()
local srv = asok.wrap(lsn)
local accepted
T.spawn(function() accepted = T.pack(srv:accept()) end)
local a, b = T.pair()
local wa, wb = asok.wrap(a), asok.wrap(b)
local line
T.spawn(function() line = T.pack(wa:receive("*l")) end)
local nat, peer = T.nativepair()
peer:settimeout(5)
T.run(function() return false end, 0.05)

local toparent_r, toparent_w = newpipe()
local tochild_r, tochild_w = newpipe()
local pid = C.fork()
assert(pid >= 0, "fork failed")
if pid == 0 then
  -- the child: every failure is a bit of the exit status; a hang (a call
  -- into Go) ends it by SIGALRM, which the parent sees as a failure
  C.alarm(10)
  C.close(toparent_r)
  C.close(tochild_w)
  local bad = 0
  local function expect(n, cond) if not cond then bad = bad + n end end
  -- raised as it is (no function name, no position inside asok)
  local ok, err = pcall(asok.select, nil, nil, 0)
  expect(1, not ok and err == FORKED)
  ok, err = pcall(asok.sleep, 0)
  expect(2, not ok and err == FORKED)
  ok, err = pcall(asok.select, { wb }, nil, 0)
  expect(32, not ok and err == FORKED)
  local r = {}
  local co = coroutine.create(function() r = T.pack(wb:send("from the child\n")) end)
  coroutine.resume(co)
  expect(4, r[1] == nil and r[2] == FORKED)
  co = coroutine.create(function() r = T.pack(nat:receive("*l")) end)
  coroutine.resume(co)
  expect(8, r[1] == nil and r[2] == FORKED)
  expect(16, lsn:close() == 1) -- LuaSocket's close, as asok hooks it
  nat:close()
  signal(toparent_w)
  await(tochild_r)
  os.exit(bad, true) -- closes the state: every finalizer runs
end

-- the parent (a child that died closed its end: the read ends)
C.close(toparent_w)
C.close(tochild_r)
T.check(await(toparent_r), "the child signalled")
-- the child closed its copy of the native client: the parent's close ends
-- the connection for the peer now, with the child still alive
nat:close()
T.same(T.pack(peer:receive("*l")), T.pack(nil, "closed", ""), "the peer sees the parent's close")
signal(tochild_w)
local status = ffi.new("int[1]")
T.eq(C.waitpid(pid, status, 0), pid, "waitpid")
T.eq(status[0], 0, "the child's checks (exit status: the failures' bits)")

-- the parent's loop goes on: its accept and its receive wake
local c = assert(socket.connect("127.0.0.1", port))
T.check(T.run(function() return accepted end, 5), "the parent's accept woke")
T.check(accepted and accepted[1] ~= nil, "accepted a client", accepted and T.showpack(accepted))
T.eq(b:send("hello\n"), 6, "send to the wrapped connection")
T.check(T.run(function() return line end, 5), "the parent's receive woke")
T.same(line or T.pack(), T.pack("hello", nil, nil), "the parent's receive")
if accepted and accepted[1] then accepted[1]:close() end
c:close()
srv:close()
wa:close()
wb:close()
peer:close()
C.close(toparent_r)
C.close(tochild_w)
-- the closed objects' handles go with the objects
lsn, srv, a, b, wa, wb, nat, accepted, c = nil, nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_fork")
