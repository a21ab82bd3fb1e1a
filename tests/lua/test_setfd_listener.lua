-- test_setfd_listener.lua: a LuaSocket stream client whose own buffer
-- holds data ("two\nthree", after a receive of LuaSocket's own took
-- "one") and that a setfd points at a listener's fd. LuaSocket's receive
-- serves its buffer first, then meets the listener's error (ENOTCONN on
-- TCP, EINVAL on unix) without waiting; socket.select calls it ready while
-- the buffer holds data. Since asok_unread refuses a listener (twentieth
-- round, item 36), register moved the buffer out of LuaSocket and lost it
-- (asok.receive returned nil, the error and no partial: 11 bytes gone);
-- the data now stays in LuaSocket's buffer, whose own receive serves it.
-- Each case runs twice, LuaSocket's own calls first (the judge), then
-- asok's in a coroutine, on objects set up alike: the answers must match.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local unix = (pcall(require, "socket.unix")) and require "socket.unix" or nil

-- primed has a (c's peer) send "one\ntwo\nthree", LuaSocket's own receive
-- on c take "one" (the rest buffered in LuaSocket), then c:setfd onto
-- lst's fd; it returns c, c's own fd and what must stay open (a, lst).
-- tag names the family in the checks.
local function primed(c, a, lst, tag)
  assert(a:send("one\ntwo\nthree") == 13)
  c:settimeout(5)
  T.eq(c:receive(), "one", "LuaSocket's own receive, before the setfd" .. tag)
  T.eq(c:dirty(), true, "LuaSocket buffers the rest" .. tag)
  local fd = c:getfd()
  c:setfd(lst:getfd())
  return c, fd, { a, lst }
end

-- tcpsetup returns a client c whose LuaSocket buffer holds "two\nthree",
-- c's own fd and a TCP listener, with c:setfd onto the listener's fd done;
-- keep: what must stay open meanwhile.
local function tcpsetup()
  local srv, port = T.listener()
  local lst = T.listener()
  local c = assert(socket.connect("127.0.0.1", port))
  local a = assert(srv:accept())
  srv:close()
  return primed(c, a, lst, "")
end

-- unixsetup: the same on a socket.unix stream client and listener.
local function unixsetup()
  local path = os.tmpname()
  os.remove(path)
  local lpath = path .. ".l"
  local srv = assert(unix.stream())
  assert(srv:bind(path)); assert(srv:listen())
  local lst = assert(unix.stream())
  assert(lst:bind(lpath)); assert(lst:listen())
  local c = assert(unix.stream())
  assert(c:connect(path))
  local a = assert(srv:accept())
  srv:close(); os.remove(path); os.remove(lpath)
  return primed(c, a, lst, " (unix)")
end

-- steps runs the calls on c (recv and sel: LuaSocket's or asok's) and
-- returns their answers, one packed list.
local function steps(c, recv, sel, patterns)
  local out = {}
  local r, _, e = sel({ c }, nil, 0)
  out[#out + 1] = T.pack(r and #r, e)
  for i = 1, #patterns do
    local p = patterns[i]
    out[#out + 1] = T.pack(recv(c, p[1], p[2]))
    out[#out + 1] = T.pack(c:dirty())
  end
  r, _, e = sel({ c }, nil, 0)
  out[#out + 1] = T.pack(r and #r, e)
  local rec, sent = c:getstats()
  out[#out + 1] = T.pack(rec, sent)
  return out
end

local function own(c, p, prefix) return c:receive(p, prefix) end
local function ownselect(r, w, t) return socket.select(r, w, t) end

-- case runs setup's scenario with LuaSocket's calls, then asok's.
local function case(name, setup, patterns)
  local c, fd, keep = setup()
  local want = steps(c, own, ownselect, patterns)
  c:setfd(fd); c:close()
  for _, k in ipairs(keep) do k:close() end

  c, fd, keep = setup()
  local got
  T.spawn(function() got = steps(c, asok.receive, asok.select, patterns) end)
  T.check(T.run(function() return got ~= nil end, 5), name, "asok's calls returned")
  T.eq(got and #got, #want, name .. ": as many answers")
  for i = 1, #want do
    T.same(got and got[i], want[i], name .. ": answer " .. i)
  end
  c:setfd(fd); c:close()
  for _, k in ipairs(keep) do k:close() end
end

-- 1. a line, then the rest with the listener's error
case("tcp lines", tcpsetup, { { "*l" }, { "*l" }, { "*l" } })
-- 2. a count with a prefix, then *a (the buffer, then the error)
case("tcp count and all", tcpsetup, { { 2, "p:" }, { "*a" }, { "*a" } })
-- 3. a count larger than the buffer: the partial with the error
case("tcp count past the buffer", tcpsetup, { { 20, "x" } })
if unix then
  -- 4. a unix listener (its recv says EINVAL)
  case("unix lines", unixsetup, { { "*l" }, { "*l" }, { "*l" } })
  case("unix count past the buffer", unixsetup, { { 20 } })
end

T.done("test_setfd_listener")
