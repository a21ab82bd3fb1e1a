-- test_takebuffer.lua: the first use of a LuaSocket object by asok moves
-- what LuaSocket buffered for it into asok, and nothing from the kernel
-- (glue/core.lua takebuffer, C.fdaside: the object's fd set aside at -1
-- for LuaSocket's own receive '*a', then put back):
--  1. an error raised at any instruction of that first use (a debug hook
--     that raises: lua.c's Ctrl-C) leaves the object its fd; set aside
--     and put back by LuaSocket's setfd from the glue, 10 positions of
--     about 600 left it at -1 (its fd open, unreachable);
--  1b. the same sweep over a first use that takes no byte (a receive of
--     0): the next receives return the bytes in order, LuaSocket's
--     buffered "b" first, and the object keeps its own LuaSocket timeout;
--     an error after attach recorded the handle (st.done) and before the
--     move left "b" in LuaSocket's buffer, which asok's reads skipped
--     (38 of 483 positions on 5.4: "cd" came first);
--  2. a program's debug hook is set again after the move (fdaside turns
--     it off meanwhile);
--  3. a socket.unix stream object and a full 8 KiB LuaSocket buffer: the
--     buffer alone moves (the kernel keeps the rest: an alias's select
--     sees it), the bytes come in order.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

-- buffered returns a pair (a, p) whose a has "b" in LuaSocket's buffer
-- and "cd" in the kernel.
local function buffered()
  local a, p = T.pair()
  T.eq(p:send("ab"), 2, "send")
  T.arrived(a)
  a:settimeout(1)
  T.eq(a:receive(1), "a", "one byte (LuaSocket buffers \"b\")")
  T.eq(p:send("cd"), 2, "send more")
  T.arrived(a)
  return a, p
end

-- alias returns a table whose getfd gives fd and whose dirty says false.
local function alias(fd)
  return { getfd = function() return fd end, dirty = function() return false end }
end

-- 1. an error at every instruction of the first use: the fd stays
do
  local positions, lost, cut = 0, {}, 0
  for k = 1, 5000 do
    local a, p = buffered()
    local fd = a:getfd()
    local r = T.interrupt(k, function() return asok.receive(a, 1) end)
    positions = k
    if not r[1] then
      cut = cut + 1
      T.eq(r[2]:match(T.INTERRUPTED .. "$"), T.INTERRUPTED, "k=" .. k .. ": the hook's error")
    end
    if a:getfd() ~= fd then
      lost[#lost + 1] = k
      T.closefd(fd)
    end
    a:close(); p:close()
    if r[1] then
      T.eq(r[2], "b", "uncut: LuaSocket's buffered byte")
      break
    end
  end
  T.check(cut > 100 and positions == cut + 1, "the sweep ran to an uncut call", positions, cut)
  T.eq(table.concat(lost, " "), "", "positions that left the object at fd -1")
end

-- 1b. an error at every instruction of a first use that takes no byte:
-- then the bytes in order, "b" (LuaSocket's buffer) first
do
  local positions, wrong, cut = 0, {}, 0
  for k = 1, 5000 do
    local a, p = buffered()
    local tm = tostring(a:gettimeout())
    local r = T.interrupt(k, function() return asok.receive(a, 0) end)
    positions = k
    if not r[1] then cut = cut + 1 end
    local got = asok.receive(a, 2)
    if got == "bc" then got = asok.receive(a, 1) == "d" and "bcd" or "bc?" end
    if got ~= "bcd" then wrong[#wrong + 1] = k .. ":" .. tostring(got) end
    if tostring(a:gettimeout()) ~= tm then wrong[#wrong + 1] = k .. ":timeout " .. tostring(a:gettimeout()) end
    a:close(); p:close()
    if r[1] then
      T.eq(r[2], "", "uncut: a receive of 0")
      break
    end
  end
  T.check(cut > 100 and positions == cut + 1, "1b: the sweep ran to an uncut call", positions, cut)
  T.eq(#wrong .. " " .. table.concat(wrong, " "), "0 ", "1b: positions after which the bytes came wrong")
end

-- 2. a program's debug hook is back after the move
do
  local a, p = buffered()
  local n = 0
  local function hook() n = n + 1 end
  debug.sethook(hook, "", 1000)
  local got = asok.receive(a, 3)
  local h, mask, count = debug.gethook()
  debug.sethook()
  T.eq(got, "bcd", "the bytes in order")
  T.eq(h, hook, "the hook is set again")
  T.eq(mask .. "/" .. count, "/1000", "its mask and count")
  a:close(); p:close()
end

-- 3. only LuaSocket's buffer moves: a unix stream object, a full buffer
local unix = require "socket.unix"
local path = os.tmpname()
os.remove(path)
local function unixpair()
  local us = assert(unix.stream())
  assert(us:bind(path))
  assert(us:listen(4))
  local c = assert(unix.stream())
  assert(c:connect(path))
  local a = assert(us:accept())
  us:close()
  os.remove(path)
  return a, c
end

-- check: a's LuaSocket buffer holds nbuf bytes and the kernel more (rest);
-- asok's first use takes nbuf, and an alias of the fd is still readable.
local function check(what, a, p, nbuf, all)
  local o = alias(a:getfd())
  T.eq(socket.select({ o }, nil, 0)[1], o, what .. ": the alias readable before")
  T.eq(asok.settimeout(a, 1), 1, what .. ": asok's handle")
  T.eq(asok.receive(a, 0), "", what .. ": a receive of 0 (the buffer moved to asok)")
  T.eq(asok._debug.held(a), nbuf, what .. ": asok holds LuaSocket's buffer only")
  T.eq(socket.select({ o }, nil, 0)[1], o, what .. ": the kernel keeps the rest (socket.select)")
  T.eq(asok.select({ o }, nil, 0)[1], o, what .. ": the kernel keeps the rest (asok.select)")
  local got = asok.receive(a, #all - 1)
  T.eq(got == all:sub(2) or got, true, what .. ": the bytes in order")
  a:close(); p:close()
end

do
  local a, p = unixpair()
  T.eq(p:send("ab"), 2, "unix: send")
  T.arrived(a)
  a:settimeout(1)
  T.eq(a:receive(1), "a", "unix: one byte")
  T.eq(p:send("cd"), 2, "unix: send more")
  T.arrived(a)
  check("unix stream", a, p, 1, "abcd")
end

do
  local BUF = 8192 -- LuaSocket's BUF_SIZE (buffer.h)
  local all = {}
  for i = 1, BUF + 100 do all[i] = string.char(97 + i % 26) end
  all = table.concat(all)
  local a, p = T.pair()
  T.eq(p:send(all), #all, "full: send")
  T.arrived(a)
  a:settimeout(1)
  T.eq(a:receive(1), all:sub(1, 1), "full: one byte (LuaSocket read 8 KiB)")
  check("full buffer", a, p, BUF - 1, all)
end

T.done("takebuffer")
