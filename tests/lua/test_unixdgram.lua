-- test_unixdgram.lua - unix datagram sockets (socket.unix.dgram) through
-- asok: a sendto to a receiver whose queue is full waits (the kernel never
-- signals it; asok retries) and goes through once the receiver reads; a
-- close wakes a coroutine parked in receivefrom; wrapper and function
-- styles. Values and errors are compared with LuaSocket's by the
-- differential suite (diff/scenarios_udp.lua, family unixdg).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local unix = require "socket.unix"

local base = os.tmpname()
os.remove(base)
local pa, pb = base .. ".a", base .. ".b"
local a = assert(unix.dgram()); assert(a:bind(pa))
local b = assert(unix.dgram()); assert(b:bind(pb))
local aw, bw = asok.wrap(a), asok.wrap(b)

-- fill a's queue (net.unix.max_dgram_qlen) with the non-blocking sendto
-- of a plain LuaSocket object (b's own timeout is asok's too), then send
-- one more through asok from b: it must wait
local filler = assert(unix.dgram())
filler:settimeout(0)
local filled = 0
while filled < 100000 do
  local n, err = filler:sendto("fill", pa)
  if not n then T.eq(err, "timeout", "a full receiver's error"); break end
  filled = filled + 1
end
T.check(filled > 0 and filled < 100000, "filled", filled)

