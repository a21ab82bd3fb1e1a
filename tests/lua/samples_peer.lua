-- samples_peer.lua - the plain LuaSocket side of test_samples.lua, run as a
-- child process (no asok loaded): the clients of LuaSocket's samples
-- against the asok ports in the parent, and the reference runs of the
-- same client code on plain LuaSocket. Each mode writes its report to
-- OUT (through OUT.tmp, renamed when complete) and exits.
--   lua samples_peer.lua irc PORT1 PORT2 N OUT    tinyirc's telnet clients
--   lua samples_peer.lua fwd PORT N OUT           clients through forward.lua
--   lua samples_peer.lua echo PORT OUT            echoclnt.lua's client
--   lua samples_peer.lua tftp PORT OUT            samples_tftp.lua on socket.udp
local socket = require "socket"

local mode = arg[1]
local report = {}
local function say(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  report[#report + 1] = table.concat(t, " ")
end

-- finish writes the report to out and exits.
local function finish(out)
  local f = assert(io.open(out .. ".tmp", "wb"))
  f:write(table.concat(report, "\n"), "\n")
  f:close()
  assert(os.rename(out .. ".tmp", out))
  os.exit(0)
end

if mode == "irc" then
  -- N clients on the two ports; each line one client sends must reach
  -- every other client in the set: joins, rounds, three lines in one
  -- send, a client leaving mid-line, the others leaving one by one.
  -- Reports only what differs, then "clients done".
  local p1, p2, n, out = tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), arg[5]
  local cs = {}
  local function expect(j, want)
    local l, e, p = cs[j]:receive()
    if l ~= want then say("client", j, "got", l, e, p, "want", want) end
  end
  for i = 1, n do
    local c = assert(socket.connect("127.0.0.1", i % 2 == 1 and p1 or p2))
    c:settimeout(20)
    cs[i] = c
    -- client 1 sends no join: client 2 could be in the set before the
    -- server reads it. From client 2 on, the others receiving a join line
    -- show its sender was in the set before the next client connects.
    if i > 1 then
      assert(c:send("join " .. i .. "\n"))
      for j = 1, i - 1 do expect(j, "join " .. i) end
    end
  end
  for r = 1, 2 do
    for i = 1, n do
      assert(cs[i]:send("msg " .. r .. " " .. i .. "\n"))
      for j = 1, n do if j ~= i then expect(j, "msg " .. r .. " " .. i) end end
    end
  end
  assert(cs[1]:send("a\nb\nc\n"))
  for _, l in ipairs { "a", "b", "c" } do for j = 2, n do expect(j, l) end end
  assert(cs[n]:send("half"))
  cs[n]:close()
  for i = n - 1, 2, -1 do
    assert(cs[i]:send("bye " .. i .. "\n"))
    for j = 1, i - 1 do expect(j, "bye " .. i) end
    cs[i]:close()
  end
  assert(cs[1]:send("last\n"))
  -- the server's last broadcast goes to no one: wait for its close
  cs[1]:shutdown("send")
  say("last client", cs[1]:receive("*a"))
  cs[1]:close()
  say("clients done")
  finish(out)
elseif mode == "fwd" then
  -- N clients at once through the forwarder to an upstream that
  -- uppercases: three rounds of a line each, then 300,000 bytes on one
  -- line through client 1 while the others wait.
  local port, n, out = tonumber(arg[2]), tonumber(arg[3]), arg[4]
  local cs = {}
  for i = 1, n do cs[i] = assert(socket.connect("127.0.0.1", port)); cs[i]:settimeout(20) end
  for r = 1, 3 do
    for i = 1, n do assert(cs[i]:send("client " .. i .. " round " .. r .. "\n")) end
    for i = 1, n do
      local l, e = cs[i]:receive()
      if l ~= ("client " .. i .. " round " .. r):upper() then say("client", i, "got", l, e) end
    end
  end
  local big = string.rep("abcdefghij", 30000)
  assert(cs[1]:send(big .. "\n"))
  local l, e = cs[1]:receive()
  say("big", l and #l, e, l == big:upper())
  for i = 1, n do cs[i]:close() end
  say("clients done")
  finish(out)
elseif mode == "echo" then
  -- echoclnt.lua with its lines from here instead of stdin
  local port, out = tonumber(arg[2]), arg[3]
  local host = socket.dns.toip("localhost")
  local udp = assert(socket.udp())
  assert(udp:setpeername(host, port))
  for _, line in ipairs { "plain a", "plain b", ("x"):rep(1000) } do
    assert(udp:send(line))
    local dgram = assert(udp:receive())
    say(dgram == line, #dgram)
  end
  finish(out)
elseif mode == "tftp" then
  local port, out = tonumber(arg[2]), arg[3]
  local tftp = dofile("samples_tftp.lua")(socket.udp, 0.2)
  local cases = dofile("samples_tftpcases.lua")
  for _, name in ipairs(cases.names) do say(cases.show(name, tftp.get(cases.url(port, name)))) end
  finish(out)
end
error("unknown mode " .. tostring(mode))
