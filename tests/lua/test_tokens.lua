-- test_tokens.lua - the stream receives and sends recycle their tokens
-- (glue/stream.lua): a finished operation's token is taken by the next
-- one. Reuse must never lose or misdeliver a wake-up: a stale delivery of
-- a reused token (a closed socket's) only makes its new owner retry.
local T = dofile("asoktest.lua")
local asok = require "asok"

-- 1. many coroutines, many operations each: every line comes back, in order
do
  local PAIRS, ROUNDS = 40, 150
  local ok, socks = 0, {}
  for p = 1, PAIRS do
    local a, b = T.pair()
    local wa, wb = asok.wrap(a), asok.wrap(b)
    socks[#socks + 1] = wa
    socks[#socks + 1] = wb
    T.spawn(function() -- echo
      while true do
        local line = wa:receive("*l")
        if not line then break end
        wa:send(line .. "\n")
      end
    end)
    T.spawn(function()
      for r = 1, ROUNDS do
        wb:send(p .. ":" .. r .. "\n")
        local got = wb:receive("*l")
        if got ~= p .. ":" .. r then T.eq(got, p .. ":" .. r, "echoed line"); return end
      end
      ok = ok + 1
    end)
  end
  T.check(T.run(function() return ok == PAIRS end, 30), "all pairs finished", ok)
  for i = 1, #socks do socks[i]:close() end
  socks = nil
end

-- 2. a token freed while a stale delivery for it is pending: X is parked
-- on socket A, A is closed (X's token is queued as ready), X is resumed
-- by hand before asok.select runs and finishes with 'closed', giving its
-- token back; Y's receive on B takes that token. The stale delivery then
-- wakes Y, which must only retry and still get B's line.
do
  local a1, a2 = T.pair()
  local b1, b2 = T.pair()
  local wa, wb, wb2 = asok.wrap(a1), asok.wrap(b1), asok.wrap(b2)
  local xres, yres
  local x = T.spawn(function() xres = T.pack(wa:receive("*l")) end)
  T.check(xres == nil, "X parked")
  asok.close(wa)
  local okx, errx = coroutine.resume(x) -- by hand: park sees it was not asok
  T.check(okx, "manual resume of X", errx)
  T.same(xres, T.pack(nil, "closed", ""), "X's receive on the closed socket (LuaSocket: nil, err, partial)")
  T.spawn(function() yres = T.pack(wb:receive("*l")) end)
  T.check(yres == nil, "Y parked")
  asok.select(nil, nil, 0) -- delivers the stale token: Y retries, parks again
  T.check(yres == nil, "Y still waits after the stale delivery")
  T.spawn(function() wb2:send("for Y\n") end)
  T.check(T.run(function() return yres ~= nil end, 5), "Y woke up for its data")
  T.same(yres, T.pack("for Y", nil, nil), "Y's line (LuaSocket: line, nil, nil)")
  a2:close(); wb:close(); wb2:close()
  wa, wb, wb2, a1, a2, b1, b2, x = nil, nil, nil, nil, nil, nil, nil, nil
end

-- 3. the main thread's blocking calls take recycled tokens too
do
  local a, b = T.pair()
  local wa, wb = asok.wrap(a), asok.wrap(b)
  for i = 1, 20 do
    T.spawn(function() wb:send("line " .. i .. "\n") end)
    T.eq(wa:receive("*l"), "line " .. i, "blocking receive in the main thread")
  end
  T.spawn(function() T.eq(wb:receive("*l"), "back", "coroutine receive after blocking ones") end)
  T.eq(wa:send("back\n"), 5, "blocking send in the main thread")
  T.run(function() return false end, 0.05)
  wa:close(); wb:close()
  wa, wb, a, b = nil, nil, nil, nil
end

T.done("test_tokens")
