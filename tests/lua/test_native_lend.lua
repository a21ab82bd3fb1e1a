-- test_native_lend.lua: a native client (a wrapper server's accept) whose
-- fd another LuaSocket object, given it by setfd, closed (items 61-63:
-- fdgone), the number then taken by a new socket. The client's
-- getpeername, getsockname, getoption, setoption, connect and setpeername
-- run LuaSocket's own code through a shadow object lent the client's fd
-- (glue/client.lua's lend): before docs/reliability.md item 66 they ran
-- on that number, so they answered for the new socket, changed its
-- options and connected it. Now each answers what LuaSocket's own answers
-- on an object whose fd was closed and not reused (asked of LuaSocket
-- here, not written down), and the new socket is left as it was.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local sharer = T.sharer

-- the calls compared, each as {what, method, arguments...}; port: a
-- listener's, for connect (a connect that went through would connect
-- there). setoption's values differ from the new socket's (set below).
local function calls(port)
  return {
    { "getpeername", "getpeername" },
    { "getsockname", "getsockname" },
    { "getoption tcp-nodelay", "getoption", "tcp-nodelay" },
    { "getoption keepalive", "getoption", "keepalive" },
    { "getoption linger", "getoption", "linger" },
    { "getoption send-buffer-size", "getoption", "send-buffer-size" },
    { "setoption tcp-nodelay", "setoption", "tcp-nodelay", false },
    { "setoption keepalive", "setoption", "keepalive", false },
    { "setoption linger", "setoption", "linger", { on = true, timeout = 0 } },
    { "setoption send-buffer-size", "setoption", "send-buffer-size", 4096 },
    { "connect", "connect", "127.0.0.1", port },
    { "setpeername", "setpeername", "127.0.0.1", port },
  }
end

local unpack = table.unpack or unpack

-- run returns call c's results on object o, shown (an error as "error: "
-- and its message).
local function run(o, c)
  local r = T.pack(pcall(o[c[2]], o, unpack(c, 3, #c)))
  if r[1] then return T.showpack(T.pack(unpack(r, 2, r.n))) end
  return "error: " .. tostring(r[2])
end

-- reference: each call's results on a LuaSocket tcp{client} whose fd a
-- sharer closed, the number not reused (nothing opened in between: the
-- connect is to a numeric address, no fd for its lookup)
local function reference(port)
  local l = T.listener()
  local _, lport = l:getsockname()
  local c = assert(socket.connect("127.0.0.1", lport))
  local a = assert(l:accept())
  local fd = a:getfd()
  local o = sharer(fd)
  o:close()
  local want = {}
  for i, call in ipairs(calls(port)) do want[i] = run(a, call) end
  T.eq(a:getfd(), fd, "reference: the closed object keeps its number")
  a:setfd(-1) -- (its fd is closed: its __gc must not close the number again)
  c:close(); l:close()
  return want
end

-- reuse opens LuaSocket sockets until one gets number fd (the lowest free
-- one, usually), then closes the others; returns it or nil.
local function reuse(fd)
  local got, extra = nil, {}
  for _ = 1, 64 do
    local s = assert((socket.tcp4 or socket.tcp)()) -- (3.1's tcp() makes its fd at connect)
    if s:getfd() == fd then got = s; break end
    extra[#extra + 1] = s
  end
  for _, s in ipairs(extra) do s:close() end
  return got
end

-- state shows socket s's peer, name and the options the calls touch.
local function state(s)
  local parts = { T.showpack(T.pack(s:getpeername())), T.showpack(T.pack(s:getsockname())) }
  for _, name in ipairs { "tcp-nodelay", "keepalive", "send-buffer-size" } do
    parts[#parts + 1] = name .. " " .. T.showpack(T.pack(s:getoption(name)))
  end
  local lg = s:getoption("linger")
  parts[#parts + 1] = "linger " .. (type(lg) == "table" and tostring(lg.on) .. "/" .. tostring(lg.timeout)
    or tostring(lg))
  return table.concat(parts, "; ")
end

local target, tport = T.listener() -- where a connect that went through lands
local want = reference(tport)
T.eq(want[1], '(2) nil, "Bad file descriptor"', "LuaSocket's getpeername on a closed fd")

-- 1. the number taken by a connected socket, its options set to differ
-- from what the client's setoption calls would set
for _, connected in ipairs { true, false } do
  local how = connected and "a connected socket" or "an unconnected socket"
  local a, p = T.nativepair()
  local fd = a:getfd()
  local o = sharer(fd)
  o:close()
  local s2 = reuse(fd)
  T.check(s2, how, ": a new socket on the closed number", fd)
  if s2 then
    local l, port = T.listener()
    local peer
    if connected then
      assert(s2:connect("127.0.0.1", port))
      peer = assert(l:accept())
    end
    assert(s2:setoption("tcp-nodelay", true))
    assert(s2:setoption("keepalive", true))
    assert(s2:setoption("send-buffer-size", 65536))
    local before = state(s2)
    for i, call in ipairs(calls(tport)) do
      T.eq(run(a, call), want[i], how .. ": the client's " .. call[1])
    end
    T.eq(state(s2), before, how .. ": the new socket's peer, name and options")
    T.eq(a:getfd(), fd, how .. ": the client's getfd still the number")
    target:settimeout(0)
    T.eq(T.showpack(T.pack(target:accept())), '(2) nil, "timeout"', how .. ": no connection made")
    if connected then
      -- still its peer's: what it sends arrives, unchanged by a linger
      T.eq(s2:send("z"), 1, how .. ": the new socket sends")
      peer:settimeout(5)
      T.eq(peer:receive(1), "z", how .. ": its peer receives")
      peer:close()
    end
    T.eq(a:close(), 1, how .. ": the client's close")
    T.eq(s2:getfd(), fd, how .. ": the new socket keeps its number")
    s2:close()
    l:close()
  end
  p:close()
end
target:close()

T.done("native_lend")
