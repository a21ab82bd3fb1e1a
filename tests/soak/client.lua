-- client.lua - the soak test's client sessions (loaded by soak.lua).
-- A session connects, runs one randomly chosen kind of exchange and
-- accounts every byte: sent (what send accepted) = verified (echoed back
-- byte for byte) + lost, and bytes may only be lost in a session that
-- got an error it asked for (its own reset, a server reset, a timeout).
local asok = require "asok"
local socket = require "socket"
local random = math.random

return function(S, port)
  local st = S.stats

  -- frame returns one random L or B frame (see server.lua); blocks only
  -- with bigblocks, at most cap bytes long.
  local function frame(bigblocks, cap)
    if not bigblocks and random() < 0.6 then
      local len = random(0, 200)
      local off = random(0, #S.text - len)
      return ("L %d %d %s\n"):format(off, len, S.text:sub(off + 1, off + len))
    end
    local len = random() < 0.05 and random(1, 256 * 1024) or random(1, 32 * 1024)
    if cap and len > cap then len = cap end
    local off = random(0, #S.bytes - len)
    return ("B %d %d\n"):format(off, len) .. S.bytes:sub(off + 1, off + len)
  end

  -- frames returns n random frames, or blocks of at most cap bytes up to
  -- about total bytes.
  local function frames(n, total, cap)
    local list, sum = {}, 0
    while (n and #list < n) or (total and sum < total) do
      local f = frame(total ~= nil, cap)
      list[#list + 1], sum = f, sum + #f
    end
    return list
  end

  -- fail records an error of the session; planned says the session asked
  -- for it (else it counts as unexpected, which fails the soak).
  -- An error the session did not ask for is still attributed when the
  -- server reported one on this connection first (its idle timeout firing
  -- while the process was starved of CPU, for one).
  local function fail(s, op, err, planned)
    s.errors = s.errors + 1
    local cause = not planned and s.port and S.ended[s.port]
    if cause then
      op = op .. " after server " .. cause
      st.server_ended = st.server_ended + 1
    end
    S.err("client", op, err, not planned and not cause, s.kind)
  end

  -- send sends data whole; with s.recover a timeout resumes where it
  -- stopped. Returns true, or false after recording the error.
  local function send(s, data, planned)
    local i = 1
    while true do
      local last, err, partial = s.c:send(data, i)
      if last then s.sent = s.sent + #data - i + 1; return true end
      s.sent = s.sent + (partial or i - 1) - i + 1
      if err == "timeout" and s.recover then
        fail(s, "send", err, true)
        i = partial + 1
      else
        fail(s, "send", err, planned)
        return false
      end
    end
  end

  -- expect receives the echo of f and checks it (lines with '*l',
  -- blocks by count); with s.recover a timeout resumes with the partial
  -- as prefix. Returns true, or false after recording the error.
  local function expect(s, f, planned)
    local line = f:sub(1, 1) == "L" and random() < 0.5
    local got, err, part
    while true do
      if line then
        got, err, part = s.c:receive("*l", part)
        if got then got = got .. "\n" end
      else
        got, err, part = s.c:receive(#f, part)
      end
      if got or err ~= "timeout" or not s.recover then break end
      fail(s, "receive", err, true)
    end
    if got == f then s.verified = s.verified + #f; return true end
    if got then
      S.corrupt(("client %s: echo of %q differs"):format(s.kind, f:sub(1, 40)))
    else
      if part and part ~= f:sub(1, #part) then
        S.corrupt(("client %s: partial echo of %q differs"):format(s.kind, f:sub(1, 40)))
      end
      fail(s, "receive", err, planned)
    end
    return false
  end

  -- duplex sends list from a second coroutine while this one reads the
  -- echoes; after k echoes (k < #list: a reset) it calls cut().
  -- Then it waits for the sender to finish. Returns true if all echoed.
  local function duplex(s, list, k, cut, halfclose)
    local sending = true
    S.spawn(function()
      for i = 1, #list do
        if not send(s, list[i], k ~= nil) then break end
      end
      if halfclose and not k then s.c:shutdown("send") end
      sending = false
    end)
    local ok = true
    for i = 1, k or #list do
      if not expect(s, list[i], k ~= nil) then ok = false; break end
    end
    if cut then cut() end
    while sending do asok.sleep(0.01) end
    return ok
  end

  -- reset closes with SO_LINGER 0 (an RST) and marks the session closed.
  local function reset(s)
    if s.sent > s.verified then -- the bytes in flight are lost: the reset is their error
      fail(s, "reset", "RST with bytes in flight", true)
    end
    s.c:setoption("linger", { on = true, timeout = 0 })
    s.c:close()
    s.closed = true
  end

  local kinds = {}

  -- request/response or pipelined frames, then a normal close.
  function kinds.normal(s)
    local list = frames(random(1, 30))
    if random() < 0.5 then return duplex(s, list) end
    for i = 1, #list do
      if not (send(s, list[i]) and expect(s, list[i])) then return end
    end
  end

  -- pipelined frames, shutdown('send'), read every echo, then 'closed'.
  function kinds.halfclose(s)
    if not duplex(s, frames(random(1, 30)), nil, nil, true) then return end
    local r, err = s.c:receive(1)
    if r or err ~= "closed" then fail(s, "receive after half-close", tostring(r or err)) end
  end

  -- pipelined frames; an RST after some of the echoes, mid-transfer.
  function kinds.reset(s)
    local list = frames(random(2, 30))
    duplex(s, list, random(0, #list - 1), function() reset(s) end)
  end

  -- the server resets after some request/response frames.
  function kinds.serverreset(s)
    for _, f in ipairs(frames(random(0, 5))) do
      if not (send(s, f) and expect(s, f)) then return end
    end
    if not send(s, "R\n") then return end
    local r, err = s.c:receive(1)
    if r then S.corrupt("client serverreset: data after R") return end
    fail(s, "receive after R", err, err == "closed" or err == "connection reset by peer")
  end

  -- a slow reader: receive throttled to 16..128 kB/s, 0.3..2 s of data.
  function kinds.slowreader(s)
    local bps = random(16, 128) * 1000
    s.c:throttle_receive(bps)
    duplex(s, frames(nil, math.floor(bps * (0.3 + 1.7 * random())), bps))
  end

  -- the server reads slowly, this side sends with a 20..100 ms timeout
  -- and resumes after each timeout (send and receive).
  function kinds.sendtimeout(s)
    local bps = random(32, 256) * 1000
    local f = ("S %d\n"):format(bps)
    if not (send(s, f) and expect(s, f)) then return end
    s.c:settimeout(random(20, 100) / 1000)
    s.recover = true
    duplex(s, frames(nil, math.floor(bps * (0.5 + random())), bps))
  end

  -- the echo pauses (half sent) longer than the receive timeout; the
  -- session resumes with the partial as prefix or gives up and closes.
  function kinds.recvtimeout(s)
    local give_up = random() < 0.4
    local f = ("D %d\n"):format(random(150, 400))
    if not send(s, f) then return end
    s.c:settimeout(random(20, 100) / 1000)
    s.recover = not give_up
    if not expect(s, f, give_up) or give_up then return end
    s.c:settimeout(S.TIMEOUT)
    s.recover = nil
    local g = frame()
    if send(s, g) then expect(s, g) end
  end

  -- idle longer than the server's timeout: the server closes.
  function kinds.idle(s)
    local f = frame()
    if not (send(s, f) and expect(s, f)) then return end
    asok.sleep(S.IDLE + 1)
    local r, err = s.c:receive(1)
    if r or err ~= "closed" then fail(s, "receive after idle", tostring(r or err)) end
  end

  local MIX = { { "normal", 40 }, { "halfclose", 15 }, { "reset", 15 }, { "serverreset", 5 },
    { "slowreader", 10 }, { "sendtimeout", 5 }, { "recvtimeout", 8 }, { "idle", 2 } }

  -- pick returns a session kind by weight.
  local function pick()
    local r = random(1, 100)
    for _, k in ipairs(MIX) do
      r = r - k[2]
      if r <= 0 then return k[1] end
    end
    return "normal"
  end

  -- session runs one session of a random kind and accounts its bytes.
  local function session()
    local s = { kind = pick(), sent = 0, verified = 0, errors = 0 }
    s.c = asok.wrap(socket.tcp(), S.TIMEOUT)
    local ok, err = s.c:connect("127.0.0.1", port)
    if not ok then
      fail(s, "connect", err)
      s.c:close()
      asok.sleep(0.1)
      return
    end
    local _, lport = s.c:getsockname()
    s.port = tonumber(lport)
    S.ended[s.port] = nil
    kinds[s.kind](s)
    S.ended[s.port] = nil
    if not s.closed then
      if random() < 0.1 and s.kind ~= "reset" then reset(s) else s.c:close() end
    end
    local lost = s.sent - s.verified
    st.sent, st.verified, st.lost = st.sent + s.sent, st.verified + s.verified, st.lost + lost
    if lost < 0 then S.corrupt(("client %s: %d bytes verified more than sent"):format(s.kind, -lost)) end
    if lost > 0 and s.errors == 0 then
      st.unattributed = st.unattributed + lost
      S.note(("client %s: %d bytes lost without an error"):format(s.kind, lost))
    end
    st.sessions[s.kind] = (st.sessions[s.kind] or 0) + 1
  end

  -- client keeps running sessions until the soak's deadline.
  return function()
    while not S.stopping do
      session()
      if random() < 0.2 then asok.sleep(random() * 0.05) end
    end
  end
end
