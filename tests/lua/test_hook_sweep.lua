-- test_hook_sweep.lua: an error raised by a debug hook at any instruction
-- of a blocked call's own Lua code (lua.c's Ctrl-C is such an error, from
-- a hook; here a count hook raises at the k-th instruction the main thread
-- runs in asok's glue, for every k until the call runs to its end, each
-- time on fresh sockets, the program catching the error with pcall) leaves
-- nothing behind: the socket works (a coroutine's call on it and the main
-- thread's next one get what comes), no call is left waiting or marked
-- blocked, and the C tokens are back (asok._debug). The call's operation
-- used to stay queued in asok when the error fell between its start and
-- the protected wait, or between that wait and its retry, holding its
-- socket's turn for ever (the next receive timed out with the data there).
-- LuaJIT runs without its JIT here: hooks do not fire in compiled code.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

if not (debug and debug.sethook and debug.getinfo) then T.done("test_hook_sweep") end
if jit then jit.off(); jit.flush() end

local INTERRUPTED = T.INTERRUPTED
-- the blocked calls' marks (0 where asok has no such count)
local blocked = asok._debug.blocked or function() return 0 end
local GUARD = 2 -- seconds: the timeout that stops a check whose socket is stuck

local interrupt = T.interrupt

-- sweep interrupts a blocked call at its 1st, 2nd, ... instruction in
-- asok's glue until it runs to its end without the hook's error: each time
-- setup() makes fresh sockets (st), call(st) is the blocked call, check(st)
-- says whether they work after it (false and why if not), then
-- cleanup(st). Every position must leave the sockets working, nothing
-- waiting or blocked, and the C tokens as they were.
local function sweep(name, setup, call, check, cleanup)
  local positions, bad, first = 0, 0, nil
  for k = 1, 10000 do
    -- what the last position's close woke ends first
    for _ = 1, 3 do asok.select(nil, nil, 0) end
    local base = asok._debug.cparked()
    local st = setup()
    local r = interrupt(k, function() return call(st) end)
    if r[1] then
      cleanup(st)
      break
    end
    positions = positions + 1
    local why
    if not tostring(r[2]):find(INTERRUPTED, 1, true) then
      why = "another error: " .. tostring(r[2])
    else
      local ok, w = check(st)
      if not ok then
        why = w
      elseif asok._debug.waits() ~= 0 then
        why = "waits: " .. asok._debug.waits()
      elseif blocked() ~= 0 then
        why = "blocked: " .. blocked()
      elseif asok._debug.cparked() ~= base then
        why = "C tokens: " .. asok._debug.cparked() - base .. " more"
      end
    end
    if why then
      bad = bad + 1
      first = first or ("at " .. k .. ": " .. why)
    end
    cleanup(st)
  end
  T.check(positions >= 20, name .. ": the hook interrupted it at", positions, "positions")
  T.eq(bad, 0, name .. ": positions that left something behind (" .. tostring(first) .. ")")
  return positions
end

-- drive runs the reactor in short steps until pred() is true, for GUARD
-- seconds at most (T.run's steps last 10 ms each).
local function drive(pred)
  local deadline = socket.gettime() + GUARD + 1
  while not pred() and socket.gettime() < deadline do asok.select(nil, nil, 0.001) end
end

-- pair returns a connected pair: a wrapper and a LuaSocket peer.
local function pair()
  local a, b = T.pair()
  return asok.wrap(a), b
end

-- lines checks the stream socket sock after the interrupted receive of
-- "hello" (consumed or not): a coroutine's receive, then the main
-- thread's, get the lines that come next.
local function lines(st)
  local sock, peer = st.sock, st.peer
  sock:settimeout(GUARD)
  local got
  asok.spawn(function() got = T.pack(sock:receive("*l")) end)
  peer:send("after1\nafter2\n")
  drive(function() return got ~= nil end)
  local mine = T.pack(sock:receive("*l"))
  local a, b = got and got[1], mine[1]
  if (a == "hello" and b == "after1") or (a == "after1" and b == "after2") then return true end
  return false, "then received " .. tostring(a) .. ", " .. tostring(b) .. " (" .. tostring(got and got[2]) .. ", "
    .. tostring(mine[2]) .. ")"
end

-- closeall closes the sockets and wrappers in st.
local function closeall(st)
  for _, s in pairs(st) do
    local t = type(s)
    if (t == "userdata" or t == "table") and getmetatable(s) then pcall(function() s:close() end) end
  end
end

-- a line that comes one step later
local function lineafter(sock, peer)
  asok.spawn(function() asok.sleep(0); peer:send("hello\n") end)
  return { sock = sock, peer = peer }
end

-- receives: a wrapper's (on PUC Lua through park.c's C method), one with
-- a prefix (the glue's path), a native client's (C tokens)
sweep("a wrapper's receive", function() return lineafter(pair()) end,
  function(st) return st.sock:receive("*l") end, lines, closeall)
sweep("a receive with a prefix", function() return lineafter(pair()) end,
  function(st) return st.sock:receive("*l", "") end, lines, closeall)
if T.nativepair then
  sweep("a native client's receive", function() return lineafter(T.nativepair()) end,
    function(st) return st.sock:receive("*l") end, lines, closeall)
end

-- a select with sets, woken by the line
sweep("a select with sets", function() return lineafter(pair()) end,
  function(st) return asok.select({ st.sock }, nil, GUARD) end,
  function(st)
    local r = asok.select({ st.sock }, nil, GUARD)
    if r[1] ~= st.sock then return false, "the next select: " .. tostring(r[1]) end
    return lines(st)
  end, closeall)

-- a send of more than the socket buffers hold (64 KiB of lines; the
-- buffers made small), read by a coroutine from the next step on: the
-- sends after it, a coroutine's then the main thread's, reach the reader
sweep("a send", function()
  local sock, peer = pair()
  sock:setoption("send-buffer-size", 4096)
  peer:setoption("recv-buffer-size", 4096)
  asok.settimeout(peer, GUARD)
  local st = { sock = sock, peer = peer, got = {} }
  asok.spawn(function()
    asok.sleep(0)
    while true do
      local l, err = asok.receive(peer, "*l")
      if not l then st.err = err; break end
      if l:sub(-5, -2) == "fter" then st.got[#st.got + 1] = l:sub(-6) end
      if l:sub(-6) == "after2" then break end
    end
    st.done = true
  end)
  return st
end, function(st) return st.sock:send(("0123456789abcde\n"):rep(4096)) end,
function(st)
  st.sock:settimeout(GUARD)
  local sent
  asok.spawn(function() sent = T.pack(st.sock:send("after1\n")) end)
  local mine = T.pack(st.sock:send("after2\n"))
  drive(function() return st.done end)
  if sent and sent[1] == 7 and mine[1] == 7 and st.got[1] == "after1" and st.got[2] == "after2" then return true end
  return false, ("sends %s, %s; read %s, %s (%s)"):format(tostring(sent and sent[1]), tostring(mine[1]),
    tostring(st.got[1]), tostring(st.got[2]), tostring(st.err))
end, function(st) st.got = nil; closeall(st) end)

-- asok.sleep
sweep("asok.sleep", function() return {} end, function() return asok.sleep(0.001) end,
  function()
    local slept = false
    asok.spawn(function() asok.sleep(0); slept = true end)
    asok.sleep(0)
    if not slept then return false, "a coroutine's sleep did not end" end
    return true
  end, closeall)

-- an accept on a wrapper of a listener (a native client), the client
-- connecting one step later: the accepts after it, a coroutine's and the
-- main thread's, take the connections that come
local function connectto(st, port)
  local c = socket.tcp()
  st.connecting = (st.connecting or 0) + 1
  asok.spawn(function()
    asok.sleep(0)
    asok.connect(c, "127.0.0.1", port)
    st.connecting = st.connecting - 1
  end)
  return c
end
sweep("an accept", function()
  local server, port = T.listener()
  local st = { sock = asok.wrap(server), port = port }
  st.c1 = connectto(st, port)
  return st
end, function(st) return st.sock:accept() end, function(st)
  st.sock:settimeout(GUARD)
  local got
  asok.spawn(function() got = T.pack(st.sock:accept()) end)
  st.c2 = connectto(st, st.port)
  drive(function() return got ~= nil end)
  st.c3 = connectto(st, st.port)
  local mine = T.pack(st.sock:accept())
  drive(function() return st.connecting == 0 end)
  st.a1, st.a2 = got and got[1], mine[1]
  if st.a1 and st.a2 then return true end
  return false, "then accepted " .. tostring(got and got[2]) .. ", " .. tostring(mine[2])
end, closeall)

-- a connect to a name (its lookup runs off the loop thread, then each of
-- its addresses in turn): the connects after it, a coroutine's and the
-- main thread's, get through
sweep("a connect to a name", function()
  local server, port = T.listener()
  return { server = server, port = port, c = socket.tcp() }
end, function(st) return asok.connect(st.c, "localhost", st.port) end, function(st)
  local got
  st.c1, st.c2 = socket.tcp(), socket.tcp()
  asok.settimeout(st.c1, GUARD)
  asok.settimeout(st.c2, GUARD)
  asok.spawn(function() got = asok.connect(st.c1, "localhost", st.port) end)
  drive(function() return got ~= nil end)
  local mine = asok.connect(st.c2, "localhost", st.port)
  if got == 1 and mine == 1 then return true end
  return false, "then connected " .. tostring(got) .. ", " .. tostring(mine)
end, closeall)

-- a datagram receive, the datagram sent one step later
sweep("a datagram receive", function()
  local u, v = assert(socket.udp()), assert(socket.udp())
  u:setsockname("127.0.0.1", 0)
  v:setsockname("127.0.0.1", 0)
  local ip, port = u:getsockname()
  asok.spawn(function() asok.sleep(0); v:sendto("hello", ip, port) end)
  return { sock = u, peer = v, ip = ip, port = port }
end, function(st) return asok.receivefrom(st.sock) end, function(st)
  asok.settimeout(st.sock, GUARD)
  local got
  asok.spawn(function() got = T.pack(asok.receivefrom(st.sock)) end)
  st.peer:sendto("after1", st.ip, st.port)
  st.peer:sendto("after2", st.ip, st.port)
  drive(function() return got ~= nil end)
  local mine = T.pack(asok.receivefrom(st.sock))
  local a, b = got and got[1], mine[1]
  if (a == "hello" and b == "after1") or (a == "after1" and b == "after2") then return true end
  return false, "then received " .. tostring(a) .. ", " .. tostring(b)
end, closeall)

-- The yielding path: a coroutine whose own hook raises inside its wait in
-- asok (the glue's: a receive with a prefix), at its k-th instruction in
-- the glue for every k, and which dies of it (its error goes to the error
-- handler): its socket works afterwards, for the coroutines that come
-- next. Between the operation's start and its park, or between its
-- wake-up and its retry, the dead coroutine's operation stayed queued,
-- holding the socket's turn for ever. Each k has its own coroutine and
-- sockets, all at once (the count of instructions does not depend on k);
-- the reactor then runs for REAPS reaps (an operation that never came to
-- its park is cancelled once its delivery has waited a whole reap).
do
  -- the loop's own reaps to wait for: 2.2 s of them once a second (two,
  -- or three), now counted (T.reaped: the period shortened meanwhile)
  local REAPS = 3
  local cases, byco = {}, {}
  local errors = 0
  asok.seterrorhandler(function(msg)
    if tostring(msg):find(INTERRUPTED, 1, true) then errors = errors + 1 end
  end)
  local function hook()
    local c = byco[coroutine.running()]
    if not c or c.fired then return end
    local info = debug.getinfo(2, "S")
    if not (info and info.short_src:sub(1, 5) == "asok/") then return end
    c.n = c.n + 1
    if c.n == c.k then c.fired = true; error(INTERRUPTED) end
  end
  -- start starts case c: its coroutine waits in its receive (the hook set)
  local function start(c)
    c.co = coroutine.create(function() return c.sock:receive("*l", "") end)
    byco[c.co] = c
    if jit then debug.sethook(hook, "", 1) else debug.sethook(c.co, hook, "", 1) end
    local ok, err = coroutine.resume(c.co)
    if not ok and tostring(err):find(INTERRUPTED, 1, true) then errors = errors + 1 end
  end
  -- a dry run counts the instructions of the whole receive (k never met)
  local dry = { k = math.huge, n = 0 }
  dry.sock, dry.peer = pair()
  start(dry)
  dry.peer:send("hello\n")
  drive(function() return coroutine.status(dry.co) == "dead" end)
  if jit then debug.sethook() end
  local total = dry.n
  closeall({ dry.sock, dry.peer })
  for k = 1, total do
    local c = { k = k, n = 0 }
    c.sock, c.peer = pair()
    cases[k] = c
    start(c)
  end
  for k = 1, total do cases[k].peer:send("hello\n") end
  T.check(T.reaped(REAPS), "a coroutine's receive: the loop reaped")
  if jit then debug.sethook() end
  -- each socket: a coroutine's receive gets what comes (hello, if the dead
  -- one did not take it, then after)
  local stuck, first, pending = 0, nil, total
  for k = 1, total do
    local c = cases[k]
    c.sock:settimeout(GUARD)
    asok.spawn(function()
      local l, err = c.sock:receive("*l")
      if l == "hello" then l, err = c.sock:receive("*l") end
      if l ~= "after" then
        stuck = stuck + 1
        first = first or ("at " .. k .. ": " .. tostring(err))
      end
      pending = pending - 1
    end)
    c.peer:send("after\n")
  end
  drive(function() return pending == 0 end)
  T.check(total >= 20, "a coroutine's receive: the dry run counted", total, "instructions")
  T.eq(errors, total, "a coroutine's receive: each coroutine died of the hook's error")
  T.eq(stuck, 0, "a coroutine's receive: sockets left stuck after its coroutine died (" .. tostring(first) .. ")")
  for k = 1, total do closeall({ cases[k].sock, cases[k].peer }) end
  asok.seterrorhandler(nil)
  -- dropped (5.1 keeps a finished block's locals on the stack: T.done
  -- counts the live handles)
  cases, byco, dry = nil, nil, nil
end

-- A coroutine whose own hook raises at its k-th call or return event (C
-- functions' events too) in its receive on a native client, for every k,
-- the error ending it, where park.c hands its C token to the glue and
-- notes it in the glue's glueheld (hold, through a C function it calls):
-- one that asok.coroutine.wrap runs from the main thread (it could yield,
-- its driver cannot), on 5.1 one parked in C that someone else resumes
-- (unpark; on 5.2+ park.c retries in C, no note), and on 5.1 asok.xpcall's
-- helper coroutine. A hook's error
-- at that function's return came after the note, and the token was given
-- back with the note left: the next operation to take the token (B, a
-- receive parked in C on another client, started right after) had it
-- cancelled and its record freed by the reap once the dead coroutine's
-- note was seen, and B waited for ever with its line there. Every note
-- must name a token in use (C tokens held: as many as notes at least),
-- and each B gets its line after two reaps. glueheld is found through the
-- glue's upvalues (only PUC Lua uses it: LuaJIT has no C methods).
do
  -- the loop's own reaps to wait for: 2.2 s of them once a second (two,
  -- or three), now counted (T.reaped: the period shortened meanwhile)
  local REAPS = 3
  local glueheld
  local seen = {}
  local function walk(f, depth)
    if glueheld or seen[f] or depth > 6 then return end
    seen[f] = true
    for i = 1, 255 do
      local name, v = debug.getupvalue(f, i)
      if not name then break end
      if name == "glueheld" and type(v) == "table" then glueheld = v; return end
      if type(v) == "function" then walk(v, depth + 1) end
    end
  end
  for _, f in pairs(asok) do if type(f) == "function" then walk(f, 0) end end
  T.check(glueheld ~= nil, "held C tokens: found the glue's glueheld")
  glueheld = glueheld or {}
  local function notes()
    local n = 0
    for _ in pairs(glueheld) do n = n + 1 end
    return n
  end
  -- hooked sets on coroutine co a hook that raises at its k-th
  -- call or return event (none with k = math.huge) and counts them in c.n;
  -- unhook takes it off
  local function hooked(co, k, c)
    local function hook()
      if coroutine.running() ~= co then return end -- (LuaJIT's hooks are global)
      c.n = c.n + 1
      if c.n == k then
        if jit then debug.sethook() else debug.sethook(co) end
        error(INTERRUPTED)
      end
    end
    if jit then debug.sethook(hook, "cr") else debug.sethook(co, hook, "cr") end
  end
  local function unhook(co)
    if jit then debug.sethook() else debug.sethook(co) end
  end
  -- driven: the receive in a coroutine asok.coroutine.wrap runs from the
  -- main thread (returns once it is done). Each case returns its
  -- coroutine and what its receive gave.
  local function driven(k, sock, c)
    local co
    local f = asok.coroutine.wrap(function()
      co = coroutine.running()
      hooked(co, k, c)
      local l, err = sock:receive("*l")
      unhook(co)
      return l, err
    end)
    local r = T.pack(pcall(f))
    if jit then debug.sethook() end
    return co, r[1] and r[2]
  end
  -- foreign: the receive parks (in C), then the main thread resumes it
  local function foreign(k, sock, c)
    local got
    local co = coroutine.create(function()
      got = sock:receive("*l")
      unhook(coroutine.running())
    end)
    coroutine.resume(co)
    hooked(co, k, c)
    coroutine.resume(co, "someone else")
    if jit then debug.sethook() end
    drive(function() return coroutine.status(co) == "dead" end)
    return co, got
  end
  -- viaxpcall: the receive inside asok.xpcall in a coroutine (on 5.1 a
  -- helper coroutine runs it: a driver, as asok.coroutine's)
  local function viaxpcall(k, sock, c)
    local got, done
    asok.spawn(function()
      local ok, l = asok.xpcall(function()
        local co = coroutine.running()
        hooked(co, k, c)
        local l = sock:receive("*l")
        unhook(co)
        return l
      end, function(e) return e end)
      got, done = ok and l, true
    end)
    drive(function() return done end)
    return nil, got
  end
  asok.seterrorhandler(function() end) -- the hook's error, after a resume by asok
  -- heldsweep runs case at every k, least events at least (on 5.2+ a
  -- foreign resume of a receive parked in C is retried in C: few events)
  local function heldsweep(name, case, least)
    local dry = lineafter(T.nativepair())
    local c = { n = 0 }
    local _, got = case(math.huge, dry.sock, c)
    local total = c.n
    T.check(got == "hello", name .. ": the dry run got", tostring(got))
    closeall(dry)
    local bs, stale, firststale = {}, 0, nil
    for _ = 1, 3 do asok.select(nil, nil, 0) end
    local base = asok._debug.cparked()
    for k = 1, total do
      for _ = 1, 3 do asok.select(nil, nil, 0) end
      local st = lineafter(T.nativepair())
      case(k, st.sock, { n = 0 })
      -- every note names a token in use (one held for a dead coroutine
      -- until the reap: docs/reliability.md, Open), not one of the Bs'
      -- (each B holds one on PUC Lua, none noted)
      local held = asok._debug.cparked() - base - (jit and 0 or #bs)
      if notes() > held then
        stale = stale + 1
        firststale = firststale or ("at " .. k .. ": " .. notes() .. " notes, " .. held .. " C tokens held")
      end
      -- B takes the next free C token
      local b = {}
      b.sock, b.peer = T.nativepair()
      b.sock:settimeout(GUARD + 2.2) -- (the 2.2 s the reaps took once)
      asok.spawn(function() b.got = T.pack(b.sock:receive("*l")) end)
      bs[#bs + 1] = b
      closeall(st)
    end
    T.check(T.reaped(REAPS), name .. ": the loop reaped")
    for i = 1, #bs do bs[i].peer:send("after\n") end
    drive(function()
      for i = 1, #bs do if not bs[i].got then return false end end
      return true
    end)
    local stuck, first = 0, nil
    for i = 1, #bs do
      local got = bs[i].got
      if not (got and got[1] == "after") then
        stuck = stuck + 1
        first = first or ("at " .. i .. ": " .. (got and T.showpack(got) or "still waiting"))
      end
      closeall({ bs[i].sock, bs[i].peer })
    end
    T.check(total >= least, name .. ": the dry run counted", total, "events")
    T.eq(stale, 0, name .. ": positions with notes of tokens given back (" .. tostring(firststale) .. ")")
    T.eq(stuck, 0, name .. ": receives on the next token left waiting (" .. tostring(first) .. ")")
    T.run(function() return notes() == 0 and asok._debug.cparked() == base end, 2)
    T.eq(notes(), 0, name .. ": glueheld empty at the end")
    T.eq(asok._debug.cparked(), base, name .. ": C tokens in use at the end")
  end
  heldsweep("a driven coroutine's receive", driven, 20)
  heldsweep("a receive resumed by someone else", foreign, 5)
  heldsweep("a receive in asok.xpcall", viaxpcall, 5)
  asok.seterrorhandler(nil)
end

T.eq(asok._debug.waits(), 0, "nothing waits at the end")
if jit then jit.on() end
T.done("test_hook_sweep")
