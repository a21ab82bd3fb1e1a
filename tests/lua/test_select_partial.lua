-- test_select_partial.lua: the partial result of a receive that waits (a
-- line not ended yet, a count not reached, '*a' before the close) is that
-- receive's, as LuaSocket keeps it in the receive call's own buffer
-- (luaL_Buffer), not in the socket's: socket.select does not list the
-- socket for it, and dirty() is false. asok keeps it in its buffer, and
-- counted it there (dirty(), the read look's check, the glue's dirty
-- check): a coroutine looping on asok.select({s}) while another one's
-- receive waited with "abc" got s readable at once, once per step of the
-- reactor, for as long as the receive waited (a busy loop; R6). Now:
-- 1. the select waits (a short timeout: it times out, again and again)
--    while the receive waits with its partial; the rest arrives, the
--    receive returns it whole, and the select is answered as the socket
--    is: nothing there (it times out on), then a new line (readable);
--    dirty() is false meanwhile, and socket.select times out on the
--    object; for "*l", a count and "*a" (the peer's close: readable);
-- 2. two receives queued: the second, once the head, waits with its own
--    partial, which is its as well;
-- 3. a receive that times out returns its partial: nothing is left;
-- 4. a receive whose coroutine is closed while it waits (5.4) leaves its
--    partial to the next receive: the socket is readable then, and a
--    select waiting on it (no timeout) is woken;
-- 5. a select that finds the socket dirty (bytes a count receive left)
--    gives the other coroutines their turn first (select.lua's stale): a
--    receive made in that turn takes the bytes as its partial and waits,
--    so the socket is clean after the turn only because of that partial:
--    the select reads its sets anew and waits on (socket.select: nothing
--    readable, the partial is the receive's), with and without a
--    timeout, until the rest comes; a receive in the turn that leaves
--    some of the bytes keeps the socket readable.
-- Counted in steps of the reactor and answers of the select, not in time.
-- For a raw LuaSocket object, a wrapper and a native client.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- step runs one step of the reactor.
local function step() asok.select(nil, nil, 0.01) end

-- kernel is obj's fd alone, for socket.select: no dirty(), so it answers
-- for the kernel's queue only.
local function kernel(obj)
  return { getfd = function() return obj:getfd() end }
end

-- inkernel says whether obj's fd has bytes (or an end) not read yet.
local function inkernel(obj)
  local r = socket.select({ kernel(obj) }, nil, 0)
  return r and r[1] ~= nil
end

-- receiver starts a coroutine in a receive of pattern pat on obj; its
-- results go to box.r.
local function receiver(box, obj, raw, pat)
  asok.spawn(function()
    if raw then box.r = T.pack(asok.receive(obj, pat)) else box.r = T.pack(obj:receive(pat)) end
  end)
end

-- looper starts a coroutine looping on asok.select({obj}, nil, 0.001)
-- until st.stop: st.readable counts its answers listing obj, st.timeouts
-- its 'timeout's, st.other anything else.
local function looper(obj)
  local st = { readable = 0, timeouts = 0, other = 0 }
  asok.spawn(function()
    while not st.stop do
      local r, _, err = asok.select({ obj }, nil, 0.001)
      if r and r[1] == obj and #r == 1 then
        st.readable = st.readable + 1
      elseif err == "timeout" and r and #r == 0 then
        st.timeouts = st.timeouts + 1
      else
        st.other = st.other + 1
      end
    end
    st.ended = true
  end)
  return st
end

-- steps runs the reactor until st has n more timeouts (or readable
-- answers, if readable), at most 200 steps; it returns the readable
-- answers and timeouts of those steps, and the steps run.
local function steps(st, n, readable)
  local r0, t0 = st.readable, st.timeouts
  local k = 0
  while k < 200 do
    if readable and st.readable - r0 >= n then break end
    if not readable and st.timeouts - t0 >= n then break end
    step()
    k = k + 1
  end
  return st.readable - r0, st.timeouts - t0, k
end

-- quiet checks that, obj's receive holding its partial, the looping
-- select st times out 3 times and never lists obj, and that dirty() and
-- socket.select say nothing is buffered.
local function quiet(st, obj, what)
  local r, t, k = steps(st, 3)
  T.eq(r, 0, what .. ": the select listed the socket readable (" .. r .. " times in " .. k .. " steps)")
  T.check(t >= 3, what .. ": the select times out (" .. t .. " timeouts in " .. k .. " steps)")
  T.eq(obj:dirty(), false, what .. ": dirty()")
  local sr = socket.select({ obj }, nil, 0)
  T.check(sr and #sr == 0, what .. ": socket.select lists the socket")
end

-- stop ends looper st.
local function stop(st, what)
  st.stop = true
  T.check(T.run(function() return st.ended end, 5), what .. ": the looping select ended")
  T.eq(st.other, 0, what .. ": the select's other answers")
end

-- the partial of each pattern, the rest that completes it, the result
local CASES = {
  { "*l", "abc", "def\n", "abcdef" },
  { 10, "abc", "defghij", "abcdefghij" },
  { "*a", "abc", "def", "abcdef" }, -- the peer closes after the rest
}

for _, kind in ipairs(T.KINDS) do
  local name, make = kind[1], kind[2]

  -- 1. one receive waiting with a partial, a select looping
  for _, c in ipairs(CASES) do
    local pat, first, rest, whole = c[1], c[2], c[3], c[4]
    local what = name .. " " .. tostring(pat)
    local s, p, raw = make()
    local box = {}
    receiver(box, s, raw, pat)
    local st = looper(s)
    p:send(first)
    T.check(T.run(function() return not inkernel(s) end, 5), what .. ": the receive read the partial")
    T.eq(box.r, nil, what .. ": the receive waits")
    quiet(st, s, what)
    T.eq(box.r, nil, what .. ": the receive still waits")
    p:send(rest)
    if pat == "*a" then p:close() end
    T.check(T.run(function() return box.r end, 5), what .. ": the receive ended")
    T.same(box.r or T.pack(), T.pack(whole, nil, nil), what .. ": its result, whole")
    if pat == "*a" then
      -- the end of stream is in the kernel still: socket.select lists it
      local r, _, k = steps(st, 1, true)
      T.check(r >= 1, what .. ": the select lists the closed stream (" .. k .. " steps)")
    else
      steps(st, 1) -- (an answer made as the rest arrived: the kernel had it)
      quiet(st, s, what .. ", nothing left")
      p:send("ghi\n")
      local r, _, k = steps(st, 1, true)
      T.check(r >= 1, what .. ": the select lists a new line (" .. k .. " steps)")
      T.eq(s:dirty() or inkernel(s), true, what .. ": a new line is there")
      if raw then
        T.same(T.pack(asok.receive(s, "*l")), T.pack("ghi", nil, nil), what .. ": the new line")
      else
        T.same(T.pack(s:receive("*l")), T.pack("ghi", nil, nil), what .. ": the new line")
      end
    end
    stop(st, what)
    s:close()
    if pat ~= "*a" then p:close() end
  end

  -- 2. two receives queued: the head's partial, then the second's
  do
    local what = name .. " queued"
    local s, p, raw = make()
    local a, b = {}, {}
    receiver(a, s, raw, "*l")
    receiver(b, s, raw, "*l")
    local st = looper(s)
    p:send("abc")
    T.check(T.run(function() return not inkernel(s) end, 5), what .. ": the receive read the partial")
    quiet(st, s, what .. " (the head)")
    p:send("def\nxy")
    T.check(T.run(function() return a.r and not inkernel(s) end, 5), what .. ": the first receive ended")
    T.same(a.r or T.pack(), T.pack("abcdef", nil, nil), what .. ": the first line")
    T.eq(b.r, nil, what .. ": the second waits")
    steps(st, 1)
    quiet(st, s, what .. " (the second)")
    p:send("z\n")
    T.check(T.run(function() return b.r end, 5), what .. ": the second receive ended")
    T.same(b.r or T.pack(), T.pack("xyz", nil, nil), what .. ": the second line")
    stop(st, what)
    s:close(); p:close()
  end

  -- 3. a receive that times out returns its partial: nothing is left
  do
    local what = name .. " timeout"
    local s, p, raw = make()
    if raw then asok.settimeout(s, 0.05) else s:settimeout(0.05) end
    local box = {}
    receiver(box, s, raw, "*l")
    p:send("par")
    T.check(T.run(function() return box.r end, 5), what .. ": the receive ended")
    T.same(box.r or T.pack(), T.pack(nil, "timeout", "par"), what .. ": its partial")
    T.eq(s:dirty(), false, what .. ": dirty() after it")
    s:close(); p:close()
  end

  -- 4. the coroutine of a receive waiting with a partial closed (5.4): the
  -- partial is the next receive's, the socket readable, and a select
  -- waiting on it with no timeout woken (once asok's reap took the
  -- closed coroutine's wait back)
  if coroutine.close then
    local what = name .. " closed coroutine"
    local s, p, raw = make()
    local box = {}
    local co = coroutine.create(function()
      if raw then box.r = T.pack(asok.receive(s, "*l")) else box.r = T.pack(s:receive("*l")) end
    end)
    T.check(coroutine.resume(co), what .. ": the receive started")
    p:send("abc")
    T.check(T.run(function() return not inkernel(s) end, 5), what .. ": the receive read the partial")
    local res = {}
    asok.spawn(function() res.r = T.pack(asok.select({ s }, nil, nil)) end)
    step()
    T.eq(res.r, nil, what .. ": the select waits")
    T.check(coroutine.close(co), what .. ": coroutine.close")
    T.check(T.run(function() return res.r end, 5), what .. ": the select was woken")
    T.check(res.r and type(res.r[1]) == "table" and res.r[1][1] == s, what .. ": the select lists the socket")
    T.eq(s:dirty(), true, what .. ": dirty()")
    p:send("def\n")
    local r
    asok.spawn(function()
      if raw then r = T.pack(asok.receive(s, "*l")) else r = T.pack(s:receive("*l")) end
    end)
    T.run(function() return r end, 5)
    T.same(r or T.pack(), T.pack("abcdef", nil, nil), what .. ": the next receive's line")
    s:close(); p:close()
  end

  -- xabc makes a pair whose peer sent "xabc" and a count receive took
  -- "x": "abc" is left, unclaimed (s dirty); recv(pat) receives on s.
  local function xabc(what)
    local s, p, raw = make()
    local function recv(pat)
      if raw then return asok.receive(s, pat) else return s:receive(pat) end
    end
    p:send("xabc")
    local first
    asok.spawn(function() first = T.pack(recv(1)) end)
    T.check(T.run(function() return first end, 5), what .. ": the count receive ended")
    T.same(first or T.pack(), T.pack("x", nil, nil), what .. ": its byte")
    return s, p, raw, recv
  end

  -- 5. dirty before the turn, clean after it only by a waiting partial
  for _, t in ipairs({ false, 0.05 }) do
    local what = name .. " stale by a partial, timeout " .. tostring(t)
    local s, p, raw, recv = xabc(what)
    T.eq(s:dirty(), true, what .. ": dirty() before the select")
    local res
    T.spawn(function() res = T.pack(asok.select({ s }, nil, t or nil)) end)
    T.eq(res, nil, what .. ": the select gives the turn first")
    local box = {}
    receiver(box, s, raw, "*l") -- runs now: "abc" is its partial
    T.eq(box.r, nil, what .. ": the receive waits")
    T.eq(asok._debug.held(s), 3, what .. ": its partial held")
    T.eq(s:dirty(), false, what .. ": dirty() after the turn")
    if t then
      T.check(T.run(function() return res end, 5), what .. ": the select ended")
      T.same(res and T.pack(#res[1], #res[2], res[3]) or T.pack(), T.pack(0, 0, "timeout"), what .. ": the select's answer")
    else
      for _ = 1, 20 do step() end
      T.eq(res, nil, what .. ": the select waits on (20 steps)")
    end
    p:send("def\n")
    T.check(T.run(function() return box.r end, 5), what .. ": the receive ended")
    T.same(box.r or T.pack(), T.pack("abcdef", nil, nil), what .. ": its line, whole")
    if not t then
      -- the rest came through the kernel: the select saw it there
      T.check(T.run(function() return res end, 5), what .. ": the select ended")
      T.check(res and res[1][1] == s, what .. ": the select lists the socket")
    end
    s:close(); p:close()
  end

  -- 5b. a receive in the turn that leaves some bytes: still readable
  do
    local what = name .. " turn leaves bytes"
    local s, p, _, recv = xabc(what)
    local res
    T.spawn(function() res = T.pack(asok.select({ s }, nil, nil)) end)
    local second
    asok.spawn(function() second = T.pack(recv(2)) end)
    T.same(second or T.pack(), T.pack("ab", nil, nil), what .. ": the turn's receive")
    T.check(T.run(function() return res end, 5), what .. ": the select ended")
    T.check(res and res[1][1] == s, what .. ": the select lists the socket")
    T.same(T.pack(recv(1)), T.pack("c", nil, nil), what .. ": the byte left")
    s:close(); p:close()
  end
end

T.done("test_select_partial")
