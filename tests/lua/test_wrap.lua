-- test_wrap.lua: wrappers behave like the LuaSocket object (forwarding,
-- class, tostring, socket.select), LuaSocket's buffered data survives
-- wrapping, accept/connect results and errors match LuaSocket.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- data LuaSocket buffered before the wrap is not lost
local peer, raw = T.pair()
peer:send("line1\nline2\nline3 partial")
socket.sleep(0.05)
T.eq(raw:receive("*l"), "line1", "LuaSocket read line1 (and buffered the rest)")
T.eq(raw:dirty(), true, "LuaSocket buffer dirty")
local w = asok.wrap(raw)
T.eq(w:dirty(), true, "wrapper dirty: asok got the buffered bytes")
T.eq(w.class, "tcp{client}", "class forwards")
T.eq(w:getfd(), raw:getfd(), "getfd forwards")
T.check(tostring(w):find("^asok{tcp{client}: "), "tostring:", tostring(w))
T.same(T.pack(w:getpeername()), T.pack(raw:getpeername()), "getpeername forwards")
T.eq((w:getstats()), 6, "getstats: what the program consumed (line1\\n), not asok's drain")
local r = socket.select({ w }, nil, 0)
T.eq(r[1], w, "socket.select sees the wrapper ready (dirty)")
T.same(T.pack(w:receive()), T.pack("line2", nil, nil), "line2 after wrap")
T.same(T.pack(w:receive(7)), T.pack("line3 p", nil, nil), "count after wrap")
T.eq(w:dirty(), true, "still dirty")
T.same(T.pack(w:receive(6)), T.pack("artial", nil, nil), "rest")
T.eq(w:dirty(), false, "clean")
T.eq((w:getstats()), 25, "getstats counts asok's reads (all 25 bytes)")
T.same(T.pack(w:setstats(10, 20, 30)), T.pack(1.0), "setstats")
local r1, s1, age = w:getstats()
T.check(r1 == 10 and s1 == 20 and age >= 30 and age < 31, "setstats took", r1, s1, age)
T.eq(asok.wrap(w):getfd(), raw:getfd(), "wrap(wrapper) wraps the same socket")

-- send return values like LuaSocket (a float on 5.3+), i/j handling
local ref_peer, ref = T.pair()
for _, args in ipairs({ { "abcdef" }, { "abcdef", 2 }, { "abcdef", 2, 4 }, { "abcdef", -2 },
  { "abcdef", 5, 2 }, { "abcdef", -100, 100 }, { "", 1 }, { "abcdef", 3, -3 } }) do
  local a = T.pack(w:send(args[1], args[2], args[3]))
  local b = T.pack(ref:send(args[1], args[2], args[3]))
  T.same(a, b, "send " .. table.concat({ tostring(args[2]), tostring(args[3]) }, ","))
end
T.same(T.pack(asok.receive(peer, 17)), T.pack(ref_peer:receive(17)), "what was sent")

-- asok timeouts: wrap(sok, t) and settimeout
T.same(T.pack(w:settimeout(0.05)), T.pack(ref:settimeout(0.05)), "settimeout result")
T.same(T.pack(w:receive()), T.pack(nil, "timeout", ""), "receive times out")
T.same(T.pack(w:gettimeout()), T.pack(0.05, -1.0), "gettimeout gives asok's")
T.same(T.pack(w:settimeout(nil)), T.pack(1.0), "settimeout(nil)")
local w2 = asok.wrap(ref, 0.05)
T.same(T.pack(w2:receive(1)), T.pack(nil, "timeout", ""), "wrap timeout")

-- accept: raw in, raw out; wrapper in, wrapper out
local server, port = T.listener()
local ws = asok.wrap(server)
local c1, c2 = socket.tcp(), socket.tcp()
local a1, a2
T.spawn(function() a1 = asok.accept(server) end)
T.spawn(function() a2 = ws:accept() end)
T.spawn(function() T.eq(asok.connect(c1, "127.0.0.1", port), 1, "connect 1") end)
T.spawn(function() T.eq(asok.wrap(c2):connect("localhost", port), 1, "connect 2 by name") end)
T.check(T.run(function() return a1 and a2 end, 5), "both accepted")
T.eq(getmetatable(a1 or {}) == getmetatable(raw), true, "asok.accept(raw) gives a raw client")
T.check(tostring(a2):find("^asok{tcp{client}"), "wrapper:accept gives a wrapper", tostring(a2))
T.eq(c1.class, "tcp{client}", "connect turned master into client")

