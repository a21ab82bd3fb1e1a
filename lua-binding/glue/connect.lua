-- glue/connect.lua - asok.connect: numeric hosts, names resolved off the
-- loop thread (asok_resolve), and LuaSocket's connect at timeout 0.
local M, P, C = ...

local WAIT, loop, ONE = P.WAIT, P.loop, P.ONE
local margerror, checkraw, handle = P.margerror, P.checkraw, P.handle
local twins = P.twins
local newtoken, park, waitfor, yieldable = P.newtoken, P.park, P.waitfor, P.yieldable
local ownzero = P.ownzero
local watch, unwatch, ccancel = P.watch, P.unwatch, C.cancel
local classmeta, gettimeout = C.meta, C.gettimeout
local type, tostring, tonumber, pcall, ipairs, select = type, tostring, tonumber, pcall, ipairs, select

-- asok._debug.resolves counts the names asok.connect resolved off the
-- loop thread (asok_resolve answered "wait": a lookup ran on its own thread).
local dbg = M._debug or {}
M._debug = dbg
dbg.resolves = 0
local cresolve, cunspec, cservice = C.resolve, C.unspec, C.service
local unpack = table.unpack or unpack

-- atonpart reads one part of an inet_aton address (0x hex, 0 octal,
-- decimal), or nil.
local function atonpart(p)
  local hex = p:match("^0[xX](%x+)$")
  if hex then return tonumber(hex, 16) end
  if p:match("^0[0-7]*$") then return tonumber(p, 8) end
  if p:match("^[1-9]%d*$") then return tonumber(p) end
  return nil
end

-- isnumeric says whether getaddrinfo reads host without a lookup: an IPv6
-- literal (a name never has ':') or an inet_aton IPv4 form ("127.0.0.1",
-- "127.1", "0x7f.1", "2130706433"; core/hostaddr.go has the same rule).
local function isnumeric(host)
  if host:find(":", 1, true) then return true end
  if not host:match("^%d") then return false end
  local v, k = {}, 0
  for part in (host .. "."):gmatch("([^.]*)%.") do
    k = k + 1
    v[k] = k <= 4 and atonpart(part)
    if not v[k] then return false end
  end
  for i = 1, k - 1 do if v[i] > 255 then return false end end
  return v[k] < 256 ^ (5 - k)
end

-- resolving runs the lookup of name for family with token tok (lookup's,
-- below): asok_resolve, parking while it runs off the loop thread.
local function resolving(w, name, family, tok)
  local addrs, err = cresolve(loop, name, family, tok)
  if addrs == WAIT then dbg.resolves = dbg.resolves + 1 end
  while addrs == WAIT do
    w[tok] = true
    park(tok)
    w[tok] = nil
    if w.closed then ccancel(loop, tok); return nil, "closed" end
    addrs, err = cresolve(loop, name, family, tok)
  end
  return addrs, err
end

