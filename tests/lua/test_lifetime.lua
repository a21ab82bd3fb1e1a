-- test_lifetime.lua: garbage collection and lua_close around parked
-- coroutines. Full GC cycles while coroutines wait must not free what they
-- wait on; dropped sockets, wrappers and finished coroutines release their
-- asok handles (asok._debug.handles() back to the baseline); a child
-- interpreter that closes its lua_State (os.exit(0, true) on 5.2+, plain
-- end of script on 5.1/LuaJIT) with sockets open and coroutines parked
-- exits cleanly, whatever order lua_close finalizes the loop and sockets.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local BASE = asok._debug.handles()

-- fullgc runs enough full cycles for finalizers and weak tables.
local function fullgc()
  for _ = 1, 4 do collectgarbage("collect") end
end

-- parked coroutines keep their sockets alive through full GC cycles
do
  local results = {}
  local peers = {}
  for i = 1, 20 do
    local accepted, client = T.pair()
    peers[i] = accepted
    local w = i % 2 == 0 and asok.wrap(client) or client
    asok.spawn(function() results[i] = T.pack(asok.receive(w)) end)
    client, w = nil, nil -- only the parked coroutine refers to them now
  end
  fullgc()
  asok.select(nil, nil, 0)
  fullgc()
  for i = 1, 20 do
    if i % 3 == 0 then peers[i]:close() else peers[i]:send("hi " .. i .. "\n") end
  end
  T.run(function() for i = 1, 20 do if not results[i] then return false end end return true end, 10)
  for i = 1, 20 do
    local want = i % 3 == 0 and T.pack(nil, "closed", "") or T.pack("hi " .. i, nil, nil)
    T.same(results[i] or T.pack(), want, "coroutine " .. i .. " after GC")
    peers[i]:close()
  end
end
fullgc()
T.eq(T.handles(), BASE, "handles after parked coroutines finished")

-- sockets and wrappers dropped without close are released by their __gc
do
  for _ = 1, 50 do
    local accepted, client = T.pair()
    asok.wrap(client):settimeout(1)
    asok.settimeout(accepted, 1)
  end
  fullgc()
  T.eq(T.handles(), BASE, "handles after dropping 100 sockets")
end

-- coroutines abandoned while parked (their socket closed under them by the
-- peer and by GC of the only reference) finish and are collectable
do
  local weak = setmetatable({}, { __mode = "k" })
  for _ = 1, 10 do
    local accepted, client = T.pair()
    local co = asok.spawn(function() asok.receive(client) end)
    weak[co] = true
    accepted:close()
  end
  T.run(function() for co in pairs(weak) do if coroutine.status(co) ~= "dead" then return false end end return true end, 10)
  fullgc()
  T.eq(next(weak), nil, "finished coroutines collected")
  T.eq(T.handles(), BASE, "handles after abandoned coroutines")
end

-- sockets closed with unread data give their receive buffer back when
-- collected (LuaSocket objects, wrappers, native clients; dropped without
-- close, too): 300 of them, each holding a 4 KiB buffer with its second
-- line unread, leave asok's receive memory where it was, give or take the
-- pool (asok._debug.rxmem)
do
  local before = asok._debug.rxmem()
  for i = 1, 300 do
    local kind = i % 4
    local s, peer
    if kind == 3 then s, peer = T.nativepair() else s, peer = T.pair() end
    if kind == 1 then s = asok.wrap(s) end
    peer:send("a\nb\n")
    local got
    asok.spawn(function() got = T.pack(asok.receive(s, "*l")) end)
    T.run(function() return got end, 5)
    T.same(got, T.pack("a", nil, nil), "first line of " .. i)
    if kind ~= 2 then s:close() end -- kind 2: dropped without close
    peer:close()
    s, peer = nil, nil
    if i % 50 == 0 then fullgc() end
  end
  fullgc()
  T.run(function() return false end, 0.02) -- a receive flushes retired buffers
  local grown = asok._debug.rxmem() - before
  T.check(grown < 300 * 4096 / 4, "receive memory back after 300 sockets closed with unread data:", grown)
end

-- a child interpreter closes its state with sockets open and coroutines
-- parked on them and on sleeps
do
  local interp = arg and arg[-1] or "lua"
  local child = [[
    local asok = require "asok"
    local socket = require "socket"
    local srv = assert(socket.bind("127.0.0.1", 0))
    local _, port = srv:getsockname()
    local c = assert(socket.connect("127.0.0.1", port))
    local a = assert(srv:accept())
    local w = asok.wrap(c)
    asok.spawn(function() asok.receive(w) end)
    asok.spawn(function() asok.receive(a, 10) end)
    asok.spawn(function() asok.accept(srv) end)
    asok.spawn(function() asok.sleep(1000) end)
    asok.select(nil, nil, 0)
    io.write("child ok\n")
    io.stdout:flush()
    if _VERSION ~= "Lua 5.1" then os.exit(0, true) end
  ]]
  local f = io.popen(("%q -e %q 2>&1"):format(interp, child:gsub("\n%s*", " ")))
  local out = f:read("*a")
  local ok, how, code = f:close()
  T.check(out:find("child ok", 1, true), "child output:", out)
  if how then -- 5.2+: the exit status of the child
    T.check(ok and how == "exit" and code == 0, "child exit:", how, code)
  else -- 5.1, LuaJIT: true, or the raw pclose status
    T.check(ok == true or ok == 0, "child exit:", ok)
  end
  T.check(not out:find("rror") and not out:find("anic"), "child printed an error:", out)
end

fullgc() -- then T.done checks the live asok handles are back to the baseline
T.done("test_lifetime")
