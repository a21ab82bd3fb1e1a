-- test_select_sets.lua: asok.select(rset, wset, timeout) returns what
-- socket.select returns (array + object->index parts, timeout shape), early,
-- while coroutines keep running; buffered data counts as readable; 2,000
-- sockets (fds past FD_SETSIZE) with a few made ready give the exact sets.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- raises checks that f(...) raises an error containing text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok and tostring(err):find(text, 1, true), "want error", text, "got", err)
end

-- sameset checks a result table: array part equal to want (same objects in
-- order), each object mapped to its index (number subtype as LuaSocket's),
-- nothing else.
local function sameset(got, want, ref, what)
  T.eq(type(got), "table", what .. " is a table")
  if type(got) ~= "table" then return end
  local n = 0
  for _ in pairs(got) do n = n + 1 end
  T.eq(n, 2 * #want, what .. " entries")
  for i, obj in ipairs(want) do
    T.eq(got[i], obj, what .. " [" .. i .. "]")
    T.eq(T.show(got[obj]), T.show(ref and ref[obj] or i * 1.0), what .. " index of " .. i)
  end
end

-- pairs made by one listener: makepairs(n), n (accepted, client) LuaSocket pairs
local server, port = T.listener(4096)
local function makepairs(n) return T.pairs(server, port, n) end

-- shapes checks the result shapes against LuaSocket's own select, on low
-- fds (a function, so that its sockets die with its frame).
local function shapes()
  local acc, cli = makepairs(4)
  cli[3]:send("x\n"); cli[1]:send("y\n")
  socket.sleep(0.05)
  local want = T.pack(socket.select({ acc[4], acc[3], acc[2], acc[1] }, { cli[2] }, 1))
  local got = T.pack(asok.select({ acc[4], acc[3], acc[2], acc[1] }, { cli[2] }, 1))
  T.eq(got.n, want.n, "result count as socket.select")
  T.eq(#got[1], 2, "two readable")
  local ref = want[1]
  sameset(got[1], ref, ref, "readable vs socket.select")
  sameset(got[2], want[2], want[2], "writable vs socket.select")
  local wt = T.pack(socket.select({ acc[2] }, nil, 0))
  local gt = T.pack(asok.select({ acc[2] }, nil, 0))
  T.eq(gt.n, wt.n, "timeout result count")
  T.eq(gt[3], "timeout", "timeout string")
  sameset(gt[1], {}, nil, "timeout readable")
  sameset(gt[2], {}, nil, "timeout writable")
  -- LuaSocket state left alone: timeout and buffer of a raw object
  T.same(T.pack(acc[3]:gettimeout()), T.pack(socket.tcp():gettimeout()), "timeout untouched")
  T.eq(acc[3]:receive("*l"), "x", "raw receive after select")
  -- LuaSocket's own buffer (dirty) counts as readable at once
  cli[2]:send("a\nb\n")
  socket.sleep(0.05)
  T.eq(acc[2]:receive("*l"), "a", "first line via LuaSocket")
  T.check(acc[2]:dirty(), "LuaSocket buffered the rest")
  local r, w = asok.select({ acc[4], acc[2] }, nil, 5)
  sameset(r, { acc[2] }, nil, "dirty raw socket readable")
  sameset(w, {}, nil, "no writable")
  T.eq(acc[2]:receive("*l"), "b", "buffered line still there")
  -- a wrapper with data buffered by asok
  local wr = asok.wrap(acc[4])
  cli[4]:send("c\nd\n")
  T.eq(wr:receive("*l"), "c", "wrapper receive")
  r = asok.select({ wr }, nil, 5)
  sameset(r, { wr }, nil, "wrapper with asok-buffered data")
  -- any object with getfd/dirty methods (as LuaSec's connections), as
  -- socket.select takes them; its dirty() counts as readable
  local dirtyflag = false
  local obj = setmetatable({}, { __index = {
    getfd = function() return acc[2]:getfd() end,
    dirty = function() return dirtyflag end } })
  r = asok.select({ obj }, nil, 0)
  sameset(r, {}, nil, "getfd object, nothing to read")
  dirtyflag = true
  r = asok.select({ obj }, nil, 5)
  sameset(r, { obj }, nil, "getfd object with dirty() true")
  dirtyflag = false
  cli[2]:send("e\n")
  r = asok.select({ obj }, nil, 5)
  sameset(r, { obj }, nil, "getfd object readable")
  local sr = socket.select({ obj }, nil, 1)
  sameset(sr, { obj }, nil, "socket.select agrees")
  T.eq(acc[2]:receive("*l"), "e", "the line")
  -- a peer hang-up is readable; a closed socket is skipped
  cli[1]:close()
  acc[3]:close()
  r = asok.select({ acc[3], acc[1] }, nil, 5)
  sameset(r, { acc[1] }, nil, "hang-up readable, closed skipped")
  for i = 1, 4 do acc[i]:close(); cli[i]:close() end
end
shapes()

-- 2,000 pairs: fds beyond 1024, a few made ready
local N = 2000
local acc, cli = makepairs(N)
T.check(acc[N]:getfd() > 1024, "fds beyond FD_SETSIZE:", acc[N]:getfd())
local rset = {}
for i = 1, N do rset[i] = i % 2 == 0 and asok.wrap(acc[i]) or acc[i] end
local got = T.pack(asok.select(rset, nil, 0))
T.eq(got.n, 3, "nothing ready: three results")
T.eq(got[3], "timeout", "nothing ready: timeout")

local chosen = { 1999, 7, 1500, 42 }
for _, i in ipairs(chosen) do cli[i]:send("x\n") end
-- expected: by ascending fd
local want = { rset[7], rset[42], rset[1500], rset[1999] }
table.sort(want, function(x, y) return x:getfd() < y:getfd() end)
local waited = T.pack(asok.select(rset, nil, 5))
T.eq(waited.n, 2, "ready: two results")
sameset(waited[1], want, nil, "readable among 2,000")
sameset(waited[2], {}, nil, "no writable among 2,000")
for _, i in ipairs(chosen) do T.eq(asok.receive(rset[i], "*l"), "x", "drain " .. i) end

-- early return while other coroutines run; writable set
local ticks, ticked = 0, false
asok.spawn(function()
  while ticks < 1000 do asok.sleep(0.002); ticks = ticks + 1 end
  ticked = true
end)
asok.spawn(function() asok.sleep(0.1); asok.send(cli[1234], "late\n") end)
local t0 = socket.gettime()
local r, w, e = asok.select(rset, { cli[77] }, 10)
T.eq(e, nil, "no timeout")
sameset(r, {}, nil, "writable first: nothing readable yet")
sameset(w, { cli[77] }, nil, "writable client")
r, w, e = asok.select(rset, nil, 10)
T.check(socket.gettime() - t0 < 5, "returned early")
-- any tick (and the late line itself) proves coroutines ran meanwhile; how
-- many depends on the machine's load, so no count is asserted
T.check(ticks >= 1, "coroutines ran during select:", ticks)
sameset(r, { rset[1234] }, nil, "late sender readable")
T.eq(asok.receive(rset[1234], "*l"), "late", "late line")

-- timeout with sets: nothing ready, coroutines still run
local before = ticks
t0 = socket.gettime()
got = T.pack(asok.select(rset, nil, 0.1))
T.check(socket.gettime() - t0 >= 0.09, "waited for the timeout")
T.eq(got[3], "timeout", "timeout over 2,000")
T.check(ticks > before, "ticks during timeout")
ticks = 1000

-- inside a coroutine: yields until ready
local inco
asok.spawn(function() inco = T.pack(asok.select({ rset[500], rset[501] }, nil, 5)) end)
T.eq(inco, nil, "coroutine select waits")
cli[501]:send("z\n")
T.check(T.run(function() return inco end, 5), "coroutine select returned")
sameset(inco and inco[1], { rset[501] }, nil, "coroutine select result")

-- a socket closed by another coroutine while a select waits on it (no
-- timeout) is ready: the select returns it, and its receive says 'closed'
for _, how in ipairs({ "raw:close", "asok.close", "wrapper:close" }) do
  local a, b = T.pair()
  local wa = asok.wrap(a)
  local res, after
  asok.spawn(function()
    res = T.pack(asok.select({ a }, nil))
    after = T.pack(asok.receive(a))
  end)
  asok.spawn(function()
    asok.sleep(0.02)
    if how == "raw:close" then a:close() elseif how == "asok.close" then asok.close(a) else wa:close() end
  end)
  T.check(T.run(function() return after end, 5), how .. ": the select on a closed socket returned")
  sameset(res and res[1], { a }, nil, how .. ": the closed socket is ready")
  T.same(after or T.pack(), T.pack(nil, "closed", ""), how .. ": receive after")
  b:close()
end

-- two selects on one socket (two coroutines, then the main thread and a
-- coroutine): data makes both return it, as socket.select would (they
-- used to hand the socket's turn to each other for ever)
do
  local a, b = T.pair()
  local r1, r2
  asok.spawn(function() r1 = T.pack(asok.select({ a }, nil)) end)
  asok.spawn(function() r2 = T.pack(asok.select({ a }, nil)) end)
  asok.spawn(function() asok.sleep(0.02); b:send("x\n") end)
  T.check(T.run(function() return r1 and r2 end, 5), "two selects on one socket both returned")
  sameset(r1 and r1[1], { a }, nil, "first select")
  sameset(r2 and r2[1], { a }, nil, "second select")
  local r3
  asok.spawn(function() r3 = T.pack(asok.select({ a }, nil)) end)
  local rm = T.pack(asok.select({ a }, nil, 5)) -- the main thread's, data still unread
  sameset(rm[1], { a }, nil, "main thread select")
  T.check(T.run(function() return r3 end, 5), "the coroutine's select returned")
  sameset(r3 and r3[1], { a }, nil, "coroutine select beside the main thread's")
  a:close(); b:close()
end

-- a socket whose own timeout is zero (the settimeout(0) + select idiom of
-- copas-style code): the select still waits for it, and leaves its
-- timeout as it was
do
  local a, b = T.pair()
  local wa = asok.wrap(a)
  wa:settimeout(0)
  local res
  asok.spawn(function() res = T.pack(asok.select({ wa }, nil, 30)) end)
  asok.spawn(function() asok.sleep(0.02); b:send("x\n") end)
  T.check(T.run(function() return res end, 10), "a select on a zero-timeout socket wakes for its data")
  sameset(res and res[1], { wa }, nil, "zero-timeout socket ready")
  T.same(T.pack(wa:gettimeout()), T.pack(0.0, -1.0), "its timeout after the select")
  T.same(T.pack(wa:receive()), T.pack("x", nil, nil), "its receive")
  a:close(); b:close()
end

-- a NaN timeout with sets polls once, as socket.select does (it raised
-- "number expected, got NaN", the error of a select without sets)
do
  local a, b = T.pair()
  local t0 = socket.gettime()
  local r0, w0, e0 = asok.select({ a }, nil, 0 / 0)
  T.same(T.pack(#r0, #w0, e0), T.pack(0, 0, "timeout"), "NaN, nothing ready: socket.select's answer")
  T.check(socket.gettime() - t0 < 0.5, "at once")
  b:send("x")
  socket.sleep(0.05)
  local r = asok.select({ a }, nil, 0 / 0)
  T.eq(r[1], a, "NaN, one ready")
  a:close(); b:close()
end

-- a select whose socket is ready at once still gives the other coroutines
-- their turn, from the main thread (a step) and from a coroutine (a
-- yield): a loop on it (a listener that stays readable while accept fails
-- with EMFILE) starved the coroutines that would have changed that
do
  local a, b = T.pair()
  b:send("x\n") -- never read: a stays readable
  local spins, halt = 0, false
  T.spawn(function() while not halt do asok.sleep(0); spins = spins + 1 end end)
  for _ = 1, 200 do T.eq(asok.select({ a }, nil, 1)[1], a, "ready at once") end
  T.check(spins >= 100, "the main thread's 200 ready selects let a coroutine run", spins)
  local before, done = spins, false
  T.spawn(function()
    for _ = 1, 200 do assert(asok.select({ a }, nil, 1)[1] == a) end
    done = true
  end)
  T.check(T.run(function() return done end, 10), "the coroutine's 200 ready selects ended")
  T.check(spins - before >= 100, "and let the other coroutine run meanwhile", spins - before)
  halt = true
  T.run(function() return false end, 0.02)
  a:close(); b:close()
end

-- an fd asok cannot register because it is not a socket (a program's
-- stdin given as { getfd = ... }: a pipe, a file) is polled, as select(2)
-- watches it: a pipe is ready when its data comes (0.3 s here), not
-- before; a file at once; a pipe that stays empty: 'timeout' (it raised
-- "cannot watch ...: invalid argument"). Run in a child whose stdin is
-- the pipe or the file.
do
  local interp = T.interp() -- the interpreter itself
  local child = os.tmpname()
  local f = assert(io.open(child, "w"))
  f:write([[
local asok, socket = require "asok", require "socket"
local stdin = { getfd = function() return 0 end, dirty = function() return false end }
local out
asok.spawn(function()
  local t0 = socket.gettime()
  local r, w, e
  if arg[1] == "w" then r, w, e = asok.select(nil, { stdin }, 0.3) else r, w, e = asok.select({ stdin }, nil, 1.5) end
  out = ("%d %d %s %s|%.3f"):format(#r, #w, tostring(e), r[1] == stdin and tostring(io.read()) or "-",
    socket.gettime() - t0)
end)
while not out do asok.select(nil, nil, 0.05) end
print(out)
]])
  f:close()
  local data = os.tmpname()
  f = assert(io.open(data, "w")); f:write("from a file\n"); f:close()
  -- run gives the child's answer and how long its select took
  local function run(feed, mode)
    local p = assert(io.popen(feed .. " | timeout 20 " .. interp .. " " .. child .. " " .. (mode or "r")))
    local line = p:read("*l") or ""
    p:close()
    local answer, took = line:match("^(.*)|(.*)$")
    return answer or line, tonumber(took) or -1
  end
  local answer, took = run("(sleep 0.3; echo from a pipe)")
  T.eq(answer, "1 0 nil from a pipe", "a pipe: ready when its line came")
  T.check(took >= 0.15, "a pipe: not ready before its line came:", took)
  T.eq(run("cat " .. data), "1 0 nil from a file", "a file: ready at once")
  answer, took = run("sleep 2")
  T.eq(answer, "0 0 timeout -", "an empty pipe: timeout")
  T.check(took >= 1.4, "an empty pipe: the whole timeout:", took)
  -- a pipe's read end at EOF is readable, never writable (select(2))
  T.eq(run("true", "w"), "0 0 timeout -", "a pipe at EOF in the write set: not writable")
  os.remove(child); os.remove(data)
end

-- white box: a select's own tokens leave no mark in asok's waiting table
-- once it returned. A delivery to one of them while the select did not
-- wait on it (the turn on a socket, handed over by another select's
-- cancel while this one took its zero sleep; a delivery step had fetched
-- when the select's retry found the socket ready already) left a mark
-- waiting[t] = false that no park takes, until reap dropped it a second or
-- two later, and asok.select() without a timeout walked them all at every
-- step: 8 times slower under steady selects with sets
do
  local waiting
  local seen = {}
  local function walk(f, depth)
    if waiting or seen[f] or depth > 6 then return end
    seen[f] = true
    for i = 1, 255 do
      local n, v = debug.getupvalue(f, i)
      if not n then break end
      if n == "waiting" and type(v) == "table" then waiting = v; return end
      if type(v) == "function" then walk(v, depth + 1) end
    end
  end
  for _, f in pairs(asok) do if type(f) == "function" then walk(f, 0) end end
  T.check(waiting ~= nil, "found asok's waiting table")
  local function marks()
    local k = 0
    for _, w in pairs(waiting or {}) do if w == false then k = k + 1 end end
    return k
  end
  local a, pa = T.pair()
  local c, pc = T.pair()
  local m0 = marks()
  -- two coroutines on the same sockets: a never readable, c writable
  local left = 2
  for _ = 1, 2 do
    asok.spawn(function()
      for _ = 1, 200 do asok.select({ a }, { c }, 1) end
      left = left - 1
    end)
  end
  T.check(T.run(function() return left == 0 end, 10), "the selects with a turn handed over ended")
  T.eq(marks() - m0, 0, "no marks left by selects that shared a socket")
  -- both sockets of a select made readable in the same step
  local rounds = 0
  local co = asok.spawn(function()
    for _ = 1, 100 do
      local r = asok.select({ a, c }, nil, 5)
      if #r > 0 then
        asok.receive(a, "*l"); asok.receive(c, "*l")
        rounds = rounds + 1
      end
    end
  end)
  for _ = 1, 100 do
    pa:send("x\n"); pc:send("y\n")
    local r0 = rounds
    T.run(function() return rounds > r0 or coroutine.status(co) == "dead" end, 5)
  end
  T.eq(rounds, 100, "the selects on two sockets ready at once answered")
  T.eq(marks() - m0, 0, "no marks left by selects whose sockets were ready in the same step")
  a:close(); pa:close(); c:close(); pc:close()
end

-- arguments
raises("bad argument #1 to 'select' (table expected, got number)", asok.select, 42)
raises("bad argument #2 to 'select' (table expected, got boolean)", asok.select, {}, true)
raises("bad argument #1 to 'select' (socket expected in set, got number)", asok.select, { 1 }, nil, 0)
raises("bad argument #3 to 'select' (number expected, got string)", asok.select, {}, nil, "x")

-- a getfd that gives NaN, an infinity or a number past C's int: skipped,
-- as fd -1 is (socket.select skips NaN, which fails its fd >= 0 test; its
-- int cast of the others is undefined, and FD_SET aborts), in the main
-- thread and in a coroutine, alone and next to a ready socket, which is
-- listed; an fd given as a numeric string is still taken, as there
do
  local a, pa = T.pair()
  pa:send("x\n")
  T.check(T.run(function() return #asok.select({ a }, nil, 0) == 1 end, 5), "the pair's socket readable")
  local odd = {}
  for _, v in ipairs { 0 / 0, math.huge, -math.huge, 2 ^ 31, 2 ^ 32 + 3, 2 ^ 53, 2 ^ 63, 1e300, "inf", "1e400" } do
    odd[#odd + 1] = { v = v, obj = { getfd = function() return v end, dirty = function() return true end } }
  end
  local function each(where)
    for _, o in ipairs(odd) do
      local what = where .. ": getfd " .. tostring(o.v)
      local got = T.pack(pcall(asok.select, { o.obj }, { o.obj }, 0))
      T.check(got[1] and got[4] == "timeout" and next(got[2]) == nil and next(got[3]) == nil,
        what, "alone: want {}, {}, 'timeout', got", T.showpack(got))
      got = T.pack(pcall(asok.select, { o.obj, a, o.obj }, { o.obj }, 0))
      T.check(got[1] and got.n == 3, what, "with a ready socket: got", T.showpack(got))
      if got[1] then
        sameset(got[2], { a }, nil, what .. " with a ready socket, readable")
        sameset(got[3], {}, nil, what .. " with a ready socket, writable")
      end
    end
  end
  each("main thread")
  local done = false
  asok.spawn(function() each("coroutine"); done = true end)
  T.check(T.run(function() return done end, 5), "the coroutine's selects ended")
  local numeric = { getfd = function() return tostring(a:getfd()) end }
  sameset(asok.select({ numeric }, nil, 0), { numeric }, nil, "a numeric string fd")
  a:close(); pa:close()
end
for i = 1, N do cli[i]:close(); asok.close(rset[i]) end
server:close()
T.check(T.run(function() return ticked end, 5), "the ticker finished")
-- drop every reference to the 4,001 sockets (T.done counts the live handles)
server, acc, cli, rset, want, got, waited, r, w, inco = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_select_sets")
