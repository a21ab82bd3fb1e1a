-- test_families.lua: asok.connect to a name whose addresses are of both
-- families, as LuaSocket's blocking connect does it (inet_tryconnect):
-- addresses in order, and for one of the other family a new socket of
-- that family ("localhost" as ::1 then 127.0.0.1 reaches a server on
-- 127.0.0.1). Names come from asok._debug.hosts, since this machine's
-- may have one address only. Also: a socket of a fixed family (tcp4, tcp6)
-- only tries its own; every address refused gives LuaSocket's error; a
-- closed object connects again (LuaSocket gives it a new socket, often with
-- the same fd number), through asok functions and a wrapper, and the data
-- flows afterwards; so does one whose connect was refused, without a
-- close, as with LuaSocket. The reference values come from plain LuaSocket
-- connecting to the address that answers.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local server4, port4 = T.listener()
local server6 = socket.bind("::1", 0) -- nil where the machine has no IPv6
local port6 = server6 and select(2, server6:getsockname())
local closed -- a port nobody listens on
do
  local s, p = T.listener()
  s:close()
  closed = p
end
asok._debug.hosts = {
  ["v6first.test"] = { "::1", "127.0.0.1" },
  ["v4first.test"] = { "127.0.0.1", "::1" },
}

-- reference: what LuaSocket reports on a socket connected to ip
local function reference(ip, port)
  local s = socket.tcp()
  assert(s:connect(ip, port))
  local ip2, port2, fam = s:getpeername()
  local r = { family = s:getfamily(), peer = { ip2, port2, fam } }
  s:close()
  return r
end