-- lookup resolves name for family (0 any, 4, 6) through asok_resolve:
-- off the loop thread, parking the caller meanwhile; w is the connect's
-- watch of its object (P.watch): the object's close ends the lookup.
-- Returns an array of numeric addresses, or nil and LuaSocket's error
-- ('closed' if the object was closed meanwhile).
local function lookup(w, name, family)
  local fake = dbg.hosts and dbg.hosts[name]
  if fake then -- asok._debug.hosts: a test's name -> addresses
    local addrs = {}
    for _, a in ipairs(fake) do
      if family == 0 or (family == 6) == (a:find(":", 1, true) ~= nil) then addrs[#addrs + 1] = a end
    end
    if #addrs > 0 then return addrs end
    return nil, "host or service not provided, or not known"
  end
  local tok = newtoken()
  if yieldable() then return resolving(w, name, family, tok) end
  -- the caller cannot yield: the lookup, its start and its waits, runs
  -- under one protected call, so that an error raised anywhere in it (a
  -- debug hook's: lua.c's Ctrl-C, caught by the program) cancels it. The
  -- cancel comes first, and nothing before it allocates: a memory error
  -- is a usual reason to be here, and the next allocation fails too
  -- (w[tok] = nil adds a key on Lua 5.1-5.3 where the token was not
  -- noted: its error skipped the cancel, and the lookup's answer left a
  -- mark for the reap, or stayed kept in asok)
  local ok, addrs, err = pcall(resolving, w, name, family, tok)
  if not ok then
    ccancel(loop, tok)
    if w[tok] ~= nil then w[tok] = nil end
    error(addrs, 0)
  end
  return addrs, err
end

-- outcome reads the result of a connect the kernel has finished (raw
-- polled writable) as socket_connect does after its wait: from the socket
-- (SO_ERROR, LuaSocket's own strings), not with a second connect(2), which
-- would take the kernel's one-time "connected" answer that LuaSocket's next
-- connect returns (1 once, then 'already connected').
local function outcome(raw, host, port)
  local got, err = pcall(raw.getoption, raw, "error")
  if not got then -- a LuaSocket without the "error" option: connect tells
    local ok
    ok, err = ownzero(raw, "connect", host, port)
    if ok or err == "already connected" then return ok or ONE end
    return nil, err
  end
  if err then return nil, err end
  return ONE
end

-- tryconnect is LuaSocket's connect at timeout 0 to a numeric host, then
-- a wait until the socket is writable and LuaSocket's verdict. A third
-- result, true, says the attempt was cut short by a zero block timeout:
-- inet_tryconnect tries no further address then.
local function tryconnect(raw, host, port)
  local ok, err = ownzero(raw, "connect", host, port)
  local h, herr = handle(raw, true)
  if ok then return ok end
  if err ~= "timeout" then return nil, err end
  if not h then return nil, herr end
  -- a zero block timeout: 'timeout' while in progress, without looking at
  -- the outcome (socket_connect's timeout_iszero case); a later connect
  -- finds it
  if gettimeout(h) == 0 then return nil, "timeout", true end
  local r, werr = waitfor(h, "w", newtoken())
  if not r then return nil, werr end
  return outcome(raw, host, port)
end

-- layout says whether tcpfamily.c knows where LuaSocket keeps a TCP
-- object's family (found once, from three probe objects closed at once;
-- tried again later if they could not be made: fds used up).
local layoutknown = nil
local function layout()
  if layoutknown == nil then
    local socket = require("socket")
    if not (socket.tcp4 and socket.tcp6) then layoutknown = false; return false end
    local p4, p6, pu = socket.tcp4(), socket.tcp6(), socket.tcp()
    if p4 and p6 and pu then
      layoutknown = C.layout(p4, p4:getfd(), p6, p6:getfd(), pu, pu:getfd())
    end
    for _, p in ipairs { p4, p6, pu } do if p then p:close() end end
  end
  return layoutknown or false
end
P.layout = layout
-- found now, while asok loads: the probes need three fds, which a process
-- that has run out of them (a connect to a name's other family, a native
-- client's first getpeername) would not have then; without LuaSocket,
-- when a connect first needs it
do
  local got, socket = pcall(require, "socket")
  if got and type(socket) == "table" then pcall(layout) end
  P.patchall() -- LuaSocket's classes hooked from now on (core.lua)
end

-- familyof gives the address family raw connects with: 0 for a
-- socket.tcp() that has none yet (LuaSocket creates its socket for the
-- address found: a fresh one, or one whose connect failed, which keeps its
-- failed socket until then), else 4 or 6 (tcp.c meth_connect:
-- hints.ai_family = tcp->family). An object that says "inet4" may be any
-- of these or a socket.tcp4() (LuaSocket's getfamily answers "inet4" for
-- AF_UNSPEC too): its family field tells them apart, where tcpfamily.c can
-- read it (else: 0 without a socket, 4 with one).
local function familyof(raw)
  local fam = raw:getfamily() == "inet6" and 6 or 4
  if fam == 4 then
    local fd = raw:getfd()
    return layout() and C.family(raw, fd) or (fd < 0 and 0 or 4)
  end
  return fam
end

local setclass = debug and debug.setmetatable

-- unspec closes raw's socket and makes raw a socket.tcp() again (family
-- AF_UNSPEC, no fd; tcpfamily.c), so that its next connect creates a
-- socket of the address's family: what LuaSocket's connect does when a
-- name's next address is of the other family. Returns false (raw
-- untouched) if that cannot be done here (LuaSocket's layout unknown).
local function unspec(raw)
  if not (layout() and cunspec(raw, raw:getfd())) then return false end
  P.reclose(raw) -- asok's handle first (patched close)
  return cunspec(raw, -1, true)
end

-- unfix undoes what a failed connect of a socket.tcp() left: LuaSocket's
-- inet_tryconnect records the family it created a socket for only when
-- the connect succeeds (or its timeout is zero), so after a refusal or a
-- timeout the object is still of no family, keeps the failed socket
-- (getfd, getsockname and the options answer from it) and its next
-- connect makes a new socket (a second connect(2) on the failed one would
-- say ECONNABORTED, 'closed'); getfamily() says "inet4" meanwhile.
-- asok's attempts ran at timeout 0, which fixed the family: unfix resets
-- it and keeps the socket. The next connect's new socket, usually on the
-- same fd number, is told apart by its inode (core.lua's handle).
local function unfix(raw)
  local fd = raw:getfd()
  if fd >= 0 and layout() then cunspec(raw, fd, true) end
end

-- unixconnect is LuaSocket's connect(path) on socket.unix stream object
-- raw. A unix connect is never in progress: it completes, fails, or says
-- EAGAIN (the listener's backlog is full), where LuaSocket's connect polls
-- the socket, finds it writable at once and returns 1 (its sends then
-- fail), and at timeout 0 destroys the socket instead ('closed' next). So
-- it runs with the socket's own timeout, the program's, as without asok.
local function unixconnect(raw, path)
  local ok, err = raw:connect(path)
  local _, herr = handle(raw, true)
  if ok then return ok end
  return nil, err or herr
end

-- the other class connect takes: socket.unix's stream sockets (a path)
local UNIX = { ["unixstream{master}"] = true,
  -- and socket.unix.dgram's connect(path), which never waits
  ["unixdgram{unconnected}"] = true, ["unixdgram{connected}"] = true }

--- asok.connect(sok, host, port): LuaSocket's connect, yielding while the
-- connection is in progress (asok.connect(sok, path) on a socket.unix
-- stream socket). A host name is resolved off the loop thread
-- (asok_resolve) and its addresses tried in order, as inet_tryconnect does;
-- each attempt is LuaSocket's own connect to the numeric address. Returns
-- 1, or nil and LuaSocket's error.
-- connectto is asok.connect's work on LuaSocket object raw of the given
-- class, for a method called fname by the user (connect, or a TCP
-- wrapper's setpeername, LuaSocket's alias): called by that method, not
-- tail-called (its argument errors are raised at the method's caller).
local function connectto(fname, raw, class, ...)
  local host, port = ...
  local ht, pt, nargs = type(host), type(port), select("#", ...)
  if ht ~= "string" and ht ~= "number" then
    margerror(2, fname, "string expected, got " .. (nargs < 1 and "no value" or ht), 3)
  end
  if class ~= "unixstream{master}" and UNIX[class] then
    local ok, err = raw:connect(host) -- a datagram socket: at once (not a tail call)
    if ok then return ok end
    return nil, err
  end
  if class == "unixstream{master}" then -- socket.unix: connect(path)
    local ok, err = unixconnect(raw, host)
    if ok then return ok end
    return nil, err
  end
  if pt ~= "string" and pt ~= "number" then
    margerror(3, fname, "string expected, got " .. (nargs < 2 and "no value" or pt), 3)
  end
  local fresh = familyof(raw) == 0 -- a socket.tcp(): LuaSocket tries every family
  if isnumeric(tostring(host)) then
    local ok, err, stop = tryconnect(raw, host, port)
    if ok then return ok end
    if fresh and not stop then unfix(raw) end
    return nil, err
  end
  local addrs, err
  -- the object's close during the lookup or between attempts ends the
  -- connect with 'closed' (LuaSocket's next attempt would make a closed
  -- object a new socket)
  local w = watch(raw)
  if host == "*" then -- LuaSocket passes no host to getaddrinfo: the loopback
    local fam = familyof(raw)
    addrs = fam == 4 and { "127.0.0.1" } or fam == 6 and { "::1" } or { "::1", "127.0.0.1" }
  else
    addrs, err = lookup(w, tostring(host), familyof(raw))
    if w.closed then return nil, "closed" end
  end
  if not addrs then
    unwatch(raw, w)
    -- getaddrinfo checks the service before the name: a bad port is
    -- LuaSocket's answer whatever the name (luaL_checkstring's text of it)
    if not cservice(tostring(port)) then err = "service not supported for socket type" end
    -- tcp.c meth_connect makes the object a tcp{client} even on failure
    local client = classmeta("tcp{client}")
    if setclass and client then setclass(raw, client) end
    return nil, err
  end
  local ok, stop
  for i = 1, #addrs do
    local fam, afam = familyof(raw), addrs[i]:find(":", 1, true) and 6 or 4
    -- the first attempt fixed raw's family: for an address of the other
    -- one, LuaSocket makes a new socket, and so does unspec; where it
    -- cannot (an unknown LuaSocket), such addresses are skipped
    if fresh and fam ~= 0 and fam ~= afam and unspec(raw) then fam = 0 end
    if fam == 0 or fam == afam then
      ok, err, stop = tryconnect(raw, addrs[i], port)
      if w.closed then return nil, "closed" end
      if ok then unwatch(raw, w); return ok end
      if stop then break end
    end
  end
  unwatch(raw, w)
  if fresh and not stop then unfix(raw) end
  return nil, err
end

twins("connect", function(fname) return function(sok, ...)
  local raw, _, class = checkraw(sok, fname, "tcp{any}", UNIX)
  local ok, err = connectto("connect", raw, class, ...) -- not a tail call
  if ok then return ok end
  return nil, err
end end)

-- the classes whose setpeername is connect's alias besides TCP's
local UNIXSTREAM = { ["unixstream{master}"] = true }

--- wrapper:setpeername(host, port) on a TCP wrapper: LuaSocket's alias of
--- connect, yielding as asok.connect does.
P.setpeername = P.method(function(sok, ...)
  local raw, _, class = checkraw(sok, "setpeername", "tcp{any}", UNIXSTREAM)
  local ok, err = connectto("setpeername", raw, class, ...) -- not a tail call
  if ok then return ok end
  return nil, err
end)
