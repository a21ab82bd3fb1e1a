-- A TCP forwarder on asok (`proxy.lua ltn12`: its pumps are LuaSocket's
-- ltn12.pump.all with socket.sink instead), ported from LuaSocket's etc/forward.lua the way
-- the README says: zero-timeout sockets, asok.select({s}) in the coroutine,
-- then the zero-timeout call. Half-close passes through (shutdown("send")).
-- A LuaSocket client in a child (proxy_client.lua) and an asok upstream in
-- this process move 7.25 MiB each way at once and compare every byte.
local socket = require "socket"
local asok   = require "asok"
local streams = dofile("streams.lua")
local leaks = dofile("leaks.lua")

local function listen()
  local s = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = s:getsockname()
  return s, port
end

-- upstream: reads the client's stream to EOF while sending its own
local up_server, up_port = listen()
local up_result
asok.spawn(function()
  local c = assert(up_server:accept())
  local sent_done = false
  asok.spawn(function()
    local i = 1
    while i <= #streams.down do
      local j = math.min(i + 65535, #streams.down)
      local last, err, l = c:send(streams.down, i, j)
      assert(last == j, tostring(err))
      i = j + 1
    end
    assert(c:shutdown("send"))
    sent_done = true
  end)
  local all, err, part = c:receive("*a")
  while not sent_done do asok.sleep(0.01) end
  local r, s = c:getstats()
  up_result = { all = all, err = err, r = r, s = s }
  c:close()
end)

-- the forwarder
local fwd_server, fwd_port = listen()
local pumps_done = 0
local moved = {}
local function pump(src, dst)
  local n = 0
  while true do
    asok.select({ src }, nil)
    local data, err, part = src:receive(65536)
    local chunk = data or part
    n = n + #chunk; moved[tostring(src)] = n
    local i = 1
    while i <= #chunk do
      local last, e, l = dst:send(chunk, i)
      if last then
        i = last + 1
      else
        assert(e == "timeout", e)
        i = l + 1
        asok.select(nil, { dst })
      end
    end
    if err == "closed" then
      assert(dst:shutdown("send"))
      break
    end
    assert(data or err == "timeout", err)
  end
  pumps_done = pumps_done + 1
end
local ltn12 = require "ltn12"
-- socket.source("until-closed") closes its socket at EOF, which would cut
-- the other direction short: this one only stops
local function source(sock)
  local done = false
  return function()
    if done then return nil end
    local chunk, err, part = sock:receive(socket.BLOCKSIZE)
    if err == "closed" then done = true; return part end
    return chunk, err
  end
end
local function pump_ltn12(src, dst)
  assert(ltn12.pump.all(source(src), socket.sink("keep-open", dst)))
  assert(dst:shutdown("send"))
  pumps_done = pumps_done + 1
end
asok.spawn(function()
  local a = assert(fwd_server:accept())
  local b = asok.wrap(socket.tcp())
  assert(b:connect("127.0.0.1", up_port))
  if arg[1] == "ltn12" then
    asok.spawn(pump_ltn12, a, b)
    asok.spawn(pump_ltn12, b, a)
  else
    a:settimeout(0); b:settimeout(0)
    asok.spawn(pump, a, b)
    asok.spawn(pump, b, a)
  end
  while pumps_done < 2 do asok.sleep(0.01) end
  a:close(); b:close()
end)

-- the child reports on a third port
local rep_server, rep_port = listen()
local report
asok.spawn(function()
  local c = assert(rep_server:accept())
  c:settimeout(60)
  report = assert(c:receive("*a"))
  c:close()
end)

assert(os.execute(arg[-1] .. " proxy_client.lua " .. fwd_port .. " " .. rep_port .. " &"))
local steps = 0
while not (report and up_result and pumps_done == 2) do
  asok.select(nil, nil, 0.5); steps = steps + 1
  assert(steps < 200, "stuck")
end
assert(report == "ok\n", report)
if up_result.all ~= streams.up then
  local a, b = up_result.all or "", streams.up
  local k = 1
  while a:sub(k, k + 4095) == b:sub(k, k + 4095) do k = k + 4096 end
  local t = {}
  for _, v in pairs(moved) do t[#t + 1] = v end
  error(("upstream got %d bytes (stats %d), first difference in [%d, %d), pumps moved %s"):format(
    #a, up_result.r, k - 1, k + 4095, table.concat(t, " ")))
end
assert(up_result.err == nil)
assert(up_result.r == #streams.up and up_result.s == #streams.down,
  "getstats " .. up_result.r .. " " .. up_result.s)
up_server:close(); fwd_server:close(); rep_server:close()
up_server, fwd_server, rep_server = nil, nil, nil
print("ok: " .. #streams.up .. " bytes each way through the proxy, " .. leaks())
