-- An HTTP/1.1 keep-alive server on asok, and three clients in the same
-- process: socket.http over asok wrappers (with timeouts and a redirect),
-- and a hand-written keep-alive pool of wrappers shared by five coroutines.
-- A child (http_judge.lua) makes socket.http's requests with plain
-- LuaSocket against the same server; every result must be the same.
local socket = require "socket"
local http   = require "socket.http"
local ltn12  = require "ltn12"
local asok   = require "asok"
local leaks  = dofile("leaks.lua")
local reqs   = dofile("http_reqs.lua")

-- the server ---------------------------------------------------------------
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, port = server:getsockname()
local accepted, served = 0, 0
local function respond(c, code, body, extra)
  local h = { ("HTTP/1.1 %d %s"):format(code, code == 200 and "OK" or code == 302 and "Found" or "Not Found") }
  for _, kv in ipairs(extra or {}) do h[#h + 1] = kv end
  if body then h[#h + 1] = "Content-Length: " .. #body end
  return c:send(table.concat(h, "\r\n") .. "\r\n\r\n" .. (body or ""))
end
local serving = 0
local function serve(c)
  serving = serving + 1
  c:settimeout(5)
  while true do
    local line, err = c:receive("*l")
    if not line then break end
    local path = line:match("^GET (%S+) HTTP/1%.%d\r?$")
    local close = false
    while true do
      local h = c:receive("*l")
      if not h or h == "" or h == "\r" then break end
      if h:lower():match("^connection:.*close") then close = true end
    end
    served = served + 1
    if not path then respond(c, 404, "bad request"); break end
    local n = tonumber(path:match("^/big/(%d+)$"))
    if path == "/hello" then respond(c, 200, "hello world", { "X-Served: " .. served, "Set-Cookie: a=1", "Set-Cookie: b=2" })
    elseif n then respond(c, 200, ("0123456789abcdef"):rep(math.floor(n / 16) + 1):sub(1, n))
    elseif path == "/chunked" then
      c:send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
      for i = 1, 5 do c:send(("%x\r\n%s\r\n"):format(i * 100, ("c"):rep(i * 100))); asok.sleep(0) end
      c:send("0\r\n\r\n")
    elseif path == "/slow" then
      c:send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
      asok.sleep(3); close = true    -- the client's 1 s timeout ends first
    elseif path == "/redirect" then respond(c, 302, "", { "Location: http://127.0.0.1:" .. port .. "/hello" })
    elseif path == "/close" then c:send("HTTP/1.1 200 OK\r\n\r\nuntil the end"); close = true
    else respond(c, 404, "no " .. path) end
    if close then break end
  end
  c:close()
  serving = serving - 1
end
asok.spawn(function()
  while true do
    local c = server:accept()
    if not c then break end
    accepted = accepted + 1
    asok.spawn(serve, c)
  end
end)

-- socket.http through asok ---------------------------------------------------
http.TIMEOUT = 1
local function create() return asok.wrap(socket.tcp()) end
-- the scheme's default create covers the simple form and a redirect's hop
-- (the README: socket.http's redirect drops the request's create)
local saved = http.schemes.http.create
http.schemes.http.create = function() return create end
local mine = {}
local pending = 0
for i, r in ipairs(reqs) do
  pending = pending + 1
  asok.spawn(function()
    mine[i] = reqs.run(http, ltn12, port, r, create)
    pending = pending - 1
  end)
end

-- the keep-alive pool ------------------------------------------------------
local pool, made = {}, 0
local function request(path)
  local c = table.remove(pool)
  if not c then
    c = asok.wrap(socket.tcp(), 1)
    assert(c:connect("127.0.0.1", port))
    made = made + 1
  end
  local ok, err = c:send("GET " .. path .. " HTTP/1.1\r\nHost: x\r\n\r\n")
  local status, err = c:receive("*l")
  if not status then c:close(); return nil, err end
  local len
  while true do
    local h, err = c:receive("*l")
    if not h then c:close(); return nil, err end
    if h == "" then break end
    len = tonumber(h:match("^Content%-Length: (%d+)")) or len
  end
  local body, err, part = c:receive(len)
  if not body then c:close(); return nil, err, part end
  pool[#pool + 1] = c
  return status, body
end
local pool_results = {}
for w = 1, 5 do
  pending = pending + 1
  asok.spawn(function()
    for k = 1, 20 do
      local path = (k % 3 == 0) and ("/big/" .. (w * 1000 + k)) or "/hello"
      local status, body = request(path)
      assert(status == "HTTP/1.1 200 OK", tostring(status))
      assert(#body == (k % 3 == 0 and w * 1000 + k or 11))
    end
    -- a stalled response: the pool's timeout ends it with the partial body
    local s, err, part = request("/slow")
    pool_results[w] = table.concat({ tostring(s), tostring(err), tostring(part) }, " ")
    pending = pending - 1
  end)
end

-- the judge ------------------------------------------------------------------
local judged
asok.spawn(function()
  pending = pending + 1
  local out = os.tmpname()
  assert(os.execute(arg[-1] .. " http_judge.lua " .. port .. " > " .. out .. " &"))
  local text
  repeat
    asok.sleep(0.05)
    local f = io.open(out); text = f and f:read("*a"); if f then f:close() end
  until text and text:match("\nEND\n$")
  os.remove(out)
  judged = text
  pending = pending - 1
end)

local steps = 0
while pending > 0 do asok.select(nil, nil, 0.1); steps = steps + 1; assert(steps < 600, "stuck: " .. pending) end
http.schemes.http.create = saved

local text = {}
for i = 1, #reqs do text[#text + 1] = mine[i] end
text = table.concat(text, "\n") .. "\nEND\n"
if text ~= judged then
  io.stderr:write("asok:\n", text, "\nLuaSocket:\n", judged, "\n")
  error("socket.http through asok differs from plain LuaSocket")
end
for w = 1, 5 do assert(pool_results[w] == "nil timeout 12345", pool_results[w]) end
assert(made == 5, "pool made " .. made .. " connections")
for _, c in ipairs(pool) do c:close() end
pool = nil
while serving > 0 do asok.select(nil, nil, 0.1); steps = steps + 1; assert(steps < 600, "server stuck") end
server:close(); server = nil
print(("ok: %d socket.http requests as LuaSocket's, pool: %d requests on %d connections, %d accepted, %s"):format(
  #reqs, 5 * 21, made, accepted, leaks()))
