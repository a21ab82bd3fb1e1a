-- glue/core.lua - the heart of the Lua half of the asok binding: tokens,
-- parking (park/step), registration of LuaSocket objects and the patching
-- of their classes, argument checks. Embedded into asok.so at build time
-- with the other glue/*.lua chunks (nothing is loaded from LUA_PATH).
--
-- luaopen_asok runs every chunk in order with (M, P, C): the public module,
-- the private state the chunks share, and the C primitives, which never
-- yield (cqueues' rule). An operation that cannot finish now returns the
-- private WAIT marker: inside a yieldable coroutine we park it (token ->
-- coroutine) and yield WAIT; asok.select, in the main thread, gets ready
-- tokens from asok_select and resumes their coroutines, which retry the
-- same operation with the same token. Outside a coroutine the call blocks
-- like LuaSocket, running the reactor (other coroutines) meanwhile.
local M, P, C = ...

local WAIT = C.WAIT
local loop = C.loop()
local wait, close = C.wait, C.close
local cthrottle = C.throttle
local settimeout, gettimeout = C.settimeout, C.gettimeout
local newsock, fdof, unread, same = C.newsock, C.fd, C.unread, C.same
local cfdgone = C.client_fdgone -- (client.c: sharedgone)
local cstep, classmeta, now, note = C.step, C.meta, C.now, C.note
local buffered, cgetstats, csetstats = C.buffered, C.getstats, C.setstats
local cshutdown = C.shutdown
local cfreesock = C.free

local type, error, tostring = type, error, tostring
local getmetatable, setmetatable, rawget = getmetatable, setmetatable, rawget
-- rawmeta is for identity checks against asok's own metatables (CLIENT,
-- Wrapper): lua_getmetatable, without getmetatable's "__metatable" lookup
-- (a string interned per call on 5.4); getmetatable where debug is absent
local rawmeta = debug and debug.getmetatable or getmetatable
local running, yield, resume = coroutine.running, coroutine.yield, coroutine.resume
local cocreate = coroutine.create
local costatus, ccancel = coroutine.status, C.cancel
-- isyieldable: coroutine.isyieldable, or on PUC 5.1 and 5.2 the binding's
-- probe of lua_yield's own test (yieldable.c); nil where neither exists
local isyieldable = coroutine.isyieldable or C.isyieldable
local pcall, pairs = pcall, pairs
local traceback = debug and debug.traceback

M._VERSION = "asok 0.1.0"

-- asok._debug: debugging aids, not part of the LuaSocket-like API.
-- handles() is the number of live asok handles (loop and sockets) in the
-- process (asok_debug_handles): tests compare it with a baseline.
-- pickups() counts the calls answered in C without entering Go
-- (asok_debug_in_c): the receives whose retry asok_select armed, the sends
-- after them, and the receives after them that parked.
-- rxmem() is the bytes of receive memory allocated in the process
-- (asok_debug_rxmem): bounded while loops run.
-- cparked() is the number of C tokens in use (park.c): native clients'
-- receives and sends parked in C, or waiting through the glue with one.
-- copies() is the number of buffers large results are copied into on 5.1,
-- 5.2 and LuaJIT (pushdata.c). waits() is the number of waits asok.select()
-- (no sets, no timeout) waits for (select.lua). cmem() is the bytes of C
-- heap in use in the process (glibc's mallinfo2; nil elsewhere), Lua's own
-- objects included where its allocator is malloc's (PUC Lua, not LuaJIT).
-- polls() is the number of poll(2) calls made to see whether fds were
-- ready (asok_debug_polls, and asok.select's for fds asok cannot
-- register), and the number of epoll_wait(2) calls: tests count the
-- syscalls of a select with them. held(obj) is the bytes asok holds for
-- obj, a waiting receive's partial included (asok_held; below).
M._debug = { handles = C.handles, pickups = C.pickups, rxmem = C.rxmem, cmem = C.cmem,
  cparked = function() return C.cparked(loop) end,
  copies = function() return C.copies(loop) end }

local handles = setmetatable({}, { __mode = "k" }) -- LuaSocket object -> asok.sock
local throttles = setmetatable({}, { __mode = "k" }) -- LuaSocket object -> {r = bps, w = bps}
-- unborn: LuaSocket objects whose handle asok made before LuaSocket made
-- their socket (socket.tcp() before connect): not closed, only not yet there
local unborn = setmetatable({}, { __mode = "k" })
local probes = setmetatable({}, { __mode = "k" })  -- object watched by select only -> asok.sock
local parents = setmetatable({}, { __mode = "k" }) -- asok.xpcall helper coroutine -> its driver
local deputed = setmetatable({}, { __mode = "k" }) -- coroutine parked through a driver -> its token
-- lent: token -> the coroutine a driver waits on behalf of (park), weak:
-- once that coroutine is collected (its driver closed while it waited, the
-- deputed entry gone with it) the token is no longer lent, and abandon
-- gives it back
local lent = setmetatable({}, { __mode = "v" })
local fdowners = setmetatable({}, { __mode = "v" }) -- fd -> the asok.sock or native client watching it
-- (client.c keeps it too: a native client's setfd records the client there,
-- and its close closes another object's handle on its fd, as sharedgone)
C.client_owners(loop, fdowners)
local MAIN = {}     -- parents[] value: the driver cannot yield (main thread)
local waiting = {}  -- token -> coroutine parked on it
local blocking = {} -- token -> true while a blocked caller waits, false once delivered
local classes = {}  -- LuaSocket metatable -> class name
local CLIENT = classmeta("asok.client") -- native accepted clients (client.c)
local Wrapper = {} -- the wrappers' metatable (asok.wrap, wrapper.lua)
classes[CLIENT] = "tcp{client}"
local patched = {}  -- LuaSocket metatables whose close/__gc notify asok -> their patched __index
-- Tokens: below SMALL, recycled by the glue's stream receives and sends
-- (stream.lua); from SMALL to NEWBASE and from CBASE = 2^52 up, the C
-- tokens of the receives and sends parked in C (park.c: the first 65,536
-- below NEWBASE, where asok's token table is an array, the rest above
-- CBASE); newtoken's from NEWBASE up, below CBASE (exact in a 5.1 double).
local SMALL, NEWBASE, CBASE = 65536, 131072, 4503599627370496
local lasttoken = NEWBASE - 1
local ONE = 1.0     -- LuaSocket's success value (a float on 5.3+)
local RAW = {}      -- private key of a wrapper's raw object
local FAST = {}     -- private key: a stream client wrapper's raw object, else false

-- the LuaSocket classes whose close/__gc are patched on first use
local CLASSNAMES = { "tcp{master}", "tcp{client}", "tcp{server}",
  "udp{connected}", "udp{unconnected}",
  "unixstream{master}", "unixstream{client}", "unixstream{server}",
  "unixdgram{connected}", "unixdgram{unconnected}",
  "unix{master}", "unix{client}", "unix{server}" } -- 3.0-rc1's socket.unix

-- classes accepted where LuaSocket wants a tcp{client} (stream clients)
local STREAM = { ["tcp{client}"] = true, ["unixstream{client}"] = true }

-- the LuaSocket datagram classes: UDP and unix datagrams (socket.unix.dgram)
local UDP = { ["udp{connected}"] = true, ["udp{unconnected}"] = true,
  ["unixdgram{connected}"] = true, ["unixdgram{unconnected}"] = true }

-- argerror raises "bad argument #n to 'fname' (msg)" at the given level
-- (counted from argerror's caller, as error() does).
local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level + 1)
end

local getinfo = debug and debug.getinfo
local getlocal = debug and debug.getlocal

local ISJIT = type(rawget(_G, "jit")) == "table"
local HASTAIL = getinfo and pcall(getinfo, 1, "t") -- 5.2+: istailcall

-- tailcalled says whether the function at level, counted as its caller
-- counts (getinfo(level) there), was tail-called: istailcall on 5.2+, the
-- "(tail call)" level above it on 5.1.
local function tailcalled(level)
  if HASTAIL then
    local t = getinfo(level + 1, "t")
    return t and t.istailcall or false
  end
  local up = getinfo(level + 2, "S")
  return up and up.what == "tail" or false
end

-- METHODS: the glue's functions that are methods of objects (wrappers',
-- native clients', and the close and setfd asok puts on LuaSocket's
-- classes), as opposed to asok's own functions (asok.receive...): their
-- argument errors name them as luaL_argerror names LuaSocket's C methods.
local METHODS = setmetatable({}, { __mode = "k" })
local classof -- below: the LuaSocket class of an object, or nil

-- findfield is lauxlib's findfield: the name ("k" or "k.k2") under which
-- table t holds f, to depth level, through string keys in next's order.
local function findfield(t, f, level)
  if level == 0 or type(t) ~= "table" then return nil end
  for k, v in next, t do
    if type(k) == "string" then
      if rawequal(v, f) then return k end
      local sub = findfield(v, f, level - 1)
      if sub then return k .. "." .. sub end
    end
  end
  return nil
end

-- globalname is lauxlib's pushglobalfuncname, luaL_argerror's name for a
-- function its call does not name (pcall's, a coroutine's body): f's name
-- among the globals (5.2) or the loaded modules, "_G." left out (5.3,
-- 5.4); nil on 5.1 and LuaJIT, which say '?'.
local VERSION = not ISJIT and tonumber(_VERSION:match("%d+%.%d+")) or 5.1
local registry = debug and debug.getregistry and debug.getregistry()
local function globalname(f)
  if VERSION < 5.2 or not registry then return nil end
  if VERSION == 5.2 then return findfield(registry[2], f, 2) end -- LUA_RIDX_GLOBALS
  local name = findfield(registry._LOADED, f, 2)
  if name and name:sub(1, 3) == "_G." then name = name:sub(4) end
  return name
end

-- margerror is argerror worded as luaL_argerror words it: when the
-- function the user called (the one below level) was called as a method,
-- self does not count, and a bad self is "calling 'fname' on bad self".
-- fmsg, if given, replaces msg when it was not a method call (asok.f(sok)).
-- asok's own functions keep their name; a method (METHODS) takes the
-- call's, as LuaSocket's C methods do: the method's, a local's, a
-- global's, "?" for pcall(obj.m, obj) (or globalname's).
local function margerror(n, fname, msg, level, fmsg)
  local info = getinfo and getinfo(level, "nf")
  local method = info and info.namewhat == "method"
  if info and info.namewhat == "" and not ISJIT and tailcalled(level) then
    -- a tail call (`return w:receive(x)`) leaves no trace of how it was
    -- made, where PUC Lua names LuaSocket's own C method from the calling
    -- instruction: taken as a method call when the first argument is one
    -- of asok's objects with methods, a wrapper or a native client (a raw
    -- LuaSocket object is asok.receive(sok, x)'s), or a LuaSocket object
    -- for the methods asok puts on them (close, setfd). LuaJIT names the
    -- function from its tail-caller's call, as it names LuaSocket's.
    local _, self = getlocal(level, 1)
    local mt = rawmeta(self)
    method = mt == Wrapper or mt == CLIENT or (METHODS[info.func] and classof(self) ~= nil)
  elseif info and METHODS[info.func] then
    -- (LuaJIT names a tail-called function from its caller's call, as it
    -- names LuaSocket's C functions)
    fname = info.name or globalname(info.func) or "?"
  end
  if method then
    n = n - 1
  else
    msg = fmsg or msg
  end
  if n == 0 then error(("calling '%s' on bad self (%s)"):format(fname, msg), level + 1) end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level + 1)
end

-- reraise raises error e of a LuaSocket method that asok called for the
-- method the user called (a wrapper's forwarder, a native client's lent
-- method; level: that method counted from reraise's caller, 1 being the
-- caller itself; reraise must not be tail-called) again at the user's
-- call. Only LuaSocket's own errors carry the position pattern captures
-- the rest of: their argument errors are reworded for the call the user
-- made (margerror), the others lose that position; any other error (a
-- program's own, raised from an argument's __index while LuaSocket read
-- it) passes on unchanged, as LuaSocket passes it on.
local function reraise(e, pattern, level)
  local msg = type(e) == "string" and e:match(pattern)
  if not msg then error(e, 0) end
  local n, k, what = msg:match("^bad argument #(%d+) to '([^']*)' %((.*)%)$")
  if n then margerror(tonumber(n) + 1, k, what, level + 2) end
  k, what = msg:match("^calling '([^']*)' on bad self %((.*)%)$")
  if k then margerror(1, k, what, level + 2) end
  error(msg, level + 2)
end

-- method marks f as a method (METHODS) and returns it.
local function method(f)
  METHODS[f] = true
  return f
end

-- twins makes asok's function name and the objects' method of that name,
-- one code in two closures: make(name) twice, M[name] the first, the
-- second a method, kept in P.methodof[name] for the wrappers' and native
-- clients' method tables. make's closure must keep its name argument as
-- an upvalue: Lua 5.2 and 5.3 hand out a closure made again with the same
-- upvalues from their cache.
local methodof = {}
local function twins(name, make)
  local f, m = make(name), make(name)
  assert(f ~= m, "twins: one closure")
  M[name], methodof[name] = f, method(m)
  return f
end

-- newtoken returns a fresh token, from NEWBASE up, below CBASE.
local function newtoken()
  local t = lasttoken + 1
  if t >= CBASE then t = NEWBASE end
  lasttoken = t
  return t
end

-- newtokens returns the first of a block of n fresh tokens, t .. t + n - 1,
-- from NEWBASE up, below CBASE (asok.select's entries: waitset.c).
local function newtokens(n)
  local t = lasttoken + 1
  if t + n > CBASE then t = NEWBASE end
  lasttoken = t + n - 1
  return t
end

-- safestring is tostring(v), or a description if v's __tostring fails
-- (an error object must not stop the reactor that reports it).
local function safestring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "(error object is a " .. type(v) .. " value whose __tostring failed)"
end

-- report hands a failed coroutine's error, with its traceback, to the
-- error handler (asok.seterrorhandler) or writes it to stderr. A failing
-- handler is reported to stderr too: asok.select never stops for it.
-- The handler runs in a coroutine of its own: one that waits in asok goes
-- on in the background (its own errors then go to stderr), and one that
-- yields something else cannot suspend the code that reported (a step in
-- the middle of its batch, whose other coroutines would never be resumed).
local handlers = setmetatable({}, { __mode = "k" }) -- coroutines running the handler
local function report(co, err)
  local msg = safestring(err)
  if traceback then msg = traceback(co, msg) end
  local errorhandler = P.errorhandler -- asok.seterrorhandler's (xpcall.lua)
  if errorhandler and not handlers[co] then
    local hco = cocreate(function(...) return errorhandler(...) end)
    handlers[hco] = true
    local ok, herr = resume(hco, msg, co, err)
    if ok and (herr == WAIT or costatus(hco) == "dead") then return end
    if ok then herr = "it yielded to asok" end
    msg = msg .. "\n(and the asok error handler failed: " .. safestring(herr) .. ")"
  end
  if io and io.stderr then io.stderr:write("asok: error in coroutine: ", msg, "\n") end
end

-- DEAD is resume's message for a coroutine that is dead already.
local DEAD
do
  local co = coroutine.create(function() end)
  resume(co)
  DEAD = select(2, resume(co))
end

-- closedwait says whether resume's failure err on co means co was dead
-- before it: closed (Lua 5.4's coroutine.close) while it waited in asok.
-- That is the closer's doing, not an error of co's to report.
local function closedwait(co, err)
  return err == DEAD and costatus(co) == "dead"
end

-- wake resumes co with the given values and reports an error it raises.
local function wake(co, ...)
  local ok, err = resume(co, ...)
  if not ok and not closedwait(co, err) then report(co, err) end
end

-- abandon cancels token t of an operation whose coroutine was closed
-- while it waited, and gives a stream operation's small token back to
-- stream.lua's free list (P.giveback), or a C token to park.c (cfree):
-- its operation never will. Not a token lent to a driver (lent[], park):
-- the closed one is the driver, and the coroutine whose operation holds
-- the token may go on with it.
local cfree = C.cfree
-- glueheld: C token -> the coroutine whose operation waits with it through
-- the glue (park.c handed it over: the coroutine could not park in C, or
-- someone else resumed it there; park.c notes it here itself, before it
-- returns, stream.lua's fastops). Given back when the operation ends
-- (stream.lua's hreceive and hsend), when it is abandoned, or by reap
-- once that coroutine is dead: closed while its __close handler waited
-- in asok, its operation never ends (other's running/normal case).
local glueheld = {}
local function abandon(t)
  ccancel(loop, t)
  if lent[t] then return end
  if t < SMALL then P.giveback(t)
  elseif t < NEWBASE or t >= CBASE then cfree(loop, t, false, glueheld) end
end

-- other handles delivered token t, whose waiting[t] was coroutine w, for
-- step where C.step returned it: w is not suspended in a yield (closed,
-- running or normal), or its resume failed (failed, with resume's error
-- err).
-- Without t, w is a select group's coroutine, woken once (step.c's
-- wakegroup): resumed and its error reported, as wake does.
local function other(w, t, failed, err)
  if t == nil then
    if not failed then return wake(w) end
    if not closedwait(w, err) then report(w, err) end
    return
  end
  if not failed then
    local ok
    ok, err = resume(w)
    if ok then return end
  end
  -- closed while it waited: its operation is abandoned, so that the
  -- socket's queue goes on (cancel moves the turn to the next one).
  -- Running or normal (its __close handlers running while coroutine.close
  -- closes it, or resumed by someone else): it no longer waits in park, so
  -- its turn passes on too; a retry of its operation, if it comes, queues
  -- again with the same token (not given back), or, for an operation
  -- parked in C, whose record goes now (it no longer waits there: closed,
  -- or its retry would take the token back with unpark), with a new one
  local st = costatus(w)
  if closedwait(w, err) then abandon(t)
  elseif st == "running" or st == "normal" then
    ccancel(loop, t)
    if t >= SMALL and (t < NEWBASE or t >= CBASE) then cfree(loop, t, true) end
  else
    -- died of an error in this resume. One raised in the glue between its
    -- wake-up and the retry of its operation (a debug hook's) left the
    -- operation queued in asok, its socket's turn held for ever: t is
    -- cancelled, unless another operation took it meanwhile (w's ended
    -- and gave it back: noted then). A C token's operation was retried in
    -- C before the resume (park.c), or is the glue's (reap's glueheld).
    if st == "dead" and waiting[t] == nil and blocking[t] == nil and (t < SMALL or (t >= NEWBASE and t < CBASE)) then
      ccancel(loop, t)
    end
    report(w, err)
  end
end

-- step runs one asok_select pass (timeout in seconds, negative: no limit)
-- and resumes the coroutine of every ready token (C.step, step.c: the
-- tokens an outer step has not dispatched yet go first, without a wait;
-- a blocked call's token turns blocking[t] false).
local function step(timeout)
  local w, t, failed, err = cstep(loop, timeout, waiting, blocking)
  while w ~= nil do
    other(w, t, failed, err)
    w, t, failed, err = cstep(loop, nil, waiting, blocking) -- the rest of the queue
  end
end

-- reap cancels the tokens of coroutines closed while they waited (Lua
-- 5.4's coroutine.close), and of select groups whose owner was, or whose
-- select's coroutine was or was left behind by a closed driver: each
-- would be cancelled when its turn came (step, wakegroup), but a turn
-- that never comes would keep asok.select() without a timeout waiting
-- for no one, and under steady traffic the closed ones would pile up.
-- A driver waiting for a closed coroutine (asok.coroutine) is woken
-- instead: its resume then returns the close's error and gives up the
-- token. O(waiting): the loops that run the reactor call it through
-- reapdue, at most once a second.
local early = {} -- tokens delivered before their park at the last reap
-- orphans: a coroutine that waited through a driver (asok.coroutine) that
-- was closed meanwhile -> its token, kept for its retry if it is resumed
-- again (park forgets it then); orphaned: those tokens, given back once
-- their coroutine is collected
local orphans = setmetatable({}, { __mode = "k" })
local orphaned = {}
-- leftbehind says whether coroutine co, which waits in a select on behalf
-- of driver owner (a group's inner and owner), is no longer reached by a
-- resume of owner: a driver between them (asok.coroutine's, asok.xpcall's
-- helper on 5.1: the parents chain) is dead, closed while it waited, or
-- has let go of co. co is left suspended, for whoever resumes it next (its
-- select then arms its waits anew); the group's tokens are no one's.
local function leftbehind(co, owner)
  local p = parents[co]
  while p ~= owner do
    if p == nil or (p ~= MAIN and costatus(p) == "dead") then return true end
    if p == MAIN then return false end
    p = parents[p]
  end
  return false
end
-- retired: handles asok closed for good while their object lives on or
-- is gone (letgo: setfd, a socket LuaSocket replaced; a registration cut
-- short; a stale select watcher) -> true once a reap has seen them. Such a
-- handle has one finalizer, its own __gc, which Lua drops when its call
-- meets a memory error: the handle then stayed in asok for good. The
-- second reap after its close frees it (sock.c's free): the calls that
-- waited on it woke at the close and took their answers from it at their
-- retry, in the step after; nothing uses it a reap later. (An object's
-- own handle and watcher are freed by the object's patched __gc too.)
-- A blocked call (blocking[t]) whose token came back while it waits under
-- another run of the reactor (a call blocked where its coroutine cannot
-- yield, nested inside its step: a gsub callback, pcall on 5.1) retries
-- only once that run returns, seconds later maybe: its retry on a retired
-- handle takes the share the close kept for it (a receive's partial
-- result), which a free drops. So no retired handle goes while such a
-- call waits (heldback); they go by the reaps after it retried.
local retired = {}
local function retire(h)
  close(h)
  retired[h] = false
end
P.retire = retire

-- heldback says whether a blocked call has its token back but has not
-- retried yet, other than token mine's (the blocked call whose own loop
-- runs this reap: it retries next, nothing runs in between).
local function heldback(mine)
  for t, b in pairs(blocking) do
    if b == false and t ~= mine then return true end
  end
  return false
end

local nreaps = 0 -- reaps run so far (asok._debug.reaps)
local function reap(mine)
  nreaps = nreaps + 1
  local seen = nil
  local drivers = nil -- woken after the walks: they may park anew
  for t, w in pairs(waiting) do
    if w == false then -- delivered before its park: dropped if still there at the next reap
      -- still there a reap later: its operation never came to its park
      -- (an error between its start and its park: a debug hook's), and
      -- its delivery holds its socket's turn: cancelled
      if early[t] then waiting[t] = nil; ccancel(loop, t) else seen = seen or {}; seen[t] = true end
    else
      local owner = type(w) == "thread" and w or w.owner -- a coroutine, or a select group's
      if owner and costatus(owner) == "dead" then
        waiting[t] = nil; abandon(t)
      elseif owner and owner ~= w and w.inner and (costatus(w.inner) == "dead" or leftbehind(w.inner, owner)) then
        -- a select run by a driver (asok.coroutine) whose coroutine was
        -- closed, or a driver between them was (leftbehind): its tokens
        -- go, and the driver waiting on it is woken once (its resume of
        -- the closed coroutine then fails, as for a receive, below)
        waiting[t] = nil; abandon(t)
        local d = w.co
        if d and costatus(d) == "suspended" then
          w.co = nil
          drivers = drivers or {}
          drivers[#drivers + 1] = d
        end
      end
    end
  end
  early = seen or {}
  if next(retired) and not heldback(mine) then
    for h, old in pairs(retired) do
      if old then retired[h] = nil; cfreesock(h) else retired[h] = true end
    end
  end
  for t, co in pairs(glueheld) do
    if costatus(co) == "dead" and not lent[t] then abandon(t) end -- (its note goes with the token: cfree)
  end
  for co, t in pairs(deputed) do
    local root = waiting[t]
    if costatus(co) == "dead" and type(root) == "thread" then
      waiting[t] = nil
      drivers = drivers or {}
      drivers[#drivers + 1] = root
    elseif root == nil and lent[t] then
      -- its driver was closed (the walk above cancelled the operation):
      -- a closed co gives the token back; a suspended one may be resumed
      -- again and retry with it, so it keeps it until it is collected
      deputed[co], lent[t] = nil, nil
      if costatus(co) == "dead" then
        abandon(t)
      else
        glueheld[t] = nil -- not held through the token: collectable
        orphans[co], orphaned[t] = t, true
      end
    end
  end
  if drivers then
    for i = 1, #drivers do wake(drivers[i]) end
  end
  if next(orphaned) then -- tokens of orphans collected since
    local live = {}
    for _, t in pairs(orphans) do live[t] = true end
    for t in pairs(orphaned) do
      if not live[t] then orphaned[t] = nil; abandon(t) end
    end
  end
end

-- reapdue runs reap when REAP_EVERY seconds have passed since the last
-- one, busy or idle (a walk per second, not per poll), and returns now().
-- mine: the token of the blocked call whose wait calls it (blockwait).
local REAP_EVERY = 1
local lastreap = 0
local function reapdue(mine)
  local t = now()
  if t - lastreap >= REAP_EVERY then
    lastreap = t
    reap(mine)
  end
  return t
end

-- yieldprobe: on Lua 5.1 and 5.2, the binding's isyieldable(co), which also
-- answers for a coroutine that resumed the running one
local yieldprobe = not coroutine.isyieldable and C.isyieldable or nil

-- rootof returns the coroutine asok.select must resume to continue co:
-- co itself, or the outermost driver of the asok.xpcall helper coroutines
-- co runs in (Lua 5.1), or nil if that chain ends in a thread that cannot
-- yield, or passes through a driver that cannot (asok.xpcall inside pcall
-- on 5.1): then the caller blocks instead.
local function rootof(co)
  local p = parents[co]
  while p do
    if p ~= MAIN and costatus(p) == "dead" then
      -- its driver was closed while it waited (an orphan, reap): co
      -- runs on its own now, under whoever resumed it
      parents[co] = nil
      return co
    end
    if p == MAIN or (yieldprobe and not yieldprobe(p)) then return nil end
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

-- asok._debug.blocked() is the number of blocked calls' marks (blocking):
-- 0 once no call waits blocked (tests: none is left behind by an error)
-- asok._debug.reap() runs the once-a-second reap now (tests: the
-- retired handles are freed by the second one after their close, unless
-- a blocked call is held back: heldback)
function M._debug.reap() reap() end

-- asok._debug.reaps() is the number of reaps run so far, the loops' and
-- asok._debug.reap()'s (tests wait for the loop's own reaps by it, not for
-- a fixed time). asok._debug.reapevery(s) sets how many seconds the loops
-- leave between their reaps (REAP_EVERY, 1 s), s > 0, and returns the old
-- value (tests that wait for the loop's own reaps shorten it)
function M._debug.reaps() return nreaps end
function M._debug.reapevery(s)
  if type(s) ~= "number" or not (s > 0) then
    argerror(1, "reapevery", "positive number expected, got " .. (type(s) == "number" and tostring(s) or type(s)), 2)
  end
  local old = REAP_EVERY
  REAP_EVERY = s
  return old
end

function M._debug.blocked()
  local n = 0
  for _ in pairs(blocking) do n = n + 1 end
  return n
end

-- blockwait runs the reactor until tok is handed back, for an operation
-- whose caller cannot yield: the primitive that started it runs this
-- protected and retries the operation itself (block.c), as park does
-- where C cannot tell (a driver that cannot yield). A token handed back
-- before (a finalizer or a hook ran the reactor between the operation's
-- wait and here: step.c marks it waiting[tok] = false) returns at once.
local function blockwait(tok)
  if not note(waiting, tok, blocking, true) then return end
  while blocking[tok] do step(-1); reapdue(tok) end
  blocking[tok] = nil
end

-- unblock abandons the operation of tok after an error out of its
-- blockwait (a debug hook's: lua.c's Ctrl-C in the main thread, caught by
-- the program), as its coroutine's would be at a close, so that it does
-- not hold its socket's turn (every later call on the socket waited).
-- block.c runs it with the hook off.
local function unblock(tok)
  blocking[tok] = nil
  if waiting[tok] == false then waiting[tok] = nil end
  abandon(tok)
end
C.blocker(loop, blockwait, unblock)

-- park waits until tok is handed back: it yields WAIT in a yieldable
-- coroutine, else it runs the reactor until tok comes back (blocking call).
-- A token handed back before park (a finalizer or a hook ran the reactor
-- between the operation's wait and park: step marks it waiting[tok] =
-- false) returns at once.
-- Returns false if someone else resumed the coroutine first (tok still
-- parked), else true.
local noteself = C.noteself
local function park(tok)
  -- the common case (a coroutine that can yield, no driver) and its note
  -- in one C call (step.c's noteself): under LuaJIT, coroutine.running
  -- and coroutine.isyieldable are not compiled (a trace exit each)
  local co = noteself(waiting, tok, parents)
  if co then
    yield(WAIT)
    if waiting[tok] == co then -- resumed by someone else: not delivered
      waiting[tok] = nil
      return false
    end
    return true
  elseif co == false then
    return true -- delivered before its park
  end
  local ismain
  co, ismain = running() -- yieldable(), inlined: park runs per wait
  local root = nil
  if co and not ismain and (isyieldable == nil or isyieldable()) then
    root = co
    if parents[co] ~= nil then root = rootof(co) end
  end
  -- waiting[tok] = root, or blocking[tok] = true, unless delivered before
  -- it got here (step.c: waiting[tok] false); in C, so that a hook that
  -- runs the reactor cannot deliver it between the look and the note. A
  -- delivery between the note and the yield is kept for a later step
  -- (step.c, defer).
  if root then
    if not note(waiting, tok, waiting, root) then return true end
    if root ~= co then -- a driver waits for co (asok.coroutine, asok.xpcall on 5.1)
      deputed[co], lent[tok] = tok, co
      yield(WAIT)
      deputed[co], lent[tok] = nil, nil
      if orphans[co] then orphans[co], orphaned[tok] = nil, nil end
    else
      yield(WAIT)
    end
    if waiting[tok] == root then -- resumed by someone else: not delivered
      waiting[tok] = nil
      return false
    end
  else
    local ok, err = pcall(blockwait, tok)
    if not ok then
      unblock(tok)
      error(err, 0)
    end
  end
  return true
end

-- normclass names LuaSocket 3.0-rc1's socket.unix stream classes
-- ("unix{client}"...) as 3.0.0's ("unixstream{client}"...): the same
-- sockets and methods.
local function normclass(class)
  if class:sub(1, 5) == "unix{" then return "unixstream" .. class:sub(5) end
  return class
end

-- classof returns the LuaSocket class name of v (normclass), or nil.
function classof(v)
  if type(v) ~= "userdata" then return nil end
  local mt = getmetatable(v)
  local class = classes[mt]
  if class or type(mt) ~= "table" then return class end
  local idx = rawget(mt, "__index")
  if type(idx) ~= "table" then return nil end
  class = rawget(idx, "class")
  if type(class) ~= "string" or type(rawget(idx, "getfd")) ~= "function" then return nil end
  class = normclass(class)
  classes[mt] = class
  return class
end

-- kept: LuaSocket object -> its own timeouts {block, total}, read before
-- asok.connect set them to 0 ahead of register (false: none to read);
-- {block, total, exact = true}: asok's timeouts of a handle let go by
-- setfd, for the next one.
local kept = setmetatable({}, { __mode = "k" })

-- keepasok records handle h's asynchronous timeouts for raw's next handle.
local function keepasok(raw, h)
  local b, t = gettimeout(h)
  kept[raw] = { b, t, exact = true }
end

-- origs: patched LuaSocket metatable -> LuaSocket's own methods that the
-- patch replaced (settimeout, dirty, getstats, setstats), for the glue,
-- which must reach LuaSocket's own behind an object asok uses
local origs = {}

-- ours: the functions patch installed (weak keys). A patch cut short by a
-- memory error is done again at the next use of the class; what it had
-- installed is not hooked twice. install marks f before it stores it.
local ours = setmetatable({}, { __mode = "k" })
local function install(t, k, f)
  ours[f] = true
  t[k] = f
end

-- own returns LuaSocket's own method name of raw (unpatched), or nil.
local function own(raw, name)
  local o = origs[rawmeta(raw)]
  local f = o and o[name]
  if f then return f end
  f = raw[name]
  if type(f) == "function" then return f end
  return nil
end

-- statsof returns raw's received, sent and age counters with asok's (h's)
-- added: every byte through the socket, whether LuaSocket or asok moved it.
local function statsof(raw, h)
  local r, s, age = own(raw, "getstats")(raw)
  local ar, as = cgetstats(h)
  return r + ar, s + as, age
end

-- setstatsof is LuaSocket's setstats on raw (nil: the current value);
-- asok's own counters of h restart from 0, so that statsof reports them.
local function setstatsof(raw, h, received, sent, age)
  local r, s = own(raw, "getstats")(raw)
  local ar, as = cgetstats(h)
  local one = own(raw, "setstats")(raw, received or r + ar, sent or s + as, age)
  csetstats(h, 0, 0)
  return one
end

-- foldstats moves asok's byte counts of h into raw's LuaSocket counters
-- (before asok lets go of h: setfd), so that getstats keeps them.
local function foldstats(raw, h)
  -- (only clients have counters: LuaSocket's getstats checks for one)
  if STREAM[classof(raw)] then setstatsof(raw, h, nil, nil, nil) end
end

-- letgone: handles asok let go of (letgo) while raw lives on: a call that
-- was waiting on one ends with 'closed' (reborn, below), it does not
-- go on with raw's next fd
local letgone = setmetatable({}, { __mode = "k" })

-- reborn says whether handle h of raw answered 'closed' only because it
-- predates raw's socket: asok saw the object before LuaSocket created its
-- fd (socket.tcp() before a connect of LuaSocket's own), or LuaSocket
-- replaced it. Such a handle did nothing: the call goes again on a fresh
-- one (handle carries timeouts and throttles over). Only on 'closed'; not
-- for a handle asok let go of (setfd, a socket LuaSocket destroyed or
-- replaced) while the call waited on it: that call ends with 'closed'.
-- Also a handle closed under raw by another object's close of its fd
-- (sharedgone, below): raw's call goes on as LuaSocket's own on that fd
-- would (a new handle, or the fd gone: "Bad file descriptor").
local function reborn(raw, h)
  if rawmeta(raw) == CLIENT or letgone[h] then return false end
  local fd = raw:getfd()
  return fd >= 0 and fdof(h) ~= fd
end

-- letgo closes raw's handle h and select watcher p (either may be nil;
-- their waiters wake with 'closed'), keeping asok's timeouts and byte
-- counts for raw's next fd (setfd, a socket LuaSocket replaced).
local function letgo(raw, h, p)
  -- (retired last: a memory error noting it leaves the rest done)
  if h then keepasok(raw, h); foldstats(raw, h); close(h); handles[raw] = nil; letgone[h] = true; retired[h] = false end
  if p then close(p); probes[raw] = nil; retired[p] = false end
end

-- watchers: LuaSocket object -> the watch of a call on it that waits on
-- something other than its handle (asok.connect's name lookup) or across
-- several handles (the connect's attempts): { closed = true once raw was
-- closed, [token] = true for each such wait }. raw's close (patched close
-- below) marks it and makes each token ready at once (C.sleep 0).
local watchers = setmetatable({}, { __mode = "k" })
local csleep, next = C.sleep, next

-- closewatch marks raw's watch closed and wakes its waits.
local function closewatch(raw)
  local w = watchers[raw]
  if not w then return end
  watchers[raw] = nil
  w.closed = true
  for t in pairs(w) do
    if t ~= "closed" then w[t] = nil; ccancel(loop, t); csleep(loop, 0, t) end
  end
end

local chook = C.hook

-- sharedgone closes the handle asok watches raw's fd with when it is
-- not raw's own (h, p): another object's on the same fd, which LuaSocket's
-- close of raw (or its __gc) is about to close under it. That handle may
-- be a socket's that adopted raw's select watcher (adopt, below: raw a
-- LuaSocket object given the socket's fd by setfd), or a watcher raw's
-- selects shared. epoll drops a closed fd without an event: the waiters
-- on that handle (a receive, a select) would wait for ever; they wake
-- with 'closed'. getfd: raw's class's (nil: nothing to do). A native
-- client's handle is not closed so (C.close would close its fd, which
-- LuaSocket's close of raw closes): C.client_fdgone closes its handle
-- alone, its waiters waking to LuaSocket's answer on the closed fd ("Bad
-- file descriptor"), and the client no longer closes the number (maybe
-- another socket's by then: client.c's fdgone).
local function sharedgone(raw, getfd, h, p)
  if type(getfd) ~= "function" then return end
  local ok, fd = pcall(getfd, raw)
  fd = ok and tonumber(fd)
  if not fd or fd < 0 then return end
  local o = fdowners[fd]
  if o and o ~= h and o ~= p and fdof(o) == fd then
    if rawmeta(o) == CLIENT then cfdgone(o) else close(o) end
  end
end

-- patchstate hooks the state methods of LuaSocket metatable mt's methods
-- idx (hook.c: LuaSocket's own C function runs first, on the caller's
-- frame, so its results and errors are LuaSocket's): for an object asok
-- uses, settimeout sets asok's timeouts too (LuaSocket's stay what the
-- program set), dirty sees asok's buffer, getstats and setstats count
-- asok's bytes. Other objects get LuaSocket's answers untouched.
local function patchstate(mt, idx)
  local o = origs[mt] or {} -- kept: a patch cut short keeps the originals
  origs[mt] = o
  local function hook(name, kind, f, also)
    local orig = rawget(idx, name)
    if ours[orig] then return end -- hooked by a patch cut short
    local hooked = type(orig) == "function" and chook(orig, f, handles, kind, also)
    if not hooked then return end
    o[name] = orig
    install(idx, name, hooked)
  end
  hook("settimeout", "args", function(raw, t, mode)
    local h = handles[raw]
    if h then settimeout(h, t, mode); return end
    local k = kept[raw] -- asok's timeouts waiting for the next fd (setfd)
    local v = tonumber(t) or -1
    if mode == nil or tostring(mode):sub(1, 1) == "b" then k[1] = v else k[2] = v end
  end, kept)
  hook("dirty", "results", function(raw, d)
    local h = handles[raw]
    return d or (h and buffered(h)) or false
  end)
  hook("getstats", "results", function(raw, r, s, age)
    local ar, as = cgetstats(handles[raw])
    return r + ar, s + as, age
  end)
  -- LuaSocket's unix bind and connect destroy the socket when they fail
  -- (socket_destroy), and its inet ones may replace it with a new one
  -- (inet_tryconnect, inet_trybind: a socket of another family, or one
  -- that a refused connect left without one), which the kernel usually
  -- gives the same fd number: asok lets go of a handle whose socket is
  -- gone (C.same: number, device and inode), as setfd does, so that its
  -- waiters wake ('closed') instead of waiting on a socket nobody polls
  -- any more, and the object's next call registers the new one. Its
  -- timeouts stay for that one.
  local function fdgone(raw, ...)
    local h, p = handles[raw], probes[raw]
    local fd = raw:getfd()
    letgo(raw, h and fdof(h) >= 0 and not same(h, fd) and h or nil,
      p and fdof(p) >= 0 and not same(p, fd) and p or nil)
    return ...
  end
  for _, name in ipairs { "connect", "bind", "setpeername", "setsockname" } do
    hook(name, "results", fdgone, probes)
  end
  -- a send waiting on the socket learns of a shutdown of sending at once
  -- (the kernel gives no event for it on a full unix stream socket)
  hook("shutdown", "args", function(raw, how)
    local h = handles[raw]
    if h then cshutdown(h, how) end
  end)
  hook("setstats", "args", function(raw, received, sent)
    -- LuaSocket's own took the values given; a counter not given gets
    -- asok's bytes added, and asok's counters restart from 0
    local h = handles[raw]
    local ar, as = cgetstats(h)
    csetstats(h, 0, 0)
    if received == nil or sent == nil then
      local r, s = own(raw, "getstats")(raw)
      own(raw, "setstats")(raw, received == nil and r + ar or r, sent == nil and s + as or s)
    end
  end)
end

-- patch makes close and __gc of LuaSocket metatable mt close the asok
-- handle first, so that every coroutine parked on the socket wakes up.
-- Done again when mt has a new __index: a reload of socket.core refills
-- the same registry metatables with new methods and the raw __gc.
local function patch(mt)
  if type(mt) ~= "table" then return end
  local idx = rawget(mt, "__index")
  if patched[mt] == (idx or true) then return end
  -- the group LuaSocket's close and setfd check self against first
  -- ("tcp{any}"...), and that check, with LuaSocket's words, at the
  -- user's call (LuaSocket's own raise would name this function and point
  -- into asok)
  local class = type(idx) == "table" and rawget(idx, "class")
  local family = type(class) == "string" and normclass(class):match("^(%w+){") or nil
  local function checkgroup(raw, fname)
    local c = classof(raw)
    if family and not (c and c:match("^(%w+){") == family) then
      margerror(1, fname, family .. "{any} expected", 3)
    end
  end
  local rawclose = type(idx) == "table" and rawget(idx, "close")
  local getfd = type(idx) == "table" and rawget(idx, "getfd") or nil
  if type(rawclose) == "function" and not ours[rawclose] then
    install(idx, "close", method(function(raw, ...)
      checkgroup(raw, "close")
      local h, p = handles[raw], probes[raw]
      sharedgone(raw, getfd, h, p)
      if h then close(h) end
      if p then close(p) end
      if watchers[raw] then closewatch(raw) end
      return rawclose(raw, ...)
    end))
  end
  -- setfd hands the fd to someone else (LuaSec's ssl.wrap does setfd(-1)):
  -- asok lets go of it first, waking its waiters with 'closed', so it
  -- never reads or polls an fd it no longer answers for
  local rawsetfd = type(idx) == "table" and rawget(idx, "setfd")
  if type(rawsetfd) == "function" and not ours[rawsetfd] then
    install(idx, "setfd", method(function(raw, ...)
      checkgroup(raw, "setfd")
      local fd = ...
      if not tonumber(fd) then -- LuaSocket's luaL_checknumber, at the caller
        margerror(2, "setfd", "number expected, got " .. (select("#", ...) == 0 and "no value" or type(fd)), 2)
      end
      letgo(raw, handles[raw], probes[raw])
      return rawsetfd(raw, ...)
    end))
  end
  if type(idx) == "table" then patchstate(mt, idx) end
  -- the object's handle and watcher are closed, then freed here, not left
  -- to their own __gc a collection later: Lua drops a finalizer whose call
  -- meets a memory error, and a handle whose __gc was dropped stayed in
  -- asok for good (sock.c's free); with both, either one is enough
  local gc = rawget(mt, "__gc")
  if type(gc) == "function" and not ours[gc] then
    install(mt, "__gc", function(raw)
      local h, p = handles[raw], probes[raw]
      sharedgone(raw, getfd, h, p)
      if h then close(h); cfreesock(h) end
      if p then close(p); cfreesock(p) end
      return gc(raw)
    end)
  end
  patched[mt] = idx or true -- last: a memory error before it patches again
end

-- watch returns raw's watch (made if needed: raw's class patched, so that
-- LuaSocket's own close of raw reaches closewatch); unwatch ends it.
local function watch(raw)
  local w = watchers[raw]
  if not w then
    patch(getmetatable(raw))
    w = {}
    watchers[raw] = w
  end
  return w
end
local function unwatch(raw, w)
  if watchers[raw] == w and next(w) == nil then watchers[raw] = nil end
end
P.watch, P.unwatch = watch, unwatch

-- reclose closes raw's socket for asok itself (a connect switching family
-- makes a new one): the waiters on its handle wake, its watch goes on.
function P.reclose(raw)
  local w = watchers[raw]
  watchers[raw] = nil
  raw:close()
  watchers[raw] = w
end

-- unixtm: where socket.unix stream objects, whose class has no
-- gettimeout, keep their timeouts (C.tmfind's offset and size, found on a
-- probe object of that class); false: not found (then unknown).
local unixtm, unixsize = nil, nil
local tmfind, tmat = C.tmfind, C.tmat

-- unixtimeout returns the block and total timeouts of socket.unix stream
-- object raw, or nil.
local function unixtimeout(raw)
  if unixtm == nil then
    local unix = package and package.loaded and package.loaded["socket.unix"]
    local make = type(unix) == "table" and unix.stream or unix
    local ok, probe = pcall(make)
    -- no probe (no descriptor left, say): unknown this time, asked again
    if ok and probe == nil then return nil end
    unixtm = false
    if ok and classof(probe) and classof(probe):sub(1, 11) == "unixstream{" then
      probe:settimeout(1.25, "b"); probe:settimeout(2.5, "t")
      local o1, size = tmfind(probe, 1.25, 2.5)
      probe:settimeout(3.75, "b"); probe:settimeout(-1.5, "t")
      local o2 = tmfind(probe, 3.75, -1.5)
      if o1 and o1 == o2 then unixtm, unixsize = o1, size end
      probe:close()
    end
  end
  if not unixtm then return nil end
  return tmat(raw, unixtm, unixsize)
end

-- ltimeouts returns raw's own LuaSocket timeouts (block, total), nil if
-- unknown.
local function ltimeouts(raw)
  local gt = own(raw, "gettimeout")
  if gt then return gt(raw) end
  local class = classof(raw)
  if class and class:sub(1, 11) == "unixstream{" then return unixtimeout(raw) end
  return nil
end

-- owntimeout returns the timeouts a new handle of raw starts with: asok's
-- of the handle setfd let go (then exact is true), or raw's own. The
-- record of the former stays until the handle is made (register).
local function owntimeout(raw)
  local k = kept[raw]
  if k then return k[1], k[2], k.exact end
  return ltimeouts(raw)
end

-- peektimeout returns the asynchronous timeouts (block, total; -1: none)
-- raw's next handle will start with (register's rules below), leaving
-- owntimeout's record in place: gettimeout of an object asok cannot
-- register yet.
local function peektimeout(raw)
  local b, t, exact
  local k = kept[raw]
  if k then b, t, exact = k[1], k[2], k.exact else b, t = ltimeouts(raw) end
  local low = exact and -1 or 0
  return (type(b) == "number" and b > low) and b + 0.0 or -1.0,
    (type(t) == "number" and t > low) and t + 0.0 or -1.0
end
P.peektimeout = peektimeout

-- ownzero calls LuaSocket's own method name of raw with the arguments at a
-- zero block timeout (a call of the glue into LuaSocket must not block:
-- asok does the waiting), then gives raw its own block timeout back (the
-- program's, which LuaSocket's own calls keep using). Returns its results.
-- The set, the call and the restore are one C call (C.ownzero), with the
-- debug hook off: done here, a hook's or memory error between them left
-- raw's own timeout at 0 for good (test_ownzero.lua).
local cownzero = C.ownzero
local function ownzero(raw, name, ...)
  local b = ltimeouts(raw)
  return cownzero(raw, own(raw, "settimeout"), tonumber(b) or -1, "b", raw[name], ...)
end

-- patchall patches the LuaSocket classes that exist: when asok loads, so
-- that a close taken from an object before its first use by asok is the
-- hooked one (LuaSocket's own would close the fd behind asok's back, and
-- asok would read from a new socket on the same fd number), and at each
-- registration (socket.unix's classes come with its require)
local function patchall()
  for i = 1, #CLASSNAMES do patch(classmeta(CLASSNAMES[i])) end
end
P.patchall = patchall

local EXISTS = "File exists" -- asok_strerror(-EEXIST): epoll has the fd under another handle

-- adopt returns the select watcher (probe) another object holds on raw's
-- fd, made raw's handle (st.h), or nil if the fd's handle is no probe. A
-- select over an object that only shares raw's fd (a table whose getfd
-- gives it, another library's object on the socket) registered the fd
-- first; raw's own operations must not fail with "File exists" for that
-- (LuaSocket's do not know of it). The other object's next select shares
-- raw's handle, as a watcher of an fd already watched does (select.lua),
-- and a select waiting on it meanwhile keeps waiting: the handle is the
-- same. The other object's selects poll the fd from then on (select.lua's
-- watcher: SHARED), and a select waiting on the watcher meanwhile turns
-- to that at its next wake (adopted, P.adoptions: select.lua's unshare).
local adopted = setmetatable({}, { __mode = "k" }) -- handle adopted from another object's watcher -> true
P.adopted, P.adoptions = adopted, 0
local function adopt(raw, st)
  local fd = raw:getfd()
  local h = fdowners[fd]
  if not h or fdof(h) ~= fd then return nil end
  for o, p in pairs(probes) do
    if p == h and o ~= raw then
      adopted[h] = true -- (first: the one allocation, before any change)
      st.h = h
      probes[o] = nil
      P.adoptions = P.adoptions + 1
      return h
    end
  end
  return nil
end

-- movebuffer moves what LuaSocket buffered for raw (dirty) into h: its
-- own receive '*a' at a zero timeout, the bytes unread into h, LuaSocket's
-- count of them taken back (asok counts them when it hands them out).
local function movebuffer(raw, h)
  local data, _, partial = ownzero(raw, "receive", "*a")
  data = data or partial
  if data and #data > 0 then
    unread(h, data)
    local r, s, age = own(raw, "getstats")(raw)
    own(raw, "setstats")(raw, r - #data, s, age)
  end
end

-- attach's move of LuaSocket's buffer (settle below) takes what LuaSocket
-- buffered for raw and nothing from the kernel: movebuffer runs with
-- raw's fd set aside (C.fdaside:
-- -1, where LuaSocket's socket_recv answers IO_CLOSED without a syscall,
-- so recvall returns the buffer alone). A '*a' on the fd read the
-- kernel's bytes too, into asok's buffer: the fd then polled empty, and a
-- select of another object on that fd (a table whose getfd gives it:
-- polled, select.lua) missed them, where socket.select sees them (the
-- fuzzer's seed 109). fdaside puts the fd back in C, whatever the move
-- raised, with the debug hook off meanwhile: set aside and put back by
-- LuaSocket's setfd from here, a hook's or memory error on an instruction
-- in between left raw at -1 for good (its fd open, unreachable).
-- An object whose first int is not its fd (not LuaSocket's layout): the
-- '*a' on the fd, as before.
local fdaside = C.fdaside

-- settle ends attach: raw's handle h recorded as made for good (st.done,
-- kept's timeouts dropped) and, if move and LuaSocket buffers data for
-- raw, that data moved into h (movebuffer). Run under C.fdaside, with the
-- hook off: recorded first and moved after by the glue, a hook's error in
-- between left the data in LuaSocket's buffer, which asok's reads then
-- skipped (38 of 483 positions of test_takebuffer's sweep 1b on 5.4);
-- moved first, an error before the recording retired h with the data.
-- (not moved when the object was closed or has no fd yet: a handle
-- without an fd cannot take them, and LuaSocket's own receive serves them
-- there: stream.lua's leftover; nor when the fd is a listener, a setfd
-- onto one: asok_unread refuses any bytes there, "" included, and the
-- data would be lost between LuaSocket's buffer and asok's; it stays in
-- LuaSocket's, whose own receive serves it: stream.lua's leftover too)
local function settle(raw, h, st, move)
  local dirty = move and own(raw, "dirty")
  local full = dirty and dirty(raw) and unread(h, "")
  kept[raw] = nil
  st.done = true
  if full then movebuffer(raw, h) end
end

-- attach creates the asok handle of LuaSocket object raw: fd registered
-- (not owned), raw's own positive timeouts made asok's (LuaSocket's stay
-- as they are: asok's calls into LuaSocket run at a zero one, ownzero),
-- LuaSocket's buffer moved to asok. It is register's work, run protected:
-- st.h gets the handle as soon as it exists (C.newsock stores it there:
-- no hook runs in between), st.done is set once nothing is undone, in
-- the one step with the move of LuaSocket's buffer, which takes the data
-- out of LuaSocket (settle).
local function attach(raw, st)
  local h, err = probes[raw], nil
  if h and fdof(h) ~= raw:getfd() then retire(h); h = nil end
  if h then
    st.h = h
    probes[raw] = nil -- asok.select's watcher becomes the full handle
  else
    h, err = newsock(loop, raw:getfd(), st, "h")
    if not h and err == EXISTS then h = adopt(raw, st) or nil end
  end
  if not h then return nil, err end -- (kept's timeouts stay for the next try)
  local block, total, exact = owntimeout(raw)
  handles[raw] = h
  fdowners[fdof(h)] = h
  unborn[raw] = raw:getfd() < 0 or nil
  -- the object's own timeouts become asok's (zero is not: copas-style code
  -- sets it to make a socket non-blocking before handing it over); those
  -- of a handle setfd let go are kept as they were, and so are throttles
  local low = exact and -1 or 0
  if type(block) == "number" and block > low then settimeout(h, block, "b") end
  if type(total) == "number" and total > low then settimeout(h, total, "t") end
  local tr = throttles[raw]
  if tr then
    if tr.r then cthrottle(h, "r", tr.r) end
    if tr.w then cthrottle(h, "w", tr.w) end
  end
  -- the rest in one step (settle): the move takes nothing from the
  -- kernel with the fd set aside (C.fdaside; an object whose first int is
  -- not its fd, not LuaSocket's layout: the '*a' on the fd, as before)
  local fd = raw:getfd()
  if fd < 0 or not fdaside(raw, fd, settle, raw, h, st, true) then settle(raw, h, st, fd >= 0) end
  return h
end

-- register creates raw's asok handle (attach), all or nothing: an error
-- that cuts it short (a debug hook's, a memory error) closes the handle
-- it made, which was registered with epoll but not yet recorded (every
-- later registration of the fd failed with "File exists" until the
-- collector freed it), or recorded without raw's timeouts; the next call
-- registers anew.
local function register(raw)
  patchall()
  patch(getmetatable(raw))
  local st = { h = false, done = false }
  local ok, h, err = pcall(attach, raw, st)
  if ok then return h, err end
  local made = st.h
  if made and not st.done then
    local fd = fdof(made)
    if handles[raw] == made then handles[raw] = nil end
    if probes[raw] == made then probes[raw] = nil end
    if fdowners[fd] == made then fdowners[fd] = nil end
    retire(made)
  end
  error(h, 0)
end

-- handle returns raw's asok handle, registering it on first use, or again
-- if LuaSocket replaced the fd (connect creates sockets on demand).
local function handle(raw, recheck)
  if rawmeta(raw) == CLIENT then return raw end -- its own handle
  local h = handles[raw]
  if h and not (recheck and fdof(h) ~= raw:getfd()) then return h end
  if not h then return register(raw) end
  letgo(raw, h, nil) -- asok.settimeout's values, across LuaSocket's new fd
  return register(raw)
end

-- checkraw returns the LuaSocket object behind argument 1 (a LuaSocket
-- object or a wrapper), whether it was a wrapper and its class; want: a
-- class name, "tcp{any}" or nil for any LuaSocket object; also: a set of
-- other classes accepted.
local function checkraw(sok, fname, want, also)
  local raw, w = sok, false
  if rawmeta(sok) == Wrapper then raw, w = rawget(sok, RAW), true end
  local class = classof(raw)
  if not class then
    -- auxiliar_checkclass's words for a class (no type: LuaSocket adds none)
    if want then margerror(1, fname, want .. " expected", 3) end
    margerror(1, fname, "LuaSocket object expected, got " .. type(sok), 3)
  end
  if want and class ~= want and not (want == "tcp{any}" and class:sub(1, 4) == "tcp{")
      and not (want == "tcp{client}" and STREAM[class]) and not (also and also[class]) then
    -- auxiliar_checkclass's words, in both call forms. A socket.unix
    -- stream socket is asked for its own class, as unixstream.c does (its
    -- connect wants a master)
    local shown = want
    if class:sub(1, 11) == "unixstream{" and want:sub(1, 4) == "tcp{" then
      shown = want == "tcp{any}" and "unixstream{master}" or "unixstream" .. want:sub(4)
    end
    margerror(1, fname, shown .. " expected", 3)
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

local tonumber, select = tonumber, select

-- raisearg raises LuaSocket's argument error for argument n of method
-- fname at the user's call (level 4: raisearg, a check, the method, the
-- caller); as in luaL_argerror, a method call does not count self.
local function raisearg(n, fname, msg)
  margerror(n, fname, msg, 4)
end

-- typename is luaL_typename with "no value" for a missing argument.
local function typename(v, n, count)
  if n > count then return "no value" end
  return type(v)
end

-- checkreceive checks receive's arguments as buffer.c does (prefix first).
local function checkreceive(pattern, prefix)
  local tp = type(prefix)
  if prefix ~= nil and tp ~= "string" and tp ~= "number" then
    raisearg(3, "receive", "string expected, got " .. tp)
  end
  local n = tonumber(pattern)
  if n then
    if not (n >= 0) then raisearg(2, "receive", "invalid receive pattern") end
  elseif type(pattern) == "string" then
    local p = pattern:sub(1, 2)
    if p ~= "*l" and p ~= "*a" then raisearg(2, "receive", "invalid receive pattern") end
  elseif pattern ~= nil then
    raisearg(2, "receive", "string expected, got " .. type(pattern))
  end
end

-- checksend checks send's arguments as buffer.c does.
local function checksend(count, data, i, j)
  local td = type(data)
  if td ~= "string" and td ~= "number" then
    raisearg(2, "send", "string expected, got " .. typename(data, 2, count))
  end
  if i ~= nil and not tonumber(i) then raisearg(3, "send", "number expected, got " .. type(i)) end
  if j ~= nil and not tonumber(j) then raisearg(4, "send", "number expected, got " .. type(j)) end
end

-- checkstats checks setstats' counters as luaL_optnumber does.
-- (an age that is not a number is ignored, as buffer.c does)
local function checkstats(received, sent)
  if received ~= nil and not tonumber(received) then
    raisearg(2, "setstats", "number expected, got " .. type(received))
  end
  if sent ~= nil and not tonumber(sent) then raisearg(3, "setstats", "number expected, got " .. type(sent)) end
end

-- checktimeout checks settimeout's arguments as timeout.c does
-- (luaL_optnumber, then luaL_optstring and the mode's first letter).
local function checktimeout(t, mode)
  if t ~= nil and not tonumber(t) then raisearg(2, "settimeout", "number expected, got " .. type(t)) end
  if mode ~= nil then
    local tm = type(mode)
    if tm ~= "string" and tm ~= "number" then raisearg(3, "settimeout", "string expected, got " .. tm) end
    local m = tostring(mode):sub(1, 1)
    if m ~= "b" and m ~= "r" and m ~= "t" then raisearg(3, "settimeout", "invalid timeout mode") end
  end
end

-- the private state and helpers the other chunks use
P.WAIT, P.loop, P.MAIN, P.ONE, P.RAW, P.FAST = WAIT, loop, MAIN, ONE, RAW, FAST
P.handles, P.throttles, P.probes, P.parents = handles, throttles, probes, parents
P.letgone, P.reborn, P.foldstats = letgone, reborn, foldstats
P.unborn = unborn
P.waiting, P.STREAM, P.UDP, P.Wrapper = waiting, STREAM, UDP, Wrapper
P.method, P.twins, P.methodof = method, twins, methodof
P.argerror, P.margerror, P.reraise, P.newtoken, P.wake, P.step, P.yieldable = argerror, margerror, reraise, newtoken, wake, step, yieldable
P.park, P.classof, P.patch, P.handle = park, classof, patch, handle
P.checkraw, P.waitfor, P.CLIENT = checkraw, waitfor, CLIENT

-- asok._debug.held(obj): the bytes asok holds for obj (a LuaSocket object,
-- a wrapper or a native client), a waiting receive's partial result
-- included (asok_held), which dirty() leaves out, as LuaSocket's does
-- (the receive call holds it): tests see such a partial with it. 0 for an
-- object asok does not use.
local cheld = C.held
function M._debug.held(obj)
  local raw = checkraw(obj, "held")
  local h = rawmeta(raw) == CLIENT and raw or handles[raw]
  return h and cheld(h) or 0
end
P.raisearg, P.checkreceive, P.checksend, P.checkstats = raisearg, checkreceive, checksend, checkstats
P.checktimeout, P.fdowners, P.rawmeta, P.SMALL = checktimeout, fdowners, rawmeta, SMALL
P.CBASE, P.NEWBASE, P.glueheld = CBASE, NEWBASE, glueheld
P.typename, P.deputed, P.reapdue, P.newtokens = typename, deputed, reapdue, newtokens
-- abandonlent abandons token t of a coroutine closed while a driver
-- waited on its behalf (asok.coroutine's forward): the driver no longer
-- holds it, so it goes back (a small token, a C token) as abandon gives
-- back any other closed coroutine's
function P.abandonlent(t)
  lent[t] = nil
  abandon(t)
end
P.ownzero, P.statsof, P.setstatsof, P.own = ownzero, statsof, setstatsof, own
