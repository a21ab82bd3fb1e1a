-- diff/selfuzz.lua: the random differential fuzzer of select, accept,
-- connect, options and timeouts (test_diffsel.lua runs it). A seed draws a
-- plan (F.plan: pure data, from a generator that is the same on every Lua
-- version): a small world of sockets in chosen states and a list of calls.
-- F.build makes the world with plain LuaSocket calls, and waits until each
-- socket shows the state it was built for (data arrived, a FIN, a full
-- send buffer), so the same seed gives the same socket.select answers every
-- time (deterministic by construction). F.exec runs the calls through an
-- api (plain LuaSocket in diff/selref.lua; asok in the driver) and records
-- each result as descriptors (diff/harness.lua's), objects by their world
-- names, ports and paths by their shape.
-- Every process makes and closes the same fds in the same order, so the
-- world's fds are ordered alike in each (the lowest free fd is taken: the
-- free fds at the start, holes and all, rank the same); socket.select lists
-- sockets by ascending fd, and so the arrays compare.
local socket = require("socket")
local unix = require("socket.unix")
local H = require("harness")
local F = {}

local unpack = table.unpack or unpack

-- rng returns a generator seeded with seed: Park and Miller's minimal
-- standard, exact in doubles (5.1, LuaJIT) and integers (5.3+).
function F.rng(seed)
  local x = math.floor(seed) % 2147483646 + 1
  local r = {}
  -- int(n): 1 .. n
  function r.int(n) x = (x * 16807) % 2147483647; return x % n + 1 end
  -- chance(p): true with probability p (in thousandths)
  function r.chance(p) return r.int(1000) <= p * 1000 end
  function r.pick(list) return list[r.int(#list)] end
  return r
end

-- ---------------------------------------------------------------- the plan

-- plan_pair draws a connected pair: proto, and the states of its two ends
-- (a: the connecting end, b: the accepted end).
local function plan_pair(r)
  local p = { kind = "pair", proto = r.chance(0.5) and "tcp" or "unix" }
  local st = r.int(10)
  if st == 1 then p.data = r.int(3)               -- a sent bytes b has not read
  elseif st == 2 then p.dirty = true              -- b: a byte in LuaSocket's buffer
  elseif st == 3 then p.dirty, p.more = true, true -- ... and more in the kernel
  elseif st == 4 then p.aclose = true             -- b: EOF
  elseif st == 5 then p.ashut = true              -- a shut down its sending side
  elseif st == 6 then p.afull = true              -- a's send buffer full
  elseif st == 7 and p.proto == "tcp" then p.areset = true -- b: a reset
  elseif st == 7 then p.afull, p.ahup = true, true -- a full, then shut down both ways
  elseif st == 8 then p.bdata = r.int(2)          -- b sent bytes a has not read
  elseif st == 9 then p.bshutboth = true          -- b shut down both ways
  end
  return p
end

-- F.plan returns seed's world (a list of kinds) and calls.
function F.plan(seed)
  local r = F.rng(seed)
  local world = {}
  local n = 3 + r.int(6)
  for _ = 1, n do
    local k = r.int(12)
    if k <= 5 then world[#world + 1] = plan_pair(r)
    elseif k <= 7 then
      world[#world + 1] = { kind = "listener", proto = r.chance(0.7) and "tcp" or "unix", pending = r.int(4) - 1 }
    elseif k == 8 then world[#world + 1] = { kind = "udp", queued = r.int(3) - 1 }
    elseif k == 9 then world[#world + 1] = { kind = "udperr" }
    elseif k == 10 then world[#world + 1] = { kind = "master" }
    elseif k == 11 then world[#world + 1] = { kind = "closed" }
    else world[#world + 1] = { kind = "udpfresh" } end
  end
  local calls = {}
  local nc = 10 + r.int(20)
  for _ = 1, nc do
    local k = r.int(20)
    if k <= 10 then calls[#calls + 1] = F.plan_select(r)
    elseif k <= 12 then calls[#calls + 1] = { op = "accept", i = r.int(64) }
    elseif k <= 14 then
      calls[#calls + 1] = { op = "connect", to = r.pick({ "listener", "listener", "dead", "twice", "closed" }), i = r.int(64) }
    elseif k <= 16 then
      calls[#calls + 1] = { op = "opt", i = r.int(64), get = r.chance(0.5), name = r.int(64), value = r.int(64) }
    elseif k == 17 then calls[#calls + 1] = { op = "name", i = r.int(64), m = r.int(64) }
    elseif k <= 19 then
      calls[#calls + 1] = { op = "timeout", i = r.int(64), t = r.int(64), mode = r.int(64) }
    else calls[#calls + 1] = { op = "close", i = r.int(64) } end
  end
  return { seed = seed, world = world, calls = calls }
end

-- the kinds of set entries and their weights (plan_set)
local ITEMS = { "e", "e", "e", "e", "e", "e", "alias", "alias", "fake", "hole", "string", "file",
  "nonsock", "raise" }
local FAKES = { "str", "float", "neg", "nan", "nogetfd", "nonnum", "nilret", "bogusdirty", "huge" }
local NONSOCK = { "number", "boolean", "function", "thread" }

-- plan_set draws one set of a select: nil, an empty table, a bad argument
-- or a list of entries.
local function plan_set(r)
  local k = r.int(20)
  if k == 1 then return { kind = "nil" } end
  if k == 2 then return { kind = "empty" } end
  if k == 3 and r.chance(0.3) then return { kind = "bad", v = r.pick({ "number", "string", "boolean" }) } end
  local items = {}
  for i = 1, r.int(6) do
    local it = { k = r.pick(ITEMS), i = r.int(64) }
    if it.k == "nonsock" and r.chance(0.7) then it.k = "e" end -- rare: it hides the rest
    if it.k == "raise" and r.chance(0.7) then it.k = "e" end
    if it.k == "alias" then it.dirty = r.chance(0.3) end
    if it.k == "fake" then it.mode = r.pick(FAKES) end
    if it.k == "nonsock" then it.v = r.pick(NONSOCK) end
    if it.k == "raise" then it.where = r.pick({ "getfd", "dirty" }) end
    items[i] = it
  end
  return { kind = "list", items = items }
end

-- F.plan_select draws a select call: its sets and its timeout. A call
-- that finds nothing ready at a zero timeout is made again with a small
-- one, and one that finds something with none (it returns at once).
function F.plan_select(r)
  local c = { op = "select", r = plan_set(r), w = plan_set(r) }
  -- (both sets nil: asok.select runs the reactor, nil, 'timeout', by design)
  if c.r.kind == "nil" and c.w.kind == "nil" then c.w = { kind = "empty" } end
  local t = r.int(20)
  if t <= 14 then c.t = 0
  elseif t == 15 then c.t = "0"
  elseif t == 16 then c.t = "nan"
  elseif t == 17 then c.t = "badstring"
  elseif t == 18 then c.t = "badbool"
  else c.t = 0; c.again = true end
  return c
end

-- ---------------------------------------------------------------- the world

local LOCAL = "127.0.0.1"

-- settle waits (up to 5 s) until obj is readable (r true) or not writable
-- (w false), as it was built to be; raises if it never is: a world that
-- does not settle would make the comparison a race. again, if given, is
-- called every 50 ms of waiting (a datagram to a dead port sent anew: the
-- kernel drops ICMP errors past its global rate, icmp_msgs_per_sec, which
-- a loaded machine running other tests reaches; the socket keeps one
-- pending error however many come, so the world is the same).
local function settle(obj, r, w, what, again)
  for k = 1, 500 do
    local ok = true
    if r then
      local rr = socket.select({ obj }, nil, 0)
      ok = rr[1] ~= nil
    end
    if ok and w == false then
      local _, ww = socket.select(nil, { obj }, 0)
      ok = ww[1] == nil
    end
    if ok then return end
    -- (after a check that failed: a send with the error pending would
    -- take it, and the check after the sleep sees the new one)
    if again and k % 5 == 0 then again() end
    socket.sleep(0.01)
  end
  error("world did not settle: " .. what)
end

-- fill sends until obj's send buffer is full (its peer does not read) and
-- select no longer sees it writable.
local function fill(obj)
  local chunk = string.rep("f", 65536)
  obj:settimeout(0)
  for _ = 1, 1000 do
    local _, ww = socket.select(nil, { obj }, 0)
    if ww[1] == nil then return end
    for _ = 1, 1000 do
      local last, err = obj:send(chunk)
      if not last and err ~= "timeout" then error("fill: " .. tostring(err)) end
      if not last then break end
    end
  end
  error("fill: the send buffer never filled")
end

-- newunixpath returns a fresh path for a unix listener (removed by teardown).
local function newunixpath(W)
  local p = os.tmpname()
  os.remove(p)
  p = p .. ".sel"
  W.paths[#W.paths + 1] = p
  return p
end

-- mkpair returns a connected pair (a the connecting end, b the accepted
-- one) of proto, through W's listeners; accept (style) accepts b.
local function mkpair(W, proto)
  local l, a
  if proto == "tcp" then
    l = W.l4
    a = assert(socket.tcp())
    assert(a:connect(LOCAL, W.port4))
  else
    l = W.lu
    a = assert(unix.stream())
    assert(a:connect(W.upath))
  end
  settle(l, true, nil, "listener for a pair")
  local b = assert(W.S.acceptpair(l, proto))
  return a, b
end

-- add appends obj to the world as entry name (kind: what it is).
local function add(W, obj, kind, name)
  local e = { obj = obj, kind = kind, name = name }
  W.entries[#W.entries + 1] = e
  W.names[obj] = name
  return e
end

-- F.build makes p's world with S (the style: S.acceptpair(listener,
-- proto) accepts the b end of a pair; S.finish(W) may wrap the entries
-- once the world has settled). Returns W.
function F.build(p, S)
  local W = { entries = {}, names = {}, hidden = {}, paths = {}, S = S, nconn = 0, nacc = 0 }
  W.l4 = assert(socket.bind(LOCAL, 0, 64))
  W.port4 = select(2, W.l4:getsockname())
  W.upath = newunixpath(W)
  W.lu = assert(unix.stream())
  assert(W.lu:bind(W.upath)); assert(W.lu:listen(64))
  -- a port nothing listens on: bound (not listening) until teardown, so
  -- that no other process (the other reference run, other tests) takes it
  -- meanwhile; a connect there is refused
  local d = assert(socket.tcp())
  assert(d:bind(LOCAL, 0))
  W.dead = select(2, d:getsockname())
  W.hidden[#W.hidden + 1] = d
  for i, k in ipairs(p.world) do
    local nm = "w" .. i
    if k.kind == "pair" then
      local a, b = mkpair(W, k.proto)
      if k.data then
        for j = 1, k.data do assert(a:send(string.rep("d", j * 3) .. "\n")) end
        settle(b, true, nil, nm .. " data")
      end
      if k.bdata then
        for j = 1, k.bdata do assert(b:send(string.rep("e", j * 2) .. "\n")) end
        settle(a, true, nil, nm .. " bdata")
      end
      if k.dirty then
        assert(a:send("ab"))
        settle(b, true, nil, nm .. " dirty")
        b:settimeout(1)
        assert(b:receive(1) == "a")
        for _ = 1, 500 do -- "b" too: receive(1) read both bytes, or wait for it
          if b:dirty() then break end
          socket.sleep(0.01)
        end
        assert(b:dirty(), "dirty: LuaSocket buffered the second byte")
        if k.more then assert(a:send("cd")); settle(b, true, nil, nm .. " more") end
      end
      if k.aclose then a:close(); settle(b, true, nil, nm .. " aclose") end
      if k.ashut then assert(a:shutdown("send")); settle(b, true, nil, nm .. " ashut") end
      if k.areset then
        a:setoption("linger", { on = true, timeout = 0 })
        a:close()
        settle(b, true, nil, nm .. " areset")
      end
      if k.afull then fill(a); settle(a, nil, false, nm .. " afull") end
      if k.ahup then
        assert(b:shutdown("send"))
        assert(a:shutdown("both"))
        settle(a, true, false, nm .. " ahup")
      end
      if k.bshutboth then assert(b:shutdown("both")); settle(a, true, nil, nm .. " bshutboth") end
      local ea, eb = add(W, a, k.proto, nm .. "a"), add(W, b, k.proto, nm .. "b")
      ea.peer, eb.peer = b, a
    elseif k.kind == "listener" then
      local l, port
      if k.proto == "tcp" then
        l = assert(socket.bind(LOCAL, 0, 64))
        port = select(2, l:getsockname())
      else
        port = newunixpath(W)
        l = assert(unix.stream())
        assert(l:bind(port)); assert(l:listen(64))
      end
      for _ = 1, k.pending do
        local c
        if k.proto == "tcp" then c = assert(socket.tcp()); assert(c:connect(LOCAL, port))
        else c = assert(unix.stream()); assert(c:connect(port)) end
        W.hidden[#W.hidden + 1] = c
      end
      if k.pending > 0 then settle(l, true, nil, nm .. " pending") end
      local e = add(W, l, "listener", nm)
      e.proto, e.port = k.proto, port
    elseif k.kind == "udp" then
      local u = assert(socket.udp())
      assert(u:setsockname(LOCAL, 0))
      local _, port = u:getsockname()
      local s = assert(socket.udp())
      W.hidden[#W.hidden + 1] = s
      for j = 1, k.queued do assert(s:sendto(string.rep("u", j), LOCAL, port)) end
      if k.queued > 0 then settle(u, true, nil, nm .. " queued") end
      add(W, u, "udp", nm)
    elseif k.kind == "udperr" then
      local u = assert(socket.udp())
      assert(u:setpeername(LOCAL, W.dead))
      assert(u:send("x"))
      settle(u, true, nil, nm .. " icmp", function() u:send("x") end)
      add(W, u, "udp", nm)
    elseif k.kind == "master" then add(W, assert(socket.tcp()), "master", nm)
    elseif k.kind == "closed" then
      local c = assert(socket.tcp()); c:close(); add(W, c, "closed", nm)
    else add(W, assert(socket.udp()), "udp", nm) end
  end
  if S.finish then S.finish(W) end
  if os.getenv("ASOK_DIFFSEL_TRACE") == tostring(p.seed) then
    for i, e in ipairs(W.entries) do io.stderr:write("entry ", i, " ", e.name, " fd ", tostring(e.obj:getfd()), "\n") end
    for i, k in ipairs(p.world) do io.stderr:write("world ", i, " ", H.describe(k), "\n") end
  end
  return W
end

-- F.teardown closes every socket W made and removes its paths.
function F.teardown(W)
  for _, e in ipairs(W.entries) do pcall(e.obj.close, e.obj) end
  for _, h in ipairs(W.hidden) do pcall(h.close, h) end
  W.l4:close(); W.lu:close()
  for _, path in ipairs(W.paths) do os.remove(path) end
end

-- ---------------------------------------------------------------- the calls

-- shape turns an object's tostring into its class ("tcp{client}"), a
-- wrapper's or native client's "asok{...}" unwrapped (a difference asok
-- documents).
local function shape(v)
  local s = tostring(v)
  s = s:match("^asok{(.*)}$") or s
  return s:match("^([^:]*)") or s
end

-- describe is H.describe with world objects by name, select's result
-- tables by their array part (names) and their other keys, fds, ports and
-- paths by shape.
local function describe(W, v, fuzzy)
  local t = type(v)
  if (t == "table" or t == "userdata") and W.names[v] then return "obj:" .. W.names[v] end
  if t == "table" and getmetatable(v) == nil then
    local arr, n = {}, #v
    for i = 1, n do arr[i] = W.names[v[i]] or ("?" .. type(v[i])) end
    local other = {}
    for k, x in pairs(v) do
      if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then
        local kn = W.names[k] or ("?" .. H.describe(k))
        other[#other + 1] = kn .. "=" .. H.describe(x)
      end
    end
    table.sort(other)
    return "set[" .. table.concat(arr, ",") .. "|" .. table.concat(other, ",") .. "]"
  end
  if t == "table" or t == "userdata" then return "obj?" .. shape(v) end
  if fuzzy and t == "number" and v >= 1024 and v % 1 == 0 then return "port" end
  if fuzzy and t == "string" and v:match("^/tmp/") then return "path" end
  if fuzzy and t == "string" and v:match("^%d+$") and tonumber(v) >= 1024 then return "port" end
  return H.describe(v)
end

-- rec packs a call's results as a record.
local function rec(W, fuzzy, ...)
  local r = { n = select("#", ...), d = {} }
  for i = 1, r.n do r.d[i] = describe(W, (select(i, ...)), fuzzy) end
  return r
end

-- strip drops the "chunk:line: " position an error message starts with
-- (asok's Lua glue adds its caller's; LuaSocket's C errors have none).
local function strip(msg)
  msg = tostring(msg)
  return (msg:gsub("^[^:\n]*:%d+: ", ""))
end

-- raised records an error raised by a call (loose: only that it raised,
-- where asok's message differs by design).
local function raised(msg, loose)
  return { n = 1, d = { loose and "raised" or ("raised:" .. strip(msg)) } }
end

-- entry returns W's entry number i (modulo the entries there are now).
local function entry(W, i)
  return W.entries[(i - 1) % #W.entries + 1]
end

-- nonsocket values for sets (socket.select indexes them and raises)
local function nonsock(v)
  if v == "number" then return 42 end
  if v == "boolean" then return true end
  if v == "function" then return print end
  return coroutine.create(function() end)
end

-- fd returns obj's fd as a number (-1 if it has none)
local function fdof(obj)
  local ok, fd = pcall(obj.getfd, obj)
  return ok and tonumber(fd) or -1
end

-- makeset builds a select set from its plan; names its fakes (position p
-- in the call); fills info: loose when a non-socket value is there (asok's
-- message differs by design), fds -> objects for the cross-set check.
local function makeset(W, sp, argn, info)
  if sp.kind == "nil" then return nil end
  if sp.kind == "empty" then return {} end
  if sp.kind == "bad" then
    if sp.v == "number" then return 7 elseif sp.v == "string" then return "set" end
    return false -- (false: socket.select checks its type too)
  end
  local set = {}
  for i, it in ipairs(sp.items) do
    local v
    local nm = ("f%d.%d"):format(argn, i)
    if it.k == "e" then v = entry(W, it.i).obj
    elseif it.k == "alias" then
      local fd = fdof(entry(W, it.i).obj)
      local dirty = it.dirty
      v = { getfd = function() return fd end, dirty = function() return dirty end }
    elseif it.k == "fake" then
      local m, fd = it.mode, fdof(entry(W, it.i).obj)
      -- an fd not open is select(2)'s EBADF, or ignored past the process's
      -- fd table (its bit comes back set): asok raises (documented); fd
      -- 1000 runs in the read set only, where its dirty() comes first
      if m == "bogusdirty" and argn == 2 then m = "neg" end
      local ret
      if m == "str" then ret = tostring(fd)
      elseif m == "float" then ret = fd + 0.5
      elseif m == "neg" then ret = -1
      elseif m == "nan" then ret = 0 / 0
      elseif m == "nonnum" then ret = "abc"
      elseif m == "bogusdirty" then ret = 1000
      elseif m == "huge" then ret = 2 ^ 40 end
      if m == "nogetfd" then v = { dirty = function() return true end }
      elseif m == "huge" then
        -- socket.select casts it to an int (undefined: FD_SET aborts); asok
        -- skips it. Only its dirty form runs, where neither gets that far...
        -- so it is left out: an fd of -1 instead
        v = { getfd = function() return -1 end }
      else
        v = { getfd = function() return ret end, dirty = function() return m == "bogusdirty" end }
      end
    elseif it.k == "hole" then v = nil
    elseif it.k == "string" then v = "abc"
    elseif it.k == "file" then v = io.stderr
    elseif it.k == "nonsock" then v = nonsock(it.v); info.loose = true
    elseif it.k == "raise" then
      local fd = fdof(entry(W, it.i).obj)
      if it.where == "getfd" then v = { getfd = function() error("getfd raised", 0) end }
      else v = { getfd = function() return fd end, dirty = function() error("dirty raised", 0) end } end
    end
    if v ~= nil and type(v) == "table" and not W.names[v] then W.names[v] = nm end
    set[i] = v
  end
  return set
end

-- crossfix drops from the write set each object whose fd the read set has
-- under another object: asok names the read set's object in the read list
-- where socket.select names the last one collected (a documented
-- difference, docs/reliability.md "Open"). Decided on fds, which rank
-- alike in every process.
local function crossfix(rset, wset)
  if type(rset) ~= "table" or type(wset) ~= "table" then return wset end
  local rfd = {}
  local i = 1
  while rset[i] ~= nil do
    local o = rset[i]
    if type(o) == "table" or type(o) == "userdata" then
      local ok, f = pcall(function() return o:getfd() end)
      f = ok and tonumber(f) -- (a numeric string, a float: as select reads them)
      if f and f >= 0 and f < 2 ^ 31 then rfd[math.floor(f)] = rfd[math.floor(f)] or {}; rfd[math.floor(f)][o] = true end
    end
    i = i + 1
  end
  local out, j = {}, 1
  while wset[j] ~= nil do
    local o = wset[j]
    local keep = true
    if type(o) == "table" or type(o) == "userdata" then
      local ok, f = pcall(function() return o:getfd() end)
      f = ok and tonumber(f)
      if f and f >= 0 and f < 2 ^ 31 then
        local objs = rfd[math.floor(f)]
        if objs then
          for x in pairs(objs) do if x ~= o then keep = false end end
        end
      end
    end
    if keep then out[#out + 1] = o end
    j = j + 1
  end
  return out
end

-- timeout_of returns a select call's timeout argument.
local function timeout_of(c)
  if c.t == "nan" then return 0 / 0 end
  if c.t == "badstring" then return "abc" end
  if c.t == "badbool" then return true end
  return c.t
end

-- the option names and values the option calls draw from
local OPTNAMES = { "keepalive", "reuseaddr", "reuseport", "tcp-nodelay", "linger", "error",
  "tcp-keepidle", "tcp-keepcnt", "tcp-keepintvl", "ipv6-v6only", "broadcast", "dontroute",
  "ip-multicast-ttl", "ip-multicast-loop", "recv-buffer-size", "send-buffer-size",
  "bogus", "", "bindtodevice" }
local OPTVALUES = { true, false, 1, 0, 5, "yes", "nil", "linger0", "linger5", "lingeroff", 4096, -1 }

-- optvalue returns the value of option value number k.
local function optvalue(k)
  local v = OPTVALUES[(k - 1) % #OPTVALUES + 1]
  if v == "nil" then return nil end
  if v == "linger0" then return { on = true, timeout = 0 } end
  if v == "linger5" then return { on = true, timeout = 5 } end
  if v == "lingeroff" then return { on = false, timeout = 0 } end
  return v
end

local NAMEMETHODS = { "getsockname", "getpeername", "getfamily", "tostring", "getfd", "class" }
local TSET = { 0, 0.5, -1, "nil", 2, "1.5", "bad" }
local TMODES = { "b", "t", "nil", "x", "B", "nil" }

-- call runs g (a function returning a pack of its call's results; the
-- call itself is never a tail call, so that LuaSocket's argument errors
-- name it) under api.pcall: its record, or a raised one.
local function call(W, api, loose, fuzzy, g)
  local ok, res = api.pcall(g)
  if not ok then return raised(res, loose) end
  return rec(W, fuzzy, unpack(res, 1, res.n))
end

local pack = H.pack

-- F.exec runs plan p's calls on world W through api and returns their
-- records. api (each returns a pack of the call's results): select(r, w,
-- t), accept(l), connect(s, host, port), settimeout(s, t, mode), close(s);
-- newtcp() returns a new unconnected socket; pcall(f) is yield-safe
-- where it must be.
function F.exec(p, W, api)
  local recs = {}
  local trace = os.getenv("ASOK_DIFFSEL_TRACE") == tostring(p.seed)
  for _, c in ipairs(p.calls) do
    if trace then io.stderr:write("call at record ", #recs + 1, ": ", H.describe(c), "\n") end
    if c.op == "select" then
      local info = {}
      local rs = makeset(W, c.r, 1, info)
      local ws = makeset(W, c.w, 2, info)
      ws = crossfix(rs, ws)
      local t = timeout_of(c)
      local r = call(W, api, info.loose, false, function() return api.select(rs, ws, t) end)
      recs[#recs + 1] = r
      if c.again and r.n == 3 and r.d[3] == H.describe("timeout") then
        recs[#recs + 1] = call(W, api, info.loose, false, function() return api.select(rs, ws, 0.02) end)
      elseif c.again and r.n == 2 then
        recs[#recs + 1] = call(W, api, info.loose, false, function() return api.select(rs, ws, nil) end)
      end
    elseif c.op == "accept" then
      local ls = {}
      for _, e in ipairs(W.entries) do if e.kind == "listener" then ls[#ls + 1] = e end end
      if #ls > 0 then
        local e = ls[(c.i - 1) % #ls + 1]
        recs[#recs + 1] = call(W, api, false, false, function() return api.settimeout(e.obj, 0) end)
        local ok, res = api.pcall(function() return api.accept(e.obj) end)
        if not ok then recs[#recs + 1] = raised(res)
        else
          if res[1] then
            W.nacc = W.nacc + 1
            add(W, res[1], e.proto, "acc" .. W.nacc)
            recs[#recs + 1] = { n = 1, d = { "shape:" .. shape(res[1]) } }
          end
          recs[#recs + 1] = rec(W, true, unpack(res, 1, res.n))
        end
      end
    elseif c.op == "connect" then
      local s = api.newtcp()
      W.nconn = W.nconn + 1
      local nm = "conn" .. W.nconn
      add(W, s, "tcp", nm)
      local port, target = W.dead, nil
      if c.to == "listener" or c.to == "twice" then
        for k = 0, #W.entries - 1 do
          local e = entry(W, c.i + k)
          if e.kind == "listener" and e.proto == "tcp" and fdof(e.obj) >= 0 then target = e; break end
        end
        if target then port = target.port end
      end
      if c.to == "closed" then recs[#recs + 1] = call(W, api, false, false, function() return api.close(s) end) end
      recs[#recs + 1] = call(W, api, false, false, function() return api.connect(s, LOCAL, port) end)
      if c.to == "twice" then
        recs[#recs + 1] = call(W, api, false, false, function() return api.connect(s, LOCAL, port) end)
      end
      -- the listener has the connection queued before the next call
      if target and fdof(s) >= 0 and pcall(s.getpeername, s) and s:getpeername() then
        settle(target.obj, true, nil, nm .. " queued")
      end
    elseif c.op == "opt" then
      local e = entry(W, c.i)
      local name = OPTNAMES[(c.name - 1) % #OPTNAMES + 1]
      local o = e.obj
      if c.get then
        recs[#recs + 1] = call(W, api, false, true, function() return pack(o:getoption(name)) end)
      else
        local v = optvalue(c.value)
        recs[#recs + 1] = call(W, api, false, true, function() return pack(o:setoption(name, v)) end)
      end
    elseif c.op == "name" then
      local e = entry(W, c.i)
      local m = NAMEMETHODS[(c.m - 1) % #NAMEMETHODS + 1]
      local o = e.obj
      if m == "tostring" then recs[#recs + 1] = { n = 1, d = { "shape:" .. shape(o) } }
      elseif m == "getfd" then recs[#recs + 1] = { n = 1, d = { fdof(o) >= 0 and "fd" or "nofd" } }
      elseif m == "class" then recs[#recs + 1] = call(W, api, false, false, function() return pack(o.class) end)
      elseif m == "getsockname" then recs[#recs + 1] = call(W, api, false, true, function() return pack(o:getsockname()) end)
      elseif m == "getpeername" then recs[#recs + 1] = call(W, api, false, true, function() return pack(o:getpeername()) end)
      else recs[#recs + 1] = call(W, api, false, true, function() return pack(o:getfamily()) end) end
    elseif c.op == "timeout" then
      local e = entry(W, c.i)
      if e.kind ~= "listener" then
        local t = TSET[(c.t - 1) % #TSET + 1]
        local mode = TMODES[(c.mode - 1) % #TMODES + 1]
        if t == "nil" then t = nil elseif t == "bad" then t = {} end
        if mode == "nil" then mode = nil end
        local o = e.obj
        recs[#recs + 1] = call(W, api, false, false, function() return api.settimeout(o, t, mode) end)
        if o.gettimeout then recs[#recs + 1] = call(W, api, false, false, function() return pack(o:gettimeout()) end) end
      end
    elseif c.op == "close" then
      local e = entry(W, c.i)
      if e.kind ~= "listener" then -- (a listener's pending clients stay settled)
        recs[#recs + 1] = call(W, api, false, false, function() return api.close(e.obj) end)
        -- its peer sees the FIN before the next call
        if e.peer and fdof(e.peer) >= 0 then settle(e.peer, true, nil, e.name .. " closed") end
      end
    end
  end
  return recs
end

return F
