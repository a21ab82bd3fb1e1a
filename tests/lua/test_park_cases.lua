-- test_park_cases.lua: where park yields and where it blocks, case by
-- case, on every interpreter. Park's common case (a coroutine that can
-- yield, no driver) is decided and noted in one C call (step.c's
-- noteself, lua-binding/yieldable.c's asok__parkable); everything else
-- goes park's general way (coroutine.running, isyieldable, rootof). The
-- two must agree with what the interpreter can do at that point: a yield
-- where it cannot raises "attempt to yield across a C-call boundary" and
-- kills the coroutine; a block where it could yield holds up the caller.
-- Each case runs a sleep and a line receive (a raw LuaSocket object: the
-- glue's park; a wrapper with a prefix) in a coroutine resumed once by
-- plain coroutine.resume: "dead" after that resume means its calls
-- blocked, "suspended" that they yielded. Its results must be right either
-- way, and no wait may be left noted (asok._debug.waits) or marked blocked.
-- Then: a parked coroutine resumed by someone else parks again (sleep) and
-- leaves no wait behind; a coroutine that ran under asok.coroutine.wrap
-- and then runs on its own takes the common case; a parked coroutine
-- closed or collected leaves no wait; a hook that runs the reactor right
-- after the note loses no delivery.
local T = dofile("asoktest.lua")
local socket = require "socket"
local asok = require "asok"

local V = _VERSION:match("%d%.%d")
local JIT = type(rawget(_G, "jit")) == "table"
local is51 = V == "5.1" and not JIT

-- ops runs the operations of a case: a sleep and two line receives whose
-- lines a peer coroutine sends after a sleep of its own (so each receive
-- waits); returns what they gave, in one string.
local function ops()
  local a, pa = T.pair()
  local b, pb = T.pair()
  local w = asok.wrap(b)
  asok.spawn(function()
    asok.sleep(0.002); pa:send("one\n")
    asok.sleep(0.002); pb:send("two\n")
  end)
  asok.sleep(0.001)
  local r1, e1 = asok.receive(a, "*l", "raw:")
  local r2, e2 = w:receive("*l", "w:")
  a:close(); pa:close(); w:close(); pb:close()
  return tostring(r1) .. "," .. tostring(e1) .. "," .. tostring(r2) .. "," .. tostring(e2)
end
local WANT = "raw:one,nil,w:two,nil"

-- the cases: name, whether the interpreter can yield there, and the
-- function that runs ops() there and returns its answer
local cases = {
  { "plain", true, function() return ops() end },
  { "pcall", not is51, function()
      local ok, r = pcall(ops)
      return ok and r or ("error: " .. tostring(r))
    end },
  { "asok.xpcall", true, function()
      local ok, r = asok.xpcall(ops)
      return ok and r or ("error: " .. tostring(r))
    end },
  { "gsub callback", false, function()
      local r
      string.gsub("a", "a", function() r = ops() end)
      return r
    end },
  { "table.sort comparator", false, function()
      local r
      table.sort({ 2, 1 }, function(x, y) r = r or ops(); return x < y end)
      return r
    end },
  { "__index function", not is51, function()
      local t = setmetatable({}, { __index = function() return ops() end })
      return t.anything
    end },
  { "require'd chunk", false, function()
      local name = "park_cases_" .. tostring(math.random(1, 1e9))
      package.preload[name] = function() return ops() end
      local r = require(name)
      package.loaded[name], package.preload[name] = nil, nil
      return r
    end },
  { "asok.coroutine.wrap", true, function()
      return asok.coroutine.wrap(ops)()
    end },
  { "asok.coroutine.wrap in pcall", not is51, function()
      local ok, r = pcall(asok.coroutine.wrap(ops))
      return ok and r or ("error: " .. tostring(r))
    end },
  { "pcall in asok.coroutine.wrap", not is51, function()
      return asok.coroutine.wrap(function()
        local ok, r = pcall(ops)
        return ok and r or ("error: " .. tostring(r))
      end)()
    end },
  { "asok.xpcall in asok.coroutine.wrap", true, function()
      return asok.coroutine.wrap(function()
        local ok, r = asok.xpcall(ops)
        return ok and r or ("error: " .. tostring(r))
      end)()
    end },
}

local waits0 = asok._debug.waits()
for _, c in ipairs(cases) do
  local name, canyield, f = c[1], c[2], c[3]
  local got
  local co = coroutine.create(function() got = f() end)
  local ok, err = coroutine.resume(co)
  T.check(ok, name, ": coroutine failed:", err)
  local yielded = coroutine.status(co) == "suspended"
  T.eq(yielded, canyield, name .. ": the calls yielded (else blocked)")
  if yielded then
    T.check(T.run(function() return coroutine.status(co) == "dead" end, 10), name, ": did not finish")
  end
  T.eq(got, WANT, name .. ": results")
  T.eq(asok._debug.waits(), waits0, name .. ": waits noted after")
  T.eq(asok._debug.blocked(), 0, name .. ": blocked marks after")
end

-- the main thread blocks (and gets the same results)
T.eq(ops(), WANT, "main thread: results")
T.eq(asok._debug.waits(), waits0, "main thread: waits noted after")

-- a parked sleep resumed by someone else parks again: its coroutine is
-- noted once, under its one token, and nothing stays behind once it ends
do
  local done = false
  local co = coroutine.create(function() asok.sleep(0.02); done = true end)
  assert(coroutine.resume(co))
  T.eq(asok._debug.waits(), waits0 + 1, "sleep parked: one wait noted")
  for i = 1, 3 do
    local ok, v = coroutine.resume(co, "early " .. i)
    T.check(ok, "early resume failed:", v)
    T.eq(coroutine.status(co), "suspended", "early resume " .. i .. ": parked again")
    T.eq(asok._debug.waits(), waits0 + 1, "early resume " .. i .. ": still one wait noted")
  end
  T.check(T.run(function() return done end, 5), "the sleep resumed early did not end")
  T.eq(asok._debug.waits(), waits0, "early resumes: waits noted after")
end

-- a receive resumed by someone else while parked: its wait is cleared
-- (waiting[tok]); it goes on to the line when it comes
do
  local a, pa = T.pair()
  local got
  local co = coroutine.create(function() got = T.pack(asok.receive(a, "*l", ">")) end)
  assert(coroutine.resume(co))
  T.eq(coroutine.status(co), "suspended", "receive parked")
  local ok, v = coroutine.resume(co, "early")
  T.check(ok, "early resume of a receive failed:", v)
  pa:send("late\n")
  T.check(T.run(function() return got end, 5), "the receive resumed early did not end")
  T.same(got, T.pack(">late", nil, nil), "the receive resumed early: its line")
  T.eq(asok._debug.waits(), waits0, "early receive: waits noted after")
  a:close(); pa:close()
end

-- a coroutine that ran under asok.coroutine.wrap (parents[co] set while
-- it runs there, back to nil after) then resumed on its own yields to
-- its resumer as any other: the driver is not remembered
do
  local phase = 0
  local co = coroutine.create(function()
    asok.sleep(0.001); phase = 1
    coroutine.yield("mine")
    asok.sleep(0.001); phase = 2
  end)
  local gen = asok.coroutine.wrap(function()
    -- runs co under asok.coroutine.resume: its sleep yields through here
    return asok.coroutine.resume(co)
  end)
  local r
  local outer = coroutine.create(function() r = T.pack(gen()) end)
  assert(coroutine.resume(outer))
  T.check(T.run(function() return r end, 5), "driven phase did not end")
  T.same(r, T.pack(true, "mine"), "driven phase: co's own yield")
  T.eq(phase, 1, "driven phase")
  -- now on its own, resumed by plain coroutine.resume from a coroutine
  local ok, v
  local own = coroutine.create(function() ok, v = coroutine.resume(co) end)
  assert(coroutine.resume(own))
  -- co's sleep yielded asok's wait marker to `own` (plain resume: no
  -- driver), and asok resumes co itself when it is due
  T.check(ok, "own phase: resume of co failed:", v)
  T.check(v ~= nil and v ~= "mine", "own phase: co's park yielded its wait, got", tostring(v))
  T.check(T.run(function() return phase == 2 end, 5), "own phase: co's sleep did not end")
  T.eq(coroutine.status(co), "dead", "own phase: co ended")
  T.eq(asok._debug.waits(), waits0, "drivers: waits noted after")
end

-- a parked coroutine closed (5.4) or dropped and collected: its wait is
-- gone once the reactor has stepped
do
  local co = coroutine.create(function() asok.sleep(0.01) end)
  assert(coroutine.resume(co))
  T.eq(asok._debug.waits(), waits0 + 1, "closed: parked")
  if coroutine.close then
    T.eq(coroutine.close(co), true, "closed: coroutine.close")
  end
  co = nil
  T.collect()
  T.run(function() return false end, 0.05)
  T.eq(asok._debug.waits(), waits0, "closed or collected: waits noted after")
end

-- a return hook that runs the reactor as noteself returns (note before
-- it), between the note and the yield (the sleep's timer is due by then):
-- the delivery is kept for a later step (step.c, defer), the coroutine
-- ends. LuaJIT fires
-- no return hook for its C functions: nothing to hook there.
if not JIT then
  local hits = 0
  local co = coroutine.create(function() asok.sleep(0.001); return "done" end)
  debug.sethook(co, function()
    local i = debug.getinfo(2, "n")
    if hits == 0 and i and (i.name == "noteself" or i.name == "note") then
      hits = hits + 1
      asok.select(nil, nil, 0.01)
    end
  end, "r")
  assert(coroutine.resume(co))
  T.eq(hits, 1, "hook: ran the reactor after noteself")
  T.eq(coroutine.status(co), "suspended", "hook: parked")
  T.check(T.run(function() return coroutine.status(co) == "dead" end, 5), "hook: the sleep did not end")
  T.eq(asok._debug.waits(), waits0, "hook: waits noted after")
end

T.done("test_park_cases")
os.exit(T.failures == 0 and 0 or 1)
