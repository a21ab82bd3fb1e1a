-- test_oom.lua: asok in a Lua state that runs out of memory (run by
-- oomhost, which gives oom_arm(n, k): the (n+1)th growing allocation and
-- the k-1 after it fail). Lua raises "not enough memory" wherever it
-- allocates; asok must then leave no coroutine waiting for ever, lose no
-- socket and keep working once memory is there again. Each case is swept
-- over n, so that the failure lands at every allocation of its path.
local socket = require "socket"
local asok = require "asok"

local checks, failures = 0, 0
local function check(cond, ...)
  checks = checks + 1
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: ", table.concat({ ... }, " "), "\n")
  end
  return cond
end

local function run(pred, seconds)
  local deadline = socket.gettime() + seconds
  while not pred() and socket.gettime() < deadline do asok.select(nil, nil, 0.01) end
  return pred()
end

-- fds counts this process's open sockets (not all its descriptors: the
-- pipe of the popen that lists them may show both its ends, racing with
-- the child's exec).
local PID do local f = io.open("/proc/self/stat"); PID = f:read("*n"); f:close() end
local function fds()
  collectgarbage(); collectgarbage() -- what only a finalizer closes, closed
  local p = io.popen("ls -l /proc/" .. PID .. "/fd")
  local n = 0
  for l in p:lines() do
    if l:find("socket:", 1, true) then n = n + 1 end
  end
  p:close()
  return n
end

-- undermemory runs f(...) with memory failing as oom_arm(n, k) says, all
-- of it protected (the call that arms it too: a call may grow the stack)
local function undermemory(n, k, f, ...)
  pcall(function(...) oom_arm(n, k); f(...) end, ...)
  oom_disarm()
end

asok.seterrorhandler(function() end) -- a coroutine that dies of the error: expected
local K = { 1, 2 } -- 5.2+ retries a failed allocation once: two in a row get through
local N = 40

-- 1. a native client's receive parked in C, finished by step while
-- memory fails (park.c): the coroutine gets the line or dies of the
-- error; it is never left suspended with nothing waiting
for _, k in ipairs(K) do
  for n = 0, N do
    local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
    local _, port = server:getsockname()
    local handler, got, c
    asok.spawn(function()
      c = server:accept()
      handler = asok.spawn(function()
        while true do
          local l = c:receive("*l")
          if not l then break end
          got = l
        end
        c:close()
      end)
    end)
    local peer = assert(socket.connect("127.0.0.1", port))
    run(function() return handler end, 5)
    -- a line no string of the state equals yet: its push allocates
    peer:send(("line %d %d\n"):format(n, k))
    undermemory(n, k, asok.select, nil, nil, 0.02)
    peer:close()
    run(function() return coroutine.status(handler) == "dead" end, 2)
    check(coroutine.status(handler) == "dead", "receive, n", n, "k", k, ": the handler is left", coroutine.status(handler),
      "got", tostring(got))
    server:close()
    if c then c:close() end
  end
end

