-- test_ownzero.lua: asok's calls into LuaSocket's own methods run at a
-- zero block timeout (glue/core.lua ownzero: a raw accept, connect, a
-- receive asok cannot serve), and the object's own LuaSocket timeout,
-- which the program's plain LuaSocket calls keep using, is given back
-- whatever the call raised. An error raised at any instruction of such a
-- call (a debug hook that raises: lua.c's Ctrl-C) used to leave it at 0
-- for good (C.ownzero now sets, calls and restores in one step):
--  1. a raw server's accept (asok.accept on a LuaSocket object);
--  2. a raw master's connect (asok.connect on a LuaSocket object);
-- each swept over every hook position of the call, up to the first one
-- the hook no longer cuts, the object's gettimeout checked after each.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- timeouts returns raw's LuaSocket timeouts as one string ("b/t").
local function timeouts(raw)
  local b, t = raw:gettimeout()
  return tostring(b) .. "/" .. tostring(t)
end

-- sweep runs make() -> obj, call, cleanup for k = 1, 2, ... with a hook
-- raising at the k-th instruction of call(obj), until a call is not cut;
-- obj's LuaSocket timeouts must be the program's (as before the call)
-- after each. Returns the number of positions and the cut ones.
local function sweep(what, make)
  local positions, cut, wrong = 0, 0, {}
  for k = 1, 5000 do
    local obj, call, cleanup = make()
    local want = timeouts(obj)
    local r = T.interrupt(k, function() return call(obj) end)
    positions = k
    if not r[1] then
      cut = cut + 1
      T.eq(r[2]:match(T.INTERRUPTED .. "$"), T.INTERRUPTED, what .. " k=" .. k .. ": the hook's error")
    end
    local got = timeouts(obj)
    if got ~= want then wrong[#wrong + 1] = k .. ":" .. got end
    cleanup(r)
    if r[1] then break end
  end
  T.check(cut > 20 and positions == cut + 1, what .. ": the sweep ran to an uncut call", positions, cut)
  T.eq(#wrong .. " " .. table.concat(wrong, " "), "0 ", what .. ": positions that left the object's own timeout changed")
  return positions, cut
end

-- 1. a raw server's accept, a connection pending
do
  sweep("accept", function()
    local server, port = T.listener()
    server:settimeout(5)
    server:settimeout(7, "t")
    T.eq(timeouts(server), timeouts(server) == "5/7" and "5/7" or "5.0/7.0", "the program's timeouts")
    local c = assert(socket.connect("127.0.0.1", port))
    return server, function(s) return asok.accept(s) end, function(r)
      if r[1] then
        T.check(r[2] ~= nil, "uncut: accept's client", r[2], r[3])
        if r[2] then r[2]:close() end
      end
      server:close(); c:close()
    end
  end)
end

-- 2. a raw master's connect to a listener
do
  local server, port = T.listener(64)
  sweep("connect", function()
    local m = assert(socket.tcp())
    m:settimeout(5)
    return m, function(o) return asok.connect(o, "127.0.0.1", port) end, function(r)
      if r[1] then T.eq(r[2], 1, "uncut: connected") end
      m:close()
      server:settimeout(0) -- (a connect cut after the kernel took it)
      local a = server:accept()
      while a do
        a:close()
        a = server:accept()
      end
    end
  end)
  server:close()
end

T.done("ownzero")
