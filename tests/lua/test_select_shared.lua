-- test_select_shared.lua: asok.select on an object that shares the fd of
-- a socket asok handles (a table whose getfd gives it, a LuaSocket object
-- or a native client given it by setfd, a LuaSec-like object that took it
-- from a wrapper)
-- answers as socket.select does, which asks the object's own dirty() and
-- polls the fd:
--  1. what asok buffered for the socket is the socket's: the alias is not
--     readable for it (the fd is empty), for a wrapper's handle, a raw
--     object's and one adopted from the alias's own watcher (item 54);
--  2. a select of the alias waiting when the socket lets go of its handle
--     (setfd(-1): LuaSec's wrap) keeps waiting, the fd being open, and
--     returns the alias when data comes; the same when the socket adopted
--     the alias's own watcher while the select waited;
--  1b. asok takes a LuaSocket object's buffered bytes at its first use,
--     not the kernel's too (the alias's fd still polls readable);
--  3. the common path (a select over wrappers and raw objects that own
--     their handles) makes no more poll(2) calls than before.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local names, both = T.selnames, T.selboth

-- alias returns a table whose getfd gives fd and whose dirty says false
-- (LuaSec's connection as socket.select sees it: settimeout too).
local function alias(fd)
  return { getfd = function() return fd end, dirty = function() return false end,
    settimeout = function() return 1 end }
end

-- owners: ways of making a's handle asok's, each returning the object the
-- program reads through (asok buffers "y\n" after it reads "x")
local owners = {
  wrapper = function(a)
    local w = asok.wrap(a)
    w:settimeout(5)
    return w, function() return w:receive("*l") end
  end,
  raw = function(a)
    T.eq(asok.settimeout(a, 5), 1, "raw: settimeout")
    return a, function() return asok.receive(a, "*l") end
  end,
}

-- 1. asok's buffer is the socket's, not the alias's
for _, kind in ipairs { "wrapper", "raw", "adopted" } do
  -- (a native client given the fd by setfd before a's first call would
  -- have the handle, and a's calls "File exists": given it after)
  for _, aka in ipairs(kind == "adopted" and { "table", "sharer" } or { "table", "sharer", "native" }) do
    local what = kind .. "/" .. aka
    local a, p = T.pair()
    local fd = a:getfd()
    local o, np
    if aka == "table" then o = alias(fd)
    elseif aka == "sharer" then o = T.sharer(fd)
    else o, np = T.nativepair() end
    if kind == "adopted" then
      -- the alias's select first: its watcher, adopted by a's own calls
      T.eq(select(3, asok.select({ o }, nil, 0)), "timeout", what .. ": the alias's first select")
    end
    local obj, readline = owners[kind == "adopted" and "raw" or kind](a)
    T.eq(p:send("x\ny\n"), 4, what .. ": send")
    T.eq(readline(), "x", what .. ": the first line (asok holds the second)")
    T.eq(asok._debug.held(obj), 2, what .. ": asok holds \"y\\n\"")
    if np then -- the native client takes a's fd ("File exists": no handle of its own)
      local own = o:getfd()
      o:setfd(fd)
      T.closefd(own)
    end
    local nm = { [o] = "alias", [obj] = "sock", [a] = "sock" }
    T.eq(both(what .. ": the alias alone", { o }, nil, nm), "||timeout", what .. ": socket.select's answer")
    both(what .. ": the alias and the socket", { o, obj }, nil, nm)
    both(what .. ": the alias writable", nil, { o }, nm)
    -- data in the kernel: the alias's fd polls readable
    T.eq(p:send("z"), 1, what .. ": send z")
    T.arrived(a)
    T.eq(both(what .. ": the alias, the fd readable", { o }, nil, nm), "alias||nil", what .. ": readable")
    T.eq(readline(), "y", what .. ": the second line")
    if aka ~= "table" then o:setfd(-1) end -- (a's fd: a closes it)
    if np then np:close() end
    a:close(); p:close()
  end
end

-- 2. a select of the alias waiting while the socket lets its handle go
for _, kind in ipairs { "wrapper", "raw", "adopted" } do
  local what = kind
  local a, p = T.pair()
  local fd = a:getfd()
  local conn = alias(fd)
  local res
  local function selectconn() asok.spawn(function() res = T.pack(asok.select({ conn }, nil)) end) end
  if kind == "adopted" then
    -- the alias's select waits on its own watcher, which a's own call
    -- then adopts
    selectconn()
    T.run(function() return res end, 0.05)
    T.eq(res, nil, what .. ": the alias's select waits on its watcher")
  end
  local obj, readline = owners[kind == "adopted" and "raw" or kind](a)
  T.eq(p:send("x\n"), 2, what .. ": send")
  T.eq(readline(), "x", what .. ": a line (asok's handle used)")
  if kind ~= "adopted" then
    selectconn()
    T.run(function() return res end, 0.05)
    T.eq(res, nil, what .. ": the alias's select waits")
  end
  -- LuaSec's wrap: the connection took the fd, the socket gives it up
  T.eq(obj:setfd(-1), nil, what .. ": setfd(-1)")
  T.run(function() return res end, 0.05)
  T.eq(res and T.showpack(res), nil, what .. ": the select still waits (the fd is open)")
  T.eq(p:send("z"), 1, what .. ": send z")
  T.run(function() return res end, 5)
  T.eq(res and res.n, 2, what .. ": the select returns")
  T.eq(res and res[1][1], conn, what .. ": the alias is readable")
  T.closefd(fd)
  a:close(); p:close()
end

-- 1b. a LuaSocket object with data in LuaSocket's buffer ("b") and more
-- in the kernel ("cd"), made asok's (wrapped and used, or asok.receive):
-- asok takes LuaSocket's buffer only, the kernel keeps "cd", and an
-- alias's select lists it as before (its fd polls readable)
for _, kind in ipairs { "wrapper", "raw" } do
  local what = "buffered " .. kind
  local a, p = T.pair()
  T.eq(p:send("ab"), 2, what .. ": send")
  T.arrived(a)
  a:settimeout(1)
  T.eq(a:receive(1), "a", what .. ": one byte (LuaSocket buffers \"b\")")
  T.check(a:dirty(), what .. ": dirty")
  T.eq(p:send("cd"), 2, what .. ": send more")
  T.arrived(a)
  local fd = a:getfd()
  local o = alias(fd)
  local nm = { [o] = "alias" }
  T.eq(names(socket.select({ o }, nil, 0), nm), "alias", what .. ": the alias readable before")
  local obj, take
  if kind == "wrapper" then
    obj = asok.wrap(a)
    take = function(n) return obj:receive(n) end
  else
    obj = a
    take = function(n) return asok.receive(a, n) end
  end
  T.eq(asok.settimeout(obj, 0), 1, what .. ": settimeout (asok's handle)")
  T.eq(take(0), "", what .. ": a receive of 0 (the buffer moved to asok)")
  T.eq(asok._debug.held(obj), 1, what .. ": asok holds LuaSocket's \"b\" only")
  T.eq(names(socket.select({ o }, nil, 0), nm), "alias", what .. ": the kernel keeps \"cd\"")
  both(what .. ": the alias", { o }, nil, nm)
  T.eq(take(3), "bcd", what .. ": the bytes in order")
  a:close(); p:close()
end

-- 3. the common path's poll(2) calls: a select over a wrapper and a raw
-- object, each with its own handle, idle (zero timeout) and ready
do
  local a, p = T.pair()
  local b, q = T.pair()
  local w = asok.wrap(a)
  T.eq(asok.settimeout(b, 5), 1, "settimeout")
  asok.select({ w, b }, { w, b }, 0)
  local function counted(f)
    local p0 = asok._debug.polls()
    local r1, r2, r3 = f()
    return asok._debug.polls() - p0, r1, r2, r3
  end
  local n, r1, r2, r3 = counted(function() return asok.select({ w, b }, nil, 0) end)
  T.eq(r3, "timeout", "own handles, idle: timeout")
  T.eq(n, 2, "own handles, idle: two (the look, a step of the reactor)")
  n, r1, r2 = counted(function() return asok.select({ w, b }, { w, b }, 0) end)
  T.eq(#r2, 2, "own handles: both writable")
  T.eq(n, 2, "own handles, writable: two (the look, the look after the turn)")
  q:send("1"); T.arrived(b)
  n, r1 = counted(function() return asok.select({ w, b }, nil, 0) end)
  T.eq(r1[1], b, "own handles: b readable")
  T.eq(n, 2, "own handles, one ready: two")
  a:close(); p:close(); b:close(); q:close()
end

T.done("select_shared")
