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
local settimeout, gettimeout, buffered = C.settimeout, C.gettimeout, C.buffered
local newsock, fdof, unread, now = C.newsock, C.fd, C.unread, C.now
local getstats, setstats = C.getstats, C.setstats
local cselect, csleep, classmeta = C.select, C.sleep, C.meta

local type, error, tostring, tonumber = type, error, tostring, tonumber
local getmetatable, setmetatable, rawget, next = getmetatable, setmetatable, rawget, next
local running, yield, resume = coroutine.running, coroutine.yield, coroutine.resume
local isyieldable = coroutine.isyieldable -- nil on 5.1 and 5.2

local M = { _VERSION = "asok 0.1.0" }

local handles = setmetatable({}, { __mode = "k" }) -- LuaSocket object -> asok.sock
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

-- report prints a coroutine's error with its traceback to stderr.
local function report(co, err)
  local msg = tostring(err)
  if debug and debug.traceback then msg = debug.traceback(co, msg) end
  if io and io.stderr then io.stderr:write("asok: error in coroutine: ", msg, "\n") end
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
    local co = waiting[t]
    if co then
      waiting[t] = nil
      local ok, e = resume(co)
      if not ok then report(co, e) end
    elseif blocking[t] then
      blocking[t] = false
    end
  end
  depth = depth - 1
end

-- park waits until tok is handed back: it yields WAIT in a yieldable
-- coroutine, else it runs the reactor until tok comes back (blocking call).
local function park(tok)
  local co, ismain = running()
  if co and not ismain and (isyieldable == nil or isyieldable()) then
    waiting[tok] = co
    yield(WAIT)
    if waiting[tok] == co then waiting[tok] = nil end -- resumed by someone else
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
      local h = handles[raw]
      if h then close(h) end
      return rawclose(raw, ...)
    end
  end
  local gc = rawget(mt, "__gc")
  if type(gc) == "function" then
    mt.__gc = function(raw)
      local h = handles[raw]
      if h then close(h) end
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
  local h, err = newsock(loop, raw:getfd())
  if not h then return nil, err end
  handles[raw] = h
  if STREAM[classof(raw)] then setstats(h, raw:getstats()) end -- before the drain
  if raw.dirty and raw:dirty() then
    local data, _, partial = raw:receive("*a")
    data = data or partial
    if data and #data > 0 then unread(h, data) end
  end
  return h
end

-- handle returns raw's asok handle, registering it on first use, or again
-- if LuaSocket replaced the fd (connect creates sockets on demand).
local function handle(raw, recheck)
  local h = handles[raw]
  if h and not (recheck and fdof(h) ~= raw:getfd()) then return h end
  if h then close(h); handles[raw] = nil end
  return register(raw)
end

local Wrapper = {}

-- checkraw returns the LuaSocket object behind argument 1 (a LuaSocket
-- object or a wrapper) and whether it was a wrapper; want: a class name,
-- "tcp{any}" or nil for any LuaSocket object.
local function checkraw(sok, fname, want)
  local raw, w = sok, false
  if getmetatable(sok) == Wrapper then raw, w = rawget(sok, RAW), true end
  local class = classof(raw)
  if not class then
    argerror(1, fname, (want or "LuaSocket object") .. " expected, got " .. type(sok), 3)
  end
  if want and class ~= want and not (want == "tcp{any}" and class:sub(1, 4) == "tcp{")
      and not (want == "tcp{client}" and STREAM[class]) then
    argerror(1, fname, want .. " expected, got " .. class, 3)
  end
  return raw, w
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

--- asok.receive(sok [, pattern [, prefix]]): LuaSocket's receive, yielding.
function M.receive(sok, pattern, prefix)
  local raw = checkraw(sok, "receive", "tcp{client}")
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
function M.send(sok, data, i, j)
  local raw = checkraw(sok, "send", "tcp{client}")
  local h = handles[raw] or handle(raw)
  local tok = newtoken()
  local a, b, c = send(h, data, i, j, tok)
  while a == WAIT do
    park(tok)
    a, b, c = send(h, data, i, j, tok)
  end
  return a, b, c
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

