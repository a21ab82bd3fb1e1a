-- glue/select.lua - asok.select: running the reactor, and LuaSocket's
-- socket.select on socket sets while other coroutines keep running.
local M, P, C = ...

local WAIT, loop, ONE, RAW, Wrapper = P.WAIT, P.loop, P.ONE, P.RAW, P.Wrapper
local handles, probes, waiting = P.handles, P.probes, P.waiting
local argerror, newtoken, step, yieldable, reapdue = P.argerror, P.newtoken, P.step, P.yieldable, P.reapdue
local newtokens = P.newtokens
local park = P.park
local classof, patch, handle = P.classof, P.patch, P.handle
local CLIENT, fdowners, rawmeta = P.CLIENT, P.fdowners, P.rawmeta
local close, newsock, fdof, buffered = C.close, C.newsock, C.fd, C.buffered
local cwaitset, unwait, cpolls = C.waitset, C.unwait, C.polls
local running = coroutine.running
local now, csleep, cancel = C.now, C.sleep, C.cancel
local type, tostring, tonumber = type, tostring, tonumber
local rawget, next = rawget, next
local yield = coroutine.yield

-- REAP_AFTER: seconds asok.select() without a timeout waits for a token
-- at most before it looks for closed coroutines among the waiting ones
local REAP_AFTER = 1

-- unwatchable answers for obj (raw: the object behind it) in set argn,
-- whose fd asok cannot watch (a bad fd): true if it is in the read set
-- with data buffered (socket.select returns such an object whatever its
-- fd: check_dirty comes first), else false (selectsets decides: see
-- there).
local NOTSOCK = "Socket operation on non-socket" -- asok_strerror(-ENOTSOCK), glibc's text
local EXISTS = "File exists" -- asok_strerror(-EEXIST): epoll has the fd under another handle
-- SHARED: watcher's answer for an object that only shares the fd of a
-- socket asok handles (its handle is that socket's: it counts what asok
-- buffered there, and it ends with the socket's setfd): polled as NOTSOCK's
local SHARED = {}
local POLL_TICK = 0.01 -- how often asok.select looks at fds it polls
local INTMAX = 2 ^ 31 -- past the largest fd: C's int (LuaSocket's t_socket)

local function unwatchable(raw, argn)
  return argn == 1 and type(raw.dirty) == "function" and raw:dirty() and true or false
end

