-- test_passerrors.lua: an error a program raises itself inside LuaSocket's
-- call of a method (here from the __index of the table given to
-- setoption("linger", t), which LuaSocket reads with lua_gettable) reaches
-- the caller of a wrapper's or a native client's method unchanged, as it
-- reaches the caller of LuaSocket's own: no position added, and a message
-- that only looks like an argument error ("bad argument #9 to 'foo'",
-- "calling 'zz' on bad self") is not reworded for the call. Each case is
-- compared whole against the same call on a plain LuaSocket object.
local T = dofile("asoktest.lua")
local asok = require "asok"

local racc, rc = T.pair()
local wacc, wraw = T.pair()
local wc = asok.wrap(wraw)
local native, npeer = T.nativepair()

-- linger returns a table whose every read raises e at level lvl.
local function linger(e, lvl)
  return setmetatable({}, { __index = function() error(e, lvl) end })
end

local E = {}
local CASES = {
  { "bad argument #9 to 'foo' (boom)", 0 }, { "calling 'zz' on bad self (q)", 0 }, { "boom", 0 },
  { "boom", 1 }, { "bad argument #1 to 'x' (y)", 1 }, { "bad argument #2 to 'x' (y)", 2 }, { E, 0 },
  { 42, 0 }, -- a number (5.1's error() would add a position to it at a level)
}
local FORMS = {
  method = function(o, t) local r = o:setoption("linger", t) return r end,
  field = function(o, t) local r = o.setoption(o, "linger", t) return r end,
  pcall = function(o, t) local ok, e = pcall(o.setoption, o, "linger", t); if ok then return "no error" end error(e, 0) end,
}

local function outcome(ok, e)
  if ok then return "no error" end
  return e
end

for _, c in ipairs(CASES) do
  for fname, f in pairs(FORMS) do
    local want = outcome(pcall(f, rc, linger(c[1], c[2])))
    T.check(want == c[1] or (type(want) == "string" and want:find(tostring(c[1]), 1, true)),
      "LuaSocket passes the error on:", T.show(want))
    for _, o in ipairs { { "wrapper", wc }, { "native client", native } } do
      local got = outcome(pcall(f, o[2], linger(c[1], c[2])))
      T.eq(got, want, ("%s %s, error %s at level %d"):format(o[1], fname, tostring(c[1]), c[2]))
    end
  end
end

-- LuaSocket's own argument errors there are still worded for the call
do
  local ok, e = pcall(function() local r = native:setoption("linger", {}) return r end)
  T.check(not ok and e:find(": bad argument #2 to 'setoption' %(boolean 'on' field expected%)$"), "native setoption's own error", e)
  local f = native.setoption
  ok, e = pcall(f, native, "linger", {})
  T.eq(e, "bad argument #3 to '?' (boolean 'on' field expected)", "pcall(native.setoption, ...)")
end

for _, o in ipairs { racc, rc, wacc, wc, native, npeer } do o:close() end
racc, rc, wacc, wraw, wc, native, npeer = nil, nil, nil, nil, nil, nil, nil
T.done("test_passerrors")
