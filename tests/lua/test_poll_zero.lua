-- test_poll_zero.lua: a zero timeout makes receive and send a poll that
-- asks the kernel every time, as LuaSocket's do, even when nothing runs
-- asok.select between two calls (a loop polling at timeout 0 never yields).
-- LuaSocket's own test/testclnt.lua (test_nonblocking) polls like this and
-- hung through asok: a receive that had emptied the socket answered
-- 'timeout' without reading until an epoll edge was processed, and a send
-- that had filled the buffer did the same.
-- Each sequence runs on plain LuaSocket (the reference), then through asok
-- (asok functions on the raw object, a wrapper, a native client), in a
-- coroutine and from the main thread; the peer is a plain LuaSocket object
-- the sequence itself drives, so nothing yields.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- the objects a sequence drives: s (settimeout, receive, send) and the peer
local function plain()
  local peer, raw = T.pair()
  local s = {
    settimeout = function(...) return raw:settimeout(...) end,
    receive = function(...) return raw:receive(...) end,
    send = function(...) return raw:send(...) end,
  }
  return s, peer, function() raw:close(); peer:close() end
end

local function fnstyle()
  local peer, raw = T.pair()
  local s = {
    settimeout = function(...) return asok.settimeout(raw, ...) end,
    receive = function(...) return asok.receive(raw, ...) end,
    send = function(...) return asok.send(raw, ...) end,
  }
  return s, peer, function() asok.close(raw); peer:close() end
end

local function methods(obj)
  return {
    settimeout = function(...) return obj:settimeout(...) end,
    receive = function(...) return obj:receive(...) end,
    send = function(...) return obj:send(...) end,
  }
end

local function wrapstyle()
  local peer, raw = T.pair()
  local w = asok.wrap(raw)
  return methods(w), peer, function() w:close(); peer:close() end
end

local function nativestyle()
  local l = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, port = l:getsockname()
  local peer = assert(socket.connect("127.0.0.1", port))
  local n = assert(l:accept())
  l:close()
  return methods(n), peer, function() n:close(); peer:close() end
end

-- receives: each receive follows one that emptied the socket
local function receives(s, peer, mode)
  local r = {}
  r[#r + 1] = T.pack(s.settimeout(0, mode))
  r[#r + 1] = T.pack(s.receive())
  peer:send("ab\n")
  r[#r + 1] = T.pack(s.receive())
  peer:send("c")
  r[#r + 1] = T.pack(s.receive())
  peer:send("d\n")
  r[#r + 1] = T.pack(s.receive("*l", "c"))
  peer:send("xyz")
  r[#r + 1] = T.pack(s.receive(3))
  r[#r + 1] = T.pack(s.receive(1))
  peer:send("12")
  r[#r + 1] = T.pack(s.receive(2))
  return r
end

-- sends: fills the buffer, lets the peer read what it took, sends again.
-- Returns the results and whether the second send made progress.
local BIG = string.rep("0123456789abcdef", 1024 * 1024) -- 16 MiB
local function sends(s, peer, mode)
  s.settimeout(0, mode)
  local a, err, k = s.send(BIG)
  local first = T.pack(a, err, type(k))
  if a then return { first }, false end -- the kernel took 16 MiB: cannot test
  peer:settimeout(5)
  local got = peer:receive(k)
  T.eq(got and #got, k, "the peer reads what the first send sent")
  local a2, err2, k2 = s.send(BIG, k + 1)
  return { first, T.pack(a2, err2, type(k2)) }, k2 and k2 > k
end

-- runs f(make()) in context ctx ("main" or "coroutine") and returns its results
local function run(ctx, make, f, ...)
  local s, peer, close = make()
  local out, done = nil, false
  local args = { n = select("#", ...), ... }
  if ctx == "main" then
    out = { f(s, peer, (table.unpack or unpack)(args, 1, args.n)) }
    done = true
  else
    asok.spawn(function()
      out = { f(s, peer, (table.unpack or unpack)(args, 1, args.n)) }
      done = true
    end)
    -- the sequence never yields: it is over when spawn returns
    T.check(done, ctx, "sequence finished without yielding")
    T.run(function() return done end, 10)
  end
  close()
  return out
end

local styles = { fn = fnstyle, wrap = wrapstyle, native = nativestyle }
for _, mode in ipairs { "b", "t" } do
  local want = run("main", plain, receives, mode)[1]
  local wantsent = run("main", plain, sends, mode)
  for name, make in pairs(styles) do
    for _, ctx in ipairs { "coroutine", "main" } do
      local what = ("%s %s, settimeout(0, %q)"):format(name, ctx, mode)
      local got = run(ctx, make, receives, mode)[1] or {}
      for i = 1, #want do
        T.same(got[i] or T.pack(), want[i], what .. ": receive step " .. i)
      end
      local sent = run(ctx, make, sends, mode)
      for i = 1, #wantsent[1] do
        T.same(sent[1] and sent[1][i] or T.pack(), wantsent[1][i], what .. ": send step " .. i)
      end
      T.eq(sent[2], wantsent[2], what .. ": the second send made progress")
    end
  end
end

T.done("test_poll_zero")
