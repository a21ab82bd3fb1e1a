-- diff/fuzzgen.lua: the seeded generator of the differential fuzzer
-- (test_diffuzz.lua). A seed and a kind ("tcp", "unix", "udp", "unixdg")
-- give a sequence of steps, the same on every interpreter:
--   {"P", op, args...}      a peer step (plain LuaSocket, the other end)
--   {"C", method, args...}  a client call, the one compared with LuaSocket
-- (args may hold nil: each step has n, its length).
-- The sequences are deterministic by construction: the peer's steps are
-- small sends, shutdowns, closes, resets and non-blocking drains, which on
-- loopback are in the client's kernel buffer when they return, and the
-- generator keeps a model of the client's state so that a receive that
-- could wait for bytes that never come runs under a finite timeout (it
-- answers nil, 'timeout', partial), never a blocking one. Pure Lua (no
-- math.random: its sequence differs between interpreters).
local G = {}

-- rng returns a Park-Miller generator seeded with seed: exact on every Lua
-- (16807 * 2^31 < 2^53 in 5.1's doubles; integers on 5.3+).
function G.rng(seed)
  local s = (seed * 7919 + 17) % 2147483647
  if s == 0 then s = 1 end
  local r = {}
  -- int returns an integer in 1..n.
  function r.int(n) s = (s * 16807) % 2147483647; return s % n + 1 end
  -- pick returns one element of list t.
  function r.pick(t) return t[r.int(#t)] end
  -- chance is true with probability p percent.
  function r.chance(p) return r.int(100) <= p end
  return r
end

-- step packs a step with its length (nil arguments kept).
local function step(...) return { n = select("#", ...), ... } end

-- the pieces stream data is made of: line ends of every kind, NULs, empty
-- lines, plain words
local TOKENS = { "a", "bc", "xyz", "hello", "\r\n", "\n", "\r", "\0", "\n\n", "\r\r\n",
  " ", "0123456789", "\0\n", "line\r\n" }

-- LONG (ASOK_DIFFUZZ_LONG=k, default 1) multiplies the size of chunk's
-- runs of one unit: with 8 they go to 72,000 bytes, lines past LuaSocket's
-- first two reads (core's readLine, its peek and discard: reliability.md
-- item 59). The random draws stay the same: a seed's steps are the
-- default's with longer runs. (Past 8 the sequences stop being
-- deterministic: a run of 100 KiB or more outgrows what loopback holds
-- in the client's queue when the peer's send returns, and the rest comes
-- as the client reads, in time or not for a 10 ms timeout, with asok's
-- hundreds of sequences at once.)
local LONG = tonumber(os.getenv("ASOK_DIFFUZZ_LONG") or "") or 1

-- chunk returns small stream data (sometimes empty, sometimes a few KiB:
-- over LuaSocket's 8,192-byte buffer when pieces add up).
local function chunk(r)
  if r.chance(8) then return "" end
  if r.chance(12) then
    local unit = r.pick({ "0123456789abcdef", "x\n", "ab\r\n", "\0" })
    local s = string.rep(unit, math.floor(r.pick({ 100, 1000, 3000, 5000, 9000 }) * LONG / #unit))
    return s
  end
  local parts = {}
  for i = 1, r.int(8) do parts[i] = r.pick(TOKENS) end
  return table.concat(parts)
end

-- datagram returns a datagram of 0 to about 9,000 bytes (over the 8,192
-- LuaSocket receives by default).
local function datagram(r)
  local k = r.int(10)
  if k == 1 then return "" end
  if k == 2 then return string.rep("D", r.pick({ 8191, 8192, 8193, 9000 })) end
  if k == 3 then return string.rep("0123456789", r.int(30)) end
  return chunk(r):sub(1, 200)
end

local FINITE = { 0, 0, 0.01, 0.02 }              -- timeouts that may fire
local INFINITE = { -1, "nil" }                     -- no limit
local MODES = { "b", "t", "r", "none" }
local PATTERNS = { "*l", "*a", "none", "l", "a", "*line", "*all", "x" }
local COUNTS = { 0, 0, 1, 2, 3, 5, 7, 16, 100, 8192, 8193, 1000000, 2.5, 0.5, "3" }
local PREFIXES = { "", "p", "prefix-", "\0", "ab\n" }

-- settimeout returns a settimeout step and updates the model m: m.tb and
-- m.tt are the block and total timeouts (nil: none).
local function settimeout(r, m, finite)
  local v = finite and r.pick(FINITE) or r.pick(r.chance(50) and FINITE or INFINITE)
  local mode = r.pick(MODES)
  local t = v ~= "nil" and v or nil
  local lim = (t ~= nil and t >= 0) and t or nil
  if mode == "t" or mode == "r" then m.tt = lim else m.tb = lim end
  if mode == "none" then return step("C", "settimeout", t) end
  return step("C", "settimeout", t, mode)
end

-- bounded tells whether a call that waits for data would end.
local function bounded(m) return m.tb ~= nil or m.tt ~= nil end

-- receive returns a stream receive step (pattern, count, prefix).
local function stream_receive(r)
  local pat
  if r.chance(45) then pat = r.pick(COUNTS) else pat = r.pick(PATTERNS) end
  if pat == "none" then
    if r.chance(50) then return step("C", "receive") end
    return step("C", "receive", nil, r.pick(PREFIXES))
  end
  if r.chance(30) then return step("C", "receive", pat, r.pick(PREFIXES)) end
  return step("C", "receive", pat)
end

-- odd returns a stream call with unusual arguments (most raise, as
-- LuaSocket's; a number where a string goes is taken as a string).
local function odd(r, m)
  local k = r.int(10)
  if k == 1 then return step("C", "receive", -1)
  elseif k == 2 then return step("C", "receive", true)
  elseif k == 3 then return step("C", "receive", {})
  elseif k == 4 then
    -- (a prefix of 2 bytes: it waits for the third)
    if not m.eof and not m.cclosed and not bounded(m) then m.tb = 0; return step("C", "settimeout", 0) end
    return step("C", "receive", 3, 42)
  elseif k == 5 then return step("C", "send", 12.5)
  elseif k == 6 then return step("C", "send", nil)
  elseif k == 7 then return step("C", "shutdown", "x")
  elseif k == 8 then return step("C", "setstats", r.int(100), nil, nil)
  elseif k == 9 then
    -- a timeout given as a string: "0" keeps the model's limit finite
    m.tb = 0; return step("C", "settimeout", "0")
  end
  return step("C", "settimeout", 0.01, "x")
end

-- stream returns the steps of a TCP or unix stream sequence of n steps.
local function stream(r, n, unix)
  local out = {}
  local m = { eof = false, cclosed = false, pclosed = false, sent = 0, got = 0 }
  local function add(s) out[#out + 1] = s end
  while #out < n do
    if r.chance(40) then
      -- a peer step
      local k = r.int(20)
      local late = #out > n / 3 -- hang-ups come after a first third of traffic
      if m.pclosed then
        if k <= 2 then add(step("P", "send", "late")) else add(step("P", "drain")) end
      elseif k <= 11 and m.sent < 40000 then
        local d = chunk(r); m.sent = m.sent + #d; add(step("P", "send", d))
      elseif k == 17 and late then add(step("P", "shutdown")); m.eof = true
      elseif k == 18 and late then add(step("P", "close")); m.eof = true; m.pclosed = true
      elseif k == 19 and late then add(step("P", "reset")); m.eof = true; m.pclosed = true
      else add(step("P", "drain")) end
    else
      local k = r.int(20)
      if k <= 8 then
        if not m.eof and not m.cclosed and not bounded(m) then add(settimeout(r, m, true)) end
        add(stream_receive(r))
      elseif k <= 10 then
        if m.got < 40000 then
          local d = chunk(r); m.got = m.got + #d
          if r.chance(25) then add(step("C", "send", d, r.int(7) - 3, r.int(9) - 4))
          else add(step("C", "send", d)) end
        end
      elseif k <= 12 then add(settimeout(r, m, false))
      elseif k == 13 then add(step("C", "getstats"))
      elseif k == 14 then add(step("C", "dirty"))
      elseif k == 15 then
        local mode = r.pick({ "send", "receive", "both", "none" })
        if mode == "none" then add(step("C", "shutdown")) else add(step("C", "shutdown", mode)) end
        if mode ~= "send" then m.eof = true end
      elseif k == 16 and r.chance(40) then add(step("C", "close")); m.cclosed = true
      elseif k == 17 then add(step("C", "getpeername"))
      elseif k == 18 then add(step("C", "getsockname"))
      elseif k == 19 and not unix then
        -- (tcp-nodelay stays on: with Nagle's algorithm a small send
        -- waits for the ACK of the one before, which loopback's delayed
        -- ACKs hold back for up to 40 ms: not in the peer's buffer on return)
        local opt = r.pick({ "tcp-nodelay", "keepalive" })
        if r.chance(50) then add(step("C", "setoption", opt, opt == "tcp-nodelay" or r.chance(50)))
        else add(step("C", "getoption", opt)) end
      elseif k == 20 and r.chance(50) then add(odd(r, m))
      else add(step("C", "gettimeout")) end
    end
  end
  -- the end: whatever is left, as the client sees it
  if not m.eof and not m.cclosed and not bounded(m) then add(step("C", "settimeout", 0)) end
  add(step("C", "receive", "*a"))
  add(step("C", "getstats"))
  add(step("P", "drain"))
  return out
end

-- dgram returns the steps of a UDP or unix datagram sequence of n steps.
-- The peer's queue and the client's are kept at 8 datagrams or fewer (a
-- unix datagram socket takes 10 by default: net.unix.max_dgram_qlen).
local function dgram(r, n, unix)
  local out = {}
  local m = { queued = 0, topeer = 0, connected = false, cclosed = false, pclosed = false }
  local function add(s) out[#out + 1] = s end
  while #out < n do
    -- (a closed peer takes no more steps: LuaSocket's receivefrom on a
    -- closed UDP object reads an address it never set)
    if r.chance(35) and not m.pclosed then
      local k = r.int(10)
      if m.cclosed then add(step("P", "drain"))
      elseif k <= 6 and m.queued < 8 then
        add(step("P", "sendto", datagram(r)))
        if not m.reopened then m.queued = m.queued + 1 end
      elseif k == 10 and r.chance(20) then add(step("P", "close")); m.pclosed = true
      else add(step("P", "drain")); m.topeer = 0 end
    else
      local k = r.int(20)
      if k <= 7 then
        if m.queued == 0 and not m.cclosed and not bounded(m) then add(settimeout(r, m, true)) end
        local size = r.chance(50) and r.pick({ 0, 1, 5, 100, 8192, 9000, 65535, 2.5 }) or nil
        -- (no receivefrom on a closed object: LuaSocket's reads an address
        -- recvfrom never set, its result differs from run to run)
        local what = (r.chance(50) or m.cclosed) and "receive" or "receivefrom"
        if size then add(step("C", what, size)) else add(step("C", what)) end
        if m.queued > 0 then m.queued = m.queued - 1 end
      elseif k <= 9 then
        if m.topeer < 8 and not m.pclosed then
          add(step("C", "send", datagram(r))); if m.connected then m.topeer = m.topeer + 1 end
        end
      elseif k <= 11 then
        if m.topeer < 8 and not m.pclosed then
          add(step("C", "sendto", datagram(r), "$PEER")); m.topeer = m.topeer + 1
        end
      elseif k <= 13 then add(settimeout(r, m, false))
      elseif k == 14 then
        if unix then
          if not m.connected then add(step("C", "connect", "$PEER")); m.connected = true end
        elseif m.connected and r.chance(50) then
          add(step("C", "setpeername", "*")); m.connected = false
        else
          add(step("C", "setpeername", "$PEER")); m.connected = true
          -- on a closed object LuaSocket's setpeername makes a new socket
          -- (inet_tryconnect): open, empty, on a port of its own, which
          -- the peer's datagrams (sent to the old one) never reach
          if m.cclosed then m.cclosed, m.reopened, m.queued = false, true, 0 end
        end
      elseif k == 15 then add(step("C", "getpeername"))
      elseif k == 16 then add(step("C", "getsockname"))
      elseif k == 17 and r.chance(30) then add(step("C", "close")); m.cclosed = true
      elseif k == 18 then add(step("C", "gettimeout"))
      else add(step("C", "dirty")) end
    end
  end
  if not m.pclosed then add(step("P", "drain")) end
  return out
end

G.KINDS = { "tcp", "unix", "udp", "unixdg" }

-- sequence returns the steps of seed's sequence of kind (n steps or a few
-- more; default 40).
function G.sequence(seed, kind, n)
  local r = G.rng(seed * 4 + (kind == "tcp" and 0 or kind == "unix" and 1 or kind == "udp" and 2 or 3))
  n = n or 40
  if kind == "tcp" or kind == "unix" then return stream(r, n, kind == "unix") end
  return dgram(r, n, kind == "unixdg")
end

return G
