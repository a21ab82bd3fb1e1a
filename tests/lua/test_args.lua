-- test_args.lua: every asok function checks its arguments and raises a
-- Lua error naming the argument, LuaSocket style.
local T = dofile("asoktest.lua")
local asok = require "asok"

local accepted, client = T.pair()
local server = T.listener()

-- raises checks that f(...) raises an error whose message contains pat.
local function raises(pat, f, ...)
  local ok, err = pcall(f, ...)
  T.check(not ok, "expected an error matching", pat)
  if not ok then
    T.check(tostring(err):find(pat, 1, true), "message", tostring(err), "lacks", pat)
  end
end

raises("bad argument #1 to 'receive' (tcp{client} expected)", asok.receive, 42)
raises("bad argument #1 to 'receive'", asok.receive, nil)
-- a socket of another class: auxiliar_checkclass's words, as a wrapper's
-- w.receive(w) must say them
raises("bad argument #1 to 'receive' (tcp{client} expected)", asok.receive, server)
raises("bad argument #2 to 'receive' (string expected, got table)", asok.receive, client, {})
raises("bad argument #2 to 'receive' (invalid receive pattern)", asok.receive, client, "*x")
raises("bad argument #2 to 'receive' (invalid receive pattern)", asok.receive, client, -1)
raises("bad argument #3 to 'receive' (string expected, got table)", asok.receive, client, "*l", {})
raises("bad argument #1 to 'send' (tcp{client} expected)", asok.send, "x", "data")
raises("bad argument #2 to 'send' (string expected, got", asok.send, client)
raises("bad argument #3 to 'send' (number expected, got table)", asok.send, client, "x", {})
raises("bad argument #4 to 'send' (number expected, got string)", asok.send, client, "x", 1, "z")
raises("bad argument #1 to 'accept' (tcp{server} expected)", asok.accept, client)
raises("bad argument #1 to 'accept' (tcp{server} expected)", asok.accept, true)
raises("bad argument #1 to 'connect' (tcp{any} expected)", asok.connect, 1, "h", 1)
raises("bad argument #2 to 'connect' (string expected, got nil)", asok.connect, client, nil, 80)
raises("bad argument #3 to 'connect' (string expected, got table)", asok.connect, client, "h", {})
raises("bad argument #1 to 'close' (LuaSocket object expected, got table)", asok.close, {})
raises("bad argument #1 to 'wrap' (LuaSocket object expected, got nil)", asok.wrap)
raises("bad argument #2 to 'wrap' (number expected, got table)", asok.wrap, client, {})
raises("bad argument #1 to 'settimeout' (LuaSocket object expected, got number)", asok.settimeout, 3)
raises("bad argument #2 to 'settimeout' (number expected, got table)", asok.settimeout, client, {})
raises("bad argument #3 to 'settimeout' (invalid timeout mode)", asok.settimeout, client, 1, "z")
raises("bad argument #1 to 'sleep' (number expected, got string)", asok.sleep, "soon")
raises("bad argument #1 to 'sleep' (number expected, got no value)", asok.sleep)
raises("bad argument #1 to 'sleep' (number expected, got nil)", asok.sleep, nil)
raises("bad argument #1 to 'select'", asok.select, 42)
raises("bad argument #2 to 'select'", asok.select, nil, true)
raises("bad argument #3 to 'select' (number expected, got table)", asok.select, nil, nil, {})

-- wrapper methods check too; pcall'd, they are named '?', as luaL_argerror
-- names LuaSocket's C methods there (test_argnames.lua: every call form)
local w = asok.wrap(client)
raises("bad argument #2 to '?' (invalid receive pattern)", w.receive, w, "?")
raises("bad argument #2 to '?' (string expected, got nil)", w.send, w, nil)
raises("bad argument #1 to '?' (tcp{client} expected)", w.receive, "w")

-- called as methods, wrappers word errors as LuaSocket's methods do: self
-- does not count, a missing argument is "no value", a wrong class is a bad
-- self, and the position is the caller's line (compared with a raw object)
local socket = require "socket"
local ws = asok.wrap(socket.tcp())
local rs = socket.tcp()
local function same(what, fw, fr)
  local okw, ew = pcall(fw)
  local okr, er = pcall(fr)
  T.check(not okw and not okr, what, ": both raise")
  -- the two calls sit on different lines: compare past the position
  T.eq((tostring(ew):gsub("^[^:]*:%d+: ", "", 1)), (tostring(er):gsub("^[^:]*:%d+: ", "", 1)), what)
  T.check(tostring(ew):find("^[^:]*test_args%.lua:%d+: "), what, ": at the caller's line", tostring(ew))
end
same("connect()", function() local r = ws:connect() return r end, function() local r = rs:connect() return r end)
same("connect({})", function() local r = ws:connect({}) return r end, function() local r = rs:connect({}) return r end)
same("connect(h, {})", function() local r = ws:connect("h", {}) return r end, function() local r = rs:connect("h", {}) return r end)
same("getoption()", function() local r = ws:getoption() return r end, function() local r = rs:getoption() return r end)
same("setoption('x')", function() local r = ws:setoption("bogus", 1) return r end, function() local r = rs:setoption("bogus", 1) return r end)
same("shutdown('q')", function() local r = ws:shutdown("q") return r end, function() local r = rs:shutdown("q") return r end)
same("setfd('x')", function() local r = ws:setfd("x") return r end, function() local r = rs:setfd("x") return r end)
same("accept on a master", function() local r = ws:accept() return r end, function() local r = rs:accept() return r end)
same("receive('?')", function() local r = w:receive("?") return r end, function() local r = client:receive("?") return r end)
-- a method called with a dot on an object of another class: LuaSocket's
-- "bad argument #1 ... (class expected)", nothing more
same("w.accept(w)", function() local r = w.accept(w) return r end, function() local r = client.accept(client) return r end)
same("ws.receive(ws)", function() local r = ws.receive(ws) return r end, function() local r = rs.receive(rs) return r end)
-- a unix stream server's connect wants a master, as unixstream.c says
do
  local unix = require "socket.unix"
  local upath = os.tmpname()
  os.remove(upath)
  local us = assert(unix())
  assert(us:bind(upath)); assert(us:listen())
  local wus = asok.wrap(assert(unix()))
  os.remove(upath .. "w")
  assert(wus:bind(upath .. "w")); assert(wus:listen())
  same("connect on a unix server", function() local r = wus:connect("x") return r end, function() local r = us:connect("x") return r end)
  us:close(); wus:close(); os.remove(upath); os.remove(upath .. "w")
