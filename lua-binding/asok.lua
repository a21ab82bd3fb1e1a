-- asok.lua - the Lua half of the asok binding, embedded into asok.so at
-- build time (nothing of it is loaded from LUA_PATH).
--
-- luaopen_asok runs this chunk with a table of C primitives that never
-- yield (cqueues' rule). An operation that cannot finish now returns the
-- private WAIT marker: inside a yieldable coroutine we park it (token ->
-- coroutine) and yield WAIT; asok.select, in the main thread, gets ready
-- tokens from asok_select and resumes their coroutines, which retry the
-- same operation with the same token. Outside a coroutine the call blocks
-- like LuaSocket, running the reactor (other coroutines) meanwhile.
local C = ...

local WAIT = C.WAIT
local loop = C.loop()
local receive, send, wait, close = C.receive, C.send, C.wait, C.close
local udp_receive, udp_receivefrom = C.udp_receive, C.udp_receivefrom
local udp_send, udp_sendto = C.udp_send, C.udp_sendto
local cthrottle = C.throttle
local settimeout, gettimeout, buffered = C.settimeout, C.gettimeout, C.buffered
local setlimit = C.setlimit
local newsock, fdof, unread, now = C.newsock, C.fd, C.unread, C.now
local getstats, setstats = C.getstats, C.setstats
local cselect, csleep, classmeta, cancel = C.select, C.sleep, C.meta, C.cancel

local type, error, tostring, tonumber = type, error, tostring, tonumber
local getmetatable, setmetatable, rawget, next = getmetatable, setmetatable, rawget, next
local running, yield, resume = coroutine.running, coroutine.yield, coroutine.resume
local create, status = coroutine.create, coroutine.status
local isyieldable = coroutine.isyieldable -- nil on 5.1 and 5.2
local unpack = table.unpack or unpack
local select, pcall, xpcall = select, pcall, xpcall
local traceback = debug and debug.traceback

local M = { _VERSION = "asok 0.1.0" }

-- asok._debug: debugging aids, not part of the LuaSocket-like API.
-- handles() is the number of live asok handles (loop and sockets) in the
-- process (asok_debug_handles): tests compare it with a baseline.
M._debug = { handles = C.handles }

local handles = setmetatable({}, { __mode = "k" }) -- LuaSocket object -> asok.sock
local throttles = setmetatable({}, { __mode = "k" }) -- LuaSocket object -> {r = bps, w = bps}
local probes = setmetatable({}, { __mode = "k" })  -- object watched by select only -> asok.sock
local parents = setmetatable({}, { __mode = "k" }) -- asok.xpcall helper coroutine -> its driver
local MAIN = {}     -- parents[] value: the driver cannot yield (main thread)
local errorhandler  -- asok.seterrorhandler's function, nil: write to stderr
local waiting = {}  -- token -> coroutine parked on it
local blocking = {} -- token -> true while a blocked caller waits, false once delivered
local classes = {}  -- LuaSocket metatable -> class name
local patched = {}  -- LuaSocket metatables whose close/__gc notify asok
local buffers = {}  -- per nesting depth of step(): token batches
local depth = 0
local lasttoken = 0
local ONE = 1.0     -- LuaSocket's success value (a float on 5.3+)
local RAW = {}      -- private key of a wrapper's raw object

-- the LuaSocket classes whose close/__gc are patched on first use
local CLASSNAMES = { "tcp{master}", "tcp{client}", "tcp{server}",
  "udp{connected}", "udp{unconnected}",
  "unixstream{master}", "unixstream{client}", "unixstream{server}" }

-- classes accepted where LuaSocket wants a tcp{client} (stream clients)
local STREAM = { ["tcp{client}"] = true, ["unixstream{client}"] = true }

-- the LuaSocket UDP classes
local UDP = { ["udp{connected}"] = true, ["udp{unconnected}"] = true }

-- argerror raises "bad argument #n to 'fname' (msg)" at the given level
-- (counted from argerror's caller, as error() does).
local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level + 1)
end

-- newtoken returns a fresh token, kept below 2^53 (exact in a 5.1 double).
local function newtoken()
  local t = lasttoken + 1
  if t >= 9007199254740991 then t = 1 end
  lasttoken = t
  return t
end

-- report hands a failed coroutine's error, with its traceback, to the
-- error handler (asok.seterrorhandler) or writes it to stderr. A failing
-- handler is reported to stderr too: asok.select never stops for it.
local function report(co, err)
  local msg = tostring(err)
  if traceback then msg = traceback(co, msg) end
  if errorhandler then
    local ok, herr = pcall(errorhandler, msg, co, err)
    if ok then return end
    msg = msg .. "\n(and the asok error handler failed: " .. tostring(herr) .. ")"
  end
  if io and io.stderr then io.stderr:write("asok: error in coroutine: ", msg, "\n") end
end

-- wake resumes co with the given values and reports an error it raises.
local function wake(co, ...)
  local ok, err = resume(co, ...)
  if not ok then report(co, err) end
end

-- wakeentry resumes what waits on a delivered token: a coroutine, or a
-- select group (marked fired; its coroutine, if any, resumed once).
local function wakeentry(w)
  if type(w) == "thread" then return wake(w) end
  w.fired = true
  local co = w.co
  if co then w.co = nil; wake(co) end
end

-- step runs one asok_select pass (timeout in seconds, negative: no limit)
-- and resumes the coroutine of every ready token.
local function step(timeout)
  depth = depth + 1
  local buf = buffers[depth]
  if not buf then buf = {}; buffers[depth] = buf end
  local n, err = cselect(loop, timeout, buf)
  if not n then
    depth = depth - 1
    error("asok.select: " .. tostring(err), 0)
  end
  for i = 1, n do
    local t = buf[i]
    local w = waiting[t]
    if w then
      waiting[t] = nil
      wakeentry(w)
    elseif blocking[t] then
      blocking[t] = false
    end
  end
  depth = depth - 1
end

-- rootof returns the coroutine asok.select must resume to continue co:
-- co itself, or the outermost driver of the asok.xpcall helper coroutines
-- co runs in (Lua 5.1), or nil if that chain ends in a thread that cannot
-- yield (then the caller blocks instead).
local function rootof(co)
  local p = parents[co]
  while p do
    if p == MAIN then return nil end
    co = p
    p = parents[co]
  end
  return co
end

-- yieldable returns the coroutine to park on tok's behalf, or nil if the
-- running code cannot yield (main thread, non-yieldable C boundary).
local function yieldable()
  local co, ismain = running()
  if co and not ismain and (isyieldable == nil or isyieldable()) then return rootof(co) end
  return nil
end

-- park waits until tok is handed back: it yields WAIT in a yieldable
-- coroutine, else it runs the reactor until tok comes back (blocking call).
local function park(tok)
  local root = yieldable()
  if root then
    waiting[tok] = root
    yield(WAIT)
    if waiting[tok] == root then waiting[tok] = nil end -- resumed by someone else
  else
    blocking[tok] = true
    while blocking[tok] do step(-1) end
    blocking[tok] = nil
  end
end

-- classof returns the LuaSocket class name of v, or nil.
local function classof(v)
  if type(v) ~= "userdata" then return nil end
  local mt = getmetatable(v)
  local class = classes[mt]
  if class or type(mt) ~= "table" then return class end
  local idx = rawget(mt, "__index")
  if type(idx) ~= "table" then return nil end
  class = rawget(idx, "class")
  if type(class) ~= "string" or type(rawget(idx, "getfd")) ~= "function" then return nil end
  classes[mt] = class
  return class
end

-- patch makes close and __gc of LuaSocket metatable mt close the asok
-- handle first, so that every coroutine parked on the socket wakes up.
local function patch(mt)
  if type(mt) ~= "table" or patched[mt] then return end
  patched[mt] = true
  local idx = rawget(mt, "__index")
  local rawclose = type(idx) == "table" and rawget(idx, "close")
  if type(rawclose) == "function" then
    idx.close = function(raw, ...)
      local h, p = handles[raw], probes[raw]
      if h then close(h) end
      if p then close(p) end
      return rawclose(raw, ...)
    end
  end
  local gc = rawget(mt, "__gc")
  if type(gc) == "function" then
    mt.__gc = function(raw)
      local h, p = handles[raw], probes[raw]
      if h then close(h) end
      if p then close(p) end
      return gc(raw)
    end
  end
end

-- register creates the asok handle of LuaSocket object raw: LuaSocket
-- timeout 0, fd registered (not owned), LuaSocket's buffer moved to asok.
local function register(raw)
  for i = 1, #CLASSNAMES do patch(classmeta(CLASSNAMES[i])) end
  patch(getmetatable(raw))
  raw:settimeout(0)
  local h, err = probes[raw], nil
  probes[raw] = nil -- asok.select's watcher becomes the full handle
  if h and fdof(h) ~= raw:getfd() then close(h); h = nil end
  if not h then h, err = newsock(loop, raw:getfd()) end
  if not h then return nil, err end
  handles[raw] = h
  if raw.dirty and raw:dirty() then
    local data, _, partial = raw:receive("*a")
    data = data or partial
    if data and #data > 0 then
      unread(h, data)
      -- LuaSocket counted these bytes; asok counts them when it hands them out
      local r, s, age = raw:getstats()
      raw:setstats(r - #data, s, age)
    end
  end
  return h
end

-- handle returns raw's asok handle, registering it on first use, or again
-- if LuaSocket replaced the fd (connect creates sockets on demand).
local function handle(raw, recheck)
  local h = handles[raw]
  if h and not (recheck and fdof(h) ~= raw:getfd()) then return h end
  if not h then return register(raw) end
  close(h)
  handles[raw] = nil
  local nh, err = register(raw)
  if nh then -- keep asok.settimeout's values across LuaSocket's new fd
    local b, t = gettimeout(h)
    settimeout(nh, b, "b")
    settimeout(nh, t, "t")
    local tr = throttles[raw] -- and the throttles
    if tr then
      if tr.r then cthrottle(nh, "r", tr.r) end
      if tr.w then cthrottle(nh, "w", tr.w) end
    end
  end
  return nh, err
end

local Wrapper = {}

-- checkraw returns the LuaSocket object behind argument 1 (a LuaSocket
-- object or a wrapper), whether it was a wrapper and its class; want: a
-- class name, "tcp{any}" or nil for any LuaSocket object; also: a set of
-- other classes accepted.
local function checkraw(sok, fname, want, also)
  local raw, w = sok, false
  if getmetatable(sok) == Wrapper then raw, w = rawget(sok, RAW), true end
  local class = classof(raw)
  if not class then
    argerror(1, fname, (want or "LuaSocket object") .. " expected, got " .. type(sok), 3)
  end
  if want and class ~= want and not (want == "tcp{any}" and class:sub(1, 4) == "tcp{")
      and not (want == "tcp{client}" and STREAM[class]) and not (also and also[class]) then
    argerror(1, fname, want .. " expected, got " .. class, 3)
  end
  return raw, w, class
end

-- waitfor waits until h is ready in direction dir ("r" or "w").
-- Returns true, or nil and LuaSocket's error ("timeout", "closed").
local function waitfor(h, dir, tok)
  local ok, err = wait(h, dir, tok)
  while ok == WAIT do
    park(tok)
    ok, err = wait(h, dir, tok)
  end
  return ok, err
end

-- udphandle returns raw's asok handle (registering it on first use), or
-- nil while LuaSocket has not created the socket yet (socket.udp() does on
-- the first sendto, setsockname or setpeername): then LuaSocket answers.
local function udphandle(raw)
  local h = handles[raw]
  if h and fdof(h) >= 0 then return h end
  if raw:getfd() < 0 then return nil end
  return handle(raw, true)
end

-- checkudparg raises LuaSocket's argument error (at the caller of the
-- asok function fname) unless v is a number or a string convertible to one
-- (what = "number", nil allowed), or a string or number (what = "string").
local function checkudparg(v, n, fname, what)
  local t = type(v)
  if what == "number" then
    if v == nil or tonumber(v) then return end
  elseif t == "string" or t == "number" then return end
  argerror(n, fname, what .. " expected, got " .. t, 3)
end

-- udpcall runs datagram primitive f on raw's handle with the arguments
-- and a token, parking while it answers WAIT; without a handle it is
-- LuaSocket's method m. Returns LuaSocket's values (1 on success of
-- receive/send, 3 for receivefrom, nil and an error otherwise).
local function udpcall(raw, m, f, a, b, c)
  local h, err = udphandle(raw)
  if not h then
    if err then return nil, err end
    return raw[m](raw, a, b, c)
  end
  local tok = newtoken()
  local x, y, z
  if m == "sendto" then x, y, z = f(h, a, b, c, tok) else x, y, z = f(h, a, tok) end
  while x == WAIT do
    park(tok)
    if m == "sendto" then x, y, z = f(h, a, b, c, tok) else x, y, z = f(h, a, tok) end
  end
  if z ~= nil then return x, y, z end
  if x == nil then return nil, y end
  return x
end

--- asok.receive(sok [, pattern [, prefix]]): LuaSocket's receive, yielding.
-- On UDP sockets: asok.receive(sok [, size]), one datagram.
function M.receive(sok, pattern, prefix)
  local raw, _, class = checkraw(sok, "receive", "tcp{client}", UDP)
  if UDP[class] then
    checkudparg(pattern, 2, "receive", "number")
    return udpcall(raw, "receive", udp_receive, pattern)
  end
  local h = handles[raw] or handle(raw)
  local tok = newtoken()
  local a, b, c = receive(h, pattern, prefix, tok)
  while a == WAIT do
    park(tok)
    a, b, c = receive(h, pattern, prefix, tok)
  end
  return a, b, c
end

--- asok.send(sok, data [, i [, j]]): LuaSocket's send, atomic and yielding.
-- On a udp{connected} socket: asok.send(sok, datagram).
function M.send(sok, data, i, j)
  local raw, _, class = checkraw(sok, "send", "tcp{client}", UDP)
  if class == "udp{unconnected}" then
    argerror(1, "send", "udp{connected} expected, got " .. class, 2)
  elseif class == "udp{connected}" then
    checkudparg(data, 2, "send", "string")
    return udpcall(raw, "send", udp_send, data)
  end
  local h = handles[raw] or handle(raw)
  local tok = newtoken()
  local a, b, c = send(h, data, i, j, tok)
  while a == WAIT do
    park(tok)
    a, b, c = send(h, data, i, j, tok)
  end
  return a, b, c
end

--- asok.receivefrom(sok [, size]): LuaSocket's receivefrom on a
-- udp{unconnected} socket, yielding: datagram, ip, port or nil, err.
function M.receivefrom(sok, size)
  local raw = checkraw(sok, "receivefrom", "udp{unconnected}")
  checkudparg(size, 2, "receivefrom", "number")
  return udpcall(raw, "receivefrom", udp_receivefrom, size)
end

--- asok.sendto(sok, datagram, ip, port): LuaSocket's sendto on a
-- udp{unconnected} socket, yielding while the send buffer is full.
function M.sendto(sok, data, ip, port)
  local raw = checkraw(sok, "sendto", "udp{unconnected}")
  checkudparg(data, 2, "sendto", "string")
  checkudparg(ip, 3, "sendto", "string")
  checkudparg(port, 4, "sendto", "string")
  return udpcall(raw, "sendto", udp_sendto, data, ip, port)
end

--- asok.wrap(sok [, timeout]): an asok wrapper around a LuaSocket object.
function M.wrap(sok, timeout)
  local raw = checkraw(sok, "wrap")
  local t = timeout
  if t ~= nil then
    t = tonumber(t)
    if not t then argerror(2, "wrap", "number expected, got " .. type(timeout), 2) end
  end
  local h = handle(raw, true)
  raw:settimeout(0)
  if t then settimeout(h, t, "b") end
  return setmetatable({ [RAW] = raw }, Wrapper)
end

-- acceptpause: listening object -> time before which its next accept waits
-- (after an error such as EMFILE, which leaves the connection queued).
local acceptpause = setmetatable({}, { __mode = "k" })
local ACCEPT_BACKOFF = 0.1

--- asok.accept(sok): LuaSocket's accept, yielding until a client arrives.
-- Returns the raw client (a wrapper if sok is a wrapper), or nil, err.
function M.accept(sok)
  local raw, w = checkraw(sok, "accept", "tcp{server}")
  local h = handle(raw)
  local tok
  local pause = acceptpause[raw]
  if pause then -- the last accept failed (EMFILE...): let the others run first
    acceptpause[raw] = nil
    if pause > now() then M.sleep(pause - now()) end
  end
  while true do
    local client, err = raw:accept()
    if client then
      client:settimeout(0)
      if w then return M.wrap(client) end
      return client
    end
    if err ~= "timeout" then
      -- the connection stays queued and the listener readable: without a
      -- pause, a server looping on accept would retry at once, forever
      if err ~= "closed" then acceptpause[raw] = now() + ACCEPT_BACKOFF end
      return nil, err
    end
    tok = tok or newtoken()
    local ok, werr = waitfor(h, "r", tok)
    if not ok then return nil, werr end
  end
end

-- asok._debug.resolves counts the names asok.connect resolved off the
-- loop thread (asok_resolve answered "wait": a lookup ran on its own thread).
local dbg = M._debug or {}
M._debug = dbg
dbg.resolves = 0
local cresolve = C.resolve

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

-- lookup resolves name for family (0 any, 4, 6) through asok_resolve:
-- off the loop thread, parking the caller meanwhile. Returns an array of
-- numeric addresses, or nil and LuaSocket's error.
local function lookup(name, family)
  local tok = newtoken()
  local addrs, err = cresolve(loop, name, family, tok)
  if addrs == WAIT then dbg.resolves = dbg.resolves + 1 end
  while addrs == WAIT do
    park(tok)
    addrs, err = cresolve(loop, name, family, tok)
  end
  return addrs, err
end

-- tryconnect is LuaSocket's connect at timeout 0 to a numeric host, then
-- a wait until the socket is writable and LuaSocket's verdict.
local function tryconnect(raw, host, port)
  raw:settimeout(0)
  local ok, err = raw:connect(host, port)
  local h, herr = handle(raw, true)
  if ok then return ok end
  if err ~= "timeout" then return nil, err end
  if not h then return nil, herr end
  local r, werr = waitfor(h, "w", newtoken())
  if not r then return nil, werr end
  ok, err = raw:connect(host, port)
  if ok or err == "already connected" then return ok or ONE end
  return nil, err
end

-- familyof gives the address family raw connects with: 0 for a socket not
-- created yet (socket.tcp(): LuaSocket creates it for the address found),
-- else 4 or 6 (tcp.c meth_connect: hints.ai_family = tcp->family).
local function familyof(raw)
  if raw:getfd() < 0 then return 0 end
  return raw:getfamily() == "inet6" and 6 or 4
end

local setclass = debug and debug.setmetatable

--- asok.connect(sok, host, port): LuaSocket's connect, yielding while the
-- connection is in progress. A host name is resolved off the loop thread
-- (asok_resolve) and its addresses tried in order, as inet_tryconnect does;
-- each attempt is LuaSocket's own connect to the numeric address. Returns
-- 1, or nil and LuaSocket's error.
function M.connect(sok, host, port)
  local raw = checkraw(sok, "connect", "tcp{any}")
  local ht, pt = type(host), type(port)
  if ht ~= "string" and ht ~= "number" then argerror(2, "connect", "string expected, got " .. ht, 2) end
  if pt ~= "string" and pt ~= "number" then argerror(3, "connect", "string expected, got " .. pt, 2) end
  if isnumeric(tostring(host)) then return tryconnect(raw, host, port) end
  local addrs, err = lookup(tostring(host), familyof(raw))
  if not addrs then
    -- tcp.c meth_connect makes the object a tcp{client} even on failure
    local client = classmeta("tcp{client}")
    if setclass and client then setclass(raw, client) end
    return nil, err
  end
  local ok
  for i = 1, #addrs do
    local fam = familyof(raw)
    -- a socket.tcp() fixed its family at the first attempt (LuaSocket
    -- cannot make it another): addresses of the other family are skipped
    if fam == 0 or (fam == 6) == (addrs[i]:find(":", 1, true) ~= nil) then
      ok, err = tryconnect(raw, addrs[i], port)
      if ok then return ok end
    end
  end
  return nil, err
end

--- asok.close(sok): wakes every coroutine parked on sok, then closes it.
function M.close(sok)
  local raw = checkraw(sok, "close")
  local h = handles[raw]
  if h then close(h) end
  return raw:close()
end

--- asok.settimeout(sok, seconds [, mode]): the asynchronous timeout
-- ('b' per wait, 't' for the whole call; nil or negative: no limit).
function M.settimeout(sok, t, mode)
  local raw = checkraw(sok, "settimeout")
  local one = settimeout(handles[raw] or handle(raw), t, mode) -- no tail call:
  return one -- LuaJIT would name the function '?' in argument errors
end

--- asok.setlimit(sok, n): bounds what one line ('*l') or '*a' receive on
-- sok may buffer (not LuaSocket's: off by default). A longer line, or more
-- than n bytes before close, returns nil, 'receive limit exceeded' and its
-- first n bytes as the partial result; the rest stays for the next
-- receive. n nil or 0: no limit. Returns 1.
function M.setlimit(sok, n)
  local raw = checkraw(sok, "setlimit", "tcp{client}")
  local v = n
  if v ~= nil then
    v = tonumber(v)
    if not v or v ~= v or v < 0 then
      argerror(2, "setlimit", "non-negative number expected, got " .. (v and tostring(v) or type(n)), 2)
    end
  end
  local one = setlimit(handles[raw] or handle(raw), v or 0) -- no tail call
  return one
end

-- throttle limits direction dir ("r" or "w") of sok to bps bytes per
-- second (nil or 0: no limit) for asok.throttle_receive/throttle_send.
local function throttle(sok, fname, dir, bps)
  local raw = checkraw(sok, fname)
  local v = bps
  if v ~= nil then
    v = tonumber(v)
    if not v or v ~= v or v < 0 then
      argerror(2, fname, "non-negative number expected, got " .. (v and tostring(v) or type(bps)), 3)
    end
  end
  local h, err = handles[raw], nil
  if not h then h, err = handle(raw) end
  if not h then return nil, err end
  local ok
  ok, err = cthrottle(h, dir, v or 0)
  if not ok then return nil, err end
  local tr = throttles[raw] or {}
  throttles[raw] = tr
  tr[dir] = v ~= 0 and v or nil
  return ONE
end

--- asok.throttle_receive(sok, bps): limits what asok receives on sok to
-- bps bytes per second, measured on a monotonic clock (nil or 0: no limit).
-- A throttled receive waits on a timer, so other sockets are not slowed.
-- Returns 1, or nil and 'closed'.
function M.throttle_receive(sok, bps)
  local one, err = throttle(sok, "throttle_receive", "r", bps) -- no tail call
  if one then return one end
  return nil, err
end

--- asok.throttle_send(sok, bps): limits what asok sends on sok to bps
-- bytes per second (nil or 0: no limit). Returns 1, or nil and 'closed'.
function M.throttle_send(sok, bps)
  local one, err = throttle(sok, "throttle_send", "w", bps)
  if one then return one end
  return nil, err
end

--- asok.sleep(seconds): lets other coroutines run for seconds.
function M.sleep(seconds)
  local s = tonumber(seconds)
  if not s then argerror(1, "sleep", "number expected, got " .. type(seconds), 2) end
  if s ~= s then argerror(1, "sleep", "number expected, got NaN", 2) end
  local tok = newtoken()
  csleep(loop, s, tok)
  park(tok)
end

-- newco creates a coroutine running f; a C function is wrapped in a Lua
-- one (Lua 5.1's coroutine.create accepts Lua functions only).
local function newco(f)
  local ok, co = pcall(create, f)
  if ok then return co end
  return create(function(...) return f(...) end)
end

--- asok.spawn(f, ...): creates a coroutine running f(...), starts it at
-- once and returns it. An error it raises goes to the error handler.
function M.spawn(...)
  local f = ...
  if type(f) ~= "function" then
    argerror(1, "spawn", "function expected, got " .. (select("#", ...) == 0 and "no value" or type(f)), 2)
  end
  local co = newco(f)
  wake(co, select(2, ...))
  return co
end

--- asok.seterrorhandler(f): f(msg_with_traceback, co, err) receives the
-- errors of coroutines resumed by asok; nil restores the default (stderr).
function M.seterrorhandler(...)
  local f = ...
  if f ~= nil and type(f) ~= "function" then
    argerror(1, "seterrorhandler", "function or nil expected, got " .. type(f), 2)
  elseif f == nil and select("#", ...) == 0 then
    argerror(1, "seterrorhandler", "function or nil expected, got no value", 2)
  end
  errorhandler = f
end

-- identity is xpcall's default error handler: the error as it is (pcall).
local function identity(e) return e end

-- nativexpcall says whether xpcall takes arguments and lets its function
-- yield (Lua 5.2+, LuaJIT): then asok.xpcall is xpcall.
local nativexpcall = false
do
  local co = create(function(a) return xpcall(function(b) yield(b); return b end, identity, a) end)
  local ok, v = resume(co, 7)
  if ok and v == 7 and status(co) == "suspended" then
    local ok2, r1, r2 = resume(co)
    nativexpcall = ok2 and r1 == true and r2 == 7
  end
end

-- pack2 returns its arguments as a table with their count in n.
local function pack2(...) return { n = select("#", ...), ... } end

-- helpercall runs f(...) in a helper coroutine (Lua 5.1's yield-safe
-- pcall): its yields, asok's WAIT included, pass through the running
-- coroutine to whoever resumes it, and resumes pass back down (park
-- resumes the root of the parents chain). Returns a pack: false, err, co
-- or true, results.
local function helpercall(f, ...)
  local body = f
  if type(f) ~= "function" then body = function(...) return f(...) end end
  local I = newco(body)
  local co, ismain = running()
  local driver = (co and not ismain) and co or MAIN
  parents[I] = driver
  local r = pack2(resume(I, ...))
  while r[1] and status(I) == "suspended" do
    if driver == MAIN then
      r = { n = 2, false, "attempt to yield from outside a coroutine" }
      break
    end
    r = pack2(resume(I, yield(unpack(r, 2, r.n))))
  end
  parents[I] = nil
  r.co = I
  return r
end

--- asok.xpcall(f, err, ...): xpcall with pcall's arguments, in which f
-- may wait in asok functions on every Lua version; err nil: the error as
-- it is (like pcall).
function M.xpcall(f, err, ...)
  if err == nil then err = identity
  elseif type(err) ~= "function" then
    argerror(2, "xpcall", "function or nil expected, got " .. type(err), 2)
  end
  if nativexpcall then
    local r = pack2(xpcall(f, err, ...))
    return unpack(r, 1, r.n)
  end
  local r = helpercall(f, ...)
  if r[1] then return unpack(r, 1, r.n) end
  if err == identity then return false, r[2] end
  if err == traceback then return false, traceback(r.co, r[2]) end -- at the error
  local h = helpercall(err, r[2])
  if h[1] then return false, h[2] end
  return false, "error in error handling"
end

-- watcher returns the asok handle asok.select watches obj (a LuaSocket
-- object, a wrapper or anything with getfd/dirty methods) with, whether it
-- holds buffered data (LuaSocket's dirty()), and its fd; nil for an object
-- without a valid fd (LuaSocket's select skips those). An object asok does
-- not handle yet gets a watcher only: its LuaSocket timeout and buffer are
-- left alone.
local function watcher(obj, argn)
  local raw = obj
  if getmetatable(obj) == Wrapper then raw = rawget(obj, RAW) end
  local t = type(raw)
  if t ~= "userdata" and t ~= "table" then
    argerror(argn, "select", "socket expected in set, got " .. t, 5)
  end
  if type(raw.getfd) ~= "function" then return nil end
  local fd = tonumber(raw:getfd())
  if not fd or fd < 0 then return nil end
  local h = handles[raw]
  if h then
    if fdof(h) ~= fd then h = handle(raw, true) end
  else
    h = probes[raw]
    if h and fdof(h) ~= fd then close(h); h = nil end
    if not h then
      local err
      h, err = newsock(loop, fd)
      if not h then argerror(argn, "select", "cannot watch " .. tostring(obj) .. ": " .. tostring(err), 5) end
      probes[raw] = h
      if classof(raw) then patch(getmetatable(raw)) end
    end
  end
  local dirty = buffered(h)
  if not dirty and type(raw.dirty) == "function" then dirty = raw:dirty() and true or false end
  return h, dirty, fd
end

-- collect appends one entry per watchable object of set (argument argn)
-- to list; dir is "r" or "w".
local function collect(set, argn, dir, list)
  if set == nil then return end
  if type(set) ~= "table" then argerror(argn, "select", "table expected, got " .. type(set), 4) end
  local i = 1
  while true do
    local obj = set[i]
    if obj == nil then break end
    local h, dirty, fd = watcher(obj, argn)
    if h then list[#list + 1] = { obj = obj, h = h, dirty = dirty, fd = fd, dir = dir, tok = newtoken() } end
    i = i + 1
  end
end

-- arm asks asok whether entry e is ready now (true) or parks its token.
local function arm(e)
  local ok = wait(e.h, e.dir, e.tok)
  e.parked = ok == WAIT
  e.ready = ok == true
  return e.ready
end

-- readylist returns LuaSocket's result table for entries of list that are
-- ready, after out's first n (dirty) objects: by ascending fd, one object per
-- fd (the last one given), plus the object -> index part (make_assoc).
local function readylist(list, out, n)
  local byfd, fds = {}, {}
  for i = 1, #list do
    local e = list[i]
    if e.ready then
      if not byfd[e.fd] then fds[#fds + 1] = e.fd end
      byfd[e.fd] = e.obj
    end
  end
  table.sort(fds)
  for i = 1, #fds do out[n + i] = byfd[fds[i]] end
  for i = 1, #out do out[out[i]] = i * ONE end
  return out
end

-- selectsets is asok.select with socket sets: socket.select's results for
-- the calling thread while the reactor keeps the other coroutines running.
local function selectsets(rset, wset, t)
  local list, rl, wl = {}, {}, {}
  collect(rset, 1, "r", rl)
  collect(wset, 2, "w", wl)
  local rout, ndirty = {}, 0
  for i = 1, #rl do
    local e = rl[i]
    if e.dirty then ndirty = ndirty + 1; rout[ndirty] = e.obj else list[#list + 1] = e end
  end
  for i = 1, #wl do list[#list + 1] = wl[i] end
  local deadline = t and t >= 0 and now() + t or nil
  local nready = 0
  for i = 1, #list do if arm(list[i]) then nready = nready + 1 end end
  while ndirty == 0 and nready == 0 do
    local g, stok = { fired = false }, nil
    for i = 1, #list do if list[i].parked then waiting[list[i].tok] = g end end
    if deadline then
      stok = newtoken()
      csleep(loop, deadline - now(), stok)
      waiting[stok] = g
    end
    local root = yieldable()
    if root then
      g.co = root
      yield(WAIT)
    else
      while not g.fired do step(-1) end
    end
    g.co = nil
    if stok then waiting[stok] = nil; cancel(loop, stok) end
    for i = 1, #list do
      local e = list[i]
      waiting[e.tok] = nil
      if e.parked then cancel(loop, e.tok) end
      if arm(e) then nready = nready + 1 end
    end
    if deadline and now() >= deadline then break end
  end
  for i = 1, #list do if list[i].parked then cancel(loop, list[i].tok) end end
  if ndirty == 0 and nready == 0 then return {}, {}, "timeout" end
  local r = readylist(rl, rout, ndirty)
  local w = readylist(wl, {}, 0)
  return r, w
end

--- asok.select(rset, wset, timeout): with both sets nil, resumes waiting
-- coroutines until timeout seconds have passed (nil or negative: until no
-- coroutine waits) and returns nil, 'timeout', as the original. With sets,
-- returns like socket.select as soon as one of their sockets is ready.
function M.select(rset, wset, timeout)
  local t = timeout
  if t ~= nil then
    t = tonumber(t)
    if not t then argerror(3, "select", "number expected, got " .. type(timeout), 2) end
    -- NaN would never reach its deadline: the loop would spin forever
    if t ~= t then argerror(3, "select", "number expected, got NaN", 2) end
  end
  if rset ~= nil or wset ~= nil then
    local r, w, e = selectsets(rset, wset, t)
    if e then return r, w, e end
    return r, w
  end
  if t == nil or t < 0 then
    while next(waiting) ~= nil do step(-1) end
  else
    local deadline = now() + t
    repeat
      local left = deadline - now()
      step(left > 0 and left or 0)
    until now() >= deadline
  end
  return nil, "timeout"
end

-- ipv4bytes returns the 4 bytes of a dotted IPv4 literal, or nil.
local function ipv4bytes(s)
  local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return string.char(a, b, c, d)
end

-- ipv6groups parses colon-separated hex groups ("" -> none), or nil.
local function ipv6groups(part, out)
  if part == "" then return out end
  for g in (part .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then return nil end
    out[#out + 1] = tonumber(g, 16)
  end
  return out
end

-- ipv6bytes returns the 16 bytes of an IPv6 literal ("::1", "[fe80::1]",
-- "::ffff:1.2.3.4"), or nil.
local function ipv6bytes(s)
  s = s:match("^%[(.*)%]$") or s
  if not s:find(":", 1, true) then return nil end
  local head, v4 = s:match("^(.*:)([%d%.]+)$")
  if v4 and v4:find(".", 1, true) then -- embedded IPv4 tail: two groups
    local b = ipv4bytes(v4)
    if not b then return nil end
    s = head .. ("%x:%x"):format(b:byte(1) * 256 + b:byte(2), b:byte(3) * 256 + b:byte(4))
  end
  local left, right = s, nil
  local dbl = s:find("::", 1, true)
  if dbl then
    left, right = s:sub(1, dbl - 1), s:sub(dbl + 2)
    if right:find("::", 1, true) then return nil end
  end
  local l, r = ipv6groups(left, {}), ipv6groups(right or "", {})
  if not l or not r then return nil end
  if dbl then
    if #l + #r > 7 then return nil end
    for _ = 1, 8 - #l - #r do l[#l + 1] = 0 end
  elseif #l ~= 8 then return nil end
  for i = 1, #r do l[#l + 1] = r[i] end
  local bytes = {}
  for i = 1, 8 do bytes[i] = string.char(math.floor(l[i] / 256), l[i] % 256) end
  return table.concat(bytes)
end

-- checkport returns argument n as a port 0..65535 or raises.
local function checkport(port, n, fname)
  local p = tonumber(port)
  if not p or p < 0 or p > 65535 or p % 1 ~= 0 then
    argerror(n, fname, "port expected, got " .. (p and tostring(port) or type(port)), 3)
  end
  return string.char(math.floor(p / 256), p % 256)
end

-- checkname returns argument n: nil if allowed, else a string of min..255
-- bytes without NUL (SOCKS length-prefixed or NUL-terminated fields).
local function checkname(v, n, fname, optional, min)
  if v == nil and optional then return nil end
  if type(v) ~= "string" then
    argerror(n, fname, "string expected, got " .. type(v), 3)
  end
  if #v < min or #v > 255 or v:find("\0", 1, true) then
    argerror(n, fname, ("string of %d to 255 bytes without NUL expected"):format(min), 3)
  end
  return v
end

-- exchange sends req on sok (unless nil) and receives n bytes.
local function exchange(sok, req, n)
  if req then
    local sent, err = M.send(sok, req)
    if not sent then return nil, err end
  end
  return M.receive(sok, n)
end

local SOCKS4_ERRORS = {
  [91] = "socks4: request rejected or failed",
  [92] = "socks4: request rejected: the proxy cannot reach the client's identd",
  [93] = "socks4: request rejected: identd reports a different user id",
}

--- asok.socks4_connect(sok, ip, port [, user]): asks the SOCKS4 proxy sok
-- (already connected to it) to CONNECT to ip:port (IPv4 literal). Returns
-- 1, or nil and LuaSocket's error ('closed', 'timeout') or a "socks4: ..."
-- message.
function M.socks4_connect(sok, ip, port, user)
  checkraw(sok, "socks4_connect", "tcp{client}")
  local addr = type(ip) == "string" and ipv4bytes(ip)
  if not addr then
    argerror(2, "socks4_connect", "IPv4 address expected, got " .. (type(ip) == "string" and ("'" .. ip .. "'") or type(ip)), 2)
  end
  local p = checkport(port, 3, "socks4_connect")
  user = checkname(user, 4, "socks4_connect", true, 0) or ""
  local reply, err = exchange(sok, "\4\1" .. p .. addr .. user .. "\0", 8)
  if not reply then return nil, err end
  local vn, cd = reply:byte(1, 2)
  if vn ~= 0 then return nil, "socks4: invalid reply (not a SOCKS4 proxy?)" end
  if cd == 90 then return ONE end
  return nil, SOCKS4_ERRORS[cd] or ("socks4: request failed (reply code %d)"):format(cd)
end

local SOCKS5_ERRORS = {
  [1] = "socks5: general SOCKS server failure",
  [2] = "socks5: connection not allowed by ruleset",
  [3] = "socks5: network unreachable",
  [4] = "socks5: host unreachable",
  [5] = "socks5: connection refused",
  [6] = "socks5: TTL expired",
  [7] = "socks5: command not supported",
  [8] = "socks5: address type not supported",
}

-- socks5auth runs RFC 1928 method negotiation and, if the proxy picks it,
-- RFC 1929 username/password authentication. Returns true or nil, err.
local function socks5auth(sok, user, password)
  local reply, err = exchange(sok, user and "\5\2\0\2" or "\5\1\0", 2)
  if not reply then return nil, err end
  local ver, method = reply:byte(1, 2)
  if ver ~= 5 then return nil, "socks5: invalid reply (not a SOCKS5 proxy?)" end
  if method == 0 then return true end
  if method == 255 then
    return nil, user and "socks5: no acceptable authentication method"
      or "socks5: no acceptable authentication method (the proxy wants a user name and password?)"
  end
  if method ~= 2 or not user then return nil, "socks5: proxy chose an authentication method not offered" end
  reply, err = exchange(sok, "\1" .. string.char(#user) .. user .. string.char(#password) .. password, 2)
  if not reply then return nil, err end
  if reply:byte(2) ~= 0 then return nil, "socks5: authentication failed" end
  return true
end

--- asok.socks5_connect(sok, host, port [, user, password]): asks the SOCKS5
-- proxy sok (already connected to it) to CONNECT to host:port (IPv4/IPv6
-- literal or a name the proxy resolves). Returns 1, or nil and LuaSocket's
-- error ('closed', 'timeout') or a "socks5: ..." message.
function M.socks5_connect(sok, host, port, user, password)
  checkraw(sok, "socks5_connect", "tcp{client}")
  checkname(host, 2, "socks5_connect", false, 1)
  local p = checkport(port, 3, "socks5_connect")
  user = checkname(user, 4, "socks5_connect", true, 1)
  password = checkname(password, 5, "socks5_connect", true, 0) or (user and "")
  local addr = ipv4bytes(host)
  if addr then addr = "\1" .. addr
  else
    addr = ipv6bytes(host)
    addr = addr and "\4" .. addr or "\3" .. string.char(#host) .. host
  end
  local ok, err = socks5auth(sok, user, password)
  if not ok then return nil, err end
  local reply
  reply, err = exchange(sok, "\5\1\0" .. addr .. p, 4)
  if not reply then return nil, err end
  local ver, rep, _, atyp = reply:byte(1, 4)
  if ver ~= 5 then return nil, "socks5: invalid reply (not a SOCKS5 proxy?)" end
  if rep ~= 0 then return nil, SOCKS5_ERRORS[rep] or ("socks5: request failed (reply code %d)"):format(rep) end
  local rest = atyp == 1 and 6 or atyp == 4 and 18 or nil
  if atyp == 3 then
    local len
    len, err = M.receive(sok, 1)
    if not len then return nil, err end
    rest = len:byte() + 2
  end
  if not rest then return nil, "socks5: invalid reply (address type)" end
  local bound
  bound, err = M.receive(sok, rest) -- the bound address: not needed
  if not bound then return nil, err end
  return ONE
end

-- wrapper methods: asok's own, everything else forwarded to the raw object
local methods = {
  receive = M.receive, send = M.send, accept = M.accept, connect = M.connect,
  close = M.close, settimeout = M.settimeout, receivefrom = M.receivefrom,
  sendto = M.sendto, setlimit = M.setlimit,
}

-- ASOKONLY: wrapper methods that exist whatever the class; every other
-- method of `methods` exists only where the LuaSocket class has it (a UDP
-- wrapper has no accept or getstats, a TCP wrapper no sendto).
local ASOKONLY = { setlimit = true }

-- wrapper:throttle_receive(bps), wrapper:throttle_send(bps): asok's own
-- methods, on every class
methods.throttle_receive, methods.throttle_send = M.throttle_receive, M.throttle_send
ASOKONLY.throttle_receive, ASOKONLY.throttle_send = true, true

--- wrapper:dirty(): true if asok holds received data not yet read.
function methods.dirty(self)
  local h = handles[(checkraw(self, "dirty"))]
  return h ~= nil and buffered(h)
end

--- wrapper:gettimeout(): the asynchronous timeouts (block, total).
function methods.gettimeout(self)
  local raw = checkraw(self, "gettimeout")
  return gettimeout(handles[raw] or handle(raw))
end

--- wrapper:getstats(): received, sent, age: every byte through the socket,
--- whether asok or LuaSocket itself moved it (LuaSocket's counters + asok's).
function methods.getstats(self)
  local raw = checkraw(self, "getstats", "tcp{client}")
  local h = handles[raw] or handle(raw)
  local r, s, age = raw:getstats()
  local ar, as = getstats(h)
  return r + ar, s + as, age
end

--- wrapper:setstats(received, sent, age): LuaSocket's setstats; asok's own
--- counters restart from 0 so that getstats reports exactly these values.
function methods.setstats(self, received, sent, age)
  local raw = checkraw(self, "setstats", "tcp{client}")
  for i, v in ipairs { received, sent, age } do -- LuaSocket's luaL_optnumber
    if v ~= nil and not tonumber(v) then argerror(i + 1, "setstats", "number expected, got " .. type(v), 2) end
  end
  local h = handles[raw] or handle(raw)
  local r, s = raw:getstats()
  local ar, as = getstats(h)
  local one = raw:setstats(received or r + ar, sent or s + as, age)
  setstats(h, 0, 0)
  return one
end

local forwarders = {}

-- forwarder returns a method calling raw[k] with the raw object as self.
-- For a name, it is compiled as raw:k(...) in a non-tail call, so that
-- LuaSocket's argument errors name the method ('?' otherwise).
local function forwarder(k)
  local f = forwarders[k]
  if not f and type(k) == "string" and k:match("^[%a_][%w_]*$") then
    f = (loadstring or load)(("local checkraw = ...; local function id(...) return ... end\n"
      .. "return function(self, ...) local raw = checkraw(self, %q); return id(raw:%s(...)) end")
      :format(k, k), "=asok.forwarder")(checkraw)
  elseif not f then
    f = function(self, ...)
      local raw = checkraw(self, tostring(k)) -- a bad self: "bad argument #1"
      return raw[k](raw, ...)
    end
  end
  forwarders[k] = f
  return f
end

Wrapper.__index = function(self, k)
  local m = methods[k]
  local raw = rawget(self, RAW)
  local v = raw[k]
  if m ~= nil and (v ~= nil or ASOKONLY[k]) then return m end
  if type(v) == "function" then return forwarder(k) end
  return v
end

Wrapper.__tostring = function(self)
  return "asok{" .. tostring(rawget(self, RAW)) .. "}"
end

Wrapper.__close = function(self) M.close(self) end

return M
