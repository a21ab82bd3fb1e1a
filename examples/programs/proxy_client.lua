-- plain LuaSocket: sends streams.up and reads streams.down at once through
-- the proxy, half-closing after its send; reports "ok" or what differed
local socket = require "socket"
local streams = dofile("streams.lua")
local c = socket.tcp()
assert(c:connect("127.0.0.1", tonumber(arg[1])))
c:settimeout(0)
local got, i, sending, closed = {}, 1, true, false
local why = "ok"
-- until both directions are done: the proxy may finish the stream down
-- before this side has sent all of its own
while not closed or sending do
  local r, w = socket.select(not closed and { c } or nil, sending and { c } or nil, 20)
  if #r == 0 and #w == 0 then why = "stalled"; break end
  if #r > 0 then
    local data, err, part = c:receive(65536)
    got[#got + 1] = data or part
    if err == "closed" then closed = true
    elseif err and err ~= "timeout" then why = err; break end
  end
  if sending and #w > 0 then
    local last, err, l = c:send(streams.up, i, math.min(i + 65535, #streams.up))
    i = (last or l) + 1
    if i > #streams.up then
      sending = false
      assert(c:shutdown("send"))
    end
  end
end
got = table.concat(got)
if why == "ok" and got ~= streams.down then why = "got " .. #got .. " bytes, wrong" end
c:close()
local r = socket.tcp(); assert(r:connect("127.0.0.1", tonumber(arg[2])))
r:send(why .. "\n"); r:close()
