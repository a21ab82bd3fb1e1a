-- test_differential.lua: asok's differential test suite. Every scenario in
-- diff/scenarios_*.lua runs once with plain blocking LuaSocket (reference,
-- in child processes) and through asok (function style, wrapper style and,
-- for TCP, native-client style: the calls on what wrapper:accept() returns;
-- all scenarios at once in coroutines, plus main=true scenarios from the main
-- thread); every return value is compared: count, types, integer/float
-- subtypes, byte-exact strings. Exits 1 on any difference, or if asok
-- handles beyond the baseline (the loop) outlive the asok run.
-- Knobs: ASOK_DIFF_ONLY=family,name,...  run a subset (default: everything)
--        ASOK_DIFF_SELFCHECK=1  compare the reference with a second reference
--                               run instead of asok (checks determinism)
--        ASOK_DIFF_WORKERS=n    reference worker processes (default 8)
--        ASOK_DIFF_TAMPER=1     deliberately alter the first value of the
--                               first scenario's results (harness self-test)
package.path = "diff/?.lua;" .. package.path
local H = require("harness")
local R = require("runner")
local scen = require("scenarios")

local list = R.select_scenarios(scen)
assert(#list > 0, "ASOK_DIFF_ONLY selected no scenario")
local env, stop = R.start_peer()
-- the reference runs in its worker processes while this one runs asok
local reference = R.start_reference(list, env)

local got, styles
local leftover -- asok run: the live asok handles left over, if not the baseline
if os.getenv("ASOK_DIFF_SELFCHECK") == "1" then
  got = { ref2 = R.reference(list, env) }
  styles = function() return { "ref2" } end
else
  local ok, asok = pcall(require, "asok")
  if not ok then
    reference(); stop()
    print("asok module not loadable: " .. tostring(asok))
    os.exit(1)
  end
  local T = dofile("asoktest.lua") -- T.base: the handles at load (the loop)
  local A = require("asokside")
  got = A.run(asok, list, env, 90)
  A.closelisteners()
  H.cleanup()
  -- every socket a scenario opened was closed and dropped: once the loop
  -- settled and the GC ran, only the loop's handle is alive
  local n = T.handles()
  if n ~= T.base then
    leftover = ("live asok handles after the run: %d, want the baseline %d"):format(n, T.base)
  end
  styles = function(s)
    local st = {}
    for _, x in ipairs(A.styles(s)) do st[#st + 1] = x end
    if s.main then st[#st + 1] = "mainfn"; st[#st + 1] = "mainwrap" end
    return st
  end
end
local ref = reference()
stop()
if os.getenv("ASOK_DIFF_TAMPER") == "1" then
  for _, byname in pairs(got) do
    local recs = byname[list[1].name]
    if recs and recs[1] and recs[1].d then recs[1].d[1] = H.describe("tampered") end
  end
end

local diffs, runs = { leftover }, 0
for _, s in ipairs(list) do
  local want = ref[s.name]
  if not want or #want == 0 then
    diffs[#diffs + 1] = s.name .. ": the reference produced no result"
  else
    for _, st in ipairs(styles(s)) do
      runs = runs + 1
      for _, d in ipairs(H.compare(s.name, st, want, got[st][s.name] or {})) do
        diffs[#diffs + 1] = d
      end
    end
  end
end
os.exit(R.report(list, diffs, runs) == 0 and 0 or 1)
