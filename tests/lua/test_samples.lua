-- test_samples.lua - LuaSocket's samples/ (3.1.0) ported to asok the way a
-- LuaSocket or copas user would, run against plain LuaSocket peers in a
-- child process (samples_peer.lua) and against the same code on plain
-- LuaSocket, every result compared with what the original sample gives on
-- plain LuaSocket:
--   tinyirc.lua  asok.select over a set with a metatable (the sample's
--                newset), two wrapper servers and their native clients,
--                broadcasts through asok.select(nil, set, 1) (servers in
--                the write set), 8 plain clients at once; the loop in a
--                coroutine with the sample's 1 s timeouts, and on the
--                main thread with zero timeouts
--   forward.lua over dispatch.lua  the sample's coroutine dispatcher
--                (samples_dispatch.lua) stepping asok.select over asok
--                wrappers at a zero timeout (connect's "timeout", then
--                writable, then "already connected"), 8 plain clients
--                through it to an upstream of asok coroutines
--   echosrvr.lua / echoclnt.lua  a UDP echo server coroutine, 20 ported
--                clients (setpeername, send, receive) and a plain one
--   daytimeclnt.lua  refused, silent and answering servers, plain and asok
--   mclisten.lua / mcsend.lua  multicast on the loopback interface
--   tftp.lua     (samples_tftp.lua) receivefrom, setpeername, send,
--                receive, retries after a lost packet, an ERROR packet;
--                many transfers at once against a plain child's results
--   check-links.lua  HEAD requests through dispatch.lua's -n mode
--                (socket.http with the dispatcher's create) and through
--                asok.require("socket.http") in asok.spawn'ed coroutines
-- The original samples' output on plain LuaSocket, each run against the
-- same peers, is what the expected values below were taken from.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local TFTP = dofile("samples_tftpcases.lua")

local HOST = "127.0.0.1"
local DEADLINE = 60 -- a broken test ends here rather than hang

-- child starts samples_peer.lua mode ... in the background and returns a
-- function giving its report (a string) once written, nil before.
local function child(mode, ...)
  local out = os.tmpname()
  os.remove(out)
  local args = { ... }
  for i = 1, #args do args[i] = tostring(args[i]) end
  assert(os.execute(string.format("%s samples_peer.lua %s %s %s &", T.interp(), mode,
    table.concat(args, " "), out)))
  return function()
    local f = io.open(out, "rb")
    if not f then return nil end
    local text = f:read("*a")
    f:close()
    os.remove(out)
    return text
  end
end

-- await calls drive() until poll() gives a value (or DEADLINE seconds) and
-- returns that value.
local function await(poll, drive, what)
  local deadline, v = socket.gettime() + DEADLINE, nil
  repeat
    v = poll()
    if v ~= nil then return v end
    drive()
  until socket.gettime() > deadline
  T.check(false, what, "did not finish")
end

local function idle() asok.select(nil, nil, 0.02) end

-- sorted returns a sorted copy of the array t.
local function sorted(t)
  local c = {}
  for i = 1, #t do c[i] = t[i] end
  table.sort(c)
  return c
end

-- sameset checks two arrays hold the same elements, in any order.
local function sameset(got, want, what)
  T.eq(table.concat(sorted(got), "\n"), table.concat(sorted(want), "\n"), what)
end

------------------------------------------------------------------------
-- tinyirc.lua
------------------------------------------------------------------------

-- the sample's set: select sees its array part, the methods are __index's
local function newset()
  local reverse = {}
  local set = {}
  return setmetatable(set, { __index = {
    insert = function(set, value)
      if not reverse[value] then
        table.insert(set, value)
        reverse[value] = #set
      end
    end,
    remove = function(set, value)
      local index = reverse[value]
      if index then
        reverse[value] = nil
        local top = table.remove(set)
        if top ~= value then
          reverse[top] = index
          set[index] = top
        end
      end
    end
  } })
end

local IRCCLIENTS = 8

-- irctranscript is what tinyirc.lua writes for samples_peer.lua's irc
-- clients (the order of its lines depends on the clients' timing: compared
-- as a set).
local function irctranscript(n)
  local t = { "Servers bound", "Inserting servers in set" }
  local function bc(l) t[#t + 1] = "Broadcasting line '" .. l .. "'" end
  for i = 1, n do
    t[#t + 1] = "Waiting for clients"
    t[#t + 1] = "Inserting client in set"
    t[#t + 1] = "Removing client from set"
    if i > 1 then bc("join " .. i) end
  end
  for r = 1, 2 do for i = 1, n do bc("msg " .. r .. " " .. i) end end
  bc("a"); bc("b"); bc("c")
  for i = n - 1, 2, -1 do bc("bye " .. i) end
  bc("last")
  return t
end

-- tinyirc runs the sample's server loop ported: wrappers of the two
-- servers, asok.select where it called socket.select, on the main thread
-- or in a coroutine, with the sample's timeouts or zero ones; until every
-- client has left.
local function tinyirc(incoroutine, timeout)
  local log = {}
  local function write(...) log[#log + 1] = table.concat({ ... }) end
  local server1 = asok.wrap(assert(socket.bind(HOST, 0)))
  local server2 = asok.wrap(assert(socket.bind(HOST, 0)))
  server1:settimeout(timeout) -- make sure we don't block in accept
  server2:settimeout(timeout)
  write("Servers bound")
  local set = newset()
  write("Inserting servers in set")
  set:insert(server1)
  set:insert(server2)
  local removed = 0
  local function loop()
    while removed < IRCCLIENTS do
      local readable, _, error = asok.select(set, nil)
      for _, input in ipairs(readable) do
        if input == server1 or input == server2 then
          write("Waiting for clients")
          local new = input:accept()
          if new then
            new:settimeout(timeout)
            write("Inserting client in set")
            set:insert(new)
          end
        else
          local line, error = input:receive()
          if error then
            input:close()
            write("Removing client from set")
            removed = removed + 1
            set:remove(input)
          else
            write("Broadcasting line '", line, "'")
            local writable, error = socket.skip(1, asok.select(nil, set, 1))
            if not error then
              for __, output in ipairs(writable) do
                if output ~= input then
                  output:send(line .. "\n")
                end
              end
            else write("No client ready to receive!!!") end
          end
        end
      end
    end
  end
  local _, p1 = server1:getsockname()
  local _, p2 = server2:getsockname()
  local report = child("irc", p1, p2, IRCCLIENTS)
  local what = "tinyirc " .. (incoroutine and "coroutine" or "main thread") .. " timeout " .. timeout
  if incoroutine then
    local done
    asok.spawn(function() loop(); done = true end)
    await(function() return done end, idle, what)
  else
    loop()
  end
  T.eq(await(report, idle, what .. " clients"), "last client nil closed \nclients done\n", what .. ": what each client received")
  sameset(log, irctranscript(IRCCLIENTS), what .. ": the server's lines")
  T.eq(#set, 2, what .. ": only the servers left in the set")
  server1:close()
  server2:close()
end

tinyirc(true, 1)
tinyirc(false, 0)

------------------------------------------------------------------------
-- forward.lua over dispatch.lua
------------------------------------------------------------------------

local function forward()
  local dispatch = dofile("samples_dispatch.lua")(asok.select,
    function() return asok.wrap(socket.tcp4()) end)
  local handler = dispatch.newhandler()

  -- the upstream: one asok coroutine per connection, lines uppercased
  local up = asok.wrap(assert(socket.bind(HOST, 0)))
  local upended = {} -- how each upstream connection ended
  local _, upport = up:getsockname()
  asok.spawn(function()
    while true do
      local c = up:accept()
      if not c then break end
      asok.spawn(function()
        c:settimeout(DEADLINE)
        while true do
          local l, e = c:receive()
          if not l then upended[#upended + 1] = e break end
          c:send(l:upper() .. "\n")
        end
        c:close()
      end)
    end
  end)

  -- forward.lua, its argument "0:127.0.0.1:<upport>"
  local function move(foo, bar)
    local live
    while 1 do
      local data, error, partial = foo:receive(2048)
      live = data or error == "timeout"
      data = data or partial
      local result, error = bar:send(data)
      if not live or not result then
        foo:close()
        bar:close()
        break
      end
    end
  end
  local servers, accepted = {}, 0
  for _, v in ipairs { "0:127.0.0.1:" .. upport } do
    local _, _, iport, ohost, oport = string.find(v, "([^:]+):([^:]+):([^:]+)")
    assert(iport, "invalid arguments")
    local server = assert(handler.tcp())
    assert(server:setoption("reuseaddr", true))
    assert(server:bind("*", iport))
    assert(server:listen(32))
    servers[#servers + 1] = server
    handler:start(function()
      while 1 do
        local client = assert(server:accept())
        accepted = accepted + 1
        assert(client:settimeout(0))
        handler:start(function()
          local peer = assert(handler.tcp())
          assert(peer:settimeout(0))
          assert(peer:connect(ohost, oport))
          handler:start(function()
            move(client, peer)
          end)
          move(peer, client)
        end)
      end
    end)
  end

  local _, port = servers[1]:getsockname()
  local report = child("fwd", port, 8)
  local function step() handler:step() end
  T.eq(await(report, step, "forward"), "big 300000 nil true\nclients done\n", "forward: every client's bytes")
  T.eq(accepted, 8, "forward: connections accepted")
  -- the forwarder closes both sides when a client leaves
  await(function() return #upended == 8 or nil end, step, "forward's closes")
  T.eq(table.concat(upended, ","), ("closed,"):rep(8):sub(1, -2), "forward: each upstream connection closed")
  servers[1]:close()
  up:close()
end
forward()

------------------------------------------------------------------------
-- echosrvr.lua / echoclnt.lua
------------------------------------------------------------------------

local function echo()
  local udp = asok.wrap(assert(socket.udp()))
  assert(udp:setsockname(HOST, 0))
  assert(udp:settimeout(5))
  local ip, port = udp:getsockname()
  assert(ip, port)
  local log, ended = {}, false
  asok.spawn(function()
    while 1 do
      local dgram, ip, port = udp:receivefrom()
      if dgram then
        log[#log + 1] = "Echoing '" .. dgram .. "' to " .. ip
        udp:sendto(dgram, ip, port)
      else
        log[#log + 1] = ip
        if ip == "closed" then break end
      end
    end
    ended = true
  end)
  local plain = child("echo", port)
  local results, want = {}, {}
  for c = 1, 20 do
    local lines = {}
    for l = 1, 5 do lines[l] = "c" .. c .. " line " .. l end
    want[c] = table.concat(lines, "|")
    asok.spawn(function()
      local host = socket.dns.toip("localhost")
      local u = asok.wrap(assert(socket.udp()))
      assert(u:setpeername(host, port))
      local got = {}
      for _, line in ipairs(lines) do
        assert(u:send(line))
        got[#got + 1] = assert(u:receive())
      end
      results[c] = table.concat(got, "|")
      u:close()
    end)
  end
  T.eq(await(plain, idle, "echo"), "true 7\ntrue 7\ntrue 1000\n", "echo: the plain echoclnt's datagrams")
  await(function() return #results == 20 or nil end, idle, "echo clients")
  for c = 1, 20 do T.eq(results[c], want[c], "echo: client " .. c) end
  -- a receivefrom timing out (the new timeout applies to the one waiting),
  -- then the socket closed under the next one
  udp:settimeout(0.05)
  await(function() return log[#log] == "timeout" or nil end, idle, "echo timeout")
  udp:close()
  await(function() return ended or nil end, idle, "echo server")
  local echoed = 0
  for _, l in ipairs(log) do if l:find("^Echoing '.*' to 127%.0%.0%.1$") then echoed = echoed + 1 end end
  T.eq(echoed, 20 * 5 + 3, "echo: the server's lines")
  T.eq(log[#log], "closed", "echo: a receivefrom waiting when the socket closed")
  T.eq(log[#log - 1], "timeout", "echo: receivefrom's timeout")
end
echo()

------------------------------------------------------------------------
-- daytimeclnt.lua: the same client on plain LuaSocket (main thread) and
-- through asok (a coroutine), every result compared
------------------------------------------------------------------------

local function daytime(wrap)
  local out = {}
  local function rec(...) out[#out + 1] = T.pack(...) end
  local probe = assert(socket.udp())
  assert(probe:setsockname(HOST, 0))
  local _, closed = probe:getsockname()
  probe:close()
  local silent = assert(socket.udp())
  assert(silent:setsockname(HOST, 0))
  local _, sport = silent:getsockname()
  local day = assert(socket.udp())
  assert(day:setsockname(HOST, 0))
  local _, dport = day:getsockname()
  for _, case in ipairs { { closed, 0.1 }, { sport, 0.05 }, { dport, 0.1 } } do
    local host = socket.dns.toip(HOST)
    local udp = wrap(socket.udp())
    rec(udp:setpeername(host, case[1]))
    rec(udp:settimeout(case[2]))
    rec(udp:send("anything"))
    if case[1] == dport then
      local d, ip, p = day:receivefrom()
      rec(d)
      day:sendto("Mon Dec  7 17:00:00 2026\r\n", ip, p)
    end
    rec(udp:receive())
    rec(udp:receive())
    rec(udp:send("x"))
    rec(udp:getpeername())
    rec(udp:close())
    rec(udp:receive())
  end
  silent:close()
  day:close()
  return out
end

do
  local plain = daytime(function(s) return s end)
  local got
  asok.spawn(function() got = daytime(asok.wrap) end)
  await(function() return got end, idle, "daytime")
  T.eq(#got, #plain, "daytime: results")
  for i = 1, #plain do
    if plain[i][1] ~= "127.0.0.1" then T.same(got[i], plain[i], "daytime result " .. i) end
  end
  -- what the original sample prints: 'connection refused', 'timeout', the date
  T.eq(plain[4][2], "connection refused", "daytime: refused")
  T.eq(plain[13][2], "timeout", "daytime: silent")
  T.eq(plain[23][1], "Mon Dec  7 17:00:00 2026\r\n", "daytime: the answer")
end

------------------------------------------------------------------------
-- mclisten.lua / mcsend.lua: multicast on lo (udp4: LuaSocket 3.x's
-- socket.udp() has no socket before setsockname, so the sample's
-- setoption("reuseport") first fails there)
------------------------------------------------------------------------

local function multicast(wrap, port)
  local out = {}
  local function rec(...) out[#out + 1] = T.pack(...) end
  local group = "225.0.0.37"
  local ls = {}
  for k = 1, 2 do
    local c = wrap(assert(socket.udp4()))
    rec(c:setoption("reuseport", true))
    rec(c:setsockname("*", port))
    rec(c:setoption("ip-add-membership", { multiaddr = group, interface = HOST }))
    rec(c:getoption("ip-multicast-loop"))
    c:settimeout(2)
    ls[k] = c
  end
  local s = wrap(assert(socket.udp4()))
  rec(s:setoption("ip-multicast-if", HOST))
  rec(s:setoption("ip-multicast-loop", true))
  rec(s:getoption("ip-multicast-if"))
  for i = 0, 2 do
    local message = string.format("hello all %d!", i)
    rec(s:sendto(message, group, port))
    for k = 1, 2 do
      local d, ip, p = ls[k]:receivefrom()
      rec(d, ip, type(p))
    end
    s:settimeout(0.02)
    rec(s:receivefrom())
  end
  rec(ls[1]:setoption("ip-drop-membership", { multiaddr = group, interface = HOST }))
  for k = 1, 2 do ls[k]:close() end
  s:close()
  return out
end

do
  local probe = assert(socket.udp4())
  assert(probe:setsockname(HOST, 0))
  local _, port = probe:getsockname()
  probe:close()
  local plain = multicast(function(s) return s end, port)
  local arrived = plain[13] and plain[13][1] == "hello all 0!"
  if not arrived then
    print("test_samples: multicast on lo: the kernel did not deliver (plain LuaSocket got "
      .. T.showpack(plain[13] or T.pack()) .. "); compared anyway")
  end
  local got
  asok.spawn(function() got = multicast(asok.wrap, port) end)
  await(function() return got end, idle, "multicast")
  T.eq(#got, #plain, "multicast: results")
  for i = 1, #plain do T.same(got[i], plain[i], "multicast result " .. i) end
end

------------------------------------------------------------------------
-- tftp.lua: many transfers at once through asok, the same requests by the
-- plain module in a child, against one server of asok coroutines
------------------------------------------------------------------------

local function tftpd()
  local main = asok.wrap(assert(socket.udp()))
  assert(main:setsockname(HOST, 0))
  local dropped = {}
  local function transfer(name, ip, port)
    local t = asok.wrap(assert(socket.udp()), 0.2)
    assert(t:setsockname(HOST, 0))
    assert(t:setpeername(ip, port))
    local data = TFTP.files[(name:gsub("^drop", ""))]
    if not data then
      t:send("\0\5\0\1File not found\0")
      t:close()
      return
    end
    local block = 1
    while true do
      local chunk = data:sub((block - 1) * 512 + 1, block * 512)
      local pkt = string.char(0, 3, math.floor(block / 256), block % 256) .. chunk
      local tries = 0
      while true do
        tries = tries + 1
        if name:find("^drop") and block == 2 and not dropped[ip .. ":" .. port] then
          dropped[ip .. ":" .. port] = true -- the first DATA 2 is lost
        else
          t:send(pkt)
        end
        local ack = t:receive()
        if ack and ack:byte(2) == 4 and ack:byte(3) * 256 + ack:byte(4) == block then break end
        if tries > 20 then t:close() return end
      end
      if #chunk < 512 then break end
      block = block + 1
    end
    t:close()
  end
  asok.spawn(function()
    while true do
      local d, ip, port = main:receivefrom()
      if not d and ip == "closed" then break end
      if d and d:byte(2) == 1 then asok.spawn(transfer, d:match("^..([^%z]*)"), ip, port) end
    end
  end)
  local _, port = main:getsockname()
  return main, port
end

do
  local server, port = tftpd()
  local tftp = dofile("samples_tftp.lua")(function() return asok.wrap(socket.udp()) end, 0.2)
  local got, n = {}, 0
  for _ = 1, 3 do
    for _, name in ipairs(TFTP.names) do
      n = n + 1
      asok.spawn(function()
        local line = TFTP.show(name, tftp.get(TFTP.url(port, name)))
        got[#got + 1] = line
      end)
    end
  end
  local plain = await(child("tftp", port), idle, "tftp plain")
  await(function() return #got == n or nil end, idle, "tftp")
  local want = {}
  for _ = 1, 3 do for l in plain:gmatch("[^\n]+") do want[#want + 1] = l end end
  sameset(got, want, "tftp: every transfer's results")
  -- (LuaJIT's string.find keeps the message's NUL: the sample's pattern
  -- "(.*)\000" ends at the NUL on PUC Lua; the same through asok)
  T.check(plain:find("\nmissing: nil, error code 1: File not found", 1, true), "tftp: the ERROR packet", plain)
  T.eq(plain:match("dropbig: [^\n]*"), "dropbig: 5000 same, nil", "tftp: a lost packet retried")
  server:close()
end

------------------------------------------------------------------------
-- check-links.lua: HEAD requests to every link of a page, through
-- dispatch.lua (its -n mode: http.request's create is the dispatcher's
-- tcp, asok wrappers at a zero timeout) and through asok.require's
-- socket.http in asok.spawn'ed coroutines, against an HTTP server of
-- asok coroutines
------------------------------------------------------------------------

local function httpd()
  local s = asok.wrap(assert(socket.bind(HOST, 0, 64)))
  local _, port = s:getsockname()
  local codes = { ok = "200 OK", missing = "404 Not Found", moved = "301 Moved", err = "500 Internal" }
  asok.spawn(function()
    while true do
      local c = s:accept()
      if not c then break end
      asok.spawn(function()
        c:settimeout(DEADLINE)
        local req = c:receive()
        local path = req and req:match("^%u+ /(%a+)")
        repeat local l = c:receive() until not l or l == ""
        if path == "drop" then c:close() return end
        local extra = path == "moved" and ("Location: http://127.0.0.1:" .. port .. "/ok\r\n") or ""
        c:send("HTTP/1.1 " .. (codes[path] or "404 Not Found") .. "\r\n" .. extra ..
          "Content-Length: 0\r\nConnection: close\r\n\r\n")
        c:close()
      end)
    end
  end)
  return s, port
end

-- the sample's getlinks, verbatim (url is socket.url)
local url = require("socket.url")
local function getlinks(body, base)
  -- get rid of comments
  body = string.gsub(body, "%<%!%-%-.-%-%-%>", "")
  local links = {}
  -- extract links
  body = string.gsub(body, '[Hh][Rr][Ee][Ff]%s*=%s*"([^"]*)"', function(href)
    table.insert(links, url.absolute(base, href))
  end)
  body = string.gsub(body, "[Hh][Rr][Ee][Ff]%s*=%s*'([^']*)'", function(href)
    table.insert(links, url.absolute(base, href))
  end)
  string.gsub(body, "[Hh][Rr][Ee][Ff]%s*=%s*(.-)>", function(href)
    table.insert(links, url.absolute(base, href))
  end)
  return links
end

-- checklinks runs the sample's getstatus over a page's links with start
-- (starts a coroutine), request (socket.http's) and create, until every
-- request has ended (drive steps the loop); returns the lines it wrote,
-- and the expected ones (the sample's on plain LuaSocket).
local function checklinks(start, request, create, drive, refused, moved)
  local server, port = httpd()
  local probe = assert(socket.bind(HOST, 0))
  local _, closed = probe:getsockname()
  probe:close()
  local lines, want = {}, {}
  local html = { "<html><body>" }
  local function link(href, result)
    want[#want + 1] = "\t" .. href .. (result and (": " .. result) or "")
    return href
  end
  for i = 1, 3 do
    local p = "http://127.0.0.1:" .. port .. "/"
    html[#html + 1] = '<a href="' .. link(p .. "ok" .. i) .. '">ok</a>'
    html[#html + 1] = "<a href='" .. link(p .. "missing" .. i, "404") .. "'>m</a>"
    html[#html + 1] = '<a href="' .. link(p .. "err" .. i, "500") .. '">e</a>'
    html[#html + 1] = '<a href=' .. link(p .. "drop" .. i, "closed") .. '>d</a>'
    html[#html + 1] = '<a href="' .. link("http://127.0.0.1:" .. closed .. "/c" .. i, refused) .. '">c</a>'
    if moved then html[#html + 1] = '<a href="' .. link(p .. "moved" .. i) .. '">mv</a>' end
  end
  html[#html + 1] = '<!-- <a href="http://127.0.0.1:' .. port .. '/commented">x</a> --><a href="relative.html">r</a></body></html>'
  local nthreads = 0
  for _, l in ipairs(getlinks(table.concat(html, "\n"), "file:///page.html")) do
    local parsed = url.parse(l, { scheme = "file" })
    if parsed.scheme == "http" then
      nthreads = nthreads + 1
      start(function()
        local r, c, h, s = request { method = "HEAD", url = l, create = create }
        if r and c == 200 then lines[#lines + 1] = "\t" .. l
        else lines[#lines + 1] = "\t" .. l .. ": " .. tostring(c) end
        nthreads = nthreads - 1
      end)
    end
  end
  await(function() return nthreads == 0 or nil end, drive, "check-links")
  server:close()
  return lines, want
end

do
  -- -n: the dispatcher (its connect's refusal is its own "non-blocking
  -- connect failed"); no redirect: socket.http follows one on a plain
  -- socket.tcp(), which would block this process's server
  local dispatch = dofile("samples_dispatch.lua")(asok.select,
    function() return asok.wrap(socket.tcp4()) end)
  dispatch.TIMEOUT = 10
  local handler = dispatch.newhandler("coroutine")
  local http = require("socket.http")
  local got, want = checklinks(function(f) handler:start(f) end, http.request, handler.tcp,
    function() handler:step() end, "non-blocking connect failed", false)
  sameset(got, want, "check-links -n over dispatch.lua")
  -- asok.require's socket.http: every connection yields, redirects too
  local ahttp = asok.require("socket.http")
  ahttp.TIMEOUT = 10
  got, want = checklinks(asok.spawn, ahttp.request, nil, idle, "connection refused", true)
  sameset(got, want, "check-links over asok.require('socket.http')")
end

T.steps(function() return asok._debug.waits() == 0 end, 50)
T.eq(asok._debug.waits(), 0, "no coroutine left waiting")
T.done("test_samples")
