-- server.lua - the soak test's echo server (loaded by soak.lua).
-- Frames are one header line, for "B" followed by a block:
--   L <off> <len> <payload>  payload must be P.text:sub(off+1, off+len)
--   B <off> <len>\n<block>   block must be P.bytes:sub(off+1, off+len)
--   D <ms>                   echo half the line, sleep ms, echo the rest
--   S <bps>                  throttle this connection's receive to bps
--   R                        reset the connection (SO_LINGER 0 close)
-- Every frame is echoed byte for byte after its content is verified.
-- A connection the server ends after an error (a timeout, a reset) is
-- noted in S.ended[client port] so that the client can attribute it.
local asok = require "asok"
local socket = require "socket"

-- start listens on 127.0.0.1 and runs the accept loop in a coroutine;
-- returns the listener wrapper and its port. S is the shared state
-- (stats, pools, spawn, err, corrupt, IDLE).
return function(S)
  local server = asok.wrap(assert(socket.bind("127.0.0.1", 0, 4096)))
  local _, port = server:getsockname()

  -- verified records n bytes of one frame checked by the server.
  local function verified(n) S.stats.server_bytes = S.stats.server_bytes + n end

  -- serve runs one connection until an error, a close or an R frame.
  local function serve(c)
    c:settimeout(S.IDLE)
    local _, peerport = c:getpeername()
    peerport = tonumber(peerport)
    while true do
      local hdr, err, part = c:receive("*l")
      if not hdr then
        S.err("server", "receive", err)
        if err ~= "closed" then S.ended[peerport] = err end
        if part and #part > 0 then S.stats.server_partial = S.stats.server_partial + #part end
        break
      end
      local kind = hdr:sub(1, 1)
      local out = hdr .. "\n"
      if kind == "L" then
        local off, len, payload = hdr:match("^L (%d+) (%d+) (.*)$")
        off, len = tonumber(off or ""), tonumber(len or "")
        if not off or payload ~= S.text:sub(off + 1, off + len) then
          S.corrupt("server: bad line frame " .. hdr:sub(1, 80))
        else
          verified(#out)
        end
      elseif kind == "B" then
        local off, len = hdr:match("^B (%d+) (%d+)$")
        if not off then S.corrupt("server: bad block header " .. hdr:sub(1, 80)); break end
        off, len = tonumber(off), tonumber(len)
        local block, berr = c:receive(len)
        if not block then
          S.err("server", "receive", berr)
          if berr ~= "closed" then S.ended[peerport] = berr end
          break
        end
        if block ~= S.bytes:sub(off + 1, off + len) then
          S.corrupt(("server: block %s differs"):format(hdr))
        else
          verified(#out + #block)
        end
        out = out .. block
      elseif kind == "D" then
        local ms = tonumber(hdr:match("^D (%d+)$"))
        local half = math.floor(#out / 2)
        local ok, serr = c:send(out:sub(1, half))
        if not ok then
          S.err("server", "send", serr)
          if serr ~= "closed" then S.ended[peerport] = serr end
          break
        end
        asok.sleep(ms / 1000)
        out = out:sub(half + 1)
        verified(#hdr + 1)
      elseif kind == "S" then
        c:throttle_receive(tonumber(hdr:match("^S (%d+)$")))
        verified(#out)
      elseif kind == "R" then
        verified(#out)
        c:setoption("linger", { on = true, timeout = 0 })
        c:close()
        S.stats.server_resets = S.stats.server_resets + 1
        return
      else
        S.corrupt("server: unknown frame " .. hdr:sub(1, 80))
        break
      end
      local ok, serr = c:send(out)
      if not ok then
        S.err("server", "send", serr)
        if serr ~= "closed" then S.ended[peerport] = serr end
        break
      end
    end
    c:close()
  end

  S.spawn(function()
    while true do
      local c, err = server:accept()
      if not c then
        if err == "closed" then return end
        S.err("server", "accept", err)
        asok.sleep(0.05)
      else
        S.stats.accepted = S.stats.accepted + 1
        S.spawn(serve, c)
      end
    end
  end)
  return server, port
end
