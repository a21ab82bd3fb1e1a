-- echo_demo.lua - an asok echo server and 1,000 client coroutines in one
-- Lua process. Each client sends N lines and checks every echo.
--
--   LUA_CPATH='build/lib/lua/5.4/?.so;;' lua5.4 examples/echo_demo.lua [CLIENTS [LINES]]
--
-- Plain LuaSocket objects become asynchronous with asok.wrap; inside a
-- coroutine receive/send/accept/connect look blocking but yield to asok's
-- reactor, which the main loop drives with asok.select.
local asok = require "asok"
local socket = require "socket"

local CLIENTS = tonumber(arg[1]) or 1000
local LINES = tonumber(arg[2]) or 100

local server = asok.wrap(assert(socket.bind("127.0.0.1", 0, 1024)))
local _, port = server:getsockname()
local stats = { done = 0, failed = 0, trips = 0, bytes = 0 }

-- serve echoes lines on one connection until the peer closes.
local function serve(client)
  while true do
    local line = client:receive("*l")
    if not line or not client:send(line .. "\n") then break end
  end
  client:close()
end

-- spawn starts f in a new coroutine.
local function spawn(f, ...)
  local co = coroutine.create(f)
  local ok, err = coroutine.resume(co, ...)
  if not ok then io.stderr:write(debug.traceback(co, err), "\n") end
end

spawn(function()
  local reported = {}
  while true do
    local client, err = server:accept()
    if client then
      spawn(serve, client)
    elseif err == "closed" then
      return -- the server was closed
    elseif not reported[err] then -- e.g. "Too many open files": the
      reported[err] = true          -- connection stays queued, and asok's
      io.stderr:write("accept: ", err, " (retrying)\n") -- next accept waits
    end                             -- 0.1 s before it tries again
  end
end)

-- client sends LINES lines and verifies each echo.
local function client(id)
  local c = asok.wrap(socket.tcp(), 30) -- no call waits longer than 30 s
  local ok, err = c:connect("127.0.0.1", port)
  if not ok then
    io.stderr:write("client ", id, ": connect: ", err, "\n")
    stats.failed, stats.done = stats.failed + 1, stats.done + 1
    return
  end
  local good = true
  for i = 1, LINES do
    local msg = ("client %d says hello #%d"):format(id, i)
    c:send(msg .. "\n")
    local echo, rerr = c:receive("*l")
    if echo ~= msg then
      io.stderr:write("client ", id, ": got ", tostring(echo or rerr), "\n")
      good = false
      break
    end
    stats.trips, stats.bytes = stats.trips + 1, stats.bytes + 2 * (#msg + 1)
  end
  c:close()
  if not good then stats.failed = stats.failed + 1 end
  stats.done = stats.done + 1
end

print(("%s on %s: %d clients x %d lines, server on 127.0.0.1:%s"):format(
  asok._VERSION, jit and jit.version or _VERSION, CLIENTS, LINES, port))
local t0 = socket.gettime()
for id = 1, CLIENTS do spawn(client, id) end
local last = t0
while stats.done < CLIENTS do
  asok.select(nil, nil, 0.05)
  local now = socket.gettime()
  if now - last >= 0.25 then
    print(("  %5.2f s: %4d/%d clients done, %6d round trips so far"):format(now - t0, stats.done, CLIENTS, stats.trips))
    last = now
  end
  if now - t0 > 120 then io.stderr:write("echo_demo: timed out\n"); break end
end
server:close()
asok.select(nil, nil, 0)
local elapsed = socket.gettime() - t0
local expected = CLIENTS * LINES
print(("%d round trips, %d bytes in %.3f s (%.0f round trips/s)"):format(
  stats.trips, stats.bytes, elapsed, stats.trips / elapsed))
if stats.failed == 0 and stats.done == CLIENTS and stats.trips == expected then
  print("all verified")
  os.exit(0)
end
print(("FAILED: %d clients failed, %d/%d round trips"):format(stats.failed, stats.trips, expected))
os.exit(1)
