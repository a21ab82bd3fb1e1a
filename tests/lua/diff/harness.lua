-- diff/harness.lua: records, comparison and the client-side scenario runner
-- of the differential suite. A *record* is what one call returned:
--   {n = select('#', ...), d = {descriptor of each value}}  or  {err = msg}
-- A descriptor is a string holding the value's type, its math.type on 5.3+
-- ("integer"/"float"; "number" before 5.3) and its exact value (strings with
-- %q, floats with %.17g), so comparing descriptors compares values,
-- subtypes and byte-exact strings at once.
local socket = require("socket")
local H = {}

local mathtype = math.type
local unpack = table.unpack or unpack

-- big returns the deterministic n-byte string the peer also uses.
local bigcache = {}
function H.big(n)
  if not bigcache[n] then
    local unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    bigcache[n] = string.rep(unit, math.floor(n / #unit) + 1):sub(1, n)
  end
  return bigcache[n]
end

-- describe turns one Lua value into its comparable descriptor.
function H.describe(v)
  local t = type(v)
  if t == "nil" then return "nil" end
  if t == "boolean" then return "boolean:" .. tostring(v) end
  if t == "string" then
    -- long strings: length-prefixed raw bytes (as exact as %q, and cheap
    -- enough not to stall asok's reactor while a coroutine records 8 MiB)
    if #v > 1024 then return "string:#" .. #v .. ":" .. v end
    return "string:" .. string.format("%q", v)
  end
  if t == "number" then
    local mt = mathtype and mathtype(v) or "number"
    if mt == "integer" then return "integer:" .. string.format("%d", v) end
    if v ~= v then return mt .. ":nan" end
    if v == math.huge or v == -math.huge then return mt .. ":" .. (v > 0 and "inf" or "-inf") end
    return mt .. ":" .. string.format("%.17g", v)
  end
  if t == "table" then
    local keys, parts = {}, {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do parts[#parts + 1] = H.describe(k) .. "=" .. H.describe(v[k]) end
    return "table:{" .. table.concat(parts, ",") .. "}"
  end
  return t
end

-- record packs a call's results; vary (a set of value indexes) keeps only
-- the type of values that legitimately depend on timing or the process.
function H.record(vary, ...)
  local r = { n = select("#", ...), d = {} }
  for i = 1, r.n do
    local v = select(i, ...)
    local d = H.describe(v)
    if vary and vary[i] then d = d:match("^[^:]*") .. ":<varies>" end
    r.d[i] = d
  end
  return r
end

-- show renders a record for a report (long strings shortened).
function H.show(r)
  if r == nil then return "<no call>" end
  if r.err then return "error: " .. r.err end
  local parts = {}
  for i = 1, r.n do
    local d = r.d[i]
    if #d > 120 then d = d:sub(1, 80) .. "...<" .. #d .. " chars>" end
    parts[i] = d
  end
  return "n=" .. r.n .. " (" .. table.concat(parts, ", ") .. ")"
end

-- same tells whether two records agree. Raised errors agree with raised
-- errors (their messages name different functions by design).
function H.same(a, b)
  if a == nil or b == nil then return a == b end
  if a.err or b.err then
    return a.err ~= nil and b.err ~= nil and not a.lacks and not b.lacks
  end
  if a.n ~= b.n then return false end
  for i = 1, a.n do if a.d[i] ~= b.d[i] then return false end end
  return true
end

-- compare checks got (list of records) against want; returns a list of
-- difference strings, one per differing call, naming scenario and style.
function H.compare(name, style, want, got)
  local diffs = {}
  local n = math.max(#want, #got)
  if want.count then n = math.max(n, want.count) end
  for i = 1, n do
    if not H.same(want[i], got[i]) then
      diffs[#diffs + 1] = string.format("%s [%s] call %d: expected %s, got %s",
        name, style, i, H.show(want[i]), H.show(got[i]))
      if got[i] and got[i].err and got[i + 1] == nil and i < n then
        diffs[#diffs + 1] = string.format("%s [%s] calls %d..%d: not run after that error",
          name, style, i + 1, n)
        break
      end
    end
  end
  return diffs
end

-- encode writes a scenario's records in an exact, length-prefixed form.
function H.encode(out, name, recs)
  out:write("S ", name, " ", #recs, "\n")
  for _, r in ipairs(recs) do
    if r.err then
      out:write("E ", #r.err, "\n", r.err, "\n")
    else
      out:write("R ", r.n, "\n")
      for i = 1, r.n do out:write(#r.d[i], "\n", r.d[i], "\n") end
    end
  end
end

-- decode reads what encode wrote; returns {name = records} for all scenarios.
function H.decode(inp)
  local all = {}
  local function lenstr()
    local len = tonumber(inp:read("*l")); local s = inp:read(len); inp:read("*l"); return s
  end
  while true do
    local line = inp:read("*l")
    if not line then break end
    local name, count = line:match("^S (%S+) (%d+)$")
    if name then
      local recs = {}
      for i = 1, tonumber(count) do
        local kind, x = inp:read("*l"):match("^(%a) (%d+)$")
        if kind == "E" then
          local msg = inp:read(tonumber(x)); inp:read("*l"); recs[i] = { err = msg }
        else
          local r = { n = tonumber(x), d = {} }
          for j = 1, r.n do r.d[j] = lenstr() end
          recs[i] = r
        end
      end
      all[name] = recs
    end
  end
  return all
end

-- gather decodes the output of each reference process of procs (popen
-- handles), closes them, and returns all their scenarios' records merged
-- into one {name = records}.
function H.gather(procs)
  local all = {}
  for _, p in ipairs(procs) do
    for name, recs in pairs(H.decode(p)) do all[name] = recs end
    p:close()
  end
  return all
end

-- H.made: the unix datagram client paths H.open bound; H.cleanup removes them.
H.made = {}

-- cleanup removes the paths H.open bound.
function H.cleanup()
  for i, path in ipairs(H.made) do os.remove(path); H.made[i] = nil end
end

-- announce returns the first datagram of a datagram client of scenario s:
-- "<name> <nonce>", the nonce unique to this client (the process's start
-- time and a table address, and a count), so that the peer tells a new
-- client on a reused port from the gone one it served (peer.lua).
local nonces = 0
local noncebase = string.format("%x%s", math.floor(socket.gettime() * 1e6),
  tostring({}):match("0x(%x+)") or "")
function H.announce(s)
  nonces = nonces + 1
  return s.name .. " " .. noncebase .. "-" .. nonces
end

-- open connects a raw LuaSocket object for scenario s and announces it to
-- the peer (setup, not compared). env holds the peer's ports and path.
-- connect defaults to LuaSocket's blocking connect (the reference side);
-- the asok side passes asok.connect so that opening a connection never
-- blocks the reactor the other scenarios run on.
function H.open(s, env, connect)
  connect = connect or function(c, ...) return c:connect(...) end
  local proto = s.proto or "tcp"
  local c
  if proto == "tcp" then c = assert(socket.tcp()); assert(connect(c, "127.0.0.1", env.tcp4))
  elseif proto == "tcp6" then
    c = assert(socket.tcp6()); assert(connect(c, "::1", env.tcp6))
  elseif proto == "unix" then
    local unix = require("socket.unix")
    c = assert(unix.stream and unix.stream() or unix()); assert(c:connect(env.unix))
  elseif proto == "master" then return assert(socket.tcp())
  elseif proto == "master6" then return assert(socket.tcp6())
  elseif proto == "udp" or proto == "udpc" then
    -- the announce's sendto binds the port (no datagram can reach it
    -- before the peer has the announce queued: see peer.lua's sessions);
    -- setpeername keeps that port
    c = assert(socket.udp()); assert(c:sendto(H.announce(s), "127.0.0.1", env.udp))
    if proto == "udpc" then assert(c:setpeername("127.0.0.1", env.udp)) end
    return c
  elseif proto == "unixdg" or proto == "unixdgc" then
    -- bound to a path of its own (the peer answers there), removed by H.cleanup
    local unix = require("socket.unix")
    local path = os.tmpname()
    os.remove(path)
    path = path .. ".dgc"
    H.made[#H.made + 1] = path
    c = assert(unix.dgram()); assert(c:bind(path))
    if proto == "unixdg" then assert(c:sendto(H.announce(s), env.unix .. ".dg"))
    else assert(c:connect(env.unix .. ".dg")); assert(c:send(H.announce(s))) end
    return c
  else error("unknown proto " .. proto) end
  assert(c:send(s.name .. "\n"))
  return c
end

-- args builds the arguments of client call c, replacing placeholders:
-- "$TCP4" "$TCP6" "$UDP" "$DEADPORT" (ports as numbers), "$UDPSTR" (as a
-- string), "$UNIX" (path), "$UNIXDG" (the peer's unix datagram path),
-- "$NOPATH" (a path nothing is bound to), "$LONGPATH" (108 bytes), "$NAME"
-- inside a string (the scenario name),
-- "$P" (third result of the previous call), {big = n} (H.big(n)).
function H.args(c, env, s, prev)
  local a = { n = (c.n or #c) - 1 }
  for i = 2, a.n + 1 do
    local v = c[i]
    if type(v) == "table" and v.big then v = H.big(v.big)
    elseif v == "$TCP4" then v = env.tcp4
    elseif v == "$TCP6" then v = env.tcp6
    elseif v == "$UDP" then v = env.udp
    elseif v == "$UDPSTR" then v = tostring(env.udp)
    elseif v == "$DEADPORT" then v = env.dead
    elseif v == "$UNIX" then v = env.unix
    elseif v == "$UNIXDG" then v = env.unix .. ".dg"
    elseif v == "$NOPATH" then v = env.unix .. ".none"
    elseif v == "$LONGPATH" then v = "/tmp/" .. string.rep("p", 103)
    elseif v == "$P" then v = prev and prev[3]
    elseif type(v) == "string" then v = v:gsub("%$NAME", s.name) end
    a[i - 1] = v
  end
  return a
end

-- run executes scenario s's client calls on obj through api and returns
-- its records (progress, if given, is filled in as calls finish).
-- api.call(obj, method, args) returns status, packed results where status
-- is true, false (the call raised; packed[1] is the message) or "lacks"
-- (the API has no such function); api.sleep(t) sleeps.
function H.run(s, obj, api, env, progress)
  local recs, prev = progress or {}, nil
  for i, c in ipairs(s.client) do
    local a = H.args(c, env, s, prev)
    if c[1] == "sleep" then
      api.sleep(a[1]); recs[i] = H.record(nil)
    else
      local status, res = api.call(obj, c[1], a)
      if status == "lacks" then recs[i] = { err = res[1], lacks = true }; break end
      if not status then recs[i] = { err = tostring(res[1]) }; break end
      prev = res
      recs[i] = H.record(s.vary and s.vary[i], unpack(res, 1, res.n))
    end
  end
  return recs
end

-- pack is table.pack for every Lua version.
function H.pack(...) return { n = select("#", ...), ... } end

return H
