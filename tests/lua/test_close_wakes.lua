-- test_close_wakes.lua: three coroutines parked in receive on one socket
-- are all resumed with nil, 'closed' when the socket is closed by
-- asok.close, by wrapper:close or by the raw LuaSocket object's close; a
-- send cut short by such a close reports what it had sent.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- closers: how the socket gets closed, given the raw object and a wrapper
local closers = {
  ["asok.close(raw)"] = function(raw) return asok.close(raw) end,
  ["asok.close(wrapper)"] = function(_, w) return asok.close(w) end,
  ["wrapper:close()"] = function(_, w) return w:close() end,
  ["raw:close()"] = function(raw) return raw:close() end,
}

-- closecase parks three waiters on a fresh socket and closes it with closer
-- (a function: its sockets die with its frame, which T.done relies on).
local function closecase(how, closer)
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  local results = {}
  for i = 1, 3 do
    T.spawn(function()
      if i == 2 then results[i] = T.pack(w:receive("*l", "p"))
      else results[i] = T.pack(asok.receive(raw, i == 3 and 10 or "*a")) end
    end)
  end
  T.run(function() return false end, 0.05) -- all three are parked now
  T.eq(next(results), nil, how .. ": nobody resumed before the close")
  T.eq(closer(raw, w), 1, how .. ": close returns 1")
  T.check(T.run(function() return #results == 3 end, 5), how .. ": all three resumed")
  for i = 1, 3 do
    T.same(results[i] or T.pack(), T.pack(nil, "closed", i == 2 and "p" or ""), how .. " waiter " .. i)
  end
  T.eq(raw:getfd(), -1, how .. ": LuaSocket closed the fd")
  T.same(T.pack(asok.receive(raw)), T.pack(nil, "closed", ""), how .. ": receive after close")
  T.same(T.pack(w:send("x")), T.pack(raw:send("x")), how .. ": send after close like LuaSocket")
  peer:close()
end

for how, closer in pairs(closers) do closecase(how, closer) end

-- sendcut checks a send cut short by a close from another coroutine: it
-- returns nil, 'closed' and the last index it had sent, and the peer
-- gets exactly those bytes.
local function sendcut(how, closer, peer, w)
  local raw
  if not peer then
    peer, raw = T.pair()
    w = asok.wrap(raw)
  end
  local data = string.rep("0123456789abcdef", 524288) -- 8 MiB: more than the buffers hold
  local r
  T.spawn(function() r = T.pack(w:send(data, 1)) end)
  T.run(function() return false end, 0.05)
  T.eq(r, nil, how .. ": the big send is parked")
  closer(raw, w)
  T.check(T.run(function() return r ~= nil end, 5), how .. ": the send resumed")
  r = r or T.pack()
  T.eq(r[1], nil, how .. ": send result")
  T.eq(r[2], "closed", how .. ": send error")
  T.check(type(r[3]) == "number" and r[3] > 0 and r[3] < #data, how .. ": partial index", T.show(r[3]))
  peer:settimeout(5)
  local got, err, part = peer:receive("*a")
  got = got or part
  T.eq(#got, r[3] or -1, how .. ": what the peer got")
  T.check(got == data:sub(1, #got), how .. ": the bytes in order")
  peer:close()
end

for how, closer in pairs(closers) do sendcut(how, closer) end

-- the same on a native client (what wrapper:accept() returns), closed by
-- its close method or asok.close
for _, how in ipairs({ "client:close()", "asok.close(client)" }) do
  local c, peer = T.nativepair()
  if c then
    sendcut(how, function()
      if how == "client:close()" then c:close() else asok.close(c) end
    end, peer, c)
  end
  c = nil
end

-- readafter: receive a line, let the rest arrive, close, read on: the
-- results of the calls after the close (sleep: asok's or LuaSocket's)
local function readafter(obj, sleep)
  local r = { T.pack(obj:receive("*l")) }
  sleep(0.05) -- the rest is buffered now
  obj:close()
  r[2] = T.pack(obj:dirty())
  r[3] = T.pack(obj:receive("*l"))
  r[4] = T.pack(obj:receive(1))
  r[5] = T.pack(obj:receive("*a"))
  r[6] = T.pack(obj:receive())
  r[7] = T.pack((obj:getstats()))
  return r
end

-- afterclose: data buffered at a local close is still served, as
-- LuaSocket's buffer outlives its close (compared with plain LuaSocket)
local function afterclose(what, obj, peer, reference)
  peer:send("ab\ncd\nef")
  local r
  asok.spawn(function() r = readafter(obj, asok.sleep) end)
  T.check(T.run(function() return r end, 5), what, ": the calls returned")
  for i = 1, 7 do T.same(r and r[i] or T.pack(), reference[i], what .. " after close, call " .. i) end
  peer:close()
end

do -- the reference: plain LuaSocket
  local a, b = T.pair()
  b:send("ab\ncd\nef")
  a:settimeout(1)
  local ref = readafter(a, socket.sleep)
  b:close()
  local p1, r1 = T.pair()
  afterclose("wrapper", asok.wrap(r1), p1, ref)
  local n, p2 = T.nativepair()
  if n then afterclose("native client", n, p2, ref) end
  n = nil
end

-- hangup checks that the peer hanging up wakes every waiter too.
local function hangup()
  local peer, raw = T.pair()
  local n = 0
  for _ = 1, 3 do T.spawn(function()
    local r = T.pack(asok.receive(raw))
    T.same(r, T.pack(nil, "closed", ""), "peer hangup")
    n = n + 1
  end) end
  peer:close()
  T.check(T.run(function() return n == 3 end, 5), "all woken by the hangup")
  raw:close()
end

hangup()

-- a reload of socket.core (package.loaded cleared, require again) gives
-- LuaSocket's classes new methods and the raw __gc in the same registry
-- metatables: a raw object's close still wakes its waiters afterwards
do
  package.loaded["socket.core"], package.loaded.socket = nil, nil
  local socket2 = require "socket"
  T.check(socket2 ~= socket, "socket reloaded")
  local peer, raw = T.pair()
  local got
  T.spawn(function() got = T.pack(asok.receive(raw, "*l")) end)
  raw:close()
  T.check(T.run(function() return got end, 5), "woken by the raw close after the reload")
  T.same(got, T.pack(nil, "closed", ""), "the waiter's result after the reload")
  peer:close()
end
-- what asok had buffered at a local close goes to the receives waiting
-- then, in call order, whatever order they run in: a receive called right
-- after the close (no yield between) took the first waiter's data, and so
-- did a coroutine queued behind a main-thread caller blocked in receive
do
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  peer:send("one\ntwo\nthr")
  local first, after
  T.spawn(function() first = T.pack(w:receive(100)) end)
  T.run(function() return false end, 0.05) -- it holds the 11 bytes
  T.spawn(function() w:close(); after = T.pack(w:receive("*l")) end)
  T.check(T.run(function() return first and after end, 5), "both returned")
  T.same(after, T.pack(nil, "closed", ""), "the receive called after the close")
  T.same(first, T.pack(nil, "closed", "one\ntwo\nthr"), "the waiter: all it was owed")
  peer:close()
end
do
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  peer:send("ab")
  local second
  T.spawn(function() asok.sleep(0.1); w:close() end)
  T.spawn(function() asok.sleep(0.01); second = T.pack(w:receive("*l")) end)
  local mine = T.pack(w:receive("*l")) -- the main thread, blocked first
  T.run(function() return second end, 5)
  T.same(mine, T.pack(nil, "closed", "ab"), "the first caller (main thread) gets the partial")
  T.same(second, T.pack(nil, "closed", ""), "the second caller nothing")
  peer:close()
end

-- setfd to another connected socket's fd while a receive waits: asok lets
-- go of the old fd, so the waiter ends with 'closed' and what it had read
-- (it went on with the new fd, where nothing woke it); the next receive
-- reads the new fd, as LuaSocket's after its setfd (a native client from
-- a wrapper's accept too: its receive parked in C, or in the glue on
-- LuaJIT)
for _, how in ipairs { "wrapper", "raw", "native" } do
  local raw, peer
  if how == "native" then raw, peer = T.nativepair() else peer, raw = T.pair() end
  local peer2, other = T.pair()
  local obj = how == "wrapper" and asok.wrap(raw) or raw
  peer:send("abc")
  local first
  T.spawn(function() first = T.pack(asok.receive(obj, "*l")) end)
  T.run(function() return false end, 0.05)
  local oldfd = obj:getfd()
  obj:setfd(other:getfd())
  other:setfd(-1)
  asok.select(nil, nil, 0)
  T.same(first, T.pack(nil, "closed", "abc"), how .. ": the waiter when setfd took its fd away")
  peer2:send("from the new fd\n")
  local second
  T.spawn(function() second = T.pack(asok.receive(obj, "*l")) end)
  T.check(T.run(function() return second end, 5), how .. ": the next receive returned")
  T.same(second, T.pack("from the new fd", nil, nil), how .. ": it reads the new fd")
  obj:close()
  local old = socket.tcp() -- the old fd, nobody's now
  old:setfd(oldfd)
  old:close()
  peer:close()
  peer2:close()
end

-- a send held by its throttle (1 B/s: its next grant a second away) ends
-- with 'closed' at the next step when the peer resets the connection or
-- the socket's sending is shut down (by the raw object, the wrapper or a
-- native client), not at its grant
for _, how in ipairs { "reset", "shutdown", "send", "wrapper send", "native send" } do
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  if how == "native send" then
    w:close(); peer:close()
    w, peer = T.nativepair()
  end
  asok.throttle_send(w, 1)
  local got
  T.spawn(function() got = T.pack(w:send("0123456789")) end)
  asok.select(nil, nil, 0)
  T.eq(got, nil, how .. ": the throttled send waits")
  if how == "reset" then
    peer:setoption("linger", { on = true, timeout = 0 })
    peer:close()
  elseif how == "shutdown" then
    raw:shutdown("both")
  elseif how == "send" then
    raw:shutdown("send")
  else
    w:shutdown("send")
  end
  for _ = 1, 3 do if not got then asok.select(nil, nil, 0) end end
  T.same(got or T.pack(), T.pack(nil, "closed", 0.0), how .. ": the throttled send ends at once")
  w:close()
  if how ~= "reset" then peer:close() end
end

-- a send waiting on a full unix stream socket whose peer does not read
-- ends with 'closed' and what it had sent when the socket's sending is
-- shut down: the kernel gives no event for it there (TCP's does), and it
-- waited until the peer read
do
  local sunix = require "socket.unix"
  for _, who in ipairs { "raw", "wrapper" } do
    local path = os.tmpname(); os.remove(path)
    local srv = assert(sunix.stream()); assert(srv:bind(path)); assert(srv:listen())
    local raw = assert(sunix.stream()); assert(raw:connect(path))
    local peer = assert(srv:accept())
    srv:close(); os.remove(path)
    local w = asok.wrap(raw)
    local got
    T.spawn(function() got = T.pack(w:send(("x"):rep(4 * 1048576))) end)
    for _ = 1, 3 do asok.select(nil, nil, 0) end
    T.eq(got, nil, who .. ": the unix send waits")
    if who == "raw" then raw:shutdown("send") else w:shutdown("send") end
    for _ = 1, 3 do if not got then asok.select(nil, nil, 0) end end
    T.check(got and got[1] == nil and got[2] == "closed" and type(got[3]) == "number"
      and got[3] > 0 and got[3] < 4 * 1048576,
      who .. ": the unix send ends with 'closed' and its count at once:", got and T.showpack(got))
    w:close(); peer:close()
  end
end

-- Lua 5.4: native client operations abandoned while they waited through
-- the glue (coroutine.close after a foreign resume) leave their notes of
-- the handle they waited on; after a setfd, neither a later receive that
-- gets one of their tokens (it read 'closed' from the stale note) nor a
-- main-thread waiter beyond 4 of them (4 notes at most: it went on with
-- the new fd) is misled
if coroutine.close then
  local function gluereceive(nat, store) -- resumed by someone else: the glue takes over
    local co = coroutine.create(function() store.r = T.pack(nat:receive("*l")) end)
    assert(coroutine.resume(co))
    assert(coroutine.resume(co))
    return co
  end
  for _, abandoned in ipairs { 1, 5 } do
    local nat, peer = T.nativepair()
    local peer2, other = T.pair()
    for _ = 1, abandoned do coroutine.close(gluereceive(nat, {})) end
    T.run(function() return false end, 1.3) -- the reap gives their C tokens back
    local oldfd = nat:getfd()
    if abandoned == 1 then
      nat:setfd(other:getfd())
      other:setfd(-1)
      local later = {}
      gluereceive(nat, later) -- with the abandoned one's token
      peer2:send("on the new fd\n")
      T.check(T.run(function() return later.r end, 5), "the later receive returned")
      T.same(later.r, T.pack("on the new fd", nil, nil), "a later receive with a reused token reads the new fd")
    else
      T.spawn(function()
        asok.sleep(0.05)
        nat:setfd(other:getfd())
        other:setfd(-1)
        asok.sleep(0.05)
        peer2:send("on the new fd\n")
      end)
      local mine = T.pack(nat:receive("*l")) -- the main thread: through the glue
      T.same(mine, T.pack(nil, "closed", ""), "a main-thread waiter beyond 5 abandoned notes ends at the setfd")
    end
    nat:close()
    peer:close()
    peer2:close()
    local o = socket.tcp()
    o:setfd(oldfd)
    o:close()
  end
end

T.done("test_close_wakes")
