-- test_select_looks.lua: selects on one socket all see it ready, as
-- socket.select shows a socket to every caller: a select's waits are looks
-- (ASOK_LOOK), woken all at once when the socket becomes ready, before a
-- receive or accept waiting there, and holding none of them back. Counted
-- in steps of the reactor (one asok.select(nil, nil, 0) each), not in
-- time: after the peer's data is in the kernel (LuaSocket's own select
-- says so), ONE step returns every select and the receive (before: one
-- select per step, a receive queued behind a select one step later, and a
-- select made after a receive never saw the data the receive took). For a
-- raw LuaSocket object, a wrapper and a native client; then an accept.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- step runs one step of the reactor.
local function step() asok.select(nil, nil, 0) end

local arrived = T.arrived

-- selecter starts a coroutine in asok.select({obj}, nil, 10); its results
-- go to res[k].
local function selecter(res, k, obj)
  asok.spawn(function() res[k] = T.pack(asok.select({ obj }, nil, 10)) end)
  T.eq(res[k], nil, "select " .. k .. " waits")
end

-- returned checks that select k returned {obj} as its readable list.
local function returned(res, k, obj, what)
  local r = res[k]
  T.check(r and type(r[1]) == "table" and #r[1] == 1 and r[1][1] == obj and r[3] == nil,
    what .. ": select " .. k .. " returned {obj} after one step (got " .. (r and T.showpack(r) or "nothing") .. ")")
end

-- receiver starts a coroutine in a line receive on obj (T.receiver),
-- which must wait.
local function receiver(box, obj, raw)
  T.receiver(box, obj, raw)
  T.eq(box.line, nil, "the receive waits")
end

local kinds = T.KINDS

for _, kind in ipairs(kinds) do
  local name, make = kind[1], kind[2]

  -- 1. two selects, a receive made after them, a third select after it:
  -- one step returns all three selects and the receive's line
  do
    local s, p, raw = make()
    local res, box = {}, {}
    selecter(res, 1, s)
    selecter(res, 2, s)
    receiver(box, s, raw)
    selecter(res, 3, s)
    p:send("x\n")
    arrived(s)
    step()
    for k = 1, 3 do returned(res, k, s, name) end
    T.same(box.line or T.pack(), T.pack("x", nil, nil), name .. ": the receive's line after the same step")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits")
    s:close(); p:close()
  end

  -- 2. a receive first, then a select: the select sees the data that the
  -- receive takes in the same step
  do
    local s, p, raw = make()
    local res, box = {}, {}
    receiver(box, s, raw)
    selecter(res, 1, s)
    p:send("y\n")
    arrived(s)
    step()
    returned(res, 1, s, name .. " (receive first)")
    T.same(box.line or T.pack(), T.pack("y", nil, nil), name .. ": the receive's line (receive first)")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (receive first)")
    s:close(); p:close()
  end

  -- 3. a close wakes every select (each lists the socket, whose receive
  -- says 'closed') and the receive, at once
  do
    local s, p, raw = make()
    local res, box = {}, {}
    selecter(res, 1, s)
    receiver(box, s, raw)
    selecter(res, 2, s)
    asok.close(s)
    step()
    returned(res, 1, s, name .. " (close)")
    returned(res, 2, s, name .. " (close)")
    T.same(box.line or T.pack(), T.pack(nil, "closed", ""), name .. ": the receive (close)")
    T.eq(asok._debug.waits(), 0, name .. ": nothing waits (close)")
    p:close()
  end
end

-- 4. an accept queued behind a select on a listener goes with it in the
-- one step that sees the connection
do
  local server, port = T.listener()
  local res, acc = {}, nil
  selecter(res, 1, server)
  asok.spawn(function() acc = T.pack(asok.accept(server)) end)
  T.eq(acc, nil, "the accept waits")
  selecter(res, 2, server)
  local c = assert(socket.connect("127.0.0.1", port))
  arrived(server)
  step()
  returned(res, 1, server, "listener")
  returned(res, 2, server, "listener")
  T.check(acc and acc[1] and acc[1].getpeername, "the accept's client after the same step")
  T.eq(asok._debug.waits(), 0, "nothing waits (listener)")
  if acc and acc[1] then acc[1]:close() end
  c:close(); server:close()
end

-- 5. many selects on one socket, one step
do
  local s, p = T.pair()
  local res, N = {}, 50
  for k = 1, N do selecter(res, k, s) end
  p:send("z\n")
  arrived(s)
  step()
  local n = 0
  for k = 1, N do if res[k] and res[k][1][1] == s then n = n + 1 end end
  T.eq(n, N, "every select returned after one step")
  T.eq(asok._debug.waits(), 0, "nothing waits (many)")
  s:close(); p:close()
end

T.done("test_select_looks")
