-- test_glue_waits.lua: many operations waiting at once on one native
-- client through the glue (LuaJIT's path for every receive and send; on
-- PUC Lua a receive with a prefix, or one under asok.coroutine, which the
-- C method hands over). Such an operation must end as at a close when a
-- setfd gives the client a new handle while it waits, so it goes on with
-- the handle it waited on. The client kept a note per waiting operation
-- for that, a list searched at each park and retry (O(k) each with k
-- waiting) and left behind by operations abandoned by coroutine.close
-- until their token came back. The handle now travels with the operation
-- (the WAIT answer names it, each retry passes it back): the client keeps
-- nothing per operation. Counted here in bytes of C heap
-- (asok._debug.cmem), not timed: main grew 24 bytes per note (a doubling
-- array), this code none.
local T = dofile("asoktest.lua")
local asok = require "asok"

local K = 5000
local cmem = asok._debug.cmem
T.check(cmem ~= nil, "asok._debug.cmem exists")
local bytes = cmem and cmem()

-- glue(nat, kind, f) starts a coroutine whose receive on native client
-- nat waits through the glue; f gets its results. kind "plain": LuaJIT's
-- receive, or with a prefix on PUC Lua (the C method takes none); kind
-- "driver": under asok.coroutine.wrap (on PUC Lua the C method hands its
-- token and the handle over to the glue: park.c's TOK, t, h); kind
-- "foreign": parked in C on PUC Lua, for someone else to resume (on 5.1
-- the glue then takes it over with unpark's token and handle). Returns
-- the coroutine.
local function glue(nat, kind, f)
  local co
  if kind == "driver" then
    co = coroutine.create(function()
      return f(asok.coroutine.wrap(function() return nat:receive("*l") end)())
    end)
  elseif jit or kind == "foreign" then
    co = coroutine.create(function() return f(nat:receive("*l")) end)
  else
    co = coroutine.create(function() return f(nat:receive("*l", "")) end)
  end
  local ok, err = coroutine.resume(co)
  if not ok then T.check(false, "a glue receive started:", err) end
  return co
end

-- lua_in_cheap says whether Lua's own objects are in the C heap (PUC Lua:
-- lua.c's allocator is realloc's; LuaJIT has its own): a 1 MB string
-- grows it by as much.
local function lua_in_cheap()
  collectgarbage(); collectgarbage()
  local before = cmem()
  local s = ("x"):rep(1048576)
  local grew = cmem() - before
  s = nil
  return grew >= 1048576
end

-- outside returns the C heap in use outside Lua's own objects, after full
-- collections (where Lua's objects are in it, its count is taken off)
local function outside(inlua)
  collectgarbage(); collectgarbage()
  return cmem() - (inlua and collectgarbage("count") * 1024 or 0)
end

-- 1. K receives waiting at once on one native client through the glue
-- keep no C memory per operation (LuaJIT, where only C code uses the C
-- heap; on PUC Lua the coroutines' own memory is there too). The first
-- round on another client grows the glue's tables and asok's once.
if bytes and not lua_in_cheap() then
  local function round(nat, peer)
    local got, n = {}, 0
    for i = 1, K do glue(nat, "plain", function(l) got[i] = l; n = n + 1 end) end
    asok.select(nil, nil, 0)
    local m = outside(false)
    local lines = {}
    for i = 1, K do lines[i] = "l" .. i end
    peer:send(table.concat(lines, "\n") .. "\n")
    T.run(function() return n == K end, 10)
    local inorder = n == K
    for i = 1, K do if got[i] ~= "l" .. i then inorder = false end end
    T.check(inorder, "every waiter got its line, in order:", n, "of", K)
    return m
  end
  local natA, peerA = T.nativepair()
  round(natA, peerA)
  natA:close(); peerA:close()
  local nat, peer = T.nativepair()
  local m0 = outside(false)
  local grew = round(nat, peer) - m0
  T.check(grew < K * 4, "C heap while", K, "glue receives wait on one client: grew by",
    grew, "bytes (a note each: " .. K * 24 .. " or more)")
  nat:close(); peer:close()
elseif not bytes then
  io.stderr:write("test_glue_waits: no mallinfo2 here, C heap not counted\n")
end

-- 2. (5.4) K coroutines waiting on one native client through the glue,
-- closed and reaped, leave nothing behind on the client: plain ones
-- (their small tokens go back) and ones under asok.coroutine.wrap (their
-- driver closed: orphans, whose C tokens go back once collected, at a
-- second reap). The first round, on another client, warms up as in 1.
if coroutine.close and bytes then
  local inlua = lua_in_cheap()
  local function round(nat)
    local cos = {}
    for i = 1, K do cos[i] = glue(nat, i % 2 == 0 and "driver" or "plain", function() end) end
    asok.select(nil, nil, 0)
    for i = 1, K do coroutine.close(cos[i]) end
    cos = nil
    T.run(function() return false end, 1.2) -- the reap
    collectgarbage(); collectgarbage()
    T.run(function() return false end, 1.2) -- the orphans' C tokens
  end
  local natA, peerA = T.nativepair()
  round(natA)
  natA:close(); peerA:close()
  local nat, peer = T.nativepair()
  local m0 = outside(inlua)
  round(nat)
  local grew = outside(inlua) - m0
  T.check(grew < K * 4, "C heap after", K, "glue waiters on one client were closed and reaped: grew by",
    grew, "bytes (a note each: " .. K * 24 .. " or more)")
  T.eq(asok._debug.cparked(), 0, "every C token back")
  -- the client still works: a receive gets the next line
  local res
  T.spawn(function() res = T.pack(nat:receive("*l")) end)
  peer:send("next\n")
  T.run(function() return res end, 5)
  T.same(res or T.pack(), T.pack("next", nil, nil), "a receive after the closes")
  nat:close(); peer:close()
end

-- 3. K receives waiting through the glue on one native client when a
-- setfd gives it another socket: each ends as at a close (nil, 'closed',
-- ""), not on the new socket, whose next line a new receive reads; every
-- kind, on every interpreter (fewer resumed by someone else: 5.1's unpark
-- looks through the C tokens).
for _, kind in ipairs { "plain", "driver", "foreign" } do
  local k = kind == "foreign" and 50 or K
  local nat, peer = T.nativepair()
  local peer2, other = T.pair()
  local res, n, cos = {}, 0, {}
  for i = 1, k do cos[i] = glue(nat, kind, function(...) res[i] = T.pack(...); n = n + 1 end) end
  asok.select(nil, nil, 0)
  local oldfd = nat:getfd()
  nat:setfd(other:getfd())
  other:setfd(-1)
  if kind == "foreign" then
    for i = 1, k do coroutine.resume(cos[i]) end
  end
  cos = nil
  peer2:send("on the new fd\n")
  T.run(function() return n == k end, 10)
  local closed = 0
  for i = 1, k do
    local r = res[i]
    if r and r.n == 3 and r[1] == nil and r[2] == "closed" and r[3] == "" then closed = closed + 1 end
  end
  T.eq(closed, k, kind .. ": waiters ended with nil, 'closed', '' at the setfd")
  local later
  T.spawn(function() later = T.pack(nat:receive("*l")) end)
  T.run(function() return later end, 5)
  T.same(later or T.pack(), T.pack("on the new fd", nil, nil), kind .. ": a new receive reads the new fd")
  nat:close(); peer:close(); peer2:close()
  local o = require("socket").tcp()
  o:setfd(oldfd)
  o:close()
end

T.done("test_glue_waits")
