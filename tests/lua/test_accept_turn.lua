-- test_accept_turn.lua: an accept on a wrapper of a listener that is
-- interrupted inside its wait for a connection (a debug hook's error, as
-- lua.c's Ctrl-C is, at the k-th instruction the main thread runs in
-- asok's glue, for every k until the accept runs to its end; a memory
-- error there is the same). The glue counts the accepts waiting on each
-- listener (stream.lua's acceptq) so that a new accept does not take from
-- the kernel the connection the first waiter was woken for; the error
-- skipped the count's decrement, so every later accept on the listener
-- believed others waited and went through a wait first: one poll(2) more
-- for each connection, for the listener's whole life (results unchanged:
-- asok's wait polls the fd and is FIFO). Now the first accept that finds
-- the listener ready with no one in asok's queue puts the count right
-- (docs/reliability.md item 67): from the second one on, an accept of a
-- connection already queued makes no poll, as on a fresh listener.
-- Counted: asok._debug.polls() (never a time).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

if not (debug and debug.sethook and debug.getinfo) then T.done("accept_turn") end
if jit then jit.off(); jit.flush() end -- (hooks do not fire in compiled code)

local INTERRUPTED = T.INTERRUPTED
local polls = asok._debug.polls

local interrupt = T.interrupt

-- queued accepts one connection already queued on wrapper w (port: its
-- listener's), its timeout zero; returns whether it got a client and the
-- poll(2) calls it made
local function queued(w, port)
  local c = assert(socket.connect("127.0.0.1", port))
  for _ = 1, 3 do asok.select(nil, nil, 0) end -- (the listener's event seen)
  w:settimeout(0)
  local before = polls()
  local a, err = w:accept()
  local n = polls() - before
  if a then a:close() end
  c:close()
  return a ~= nil, n, err
end

-- the baseline: a fresh listener
local base
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local ok, n, err = queued(w, port)
  T.check(ok, "a fresh listener's accept:", err)
  base = n
  w:close()
end
T.eq(base, 0, "a fresh listener's accept of a queued connection: its polls")

-- every position: the accept waits (nothing connects), interrupted there
local positions, bad, first = 0, 0, nil
for k = 1, 10000 do
  local server, port = T.listener()
  local w = asok.wrap(server)
  w:settimeout(0.05) -- (the position past the last: it times out)
  local r = interrupt(k, function() return w:accept() end)
  if r[1] then w:close(); break end
  positions = positions + 1
  local why
  if not tostring(r[2]):find(INTERRUPTED, 1, true) then
    why = "another error: " .. tostring(r[2])
  else
    local ok1, _, err1 = queued(w, port)
    local ok2, n2, err2 = queued(w, port)
    local ok3, n3, err3 = queued(w, port)
    if not (ok1 and ok2 and ok3) then
      why = "accepts " .. tostring(err1) .. ", " .. tostring(err2) .. ", " .. tostring(err3)
    elseif n2 ~= base or n3 ~= base then
      why = "polls of the second and third accepts: " .. n2 .. ", " .. n3
    end
  end
  if why then
    bad = bad + 1
    first = first or ("at " .. k .. ": " .. why)
  end
  w:close()
end
T.check(positions >= 20, "the hook interrupted the accept at", positions, "positions")
T.eq(bad, 0, "positions that left the listener's later accepts polling (" .. tostring(first) .. ")")

T.done("accept_turn")
