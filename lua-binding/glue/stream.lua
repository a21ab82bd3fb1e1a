-- glue/stream.lua - the stream socket calls: asok.receive, send, wrap,
-- accept, close, settimeout, setlimit, throttle_receive/throttle_send and
-- asok.sleep.
local M, P, C = ...

local WAIT, loop, ONE, RAW, UDP, Wrapper = P.WAIT, P.loop, P.ONE, P.RAW, P.UDP, P.Wrapper
local FAST, STREAM, CLIENT = P.FAST, P.STREAM, P.CLIENT
local caccept, cwait = C.accept, C.wait
local checkreceive, checksend, checktimeout = P.checkreceive, P.checksend, P.checktimeout
local fdowners = P.fdowners
local select = select
local handles, throttles, handle, checkraw = P.handles, P.throttles, P.handle, P.checkraw
local unborn, margerror = P.unborn, P.margerror
local argerror, newtoken, park, yieldable = P.argerror, P.newtoken, P.park, P.yieldable
local pcall, error = pcall, error
local udpcall, checkudparg = P.udpcall, P.checkudparg
local receive, send, close, now = C.receive, C.send, C.close, C.now
local udp_receive, udp_send, cthrottle = C.udp_receive, C.udp_send, C.throttle
local settimeout, setlimit, csleep, fdof = C.settimeout, C.setlimit, C.sleep, C.fd
local type, tostring, tonumber = type, tostring, tonumber
local rawmeta, setmetatable = P.rawmeta, setmetatable
local twins, methodof = P.twins, P.methodof

-- fast makes wrapper w of stream client raw (a class that never changes)
-- a fast one: raw under the private key FAST, asok's receive and send as
-- fields, so that w:receive() and w:send() need neither Wrapper.__index
-- nor checkraw. Other wrappers hold FAST = false (never nil: reading it
-- must not reach __index).
local function fast(w, raw)
  w[FAST], w.receive, w.send = raw, methodof.receive, methodof.send
  return w
end

-- newwrapper returns a wrapper around LuaSocket object raw of class class.
local function newwrapper(raw, class)
  local w = setmetatable({ [RAW] = raw, [FAST] = false }, Wrapper)
  if STREAM[class] then fast(w, raw) end
  return w
end

-- Tokens of the stream receives and sends: small ones (1 .. SMALL-1),
-- given back when their operation has its answer (asok no longer holds
-- them then), so the live ones stay a small dense set: waiting[] and
-- asok's token table index them (an array, not a hash; LuaJIT rehashes a
-- table whose integer keys only ever grow). A token whose operation did
-- not finish (an error raised meanwhile) is never given back, unless its
-- coroutine was closed while it waited (P.giveback). Past SMALL-1 live
-- ones, newtoken's.
local SMALL, NEWBASE, CBASE, cfree = P.SMALL, P.NEWBASE, P.CBASE, C.cfree
local glueheld = P.glueheld
local freetoks, nfree, nexttok = {}, 0, 1

