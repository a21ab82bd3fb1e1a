-- test_early_delivery.lua: a token handed back by the reactor between the
-- moment its operation waits in asok and the moment the glue's park notes
-- the coroutine (a finalizer or a debug hook that runs the reactor
-- there: asok.sleep(0) blocks and steps) was dropped: no one waited for
-- it yet, so the coroutine then waited for ever (seen on LuaJIT with
-- finalizers, test_finalizer_data). step.c now marks it delivered, and
-- park and select take the mark. A line hook fires the step exactly in
-- that window: in the glue's receive loop, once the receive said WAIT,
-- and in asok.select once the set's socket waits in asok.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- inwindow says whether the function at level 3 (the hooked one) is the
-- glue's receive or send loop with its first call's answer WAIT: locals
-- h, pattern/data ..., tok, then a (not a result yet)
local function inwindow()
  local info = debug.getinfo(3, "S")
  if not info or not info.source:find("asok/stream", 1, true) then return false end
  local names = {}
  for i = 1, 12 do
    local name, value = debug.getlocal(3, i)
    if not name then break end
    names[name] = value == nil and "nil" or value
  end
  return names.tok ~= nil and names.a ~= nil and names.a ~= "nil"
    and type(names.a) ~= "string" and type(names.a) ~= "number"
end

-- runhooked starts coroutine co with hook set on it (mask), then removes
-- the hook (LuaJIT's hooks are global: removed there too).
local function runhooked(co, hook, mask)
  debug.sethook(co, hook, mask)
  local ok, err = coroutine.resume(co)
  T.check(ok, "resume:", err)
  debug.sethook(co)
  if jit then debug.sethook() end
end

-- receive: a coroutine receives a line with a prefix (the glue's path on
-- every interpreter); its hook, in the window, has the peer send the line
-- and runs the reactor once (asok.sleep(0) in a hook cannot yield: it
-- blocks and steps). The receive must end with the line.
local function receive()
  local a, b = T.pair()
  local got, fired = nil, false
  local co = coroutine.create(function()
    got = T.pack(asok.receive(a, "*l", "p:"))
  end)
  local function hook()
    if fired or not inwindow() then return end
    fired = true
    b:send("line\n")
    asok.sleep(0)
  end
  runhooked(co, hook, "l")
  T.run(function() return got end, 2)
  T.check(fired, "receive: the hook found the window")
  T.same(got or T.pack("still waiting"), T.pack("p:line", nil, nil), "receive: delivered early")
  a:close(); b:close()
end

receive()

-- select: a coroutine's asok.select on a socket set; after the set's
-- socket was armed (its wait in asok) and before the group is noted, the
-- hook has the peer send and steps the reactor. The select must answer
-- that the socket is readable.
local function selects()
  local a, b = T.pair()
  local got, armed, fired = nil, false, false
  local co = coroutine.create(function()
    local r, w, err = asok.select({ a }, nil, 5)
    got = T.pack(r and r[1] == a, err)
  end)
  local function hook(ev)
    if fired then return end
    local info = debug.getinfo(2, "Sn")
    if ev == "return" then
      if info.name == "arm" and info.source:find("asok/select", 1, true) then armed = true end
    elseif ev == "line" and armed and info.source:find("asok/select", 1, true) then
      fired = true
      b:send("x")
      asok.sleep(0)
    end
  end
  runhooked(co, hook, "rl")
  T.run(function() return got end, 1) -- well before the select's timeout
  T.check(fired, "select: the hook found the window")
  T.same(got or T.pack("still waiting"), T.pack(true, nil), "select: readable, delivered early")
  a:close(); b:close()
end

selects()

-- a select on two sockets that both become readable in one batch: the
-- first token wakes it and it returns; the second comes when no one
-- waits and is marked. Such a mark is no wait: asok.select() with no sets
-- and no timeout returned only once the reap dropped it (1-2 s later)
do
  local a, pa = T.pair()
  local b, pb = T.pair()
  local done = false
  asok.spawn(function()
    asok.select({ a, b }, nil, 5)
    done = true
  end)
  pa:send("x\n"); pb:send("y\n")
  T.run(function() return done end, 5)
  T.check(done, "two-socket select returned")
  T.eq(asok._debug.waits(), 0, "no wait left behind by the select's batch")
  a:close(); pa:close(); b:close(); pb:close()
end

-- a count hook that runs the reactor (every 7th count: a blocking
-- asok.sleep, or asok.select pumping it for 1 ms) in a coroutine that
-- loops on asok.sleep: over hook counts 1..30 it fires everywhere in the
-- glue's park, also between its note of the coroutine and its yield (the
-- reactor then handed the coroutine its own token while it ran: step
-- cancelled it, and the coroutine yielded for ever: 44-54 of 60 counts)
-- and between its look for an early delivery and that note. Every
-- coroutine must finish, with no wait left behind.
for _, how in ipairs { "sleep", "select" } do
  local stuck = {}
  for count = 1, 30 do
    local n, done = 0, false
    local co = coroutine.create(function()
      for _ = 1, 10 do asok.sleep(0.0005) end
      done = true
    end)
    debug.sethook(co, function()
      n = n + 1
      if n % 7 == 0 then
        if how == "sleep" then asok.sleep(0.0002) else asok.select(nil, nil, 0.001) end
      end
    end, "", count)
    asok.spawn(function() T.check(coroutine.resume(co), "resume") end)
    T.run(function() return done end, 2)
    debug.sethook(co)
    if jit then debug.sethook() end
    if not done then stuck[#stuck + 1] = count end
  end
  T.eq(table.concat(stuck, " "), "", "a hook running the reactor (" .. how .. "): coroutines stuck at counts")
  T.run(function() return asok._debug.waits() == 0 end, 2)
  T.eq(asok._debug.waits(), 0, how .. ": no wait left behind")
end

T.done("test_early_delivery")
