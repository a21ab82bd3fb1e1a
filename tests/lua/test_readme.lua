-- test_readme.lua - README.md's ```lua blocks run as written. Each block is
-- taken from README.md itself, given the smallest scaffold it needs (the
-- peer or server it talks to, the globals it assumes: `server`, `client`,
-- `http`, `ltn12`) and run in a child process with this interpreter; its
-- output is compared with what the README says the block does. Fixed ports
-- become free ones; nothing else of a block is changed. The ftp/smtp block
-- (ports 21 and 25, fixed in its URL) is only compiled here: it was run by
-- hand against local servers, and tests/lua/test_protocols.lua runs the
-- same calls. The table's example column is not extracted (fragments).
-- The C block is built as README says and run against a peer (Lua 5.4 only).
local T = dofile("asoktest.lua")
local socket = require "socket"

local f = assert(io.open("../../README.md"))
local readme = f:read("*a")
f:close()
local blocks = {}
for code in readme:gmatch("\n```lua\n(.-)\n```") do blocks[#blocks + 1] = code end
T.eq(#blocks, 8, "README's lua blocks (a new one needs a case here)")
local compile = loadstring or load
for i, b in ipairs(blocks) do
  local fn, err = compile(b, "=README block " .. i)
  T.check(fn ~= nil, "block", i, "compiles:", err)
end

-- freeport returns a port nothing listens on now.
local function freeport()
  local s, port = T.listener()
  s:close()
  return port
end

-- run writes pre .. block .. post to a file, runs it and returns its output
-- (coreutils' timeout ends a child that hangs: a block that broke)
local function run(pre, block, post)
  local name = os.tmpname()
  local out = assert(io.open(name, "w"))
  out:write(pre, "\n", block, "\n", post, "\n")
  out:close()
  local p = assert(io.popen("timeout 30 " .. T.interp() .. " " .. name .. " 2>&1"))
  local got = p:read("*a")
  p:close()
  os.remove(name)
  return got
end

local HEAD = 'local socket = require "socket"\nlocal asok = require "asok"\n'

-- 1: the echo server; a client coroutine sends three lines (one empty),
-- reads the echoes, and ends the process from the block's select loop.
local port = freeport()
T.eq(run((HEAD .. [[
local select = asok.select
asok.select = function(...) if STOP then os.exit(0) end return select(...) end
asok.spawn(function()
  asok.sleep(0)
  local c = asok.wrap(socket.tcp(), 5)
  assert(asok.connect(c, "127.0.0.1", PORT))
  for _, l in ipairs{"hello", "", "world"} do c:send(l .. "\n"); print((c:receive("*l"))) end
  c:close()
  STOP = true
end)]]):gsub("PORT", port), (blocks[1]:gsub("8080", port)), ""), "hello\n\nworld\n", "block 1: echo server")

-- 2: spawn, connect to a SOCKS5 proxy (a coroutine here), socks5_connect,
-- asok.xpcall around a receive; select over `server` on the main thread.
T.eq(run(HEAD .. [[
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local proxy = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, PROXY = proxy:getsockname()
asok.spawn(function()
  local c = proxy:accept()
  c:receive(1); c:receive(c:receive(1):byte()); c:send("\5\0")
  c:receive(4); local host = c:receive(c:receive(1):byte()); local p = c:receive(2)
  print(host, p:byte(1) * 256 + p:byte(2))
  c:send("\5\0\0\1\127\0\0\1\0\80HTTP/1.0 200 OK\r\n")
  c:close()
end)
local xpcall = asok.xpcall
asok.xpcall = function(...) local ok, line = xpcall(...); print(ok, line); return ok, line end]],
  (blocks[2]:gsub("1080", "PROXY")), "print(#r, #w, err)"),
  "example.org\t80\ntrue\tHTTP/1.0 200 OK\n0\t0\ttimeout\n", "block 2: spawn, socks5, xpcall, select")

-- 3: a generator over a native client's lines
T.eq(run(HEAD .. [[
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local ip, port = server:getsockname()
local peer = assert(socket.connect(ip, port))
client = server:accept()
peer:send("one\ntwo\nthree\n"); peer:close()]], blocks[3], "asok.select()"),
  "one\ntwo\nthree\n", "block 3: asok.coroutine.wrap generator")

-- an HTTP server coroutine on PORT answering one request with "hello"
local HTTPD = HEAD .. [[
local http, ltn12 = require "socket.http", require "ltn12"
local server = asok.wrap(assert(socket.bind("127.0.0.1", PORT)))
asok.spawn(function()
  local c = server:accept()
  repeat local l = c:receive() until l == ""
  c:send("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"); c:close()
end)
local wrap = asok.wrap
WRAPS = 0
asok.wrap = function(...) WRAPS = WRAPS + 1; return wrap(...) end
]]

-- 4: socket.http through a wrapper given as create
port = freeport()
T.eq(run(HTTPD:gsub("PORT", port) .. [[
local request, sinktable = http.request, ltn12.sink.table
http.request = function(...) local ok, code = request(...); print(ok, code); return ok, code end
ltn12.sink.table = function(t) PARTS = t; return sinktable(t) end]],
  (blocks[4]:gsub("8080", port)), "asok.select(); print(table.concat(PARTS), WRAPS)"),
  "1\t200\nhello\t1\n", "block 4: http.request with create")

-- 6: socket.http's scheme default made asok's: a request without create
port = freeport()
T.eq(run(HTTPD:gsub("PORT", port), blocks[6], ([[
asok.spawn(function() local body, code = http.request("http://127.0.0.1:PORT/"); print(body, code) end)
asok.select(); print(WRAPS)]]):gsub("PORT", port)),
  "hello\t200\n1\n", "block 6: http.schemes.http.create")

-- 7: socket.smtp loaded with asok's coroutines: a body source that waits
-- in asok (the connection itself is a wrapper, through create)
T.eq(run(HEAD, blocks[7], [[
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, port = server:getsockname()
asok.spawn(function()
  local c = server:accept()
  c:send("220 hi\r\n")
  while true do
    local line = c:receive(); if not line then break end
    if line == "DATA" then
      c:send("354 go\r\n")
      repeat local l = c:receive(); if l:match("^chunk") then print(l) end until l == "."
    end
    c:send(line == "QUIT" and "221 bye\r\n" or "250 ok\r\n")
  end
end)
asok.spawn(function()
  local n = 0
  local body = function() n = n + 1; if n > 2 then return nil end; asok.sleep(0); return "chunk" .. n .. "\r\n" end
  print(smtp.send{ from = "<a@x>", rcpt = "<b@x>", server = "127.0.0.1", port = port,
    create = function() return asok.wrap(socket.tcp()) end,
    source = smtp.message{ headers = { subject = "hi" }, body = body } })
end)
asok.select()]]), "chunk1\nchunk2\n1\n", "block 7: socket.smtp with asok.coroutine")

-- 8: a throttled UDP echo; a LuaSocket peer sends and reads the echo
T.eq(run(HEAD, blocks[8], [[
local peer = socket.udp(); peer:setsockname("127.0.0.1", 0); peer:settimeout(5)
peer:sendto("ping", u:getsockname())
asok.select()
print(peer:receive())]]), "ping\n", "block 8: UDP echo")

-- README's C block, built with the command README gives (cc, -I and -L
-- beside this interpreter's module: build/lib/lua/<abi>/ -> build/), its
-- port made a free one, once (on Lua 5.4); a LuaSocket peer sends a line.
local cblock = readme:match("\n```c\n(.-)\n```")
T.check(cblock ~= nil, "README has a C block")
local libdir = (os.getenv("LUA_CPATH") or ""):match("^(.-)/lua/[%d.]+/%?%.so")
if cblock and libdir and _VERSION == "Lua 5.4" and not jit then
  port = freeport()
  local src, exe = os.tmpname() .. ".c", os.tmpname()
  local out = assert(io.open(src, "w"))
  out:write((cblock:gsub("8080", port)))
  out:close()
  local cc = string.format("cc %s -o %s -I%s/../include -L%s -lasok -Wl,-rpath,%s 2>&1",
    src, exe, libdir, libdir, libdir)
  local p = assert(io.popen(cc))
  T.eq(p:read("*a"), "", "the C block compiles without a warning")
  p:close()
  p = assert(io.popen("timeout 30 " .. exe))
  local peer
  for _ = 1, 200 do -- until the program listens
    peer = socket.connect("127.0.0.1", port)
    if peer then break end
    socket.sleep(0.05)
  end
  T.check(peer ~= nil, "the C block's server accepts")
  if peer then peer:send("hello C\n"); peer:close() end
  T.eq(p:read("*a"), "success: hello C\n", "the C block's output")
  p:close()
  os.remove(src); os.remove(src:sub(1, -3)); os.remove(exe)
end

T.done("readme")