local sent, order = nil, {}
asok.spawn(function()
  sent = T.pack(bw:sendto("last", pa))
  order[#order + 1] = "sent"
end)
T.run(function() return false end, 0.05)
T.eq(sent, nil, "sendto waits while the receiver is full")
asok.spawn(function()
  for i = 1, filled do
    local d = aw:receive()
    if d ~= "fill" then T.eq(d, "fill", "datagram " .. i) break end
  end
  order[#order + 1] = "drained"
  local d, from = aw:receivefrom()
  T.eq(d, "last", "the waiting datagram"); T.eq(from, pb, "its sender")
end)
T.run(function() return #order == 2 end, 5)
if T.check(sent, "sendto finished") then T.same(sent, T.pack(4.0), "sendto's result") end

-- a coroutine parked in receivefrom wakes with nil, 'closed' on close
local woke
asok.spawn(function() woke = T.pack(asok.receivefrom(a)) end)
T.run(function() return false end, 0.02)
T.eq(woke, nil, "receivefrom waits")
aw:close()
T.run(function() return woke ~= nil end, 2)
if T.check(woke, "receivefrom woke") then T.same(woke, T.pack(nil, "closed"), "closed under receivefrom") end

-- function style on the raw object, connected: send and receive
local c = assert(unix.dgram())
local pc = base .. ".c"
assert(c:bind(pc)); assert(c:connect(pb))
local echoed
asok.spawn(function()
  local d, from = bw:receivefrom()
  T.eq(from, pc, "connected sender's path")
  bw:sendto(d:upper(), from)
end)
asok.spawn(function()
  T.same(T.pack(asok.send(c, "echo")), T.pack(4.0), "send on connected")
  echoed = T.pack(asok.receive(c))
end)
T.run(function() return echoed ~= nil end, 5)
if T.check(echoed, "echo came back") then T.same(echoed, T.pack("ECHO"), "receive on connected") end

-- closing the raw LuaSocket object (not the wrapper) wakes the parked
-- coroutine too (asok patched unixdgram's close); a datagram receive on a
-- closed socket answers "" as LuaSocket's does (IO_CLOSED passes as an
-- empty datagram), receivefrom nil, 'closed' (above)
local woke2
asok.spawn(function() woke2 = T.pack(bw:receive()) end)
T.run(function() return false end, 0.02)
T.eq(woke2, nil, "receive waits")
b:close()
T.run(function() return woke2 ~= nil end, 2)
if T.check(woke2, "receive woke") then T.same(woke2, T.pack(""), "raw close under receive") end

-- wrapper:connect(path) on a datagram socket is LuaSocket's connect (at
-- once); a failed one (LuaSocket closes the fd itself) leaves asok's handle
-- off that fd number, which the next socket gets: asok must not read the
-- newcomer's datagrams through the old object
do
  local pr = base .. ".r"
  local r = assert(unix.dgram()); assert(r:bind(pr))
  local ref0 = assert(unix.dgram())
  local want = T.pack(ref0:connect(pr))
  ref0:close()
  local d = assert(unix.dgram())
  local dw = asok.wrap(d)
  T.same(T.pack(dw:connect(pr)), want, "wrapper connect(path) on a datagram socket")
  T.eq(d.class, "unixdgram{connected}", "connected class")
  T.same(T.pack(dw:send("via connect")), T.pack(11.0), "send on it (a float, as LuaSocket gives)")
  r:settimeout(1)
  T.eq(r:receive(), "via connect", "the datagram went to the connected path")
  d:close(); r:close()
  os.remove(pr)
  local ref = assert(unix.dgram())
  local wantc = T.pack(ref:connect(base .. ".nobody"))
  local wantr = T.pack(ref:receive())
  ref:close()
  local old = assert(unix.dgram())
  asok.settimeout(old, 0.2) -- asok has a handle on its fd now
  T.same(T.pack(old:connect(base .. ".nobody")), wantc, "failed connect")
  local pv = base .. ".v"
  local victim = assert(unix.dgram()); assert(victim:bind(pv))
  local feed = assert(unix.dgram()); feed:sendto("for-victim", pv)
  local got
  asok.spawn(function() got = T.pack(asok.receive(old)) end)
  T.check(T.run(function() return got end, 2), "receive on the failed socket returned")
  T.same(got or T.pack(), wantr, "receive on the failed socket: LuaSocket's answer")
  victim:settimeout(1)
  T.same(T.pack(victim:receive()), T.pack("for-victim"), "the newcomer keeps its datagram")
  old:close(); victim:close(); feed:close()
  os.remove(pv)
end

-- a coroutine already waiting on the socket when LuaSocket destroys its
-- fd (a failed connect or bind: unixdgram.c's socket_destroy) wakes as
-- for a close, with the same answer, instead of waiting on an fd nobody
-- polls any more
do
  local pack = T.pack
  local n = 0
  local function waiter(kind, u, w)
    local res
    asok.spawn(function()
      if kind == "receive" then res = pack(asok.receive(u))
      elseif kind == "receivefrom" then res = pack(asok.receivefrom(u))
      elseif kind == "wrapper" then res = pack(w:receive())
      else local r = asok.select({ u }, nil); res = pack(r and #r) end
    end)
    return function() return res end
  end
  for _, kind in ipairs { "receive", "receivefrom", "wrapper", "select" } do
    -- what a close gives the same waiter
    n = n + 1
    local u = assert(unix.dgram()); assert(u:bind(base .. ".w" .. n))
    local get = waiter(kind, u, asok.wrap(u))
    T.run(function() return false end, 0.05)
    u:close()
    T.check(T.run(get, 2), kind .. ": a close wakes the waiter")
    local want = get()
    os.remove(base .. ".w" .. n)
    for _, fail in ipairs { "connect", "wrapper connect", "bind" } do
      n = n + 1
      local path = base .. ".w" .. n
      u = assert(unix.dgram()); assert(u:bind(path))
      local w = asok.wrap(u)
      get = waiter(kind, u, w)
      T.run(function() return false end, 0.05)
      local r
      if fail == "connect" then r = pack(u:connect(base .. ".nobody"))
      elseif fail == "wrapper connect" then r = pack(w:connect(base .. ".nobody"))
      else r = pack(u:bind(path .. ".second")) end
      T.eq(r[1], nil, kind .. ", " .. fail .. ": the call failed")
      T.eq(u:getfd(), -1, kind .. ", " .. fail .. ": LuaSocket destroyed the socket")
      T.check(T.run(get, 2), kind .. ", " .. fail .. ": the waiter woke")
      T.same(get() or pack(), want, kind .. ", " .. fail .. ": as for a close")
      u:close()
      os.remove(path)
    end
  end
  T.eq(asok._debug.cparked and asok._debug.cparked() or 0, 0, "no C record left")
end

c:close(); bw:close(); filler:close()
for _, p in ipairs { pa, pb, pc } do os.remove(p) end
a, b, c, aw, bw, filler = nil, nil, nil, nil, nil, nil
T.done("test_unixdgram")
