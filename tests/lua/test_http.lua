-- test_http.lua - LuaSocket's own protocol modules over asok: socket.http
-- and socket.smtp (through socket.protect, a C pcall) with asok wrappers
-- as their sockets, against servers of asok coroutines in the same
-- process; and pcall around a waiting call. Where the coroutine cannot
-- yield (socket.protect on 5.1 and LuaJIT, pcall on 5.1, a gsub callback
-- anywhere) asok blocks while running the reactor, so the in-process
-- server is served meanwhile; elsewhere it yields.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"

local BIG = 100000

-- the server: one coroutine per request, HTTP/1.1 with Connection: close
local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, port = server:getsockname()
local base = "http://127.0.0.1:" .. port
local served, silent = 0, {}

local function respond(c)
  local reqline = c:receive("*l")
  if not reqline then c:close(); return end
  local headers = {}
  while true do
    local l = c:receive("*l")
    if not l or l == "" then break end
    local k, v = l:match("^(.-):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  local body = ""
  if headers["content-length"] then
    body = c:receive(tonumber(headers["content-length"])) or "<short body>"
  end
  local method, path = reqline:match("^(%u+) (%S+)")
  if path == "/chunked" then
    c:send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for i = 1, 5 do
      local s = string.rep(string.char(96 + i), i * 1000)
      c:send(("%x\r\n%s\r\n"):format(#s, s))
      asok.sleep(0.001)
    end
    c:send("0\r\n\r\n")
  elseif path == "/until-closed" then
    c:send("HTTP/1.0 200 OK\r\n\r\n" .. string.rep("y", BIG))
  elseif path == "/missing" then
    c:send("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
  elseif path == "/redirect" then
    c:send("HTTP/1.1 302 Found\r\nLocation: /get-redirected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
  elseif path == "/silent" then
    silent[#silent + 1] = c -- never answers; the client's timeout ends it
    return
  else
    local r = method .. " " .. path .. " " .. body
    c:send("HTTP/1.1 200 OK\r\nContent-Length: " .. #r .. "\r\nConnection: close\r\n\r\n" .. r)
  end
  c:close()
  served = served + 1
end

asok.spawn(function()
  while true do
    local c = server:accept()
    if not c then break end
    asok.spawn(respond, c)
  end
end)

local function create() return asok.wrap(socket.tcp()) end

-- request runs one socket.http request with a table sink; returns the
-- body, then request's results.
local function request(t)
  local parts = {}
  t.create, t.sink = create, ltn12.sink.table(parts)
  local r = T.pack(http.request(t))
  return table.concat(parts), r
end

-- a closed port for 'connection refused'
local probe = assert(socket.bind("127.0.0.1", 0))
local _, closedport = probe:getsockname()
probe:close()

local N = 20
local results, finished = {}, 0
for i = 1, N do
  asok.spawn(function()
    local res = {}
    res.get = { request { url = base .. "/get" .. i } }
    res.chunked = { request { url = base .. "/chunked" } }
    local data = "hello " .. i
    res.post = { request { url = base .. "/post", method = "POST",
      source = ltn12.source.string(data), headers = { ["content-length"] = #data } } }
    res.closed = { request { url = base .. "/until-closed" } }
    res.missing = { request { url = base .. "/missing" } }
    res.simple = T.pack(http.request { url = base .. "/s" .. i, create = create,
      sink = ltn12.sink.null() })
    res.refused = T.pack(http.request { url = "http://127.0.0.1:" .. closedport .. "/", create = create })
    results[i] = res
    finished = finished + 1
  end)
end
T.run(function() return finished == N end, 20)
T.eq(finished, N, "requests finished")

local chunked = ""
for i = 1, 5 do chunked = chunked .. string.rep(string.char(96 + i), i * 1000) end
for i = 1, N do
  local res = results[i]
  if T.check(res, "request set", i, "finished") then
    T.eq(res.get[1], "GET /get" .. i .. " ", "GET body " .. i)
    T.eq(res.get[2][1], 1, "GET result"); T.eq(res.get[2][2], 200, "GET code")
    T.eq(res.get[2][3]["content-length"], tostring(#("GET /get" .. i .. " ")), "GET headers")
    T.eq(res.chunked[1], chunked, "chunked body " .. i)
    T.eq(res.chunked[2][2], 200, "chunked code")
    T.eq(res.post[1], "POST /post hello " .. i, "POST body " .. i)
    T.eq(res.closed[1], string.rep("y", BIG), "until-closed body " .. i)
    T.eq(res.closed[2][2], 200, "until-closed code")
    T.eq(res.missing[1], "nope", "404 body"); T.eq(res.missing[2][2], 404, "404 code")
    T.eq(res.missing[2][4], "HTTP/1.1 404 Not Found", "404 status line")
    T.eq(res.simple[1], 1, "sink.null result"); T.eq(res.simple[2], 200, "sink.null code")
    T.same(res.refused, T.pack(nil, "connection refused"), "refused")
  end
end
T.eq(served, 6 * N, "requests served") -- 7 per set; the refused one never arrives

-- socket.http's timeout becomes the wrapper's asynchronous timeout
local oldtimeout = http.TIMEOUT
http.TIMEOUT = 0.2
local timedout
asok.spawn(function() timedout = T.pack(http.request { url = base .. "/silent", create = create }) end)
T.run(function() return timedout ~= nil end, 10)
http.TIMEOUT = oldtimeout
T.same(timedout or T.pack(), T.pack(nil, "timeout"), "request to a silent server")
for _, c in ipairs(silent) do c:close() end

-- a followed redirect: socket.http drops create= for the next hop, so
-- README's recipe makes asok the scheme's default; every hop then yields
-- (the server is in this process: a blocking hop would wait for it until
-- http.TIMEOUT and fail)
local oldcreate = http.schemes.http.create
http.schemes.http.create = function() return function() return asok.wrap(socket.tcp()) end end
http.TIMEOUT = 2
local redirected
asok.spawn(function()
  local parts = {}
  local r = T.pack(http.request { url = base .. "/redirect", sink = ltn12.sink.table(parts) })
  redirected = { table.concat(parts), r }
end)
T.run(function() return redirected ~= nil end, 10)
http.TIMEOUT, http.schemes.http.create = oldtimeout, oldcreate
if T.check(redirected, "redirected request finished") then
  T.eq(redirected[1], "GET /get-redirected ", "redirected body")
  T.eq(redirected[2][1], 1, "redirected result"); T.eq(redirected[2][2], 200, "redirected code")
end

-- asok.require("socket.http"): a copy whose socket.tcp makes wrappers,
-- so every hop, a followed redirect included, yields with no create and
-- no scheme default (a blocking hop would wait for this process's server
-- until its TIMEOUT and fail)
do
  local ahttp = asok.require("socket.http")
  T.check(ahttp ~= http and package.loaded["socket.http"] == http, "asok.require leaves require's module alone")
  ahttp.TIMEOUT = 2
  local got
  asok.spawn(function()
    local parts = {}
    local r = T.pack(ahttp.request { url = base .. "/redirect", sink = ltn12.sink.table(parts) })
    local body = T.pack(ahttp.request(base .. "/string-form"))
    got = { table.concat(parts), r, body }
  end)
  T.run(function() return got ~= nil end, 10)
  if T.check(got, "asok.require'd socket.http finished") then
    T.eq(got[1], "GET /get-redirected ", "redirected body (asok.require)")
    T.eq(got[2][1], 1, "redirected result (asok.require)"); T.eq(got[2][2], 200, "redirected code (asok.require)")
    T.eq(got[3][1], "GET /string-form ", "string-form body (asok.require)"); T.eq(got[3][2], 200, "string-form code")
  end
end

-- socket.smtp (socket.tp over an asok wrapper) against an asok server
local smtpd = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, smtpport = smtpd:getsockname()
local mail, verbs = {}, {}
asok.spawn(function()
  local c = smtpd:accept()
  c:send("220 asok test\r\n")
  local indata = false
  while true do
    local l = c:receive("*l")
    if not l then break end
    if indata then
      if l == "." then indata = false; c:send("250 queued\r\n") else mail[#mail + 1] = l end
    else
      local verb = l:match("^(%u+)")
      verbs[#verbs + 1] = verb
      if verb == "EHLO" then c:send("250-asok\r\n250 OK\r\n")
      elseif verb == "DATA" then indata = true; c:send("354 go on\r\n")
      elseif verb == "QUIT" then c:send("221 bye\r\n"); break
      else c:send("250 ok\r\n") end
    end
  end
  c:close()
end)
local smtp = require "socket.smtp"
local sent
asok.spawn(function()
  sent = T.pack(smtp.send { from = "<a@example.org>", rcpt = { "<b@example.org>", "<c@example.org>" },
    server = "127.0.0.1", port = smtpport, create = create,
    source = smtp.message { headers = { subject = "asok" }, body = "line one\r\n.dot line" } })
end)
T.run(function() return sent ~= nil end, 10)
if T.check(sent, "smtp.send finished") then T.same(sent, T.pack(1), "smtp.send result") end
T.eq(table.concat(verbs, " "), "EHLO MAIL RCPT RCPT DATA QUIT", "SMTP dialogue")
T.eq(mail[#mail - 1], "line one", "mail body line 1")
T.eq(mail[#mail], "..dot line", "mail body line 2, dot-stuffed")
smtpd:close()

-- smtp.message runs its parts in a coroutine of its own: a body source
-- that waits in asok needs socket.smtp loaded with asok's coroutines
-- (README); then the source gives the body's chunks, nothing else
do
  package.loaded["socket.smtp"] = nil
  local loaded = package.loaded.coroutine
  package.loaded.coroutine = asok.coroutine
  local smtp2 = require "socket.smtp"
  package.loaded.coroutine = loaded
  local n = 0
  local src = smtp2.message { headers = { subject = "x" }, body = function()
    if n < 3 then
      n = n + 1
      asok.sleep(0.01)
      return "line " .. n .. "\r\n"
    end
  end }
  local chunks
  asok.spawn(function()
    local t = {}
    while true do
      local chunk, err = src()
      if not chunk then t[#t + 1] = "end:" .. tostring(err); break end
      t[#t + 1] = type(chunk) == "string" and (chunk:match("^line %d") or "hdr") or type(chunk)
    end
    chunks = table.concat(t, " ")
  end)
  T.run(function() return chunks ~= nil end, 10)
  T.eq(chunks, "hdr line 1 line 2 line 3 end:nil", "smtp.message with a body source that waits")
end

-- pcall around a receive that must wait, then around a send; asok.xpcall too
local a, b = T.pair()
-- The peer is spawned first: where pcall blocks (5.1), the wait runs the
-- reactor, which must find the peer's coroutine already there.
local aw, bw = asok.wrap(a), asok.wrap(b)
asok.spawn(function()
  asok.sleep(0.05)
  bw:send("ping\n")
  local line = bw:receive("*l")
  asok.sleep(0.05)
  bw:send(line:upper())
  asok.sleep(0.05)
  bw:send("in gsub\n")
  asok.sleep(0.05)
  bw:send("nested\n")
end)
local got
asok.spawn(function()
  local r1 = T.pack(pcall(function() return aw:receive("*l") end))
  local r2 = T.pack(pcall(aw.send, aw, "pong\n"))
  local r3 = T.pack(asok.xpcall(function() return aw:receive(4) end, nil))
  -- a C function calling back into Lua: no yield on any version (5.2 has
  -- no coroutine.isyieldable: the binding's probe finds it)
  local r4 = T.pack(string.gsub("x", "x", function() return (aw:receive("*l")) end))
  -- asok.xpcall inside pcall: on 5.1 its helper coroutine can yield, but
  -- the pcall around its driver cannot: asok blocks there too
  local r5 = T.pack(pcall(asok.xpcall, function() return aw:receive("*l") end, nil))
  got = { r1, r2, r3, r4, r5 }
end)
T.run(function() return got ~= nil end, 10)
if T.check(got, "pcall'd calls finished") then
  T.same(got[1], T.pack(true, "ping", nil, nil), "pcall receive")
  T.same(got[2], T.pack(true, 5.0, nil, nil), "pcall send")
  T.same(got[3], T.pack(true, "PONG", nil, nil), "asok.xpcall receive")
  T.same(got[4], T.pack("in gsub", 1), "receive in a gsub callback")
  T.same(got[5], T.pack(true, true, "nested", nil, nil), "asok.xpcall inside pcall")
end
aw:close(); bw:close()
server:close()
a, b, aw, bw, server, silent, smtpd = nil, nil, nil, nil, nil, nil, nil -- T.done counts the live handles
T.done("test_http")
