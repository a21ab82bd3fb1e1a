-- test_protocols.lua - LuaSocket's socket.ftp and socket.smtp clients (with
-- socket.tp, socket.url, ltn12 and mime) over asok, against FTP and SMTP
-- servers of asok coroutines in this process (one coroutine per session),
-- several clients at once; and the same client cases run by plain
-- blocking LuaSocket in a child process against the same servers. Every
-- result (the bytes stored and retrieved, 1 MiB of every byte value and
-- empty files, the mail received byte for byte, error strings of 5xx
-- replies, refused connections, a server closing mid-transfer, timeouts)
-- must be the same both ways.
local T = dofile("asoktest.lua")
local C = dofile("protocols_cases.lua")
local asok = require "asok"
local socket = require "socket"
local ltn12 = require "ltn12"
local mime = require "mime"

-- socket.ftp opens its data connections with socket.tcp() and
-- socket.bind() itself: loaded as README says, they are asok wrappers
local ftp = asok.require("socket.ftp")
local smtp = asok.require("socket.smtp")

local HOST = "127.0.0.1"
local SERVERTIMEOUT = 30 -- a server-side wait never outlives a broken test

-- listen returns an asok wrapper of a new listener on HOST and its port.
local function listen()
  local s = asok.wrap(assert(socket.bind(HOST, 0)), SERVERTIMEOUT)
  local _, port = s:getsockname()
  return s, tonumber(port)
end

-- serve runs session(client) in a coroutine of its own for every client
-- server accepts, until server is closed.
local function serve(server, session)
  asok.spawn(function()
    while true do
      local c = server:accept()
      if not c then break end
      c:settimeout(SERVERTIMEOUT)
      asok.spawn(session, c)
    end
  end)
end

------------------------------------------------------------------------
-- the FTP server: a file table shared by all sessions
------------------------------------------------------------------------
local files, ftpsessions = {}, 0