-- a refused connect returns LuaSocket's error
server:close()
local refused
T.spawn(function() refused = T.pack(asok.connect(socket.tcp(), "127.0.0.1", port)) end)
T.run(function() return refused end, 5)
T.same(refused or T.pack(), T.pack(nil, "connection refused"), "refused")
T.same(T.pack(asok.accept(server)), T.pack(server:accept()), "accept on closed server")

-- accept on a unix stream server (LuaSocket's testsrvr-like unixstreamsrvr.lua
-- through asok): raw in, raw out; wrapper in, wrapper out; a timeout as
-- LuaSocket's
do
  local unix = require "socket.unix"
  local path = os.tmpname()
  os.remove(path)
  local us = assert(unix.stream())
  assert(us:bind(path))
  assert(us:listen())
  local wus = asok.wrap(asok.wrap(us)) -- a wrapper of a wrapper is a wrapper of us
  local u1, u2
  T.spawn(function() u1 = T.pack(asok.accept(us)) end)
  T.spawn(function() u2 = T.pack(wus:accept()) end)
  -- connect(path) through asok, both ways (utestclnt.lua's uconnect)
  local k1, k2 = assert(unix.stream()), asok.wrap(assert(unix.stream()))
  local c1, c2
  T.spawn(function() c1 = T.pack(asok.connect(k1, path)) end)
  T.spawn(function() c2 = T.pack(k2:connect(path)) end)
  T.check(T.run(function() return u1 and u2 and c1 and c2 end, 5), "both unix clients accepted")
  T.same(c1 or T.pack(), T.pack(1.0), "asok.connect(raw unix, path)")
  T.same(c2 or T.pack(), T.pack(1.0), "unix wrapper:connect(path)")
  T.eq(k2.class, "unixstream{client}", "connect turned the unix master into a client")
  local k3 = assert(unix.stream())
  local nopath = path .. ".none"
  local want3 = T.pack(k3:connect(nopath))
  local c3
  T.spawn(function() c3 = T.pack(asok.connect(asok.wrap(assert(unix.stream())), nopath)) end)
  T.check(T.run(function() return c3 end, 5), "unix connect to no one")
  T.same(c3 or T.pack(), want3, "unix connect error")
  k3:close()
  local a, b = u1 and u1[1], u2 and u2[1]
  T.eq(a and a.class, "unixstream{client}", "asok.accept(raw unix server): a unix client")
  T.eq(a and getmetatable(a) == getmetatable(k1), true, "asok.accept(raw unix server) gives a raw client")
  T.check(b and tostring(b):find("^asok{unixstream{client}"), "wrapper:accept gives a wrapper", tostring(b))
  local line
  T.spawn(function() line = T.pack(b:receive()) end)
  k1:send("one\n"); k2:send("one\n")
  T.check(T.run(function() return line end, 5), "unix wrapper receive")
  T.same(line or T.pack(), T.pack("one", nil, nil), "unix wrapper receive result")
  -- nothing pending now: a timeout, as LuaSocket's accept gives
  local late
  us:settimeout(0) -- LuaSocket's own, for the reference below
  local want = T.pack(us:accept())
  wus:settimeout(0.1)
  T.spawn(function() late = T.pack(wus:accept()) end)
  T.check(T.run(function() return late end, 5), "unix accept timed out")
  T.same(late or T.pack(), want, "unix accept timeout")
  for _, s in ipairs({ a, b, k1, k2, wus }) do s:close() end
  os.remove(path)
  a, b, us, wus, u1, u2, k1, k2, k3 = nil, nil, nil, nil, nil, nil, nil, nil, nil
end

-- accepts are served in the order they came: a second accept does not
-- take the connection the first waiter was woken for
do
  local srv = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = srv:getsockname()
  local order = {}
  asok.spawn(function() local c = srv:accept(); order[#order + 1] = "A1"; if c then c:close() end end)
  local c1 = assert(socket.connect("127.0.0.1", port)) -- queued before A1 runs again
  socket.sleep(0.02)
  asok.spawn(function() local c = srv:accept(); order[#order + 1] = "A2"; if c then c:close() end end)
  local c2 = assert(socket.connect("127.0.0.1", port))
  T.check(T.run(function() return #order == 2 end, 5), "both accepts returned")
  T.eq(table.concat(order, " "), "A1 A2", "accepts in order")
  c1:close(); c2:close(); srv:close()
end

-- asok sees a socket.tcp() before LuaSocket creates its socket (a limit
-- or a timeout set early): the calls succeed and hold once it is
-- connected, by asok.connect or by LuaSocket's own connect
do
  local srv, port = T.listener()
  for _, how in ipairs({ "asok.connect", "raw connect" }) do
    local c = socket.tcp()
    T.same(T.pack(asok.throttle_receive(c, 100000)), T.pack(1.0), how .. ": throttle before the socket exists")
    T.same(T.pack(asok.settimeout(c, 5)), T.pack(1.0), how .. ": settimeout before the socket exists")
    if how == "asok.connect" then
      local r
      asok.spawn(function() r = T.pack(asok.connect(c, "127.0.0.1", port)) end)
      T.run(function() return r end, 5)
    else
      c:settimeout(5) -- LuaSocket's own, for its blocking connect
      c:connect("127.0.0.1", port)
    end
    local p = srv:accept()
    p:send("hello\n")
    local got
    asok.spawn(function() got = T.pack(asok.receive(c)) end)
    T.check(T.run(function() return got end, 5), how .. ": receive returned")
    T.same(got or T.pack(), T.pack("hello", nil, nil), how .. ": receive on the socket asok saw unborn")
    T.same(T.pack(asok.wrap(c):gettimeout()), T.pack(5.0, -1.0), how .. ": the early timeout holds")
    c:close(); p:close()
  end
  srv:close()
end

-- a timeout the LuaSocket object had before asok saw it is kept, as the
-- object would keep it (a zero one is not: copas-style code sets it to make
-- a socket non-blocking before handing it over); the same through asok.*
do
  local ref_a, ref_b = T.pair()
  ref_a:settimeout(0.15, "b"); ref_a:settimeout(3, "t")
  local want_t = T.pack(ref_a:gettimeout())
  local want_r = T.pack(ref_a:receive())
  for _, form in ipairs({ "wrapper", "asok.receive" }) do
    local a, b = T.pair()
    a:settimeout(0.15, "b"); a:settimeout(3, "t")
    local wa = form == "wrapper" and asok.wrap(a) or a
    local got
    T.spawn(function() got = T.pack(asok.receive(wa)) end)
    T.check(T.run(function() return got end, 5), form .. ": the receive timed out")
    T.same(got or T.pack(), want_r, form .. ": kept timeout's result")
    T.same(T.pack(asok.wrap(a):gettimeout()), want_t, form .. ": kept timeouts")
    local z, zb = T.pair()
    z:settimeout(0)
    T.same(T.pack(asok.wrap(z):gettimeout()), T.pack(-1.0, -1.0), form .. ": a zero timeout is not kept") -- LuaSocket gives floats
    for _, s in ipairs({ a, b, z, zb }) do s:close() end
  end
  ref_a:close(); ref_b:close()
end

-- a socket.tcp() that asok sees before its bind (wrapped, or given a
-- timeout), then bound and listening: its accept waits
-- and accepts as LuaSocket's (it answered 'closed' at once, for ever)
do
  local got
  T.spawn(function()
    local sw = asok.wrap(socket.tcp(), 0.05)
    assert(sw:bind("127.0.0.1", 0)); assert(sw:listen(8))
    local r = { T.pack(sw:accept()) }
    local _, port = sw:getsockname()
    local p = assert(socket.connect("127.0.0.1", port))
    local c = sw:accept()
    r[2] = c and c.class
    local raw = socket.tcp()
    r[3] = T.pack(asok.settimeout(raw, 0.05))
    assert(raw:bind("127.0.0.1", 0)); assert(raw:listen(8))
    r[4] = T.pack(asok.accept(raw))
    _, port = raw:getsockname()
    local p2 = assert(socket.connect("127.0.0.1", port))
    local c2 = asok.accept(raw)
    r[5] = c2 and c2.class
    for _, o in ipairs({ sw, p, c, raw, p2, c2 }) do if o then o:close() end end
    got = r
  end)
  T.check(T.run(function() return got end, 5), "the accepts returned")
  got = got or {}
  T.same(got[1], T.pack(nil, "timeout"), "wrapped before bind: nothing pending")
  T.eq(got[2], "tcp{client}", "wrapped before bind: the pending client")
  T.same(got[3], T.pack(1.0), "asok.settimeout before bind")
  T.same(got[4], T.pack(nil, "timeout"), "asok.accept(raw) seen before bind: nothing pending")
  T.eq(got[5], "tcp{client}", "asok.accept(raw) seen before bind: the pending client")
end

-- setpeername on TCP is LuaSocket's connect under another name: on a
-- wrapper it waits for the connection as connect does (it answered
-- 'timeout' at once), with LuaSocket's results and argument errors
do
  local l = T.listener()
  local _, lport = l:getsockname()
  local function run(c, wait)
    local r = {}
    r[1] = T.pack(c:setpeername("127.0.0.1", lport))
    local d = socket.tcp()
    if wait then d = asok.wrap(d, 1) else d:settimeout(1) end
    r[2] = T.pack(d:setpeername("127.0.0.1", 1))
    local e = socket.tcp()
    if wait then e = asok.wrap(e) end
    r[3] = T.pack(pcall(function() local a, b = e:setpeername(); return a, b end))
    r[4] = T.pack(pcall(function() local a, b = e:setpeername("127.0.0.1"); return a, b end))
    r[3][2] = tostring(r[3][2]):gsub("^[^:]*:%d+: ", "")
    r[4][2] = tostring(r[4][2]):gsub("^[^:]*:%d+: ", "")
    c:close(); d:close(); e:close()
    return r
  end
  local c = socket.tcp()
  c:settimeout(1)
  local want = run(c, false)
  local got
  T.spawn(function() got = run(asok.wrap(socket.tcp(), 1), true) end)
  T.check(T.run(function() return got end, 5), "setpeername returned")
  got = got or {}
  for i = 1, 4 do T.same(got[i], want[i], "setpeername " .. i) end
  l:close()
end

-- setfd(-1) then setfd(fd) on a wrapper (the fd lent and given back):
-- the wrapper keeps its asynchronous timeouts, zero included (the next
-- receive waited for ever)
do
  local a, b = T.pair()
  local wa = asok.wrap(a, 0.05)
  local fd = wa:getfd()
  wa:setfd(-1); wa:setfd(fd)
  T.same(T.pack(wa:gettimeout()), T.pack(0.05, -1.0), "timeouts after setfd")
  local got
  T.spawn(function() got = T.pack(wa:receive()) end)
  T.check(T.run(function() return got end, 5), "the receive timed out")
  T.same(got, T.pack(nil, "timeout", ""), "the receive after setfd")
  wa:settimeout(0)
  wa:setfd(-1); wa:setfd(fd)
  T.same(T.pack(wa:gettimeout()), T.pack(0.0, -1.0), "a zero timeout after setfd")
  wa:close(); b:close()
end

-- an fd asok cannot register (here a closed fd number given with setfd;
-- also a child forked after asok loaded): each call answers as LuaSocket
-- does for that fd (its error, its partial results or a result that needs
-- no I/O, LuaSocket's own timeouts and counters), asok.select finds it
-- never ready as socket.select does, and wrap still wraps. Before, wrap
-- and the first receive or send raised asok's own "bad argument #1 to
-- 'settimeout' (asok.sock expected, got nil)"; then (first fix) select
-- raised, setlimit still did, and NaN or huge indices, a receive that the
-- prefix answers, settimeout's result and gettimeout differed.
do
  local lsn, port = T.listener()
  local keep = {}
  local function bad(fd)
    local c = assert(socket.connect("127.0.0.1", port))
    local s = assert(lsn:accept())
    keep[#keep + 1] = s
    c:setfd(fd or 1000) -- no such fd (below FD_SETSIZE: socket.select takes it)
    c:settimeout(0)
    return c
  end
  local function badserver()
    local srv = assert(socket.bind("127.0.0.1", 0))
    srv:setfd(1000)
    return srv
  end
  local unpack = table.unpack or unpack
  local cases = { { "receive" }, { "receive", "*a", "pre" }, { "receive", 5, 12 },
    { "send", "hello" }, { "send", "hello", 2 }, { "send", "hello", -2, -1 },
    { "send", "hello", 4, 2 }, { "send", "" }, { "send", "hello", 2.7, 4.2 },
    { "send", "hello", -2.5 }, { "send", "abcdef", 0 / 0 }, { "send", "abcdef", 1, 0 / 0 },
    { "send", "abcdef", 1e300 }, { "send", "abcdef", 2 ^ 63 }, { "send", "abcdef", 1, 2 ^ 63 },
    { "send", "abcdef", "2" }, { "receive", 0, "pre" }, { "receive", 2, "pre" }, { "receive", 0 } }
  local want = {}
  for k, c in ipairs(cases) do
    local s = bad()
    want[k] = T.pack(s[c[1]](s, unpack(c, 2)))
  end
  local wantaccept = T.pack(badserver():accept())
  T.eq(wantaccept[2], "Bad file descriptor", "LuaSocket's accept on the bad fd")
  local got, done = {}, false
  T.spawn(function()
    for k, c in ipairs(cases) do
      local wb = asok.wrap(bad(), 1)
      got[k] = T.pack(wb[c[1]](wb, unpack(c, 2)))
    end
    got.asok = T.pack(asok.receive(bad()))
    got.accept = T.pack(asok.wrap(badserver()):accept())
    got.rawaccept = T.pack(asok.accept(badserver()))
    local wb = asok.wrap(bad(), 2)
    got.timeout = T.pack(wb:gettimeout())
    got.settimeout = T.pack(wb:settimeout(3))
    got.timeout3 = T.pack(wb:gettimeout())
    got.setlimit = T.pack(asok.setlimit(wb, 10))
    got.stats = T.pack(wb:getstats())
    got.setstats = T.pack(wb:setstats(7, 8))
    got.stats2 = T.pack(wb:getstats())
    done = true
  end)
  T.check(T.run(function() return done end, 10), "the calls on unregistrable fds ended")
  for k, c in ipairs(cases) do
    T.same(got[k] or T.pack(), want[k], "wrapper " .. c[1] .. " on an unregistrable fd, case " .. k)
  end
  T.same(got.asok or T.pack(), want[1], "asok.receive on an unregistrable fd")
  T.same(got.accept or T.pack(), wantaccept, "wrapper accept on an unregistrable fd")
  T.same(got.rawaccept or T.pack(), wantaccept, "asok.accept on an unregistrable fd")
  T.same(got.timeout or T.pack(), T.pack(2.0, -1.0), "gettimeout without a handle: wrap's")
  T.same(got.settimeout or T.pack(), T.pack(bad():settimeout(3)), "settimeout without a handle: LuaSocket's result")
  T.same(got.timeout3 or T.pack(), T.pack(3.0, -1.0), "gettimeout without a handle: settimeout's")
  T.same(got.setlimit or T.pack(), T.pack(nil, "Bad file descriptor"), "setlimit without a handle")
  T.eq(got.stats and got.stats[1], 0, "getstats without a handle: LuaSocket's")
  T.eq(got.setstats and got.setstats[1], 1, "setstats without a handle: LuaSocket's")
  T.check(got.stats2 and got.stats2[1] == 7 and got.stats2[2] == 8, "getstats after setstats")
  -- asok.select: an error naming the object (socket.select fails with
  -- "select failed", or, for an fd number past the process's fd table,
  -- times out); in the read set with data buffered it is ready at once,
  -- as socket.select's check_dirty makes it (before, never ready)
  for _, o in ipairs { bad(), asok.wrap(bad()) } do
    local ok, err = pcall(function() local r = asok.select({ o }, nil, 0.01); return r end)
    T.check(not ok and tostring(err):find("^[^:]*test_wrap%.lua:%d+: bad argument #1 to 'select' %(cannot watch .*0x%x+}?: Bad file descriptor%)$"),
      "asok.select on an fd that is not open:", err)
  end
  local function dirtybad(fd)
    local c = assert(socket.connect("127.0.0.1", port))
    local s = assert(lsn:accept())
    keep[#keep + 1] = s
    s:send("a\nb\n")
    c:settimeout(1)
    assert(c:receive("*l") == "a") -- "b\n" stays in LuaSocket's buffer
    c:setfd(fd or 1000)
    return c
  end
  local db = dirtybad()
  T.same(T.pack(#socket.select({ dirtybad() }, nil, 1)), T.pack(1), "socket.select: dirty, fd not open")
  local seldone
  T.spawn(function()
    local r1 = asok.select({ db }, nil, 1)
    local w = asok.wrap(dirtybad())
    local r2 = asok.select({ w }, nil, 1)
    seldone = { #r1, r1[1] == db, #r2, r2[1] == w, w:receive("*l") }
    -- with a dirty object in the read set, socket.select returns the sets
    -- as given (its select(2) failed): every object, bad fds included
    -- (distinct fd numbers: LuaSocket reports one object per fd)
    local d1, clean = dirtybad(1001), bad(1002)
    local r3, w3 = asok.select({ d1 }, { d1 }, 1)
    local d2, clean2 = dirtybad(1003), bad(1004)
    local r4, w4 = asok.select({ d2, clean2 }, { clean }, 1)
    seldone.mixed = { #r3, r3[1] == d1, #w3, w3[1] == d1, #r4, r4[1] == d2, r4[2] == clean2, #w4, w4[1] == clean }
    -- a good socket of the write set is in the answer too (it was left
    -- out), and the call gives the other coroutines their turn first, as
    -- any select that finds a socket ready at once (it gave none)
    local d3, clean3, good = dirtybad(1005), bad(1006), keep[1]
    local turn = false
    asok.spawn(function() asok.sleep(0); turn = true end)
    local r5, w5 = asok.select({ d3, clean3 }, { good }, 1)
    seldone.writable = { #r5, #w5, w5[1] == good, turn }
  end)
  -- (until the last one: under valgrind the first ones end steps earlier)
  T.check(T.run(function() return seldone and seldone.writable end, 5), "the selects on dirty objects ended")
  T.same(T.pack(unpack(seldone or {}, 1, 5)), T.pack(1, true, 1, true, "b"),
    "asok.select: dirty with an fd not open is ready, and its receive serves the buffer")
  do
    local d1, clean = dirtybad(1001), bad(1002)
    local r3, w3 = socket.select({ d1 }, { d1 }, 1)
    local d2, clean2 = dirtybad(1003), bad(1004)
    local r4, w4 = socket.select({ d2, clean2 }, { clean }, 1)
    local want = { #r3, r3[1] == d1, #w3, w3[1] == d1, #r4, r4[1] == d2, r4[2] == clean2, #w4, w4[1] == clean }
    T.same(T.pack(unpack(seldone and seldone.mixed or {}, 1, 9)), T.pack(unpack(want, 1, 9)),
      "asok.select with a dirty object and bad fds: every object ready, as socket.select")
    local d3, clean3, good = dirtybad(1005), bad(1006), keep[1]
    local r5, w5 = socket.select({ d3, clean3 }, { good }, 1)
    T.same(T.pack(unpack(seldone and seldone.writable or {}, 1, 3)), T.pack(#r5, #w5, w5[1] == good),
      "asok.select with a dirty object and bad fds: the write set's good socket too")
    T.eq(seldone and seldone.writable and seldone.writable[4], true,
      "asok.select with a dirty object and bad fds: the other coroutines had their turn")
  end
  -- the timeouts setfd keeps for the next fd survive calls made while the
  -- fd is bad (before, such a call took them and the next handle started
  -- without them: a zero timeout became none, and a receive waited)
  local zdone
  T.spawn(function()
    local c = bad(4000)
    local fd = keep[#keep]:getfd() -- (a good fd, for after)
    local w = asok.wrap(c)
    c:setfd(fd)
    w:settimeout(0)
    c:setfd(1000)
    local t1 = T.pack(w:gettimeout())
    local r1 = T.pack(w:receive(1))
    c:setfd(fd)
    zdone = { t1, r1, T.pack(w:gettimeout()), T.pack(w:receive(1)) }
    -- a timeout set while the fd is bad is the one the next fd gets
    c:setfd(1000)
    zdone[5] = T.pack(w:settimeout(0.25))
    zdone[6] = T.pack(asok.settimeout(w, 0.5, "t"))
    zdone[7] = T.pack(w:gettimeout())
    c:setfd(fd)
    zdone[8] = T.pack(w:gettimeout())
    c:setfd(-1)
  end)
  T.check(T.run(function() return zdone end, 5), "the receive at a zero timeout returned")
  zdone = zdone or { T.pack(), T.pack(), T.pack(), T.pack() }
  T.same(zdone[1], T.pack(0.0, -1.0), "gettimeout while the fd is bad")
  T.same(zdone[2], T.pack(nil, "Bad file descriptor", ""), "receive while the fd is bad")
  T.same(zdone[3], T.pack(0.0, -1.0), "gettimeout with the fd back")
  T.same(zdone[4], T.pack(nil, "timeout", ""), "receive at the zero timeout kept")
  local one = T.pack(socket.tcp():settimeout(1))
  T.same(zdone[5] or T.pack(), one, "settimeout while the fd is bad: LuaSocket's result")
  T.same(zdone[6] or T.pack(), one, "asok.settimeout while the fd is bad: LuaSocket's result")
  T.same(zdone[7] or T.pack(), T.pack(0.25, 0.5), "gettimeout: the timeouts set while the fd is bad")
  T.same(zdone[8] or T.pack(), T.pack(0.25, 0.5), "gettimeout: the same once the fd is back")
  for _, s in ipairs(keep) do s:close() end
  lsn:close()
end

-- what LuaSocket buffered for an object closed before asok first used it
-- is served after the close, as LuaSocket serves it: asok.close as the
-- first asok call, and a wrap after LuaSocket's own close. Before, register
-- drained that buffer into a handle without an fd, which could not take
-- it: nil, 'closed', "" and dirty() false.
do
  local lsn, port = T.listener()
  local peers = {}
  local function dirtyclient()
    local p = assert(socket.connect("127.0.0.1", port))
    local c = assert(lsn:accept())
    peers[#peers + 1] = p
    c:settimeout(1)
    p:send("l1\nl2\nrest")
    assert(c:receive("*l") == "l1")
    return c
  end
  local ref = dirtyclient()
  ref:close()
  local want = { T.pack(ref:receive("*l")), T.pack(ref:receive("*l")) }
  T.same(want[1], T.pack("l2", nil, nil), "LuaSocket serves its buffer after close")
  local got, done = {}, false
  T.spawn(function()
    local c = dirtyclient()
    got.close = T.pack(asok.close(c))
    got.a = { T.pack(asok.receive(c, "*l")), T.pack(asok.receive(c, "*l")) }
    local c2 = dirtyclient()
    c2:close()
    local w2 = asok.wrap(c2)
    got.dirty = { c2:dirty(), w2:dirty() }
    got.b = { T.pack(w2:receive("*l")), T.pack(w2:receive("*l")) }
    got.dirty2 = { c2:dirty(), w2:dirty() }
    done = true
  end)
  T.check(T.run(function() return done end, 10), "the receives after close ended")
  T.same(got.close or T.pack(), T.pack(1.0), "asok.close on a dirty object asok had not used")
  for k, how in pairs { a = "asok.close, asok.receive", b = "close, wrap, receive" } do
    local r = got[k] or {}
    T.same(r[1] or T.pack(), want[1], how .. ": the buffered line")
    T.same(r[2] or T.pack(), want[2], how .. ": the rest, then 'closed'")
  end
  T.check(got.dirty and got.dirty[1] == true and got.dirty[2] == true, "dirty before the receives")
  T.check(got.dirty2 and got.dirty2[1] == false and got.dirty2[2] == false, "not dirty after them")
  for _, p in ipairs(peers) do p:close() end
  lsn:close()
end

-- close what the test made and drop it (T.done counts the live handles)
for _, s in ipairs({ peer, w, ref_peer, ref, c1, c2, a1, a2 }) do s:close() end
peer, raw, w, r, ref_peer, ref, w2, server, ws, c1, c2, a1, a2 =
  nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_wrap")
