-- test_stub_socket.lua: require "asok" where the module "socket" is not
-- LuaSocket (a stub returning true, or one whose constructors raise, as in
-- a sandbox or a mock) loads asok without an error, and its reactor runs
-- (asok probes LuaSocket's TCP layout when it loads: that probe must not
-- raise). Runs itself in two children, one per stub.
local stub = arg[1]
if stub then
  if stub == "true" then
    package.preload.socket = function() return true end
  else
    package.preload.socket = function()
      local function boom() error("sandboxed", 2) end
      return { tcp4 = boom, tcp6 = boom, tcp = boom }
    end
  end
  local ok, asok = pcall(require, "asok")
  if not ok then print("require failed: " .. tostring(asok)); os.exit(1) end
  local slept = false
  asok.spawn(function() asok.sleep(0.01); slept = true end)
  asok.select(nil, nil, 1)
  print(slept and "stub " .. stub .. " ok" or "stub " .. stub .. ": the sleep did not end")
  os.exit(slept and 0 or 1)
end

local failures = 0
for _, s in ipairs { "true", "raise" } do
  local f = assert(io.popen(("%q %q %s 2>&1"):format(arg[-1], arg[0], s)))
  local out = f:read("*a")
  f:close()
  io.write(out)
  if not out:find("stub " .. s .. " ok", 1, true) then
    print("FAIL: require 'asok' with a stub socket module (" .. s .. ")")
    failures = failures + 1
  end
end
print(("test_stub_socket: 2 checks, %d failures (%s)"):format(failures, jit and jit.version or _VERSION))
os.exit(failures == 0 and 0 or 1)
