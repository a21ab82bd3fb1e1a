-- test_require_yield.lua - asok.require's copies of LuaSocket's protocol
-- modules, on what test_protocols.lua does not reach:
-- * their entry points (http.request, ftp.put...) run inside
--   socket.protect, which Lua 5.1 and LuaJIT cannot yield across: many
--   coroutines in them at once must all yield (no blocked call, counted
--   with asok._debug.blocked), where PUC 5.1 died of "C stack overflow"
--   at about 65 nested blocked calls;
-- * socket.ftp's select of its control connection during a STOR, with
--   that connection's fd past 1,024 (socket.select: "descriptor too
--   large for set size");
-- * socket.http's "http-chunked" source and sink, which it adds to
--   socket.sourcet/sinkt: the copy's stay off the program's socket table;
-- * error results (refused, bad URL, a socket.try exception, an error
--   raised through protect) as plain LuaSocket's.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local ltn12 = require "ltn12"

-- what the program's socket table holds before any copy is loaded
local chunked_source = rawget(socket.sourcet, "http-chunked")
local chunked_sink = rawget(socket.sinkt, "http-chunked")

local http = asok.require("socket.http")
local ftp = asok.require("socket.ftp")
local HOST = "127.0.0.1"

T.eq(rawget(socket.sourcet, "http-chunked"), chunked_source, "program's socket.sourcet left alone")
T.eq(rawget(socket.sinkt, "http-chunked"), chunked_sink, "program's socket.sinkt left alone")

