-- test_bad_input.lua: a generated bad-input test. Every public function of
-- the asok module (found by iterating the module table) and every wrapper
-- method is called with each bad value in each argument position (and with
-- the argument missing), inside a coroutine. Each call must either raise
-- "bad argument #N to 'name'" for that position, return normally (a value,
-- or LuaSocket's nil, err; nil, 'closed' for a closed socket), or park and
-- then finish once its sockets are closed. Never crash, never hang (ctest's
-- TIMEOUT catches a hang). Plus calls from a __gc finalizer and from
-- coroutines resumed by someone else.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local HUGE = string.rep("x", 1024 * 1024)
local unpack = table.unpack or unpack

-- bad values, in the order tried (nil holes handled through n)
local BAD = {
  { "nil", nil }, { "false", false }, { "true", true }, { "0", 0 }, { "-1", -1 },
  { "NaN", 0 / 0 }, { "-inf", -math.huge }, { "inf", math.huge }, { "2^53", 2 ^ 53 },
  { "2^63", 2 ^ 63 }, { "string", "*x?" }, { "huge string", HUGE }, { "table", {} },
  { "function", print }, { "coroutine", coroutine.create(function() end) },
  { "io.stdout", io.stdout }, { "closed socket", "CLOSED" }, { "closed wrapper", "CLOSEDW" },
}

-- fixtures returns fresh sockets for one call: a connected pair (one line
-- already waiting on client), a listening server, an unconnected master
-- and closed ones.
-- kind "udp" adds an unconnected UDP socket with a datagram waiting (udp,
-- wudp: its wrapper) and the peer that sent it (udppeer, at udpport);
-- kind "native" adds a native client (asok.client, from a wrapped
-- server's accept) with a line waiting, and its peer.
local function fixtures(kind)
  local accepted, client = T.pair()
  assert(accepted:send("line\n"))
  local server, port = T.listener()
  local closed = socket.tcp()
  assert(closed:connect("127.0.0.1", port))
  closed:close()
  local wclosed = socket.tcp()
  wclosed:close()
  local f = { accepted = accepted, client = client, server = server, port = port,
    master = socket.tcp(), closed = closed, wclient = asok.wrap(client),
    wclosed = asok.wrap(wclosed) }
  if kind == "udp" then
    f.udp, f.udppeer = assert(socket.udp()), assert(socket.udp())
    assert(f.udp:setsockname("127.0.0.1", 0))
    assert(f.udppeer:setsockname("127.0.0.1", 0))
    local _, uport = f.udp:getsockname()
    f.udpport = tonumber((select(2, f.udppeer:getsockname())))
    assert(f.udppeer:sendto("dgram", "127.0.0.1", uport))
    f.wudp = asok.wrap(f.udp)
  elseif kind == "native" then
    local ls, lport = T.listener()
    local ws = asok.wrap(ls)
    f.npeer = assert(socket.connect("127.0.0.1", lport))
    f.native = assert(ws:accept())
    asok.close(ws)
    assert(f.npeer:send("line\n"))
  end
  return f
end

-- closeall closes every socket of fixture f through asok (waking waiters).
local function closeall(f)
  for _, k in ipairs { "accepted", "client", "server", "master", "closed", "udp", "udppeer", "native", "npeer" } do
    if f[k] ~= nil then pcall(asok.close, f[k]) end
  end
  pcall(asok.close, f.wclosed)
end

-- TEMPLATES gives valid arguments for each function (f: fixtures).
local TEMPLATES = {
  accept = function(f) return { f.server } end,
  close = function(f) return { f.client } end,
  connect = function(f) return { f.master, "127.0.0.1", f.port } end,
  receive = function(f) return { f.client, "*l", "p" } end,
  require = function() return { "socket.tp" } end,
  select = function(f) return { { f.client }, nil, 0 } end,
  send = function(f) return { f.client, "data", 1, 2 } end,
  seterrorhandler = function() return { function() end } end,
  setlimit = function(f) return { f.client, 100 } end,
  settimeout = function(f) return { f.client, 1, "b" } end,
  sleep = function() return { 0 } end,
  receivefrom = function(f) return { f.udp, 100 } end,
  sendto = function(f) return { f.udp, "d", "127.0.0.1", f.udpport } end,
  throttle_receive = function(f) return { f.client, 1000 } end,
  throttle_send = function(f) return { f.client, 1000 } end,
  socks4_connect = function(f) return { f.client, "127.0.0.1", 80, "u" } end,
  socks5_connect = function(f) return { f.client, "h", 80, "u", "p" } end,
  spawn = function() return { function() end } end,
  wrap = function(f) return { f.client, 1 } end,
  xpcall = function() return { function() end, nil } end,
}

-- the fixtures a template needs beyond the TCP ones
local KIND = { receivefrom = "udp", sendto = "udp" }

-- wrapper methods: self first (the wrapped client)
local METHODS = {
  "receive", "send", "close", "settimeout", "dirty", "gettimeout", "getstats",
  "setstats", "getfd", "getpeername", "shutdown", "setlimit",
}
local MTEMPLATES = {
  receive = { "*l", "p" }, send = { "data", 1, 2 }, settimeout = { 1, "b" },
  setstats = { 1, 2, 3 }, shutdown = { "both" }, setlimit = { 100 },
}

-- substitute turns the "CLOSED"/"CLOSEDW" markers into fixture sockets.
local function substitute(v, f)
  if v == "CLOSED" then return f.closed end
  if v == "CLOSEDW" then return f.wclosed end
  return v
end

-- LuaSocket answers nil, 'closed' on a closed socket for these
local CLOSED_NIL = { receive = true, send = true, accept = true }

-- outcome runs fn(args[1..n]) in a coroutine and returns "error", msg;
-- "return", pack; or "parked" (closing f's sockets must end it, else
-- "hung").
local function outcome(f, fn, args, n, patience)
  local co = coroutine.create(function() return T.pack(fn(unpack(args, 1, n))) end)
  local ok, r = coroutine.resume(co)
  if not ok then return "error", tostring(r) end
  if coroutine.status(co) == "dead" then return "return", r end
  closeall(f)
  -- the close hands the waits back at once: a pass or two is usually all
  for _ = 1, 3 do
    if coroutine.status(co) == "dead" then break end
    asok.select(nil, nil, 0)
  end
  T.run(function() return coroutine.status(co) == "dead" end, patience or 5)
  if coroutine.status(co) ~= "dead" then return "hung" end
  return "parked"
end

-- short cuts a message for the report.
local function short(m)
  m = tostring(m)
  return #m > 160 and m:sub(1, 160) .. "..." or m
end

local METHODCALL = false -- set while sweeping wrapper methods

-- named says whether error message r names argument i of name: "bad
-- argument #i to 'name'"; for a wrapper method called with a colon also
-- LuaSocket's own numbering (#i-1, self not counted) or, for self,
-- "calling 'name' on bad self".
local function named(r, i, name)
  if r:find(("bad argument #%d to '%s'"):format(i, name), 1, true) then return true end
  if not METHODCALL then return false end
  if i == 1 then return r:find(("calling '%s' on bad self"):format(name), 1, true) ~= nil end
  return r:find(("bad argument #%d to '%s'"):format(i - 1, name), 1, true) ~= nil
end

-- try checks one call: name (for messages), fn, args with position i bad.
local function try(name, fn, args, n, i, badname, f)
  local what = ("%s(#%d = %s)"):format(name, i, badname)
  -- a long sleep is not ended by closing sockets: no use waiting for it
  local kind, r = outcome(f, fn, args, n, name == "sleep" and 0.1 or nil)
  if kind == "error" then
    T.check(named(r, i, name), what, "raised", short(r), "- want bad argument #", i, "to", name)
  elseif kind == "return" then
    if r[1] == nil and r.n > 0 then
      T.check(type(r[2]) == "string", what, "returned nil without a message:", T.showpack(r))
    end
    if args[1] ~= nil and (args[i] == f.closed or args[i] == f.wclosed) and i == 1 and CLOSED_NIL[name] then
      T.check(r[1] == nil and r[2] == "closed", what, "want nil, 'closed', got", T.showpack(r))
    end
  else
    T.check(kind == "parked" or name == "sleep", what, "did not return:", kind)
  end
end

-- sweep calls fn once per (position, bad value) and with each argument
-- missing; args() gives fresh valid arguments (and the fixtures).
local function sweep(name, fn, mkargs, kind)
  local f0 = fixtures(kind)
  local npos = #mkargs(f0) + 1
  closeall(f0)
  for i = 1, npos do
    for _, bad in ipairs(BAD) do
      local f = fixtures(kind)
      local args = mkargs(f)
      args[i] = substitute(bad[2], f)
      local n = math.max(#args, i)
      if name == "seterrorhandler" and i > 1 then n = i end
      try(name, fn, args, n, i, bad[1], f)
      asok.seterrorhandler(nil)
      closeall(f)
    end
    local f = fixtures(kind)
    try(name, fn, mkargs(f), i - 1, i, "missing", f)
    asok.seterrorhandler(nil)
    closeall(f)
  end
end

-- module functions, every one (a new function without a template is still
-- called with bad values in its first three positions)
local names = {}
for k, v in pairs(asok) do
  if type(v) == "function" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
end
table.sort(names)
T.check(#names >= 14, "module has", #names, "functions")
for _, name in ipairs(names) do
  local mk = TEMPLATES[name]
  if not mk then
    io.stderr:write("note: no template for asok.", name, ": bad values with no valid arguments\n")
    mk = function() return { nil, nil } end
  end
  sweep(name, asok[name], mk, KIND[name])
end

-- asok.coroutine's own two functions (the rest are coroutine's)
sweep("resume", asok.coroutine.resume, function() return { coroutine.create(function(...) return ... end) } end)
sweep("wrap", asok.coroutine.wrap, function() return { function() end } end)

-- sweepmethods sweeps the methods of sample's kind of object: self is
-- fixture key selfkey (of fixture kind), then the method's template (a
-- list, or a function of the fixtures returning one).
-- Called as obj:m(...) when self is one of them that has the method, else
-- as sample.m(self, ...) (a bad self; methods written in C take their
-- name in errors from the call, as LuaSocket's do).
local load = loadstring or load
local function sweepmethods(sample, methods, templates, selfkey, kind)
  METHODCALL = true
  for _, m in ipairs(methods) do
    T.check(type(sample[m]) == "function", selfkey, "has method", m)
    local colon = load(("local function id(...) return ... end\n"
      .. "return function(w, ...) return id(w:%s(...)) end"):format(m))()
    local dot = load(("local function id(...) return ... end\n"
      .. "return function(o, w, ...) return id(o.%s(w, ...)) end"):format(m))()
    sweep(m, function(w, ...)
      if w == nil or getmetatable(w) ~= getmetatable(sample) or w[m] == nil then
        return dot(sample, w, ...)
      end
      return colon(w, ...)
    end, function(f)
      local a = { f[selfkey] }
      local t = templates[m] or {}
      if type(t) == "function" then t = t(f) end
      for k, v in ipairs(t) do a[k + 1] = v end
      return a
    end, kind)
  end
  METHODCALL = false
end

-- wrapper methods, called as w.method(w, ...)
local W = asok.wrap(socket.tcp())
sweepmethods(W, METHODS, MTEMPLATES, "wclient")

-- native clients' methods (server:accept() on a wrapper); connect and
-- setpeername would resolve the bad strings, setfd would take over fds
local NATIVE = {
  "receive", "send", "close", "settimeout", "gettimeout", "getstats", "setstats",
  "getfd", "dirty", "getpeername", "getsockname", "getfamily", "getoption",
  "setoption", "shutdown", "setlimit", "throttle_receive", "throttle_send",
}
local NTEMPLATES = {
  receive = { "*l", "p" }, send = { "data", 1, 2 }, settimeout = { 1, "b" },
  setstats = { 1, 2, 3 }, shutdown = { "both" }, setlimit = { 100 },
  getoption = { "tcp-nodelay" }, setoption = { "tcp-nodelay", true },
  throttle_receive = { 1000 }, throttle_send = { 1000 },
}
do
  local f = fixtures("native")
  local sample = f.native
  T.eq(sample.class, "tcp{client}", "native client class")
  sweepmethods(sample, NATIVE, NTEMPLATES, "native", "native")
  closeall(f)
end

-- wrappers of unconnected UDP sockets
local UDP = {
  "receive", "receivefrom", "sendto", "settimeout", "gettimeout", "getsockname",
  "getoption", "setoption", "throttle_receive", "throttle_send", "close", "dirty",
  "getfamily",
}
local UTEMPLATES = {
  receive = { 100 }, receivefrom = { 100 }, settimeout = { 1 },
  getoption = { "broadcast" }, setoption = { "broadcast", true },
  throttle_receive = { 1000 }, throttle_send = { 1000 },
}
do
  local f = fixtures("udp")
  local sample = f.wudp
  UTEMPLATES.sendto = function(fx) return { "d", "127.0.0.1", fx.udpport } end
  sweepmethods(sample, UDP, UTEMPLATES, "wudp", "udp")
  closeall(f)
end

-- __gc finalizers calling asok: errors are raised and caught there, calls
-- that complete at once work, and nothing crashes.
do
  local f = fixtures()
  local results = {}
  local function finalizer()
    results[#results + 1] = T.pack(pcall(asok.receive, f.client, {}))
    results[#results + 1] = T.pack(pcall(asok.send, f.client, "gc\n"))
    results[#results + 1] = T.pack(pcall(asok.receive, f.accepted))
    results[#results + 1] = T.pack(pcall(asok.sleep, 0))
    results[#results + 1] = T.pack(pcall(asok.close, f.closed))
  end
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = finalizer
    p = nil
  else
    setmetatable({}, { __gc = finalizer })
  end
  collectgarbage()
  collectgarbage()
  T.eq(#results, 5, "finalizer ran")
  if #results == 5 then
    T.check(not results[1][1] and tostring(results[1][2]):find("bad argument #2 to 'receive'", 1, true),
      "receive in __gc:", results[1][2])
    T.same(results[2], T.pack(true, 3.0, nil, nil), "send in __gc")
    T.same(results[3], T.pack(true, "gc", nil, nil), "receive in __gc")
    T.eq(results[4][1], true, "sleep(0) in __gc")
  end
  closeall(f)
end

-- a coroutine resumed early by a foreign scheduler re-parks; one nested in
-- another coroutine is resumed by asok directly once its data arrives.
do
  local f = fixtures()
  assert(f.client:receive()) -- drop the waiting line
  local got
  local co = coroutine.create(function() got = T.pack(asok.receive(f.client)) end)
  local ok, v = coroutine.resume(co)
  T.check(ok and type(v) == "table", "parked", v)
  for _ = 1, 3 do -- spurious resumes with junk values
    ok, v = coroutine.resume(co, "junk", 42)
    T.check(ok and coroutine.status(co) == "suspended", "re-parked after a foreign resume", v)
  end
  f.accepted:send("late\n")
  T.run(function() return got ~= nil end, 5)
  T.same(got or T.pack(), T.pack("late", nil, nil), "receive after foreign resumes")

  local inner_got
  local inner = coroutine.create(function() inner_got = T.pack(asok.receive(f.client)) end)
  local outer = coroutine.create(function() return coroutine.resume(inner) end)
  T.check(coroutine.resume(outer), "outer ran")
  f.accepted:send("nested\n")
  T.run(function() return inner_got ~= nil end, 5)
  T.same(inner_got or T.pack(), T.pack("nested", nil, nil), "nested coroutine receive")
  closeall(f)
end

-- LuaSocket's close and setfd, which asok hooks once it used a class,
-- called with a bad self (the slip s.close() for s:close()): LuaSocket's
-- words, at the caller's line (they named 'rawclose' and pointed into
-- asok); setfd checks self before the fd, as LuaSocket does
do
  asok.wrap(socket.tcp()):close() -- the classes are hooked from here on
  local s, u = socket.tcp(), socket.udp()
  local function err(f) return select(2, pcall(f)) end
  local here = "[^:]*test_bad_input%.lua:%d+: "
  T.check(err(function() s.close() end):find("^" .. here .. "bad argument #1 to 'close' %(tcp{any} expected%)$"),
    "s.close():", err(function() s.close() end))
  T.check(err(function() u.close() end):find("^" .. here .. "bad argument #1 to 'close' %(udp{any} expected%)$"),
    "u.close():", err(function() u.close() end))
  T.check(err(function() s.setfd({}, 5) end):find("^" .. here .. "bad argument #1 to 'setfd' %(tcp{any} expected%)$"),
    "s.setfd({}, 5):", err(function() s.setfd({}, 5) end))
  T.check(err(function() s.setfd(nil, "x") end):find("^" .. here .. "bad argument #1 to 'setfd' %(tcp{any} expected%)$"),
    "s.setfd(nil, 'x'):", err(function() s.setfd(nil, "x") end))
  T.eq(s:close(), 1, "s:close() still closes")
  u:close()
end

-- LuaSocket's methods that asok hooks (settimeout, setstats, shutdown;
-- getstats, dirty) on an object asok uses, called with many extra
-- arguments (LuaSocket ignores them): asok's hook passes them on within
-- the Lua stack (hook.c wrote past it: a heap corruption)
do
  local accepted, client = T.pair()
  asok.wrap(client)
  local many = {}
  for i = 1, 300 do many[i] = i end
  for _, n in ipairs({ 20, 40, 60, 100, 150, 300 }) do
    for _ = 1, 3 do
      T.eq(client:settimeout(1, "b", unpack(many, 1, n)), 1, "settimeout with extra arguments:", n)
      T.eq(client:setstats(nil, nil, nil, unpack(many, 1, n)), 1, "setstats with extra arguments:", n)
      T.eq(client:getstats(unpack(many, 1, n)), 0, "getstats with extra arguments:", n)
      T.eq(client:dirty(unpack(many, 1, n)), false, "dirty with extra arguments:", n)
      collectgarbage()
    end
  end
  T.eq(client:shutdown("send", unpack(many, 1, 100)), 1, "shutdown with 100 extra arguments")
  client:close(); accepted:close()
end

collectgarbage()
collectgarbage()
asok.select(nil, nil, 0)
collectgarbage()
collectgarbage()
asok.close(W)
W = nil
-- T.done checks that the live asok handles are back to the baseline
T.done("test_bad_input")
