-- test_coroutine.lua: asok.coroutine.resume and asok.coroutine.wrap run a
-- coroutine that waits in asok calls inside another coroutine (a generator
-- over a socket): the caller gets the coroutine's own yields and returns,
-- never asok's wait; nested two deep; from the main thread (the waits
-- block); a close wakes the inner one; errors, closes and argument errors
-- as coroutine.wrap/resume's. Plain coroutine.wrap is checked to hand out
-- the wait marker, the case this exists for.
local T = dofile("asoktest.lua")
local asok = require "asok"

local A = asok.coroutine
local unpack = table.unpack or unpack

-- raises checks that f(...) raises an error whose text contains text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok and tostring(err):find(text, 1, true), "want error", text, "got", err)
end

-- lines returns an asok.coroutine.wrap generator of the lines of s (a
-- wrapper), then nil and the receive error.
local function lines(s, wrap)
  return (wrap or A.wrap)(function()
    while true do
      local l, err = s:receive("*l")
      if not l then return nil, err end
      coroutine.yield(l)
    end
  end)
end

-- the library: every other function is coroutine's own
for k, v in pairs(coroutine) do
  if k ~= "resume" and k ~= "wrap" and k ~= "status" then T.eq(A[k], v, "asok.coroutine." .. k) end
end
T.check(A.resume ~= coroutine.resume and A.wrap ~= coroutine.wrap and A.status ~= coroutine.status, "resume, wrap and status are asok's")

