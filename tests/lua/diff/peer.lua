-- diff/peer.lua: the scripted peer of the differential suite.
-- A pure-LuaSocket server (non-blocking, one coroutine per connection,
-- driven by socket.select). It listens on TCP 127.0.0.1, TCP ::1, a unix
-- stream socket, UDP 127.0.0.1 and a unix datagram socket (<unixpath>.dg),
-- prints "PORTS <tcp4> <tcp6> <udp4> <unixpath>"
-- on stdout, then serves. A TCP client first sends "<scenario name>\n", a
-- datagram client first sends the datagram "<scenario name> <nonce>" (the
-- nonce: unique per client, see H.open); the peer then runs that scenario's
-- `peer` steps (see diff/scenarios.lua). The name "QUIT" stops it.
-- ASOK_DIFF_PEER_LOG=<file>: the datagram sessions' starts, replacements,
-- replies and ends are appended there (runner.lua shows them on a difference).
-- Usage: lua diff/peer.lua <unix socket path>
package.path = "diff/?.lua;" .. package.path
local socket = require("socket")
local unix = require("socket.unix")
local scen = require("scenarios")

local unixpath = assert(arg[1], "usage: peer.lua <unixpath>")
local MAX_LIFE = tonumber(os.getenv("ASOK_DIFF_PEER_LIFE") or "") or 300

local tasks = {}        -- coroutine -> {what = "r"|"w"|"t", sock = s, at = time}
local running = true
local bigcache = {}

