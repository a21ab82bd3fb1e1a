-- test_raw_state.lua: the state methods of a raw LuaSocket object that asok
-- uses (function forms: asok.receive(c), asok.accept(srv)) answer for asok,
-- as LuaSocket's would: settimeout/gettimeout set and read asok's timeouts
-- (LuaSocket's own stays 0, so its calls never block the process), dirty()
-- sees asok's buffer (socket.select relies on it), getstats/setstats count
-- asok's bytes. A socket.unix stream object, whose class has no gettimeout,
-- hands its own timeout over too; its connect to a full backlog says what
-- LuaSocket's says.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- 1. settimeout on the raw object after asok first used it
do
  local a, b = T.pair()
  asok.send(a, "x") -- asok has seen a and b now
  T.same(T.pack(asok.receive(b, 1)), T.pack("x", nil, nil), "a first receive")
  T.eq(b:settimeout(0.2), 1, "settimeout's result")
  T.same(T.pack(b:gettimeout()), T.pack(0.2, -1.0), "gettimeout reads it")
  T.same(T.pack(asok.wrap(b):gettimeout()), T.pack(0.2, -1.0), "it is asok's timeout")
  local res, t0, took
  T.spawn(function()
    t0 = socket.gettime()
    res = T.pack(asok.receive(b, "*l"))
    took = socket.gettime() - t0
  end)
  T.check(T.run(function() return res ~= nil end, 5), "the receive returned")
  T.same(res, T.pack(nil, "timeout", ""), "it timed out, as LuaSocket's would")
  T.check(took and took >= 0.15 and took < 1.5, "after about 0.2 s", took)
  b:settimeout(0.1, "t")
  T.same(T.pack(b:gettimeout()), T.pack(0.2, 0.1), "the total one")
  b:settimeout(nil, "t"); b:settimeout(-1)
  T.same(T.pack(b:gettimeout()), T.pack(-1.0, -1.0), "both lifted")
  -- LuaSocket's argument errors, at the caller
  local ok, err = pcall(function() b:settimeout("x") end)
  T.check(not ok and err:find("bad argument #1 to 'settimeout' (number expected, got string)", 1, true), err)
  ok, err = pcall(function() b:settimeout(1, "q") end)
  T.check(not ok and err:find("bad argument #2 to 'settimeout' (invalid timeout mode)", 1, true), err)
  a:close(); b:close()
end

-- 2. an accept after the listener's own settimeout: a timeout, and the
-- process is not blocked meanwhile (LuaSocket's own accept is not called
-- with that timeout)
do
  local srv = T.listener()
  local c = socket.tcp()
  local _, port = srv:getsockname()
  T.spawn(function() asok.connect(c, "127.0.0.1", port) end)
  local first
  T.spawn(function() first = asok.accept(srv) end)
  T.check(T.run(function() return first ~= nil end, 5), "a first accept")
  srv:settimeout(0.3)
  local res, ticks, stop = nil, 0, false
  T.spawn(function() while not stop do ticks = ticks + 1; asok.sleep(0.02) end end)
  T.spawn(function() res = T.pack(asok.accept(srv)) end)
  T.check(T.run(function() return res ~= nil end, 5), "the second accept returned")
  stop = true
  T.same(res, T.pack(nil, "timeout"), "it timed out")
  T.check(ticks >= 5, "other coroutines ran while it waited", ticks)
  first:close(); c:close(); srv:close()
end

-- 3. dirty() and socket.select see the lines asok buffered
do
  local a, b = T.pair()
  a:send("one\ntwo\n")
  local got
  T.spawn(function() got = asok.receive(b, "*l") end)
  T.check(T.run(function() return got ~= nil end, 5), "first line")
  T.eq(got, "one", "first line")
  T.eq(b:dirty(), true, "dirty: the second line is in asok's buffer")
  local r, _, err = socket.select({ b }, nil, 1)
  T.eq(#r, 1, "socket.select finds it at once")
  T.eq(err, nil, "no timeout")
  T.same(T.pack(asok.receive(b, "*l")), T.pack("two", nil, nil), "second line")
  T.eq(b:dirty(), false, "nothing buffered now")
  a:close(); b:close()
end

-- 4. getstats counts what asok moved; setstats sets what getstats says
do
  local a, b = T.pair()
  asok.send(a, "hello\n")
  T.same(T.pack(asok.receive(b, "*l")), T.pack("hello", nil, nil), "a line")
  local r, s = a:getstats()
  T.same(T.pack(r, s), T.pack(0.0, 6.0), "sender's counters")
  r, s = b:getstats()
  T.same(T.pack(r, s), T.pack(6.0, 0.0), "receiver's counters")
  T.eq(b:setstats(100, 7), 1, "setstats' result")
  r, s = b:getstats()
  T.same(T.pack(r, s), T.pack(100.0, 7.0), "getstats after setstats")
  asok.send(a, "x")
  asok.receive(b, 1)
  r, s = b:getstats()
  T.same(T.pack(r, s), T.pack(101.0, 7.0), "and counting on")
  local ok, err = pcall(function() b:setstats("x") end)
  T.check(not ok and err:find("bad argument #1 to 'setstats' (number expected, got string)", 1, true), err)
  T.eq(b:setstats(1, 2, "x"), 1, "an age that is not a number is ignored, as LuaSocket does")
  a:close(); b:close()
end

-- 5. a timeout set while a coroutine waits applies to that wait, counted
-- from its start (LuaSocket has one timeout per object): a wrapper's, and
-- the raw object's own settimeout(0), which ends the wait at once
do
  local a, b = T.pair()
  local w = asok.wrap(b)
  local res, took
  local t0 = socket.gettime()
  T.spawn(function()
    res = T.pack(w:receive("*l"))
    took = socket.gettime() - t0
  end)
  T.spawn(function() asok.sleep(0.05); w:settimeout(0.2) end)
  T.check(T.run(function() return res ~= nil end, 5), "the waiting receive returned")
  T.same(res, T.pack(nil, "timeout", ""), "it timed out under the new timeout")
  T.check(took and took >= 0.15 and took < 1.5, "about 0.2 s after it started", took)
  res = nil
  w:settimeout(nil)
  T.spawn(function() res = T.pack(asok.receive(b, "*l")) end)
  T.run(function() return false end, 0.05)
  T.eq(res, nil, "waits without a timeout")
  a:send("par")
  T.run(function() return false end, 0.05)
  b:settimeout(0)
  T.check(T.run(function() return res ~= nil end, 5), "settimeout(0) ended the wait")
  T.same(res, T.pack(nil, "timeout", "par"), "with its partial result")
  a:close(); b:close()
end

-- 5b. with both a block and a total timeout (LuaSocket getretry: each wait
-- lasts min(block, total left), block counted from that wait's start), a
-- settimeout made while a coroutine waits does not restart its block
-- timeout: another coroutine setting either timeout every 0.1 s (the
-- same value again) does not keep a 0.3 s wait going, nor a queued one;
-- for a raw object, a wrapper, a native client
do
  local function forms()
    local list = {}
    local a, b = T.pair()
    list[#list + 1] = { "raw", b, a, function(o, ...) return asok.receive(o, ...) end }
    a, b = T.pair()
    list[#list + 1] = { "wrapper", asok.wrap(b), a, function(o, ...) return o:receive(...) end }
    local n, c = T.nativepair()
    if n then list[#list + 1] = { "native", n, c, function(o, ...) return o:receive(...) end } end
    return list
  end
  -- first: the timeouts before the receive; again: what is set every 0.1 s
  for _, case in ipairs {
    { "b then t", { { 0.3, "b" }, { 100, "t" } }, { 100, "t" } },
    { "b and t, b again", { { 0.3, "b" }, { 100, "t" } }, { 0.3, "b" } },
    { "t, then b", { { 100, "t" } }, { 0.3, "b" } },
  } do
    for _, f in ipairs(forms()) do
      local what = f[1] .. ", " .. case[1]
      local obj, peer, recv = f[2], f[3], f[4]
      for _, tm in ipairs(case[2]) do asok.settimeout(obj, tm[1], tm[2]) end
      peer:send("par")
      local res, queued, order = nil, nil, {}
      T.spawn(function() res = T.pack(recv(obj, "*l")); order[#order + 1] = "head" end)
      T.spawn(function() queued = T.pack(recv(obj, "*l")); order[#order + 1] = "queued" end)
      local sets = 0
      T.spawn(function()
        while not (res and queued) and sets < 30 do -- 3 s at most
          asok.sleep(0.1)
          asok.settimeout(obj, case[3][1], case[3][2])
          sets = sets + 1
        end
      end)
      T.check(T.run(function() return res and queued end, 5), what .. ": both receives ended")
      T.check(sets < 30, what .. ": while the timeouts were being set (" .. sets .. " times)")
      T.same(res or T.pack(), T.pack(nil, "timeout", "par"), what .. ": the head timed out")
      T.same(queued or T.pack(), T.pack(nil, "timeout", ""), what .. ": so did the queued one")
      T.eq(table.concat(order, ","), "head,queued", what .. ": in order")
      T.run(function() return sets >= 30 or false end, 0.15) -- the setter ends
      obj:close(); peer:close()
    end
  end
end

-- 7. LuaSocket's own side stays the program's: the object's own I/O after
-- asok used it waits with the timeout the program set (LuaSocket's own
-- timeout is not left at 0), a raw client from asok.accept has LuaSocket's
-- default, setfd keeps the counters, and the hooks leave LuaSocket's
-- argument errors as they were, for objects asok never used too
do
  local a, b = T.pair()
  asok.send(a, "x"); T.eq(asok.receive(b, 1), "x", "asok used b")
  b:settimeout(0.3)
  T.same(T.pack(b:gettimeout()), T.pack(0.3, -1.0), "LuaSocket's own says it")
  local t0 = socket.gettime()
  local own = T.pack(b:receive("*l")) -- LuaSocket's own receive, main thread
  local took = socket.gettime() - t0
  T.same(own, T.pack(nil, "timeout", ""), "the object's own receive times out")
  T.check(took >= 0.2 and took < 1.5, "after its timeout, not at once", took)
  a:send("12345")
  socket.sleep(0.05)
  T.same(T.pack(asok.receive(b, 5)), T.pack("12345", nil, nil), "asok reads on")
  local r1, s1 = b:getstats()
  local fd = b:getfd()
  b:setfd(-1)
  b:setfd(fd)
  local r2, s2 = b:getstats()
  T.same(T.pack(r2, s2), T.pack(r1, s1), "setfd(-1), setfd(fd) keep the counters")
  T.same(T.pack(b:gettimeout()), T.pack(0.3, -1.0), "and the timeout")
  a:close(); b:close()

  local srv, port = T.listener()
  local c = socket.tcp()
  local got
  T.spawn(function() got = asok.accept(srv) end)
  assert(c:connect("127.0.0.1", port))
  T.check(T.run(function() return got ~= nil end, 5), "accepted")
  T.same(T.pack(got:gettimeout()), T.pack(-1.0, -1.0), "a raw client from asok.accept: LuaSocket's default")
  local w = asok.wrap(c, 0.25)
  T.same(T.pack(c:gettimeout()), T.pack(0.25, -1.0), "asok.wrap(sok, t): the object's own timeout too")
  got:close(); c:close(); srv:close()

  -- argument errors: LuaSocket's own, from the hooks, on an object asok
  -- never used (its class is patched) and on one it used
  local fresh, used = socket.tcp(), socket.tcp()
  asok.settimeout(used, 1)
  for _, o in ipairs({ fresh, used }) do
    local ok, err = pcall(function() o:settimeout("x") end)
    T.check(not ok and err:find("^[^:]*test_raw_state.lua:%d+: bad argument #1 to 'settimeout' %(number expected, got string%)"), err)
    ok, err = pcall(function() o:getstats() end)
    T.check(not ok and err:find("'getstats'", 1, true) and err:find("tcp{client} expected", 1, true)
      and not err:find("orig", 1, true) and not err:find("asok/", 1, true), err)
    ok, err = pcall(function() o:setstats("x") end)
    T.check(not ok and err:find("'setstats'", 1, true) and not err:find("orig", 1, true), err)
  end
  fresh:close(); used:close()
end

-- 6. a socket.unix stream object's own timeout becomes asok's
local okunix, unix = pcall(require, "socket.unix")
if okunix then
  local path = os.tmpname()
  os.remove(path)
  local srv = (unix.stream or unix)()
  assert(srv:bind(path)); assert(srv:listen())
  srv:settimeout(0.2)
  local res, t0, took
  T.spawn(function()
    t0 = socket.gettime()
    res = T.pack(asok.accept(srv))
    took = socket.gettime() - t0
  end)
  T.check(T.run(function() return res ~= nil end, 5), "unix accept returned")
  T.same(res, T.pack(nil, "timeout"), "unix accept timed out")
  T.check(took and took >= 0.15 and took < 1.5, "after about 0.2 s", took)
  srv:close()
  os.remove(path)

  -- a unix connect to a listener whose backlog is full: LuaSocket's
  -- connect returns 1 (the kernel's EAGAIN, then a poll that finds the
  -- socket writable); asok's connect ran it at timeout 0, where LuaSocket
  -- destroys the socket: 'closed'. Each form, compared with plain LuaSocket
  path = os.tmpname()
  os.remove(path)
  srv = (unix.stream or unix)()
  assert(srv:bind(path)); assert(srv:listen(1))
  local plain, keep = {}, {}
  for i = 1, 4 do
    local c = (unix.stream or unix)()
    plain[i] = T.pack(c:connect(path))
    keep[#keep + 1] = c
  end
  T.same(plain[4], T.pack(1.0), "LuaSocket: a full backlog's connect says 1")
  local forms = {
    function(c) return asok.connect(c, path) end,
    function(c) return asok.wrap(c):connect(path) end,
    function(c) return asok.wrap(c):setpeername(path) end,
  }
  for i, f in ipairs(forms) do
    local c = (unix.stream or unix)()
    keep[#keep + 1] = c
    local res
    T.spawn(function() res = T.pack(f(c)) end)
    T.check(T.run(function() return res ~= nil end, 5), "form " .. i .. " returned")
    T.same(res, plain[4], "form " .. i .. ": LuaSocket's result")
  end
  local c = (unix.stream or unix)()
  keep[#keep + 1] = c
  T.same(T.pack(asok.connect(c, path)), plain[4], "main thread: LuaSocket's result")
  for _, k in ipairs(keep) do k:close() end
  srv:close()
  os.remove(path)
end

-- settimeout(0) ends the waits at once, even when the old timeout comes
-- back before asok.select runs (the poll-then-restore habit): on the
-- wrapper, and on the raw object itself
for _, via in ipairs { "wrapper", "raw" } do
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  peer:send("ab")
  local got
  T.spawn(function() got = T.pack(w:receive("*l")) end)
  T.run(function() return false end, 0.05)
  local o = via == "raw" and raw or w
  o:settimeout(0)
  o:settimeout(nil)
  T.check(T.run(function() return got end, 2), via .. ": the waiting receive ended")
  T.same(got, T.pack(nil, "timeout", "ab"), via .. ": with its partial result")
  raw:close(); peer:close()
end

T.done("test_raw_state")
