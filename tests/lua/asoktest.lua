-- asoktest.lua - the tiny helper shared by tests/lua/test_*.lua (loaded
-- with dofile from the working directory, tests/lua).
--   local T = dofile("asoktest.lua")
--   T.check(cond, what...)  T.eq(got, want, what)  T.pack(...)  T.same(a, b, what)
--   T.pair()   -> connected server-side and client-side LuaSocket objects
--   T.run(pred, seconds)    drives asok.select until pred() or the deadline
--   T.done()   checks the live asok handles are back to T.base, prints a
--              summary and exits non-zero if anything failed
local asok = require "asok"
local socket = require "socket"

local T = { failures = 0, checks = 0 }

-- base is the live asok handle count at load: 1, the process's loop handle.
-- T.done checks every test ends with exactly that many.
T.base = asok._debug.handles()

-- check records one assertion; prints what failed.
function T.check(cond, ...)
  T.checks = T.checks + 1
  if not cond then
    T.failures = T.failures + 1
    local parts = {}
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    io.stderr:write("FAIL: ", table.concat(parts, " "), "\n", debug.traceback("", 2), "\n")
  end
  return cond
end

-- eq checks got == want.
function T.eq(got, want, what)
  return T.check(got == want, what, ": got", T.show(got), "want", T.show(want))
end

-- show renders a value with its type (and integer/float subtype on 5.3+).
function T.show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" and math.type then return math.type(v) .. ":" .. tostring(v) end
  return tostring(v)
end

-- pack captures all values and their count.
function T.pack(...)
  return { n = select("#", ...), ... }
end

-- showpack renders a pack.
function T.showpack(p)
  local parts = {}
  for i = 1, p.n do parts[i] = T.show(p[i]) end
  return "(" .. p.n .. ") " .. table.concat(parts, ", ")
end

-- same checks two packs: count, types, subtypes and values.
function T.same(a, b, what)
  local ok = a.n == b.n
  for i = 1, math.max(a.n, b.n) do
    if type(a[i]) ~= type(b[i]) or a[i] ~= b[i] then ok = false end
    if math.type and math.type(a[i]) ~= math.type(b[i]) then ok = false end
  end
  return T.check(ok, what, ": got", T.showpack(a), "want", T.showpack(b))
end

-- listener returns a LuaSocket server on 127.0.0.1 and its port.
function T.listener(backlog)
  local server = assert(socket.bind("127.0.0.1", 0, backlog or 32))
  local _, port = server:getsockname()
  return server, tonumber(port)
end

-- pair returns a connected (accepted, client) pair of LuaSocket objects.
function T.pair()
  local server, port = T.listener()
  local client = assert(socket.connect("127.0.0.1", port))
  local accepted = assert(server:accept())
  server:close()
  return accepted, client
end

-- interp returns the command line's interpreter (arg's lowest index),
-- for a child run with the same one.
function T.interp()
  local interp, i = arg[-1], -2
  while arg[i] do interp = arg[i]; i = i - 1 end
  return interp
end

