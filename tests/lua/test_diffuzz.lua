-- test_diffuzz.lua: the differential fuzzer. Seeded random sequences of
-- peer steps and client calls (diff/fuzzgen.lua: receives of every
-- pattern, count and prefix under timeouts that fire, sends, shutdowns,
-- closes, resets, calls after close, datagrams of every size, connect and
-- unconnect), on TCP, unix stream, UDP and unix datagram pairs, run twice
-- with plain LuaSocket (child processes: the two runs must agree, which
-- shows the sequences are deterministic) and through asok: function style
-- (asok.f on the raw object), wrapper style and, for TCP, a native client
-- (wrapper:accept()), all at once in coroutines, and one seed in three
-- also from the main thread. Every result is compared (diff/fuzzrun.lua,
-- harness.lua's records): count, types, integer/float subtypes, exact
-- strings. Exits 1 on any difference, or if asok handles outlive the run.
-- Knobs: ASOK_DIFFUZZ_SEEDS=n  seeds 1..n (default: the fixed seeds below)
--        ASOK_DIFFUZZ_FIRST=k  with SEEDS: seeds k..k+n-1
--        ASOK_DIFFUZZ_STEPS=n  steps per sequence (default 80)
--        ASOK_DIFFUZZ_KINDS=tcp,unix,udp,unixdg  (default: all four)
--        ASOK_DIFFUZZ_SHOW=1  print each differing sequence's steps
--        ASOK_DIFFUZZ_LONG=k  runs of one unit k times as long (8, the most: 72 KiB lines)
package.path = "diff/?.lua;" .. package.path
local H = require("harness")
local G = require("fuzzgen")
local F = require("fuzzrun")
local R = require("runner")

-- (15, 106, 164, 193, 248: sequences that found LuaSocket's 8,192-byte reads,
-- reliability.md item 40)
local FIXED = { 1, 2, 3, 4, 15, 106, 164, 193, 248 }
local seeds = {}
local nseeds = tonumber(os.getenv("ASOK_DIFFUZZ_SEEDS") or "")
if nseeds then
  local first = tonumber(os.getenv("ASOK_DIFFUZZ_FIRST") or "") or 1
  for i = first, first + nseeds - 1 do seeds[#seeds + 1] = i end
else seeds = FIXED end
local steps = tonumber(os.getenv("ASOK_DIFFUZZ_STEPS") or "") or 80
local kinds = {}
for k in (os.getenv("ASOK_DIFFUZZ_KINDS") or "tcp,unix,udp,unixdg"):gmatch("[^,%s]+") do
  kinds[#kinds + 1] = k
end

-- the sequences: {seed, kind, name, steps}
local list = {}
for _, seed in ipairs(seeds) do
  for _, kind in ipairs(kinds) do
    list[#list + 1] = { seed = seed, kind = kind, name = F.name(seed, kind),
      seq = G.sequence(seed, kind, steps) }
  end
end

-- reference runs every sequence with plain LuaSocket in 2 child processes.
local function reference()
  local parts, procs = { {}, {} }, {}
  for i, s in ipairs(list) do table.insert(parts[i % 2 + 1], s.seed .. ":" .. s.kind) end
  for _, p in ipairs(parts) do
    if #p > 0 then
      -- (coreutils timeout: a reference that blocks is a generator bug, reported
      -- as missing results, not a hang)
      procs[#procs + 1] = assert(io.popen(("timeout 120 %s diff/fuzzref.lua %d %s"):format(R.lua, steps,
        table.concat(p, " ")), "r"))
    end
  end
  return H.gather(procs)
end

local ref1, ref2 = reference(), reference()

local asok = require("asok")
local socket = require("socket")
local T = dofile("asoktest.lua")
local A = require("asokside")

-- the asok side: setups first (in the main thread: a native client's
-- accept must pair with its own connect), then every sequence at once in
-- coroutines, then the main-thread runs
local native = asok.wrap(assert(socket.bind(F.LOOP, 0)))
local _, nport = native:getsockname()
local accept = { port = tonumber(nport), accept = function() return native:accept() end }
local got = {}         -- style -> name -> records
local runs = {}        -- {ctx, obj, style, s, recs}
for _, s in ipairs(list) do
  local styles = { "fn", "wrap" }
  if s.kind == "tcp" then styles[#styles + 1] = "native" end
  if s.seed % 3 == 1 then styles[#styles + 1] = "mainfn"; styles[#styles + 1] = "mainwrap" end
  for _, style in ipairs(styles) do
    local ctx
    if style == "native" then ctx = F.stream_pair("tcp", accept)
    else ctx = F.setup(s.kind) end
    local obj = ctx.client
    if style == "wrap" or style == "mainwrap" then obj = asok.wrap(ctx.client) end
    got[style] = got[style] or {}
    local recs = {}
    got[style][s.name] = recs
    runs[#runs + 1] = { ctx = ctx, obj = obj, style = style, s = s, recs = recs }
  end
end
local live = {}
for _, r in ipairs(runs) do
  if r.style:sub(1, 4) ~= "main" then
    local api = A.api(asok, r.style == "fn" and "fn" or "wrap", true)
    local co = coroutine.create(function()
      F.run(r.s.seq, r.ctx, api, r.obj, r.recs)
      F.finish(r.ctx, r.obj)
    end)
    local ok, err = coroutine.resume(co)
    if not ok then r.recs[#r.recs + 1] = { err = "coroutine died: " .. tostring(err) } end
    if coroutine.status(co) ~= "dead" then live[co] = r end
  end
end
for _, r in ipairs(runs) do
  if r.style:sub(1, 4) == "main" then
    local api = A.api(asok, r.style == "mainfn" and "fn" or "wrap", false)
    local ok, err = pcall(F.run, r.s.seq, r.ctx, api, r.obj, r.recs)
    if not ok then r.recs[#r.recs + 1] = { err = "main thread run raised: " .. tostring(err) } end
    F.finish(r.ctx, r.obj)
  end
end
local stop = os.time() + 60
while next(live) and os.time() < stop do
  asok.select(nil, nil, 0.05)
  for co in pairs(live) do
    if coroutine.status(co) == "dead" then live[co] = nil end
  end
end
for co, r in pairs(live) do
  r.recs[#r.recs + 1] = { err = "coroutine never finished (still " .. coroutine.status(co) .. ")" }
  F.finish(r.ctx, r.obj)
end
native:close()
-- every socket was closed; dropped too, the GC lets asok's handles go
for _, r in ipairs(runs) do r.ctx, r.obj = nil, nil end
native, accept = nil, nil
F.closelisteners()
F.cleanup()
local n = T.handles()

-- compare: the reference with itself, then every asok style with it
local diffs, compared, shown = {}, 0, {}
if n ~= T.base then
  diffs[#diffs + 1] = ("live asok handles after the run: %d, want the baseline %d"):format(n, T.base)
end
local function differs(s, style, want, have)
  local d = H.compare(s.name, style, want, have)
  for _, x in ipairs(d) do
    local i = tonumber(x:match(" call (%d+):"))
    if i and s.seq[i] then x = x .. "   <- " .. F.show(s.seq[i]) end
    diffs[#diffs + 1] = x
  end
  if #d > 0 and os.getenv("ASOK_DIFFUZZ_SHOW") == "1" and not shown[s.name] then
    shown[s.name] = true
    print("sequence " .. s.name .. ":")
    for i, st in ipairs(s.seq) do print(("  %2d %s -> %s"):format(i, F.show(st), H.show(want[i]))) end
  end
end
for _, s in ipairs(list) do
  local want = ref1[s.name]
  if not want or #want == 0 then diffs[#diffs + 1] = s.name .. ": the reference produced no result"
  else
    differs(s, "reference run 2", want, ref2[s.name] or {})
    for style, byname in pairs(got) do
      if byname[s.name] then compared = compared + 1; differs(s, style, want, byname[s.name]) end
    end
  end
end
for _, d in ipairs(diffs) do print("DIFF " .. d) end
print(("%s: %d seeds x %d kinds, %d sequences of %d+ steps, %d asok runs compared, %d differences")
  :format(_VERSION .. (jit and (" " .. jit.version) or ""), #seeds, #kinds, #list, steps, compared,
    #diffs))
os.exit(#diffs == 0 and 0 or 1)
