-- test_select_fdshare.lua: asok.select and asok's operations where the
-- differential select fuzzer (test_diffsel.lua) found them apart from
-- LuaSocket's, each minimised:
--  1. a table whose getfd gives a socket's fd, selected first, made the
--     socket's own asok.accept fail with "File exists" (the select's
--     watcher held the fd);
--  2. an object of the read set found dirty hides its fd from the rest of
--     the read set (socket.select's FD_CLR): another object on that fd is
--     not listed, however the fd polls;
--  3. a unix socket shut down both ways with a full send buffer (POLLHUP,
--     no POLLOUT) is readable, not writable, as select(2) says;
--  4. a LuaSocket object given a socket's fd by setfd, selected first
--     (its watcher then adopted by the socket's own calls), closed or
--     collected while the socket's receive or select waits: its close
--     closes the fd, and the waits end (the receive as LuaSocket's own
--     on that fd, a select listing it) instead of waiting on an fd epoll
--     dropped; and an alias's select waiting on its own watcher when the
--     socket, never used through asok, is closed; a receive waiting with
--     a partial result keeps it (4d).
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local unix = require "socket.unix"

local names, both = T.selnames, T.selboth

-- 1. the alias's select, then the listener's own accept
do
  local l = assert(socket.bind("127.0.0.1", 0))
  local _, port = l:getsockname()
  local c = assert(socket.connect("127.0.0.1", port))
  local fd = l:getfd()
  local alias = { getfd = function() return fd end }
  both("alias of a listener with a connection", { alias }, nil, { [alias] = "alias" })
  T.eq(asok.settimeout(l, 0), 1, "settimeout")
  local a, err = asok.accept(l)
  T.check(a and not err, "accept after the alias's select: got", a, err)
  -- the alias is watched through the listener's handle now
  both("alias of the listener after the accept", { alias }, nil, { [alias] = "alias" })
  if a then a:close() end
  l:close(); c:close()
end

-- 2. a dirty object hides its fd from the rest of the read set
do
  local s, p = T.pair()
  p:send("ab")
  T.arrived(s)
  s:settimeout(1)
  T.eq(s:receive(1), "a", "one byte")
  T.check(s:dirty(), "LuaSocket buffered the other")
  p:send("cd") -- the kernel has data too: the fd polls readable
  T.arrived(s)
  local fd = s:getfd()
  local plain = { getfd = function() return fd end, dirty = function() return false end }
  local dirty = { getfd = function() return fd end, dirty = function() return true end }
  local nm = { [plain] = "plain", [dirty] = "dirty", [s] = "sock" }
  both("plain alias, then a dirty one", { plain, dirty }, nil, nm)
  both("dirty alias, then a plain one", { dirty, plain }, nil, nm)
  both("the dirty socket and a plain alias", { s, plain }, { plain }, nm)
  s:close(); p:close()
end

-- 3. unix, full send buffer, shut down both ways
do
  local path = os.tmpname(); os.remove(path); path = path .. ".hup"
  local l = assert(unix.stream()); assert(l:bind(path)); assert(l:listen(4))
  local a = assert(unix.stream()); assert(a:connect(path))
  local b = assert(l:accept())
  a:settimeout(0)
  local chunk = string.rep("x", 65536)
  repeat local last = a:send(chunk) until not last
  assert(a:shutdown("both"))
  local nm = { [a] = "a" }
  both("hung up, send buffer full", { a }, { a }, nm)
  both("hung up, send buffer full, write set only", nil, { a }, nm)
  -- a select waiting to write on it waits (its timeout), as socket.select
  local wr, ww, we = asok.select(nil, { a }, 0.05)
  T.eq(names(ww, nm) .. "|" .. tostring(we), "|timeout", "a wait to write times out")
  a:close(); b:close(); l:close(); os.remove(path)
end

-- 4. a socket whose fd another object (T.sharer) closes
local sharer = T.sharer

for _, how in ipairs { "close", "collect" } do
  -- the socket's receive waits on the adopted watcher
  do
    local a, p = T.pair()
    local o = sharer(a:getfd())
    local r, w, e = asok.select({ o }, nil, 0)
    T.eq(e, "timeout", how .. ": the sharer's select (its watcher on the fd)")
    local res
    asok.spawn(function() res = T.pack(asok.receive(a, "*l")) end)
    T.run(function() return res end, 0.05)
    T.eq(res, nil, how .. ": the receive waits (the watcher adopted)")
    if how == "close" then o:close() else o = nil; T.handles() end
    T.run(function() return res end, 5)
    -- (as LuaSocket's own receive on the fd closed under it)
    local want = T.showpack(T.pack(a:receive("*l")))
    T.eq(want, '(3) nil, "Bad file descriptor", ""', how .. ": LuaSocket's receive")
    T.eq(res and T.showpack(res), want, how .. ": the receive after the sharer's " .. how)
    a:setfd(-1) -- (its fd is closed: its __gc must not close the number again)
    p:close()
  end
  -- the socket's select waits on it
  do
    local a, p = T.pair()
    local o = sharer(a:getfd())
    local r, w, e = asok.select({ o }, nil, 0)
    T.eq(e, "timeout", how .. ": the sharer's select")
    T.eq(asok.settimeout(a, 5), 1, how .. ": settimeout (the watcher adopted)")
    local res
    asok.spawn(function() res = T.pack(asok.select({ a }, nil)) end)
    T.run(function() return res end, 0.05)
    T.eq(res, nil, how .. ": the select waits")
    if how == "close" then o:close() else o = nil; T.handles() end
    T.run(function() return res end, 5)
    T.eq(res and res.n, 2, how .. ": the select after the sharer's " .. how)
    T.eq(res and res[1][1], a, how .. ": a is listed (closed: its receive answers at once)")
    a:setfd(-1)
    p:close()
  end
end

-- 4b. the other way: an alias's select waits on its own watcher, and
-- the socket (never used through asok) is closed: the watcher goes with
-- the fd, and the select lists the alias (a closed socket is ready)
do
  local a, p = T.pair()
  local fd = a:getfd()
  local alias = { getfd = function() return fd end }
  local res
  asok.spawn(function() res = T.pack(asok.select({ alias }, nil)) end)
  T.run(function() return res end, 0.05)
  T.eq(res, nil, "the alias's select waits")
  a:close()
  T.run(function() return res end, 5)
  T.eq(res and res.n, 2, "the alias's select after the socket's close")
  T.eq(res and res[1][1], alias, "the alias is listed")
  p:close()
end

-- 4c. the other calls waiting on a socket whose fd a sharer closes (an
-- accept on a TCP listener, a wrapper's and a unix one; a UDP receive and
-- receivefrom, raw and wrapped): each ends as LuaSocket's own call on the
-- object then does ("Bad file descriptor": its fd number is closed), not
-- with 'closed' or, for a UDP receive, an empty datagram (LuaSocket's
-- answer on an object closed by its own close); and a wrapper's accept
-- made after the close
local unixpath = os.tmpname()
local waits = {
  { "accept", "tcp listener", function() return (T.listener()) end },
  { "accept", "wrapped tcp listener", function() return (T.listener()) end, true },
  { "accept", "unix listener", function()
    os.remove(unixpath)
    local l = assert(unix.stream())
    assert(l:bind(unixpath)); assert(l:listen())
    return l
  end },
  { "receive", "udp", function()
    local u = assert(socket.udp()); assert(u:setsockname("127.0.0.1", 0)); return u
  end },
  { "receive", "wrapped udp", function()
    local u = assert(socket.udp()); assert(u:setsockname("127.0.0.1", 0)); return u
  end, true },
  { "receivefrom", "udp", function()
    local u = assert(socket.udp()); assert(u:setsockname("127.0.0.1", 0)); return u
  end },
}
for _, c in ipairs(waits) do
  local m, what, make, wrapped = c[1], c[2], c[3], c[4]
  for _, when in ipairs { "waiting", "after" } do
    local raw = make()
    local obj = wrapped and asok.wrap(raw) or raw
    local o = sharer(raw:getfd())
    local res
    if when == "waiting" then
      asok.spawn(function() res = T.pack(asok[m](obj)) end)
      T.run(function() return res end, 0.05)
      T.eq(res, nil, what .. ": the " .. m .. " waits")
      o:close()
      T.run(function() return res end, 5)
    else
      T.eq(asok.settimeout(obj, 0), 1, what .. ": settimeout")
      T.eq(T.showpack(T.pack(asok[m](obj))), T.showpack(T.pack(raw[m](raw))), what .. ": " .. m .. " before")
      T.eq(asok.settimeout(obj, nil), 1, what .. ": settimeout nil")
      o:close()
      res = T.pack(asok[m](obj))
    end
    local want = T.showpack(T.pack(raw[m](raw)))
    T.eq(want, '(2) nil, "Bad file descriptor"', what .. ": LuaSocket's " .. m)
    T.eq(res and T.showpack(res), want, what .. ": the " .. m .. " " .. when .. " at the sharer's close")
    raw:setfd(-1) -- (its fd is closed: its __gc must not close the number again)
  end
end
os.remove(unixpath)

-- 4d. a receive of a LuaSocket object (raw and wrapped) waiting with a
-- partial result ("ab", prefix "P") when a sharer closes its fd: the
-- retry keeps the partial, and '*a' fails too, as LuaSocket's own receive
-- with "ab" buffered does on the closed fd (it lost the partial, and '*a'
-- took the closed handle's end for the stream's: "Pab", nil, nil)
for _, pattern in ipairs { "*l", "*a", 10 } do
  -- LuaSocket's answer: "ab" in its buffer (one byte of "xab" taken)
  local want
  do
    local a, p = T.pair()
    assert(p:send("xab"))
    T.arrived(a)
    a:settimeout(5)
    T.eq(a:receive(1), "x", "one byte")
    local o = sharer(a:getfd())
    o:close()
    want = T.showpack(T.pack(a:receive(pattern, "P")))
    T.eq(want, '(3) nil, "Bad file descriptor", "Pab"', "LuaSocket's receive " .. pattern .. " on the closed fd")
    a:setfd(-1)
    p:close()
  end
  for _, wrapped in ipairs { false, true } do
    local what = (wrapped and "wrapped " or "raw ") .. pattern
    local a, p = T.pair()
    local obj = wrapped and asok.wrap(a) or a
    assert(p:send("ab"))
    T.arrived(a)
    local o = sharer(a:getfd())
    T.eq(asok.select({ o }, nil, 0)[1], o, what .. ": the sharer's select (its watcher; \"ab\" there)")
    local res
    asok.spawn(function() res = T.pack(asok.receive(obj, pattern, "P")) end)
    T.run(function() return res end, 0.05)
    T.eq(res, nil, what .. ": the receive waits with \"ab\"")
    o:close()
    for _ = 1, 20 do -- (reactor steps: one is enough)
      if res then break end
      asok.select(nil, nil, 0)
    end
    T.eq(res and T.showpack(res), want, what .. ": the receive after the sharer's close")
    a:setfd(-1)
    p:close()
  end
end

T.done("select_fdshare")