-- listen: an asok listener with a backlog for every client at once (a
-- burst of connects past LuaSocket's default 32 meets SYN cookies)
local function listen()
  local s = asok.wrap(assert(socket.bind(HOST, 0, 1024)), 30)
  local _, port = s:getsockname()
  return s, tonumber(port)
end

local maxblocked = 0
local function sample() maxblocked = math.max(maxblocked, asok._debug.blocked()) end

------------------------------------------------------------------------
-- an HTTP server: "/" answers "ok", "/chunked" a chunked body
------------------------------------------------------------------------
local hsrv, hport = listen()
asok.spawn(function()
  while true do
    local c = hsrv:accept()
    if not c then break end
    asok.spawn(function()
      c:settimeout(30)
      local first = c:receive("*l")
      while true do
        local l = c:receive("*l")
        if not l or l == "" then break end
      end
      sample()
      asok.sleep(0.01) -- every client is inside http.request meanwhile
      sample()
      if first and first:find(" /chunked ", 1, true) then
        c:send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" ..
          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
      else
        c:send("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
      end
      c:close()
    end)
  end
end)

-- N coroutines, each waits once (so the reactor, not the main thread,
-- resumes it into http.request), then all are inside http.request at once
local N = 80
local got, finished = {}, 0
for i = 1, N do
  asok.spawn(function()
    asok.sleep(0)
    local body, code = http.request("http://" .. HOST .. ":" .. hport .. "/")
    sample()
    got[i] = tostring(body) .. " " .. tostring(code)
    finished = finished + 1
  end)
end
T.run(function() return finished == N end, 60)
T.eq(finished, N, "http clients finished")
local okcount = 0
for i = 1, N do if got[i] == "ok 200" then okcount = okcount + 1 end end
T.eq(okcount, N, "http.request gave 'ok', 200 to every client")
T.eq(maxblocked, 0, "no call blocked inside http.request (protect yields)")

-- a chunked reply through the copy's own "http-chunked" source
local chunked
asok.spawn(function()
  local parts = {}
  local r, code = http.request { url = "http://" .. HOST .. ":" .. hport .. "/chunked",
    sink = ltn12.sink.table(parts) }
  chunked = T.pack(r, code, table.concat(parts))
end)
T.run(function() return chunked ~= nil end, 20)
T.same(chunked or T.pack(), T.pack(1, 200, "hello world"), "chunked body through asok.require's socket.http")
T.eq(rawget(socket.sourcet, "http-chunked"), chunked_source, "program's socket.sourcet still left alone")

------------------------------------------------------------------------
-- errors: the copies return what plain LuaSocket's modules return
------------------------------------------------------------------------
local probe = assert(socket.bind(HOST, 0))
local _, closedport = probe:getsockname()
probe:close()
local plainhttp, plainftp = require "socket.http", require "socket.ftp"
local cases = {
  { "http refused", "request", "http://" .. HOST .. ":" .. closedport .. "/" },
  { "http no host", "request", "http:///x" },
  { "http table without url", "request", {} },
  { "ftp refused", "get", "ftp://" .. HOST .. ":" .. closedport .. "/f" },
  { "ftp wrong scheme", "get", "http://" .. HOST .. "/f" },
  { "ftp no host", "put", { path = "/x", source = ltn12.source.string("") } },
  { "ftp bad type", "get", "ftp://" .. HOST .. ":" .. closedport .. "/f;type=x" },
}
for _, case in ipairs(cases) do
  local name, fn, arg = case[1], case[2], case[3]
  local mod, plain = fn == "request" and http or ftp, fn == "request" and plainhttp or plainftp
  local want = T.pack(pcall(plain[fn], arg))
  local res
  asok.spawn(function() res = T.pack(pcall(mod[fn], arg)) end)
  T.run(function() return res ~= nil end, 20)
  T.same(res or T.pack(), want, name)
end

------------------------------------------------------------------------
-- socket.ftp's STOR with its control connection's fd past 1,024
------------------------------------------------------------------------
local stored
local fsrv, fport = listen()
asok.spawn(function()
  while true do
    local c = fsrv:accept()
    if not c then break end
    asok.spawn(function()
      c:settimeout(30)
      local pasv
      local function reply(s) c:send(s .. "\r\n") end
      reply("220 ready")
      while true do
        local line = c:receive("*l")
        if not line then break end
        local verb = line:match("^(%a+)"):upper()
        if verb == "USER" then reply("331 password")
        elseif verb == "PASS" then reply("230 in")
        elseif verb == "TYPE" then reply("200 type")
        elseif verb == "EPSV" then
          local port
          pasv, port = listen()
          reply("229 Entering Extended Passive Mode (|||" .. port .. "|)")
        elseif verb == "STOR" then
          reply("150 go")
          local d = pasv:accept()
          pasv:close()
          d:settimeout(30)
          local all, _, partial = d:receive("*a")
          d:close()
          stored = all or partial
          reply("226 done")
        elseif verb == "QUIT" then reply("221 bye"); break
        else reply("502 no") end
      end
      c:close()
    end)
  end
end)
-- files hold the fds below 1,030 (a LuaSocket object has none before
-- its first connect or bind)
local filler, lastfd = {}, -1
repeat
  local ok, f = pcall(io.open, "/dev/null")
  if not (ok and f) then break end
  filler[#filler + 1] = f
  local s = socket.tcp()
  s:bind(HOST, 0) -- makes the fd: the next one free
  lastfd = s:getfd()
  s:close()
until lastfd >= 1030 or #filler > 5000
T.check(lastfd >= 1030, "fds past 1,030 in use", lastfd)
local data = string.rep("0123456789abcdef", 8192) -- 128 KiB: 64 pump steps
local put
asok.spawn(function()
  put = T.pack(pcall(ftp.put, { host = HOST, port = fport, user = "u", password = "p",
    path = "/f", type = "i", source = ltn12.source.string(data) }))
end)
T.run(function() return put ~= nil end, 30)
-- the bytes sent, from getstats: a float, as LuaSocket's
T.same(put or T.pack(), T.pack(true, #data + 0.0), "ftp.put with fds past 1,024")
T.eq(stored and #stored, #data, "the server stored the upload")
T.eq(stored == data, true, "byte for byte")
for _, f in ipairs(filler) do f:close() end
filler = nil

hsrv:close(); fsrv:close()
hsrv, fsrv = nil, nil
T.done("test_require_yield")