-- 1. a generator over a socket in an asok coroutine; the lines come in
-- three sends with waits between them, so the generator parks each time
do
  local a, b = T.pair()
  local s, c = asok.wrap(a), asok.wrap(b)
  local got = {}
  local finished = false
  asok.spawn(function()
    local gen = lines(s)
    while true do
      local l, err = gen()
      got[#got + 1] = l or ("nil/" .. tostring(err))
      if not l then break end
    end
    finished = true
  end)
  asok.spawn(function()
    for _, chunk in ipairs { "one\n", "two\nthr", "ee\n" } do
      asok.sleep(0.02)
      c:send(chunk)
    end
    asok.sleep(0.02)
    c:close()
  end)
  T.check(T.run(function() return finished end, 5), "generator finished")
  T.same(T.pack(unpack(got)), T.pack("one", "two", "three", "nil/closed"), "lines through the generator")
  s:close()
end

-- 2. plain coroutine.wrap hands asok's wait to its caller: what A fixes
do
  local a, b = T.pair()
  local s = asok.wrap(a)
  local first
  asok.spawn(function() first = lines(s, coroutine.wrap)() end)
  T.check(first ~= nil and type(first) ~= "string", "plain wrap yields the wait marker:", first)
  b:send("late\n")
  T.run(function() return false end, 0.05)
  s:close(); b:close()
end

-- 3. asok.coroutine.resume: user yields and returns come back as from
-- coroutine.resume (nils kept), asok waits in between stay inside
do
  local a, b = T.pair()
  local s = asok.wrap(a)
  local log = {}
  local finished = false
  asok.spawn(function()
    local co = A.create(function(x)
      local l = s:receive("*l")
      local y = coroutine.yield(x, nil, l)
      asok.sleep(0.01)
      return y, nil
    end)
    log[1] = T.pack(A.resume(co, "x"))
    log[2] = A.status(co)
    log[3] = T.pack(A.resume(co, "y"))
    log[4] = A.status(co)
    log[5] = T.pack(A.resume(co))
    finished = true
  end)
  T.check(not finished, "the resumer waits with its coroutine")
  b:send("data\n")
  T.check(T.run(function() return finished end, 5), "resume sequence finished")
  T.same(log[1], T.pack(true, "x", nil, "data"), "first yield")
  T.eq(log[2], "suspended", "suspended at its own yield")
  T.same(log[3], T.pack(true, "y", nil), "returns, nils kept")
  T.eq(log[4], "dead", "dead after returning")
  T.same(log[5], T.pack(false, "cannot resume dead coroutine"), "resuming a dead one")
  s:close(); b:close()
end

-- 4. nested two deep: a generator whose lines come from another
-- generator; consumed by a loop of calls, then by a generic for (on Lua
-- 5.1 an iterator cannot yield, so there the waits block: the sender is
-- started first)
for _, style in ipairs { "calls", "for" } do
  local a, b = T.pair()
  local s = asok.wrap(a)
  local got = {}
  asok.spawn(function()
    b:send("ab\n"); asok.sleep(0.02); b:send("cd\n"); asok.sleep(0.02); b:close()
  end)
  asok.spawn(function()
    local inner = lines(s)
    local outer = A.wrap(function()
      while true do
        local l = inner()
        if not l then return end
        coroutine.yield(l:upper())
      end
    end)
    if style == "calls" then
      local l = outer()
      while l do got[#got + 1] = l; l = outer() end
    else
      for l in outer do got[#got + 1] = l end
    end
    got.done = true
  end)
  T.check(T.run(function() return got.done end, 5), "nested generators finished:", style)
  T.same(T.pack(unpack(got)), T.pack("AB", "CD"), "two deep: " .. style)
  s:close()
end

-- 5. from the main thread: the generator's receive blocks while the
-- reactor runs the other coroutines (the sender here)
do
  local a, b = T.pair()
  local s, c = asok.wrap(a), asok.wrap(b)
  asok.spawn(function() asok.sleep(0.02); c:send("main\n"); asok.sleep(0.02); c:send("thread\n") end)
  local gen = lines(s)
  T.eq(gen(), "main", "main thread: first line")
  T.eq(gen(), "thread", "main thread: second line")
  s:close(); c:close()
end

-- 6. a close while the inner coroutine waits wakes it, and its resumer
do
  local a, b = T.pair()
  local s = asok.wrap(a)
  local res
  asok.spawn(function() res = T.pack(lines(s)()) end)
  T.eq(res, nil, "waiting")
  asok.spawn(function() asok.sleep(0.02); s:close() end)
  T.check(T.run(function() return res end, 5), "woken by the close")
  T.same(res, T.pack(nil, "closed"), "the generator saw 'closed'")
  b:close()
end

-- 7. errors: as coroutine.wrap and coroutine.resume give them
do
  local here = debug.getinfo(1, "S").short_src
  local function fails(msg) return function() asok.sleep(0.01); error(msg) end end
  local werr, rerr, oerr
  local obj = {}
  asok.spawn(function()
    local ok, e = pcall(A.wrap(fails("boom")))
    werr = { ok, e }
    rerr = T.pack(A.resume(A.create(fails("bang"))))
    local _, o = pcall(A.wrap(function() asok.sleep(0.01); error(obj) end))
    oerr = o
  end)
  T.check(T.run(function() return oerr end, 5), "errors came back")
  T.eq(werr[1], false, "wrap raises")
  T.check(type(werr[2]) == "string" and werr[2]:find("boom", 1, true) and werr[2]:find(here, 1, true),
    "wrap's error names the coroutine's and the caller's position:", werr[2])
  -- the same shape as plain coroutine.wrap's message
  local _, plain = pcall(coroutine.wrap(function() error("boom") end))
  local function shape(m) return (m:gsub(":%d+:", ":N:")) end
  T.eq(shape(werr[2]), shape(plain), "message shaped as coroutine.wrap's")
  T.eq(rerr[1], false, "resume returns false")
  T.check(tostring(rerr[2]):find("bang", 1, true), "resume's error", rerr[2])
  T.eq(oerr, obj, "a non-string error object passes as it is")
  local dead = A.wrap(function() end)
  dead()
  local _, d1 = pcall(dead)
  local pdead = coroutine.wrap(function() end)
  pdead()
  local _, d2 = pcall(pdead)
  T.eq(shape(d1), shape(d2), "calling a dead wrap")
end

-- 8. Lua 5.4: the dead coroutine's to-be-closed variables are closed, and
-- a failing __close replaces the error, as coroutine.wrap does
if _VERSION == "Lua 5.4" and not jit then
  local closed = {}
  local f = load([[
    local asok, closed = ...
    return function()
      local x <close> = setmetatable({}, { __close = function() closed.x = true end })
      asok.sleep(0.01)
      error("after wait", 0)
    end, function()
      local y <close> = setmetatable({}, { __close = function() error("close failed", 0) end })
      asok.sleep(0.01)
      error("first", 0)
    end]])
  local f1, f2 = f(asok, closed)
  local e1, e2
  asok.spawn(function()
    e1 = select(2, pcall(A.wrap(f1)))
    e2 = select(2, pcall(A.wrap(f2)))
  end)
  T.check(T.run(function() return e2 end, 5), "5.4 closes done")
  T.eq(e1, "after wait", "the error")
  T.eq(closed.x, true, "its to-be-closed variable was closed")
  local _, p2 = pcall(coroutine.wrap(load("return function() local y <close> = setmetatable({}, { __close = function() error('close failed', 0) end }); error('first', 0) end")()))
  T.eq(e2, p2, "a failing __close: the same error as coroutine.wrap's")
end

-- 9. argument errors name asok's function
raises("bad argument #1 to 'resume' (thread expected, got number)", A.resume, 1)
raises("bad argument #1 to 'resume' (thread expected, got no value)", A.resume)
raises("bad argument #1 to 'wrap' (function expected, got nil)", A.wrap, nil)
raises("bad argument #1 to 'wrap' (function expected, got no value)", A.wrap)

-- asok.xpcall and asok.select with sets inside a generator (on 5.1 the
-- xpcall's helper coroutine is one more link in the chain)
do
  local a, b = T.pair()
  local s = asok.wrap(a)
  local got
  asok.spawn(function()
    local gen = A.wrap(function()
      local ok, l = asok.xpcall(function() return s:receive("*l") end)
      coroutine.yield(ok, l)
      local r = asok.select({ s }, nil, 5)
      coroutine.yield(r[1] == s, (s:receive("*l")))
    end)
    local g1 = T.pack(gen())
    local g2 = T.pack(gen())
    got = { g1, g2 }
  end)
  asok.spawn(function() asok.sleep(0.02); b:send("x\n"); asok.sleep(0.02); b:send("y\n") end)
  T.check(T.run(function() return got end, 5), "xpcall and select in a generator finished")
  T.same(got[1], T.pack(true, "x"), "asok.xpcall inside")
  T.same(got[2], T.pack(true, "y"), "asok.select with sets inside")
  s:close(); b:close()
end

-- Lua 5.4: coroutines closed (coroutine.close) while they wait in a
-- receive, a sleep and a select with sets: nothing is reported when their
-- turn comes, and the receive's turn passes to the next reader, who gets
-- the line
if coroutine.close then
  local reports = 0
  asok.seterrorhandler(function() reports = reports + 1 end)
  local a, b = T.pair()
  local s = asok.wrap(a)
  local rd = asok.spawn(function() s:receive("*l"); error("closed reader ran") end)
  local sl = asok.spawn(function() asok.sleep(0.01); error("closed sleeper ran") end)
  local se = asok.spawn(function() asok.select({ s }, nil, 5); error("closed selecter ran") end)
  for _, co in ipairs { rd, sl, se } do
    T.eq(coroutine.status(co), "suspended", "waiting before the close")
    T.eq(coroutine.close(co), true, "closed")
  end
  local got
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  b:send("line\n")
  T.check(T.run(function() return got end, 5), "the next reader got its turn")
  T.same(got, T.pack("line", nil, nil), "the line, not lost to the closed reader")
  T.run(function() return false end, 0.05) -- the sleep's time passes
  T.eq(reports, 0, "nothing reported for the closed coroutines")

  -- a select closed in the zero sleep it takes when a socket is ready at
  -- once: the wait it parked on its other socket is dropped (by the next
  -- reap), so the next reader on that socket gets its line (that socket's
  -- turn was held for ever, every later receive and select on it waited)
  do
    local x, px = T.pair()
    local y, py = T.pair()
    py:send("ready\n")
    local sel = asok.spawn(function() asok.select({ x, y }, nil, 10); error("closed selecter ran") end)
    T.eq(coroutine.status(sel), "suspended", "the select yields for its zero sleep")
    T.eq(coroutine.close(sel), true, "closed in its zero sleep")
    local line
    asok.spawn(function() line = T.pack(asok.receive(x, "*l")) end)
    px:send("x\n")
    T.check(T.run(function() return line end, 5), "the next reader on the other socket went on")
    T.same(line or T.pack(), T.pack("x", nil, nil), "its line")
    x:close(); px:close(); y:close(); py:close()
  end

  -- the same select run by asok.coroutine.resume, in its zero sleep or
  -- in its wait, its coroutine closed while the driver lives on: its
  -- tokens go all the same (by the next reap), the driver's resume fails
  -- as for a receive, and the next reader on the socket gets its line
  for _, when in ipairs { "zero sleep", "wait" } do
    local x, px = T.pair()
    local y, py = T.pair()
    if when == "zero sleep" then py:send("ready\n") end
    local inner = A.create(function() asok.select({ x, y }, nil, 10); error("closed selecter ran") end)
    local res, stop
    asok.spawn(function()
      res = T.pack(A.resume(inner))
      while not stop do asok.sleep(0.01) end -- the driver lives on (a server's loop)
    end)
    T.eq(coroutine.close(inner), true, when .. ": the driven select closed")
    local line
    asok.spawn(function() line = T.pack(asok.receive(x, "*l")) end)
    px:send("x\n")
    T.check(T.run(function() return line and res end, 5), when .. ": the next reader and the driver went on")
    T.same(line or T.pack(), T.pack("x", nil, nil), when .. ": the next reader's line")
    T.same(res or T.pack(), T.pack(false, "cannot resume dead coroutine"), when .. ": the driver's resume")
    stop = true
    x:close(); px:close(); y:close(); py:close()
  end

  -- a coroutine closed while its asok.coroutine.resume-r waits for it:
  -- the resumer gets resume's error, and the socket's turn passes on
  local inner = A.create(function() s:receive("*l"); error("closed inner ran") end)
  local res
  asok.spawn(function() res = T.pack(A.resume(inner)) end)
  T.eq(res, nil, "the resumer waits with its coroutine")
  T.eq(coroutine.close(inner), true, "inner closed")
  got = nil
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  b:send("next\n")
  T.check(T.run(function() return got and res end, 5), "the resumer and the next reader went on")
  T.same(res, T.pack(false, "cannot resume dead coroutine"), "the resumer's result")
  T.same(got, T.pack("next", nil, nil), "the next reader's line")
  T.eq(reports, 0, "nothing reported")

  -- asok.select() without a timeout runs while coroutines wait: when the
  -- only ones left were closed (a reader with no data coming, a select
  -- with sets and no timeout, a long sleep), it returns (a hang here is
  -- ctest's timeout), and the socket's turn has passed on
  local cl = {
    asok.spawn(function() s:receive("*l"); error("closed reader ran") end),
    asok.spawn(function() asok.select({ s }, nil); error("closed selecter ran") end),
    asok.spawn(function() asok.sleep(3600); error("closed sleeper ran") end),
  }
  for _, co in ipairs(cl) do T.eq(coroutine.close(co), true, "closed") end
  T.same(T.pack(asok.select()), T.pack(nil, "timeout"), "asok.select() returned")
  got = nil
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  b:send("last\n")
  T.check(T.run(function() return got end, 5), "the next reader went on")
  T.same(got, T.pack("last", nil, nil), "the next reader's line")

  -- the same under asok.coroutine.resume: the resumer, waiting for its
  -- closed coroutine's receive on an idle socket, gets resume's error
  local idle = A.create(function() s:receive("*l"); error("closed inner ran") end)
  res = nil
  asok.spawn(function() res = T.pack(A.resume(idle)) end)
  T.eq(coroutine.close(idle), true, "inner closed")
  T.same(T.pack(asok.select()), T.pack(nil, "timeout"), "asok.select() returned")
  T.same(res or T.pack(), T.pack(false, "cannot resume dead coroutine"), "the resumer's result")
  got = nil
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  b:send("after\n")
  T.check(T.run(function() return got end, 5), "the next reader went on")
  T.same(got, T.pack("after", nil, nil), "the next reader's line")

  -- the same under a loop of asok.select with a timeout (the README's
  -- server loop): within a few idle seconds the resumer gets its error
  idle = A.create(function() s:receive("*l"); error("closed inner ran") end)
  res = nil
  asok.spawn(function() res = T.pack(A.resume(idle)) end)
  T.eq(coroutine.close(idle), true, "inner closed (timed loop)")
  for _ = 1, 40 do
    if res then break end
    asok.select(nil, nil, 0.1)
  end
  T.same(res or T.pack(), T.pack(false, "cannot resume dead coroutine"), "the resumer's result (timed loop)")

  -- the same while the loop is busy (a spinner's sleep(0) hands out a
  -- token in every step, so no step is idle): the waits of closed
  -- coroutines are still dropped within a few seconds, and nothing keeps
  -- the closed coroutines alive (they piled up for ever under load)
  local spin = true
  asok.spawn(function() while spin do asok.sleep(0) end end)
  idle = A.create(function() s:receive("*l"); error("closed inner ran") end)
  res = nil
  asok.spawn(function() res = T.pack(A.resume(idle)) end)
  T.eq(coroutine.close(idle), true, "inner closed (busy loop)")
  local dead = setmetatable({}, { __mode = "k" })
  for _ = 1, 100 do
    local co = asok.spawn(function() s:receive("*l"); error("closed reader ran") end)
    T.eq(coroutine.close(co), true, "reader closed (busy loop)")
    dead[co] = true
  end
  for _ = 1, 40 do
    if res then break end
    asok.select(nil, nil, 0.1)
  end
  spin = false
  asok.select(nil, nil, 0)
  T.same(res or T.pack(), T.pack(false, "cannot resume dead coroutine"), "the resumer's result (busy loop)")
  collectgarbage(); collectgarbage()
  T.eq(next(dead), nil, "the closed readers were collected (busy loop)")
  got = nil
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  b:send("busy\n")
  T.check(T.run(function() return got end, 5), "the next reader went on (busy loop)")
  T.same(got, T.pack("busy", nil, nil), "the next reader's line (busy loop)")
  T.eq(reports, 0, "nothing reported")

  -- a __close handler of the closed coroutine that waits in asok (it
  -- blocks: the closing coroutine cannot yield) while the coroutine's own
  -- receive is woken: nothing is reported, and the next reader gets the
  -- line (the failed resume was reported and the turn held for ever).
  -- (load: `local x <close>` does not parse on 5.1-5.3)
  local closing = assert((loadstring or load)([[
    local asok, s, b = ...
    return asok.spawn(function()
      local guard <close> = setmetatable({}, { __close = function()
        asok.spawn(function() b:send("line1\n") end)
        asok.sleep(0.05)
      end })
      s:receive("*l")
      error("closed reader ran")
    end)
  ]]))(asok, s, b)
  got = nil
  asok.spawn(function() got = T.pack(s:receive("*l")) end)
  T.eq(coroutine.close(closing), true, "closed, its __close handler waiting in asok")
  T.check(T.run(function() return got end, 5), "the next reader went on (__close)")
  T.same(got, T.pack("line1", nil, nil), "the next reader's line (__close)")
  T.eq(reports, 0, "nothing reported (__close)")

  -- white box: the small tokens of the closed readers' receives are given
  -- back to the free list (stream.lua's freetoks, nfree) once they are
  -- dropped: 65,535 closed waiters used to leave every later receive and
  -- send on newtoken's tokens, a hash in the token tables
  local function upvalue(f, name)
    for i = 1, math.huge do
      local n, v = debug.getupvalue(f, i)
      if n == nil then return nil end
      if n == name then return v end
    end
  end
  local hreceive
  local seen = {}
  local function search(f, depth)
    if hreceive or seen[f] or depth > 4 then return end
    seen[f] = true
    if upvalue(f, "freetoks") ~= nil and upvalue(f, "nfree") ~= nil then hreceive = f; return end
    for i = 1, math.huge do
      local n, v = debug.getupvalue(f, i)
      if n == nil then break end
      if type(v) == "function" then search(v, depth + 1) end
    end
  end
  for _, f in pairs(asok) do
    if type(f) == "function" then search(f, 1) end
  end
  T.check(hreceive ~= nil, "found the function holding the free tokens")
  if hreceive then
    -- on PUC Lua the receives park in C (park.c) with C tokens, counted by
    -- asok._debug.cparked(); under LuaJIT with the glue's small tokens
    local before, cbefore = upvalue(hreceive, "nfree"), asok._debug.cparked()
    for _ = 1, 10 do
      T.eq(coroutine.close(asok.spawn(function() s:receive("*l") end)), true, "reader closed (tokens)")
    end
    local inc = asok._debug.cparked() - cbefore
    T.check(inc == 0 or inc == 10, "the closed readers' tokens all in C or none:", inc)
    local lua = 10 - inc
    T.eq(upvalue(hreceive, "nfree"), math.max(before - lua, 0), lua .. " small tokens taken")
    T.check(T.reaped(2), "the loop reaped") -- (a reap gives them back)
    T.eq(upvalue(hreceive, "nfree"), math.max(before - lua, 0) + lua, lua .. " small tokens given back")
    T.eq(asok._debug.cparked(), cbefore, inc .. " C tokens given back")
    -- a driver closed while its child waits through it in a receive with a
    -- prefix (the glue's own park, a small token, on every interpreter),
    -- the child collected before the next reap: the child's token goes
    -- back (it stayed lent to the closed driver for ever, core.lua's lent)
    local x0 = upvalue(hreceive, "nfree")
    for _ = 1, 10 do
      local d = asok.spawn(function() A.resume(A.create(function() s:receive("*l", "p") end)) end)
      T.eq(coroutine.close(d), true, "driver closed (lent tokens)")
    end
    local taken = x0 - upvalue(hreceive, "nfree") -- (fewer when the free list ran short)
    collectgarbage(); collectgarbage()
    T.check(T.reaped(2), "the loop reaped") -- (a reap gives them back)
    T.eq(upvalue(hreceive, "nfree"), x0 - taken + 10, "the collected children's small tokens given back")
  end
  asok.seterrorhandler(nil)
  s:close(); b:close()
end

-- a generator waiting in asok inside one driver's asok.coroutine.resume
-- is inside that resume: asok.coroutine.status says "normal", and a second
-- driver gets resume's error instead of taking the generator's result
do
  local a, b = T.pair()
  local g = A.create(function() return asok.receive(a, "*l") end)
  local r1, r2
  asok.spawn(function() r1 = T.pack(A.resume(g)) end)
  T.eq(A.status(g), "normal", "status of a generator waiting inside a resume")
  asok.spawn(function() r2 = T.pack(A.resume(g)) end)
  T.same(r2 or T.pack(), T.pack(false, "cannot resume non-suspended coroutine"), "a second driver")
  b:send("hello\n")
  T.check(T.run(function() return r1 end, 5), "the first driver got its result")
  T.same(r1 or T.pack(), T.pack(true, "hello", nil, nil), "the first driver's result")
  T.eq(A.status(g), "dead", "status after")
  a:close(); b:close()
end

-- a C function is taken on every version (Lua 5.1's own wrap refuses it)
T.eq(A.wrap(select)("#", 1, 2), 2, "wrap of a C function")

-- 10. many generators at once, each waiting on its own socket
do
  local n, done = 50, 0
  local peers = {}
  for i = 1, n do
    local a, b = T.pair()
    peers[i] = b
    asok.spawn(function()
      local s = asok.wrap(a)
      local gen = lines(s)
      if gen() == "l" .. i and gen() == nil then done = done + 1 end
      s:close()
    end)
  end
  for i = n, 1, -1 do peers[i]:send("l" .. i .. "\n"); peers[i]:close() end
  T.check(T.run(function() return done == n end, 5), "50 generators:", done)
end

-- a sleep resumed early by someone else goes on sleeping (it returned
-- at once); a receive resumed early goes on waiting too
do
  local slept = false
  local co = asok.spawn(function() asok.sleep(0.05); slept = true end)
  T.check(coroutine.resume(co), "resumed early")
  T.eq(slept, false, "the sleep goes on after an early resume")
  T.eq(coroutine.status(co), "suspended", "still sleeping")
  T.check(T.run(function() return slept end, 5), "the sleep ended")
  local a, b = T.pair()
  local got
  local r = asok.spawn(function() got = T.pack(asok.receive(a, "*l")) end)
  T.check(coroutine.resume(r), "receive resumed early")
  T.eq(got, nil, "the receive goes on waiting")
  b:send("late\n")
  T.check(T.run(function() return got end, 5), "the receive returned")
  T.same(got, T.pack("late", nil, nil), "the receive's line")
  a:close(); b:close()
end

-- a child waiting inside asok.coroutine.wrap, resumed by someone else (a
-- coroutine, then the main thread): that resume returns at once (the
-- child waits on, for its driver), and the driver gets the line. On Lua
-- 5.2 the child's retry blocked inside that resume until the line came,
-- handed it to the resumer and left the driver suspended for ever (the
-- yield probe took the suspended driver for one that cannot yield)
for _, by in ipairs { "coroutine", "main thread" } do
  local n, peer = T.nativepair()
  local a
  if not n then a, peer = T.pair(); n = asok.wrap(a) end
  local X, res
  local D = asok.spawn(function()
    res = T.pack(A.wrap(function() X = coroutine.running(); return n:receive("*l") end)())
  end)
  T.eq(coroutine.status(X), "suspended", by .. ": the child waits")
  local sent = false
  asok.spawn(function() asok.sleep(0.2); sent = true; peer:send("x\n") end)
  local hand
  if by == "main thread" then
    hand = T.pack(coroutine.resume(X, "junk"))
  else
    T.spawn(function() hand = T.pack(coroutine.resume(X, "junk")) end)
  end
  T.eq(hand and hand[1], true, by .. ": the hand resume returned")
  T.eq(sent, false, by .. ": the hand resume returned at once, before the line was sent")
  T.eq(coroutine.status(X), "suspended", by .. ": the child waits on after it")
  T.eq(res, nil, by .. ": the driver still waits")
  T.check(T.run(function() return res end, 5), by .. ": the driver got its result")
  T.same(res or T.pack(), T.pack("x", nil, nil), by .. ": the driver's line")
  T.eq(coroutine.status(D), "dead", by .. ": the driver ended")
  n:close(); peer:close()
end

-- Lua 5.4: a child run by asok.coroutine.resume, closed while it waits in
-- a receive (a native client's, a wrapper's): its driver gets the close's
-- error, and the child, its token and its C record go (they stayed: the
-- token was lent to the driver, which only cancelled it)
if coroutine.close then
  for _, mode in ipairs { "native", "wrapper" } do
    local obj, peer
    if mode == "native" then obj, peer = T.nativepair() else local a; a, peer = T.pair(); obj = asok.wrap(a) end
    obj:settimeout(0.001)
    local weak = setmetatable({}, { __mode = "k" })
    local c0, answers = asok._debug.cparked(), {}
    for _ = 1, 50 do
      local child, fin
      asok.spawn(function()
        child = asok.coroutine.create(function() return obj:receive("*l") end)
        answers[#answers + 1] = T.pack(asok.coroutine.resume(child))
        fin = true
      end)
      weak[child] = true
      coroutine.close(child)
      T.run(function() return fin end, 5)
    end
    T.check(T.reaped(2), mode, ": the loop reaped")
    T.eq(#answers, 50, mode .. ": every driver returned")
    T.same(answers[1] or T.pack(), T.pack(false, "cannot resume dead coroutine"), mode .. ": the driver's answer")
    T.eq(asok._debug.cparked(), c0, mode .. ": no C record left by the closed children")
    collectgarbage()
    collectgarbage()
    T.eq(next(weak), nil, mode .. ": the closed children are collected")
    obj:close()
    peer:close()
  end

  -- the driver closed instead, while its child waits: the child's receive
  -- gives up its turn (another reader gets the data), the child stays
  -- suspended and can be resumed again (its receive then goes on), and
  -- children dropped so are collected with their tokens and C records
  -- (they stayed for ever, with the closed drivers)
  for _, mode in ipairs { "native", "wrapper" } do
    local obj, peer
    if mode == "native" then obj, peer = T.nativepair() else local a; a, peer = T.pair(); obj = asok.wrap(a) end
    local c0, weak = asok._debug.cparked(), setmetatable({}, { __mode = "k" })
    local kept
    for i = 1, 50 do
      local child
      local drv = coroutine.create(function()
        child = asok.coroutine.create(function() return obj:receive("*l") end)
        return asok.coroutine.resume(child)
      end)
      T.check(coroutine.resume(drv), mode, ": driver started")
      weak[child] = true
      if i == 1 then kept = child end
      T.eq(coroutine.close(drv), true, mode .. ": driver closed")
    end
    T.check(T.reaped(2), mode, ": the loop reaped") -- the receives give up their turn
    local other
    asok.spawn(function() other = T.pack(obj:receive("*l")) end)
    peer:send("first\n")
    T.run(function() return other end, 5)
    T.same(other or T.pack(), T.pack("first", nil, nil), mode .. ": another reader gets the line")
    local again
    asok.spawn(function() again = T.pack(asok.coroutine.resume(kept)) end)
    peer:send("second\n")
    T.run(function() return again end, 5)
    T.same(again or T.pack(), T.pack(true, "second", nil, nil), mode .. ": the orphan resumed again receives")
    kept = nil
    collectgarbage()
    collectgarbage()
    T.check(T.reaped(2), mode, ": the loop reaped") -- collected orphans give their tokens back
    T.eq(next(weak), nil, mode .. ": the orphans are collected")
    T.eq(asok._debug.cparked(), c0, mode .. ": no C record left by the orphans")
    obj:close()
    peer:close()
  end

  -- such an orphan resumed by a plain coroutine.resume: it waits as any
  -- coroutine under a plain resume does (asok resumes it when its line
  -- comes), not for the closed driver it had
  do
    local obj, peer = T.nativepair()
    local child
    local drv = coroutine.create(function()
      child = asok.coroutine.create(function() return obj:receive("*l") end)
      return asok.coroutine.resume(child)
    end)
    coroutine.resume(drv)
    coroutine.close(drv)
    T.check(T.reaped(2), "the loop reaped") -- child is an orphan
    local ok = coroutine.resume(child)
    T.check(ok, "plain resume of an orphan")
    peer:send("hello\n")
    T.run(function() return coroutine.status(child) == "dead" end, 5)
    T.eq(coroutine.status(child), "dead", "the orphan under a plain resume got its line and ended")
    obj:close(); peer:close()
  end
end

T.done("test_coroutine")
