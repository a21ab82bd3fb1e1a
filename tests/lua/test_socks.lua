-- test_socks.lua: asok.socks4_connect and asok.socks5_connect against the
-- Lua proxy of socks_server.lua relaying to an asok echo server: success
-- (IPv4, domain name, auth), refused targets, auth failure, IPv6 encoding,
-- a peer that is no proxy, argument checks.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local S = dofile("socks_server.lua")

-- raises checks that f(...) raises an error containing text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok and tostring(err):find(text, 1, true), "want error", text, "got", err)
end

local eport = S.echo()
local pport, state = S.proxy()
local aport, astate = S.proxy({ user = "alice", password = "s3cret" })
local cport = S.closer()
local free do local s, p = T.listener(); s:close(); free = p end -- refused

-- toproxy returns a LuaSocket tcp connected to the proxy at port.
local function toproxy(port)
  local c = socket.tcp()
  T.eq(asok.connect(c, "127.0.0.1", port), 1, "connect to proxy")
  return c
end

-- echoes checks a line round trip through c.
local function echoes(c, what)
  T.eq(asok.send(c, what .. "\n"), #what + 1, "send " .. what)
  T.eq(asok.receive(c, "*l"), what, "echo " .. what)
end

-- SOCKS4 (the main thread blocks; the proxy coroutines run meanwhile)
local c = toproxy(pport)
T.same(T.pack(asok.socks4_connect(c, "127.0.0.1", eport, "bob")), T.pack(1.0), "socks4 granted")
echoes(c, "via socks4")
T.eq(state.last.user, "bob", "socks4 user id sent")
T.eq(state.last.port, eport, "socks4 port sent")
c:close()
c = toproxy(pport)
T.same(T.pack(asok.socks4_connect(c, "127.0.0.1", free)),
  T.pack(nil, "socks4: request rejected or failed"), "socks4 refused target")
T.eq(state.last.user, "", "socks4 empty user id")
c:close()

-- SOCKS5 without authentication: IPv4 literal, domain name
c = toproxy(pport)
T.same(T.pack(asok.socks5_connect(c, "127.0.0.1", eport)), T.pack(1.0), "socks5 ipv4")
T.eq(state.last.atyp, 1, "ipv4 address type")
echoes(c, "via socks5")
c:close()
c = toproxy(pport)
T.same(T.pack(asok.socks5_connect(c, "localhost", eport)), T.pack(1.0), "socks5 domain name")
T.same(T.pack(state.last.atyp, state.last.host), T.pack(3, "localhost"), "domain sent as name")
echoes(c, "via name")
c:close()

-- as methods of a wrapper (seed: the functions may be called as
-- sok:func(...)), with method argument numbers; a UDP wrapper has none
do
  local w = asok.wrap(toproxy(pport))
  T.same(T.pack(w:socks5_connect("127.0.0.1", eport)), T.pack(1.0), "socks5 as a wrapper method")
  echoes(w, "via a socks5 method")
  w:close()
  w = asok.wrap(toproxy(pport))
  T.same(T.pack(w:socks4_connect("127.0.0.1", eport)), T.pack(1.0), "socks4 as a wrapper method")
  raises("bad argument #2 to 'socks4_connect' (port expected, got 70000)", function() return (w:socks4_connect("1.2.3.4", 70000)) end)
  raises("bad argument #3 to 'socks5_connect' (user name expected with a password)", function() return (w:socks5_connect("h", 1, nil, "pw")) end)
  w:close()
  local u = asok.wrap(socket.udp())
  T.eq(u.socks5_connect, nil, "no SOCKS method on a UDP wrapper")
  u:close()
end

c = toproxy(pport)
T.same(T.pack(asok.socks5_connect(c, "127.0.0.1", free)),
  T.pack(nil, "socks5: connection refused"), "socks5 refused target")
c:close()

-- IPv6 literals are sent as 16 bytes (this proxy answers 'not supported')
for literal, full in pairs({ ["::1"] = "0:0:0:0:0:0:0:1",
    ["[2001:db8::ffff:1.2.3.4]"] = "2001:db8:0:0:0:ffff:102:304",
    ["fe80:1:2:3:4:5:6:7"] = "fe80:1:2:3:4:5:6:7" }) do
  c = toproxy(pport)
  T.same(T.pack(asok.socks5_connect(c, literal, 443)),
    T.pack(nil, "socks5: address type not supported"), "ipv6 " .. literal)
  T.same(T.pack(state.last.atyp, state.last.host, state.last.port), T.pack(4, full, 443), "ipv6 bytes " .. literal)
  c:close()
end

-- SOCKS5 with username/password, in coroutines
local res = {}
asok.spawn(function()
  local s = toproxy(aport)
  res.good = T.pack(asok.socks5_connect(asok.wrap(s), "127.0.0.1", eport, "alice", "s3cret"))
  echoes(s, "authenticated")
  s:close()
  s = toproxy(aport)
  res.bad = T.pack(asok.socks5_connect(s, "127.0.0.1", eport, "alice", "wrong"))
  s:close()
  s = toproxy(aport)
  res.none = T.pack(asok.socks5_connect(s, "127.0.0.1", eport))
  s:close()
end)
T.check(T.run(function() return res.none end, 10), "auth cases finished")
T.same(res.good, T.pack(1.0), "socks5 authenticated")
T.eq(astate.last and astate.last.user, "alice", "user sent")
T.same(res.bad, T.pack(nil, "socks5: authentication failed"), "wrong password")
T.same(res.none, T.pack(nil, "socks5: no acceptable authentication method (the proxy wants a user name and password?)"),
  "no credentials")

-- a peer that closes: LuaSocket's error
c = toproxy(cport)
T.same(T.pack(asok.socks5_connect(c, "127.0.0.1", eport)), T.pack(nil, "closed"), "socks5 closed")
c:close()
c = toproxy(cport)
T.same(T.pack(asok.socks4_connect(c, "127.0.0.1", eport)), T.pack(nil, "closed"), "socks4 closed")

-- arguments
raises("bad argument #1 to 'socks4_connect' (tcp{client} expected)", asok.socks4_connect, 42, "1.2.3.4", 1)
raises("bad argument #2 to 'socks4_connect' (IPv4 address expected, got 'example.com')", asok.socks4_connect, c, "example.com", 1)
raises("bad argument #2 to 'socks4_connect' (IPv4 address expected, got '1.2.3.256')", asok.socks4_connect, c, "1.2.3.256", 1)
raises("bad argument #3 to 'socks4_connect' (port expected, got 70000)", asok.socks4_connect, c, "1.2.3.4", 70000)
raises("bad argument #4 to 'socks4_connect' (string expected, got number)", asok.socks4_connect, c, "1.2.3.4", 1, 5)
raises("bad argument #2 to 'socks5_connect' (string of 1 to 255 bytes without NUL expected)", asok.socks5_connect, c, ("x"):rep(256), 1)
raises("bad argument #2 to 'socks5_connect' (string expected, got nil)", asok.socks5_connect, c, nil, 1)
raises("bad argument #3 to 'socks5_connect' (port expected, got table)", asok.socks5_connect, c, "h", {})
raises("bad argument #5 to 'socks5_connect' (string expected, got boolean)", asok.socks5_connect, c, "h", 1, "u", true)
-- a password without a user would not be sent: an error, not a silent drop
raises("bad argument #4 to 'socks5_connect' (user name expected with a password)", asok.socks5_connect, c, "h", 1, nil, "pw")
c:close()

-- stop the servers: their acceptors end (T.done counts the live handles)
S.stop()
c = nil
T.done("test_socks")
