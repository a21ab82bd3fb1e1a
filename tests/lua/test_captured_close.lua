-- test_captured_close.lua: LuaSocket's close, taken from an object before
-- asok first used it (a program that keeps a method in a local, a
-- library that caches it), is asok's hooked one: asok hooks LuaSocket's
-- classes when it loads, not at its first use. Before, that close shut the
-- fd behind asok's back; a new socket took the fd number, and the
-- wrapper's receive returned the new socket's data (its owner then got a
-- timeout), where LuaSocket answers 'closed'.
local T = dofile("asoktest.lua")
local asok = require "asok"

local a, c = T.pair()
local rawclose = a.close -- before asok used a (nor anything else yet)
local w = asok.wrap(a)
w:settimeout(0.3)
local fd = a:getfd()
T.eq(rawclose(a), 1, "the captured close closes")
T.eq(a:getfd(), -1, "LuaSocket's object is closed")
local a2, c2 = T.pair() -- the kernel reuses the lowest fd: likely fd
local mine, other = a2, c2
if c2:getfd() == fd then mine, other = c2, a2 end
other:send("secret\n")
local got
asok.spawn(function() got = T.pack(w:receive("*l")) end)
T.run(function() return got end, 2)
T.same(got or T.pack("still waiting"), T.pack(nil, "closed", ""), "the wrapper's receive after the captured close")
mine:settimeout(1)
T.same(T.pack(mine:receive("*l")), T.pack("secret", nil, nil), "the new socket on the fd keeps its data")
w:close(); c:close(); a2:close(); c2:close()
a, c, w, a2, c2, mine, other, rawclose = nil, nil, nil, nil, nil, nil, nil, nil
T.done("test_captured_close")
