-- glue/udp.lua - datagrams: asok.receivefrom and asok.sendto, and the
-- helpers asok.receive and asok.send (stream.lua) use on UDP and unix
-- datagram sockets.
local M, P, C = ...

local WAIT = P.WAIT
local handles, handle, checkraw, margerror = P.handles, P.handle, P.checkraw, P.margerror
local twins = P.twins
local newtoken, park, reborn = P.newtoken, P.park, P.reborn
local fdof, udp_receivefrom, udp_sendto = C.fd, C.udp_receivefrom, C.udp_sendto
local unix_receivefrom, unix_sendto = C.unix_receivefrom, C.unix_sendto
local type, tonumber, select = type, tonumber, select

-- udphandle returns raw's asok handle (registering it on first use), or
-- nil while LuaSocket has not created the socket yet (socket.udp() does on
-- the first sendto, setsockname or setpeername): then LuaSocket answers.
local function udphandle(raw)
  local h = handles[raw]
  -- LuaSocket closes the fd itself when a unix datagram bind or connect
  -- fails: the handle must not go on reading that fd number (reused)
  if h and fdof(h) >= 0 and fdof(h) == raw:getfd() then return h end
  if raw:getfd() < 0 then return nil end
  return handle(raw, true)
end

-- checkudparg raises LuaSocket's argument error (at the caller of the
-- asok function fname) unless v is a number or a string convertible to one
-- (what = "number", nil allowed), or a string or number (what = "string");
-- missing: the argument was not given ("no value"). Worded for a method
-- call as LuaSocket's (margerror).
local function checkudparg(v, n, fname, what, missing)
  local t = type(v)
  if what == "number" then
    if v == nil or tonumber(v) then return end
  elseif t == "string" or t == "number" then return end
  margerror(n, fname, what .. " expected, got " .. (missing and "no value" or t), 3)
end

-- udpcall runs datagram primitive f on raw's handle with the arguments
-- (a; a, b for a unix sendto; a, b, c for a UDP sendto) and a token,
-- parking while it answers WAIT; without a handle it is LuaSocket's method
-- m. Returns LuaSocket's values (1 on success of receive/send, 3 for a UDP
-- receivefrom, 2 for a unix one, nil and an error otherwise).
local udpcall
function udpcall(raw, m, f, a, b, c)
  local h, err = udphandle(raw)
  if not h then
    if err then return nil, err end
    return raw[m](raw, a, b, c)
  end
  local tok = newtoken()
  local x, y, z
  repeat
    if x == WAIT then park(tok) end
    if c ~= nil then x, y, z = f(h, a, b, c, tok)
    elseif b ~= nil then x, y, z = f(h, a, b, tok)
    else x, y, z = f(h, a, tok) end
  until x ~= WAIT
  -- the handle closed under raw by another object's close of its fd
  -- (core.lua's sharedgone; raw's fd number stays): not raw's own close,
  -- whose answer this was (a receive's "", LuaSocket's on a closed
  -- object), but the call again, as LuaSocket's own on that fd (a new
  -- handle, or the fd gone: "Bad file descriptor"). Asked only of the
  -- answers a closed handle gives ('closed', a receive's ""): no syscall
  -- or C call more on the common path.
  if (x == "" or (x == nil and y == "closed")) and reborn(raw, h) then
    return udpcall(raw, m, f, a, b, c)
  end
  if x == nil then return nil, y end
  if z ~= nil then return x, y, z end
  if y ~= nil then return x, y end
  return x
end

-- UNCONNECTED: the class receivefrom and sendto want, per datagram class
local UNCONNECTED = { ["udp{connected}"] = "udp{unconnected}", ["udp{unconnected}"] = "udp{unconnected}",
  ["unixdgram{connected}"] = "unixdgram{unconnected}", ["unixdgram{unconnected}"] = "unixdgram{unconnected}" }

-- unconnected returns the class receivefrom and sendto want where class
-- is: udp{unconnected}, or unixdgram{unconnected} for a unix datagram one.
local function unconnected(class)
  return UNCONNECTED[class] or "udp{unconnected}"
end

--- asok.receivefrom(sok [, size]): LuaSocket's receivefrom on a
-- udp{unconnected} socket, yielding: datagram, ip, port or nil, err; on a
-- unixdgram{unconnected} socket: datagram, the sender's path.
twins("receivefrom", function(fname) return function(sok, size)
  local raw, _, class = checkraw(sok, fname)
  local want = unconnected(class)
  if class ~= want then margerror(1, "receivefrom", want .. " expected", 2) end
  local isunix = want == "unixdgram{unconnected}"
  checkudparg(size, 2, "receivefrom", "number")
  return udpcall(raw, "receivefrom", isunix and unix_receivefrom or udp_receivefrom, size)
end end)

--- asok.sendto(sok, datagram, ip, port): LuaSocket's sendto on a
-- udp{unconnected} socket, yielding while the send buffer is full; on a
-- unixdgram{unconnected} socket: asok.sendto(sok, datagram, path).
twins("sendto", function(fname) return function(sok, ...)
  local data, ip, port = ...
  local nargs = select("#", ...)
  local raw, _, class = checkraw(sok, fname)
  local want = unconnected(class)
  if class ~= want then margerror(1, "sendto", want .. " expected", 2) end
  local isunix = want == "unixdgram{unconnected}"
  checkudparg(data, 2, "sendto", "string", nargs < 1)
  checkudparg(ip, 3, "sendto", "string", nargs < 2)
  if isunix then return udpcall(raw, "sendto", unix_sendto, data, ip) end
  checkudparg(port, 4, "sendto", "string", nargs < 3)
  return udpcall(raw, "sendto", udp_sendto, data, ip, port)
end end)

P.udpcall, P.checkudparg = udpcall, checkudparg
