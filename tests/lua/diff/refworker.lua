-- diff/refworker.lua: the reference half. Runs the named scenarios one after
-- the other with plain blocking LuaSocket (asok is never loaded here) and
-- writes their records to stdout (harness.encode format).
-- Usage: lua diff/refworker.lua <tcp4> <tcp6> <udp> <unixpath> <deadport> name...
package.path = "diff/?.lua;" .. package.path
local socket = require("socket")
local H = require("harness")
local scen = require("scenarios")

local env = { tcp4 = tonumber(arg[1]), tcp6 = tonumber(arg[2]), udp = tonumber(arg[3]),
  unix = arg[4], dead = tonumber(arg[5]) }

-- ref is the plain-LuaSocket API for H.run.
local ref = {}

-- ref.call calls method m of the raw socket, catching errors.
function ref.call(obj, m, a)
  local f = obj[m]
  if not f then return false, { n = 1, "scenario error: LuaSocket object has no method " .. m } end
  local function go() return H.pack(f(obj, (table.unpack or unpack)(a, 1, a.n))) end
  local ok, res = pcall(go)
  if not ok then return false, { n = 1, res } end
  return true, res
end

-- ref.sleep blocks the process.
function ref.sleep(t) socket.sleep(t) end

-- out collects the records in memory, written once all scenarios ran: the
-- parent reads its workers' pipes one after the other, so a worker writing
-- as it goes stalled on a full pipe (8 MiB records) until the parent came
-- to it, which serialized the workers (24 s instead of 10 s)
local out = { parts = {} }
function out:write(...)
  for i = 1, select("#", ...) do self.parts[#self.parts + 1] = select(i, ...) end
end

for i = 6, #arg do
  local s = assert(scen.byname[arg[i]], arg[i])
  local sok = H.open(s, env)
  local recs = H.run(s, sok, ref, env)
  sok:close()
  H.encode(out, s.name, recs)
end
H.cleanup()
io.stdout:write(table.concat(out.parts))
io.stdout:flush()