--- asok.accept(sok): LuaSocket's accept, yielding until a client arrives.
-- Returns the raw client (a wrapper if sok is a wrapper), or nil, err.
function M.accept(sok)
  local raw, w = checkraw(sok, "accept", "tcp{server}")
  local h = handle(raw)
  local tok
  while true do
    local client, err = raw:accept()
    if client then
      client:settimeout(0)
      if w then return M.wrap(client) end
      return client
    end
    if err ~= "timeout" then return nil, err end
    tok = tok or newtoken()
    local ok, werr = waitfor(h, "r", tok)
    if not ok then return nil, werr end
  end
end

--- asok.connect(sok, host, port): LuaSocket's connect, yielding while the
-- connection is in progress. Returns 1, or nil and LuaSocket's error.
function M.connect(sok, host, port)
  local raw = checkraw(sok, "connect", "tcp{any}")
  local ht, pt = type(host), type(port)
  if ht ~= "string" and ht ~= "number" then argerror(2, "connect", "string expected, got " .. ht, 2) end
  if pt ~= "string" and pt ~= "number" then argerror(3, "connect", "string expected, got " .. pt, 2) end
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

--- asok.sleep(seconds): lets other coroutines run for seconds.
function M.sleep(seconds)
  local s = tonumber(seconds)
  if not s then argerror(1, "sleep", "number expected, got " .. type(seconds), 2) end
  local tok = newtoken()
  csleep(loop, s, tok)
  park(tok)
end

--- asok.select(nil, nil, timeout): resumes waiting coroutines until timeout
-- seconds have passed (nil or negative: until no coroutine waits).
-- Returns nil, 'timeout', as the original.
function M.select(rset, wset, timeout)
  if rset ~= nil and (type(rset) ~= "table" or next(rset) ~= nil) then
    argerror(1, "select", "nil expected (socket sets are not supported yet)", 2)
  end
  if wset ~= nil and (type(wset) ~= "table" or next(wset) ~= nil) then
    argerror(2, "select", "nil expected (socket sets are not supported yet)", 2)
  end
  local t = timeout
  if t ~= nil then
    t = tonumber(t)
    if not t then argerror(3, "select", "number expected, got " .. type(timeout), 2) end
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

-- wrapper methods: asok's own, everything else forwarded to the raw object
local methods = {
  receive = M.receive, send = M.send, accept = M.accept, connect = M.connect,
  close = M.close, settimeout = M.settimeout,
}

--- wrapper:dirty(): true if asok holds received data not yet read.
function methods.dirty(self)
  local h = handles[rawget(self, RAW)]
  return h ~= nil and buffered(h)
end

--- wrapper:gettimeout(): the asynchronous timeouts (block, total).
function methods.gettimeout(self)
  local raw = checkraw(self, "gettimeout")
  return gettimeout(handles[raw] or handle(raw))
end

--- wrapper:getstats(): received, sent, age, counting asok's traffic.
function methods.getstats(self)
  local raw = checkraw(self, "getstats")
  return getstats(handles[raw] or handle(raw))
end

--- wrapper:setstats(received, sent, age): LuaSocket's setstats, asok side.
function methods.setstats(self, received, sent, age)
  local raw = checkraw(self, "setstats")
  local one = setstats(handles[raw] or handle(raw), received, sent, age)
  return one
end

local forwarders = {}

-- forwarder returns a method calling raw[k] with the raw object as self.
local function forwarder(k)
  local f = forwarders[k]
  if not f then
    f = function(self, ...)
      local raw = self
      if getmetatable(self) == Wrapper then raw = rawget(self, RAW) end
      return raw[k](raw, ...)
    end
    forwarders[k] = f
  end
  return f
end

Wrapper.__index = function(self, k)
  local m = methods[k]
  if m ~= nil then return m end
  local v = rawget(self, RAW)[k]
  if type(v) == "function" then return forwarder(k) end
  return v
end

Wrapper.__tostring = function(self)
  return "asok{" .. tostring(rawget(self, RAW)) .. "}"
end

Wrapper.__close = function(self) M.close(self) end

return M
