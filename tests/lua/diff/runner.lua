-- diff/runner.lua: process plumbing of the differential suite: the peer
-- process, the reference workers, scenario selection.
local socket = require("socket")
local H = require("harness")
local R = {}

-- R.lua is the command that runs the current interpreter.
R.lua = os.getenv("ASOK_DIFF_LUA") or (arg and arg[-1]) or "lua"

-- select_scenarios returns the scenarios to run. ASOK_DIFF_ONLY is a
-- comma/space separated list of families or scenario names (default: all).
function R.select_scenarios(scen)
  local only = os.getenv("ASOK_DIFF_ONLY")
  if not only or only == "" then return scen.list end
  local want = {}
  for w in only:gmatch("[^,%s]+") do want[w] = true end
  local out = {}
  for _, s in ipairs(scen.list) do
    if want[s.family] or want[s.name] then out[#out + 1] = s end
  end
  return out
end

-- start_peer spawns diff/peer.lua and returns env (ports, unix path, a
-- refused port) and a stop function.
function R.start_peer()
  local path = os.tmpname()
  os.remove(path)
  path = path .. ".asokdiff.sock"
  local p = assert(io.popen(R.lua .. " diff/peer.lua " .. path, "r"))
  local line = p:read("*l") or ""
  local a, b, c, d = line:match("^PORTS (%d+) (%d+) (%d+) (%S+)$")
  assert(a, "peer did not start: " .. line)
  local dead = assert(socket.bind("127.0.0.1", 0))
  local _, deadport = dead:getsockname()
  dead:close()
  local env = { tcp4 = tonumber(a), tcp6 = tonumber(b), udp = tonumber(c), unix = d,
    dead = tonumber(deadport) }
  local function stop()
    local q = socket.connect("127.0.0.1", env.tcp4)
    if q then q:send("QUIT\n"); q:close() end
    p:close()
  end
  return env, stop
end

-- start_reference starts the reference: the scenarios with plain LuaSocket
-- in ASOK_DIFF_WORKERS (default 8) child processes; returns a function that
-- waits for them and returns {name = records}. The workers keep their
-- records until they are done, so the caller may run the asok side
-- meanwhile (the two are independent clients of the one peer).
function R.start_reference(list, env)
  local nw = tonumber(os.getenv("ASOK_DIFF_WORKERS") or "") or 8
  local parts = {}
  for i, s in ipairs(list) do
    local k = (i - 1) % nw + 1
    parts[k] = parts[k] or {}
    table.insert(parts[k], s.name)
  end
  local procs = {}
  for _, names in ipairs(parts) do
    local cmd = string.format("%s diff/refworker.lua %d %d %d %s %d %s", R.lua, env.tcp4,
      env.tcp6, env.udp, env.unix, env.dead, table.concat(names, " "))
    procs[#procs + 1] = assert(io.popen(cmd, "r"))
  end
  return function() return H.gather(procs) end
end

-- reference runs the reference and returns {name = records}.
function R.reference(list, env)
  return R.start_reference(list, env)()
end

-- report prints the differences and a per-family summary; returns the
-- number of differences.
function R.report(list, diffs, styles_run)
  for _, d in ipairs(diffs) do print("DIFF " .. d) end
  local fam, order = {}, {}
  for _, s in ipairs(list) do
    if not fam[s.family] then fam[s.family] = 0; order[#order + 1] = s.family end
    fam[s.family] = fam[s.family] + 1
  end
  local parts = {}
  for _, f in ipairs(order) do parts[#parts + 1] = f .. "=" .. fam[f] end
  print(string.format("%s: %d scenarios (%s), %d runs compared, %d differences",
    _VERSION .. (jit and (" " .. jit.version) or ""), #list, table.concat(parts, " "),
    styles_run, #diffs))
  return #diffs
end

return R