-- watcher returns the asok handle asok.select watches obj (a LuaSocket
-- object, a wrapper or anything with getfd/dirty methods) with, whether it
-- holds buffered data (LuaSocket's dirty(), asked of the read set only,
-- as socket.select's check_dirty does), and its fd; nil for an object
-- without a valid fd (LuaSocket's select skips those); for one whose fd
-- asok cannot watch (unwatchable), true (no handle) if dirty, else false
-- and the error. An object asok does not handle yet gets a watcher only:
-- its LuaSocket timeout and buffer are left alone. An object whose fd
-- another object's handle has (a table whose getfd gives a socket's fd, a
-- LuaSocket object or native client given it by setfd) is not watched
-- through that handle: its read look would count what asok buffered for
-- the other (the fd empty), and a setfd of the other (LuaSec's wrap) would
-- end it with the fd open; socket.select asks the object's own dirty()
-- and polls the fd. It is polled (unwatchable, error SHARED), as a pipe.
local function watcher(obj, argn)
  local raw = obj
  if rawmeta(obj) == Wrapper then raw = rawget(obj, RAW) end
  local t = type(raw)
  if t == "string" then return nil end -- LuaSocket finds no getfd on it: skipped
  if t ~= "userdata" and t ~= "table" then
    argerror(argn, "select", "socket expected in set, got " .. t, 5)
  end
  if type(raw.getfd) ~= "function" then return nil end
  local fd = tonumber(raw:getfd())
  -- LuaSocket's getfd takes a number >= 0 (not NaN) and casts it to an
  -- int: one past int's range (math.huge too) is skipped here, as fd -1
  -- is (there the cast is undefined: FD_SET aborts)
  if not fd or not (fd >= 0 and fd < INTMAX) then return nil end
  fd = fd - fd % 1 -- LuaSocket's (t_socket) cast of a fractional fd
  local h = handles[raw] or (rawmeta(raw) == CLIENT and raw)
  local probe = false -- h is raw's own probe: asok never reads through it
  if h then
    local hfd, err = fdof(h)
    -- a native client setfd gave an fd asok cannot register: as a
    -- wrapper's (collect: one that is not a socket is polled); one that
    -- another object's handle has: polled too (SHARED)
    if err then
      local other = fdowners[fd]
      if err == EXISTS and other and other ~= h and fdof(other) == fd then err = SHARED end
      return unwatchable(raw, argn), true, fd, err
    end
    if hfd ~= fd then
      local err
      h, err = handle(raw, true)
      if not h then return unwatchable(raw, argn), true, fd, err end -- (dirty: no handle needed)
    end
  else
    h = probes[raw]
    if h and fdof(h) ~= fd then P.retire(h); h = nil end
    probe = h and true or false
    if not h then
      local err
      -- the keys first: the handle, once registered, must be recorded
      -- without an allocation (a memory error would orphan it, and the fd
      -- would be "File exists" to every select until it was collected)
      probes[raw] = false
      if fdowners[fd] == nil then fdowners[fd] = false end
      h, err = newsock(loop, fd, probes, raw) -- stored there in C: no hook between
      if h then
        fdowners[fd] = h
        probe = true
        -- its close (and __gc, setfd) must let go of the watcher first: a
        -- closed fd leaves epoll without an event, and a select waiting on
        -- it would never wake. LuaSocket's classes, and other userdata
        -- such as LuaSec's connections (whose close closes the fd)
        if classof(raw) or type(raw) == "userdata" then patch(rawmeta(raw)) end
      else -- the fd is watched already, under another object: polled
        local other = fdowners[fd]
        if other and fdof(other) == fd then err = SHARED end
        return unwatchable(raw, argn), true, fd, err
      end
    end
  end
  if argn ~= 1 then return h, false, fd end
  -- (a probe holds no data: only a handle asok receives through does)
  local dirty = not probe and buffered(h)
  if not dirty and type(raw.dirty) == "function" then dirty = raw:dirty() and true or false end
  return h, dirty, fd
end

-- A select's entries (selectsets) are parallel arrays, not a table each:
-- entry i is the object objs[i], watched through handle hs[i] (false for
-- an fd asok cannot register, a pipe, a tty, a file: polled), on fd
-- fds[i]; the read set's first (1 .. nr), then the write set's; token
-- base + i - 1 (one block: P.newtokens); st[i] its state after the last
-- C.waitset: 0 not ready, 1 ready, 2 parked; gens[i], for an entry
-- watched through a native client, the number of its handle at the first
-- C.waitset (which notes it, and makes the entry ready once the client
-- has another: waitset.c's moved). An object of the read set with data
-- buffered (dirty) has no entry: it leads the answer (rout).
-- E holds them: objs, hs, fds, st, n, nr, base, rout, ndirty, polled, gens.

-- collect adds an entry to E per watchable object of set (argument argn:
-- 1 read, 2 write), or to rout if it is dirty, and one per object whose
-- fd asok cannot watch to bad (with the error).
local function collect(set, argn, E, bad)
  if set == nil then return end
  if type(set) ~= "table" then argerror(argn, "select", "table expected, got " .. type(set), 4) end
  local objs, hs, fds, rout = E.objs, E.hs, E.fds, E.rout
  local n, ndirty = E.n, E.ndirty
  local i = 1
  while true do
    local obj = set[i]
    if obj == nil then break end
    local h, dirty, fd, err = watcher(obj, argn)
    if h then
      if dirty then
        ndirty = ndirty + 1
        rout[ndirty] = obj
        local dfds = E.dfds or {} -- (made only when an object is dirty)
        dfds[fd], E.dfds = true, dfds
      else
        n = n + 1
        objs[n], hs[n], fds[n] = obj, h, fd
      end
    elseif h == false and (err == NOTSOCK or err == SHARED) then -- a pipe, a tty, a file: polled (waitset.c)
      n = n + 1
      objs[n], hs[n], fds[n] = obj, false, fd
      E.polled = true
    elseif h == false then
      bad[#bad + 1] = { obj = obj, fd = fd, argn = argn, err = err }
    end
    i = i + 1
  end
  E.n, E.ndirty = n, ndirty
end

-- hide drops the read set's entries, and its objects asok cannot watch
-- (bad), on the fd of an object of the read set found dirty (E.dfds): as
-- socket.select's check_dirty clears that fd from select(2)'s read set
-- (FD_CLR), only the dirty objects are listed for it, whatever another
-- object on that fd (a table whose getfd gives it) would poll. The write
-- set keeps it.
local function hide(E, bad)
  if not E.dfds then return end
  local dfds, objs, hs, fds, gens = E.dfds, E.objs, E.hs, E.fds, E.gens
  local n, j = E.n, 0
  for i = 1, n do
    if not dfds[fds[i]] then
      j = j + 1
      objs[j], hs[j], fds[j] = objs[i], hs[i], fds[i]
    end
  end
  for i = j + 1, n do objs[i], hs[i], fds[i], gens[i] = nil, nil, nil, nil end
  E.n = j
  local k = 0
  for i = 1, #bad do
    local b = bad[i]
    bad[i] = nil
    if not (b.argn == 1 and dfds[b.fd]) then k = k + 1; bad[k] = b end
  end
end

-- arm asks asok whether each entry of E is ready now (st[i] 1) or parks
-- its token (st[i] 2), and returns how many are ready: C.waitset, one
-- poll(2) for the whole set (asok_waitset) and one for its polled fds. A
-- socket closed while the select waited (its token was delivered by the
-- close) is ready: its receive or send answers 'closed' at once, and the
-- select must not wait for it forever; so is one on a native client that
-- setfd moved meanwhile (gens). The wait is a look (ASOK_LOOK):
-- untimed, as a select waits on a socket whatever the socket's own
-- timeout (zero: a poll that never parks), for as long as the select
-- waits; woken with every other select on the socket, before its
-- receive or accept, and holding back none of them.
local function arm(E)
  -- (not a tail call: a debug hook sees arm return, test_early_delivery)
  local nready = cwaitset(loop, E.base, E.n, E.nr, E.hs, E.fds, E.st, E.gens)
  return nready
end

-- readylist returns LuaSocket's result table for the entries i0 .. i1 of
-- E that are ready (all of them if all is true), and those of extra (the
-- objects whose fd asok cannot watch, each {obj =, fd =}), after out's
-- first n (dirty) objects: by ascending fd, one object per fd (the last
-- one given), plus the object -> index part (make_assoc).
local function readylist(E, i0, i1, all, extra, out, n)
  local objs, fds, st = E.objs, E.fds, E.st
  local byfd, list = {}, {}
  for i = i0, i1 do
    if all or st[i] == 1 then
      local fd = fds[i]
      if not byfd[fd] then list[#list + 1] = fd end
      byfd[fd] = objs[i]
    end
  end
  if extra then
    for i = 1, #extra do
      local e = extra[i]
      if not byfd[e.fd] then list[#list + 1] = e.fd end
      byfd[e.fd] = e.obj
    end
  end
  table.sort(list)
  for i = 1, #list do out[n + i] = byfd[list[i]] end
  for i = 1, #out do out[out[i]] = i * ONE end
  return out
end

-- waits says whether a coroutine or a blocked call waits in asok: a
-- waiting[] entry other than a mark of a token delivered when no one
-- waited (step.c: false; here, between steps, no park is left to take
-- it: a select that returned before the rest of its batch came, say)
-- (countwaits counts them, up to limit)
local function countwaits(limit)
  local n = 0
  for _, w in pairs(waiting) do
    if w ~= false then
      n = n + 1
      if n >= limit then break end
    end
  end
  return n
end
local function waits() return countwaits(1) > 0 end
M._debug.waits = function() return countwaits(math.huge) end
M._debug.polls = function() return cpolls(loop) end

-- release ends the waits of a select's entries (E): C.unwait. The
-- tokens are the select's own: after the cancel (a parked one) or the
-- drop of a delivery step has fetched but not dispatched (one whose retry
-- found it ready), nothing delivers them, and a delivery that came while
-- no group noted the token (a finalizer or a hook that ran the reactor)
-- left a mark no park will take (waiting[t] = false): gone with them, not
-- left for reap (asok.select() without a timeout walks them each step).
-- The zero sleep runs it too, before it sleeps (waitsets).
local function release(E)
  unwait(loop, E.base, E.n, E.st, waiting)
end

-- innerof returns the coroutine running a select that waits on root's
-- behalf (root a driver: asok.coroutine, asok.xpcall on 5.1), else nil: a
-- group notes it, so that its tokens go when it is closed while its
-- driver lives (reap, step.c's wakegroup)
local function innerof(root)
  local co = running()
  if co ~= root then return co end
  return nil
end

-- left is what remains of a select's timeout t (seconds) after the time
-- since start (now()'s; nil: t has no deadline to count, as it is), at
-- least 0: the timeout of a select read anew after its turn.
local function left(t, start)
  if not start then return t end
  local r = t - (now() - start)
  return r > 0 and r or 0
end

-- snapshot returns a copy of set's entries, 1 up to its first nil (nil
-- for nil): the sets as the select was given them, for its read anew
-- after the other coroutines' turn (selectsets). socket.select reads them
-- once, with no one running in between: a coroutine that empties or
-- changes a set in the turn (it took the socket's line, and dropped the
-- socket from the set) must not change what this select waits on (it
-- waited on nothing then, for ever with no timeout).
local function snapshot(set)
  if set == nil then return nil end
  local copy, i = {}, 1
  while true do
    local obj = set[i]
    if obj == nil then return copy end
    copy[i] = obj
    i = i + 1
  end
end

-- stale says whether an object of E's read set that was dirty (rout) is
-- no longer, or no longer watchable: another coroutine took its buffered
-- data (or closed it) in the turn a ready select gives them. It has no
-- entry, so the sets are read anew (selectsets).
local function stale(E)
  local rout = E.rout
  for i = 1, E.ndirty do
    local h, dirty = watcher(rout[i], 1)
    if not (h and dirty) then return true end
  end
  return false
end

-- unshare turns the entries of E watched through a watcher another
-- socket adopted while the select waited (core.lua's adopt: the watcher
-- is that socket's handle now) into polled ones, as watcher makes them
-- for a select begun after the adoption (SHARED): its look would count
-- what asok buffers for that socket, and end with its setfd. A parked
-- token is cancelled (nothing else would: its state is not parked any
-- more). Returns whether any entry turned.
local function unshare(E)
  local objs, hs, st, base, any = E.objs, E.hs, E.st, E.base, false
  local adopted = P.adopted
  for i = 1, E.n do
    local h = hs[i]
    if h and adopted[h] then
      local raw = objs[i]
      if rawmeta(raw) == Wrapper then raw = rawget(raw, RAW) end
      if handles[raw] ~= h then
        if st[i] == 2 then cancel(loop, base + i - 1) end
        hs[i], st[i], any = false, 0, true
      end
    end
  end
  if any then E.polled = true end
  return any
end

-- waitsets is the wait of selectsets for the entries of E (ndirty objects
-- of the read set buffered), up to t seconds (nil or negative: no limit):
-- it arms them and waits until one is ready, and returns how many are, or
-- -1 where the sets must be read anew after the other coroutines' turn
-- (stale: nothing is left parked then). turned: that turn was given
-- already (a select read anew): one found ready answers at once.
-- st: where the caller cannot yield, st.stok is the timeout's token while
-- one is armed (released if an error cuts the wait short).
local function waitsets(E, ndirty, t, st, turned)
  local deadline = t and t >= 0 and now() + t or nil
  local polled = E.polled
  local n, base, est = E.n, E.base, E.st
  local adoptions = P.adoptions
  local nready = arm(E)
  if (ndirty > 0 or nready > 0) and not turned then
    -- ready at once: the other coroutines' turn first (a zero sleep: a
    -- yield, or in a thread that cannot yield a step of the reactor), then
    -- the answer as it is after it. A loop on a select whose socket stays
    -- ready (a listener while accept fails with EMFILE) would otherwise
    -- never let them run, and they may be the ones that would change that
    -- (close their clients).
    -- The waits parked above are let go first (release): they are looks
    -- (waitset.c), which hold back no one, but one parked through the
    -- sleep would be delivered for no one, and, if this coroutine was
    -- closed in its sleep, stay parked until reap or a delivery cancelled
    -- it. The retry below arms each anew: the sleep holds nothing that a
    -- close could leave behind.
    -- A dirty object's answer is its buffer's after the turn too: one
    -- that a receive emptied meanwhile is watched as any other (the sets
    -- read anew; its entry, which it lacked, is armed), as socket.select
    -- answers for the buffer as it is.
    release(E)
    local ptok = newtoken()
    csleep(loop, 0, ptok)
    while not park(ptok) do end
    if ndirty > 0 and stale(E) then
      for i = 1, n do est[i] = 0 end -- (nothing parked: released above)
      return -1
    end
    if P.adoptions ~= adoptions then -- (adopted in the turn)
      adoptions = P.adoptions
      if unshare(E) then polled = true end
    end
    nready = arm(E)
  end
  while ndirty == 0 and nready == 0 do
    -- g: the group step.c's wakegroup wakes; base, n: its tokens (and
    -- stok, the timeout's), which it cancels all at once when the select
    -- can no longer go on (its coroutine dead, or left behind by a driver
    -- closed in between: back unset after the owner's resume)
    local g, stok = { fired = false, back = false, base = base, n = n, stok = false }, nil
    for i = 1, n do
      if est[i] == 2 then
        local tok = base + i - 1
        -- delivered before this (a finalizer ran the reactor: step.c)
        if waiting[tok] == false then g.fired = true end
        waiting[tok] = g
      end
    end
    if not g.fired then -- else no wait: the retries below see it
      if deadline or polled then
        -- an fd asok cannot register (polled: a pipe, a tty) is looked at
        -- again every POLL_TICK
        local d = deadline and deadline - now()
        if polled and not (d and d < POLL_TICK) then d = POLL_TICK end
        stok = newtoken()
        if st then st.stok = stok end -- first: an error after the csleep cancels it
        csleep(loop, d, stok)
        waiting[stok], g.stok = g, stok
      end
      local root = yieldable()
      if root then
        g.co, g.owner, g.inner = root, root, innerof(root)
        yield(WAIT)
        g.back = true -- (wakegroup: the owner's resume came back here)
      else
        while not g.fired do step(-1); reapdue() end
      end
      g.co = nil
    end
    if stok then waiting[stok] = nil; cancel(loop, stok); if st then st.stok = nil end end
    -- each entry retries with its own token (a look's retry: ready, or
    -- parked again, as the socket polls now)
    for i = 1, n do
      local tok = base + i - 1
      if waiting[tok] ~= nil then waiting[tok] = nil end -- (5.1-5.3 add a key for nil)
    end
    if P.adoptions ~= adoptions then -- (rare: one field read a wake)
      adoptions = P.adoptions
      if unshare(E) then polled = true end
    end
    nready = arm(E)
    if deadline and now() >= deadline then break end
  end
  return nready
end

-- blockedsets is waitsets then the release of the entries' tokens, for a
-- caller that cannot yield (selectsets runs it protected; st: as
-- waitsets'). Returns how many entries are ready.
local function blockedsets(E, ndirty, t, st, turned)
  local n = waitsets(E, ndirty, t, st, turned)
  release(E)
  return n
end

-- selectsets is asok.select with socket sets: socket.select's results for
-- the calling thread while the reactor keeps the other coroutines running.
-- turned: the other coroutines had their turn in this select already, and
-- the sets are read anew (waitsets' -1).
local function selectsets(rset, wset, t, turned)
  local E = { objs = {}, hs = {}, fds = {}, st = {}, gens = {}, n = 0, nr = 0, rout = {}, ndirty = 0, polled = false }
  local bad = {}
  collect(rset, 1, E, bad)
  hide(E, bad)
  E.nr = E.n
  collect(wset, 2, E, bad)
  local ndirty, rout = E.ndirty, E.rout
  if #bad > 0 then
    -- an fd asok cannot watch: socket.select's select(2) fails ("select
    -- failed"; here an error naming the object), unless an object of the
    -- read set has data buffered: then LuaSocket returns the sets as it
    -- passed them, every object listed ready
    local b = bad[1]
    if ndirty == 0 then
      -- (turned: one level deeper, the select's first selectsets below)
      argerror(b.argn, "select", "cannot watch " .. tostring(b.obj) .. ": " .. tostring(b.err), turned and 4 or 3)
    end
    local rbad, wbad = {}, {}
    for i = 1, #bad do
      local e = bad[i]
      if e.argn == 1 then rbad[#rbad + 1] = e else wbad[#wbad + 1] = e end
    end
    -- ready at once: the other coroutines' turn first, as below, and the
    -- answer as the buffers are after it: if a dirty object's was taken
    -- meanwhile, the sets are read anew (then, without it, the error
    -- above; with another object dirty, every one ready), as waitsets'
    -- -1; once (turned: the turn was given already)
    if not turned then
      local start = t and t > 0 and now()
      rset, wset = snapshot(rset), snapshot(wset)
      local ptok = newtoken()
      csleep(loop, 0, ptok)
      while not park(ptok) do end
      if stale(E) then
        local r, w, e = selectsets(rset, wset, left(t, start), true) -- (not a tail call: below)
        return r, w, e
      end
    end
    return readylist(E, 1, E.nr, true, rbad, rout, ndirty), readylist(E, E.nr + 1, E.n, true, wbad, {}, 0)
  end
  E.base = newtokens(E.n)
  local nready
  -- only a dirty object can have the sets read anew (waitsets' -1): its
  -- start, and the sets as given, are kept for that alone (the common
  -- path makes no C call more)
  local start
  if ndirty > 0 and not turned then
    start = t and t > 0 and now()
    rset, wset = snapshot(rset), snapshot(wset)
  end
  if yieldable() then
    nready = waitsets(E, ndirty, t, nil, turned)
    release(E)
  else
    -- the caller cannot yield, so the wait runs the reactor here: the wait
    -- and the release of its tokens run under one protected call, and an
    -- error raised anywhere in it (a debug hook's: lua.c's Ctrl-C in the
    -- main thread, caught by the program) releases the select's tokens
    -- before it goes on (they stayed parked for ever, and asok.select()
    -- waited on them). The release comes first, and nothing before it
    -- allocates: a memory error is the usual reason to be here, and the
    -- next allocation fails too (waiting[stok] = nil adds a key on Lua
    -- 5.1-5.3 where the timeout's token was not noted yet)
    local st = {}
    local ok, n = pcall(blockedsets, E, ndirty, t, st, turned)
    if not ok then
      release(E)
      local stok = st.stok
      if stok then
        cancel(loop, stok)
        if waiting[stok] ~= nil then waiting[stok] = nil end
      end
      error(n, 0)
    end
    nready = n
  end
  if nready < 0 then -- read anew, the turn given (the timeout what is left of it)
    -- not a tail call: Lua 5.1 counts a tail call's lost frame as a level,
    -- and the error above (an object whose fd was closed, or moved by
    -- setfd, in the turn) named select.lua's line there, not the caller's
    local r, w, e = selectsets(rset, wset, left(t, start), true)
    return r, w, e
  end
  if ndirty == 0 and nready == 0 then return {}, {}, "timeout" end
  local r = readylist(E, 1, E.nr, false, nil, rout, ndirty)
  local w = readylist(E, E.nr + 1, E.n, false, nil, {}, 0)
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
  end
  if rset ~= nil or wset ~= nil then
    -- socket.select polls once with a NaN timeout (its wait works out to 0)
    if t ~= t then t = 0 end
    local r, w, e = selectsets(rset, wset, t)
    if e then return r, w, e end
    return r, w
  end
  -- NaN would never reach its deadline: the loop would spin forever
  if t ~= t then argerror(3, "select", "number expected, got NaN", 2) end
  if t == nil or t < 0 then
    -- once a second, busy or idle: drop the waits of coroutines closed
    -- meanwhile, which would otherwise keep this loop going (idle) or
    -- pile up (busy)
    while waits() do
      step(REAP_AFTER)
      reapdue()
    end
  else
    -- the same clean-up in the usual `while true do asok.select(nil, nil,
    -- 1) end` loop, and in a longer select (its waits are cut in seconds)
    local deadline = now() + t
    repeat
      local left = deadline - now()
      step(left > REAP_AFTER and REAP_AFTER or left > 0 and left or 0)
    until reapdue() >= deadline
  end
  return nil, "timeout"
end
