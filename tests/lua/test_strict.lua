-- test_strict.lua: asok loads and works under strict.lua (Lua's etc/strict.lua,
-- common in applications): a global read from Lua code that was never
-- declared raises "variable 'x' is not declared". asok's glue must read no
-- global that the interpreter lacks (5.3 and 5.4 have no loadstring); the
-- wrappers' forwarders and the native clients' lent methods, compiled when
-- first used, included. strict is installed before asok is required.
local getinfo = debug.getinfo
local declared = {}
for k in pairs(_G) do declared[k] = true end
setmetatable(_G, {
  __newindex = function(t, k, v) declared[k] = true; rawset(t, k, v) end,
  __index = function(_, k)
    local w = getinfo(2, "S")
    if not declared[k] and w and w.what ~= "C" then error("variable '" .. tostring(k) .. "' is not declared", 2) end
    return nil
  end,
})

local ok, asok = pcall(require, "asok")
if not ok then
  io.stderr:write("FAIL: require 'asok' under strict: ", tostring(asok), "\n")
  os.exit(1)
end
declared.jit = true -- asoktest.lua reads it (asok's glue reads it with rawget)
local T = dofile("asoktest.lua")

-- a wrapper's forwarded method and a native client's lent ones, and their
-- argument errors
local acc, raw = T.pair()
local w = asok.wrap(raw)
local native, npeer = T.nativepair()
T.eq(w:getfd(), raw:getfd(), "wrapper:getfd (a forwarder)")
T.eq(native:getoption("keepalive"), false, "native:getoption")
T.eq(native:setoption("keepalive", true), 1, "native:setoption")
local e = select(2, pcall(function() local r = w:setoption("bogus", 1) return r end))
T.check(e:find("bad argument #1 to 'setoption' (unsupported option `bogus')", 1, true), "wrapper setoption's error", e)
e = select(2, pcall(native.getoption, native, "bogus"))
T.check(e:find("bad argument #2 to '?' (unsupported option `bogus')", 1, true), "pcall(native.getoption)'s error", e)

-- a round trip
local done = false
asok.spawn(function()
  assert(w:send("ping\n"))
  T.eq(native:send("pong\n"), 5, "native send")
  T.eq(acc:receive(), "ping", "peer of the wrapper")
  T.eq(npeer:receive(), "pong", "peer of the native client")
  done = true
end)
T.run(function() return done end, 5)
T.check(done, "round trip done")

for _, o in ipairs { acc, w, native, npeer } do o:close() end
acc, raw, w, native, npeer = nil, nil, nil, nil, nil
T.done("test_strict")
