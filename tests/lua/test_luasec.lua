-- test_luasec.lua: an asok wrapper goes where LuaSocket objects go, LuaSec's
-- ssl.wrap included (it takes the fd with getfd/setfd): a TLS client built
-- on an asok wrapper talks to a LuaSec server in a child process; the
-- wrapper, whose fd now belongs to LuaSec, answers nil, 'closed' from then
-- on and never touches that fd again. The same for a native client accepted
-- by an asok server, wrapped in server mode. Needs lua-sec and the openssl command
-- (./build.sh test installs both).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local ssl = require "ssl"

-- a throw-away self-signed certificate
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local key, crt = dir .. "/key.pem", dir .. "/cert.pem"
local gen = ("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 " ..
  "-keyout %s -out %s >/dev/null 2>&1"):format(key, crt)
local ok = os.execute(gen)
assert(ok == true or ok == 0, "openssl could not make a certificate")

-- the server: a child interpreter of the same kind, plain LuaSec, blocking
local interp = arg[-1] or "lua"
local server_src = dir .. "/server.lua"
local f = assert(io.open(server_src, "w"))
f:write(([[
local socket, ssl = require "socket", require "ssl"
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
print(port) io.stdout:flush()
srv:settimeout(10)
local c = assert(srv:accept())
c = assert(ssl.wrap(c, { mode = "server", protocol = "any", key = %q, certificate = %q }))
c:settimeout(10)
assert(c:dohandshake())
while true do
  local line = c:receive("*l")
  if not line then break end
  c:send("tls:" .. line .. "\n")
end
c:close()
]]):format(key, crt))
f:close()
local child = assert(io.popen(interp .. " " .. server_src, "r"))
local port = assert(tonumber(child:read("*l")), "server did not start")

-- the client: an asok wrapper, connected through asok, handed to ssl.wrap
local w = asok.wrap(socket.tcp())
T.eq(asok.connect(w, "127.0.0.1", port), 1, "connect through asok")
local fd = w:getfd()
T.check(type(fd) == "number" and fd >= 0, "wrapper:getfd", fd)
T.eq(w:dirty(), false, "wrapper:dirty before TLS")
local conn, err = ssl.wrap(w, { mode = "client", protocol = "any", verify = "none" })
T.check(conn, "ssl.wrap accepts the wrapper:", err)
if conn then
  T.eq(conn:getfd(), fd, "LuaSec took the wrapper's fd")
  T.eq(w:getfd(), -1, "the wrapper gave its fd away (setfd forwarded)")
  conn:settimeout(10)
  T.eq(conn:dohandshake(), true, "TLS handshake")
  for i = 1, 3 do
    T.eq(conn:send("line " .. i .. "\n"), #("line " .. i .. "\n"), "TLS send " .. i)
    T.eq(conn:receive("*l"), "tls:line " .. i, "TLS echo " .. i)
  end
  -- LuaSec owns the fd: asok calls on the wrapper see a closed socket
  T.same(T.pack(w:receive()), T.pack(nil, "closed", ""), "wrapper receive after ssl.wrap")
  conn:close()
end
child:close()
w, conn = nil, nil

-- the other way round: a native client accepted by an asok server is
-- handed to ssl.wrap in server mode; a LuaSec client in a child connects
local lsn = asok.wrap((T.listener()))
local _, sport = lsn:getsockname()
local client_src = dir .. "/client.lua"
f = assert(io.open(client_src, "w"))
f:write(([[
local socket, ssl = require "socket", require "ssl"
local c = assert(socket.connect("127.0.0.1", %d))
c = assert(ssl.wrap(c, { mode = "client", protocol = "any", verify = "none" }))
c:settimeout(10)
assert(c:dohandshake())
c:send("hello\n")
io.write(c:receive("*l") or "nothing", "\n")
c:close()
]]):format(sport))
f:close()
child = assert(io.popen(interp .. " " .. client_src, "r"))
local n = assert(lsn:accept())
T.eq(n.class, "tcp{client}", "a native client")
local nfd = n:getfd()
local sconn, serr = ssl.wrap(n, { mode = "server", protocol = "any", key = key, certificate = crt })
T.check(sconn, "ssl.wrap accepts a native client:", serr)
if sconn then
  T.eq(sconn:getfd(), nfd, "LuaSec took the native client's fd")
  T.eq(n:getfd(), -1, "the native client gave its fd away (setfd)")
  sconn:settimeout(10)
  T.eq(sconn:dohandshake(), true, "TLS handshake, server side")
  T.eq(sconn:receive("*l"), "hello", "TLS receive")
  sconn:send("tls:hello\n")
  T.eq(child:read("*l"), "tls:hello", "the LuaSec client got the answer")
  T.same(T.pack(n:receive()), T.pack(nil, "closed", ""), "native client receive after ssl.wrap")
  n:close() -- closes nothing: the fd is LuaSec's
  T.eq((sconn:getfd()), nfd, "LuaSec's fd survives the native client's close")
  sconn:close()
end
child:close()
lsn:close()
n, sconn, lsn = nil, nil, nil

-- a coroutine waits in asok.select on a LuaSec connection whose handshake
-- stalls (the server never answers); another closes it with LuaSec's own
-- close: the select wakes (a closed fd leaves epoll without an event, so
-- asok hooks the connection's close as it does LuaSocket's)
do
  local mute = assert(socket.bind("127.0.0.1", 0))
  local _, mport = mute:getsockname()
  local res, hs
  asok.spawn(function()
    local cw = asok.wrap(socket.tcp())
    assert(cw:connect("127.0.0.1", mport))
    local c = assert(ssl.wrap(cw, { mode = "client", protocol = "any", verify = "none" }))
    c:settimeout(0)
    hs = T.pack(c:dohandshake())
    asok.spawn(function() asok.sleep(0.02); c:close() end)
    res = T.pack(asok.select({ c }, nil))
  end)
  T.check(T.run(function() return res end, 5), "a select on a LuaSec connection closed by LuaSec returned")
  T.same(hs or T.pack(), T.pack(false, "wantread"), "the stalled handshake")
  T.eq(res and type(res[1]) == "table" and #res[1], 1, "the closed connection is ready")
  mute:close()
end
os.execute("rm -rf " .. dir)
T.done("test_luasec")
