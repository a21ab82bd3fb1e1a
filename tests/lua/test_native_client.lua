-- test_native_client.lua: server:accept() on an asok wrapper of a TCP
-- server returns a native client (no LuaSocket object). Every method is
-- called side by side on it and on a LuaSocket tcp{client} accepted from a
-- plain LuaSocket server, through the same call site (so that error
-- messages, positions included, must match), and the results compared:
-- values, their count, types and number subtypes.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local unpack = table.unpack or unpack

-- pairs: a LuaSocket server and an asok-wrapped one; accepted() returns
-- (LuaSocket client, its peer), (native client, its peer)
local function accepted()
  local ls, lport = T.listener()
  local ws = asok.wrap((T.listener()))
  local _, wport = ws:getsockname()
  local lpeer = assert(socket.connect("127.0.0.1", lport))
  local l = assert(ls:accept())
  l:settimeout(2)
  local npeer = assert(socket.connect("127.0.0.1", wport))
  local n, err = ws:accept()
  T.check(n, "native accept:", err)
  n:settimeout(2)
  ls:close(); ws:close()
  return l, lpeer, n, npeer
end

-- caller returns a function calling method name with method syntax from
-- one call site (so both objects see the same position in messages).
local callers = {}
local function caller(name)
  local f = callers[name]
  if not f then
    f = (loadstring or load)(([[local pack = ...
      return function(o, ...) local r = pack(pcall(function(...) local r = pack(o:%s(...)); return r end, ...)); return r end]])
      :format(name), "=callsite")(T.pack)
    callers[name] = f
  end
  return f
end

-- norm makes a call's results comparable: a pcall failure keeps its
-- message, a success its values; ports and ages are reduced to types.
local function norm(name, r)
  if not r[1] then return T.pack(false, r[2]) end
  local v = r[2]
  for i = 1, v.n do
    if type(v[i]) == "table" then -- linger: {on = , timeout = }
      local keys = {}
      for k, x in pairs(v[i]) do keys[#keys + 1] = tostring(k) .. "=" .. T.show(x) end
      table.sort(keys)
      v[i] = "{" .. table.concat(keys, ",") .. "}"
    end
  end
  if name == "getpeername" or name == "getsockname" then
    if v.n == 3 then v[2] = math.type and math.type(v[2]) or type(v[2]) end
  elseif name == "getstats" then
    v[3] = math.type and math.type(v[3]) or type(v[3])
  elseif name == "getfd" then
    v[1] = (math.type and math.type(v[1]) or type(v[1])) .. (v[1] >= 0 and "+" or "-")
  end
  return T.pack(true, unpack(v, 1, v.n))
end

-- both runs name(args...) on the LuaSocket client and the native one.
local function both(l, n, name, ...)
  local f = caller(name)
  local a = norm(name, f(l, ...))
  local b = norm(name, f(n, ...))
  T.same(b, a, "native " .. name .. "(" .. table.concat({ ... and tostring(...) or "" }, ",") .. ")")
  return b
end

local l, lpeer, n, npeer = accepted()

-- the object
T.eq(n.class, "tcp{client}", "class")
T.check(tostring(n):match("^asok{tcp{client}: 0x%x+}$"), "tostring", tostring(n))
for k, v in pairs(getmetatable(l).__index) do
  if type(v) == "function" then T.eq(type(n[k]), "function", "method " .. k) end
end
T.eq(asok.wrap(n), n, "asok.wrap of a native client is itself")

-- fdflags returns the open-file flags of fd (its close-on-exec bit,
-- 02000000, included), read from /proc
local function fdflags(fd)
  local f = io.open(("/proc/self/fdinfo/%d"):format(fd))
  if not f then return nil end
  local flags = f:read("*a"):match("flags:%s*(%d+)")
  f:close()
  return flags and tonumber(flags, 8)
end
-- inheritable as LuaSocket's accepted socket is (an inetd-style program
-- hands getfd() to a child it runs)
local lflags, nflags = fdflags(l:getfd()), fdflags(n:getfd())
T.check(lflags and nflags, "fd flags readable", lflags, nflags)
if lflags and nflags then
  local cloexec = 512 * 1024 -- O_CLOEXEC, 02000000
  T.eq(math.floor(nflags / cloexec) % 2, math.floor(lflags / cloexec) % 2, "close-on-exec as LuaSocket's")
