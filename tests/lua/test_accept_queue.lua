-- test_accept_queue.lua: accepts queued on one listener (a wrapper of a
-- LuaSocket server), from the main thread and from coroutines. The glue
-- counts the accepts waiting on each listener (stream.lua's acceptq) so
-- that a new accept does not take from the kernel the connection the
-- first waiter was woken for (FIFO), and puts a count an error left too
-- high right at the next wait that finds no one queued (item 67). The
-- main thread's accept waits inside C.wait (block.c: it runs the reactor
-- there, so coroutines run meanwhile): it must count as waiting while it
-- blocks, and its wait's end must not clear the count of the coroutines
-- queued behind it (docs/reliability.md item 68: a coroutine's accept
-- then raised "attempt to perform arithmetic on a nil value", and one
-- arriving meanwhile took the connection first). Each case ends with the
-- listener's accept of a queued connection making no poll(2), as on a
-- fresh listener (the count back at 0). Counted: asok._debug.polls(),
-- accepted peers' ports (never a time).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local polls = asok._debug.polls

-- errors of coroutines asok resumed
local errs = {}
asok.seterrorhandler(function(msg) errs[#errs + 1] = tostring(msg) end)

-- port returns the local port of LuaSocket client c, or the peer port of
-- accepted client a (the same connection's two ends match)
local function lport(c) local _, p = c:getsockname(); return tonumber(p) end
local function pport(a) local _, p = a:getpeername(); return tonumber(p) end

-- polled returns the poll(2) calls an accept of a connection already
-- queued on wrapper w makes (timeout zero), and whether it got a client
local function polled(w, port)
  local c = assert(socket.connect("127.0.0.1", port))
  for _ = 1, 3 do asok.select(nil, nil, 0) end -- (the listener's event seen)
  w:settimeout(0)
  local before = polls()
  local a, err = w:accept()
  local n = polls() - before
  if a then a:close() end
  c:close()
  w:settimeout(nil)
  return n, a ~= nil, err
end

-- finish checks that no coroutine raised, then the listener's count
local function finish(what, w, port)
  T.eq(#errs, 0, what .. ": coroutine errors (" .. tostring(errs[1]) .. ")")
  errs = {}
  local n, ok, err = polled(w, port)
  T.check(ok, what .. ": the last accept:", err)
  T.eq(n, 0, what .. ": polls of an accept of a queued connection afterwards")
  w:close()
end

-- 1. the main thread's accept waits; a coroutine's accept queues behind
-- it; two connections come, one at a time: the first is the main
-- thread's, the second the coroutine's
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local cs, got = {}, {}
  asok.spawn(function()
    asok.sleep(0.02) -- (the main thread waits by now)
    got.co = T.pack(w:accept())
  end)
  asok.spawn(function()
    asok.sleep(0.05)
    cs[1] = assert(socket.connect("127.0.0.1", port))
    asok.sleep(0.05)
    cs[2] = assert(socket.connect("127.0.0.1", port))
  end)
  local a, err = w:accept()
  T.check(a, "1: the main thread's accept:", err)
  T.check(T.run(function() return got.co end, 5), "1: the coroutine's accept returned")
  local b = got.co and got.co[1]
  T.check(b, "1: the coroutine's accept:", got.co and got.co[2])
  if a and cs[1] then T.eq(pport(a), lport(cs[1]), "1: the main thread's client is the first connection") end
  if b and cs[2] then T.eq(pport(b), lport(cs[2]), "1: the coroutine's client is the second connection") end
  for _, o in ipairs { a or nil, b or nil, cs[1], cs[2] } do if o then o:close() end end
  finish("1", w, port)
end

-- 2. the main thread's accept waits; a coroutine connects and accepts at
-- once (the connection queued before the reactor saw it): it waits behind
-- the main thread's accept, which gets that connection
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local cs, got = {}, {}
  asok.spawn(function()
    asok.sleep(0.02)
    cs[1] = assert(socket.connect("127.0.0.1", port))
    local r = T.pack(w:accept())
    got.co = r
  end)
  asok.spawn(function()
    asok.sleep(0.08)
    cs[2] = assert(socket.connect("127.0.0.1", port))
  end)
  local a, err = w:accept()
  T.check(a, "2: the main thread's accept:", err)
  T.check(T.run(function() return got.co end, 5), "2: the coroutine's accept returned")
  local b = got.co and got.co[1]
  T.check(b, "2: the coroutine's accept:", got.co and got.co[2])
  if a and cs[1] then T.eq(pport(a), lport(cs[1]), "2: the main thread's client is the first connection") end
  if b and cs[2] then T.eq(pport(b), lport(cs[2]), "2: the coroutine's client is the second connection") end
  for _, o in ipairs { a or nil, b or nil, cs[1], cs[2] } do if o then o:close() end end
  finish("2", w, port)
end

-- 3. three coroutines' accepts queued, three connections one at a time:
-- FIFO
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local got, cs = {}, {}
  for i = 1, 3 do asok.spawn(function() got[i] = T.pack(w:accept()) end) end
  for i = 1, 3 do
    cs[i] = assert(socket.connect("127.0.0.1", port))
    T.steps(function() return got[i] end)
  end
  for i = 1, 3 do
    local a = got[i] and got[i][1]
    T.check(a, "3: accept", i, got[i] and got[i][2])
    if a then T.eq(pport(a), lport(cs[i]), "3: accept " .. i .. "'s connection"); a:close() end
    cs[i]:close()
  end
  finish("3", w, port)
end

-- 4. the main thread's accept and a coroutine's wait; another coroutine
-- closes the listener: both end with 'closed', none raises
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local got = {}
  asok.spawn(function() asok.sleep(0.02); got.co = T.pack(w:accept()) end)
  asok.spawn(function() asok.sleep(0.05); w:close() end)
  local r = T.pack(w:accept())
  T.run(function() return got.co end, 5)
  T.same(r, T.pack(nil, "closed"), "4: the main thread's accept")
  T.same(got.co or T.pack(), T.pack(nil, "closed"), "4: the coroutine's accept")
  T.eq(#errs, 0, "4: coroutine errors (" .. tostring(errs[1]) .. ")")
  errs = {}
  local s2, port2 = T.listener()
  finish("4 (a new listener)", asok.wrap(s2), port2)
  local _ = port
end

-- 5. a coroutine's accept times out while a connection comes in the same
-- step (a coroutine whose sleep ended first connects and accepts): the
-- timed-out one says 'timeout', the other gets the connection
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local got, c = {}, nil
  w:settimeout(0.05)
  asok.spawn(function() got.a = T.pack(w:accept()) end)
  asok.spawn(function()
    asok.sleep(0.03)
    c = assert(socket.connect("127.0.0.1", port))
    got.b = T.pack(w:accept())
  end)
  socket.sleep(0.1) -- both deadlines pass with the reactor idle
  T.run(function() return got.a and got.b end, 5)
  T.same(got.a or T.pack(), T.pack(nil, "timeout"), "5: the accept that timed out")
  local b = got.b and got.b[1]
  T.check(b, "5: the other accept:", got.b and got.b[2])
  if b then T.eq(pport(b), lport(c), "5: its connection"); b:close() end
  if c then c:close() end
  finish("5", w, port)
end

-- 7. a coroutine's accept parked; a connection queued in the kernel
-- before the reactor saw it; the main thread's accept with timeout zero
-- waits behind the coroutine's (FIFO): 'timeout', and the coroutine gets
-- the connection (plain LuaSocket, without coroutines, has no such turn)
do
  local server, port = T.listener()
  local w = asok.wrap(server)
  local got
  asok.spawn(function() got = T.pack(w:accept()) end)
  for _ = 1, 3 do asok.select(nil, nil, 0) end
  local c = assert(socket.connect("127.0.0.1", port))
  w:settimeout(0)
  T.same(T.pack(w:accept()), T.pack(nil, "timeout"), "7: the main thread's accept behind the coroutine's")
  w:settimeout(nil)
  T.steps(function() return got end)
  local a = got and got[1]
  T.check(a, "7: the coroutine's accept:", got and got[2])
  if a then T.eq(pport(a), lport(c), "7: its connection"); a:close() end
  c:close()
  finish("7", w, port)
end

-- 6. case 1 on a raw LuaSocket listener (asok.accept) and on a unix
-- stream one (raw and wrapped): each connection sends its number, which
-- the accepted end reads
local ok, sunix = pcall(require, "socket.unix")
local kinds = {
  { "raw tcp", function()
      local server, port = T.listener()
      return server, function() return assert(socket.connect("127.0.0.1", port)) end, true
    end },
}
if ok and type(sunix) == "table" and sunix.stream then
  for _, wrapped in ipairs { false, true } do
    kinds[#kinds + 1] = { wrapped and "wrapped unix" or "raw unix", function()
      local path = os.tmpname(); os.remove(path)
      local srv = assert(sunix.stream()); assert(srv:bind(path)); assert(srv:listen(8))
      local function connect()
        local c = assert(sunix.stream()); assert(c:connect(path)); return c
      end
      return wrapped and asok.wrap(srv) or srv, connect, not wrapped, path
    end }
  end
end
for _, kind in ipairs(kinds) do
  local what = "6 (" .. kind[1] .. ")"
  local l, connect, raw, path = kind[2]()
  local function accept()
    if raw then return asok.accept(l) end
    return l:accept()
  end
  local got, cs = {}, {}
  asok.spawn(function() asok.sleep(0.02); got.co = T.pack(accept()) end)
  asok.spawn(function()
    for i = 1, 2 do
      asok.sleep(0.05)
      cs[i] = connect()
      cs[i]:send(tostring(i))
    end
  end)
  local a, err = accept()
  T.check(a, what, ": the main thread's accept:", err)
  T.check(T.run(function() return got.co end, 5), what, ": the coroutine's accept returned")
  local b = got.co and got.co[1]
  T.check(b, what, ": the coroutine's accept:", got.co and got.co[2])
  for i, c in ipairs { a or nil, b or nil } do
    if raw then c = asok.wrap(c) end
    c:settimeout(5)
    T.eq(c:receive(1), tostring(i), what .. ": accept " .. i .. "'s connection")
    c:close()
  end
  for _, c in pairs(cs) do c:close() end
  T.eq(#errs, 0, what .. ": coroutine errors (" .. tostring(errs[1]) .. ")")
  errs = {}
  asok.close(l)
  if path then os.remove(path) end
end

asok.seterrorhandler(nil)
T.done("accept_queue")