-- exchange checks a line each way between connected s (asok) and the
-- server's accepted c (LuaSocket)
local function exchange(s, c, what)
  T.eq(asok.send(s, "up " .. what .. "\n"), #what + 4, what .. ": send")
  c:settimeout(5)
  T.eq(c:receive(), "up " .. what, what .. ": server got it")
  c:send("down " .. what .. "\n")
  T.eq(asok.receive(s), "down " .. what, what .. ": reply")
end

local function check(s, server, port, ip, what)
  server:settimeout(5)
  local c = server:accept() -- s's connection, queued first
  local ref = reference(ip, port)
  local rc = server:accept() -- the reference's
  if rc then rc:close() end
  T.eq(s:getfamily(), ref.family, what .. ": getfamily")
  T.same(T.pack(s:getpeername()), T.pack(ref.peer[1], ref.peer[2], ref.peer[3]), what .. ": getpeername")
  if T.check(c, what, ": the server got no connection") then
    exchange(s, c, what)
    c:close()
  end
end

local done = false
asok.spawn(function()
  -- ::1 first, server on 127.0.0.1: ::1 refused, then a new IPv4 socket
  local s = socket.tcp()
  T.eq(asok.connect(s, "v6first.test", port4), 1, "v6first: connect")
  check(s, server4, port4, "127.0.0.1", "v6first")
  s:close()

  -- 127.0.0.1 first, server on ::1 only: then a new IPv6 socket
  if server6 then
    s = socket.tcp()
    T.eq(asok.connect(s, "v4first.test", port6), 1, "v4first: connect")
    check(s, server6, port6, "::1", "v4first")
    s:close()
  end

  -- through a wrapper
  local w = asok.wrap(socket.tcp())
  T.eq(w:connect("v6first.test", port4), 1, "wrapper: connect")
  check(w, server4, port4, "127.0.0.1", "wrapper")
  w:close()

  -- every address refused: LuaSocket's error (the last attempt's)
  s = socket.tcp()
  T.same(T.pack(asok.connect(s, "v6first.test", closed)), T.pack(nil, "connection refused"), "all refused")
  s:close()

  -- a fixed family tries only its own addresses
  s = socket.tcp4()
  T.eq(asok.connect(s, "v6first.test", port4), 1, "tcp4: connect")
  check(s, server4, port4, "127.0.0.1", "tcp4")
  s:close()
  if server6 then
    s = socket.tcp6()
    T.same(T.pack(asok.connect(s, "v4first.test", port4)), T.pack(nil, "connection refused"),
      "tcp6: only ::1 is tried")
    s:close()
  end

  -- a closed object connects again (a new socket, same fd number or not),
  -- with LuaSocket's results
  local ref = socket.tcp()
  local want1 = T.pack(ref:connect("127.0.0.1", closed))
  ref:close()
  local want2 = T.pack(ref:connect("127.0.0.1", port4))
  ref:close()
  local c = server4:accept()
  if c then c:close() end
  s = socket.tcp()
  T.same(T.pack(asok.connect(s, "127.0.0.1", closed)), want1, "refused before close")
  s:close()
  T.same(T.pack(asok.connect(s, "127.0.0.1", port4)), want2, "connect after close")
  c = server4:accept()
  if T.check(c, "no connection after close") then
    exchange(s, c, "after close")
    c:close()
  end
  s:close()

  -- a refused connect, then another on the same object without a close:
  -- LuaSocket keeps a socket.tcp() of no family after a failure, so the
  -- next connect makes a new socket and succeeds (a second connect(2) on
  -- the failed socket would say 'closed'); getfamily() says "inet4"
  -- meanwhile, even after ::1 was refused
  local function again(what, connect, target, reftarget)
    local r = socket.tcp()
    local wantr = T.pack(r:connect(reftarget or target, closed))
    local wantfam = r:getfamily()
    -- LuaSocket keeps the failed socket until the next connect: its fd,
    -- options and names answer from it
    local wantkept = r:getfd() >= 0
    local wantpeer = T.pack(r:getpeername())
    local wantopt = T.pack(r:getoption("keepalive"))
    local wantset = T.pack(r:setoption("reuseaddr", true))
    local wantr2 = T.pack(r:connect(reftarget or target, closed)) -- refused again
    local wantok = T.pack(r:connect("127.0.0.1", port4))
    r:close()
    local rc = server4:accept()
    if rc then rc:close() end
    local o = socket.tcp()
    local w = what == "wrapper" and asok.wrap(o) or o
    T.same(T.pack(connect(w, target, closed)), wantr, what .. " " .. target .. ": refused")
    T.eq(w:getfamily(), wantfam, what .. " " .. target .. ": family after the refusal")
    T.eq(w:getfd() >= 0, wantkept, what .. " " .. target .. ": the failed socket kept")
    T.same(T.pack(w:getpeername()), wantpeer, what .. " " .. target .. ": getpeername after the refusal")
    T.same(T.pack(w:getoption("keepalive")), wantopt, what .. " " .. target .. ": getoption after the refusal")
    T.same(T.pack(w:setoption("reuseaddr", true)), wantset, what .. " " .. target .. ": setoption after the refusal")
    -- a second refusal leaves it as the first did (the next connect makes
    -- a new socket: it used the failed one, 'closed')
    T.same(T.pack(connect(w, target, closed)), wantr2, what .. " " .. target .. ": refused again")
    T.same(T.pack(connect(w, "127.0.0.1", port4)), wantok, what .. " " .. target .. ": connect again")
    local sc = server4:accept()
    if T.check(sc, what, target, ": no connection after a refused one") then
      exchange(w, sc, what .. " after a refusal")
      sc:close()
    end
    w:close()
  end
  local function viaasok(o, ...) return asok.connect(o, ...) end
  local function viamethod(w, ...) return w:connect(...) end
  again("asok.connect", viaasok, "127.0.0.1")
  again("wrapper", viamethod, "127.0.0.1")
  again("asok.connect", viaasok, "v4first.test", "127.0.0.1") -- a name: LuaSocket cannot resolve it
  if server6 then again("wrapper", viamethod, "::1") end

  -- host "*": LuaSocket gives getaddrinfo no host, which means the loopback
  local r = socket.tcp()
  local want = T.pack(r:connect("*", port4))
  r:close()
  local rc = server4:accept()
  if rc then rc:close() end
  local o = socket.tcp()
  T.same(T.pack(asok.connect(o, "*", port4)), want, "connect('*')")
  local sc = server4:accept()
  if T.check(sc, "connect('*') reached the server") then exchange(o, sc, "star"); sc:close() end
  o:close()
  done = true
end)
T.check(T.run(function() return done end, 20), "the connecting coroutine did not finish")
-- a name without an address for the socket's family and a bad port:
-- getaddrinfo checks the service first, so LuaSocket reports the port
-- (asok reported the name). A good port still reports the name.
asok._debug.hosts["v6only.test"] = { "::1" } -- tcp4 sockets: no IPv6 needed
local bad = {}
T.spawn(function()
  for _, port in ipairs({ "abc", -1, 80.5 }) do
    local s4 = socket.tcp4()
    bad[#bad + 1] = T.pack(asok.connect(s4, "v6only.test", port))
    s4:close()
  end
  local s4 = socket.tcp4()
  bad[#bad + 1] = T.pack(asok.connect(s4, "v6only.test", closed))
  s4:close()
end)
T.check(T.run(function() return #bad == 4 end, 10), "the bad-port connects returned")
local plain4 = socket.tcp4()
T.same(T.pack(plain4:connect("127.0.0.1", "abc")), T.pack(nil, "service not supported for socket type"), "LuaSocket's words")
plain4:close()
for i = 1, 3 do T.same(bad[i], T.pack(nil, "service not supported for socket type"), "bad port " .. i) end
T.same(bad[4], T.pack(nil, "host or service not provided, or not known"), "a good port: the name")

-- a closed socket.tcp4() / socket.tcp6() keeps its family, as LuaSocket
-- keeps it (t_tcp.family), though getfamily says "inet4" for a tcp4 and
-- for a socket.tcp() alike: a closed tcp6 connects to "*" only over IPv6
-- (it tried IPv4 too, and reached server4), and a closed tcp4 whose
-- connect was refused keeps the socket LuaSocket made for it (asok closed
-- it, as for a socket.tcp()). Each against plain LuaSocket's answer.
do
  local cases = {
    { "closed tcp6 to '*'", socket.tcp6, "*", port4 },
    { "closed tcp4 refused", socket.tcp4, "127.0.0.1", closed },
  }
  -- run connects a closed object made by make, with connect(s, host, port)
  local function run(make, connect, host, port)
    local s = make()
    s:close()
    local r = T.pack(connect(s, host, port))
    r.kept = s:getfd() >= 0
    s:close()
    return r
  end
  local got = {}
  T.spawn(function()
    for i, c in ipairs(cases) do got[i] = run(c[2], asok.connect, c[3], c[4]) end
  end)
  T.check(T.run(function() return #got == #cases end, 10), "the closed objects' connects returned")
  for i, c in ipairs(cases) do
    local want = run(c[2], function(s, host, port) s:settimeout(5); return s:connect(host, port) end, c[3], c[4])
    T.same(T.pack(got[i][1], got[i][2]), T.pack(want[1], want[2]), c[1])
    T.eq(got[i].kept, want.kept, c[1] .. ": socket kept as LuaSocket keeps it")
  end
end

-- a socket.tcp() whose connect was refused keeps a socket; asok registers
-- it (a wrap, an asok.settimeout); LuaSocket's next connect destroys it
-- and makes a new one, which the kernel gives the same fd number: asok
-- must poll the new socket (it told them apart by number only, and waited
-- forever on the old one's registration, gone with it)
do
  local function refusedsocket()
    local s = socket.tcp()
    T.eq(select(2, s:connect("127.0.0.1", closed)), "connection refused", "the first connect is refused")
    return s, s:getfd()
  end
  local function served(peer, line)
    peer:settimeout(5)
    peer:send(line .. "\n")
    return peer
  end
  -- through a wrapper's connect, inside a coroutine
  local s, fd = refusedsocket()
  local w = asok.wrap(s)
  local res
  T.spawn(function()
    local ok, err = w:connect("127.0.0.1", port4)
    res = ok and T.pack(w:receive("*l")) or T.pack(ok, err)
  end)
  local peer = served(assert(server4:accept()), "hello")
  T.check(T.run(function() return res end, 5), "wrapper: the receive on the new socket returned")
  T.same(res or T.pack(), T.pack("hello", nil, nil), "wrapper: the new socket's line")
  T.eq(s:getfd(), fd, "the new socket got the same fd number (what the case is about)")
  w:close(); peer:close()
  -- LuaSocket's own connect on an object asok uses, then asok's receive:
  -- the line already there comes at once (not when asok's 3 s timeout
  -- makes it look again), and the timeout set before is the new socket's
  s, fd = refusedsocket()
  asok.settimeout(s, 3)
  T.eq(s:connect("127.0.0.1", port4), 1, "LuaSocket's own connect")
  peer = served(assert(server4:accept()), "again")
  local got
  T.spawn(function() got = T.pack(asok.receive(s, "*l")) end)
  T.check(T.run(function() return got end, 2), "own connect: the line came before asok's timeout")
  T.run(function() return got end, 3)
  T.same(got or T.pack(), T.pack("again", nil, nil), "own connect: the new socket's line")
  asok.settimeout(s, 0.3)
  got = nil
  T.spawn(function() got = T.pack(asok.receive(s, "*l")) end)
  T.check(T.run(function() return got end, 5), "own connect: asok's timeout on the new socket")
  T.same(got or T.pack(), T.pack(nil, "timeout", ""), "own connect: 'timeout'")
  s:close(); peer:close()
  -- the same with the timeout set before the connect kept across it
  s = refusedsocket()
  asok.settimeout(s, 0.3)
  T.eq(s:connect("127.0.0.1", port4), 1, "LuaSocket's own connect, again")
  peer = assert(server4:accept())
  got = nil
  T.spawn(function() got = T.pack(asok.receive(s, "*l")) end)
  T.check(T.run(function() return got end, 5), "own connect: the timeout set before it holds")
  T.same(got or T.pack(), T.pack(nil, "timeout", ""), "own connect: 'timeout' from the kept timeout")
  s:close(); peer:close()
end

server4:close()
if server6 then server6:close() end
T.done("test_families")
