-- test_udp_stress.lua: no datagram reaches the wrong UDP socket through
-- asok (docs/reliability.md, Open: the thirtieth round's udp_sendto_echo
-- sighting). Many UDP sockets (socket.udp(), udp4(), udp6(); raw objects
-- through asok's functions and wrappers; unconnected and connected) live
-- in coroutines, each asking a hub for datagrams that name the socket's
-- own port, a generation (one per socket: a port reused by a later socket
-- gets a new one) and a sequence number, while sockets are closed with
-- receives parked, dropped to the GC with a datagram buffered or with a
-- receive parked, reopened (LuaSocket's setsockname or setpeername on a
-- closed object makes a new socket: fd numbers and ports come back, the
-- freed ports also asked for by number), setpeername'd and unconnected
-- ("*"), with receives and receivefroms parked and timing out, over
-- several rounds. Beside them: udp_sendto_echo's client made anew many
-- times on one port (and on a fresh one), as the differential suite runs
-- it; the main thread blocked in asok's receives now and then; TCP fd
-- trades (setfd) as the suite's native style makes them.
--
-- The hub is a plain LuaSocket socket asok never sees, read from the main
-- thread between asok.select steps. It answers each request from the
-- address it came from, after checking that the request names that port
-- (a request sent through another socket's fd fails there). Every
-- datagram the hub sends to a socket is read by that socket, or is seen
-- queued in its kernel buffer (socket.select) before the socket is closed
-- or dropped: no datagram is in flight to a port when a later socket takes
-- it, so a datagram naming another port or generation is asok's mix-up. A
-- receive that times out while its datagram was sent is a lost wake-up
-- (socket.select tells whether the kernel has it); a worker or parked
-- helper not finished when the rounds end was never resumed.
-- ASOK_UDPSTRESS_SEED=<n> and ASOK_UDPSTRESS_ROUNDS=<n> change the run.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"

local SEED = tonumber(os.getenv("ASOK_UDPSTRESS_SEED") or "") or 32
local ROUNDS = tonumber(os.getenv("ASOK_UDPSTRESS_ROUNDS") or "") or 6
local WORKERS, ITERS, ECHOERS, ECHOES = 12, 5, 4, 12

local tointeger = math.tointeger or function(x) return x end

-- the hubs: plain LuaSocket, one per family (::1 where the host has it)
local hubs = {}
do
  local h4 = assert(socket.udp4 and socket.udp4() or socket.udp())
  assert(h4:setsockname("127.0.0.1", 0))
  h4:settimeout(0)
  local _, p = h4:getsockname()
  hubs[4] = { sock = h4, ip = "127.0.0.1", port = tonumber(p) }
  local h6 = socket.udp6 and socket.udp6()
  if h6 and h6:setsockname("::1", 0) then
    h6:settimeout(0)
    local _, p6 = h6:getsockname()
    hubs[6] = { sock = h6, ip = "::1", port = tonumber(p6) }
  elseif h6 then
    h6:close()
  end
end

local step = 0         -- the main loop's step count (late replies' clock)
local later = {}       -- replies due at a later step: {due, hub, data, ip, port}
local stats = { req = 0, sent = 0, got = 0, timeouts = 0, closes = 0, drops = 0,
  reopens = 0, rebinds = 0, mains = 0, trades = 0, connects = 0, unconnects = 0,
  reuses = 0, echoes = 0, fds = {} }

-- note appends an event to the history of socket generation gen (shown
-- when the hub sees a request come from another port than it names).
local hist = {}
local function note(gen, ...)
  local h = hist[gen] or {}
  hist[gen] = h
  h[#h + 1] = table.concat({ ... }, " ")
end

-- fail records a failure with a message (and counts it as a check).
local function fail(...)
  T.check(false, ...)
end

-- hubserve reads every request queued on hub h and answers it: "R <port>
-- <gen> <seq> <mode>" (port 0: not known yet, a socket bound by this very
-- sendto), mode "now" (one reply now), "two" (replies seq and seq + 1
-- now), "late" (one reply a few steps later), "none"; "E <payload
-- ending in the sender's port>" is echoed as it is (udp_sendto_echo), "A
-- <...>" (the echoers' announce) ignored.
local function hubserve(h)
  while true do
    local d, ip, port = h.sock:receivefrom()
    if not d then return end
    port = tonumber(port)
    if d:sub(1, 2) == "A " then -- an echoer's announce (H.open's): nothing to do
    elseif d:sub(1, 2) == "E " then
      local from = tonumber(d:match("(%d+)$"))
      if from ~= port then fail("hub: echo", d, "came from port", port) end
      assert(h.sock:sendto(d, ip, port))
      stats.sent = stats.sent + 1
    else
      local p, gen, seq, mode = d:match("^R (%d+) (%d+) (%d+) (%a+)$")
      stats.req = stats.req + 1
      if not p then
        fail("hub: malformed request", d)
      elseif tonumber(p) ~= 0 and tonumber(p) ~= port then
        fail("hub: request", d, "came from port", port, "history:",
          table.concat(hist[tonumber(gen)] or {}, "; "))
      else
        seq = tonumber(seq)
        local function reply(k) return ("D %d %s %d"):format(port, gen, k) end
        if mode == "now" or mode == "two" then
          assert(h.sock:sendto(reply(seq), ip, port))
          stats.sent = stats.sent + 1
          if mode == "two" then
            assert(h.sock:sendto(reply(seq + 1), ip, port))
            stats.sent = stats.sent + 1
          end
        elseif mode == "late" then
          later[#later + 1] = { due = step + 3, hub = h, data = reply(seq), ip = ip, port = port }
        end
      end
    end
  end
end

-- drive runs one step: the reactor for a little while, then the hubs.
local function drive()
  step = step + 1
  asok.select(nil, nil, 0.002)
  for _, h in pairs(hubs) do hubserve(h) end
  local keep = {}
  for _, r in ipairs(later) do
    if r.due <= step then
      assert(r.hub.sock:sendto(r.data, r.ip, r.port))
      stats.sent = stats.sent + 1
    else
      keep[#keep + 1] = r
    end
  end
  later = keep
  if step % 7 == 0 then collectgarbage("step", 64) end
  if step % 50 == 0 then collectgarbage() end
end

-- rng: the test's own generator (math.random differs between versions)
local rstate = SEED
local function rand(n)
  rstate = (rstate * 1103515245 + 12345) % 2147483648
  return math.floor(rstate / 65536) % n + 1
end
local function coin() return rand(2) == 1 end

local live = 0 -- coroutines (workers, helpers) not finished
local gens = 0
local freed = { [4] = {}, [6] = {} } -- ports closed sockets had, by family

-- a coroutine's error is a failure
asok.seterrorhandler(function(msg) fail("coroutine error:", msg) end)

-- go starts f(...) as a counted coroutine (asok.spawn); one still alive
-- when its round ends was never resumed (what names it then).
local alive = {} -- coroutine -> what it is, while not finished
local function go(what, f, ...)
  live = live + 1
  local args = { n = select("#", ...), ... }
  local id = #hist
  asok.spawn(function()
    alive[coroutine.running()] = what .. " (at gen " .. id .. ")"
    f((table.unpack or unpack)(args, 1, args.n))
    alive[coroutine.running()] = nil
    live = live - 1
  end)
end

-- A sock is {raw, obj (raw or its wrapper), fam, gen, port, connected,
-- seq}: what a worker uses and what its datagrams must name.

-- portof returns s.raw's bound port (0 if not bound).
local function portof(s)
  local _, p = s.raw:getsockname()
  return tonumber(p) or 0
end

-- newgen starts a new life of s (a new socket under the same object).
local function newgen(s)
  gens = gens + 1
  s.gen, s.seq = gens, 0
  s.port = portof(s)
  local fd = s.raw:getfd()
  note(s.gen, "new fd", fd, "port", s.port, s.obj ~= s.raw and "wrapped" or "raw", tostring(s.raw))
  if fd >= 0 then stats.fds[fd] = (stats.fds[fd] or 0) + 1 end
end

-- bind binds s.raw: to a port a closed socket had (reused), or to 0.
local function bind(s)
  local ip = hubs[s.fam].ip
  local pool = freed[s.fam]
  if #pool > 0 and coin() then
    local p = table.remove(pool, rand(#pool))
    if s.raw:setsockname(ip, p) then stats.reuses = stats.reuses + 1; return end
  end
  assert(s.raw:setsockname(ip, 0))
end

-- opensock makes a socket of family 4 or 6 through one of LuaSocket's
-- constructors, bound now or by its first request's sendto.
local function opensock(fam)
  local raw
  if fam == 6 then raw = assert(socket.udp6())
  elseif socket.udp4 and coin() then raw = assert(socket.udp4())
  else raw = assert(socket.udp()) end
  local s = { raw = raw, fam = fam, connected = false, unbound = false }
  s.obj = coin() and asok.wrap(raw) or raw
  if fam == 4 and coin() then
    s.unbound = true -- bound by its first sendto (udp_sendto_echo's client)
  else
    bind(s)
  end
  newgen(s)
  return s
end

-- call runs LuaSocket method m on s through asok: the wrapper's method,
-- or asok's function of that name on the raw object (the raw object's own
-- method where asok has none: setpeername, which asok hooks).
local function call(s, m, ...)
  if s.obj ~= s.raw then return s.obj[m](s.obj, ...) end
  if asok[m] then return asok[m](s.raw, ...) end
  return s.raw[m](s.raw, ...)
end

-- settimeout sets s's timeout (LuaSocket's method: asok hooks it).
local function settimeout(s, t)
  if s.obj ~= s.raw then s.obj:settimeout(t) else s.raw:settimeout(t) end
end

-- request asks the hub for datagram(s) seq (and seq + 1 for "two").
local function request(s, mode)
  local h = hubs[s.fam]
  s.seq = s.seq + 1
  local r = ("R %d %d %d %s"):format(s.unbound and 0 or s.port, s.gen, s.seq, mode)
  local ok, err
  if s.connected then ok, err = call(s, "send", r)
  else ok, err = call(s, "sendto", r, h.ip, h.port) end
  if not T.check(ok == #r, "request", r, "sent:", ok, err) then return nil end
  if s.unbound then s.unbound = false; s.port = portof(s) end
  local seq = s.seq
  if mode == "two" then s.seq = s.seq + 1 end
  return seq
end

-- want returns the datagram s must get for seq.
local function want(s, seq)
  return ("D %d %d %d"):format(s.port, s.gen, seq)
end

-- queued says whether s's kernel buffer holds a datagram now (LuaSocket's
-- select, which asok leaves alone).
local function queued(s)
  local r = socket.select({ s.raw }, nil, 0)
  return r and r[1] == s.raw or false
end

-- getone receives one datagram on s (receive or receivefrom, chosen) and
-- checks it is seq's; what names the step.
local function getone(s, seq, what)
  local from = not s.connected and coin()
  local d, ip, port
  if from then d, ip, port = call(s, "receivefrom")
  else d, ip = call(s, "receive") end
  if d == nil then
    stats.timeouts = stats.timeouts + 1
    fail(what, "gen", s.gen, "seq", seq, "got nil,", ip, "kernel has it:", queued(s))
    return
  end
  stats.got = stats.got + 1
  T.eq(d, want(s, seq), what .. " data")
  if from then
    local h = hubs[s.fam]
    T.eq(ip, h.ip, what .. " sender ip")
    T.eq(port, tointeger(h.port), what .. " sender port")
  end
end

-- waitqueued runs the reactor until s's kernel buffer holds a datagram
-- (one the hub sent: it is there before s goes).
local function waitqueued(s, what)
  for _ = 1, 2000 do
    if queued(s) then return true end
    asok.sleep(0.001)
  end
  fail(what, ": the datagram never arrived")
end

-- the operations a worker does on a live socket: each returns true if
-- the socket is gone afterwards (closed or dropped)
local OPS = {}

-- bound makes sure s has its socket (a receive on socket.udp() before
-- its first sendto is LuaSocket's answer on no fd): a request first.
local function bound(s)
  if s.unbound then OPS.now(s) end
end

-- now: a reply sent at once, received
function OPS.now(s)
  local seq = request(s, "now")
  if seq then getone(s, seq, "now") end
end

-- late: the receive parks first, the reply comes a few steps later
function OPS.late(s)
  local seq = request(s, "late")
  if seq then getone(s, seq, "late") end
end

-- two: two replies, read one by one (receive, then receivefrom or receive)
function OPS.two(s)
  local seq = request(s, "two")
  if seq then getone(s, seq, "two, first"); getone(s, seq + 1, "two, second") end
end

-- timeout: nothing requested, the receive times out; nothing arrived
function OPS.timeout(s)
  bound(s)
  settimeout(s, 0.01)
  local d, err
  if not s.connected and coin() then d, err = call(s, "receivefrom")
  else d, err = call(s, "receive") end
  settimeout(s, 5)
  T.eq(d, nil, "timeout: no datagram")
  T.eq(err, "timeout", "timeout: the error")
  T.eq(queued(s), false, "timeout: nothing queued for the socket")
end

-- fifo: two helpers parked on the socket get the two late replies in the
-- order they parked
function OPS.fifo(s)
  bound(s)
  local got = {}
  for i = 1, 2 do
    go("fifo helper", function() got[i] = T.pack(call(s, "receive")) end)
  end
  asok.sleep(0.001)
  local seq = request(s, "late")
  local seq2 = seq and request(s, "late")
  if not seq2 then return end
  for _ = 1, 2000 do
    if got[1] and got[2] then break end
    asok.sleep(0.001)
  end
  T.same(got[1] or T.pack(), T.pack(want(s, seq)), "fifo: first parked")
  T.same(got[2] or T.pack(), T.pack(want(s, seq2)), "fifo: second parked")
end

-- closeparked: a helper parked in receive or receivefrom; the socket
-- closed under it: it wakes with LuaSocket's closed-UDP answer
function OPS.closeparked(s)
  bound(s)
  local res
  local from = not s.connected and coin()
  go("closeparked helper", function()
    res = T.pack(call(s, from and "receivefrom" or "receive"))
  end)
  asok.sleep(0.001)
  local buffered = coin()
  if buffered then -- a datagram waits in the kernel too (after the helper took its own)
    local seq = request(s, "two")
    if not seq then return end
    waitqueued(s, "closeparked")
    for _ = 1, 2000 do
      if res then break end
      asok.sleep(0.001)
    end
    T.same(res or T.pack(), from and T.pack(want(s, seq), hubs[s.fam].ip, tointeger(hubs[s.fam].port))
      or T.pack(want(s, seq)), "closeparked: helper got the first")
    waitqueued(s, "closeparked: the second")
    res = nil
    go("closeparked helper 2", function()
      settimeout(s, 5)
      res = T.pack(call(s, "receive"))
    end)
    asok.sleep(0.001)
    T.same(res or T.pack(), T.pack(want(s, seq + 1)), "closeparked: the second at once")
    res = nil
    go("closeparked helper 3", function()
      res = T.pack(call(s, from and "receivefrom" or "receive"))
    end)
    asok.sleep(0.001)
  end
  call(s, "close")
  stats.closes = stats.closes + 1
  for _ = 1, 2000 do
    if res then break end
    asok.sleep(0.001)
  end
  T.same(res or T.pack(), from and T.pack(nil, "closed") or T.pack(""), "closeparked: woken by close")
  return true
end

-- dropbuffered: a datagram queued in the kernel, then the socket dropped
-- unclosed (its __gc closes it)
function OPS.dropbuffered(s)
  local seq = request(s, "now")
  if not seq then return end
  waitqueued(s, "dropbuffered")
  stats.drops = stats.drops + 1
  return true
end

-- dropparked: a helper parked on the socket with a short timeout, the
-- worker's references dropped: the helper times out, then the socket is
-- garbage with its receive ended
function OPS.dropparked(s)
  bound(s)
  go("dropparked helper", function()
    settimeout(s, 0.02)
    local d, err = call(s, "receive")
    T.eq(d, nil, "dropparked: no datagram")
    T.eq(err, "timeout", "dropparked: timeout")
    T.eq(queued(s), false, "dropparked: nothing queued")
  end)
  stats.drops = stats.drops + 1
  return true
end

-- connect, unconnect: setpeername to the hub, and back ("*")
function OPS.connect(s)
  bound(s)
  if s.connected then return OPS.now(s) end
  local h = hubs[s.fam]
  T.eq(call(s, "setpeername", h.ip, h.port), 1, "setpeername")
  s.connected = true
  stats.connects = stats.connects + 1
  OPS.now(s)
end
function OPS.unconnect(s)
  if not s.connected then return OPS.now(s) end
  T.eq(call(s, "setpeername", "*"), 1, "setpeername('*')")
  s.connected = false
  -- Linux's disconnect lets go of a port the socket was given by its
  -- first send (not bound by the program): the next sendto takes another
  s.port = portof(s)
  s.unbound = s.port == 0
  stats.unconnects = stats.unconnects + 1
  OPS.late(s)
end

-- reopen: the socket closed, then the object made anew by LuaSocket's
-- setpeername or setsockname (a new socket, often on the old fd number;
-- setsockname on a port a closed socket had)
function OPS.reopen(s)
  bound(s)
  freed[s.fam][#freed[s.fam] + 1] = s.port
  call(s, "close")
  stats.reopens = stats.reopens + 1
  -- (a connected object stays udp{connected}: setsockname wants the other)
  local wasconnected = s.connected
  s.connected = false
  if wasconnected or coin() then
    local h = hubs[s.fam]
    T.eq(call(s, "setpeername", h.ip, h.port), 1, "reopen: setpeername")
    s.connected = true
    note(s.gen, "reopened by setpeername")
  else
    bind(s)
    note(s.gen, "reopened by setsockname")
  end
  newgen(s)
  OPS.late(s)
end

local OPNAMES = { "now", "late", "two", "timeout", "fifo", "connect", "unconnect", "reopen",
  "now", "late", "closeparked", "dropbuffered", "dropparked" }

-- worker runs ITERS sockets' lives, each a few random operations.
local function worker()
  for _ = 1, ITERS do
    local fam = (hubs[6] and rand(4) == 1) and 6 or 4
    local s = opensock(fam)
    settimeout(s, 5)
    local gone
    for _ = 1, rand(5) + 1 do
      local op = OPNAMES[rand(#OPNAMES)]
      note(s.gen, op, "fd", s.raw:getfd(), s.connected and "connected" or "")
      gone = OPS[op](s)
      if gone then break end
    end
    if not gone then
      if not s.unbound then freed[fam][#freed[fam] + 1] = s.port end
      call(s, "close")
      stats.closes = stats.closes + 1
    end
    s = nil -- dropped sockets: collected by the main loop's GC steps
    asok.sleep(0.001)
  end
end

-- echoer is udp_sendto_echo's client made anew ECHOES times, as the
-- differential suite's asok side ran it (H.open, asokside.lua's run_one):
-- socket.udp(), LuaSocket's own sendto of an announce (which makes and
-- binds the socket), then through asok (functions on the raw object, or a
-- wrapper) sendto the hub and receivefrom its echo, then close; on the
-- port its first one had (setsockname) when fixed, else an ephemeral one.
local function echoer(id, fixed)
  local myport
  local h = hubs[4]
  for n = 1, ECHOES do
    local c = assert(socket.udp())
    -- (another socket may hold the port meanwhile: then a fresh one)
    local again = fixed and myport and c:setsockname("127.0.0.1", myport)
    if again then stats.rebinds = stats.rebinds + 1 end
    assert(c:sendto(("A udp_sendto_echo %d %d"):format(id, n), h.ip, h.port))
    local _, p = c:getsockname()
    p = tonumber(p)
    if again then T.eq(p, myport, "echoer: its port again") end
    myport = myport or p
    local w = (n % 2 == 0) and asok.wrap(c) or nil
    local ping = ("E ping %d %d %d"):format(id, n, p)
    local sent = w and w:sendto(ping, h.ip, h.port) or asok.sendto(c, ping, h.ip, h.port)
    T.eq(sent, #ping, "echoer sendto")
    asok.settimeout(c, 5)
    local d, ip, port
    if w then d, ip, port = w:receivefrom() else d, ip, port = asok.receivefrom(c) end
    if d == nil then
      fail("echoer", id, n, "got nil,", ip, "kernel has it:",
        (socket.select({ c }, nil, 0) or {})[1] == c)
    else
      T.eq(d, ping, "echoer data")
      T.eq(ip, h.ip, "echoer sender ip")
      T.eq(port, tointeger(h.port), "echoer sender port")
      stats.echoes = stats.echoes + 1
    end
    if w then w:close() else c:close() end
  end
end

-- trader churns TCP fd numbers and handles beside the datagrams, as the
-- differential suite's native style does (asokside.lua's nativeize): a
-- LuaSocket client connected by asok trades fds (setfd) with a native
-- client accepted from a wrapped listener, then both talk and close.
local function trader(n)
  local l = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
  local _, lp = l:getsockname()
  for i = 1, n do
    local sok = assert(socket.tcp())
    T.eq(asok.connect(sok, "127.0.0.1", lp), 1, "trader: connect")
    local far = assert(l:accept())        -- sok's far end (a native client)
    local d = assert(socket.tcp())
    T.eq(asok.connect(d, "127.0.0.1", lp), 1, "trader: second connect")
    local nat = assert(l:accept())        -- d's far end
    local nfd, sfd = nat:getfd(), sok:getfd()
    sok:setfd(nfd)
    nat:setfd(sfd)                        -- nat now talks to far
    d:close()
    local line = "trade " .. i
    T.eq(nat:send(line .. "\n"), #line + 1, "trader: send")
    T.eq(far:receive(), line, "trader: the line through the traded fd")
    T.same(T.pack(asok.receive(sok)), T.pack(nil, "closed", ""), "trader: sok's end closed by d")
    nat:close(); sok:close(); far:close()
    stats.trades = stats.trades + 1
  end
  l:close()
end

-- mainturn: a socket of the main thread's, blocked in asok's receive or
-- receivefrom (the reactor runs meanwhile: the workers go on) until a
-- coroutine's socket sends it its datagram, after a sleep; then closed
-- (its port freed for reuse) or dropped.
local function mainturn()
  local s = opensock(4)
  if s.unbound then s.unbound = false; bind(s); s.port = portof(s) end
  settimeout(s, 5)
  s.seq = s.seq + 1
  local seq, from = s.seq, coin()
  local sender
  go("main's sender", function()
    local o = assert(socket.udp())
    assert(o:setsockname("127.0.0.1", 0))
    local _, p = o:getsockname()
    sender = tonumber(p)
    asok.sleep(0.003)
    T.eq(asok.sendto(o, want(s, seq), "127.0.0.1", s.port), #want(s, seq), "main's sender sendto")
    o:close()
  end)
  local d, ip, port
  if from then d, ip, port = call(s, "receivefrom") else d, ip = call(s, "receive") end
  if d == nil then
    fail("main gen", s.gen, "got nil,", ip, "kernel has it:", queued(s))
  else
    stats.got, stats.mains = stats.got + 1, stats.mains + 1
    T.eq(d, want(s, seq), "main: data")
    if from then
      T.eq(ip, "127.0.0.1", "main: sender ip")
      T.eq(port, tointeger(sender), "main: sender port")
    end
  end
  if coin() then
    freed[4][#freed[4] + 1] = s.port
    call(s, "close")
  end
end

for round = 1, ROUNDS do
  rstate = SEED * 1000 + round
  for _ = 1, WORKERS do go("worker", worker) end
  for i = 1, ECHOERS do go("echoer", echoer, i, i % 2 == 1) end
  go("trader", trader, 10)
  local limit = step + 20000
  while live > 0 and step < limit do
    drive()
    if step % 20 == 0 then mainturn() end
  end
  T.eq(live, 0, "round " .. round .. ": every coroutine finished")
  if live > 0 then
    for co, what in pairs(alive) do
      io.stderr:write("not finished: ", what, " ", coroutine.status(co), "\n",
        debug.traceback(co), "\n")
    end
    break
  end
  T.collect()
end

for _ = 1, 10 do drive() end
T.eq(#later, 0, "every late reply sent")
T.check(stats.got > 100 and stats.echoes > 100 and stats.closes > 10 and stats.drops > 5
  and stats.reopens > 5 and stats.mains > 5 and stats.trades > 5 and stats.timeouts == 0,
  "the run did its work")
local nfd, fdmax = 0, 0
for _, k in pairs(stats.fds) do nfd = nfd + 1; fdmax = math.max(fdmax, k) end
print(string.format("udp stress: %d requests, %d datagrams sent, %d received, %d echoes "
  .. "(%d on their first port again), %d main thread receives, %d TCP fd trades; %d closes, "
  .. "%d drops, %d reopens, %d reused ports, %d connects, %d unconnects; %d fd numbers, one "
  .. "used up to %d times; ipv6 %s",
  stats.req, stats.sent, stats.got, stats.echoes, stats.rebinds, stats.mains, stats.trades,
  stats.closes, stats.drops, stats.reopens, stats.reuses, stats.connects, stats.unconnects,
  nfd, fdmax, hubs[6] and "yes" or "no"))
for _, h in pairs(hubs) do h.sock:close() end
T.done("test_udp_stress")
