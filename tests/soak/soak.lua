-- soak.lua - asok's soak test (issue 6 item 8): an echo server and 1,000
-- client coroutines in one Lua process for SOAK_SECONDS (default 600).
-- Each client runs random sessions one after another (client.lua):
-- checked echoes, its own resets, server resets, half-closes, slow readers,
-- send and receive timeouts, idle connections the server times out.
-- Every 10 s: sessions, bytes, errors by kind, coroutines, RSS, fds.
-- At the end everything is closed and the soak fails (exit 1) unless:
-- no corruption, no byte lost without an error, no unexpected error, no
-- coroutine left (alive or parked), handles and fds (+-2) back to the
-- start, RSS at the end <= RSS after warm-up * (1 + SOAK_RSS_SLACK): the
-- means over min(60, seconds/4) s after the warm-up and before the end.
--
--   LUA_CPATH='build/lib/lua/5.4/?.so;;' lua5.4 tests/soak/soak.lua [seconds]
-- Environment: SOAK_SECONDS, SOAK_CLIENTS (1000), SOAK_SEED, SOAK_WARMUP
-- (seconds, default min(60, seconds/2)), SOAK_RSS_SLACK (0.10), SOAK_STALL,
-- SOAK_LSFD (list /proc/<pid>/fd at the start and the end).
local asok = require "asok"
local socket = require "socket"

local DIR = (arg and arg[0] or ""):match("^(.*/)") or "./"
local SECONDS = tonumber(arg[1] or os.getenv("SOAK_SECONDS") or "600")
local CLIENTS = tonumber(os.getenv("SOAK_CLIENTS") or "1000")
local SEED = tonumber(os.getenv("SOAK_SEED") or "") or os.time()
local WARMUP = tonumber(os.getenv("SOAK_WARMUP") or "") or math.min(60, SECONDS / 2)
local RSS_SLACK = tonumber(os.getenv("SOAK_RSS_SLACK") or "0.10")
math.randomseed(SEED)

local S = { IDLE = 5, TIMEOUT = 30, stopping = false, live = 0, problems = {}, ended = {} }
local st = { sent = 0, verified = 0, lost = 0, unattributed = 0, corrupt = 0,
  unexpected = 0, crashed = 0, server_bytes = 0, server_partial = 0,
  server_resets = 0, server_ended = 0, accepted = 0, sessions = {}, errors = {} }
S.stats = st

