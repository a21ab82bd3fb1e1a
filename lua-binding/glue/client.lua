-- glue/client.lua - the Lua methods of native accepted clients (asok.client,
-- client.c): what server:accept() returns on a wrapper of a TCP server.
-- A native client has LuaSocket's whole tcp{client} method set; receive and
-- send yield like a wrapper's; getpeername, getsockname, getfamily,
-- getoption and setoption run LuaSocket's own code on the client's fd
-- through a shadow LuaSocket object (one per family, for the whole state),
-- so their values and errors are LuaSocket's.
local M, P, C = ...

local margerror, reraise, hreceive, hsend = P.margerror, P.reraise, P.hreceive, P.hsend
local method, methodof = P.method, P.methodof
local checkreceive, checksend, checkstats = P.checkreceive, P.checksend, P.checkstats
local gettimeout = C.gettimeout
local getstats, setstats, family = C.getstats, C.setstats, C.client_family
local lendfd = C.client_lendfd
local rawmeta, pcall, error, ipairs, type = P.rawmeta, pcall, error, ipairs, type
-- loadstring on 5.1 and LuaJIT, load after (no global read of a name the
-- interpreter lacks: strict.lua raises on it)
local loadchunk = _VERSION == "Lua 5.1" and loadstring or load
local select, tonumber = select, tonumber
local unpack = table.unpack or unpack

local CLIENT = P.CLIENT
local methods = CLIENT.__index

-- ANY: the methods LuaSocket's tcp.c checks against "tcp{any}" (the rest
-- of a client's want "tcp{client}")
local ANY = { close = true, getpeername = true, getsockname = true, getfamily = true,
  getoption = true, setoption = true, connect = true, setpeername = true, gettimeout = true }

-- checkself raises LuaSocket's class error for a method called on
-- something that is not a native client (named from the call: margerror).
local function checkself(self, fname)
  if rawmeta(self) ~= CLIENT then
    margerror(1, fname, (ANY[fname] and "tcp{any}" or "tcp{client}") .. " expected", 3)
  end
end

-- the C methods (stream.lua, park.c), nil under LuaJIT
local creceive, csend, OK, ERR, tokenof = P.creceive, P.csend, P.OK, P.ERR, P.tokenof

if creceive then
  --- client:receive([pattern [, prefix]]): LuaSocket's receive, yielding.
  methods.receive = method(function(self, pattern, prefix)
    local k, a, b, c = creceive(self, pattern, prefix)
    if k == OK then return a, b, c end
    if k == ERR then error(a, 0) end -- step could not make the results (park.c)
    if rawmeta(self) ~= CLIENT then checkself(self, "receive") end
    if prefix ~= nil or (pattern ~= nil and pattern ~= "*l" and pattern ~= "*a") then
      checkreceive(pattern, prefix) -- a nil prefix is never checked: no "no value" case
    end
    return hreceive(self, pattern, prefix, tokenof(k, a, b))
  end)

  --- client:send(data [, i [, j]]): LuaSocket's send, atomic and yielding.
  methods.send = method(function(self, ...)
    local k, a, b, c = csend(self, ...)
    if k == OK then return a, b, c end
    if k == ERR then error(a, 0) end
    local data, i, j = ...
    if rawmeta(self) ~= CLIENT then checkself(self, "send") end
    if type(data) ~= "string" or i ~= nil or j ~= nil then checksend(select("#", ...) + 1, data, i, j) end
    return hsend(self, data, i, j, tokenof(k, a, b))
  end)
else
  -- the same through the glue alone
  methods.receive = method(function(self, pattern, prefix)
    if rawmeta(self) ~= CLIENT then checkself(self, "receive") end
    if prefix ~= nil or (pattern ~= nil and pattern ~= "*l" and pattern ~= "*a") then
      checkreceive(pattern, prefix)
    end
    return hreceive(self, pattern, prefix)
  end)

  methods.send = method(function(self, ...)
    local data, i, j = ...
    if rawmeta(self) ~= CLIENT then checkself(self, "send") end
    if type(data) ~= "string" or i ~= nil or j ~= nil then checksend(select("#", ...) + 1, data, i, j) end
    return hsend(self, data, i, j)
  end)
end

--- client:settimeout(t [, mode]) / gettimeout(): asok's asynchronous
--- timeouts, as on a wrapper.
methods.settimeout = methodof.settimeout -- its argument errors are LuaSocket's

methods.gettimeout = method(function(self)
  checkself(self, "gettimeout")
  local b, t = gettimeout(self)
  return b, t
end)

--- client:getstats() / setstats(received, sent, age): LuaSocket's counters
--- (bytes handed out and sent, age in seconds).
methods.getstats = method(function(self)
  checkself(self, "getstats")
  local r, s, age = getstats(self)
  return r, s, age
end)

methods.setstats = method(function(self, received, sent, age)
  checkself(self, "setstats")
  checkstats(received, sent)
  local one = setstats(self, received, sent, age)
  return one
end)

methods.setlimit = methodof.setlimit
methods.throttle_receive, methods.throttle_send = methodof.throttle_receive, methodof.throttle_send
methods.socks4_connect, methods.socks5_connect = methodof.socks4_connect, methodof.socks5_connect

-- shadows: family ("inet", "inet6") -> a closed LuaSocket tcp object that
-- lends its methods to native clients for one call at a time
local shadows = {}

