-- test_xpcall.lua: asok.xpcall lets the called function wait in asok
-- (receive, sleep) on every Lua version, returns what xpcall returns (nils
-- kept), applies the handler to errors, nests, and passes user yields up.
local T = dofile("asoktest.lua")
local asok = require "asok"

-- raises checks that f(...) raises an error containing text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok and tostring(err):find(text, 1, true), "want error", text, "got", err)
end

local a, b = T.pair()
local results = {}

-- yields inside (receive + sleep), results with nils kept
asok.spawn(function()
  results.plain = T.pack(asok.xpcall(function(x, y)
    local line = asok.receive(b, "*l")
    asok.sleep(0.01)
    return x, nil, y, line, nil
  end, nil, 1, 2))
end)
T.eq(results.plain, nil, "xpcall'd function is waiting")
asok.send(a, "hello\n")
T.check(T.run(function() return results.plain end, 5), "plain xpcall finished")
T.same(results.plain, T.pack(true, 1, nil, 2, "hello", nil), "results with nils")

-- an error after a wait goes through the handler
asok.spawn(function()
  results.handled = T.pack(asok.xpcall(function()
    asok.sleep(0.01)
    error("boom", 0)
  end, function(m) return "handled: " .. m end))
end)
T.check(T.run(function() return results.handled end, 5), "handled xpcall finished")
T.same(results.handled, T.pack(false, "handled: boom"), "handler applied")

-- nil handler: the error object itself, like pcall
local obj = {}
asok.spawn(function()
  results.object = T.pack(asok.xpcall(function() asok.sleep(0) error(obj) end))
end)
T.check(T.run(function() return results.object end, 5), "object xpcall finished")
T.same(results.object, T.pack(false, obj), "error object kept")

-- debug.traceback as handler: the message with a traceback
asok.spawn(function()
  results.tb = T.pack(asok.xpcall(function() asok.sleep(0) error("traced") end, debug.traceback))
end)
T.check(T.run(function() return results.tb end, 5), "traceback xpcall finished")
T.eq(results.tb[1], false, "traceback status")
T.check(tostring(results.tb[2]):find("traced", 1, true)
  and tostring(results.tb[2]):find("stack traceback", 1, true), "traceback text:", results.tb[2])

-- a failing handler: false and some message, no error raised
asok.spawn(function()
  results.badh = T.pack(asok.xpcall(function() asok.sleep(0) error("x") end,
    function() error("handler fails") end))
end)
T.check(T.run(function() return results.badh end, 5), "bad handler xpcall finished")
T.eq(results.badh[1], false, "bad handler status")

-- nested: the inner one fails after a receive, the outer goes on waiting
asok.spawn(function()
  results.nested = T.pack(asok.xpcall(function()
    local inner = T.pack(asok.xpcall(function()
      local l = asok.receive(b, "*l")
      error("inner " .. l, 0)
    end, function(m) return "caught " .. m end))
    asok.sleep(0.01)
    local l2 = asok.receive(b, "*l")
    return inner[1], inner[2], l2
  end, nil))
end)
asok.send(a, "one\n")
T.run(function() return false end, 0.05)
asok.send(a, "two\n")
T.check(T.run(function() return results.nested end, 5), "nested xpcall finished")
T.same(results.nested, T.pack(true, false, "caught inner one", "two"), "nested results")

-- from the main thread: blocks like LuaSocket while coroutines run
local ticks = 0
asok.spawn(function() for _ = 1, 5 do asok.sleep(0.001); ticks = ticks + 1 end end)
T.same(T.pack(asok.xpcall(function(v) asok.sleep(0.05) return v end, nil, "main")),
  T.pack(true, "main"), "xpcall in the main thread")
T.eq(ticks, 5, "coroutines ran while the main thread's xpcall waited")

-- a user's own yields pass through asok.xpcall to the user's resumer
local gen = coroutine.wrap(function()
  local r = T.pack(asok.xpcall(function(s)
    local got = coroutine.yield(s + 1)
    coroutine.yield(got * 2)
    return "end"
  end, nil, 1))
  return r[1], r[2]
end)
T.eq(gen(), 2, "first user yield")
T.eq(gen(21), 42, "second user yield, resume value passed down")
T.same(T.pack(gen()), T.pack(true, "end"), "generator result")

-- many coroutines at once, each inside asok.xpcall
local done = 0
for i = 1, 100 do
  asok.spawn(function()
    local ok, v = asok.xpcall(function() asok.sleep(i / 10000); return i end)
    if ok and v == i then done = done + 1 end
  end)
end
T.check(T.run(function() return done == 100 end, 5), "100 concurrent xpcalls:", done)

-- arguments
raises("bad argument #2 to 'xpcall' (function or nil expected, got number)", asok.xpcall, print, 42)
T.same(T.pack(asok.xpcall(function(...) return select("#", ...) end, nil, nil, nil)),
  T.pack(true, 2), "nil arguments counted")
T.eq((asok.xpcall(nil)), false, "calling nil fails inside")
a:close()
b:close()
-- a value that cannot be called, or a C function that raises: the error
-- reads as under xpcall (a C function's caller is xpcall, a C function:
-- no position in asok's code, '?' for the name), as pcall gives it, in a
-- coroutine and in the main thread
local unpack = table.unpack or unpack
local function identity(e) return e end
local cases = {
  { "nil", nil },
  { "a number", 42 },
  { "a C function", select, "x" },
  { "a C function, no argument", string.rep },
}
local got = {}
asok.spawn(function()
  for i, c in ipairs(cases) do got[i] = T.pack(asok.xpcall(c[2], identity, unpack(c, 3))) end
end)
T.check(T.run(function() return #got == #cases end, 5), "the failing calls returned")
for i, c in ipairs(cases) do
  local want = T.pack(pcall(c[2], unpack(c, 3)))
  T.same(got[i], want, "in a coroutine: " .. c[1])
  T.same(T.pack(asok.xpcall(c[2], nil, unpack(c, 3))), want, "in the main thread: " .. c[1])
end

a, b = nil, nil -- T.done counts the live handles
T.done("test_xpcall")
