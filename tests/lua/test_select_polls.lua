-- test_select_polls.lua: asok.select with socket sets costs a constant
-- number of readiness syscalls, whatever the number of its sockets: one
-- poll(2) over the whole set each time it asks (C.waitset: asok_waitset),
-- where it made one poll(2) per socket each time (2 per socket and select).
-- Counted with asok._debug.polls() (poll(2) and epoll_wait(2) calls of the
-- state's loop), not timed. The sockets here are idle, ready, read and
-- written, wrapped, given twice, and polled fds (a pipe as stdin); the
-- selects run in the main thread and in coroutines. The answers are
-- checked too (test_select_sets checks them against socket.select).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- counted runs f and returns its results' table and the poll(2) and
-- epoll_wait(2) calls it made
local function counted(f)
  local p0, e0 = asok._debug.polls()
  local res = T.pack(f())
  local p1, e1 = asok._debug.polls()
  return res, p1 - p0, e1 - e0
end

-- pairs made by one listener: makepairs(n), n (accepted, client) LuaSocket pairs
local server, port = T.listener(512)
local function makepairs(n) return T.pairs(server, port, n) end

T.check(type(asok._debug.polls) == "function", "asok._debug.polls exists")

-- polls counts a select over n idle sockets, n ready ones, ... and checks
-- the answers; the counts must not depend on n
local function polls(n)
  local acc, cli = makepairs(n)
  local counts = {}
  asok.select(acc, nil, 0) -- their probes made (no poll: counted below anyway)
  -- none ready, zero timeout: one look, a step of the reactor, one more
  local res, p, e = counted(function() return asok.select(acc, nil, 0) end)
  T.eq(res[3], "timeout", n .. " idle: timeout")
  counts.idle, counts.idlewaits = p, e
  -- none ready, a short timeout that passes
  res, p = counted(function() return asok.select(acc, nil, 0.02) end)
  T.eq(res[3], "timeout", n .. " idle, 20 ms: timeout")
  counts.timed = p
  -- one ready at once: the look, the other coroutines' turn, the answer
  cli[n]:send("x\n")
  socket.sleep(0.05)
  res, p = counted(function() return asok.select(acc, nil, 1) end)
  T.eq(#res[1], 1, n .. ": one readable")
  T.eq(res[1][1], acc[n], n .. ": the one with data")
  counts.ready = p
  T.eq(acc[n]:receive("*l"), "x", n .. ": its line")
  -- read and write sets over the same sockets (one pollfd each), and one
  -- socket given twice
  local rset = { acc[1] }
  for i = 1, n do rset[#rset + 1] = acc[i] end
  res, p = counted(function() return asok.select(rset, cli, 0) end)
  T.eq(#res[1], 0, n .. ": read and write: none readable")
  T.eq(#res[2], n, n .. ": read and write: every client writable")
  counts.both = p
  -- data that comes while the select waits (from a coroutine, after the
  -- select's look): the select wakes with it
  asok.spawn(function() asok.sleep(0.02); cli[1]:send("y\n") end)
  res, p = counted(function() return asok.select(acc, nil, 5) end)
  T.eq(res[1][1], acc[1], n .. ": woken by data that came while it waited")
  counts.woken = p
  T.eq(acc[1]:receive("*l"), "y", n .. ": that data")
  -- in a coroutine: its select yields while the main thread runs the
  -- reactor (a step with no sets: no poll)
  local out
  local p0 = asok._debug.polls()
  asok.spawn(function() out = T.pack(asok.select(acc, nil, 0.02)) end)
  T.run(function() return out end, 5)
  T.eq(out and out[3], "timeout", n .. ": in a coroutine: timeout")
  counts.coroutine = asok._debug.polls() - p0
  -- wrappers (asok's handles: buffered data looked at first)
  local wr = {}
  for i = 1, n do wr[i] = asok.wrap(acc[i]) end
  asok.select(wr, nil, 0)
  res, p = counted(function() return asok.select(wr, nil, 0) end)
  T.eq(res[3], "timeout", n .. " wrappers: timeout")
  counts.wrappers = p
  for i = 1, n do wr[i]:close(); cli[i]:close() end
  return counts
end

local small, large = polls(3), polls(150)
for _, k in ipairs({ "idle", "timed", "ready", "both", "woken", "coroutine", "wrappers" }) do
  T.eq(large[k], small[k], "polls of a select (" .. k .. "): 150 sockets as 3")
  T.check(large[k] <= 4, "polls of a select (" .. k .. ") over 150 sockets:", large[k])
end
-- the exact figures: a select that finds nothing looks twice (before and
-- after the reactor's step); one that waits looks again when woken
T.eq(large.idle, 2, "idle select: two polls")
T.eq(large.ready, 2, "ready select: two polls")
T.eq(large.both, 2, "read and write sets: two polls")
T.eq(large.wrappers, 2, "wrappers: two polls")
T.eq(large.timed, 2, "a select that times out: two polls")
T.eq(large.woken, 2, "a select woken by data: two polls")
T.eq(large.coroutine, 2, "a select in a coroutine: two polls")
T.eq(large.idlewaits, 1, "idle select: one epoll_wait")

-- polled fds (not sockets: a pipe as stdin) join in one poll(2) of their
-- own per look, however many: run in a child whose stdin is a pipe
do
  local interp = T.interp() -- the interpreter itself
  local child = os.tmpname()
  local f = assert(io.open(child, "w"))
  f:write([[
local asok, socket = require "asok", require "socket"
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
local set = {}
for i = 1, 20 do
  set[#set + 1] = assert(socket.connect("127.0.0.1", port))
  set[#set + 1] = assert(server:accept())
end
local stdin = { getfd = function() return 0 end, dirty = function() return false end }
for _, k in ipairs({ 1, 10 }) do
  local s = { (unpack or table.unpack)(set) }
  for i = 1, k do s[#s + 1] = stdin end
  asok.select(s, nil, 0)
  local p0 = asok._debug.polls()
  local r, w, e = asok.select(s, nil, 0)
  print(("%d %s %d"):format(#r, tostring(e), asok._debug.polls() - p0))
end
]])
  f:close()
  -- (the pipe stays open and empty for 3 s: the child needs far less)
  local p = assert(io.popen("sleep 3 | timeout 20 " .. interp .. " " .. child))
  T.eq(p:read("*l"), "0 timeout 4", "a pipe and 40 sockets: two polls a look")
  T.eq(p:read("*l"), "0 timeout 4", "ten pipe entries and 40 sockets: two polls a look")
  p:close()
  os.remove(child)
end

-- the glue's C calls per entry (a debug hook's call events of C
-- functions, in the selecting coroutine: getfd, dirty, the glue's own
-- primitives, Lua's builtins), a select over 2n idle sockets less one over
-- n: a native client's entry costs no more than a wrapper's, whose object
-- and handle are two (a select looked at each native client's handle
-- number through two C calls more per look, and per entry at the start:
-- 16 a native entry where a wrapper's took 12). LuaJIT without its JIT:
-- hooks do not fire in compiled code.
do
  if jit then jit.off(); jit.flush() end
  -- (timeout: the select's; 0 if nil; ready: a socket is, so no timeout)
  local function ccalls(set, timeout, ready)
    local calls, done = 0, nil
    local function hook()
      if debug.getinfo(2, "S").what == "C" then calls = calls + 1 end
    end
    asok.spawn(function()
      local co = coroutine.running()
      if jit then debug.sethook(hook, "c") else debug.sethook(co, hook, "c") end
      local r = T.pack(asok.select(set, nil, timeout or 0))
      if jit then debug.sethook() else debug.sethook(co) end
      done = r
    end)
    T.run(function() return done end, 5)
    if ready then
      T.check(done and done.n == 2 and #done[1] == 1, "C calls: the select over " .. #set .. " sockets, one ready")
    else
      T.eq(done and done[3], "timeout", "C calls: the select over " .. #set .. " idle sockets times out")
    end
    return calls
  end
  local N = 50
  local nserver, nport = T.listener(2 * N + 8)
  local wserver = asok.wrap(nserver)
  local per = {}
  for _, kind in ipairs { "native", "wrapper", "luasocket" } do
    local set, peers = {}, {}
    for i = 1, 2 * N do
      if kind == "native" then
        peers[i] = assert(socket.connect("127.0.0.1", nport))
        set[i] = wserver:accept()
      else
        peers[i] = assert(socket.connect("127.0.0.1", port))
        local a = assert(server:accept())
        set[i] = kind == "wrapper" and asok.wrap(a) or a
      end
    end
    local half = {}
    for i = 1, N do half[i] = set[i] end
    ccalls(set) -- (the first select registers them)
    local a = ccalls(half)
    per[kind] = (ccalls(set) - a) / N
    for i = 1, 2 * N do set[i]:close(); peers[i]:close() end
  end
  wserver:close()
  T.check(per.native <= per.wrapper, "C calls per entry of a select: a native client's", per.native,
    "a wrapper's", per.wrapper, "a LuaSocket object's", per.luasocket)
  -- a select that finds a socket ready at once makes as many C calls with
  -- a timeout as with none: the time a timeout started is taken only where
  -- a dirty object may have the sets read anew after the other
  -- coroutines' turn (335b0c4 took it for every select with a timeout,
  -- one C call more: 28 where 27 on 5.1-5.4)
  do
    local a, b = T.pair()
    b:send("x\n")
    T.arrived(a)
    ccalls({ a }, 0, true) -- (the first select registers it)
    local zero, timed = ccalls({ a }, 0, true), ccalls({ a }, 5, true)
    T.eq(timed, zero, "C calls of a select ready at once: timeout 5 against timeout 0")
    a:close(); b:close()
  end
  if jit then jit.on() end
end

server:close()
T.done("test_select_polls")
