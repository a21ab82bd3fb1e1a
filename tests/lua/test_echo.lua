-- test_echo.lua: an asok echo server and 1,000 concurrent client
-- coroutines in one process; every line is checked (count and content).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local CLIENTS, LINES = 1000, 5
local server, port = T.listener(1024)
server = asok.wrap(server)

-- echo serves one connection until the peer closes.
local function echo(client)
  while true do
    local line, err = client:receive("*l")
    if not line then T.eq(err, "closed", "server receive error"); break end
    local n, serr = client:send(line .. "\n")
    if not n then T.check(false, "server send:", serr); break end
  end
  client:close()
end

T.spawn(function()
  while true do
    local client, err = server:accept()
    if not client then T.eq(err, "closed", "accept error"); return end
    T.spawn(echo, client)
  end
end)

local finished, verified, lines = 0, 0, 0
-- talk connects, sends LINES lines one at a time and checks each echo.
local function talk(id)
  local raw = socket.tcp()
  local ok, err = asok.connect(raw, "127.0.0.1", port)
  T.eq(ok, 1, "connect " .. id .. " " .. tostring(err))
  local c = asok.wrap(raw)
  local good = ok == 1
  for i = 1, LINES do
    local msg = ("client %d line %d %s"):format(id, i, ("x"):rep(id % 50))
    local sent = c:send(msg .. "\n")
    good = T.eq(sent, #msg + 1, "sent count") and good
    local got, rerr, partial = c:receive("*l")
    good = T.eq(got, msg, "echo " .. id .. "/" .. i .. " " .. tostring(rerr) .. " " .. tostring(partial)) and good
    if got == msg then lines = lines + 1 end
  end
  c:close()
  if good then verified = verified + 1 end
  finished = finished + 1
end

local t0 = socket.gettime()
for id = 1, CLIENTS do T.spawn(talk, id) end
T.check(T.run(function() return finished == CLIENTS end, 60), "clients finished in time:", finished)
T.eq(verified, CLIENTS, "clients verified")
T.eq(lines, CLIENTS * LINES, "lines echoed")
print(("echo: %d clients x %d lines in %.2fs"):format(CLIENTS, LINES, socket.gettime() - t0))
server:close()
T.run(function() return false end, 0.05) -- let the acceptor see 'closed'
server = nil -- the acceptor finished; drop the last reference (T.done counts handles)
T.done("test_echo")
