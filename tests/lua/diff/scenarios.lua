-- diff/scenarios.lua: collects every scenario of the differential suite.
-- A scenario is
--   { name, family, proto = "tcp"|"tcp6"|"unix"|"udp"|"udpc"|"master"|"master6",
--     peer = {steps...}, client = {{method, args...}, ...},
--     main = true (also run from the main thread), styles = {...} (asok
--     styles to run, default fn and wrap), vary = {[call] = {[value] = true}} }
-- Peer steps (TCP): {"send", s} {"big", n} {"pause", ms} {"shutdown"}
--   {"close"} {"reset"} {"read", pattern} {"echo", pattern}
--   {"slowread", total, chunk, ms}. (UDP): {"reply", s} {"replybig", n}
--   {"pause", ms} {"echo"}.
-- Client calls are method calls on the socket ({"sleep", s} sleeps); the
-- placeholders are documented in harness.lua (H.args).
-- Pauses are long next to the timeouts they race (>= 0.3 s of margin) so
-- that the outcome never depends on scheduling.
local M = { list = {}, byname = {} }

-- add appends the scenarios of one file, checking names are unique.
local function add(list)
  for _, s in ipairs(list) do
    assert(not M.byname[s.name], "duplicate scenario " .. s.name)
    M.list[#M.list + 1] = s
    M.byname[s.name] = s
  end
end

add(require("scenarios_tcp"))
add(require("scenarios_io"))
add(require("scenarios_udp"))
add(require("scenarios_misc"))

-- families returns {family = count}.
function M.families()
  local f = {}
  for _, s in ipairs(M.list) do f[s.family] = (f[s.family] or 0) + 1 end
  return f
end

return M
