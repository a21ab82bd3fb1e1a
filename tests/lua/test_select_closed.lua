-- test_select_closed.lua: a select with sets whose coroutine is closed
-- (Lua 5.4's coroutine.close) lets its sockets go: in the zero sleep it
-- takes when a socket is ready at once, it holds no socket's turn at all
-- (another select sees the socket readable, the next reader gets its
-- data at once); run under two nested asok.coroutine drivers whose middle
-- one is closed, its waits are dropped at the next delivery (before: kept
-- for ever, the socket's later readers waited) or, idle, by the next reap,
-- which wakes the outer driver; the select's coroutine, no longer held,
-- can be resumed again (its select goes on) or collected.
-- On Lua 5.1-5.3 and LuaJIT (no coroutine.close) only the live cases run.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local A = asok.coroutine

-- has says whether obj is in the array part of list.
local function has(list, obj)
  for i = 1, #list do
    if list[i] == obj then return true end
  end
  return false
end

-- reaped steps the reactor until a reap has just run: a closed reader's
-- wait is dropped (asok._debug.waits() goes down), so the next reap is a
-- second away (the steps after it count deliveries, not reaps).
local function reaped()
  local x, px = T.pair()
  local co = asok.spawn(function() asok.receive(x, "*l") end)
  coroutine.close(co)
  local n = asok._debug.waits()
  T.run(function() return asok._debug.waits() < n end, 5)
  T.check(asok._debug.waits() < n, "a reap ran")
  x:close(); px:close()
end

-- steps runs up to n zero-timeout steps of the reactor until pred().
local function steps(n, pred)
  for _ = 1, n do
    if pred() then return true end
    asok.select(nil, nil, 0)
  end
  return pred()
end

-- 1. a select in its zero sleep (y ready at once, x not): a select made
-- meanwhile sees x readable once its data comes, and so does a reader
-- (live: on every interpreter)
do
  local x, px = T.pair()
  local y, py = T.pair()
  py:send("ready\n")
  local first
  asok.spawn(function() first = T.pack(asok.select({ x, y }, nil, 10)) end)
  T.eq(first, nil, "the first select takes its zero sleep")
  px:send("x\n")
  local second
  asok.spawn(function() second = T.pack(asok.select({ x, y }, nil, 10)) end)
  T.check(T.run(function() return first and second end, 5), "both selects returned")
  T.eq(second and #second[1], 2, "the second select: x and y readable")
  T.eq(first and #first[1], 2, "the first select: x and y readable")
  T.eq(asok._debug.waits(), 0, "nothing waits")
  x:close(); px:close(); y:close(); py:close()
end

if coroutine.close then
  local reports = 0
  asok.seterrorhandler(function() reports = reports + 1 end)

  -- 2. a select closed in its zero sleep holds no turn: a select made
  -- after the close, with x's data there, lists x (it missed x until the
  -- closed select's wait on x was delivered and cancelled), and a reader
  -- of x gets its line at once, without a step of the reactor
  do
    local x, px = T.pair()
    local y, py = T.pair()
    py:send("ready\n")
    local sel = asok.spawn(function() asok.select({ x, y }, nil, 10); error("closed selecter ran") end)
    T.eq(coroutine.status(sel), "suspended", "the select yields for its zero sleep")
    T.eq(coroutine.close(sel), true, "closed in its zero sleep")
    px:send("x\n")
    socket.sleep(0.02)
    local other
    asok.spawn(function() other = T.pack(asok.select({ x, y }, nil, 10)) end)
    T.check(T.run(function() return other end, 5), "the other select returned")
    T.eq(other and #other[1], 2, "the other select: x and y readable")
    T.check(other and has(other[1], x), "x among them")
    x:close(); px:close(); y:close(); py:close()

    x, px = T.pair()
    y, py = T.pair()
    py:send("ready\n")
    sel = asok.spawn(function() asok.select({ x, y }, nil, 10); error("closed selecter ran") end)
    T.eq(coroutine.close(sel), true, "closed in its zero sleep (reader)")
    px:send("line\n")
    socket.sleep(0.02) -- (the kernel's delivery: no reactor step meanwhile)
    local line
    asok.spawn(function() line = T.pack(asok.receive(x, "*l")) end)
    T.same(line or T.pack(), T.pack("line", nil, nil), "the reader's line at once")
    T.run(function() return false end, 0.02)
    T.eq(asok._debug.waits(), 0, "nothing waits (zero sleep)")
    x:close(); px:close(); y:close(); py:close()
  end

  -- nested: outer (a server's loop, living on) runs middle, which runs
  -- the select's coroutine; middle is closed while the select waits on
  -- x and y, idle
  local function nested(x, y)
    local sel = A.create(function() return asok.select({ x, y }, nil, 3600) end)
    local middle = A.create(function() return A.resume(sel) end)
    local N = { sel = sel }
    asok.spawn(function()
      N.res = T.pack(A.resume(middle))
      while not N.stop do asok.sleep(0.01) end
    end)
    T.eq(coroutine.status(sel), "suspended", "the select waits")
    T.eq(N.res, nil, "the outer driver waits with it")
    T.eq(coroutine.close(middle), true, "middle driver closed")
    T.eq(coroutine.status(sel), "suspended", "the select's coroutine is left suspended")
    return N
  end

  -- 3. its waits go at the first delivery: the next reader of x gets its
  -- line within a few steps (no reap: one just ran), the outer driver's
  -- resume fails as for a receive, and the select's coroutine, resumed
  -- again by someone else, goes on with its select
  do
    local x, px = T.pair()
    local y, py = T.pair()
    reaped()
    local N = nested(x, y)
    local line
    asok.spawn(function() line = T.pack(asok.receive(x, "*l")) end)
    T.eq(line, nil, "the reader waits")
    px:send("x\n")
    T.check(steps(20, function() return line end), "the reader went on within 20 steps")
    T.same(line or T.pack(), T.pack("x", nil, nil), "the reader's line")
    T.same(N.res or T.pack(), T.pack(false, "cannot resume dead coroutine"), "the outer driver's resume")
    local again
    asok.spawn(function() again = T.pack(A.resume(N.sel)) end)
    T.eq(again, nil, "the select resumed again waits")
    py:send("y\n")
    T.check(T.run(function() return again end, 5), "the select resumed again returned")
    T.eq(again and again[1], true, "its resume")
    T.check(again and type(again[2]) == "table" and #again[2] == 1 and again[2][1] == y, "its answer: y readable")
    N.stop = true
    T.run(function() return false end, 0.05)
    T.eq(asok._debug.waits(), 0, "nothing waits (delivery)")
    x:close(); px:close(); y:close(); py:close()
  end

  -- 4. idle (no delivery): the next reap drops its waits and wakes the
  -- outer driver; the select's coroutine is collected (its group held
  -- it), and x's next reader gets its line
  do
    local x, px = T.pair()
    local y, py = T.pair()
    local N = nested(x, y)
    local weak = setmetatable({ [N.sel] = true }, { __mode = "k" })
    N.sel = nil
    T.run(function() return N.res end, 3)
    T.same(N.res or T.pack(), T.pack(false, "cannot resume dead coroutine"), "the outer driver woken by the reap")
    N.stop = true
    T.run(function() return false end, 0.05)
    T.eq(asok._debug.waits(), 0, "nothing waits (reap)")
    collectgarbage(); collectgarbage()
    T.eq(next(weak), nil, "the select's coroutine is collected")
    local line
    asok.spawn(function() line = T.pack(asok.receive(x, "*l")) end)
    px:send("x\n")
    T.check(T.run(function() return line end, 5), "the reader went on")
    T.same(line or T.pack(), T.pack("x", nil, nil), "the reader's line (reap)")
    x:close(); px:close(); y:close(); py:close()
  end

  T.eq(reports, 0, "nothing reported")
  asok.seterrorhandler(nil)
end

T.done("test_select_closed")