local function ftpsession(c)
  ftpsessions = ftpsessions + 1
  local st = { cwd = nil }
  local function reply(s) return c:send(s .. "\r\n") end
  -- data opens the session's data connection: accepted on its passive
  -- listener, or connected to the client's (active mode)
  local function data()
    if st.pasv then
      local d = st.pasv:accept()
      st.pasv:close(); st.pasv = nil
      if d then d:settimeout(SERVERTIMEOUT) end
      return d
    elseif st.active then
      local d = asok.wrap(socket.tcp(), SERVERTIMEOUT)
      local ok = d:connect(st.active[1], st.active[2])
      st.active = nil
      if ok then return d end
      d:close()
    end
  end
  local function path(arg)
    arg = arg or ""
    if st.cwd and not arg:find("/") then return st.cwd .. "/" .. arg end
    return arg
  end
  local function names(dir)
    local t = {}
    for name in pairs(files) do
      local base = name:match("^" .. dir:gsub("%p", "%%%0") .. "/([^/]+)$")
      if base then t[#t + 1] = base end
    end
    table.sort(t)
    return t
  end
  reply("220 asok ftpd ready")
  while true do
    local line = c:receive("*l")
    if not line then break end
    local verb, arg = line:match("^(%a+) ?(.*)$")
    verb = (verb or ""):upper()
    if arg == "" then arg = nil end
    if verb == "USER" then reply("331 password please")
    elseif verb == "PASS" then
      if arg == "bad" then reply("530 Login incorrect.") else reply("230 logged in") end
    elseif verb == "TYPE" then reply("200 Type set to " .. tostring(arg))
    elseif verb == "NOOP" then reply("200 NOOP ok")
    elseif verb == "PASV" or verb == "EPSV" then
      if st.pasv then st.pasv:close() end
      local port
      st.pasv, port = listen()
      if verb == "PASV" then
        reply(string.format("227 Entering Passive Mode (127,0,0,1,%d,%d)", math.floor(port / 256), port % 256))
      else
        reply("229 Entering Extended Passive Mode (|||" .. port .. "|)")
      end
    elseif verb == "EPRT" then
      local ip, port = (arg or ""):match("^|1|([%d%.]+)|(%d+)|$")
      if ip then st.active = { ip, tonumber(port) }; reply("200 EPRT ok")
      else reply("501 bad EPRT") end
    elseif verb == "PORT" then
      local a, b, cc, d, p1, p2 = (arg or ""):match("^(%d+),(%d+),(%d+),(%d+),(%d+),(%d+)$")
      if a then st.active = { a .. "." .. b .. "." .. cc .. "." .. d, p1 * 256 + p2 }; reply("200 PORT ok")
      else reply("501 bad PORT") end
    elseif verb == "CWD" then
      if arg and #names(arg) > 0 then st.cwd = arg; reply("250 CWD ok") else reply("550 No such directory") end
    elseif verb == "RETR" and arg == "cut" then
      -- closes mid-transfer: part of the data, then both connections
      reply("150 Opening data connection")
      local d = data()
      if d then d:send(C.BIG:sub(1, 300000)); d:close() end
      break
    elseif verb == "RETR" and arg == "stall" then
      -- 150, then nothing: the client times out and closes the control
      -- connection, which ends this session
      reply("150 Opening data connection")
      local d = data()
      c:receive("*l")
      if d then d:close() end
      break
    elseif verb == "RETR" then
      local content = files[path(arg)]
      if not content then reply("550 No such file")
      else
        reply("150 Opening data connection")
        local d = data()
        if d then
          d:send(content); d:close()
          reply("226 Transfer complete")
        else reply("425 No data connection") end
      end
    elseif verb == "STOR" then
      reply("150 Ready to receive")
      local d = data()
      if d then
        local content, err, partial = d:receive("*a")
        d:close()
        files[path(arg)] = content or partial
        reply("226 Transfer complete")
      else reply("425 No data connection") end
    elseif verb == "NLST" or verb == "LIST" then
      reply("150 Here comes the listing")
      local d = data()
      if d then
        local out = {}
        for _, name in ipairs(names(arg or st.cwd or "")) do
          local full = (arg or st.cwd) .. "/" .. name
          out[#out + 1] = verb == "NLST" and name
            or string.format("-rw-r--r-- 1 ftp ftp %d Dec 07 12:00 %s", #files[full], name)
        end
        d:send(table.concat(out, "\r\n") .. (#out > 0 and "\r\n" or "")); d:close()
        reply("226 Listing sent")
      else reply("425 No data connection") end
    elseif verb == "DELE" then
      if files[path(arg)] then files[path(arg)] = nil; reply("250 Deleted") else reply("550 No such file") end
    elseif verb == "QUIT" then reply("221 Goodbye"); break
    else reply("502 Command not implemented") end
  end
  if st.pasv then st.pasv:close() end
  c:close()
end

------------------------------------------------------------------------
-- the SMTP server: mail[from] = { rcpt = {...}, data = raw DATA bytes }
------------------------------------------------------------------------
local mail = {}

local function smtpsession(c)
  local function reply(s) return c:send(s .. "\r\n") end
  local cur
  reply("220 asok smtpd ready")
  while true do
    local line = c:receive("*l")
    if not line then break end
    local verb, arg = line:match("^(%a+) ?(.*)$")
    verb = (verb or ""):upper()
    if verb == "EHLO" then reply("250-asok\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
    elseif verb == "AUTH" then
      -- AUTH LOGIN: the user and the password, base64, in two steps
      reply("334 VXNlcm5hbWU6")
      local u = c:receive("*l")
      reply("334 UGFzc3dvcmQ6")
      local p = c:receive("*l")
      cur = { auth = (mime.unb64(u or "") or "?") .. ":" .. (mime.unb64(p or "") or "?") }
      reply("235 Authentication successful")
    elseif verb == "MAIL" then
      local from = arg:match("^FROM:%s*(.*)$")
      if from == "<spammer@x>" then reply("553 5.7.1 Sender rejected")
      else cur = { from = from, rcpt = {}, auth = cur and cur.auth }; reply("250 Sender ok") end
    elseif verb == "RCPT" then
      local to = arg:match("^TO:%s*(.*)$")
      if to == "<nobody@example.org>" then reply("550 5.1.1 No such user here")
      else table.insert(cur.rcpt, to); reply("250 Recipient ok") end
    elseif verb == "DATA" then
      reply("354 End data with <CR><LF>.<CR><LF>")
      -- the raw bytes up to the end mark, in whatever pieces they come
      local got = {}
      local acc = ""
      c:settimeout(0.05)
      while true do
        local chunk, err, partial = c:receive(8192)
        local piece = chunk or partial
        if piece ~= "" then acc = acc .. piece end
        if acc:sub(-5) == "\r\n.\r\n" or (err and err ~= "timeout") then break end
      end
      c:settimeout(SERVERTIMEOUT)
      cur.data = acc
      mail[cur.from] = cur
      if cur.from:match("^<close@") then break end -- closes instead of replying
      reply("250 Message accepted")
    elseif verb == "QUIT" then reply("221 Bye"); break
    else reply("502 Command not implemented") end
  end
  c:close()
end

local ftpserver, ftpport = listen()
serve(ftpserver, ftpsession)
local smtpserver, smtpport = listen()
serve(smtpserver, smtpsession)
-- a silent SMTP server: greets, then never answers
local silentserver, silentport = listen()
local silent = {}
serve(silentserver, function(c)
  silent[#silent + 1] = c
  c:send("220 silent\r\n")
  c:receive("*a")
  c:close()
end)
-- a closed port for 'connection refused'
local probe = assert(socket.bind(HOST, 0))
local _, closedport = probe:getsockname()
probe:close()

-- plain runs protocols_cases.lua in a child process (plain blocking
-- LuaSocket, no asok) for phase, while this process serves it; returns
-- its results.
local function plain(phase, sport)
  local out = os.tmpname()
  os.remove(out)
  local cmd = string.format("%s protocols_cases.lua %s %d %d %d %s &", T.interp(), phase, ftpport,
    sport, closedport, out)
  os.execute(cmd)
  local res
  T.run(function()
    local f = io.open(out, "rb")
    if not f then return false end
    local text = f:read("*a"); f:close()
    res = assert(loadstring or load)(text)()
    return true
  end, 120)
  os.remove(out)
  T.check(res, "the plain LuaSocket child finished", phase)
  return res or {}
end

-- compare checks that every result of got is the child's want.
local function compare(got, want, what)
  local names = {}
  for k in pairs(want) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if T.check(got[k], what, k, "missing") then T.same(got[k], want[k], what .. " " .. k) end
  end
  for k in pairs(got) do T.check(want[k], what, k, "not in the plain results") end
end

-- boundaries replaces smtp.message's boundaries (time and random number
-- based) by fixed names, and sorts each header block (socket.smtp sends a
-- table's headers in pairs order, which differs between processes).
local function normalize(msg)
  local n = 0
  for bd in msg:gmatch('boundary="([^"]+)"') do
    n = n + 1
    msg = msg:gsub(bd:gsub("%p", "%%%0"), "BOUNDARY" .. n)
  end
  local out, block, inheaders = {}, {}, true
  for line in (msg .. "\r\n"):gmatch("(.-)\r\n") do
    if inheaders then
      if line == "" then
        table.sort(block)
        for _, h in ipairs(block) do out[#out + 1] = h end
        out[#out + 1] = ""
        block, inheaders = {}, false
      else block[#block + 1] = line end
    else
      out[#out + 1] = line
      if line:match("^%-%-BOUNDARY%d+$") then inheaders = true end
    end
  end
  for _, h in ipairs(block) do out[#out + 1] = h end
  return table.concat(out, "\r\n")
end

-- unstuff undoes DATA's dot-stuffing and drops the end mark.
local function unstuff(data)
  data = data:gsub("\r\n%.\r\n$", "")
  return (("\r\n" .. data):gsub("\r\n%.", "\r\n"):sub(3))
end

------------------------------------------------------------------------
-- the main phase: N asok clients at once, then the plain child
------------------------------------------------------------------------
local N = 4
local results, finished = {}, 0
local function env(i)
  return { ftp = ftp, smtp = smtp, ltn12 = ltn12, mime = mime, socket = socket,
    create = function() return asok.wrap(socket.tcp()) end, host = HOST, ftpport = ftpport,
    smtpport = smtpport, closedport = closedport, dir = "asok" .. i }
end
for i = 1, N do
  asok.spawn(function()
    local e = env(i)
    local res = C.ftpcases(e)
    for k, v in pairs(C.smtpcases(e)) do res["smtp_" .. k] = v end
    results[i] = res
    finished = finished + 1
  end)
end
T.run(function() return finished == N end, 120)
T.eq(finished, N, "asok clients finished")

local want = plain("main", smtpport)
for i = 1, N do
  if T.check(results[i], "client", i, "finished") then compare(results[i], want, "client " .. i) end
end

-- what the servers hold
for i = 1, N do
  local dir = "asok" .. i
  T.eq(C.digest(files[dir .. "/big"] or "", C.BIG), "1048576 same", "stored 1 MiB " .. i)
  T.eq(files[dir .. "/empty"], "", "stored empty " .. i)
  T.eq(files[dir .. "/small"], C.SMALL, "stored small " .. i)
  T.eq(C.digest(files[dir .. "/active"] or "", C.BIG:sub(1, 200000)), "200000 same", "stored in active mode " .. i)
  T.eq(files[dir .. "/url"], "stored by url", "stored by URL " .. i)
end
T.eq(files["plain/big"] == C.BIG, true, "plain child stored 1 MiB")

-- the mail: byte for byte the plain client's (boundaries and header
-- order normalized), and what smtp.message makes of the same table
local expect = {}
do
  local src = ltn12.source.chain(smtp.message(C.message({ ltn12 = ltn12, mime = mime }, 1)), mime.stuff())
  local parts = {}
  ltn12.pump.all(src, (ltn12.sink.table(parts)))
  expect.multipart = table.concat(parts) .. "\r\n.\r\n"
end
local pm = mail["<1@plain>"]
if T.check(pm, "plain child's multipart mail") then
  T.eq(normalize(pm.data), normalize(expect.multipart), "plain child's mail is smtp.message's, stuffed")
end
for i = 1, N do
  local dir = "asok" .. i
  local m = mail["<1@" .. dir .. ">"]
  if T.check(m, "multipart mail", i) and pm then
    T.eq(normalize(m.data), normalize(pm.data), "multipart mail " .. i .. " is the plain child's")
    T.eq(table.concat(m.rcpt, ","), "<b@example.org>,<c@example.org>", "multipart rcpt " .. i)
    T.eq(unstuff(m.data):find("\r\n.starts with a dot", 1, true) ~= nil, true, "unstuffed " .. i)
  end
  for _, k in ipairs { "2", "3", "4", "close" } do
    local a, p = mail["<" .. k .. "@" .. dir .. ">"], mail["<" .. k .. "@plain>"]
    if T.check(a and p, "mail", k, i) then
      T.eq(normalize(a.data), normalize(p.data), "mail " .. k .. " " .. i)
      T.eq(a.auth, p.auth, "auth " .. k .. " " .. i)
    end
  end
  T.eq(mail["<2@" .. dir .. ">"] and mail["<2@" .. dir .. ">"].data,
    "Subject: x\r\n\r\n..a\r\nb\r\n...c\r\n..\r\n.\r\n", "dot-stuffed " .. i)
  T.eq(mail["<4@" .. dir .. ">"] and mail["<4@" .. dir .. ">"].auth, "alice:secret", "AUTH LOGIN " .. i)
end

-- smtp.message's parts run in asok.require's module on asok.coroutine: a
-- body source that waits in asok (here: sleeps) gives its chunks, and
-- the mail arrives whole
local waited
asok.spawn(function()
  local n = 0
  local body = function()
    if n < 3 then n = n + 1; asok.sleep(0.01); return "slow line " .. n .. "\r\n" end
  end
  waited = T.pack(smtp.send { server = HOST, port = smtpport, from = "<slow@x>", rcpt = "<b@x>",
    create = function() return asok.wrap(socket.tcp()) end,
    source = smtp.message { headers = { date = "d" }, body = body } })
end)
T.run(function() return waited ~= nil end, 20)
T.same(waited or T.pack(), T.pack(1), "smtp.send with a body source that waits")
T.eq(mail["<slow@x>"] and mail["<slow@x>"].data:match("\r\n\r\n(.*)$"),
  "slow line 1\r\nslow line 2\r\nslow line 3\r\n\r\n.\r\n", "the waiting source's body")

-- asok.require: a copy at each call, require's own module left alone, and
-- only LuaSocket's protocol modules
T.check(asok.require("socket.ftp") ~= ftp, "asok.require makes a new copy")
T.check(package.loaded["socket.ftp"] == nil or package.loaded["socket.ftp"] ~= ftp, "require's socket.ftp left alone")
T.check(package.loaded.socket == socket and package.loaded.coroutine == coroutine, "socket and coroutine left alone")
T.check(socket.ftp == nil or socket.ftp ~= ftp, "socket.ftp of the program's socket table left alone")
T.same(T.pack(pcall(asok.require)), T.pack(false, "bad argument #1 to 'require' (string expected, got no value)"),
  "asok.require()")
local ok, err = pcall(asok.require, "socket.url")
T.same(T.pack(ok, err and err:match("bad argument.*")), T.pack(false,
  "bad argument #1 to 'require' ('socket.ftp', 'socket.smtp', 'socket.http' or 'socket.tp' expected)"),
  "asok.require of another module")

-- a module that fails to load raises what require raises: its chunk's
-- error as it is (a string with its own position, a table), require's
-- own "not found" and "error loading module" at the caller's line
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir .. "/socket"))
local function loadvia(f, name)
  return T.pack(pcall(function() local m = f(name) return m end))
end
local function failing(body)
  local fh = assert(io.open(dir .. "/socket/tp.lua", "w"))
  fh:write(body)
  fh:close()
  local path, saved = package.path, package.loaded["socket.tp"]
  package.path = dir .. "/?.lua;" .. path
  package.loaded["socket.tp"] = nil
  local p = loadvia(require, "socket.tp")
  package.loaded["socket.tp"] = nil
  local a = loadvia(asok.require, "socket.tp")
  package.path, package.loaded["socket.tp"] = path, saved
  return p, a
end
local want, got = failing('error("boom")\n')
T.check(type(want[2]) == "string" and want[2]:find("tp.lua:1: boom", 1, true), "plain require's chunk error", want[2])
T.same(got, want, "asok.require: a string raised by the module's chunk")
want, got = failing('error(setmetatable({}, { __name = "E" }))\n')
T.eq(type(got[2]), "table", "asok.require: a table raised by the module's chunk")
want, got = failing("x = = 1\n")
T.same(got, want, "asok.require: the module's syntax error")
os.remove(dir .. "/socket/tp.lua")
do
  local path, cpath, saved = package.path, package.cpath, package.loaded["socket.tp"]
  package.path, package.cpath = dir .. "/?.lua", dir .. "/?.so"
  package.loaded["socket.tp"] = nil
  want = loadvia(require, "socket.tp")
  got = loadvia(asok.require, "socket.tp")
  package.path, package.cpath, package.loaded["socket.tp"] = path, cpath, saved
end
T.same(got, want, "asok.require: a module not found")
os.remove(dir .. "/socket")
os.remove(dir)

------------------------------------------------------------------------
-- the timeout phase: the modules' TIMEOUT is the wrappers' timeout
------------------------------------------------------------------------
ftp.TIMEOUT, smtp.TIMEOUT = 0.3, 0.3
local tres, tfinished = {}, 0
for i = 1, N do
  asok.spawn(function()
    local e = env(i)
    e.smtpport = silentport
    local res = C.ftptimeout(e)
    for k, v in pairs(C.smtptimeout(e)) do res["smtp_" .. k] = v end
    tres[i] = res
    tfinished = tfinished + 1
  end)
end
T.run(function() return tfinished == N end, 60)
T.eq(tfinished, N, "timeout clients finished")
ftp.TIMEOUT, smtp.TIMEOUT = 60, 60
local twant = plain("timeout", silentport)
for i = 1, N do
  if T.check(tres[i], "timeout client", i, "finished") then compare(tres[i], twant, "timeout client " .. i) end
end
T.eq(twant.get_stall and twant.get_stall[2], "timeout", "the plain child timed out too")

ftpserver:close(); smtpserver:close(); silentserver:close()
for _, c in ipairs(silent) do c:close() end
T.run(function() return false end, 0.1)
ftpserver, smtpserver, silentserver, silent, probe = nil, nil, nil, nil, nil
T.done("test_protocols")