-- pairs returns n (accepted, client) pairs of LuaSocket objects made by
-- one listener (server, port: T.listener's, its backlog at least n).
function T.pairs(server, port, n)
  local acc, cli = {}, {}
  for i = 1, n do
    cli[i] = assert(socket.connect("127.0.0.1", port))
    acc[i] = assert(server:accept())
  end
  return acc, cli
end

-- nativepair returns a connected (native client, LuaSocket client) pair:
-- the first from a wrapper server's accept (an asok.client), or nil.
function T.nativepair()
  local server, port = T.listener()
  local srv = asok.wrap(server)
  local client = assert(socket.connect("127.0.0.1", port))
  local native
  asok.spawn(function() native = srv:accept() end)
  T.run(function() return native end, 5)
  srv:close()
  T.check(native, "nativepair: no native client accepted")
  return native, client
end

-- T.KINDS: the three kinds of asok object a test makes over a connected
-- pair, as {name, make}: make() returns the object, its peer, and whether
-- the object is a raw LuaSocket object (asok.receive(obj) rather than
-- obj:receive()).
T.KINDS = {
  { "raw", function() local s, p = T.pair(); return s, p, true end },
  { "wrapper", function() local s, p = T.pair(); return asok.wrap(s), p, false end },
  { "native", function() local s, p = T.nativepair(); return s, p, false end },
}

-- T.receiver starts a coroutine in a line receive on obj (asok.receive
-- for a raw LuaSocket object); its results go to box.line.
function T.receiver(box, obj, raw)
  asok.spawn(function()
    if raw then box.line = T.pack(asok.receive(obj, "*l")) else box.line = T.pack(obj:receive("*l")) end
  end)
end

-- T.arrived blocks until obj polls readable by LuaSocket's own select
-- (which asok leaves alone): the data is in the kernel, and the reactor's
-- next epoll_wait sees it.
function T.arrived(obj)
  local r = socket.select({ obj }, nil, 5)
  T.check(r and r[1] == obj, "the data arrived")
end

-- run drives asok.select until pred() is true or seconds have passed.
function T.run(pred, seconds)
  local deadline = socket.gettime() + (seconds or 10)
  while not pred() do
    if socket.gettime() > deadline then return false end
    asok.select(nil, nil, 0.01)
  end
  return true
end

-- spawn creates and starts a coroutine; a failed first resume is a failure.
function T.spawn(f, ...)
  local co = coroutine.create(f)
  local ok, err = coroutine.resume(co, ...)
  T.check(ok, "coroutine failed:", err)
  return co
end

-- steps runs the reactor without waiting (zero-time selects) until pred()
-- or n steps (20 by default: a woken wait takes one); returns whether
-- pred() came true. A bound in steps, not in time.
function T.steps(pred, n)
  for _ = 1, n or 20 do
    if pred() then return true end
    asok.select(nil, nil, 0)
  end
  return pred() and true or false
end

-- reaped runs the reactor (asok.select, as T.run) until the loop has run n
-- reaps of its own (core.lua's reap, once a second by default: its
-- period shortened meanwhile, asok._debug.reapevery, and restored after)
-- or seconds have passed; returns whether it has. A bound in reaps, not
-- in time: a wait for "a reap" is not a sleep of more than a second.
function T.reaped(n, seconds)
  local want = asok._debug.reaps() + (n or 1)
  local every = asok._debug.reapevery(0.05)
  local ok = T.run(function() return asok._debug.reaps() >= want end, seconds or 5)
  asok._debug.reapevery(every)
  return ok
end

-- collect drops LuaJIT's compiled traces (they may anchor objects) and
-- runs full GC cycles, so that unreferenced objects' __gc have run.
function T.collect()
  if jit then jit.flush() end
  for _ = 1, 4 do collectgarbage("collect") end
end

-- closefd closes fd number fd through a LuaSocket object (setfd, close).
function T.closefd(fd)
  local j = assert(socket.tcp())
  j:close(); j:setfd(fd); j:close()
end

-- sharer returns a LuaSocket object given fd by setfd (the fd sharing of
-- docs/reliability.md items 52-63), its own fd closed first.
function T.sharer(fd)
  local o = assert(socket.tcp())
  local own = o:getfd()
  T.eq(o:setfd(fd), nil, "setfd")
  if own >= 0 then T.closefd(own) end
  return o
end

-- INTERRUPTED is the message of the error T.interrupt's hook raises.
T.INTERRUPTED = "interrupted!"

-- interrupt calls f() in the main thread under a hook that raises
-- T.INTERRUPTED at the k-th instruction the main thread runs in asok's
-- glue (LuaJIT's hooks are global: those of coroutines are not counted).
-- Returns pcall's results, packed.
function T.interrupt(k, f)
  local n = 0
  local function hook()
    local co, ismain = coroutine.running()
    if co and not ismain then return end
    local info = debug.getinfo(2, "S")
    if not (info and info.short_src:sub(1, 5) == "asok/") then return end
    n = n + 1
    if n == k then debug.sethook(); error(T.INTERRUPTED) end
  end
  local r = T.pack(pcall(function()
    debug.sethook(hook, "", 1)
    return f()
  end))
  debug.sethook()
  return r
end

-- handles lets the reactor finish what closes woke, drops LuaJIT's
-- compiled traces (they may anchor objects), runs full GC cycles (5.1:
-- finalized keys leave weak tables a cycle later), then returns how many
-- asok handles are alive.
function T.handles()
  T.run(function() return false end, 0.05)
  -- the handles asok closed for good while their object lived on (setfd,
  -- a socket LuaSocket replaced) are freed by the second reap after
  -- (core.lua's retired), not only by their own __gc
  asok._debug.reap(); asok._debug.reap()
  T.collect()
  return asok._debug.handles()
end

-- done checks that no asok handle outlived the test (the live count is
-- back to T.base once the loop settled and the GC ran), prints the
-- summary and exits with 0 only if every check passed.
function T.done(name)
  -- a statement of its own, not T.eq(T.handles(), ...): LuaJIT marks every
  -- stack slot below the top, and the slot T.eq's call would leave unwritten
  -- can still hold a socket from an earlier, deeper call (seen in test_atomic)
  local n = T.handles()
  T.eq(n, T.base, "live asok handles back to the baseline (only the loop)")
  print(string.format("%s: %d checks, %d failures (%s)", name, T.checks, T.failures,
    jit and jit.version or _VERSION))
  os.exit(T.failures == 0 and 0 or 1)
end


-- selnames renders a select result's array part through nm (object ->
-- name), joined by commas ("?" for an object nm does not name).
function T.selnames(t, nm)
  local out = {}
  for i = 1, #t do out[i] = nm[t[i]] or "?" end
  return table.concat(out, ",")
end

-- selboth runs socket.select and asok.select (from the main thread and in
-- a coroutine) on the same sets r, w with a zero timeout, checks that
-- asok's lists equal socket.select's (named through nm), and returns
-- socket.select's as "reads|writes|err".
function T.selboth(what, r, w, nm)
  local names = T.selnames
  local wr, ww, we = socket.select(r, w, 0)
  local want = names(wr, nm) .. "|" .. names(ww, nm) .. "|" .. tostring(we)
  local gr, gw, ge = asok.select(r, w, 0)
  T.eq(names(gr, nm) .. "|" .. names(gw, nm) .. "|" .. tostring(ge), want, what .. " (main thread)")
  local got
  asok.spawn(function()
    local a, b, c = asok.select(r, w, 0)
    got = names(a, nm) .. "|" .. names(b, nm) .. "|" .. tostring(c)
  end)
  T.run(function() return got end, 5)
  T.eq(got, want, what .. " (coroutine)")
  return want
end

return T
