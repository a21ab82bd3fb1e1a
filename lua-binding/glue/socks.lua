-- glue/socks.lua - asok.socks4_connect and asok.socks5_connect: the
-- SOCKS handshakes over a connected stream socket, through asok.send and
-- asok.receive.
local M, P = ...

local ONE, margerror, checkraw = P.ONE, P.margerror, P.checkraw
local twins = P.twins
local type, tostring, tonumber = type, tostring, tonumber

-- ipv4bytes returns the 4 bytes of a dotted IPv4 literal, or nil.
local function ipv4bytes(s)
  local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return string.char(a, b, c, d)
end

-- ipv6groups parses colon-separated hex groups ("" -> none), or nil.
local function ipv6groups(part, out)
  if part == "" then return out end
  for g in (part .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then return nil end
    out[#out + 1] = tonumber(g, 16)
  end
  return out
end

-- ipv6bytes returns the 16 bytes of an IPv6 literal ("::1", "[fe80::1]",
-- "::ffff:1.2.3.4"), or nil.
local function ipv6bytes(s)
  s = s:match("^%[(.*)%]$") or s
  if not s:find(":", 1, true) then return nil end
  local head, v4 = s:match("^(.*:)([%d%.]+)$")
  if v4 and v4:find(".", 1, true) then -- embedded IPv4 tail: two groups
    local b = ipv4bytes(v4)
    if not b then return nil end
    s = head .. ("%x:%x"):format(b:byte(1) * 256 + b:byte(2), b:byte(3) * 256 + b:byte(4))
  end
  local left, right = s, nil
  local dbl = s:find("::", 1, true)
  if dbl then
    left, right = s:sub(1, dbl - 1), s:sub(dbl + 2)
    if right:find("::", 1, true) then return nil end
  end
  local l, r = ipv6groups(left, {}), ipv6groups(right or "", {})
  if not l or not r then return nil end
  if dbl then
    if #l + #r > 7 then return nil end
    for _ = 1, 8 - #l - #r do l[#l + 1] = 0 end
  elseif #l ~= 8 then return nil end
  for i = 1, #r do l[#l + 1] = r[i] end
  local bytes = {}
  for i = 1, 8 do bytes[i] = string.char(math.floor(l[i] / 256), l[i] % 256) end
  return table.concat(bytes)
end

-- checkport returns argument n as a port 0..65535 or raises.
local function checkport(port, n, fname)
  local p = tonumber(port)
  if not p or p < 0 or p > 65535 or p % 1 ~= 0 then
    margerror(n, fname, "port expected, got " .. (p and tostring(port) or type(port)), 3)
  end
  return string.char(math.floor(p / 256), p % 256)
end

-- checkname returns argument n: nil if allowed, else a string of min..255
-- bytes without NUL (SOCKS length-prefixed or NUL-terminated fields).
local function checkname(v, n, fname, optional, min)
  if v == nil and optional then return nil end
  if type(v) ~= "string" then
    margerror(n, fname, "string expected, got " .. type(v), 3)
  end
  if #v < min or #v > 255 or v:find("\0", 1, true) then
    margerror(n, fname, ("string of %d to 255 bytes without NUL expected"):format(min), 3)
  end
  return v
end

-- exchange sends req on sok (unless nil) and receives n bytes.
local function exchange(sok, req, n)
  if req then
    local sent, err = M.send(sok, req)
    if not sent then return nil, err end
  end
  return M.receive(sok, n)
end

local SOCKS4_ERRORS = {
  [91] = "socks4: request rejected or failed",
  [92] = "socks4: request rejected: the proxy cannot reach the client's identd",
  [93] = "socks4: request rejected: identd reports a different user id",
}

--- asok.socks4_connect(sok, ip, port [, user]): asks the SOCKS4 proxy sok
-- (already connected to it) to CONNECT to ip:port (IPv4 literal). Returns
-- 1, or nil and LuaSocket's error ('closed', 'timeout') or a "socks4: ..."
-- message.
twins("socks4_connect", function(fname) return function(sok, ip, port, user)
  checkraw(sok, fname, "tcp{client}")
  local addr = type(ip) == "string" and ipv4bytes(ip)
  if not addr then
    margerror(2, "socks4_connect", "IPv4 address expected, got " .. (type(ip) == "string" and ("'" .. ip .. "'") or type(ip)), 2)
  end
  local p = checkport(port, 3, "socks4_connect")
  user = checkname(user, 4, "socks4_connect", true, 0) or ""
  local reply, err = exchange(sok, "\4\1" .. p .. addr .. user .. "\0", 8)
  if not reply then return nil, err end
  local vn, cd = reply:byte(1, 2)
  if vn ~= 0 then return nil, "socks4: invalid reply (not a SOCKS4 proxy?)" end
  if cd == 90 then return ONE end
  return nil, SOCKS4_ERRORS[cd] or ("socks4: request failed (reply code %d)"):format(cd)
end end)

local SOCKS5_ERRORS = {
  [1] = "socks5: general SOCKS server failure",
  [2] = "socks5: connection not allowed by ruleset",
  [3] = "socks5: network unreachable",
  [4] = "socks5: host unreachable",
  [5] = "socks5: connection refused",
  [6] = "socks5: TTL expired",
  [7] = "socks5: command not supported",
  [8] = "socks5: address type not supported",
}

-- socks5auth runs RFC 1928 method negotiation and, if the proxy picks it,
-- RFC 1929 username/password authentication. Returns true or nil, err.
local function socks5auth(sok, user, password)
  local reply, err = exchange(sok, user and "\5\2\0\2" or "\5\1\0", 2)
  if not reply then return nil, err end
  local ver, method = reply:byte(1, 2)
  if ver ~= 5 then return nil, "socks5: invalid reply (not a SOCKS5 proxy?)" end
  if method == 0 then return true end
  if method == 255 then
    return nil, user and "socks5: no acceptable authentication method"
      or "socks5: no acceptable authentication method (the proxy wants a user name and password?)"
  end
  if method ~= 2 or not user then return nil, "socks5: proxy chose an authentication method not offered" end
  reply, err = exchange(sok, "\1" .. string.char(#user) .. user .. string.char(#password) .. password, 2)
  if not reply then return nil, err end
  if reply:byte(2) ~= 0 then return nil, "socks5: authentication failed" end
  return true
end

--- asok.socks5_connect(sok, host, port [, user, password]): asks the SOCKS5
-- proxy sok (already connected to it) to CONNECT to host:port (IPv4/IPv6
-- literal or a name the proxy resolves). Returns 1, or nil and LuaSocket's
-- error ('closed', 'timeout') or a "socks5: ..." message.
twins("socks5_connect", function(fname) return function(sok, host, port, user, password)
  checkraw(sok, fname, "tcp{client}")
  checkname(host, 2, "socks5_connect", false, 1)
  local p = checkport(port, 3, "socks5_connect")
  user = checkname(user, 4, "socks5_connect", true, 1)
  password = checkname(password, 5, "socks5_connect", true, 0)
  if password and password ~= "" and not user then -- it would not be sent
    margerror(4, "socks5_connect", "user name expected with a password", 2)
  end
  password = password or (user and "")
  local addr = ipv4bytes(host)
  if addr then addr = "\1" .. addr
  else
    addr = ipv6bytes(host)
    addr = addr and "\4" .. addr or "\3" .. string.char(#host) .. host
  end
  local ok, err = socks5auth(sok, user, password)
  if not ok then return nil, err end
  local reply
  reply, err = exchange(sok, "\5\1\0" .. addr .. p, 4)
  if not reply then return nil, err end
  local ver, rep, _, atyp = reply:byte(1, 4)
  if ver ~= 5 then return nil, "socks5: invalid reply (not a SOCKS5 proxy?)" end
  if rep ~= 0 then return nil, SOCKS5_ERRORS[rep] or ("socks5: request failed (reply code %d)"):format(rep) end
  local rest = atyp == 1 and 6 or atyp == 4 and 18 or nil
  if atyp == 3 then
    local len
    len, err = M.receive(sok, 1)
    if not len then return nil, err end
    rest = len:byte() + 2
  end
  if not rest then return nil, "socks5: invalid reply (address type)" end
  local bound
  bound, err = M.receive(sok, rest) -- the bound address: not needed
  if not bound then return nil, err end
  return ONE
end end)
