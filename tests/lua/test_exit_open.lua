-- test_exit_open.lua: a program that exits with listening and connected
-- sockets, native clients and parked coroutines must exit 0, without crash or hang, however
-- it exits. The test runs itself as a child in each exit mode.
--   lua test_exit_open.lua             (the test)
--   lua test_exit_open.lua child MODE  (MODE: end, close, exit, gc)
local mode = arg[1] == "child" and arg[2]

if mode then
  local asok = require "asok"
  local socket = require "socket"
  local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = server:getsockname()
  local parked = 0
  local function go(f, ...) coroutine.resume(coroutine.create(f), ...) end
  local served = 0
  go(function() -- native clients, each with a coroutine parked in receive
    while true do
      local n = server:accept()
      if not n then break end
      go(function() served = served + 1; n:receive("*l") end)
    end
  end)
  for _ = 1, 5 do
    local c = socket.tcp()
    go(function()
      asok.connect(c, "127.0.0.1", port)
      parked = parked + 1
      asok.receive(c, "*l")
    end)
  end
  go(function() asok.sleep(3600) end)
  local raw = socket.tcp() -- a master socket never used
  asok.select(nil, nil, 0.1)
  assert(parked == 5, "clients connected: " .. parked)
  assert(served == 5, "native clients parked: " .. served)
  if mode == "close" then os.exit(0, true)
  elseif mode == "exit" then os.exit(0)
  elseif mode == "gc" then server = nil; raw = nil; collectgarbage(); collectgarbage()
  end
  return -- mode "end": a plain end of script (lua_close runs the finalizers)
end

local interp = arg[-1]
local i = -2
while arg[i] do interp = arg[i]; i = i - 1 end -- the interpreter itself
local failures = 0
for _, m in ipairs({ "end", "close", "exit", "gc" }) do
  local cmd = ("timeout 30 %s test_exit_open.lua child %s"):format(interp, m)
  local a, b, c = os.execute(cmd)
  local code = (type(a) == "number") and a / 256 or (b == "exit" and c or -1)
  if a == true then code = 0 end
  print(("exit mode %-5s -> %s"):format(m, tostring(code)))
  if code ~= 0 then
    failures = failures + 1
    io.stderr:write("FAIL: child in mode ", m, " exited with ", tostring(code), " (124: hang)\n")
  end
end
print(("test_exit_open: %d failures (%s)"):format(failures, jit and jit.version or _VERSION))
os.exit(failures == 0 and 0 or 1)
