-- test_luasec.lua: an asok wrapper goes where LuaSocket objects go, LuaSec's
-- ssl.wrap included (it takes the fd with getfd/setfd): a TLS client built
-- on an asok wrapper talks to a LuaSec server in a child process; the
-- wrapper, whose fd now belongs to LuaSec, answers nil, 'closed' from then
-- on and never touches that fd again. Needs lua-sec and the openssl command
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
os.execute("rm -rf " .. dir)
T.done("test_luasec")
