-- test_diffsel.lua: the random differential fuzzer of asok.select, accept,
-- connect, options and timeouts. Each seed (diff/selfuzz.lua) draws a
-- small world of sockets in chosen states (pairs with data pending, a
-- FIN, a reset, a full send buffer, LuaSocket-buffered data; listeners
-- with pending connections; UDP sockets with datagrams or an ICMP error
-- queued; fresh and closed objects) and a list of calls: selects over
-- random sets (world sockets, tables with getfd/dirty aliasing their fds,
-- getfds giving strings, floats, NaN, nothing; nil holes; values that are
-- no socket), accepts, connects (to a listener, a dead port, twice, after
-- close), getoption/setoption with random names and values, address and
-- class shapes, settimeout/gettimeout, closes. The calls run with plain
-- LuaSocket in a child process (twice: the two runs must agree, which
-- shows the worlds deterministic), then through asok, on raw LuaSocket
-- objects (asok.select, asok.accept, asok.connect, asok.settimeout,
-- asok.close) and on wrappers and native clients (their methods), each in
-- a coroutine and from the main thread; every record must match.
-- Left out of the comparison (asok documents them, README "select" and
-- docs/reliability.md "Open"): the message of an error a non-socket value
-- in a set raises (only that it raises is compared), fds not open (a
-- select of one fails, or not, with the size of the process's fd table),
-- fds of 1,024 and more, the object named for one fd given under two
-- objects, one in each set (the write set's is dropped), wrappers' and
-- native clients' tostring ("asok{...}" is unwrapped).
-- Knobs: ASOK_DIFFSEL_SEEDS=n (seeds base+1 .. base+n; default a fixed
-- list), ASOK_DIFFSEL_BASE=b, ASOK_DIFFSEL_STYLES=raw,wrap.
package.path = "diff/?.lua;" .. package.path
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local H = require "harness"
local F = require "selfuzz"

local interp = T.interp()
local seeds = {}
local nseeds = tonumber(os.getenv("ASOK_DIFFSEL_SEEDS") or "")
if nseeds then
  local base = tonumber(os.getenv("ASOK_DIFFSEL_BASE") or "") or 0
  for i = 1, nseeds do seeds[i] = base + i end
else
  -- (seed 11: an alias of a wrapper whose asok buffer holds data, listed
  -- readable until the thirty-first round: docs/reliability.md item 71)
  seeds = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21 }
end

-- reference runs diff/selref.lua for the seeds (several processes at
-- once) and returns {seed<n> = records}; start only, then finish.
local function reference()
  local procs, per = {}, math.ceil(#seeds / 4)
  for i = 1, #seeds, per do
    local part = {}
    for j = i, math.min(i + per - 1, #seeds) do part[#part + 1] = seeds[j] end
    procs[#procs + 1] = assert(io.popen(interp .. " diff/selref.lua " .. table.concat(part, " "), "r"))
  end
  return function()
    return H.gather(procs)
  end
end

local finish1, finish2 = reference(), reference()
local ref, ref2 = finish1(), finish2()

local ncalls = 0
for _, seed in ipairs(seeds) do
  local name = "seed" .. seed
  T.check(ref[name] and #ref[name] > 0, name, ": the reference produced no records")
  for _, d in ipairs(H.compare(name, "reference twice", ref[name] or {}, ref2[name] or {})) do
    T.check(false, "reference not deterministic: " .. d)
  end
  ncalls = ncalls + #(ref[name] or {})
end

local plain51 = _VERSION == "Lua 5.1" and not jit -- pcall cannot span a yield
local pack = H.pack

-- styles: how the asok side makes and calls its objects
local STYLES = {}

-- renumber runs f(...) (a pack) and, if it raises an argument error,
-- numbers its argument as LuaSocket's method call does: asok.f(sok, x)
-- is a function call, whose x is #2, where sok:f(x) says #1.
local function renumber(f, ...)
  local ok, p = pcall(f, ...)
  if ok then return p end
  if type(p) == "string" then
    p = p:gsub("bad argument #(%d+) to", function(n) return "bad argument #" .. (tonumber(n) - 1) .. " to" end)
  end
  error(p, 0)
end

-- raw: LuaSocket objects, asok's functions
STYLES.raw = {
  acceptpair = function(l) return l:accept() end,
  api = {
    select = function(r, w, t) local p = pack(asok.select(r, w, t)); return p end,
    accept = function(l) local p = pack(asok.accept(l)); return p end,
    connect = function(s, host, port) local p = pack(asok.connect(s, host, port)); return p end,
    settimeout = function(s, t, m)
      return renumber(function() local p = pack(asok.settimeout(s, t, m)); return p end)
    end,
    close = function(s) local p = pack(asok.close(s)); return p end,
    newtcp = function() return assert(socket.tcp()) end,
  },
}

-- wrap: every open LuaSocket object wrapped (after the world settled),
-- pairs' accepted ends native clients (a wrapper listener's accept)
local lwrap = setmetatable({}, { __mode = "k" })
STYLES.wrap = {
  acceptpair = function(l, proto)
    if proto ~= "tcp" then return l:accept() end
    lwrap[l] = lwrap[l] or asok.wrap(l)
    return lwrap[l]:accept()
  end,
  finish = function(W)
    for _, e in ipairs(W.entries) do
      if e.kind ~= "closed" and type(e.obj) == "userdata" and not tostring(e.obj):match("^asok{") then
        local ok, w = pcall(asok.wrap, e.obj)
        if ok and w then e.obj = w; W.names[w] = e.name end
      end
    end
  end,
  api = {
    select = function(r, w, t) local p = pack(asok.select(r, w, t)); return p end,
    accept = function(l) local p = pack(l:accept()); return p end,
    connect = function(s, host, port) local p = pack(s:connect(host, port)); return p end,
    settimeout = function(s, t, m) local p = pack(s:settimeout(t, m)); return p end,
    close = function(s) local p = pack(s:close()); return p end,
    newtcp = function() return asok.wrap(assert(socket.tcp())) end,
  },
}

-- runs the calls of plan on W in a coroutine (inco) or the main thread
local function exec(plan, W, api, inco)
  local a = {}
  for k, v in pairs(api) do a[k] = v end
  if inco and plain51 then
    a.pcall = function(f) return asok.xpcall(f, function(e) return e end) end
  else
    a.pcall = pcall
  end
  if not inco then return F.exec(plan, W, a) end
  local recs, died
  asok.seterrorhandler(function(msg) died = msg end)
  asok.spawn(function() recs = F.exec(plan, W, a) end)
  local stop = socket.gettime() + 60
  while not recs and not died and socket.gettime() < stop do asok.select(nil, nil, 0.05) end
  asok.seterrorhandler(nil)
  if died then return { { n = 1, d = { "coroutine died: " .. tostring(died) } } } end
  return recs or { { n = 1, d = { "coroutine never finished" } } }
end

local only = os.getenv("ASOK_DIFFSEL_STYLES")
local ndiff, runs = 0, 0
for _, sname in ipairs({ "raw", "wrap" }) do
  if not only or only:find(sname, 1, true) then
    local S = STYLES[sname]
    for _, inco in ipairs({ true, false }) do
      local label = sname .. (inco and "/coroutine" or "/main")
      for _, seed in ipairs(seeds) do
        local name = "seed" .. seed
        local plan = F.plan(seed)
        local W = F.build(plan, S)
        local got = exec(plan, W, S.api, inco)
        F.teardown(W)
        -- (5.1 has no ephemerons: a wrapper, the value, keeps its key alive)
        for k in pairs(lwrap) do lwrap[k] = nil end
        runs = runs + 1
        -- the first difference of a run (the world has diverged after it)
        local d = H.compare(name, label, ref[name] or {}, got)[1]
        if d then ndiff = ndiff + 1; T.check(false, "DIFF " .. d) end
      end
    end
  end
end
collectgarbage(); collectgarbage()
asok.select(nil, nil, 0)
print(string.format("diffsel: %d seeds x %d calls (reference, twice); %d asok runs; %d differences",
  #seeds, ncalls, runs, ndiff))
T.done("diffsel")