-- shadow returns the LuaSocket object for family, created on first use:
-- a socket.tcp() given the family (tcpfamily.c; no fd needed, so that a
-- process out of fds still gets its clients' addresses), else a closed
-- socket.tcp4() or tcp6(). Raises LuaSocket's error if neither can be made.
local function shadow(fam)
  local s = shadows[fam]
  if s then return s end
  local socket = require("socket")
  local err
  s = socket.tcp()
  if s and not (P.layout() and C.setfamily(s, fam == "inet6" and 6 or 4)) then
    s:close()
    s, err = (fam == "inet6" and socket.tcp6 or socket.tcp4 or socket.tcp)() -- 3.0-rc1: no tcp4
    if not s then error(err, 0) end
    s:close() -- its own fd; from now on it only borrows clients' fds
  end
  if not s then error("cannot create a LuaSocket object", 0) end
  shadows[fam] = s
  return s
end

-- packed returns its arguments as a table with their count n.
local function packed(...)
  return { n = select("#", ...), ... }
end

-- lend returns a method that runs LuaSocket's method name on the client's
-- fd: the number C.client_lendfd gives, which for an fd another object
-- closed (client.c's fdgone) is one no socket ever has, so that LuaSocket
-- answers as on a closed fd, not for a socket that took the number since
-- (nor sets its options, nor connects it). It is compiled as s:name(...), so that LuaSocket's argument errors
-- name the method and count arguments as on a LuaSocket object; an error
-- of LuaSocket's is raised again at the user's call, without asok's position
-- (any other passes on unchanged: reraise in core.lua).
local reconnect -- below: a closed client's connect

-- With redirect, a call for which redirect(self, ...) is true goes to
-- reconnect instead (the error level stays the user's call on every
-- version: no frame in between).
local function lend(name, redirect)
  local call = loadchunk(("local function id(...) return ... end\n"
    .. "return function(s, ...) return id(s:%s(...)) end"):format(name), "=asok/client.lua")()
  return method(function(self, ...)
    checkself(self, name)
    if redirect and redirect(self, ...) then return reconnect(self, ...) end
    local s = shadow(family(self))
    local fd = lendfd(self)
    s:setfd(fd)
    local r = packed(pcall(call, s, ...))
    local nfd = s:getfd()
    s:setfd(-1)
    -- connect on a closed client creates a socket, as LuaSocket's does:
    -- the client owns it from now on
    if nfd ~= fd then self:setfd(nfd) end
    if not r[1] then reraise(r[2], "^asok/client%.lua:%d+: (.*)$", 1) end
    return unpack(r, 2, r.n)
  end)
end

for _, name in ipairs { "getpeername", "getsockname", "getfamily", "getoption", "setoption" } do
  methods[name] = lend(name)
end

-- reconnecting: native client -> the LuaSocket object its reconnect waits
-- on (its close closes that too: the connect ends with 'closed')
local reconnecting = setmetatable({}, { __mode = "k" })

-- reconnect connects closed native client self again (LuaSocket's connect
-- on a closed object makes it a new socket): through a LuaSocket object
-- and asok.connect, which yields and waits as long as the client's
-- timeout says (LuaSocket's connect on the shadow would block the
-- process, with the shadow's timeout: none). The object is a
-- socket.tcp() given the client's family, so that, as LuaSocket, no
-- socket is made when the name or port is bad; the socket it made,
-- connected or not, becomes the client's, as LuaSocket keeps it.
function reconnect(self, host, port)
  local socket = require("socket")
  local fam = family(self) == "inet6" and 6 or 4
  local s, err = socket.tcp()
  if s and not (P.layout() and C.setfamily(s, fam)) then -- unknown layout: a socket now
    s:close()
    s, err = (fam == 6 and socket.tcp6 or socket.tcp4 or socket.tcp)()
  end
  if not s then return nil, err end
  local block, total = gettimeout(self)
  if block >= 0 then M.settimeout(s, block, "b") end
  if total >= 0 then M.settimeout(s, total, "t") end
  reconnecting[self] = s
  local r = packed(M.connect(s, host, port)) -- arguments checked: no error raised
  reconnecting[self] = nil
  local nfd = s:getfd()
  s:setfd(-1)
  s:close()
  if nfd >= 0 then
    if self:getfd() >= 0 then -- connected again meanwhile (another call): not kept
      local t = socket.tcp()
      t:setfd(nfd)
      t:close()
    else
      self:setfd(nfd)
    end
  end
  return unpack(r, 1, r.n)
end

--- client:close(): LuaSocket's close; a reconnect waiting ends with 'closed'.
local cclose = methods.close
methods.close = method(function(self, ...)
  if rawmeta(self) ~= CLIENT then checkself(self, "close") end
  local s = reconnecting[self]
  if s then reconnecting[self] = nil; s:close() end
  return cclose(self, ...)
end)

-- connect and setpeername (LuaSocket's alias): on a closed client with
-- valid arguments, reconnect; else LuaSocket's own (its argument errors,
-- 'already connected' at once)
local function closedvalid(self, host, port)
  local ht, pt = type(host), type(port)
  return (ht == "string" or ht == "number") and (pt == "string" or pt == "number") and self:getfd() < 0
end
for _, name in ipairs { "connect", "setpeername" } do
  methods[name] = lend(name, closedvalid)
end

--- client:__close (Lua 5.4 to-be-closed variables): closes it.
CLIENT.__close = function(self) self:close() end