-- 2. asok.select with a set, memory failing while it registers the fd
-- (select.lua's watcher): once memory is there, the select works
for _, k in ipairs(K) do
  for n = 0, N do
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local a = assert(socket.connect("127.0.0.1", port))
    local b = assert(server:accept())
    server:close()
    b:send("x\n")
    undermemory(n, k, asok.select, { a }, nil, 0)
    local ok, r = pcall(asok.select, { a }, nil, 1)
    check(ok and type(r) == "table" and r[1] == a, "select, n", n, "k", k, ": then", tostring(r))
    a:close(); b:close()
  end
end

-- 3. a wrapped server's accept, memory failing around accept4
-- (client.c): the accepted fd is owned, closed with its client. One
-- round without failures first: whatever the process opens once (the Go
-- runtime's own descriptors) is open before the counts begin
do
  local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = server:getsockname()
  local peer = assert(socket.connect("127.0.0.1", port))
  local c
  asok.spawn(function() c = server:accept() end)
  run(function() return c end, 1)
  if c then c:close() end
  server:close(); peer:close()
  collectgarbage(); collectgarbage()
end
for _, k in ipairs(K) do
  for n = 0, N do
    local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
    local _, port = server:getsockname()
    local peer = assert(socket.connect("127.0.0.1", port))
    local before = fds()
    local done, c, co
    undermemory(n, k, function() -- the accept itself under the failing memory
      co = asok.spawn(function() c = server:accept(); done = true end)
      asok.select(nil, nil, 0.02)
    end)
    -- until the accept ended, or there is none (the spawn or the
    -- coroutine died of the error): a loaded machine may take a while
    run(function() return done or not co or coroutine.status(co) == "dead" end, 5)
    if c then c:close() end
    c = nil
    server:close()
    collectgarbage(); collectgarbage()
    peer:settimeout(2)
    local _, err = peer:receive(1)
    check(err == "closed", "accept, n", n, "k", k, ": the peer's receive says", tostring(err))
    local after = fds()
    check(after <= before - 1, "accept, n", n, "k", k, ": fds", after, "before", before)
    peer:close()
  end
end

-- 4. a LuaSocket class patched again (a reload of socket.core refills its
-- metatables with LuaSocket's own methods), memory failing while asok
-- hooks it (core.lua's patch): once memory is there, the class is hooked,
-- and hooked once: getstats counts asok's bytes once, and LuaSocket's
-- close of a socket a coroutine waits on wakes it with 'closed'
for _, k in ipairs(K) do
  for n = 0, 80 do -- its path allocates more: the window is at 40-65
    package.loaded["socket.core"] = nil
    require "socket.core"
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local a = assert(socket.connect("127.0.0.1", port))
    local b = assert(server:accept())
    server:close()
    local got = {}
    local function reader()
      while true do
        local l, err = asok.receive(a, "*l")
        got[#got + 1] = l or err
        if not l then return end
      end
    end
    local co
    undermemory(n, k, function() co = asok.spawn(reader); asok.select(nil, nil, 0) end)
    if not co or coroutine.status(co) == "dead" then co = asok.spawn(reader) end
    b:send("line\n")
    run(function() return got[1] end, 2)
    local r = a:getstats()
    check(got[1] == "line" and r == 5, "patch, n", n, "k", k, ": got", tostring(got[1]), "getstats", tostring(r))
    a:close()
    run(function() return coroutine.status(co) == "dead" end, 2)
    check(got[2] == "closed", "patch, n", n, "k", k, ": the waiter after close got", tostring(got[2]), coroutine.status(co))
    b:close()
  end
end

-- 5. asok.select with a set in the main thread, memory failing once its
-- sockets' tokens are parked (waitset.c's answer table, the wait after):
-- the select's error releases them all, so that a later select on each
-- socket wakes with its data (a token left parked held the socket's turn:
-- the later select timed out with the data there). Eight sockets: the
-- answer table grows four times, one window at least on each version
do
  local server = assert(socket.bind("127.0.0.1", 0, 16))
  local _, port = server:getsockname()
  local unpack = unpack or table.unpack
  local NS = 8
  for _, k in ipairs(K) do
    for n = 0, N do
      local as, bs = {}, {}
      for i = 1, NS do
        bs[i] = assert(socket.connect("127.0.0.1", port))
        as[i] = assert(server:accept())
      end
      asok.select(as, nil, 0) -- their watchers made: the failures land in the wait
      undermemory(n, k, asok.select, { unpack(as) }, {}, 0)
      local woke, nwoke = {}, 0
      for i = 1, NS do
        asok.spawn(function()
          woke[i] = asok.select({ as[i] }, nil, 2)[1] == as[i]
          nwoke = nwoke + 1
        end)
      end
      for i = 1, NS do bs[i]:send("x\n") end
      run(function() return nwoke == NS end, 5)
      for i = 1, NS do
        check(woke[i] == true, "select's wait, n", n, "k", k, ": a later select on socket", i, "woke:", tostring(woke[i]))
      end
      for i = 1, NS do as[i]:close(); bs[i]:close() end
    end
  end
  server:close()
end

-- 6. asok.select with a set and a timeout in the main thread, its socket
-- not ready, memory failing in its wait and in the clean-up after the
-- error (two failures in a row: the second lands in that clean-up): the
-- select's tokens are released, so the socket's next receive gets what
-- the peer sends, and nothing is left waiting. The clean-up cleared the
-- timeout token's note first (waiting[stok] = nil, a new key on Lua
-- 5.1-5.3 when the error came before the note), and its memory error
-- skipped the release: the entry's token, noted under a group no one
-- owns, held the socket's turn for ever (the receive timed out with the
-- data there). That note grows the table of waits only when it is full:
-- j other coroutines wait meanwhile (0 to 7, each on a socket of its own),
-- so that for some j it is
local function tcppair()
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  local a = assert(socket.connect("127.0.0.1", port))
  local b = assert(server:accept())
  server:close()
  return a, b
end
for j = 0, 7 do
  local others = {}
  for i = 1, j do
    local x, y = tcppair()
    others[i] = { x, y }
    asok.spawn(function() asok.receive(x) end)
  end
  for _, k in ipairs(K) do
    for n = 0, N do
      local a, b = tcppair()
      local w = asok.wrap(a, 1)
      asok.select({ a }, nil, 0) -- its watcher made: the failures land in the wait
      undermemory(n, k, asok.select, { a }, nil, 0.001)
      b:send("x\n")
      local ok, l, err = pcall(w.receive, w)
      check(ok and l == "x", "select with a timeout, j", j, "n", n, "k", k, ": then receive", tostring(l), tostring(err))
      check(asok._debug.waits() == j, "select with a timeout, j", j, "n", n, "k", k, ": waits", asok._debug.waits())
      w:close(); b:close()
    end
  end
  for i = 1, j do others[i][1]:close(); others[i][2]:close() end
  run(function() return asok._debug.waits() == 0 end, 2)
end

-- 7. a native client's receive in a coroutine that asok.coroutine.wrap
-- runs from the main thread, memory failing along its path: such a
-- coroutine could yield but its driver cannot, so park.c hands the
-- operation's C token to the glue, which blocks on it. The token's owner
-- is noted first (glueheld: the reap gives back the token of a coroutine
-- that died). A memory error noting it left the operation queued on the
-- client and its token held, noted nowhere: the next receive on the
-- client waited behind it until the reap cancelled it (1-2 s), and the C
-- token never came back. Now that error gives both up at once. Right
-- after the error, either the token is back and the next receive gets
-- the line at once (in 20 steps, each a zero-time select: no reap falls
-- in between), or the token is still held (an error after the note,
-- before the protected wait: docs/reliability.md, Open) and the reap
-- gives it back; either way every C token comes back
do
  local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = server:getsockname()
  for _, k in ipairs(K) do
    for n = 0, N do
      local peer = assert(socket.connect("127.0.0.1", port))
      local c
      asok.spawn(function() c = server:accept() end)
      run(function() return c end, 5)
      local c0 = asok._debug.cparked()
      c:settimeout(0.005) -- (the sweep's later n: the receive itself times out)
      local reader = asok.coroutine.wrap(function() return c:receive("*l") end)
      undermemory(n, k, reader)
      local back = asok._debug.cparked() == c0
      c:settimeout(-1)
      local got
      asok.spawn(function() got = c:receive("*l") end)
      local line = ("line %d %d"):format(n, k)
      peer:send(line .. "\n")
      local steps = 0
      while not got and steps < 20 do asok.select(nil, nil, 0); steps = steps + 1 end
      check(got == line or not back, "asok.coroutine receive, n", n, "k", k,
        ": its token given back, the next receive got", tostring(got), "in", steps, "steps")
      run(function() return got and asok._debug.cparked() == c0 end, 3)
      check(got == line, "asok.coroutine receive, n", n, "k", k, ": the next receive got", tostring(got))
      check(asok._debug.cparked() == c0, "asok.coroutine receive, n", n, "k", k, ": C tokens in use",
        asok._debug.cparked(), "before", c0)
      c:close(); peer:close()
    end
  end
  server:close()
end

-- 8. asok.connect to a name from the main thread, memory failing while
-- its lookup runs (connect.lua's lookup, run protected there): its error
-- cancels the lookup before anything that allocates. The clean-up cleared
-- the watch's note of the token first (w[tok] = nil: a new key on Lua
-- 5.1-5.3 when the error came before the note, or after the park took it
-- off), and its memory error skipped the cancel: the lookup's answer,
-- when it came, left a mark (waiting[t] = false) that no park takes,
-- until the reap dropped it a second or two later (or, an answer too
-- large for the first read, stayed kept in asok for good). Counted after
-- a second connect to the name, whose own lookup the loop ran until it
-- came back: no mark is left. Up to four failures in a row: on 5.2+ a
-- failed allocation is tried again once, so the fourth lands in the
-- clean-up
do
  local waiting -- asok's token -> waiter table, found through the glue's upvalues
  local seen = {}
  local function walk(f, depth)
    if waiting or seen[f] or depth > 6 then return end
    seen[f] = true
    for i = 1, 255 do
      local name, v = debug.getupvalue(f, i)
      if not name then break end
      if name == "waiting" and type(v) == "table" then waiting = v; return end
      if type(v) == "function" then walk(v, depth + 1) end
    end
  end
  for _, f in pairs(asok) do if type(f) == "function" then walk(f, 0) end end
  check(waiting ~= nil, "connect: found asok's waiting table")
  local function marks()
    local m = 0
    for _, w in pairs(waiting or {}) do if w == false then m = m + 1 end end
    return m
  end
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  server:settimeout(0) -- (its connections are accepted and dropped as they come)
  for _, k in ipairs { 1, 2, 3, 4 } do
    for n = 0, N do
      local m0 = marks()
      local a = socket.tcp()
      undermemory(n, k, asok.connect, a, "localhost", port)
      a:close()
      local b = socket.tcp()
      local ok = asok.connect(b, "localhost", port)
      b:close()
      check(ok == 1 and marks() == m0, "connect by name, n", n, "k", k, ": then connect", tostring(ok),
        "marks", marks(), "before", m0)
      while true do
        local c = server:accept()
        if not c then break end
        c:close()
      end
    end
  end
  server:close()
end

-- every handle is freed by now, or by the collections here: a LuaSocket
-- object's by its own __gc and its handle's (either is enough: Lua drops a
-- finalizer whose call meets a memory error, docs/reliability.md item
-- 60), one asok closed for good while its object lived on (a registration
-- cut short, a stale select watcher, a socket LuaSocket replaced) by the
-- second reap after, or by its own __gc
collectgarbage(); collectgarbage()
run(function() return false end, 0.05)
asok._debug.reap(); asok._debug.reap()
collectgarbage(); collectgarbage()
check(asok._debug.handles() == 1, "handles left:", asok._debug.handles())
print(string.format("test_oom: %d checks, %d failures (%s)", checks, failures, _VERSION))
os.exit(failures == 0 and 0 or 1)
