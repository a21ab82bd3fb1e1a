-- memory.lua - where the memory of an idle asok connection goes.
--
--   LUA_CPATH='build/lib/lua/5.4/?.so;;' lua5.4 bench/memory.lua [N [MODE]]
--
-- MODE "native" (the default): what an asok server holds, connections
-- accepted by a wrapper's accept() as native clients (asok.client, no
-- LuaSocket object): 1. accept, 2. park. MODE "luasocket": LuaSocket
-- objects accepted by LuaSocket, then wrapped (the layers below).
--
-- A child interpreter opens N (default 5000) TCP connections to this
-- process and keeps them open. This process then adds one layer at a time,
-- N connections per layer, and reports for each the growth of Lua's heap
-- (collectgarbage "count", after a full collection) and of the resident set
-- (VmRSS: Lua + C malloc + the Go heap of libasok), per connection:
--   1. accept:  the LuaSocket tcp{client} userdata (its 8 KiB buffer inside)
--   2. wrap:    asok.wrap: wrapper table, asok.sock userdata, Go socket,
--               its handle, epoll registration
--   3. park:    a coroutine per connection blocked in receive("*l") (the
--               echo server's idle state): coroutine, token tables, Go waiter
-- A measurement, not a test: it prints figures and fails only on setup
-- errors (cannot listen, connections not established).
local socket = require "socket"
local asok = require "asok"

local N = tonumber(arg and arg[1]) or 5000
local MODE = arg and arg[2] or "native"
assert(MODE == "native" or MODE == "luasocket", "MODE: native or luasocket")
local interp = arg and arg[-1] or "lua5.4"

-- rss_kb returns this process's VmRSS in KiB.
local function rss_kb()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- settle runs full collections until Lua's heap stops shrinking; returns
-- Lua's heap in bytes and the RSS in bytes.
local function settle()
  local last = math.huge
  for _ = 1, 10 do
    collectgarbage("collect")
    local c = collectgarbage("count")
    if c >= last then break end
    last = c
  end
  return collectgarbage("count") * 1024, rss_kb() * 1024
end

local listener = assert(socket.bind("127.0.0.1", 0, 1024))
local _, port = listener:getsockname()

-- the clients live in a child process, so none of their memory is counted
local code = ('local socket = require "socket" local t = {} ' ..
  'for i = 1, %d do t[i] = assert(socket.connect("127.0.0.1", %d)) end io.read("*a")'):format(N, port)
local child = assert(io.popen(("%s -e '%s'"):format(interp, code), "w"))

local rows = {}
local lua0, rss0 = settle()
local lastlua, lastrss = lua0, rss0

-- stage records the growth since the previous stage.
local function stage(name, what)
  local l, r = settle()
  rows[#rows + 1] = { name = name, what = what, lua = (l - lastlua) / N, rss = (r - lastrss) / N }
  lastlua, lastrss = l, r
end

local wrapped = {}
if MODE == "native" then
  local server = asok.wrap(listener)
  for i = 1, N do
    wrapped[i] = assert(server:accept()) -- queued already: no wait
  end
  stage("accept", "asok.client userdata + Go socket/handle (no LuaSocket object)")
else
  local raws = {}
  listener:settimeout(10)
  for i = 1, N do
    raws[i] = assert(listener:accept(), "accept timed out: connections not established")
  end
  stage("accept", "LuaSocket tcp{client} userdata (t_tcp incl. 8 KiB t_buffer)")
  for i = 1, N do
    wrapped[i] = asok.wrap(raws[i])
  end
  stage("wrap", "wrapper table + asok.sock userdata + Go socket/handle")
end

local parked = 0
for i = 1, N do
  local c = wrapped[i]
  local co = coroutine.create(function()
    parked = parked + 1
    local line = c:receive("*l")
    return line
  end)
  assert(coroutine.resume(co))
end
assert(parked == N)
stage("park", "coroutine blocked in receive + token tables + Go waiter")

print(("asok idle-connection memory, %s, %s, N = %d, %s clients (bytes per connection)"):format(
  _VERSION, jit and jit.version or "PUC Lua", N, MODE))
print()
print("| layer | Lua heap | RSS (all) | RSS - Lua (C malloc + Go) | what |")
print("| --- | ---: | ---: | ---: | --- |")
local tl, tr = 0, 0
for _, r in ipairs(rows) do
  tl, tr = tl + r.lua, tr + r.rss
  print(("| %s | %.0f | %.0f | %.0f | %s |"):format(r.name, r.lua, r.rss, r.rss - r.lua, r.what))
end
print(("| **total** | %.0f | %.0f | %.0f | %.2f KiB per idle connection (RSS) |"):format(
  tl, tr, tr - tl, tr / 1024))

for i = 1, N do wrapped[i]:close() end
child:close()