-- note prints a problem (the first 30 of them).
function S.note(msg)
  S.problems[#S.problems + 1] = msg
  if #S.problems <= 30 then io.stderr:write("soak: ", msg, "\n") end
end

-- corrupt records a byte that arrived different from what was sent.
function S.corrupt(msg)
  st.corrupt = st.corrupt + 1
  S.note("CORRUPT " .. msg)
end

-- err counts an error by side, operation and message; unexpected ones
-- (not asked for by the session) fail the soak.
function S.err(side, op, err, unexpected, kind)
  local key = side .. " " .. op .. " " .. tostring(err)
  st.errors[key] = (st.errors[key] or 0) + 1
  if unexpected then
    st.unexpected = st.unexpected + 1
    S.note(("unexpected error in a %s session: %s"):format(kind or "?", key))
  end
end

-- spawn runs f(...) in a counted coroutine (S.live: not finished yet).
function S.spawn(f, ...)
  S.live = S.live + 1
  return asok.spawn(function(...)
    f(...)
    S.live = S.live - 1
  end, ...)
end

asok.seterrorhandler(function(msg)
  st.crashed = st.crashed + 1
  S.note("coroutine error: " .. tostring(msg))
end)

-- pool returns n random bytes drawn from chars (or all 256 values).
local function pool(n, chars)
  local t = {}
  for i = 1, n do
    local k = math.random(1, chars and #chars or 256)
    t[i] = chars and chars:sub(k, k) or string.char(k - 1)
  end
  return table.concat(t)
end
S.bytes = pool(1024 * 1024)
S.text = pool(64 * 1024, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +/=-_.,;:!?")

-- rss returns VmRSS in KiB.
local function rss()
  local f = assert(io.open("/proc/self/status"))
  local kb = tonumber(f:read("*a"):match("VmRSS:%s*(%d+)"))
  f:close()
  return kb
end

local PID
do
  local f = assert(io.open("/proc/self/stat"))
  PID = f:read("*l"):match("^(%d+)")
  f:close()
end

-- fds returns the number of open descriptors (the popen pipe excluded).
local function fds()
  local p = assert(io.popen("ls /proc/" .. PID .. "/fd | wc -l"))
  local n = tonumber(p:read("*a"))
  p:close()
  return n - 1
end

-- parked returns how many coroutines wait in asok: the entries of the
-- glue's token -> coroutine table (found as asok.select's upvalue).
local function parked()
  for i = 1, 200 do
    local name, v = debug.getupvalue(asok.select, i)
    if not name then break end
    if name == "waiting" then
      local n = 0
      for _ in pairs(v) do n = n + 1 end
      return n
    end
  end
  return -1
end

-- errline renders the error counts, most frequent first.
local function errline()
  local keys = {}
  for k in pairs(st.errors) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return st.errors[a] > st.errors[b] end)
  for i, k in ipairs(keys) do keys[i] = ("%s=%d"):format(k, st.errors[k]) end
  return table.concat(keys, ", ")
end

-- total returns the number of sessions run, and a summary by kind.
local function sessions()
  local n, parts = 0, {}
  for k, v in pairs(st.sessions) do n = n + v; parts[#parts + 1] = k .. "=" .. v end
  table.sort(parts)
  return n, table.concat(parts, " ")
end

local MB = 1024 * 1024
local t0 = socket.gettime()

-- progress prints one status line.
local function progress(what)
  local n, by = sessions()
  print(("[%6.1f s] %s sessions=%d sent=%.1f MB verified=%.1f MB lost(attributed)=%.1f KB"
    .. " unattributed=%d corrupt=%d unexpected=%d live=%d parked=%d rss=%d KB fds=%d")
    :format(socket.gettime() - t0, what, n, st.sent / MB, st.verified / MB, st.lost / 1024,
      st.unattributed, st.corrupt, st.unexpected, S.live, parked(), rss(), fds()))
  print("    sessions: " .. by)
  print("    errors: " .. errline())
  io.stdout:flush()
end

collectgarbage(); collectgarbage()
local BASE_HANDLES = asok._debug.handles()
local FD0, RSS0 = fds(), rss()
if os.getenv("SOAK_LSFD") then os.execute("ls -l /proc/" .. PID .. "/fd") end
print(("soak: %s on %s, %d clients, %g s, seed %d, warm-up %g s, pid %s"):format(
  asok._VERSION, jit and jit.version or _VERSION, CLIENTS, SECONDS, SEED, WARMUP, PID))

local server, port = dofile(DIR .. "server.lua")(S)
local client = dofile(DIR .. "client.lua")(S, port)
for _ = 1, CLIENTS do S.spawn(client) end

-- SOAK_STALL=t: at t seconds the main thread stops driving the reactor
-- for IDLE + 1 s (a starved process): server timeouts fire on live
-- connections and the clients' errors must be attributed to them.
local STALL = tonumber(os.getenv("SOAK_STALL") or "")

-- RSS is sampled at every pass (0.5 s); "after warm-up" and "at the end"
-- are the means over the WINDOW seconds after WARMUP and before the end.
local WINDOW = math.min(60, SECONDS / 4)
local rss_warm, rss_loaded, peak, rss_at_warmup = nil, nil, 0, nil
local warm_sum, warm_n, end_sum, end_n = 0, 0, 0, 0
local nextp = 10
while socket.gettime() - t0 < SECONDS do
  asok.select(nil, nil, 0.5)
  local now = socket.gettime() - t0
  local r = rss()
  peak = math.max(peak, r)
  if now >= WARMUP and now < WARMUP + WINDOW then warm_sum, warm_n = warm_sum + r, warm_n + 1 end
  if now >= SECONDS - WINDOW then end_sum, end_n = end_sum + r, end_n + 1 end
  if STALL and now >= STALL then
    STALL = nil
    print(("stall: the reactor is not driven for %d s"):format(S.IDLE + 1))
    local t = socket.gettime() + S.IDLE + 1
    while socket.gettime() < t do end
  end
  if not rss_at_warmup and now >= WARMUP then rss_at_warmup = r; print(("warm-up RSS %d KB"):format(r)) end
  if now >= nextp then progress("run "); nextp = nextp + 10 end
end
rss_warm = warm_n > 0 and math.floor(warm_sum / warm_n) or nil
rss_loaded = math.floor(end_sum / math.max(end_n, 1))

-- stop: clients finish their current session; then the listener closes
S.stopping = true
local stop = socket.gettime()
while S.live > 1 and socket.gettime() - stop < 60 do asok.select(nil, nil, 0.2) end
server:close()
server = nil
asok.select(nil, nil, 0.5)
for _ = 1, 4 do collectgarbage() end
asok.select(nil, nil, 0.1)
for _ = 1, 4 do collectgarbage() end
local RSS_END, FD_END = rss(), fds()
if os.getenv("SOAK_LSFD") then os.execute("ls -l /proc/" .. PID .. "/fd") end
progress("end ")

local n = sessions()
local checks = {
  { st.corrupt == 0, ("corruption: %d"):format(st.corrupt) },
  { st.unattributed == 0, ("bytes lost without an error: %d"):format(st.unattributed) },
  { st.unexpected == 0, ("unexpected errors: %d"):format(st.unexpected) },
  { st.crashed == 0, ("coroutine errors: %d"):format(st.crashed) },
  { st.sent == st.verified + st.lost, ("sent %d = verified %d + lost %d"):format(st.sent, st.verified, st.lost) },
  { n >= CLIENTS, ("sessions run: %d"):format(n) },
  { S.live == 0, ("coroutines not finished: %d"):format(S.live) },
  { parked() == 0, ("coroutines parked in asok: %d"):format(parked()) },
  { asok._debug.handles() == BASE_HANDLES, ("asok handles %d, at start %d"):format(asok._debug.handles(), BASE_HANDLES) },
  { math.abs(FD_END - FD0) <= 2, ("fds %d, at start %d"):format(FD_END, FD0) },
  { rss_warm and rss_loaded <= rss_warm * (1 + RSS_SLACK),
    ("RSS mean of the last %g s %d KB vs mean of %g s after warm-up %s KB (slack %d%%)"):format(
      WINDOW, rss_loaded, WINDOW, tostring(rss_warm), RSS_SLACK * 100) },
  { rss_warm and RSS_END <= rss_warm * (1 + RSS_SLACK),
    ("RSS after close %d KB vs after warm-up %s KB"):format(RSS_END, tostring(rss_warm)) },
}
print(("summary: seconds=%g clients=%d seed=%d sessions=%d accepted=%d bytes sent=%d verified=%d"
  .. " lost(attributed)=%d server-verified=%d server-resets=%d client-errors-after-server-errors=%d"):format(
  SECONDS, CLIENTS, SEED, n, st.accepted, st.sent, st.verified, st.lost, st.server_bytes,
  st.server_resets, st.server_ended))
print(("summary: rss start=%d at-warm-up=%s warm-mean=%s end-mean=%d after-close=%d peak=%d KB; fds start=%d end=%d;"
  .. " handles start=%d end=%d; coroutines live=%d parked=%d"):format(RSS0, tostring(rss_at_warmup),
  tostring(rss_warm), rss_loaded, RSS_END, peak, FD0, FD_END, BASE_HANDLES, asok._debug.handles(), S.live, parked()))
local failed = 0
for _, c in ipairs(checks) do
  print((c[1] and "ok   " or "FAIL ") .. c[2])
  if not c[1] then failed = failed + 1 end
end
print(failed == 0 and "soak: PASS" or ("soak: FAIL (%d checks)"):format(failed))
os.exit(failed == 0 and 0 or 1)
