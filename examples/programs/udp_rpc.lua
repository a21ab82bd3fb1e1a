-- UDP request/response on asok: a server that drops the first try of every
-- third request and answers at a throttled rate, clients in coroutines that
-- retry on timeout (a per-socket timeout). Each client's results, attempts
-- and result shapes included, must equal plain LuaSocket's running the same
-- logic in a child (udp_judge.lua) against the same server.
local socket = require "socket"
local asok   = require "asok"
local leaks  = dofile("leaks.lua")
local logic  = dofile("udp_client_logic.lua")

local server = socket.udp()
assert(server:setsockname("127.0.0.1", 0))
local _, port = server:getsockname()
asok.throttle_send(server, 20000)          -- 20 kB/s of answers
local seen, answered, dropped = {}, 0, 0
local stop = false
asok.spawn(function()
  while not stop do
    local data, ip, p = asok.receivefrom(server)
    if data and data ~= "" then
      local id, try = data:match("^req:(%d+):(%d+)$")
      local key = ip .. ":" .. p .. ":" .. id
      seen[key] = (seen[key] or 0) + 1
      if tonumber(id) % 3 == 0 and seen[key] == 1 then
        dropped = dropped + 1
      else
        assert(asok.sendto(server, "re:" .. id .. ":" .. ("x"):rep(200), ip, p))
        answered = answered + 1
      end
    end
  end
end)

local api = {
  settimeout = asok.settimeout, sendto = asok.sendto,
  receivefrom = asok.receivefrom, receive = asok.receive,
}
local W, N = 8, 6
local mine, pending = {}, W
for w = 1, W do
  asok.spawn(function() mine[w] = logic(socket, api, port, w, N); pending = pending - 1 end)
end
-- the judge: client 1's logic again, under plain LuaSocket
local judged
asok.spawn(function()
  local out = os.tmpname()
  assert(os.execute(arg[-1] .. " udp_judge.lua " .. port .. " 1 " .. N .. " > " .. out .. " &"))
  repeat
    asok.sleep(0.05)
    local f = io.open(out); judged = f and f:read("*a"); if f then f:close() end
  until judged and judged:match("\nEND\n$")
  os.remove(out)
end)
local steps = 0
while pending > 0 or not (judged and judged:match("END")) do
  asok.select(nil, nil, 0.1); steps = steps + 1; assert(steps < 600, "stuck")
end
stop = true
asok.close(server)              -- the server's receivefrom resumes with nil, 'closed'
asok.select(nil, nil, 0)

-- a throttled send past the socket's timeout (README: nil, 'timeout')
local t = socket.udp(); assert(t:setsockname("127.0.0.1", 0))
asok.settimeout(t, 0.05); asok.throttle_send(t, 1000)
local r1 = { asok.sendto(t, ("y"):rep(600), "127.0.0.1", 9) }
local r2 = { n = 0 }
asok.spawn(function()
  local function pk(...) return { n = select("#", ...), ... } end
  r2 = pk(asok.sendto(t, ("y"):rep(600), "127.0.0.1", 9))
end)
asok.select(nil, nil, 0.3)
t:close()
server, t = nil, nil
-- LuaSocket's sendto gives nil, err: two values (no 'last' for a datagram)
assert(r2.n == 2 and r2[1] == nil and r2[2] == "timeout", tostring(r2.n) .. " " .. tostring(r2[2]))

judged = judged:gsub("\nEND\n$", "")
local m1 = mine[1]
if m1 ~= judged then
  io.stderr:write("asok:\n", m1, "\nLuaSocket:\n", judged, "\n")
  error("client 1 differs from plain LuaSocket")
end
for w = 1, W do
  assert(mine[w]:find("answer=re:" .. (w * 100 + N)), mine[w])
end
print(("ok: %d requests, %d answered, %d dropped, throttled sends %s/%s and %s/%s; %s"):format(
  W * N, answered, dropped, tostring(r1[1]), tostring(r1[2]), tostring(r2[1]), tostring(r2[2]), leaks()))
