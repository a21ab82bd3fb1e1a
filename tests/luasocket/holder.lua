-- holder.lua PORT: a plain LuaSocket server on 127.0.0.1:PORT that
-- accepts every connection and keeps it open, for find-connect-limit
-- (which connects until it runs out of descriptors: a server that did
-- not accept would leave its connects waiting on a full backlog).
-- Prints "ready" once it listens.
local socket = require "socket"
local port = assert(tonumber(arg[1]), "usage: holder.lua PORT")
local server = assert(socket.bind("127.0.0.1", port, 1024))
io.stdout:setvbuf("line")
print("ready")
local held = {}
while true do
  local c = server:accept()
  if c then held[#held + 1] = c end
end
