-- test_handle_reuse.lua: a native client's operation waiting when a setfd
-- gives the client a new handle must end as at a close, even when that
-- new handle sits at the address of the one it waited on. asok's handles
-- are 1-byte mallocs (capi/handles.go) kept out of use for the 65,536
-- releases after their own (the quarantine); the next release frees the
-- oldest, and glibc hands the chunk to the very next registration. The
-- operation told its handle from the client's new one by address (the
-- handle in its WAIT answer, or in its C record), so after 65,536 setfds
-- on the client while it waited it went on with the new socket and read
-- its data. Counted in releases, not timed.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local QUARANTINE = 65536 -- capi/handles.go: quarantineSize

-- waiter(nat, kind, f) starts a coroutine whose receive on native client
-- nat waits: kind "c": parked in C on PUC Lua (the glue on LuaJIT);
-- "prefix": through the glue (the C method takes no prefix); "driver":
-- under asok.coroutine.wrap (the C method hands its token over to the
-- glue). f gets the results.
local function waiter(nat, kind, f)
  return T.spawn(function()
    if kind == "driver" then
      return f(asok.coroutine.wrap(function() return nat:receive("*l") end)())
    elseif kind == "prefix" then
      return f(nat:receive("*l", ""))
    end
    return f(nat:receive("*l"))
  end)
end

for _, kind in ipairs { "c", "prefix", "driver" } do
  local nat, peer = T.nativepair()
  local peer2, other = T.pair()
  local fd = other:getfd()
  other:setfd(-1)
  local oldfd = nat:getfd()
  local res
  waiter(nat, kind, function(...) res = T.pack(...) end)
  asok.select(nil, nil, 0)
  T.check(res == nil, kind .. ": the receive waits")
  -- nothing buffered: the first setfd frees the handle it waits on, into
  -- the quarantine; QUARANTINE more releases (each setfd's) evict it, and
  -- the handle the last one registers may take its address. No collection
  -- meanwhile: a finalizer's release would shift the count.
  collectgarbage("stop")
  nat:setfd(fd)
  for _ = 1, QUARANTINE do nat:setfd(fd) end
  collectgarbage("restart")
  peer2:send("on the new fd\n")
  T.run(function() return res ~= nil end, 5)
  T.same(res or T.pack(), T.pack(nil, "closed", ""),
    kind .. ": the waiter ends as at a close, not on the new socket")
  local later
  T.spawn(function() later = T.pack(nat:receive("*l")) end)
  T.run(function() return later ~= nil end, 5)
  T.same(later or T.pack(), T.pack("on the new fd", nil, nil), kind .. ": a new receive reads the new socket")
  T.eq(asok._debug.cparked(), 0, kind .. ": no C token left")
  nat:close(); peer:close(); peer2:close()
  local o = socket.tcp()
  o:setfd(oldfd)
  o:close()
end

T.done("test_handle_reuse")
