-- test_argnames.lua: a bad argument to a wrapper's or a native client's
-- method (and to the close and setfd asok puts on LuaSocket's objects)
-- raises the error LuaSocket's own C method raises when called the same
-- way: luaL_argerror names the function from the call (the method's name,
-- a local's, an upvalue's, a global's; '?' from pcall or a coroutine,
-- where 5.2+ then look for the function among the globals or the loaded
-- modules), and counts self only in a method call. Each call form below is
-- one compiled chunk, called once on a plain LuaSocket object (its class's
-- methods as LuaSocket made them, before asok patched any) and once on the
-- asok object of the same class: the whole error strings must be equal,
-- the position included (the same line of the same chunk). A tail call
-- (`return o:m(x)`) on PUC Lua is compared past the position: asok's
-- method, a Lua function, has no frame of its caller left to point at
-- (docs/reliability.md). A wrapper's method given a bad self cannot tell
-- which class's method it stands for (one function serves every class):
-- its words in the parentheses are asok's (Open in docs/reliability.md),
-- so there only what comes before them is compared (name and number).
local socket = require "socket"

-- LuaSocket's own methods, before asok loads and patches close and setfd:
-- class's method table -> name -> function
local ORIG = {}
local CLASSES = { "tcp{client}", "tcp{master}", "tcp{server}", "udp{connected}", "udp{unconnected}" }
local registry = debug.getregistry()
for _, class in ipairs(CLASSES) do
  local idx = registry[class] and registry[class].__index
  if type(idx) == "table" and not ORIG[idx] then
    local o = {}
    for k, v in pairs(idx) do if type(v) == "function" then o[k] = v end end
    ORIG[idx] = o
  end
end

local T = dofile("asoktest.lua")
local asok = require "asok"

local ISJIT = type(rawget(_G, "jit")) == "table"
local PUC51 = _VERSION == "Lua 5.1" and not ISJIT
local unpack = table.unpack or unpack

-- plain runs f(...) with the LuaSocket methods of raw's class as they were
-- before asok (protected; returns pcall's results).
local function plain(raw, f, ...)
  local idx = getmetatable(raw).__index
  local o, saved = ORIG[idx], {}
  for k, v in pairs(o) do saved[k] = rawget(idx, k); idx[k] = v end
  local r = T.pack(pcall(f, ...))
  for k in pairs(o) do idx[k] = saved[k] end
  return r
end

-- the call forms: a chunk per method name (o: the object that lends the
-- method, s: the self passed, then the arguments); its chunk name makes
-- the position "argnames:1:" on both sides
local load = loadstring or load
local FORMS = {
  { "method", "local o, s = ...; local r = o:<m>(select(3, ...)) return r", good = true },
  { "field", "local o, s = ...; local r = o.<m>(s, select(3, ...)) return r" },
  { "local", "local o, s = ...; local f = o.<m>; local r = f(s, select(3, ...)) return r" },
  { "upvalue", "local o, s = ...; local f = o.<m>; local function g(...) local r = f(...) return r end; local r = g(s, select(3, ...)) return r" },
  { "global", "local o, s = ...; ARGNAMES_F = o.<m>; local r = ARGNAMES_F(s, select(3, ...)) return r" },
  { "other object's method", "local o, s = ...; local t = { <m> = o.<m> }; local r = t:<m>(select(3, ...)) return r", bad = true },
  { "tail method", "local o, s = ...; return o:<m>(select(3, ...))", good = true, tail = true },
  { "pcall", "local o, s = ...; local ok, e = pcall(o.<m>, s, select(3, ...)); if ok then return 'no error' end error(e, 0)" },
  { "pcall of a global", "local o, s = ...; ARGNAMES_F = o.<m>; local ok, e = pcall(o.<m>, s, select(3, ...)); if ok then return 'no error' end error(e, 0)" },
  -- a C function is no coroutine body on 5.1
  { "coroutine", "local o, s = ...; local ok, e = pcall(coroutine.wrap(o.<m>), s, select(3, ...)); if ok then return 'no error' end error(e, 0)", no51 = true },
  { "for iterator", "local o, s, a = ...; for _ in o.<m>, s, a do break end", one = true },
}
local chunks = {}
local function chunk(form, m)
  local key = form[1] .. "/" .. m
  chunks[key] = chunks[key] or assert(load((form[2]:gsub("<m>", m)), "=argnames"))
  return chunks[key]
end

-- outcome is the error string of a call's pcall results r (or what it
-- returned, shown, if it raised none).
local function outcome(r)
  if r[1] then return "no error: " .. T.showpack(r) end
  return tostring(r[2])
end

local function strip(e)
  return (e:gsub("^argnames:%d+: ", ""))
end

-- head is e without the parenthesised words at its end.
local function head(e)
  return (e:gsub(" %(.*%)$", ""))
end

-- compare calls method m of ref (a plain LuaSocket object) and of obj (an
-- asok object of that class) in every form, with self (nil: the object
-- itself) and the arguments args, and compares the errors.
local function compare(what, ref, obj, m, self, args)
  for _, form in ipairs(FORMS) do
    local skip = (form.good and self ~= nil) or (form.bad and self == nil)
      or (form.no51 and PUC51) or (form.one and args.n ~= 1)
    if not skip then
      local f = chunk(form, m)
      local want = outcome(plain(ref, f, ref, self == nil and ref or self, unpack(args, 1, args.n)))
      ARGNAMES_F = nil
      local got = outcome(T.pack(pcall(f, obj, self == nil and obj or self, unpack(args, 1, args.n))))
      ARGNAMES_F = nil
      local label = ("%s %s(%s) %s"):format(what, m, self == nil and "" or "bad self", form[1])
      T.check(want:find("bad argument", 1, true) or want:find("bad self", 1, true), label, ": LuaSocket raises an argument error:", want)
      if form.tail and not ISJIT then want, got = strip(want), strip(got) end
      if self ~= nil and what:find("wrapper", 1, true) then want, got = head(want), head(got) end
      T.eq(got, want, label)
    end
  end
end

local function A(...) return T.pack(...) end

-- the cases: method, arguments (A(...)), or a bad self (self = v)
local STREAM = {
  { "receive", A("*x") }, { "receive", A({}) }, { "receive", A("*l", {}) }, { "receive", A(-1) },
  { "send", A() }, { "send", A({}) }, { "send", A("x", {}) }, { "send", A("x", 1, "z") },
  { "settimeout", A({}) }, { "settimeout", A(1, "z") }, { "settimeout", A(1, {}) },
  { "setoption", A({}) }, { "setoption", A("keepalive", {}) }, { "setoption", A("bogus", 1) },
  { "getoption", A({}) }, { "getoption", A("bogus") },
  { "shutdown", A("q") }, { "setstats", A("x") }, { "setstats", A(1, "x") },
  { "connect", A({}) }, { "connect", A("h", {}) }, { "setpeername", A({}) },
  { "setfd", A("x") }, { "accept", A() },
  { "receive", A(), self = 5 }, { "send", A("x"), self = {} }, { "close", A(), self = 5 },
  { "getpeername", A(), self = 5 }, { "getsockname", A(), self = {} }, { "getoption", A("keepalive"), self = 5 },
  { "setoption", A("keepalive", true), self = 5 }, { "getstats", A(), self = 5 }, { "setstats", A(1), self = 5 },
  { "dirty", A(), self = 5 }, { "getfd", A(), self = 5 }, { "setfd", A(1), self = 5 },
  { "shutdown", A(), self = 5 }, { "connect", A("h", 1), self = 5 }, { "accept", A(), self = 5 },
}
local MASTER = {
  { "connect", A() }, { "connect", A({}) }, { "connect", A("h", {}) }, { "bind", A({}) }, { "bind", A("h", {}) },
  { "listen", A("x") }, { "settimeout", A({}) }, { "setoption", A("bogus", 1) }, { "receive", A() },
  { "send", A("x") }, { "accept", A() }, { "connect", A("h", 1), self = 5 }, { "bind", A("h", 1), self = 5 },
}
local SERVER = {
  { "accept", A(), self = 5 }, { "accept", A(), self = {} }, { "settimeout", A({}) }, { "receive", A() },
}
local UDP = {
  { "settimeout", A({}) }, { "setoption", A("broadcast", {}) }, { "getoption", A("bogus") },
  { "sendto", A() }, { "sendto", A({}) }, { "sendto", A("x") }, { "sendto", A("x", {}) },
  { "sendto", A("x", "127.0.0.1") }, { "sendto", A("x", "127.0.0.1", {}) },
  { "receivefrom", A({}) }, { "receive", A({}) }, { "send", A("x") },
  { "setpeername", A({}) }, { "setsockname", A({}) },
  { "sendto", A("x", "127.0.0.1", 9), self = 5 }, { "receivefrom", A(), self = {} }, { "close", A(), self = 5 },
}
local UDPCONN = {
  { "send", A() }, { "send", A({}) }, { "receive", A({}) }, { "sendto", A("x", "127.0.0.1", 9) }, { "receivefrom", A() },
  { "send", A("x"), self = 5 }, { "receive", A(), self = 5 },
}

local function run(what, ref, obj, cases)
  for _, c in ipairs(cases) do compare(what, ref, obj, c[1], c.self, c[2]) end
end

-- TCP clients: a wrapper, a native client, and a LuaSocket object under
-- asok (its close and setfd are asok's)
local racc, rc = T.pair()
local wacc, wraw = T.pair()
local wc = asok.wrap(wraw)
local native, npeer = T.nativepair()
local uacc, uc = T.pair()
rc:settimeout(0); wc:settimeout(0); native:settimeout(0)
run("wrapper", rc, wc, STREAM)
run("native client", rc, native, STREAM)
run("LuaSocket object", rc, uc, {
  { "close", A(), self = 5 }, { "close", A(), self = {} }, { "setfd", A("x") }, { "setfd", A() },
  { "setfd", A(1), self = 5 }, { "settimeout", A({}) }, { "shutdown", A("q") },
})

-- TCP masters and servers, UDP sockets unconnected and connected
local rm, wm = socket.tcp(), asok.wrap(socket.tcp())
run("master wrapper", rm, wm, MASTER)
local rs, ws = T.listener(), asok.wrap((T.listener()))
rs:settimeout(0); ws:settimeout(0)
run("server wrapper", rs, ws, SERVER)
local ru, wu = socket.udp(), asok.wrap(socket.udp())
run("udp wrapper", ru, wu, UDP)
local ruc, wuc = socket.udp(), asok.wrap(socket.udp())
assert(ruc:setpeername("127.0.0.1", 9)); assert(wuc:setpeername("127.0.0.1", 9))
run("connected udp wrapper", ruc, wuc, UDPCONN)

-- asok's own functions keep their names in every form (no LuaSocket twin)
do
  local ok, e = pcall(asok.receive, wc, "*x")
  T.eq(e, "bad argument #2 to 'receive' (invalid receive pattern)", "pcall(asok.receive, wrapper)")
  local f = asok.settimeout
  ok, e = pcall(function() local r = f(native, {}) return r end)
  T.check(not ok and e:find(": bad argument #2 to 'settimeout' %(number expected, got table%)$"), "local f = asok.settimeout", e)
end

for _, o in ipairs { racc, rc, wacc, wc, native, npeer, uacc, uc, rm, wm, rs, ws, ru, wu, ruc, wuc } do o:close() end
-- dropped, so that T.done's collection frees their handles
racc, rc, wacc, wraw, wc, native, npeer, uacc, uc = nil, nil, nil, nil, nil, nil, nil, nil, nil
rm, wm, rs, ws, ru, wu, ruc, wuc = nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_argnames")
