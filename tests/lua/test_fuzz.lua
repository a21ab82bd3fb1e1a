-- test_fuzz.lua - random calls, fixed seeds: every asok function and every
-- wrapper method, on every kind of socket (TCP master, server, closed;
-- UDP; unix stream and datagram; not a socket at all), with arguments
-- drawn from a set of hostile values, each call inside a coroutine under
-- asok.xpcall. The properties, whatever the calls did:
--   - the process never crashes, and no error escapes asok.xpcall;
--   - once every socket of a seed is closed, no coroutine is left
--     waiting: each one parked on a socket resumed and finished;
--   - no asok handle outlives its socket (T.done);
--   - two in three coroutines make their calls inside 1 or 2 levels of
--     asok.coroutine.wrap generators, whose callers see only the
--     generators' own yields and returns.
-- Left out: asok.connect and the SOCKS calls (a random string would be a
-- host name to resolve, whose time is the resolver's; test_bad_input
-- checks their arguments), asok.sleep (a random sleep may not end),
-- setfd (a random fd number would close the test's own stdout), and
-- bind/setsockname (LuaSocket's own; on a unix socket a random string
-- would leave a socket file in the working directory).
-- ASOK_FUZZ_SEEDS=n runs seeds 1..n instead of the three fixed ones.
local T = dofile("asoktest.lua")
local asok = require "asok"
local socket = require "socket"
local unix = require "socket.unix"

local values = { true, false, 0, -1, 1, 1.5, 2 ^ 53, -2 ^ 63, 0 / 0, 1 / 0, -1 / 0, "", "x",
  "*l", "*a", "*", "127.0.0.1", "::1", string.rep("a", 200), {}, function() end,
  coroutine.create(function() end), "65536", "80", 8192, 1e300, "/tmp" }
local NV = #values

local SKIP = { connect = true, socks4_connect = true, socks5_connect = true, sleep = true,
  select = true, seterrorhandler = true }
local fns = {}
for k, v in pairs(asok) do
  if type(v) == "function" and not SKIP[k] then fns[#fns + 1] = k end
end
table.sort(fns)
local methods = { "receive", "send", "receivefrom", "sendto", "accept", "close", "settimeout",
  "gettimeout", "setlimit", "throttle_receive", "throttle_send", "dirty", "getstats", "setstats",
  "getfd", "getsockname", "getpeername", "setoption", "getoption", "shutdown", "listen",
  "setpeername" }

local made, cos = {}, {}

-- value returns a random argument (nil included).
local function value()
  local i = math.random(0, NV)
  return values[i] -- values[0] is nil
end

-- newsock returns a fresh object of a random kind, remembered for cleanup.
local function newsock()
  local k, s = math.random(1, 8), nil
  if k == 1 then s = socket.tcp()
  elseif k == 2 then s = socket.udp()
  elseif k == 3 then s = unix.dgram()
  elseif k == 4 then s = unix.stream()
  elseif k == 5 then s = socket.bind("127.0.0.1", 0)
  elseif k == 6 then s = socket.udp(); s:setsockname("127.0.0.1", 0)
  elseif k == 7 then
    s = unix.dgram()
    local path = os.tmpname()
    os.remove(path)
    s:bind(path)
    os.remove(path)
  else return value() end
  made[#made + 1] = s
  return s
end

-- closeall closes every socket of one seed: every coroutine parked on one
-- must wake and finish. Returns how many waited before the close.
local function closeall(seed)
  local parked = 0
  for _, co in ipairs(cos) do
    if coroutine.status(co) ~= "dead" then parked = parked + 1 end
  end
  for _, s in ipairs(made) do pcall(s.close, s) end
  T.run(function()
    for _, co in ipairs(cos) do
      if coroutine.status(co) ~= "dead" then return false end
    end
    return true
  end, 10)
  local alive = 0
  for _, co in ipairs(cos) do
    if coroutine.status(co) ~= "dead" then alive = alive + 1 end
  end
  T.eq(alive, 0, "seed " .. seed .. ": coroutines still waiting after every socket was closed")
  made, cos = {}, {}
  return parked
end

-- ASOK_FUZZ_SEEDS=n runs seeds 1..n instead of the three fixed ones (a
-- longer run by hand)
local seeds = { 11, 22, 33 }
local nseeds = tonumber(os.getenv("ASOK_FUZZ_SEEDS") or "")
if nseeds then
  seeds = {}
  for i = 1, nseeds do seeds[i] = i end
end

local escaped, parked = 0, 0

-- nest returns f run depth asok.coroutine.wrap generators deep: each
-- generator yields "mid" after f and returns "end", and its caller must
-- see exactly those, whatever f waited on (misrouted counts the others).
local misrouted = 0
local function nest(f, depth)
  if depth == 0 then return f end
  local inner = nest(f, depth - 1)
  return function()
    local g = asok.coroutine.wrap(function() inner(); coroutine.yield("mid"); return "end" end)
    local a = g()
    local b = g()
    if a ~= "mid" or b ~= "end" then misrouted = misrouted + 1 end
  end
end

for _, seed in ipairs(seeds) do
  math.randomseed(seed)
  for round = 1, 1000 do
    local s = newsock()
    local w = s
    if math.random() < 0.5 and type(s) == "userdata" then
      local ok, x = pcall(asok.wrap, s, math.random() < 0.5 and 0.01 or nil)
      if ok then w = x end
    end
    local body = function()
      for _ = 1, 4 do
        if w == s or math.random() < 0.5 then
          local f = asok[fns[math.random(#fns)]]
          asok.xpcall(f, nil, w, value(), value(), value())
        else
          local m = methods[math.random(#methods)]
          asok.xpcall(function()
            local f = w[m]
            if f then return f(w, value(), value(), value()) end
          end, nil)
        end
      end
    end
    -- two in three run their calls 1 or 2 asok.coroutine.wrap levels deep
    local co = coroutine.create(nest(body, math.random(0, 2)))
    local ok, err = coroutine.resume(co)
    if not ok then
      escaped = escaped + 1
      T.check(false, "an error escaped asok.xpcall:", err)
    end
    cos[#cos + 1] = co
    if round % 50 == 0 then asok.select(nil, nil, 0.001) end
  end
  -- some coroutines wait on a socket by now (about 50 per seed): close
  -- this seed's sockets; every one of them must wake and finish
  parked = parked + closeall(seed)
end
T.eq(escaped, 0, "errors escaped")
T.eq(misrouted, 0, "values misrouted through asok.coroutine.wrap")
T.check(parked > 0, "no coroutine waited before a close: the seeds test nothing")
print(("test_fuzz: %d seeds, %d coroutines were waiting when their sockets closed"):format(#seeds, parked))
made, cos = nil, nil
T.done("test_fuzz")
