-- test_retired_late.lua: docs/reliability.md item 64 (item 60's retired
-- handles). A handle asok lets go of while its object lives on (setfd,
-- a socket LuaSocket replaced) is retired: freed by the second reap
-- after its close. A receive that waited on it then retries on it and
-- takes its share of what the close found buffered (a partial result).
-- A call blocked where it cannot yield (the main thread, a gsub callback,
-- a driver in the main thread) retries only when the run of the reactor
-- it waits under returns: when another blocked call is nested inside
-- that run (a coroutine's call inside a gsub callback), seconds later
-- maybe, after two reaps. The freed handle then answered nil, 'closed',
-- "" where the same call not nested answers nil, 'closed', "abc". The
-- reaps are run by hand (asok._debug.reap) where they would run once a
-- second during the nested wait, and once for real (two nested sleeps).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local closefd = T.closefd

-- the nested waits the coroutine that lets go of the handle makes right
-- after it, where it cannot yield: the reactor runs inside (the blocked
-- call's token comes back there), and reaps run
local NESTS = {
  none = function() end,
  reaps = function()
    ("x"):gsub(".", function() asok.sleep(0); asok._debug.reap(); asok._debug.reap() end)
  end,
  -- two reaps for real: reapdue runs one after each step a second apart
  sleeps = function()
    ("x"):gsub(".", function() asok.sleep(1.05); asok.sleep(1.05) end)
  end,
}

-- the blocked receives of 10 bytes on a (3 buffered): how each one's
-- caller cannot yield
local CALLS = {
  raw = function(a) return T.pack(asok.receive(a, 10)) end,
  wrapper = function(a) return T.pack(asok.wrap(a):receive(10)) end,
  line = function(a) return T.pack(asok.receive(a, "*l")) end,
  prefix = function(a) return T.pack(asok.receive(a, 10, "P")) end,
  -- a driver that cannot yield (the glue's park blocks for it)
  driver = function(a)
    return T.pack(asok.coroutine.wrap(function() return asok.receive(a, 10) end)())
  end,
  -- a coroutine's call inside a gsub callback (blocked in a coroutine)
  gsub = function(a)
    local r
    asok.spawn(function()
      ("x"):gsub(".", function() r = T.pack(asok.receive(a, 10)) end)
    end)
    T.run(function() return r ~= nil end, 10)
    return r or T.pack("still waiting")
  end,
}

-- late runs call on a pair's a with "abc" buffered; a coroutine lets go of
-- a's handle (setfd(-1)) while the call waits, then runs nest. Returns
-- the call's results.
local function late(call, nest)
  local a, b = T.pair()
  local fd = a:getfd()
  b:send("abc")
  asok.spawn(function()
    asok.sleep(0) -- (the call waits first: it parks before the reactor runs)
    a:setfd(-1)
    NESTS[nest]()
  end)
  local r = CALLS[call](a)
  T.run(function() return false end, 0.01) -- (the coroutine's end)
  closefd(fd); b:close()
  -- held back while the call waited, the retired handle goes by the two
  -- reaps after its retry (no collection needed)
  asok._debug.reap(); asok._debug.reap()
  T.eq(asok._debug.handles(), T.base, call .. "/" .. nest .. ": handles after two reaps")
  return r
end

for _, call in ipairs { "raw", "wrapper", "line", "prefix", "driver", "gsub" } do
  local want = late(call, "none")
  local what = call == "prefix" and '(3) nil, "closed", "Pabc"' or '(3) nil, "closed", "abc"'
  T.eq(T.showpack(want), what, call .. ": not nested")
  T.eq(T.showpack(late(call, "reaps")), what, call .. ": two reaps in the nested wait")
end
T.eq(T.showpack(late("raw", "sleeps")), '(3) nil, "closed", "abc"', "raw: two nested sleeps of a second")

T.done("retired_late")
