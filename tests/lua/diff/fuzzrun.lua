-- diff/fuzzrun.lua: runs one sequence of the differential fuzzer
-- (diff/fuzzgen.lua) on a connected pair and records every result. The
-- peer is always a plain LuaSocket object driven in the same process,
-- without ever blocking (timeout 0, small sends); the client is a plain
-- LuaSocket object (the reference) or one of asok's styles. Records are
-- harness.lua's; addresses that differ between runs (the peer's and the
-- client's ports and paths) are recorded as "$PEERPORT", "$SELFPORT",
-- "$PEERPATH", "$SELFPATH", so that a wrong address still shows.
local socket = require("socket")
local unix = require("socket.unix")
local H = require("harness")
local F = {}
local unpack = table.unpack or unpack

-- LOOP is the loopback address every TCP and UDP socket here binds to:
-- not 127.0.0.1, where other tests (of this suite or run beside it) send
-- datagrams to ports they believe closed, which a client here may hold
F.LOOP = "127.0.0.2"

-- tmppath returns a fresh socket path (removed by F.cleanup).
local made = {}
local function tmppath(tag)
  local p = os.tmpname()
  os.remove(p)
  p = p .. "." .. tag
  made[#made + 1] = p
  return p
end

-- cleanup removes the socket paths this module made.
function F.cleanup()
  for i, p in ipairs(made) do os.remove(p); made[i] = nil end
end

-- listeners: kind -> {raw listener, address}; one per kind and process.
local listeners = {}

-- listener returns the plain listener of kind "tcp" or "unix", and its
-- port or path.
local function listener(kind)
  local l = listeners[kind]
  if l then return l[1], l[2] end
  local raw, addr
  if kind == "tcp" then
    raw = assert(socket.bind(F.LOOP, 0, 64))
    local _, port = raw:getsockname()
    addr = tonumber(port)
  else
    addr = tmppath("fzl")
    raw = assert(unix.stream and unix.stream() or unix())
    assert(raw:bind(addr)); assert(raw:listen(64))
  end
  listeners[kind] = { raw, addr }
  return raw, addr
end

-- closelisteners closes the listeners (and the asok wrapper given for a
-- native listener, if any).
function F.closelisteners()
  for k, l in pairs(listeners) do l[1]:close(); listeners[k] = nil end
end

-- pair returns a connected stream pair {client = raw, peer = raw} for kind
-- ("tcp"/"unix"); with accept (a function taking the connecting socket's
-- address, returning the client) the peer connects and accept makes the
-- client (asok's native clients); subst maps the addresses to placeholders.
function F.stream_pair(kind, accept)
  local l, addr = listener(kind)
  local ctx = { kind = kind, subst = {} }
  local c
  -- (bound first: both ends on F.LOOP, whichever connects)
  if kind == "tcp" then c = assert(socket.tcp()); assert(c:bind(F.LOOP, 0)) else c = assert(unix.stream and unix.stream() or unix()) end
  if accept then
    if kind == "tcp" then assert(c:connect(F.LOOP, accept.port)) else assert(c:connect(accept.path)) end
    ctx.peer, ctx.client = c, assert(accept.accept())
  else
    if kind == "tcp" then assert(c:connect(F.LOOP, addr)) else assert(c:connect(addr)) end
    ctx.client, ctx.peer = c, assert(l:accept())
  end
  if kind == "tcp" then
    local _, pport = ctx.peer:getsockname()
    local _, cport = ctx.peer:getpeername()
    ctx.subst[tonumber(pport)] = "$PEERPORT"; ctx.subst[tostring(pport)] = "$PEERPORT"
    ctx.subst[tonumber(cport)] = "$SELFPORT"; ctx.subst[tostring(cport)] = "$SELFPORT"
  else
    ctx.subst[accept and accept.path or addr] = "$PEERPATH"
  end
  ctx.peer:settimeout(0)
  if kind == "tcp" then
    -- no Nagle on either end: each small send is in the other's buffer
    -- when it returns (fuzzgen.lua keeps the client's on)
    assert(ctx.peer:setoption("tcp-nodelay", true))
    assert(ctx.client:setoption("tcp-nodelay", true))
  end
  return ctx
end

-- dgram_pair returns a datagram pair for kind ("udp"/"unixdg"): both bound
-- (UDP on F.LOOP), not connected.
function F.dgram_pair(kind)
  local ctx = { kind = kind, subst = {} }
  if kind == "udp" then
    ctx.peer = assert(socket.udp()); assert(ctx.peer:setsockname(F.LOOP, 0))
    -- the client is bound to a port asked for by number: bound to port 0,
    -- setpeername("*") would let it go (Linux's udp_disconnect) and the
    -- next send would take another, a different one in every run
    local probe = assert(socket.udp()); assert(probe:setsockname(F.LOOP, 0))
    local _, cport = probe:getsockname()
    probe:close()
    ctx.client = assert(socket.udp()); assert(ctx.client:setsockname(F.LOOP, cport))
    local _, pport = ctx.peer:getsockname()
    ctx.peeraddr = { F.LOOP, tonumber(pport) }
    ctx.selfaddr = { F.LOOP, tonumber(cport) }
    ctx.subst[tonumber(pport)] = "$PEERPORT"; ctx.subst[tostring(pport)] = "$PEERPORT"
    ctx.subst[tonumber(cport)] = "$SELFPORT"; ctx.subst[tostring(cport)] = "$SELFPORT"
  else
    local pp, cp = tmppath("fzp"), tmppath("fzc")
    ctx.peer = assert(unix.dgram()); assert(ctx.peer:bind(pp))
    ctx.client = assert(unix.dgram()); assert(ctx.client:bind(cp))
    ctx.peeraddr, ctx.selfaddr = { pp }, { cp }
    ctx.subst[pp] = "$PEERPATH"; ctx.subst[cp] = "$SELFPATH"
  end
  ctx.peer:settimeout(0)
  return ctx
end

-- port names a port in a record: "$PEERPORT", "$SELFPORT", or
-- "$OTHERPORT" for one of neither (a UDP object LuaSocket's setpeername
-- made anew after close binds a port of its own, a different one in every
-- run).
-- A client's own port (getsockname, m) is never the peer's while the peer
-- is open; after the peer's close the kernel may give its freed port to a
-- client socket made anew (one chance in the ephemeral range's size, as
-- likely in either run): that is "$OTHERPORT" too, not "$PEERPORT".
-- (Seen once, thirty-first round, ASan run: seed 1 udp, the function
-- style's two getsockname after a reopen named "$PEERPORT", the
-- reference's "$OTHERPORT"; it did not come back in reruns.)
local function port(ctx, x, m)
  local name = ctx.subst[x] or x -- (record has named the known ones)
  if name == "$PEERPORT" and m == "getsockname" then return "$OTHERPORT" end
  if ctx.subst[x] then return name end
  if tonumber(x) then return "$OTHERPORT" end
  return x
end

-- ADDRESS: the calls that return a port (UDP and TCP), and where
local ADDRESS = { getsockname = 2, getpeername = 2, receivefrom = 3 }

-- record packs results with the context's addresses replaced (m: the
-- method called, nil for a peer step).
local function record(ctx, vary, m, ...)
  local v = H.pack(...)
  for i = 1, v.n do
    local x = v[i]
    if (type(x) == "string" or type(x) == "number") and ctx.subst[x] then v[i] = ctx.subst[x] end
  end
  local at = ADDRESS[m]
  if at and (ctx.kind == "tcp" or ctx.kind == "udp") and v.n >= at and v[1] ~= nil then
    v[at] = port(ctx, v[at], m)
  end
  return H.record(vary, unpack(v, 1, v.n))
end

-- drain reads what the peer has, without waiting: a stream's "*a" (data,
-- or nil, err, partial), a datagram socket's every datagram with its
-- sender, then its last answer.
local function drain(ctx)
  local p = ctx.peer
  if ctx.kind == "tcp" or ctx.kind == "unix" then return p:receive("*a") end
  local got = {}
  for _ = 1, 20 do
    local d, a, b = p:receivefrom()
    if not d then got[#got + 1] = tostring(a); break end
    got[#got + 1] = d .. "@" .. tostring(ctx.subst[a] or a) .. ":" .. tostring(b and port(ctx, b))
  end
  return table.concat(got, "|")
end

-- peer runs one peer step (plain LuaSocket, never blocking).
local function peer(ctx, st)
  local p, op = ctx.peer, st[2]
  if op == "send" then return p:send(st[3])
  elseif op == "drain" then return drain(ctx)
  elseif op == "shutdown" then return p:shutdown("send")
  elseif op == "close" then return p:close()
  elseif op == "reset" then
    p:setoption("linger", { on = true, timeout = 0 })
    return p:close()
  elseif op == "sendto" then
    return p:sendto(st[3], unpack(ctx.selfaddr))
  end
  error("fuzzrun: unknown peer step " .. tostring(op))
end

-- args returns a client step's arguments ("$PEER": the peer's address,
-- one value or two).
local function args(ctx, st)
  local a = { n = 0 }
  for i = 3, st.n do
    if st[i] == "$PEER" then
      for _, v in ipairs(ctx.peeraddr) do a.n = a.n + 1; a[a.n] = v end
    else a.n = a.n + 1; a[a.n] = st[i] end
  end
  return a
end

-- lacks tells whether a plain LuaSocket object of kind has no method m
-- (Debian's 3.1.0 unix stream sockets have no getpeername or gettimeout):
-- asok lacking it too then agrees with the reference's error.
local plain = {}
function F.lacks(kind, m)
  if not plain[kind] then
    local o
    if kind == "tcp" then o = socket.tcp() elseif kind == "udp" then o = socket.udp()
    elseif kind == "unix" then o = unix.stream and unix.stream() or unix()
    else o = unix.dgram() end
    plain[kind] = getmetatable(o).__index
    o:close()
  end
  local idx = plain[kind]
  if type(idx) == "table" then return idx[m] == nil end
  return true
end

-- VARY: the values that depend on time (getstats' age).
local VARY = { getstats = { [3] = true } }

-- run runs sequence seq on ctx.client (obj: the object the client calls
-- go to, default ctx.client) through api (harness.lua's H.run API:
-- api.call(obj, method, args) -> status, packed results); recs is filled
-- in as steps finish (a coroutine that dies leaves what it did).
function F.run(seq, ctx, api, obj, recs)
  recs = recs or {}
  obj = obj or ctx.client
  for i, st in ipairs(seq) do
    if st[1] == "P" then
      local ok, res = pcall(function() return H.pack(peer(ctx, st)) end)
      if ok then recs[i] = record(ctx, nil, nil, unpack(res, 1, res.n))
      else recs[i] = { err = tostring(res) } end
    else
      local status, res = api.call(obj, st[2], args(ctx, st))
      if status == "lacks" and F.lacks(ctx.kind, st[2]) then recs[i] = { err = res[1] }
      elseif status == "lacks" then recs[i] = { err = res[1], lacks = true }
      elseif not status then recs[i] = { err = tostring(res[1]) }
      else recs[i] = record(ctx, VARY[st[2]], st[2], unpack(res, 1, res.n)) end
    end
  end
  return recs
end

-- finish closes both ends of ctx (and obj, the client's asok face).
function F.finish(ctx, obj)
  if obj and obj ~= ctx.client then pcall(obj.close, obj) end
  pcall(ctx.client.close, ctx.client)
  pcall(ctx.peer.close, ctx.peer)
end

-- describe renders step st for a report.
function F.show(st)
  local parts = {}
  for i = 2, st.n do
    local v = st[i]
    if type(v) == "string" then
      v = #v > 40 and string.format("%q...<%d bytes>", v:sub(1, 30), #v) or string.format("%q", v)
    else v = tostring(v) end
    parts[#parts + 1] = v
  end
  return (st[1] == "P" and "peer " or "client ") .. table.concat(parts, " ")
end

-- ref is the plain-LuaSocket API (the reference).
F.ref = {}

-- ref.call calls method m of the raw socket, catching errors.
function F.ref.call(obj, m, a)
  local f = obj[m]
  if not f then return false, { n = 1, "LuaSocket object has no method " .. m } end
  local ok, res = pcall(function() return H.pack(f(obj, unpack(a, 1, a.n))) end)
  if not ok then return false, { n = 1, res } end
  return true, res
end

-- setup returns the context for kind, plain LuaSocket on both ends.
function F.setup(kind)
  if kind == "tcp" or kind == "unix" then return F.stream_pair(kind) end
  return F.dgram_pair(kind)
end

-- name returns the name of seed's sequence of kind.
function F.name(seed, kind) return "fz" .. seed .. "_" .. kind end

return F