-- big returns a deterministic string of n bytes (cached).
local function big(n)
  if not bigcache[n] then
    local unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
    bigcache[n] = string.rep(unit, math.floor(n / #unit) + 1):sub(1, n)
  end
  return bigcache[n]
end

-- spawn starts f(...) as a peer task.
local function spawn(f, ...)
  local co = coroutine.create(f)
  tasks[co] = { what = "t", at = 0, args = { n = select("#", ...), ... } }
end

-- wait parks the current task until sock is readable ("r") or writable ("w").
local function wait(what, sock) coroutine.yield(what, sock) end

-- sleep parks the current task for s seconds.
local function sleep(s) coroutine.yield("t", socket.gettime() + s) end

-- psend writes all of data to the non-blocking sock; returns true or nil, err.
local function psend(sock, data)
  local i = 1
  while i <= #data do
    local last, err, partial = sock:send(data, i)
    if last then return true end
    if err ~= "timeout" then return nil, err end
    i = partial + 1
    wait("w", sock)
  end
  return true
end

-- precv reads pattern from the non-blocking sock; returns like receive.
-- "*a" collects pieces in a table (a growing prefix would copy O(n^2)).
local function precv(sock, pattern)
  local acc, parts = "", {}
  while true do
    local data, err, partial
    if pattern == "*a" then data, err, partial = sock:receive("*a")
    else data, err, partial = sock:receive(pattern, acc) end
    if pattern == "*a" then
      parts[#parts + 1] = data or partial
      if data or err == "closed" then return table.concat(parts) end
    elseif data then return data end
    if err ~= "timeout" then return nil, err, partial end
    if pattern ~= "*a" then acc = partial end
    wait("r", sock)
  end
end

-- hardclose resets the connection: linger 0 then close sends RST.
local function hardclose(sock)
  sock:setoption("linger", { on = true, timeout = 0 })
  sock:close()
end

-- tcp_step runs one peer step on a TCP connection; returns true when done.
local function tcp_step(c, st)
  local op = st[1]
  if op == "send" then psend(c, st[2])
  elseif op == "big" then psend(c, big(st[2]))
  elseif op == "pause" then sleep(st[2] / 1000)
  elseif op == "shutdown" then c:shutdown("send")
  elseif op == "close" then c:close(); return true
  elseif op == "reset" then hardclose(c); return true
  elseif op == "read" then precv(c, st[2])
  elseif op == "echo" then
    local d = precv(c, st[2]); if d then psend(c, d) end
  elseif op == "slowread" then -- total bytes, chunk size, pause ms
    local got = 0
    while got < st[2] do
      local d, err, part = c:receive(math.min(st[3], st[2] - got))
      d = d or part
      got = got + #d
      if err == "closed" or (err and err ~= "timeout") then break end
      if #d == 0 then wait("r", c) else sleep(st[4] / 1000) end
    end
  else error("peer: unknown tcp step " .. tostring(op)) end
end

-- serve_tcp runs the scenario named by the first line of connection c.
local function serve_tcp(c)
  c:settimeout(0)
  local name = precv(c, "*l")
  if name == "QUIT" then running = false; c:close(); return end
  local s = name and scen.byname[name]
  if not s then c:close(); return end
  for _, st in ipairs(s.peer or {}) do
    if tcp_step(c, st) then return end
  end
  precv(c, "*a")   -- script done: wait for the client to hang up
  c:close()
end

-- acceptor accepts connections on server forever.
local function acceptor(server)
  server:settimeout(0)
  while true do
    local c = server:accept()
    if c then spawn(serve_tcp, c) else wait("r", server) end
  end
end

-- Datagram sessions are keyed by the sender's "ip:port" (or path): every
-- later datagram of the client comes from there. An ephemeral port is
-- reused once its client closed, so a session whose client is gone must
-- never serve the next owner of its key: a new announce (another nonce)
-- from a key ends the session there, and a session sends nothing once
-- replaced (it first reads what is queued, see current). Without the
-- nonce, a new owner's announce went to the old session's queue (an echo
-- session sent it back as data) and the old session's replies went on.
local udp_sessions = {}  -- key -> {queue = {...}, co = task, nonce = s, name = s}
local peerlog = os.getenv("ASOK_DIFF_PEER_LOG")
peerlog = peerlog and peerlog ~= "" and assert(io.open(peerlog, "a")) or nil

-- logev appends one session event to ASOK_DIFF_PEER_LOG, if set.
local function logev(what, key, sess, extra)
  if not peerlog then return end
  peerlog:write(string.format("%.6f udp %s %s %s %s%s\n", socket.gettime(), what, key,
    sess.name, sess.nonce, extra and (" " .. extra) or ""))
  peerlog:flush()
end

local drain -- drain(u): handles every datagram queued on u (set below)

-- serve_udp runs a UDP scenario for the client at ip, port (a unix
-- datagram client: at path ip, port nil).
local function serve_udp(u, key, s, ip, port)
  local sess = udp_sessions[key]
  -- current tells whether sess still serves key: what is queued on u is
  -- read first, so that a new owner's announce, sent before any datagram
  -- could reach it (H.open), ends sess before sess sends it anything
  local function current()
    drain(u)
    return udp_sessions[key] == sess
  end
  -- reply sends d, retrying while the socket answers "timeout": a unix
  -- datagram send finds the peer's queue (net.unix.max_dgram_qlen, often
  -- 10) or its own send buffer full when many scenarios run at once
  local function reply(d)
    while current() do
      local ok, err
      if port then ok, err = u:sendto(d, ip, port) else ok, err = u:sendto(d, ip) end
      if ok or err ~= "timeout" then logev("sent", key, sess, #d .. " bytes"); return true end
      sleep(0.002)
    end
  end
  for _, st in ipairs(s.peer or {}) do
    local op = st[1]
    if op == "reply" then if not reply(st[2]) then return end
    elseif op == "replybig" then if not reply(big(st[2])) then return end
    elseif op == "pause" then sleep(st[2] / 1000)
    elseif op == "echo" then
      while #sess.queue == 0 do
        if udp_sessions[key] ~= sess then return end
        sess.waiting = true; coroutine.yield("t", math.huge)
      end
      if not reply(table.remove(sess.queue, 1)) then return end
    else error("peer: unknown udp step " .. tostring(op)) end
  end
  if udp_sessions[key] == sess then udp_sessions[key] = nil; logev("end", key, sess) end
end

-- announce parses a datagram client's first datagram: its scenario and nonce.
local function announce(d)
  local name, nonce = d:match("^(%S+) (%S+)$")
  if name and scen.byname[name] then return scen.byname[name], nonce end
end

-- handle takes one datagram d from ip, port: a new client's announce
-- starts a session (ending one a gone client left on that key), anything
-- else goes to the key's session.
local function handle(u, d, ip, port)
  local key = ip .. ":" .. tostring(port)
  local sess = udp_sessions[key]
  local s, nonce = announce(d)
  if d == "QUIT" then running = false; return end
  if s and sess and sess.nonce ~= nonce then
    -- the port's former client is gone: its session ends here, waking it
    -- if it waits for data so that its task finishes
    logev("replaced", key, sess, "by " .. s.name .. " " .. nonce)
    udp_sessions[key] = nil
    if sess.waiting then sess.waiting = false; tasks[sess.co].at = 0 end
    sess = nil
  end
  if sess then
    sess.queue[#sess.queue + 1] = d
    if sess.waiting then sess.waiting = false; tasks[sess.co].at = 0 end
  elseif s then
    local co = coroutine.create(serve_udp)
    sess = { queue = {}, co = co, nonce = nonce, name = s.name }
    udp_sessions[key] = sess
    logev("start", key, sess)
    tasks[co] = { what = "t", at = 0, args = { n = 5, u, key, s, ip, port } }
  end
end

-- drain handles every datagram queued on u; returns without waiting.
function drain(u)
  while true do
    local d, ip, port = u:receivefrom()
    if not d then return end
    handle(u, d, ip, port)
  end
end

-- udp_loop receives datagrams (UDP, or unix datagrams: sender path and no
-- port): starts sessions and feeds running ones.
local function udp_loop(u)
  u:settimeout(0)
  while true do
    drain(u)
    wait("r", u)
  end
end

-- unpack_args unpacks a {n=...} table.
local function unpack_args(a) return (table.unpack or unpack)(a, 1, a.n) end

-- resume runs task co once and records what it waits for next.
local function resume(co, t)
  local ok, what, arg
  if t.args then
    ok, what, arg = coroutine.resume(co, unpack_args(t.args))
    t.args = nil
  else
    ok, what, arg = coroutine.resume(co)
  end
  if not ok then io.stderr:write("peer task failed: ", tostring(what), "\n") end
  if coroutine.status(co) == "dead" then tasks[co] = nil; return end
  t.what = what
  if what == "t" then t.at, t.sock = arg, nil else t.sock, t.at = arg, nil end
end

-- backlog 1024: hundreds of scenarios connect at once; an overflowing SYN
-- queue costs a 1 s retransmit, which would stall a whole reactor
local t4 = assert(socket.bind("127.0.0.1", 0, 1024))
local t6 = assert(socket.tcp6())
assert(t6:setoption("ipv6-v6only", true))
assert(t6:setoption("reuseaddr", true))
assert(t6:bind("::1", 0)); assert(t6:listen(1024))
os.remove(unixpath)
local us = assert(unix.stream and unix.stream() or unix())
assert(us:bind(unixpath)); assert(us:listen(1024))
local u4 = assert(socket.udp())
assert(u4:setsockname("127.0.0.1", 0))
-- the unix datagram socket: the stream socket's path plus ".dg"
os.remove(unixpath .. ".dg")
local ud = assert(unix.dgram())
assert(ud:bind(unixpath .. ".dg"))
local _, p4 = t4:getsockname()
local _, p6 = t6:getsockname()
local _, pu = u4:getsockname()
io.stdout:write(string.format("PORTS %d %d %d %s\n", p4, p6, pu, unixpath))
io.stdout:flush()
spawn(acceptor, t4); spawn(acceptor, t6); spawn(acceptor, us); spawn(udp_loop, u4)
spawn(udp_loop, ud)

local born = socket.gettime()
while running and socket.gettime() - born < MAX_LIFE do
  local now = socket.gettime()
  local rset, wset, owner, soonest = {}, {}, {}, now + 0.05
  for co, t in pairs(tasks) do
    if t.what == "t" then
      if t.at <= now then resume(co, t) elseif t.at < soonest then soonest = t.at end
    end
  end
  for co, t in pairs(tasks) do
    if t.what == "r" then rset[#rset + 1] = t.sock; owner[t.sock] = co
    elseif t.what == "w" then wset[#wset + 1] = t.sock; owner[t.sock] = co end
  end
  local r, w = socket.select(rset, wset, math.max(0, soonest - socket.gettime()))
  for _, set in ipairs({ r, w }) do
    for _, s in ipairs(set) do
      local co = owner[s]
      if co and tasks[co] and tasks[co].sock == s then resume(co, tasks[co]) end
    end
  end
end
us:close(); os.remove(unixpath)
ud:close(); os.remove(unixpath .. ".dg")
