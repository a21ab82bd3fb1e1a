-- A line-based chat server on asok, driven by plain LuaSocket clients in a
-- child process (chat_clients.lua). One coroutine per client; a broadcast
-- spawns one send per recipient (asok's sends on one socket are FIFO and
-- atomic, so each recipient gets the lines in order); a client that stops
-- reading has its sends time out and is dropped, the others read on.
local socket = require "socket"
local asok   = require "asok"

local leaks = dofile("leaks.lua")

local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, port = server:getsockname()
local members, events, report = {}, {}, nil
local function event(s) events[#events + 1] = s end

local function drop(c, why)
  if not members[c] then return end
  local name = members[c]
  members[c] = nil
  c:close()
  event("drop " .. name .. " " .. why)
end

local function broadcast(line, from)
  for c in pairs(members) do
    if c ~= from then
      asok.spawn(function()
        local last, err, part = c:send(line .. "\n")
        if not last then
          -- LuaSocket's result: nil, err, last index sent
          assert(type(part) == "number" and part >= 0 and part <= #line + 1, tostring(part))
          local name = members[c]
          if err == "timeout" and name then
            event("send timeout to " .. name)
            drop(c, err)
            broadcast("* " .. name .. " dropped (timeout)")
          end
          drop(c, err)
        end
      end)
    end
  end
end

local function serve(c)
  c:settimeout(1)
  local name, err = c:receive("*l")
  if not name then c:close() return end
  if name == "REPORT" then               -- the child's results
    report = assert(c:receive("*a"))
    c:close()
    return
  end
  if name == "S" then assert(c:setoption("send-buffer-size", 4096)) end
  members[c] = name
  broadcast("* " .. name .. " joined", c)
  local part = ""
  while members[c] do
    local line, err, p = c:receive("*l", part)
    if line then
      part = ""
      if line == "/quit" then
        assert(c:send("bye\n"))
        drop(c, "quit")
      else
        broadcast(name .. ": " .. line, c)
      end
    elseif err == "timeout" then
      part = p                                -- keep the partial line
    else
      if members[c] then
        event("left " .. name .. " " .. err .. " [" .. p .. "]")
        broadcast("* " .. name .. " left mid-line: " .. p, c)
        drop(c, err)
      end
    end
  end
end

asok.spawn(function()
  while not report do
    local c, err = server:accept()
    if c then asok.spawn(serve, c) end
  end
end)

local interp = arg[-1]
assert(os.execute(interp .. " chat_clients.lua " .. port .. " &"))
local steps = 0
while not report do
  asok.select(nil, nil, 0.5)
  steps = steps + 1
  assert(steps < 120, "no report from the clients")
end
server:close()
asok.select(nil, nil, 0.2)   -- let the last closes run

-- server side
local ev = table.concat(events, "\n")
assert(ev:find("send timeout to S", 1, true), ev)
assert(ev:find("drop S timeout", 1, true), ev)
assert(ev:find("left C closed [half a li]", 1, true), ev)
assert(ev:find("drop A quit", 1, true), ev)
-- client side: every line says ok
for line in report:gmatch("[^\n]+") do
  assert(line:match("^ok "), "client: " .. line)
end
assert(select(2, report:gsub("\n", "")) == 6, report)
server, members = nil, nil
print(string.format("ok: %d events, %s", #events, leaks()))
