-- test_scale.lua: 15,000 concurrent TCP connections in one Lua process.
-- The server (this process, re-run under `ulimit -n` raised to the hard
-- limit) serves each connection in a coroutine on a native client from a
-- wrapper's accept; the clients live in a child process, also on asok,
-- one coroutine per connection. Every client connects and does one round
-- trip; the server counts the connections open at once, and only once all
-- N are open does it tell the clients (one byte each) to go on; each then
-- does a second round trip and closes. Checked: all N open together on
-- the server, every reply right on both sides, every server coroutine
-- ended when its client closed, nothing left (handles back to base).
-- N is 15,000, or less if the hard limit on descriptors is lower
-- (it is printed: ctest -V shows it).
local WANT = 15000

local function sh(cmd)
  local f = assert(io.popen("sh -c " .. ("%q"):format(cmd)))
  local out = f:read("*a")
  f:close()
  return out
end

local mode = arg[1]
if mode == nil then -- ctest's entry: re-run with the descriptor limit raised
  local T = dofile("asoktest.lua")
  local hard = tonumber(sh("ulimit -Hn"):match("%d+")) or math.huge
  local n = math.min(WANT, math.floor(((hard == math.huge and 1e9 or hard) - 100)))
  T.check(n >= 1000, "the hard descriptor limit is too low for this test:", hard)
  local out = sh(("ulimit -n %d && exec %q %q server %d 2>&1")
    :format(n + 100, arg[-1], arg[0], n))
  io.write(out)
  T.check(out:find("scale server: %d+ checks, 0 failures"), "server failed or did not finish")
  T.check(out:find("scale clients: " .. n .. " of " .. n .. " right"), "clients failed")
  T.done("test_scale")
end

local asok = require "asok"
local socket = require "socket"
local N = assert(tonumber(arg[2]))

if mode == "clients" then -- the child: N clients, at most 256 connecting at once
  local port = assert(tonumber(arg[3]))
  local right, connecting, failed = 0, 0, {}
  local function fail(i, what, err)
    if #failed < 10 then failed[#failed + 1] = ("client %d: %s: %s"):format(i, what, tostring(err)) end
  end
  local function client(i)
    local c = asok.wrap(socket.tcp(), 60)
    local ok, err = c:connect("127.0.0.1", port)
    connecting = connecting - 1
    if not ok then return fail(i, "connect", err) end
    local line
    if c:send("c" .. i .. "\n") then line, err = c:receive() end
    if line ~= "c" .. i then c:close(); return fail(i, "first round trip", line or err) end
    local go = c:receive(1) -- the server's signal: all N are open
    if go ~= "!" then c:close(); return fail(i, "signal", go) end
    line, err = nil, nil
    if c:send("bye " .. i .. "\n") then line, err = c:receive() end
    c:close()
    if line ~= "bye " .. i then return fail(i, "second round trip", line or err) end
    right = right + 1
  end
  asok.spawn(function()
    for i = 1, N do
      while connecting >= 256 do asok.sleep(0.001) end
      connecting = connecting + 1
      asok.spawn(client, i)
    end
  end)
  asok.select(nil, nil, nil) -- until no coroutine waits
  for _, f in ipairs(failed) do print(f) end
  print(("scale clients: %d of %d right"):format(right, N))
  os.exit(right == N and 0 or 1)
end

assert(mode == "server")
local T = dofile("asoktest.lua")
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0, 4096)), 60)
local _, port = server:getsockname()
local open, peak, served, ended, bad = 0, 0, 0, 0, 0
local waiting = {} -- the clients told to wait for the signal

local function serve(c)
  open = open + 1
  if open > peak then peak = open end
  local line = c:receive()
  if line and c:send(line .. "\n") then
    waiting[#waiting + 1] = c
    if open == N then -- all N open at once: let them go on
      for _, w in ipairs(waiting) do w:send("!") end
      waiting = {}
    end
    line = c:receive()
    if line and line:match("^bye %d+$") and c:send(line .. "\n") then served = served + 1 end
    local rest, err = c:receive()
    if rest ~= nil or err ~= "closed" then bad = bad + 1 end -- the client closes first
  else
    bad = bad + 1
  end
  c:close()
  open = open - 1
  ended = ended + 1
end

asok.spawn(function()
  for _ = 1, N do
    local c, err = server:accept()
    if not c then bad = bad + 1; io.stderr:write("accept: ", tostring(err), "\n"); return end
    asok.spawn(serve, c)
  end
end)

local child = assert(io.popen(("exec %q %q clients %d %d 2>&1"):format(arg[-1], arg[0], N, port)))
local t0 = socket.gettime()
T.run(function() return ended == N or bad > 0 end, 120)
local out = child:read("*a")
child:close()
io.write(out)
print(("scale server: %d connections, %d open at once, %.1f s"):format(N, peak, socket.gettime() - t0))
T.eq(peak, N, "connections open at once")
T.eq(served, N, "second round trips served")
T.eq(ended, N, "server coroutines ended")
T.eq(bad, 0, "failures on the server side")
T.eq(open, 0, "connections still open")
server:close()
server = nil -- its handle goes with the object
T.done("scale server")