end

-- peer and socket names, options
both(l, n, "getpeername"); both(l, n, "getsockname"); both(l, n, "getfamily")
for _, opt in ipairs { "keepalive", "reuseaddr", "reuseport", "tcp-nodelay", "tcp-keepidle",
  "tcp-keepcnt", "tcp-keepintvl", "linger", "error", "recv-buffer-size", "send-buffer-size", "bogus" } do
  both(l, n, "getoption", opt)
end
both(l, n, "getoption")
both(l, n, "setoption", "tcp-nodelay", true); both(l, n, "getoption", "tcp-nodelay")
both(l, n, "setoption", "keepalive", true); both(l, n, "getoption", "keepalive")
both(l, n, "setoption", "linger", { on = true, timeout = 3 }); both(l, n, "getoption", "linger")
both(l, n, "setoption", "linger", 5)
both(l, n, "setoption", "send-buffer-size", 65536)
both(l, n, "setoption", "bogus", 1)
both(l, n, "setoption")

-- the methods a client has but may not call
for _, m in ipairs { "accept", "bind", "connect", "listen", "setpeername", "setsockname" } do
  both(l, n, m, "127.0.0.1", 0)
end

-- I/O and its argument errors
lpeer:send("one\r\ntwo\nthree and more\n"); npeer:send("one\r\ntwo\nthree and more\n")
both(l, n, "receive"); both(l, n, "receive", "*l"); both(l, n, "receive", 5, "pre:")
both(l, n, "receive", 0); both(l, n, "receive", "3")
both(l, n, "receive", "*x"); both(l, n, "receive", -1); both(l, n, "receive", {})
both(l, n, "receive", "*l", {}); both(l, n, "receive", 2, 7)
both(l, n, "dirty"); both(l, n, "receive", "*line")
both(l, n, "send", "hello", 2, 4); both(l, n, "send", 42); both(l, n, "send", "x", -1)
both(l, n, "send"); both(l, n, "send", nil); both(l, n, "send", {}); both(l, n, "send", "x", "a")
T.eq(npeer:receive(5), lpeer:receive(5), "the peers got the same bytes")
both(l, n, "getstats")
both(l, n, "setstats", 10, 20, 30); both(l, n, "getstats"); both(l, n, "setstats", "x")
both(l, n, "setstats", -1, -2); both(l, n, "getstats") -- size_t counters wrap around
-- counters past 2^63 count on (unsigned, as LuaSocket's: asok's signed
-- ones overflowed, undefined behaviour), and out-of-range counts set as
-- LuaSocket's cast sets them
both(l, n, "setstats", 2 ^ 63 - 1024, 2 ^ 63 - 1024)
lpeer:send("over\n"); npeer:send("over\n")
both(l, n, "receive"); both(l, n, "send", string.rep("x", 4096)); both(l, n, "getstats")
T.eq(npeer:receive(4096), lpeer:receive(4096), "the peers got the same bytes")
both(l, n, "setstats", 2 ^ 64 + 4096, -2 ^ 64); both(l, n, "getstats")
both(l, n, "setstats", 1e30, -1e30); both(l, n, "getstats")
both(l, n, "setstats", 2 ^ 64 - 2048, -2 ^ 63); both(l, n, "getstats")
both(l, n, "setstats", 0 / 0, 0 / 0); both(l, n, "getstats")
both(l, n, "setstats", 10, 20, 30)
both(l, n, "getfd"); both(l, n, "gettimeout")
both(l, n, "settimeout", "x"); both(l, n, "settimeout", 1, "x"); both(l, n, "settimeout", 1, {})
both(l, n, "settimeout", 2, "t"); both(l, n, "gettimeout"); both(l, n, "settimeout", "1.5", "r")
both(l, n, "gettimeout"); both(l, n, "settimeout", nil, "t"); both(l, n, "settimeout", 2)
both(l, n, "shutdown", "x"); both(l, n, "shutdown", "send"); both(l, n, "shutdown")

