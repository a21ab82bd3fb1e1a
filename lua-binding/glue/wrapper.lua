-- glue/wrapper.lua - the wrapper objects asok.wrap returns: asok's
-- methods, and LuaSocket's forwarded to the raw object.
local M, P, C = ...

local RAW, Wrapper, handles, rawmeta = P.RAW, P.Wrapper, P.handles, P.rawmeta
local margerror, reraise, checkraw, handle, classof = P.margerror, P.reraise, P.checkraw, P.handle, P.classof
local STREAM = P.STREAM
local buffered, gettimeout = C.buffered, C.gettimeout
local statsof, setstatsof = P.statsof, P.setstatsof
local type, tostring, tonumber, rawget = type, tostring, tonumber, rawget
-- loadstring on 5.1 and LuaJIT, load after (no global read of a name the
-- interpreter lacks: strict.lua raises on it)
local loadchunk = _VERSION == "Lua 5.1" and loadstring or load

-- wrapper methods: asok's own, everything else forwarded to the raw object
-- (the methods twinned with asok's functions: core.lua's twins)
local methodof, method = P.methodof, P.method
local methods = {
  receive = methodof.receive, send = methodof.send, accept = methodof.accept, connect = methodof.connect,
  close = methodof.close, settimeout = methodof.settimeout, receivefrom = methodof.receivefrom,
  sendto = methodof.sendto, setlimit = methodof.setlimit,
}

-- ASOKONLY: wrapper methods that exist whatever the class; every other
-- method of `methods` exists only where the LuaSocket class has it (a UDP
-- wrapper has no accept or getstats, a TCP wrapper no sendto).
local ASOKONLY = { setlimit = true }

-- wrapper:throttle_receive(bps), wrapper:throttle_send(bps): asok's own
-- methods, on every class
methods.throttle_receive, methods.throttle_send = methodof.throttle_receive, methodof.throttle_send
ASOKONLY.throttle_receive, ASOKONLY.throttle_send = true, true

-- wrapper:socks4_connect(...), wrapper:socks5_connect(...): asok's own
-- methods of stream clients (a connected TCP or unix stream socket)
local CLIENTONLY = { socks4_connect = true, socks5_connect = true }
methods.socks4_connect, methods.socks5_connect = methodof.socks4_connect, methodof.socks5_connect

--- wrapper:dirty(): true if asok holds received data not yet read.
methods.dirty = method(function(self)
  local raw = checkraw(self, "dirty")
  local h = handles[raw]
  if h ~= nil and buffered(h) then return true end
  -- what LuaSocket buffered for an object closed before asok used it
  -- (stream.lua's leftover: served by LuaSocket's own receive)
  local own = P.own(raw, "dirty")
  return own ~= nil and own(raw) and true or false
end)

--- wrapper:gettimeout(): the asynchronous timeouts (block, total).
methods.gettimeout = method(function(self)
  local raw = checkraw(self, "gettimeout")
  local h = handles[raw] or handle(raw)
  if not h then return P.peektimeout(raw) end -- asok cannot register the fd (yet)
  return gettimeout(h)
end)

--- wrapper:getstats(): received, sent, age: every byte through the socket,
--- whether asok or LuaSocket itself moved it (LuaSocket's counters + asok's).
methods.getstats = method(function(self)
  local raw = checkraw(self, "getstats", "tcp{client}")
  local h = handles[raw] or handle(raw)
  if not h then return P.own(raw, "getstats")(raw) end -- asok cannot register the fd: LuaSocket's
  return statsof(raw, h)
end)

--- wrapper:setstats(received, sent, age): LuaSocket's setstats; asok's own
--- counters restart from 0 so that getstats reports exactly these values.
methods.setstats = method(function(self, received, sent, age)
  local raw = checkraw(self, "setstats", "tcp{client}")
  -- LuaSocket's luaL_optnumber (not for age: buffer.c ignores a bad one)
  if received ~= nil and not tonumber(received) then
    margerror(2, "setstats", "number expected, got " .. type(received), 2)
  end
  if sent ~= nil and not tonumber(sent) then margerror(3, "setstats", "number expected, got " .. type(sent), 2) end
  local h = handles[raw] or handle(raw)
  if not h then return P.own(raw, "setstats")(raw, received, sent, age) end -- LuaSocket's alone
  local one = setstatsof(raw, h, received, sent, age)
  return one
end)

local forwarders = {}

-- wrapped returns the LuaSocket object of wrapper self, for a forwarded
-- method fname; a bad self is "bad argument #1" (LuaSocket's own method
-- would check its class: the object must be this wrapper's).
local function wrapped(self, fname)
  if rawmeta(self) ~= Wrapper then
    local class = classof(self)
    margerror(1, fname, "asok wrapper expected, got " .. (class or type(self)), 3)
  end
  return rawget(self, RAW)
end

-- rethrow passes on the results of pcall(call, ...) in a forwarder, or
-- raises its error at the forwarder's caller: LuaSocket's argument errors
-- then carry the user's position, not the forwarder's.
-- LuaSocket called raw:k(...): its numbers and name are a method call's,
-- reworded for the call the user made (margerror), e.g. pcall(w.k, w, x).
local function rethrow(ok, ...)
  if ok then return ... end
  reraise((...), "^asok%.forwarder:%d+: (.*)$", 2)
end

-- forwarder returns a method calling raw[k] with the raw object as self.
-- For a name, it is compiled as raw:k(...) in a non-tail call, so that
-- LuaSocket's argument errors name the method ('?' otherwise) and count
-- its arguments as a method's.
local function forwarder(k)
  local f = forwarders[k]
  if not f and type(k) == "string" and k:match("^[%a_][%w_]*$") then
    f = loadchunk(("local wrapped, rethrow, pcall = ...\n"
      .. "local function id(...) return ... end\n"
      .. "local function call(raw, ...) return id(raw:%s(...)) end\n"
      .. "return function(self, ...) local raw = wrapped(self, %q); return id(rethrow(pcall(call, raw, ...))) end")
      :format(k, k), "=asok.forwarder")(wrapped, rethrow, pcall)
  elseif not f then
    f = function(self, ...)
      local raw = wrapped(self, tostring(k))
      return raw[k](raw, ...)
    end
  end
  forwarders[k] = method(f)
  return f
end

local setpeername = P.setpeername

Wrapper.__index = function(self, k)
  local m = methods[k]
  local raw = rawget(self, RAW)
  local v = raw[k]
  if m ~= nil and (v ~= nil or ASOKONLY[k]) then return m end
  if m ~= nil and CLIENTONLY[k] and STREAM[classof(raw)] then return m end
  if type(v) == "function" then
    -- TCP's and unix streams' setpeername is LuaSocket's connect under
    -- another name (UDP's never waits: forwarded)
    if k == "setpeername" then
      local class = classof(raw) or ""
      if class:sub(1, 4) == "tcp{" or class == "unixstream{master}" then return setpeername end
    end
    return forwarder(k)
  end
  return v
end

Wrapper.__tostring = function(self)
  return "asok{" .. tostring(rawget(self, RAW)) .. "}"
end

Wrapper.__close = function(self) M.close(self) end