end
-- asok's throttles name the caller's line
same("throttle_receive({})", function() local r = asok.throttle_receive({}, 1) return r end,
  function() local r = asok.throttle_receive({}, 1) return r end)
ws:close(); rs:close()

-- valid calls still work after all those errors
T.same(T.pack(asok.settimeout(client, 1, "t")), T.pack(client:settimeout(1, "t")), "settimeout value")
T.eq(asok.send(accepted, "ok\n"), 3, "send after errors")
T.same(T.pack(w:receive()), T.pack("ok", nil, nil), "receive after errors")

-- close what the test made and drop it (T.done counts the live handles)
-- asok's own methods count as methods too (they said #2 for a method
-- call), and class errors carry no ", got" (auxiliar_checkclass adds none)
raises("bad argument #1 to 'setlimit' (non-negative number expected, got string)", function() return (w:setlimit("x")) end)
raises("bad argument #2 to 'setlimit' (non-negative number expected, got string)", asok.setlimit, w, "x")
raises("bad argument #1 to 'throttle_send' (non-negative number expected, got -1)", function() return (w:throttle_send(-1)) end)
raises("bad argument #1 to 'throttle_receive' (non-negative number expected, got string)", function() return (w:throttle_receive("x")) end)
do
  local u = socket.udp()
  local ok, err = pcall(asok.send, u, "x")
  T.check(not ok and err:find("bad argument #1 to 'send' (udp{connected} expected)", 1, true), err)
  ok, err = pcall(asok.sendto, u, "x", "127.0.0.1", 9)
  T.check(ok, "sendto on unconnected", err)
  u:setpeername("127.0.0.1", 9)
  ok, err = pcall(asok.sendto, u, "x", "127.0.0.1", 9)
  T.check(not ok and err:find("bad argument #1 to 'sendto' (udp{unconnected} expected)", 1, true), err)
  ok, err = pcall(asok.receivefrom, u)
  T.check(not ok and err:find("bad argument #1 to 'receivefrom' (udp{unconnected} expected)", 1, true), err)
  u:close()
end

-- a method called in tail position (`return w:receive("*x")`): PUC Lua
-- names LuaSocket's own C method from the calling instruction, a method
-- call (#1, "calling ... on bad self"); asok's methods, Lua functions
-- whose tail call leaves no trace, take it as a method call too. LuaJIT
-- names both from the tail-caller's call ("#2 to '?'" under pcall here;
-- test_argnames.lua compares them).
-- A direct pcall(obj.m, obj, ...) stays a function call (#2, named '?' as
-- LuaSocket's C method is), and so does asok.receive(sok, ...) on a raw
-- LuaSocket object in tail position.
do
  local socket = require "socket"
  local native, npeer = T.nativepair()
  local tw = asok.wrap(socket.udp())
  local tail = {
    { "wrapper receive", function() return w:receive("*x") end, "bad argument #1 to 'receive' (invalid receive pattern)" },
    { "native receive", function() return native:receive("*x") end, "bad argument #1 to 'receive' (invalid receive pattern)" },
    { "native send", function() return native:send({}) end, "bad argument #1 to 'send' (string expected, got table)" },
    { "wrapper settimeout", function() return w:settimeout({}) end, "bad argument #1 to 'settimeout' (number expected, got table)" },
    { "udp wrapper sendto on a fresh socket", function() tw:setpeername("127.0.0.1", 9); return tw:sendto("", "127.0.0.1", 9) end,
      "calling 'sendto' on bad self (udp{unconnected} expected)" },
    -- the function form on a raw LuaSocket object stays a function call
    { "asok.receive on a raw object", function() return asok.receive(client, "*x") end, "bad argument #2 to 'receive' (invalid receive pattern)" },
    { "asok.settimeout on a raw object", function() return asok.settimeout(client, {}) end, "bad argument #2 to 'settimeout' (number expected, got table)" },
  }
  for _, c in ipairs(tail) do
    local ok, err = pcall(c[2])
    T.check(not ok, c[1] .. ": raises")
    if jit then
      T.check(tostring(err):find("bad argument #", 1, true), c[1] .. ": LuaJIT: an argument error", tostring(err))
    else
      T.check(tostring(err):find(c[3], 1, true), c[1] .. ": tail call worded as a method call", tostring(err), "lacks", c[3])
    end
  end
  raises("bad argument #2 to '?' (invalid receive pattern)", w.receive, w, "*x")
  raises("bad argument #2 to '?' (invalid receive pattern)", native.receive, native, "*x")
  native:close(); npeer:close(); tw:close()
end

w:close()
accepted:close()
server:close()
w, client, accepted, server = nil, nil, nil, nil
T.done("test_args")
