-- test_resolve.lua: asok.connect with a host name resolves it off the loop
-- thread (asok_resolve): the connecting coroutine yields while another
-- keeps exchanging data; unknown names and family mismatches give exactly
-- LuaSocket's results; IPv6 by address and by name with socket.tcp6().
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local server, port = T.listener()
server = asok.wrap(server)

-- a ping-pong pair that keeps exchanging lines until stop
local a, b = T.pair()
a, b = asok.wrap(a), asok.wrap(b)
local rounds, stop = 0, false
T.spawn(function()
  while true do
    local line = a:receive("*l")
    if not line then return end
    a:send(line .. "\n")
  end
end)
T.spawn(function()
  while not stop do
    local n = b:send("ping " .. rounds .. "\n")
    local line = b:receive("*l")
    if not (T.eq(n, 6 + #tostring(rounds), "ping sent") and T.eq(line, "ping " .. rounds, "pong")) then return end
    rounds = rounds + 1
  end
end)

-- the server side of the named connection
local accepted
T.spawn(function()
  local c, err = server:accept()
  T.check(c, "accept:", err)
  accepted = c
  local line = c and c:receive("*l")
  T.eq(line, "hello by name", "data over the connection made by name")
end)

-- connect to localhost by name in a coroutine: the first resume returns
-- with the coroutine suspended on the lookup (it did not block)
local before, result = asok._debug.resolves, nil
local co = coroutine.create(function()
  local raw = socket.tcp()
  result = T.pack(asok.connect(raw, "localhost", port))
  if result[1] then T.eq(asok.wrap(raw):send("hello by name\n"), 14, "send") end
  T.check(tostring(raw):match("^tcp{client}"), "class after connect:", tostring(raw))
  raw:close()
end)
local ok, err = coroutine.resume(co)
T.check(ok, "connector failed:", err)
T.eq(coroutine.status(co), "suspended", "connect yielded while resolving")
T.eq(asok._debug.resolves, before + 1, "localhost went through the asynchronous resolver")
T.eq(result, nil, "no result before the lookup came back")
local r0 = rounds
T.check(T.run(function() return result ~= nil and accepted ~= nil end), "named connect finished")
T.same(result or T.pack(), T.pack(1.0), "connect localhost")
T.check(T.run(function() return rounds >= r0 + 3 end), "pings kept flowing: " .. rounds)

-- in a coroutine, returns what asok.connect(mk(), host, p) returns, with
-- the class of the object afterwards
local function asokconnect(mk, host, p)
  local res
  T.spawn(function()
    local raw = socket[mk]()
    res = T.pack(asok.connect(raw, host, p))
    res.class = tostring(raw):match("^[^:]*")
    raw:close()
  end)
  T.check(T.run(function() return res ~= nil end), "asok.connect returned", mk, host)
  return res or T.pack()
end

-- plain LuaSocket (blocking) for comparison
local function plainconnect(mk, host, p)
  local raw = socket[mk]()
  local res = T.pack(raw:connect(host, p))
  res.class = tostring(raw):match("^[^:]*")
  raw:close()
  return res
end

-- same as LuaSocket: values and the class of the object afterwards
local function compare(mk, host, p, async)
  local n = asok._debug.resolves
  local got, want = asokconnect(mk, host, p), plainconnect(mk, host, p)
  T.same(got, want, mk .. " " .. host)
  T.eq(got.class, want.class, mk .. " " .. host .. " class")
  T.eq(asok._debug.resolves - n, async and 1 or 0, mk .. " " .. host .. " lookups")
  return got
end

-- unknown names: LuaSocket's EAI_NONAME string, for every family
for _, mk in ipairs({ "tcp", "tcp4", "tcp6" }) do
  local got = compare(mk, "no.such.host.invalid", 80, true)
  T.same(got, T.pack(nil, "host or service not provided, or not known"), mk .. " unknown name")
end
compare("tcp4", "localhost", port, true)
compare("tcp", "127.1", port, false) -- inet_aton form: numeric, no lookup
compare("tcp6", "127.0.0.1", port, false) -- LuaSocket's family error

-- IPv6: by address, and by name on socket.tcp6() (whatever the system's
-- resolver says about localhost/ip6-localhost, asok says the same)
local server6 = socket.tcp6()
if server6:bind("::1", 0) and server6:listen(32) then
  local _, port6 = server6:getsockname()
  server6 = asok.wrap(server6)
  T.spawn(function()
    while true do
      local c = server6:accept()
      if not c then return end
      c:close()
    end
  end)
  T.same(asokconnect("tcp6", "::1", port6), T.pack(1.0), "tcp6 ::1")
  T.same(asokconnect("tcp", "::1", port6), T.pack(1.0), "tcp ::1")
  compare("tcp6", "localhost", port6, true)
  compare("tcp6", "ip6-localhost", port6, true)
  server6:close()
else
  print("IPv6 loopback unavailable: IPv6 cases skipped")
end

-- from the main thread: blocks like LuaSocket while the reactor runs
local n = asok._debug.resolves
local raw = socket.tcp()
T.same(T.pack(asok.connect(raw, "localhost", port)), T.pack(1.0), "main-thread connect by name")
T.eq(asok._debug.resolves, n + 1, "main-thread lookup was asynchronous")
raw:close()

-- argument checks are unchanged
T.check(not pcall(asok.connect, socket.tcp(), nil, 80), "nil host raises")

stop = true
T.run(function() return false end, 0.05)
a:close()
b:close()
server:close()
if accepted then accepted:close() end

-- the object closed while its connect resolves the name: the connect ends
-- with 'closed' at the next step (it waited for the lookup, then made the
-- closed object a new socket and connected it), through LuaSocket's own
-- close of an object asok had not seen, asok.close and a wrapper's close
do
  local lsn, lport = T.listener()
  for _, how in ipairs { "raw", "asok.close", "wrapper" } do
    local c = socket.tcp()
    local obj = how == "wrapper" and asok.wrap(c) or c
    local before, got = asok._debug.resolves, nil
    T.spawn(function() got = T.pack(asok.connect(obj, "localhost", lport)) end)
    T.check(asok._debug.resolves == before + 1, how, ": the name is being resolved")
    if how == "asok.close" then asok.close(c) elseif how == "wrapper" then obj:close() else c:close() end
    asok.select(nil, nil, 0)
    T.same(got, T.pack(nil, "closed"), how .. ": the connect of an object closed during its lookup")
    T.eq(c:getfd(), -1, how .. ": the object stays closed")
  end
  lsn:settimeout(0.1)
  T.eq(lsn:accept(), nil, "no connection came from the closed objects")
  lsn:close()
end

-- drop everything (T.done counts the live handles)
server, server6, a, b, accepted, raw, co, result = nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_resolve")