-- giveback returns small token t to the free list: its operation was
-- abandoned by a coroutine closed while it waited, and cancelled
-- (core.lua's abandon).
function P.giveback(t)
  nfree = nfree + 1
  freetoks[nfree] = t
end

-- newsmall returns a token when none is free (hreceive and hsend take a
-- free one themselves, and give it back: a Lua call costs more than the
-- rest of it on 5.4).
local function newsmall()
  if nexttok < SMALL then
    local t = nexttok
    nexttok = t + 1
    return t
  end
  return newtoken()
end

-- hreceive runs asok_receive on handle h (an asok.sock or a native client)
-- until it stops waiting; with tok, a C token (CBASE up) the C methods of
-- native clients handed over (park.c), given back to them at the end, and
-- wh, the number of a native client's handle that operation waits on. A
-- WAIT answer names the handle a native client's operation waits on (b,
-- its number among the client's handles): each retry passes it back, so
-- that the operation ends as at a close if a setfd gave the client a new
-- handle meanwhile (sock.c, asok__handlefor). It lives in this frame
-- only: nothing to search per park, nothing left behind when the
-- coroutine is closed while it waits.
local function hreceive(h, pattern, prefix, tok, wh)
  if not tok then
    tok = freetoks[nfree]
    if tok then freetoks[nfree] = nil; nfree = nfree - 1 else tok = newsmall() end
  end
  local a, b, c = receive(h, pattern, prefix, tok, wh)
  while a == WAIT do
    park(tok)
    a, b, c = receive(h, pattern, prefix, tok, b)
  end
  if tok < SMALL then nfree = nfree + 1; freetoks[nfree] = tok
  elseif tok < NEWBASE or tok >= CBASE then cfree(loop, tok, false, glueheld) end
  return a, b, c
end

-- hsend runs asok_send on handle h until all is sent or it fails (tok,
-- wh and the handle a WAIT answer names: as hreceive's).
local function hsend(h, data, i, j, tok, wh)
  if not tok then
    tok = freetoks[nfree]
    if tok then freetoks[nfree] = nil; nfree = nfree - 1 else tok = newsmall() end
  end
  local a, b, c = send(h, data, i, j, tok, wh)
  while a == WAIT do
    park(tok)
    a, b, c = send(h, data, i, j, tok, b)
  end
  if tok < SMALL then nfree = nfree + 1; freetoks[nfree] = tok
  elseif tok < NEWBASE or tok >= CBASE then cfree(loop, tok, false, glueheld) end
  return a, b, c
end
P.hreceive, P.hsend = hreceive, hsend

-- The C methods (park.c): an answer with OK, else what the glue does:
-- TOK (checks), TOK and the token it waits on (the glue parks it; and the
-- number of a native client's handle it waits on), or,
-- on 5.1, someone else's values (the coroutine was resumed by someone else
-- while it waited in C: unpark gives the glue its token; on 5.2+ park.c
-- retries the operation itself then). None under LuaJIT,
-- whose JIT compiles the glue's own path: a C method is no faster there.
local creceive, csend, OK, TOK, ERR = C.fastops(loop, WAIT, P.waiting, P.parents, glueheld)
local unpark = C.unpark

-- tokenof returns the token a C method's answer k, t, wh leaves the glue
-- to wait on (nil: none, the glue takes one of its own), and the number of
-- the native client's handle that operation waits on (wh, or unpark's),
-- for hreceive and hsend. park.c noted the token in glueheld for the
-- running coroutine (not the main thread: it never dies) before it
-- returned: no error can fall between the operation's start and that
-- note (a memory error making it gives the operation up there).
local function tokenof(k, t, wh)
  if k ~= TOK then t, wh = unpark(loop, P.waiting, glueheld) end
  return t, wh
end
P.creceive, P.csend, P.OK, P.ERR, P.tokenof = creceive, csend, OK, ERR, tokenof

-- creceiveh and csendh are hreceive and hsend through the C methods first
-- (arguments checked), where there are C methods.
local creceiveh, csendh = hreceive, hsend
if creceive then
  function creceiveh(h, pattern, prefix)
    local k, a, b, c = creceive(h, pattern, prefix)
    if k == OK then return a, b, c end
    if k == ERR then error(a, 0) end -- step could not make the results (park.c)
    return hreceive(h, pattern, prefix, tokenof(k, a, b))
  end
  function csendh(h, data, i, j)
    local k, a, b, c = csend(h, data, i, j)
    if k == OK then return a, b, c end
    if k == ERR then error(a, 0) end
    return hsend(h, data, i, j, tokenof(k, a, b))
  end
end

local letgone, reborn, foldstats = P.letgone, P.reborn, P.foldstats

-- clong is C's (long) cast of a double on x86-64: truncation, and
-- LONG_MIN for NaN and what does not fit.
local function clong(x)
  if x ~= x or x >= 2 ^ 63 or x < -2 ^ 63 then return -2 ^ 63 end
  return x - math.fmod(x, 1)
end

-- unregistered is what a receive (send: sending true) on raw returns when
-- asok cannot register raw's fd (err: why). A bad fd: LuaSocket's own
-- answer (its call at a zero timeout fails as it would, or needs no I/O).
-- Else (a forked child, epoll refusing the fd) asok's error, in
-- LuaSocket's shape of a failure before any I/O: the prefix as the
-- partial result (receive), the count before the first byte (send, as
-- buffer.c computes it; a range that selects nothing succeeds).
local EBADF = "Bad file descriptor" -- asok_strerror(-EBADF), glibc's text
local function unregistered(raw, err, sending, data, i, j)
  if err == EBADF then
    if sending then return P.ownzero(raw, "send", data, i, j) end
    return P.ownzero(raw, "receive", data, i)
  end
  if not sending then return nil, err, i ~= nil and tostring(i) or "" end
  local size = #tostring(data)
  local start, stop = clong(tonumber(i) or 1), clong(tonumber(j) or -1)
  if start < 0 then start = size + start + 1 end
  if stop < 0 then stop = size + stop + 1 end
  if start < 1 then start = 1 end
  if stop > size then stop = size end
  start = start - 1 + 0.0 -- lua_pushnumber's float on 5.3 and 5.4
  if start >= stop then return start, nil, nil end -- (LuaSocket's three results)
  return nil, err, start
end

-- leftover says whether a receive on raw that asok answered with an
-- error should be LuaSocket's own: LuaSocket still buffers data for raw,
-- which its receive serves first, and register left it there: raw has no
-- fd ('closed': closed before asok first used it, or never opened), or its
-- fd is a listener (a setfd onto one; asok_unread takes no bytes there,
-- and asok's receive fails at once: ENOTCONN, EINVAL on a unix one, which
-- LuaSocket's own then meets after its buffer, never waiting).
local function leftover(raw, b)
  if rawmeta(raw) == CLIENT or (b == "closed") ~= (raw:getfd() < 0) then return false end
  local dirty = P.own(raw, "dirty")
  return dirty and dirty(raw) or false
end

-- streamreceive runs asok_receive on raw's handle until it stops waiting.
-- Not a tail call: this frame keeps raw alive while the coroutine is
-- parked (the handle does not; a collected raw would close the socket).
local function streamreceive(raw, pattern, prefix)
  local h, err = handles[raw], nil
  if not h then
    h, err = handle(raw) -- nil: asok cannot register the fd (its error)
    if not h then return unregistered(raw, err, false, pattern, prefix) end
  end
  local a, b, c = creceiveh(h, pattern, prefix)
  -- a call that waited on a handle let go meanwhile (setfd) took its
  -- bytes there after letgo folded the handle's counts: folded too
  if letgone[h] then foldstats(raw, h) end
  -- (a closed handle ends '*a' with its rest, as at EOF: a success)
  if b == "closed" or (b == nil and type(pattern) == "string" and pattern ~= "*l"
      and pattern:sub(1, 2) == "*a") then
    if reborn(raw, h) then
      -- what the closed handle gave back (the partial this call had
      -- received) is the retry's prefix, as LuaSocket's buffer serves it
      -- before its recv meets the closed fd
      local part = b == "closed" and c or a
      h, err = handle(raw, true)
      if not h then return unregistered(raw, err, false, pattern, part) end
      a, b, c = creceiveh(h, pattern, part)
    elseif b == "closed" and leftover(raw, b) then
      return P.ownzero(raw, "receive", pattern, c)
    end
  elseif a == nil and b ~= "timeout" and c == (prefix or "") and leftover(raw, b) then
    return P.ownzero(raw, "receive", pattern, prefix) -- (a listener's: asok read nothing)
  end
  return a, b, c
end

-- streamsend runs asok_send on raw's handle until all is sent or it fails
-- (not a tail call either).
local function streamsend(raw, data, i, j)
  local h, err = handles[raw], nil
  if not h then
    h, err = handle(raw)
    if not h then return unregistered(raw, err, true, data, i, j) end
  end
  local a, b, c = csendh(h, data, i, j)
  if letgone[h] then foldstats(raw, h) end -- (as streamreceive's)
  if b == "closed" and reborn(raw, h) then
    h, err = handle(raw, true)
    if not h then return unregistered(raw, err, true, data, i, j) end
    a, b, c = csendh(h, data, i, j)
  end
  return a, b, c
end

--- asok.receive(sok [, pattern [, prefix]]): LuaSocket's receive, yielding.
-- On UDP and unix datagram sockets: asok.receive(sok [, size]), one datagram.
-- (Made twice, as the entry points below that are methods too: asok's
-- function and the objects' method, whose argument errors name it from
-- the call, as LuaSocket's C methods; core.lua's twins.)
twins("receive", function(fname) return function(sok, pattern, prefix)
  local raw = rawmeta(sok) == Wrapper and sok[FAST]
  if raw then -- a fast wrapper: a stream client, no checks needed
    if prefix ~= nil or (pattern ~= nil and pattern ~= "*l" and pattern ~= "*a") then
      checkreceive(pattern, prefix) -- LuaSocket's argument errors, at the caller
    end
    return streamreceive(raw, pattern, prefix)
  end
  local w, class
  raw, w, class = checkraw(sok, fname, "tcp{client}", UDP)
  if w and STREAM[class] then fast(sok, raw) end -- a tcp{master} connected since
  if UDP[class] then
    checkudparg(pattern, 2, "receive", "number")
    return udpcall(raw, "receive", udp_receive, pattern)
  end
  if prefix ~= nil or (pattern ~= nil and pattern ~= "*l" and pattern ~= "*a") then
    checkreceive(pattern, prefix)
  end
  return streamreceive(raw, pattern, prefix)
end end)

--- asok.send(sok, data [, i [, j]]): LuaSocket's send, atomic and yielding.
-- On a udp{connected} or unixdgram{connected} socket: asok.send(sok, datagram).
twins("send", function(fname) return function(sok, ...)
  local data, i, j = ...
  local raw = rawmeta(sok) == Wrapper and sok[FAST]
  if raw then -- a fast wrapper: a stream client, no checks needed
    if type(data) ~= "string" or i ~= nil or j ~= nil then checksend(select("#", ...) + 1, data, i, j) end
    return streamsend(raw, data, i, j)
  end
  local w, class
  raw, w, class = checkraw(sok, fname, "tcp{client}", UDP)
  if w and STREAM[class] then fast(sok, raw) end -- a tcp{master} connected since
  if class == "udp{unconnected}" or class == "unixdgram{unconnected}" then
    local want = class:gsub("unconnected", "connected")
    margerror(1, "send", want .. " expected", 2)
  elseif UDP[class] then
    checkudparg(data, 2, "send", "string", select("#", ...) < 1)
    return udpcall(raw, "send", udp_send, data)
  end
  if type(data) ~= "string" or i ~= nil or j ~= nil then checksend(select("#", ...) + 1, data, i, j) end
  return streamsend(raw, data, i, j)
end end)

--- asok.wrap(sok [, timeout]): an asok wrapper around a LuaSocket object.
function M.wrap(sok, timeout)
  local raw, _, class = checkraw(sok, "wrap")
  local t = timeout
  if t ~= nil then
    t = tonumber(t)
    if not t then argerror(2, "wrap", "number expected, got " .. type(timeout), 2) end
  end
  if rawmeta(raw) == CLIENT then -- a native client is its own wrapper
    if t then settimeout(raw, t, "b") end
    return raw
  end
  -- (no handle: asok cannot register the fd; each call says why. The
  -- timeout goes through the object's settimeout as asok hooks it: to
  -- the timeouts setfd keeps for the next fd, or LuaSocket's own, which
  -- become asok's once it can)
  local h = handle(raw, true)
  if t then -- the object's timeout, asok's and LuaSocket's own
    if h then
      settimeout(h, t, "b")
      P.own(raw, "settimeout")(raw, t, "b")
    else
      raw:settimeout(t, "b")
    end
  end
  return newwrapper(raw, class)
end

-- acceptpause: listening object -> time before which its next accept waits
-- (after an error such as EMFILE, which leaves the connection queued).
local acceptpause = setmetatable({}, { __mode = "k" })
local ACCEPT_BACKOFF = 0.1

-- backoff sleeps for seconds, an accept's pause on listener h: closing h
-- ends it at once (C.pause), as it wakes an accept parked on h. Without a
-- handle, a plain sleep.
local cpause = C.pause
local function backoff(h, seconds)
  if not h then return M.sleep(seconds) end
  local tok = newtoken()
  if cpause(h, seconds, tok) ~= WAIT then return end -- closed: the retry says so
  while not park(tok) do end -- resumed early by someone else: it goes on
  cpause(h, nil, tok)
end

-- acceptq: listening object -> how many accepts wait for a connection. A
-- new accept does not try the kernel before them: it would take the
-- connection the first waiter was woken for. A count an error left too
-- high is put right by the next wait that finds no one queued (accept).
local acceptq = setmetatable({}, { __mode = "k" })

-- uncount ends one accept's wait in listener raw's count (a count put
-- right meanwhile stays at 0: never below, never an arithmetic error)
local function uncount(raw)
  local n = (acceptq[raw] or 0) - 1
  if n > 0 then acceptq[raw] = n else acceptq[raw] = nil end
end

-- the other listening class accept takes (socket.unix's stream servers)
local SERVERS = { ["unixstream{server}"] = true }

--- asok.accept(sok): LuaSocket's accept, yielding until a client arrives.
-- Returns the raw client (a wrapper if sok is a wrapper; a native client
-- for a wrapper of a TCP server), or nil, err.
twins("accept", function(fname) return function(sok)
  local raw, w, class = checkraw(sok, fname, "tcp{server}", SERVERS)
  -- a handle asok made before LuaSocket made the fd (socket.tcp()
  -- wrapped before its bind) is made anew on it
  local h, herr = handle(raw, unborn[raw])
  if not h then return nil, herr end -- asok cannot register the fd
  local tok
  local pause = acceptpause[raw]
  if pause then -- the last accept failed (EMFILE...): let the others run first
    acceptpause[raw] = nil
    if pause > now() then backoff(h, pause - now()) end
    -- setfd let go of the listener meanwhile: 'closed', as at a close
    -- (LuaSocket's accept on the new fd is not this call's)
    if letgone[h] then return nil, "closed" end
  end
  local native = w and class == "tcp{server}" -- accepts asok.client objects
  local turn = (acceptq[raw] or 0) == 0 -- nobody waits before us
  while true do
    local client, err
    if not turn then
      err = "timeout" -- others wait for a connection: wait behind them (FIFO)
    elseif native and h then client, err = caccept(h) else client, err = P.ownzero(raw, "accept") end
    -- the handle closed under raw, whose fd stays (another object's close
    -- of that fd: core.lua's sharedgone): the call goes on as receive's
    -- does, on a new handle, or fails as at its start (the fd gone: EBADF,
    -- LuaSocket's own "Bad file descriptor" there)
    if err == "closed" and native and reborn(raw, h) then
      h, herr = handle(raw, true)
      if not h then return nil, herr end
      client, err = caccept(h)
    end
    if native and client then
      fdowners[client:getfd()] = client
      return client
    end
    if client then
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
    -- asok's wait queue is FIFO, and a waiter stays in it until its
    -- retry: a wait ready at once had no one before it, so a count that
    -- said otherwise is stale (an error raised inside a wait, a debug
    -- hook's or a memory error, skipped its decrement): put right here,
    -- else every later accept would poll first
    local ok, werr, waited
    if yieldable() then
      ok, werr, waited = cwait(h, "r", tok) -- (C blocks where it finds it cannot yield)
    else
      -- the caller cannot yield (the main thread): C.wait waits itself,
      -- running the reactor (block.c), and coroutines accept meanwhile;
      -- this accept waits before them as a parked one does, so it counts
      -- until the wait ends, an error's included (no yield: pcall is
      -- safe on 5.1); its wait's end says nothing of the accepts queued
      -- behind it (waited: the count is theirs)
      acceptq[raw] = (acceptq[raw] or 0) + 1
      local done
      done, ok, werr, waited = pcall(cwait, h, "r", tok)
      uncount(raw)
      if not done then error(ok, 0) end
    end
    if ok == WAIT then
      acceptq[raw] = (acceptq[raw] or 0) + 1
      repeat -- (waitfor's loop)
        park(tok)
        ok, werr = cwait(h, "r", tok)
      until ok ~= WAIT
      uncount(raw)
    elseif ok and not waited then
      acceptq[raw] = nil
    end
    if not ok then
      if werr ~= "closed" or not reborn(raw, h) then return nil, werr end
      h, herr = handle(raw, true) -- (as above: the fd closed under the wait)
      if not h then return nil, herr end
    end
    turn = true
  end
end end)

--- asok.close(sok): wakes every coroutine parked on sok, then closes it.
twins("close", function(fname) return function(sok)
  local raw = checkraw(sok, fname)
  local h = handles[raw]
  if h then close(h) end
  return raw:close()
end end)

--- asok.settimeout(sok, seconds [, mode]): the asynchronous timeout
-- ('b' per wait, 't' for the whole call; nil or negative: no limit).
twins("settimeout", function(fname) return function(sok, t, mode)
  local raw = checkraw(sok, fname)
  if t ~= nil or mode ~= nil then checktimeout(t, mode) end -- LuaSocket's errors, at the caller
  local h = handles[raw] or handle(raw)
  if not h then
    -- asok cannot register the fd: the object's settimeout as asok hooks
    -- it keeps the value for the handle it gets once asok can (wrap)
    local one = raw:settimeout(t, mode)
    return one
  end
  local one = settimeout(h, t, mode) -- no tail call:
  -- one timeout per object: LuaSocket's own follows (not a native client's)
  if rawmeta(raw) ~= CLIENT then P.own(raw, "settimeout")(raw, t, mode) end
  return one -- LuaJIT would name the function '?' in argument errors
end end)

--- asok.setlimit(sok, n): bounds what one line ('*l') or '*a' receive on
-- sok may buffer (not LuaSocket's: off by default). A longer line, or more
-- than n bytes before close, returns nil, 'receive limit exceeded' and its
-- first n bytes as the partial result; the rest stays for the next
-- receive. n nil or 0: no limit. Returns 1.
twins("setlimit", function(fname) return function(sok, n)
  local raw = checkraw(sok, fname, "tcp{client}")
  local v = n
  if v ~= nil then
    v = tonumber(v)
    if not v or v ~= v or v < 0 then
      margerror(2, "setlimit", "non-negative number expected, got " .. (v and tostring(v) or type(n)), 2)
    end
  end
  local h, err = handles[raw], nil
  if not h then
    h, err = handle(raw)
    if not h then return nil, err end -- asok cannot register the fd
  end
  local one = setlimit(h, v or 0) -- no tail call
  return one
end end)

-- throttle limits direction dir ("r" or "w") of raw to bps bytes per
-- second (nil or 0: no limit) for asok.throttle_receive/throttle_send.
local function throttle(raw, fname, dir, bps)
  local v = bps
  if v ~= nil then
    v = tonumber(v)
    if not v or v ~= v or v < 0 then
      margerror(2, fname, "non-negative number expected, got " .. (v and tostring(v) or type(bps)), 3)
    end
  end
  local h, err = handles[raw], nil
  if not h then h, err = handle(raw) end
  if not h then return nil, err end
  local ok
  ok, err = cthrottle(h, dir, v or 0)
  -- a LuaSocket object without a socket yet (socket.tcp() before its
  -- connect, socket.udp() before its first sendto): the limit is kept for
  -- the handle its socket gets (handle() carries throttles over)
  if not ok and not unborn[raw] then return nil, err end
  local tr = throttles[raw] or {}
  throttles[raw] = tr
  tr[dir] = v ~= 0 and v or nil
  return ONE
end

--- asok.throttle_receive(sok, bps): limits what asok receives on sok to
-- bps bytes per second, measured on a monotonic clock (nil or 0: no limit).
-- A throttled receive waits on a timer, so other sockets are not slowed.
-- Returns 1, or nil and 'closed'.
twins("throttle_receive", function(fname) return function(sok, bps)
  local one, err = throttle(checkraw(sok, fname), "throttle_receive", "r", bps) -- no tail call
  if one then return one end
  return nil, err
end end)

--- asok.throttle_send(sok, bps): limits what asok sends on sok to bps
-- bytes per second (nil or 0: no limit). Returns 1, or nil and 'closed'.
twins("throttle_send", function(fname) return function(sok, bps)
  local one, err = throttle(checkraw(sok, fname), "throttle_send", "w", bps)
  if one then return one end
  return nil, err
end end)

--- asok.sleep(seconds): lets other coroutines run for seconds.
function M.sleep(...)
  local seconds = ...
  local s = tonumber(seconds)
  if not s then
    argerror(1, "sleep", "number expected, got " .. (select("#", ...) == 0 and "no value" or type(seconds)), 2)
  end
  if s ~= s then argerror(1, "sleep", "number expected, got NaN", 2) end
  local tok = newtoken()
  -- where the caller cannot yield, csleep waits itself (block.c) and
  -- returns true; else it parks here. Resumed early by someone else: the
  -- sleep goes on (its timer runs)
  if csleep(loop, s, tok, true) == WAIT then
    while not park(tok) do end
  end
end
