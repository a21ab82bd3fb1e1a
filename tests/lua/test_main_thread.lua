-- test_main_thread.lua: asok calls made from the main thread block like
-- LuaSocket while the reactor keeps other coroutines running.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local ticks, stop = 0, false
T.spawn(function()
  while not stop do ticks = ticks + 1; asok.sleep(0.01) end
end)

-- receive: a peer coroutine sends the line only after 0.2 s
local peer, raw = T.pair()
T.spawn(function() asok.sleep(0.2); asok.send(peer, "hello\r\nworld\n") end)
local before = ticks
T.same(T.pack(asok.receive(raw, "*l")), T.pack("hello", nil, nil), "blocking receive")
T.check(ticks - before >= 5, "ticker ran while main was blocked:", ticks - before)
local w = asok.wrap(raw)
T.same(T.pack(w:receive()), T.pack("world", nil, nil), "buffered line, wrapper")

-- sleep from the main thread runs the others
before = ticks
asok.sleep(0.1)
T.check(ticks - before >= 3, "ticker ran during main sleep:", ticks - before)

-- accept and connect from the main thread
local server, port = T.listener()
local got
T.spawn(function()
  local c = socket.tcp()
  T.eq(asok.connect(c, "127.0.0.1", port), 1, "coroutine connect")
  got = T.pack(asok.receive(c, 5))
  c:close()
end)
local client = asok.accept(server)
T.eq(tostring(client):match("^tcp{client}") ~= nil, true, "accept returns a raw client")
T.eq(asok.send(client, "12345"), 5, "send from main")
T.check(T.run(function() return got ~= nil end, 5), "coroutine received")
T.same(got or T.pack(), T.pack("12345", nil, nil), "main -> coroutine")

local c2 = socket.tcp()
local acc
T.spawn(function() acc = asok.accept(server) end)
T.eq(asok.connect(c2, "127.0.0.1", port), 1, "main connect")
T.check(T.run(function() return acc ~= nil end, 5), "accepted in coroutine")

-- a main-thread receive with an asok timeout returns LuaSocket's timeout
asok.settimeout(c2, 0.1)
local t0 = socket.gettime()
T.same(T.pack(asok.receive(c2, "*l")), T.pack(nil, "timeout", ""), "main receive timeout")
T.check(socket.gettime() - t0 >= 0.05, "the timeout waited")

stop = true
asok.select(nil, nil, 0.05)

-- a call blocked where its coroutine cannot yield (a gsub callback) lets
-- the coroutines woken in the same batch run: B and C wake from sleeps
-- with one deadline (one asok_select batch, B first); B then waits inside
-- gsub for the line C sends. The rest of the batch used to wait for B's
-- call to return: B timed out, C ran a second late
do
  local pa, pb = T.pair()
  asok.settimeout(pa, 1)
  local got, cran = nil, nil
  local t0 = socket.gettime()
  T.spawn(function()
    asok.sleep(0.05)
    string.gsub("x", "x", function() got = T.pack(asok.receive(pa, "*l")) end)
  end)
  T.spawn(function()
    asok.sleep(0.05)
    cran = socket.gettime() - t0
    asok.send(pb, "hello\n")
  end)
  T.check(T.run(function() return got ~= nil end, 5), "the blocked receive returned")
  T.same(got, T.pack("hello", nil, nil), "it got the line the batch's next coroutine sent")
  T.check(cran and cran < 0.5, "the next coroutine of the batch ran during the blocked call", cran)
  pa:close(); pb:close()
end

-- asok.select() inside a coroutine runs the rest of the batch that woke
-- it: it used to wait for ever for C's wake-up, already handed out (the
-- ticker is stopped: asok.select() runs until no coroutine waits)
do
  local res, cdone = nil, false
  T.spawn(function()
    asok.sleep(0.05)
    res = T.pack(asok.select())
  end)
  T.spawn(function()
    asok.sleep(0.05)
    asok.sleep(0.05)
    cdone = true
  end)
  T.check(T.run(function() return res ~= nil end, 5), "asok.select() in a coroutine returned")
  T.same(res, T.pack(nil, "timeout"), "its result")
  T.check(cdone, "after the other coroutine of its batch ended")
end


-- an error raised by a debug hook right after asok_select handed out a
-- batch (lua.c's Ctrl-C, caught by the program's pcall) leaves the batch
-- queued: the next asok.select dispatches it (the ticker's wake-up was
-- lost for good, and with it the ticker). PUC Lua only: LuaJIT's hooks
-- are global and do not fire in compiled code
if not jit and debug and debug.sethook and debug.getlocal then
  local ticks2, fired = 0, false
  T.spawn(function() while ticks2 < 1000 do asok.sleep(0.02); ticks2 = ticks2 + 1 end end)
  asok.select(nil, nil, 0.1)
  debug.sethook(function()
    if fired then return end
    local info = debug.getinfo(2, "S")
    if not info or not info.short_src:match("core%.lua$") then return end
    if debug.getlocal(2, 1) ~= "timeout" then return end -- step's first local
    for i = 2, 10 do -- step's local n: asok_select returned a batch
      local name, val = debug.getlocal(2, i)
      if name == nil then break end
      if name == "n" and type(val) == "number" and val > 0 then
        fired = true
        debug.sethook()
        error("interrupted!")
      end
    end
  end, "l")
  local ok, err = pcall(asok.select, nil, nil, 0.3)
  debug.sethook()
  T.check(fired and not ok and tostring(err):find("interrupted!", 1, true), "the hook interrupted asok.select", err)
  local before = ticks2
  asok.select(nil, nil, 0.3)
  T.check(ticks2 - before >= 5, "the interrupted batch's coroutine ticks on", ticks2 - before)
  ticks2 = 1000
  asok.select(nil, nil, 0.05)
end

-- close what the test made and drop it (T.done counts the live handles)
for _, s in ipairs({ peer, w, server, client, c2, acc }) do s:close() end
peer, raw, w, server, client, c2, acc = nil, nil, nil, nil, nil, nil, nil
T.done("test_main_thread")