-- a wrapper of a LuaSocket client reports the same argument errors
do
  local rl, rpeer = T.pair()
  local wl, wpeer = T.pair()
  rl:settimeout(2)
  local w = asok.wrap(wl, 2)
  rpeer:send("abc\n"); wpeer:send("abc\n")
  both(rl, w, "receive", "*x"); both(rl, w, "receive", -1); both(rl, w, "receive", {})
  both(rl, w, "receive", "*l", {}); both(rl, w, "receive", 2, 7)
  both(rl, w, "send"); both(rl, w, "send", nil); both(rl, w, "send", {}); both(rl, w, "send", "x", "a")
  both(rl, w, "receive")
  both(rl, w, "settimeout", "x"); both(rl, w, "settimeout", 1, "x"); both(rl, w, "settimeout", 1, {})
  w:close(); wpeer:close(); rl:close(); rpeer:close()
end

-- closed
both(l, n, "close"); both(l, n, "close")
for _, m in ipairs { "getfd", "receive", "send", "getpeername", "getsockname", "dirty" } do
  both(l, n, m, m == "send" and "x" or nil)
end
both(l, n, "getoption", "tcp-nodelay"); both(l, n, "shutdown")
lpeer:close(); npeer:close()

-- a coroutine parked in receive on a native client wakes with 'closed'
-- when another closes it; EOF and a reset are LuaSocket's results
l, lpeer, n, npeer = accepted()
local got
T.spawn(function() got = T.pack(n:receive("*l")) end)
T.check(got == nil, "receive parked")
n:close()
T.run(function() return got ~= nil end, 5)
T.same(got or T.pack(), T.pack(nil, "closed", ""), "woken by close (as on a wrapper)")
npeer:close(); l:close(); lpeer:close()

l, lpeer, n, npeer = accepted()
got = nil
T.spawn(function() got = T.pack(n:receive("*a")) end)
npeer:send("tail"); npeer:close()
lpeer:send("tail"); lpeer:close()
T.run(function() return got ~= nil end, 5)
T.same(got, T.pack(l:receive("*a")), "'*a' to EOF")
got = nil
T.spawn(function() got = T.pack(n:receive("*l")) end)
T.run(function() return got ~= nil end, 5)
T.same(got, T.pack(l:receive("*l")), "after EOF")
n:close(); l:close()

