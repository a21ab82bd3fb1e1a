-- test_emfile.lua: running out of file descriptors while a connection
-- waits to be accepted. The test re-runs itself in a child under
-- `ulimit -n 64`, fills the fd table, and checks that the accepting
-- coroutine gets the error (LuaSocket's "Too many open files"), that an
-- established connection carries on, that a server looping on accept does
-- not spin (CPU time over ~1 s of wall time, os.clock, well below it: asok
-- pauses a listener's next accept after such an error), and that accept
-- works again once fds are free; once with asok.accept on the LuaSocket
-- server, once with native clients from a wrapper's accept.
-- ASOK_EMFILE_REQUIRE=k: a child that loads asok with only k fds free
-- (asok's loop takes two, the Go runtime's own poller two more): the
-- require fails with LuaSocket's "Too many open files", or works; never an
-- abort of the process ("runtime: eventfd failed"). Once fds are free
-- again, asok loads and runs a sleep.
local freefds = tonumber(os.getenv("ASOK_EMFILE_REQUIRE") or "")
if freefds then
  local socket = require "socket"
  local files = {}
  while true do
    local f = io.open("/dev/null")
    if not f then break end
    files[#files + 1] = f
  end
  for _ = 1, freefds do table.remove(files):close() end
  local ok, err = pcall(require, "asok")
  print("require with " .. freefds .. " free:", ok, ok or err)
  assert(ok or tostring(err):find("Too many open files", 1, true), err)
  for _, f in ipairs(files) do f:close() end
  package.loaded.asok = nil -- 5.1's require leaves a failed load's sentinel
  local asok = require "asok"
  local slept = false
  asok.spawn(function() asok.sleep(0.01); slept = true end)
  -- (until the sleep ends, at most 1 s: a select with no sets and a
  -- timeout waits all of it, as LuaSocket's does)
  local deadline = socket.gettime() + 1
  while not slept and socket.gettime() < deadline do asok.select(nil, nil, 0.01) end
  assert(slept, "the sleep ended")
  print("emfile require child ok")
  os.exit(0)
end

if os.getenv("ASOK_EMFILE_CHILD") ~= "1" then
  local T = dofile("asoktest.lua")
  local interp = arg[-1]
  for k = 1, 5 do -- (with none free, dlopen cannot open asok.so at all)
    local cmd = ("ulimit -n 64 && ASOK_EMFILE_REQUIRE=%d exec %q %q 2>&1"):format(k, interp, arg[0])
    local f = assert(io.popen("sh -c " .. ("%q"):format(cmd)))
    local out = f:read("*a")
    f:close()
    T.check(out:find("emfile require child ok", 1, true), "loading asok with", k, "fds free:", out)
  end
  for _, native in ipairs { "0", "1" } do -- asok.accept(raw), wrapper:accept()
    local cmd = ("ulimit -n 64 && ASOK_EMFILE_CHILD=1 ASOK_EMFILE_NATIVE=%s exec %q %q 2>&1")
      :format(native, interp, arg[0])
    local f = assert(io.popen("sh -c " .. ("%q"):format(cmd)))
    local out = f:read("*a")
    f:close()
    io.write(out)
    T.check(out:find("emfile child: %d+ checks, 0 failures"), "child failed or did not finish, native=", native)
  end
  T.done("test_emfile")
end

local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local server, port = T.listener()
local a, b = T.pair() -- established before the table fills
local other, oport = T.listener() -- for the connect by name below
local server2, port2 = T.listener() -- closed while its accept backs off
local server3, port3 = T.listener() -- given server4's fd while its accept backs off
local server4, port4 = T.listener()
-- ASOK_EMFILE_NATIVE=1: accept through a wrapper (native clients, the
-- binding's own accept4), else asok.accept on the LuaSocket server
local native = os.getenv("ASOK_EMFILE_NATIVE") == "1"
local acceptor = native and asok.wrap(server) or server

-- the server: accepts in a loop, as servers do, keeping what it accepts
local accepted, errors, attempts = {}, {}, 0
local running, stopped = true, false
-- holding: the loop stops accepting (held once it has), so that it does
-- not take the one free fd a step of the test below needs
local holding, held = false, false
asok.spawn(function()
  while running do
    held = holding
    while holding do asok.sleep(0.01) end
    held = false
    attempts = attempts + 1
    local c, err = asok.accept(acceptor)
    if c then accepted[#accepted + 1] = c else errors[#errors + 1] = err end
  end
  stopped = true
end)

-- a second server, with two accept loops that end at the first error but
-- 'closed' (both back off at once: each takes the pause the other's error
-- left)
local errors2, closed2 = {}, 0
local acceptor2 = native and asok.wrap(server2) or server2
for _ = 1, 2 do
  asok.spawn(function()
    while true do
      local c, err = asok.accept(acceptor2)
      if c then c:close() elseif err == "closed" then closed2 = closed2 + 1; break
      else errors2[#errors2 + 1] = err end
    end
  end)
end

-- fill the fd table, then free one fd for a client to connect with, one
-- for a client of the second server
local fillers = {} -- files: LuaSocket creates its sockets' fds lazily
while true do
  local f = io.open("/dev/null")
  if not f then break end
  fillers[#fillers + 1] = f
end
T.check(#fillers > 0 and #fillers < 64, "fillers:", #fillers)
table.remove(fillers):close()
table.remove(fillers):close()
local client = socket.tcp()
client:settimeout(0)
client:connect("127.0.0.1", port) -- completes in the kernel's backlog
local client2 = socket.tcp()
client2:settimeout(0)
client2:connect("127.0.0.1", port2)
T.run(function() return #errors > 0 end, 5)
T.check(#errors > 0 and tostring(errors[1]):find("open files"), "accept error:", errors[1])
T.eq(#accepted, 0, "nothing accepted while the table is full")

-- the established pair carries on
local echoed
asok.spawn(function()
  asok.send(b, "still here\n")
  echoed = asok.receive(a)
end)
T.run(function() return echoed ~= nil end, 5)
T.eq(echoed, "still here", "established connection during EMFILE")

-- no spinning: about 1 s of reactor time costs far less CPU
local c0, t0, a0 = os.clock(), socket.gettime(), attempts
asok.select(nil, nil, 1.0)
local cpu, wall = os.clock() - c0, socket.gettime() - t0
T.check(cpu < 0.5 * wall, ("CPU %.3f s over %.3f s wall"):format(cpu, wall))
T.check(attempts - a0 <= 30, "accept attempts in 1 s:", attempts - a0)

-- closing a listener whose accept backs off after the error (all it does
-- while the table is full) ends that accept with 'closed' at once: in the
-- next step, not when the back-off is over
T.check(#errors2 > 0 and tostring(errors2[1]):find("open files"), "second server's accept error:", errors2[1])
local n2 = #errors2
server2:close()
fillers[#fillers + 1] = io.open("/dev/null") -- its fd: the table stays full
asok.select(nil, nil, 0)
T.eq(closed2, 2, "both backing-off accepts end with the close")
T.eq(#errors2, n2, "and no other error")

-- a name lookup while the table is full (one fd free for the socket):
-- the process lives on (the Go runtime aborted it, "eventfd failed", when
-- the lookup's deadline was its first timer) and the connect answers as
-- LuaSocket's does. The accept loop holds meanwhile: its next try, after
-- the back-off, would take the free fd (the queued connection) in the
-- middle of the lookup
holding = true
T.check(T.run(function() return held end, 5), "the accept loop holds")
table.remove(fillers):close()
local ref = socket.tcp()
ref:settimeout(2)
local want = T.pack(ref:connect("localhost", oport))
ref:close()
local named
asok.spawn(function()
  local w = asok.wrap(socket.tcp(), 2)
  named = T.pack(w:connect("localhost", oport))
  w:close()
end)
T.check(T.run(function() return named end, 5), "the connect by name returned")
T.same(named or T.pack(), want, "connect('localhost') with one fd free")
-- a name whose first address is of the other family, with one fd free:
-- as LuaSocket, a new socket for the second address (LuaSocket's
-- refusal of ::1 then 127.0.0.1; asok skipped 127.0.0.1, its three
-- probe sockets of the family switch finding no fd)
asok._debug.hosts = { ["v6first.test"] = { "::1", "127.0.0.1" } }
local dual
asok.spawn(function()
  local s = socket.tcp()
  dual = T.pack(asok.connect(s, "v6first.test", oport))
  s:close()
end)
T.check(T.run(function() return dual end, 5), "the connect to v6first.test returned")
T.same(dual or T.pack(), T.pack(1.0), "connect('v6first.test': ::1, 127.0.0.1) with one fd free")
local refill = io.open("/dev/null")
if refill then fillers[#fillers + 1] = refill end

-- setfd on a listener whose accept backs off after the error: the accept
-- ends with 'closed' (the listener let go of its fd), as at a close; a
-- LuaSocket server's went on with the new fd (and met the error again)
table.remove(fillers):close()
table.remove(fillers):close()
local client3, client4 = socket.tcp(), socket.tcp()
client3:settimeout(0); client3:connect("127.0.0.1", port3)
client4:settimeout(0); client4:connect("127.0.0.1", port4)
local acceptor3 = native and asok.wrap(server3) or server3
local errors3, moved3, after3 = {}, false, nil
asok.spawn(function()
  while true do
    local c, err = asok.accept(acceptor3)
    if c then c:close() end
    if moved3 then after3 = c and "a client" or err; return end
    if err == "closed" then return end
    errors3[#errors3 + 1] = err
  end
end)
T.run(function() return #errors3 > 0 end, 5)
T.check(tostring(errors3[1]):find("open files"), "third server's accept error:", errors3[1])
local fd3 = server3:getfd()
moved3 = true
acceptor3:setfd(server4:getfd())
server4:setfd(-1)
T.run(function() return after3 end, 2)
T.eq(after3, "closed", "setfd on a listener ends its backing-off accept")
acceptor3:close()
local old3 = socket.tcp()
old3:setfd(fd3)
old3:close()
client3:close(); client4:close()
while true do -- the table full again
  local f = io.open("/dev/null")
  if not f then break end
  fillers[#fillers + 1] = f
end
holding = false

-- free one fd: the queued connection is accepted with it
table.remove(fillers):close()
T.run(function() return #accepted > 0 end, 5)
T.eq(#accepted, 1, "accepted once an fd is free")
local got = accepted[1]
T.eq(got and got.class, "tcp{client}", "a client")
T.eq(got and tostring(got):match("^asok") ~= nil, native, "native client iff through a wrapper")
-- its methods with no fd free, as LuaSocket's (a native client's first
-- getpeername raised "Too many open files": LuaSocket's methods ran on a
-- shadow object asok made then with a socket of its own)
if got then
  T.eq(got:getfamily(), "inet4", "getfamily with no fd free")
  -- (LuaSocket's getpeername gives the port as a number, getsockname as a string)
  T.same(T.pack(got:getpeername()), T.pack("127.0.0.1", tonumber((select(2, client:getsockname()))), "inet"),
    "getpeername with no fd free")
  T.same(T.pack(got:getsockname()), T.pack(server:getsockname()), "getsockname with no fd free")
  T.check(got:setoption("tcp-nodelay", true) == 1, "setoption with no fd free")
  T.eq(got:getoption("tcp-nodelay"), true, "getoption with no fd free")
end
for _, s in ipairs(fillers) do s:close() end

-- stop the server (closing the listener wakes its parked accept with
-- 'closed'), close everything and drop it: T.done counts the live handles
running = false
server:close()
T.check(T.run(function() return stopped end, 5), "the accept loop ended")
T.eq(errors[#errors], "closed", "its last accept: 'closed'")
other:close()
for _, c in ipairs(accepted) do c:close() end
a:close()
b:close()
client:close()
client2:close()
server, acceptor, a, b, client, accepted, fillers, other = nil, nil, nil, nil, nil, nil, nil, nil
server2, acceptor2, client2 = nil, nil, nil
server3, server4, acceptor3, client3, client4, old3 = nil, nil, nil, nil, nil, nil
T.done("emfile child")
