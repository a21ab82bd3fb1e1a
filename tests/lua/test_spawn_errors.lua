-- test_spawn_errors.lua: asok.spawn starts a coroutine at once; errors of
-- coroutines resumed by asok go to asok.seterrorhandler's function (with a
-- traceback and the coroutine) and never stop asok.select.
local T = dofile("asoktest.lua")
local asok = require "asok"

-- raises checks that f(...) raises an error containing text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok and tostring(err):find(text, 1, true), "want error", text, "got", err)
end

-- spawn runs f(...) at once and returns the coroutine
local seen
local co = asok.spawn(function(x, y, z) seen = T.pack(x, y, z); asok.sleep(0.01); seen.done = true end, 1, nil, 3)
T.eq(type(co), "thread", "spawn returns the coroutine")
T.same(T.pack(seen[1], seen[2], seen[3]), T.pack(1, nil, 3), "arguments passed")
T.eq(coroutine.status(co), "suspended", "waiting in asok.sleep")
asok.select()
T.check(seen.done, "spawned coroutine finished")
T.eq(coroutine.status(co), "dead", "dead after finishing")

-- plain coroutine.create/resume keep working
local plain = false
coroutine.resume(coroutine.create(function() asok.sleep(0.005); plain = true end))
asok.select()
T.check(plain, "plain coroutine resumed by asok")

-- a handler receives errors raised after a wait, with traceback and coroutine
local got = {}
asok.seterrorhandler(function(msg, c, err) got[#got + 1] = { msg = msg, co = c, err = err } end)
local bad = asok.spawn(function() asok.sleep(0.01); error("late failure") end)
local survivor = false
asok.spawn(function() asok.sleep(0.03); survivor = true end)
asok.select(nil, nil, 0.1)
T.check(survivor, "select went on after an error")
T.eq(#got, 1, "handler called once")
T.eq(got[1] and got[1].co, bad, "handler gets the coroutine")
T.check(got[1] and got[1].msg:find("late failure", 1, true)
  and got[1].msg:find("stack traceback", 1, true), "message with traceback:", got[1] and got[1].msg)
T.check(got[1] and tostring(got[1].err):find("late failure", 1, true), "raw error passed third")

-- an error during spawn's first resume goes to the handler too
got = {}
local early = asok.spawn(function() error({ code = 7 }) end)
T.eq(#got, 1, "early error reported")
T.eq(got[1] and got[1].co, early, "early error coroutine")
T.eq(got[1] and type(got[1].err) == "table" and got[1].err.code, 7, "error object passed")

-- a failing handler does not stop select either (it goes to stderr)
asok.seterrorhandler(function() error("handler broken (expected on stderr)") end)
local after = false
asok.spawn(function() asok.sleep(0.005); error("x (expected on stderr)") end)
asok.spawn(function() asok.sleep(0.02); after = true end)
T.same(T.pack(asok.select(nil, nil, 0.05)), T.pack(nil, "timeout"), "select with a broken handler")
T.check(after, "others ran after the handler failed")

-- nil restores the default (stderr) handler
asok.seterrorhandler(nil)
local default_ok = false
asok.spawn(function() asok.sleep(0.005); error("default handler (expected on stderr)") end)
asok.spawn(function() asok.sleep(0.01); default_ok = true end)
asok.select()
T.check(default_ok, "default handler carries on")

-- many erroring coroutines
local count = 0
asok.seterrorhandler(function() count = count + 1 end)
for i = 1, 200 do asok.spawn(function() asok.sleep(i / 100000); error("e" .. i) end) end
asok.select()
T.eq(count, 200, "200 errors handled")
asok.seterrorhandler(nil)

-- an error object whose __tostring fails is still reported, at once and
-- after a wait, and so is such an error from the handler itself; the
-- reactor carries on
local evil = setmetatable({}, { __tostring = function() error("no string for you") end })
local got = {}
asok.seterrorhandler(function(msg, co, err) got[#got + 1] = { msg = msg, err = err } end)
local spawned = pcall(asok.spawn, function() error(evil) end)
T.check(spawned, "asok.spawn did not raise the error object")
asok.spawn(function() asok.sleep(0.005); error(evil) end)
local later = false
asok.spawn(function() asok.sleep(0.01); later = true end)
local selected = pcall(asok.select)
T.check(selected, "asok.select did not raise the error object")
T.check(later, "others ran after it")
T.eq(#got, 2, "both errors handled")
for i = 1, #got do
  T.check(got[i].msg:find("__tostring failed", 1, true), "message", i, got[i].msg)
  T.check(rawequal(got[i].err, evil), "the error object itself")
end
asok.seterrorhandler(function() error(evil) end)
asok.spawn(function() error("plain") end) -- the handler's failure goes to stderr
T.check(pcall(asok.select), "a handler raising such an object does not stop asok.select")
asok.seterrorhandler(nil)

-- a handler that yields, called while asok.select runs inside a coroutine:
-- it cannot suspend that select in the middle of its batch (the other
-- coroutines woken with the failing one were never resumed); a handler
-- that waits in asok goes on in the background
do
  local finished, handled = 0, 0
  asok.seterrorhandler(function() handled = handled + 1; coroutine.yield("x") end)
  asok.spawn(function() asok.sleep(0.02); error("expected (its handler yields: reported on stderr)") end)
  for _ = 1, 4 do asok.spawn(function() asok.sleep(0.02); finished = finished + 1 end) end
  local outer = asok.spawn(function() asok.select(nil, nil, 0.2) end)
  T.run(function() return finished == 4 and coroutine.status(outer) == "dead" end, 5)
  T.eq(finished, 4, "every coroutine woken with the failing one ran")
  T.eq(handled, 1, "the handler ran once")
  T.eq(coroutine.status(outer), "dead", "the select in a coroutine returned")
  T.same(T.pack(asok.select()), T.pack(nil, "timeout"), "asok.select() returned")

  local late
  asok.seterrorhandler(function(msg) asok.sleep(0.01); late = msg end)
  asok.spawn(function() asok.sleep(0.01); error("waited for") end)
  T.run(function() return late end, 5)
  T.check(late and late:find("waited for", 1, true), "a handler that waits got the message", late)
  asok.seterrorhandler(nil)
end

-- arguments
raises("bad argument #1 to 'spawn' (function expected, got nil)", asok.spawn, nil)
raises("bad argument #1 to 'spawn' (function expected, got no value)", asok.spawn)
raises("bad argument #1 to 'spawn' (function expected, got table)", asok.spawn, {})
raises("bad argument #1 to 'seterrorhandler' (function or nil expected, got string)", asok.seterrorhandler, "f")
raises("bad argument #1 to 'seterrorhandler' (function or nil expected, got no value)", asok.seterrorhandler)
T.done("test_spawn_errors")
