-- test_stub_socket.lua: require "asok" where the module "socket" is not
-- LuaSocket (a stub returning true, or one whose constructors raise, as in
-- a sandbox or a mock) loads asok without an error, and its reactor runs
-- (asok probes LuaSocket's TCP layout when it loads: that probe must not
-- raise). Runs itself in two children, one per stub.
local stub = arg[1]
-- notcp46: LuaSocket itself, without socket.tcp4 and socket.tcp6 (as 3.0-rc1,
-- still luarocks' luasocket for years): a native client's address, option
-- and connect methods, lent by a LuaSocket object asok makes, must work
if stub == "notcp46" then
  local socket = require "socket"
  socket.tcp4, socket.tcp6 = nil, nil
  local asok = require "asok"
  local function listener() -- socket.bind wants tcp4 too
    local m = assert(socket.tcp())
    assert(m:bind("127.0.0.1", 0))
    assert(m:listen())
    return m, select(2, m:getsockname())
  end
  local raw, port = listener()
  local server = asok.wrap(raw)
  local other, oport = listener()
  local res = {}
  asok.spawn(function()
    local c = server:accept()
    res.name = { pcall(c.getsockname, c) }
    res.peer = { pcall(c.getpeername, c) }
    res.opt = { pcall(c.getoption, c, "tcp-nodelay") }
    c:close()
    res.conn = { pcall(c.connect, c, "127.0.0.1", oport) }
    res.name2 = { pcall(c.getsockname, c) }
    c:close()
  end)
  local peer = assert(socket.tcp())
  assert(peer:connect("127.0.0.1", port))
  local pip, pport = peer:getsockname()
  for _ = 1, 100 do
    asok.select(nil, nil, 0.01)
    if res.name2 then break end
  end
  local ok = res.name2 and res.name[1] and res.name[2] == "127.0.0.1" and tonumber(res.name[3]) == tonumber(port)
    and res.peer[1] and res.peer[2] == pip and tonumber(res.peer[3]) == tonumber(pport)
    and res.opt[1] and res.opt[2] == false and res.conn[1] and res.conn[2] == 1
    and res.name2[1] and res.name2[2] == "127.0.0.1"
  if not ok then
    for _, k in ipairs { "name", "peer", "opt", "conn", "name2" } do
      print(k, (table.unpack or unpack)(res[k] or {}))
    end
  end
  print(ok and "stub notcp46 ok" or "stub notcp46: a native client's method failed")
  os.exit(ok and 0 or 1)
end
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
for _, s in ipairs { "true", "raise", "notcp46" } do
  local f = assert(io.popen(("%q %q %s 2>&1"):format(arg[-1], arg[0], s)))
  local out = f:read("*a")
  f:close()
  io.write(out)
  if not out:find("stub " .. s .. " ok", 1, true) then
    print("FAIL: require 'asok' with a stub socket module (" .. s .. ")")
    failures = failures + 1
  end
end
print(("test_stub_socket: 3 checks, %d failures (%s)"):format(failures, jit and jit.version or _VERSION))
os.exit(failures == 0 and 0 or 1)
