-- glue/xpcall.lua - coroutines: asok.spawn, asok.seterrorhandler and
-- asok.xpcall (a yield-safe xpcall on Lua 5.1).
local M, P = ...

local MAIN, parents, argerror, wake = P.MAIN, P.parents, P.argerror, P.wake
local type, select, pcall, xpcall = type, select, pcall, xpcall
local running, yield, resume = coroutine.running, coroutine.yield, coroutine.resume
local create, status = coroutine.create, coroutine.status
local unpack = table.unpack or unpack
local traceback = debug and debug.traceback

-- newco creates a coroutine running f; a C function is wrapped in a Lua
-- one (Lua 5.1's coroutine.create accepts Lua functions only).
local function newco(f)
  local ok, co = pcall(create, f)
  if ok then return co end
  return create(function(...) return f(...) end)
end

--- asok.spawn(f, ...): creates a coroutine running f(...), starts it at
-- once and returns it. An error it raises goes to the error handler.
function M.spawn(...)
  local f = ...
  if type(f) ~= "function" then
    argerror(1, "spawn", "function expected, got " .. (select("#", ...) == 0 and "no value" or type(f)), 2)
  end
  local co = newco(f)
  wake(co, select(2, ...))
  return co
end

--- asok.seterrorhandler(f): f(msg_with_traceback, co, err) receives the
-- errors of coroutines resumed by asok; nil restores the default (stderr).
function M.seterrorhandler(...)
  local f = ...
  if f ~= nil and type(f) ~= "function" then
    argerror(1, "seterrorhandler", "function or nil expected, got " .. type(f), 2)
  elseif f == nil and select("#", ...) == 0 then
    argerror(1, "seterrorhandler", "function or nil expected, got no value", 2)
  end
  P.errorhandler = f
end

-- identity is xpcall's default error handler: the error as it is (pcall).
local function identity(e) return e end

-- nativexpcall says whether xpcall takes arguments and lets its function
-- yield (Lua 5.2+, LuaJIT): then asok.xpcall is xpcall.
local nativexpcall = false
do
  local co = create(function(a) return xpcall(function(b) yield(b); return b end, identity, a) end)
  local ok, v = resume(co, 7)
  if ok and v == 7 and status(co) == "suspended" then
    local ok2, r1, r2 = resume(co)
    nativexpcall = ok2 and r1 == true and r2 == 7
  end
end

-- pack2 returns its arguments as a table with their count in n.
local function pack2(...) return { n = select("#", ...), ... } end
P.pack2, P.newco = pack2, newco

-- callee gives what helpercall's coroutine runs for f, so that f's errors
-- read as under Lua 5.1's xpcall: a Lua function as it is, a callable
-- table through a Lua function (its __call may wait in asok); a C function
-- or a value that cannot be called through pcall, so that its caller is a
-- C function as under xpcall ("bad argument #1 to '?'", "attempt to call a
-- nil value", without a position in asok's code). Such a call cannot wait
-- (nor can it under 5.1's xpcall).
local getinfo, getmeta = debug and debug.getinfo, debug and debug.getmetatable or getmetatable
local function callee(f)
  if type(f) == "function" then
    if not (getinfo and getinfo(f, "S").what == "C") then return f end
  else
    local mt = getmeta(f)
    if type(mt) == "table" and type(rawget(mt, "__call")) == "function" then
      return function(...) return f(...) end
    end
  end
  return function(...)
    local r = pack2(pcall(f, ...))
    if r[1] then return unpack(r, 2, r.n) end
    error(r[2], 0)
  end
end

-- helpercall runs f(...) in a helper coroutine (Lua 5.1's yield-safe
-- pcall): its yields, asok's WAIT included, pass through the running
-- coroutine to whoever resumes it, and resumes pass back down (park
-- resumes the root of the parents chain). Returns a pack: false, err, co
-- or true, results.
local function helpercall(f, ...)
  local I = newco(callee(f))
  local co, ismain = running()
  local driver = (co and not ismain) and co or MAIN
  parents[I] = driver
  local r = pack2(resume(I, ...))
  while r[1] and status(I) == "suspended" do
    if driver == MAIN then
      r = { n = 2, false, "attempt to yield from outside a coroutine" }
      break
    end
    r = pack2(resume(I, yield(unpack(r, 2, r.n))))
  end
  parents[I] = nil
  r.co = I
  return r
end

--- asok.xpcall(f, err, ...): xpcall with pcall's arguments, in which f
-- may wait in asok functions on every Lua version; err nil: the error as
-- it is (like pcall).
function M.xpcall(f, err, ...)
  if err == nil then err = identity
  elseif type(err) ~= "function" then
    argerror(2, "xpcall", "function or nil expected, got " .. type(err), 2)
  end
  if nativexpcall then
    local r = pack2(xpcall(f, err, ...))
    return unpack(r, 1, r.n)
  end
  local r = helpercall(f, ...)
  if r[1] then return unpack(r, 1, r.n) end
  if err == identity then return false, r[2] end
  if err == traceback then return false, traceback(r.co, r[2]) end -- at the error
  local h = helpercall(err, r[2])
  if h[1] then return false, h[2] end
  return false, "error in error handling"
end
