-- diff/selref.lua: the reference half of test_diffsel.lua. For each seed,
-- builds diff/selfuzz.lua's world with plain LuaSocket (asok is never
-- loaded here), runs its calls with socket.select and LuaSocket's own
-- methods, and writes the records to stdout (harness.encode format, one
-- scenario per seed, named "seed<n>").
-- Usage: lua diff/selref.lua seed...
package.path = "diff/?.lua;" .. package.path
local socket = require("socket")
local H = require("harness")
local F = require("selfuzz")
local pack = H.pack

-- api: plain LuaSocket; each call returns a pack of its results (not a
-- tail call: an argument error names the function as the caller wrote it)
local api = {}
function api.select(r, w, t) local p = pack(socket.select(r, w, t)); return p end
function api.accept(l) local p = pack(l:accept()); return p end
function api.connect(s, host, port) local p = pack(s:connect(host, port)); return p end
function api.settimeout(s, t, mode) local p = pack(s:settimeout(t, mode)); return p end
function api.close(s) local p = pack(s:close()); return p end
function api.newtcp() return assert(socket.tcp()) end
api.pcall = pcall

-- the b end of a pair: LuaSocket's accept
local style = { acceptpair = function(l) return l:accept() end }

for i = 1, #arg do
  local seed = assert(tonumber(arg[i]), "seed expected")
  local plan = F.plan(seed)
  local W = F.build(plan, style)
  local recs = F.exec(plan, W, api)
  F.teardown(W)
  H.encode(io.stdout, "seed" .. seed, recs)
end
io.stdout:flush()
