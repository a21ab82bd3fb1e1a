-- socks_server.lua: a small SOCKS4/SOCKS5 proxy and a line echo server for
-- test_socks.lua, as asok coroutines in the test's own process.
--   local S = dofile("socks_server.lua")
--   local eport = S.echo()
--   local pport, state = S.proxy{ user = "u", password = "p" } -- auth optional
-- state.last holds the last CONNECT request the proxy decoded:
-- { version = 4|5, atyp = 1|3|4, host = "...", port = n, user = "..." }.
--   S.stop() closes every listener started (their acceptors then end).
local asok = require "asok"
local socket = require "socket"

local S = {}
local servers = {} -- every listener started, for S.stop

-- listen starts an asok acceptor running serve(client) per connection.
local function listen(serve)
  local server = assert(socket.bind("127.0.0.1", 0, 64))
  local _, port = server:getsockname()
  servers[#servers + 1] = server
  asok.spawn(function()
    while true do
      local c = asok.accept(server)
      if not c then return end
      asok.spawn(serve, c)
    end
  end)
  return tonumber(port), server
end

-- echo starts a line echo server; returns its port.
function S.echo()
  return (listen(function(c)
    while true do
      local line = asok.receive(c, "*l")
      if not line then break end
      asok.send(c, line .. "\n")
    end
    c:close()
  end))
end

-- relay copies lines from a to b until either closes.
local function relay(a, b)
  while true do
    local line = asok.receive(a, "*l")
    if not line or not asok.send(b, line .. "\n") then break end
  end
  a:close(); b:close()
end

-- dial connects to host:port; returns the socket or nil, err.
local function dial(host, port)
  local t = socket.tcp()
  local ok, err = asok.connect(t, host, port)
  if not ok then t:close(); return nil, err end
  return t
end

-- be16 decodes a big-endian 16-bit number.
local function be16(s) return s:byte(1) * 256 + s:byte(2) end

-- socks4 serves one SOCKS4 request (the version byte already read).
local function socks4(c, state)
  local hdr = asok.receive(c, 7)
  if not hdr then return c:close() end
  local user = {}
  while true do
    local ch = asok.receive(c, 1)
    if not ch then return c:close() end
    if ch == "\0" then break end
    user[#user + 1] = ch
  end
  local host = ("%d.%d.%d.%d"):format(hdr:byte(4, 7))
  local port = be16(hdr:sub(2, 3))
  state.last = { version = 4, host = host, port = port, user = table.concat(user) }
  local t = dial(host, port)
  if not t then asok.send(c, "\0\91\0\0\0\0\0\0"); return c:close() end
  asok.send(c, "\0\90" .. hdr:sub(2, 7))
  asok.spawn(relay, t, c)
  relay(c, t)
end

-- socks5addr reads a SOCKS5 address of type atyp; returns it as text.
local function socks5addr(c, atyp)
  if atyp == 1 then
    local a = asok.receive(c, 4)
    return a and ("%d.%d.%d.%d"):format(a:byte(1, 4))
  elseif atyp == 3 then
    local n = asok.receive(c, 1)
    return n and asok.receive(c, n:byte())
  elseif atyp == 4 then
    local a = asok.receive(c, 16)
    if not a then return nil end
    local g = {}
    for i = 1, 16, 2 do g[#g + 1] = ("%x"):format(be16(a:sub(i, i + 1))) end
    return table.concat(g, ":")
  end
end

-- socks5 serves one SOCKS5 request (the version byte already read).
local function socks5(c, state, opts)
  local n = asok.receive(c, 1)
  local methods = n and asok.receive(c, n:byte())
  if not methods then return c:close() end
  local user
  if opts.user then
    if not methods:find("\2", 1, true) then asok.send(c, "\5\255"); return c:close() end
    asok.send(c, "\5\2")
    local v, ulen = asok.receive(c, 1), asok.receive(c, 1)
    user = ulen and asok.receive(c, ulen:byte())
    local plen = asok.receive(c, 1)
    local pw = plen and (plen == "\0" and "" or asok.receive(c, plen:byte()))
    if v ~= "\1" or user ~= opts.user or pw ~= opts.password then
      asok.send(c, "\1\1"); return c:close()
    end
    asok.send(c, "\1\0")
  else
    if not methods:find("\0", 1, true) then asok.send(c, "\5\255"); return c:close() end
    asok.send(c, "\5\0")
  end
  local req = asok.receive(c, 4)
  if not req then return c:close() end
  local atyp = req:byte(4)
  local host = socks5addr(c, atyp)
  local p = host and asok.receive(c, 2)
  if not p then return c:close() end
  state.last = { version = 5, atyp = atyp, host = host, port = be16(p), user = user }
  if atyp == 4 then asok.send(c, "\5\8\0\1\0\0\0\0\0\0"); return c:close() end
  local t, err = dial(host, be16(p))
  if not t then
    asok.send(c, (err == "connection refused" and "\5\5" or "\5\4") .. "\0\1\0\0\0\0\0\0")
    return c:close()
  end
  asok.send(c, "\5\0\0\3\9localhost" .. p) -- a domain-name bound address
  asok.spawn(relay, t, c)
  relay(c, t)
end

-- proxy starts a SOCKS4/5 proxy (opts.user/opts.password: SOCKS5 requires
-- them); returns its port and its state table.
function S.proxy(opts)
  opts = opts or {}
  local state = {}
  local port = listen(function(c)
    local v = asok.receive(c, 1)
    if v == "\4" then return socks4(c, state) end
    if v == "\5" then return socks5(c, state, opts) end
    c:close()
  end)
  return port, state
end

-- closer starts a server that closes every connection at once.
function S.closer()
  return (listen(function(c) c:close() end))
end

-- stop closes every listener started: each acceptor's parked accept
-- returns 'closed' and its coroutine ends. Connections being served end
-- when their clients close.
function S.stop()
  for i = #servers, 1, -1 do
    servers[i]:close()
    servers[i] = nil
  end
end

return S
