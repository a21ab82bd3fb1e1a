-- diff/fuzzref.lua: the reference half of the differential fuzzer. Runs
-- the named sequences with plain LuaSocket on both ends (asok is never
-- loaded here) and writes their records to stdout (harness.encode).
-- Usage: lua diff/fuzzref.lua <steps> <seed>:<kind>...
package.path = "diff/?.lua;" .. package.path
local H = require("harness")
local G = require("fuzzgen")
local F = require("fuzzrun")

local steps = assert(tonumber(arg[1]), "usage: fuzzref.lua <steps> <seed>:<kind>...")
for i = 2, #arg do
  local seed, kind = arg[i]:match("^(%d+):(%a+)$")
  seed = assert(tonumber(seed), arg[i])
  local seq = G.sequence(seed, kind, steps)
  local ctx = F.setup(kind)
  local recs = F.run(seq, ctx, F.ref)
  F.finish(ctx)
  H.encode(io.stdout, F.name(seed, kind), recs)
end
F.closelisteners()
F.cleanup()
io.stdout:flush()
