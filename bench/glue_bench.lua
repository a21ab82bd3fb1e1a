-- glue_bench.lua - cost per call of the Lua glue (lua-binding/glue/*.lua),
-- in process, over a loopback TCP pair. A benchmark, not a test: it prints
-- figures and asserts only that the data came back.
--
--   LUA_CPATH='/tmp/x-build/lib/lua/5.4/?.so;;' lua5.4 bench/glue_bench.lua [N]
--   LUA_CPATH='/tmp/x-build/lib/lua/5.1/?.so;;' luajit bench/glue_bench.lua [N]
--
-- pingpong: N round trips (client send + receive, server receive + send,
--   two coroutines on wrappers): every receive parks once.
-- buffered: N wrapper receive('*l') calls of lines already in asok's
--   buffer plus one send per 100 lines: the calls that never park.
-- native: pingpong with a native client (a wrapper's accept) on the
--   server side: its receive parks in C on PUC Lua, in the glue on LuaJIT.
-- Figures are ns per round trip (resp. per receive), wall and process CPU
-- (os.clock, which counts the Go threads too); best of 3 runs.
local asok = require "asok"
local socket = require "socket"

local N = tonumber(arg and arg[1]) or 200000
local BATCH = 100

-- pair returns two connected asok wrappers over loopback TCP.
local function pair()
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  local c = assert(socket.connect("127.0.0.1", port))
  local s = assert(srv:accept())
  srv:close()
  c:setoption("tcp-nodelay", true)
  s:setoption("tcp-nodelay", true)
  return asok.wrap(c), asok.wrap(s)
end

-- nativepair returns a connected asok wrapper and native client (what a
-- wrapper's accept returns) over loopback TCP.
local function nativepair()
  local srv = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = srv:getsockname()
  local c = assert(socket.connect("127.0.0.1", port))
  local s
  asok.spawn(function() s = srv:accept() end)
  while not s do asok.select(nil, nil, 0.01) end
  srv:close()
  c:setoption("tcp-nodelay", true)
  s:setoption("tcp-nodelay", true)
  return asok.wrap(c), s
end

-- timed runs f and returns its wall and CPU seconds.
local function timed(f)
  local w0, c0 = socket.gettime(), os.clock()
  f()
  return socket.gettime() - w0, os.clock() - c0
end

-- pingpong runs n round trips of one 4-byte line between two coroutines
-- (native: the server's end a native client).
local function pingpong(n, native)
  local c, s
  if native then c, s = nativepair() else c, s = pair() end
  local got = 0
  asok.spawn(function()
    for _ = 1, n do
      local line = s:receive("*l")
      s:send(line .. "\n")
    end
  end)
  asok.spawn(function()
    for _ = 1, n do
      c:send("ping\n")
      if c:receive("*l") == "ping" then got = got + 1 end
    end
  end)
  asok.select()
  c:close(); s:close()
  assert(got == n, "pingpong: lost round trips")
end

-- buffered receives n lines sent in batches of BATCH in one coroutine
-- pair: the receiver finds almost every line in asok's buffer.
local function buffered(n)
  local c, s = pair()
  local got = 0
  local chunk = ("pong\n"):rep(BATCH)
  asok.spawn(function()
    for _ = 1, n / BATCH do
      for _ = 1, BATCH do
        if s:receive("*l") == "pong" then got = got + 1 end
      end
      s:send("k\n")
    end
  end)
  asok.spawn(function()
    for _ = 1, n / BATCH do
      c:send(chunk)
      c:receive("*l")
    end
  end)
  asok.select()
  c:close(); s:close()
  assert(got == n, "buffered: lost lines")
end

-- best runs f(n) 3 times and returns the best wall and CPU ns per item.
local function best(f, n)
  local bw, bc = math.huge, math.huge
  for _ = 1, 3 do
    collectgarbage()
    local w, cpu = timed(function() f(n) end)
    if w < bw then bw = w end
    if cpu < bc then bc = cpu end
  end
  return bw / n * 1e9, bc / n * 1e9
end

pingpong(1000) -- warm up (JIT, first registration)
local interp = jit and jit.version or _VERSION
local pw, pc = best(pingpong, N)
print(("%-22s pingpong  %7d round trips: %6.0f ns wall, %6.0f ns CPU per round trip"):format(interp, N, pw, pc))
local bw, bc = best(buffered, N)
print(("%-22s buffered  %7d receives:    %6.0f ns wall, %6.0f ns CPU per receive"):format(interp, N, bw, bc))
local nw, nc = best(function(n) pingpong(n, true) end, N)
print(("%-22s native    %7d round trips: %6.0f ns wall, %6.0f ns CPU per round trip"):format(interp, N, nw, nc))
