-- test_select_buffered.lua: a select waiting on a socket sees the data a
-- receive made meanwhile left buffered there, as socket.select sees
-- LuaSocket's buffer (check_dirty): the socket is readable, and the
-- select returns it, however the data got into the buffer. Here a
-- receive on another coroutine takes one line of two, and leaves the
-- second buffered with the fd empty:
-- 1. a select in the main thread (it runs the whole step, the receive
--    included, before it looks again): it waited until its timeout with
--    the line there, on every build before this test;
-- 2. a coroutine's select, and a receive made after the data arrived and
--    before the reactor's next step: that step saw no edge (the fd was
--    empty by then), and the select waited on (since selects became
--    looks: before, the receive queued behind the select's turn);
-- 3. a receive that takes everything leaves the select waiting, and the
--    next data wakes it (edge-triggered: a new arrival, a new edge).
-- 4. a select that finds the line buffered gives the other coroutines
--    their turn first (as every select ready at once does), and one of
--    them takes the line there: the select answers as the socket is after
--    that turn, as socket.select would then: it waits on (a coroutine's),
--    or times out (the main thread's, timeout 0), where it listed the
--    socket readable with nothing there (on every build before this test:
--    the buffered objects' answer was the one before the turn).
-- 5. as 4, where the taker also changes the select's set (empties it, or
--    puts a number in it): the select reads anew the sets as it was given
--    them, as socket.select reads its sets once (on the build of 4 the
--    coroutine's select waited on nothing, for ever, and the main
--    thread's raised "socket expected in set").
-- 6. as 4, with an object whose fd asok cannot watch in the read set too:
--    the line taken in the turn, the select raises the error naming that
--    object, as with nothing buffered (it returned every object ready,
--    from before the turn; R6). One whose fd the taker moves to one not
--    open raises that error too, naming the select's caller (on 5.1 it
--    named select.lua's line).
-- Counted in steps of the reactor, not in time. For a raw LuaSocket
-- object, a wrapper and a native client.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- step runs one step of the reactor.
local function step() asok.select(nil, nil, 0) end

local arrived, receiver = T.arrived, T.receiver

-- line receives a line from obj in the main thread (asok.receive for a
-- raw LuaSocket object, whose data asok holds), packed.
local function line(obj, raw)
  if raw then return T.pack(asok.receive(obj, "*l")) end
  return T.pack(obj:receive("*l"))
end

-- selecter starts a coroutine in asok.select({obj}, nil, 10); its results
-- go to res.
local function selecter(res, obj)
  asok.spawn(function() res.r = T.pack(asok.select({ obj }, nil, 10)) end)
  T.eq(res.r, nil, "the select waits")
end

-- readable checks that r (asok.select's results, packed) lists obj alone
-- as readable.
local function readable(r, obj, what)
  T.check(r and type(r[1]) == "table" and #r[1] == 1 and r[1][1] == obj and r[3] == nil,
    what .. ": the select returned {obj} (got " .. (r and T.showpack(r) or "nothing") .. ")")
end

local kinds = T.KINDS

for _, kind in ipairs(kinds) do
  local name, make = kind[1], kind[2]

  -- 1. the main thread's select, a coroutine's receive parked first
  do
    local s, p, raw = make()
    local box = {}
    receiver(box, s, raw)
    T.eq(box.line, nil, name .. ": the receive waits")
    p:send("a\nb\n")
    readable(T.pack(asok.select({ s }, nil, 5)), s, name .. " (main thread)")
    T.same(box.line or T.pack(), T.pack("a", nil, nil), name .. ": the receive's line (main thread)")
    T.same(line(s, raw), T.pack("b", nil, nil), name .. ": the buffered line (main thread)")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (main thread)")
    s:close(); p:close()
  end

  -- 2. a coroutine's select, a receive made once the data is there
  do
    local s, p, raw = make()
    local res, box = {}, {}
    selecter(res, s)
    p:send("c\nd\n")
    arrived(s)
    receiver(box, s, raw)
    T.same(box.line or T.pack(), T.pack("c", nil, nil), name .. ": the receive's line at once")
    step()
    readable(res.r, s, name .. " (after one step)")
    T.same(line(s, raw), T.pack("d", nil, nil), name .. ": the buffered line")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits")
    s:close(); p:close()
  end

  -- 3. a receive that takes it all leaves the select waiting; the next
  -- data wakes it in one step
  do
    local s, p, raw = make()
    local res, box = {}, {}
    selecter(res, s)
    p:send("e\n")
    arrived(s)
    receiver(box, s, raw)
    T.same(box.line or T.pack(), T.pack("e", nil, nil), name .. ": the receive's line (all of it)")
    step()
    T.eq(res.r, nil, name .. ": nothing buffered, the select waits on")
    p:send("f\n")
    arrived(s)
    step()
    readable(res.r, s, name .. " (next data, one step)")
    T.same(line(s, raw), T.pack("f", nil, nil), name .. ": the next line")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (next data)")
    s:close(); p:close()
  end

  -- 4. the buffered line taken in the turn a ready select gives: a
  -- coroutine's select waits on, and the next data wakes it; the main
  -- thread's, with timeout 0, times out
  do
    local s, p, raw = make()
    local res = {}
    p:send("g\nh\n")
    arrived(s)
    T.same(line(s, raw), T.pack("g", nil, nil), name .. ": the first line (turn)")
    selecter(res, s)
    T.same(line(s, raw), T.pack("h", nil, nil), name .. ": the buffered line, taken in the select's turn")
    step()
    T.eq(res.r, nil, name .. ": nothing buffered after the turn, the select waits on")
    p:send("i\n")
    arrived(s)
    step()
    readable(res.r, s, name .. " (after the turn, next data)")
    T.same(line(s, raw), T.pack("i", nil, nil), name .. ": the next line (turn)")
    -- the main thread: its turn is a step, where a coroutine takes the line
    p:send("j\nk\n")
    arrived(s)
    T.same(line(s, raw), T.pack("j", nil, nil), name .. ": a first line (main thread's turn)")
    local box = {}
    asok.spawn(function()
      asok.sleep(0)
      if raw then box.line = T.pack(asok.receive(s, "*l")) else box.line = T.pack(s:receive("*l")) end
    end)
    local r = T.pack(asok.select({ s }, nil, 0))
    T.check(r.n == 3 and #r[1] == 0 and #r[2] == 0 and r[3] == "timeout",
      name .. ": the main thread's select after the turn timed out (got " .. T.showpack(r) .. ")")
    T.same(box.line or T.pack(), T.pack("k", nil, nil), name .. ": the line taken in the main thread's turn")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (turn)")
    s:close(); p:close()
  end

  -- 5. the sets changed in that turn too: the select reads anew the sets
  -- as it was given them. A coroutine's select (no timeout) whose set the
  -- taker empties waits on the socket, and the next data wakes it (it
  -- waited on nothing, for ever: no socket could wake it); the main
  -- thread's, whose set the taker gives a number, answers the data sent
  -- in the turn (it raised "socket expected in set, got number")
  do
    local s, p, raw = make()
    local res = {}
    p:send("l\nm\n")
    arrived(s)
    T.same(line(s, raw), T.pack("l", nil, nil), name .. ": the first line (set)")
    local rset = { s }
    asok.spawn(function() res.r = T.pack(asok.select(rset, nil, nil)) end)
    T.eq(res.r, nil, name .. ": the select waits (set)")
    T.same(line(s, raw), T.pack("m", nil, nil), name .. ": the buffered line, taken in the turn (set)")
    rset[1] = nil
    step()
    T.eq(res.r, nil, name .. ": nothing buffered after the turn, the select waits on (set emptied)")
    T.eq(asok._debug.waits(), 1, name .. ": the select waits on its socket (set emptied)")
    p:send("n\n")
    arrived(s)
    step()
    readable(res.r, s, name .. " (set emptied in the turn, next data)")
    T.same(line(s, raw), T.pack("n", nil, nil), name .. ": the next line (set)")
    -- the main thread's
    p:send("o\np\n")
    arrived(s)
    T.same(line(s, raw), T.pack("o", nil, nil), name .. ": a first line (main thread, set)")
    rset = { s }
    local box = {}
    asok.spawn(function()
      asok.sleep(0)
      if raw then box.line = T.pack(asok.receive(s, "*l")) else box.line = T.pack(s:receive("*l")) end
      rset[1] = 42
      p:send("q\n")
      arrived(s)
    end)
    local r = T.pack(pcall(asok.select, rset, nil, 0))
    T.check(r[1] == true and r.n == 3 and type(r[2]) == "table" and #r[2] == 1 and r[2][1] == s and #r[3] == 0,
      name .. ": the main thread's select answered the data sent in its turn (got " .. T.showpack(r) .. ")")
    T.same(box.line or T.pack(), T.pack("p", nil, nil), name .. ": the line taken in the main thread's turn (set)")
    T.same(line(s, raw), T.pack("q", nil, nil), name .. ": the line sent in the turn")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (set)")
    s:close(); p:close()
  end

  -- 6. as 4, with an object whose fd asok cannot watch (not open) in the
  -- read set too: the answer is the buffer's after the turn. Left dirty,
  -- every object is ready (as socket.select's check_dirty makes them);
  -- the line taken in the turn, the select raises the error naming the
  -- object, as with nothing buffered (socket.select: "select failed"),
  -- a coroutine's and the main thread's alike
  do
    local s, p, raw = make()
    local bad = { getfd = function() return 1000 end }
    p:send("r\ns\n")
    arrived(s)
    T.same(line(s, raw), T.pack("r", nil, nil), name .. ": the first line (unwatchable)")
    local res = {}
    asok.spawn(function() res.r = T.pack(asok.select({ s, bad }, nil, 10)) end)
    T.eq(res.r, nil, name .. ": the select gives the others their turn (unwatchable, left dirty)")
    step()
    T.check(res.r and res.r.n == 2 and #res.r[1] == 2 and res.r[1][1] == s and res.r[1][2] == bad,
      name .. ": left dirty in the turn: every object ready (got " .. (res.r and T.showpack(res.r) or "nothing") .. ")")
    res = {}
    asok.spawn(function() res.r = T.pack(asok.xpcall(asok.select, nil, { s, bad }, nil, 10)) end)
    T.eq(res.r, nil, name .. ": the select gives the others their turn (unwatchable)")
    T.same(line(s, raw), T.pack("s", nil, nil), name .. ": the buffered line, taken in the turn (unwatchable)")
    step()
    T.check(res.r and res.r[1] == false and tostring(res.r[2]):find("bad argument #1 to 'select' (cannot watch", 1, true),
      name .. ": the line taken in the turn: the coroutine's select raised (got " .. (res.r and T.showpack(res.r) or "nothing") .. ")")
    -- the main thread's
    p:send("t\nu\n")
    arrived(s)
    T.same(line(s, raw), T.pack("t", nil, nil), name .. ": a first line (main thread, unwatchable)")
    local box = {}
    asok.spawn(function()
      asok.sleep(0)
      if raw then box.line = T.pack(asok.receive(s, "*l")) else box.line = T.pack(s:receive("*l")) end
    end)
    local r = T.pack(pcall(function() local r, w, e = asok.select({ s, bad }, nil, 0); return r, w, e end))
    T.check(r[1] == false and tostring(r[2]):find("^[^:]*test_select_buffered%.lua:%d+: bad argument #1 to 'select' %(cannot watch table: "),
      name .. ": the line taken in the main thread's turn: its select raised (got " .. T.showpack(r) .. ")")
    T.same(box.line or T.pack(), T.pack("u", nil, nil), name .. ": the line taken in the main thread's turn (unwatchable)")
    -- an object whose fd the taker moves to one not open: the error names
    -- the select's caller (on Lua 5.1 it named select.lua, a tail call's
    -- lost frame counted as a level)
    local s2, p2 = T.pair()
    local moved = {}
    moved.fd = s2:getfd()
    moved.getfd = function() return moved.fd end
    p:send("v\nw\n")
    arrived(s)
    T.same(line(s, raw), T.pack("v", nil, nil), name .. ": a first line (moved)")
    box = {}
    asok.spawn(function()
      asok.sleep(0)
      if raw then box.line = T.pack(asok.receive(s, "*l")) else box.line = T.pack(s:receive("*l")) end
      moved.fd = 1000
    end)
    r = T.pack(pcall(function() local r, w, e = asok.select({ s, moved }, nil, 0); return r, w, e end))
    T.check(r[1] == false and tostring(r[2]):find("^[^:]*test_select_buffered%.lua:%d+: bad argument #1 to 'select' %(cannot watch table: "),
      name .. ": an fd moved in the turn: the select's error names its caller (got " .. T.showpack(r) .. ")")
    T.same(box.line or T.pack(), T.pack("w", nil, nil), name .. ": the line taken in the turn (moved)")
    s2:close(); p2:close()
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (unwatchable)")
    s:close(); p:close()
  end
end

T.done("test_select_buffered")