-- asok functions and asok.select take native clients
l, lpeer, n, npeer = accepted()
T.eq(asok.settimeout(n, 0.05), 1, "asok.settimeout")
T.same(T.pack(asok.receive(n)), T.pack(nil, "timeout", ""), "asok.receive times out")
npeer:send("ready\n")
local r = asok.select({ n }, nil, 2)
T.eq(r and r[1], n, "asok.select reports the native client readable")
T.same(T.pack(asok.receive(n)), T.pack("ready", nil, nil), "asok.receive")
local rs = socket.select({ n }, nil, 0)
T.eq(#rs, 0, "socket.select sees the fd (nothing left to read)")
T.eq(n:throttle_receive(1e6), 1, "throttle_receive on a native client")
T.eq(asok.throttle_send(n, 0), 1, "asok.throttle_send on a native client")
T.eq(n:setlimit(1024), 1, "setlimit on a native client")
T.eq(asok.close(n), 1, "asok.close")
npeer:close(); l:close(); lpeer:close()
l, lpeer, n, npeer = nil, nil, nil, nil

-- setfd(-1) lets the fd go (what LuaSec's ssl.wrap does): closing or
-- collecting the client afterwards leaves the fd open
do
  local a, ap, b, bp = accepted()
  local fd = b:getfd()
  b:setfd(-1)
  T.eq(b:getfd(), -1, "setfd(-1)")
  T.same(T.pack(b:receive()), T.pack(nil, "closed", ""), "receive after setfd(-1)")
  b:close()
  b = nil
  for _ = 1, 3 do collectgarbage("collect") end
  local probe = socket.tcp()
  probe:close()
  probe:setfd(fd) -- a tcp{master} now answering for the fd
  T.eq((probe:getpeername()), "127.0.0.1", "the fd was not closed")
  probe:close()
  a:close(); ap:close(); bp:close()
end

-- setfd to an fd asok cannot register (a bad one): receive and send fail
-- as LuaSocket's do on that fd ("Bad file descriptor", with LuaSocket's
-- partial results; they said 'closed'), asok.select raises naming it (it
-- found it ready), and a setfd to a good fd afterwards works as before
do
  local l, lp, n, np = accepted()
  local lfd, nfd = l:getfd(), n:getfd()
  l:setfd(9999); n:setfd(9999)
  both(l, n, "receive")
  both(l, n, "receive", 5, "ab")
  both(l, n, "receive", 0, "ab")
  both(l, n, "receive", "*a")
  both(l, n, "send", "hello")
  both(l, n, "send", "hello", 3, 4)
  both(l, n, "send", "hello", 4, 3)
  both(l, n, "dirty")
  both(l, n, "getfd")
  local got
  T.spawn(function()
    local ok, err = pcall(asok.select, { n }, nil, 0)
    got = T.pack(ok, err)
  end)
  T.run(function() return got end, 5)
  T.check(got and got[1] == false and tostring(got[2]):find("cannot watch asok{tcp{client}", 1, true)
    and tostring(got[2]):find("Bad file descriptor", 1, true), "asok.select on the bad fd raises:",
    got and T.showpack(got))
  n:setfd(nfd); l:setfd(lfd)
  np:send("again\n")
  got = nil
  T.spawn(function() got = T.pack(n:receive()) end)
  T.run(function() return got end, 5)
  T.same(got or T.pack(), T.pack("again", nil, nil), "receive after setfd back to the good fd")
  l:close(); lp:close(); n:close(); np:close()
end

-- setfd to a bad fd with data buffered: the data, then LuaSocket's error
-- ('*a' too: it said success); a coroutine waiting when setfd came ends
-- as at a close ('closed', with its count), and the calls after it get
-- the bad fd's error; a file's fd: "Socket operation on non-socket", and
-- asok.select finds it ready as socket.select does
do
  local l, lp, n, np = accepted()
  lp:send("ab\nc\ndef"); np:send("ab\nc\ndef")
  both(l, n, "receive", 2)
  local lfd, nfd = l:getfd(), n:getfd()
  l:setfd(9999); n:setfd(9999)
  both(l, n, "receive", "*a")
  both(l, n, "receive")
  l:setfd(lfd); n:setfd(nfd)
  l:close(); lp:close(); n:close(); np:close()

  l, lp, n, np = accepted()
  local got, got2
  T.spawn(function() got = T.pack(n:receive()) end)
  T.spawn(function() got2 = T.pack(n:send(("x"):rep(8 * 1048576))) end)
  asok.select(nil, nil, 0)
  nfd = n:getfd()
  n:setfd(9999)
  T.run(function() return got and got2 end, 5)
  T.same(got or T.pack(), T.pack(nil, "closed", ""), "a receive waiting at setfd(bad fd) ends 'closed'")
  T.check(got2 and got2[1] == nil and got2[2] == "closed" and got2[3] > 0,
    "a send waiting at setfd(bad fd) ends 'closed' with its count:", got2 and T.showpack(got2))
  lfd = l:getfd()
  l:setfd(9999)
  both(l, n, "send", "x")
  both(l, n, "receive")
  l:setfd(lfd); n:setfd(nfd)
  l:close(); lp:close(); n:close(); np:close()

  l, lp, n, np = accepted()
  lfd, nfd = l:getfd(), n:getfd()
  local path = os.tmpname()
  local probe = socket.tcp4()
  local ffd = probe:getfd() -- the lowest free fd, which the file then takes
  probe:close()
  local f = assert(io.open(path, "w"))
  probe = socket.tcp4()
  T.check(probe:getfd() ~= ffd, "the file took the lowest free fd:", ffd)
  probe:close()
  l:setfd(ffd); n:setfd(ffd)
  both(l, n, "receive")
  both(l, n, "send", "x")
  got = nil
  T.spawn(function() got = T.pack(pcall(asok.select, { n }, nil, 1)) end)
  T.run(function() return got end, 5)
  T.check(got and got[1] == true and got[2][1] == n, "asok.select finds a file's fd ready:",
    got and T.showpack(got))
  l:setfd(lfd); n:setfd(nfd)
  f:close(); os.remove(path)
  l:close(); lp:close(); n:close(); np:close()
end

-- setfd to another connection keeps the client's timeouts and throttles
-- (README: they stay for the next fd), as a wrapper's: at 1 B/s, a
-- 100-byte send on the new fd has not finished after two steps, and ends
-- with the timeout and the index of what went (it lost the throttle and
-- sent all at once)
do
  local n, np = T.nativepair()
  local other, op = T.pair()
  n:settimeout(30)
  T.eq(asok.throttle_send(n, 1), 1, "throttle_send before setfd")
  local oldfd = n:getfd()
  n:setfd(other:getfd()); other:setfd(-1)
  T.eq(n:gettimeout(), 30, "timeout kept across setfd")
  local sent
  asok.spawn(function() sent = T.pack(n:send(("x"):rep(100))) end)
  asok.select(nil, nil, 0); asok.select(nil, nil, 0)
  T.eq(sent, nil, "throttled send on the new fd still going")
  n:settimeout(0.05)
  T.run(function() return sent end, 5)
  T.check(sent and sent[1] == nil and sent[2] == "timeout" and sent[3] < 100,
    "throttled send on the new fd: timeout, part sent:", sent and T.showpack(sent))
  n:close()
  local old = socket.tcp(); old:setfd(oldfd); old:close()
  np:close(); op:close()
end

-- a select waiting on a client that setfd gives another fd (-1, another
-- connection, its own fd again: a new handle each time) or that is closed
-- returns at once and lists it ready, as a closed socket: so it does for
-- a LuaSocket object and a wrapper, whose handle setfd lets go; a native
-- client's went on waiting on its new handle, and on data there (or its
-- own timeout). In a coroutine (counted in zero-time steps of the
-- reactor) and in the main thread (its select blocked while a coroutine
-- makes the change: counted in that coroutine's turns); the select's
-- other socket never ready. After it, a select on the new fd waits for
-- that fd's data
do
  local kinds = {
    native = function() return T.nativepair() end,
    luasocket = function() return T.pair() end,
    wrapper = function() local a, pa = T.pair(); return asok.wrap(a), pa end,
  }
  local hows = { "setfd(-1)", "setfd(other)", "setfd(same)", "close" }
  -- change applies how to obj; returns the LuaSocket object whose fd obj
  -- now has (setfd(other)) and the peer of that fd, and obj's old fd
  -- when it is no longer obj's (closed at the end)
  local function change(obj, how)
    local fd = obj:getfd()
    if how == "setfd(-1)" then obj:setfd(-1); return nil, nil, fd end
    if how == "setfd(same)" then obj:setfd(fd); return nil, nil, nil end
    if how == "close" then obj:close(); return nil, nil, nil end
    local x, px = T.pair()
    local xfd = x:getfd()
    x:setfd(-1)
    obj:setfd(xfd)
    return x, px, fd
  end
  local function closefd(fd)
    if fd then local s = socket.tcp(); s:setfd(fd); s:close() end
  end
  for _, kind in ipairs { "native", "luasocket", "wrapper" } do
    for _, how in ipairs(hows) do
      for _, where in ipairs { "coroutine", "main thread" } do
        local what = kind .. ", " .. how .. ", " .. where
        local obj, peer = kinds[kind]()
        local quiet, qpeer = T.pair()
        local got, px, oldfd
        local count = 0
        if where == "coroutine" then
          asok.spawn(function() got = T.pack(asok.select({ quiet, obj }, nil, 30)) end)
          asok.select(nil, nil, 0); asok.select(nil, nil, 0)
          T.eq(got, nil, what .. ": the select waits")
          _, px, oldfd = change(obj, how)
          while not got and count < 10 do asok.select(nil, nil, 0); count = count + 1 end
        else
          local stop = false
          local ticker = asok.spawn(function()
            asok.sleep(0)
            _, px, oldfd = change(obj, how)
            while not stop do asok.sleep(0); count = count + 1 end
          end)
          got = T.pack(asok.select({ quiet, obj }, nil, 2))
          stop = true
          T.run(function() return coroutine.status(ticker) == "dead" end, 5)
        end
        T.check(got and count < 10, what, ": the select returned after", count, "turns")
        T.check(got and got.n == 2 and #got[1] == 1 and got[1][1] == obj and #got[2] == 0,
          what, ": want {obj}, {}, got", got and T.showpack(got))
        if how == "setfd(other)" then -- then a select waits on the new fd's data
          local r = T.pack(asok.select({ obj }, nil, 0))
          T.check(r[3] == "timeout", what, ": nothing on the new fd yet:", T.showpack(r))
          px:send("new\n")
          r = asok.select({ obj }, nil, 5)
          T.eq(r[1], obj, what .. ": the new fd's data")
          T.eq(obj:receive("*l"), "new", what .. ": receive on the new fd")
          px:close()
        end
        if not got then obj:close(); T.run(function() return got end, 5) end -- (before: it went on)
        obj:close(); peer:close(); quiet:close(); qpeer:close()
        closefd(oldfd)
      end
    end
  end
end

-- the same, with the client given twice in the read set (each entry
-- notes the client's handle number: waitset.c) and in the write set of a
-- client whose send buffer is full, and with the select in a coroutine
-- that asok.coroutine.wrap runs from the main thread: setfd(-1) from
-- another coroutine makes it return at once with the client ready
do
  local function closefd(fd) local s = socket.tcp(); s:setfd(fd); s:close() end
  -- twice in the read set, a coroutine's select
  local c, p = T.nativepair()
  local q, qp = T.pair()
  local got
  asok.spawn(function() got = T.pack(asok.select({ c, q, c }, nil, 30)) end)
  asok.select(nil, nil, 0)
  local fd = c:getfd()
  c:setfd(-1)
  local count = 0
  while not got and count < 10 do asok.select(nil, nil, 0); count = count + 1 end
  T.check(got and #got[1] == 1 and got[1][1] == c, "a client twice in the set, setfd(-1): want {c}, got",
    got and T.showpack(got), "after", count, "turns")
  closefd(fd); c:close(); p:close(); q:close(); qp:close()
  -- the write set of a client that cannot send
  c, p = T.nativepair()
  c:setoption("send-buffer-size", 4096)
  p:setoption("recv-buffer-size", 4096)
  c:settimeout(0)
  local chunk = ("x"):rep(65536)
  for _ = 1, 64 do if not c:send(chunk) then break end end
  T.eq(asok.select(nil, { c }, 0)[1], nil, "a full client: not writable")
  got = nil
  asok.spawn(function() got = T.pack(asok.select(nil, { c }, 30)) end)
  asok.select(nil, nil, 0)
  fd = c:getfd()
  c:setfd(-1)
  count = 0
  while not got and count < 10 do asok.select(nil, nil, 0); count = count + 1 end
  T.check(got and #got[2] == 1 and got[2][1] == c, "the write set, setfd(-1): want {}, {c}, got",
    got and T.showpack(got), "after", count, "turns")
  closefd(fd); c:close(); p:close()
  -- a driven select (its driver, the main thread, blocks)
  c, p = T.nativepair()
  fd = c:getfd()
  local ticks = 0
  asok.spawn(function()
    asok.sleep(0)
    c:setfd(-1)
    while ticks < 100 do asok.sleep(0); ticks = ticks + 1 end
  end)
  local r = T.pack(asok.coroutine.wrap(function() return asok.select({ c }, nil, 5) end)())
  T.check(r[1] and #r[1] == 1 and r[1][1] == c and ticks < 10, "a driven select, setfd(-1): want {c}, got",
    T.showpack(r), "after", ticks, "turns")
  T.run(function() return ticks >= 100 end, 5)
  closefd(fd); c:close(); p:close()
end

-- a closed native client connected again (LuaSocket makes it a new
-- socket) waits as its timeout says and yields meanwhile: to a listener
-- whose backlog is full, 'timeout' after its 0.3 s while another coroutine
-- ticks (it blocked the process with no timeout); to a live one, 1, and
-- the data flows
do
  local full = socket.tcp4()
  assert(full:bind("127.0.0.1", 0))
  assert(full:listen(0))
  local fport = select(2, full:getsockname())
  local fill = {}
  for i = 1, 8 do fill[i] = socket.tcp4(); fill[i]:settimeout(0); fill[i]:connect("127.0.0.1", fport) end
  local live, lport = T.listener()
  local n, peer = T.nativepair()
  local ticks, r1, r2, t1 = 0, nil, nil, nil
  T.spawn(function() while not r2 do asok.sleep(0.02); ticks = ticks + 1 end end)
  T.spawn(function()
    n:settimeout(0.3)
    n:close()
    local t0 = socket.gettime()
    r1 = T.pack(n:connect("127.0.0.1", fport))
    t1 = socket.gettime() - t0
    n:close()
    r2 = T.pack(n:setpeername("127.0.0.1", lport))
  end)
  T.check(T.run(function() return r2 end, 10), "the reconnects returned")
  T.same(r1, T.pack(nil, "timeout"), "full backlog: LuaSocket's timeout")
  T.check(t1 >= 0.25 and ticks >= 5, "after the client's timeout, other coroutines running meanwhile", t1, ticks)
  T.same(r2, T.pack(1.0), "a live listener: connected")
  local c = assert(live:accept())
  local got
  T.spawn(function() n:send("over\n"); got = T.pack(n:receive()) end)
  T.eq(c:receive(), "over", "the reconnected client's data")
  c:send("back\n")
  T.run(function() return got end, 5)
  T.same(got, T.pack("back", nil, nil), "and the reply")
  -- a bad port makes no socket (LuaSocket's getaddrinfo fails first), so
  -- the next connect is a closed client's again: it waits and yields; a
  -- close meanwhile ends it with 'closed', the client stays closed; and
  -- the reconnect yields where asok does (spawn returns at once; 5.1:
  -- no pcall in the way)
  local n2, peer2 = T.nativepair()
  n2:settimeout(0.3)
  n2:close()
  local bad, again, cut, t2
  local co = T.spawn(function()
    bad = T.pack(n2:connect("127.0.0.1", "nope"))
    bad.fd = n2:getfd()
    again = T.pack(n2:connect("127.0.0.1", fport))
    n2:close() -- the socket the timed-out attempt left (LuaSocket keeps it)
    n2:settimeout(5)
    local t0 = socket.gettime()
    cut = T.pack(n2:connect("127.0.0.1", fport))
    t2 = socket.gettime() - t0
  end)
  T.eq(coroutine.status(co), "suspended", "the reconnect yields")
  T.run(function() return again end, 5)
  T.same(bad, T.pack(nil, "service not supported for socket type"), "bad port: LuaSocket's error")
  T.eq(bad.fd, -1, "bad port: no socket made")
  T.same(again, T.pack(nil, "timeout"), "then a reconnect that waits")
  T.run(function() return false end, 0.1) -- the third attempt waits
  n2:close()
  T.check(T.run(function() return cut end, 2), "a close ends the waiting reconnect")
  T.same(cut, T.pack(nil, "closed"), "with 'closed'")
  T.check(t2 < 2, "long before its 5 s timeout", t2)
  T.eq(n2:getfd(), -1, "and the client stays closed")
  peer2:close()
  for i = 1, 8 do fill[i]:close() end
  full:close(); live:close(); n:close(); c:close(); peer:close()
end

-- bad self: the class LuaSocket's tcp.c names (tcp{any} for close, the
-- address and option methods, connect), and the name luaL_argerror gives
-- LuaSocket's C method called so ('?' from pcall); an argument error of
-- connect carries the caller's position on every version (5.1 lost it)
do
  local n, peer = T.nativepair()
  for _, m in ipairs { "close", "getpeername", "getsockname", "getoption", "setoption", "connect", "gettimeout" } do
    local ok, err = pcall(n[m], nil)
    T.eq(not ok and err, "bad argument #1 to '?' (tcp{any} expected)", m .. " bad self")
  end
  -- the C ones (named as a pcall'd C function is: '?')
  for _, m in ipairs { "getfd", "setfd", "dirty" } do
    local ok, err = pcall(n[m], {}, 1)
    T.check(not ok and tostring(err):find("bad argument #1 to '[^']*' %(tcp{any} expected%)"), m, "bad self:", err)
  end
  local ok, err = pcall(function() local r = n:connect("127.0.0.1"); return r end)
  T.check(not ok and tostring(err):find("^[^:]*test_native_client%.lua:%d+: bad argument #2 to 'connect'"), "connect's argument error at the caller:", err)
  n:close(); peer:close()
end

-- data buffered at a close outlives any number of closes, as LuaSocket's
-- buffer does: a second close, or a close after setfd(-1), kept nothing
-- before (the next receive gave nil, 'closed', "" and dirty() false).
do
  local ls_server, port = T.listener()
  local lp = assert(socket.connect("127.0.0.1", port))
  local ls = assert(ls_server:accept())
  ls_server:close()
  ls:settimeout(1)
  lp:send("l1\nl2\nrest")
  T.eq(ls:receive("*l"), "l1", "LuaSocket: first line")
  ls:close(); ls:close()
  local want1 = T.pack(ls:receive("*l"))
  local want2 = T.pack(ls:receive("*l"))
  T.same(want1, T.pack("l2", nil, nil), "LuaSocket after two closes")
  local got = {}
  T.spawn(function()
    for _, how in ipairs { "close twice", "setfd(-1), close" } do
      local n, peer = T.nativepair()
      n:settimeout(1)
      peer:send("l1\nl2\nrest")
      local r = {}
      r.first = n:receive("*l")
      if how == "close twice" then n:close(); n:close() else n:setfd(-1); n:close() end
      r.dirty = n:dirty()
      r[1] = T.pack(n:receive("*l"))
      r[2] = T.pack(n:receive("*l"))
      r.dirty2 = n:dirty()
      got[how] = r
      peer:close()
    end
  end)
  T.check(T.run(function() return got["setfd(-1), close"] end, 10), "the native receives ended")
  for _, how in ipairs { "close twice", "setfd(-1), close" } do
    local r = got[how] or { {}, {} }
    T.eq(r.first, "l1", how .. ": first line")
    T.eq(r.dirty, true, how .. ": dirty after the closes")
    T.same(r[1] or T.pack(), want1, how .. ": the line buffered at the close")
    T.same(r[2] or T.pack(), want2, how .. ": the rest, then 'closed'")
    T.eq(r.dirty2, false, how .. ": nothing left")
  end
end

-- getstats across a close with data kept, a setfd to a new connection and
-- a close: the received count never goes back nor counts twice (the kept
-- handle's bytes were lost from it, the new one's counted twice: 3, 3, 0,
-- 6, 12). The data kept from the old fd is dropped at the setfd (README).
do
  local ls_server, port = T.listener()
  local got
  T.spawn(function()
    local n, peer = T.nativepair()
    n:settimeout(1)
    peer:send("l1\nl2\nrest")
    local r = { n:receive("*l") }
    r[#r + 1] = n:getstats()
    n:close()
    r[#r + 1] = n:getstats()
    local p2 = assert(socket.connect("127.0.0.1", port))
    local d = assert(ls_server:accept())
    p2:send("X1\nX2\n")
    local fd = d:getfd()
    d:setfd(-1)
    n:setfd(fd)
    r[#r + 1] = n:getstats()
    r[#r + 1] = n:receive("*l")
    r[#r + 1] = n:receive("*l")
    r[#r + 1] = n:getstats()
    n:close()
    r[#r + 1] = n:getstats()
    got = r
    peer:close(); p2:close()
  end)
  T.check(T.run(function() return got end, 10), "the stats sequence ended")
  T.same(T.pack(unpack(got or {}, 1, 8)), T.pack("l1", 3.0, 3.0, 3.0, "X1", "X2", 9.0, 9.0),
    "getstats' received count across close, setfd and close")
  ls_server:close()
end

T.done("native_client")
