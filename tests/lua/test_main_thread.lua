-- test_main_thread.lua: asok calls made from the main thread block like
-- LuaSocket while the reactor keeps other coroutines running.

-- ASOK_NEST_CHILD=1: blocked calls nested past Lua's C-call limit (150
-- coroutines of one batch, each blocked in a gsub callback, where it
-- cannot yield): the ones past it fail with "C stack overflow", and that
-- error reaches the error handler as it is (the report ran out of C
-- levels itself and said the message's __tostring failed). In a child:
-- the failed coroutines stay suspended for ever (README, "Blocked calls
-- nest").
if os.getenv("ASOK_NEST_CHILD") == "1" then
  local asok = require "asok"
  local calls, ended, bad = 0, 0, nil
  asok.seterrorhandler(function(msg, co, err)
    calls = calls + 1
    if not (tostring(err):find("C stack overflow", 1, true) and msg:find("C stack overflow", 1, true)) then
      bad = bad or tostring(msg)
    end
  end)
  for _ = 1, 150 do
    asok.spawn(function()
      asok.sleep(0.01)
      string.gsub("a", "a", function() asok.sleep(0.05) end)
      ended = ended + 1
    end)
  end
  asok.select(nil, nil, 1)
  print(("nest child: calls %d ended %d bad %s"):format(calls, ended, tostring(bad)))
  os.exit(0)
end

local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local ticks, stop = 0, false
T.spawn(function()
  while not stop do ticks = ticks + 1; asok.sleep(0.01) end
end)

-- receive: a peer coroutine sends the line only after 0.2 s
local peer, raw = T.pair()
T.spawn(function() asok.sleep(0.2); asok.send(peer, "hello\r\nworld\n") end)
local before = ticks
T.same(T.pack(asok.receive(raw, "*l")), T.pack("hello", nil, nil), "blocking receive")
T.check(ticks - before >= 5, "ticker ran while main was blocked:", ticks - before)
local w = asok.wrap(raw)
T.same(T.pack(w:receive()), T.pack("world", nil, nil), "buffered line, wrapper")

-- sleep from the main thread runs the others
before = ticks
asok.sleep(0.1)
T.check(ticks - before >= 3, "ticker ran during main sleep:", ticks - before)

-- accept and connect from the main thread
local server, port = T.listener()
local got
T.spawn(function()
  local c = socket.tcp()
  T.eq(asok.connect(c, "127.0.0.1", port), 1, "coroutine connect")
  got = T.pack(asok.receive(c, 5))
  c:close()
end)
local client = asok.accept(server)
T.eq(tostring(client):match("^tcp{client}") ~= nil, true, "accept returns a raw client")
T.eq(asok.send(client, "12345"), 5, "send from main")
T.check(T.run(function() return got ~= nil end, 5), "coroutine received")
T.same(got or T.pack(), T.pack("12345", nil, nil), "main -> coroutine")

local c2 = socket.tcp()
local acc
T.spawn(function() acc = asok.accept(server) end)
T.eq(asok.connect(c2, "127.0.0.1", port), 1, "main connect")
T.check(T.run(function() return acc ~= nil end, 5), "accepted in coroutine")

-- a main-thread receive with an asok timeout returns LuaSocket's timeout
asok.settimeout(c2, 0.1)
local t0 = socket.gettime()
T.same(T.pack(asok.receive(c2, "*l")), T.pack(nil, "timeout", ""), "main receive timeout")
T.check(socket.gettime() - t0 >= 0.05, "the timeout waited")

stop = true
asok.select(nil, nil, 0.05)

-- a call blocked where its coroutine cannot yield (a gsub callback) lets
-- the coroutines woken in the same batch run: B and C wake from sleeps
-- with one deadline (one asok_select batch, B first); B then waits inside
-- gsub for the line C sends. The rest of the batch used to wait for B's
-- call to return: B timed out, C ran a second late
do
  local pa, pb = T.pair()
  asok.settimeout(pa, 1)
  local got, cran = nil, nil
  local t0 = socket.gettime()
  T.spawn(function()
    asok.sleep(0.05)
    string.gsub("x", "x", function() got = T.pack(asok.receive(pa, "*l")) end)
  end)
  T.spawn(function()
    asok.sleep(0.05)
    cran = socket.gettime() - t0
    asok.send(pb, "hello\n")
  end)
  T.check(T.run(function() return got ~= nil end, 5), "the blocked receive returned")
  T.same(got, T.pack("hello", nil, nil), "it got the line the batch's next coroutine sent")
  T.check(cran and cran < 0.5, "the next coroutine of the batch ran during the blocked call", cran)
  pa:close(); pb:close()
end

-- asok.select() inside a coroutine runs the rest of the batch that woke
-- it: it used to wait for ever for C's wake-up, already handed out (the
-- ticker is stopped: asok.select() runs until no coroutine waits)
do
  local res, cdone = nil, false
  T.spawn(function()
    asok.sleep(0.05)
    res = T.pack(asok.select())
  end)
  T.spawn(function()
    asok.sleep(0.05)
    asok.sleep(0.05)
    cdone = true
  end)
  T.check(T.run(function() return res ~= nil end, 5), "asok.select() in a coroutine returned")
  T.same(res, T.pack(nil, "timeout"), "its result")
  T.check(cdone, "after the other coroutine of its batch ended")
end


-- an error raised by a debug hook anywhere in asok.select (lua.c's
-- Ctrl-C: a hook on calls, returns and every instruction, its error
-- caught by the program's pcall) loses no wake-up: the sweep interrupts
-- asok.select at its 1st, 2nd, ... hook event in asok in turn, each time with
-- other wake-ups of the same batch queued, and every coroutine (sleepers,
-- a select with sets fed by one of them) goes on afterwards. PUC Lua
-- only: LuaJIT's hooks are global (they would interrupt the coroutines)
-- and do not fire in compiled code
if not jit and debug and debug.sethook then
  local NT = 4
  local tick, halt = {}, false
  for k = 1, NT do
    tick[k] = 0
    T.spawn(function() while not halt do asok.sleep(0.001 * k); tick[k] = tick[k] + 1 end end)
  end
  local a, b = T.pair()
  local seen = 0
  T.spawn(function() -- a select group woken through the same batches
    while not halt do
      local r = asok.select({ b }, nil, 1)
      if r[1] and asok.receive(b, 1) then seen = seen + 1 end
    end
  end)
  T.spawn(function() while not halt do asok.send(a, "x"); asok.sleep(0.002) end end)
  asok.select(nil, nil, 0.05)
  local interrupted = 0
  for n = 1, 400 do
    local events = 0
    debug.sethook(function()
      -- events in asok's glue, or in a C function it called
      local info = debug.getinfo(2, "S")
      if info and info.short_src == "[C]" then info = debug.getinfo(3, "S") end
      if not (info and info.short_src:match("^asok/")) then return end
      events = events + 1
      if events == n then debug.sethook(); error("interrupted!") end
    end, "crl", 1)
    local ok, err = pcall(asok.select, nil, nil, 0.003)
    debug.sethook()
    if not ok then
      T.check(tostring(err):find("interrupted!", 1, true), "only the hook's error", err)
      interrupted = interrupted + 1
    end
  end
  T.check(interrupted >= 100, "the hook interrupted asok.select", interrupted)
  local before, sbefore = {}, seen
  for k = 1, NT do before[k] = tick[k] end
  asok.select(nil, nil, 0.3)
  for k = 1, NT do T.check(tick[k] - before[k] >= 5, "sleeper " .. k .. " ticks on", tick[k] - before[k]) end
  T.check(seen - sbefore >= 5, "the select with sets goes on", seen - sbefore)
  halt = true
  asok.select(nil, nil, 0.05)
  a:close(); b:close()
end

-- a call blocked in the main thread, interrupted by an error a debug hook
-- raises while it waits (lua.c's Ctrl-C: the signal comes while the
-- reactor waits, the hook fires at the main thread's next instruction; the
-- program's pcall catches it): the call's wait is dropped, so the next
-- call on that socket gets the data (the interrupted receive held its
-- socket's turn for ever, a select its sockets' turns, and asok.select()
-- without a timeout waited on them). The hook fires in the main thread
-- only (LuaJIT's hooks are global), and LuaJIT runs without its JIT here
-- (hooks do not fire in compiled code: the blocked call's loop gets
-- compiled after a few cases, and the interruption never came)
if debug and debug.sethook then
  if jit then jit.off(); jit.flush() end
  local function interrupted(f, ...)
    local armed = false
    T.spawn(function() asok.sleep(0.05); armed = true end)
    debug.sethook(function()
      local co, ismain = coroutine.running()
      if armed and (co == nil or ismain) then armed = false; debug.sethook(); error("interrupted!") end
    end, "", 1)
    local r = T.pack(pcall(f, ...))
    debug.sethook()
    return r
  end
  local a, pa = T.pair()
  local wa = asok.wrap(a)
  local n, pn = T.nativepair()
  local cases = {
    { "a wrapper's receive", function() return wa:receive("*l") end, wa, pa },
    { "asok.receive", function() return asok.receive(a, "*l") end, wa, pa },
    { "a select with sets", function() return asok.select({ wa }, nil, 5) end, wa, pa },
    { "asok.sleep", function() return asok.sleep(5) end, wa, pa },
  }
  if n then cases[#cases + 1] = { "a native client's receive", function() return n:receive("*l") end, n, pn } end
  for _, c in ipairs(cases) do
    local what, f, sock, peer = c[1], c[2], c[3], c[4]
    local r = interrupted(f)
    T.eq(r[1], false, what .. ": interrupted")
    T.check(tostring(r[2]):find("interrupted!", 1, true), what .. ": by the hook's error", r[2])
    T.eq(asok._debug.waits(), 0, what .. ": nothing waits after it")
    T.same(T.pack(asok.select()), T.pack(nil, "timeout"), what .. ": asok.select() returns")
    T.spawn(function() asok.sleep(0.01); peer:send("after\n") end)
    sock:settimeout(2)
    T.same(T.pack(sock:receive("*l")), T.pack("after", nil, nil), what .. ": the next receive on the socket")
    sock:settimeout(-1)
  end
  wa:close(); pa:close()
  if n then n:close(); pn:close() end
  if jit then jit.on() end
end

-- the nesting child (above): PUC Lua only, LuaJIT has no such limit here
-- (its own crashes about 1,000 deep)
if not jit then
  local cmd = ("ASOK_NEST_CHILD=1 exec %q %q 2>&1"):format(arg[-1], arg[0])
  local f = assert(io.popen("sh -c " .. ("%q"):format(cmd)))
  local out = f:read("*a")
  f:close()
  local calls, ended, bad = out:match("nest child: calls (%d+) ended (%d+) bad (.-)\n")
  calls, ended = tonumber(calls), tonumber(ended)
  T.check(calls and calls > 0 and calls + ended == 150, "every nested coroutine ended or was reported:", out)
  T.eq(bad, "nil", "the handler got the overflow's own message")
end

-- close what the test made and drop it (T.done counts the live handles)
for _, s in ipairs({ peer, w, server, client, c2, acc }) do s:close() end
peer, raw, w, server, client, c2, acc = nil, nil, nil, nil, nil, nil, nil
T.done("test_main_thread")
