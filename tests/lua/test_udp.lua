-- test_udp.lua: UDP through asok beyond the differential suite: many
-- coroutines sharing one socket get datagrams in FIFO order, close wakes
-- parked receivers with LuaSocket's closed-UDP results, IPv6, a socket that
-- LuaSocket creates on its first sendto, argument and class errors, the
-- wrapper's method set, and main-thread calls while coroutines run.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- bound returns a LuaSocket UDP socket bound to ip:0 and its port.
local function bound(ip)
  local u = assert(ip:find(":") and socket.udp6() or socket.udp())
  assert(u:setsockname(ip, 0))
  local _, port = u:getsockname()
  return u, tonumber(port)
end

-- FIFO: five coroutines parked in receivefrom on one socket get five
-- datagrams in the order they parked
do
  local srv, port = bound("127.0.0.1")
  local cli = bound("127.0.0.1")
  local got = {}
  for i = 1, 5 do
    T.spawn(function() got[i] = T.pack(asok.receivefrom(srv)) end)
  end
  T.run(function() return false end, 0.05)
  T.eq(next(got), nil, "fifo: all parked")
  for i = 1, 5 do T.eq(asok.sendto(cli, "d" .. i, "127.0.0.1", port), 2, "fifo: sendto " .. i) end
  T.check(T.run(function() return #got == 5 end, 5), "fifo: all received")
  local _, cport = cli:getsockname() -- a string before 5.3
  cport = tonumber(cport)
  if math.tointeger then cport = math.tointeger(cport) end
  for i = 1, 5 do
    T.same(got[i] or T.pack(), T.pack("d" .. i, "127.0.0.1", cport),
      "fifo: receiver " .. i)
  end
  srv:close(); cli:close()
end

-- close wakes: receivers resume with LuaSocket's results on a closed UDP
-- socket (receive: "", as udp.c treats IO_CLOSED; receivefrom: nil,
-- 'closed'); a send after close is nil, 'refused'
do
  local u = bound("127.0.0.1")
  local w = asok.wrap(u)
  local res = {}
  T.spawn(function() res[1] = T.pack(asok.receive(u)) end)
  T.spawn(function() res[2] = T.pack(w:receive(10)) end)
  T.spawn(function() res[3] = T.pack(w:receivefrom()) end)
  T.run(function() return false end, 0.05)
  T.eq(w:close(), 1, "close returns LuaSocket's 1")
  T.check(T.run(function() return res[1] and res[2] and res[3] end, 5), "close: all woken")
  T.same(res[1] or T.pack(), T.pack(""), "close: receive")
  T.same(res[2] or T.pack(), T.pack(""), "close: wrapper receive")
  T.same(res[3] or T.pack(), T.pack(nil, "closed"), "close: receivefrom")
  T.same(T.pack(asok.sendto(u, "x", "127.0.0.1", 9)), T.pack(u:sendto("x", "127.0.0.1", 9)),
    "sendto after close like LuaSocket")
  T.same(T.pack(asok.sendto(u, "x", "127.0.0.1", 9)), T.pack(nil, "refused"), "sendto after close")
end

-- IPv6, and a socket LuaSocket creates on its first sendto (socket.udp()
-- has no fd until then)
do
  local ok6, srv6, port6 = pcall(bound, "::1")
  local done = false
  T.spawn(function()
    local fresh = socket.udp()
    T.eq(fresh:getfd(), -1, "fresh: no fd yet")
    T.same(T.pack(asok.receive(fresh)), T.pack(fresh:receive()), "fresh: receive like LuaSocket")
    local srv, port = bound("127.0.0.1")
    asok.settimeout(srv, 2)
    T.same(T.pack(asok.sendto(fresh, "first", "127.0.0.1", port)), T.pack(5 * 1.0), "fresh: sendto")
    T.check(fresh:getfd() >= 0, "fresh: LuaSocket created the fd")
    T.eq(asok.receive(srv), "first", "fresh: delivered")
    local _, fport = fresh:getsockname()
    T.eq(asok.sendto(srv, "back", "127.0.0.1", fport), 4, "fresh: reply")
    T.eq(asok.receive(fresh, 100), "back", "fresh: receive through asok")
    if ok6 then
      local c6 = socket.udp6()
      T.eq(asok.sendto(c6, "six", "::1", port6), 3, "v6: sendto")
      local d, ip = asok.receivefrom(srv6)
      T.eq(d, "six", "v6: data"); T.eq(ip, "::1", "v6: sender")
      T.same(T.pack(asok.sendto(c6, "x", "127.0.0.1", port6)),
        T.pack(c6:sendto("x", "127.0.0.1", port6)), "v6: IPv4 address error like LuaSocket")
      c6:close(); srv6:close()
    end
    fresh:close(); srv:close()
    done = true
  end)
  T.check(T.run(function() return done end, 5), "fresh/v6 coroutine finished")
end

-- argument and class errors: raised, as LuaSocket raises them
do
  local u = bound("127.0.0.1")
  local c = socket.udp()
  assert(c:setpeername("127.0.0.1", 9))
  local tcp = socket.tcp()
  local bad = {
    { "receive size", asok.receive, u, "abc" },
    { "receivefrom size", asok.receivefrom, u, {} },
    { "receivefrom on connected", asok.receivefrom, c },
    { "sendto on connected", asok.sendto, c, "x", "127.0.0.1", 9 },
    { "sendto no data", asok.sendto, u, nil, "127.0.0.1", 9 },
    { "sendto no port", asok.sendto, u, "x", "127.0.0.1" },
    { "send on unconnected", asok.send, u, "x" },
    { "send no data", asok.send, c },
    { "receivefrom on tcp", asok.receivefrom, tcp },
    { "sendto on tcp", asok.sendto, tcp, "x", "127.0.0.1", 9 },
  }
  for _, b in ipairs(bad) do
    local ok, err = pcall(b[2], b[3], b[4], b[5], b[6])
    T.check(not ok and tostring(err):find("bad argument", 1, true), b[1], err)
    local raw = b[3]
    local m = b[2] == asok.receive and "receive" or b[2] == asok.send and "send"
      or b[2] == asok.sendto and "sendto" or "receivefrom"
    local rok = pcall(function() return raw[m](raw, b[4], b[5], b[6]) end)
    T.eq(rok, false, b[1] .. ": LuaSocket raises too")
  end
  T.same(T.pack(asok.receive(u, -1)), T.pack(u:receive(-1)), "negative size like LuaSocket")
  local w, wc = asok.wrap(u), asok.wrap(c)
  T.eq(w.getstats, nil, "udp wrapper: no getstats (LuaSocket's udp has none)")
  T.eq(w.accept, nil, "udp wrapper: no accept")
  T.eq(type(w.sendto), "function", "udp wrapper: sendto")
  T.eq(type(wc.sendto), "function", "udp{connected} wrapper: sendto exists (and raises), as in LuaSocket")
  T.eq(asok.wrap(tcp).sendto, nil, "tcp wrapper: no sendto")
  u:close(); c:close(); tcp:close()
end

-- main thread: a blocking receivefrom while a coroutine sends to it later
do
  local srv, port = bound("127.0.0.1")
  local cli = bound("127.0.0.1")
  local sent = false
  T.spawn(function()
    asok.sleep(0.1)
    sent = asok.sendto(cli, "to main", "127.0.0.1", port)
  end)
  local d, ip = asok.receivefrom(srv)
  T.eq(d, "to main", "main: blocking receivefrom")
  T.eq(ip, "127.0.0.1", "main: sender")
  T.eq(sent, 7, "main: the coroutine ran meanwhile")
  asok.settimeout(srv, 0.05)
  T.same(T.pack(asok.receive(srv)), T.pack(nil, "timeout"), "main: timeout")
  srv:close(); cli:close()
end

-- sizes LuaSocket cannot allocate a buffer for: its 'out of memory', and
-- the datagram stays queued. Where that starts depends on the machine's
-- memory, so LuaSocket itself is asked (the asok socket gave the datagram)
do
  local huge = 2 ^ 40
  local ref, rport = bound("127.0.0.1")
  local srv, port = bound("127.0.0.1")
  local cli = bound("127.0.0.1")
  ref:settimeout(1)
  assert(cli:sendto("hello", "127.0.0.1", rport))
  local want = T.pack(ref:receive(huge))
  local want2 = T.pack(ref:receive())
  local w = asok.wrap(srv, 1)
  assert(cli:sendto("hello", "127.0.0.1", port))
  local got, got2
  T.spawn(function() got = T.pack(w:receive(huge)); got2 = T.pack(w:receive()) end)
  T.check(T.run(function() return got2 end, 5), "huge size: both receives returned")
  T.same(got, want, "receive(2^40) as LuaSocket's")
  T.same(got2, want2, "then the datagram, as LuaSocket's")
  ref:close(); w:close(); cli:close()
end

T.done("test_udp")
