-- test_letgo_stats.lua: docs/reliability.md item 65. getstats of a
-- LuaSocket object counts every byte its receives returned and its sends
-- sent (buffer.c: a partial result and a cut-short send's count too).
-- When setfd lets go of the object's handle (letgo), asok folds the
-- handle's counts into LuaSocket's, but a receive or send waiting on that
-- handle then ends on it after the fold: its bytes (a partial result, what
-- a large send had sent) were counted on the let-go handle only, and the
-- object's getstats missed them. The reference is the count LuaSocket
-- itself keeps for the same results.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local closefd = T.closefd

-- the count plain LuaSocket keeps for a receive of 10 that returns
-- nil, 'closed', "abc" after a receive of "hello"
local function reference()
  local c, d = T.pair()
  d:send("hello" .. "abc"); d:close()
  c:settimeout(5)
  local first = c:receive(5)
  local r = T.pack(c:receive(10))
  local received, sent = c:getstats()
  c:close()
  return first, r, received, sent
end
local rfirst, rres, rreceived, rsent = reference()
T.eq(rfirst, "hello", "reference: first receive")
T.eq(T.showpack(rres), '(3) nil, "closed", "abc"', "reference: partial")

-- setter: how the handle is let go of: setfd(-1) (LuaSec's), or setfd onto
-- another connection's fd
local SETTERS = {
  minus1 = function(a) a:setfd(-1); return nil end,
  other = function(a)
    local c, d = T.pair()
    a:setfd(c:getfd()); c:setfd(-1)
    return d
  end,
}

-- CALLERS: who waits in the receive: the main thread (blocked), a
-- coroutine (parked), through a wrapper or asok.receive
local CALLERS = {
  main = function(a, f) return f(a) end,
  co = function(a, f)
    local r
    asok.spawn(function() r = f(a) end)
    T.run(function() return r ~= nil end, 10)
    return r or T.pack("still waiting")
  end,
}
local RECEIVES = {
  raw = function(a) return T.pack(asok.receive(a, 10)) end,
  wrapper = function(a) return T.pack(asok.wrap(a):receive(10)) end,
}

for _, setter in ipairs { "minus1", "other" } do
  for _, caller in ipairs { "main", "co" } do
    for _, how in ipairs { "raw", "wrapper" } do
      local what = setter .. "/" .. caller .. "/" .. how
      local a, b = T.pair()
      local fd = a:getfd()
      b:send("hello")
      T.eq(asok.receive(a, 5), "hello", what .. ": first receive")
      b:send("abc")
      local peer
      asok.spawn(function()
        -- (the receive waits, with "abc" read: its partial result)
        repeat asok.sleep(0) until asok._debug.held(a) == 3
        peer = SETTERS[setter](a)
      end)
      local r = CALLERS[caller](a, RECEIVES[how])
      T.same(r, rres, what .. ": the receive's results")
      local received, sent = a:getstats()
      T.eq(received, rreceived, what .. ": getstats received")
      T.eq(sent, rsent, what .. ": getstats sent")
      if peer then
        -- the next fd's bytes add to them
        peer:send("xy")
        T.eq(asok.receive(a, 2), "xy", what .. ": receive on the new fd")
        T.eq((a:getstats()), rreceived + 2, what .. ": getstats received after")
        peer:close()
      end
      a:close(); closefd(fd); b:close()
    end
  end
end

-- a send waiting on a full socket: its count (i-based: bytes sent) is
-- what getstats adds, as LuaSocket's sendraw counts what it sent
for _, caller in ipairs { "main", "co" } do
  local a, b = T.pair()
  local fd = a:getfd()
  local got
  asok.spawn(function()
    asok.sleep(0)
    got = #assert(asok.receive(b, 100000)) -- (the send goes on meanwhile)
    asok.sleep(0)
    a:setfd(-1)
  end)
  local r = CALLERS[caller](a, function(x) return T.pack(asok.send(x, string.rep("x", 8 * 1024 * 1024))) end)
  T.eq(r[2], "closed", caller .. ": the send cut short")
  T.check(type(r[3]) == "number" and r[3] >= got, caller .. ": the send's count", T.show(r[3]), got)
  local received, sent = a:getstats()
  T.eq(sent, r[3], caller .. ": getstats sent")
  T.eq(received, 0 * sent, caller .. ": getstats received (none)")
  closefd(fd); b:close()
end

T.done("letgo_stats")
