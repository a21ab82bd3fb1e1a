-- fds and asok handles at the start, checked again at the end
local asok = require "asok"
-- the process's sockets (the Go runtime opens files of its own now and then)
local function nfds()
  local f = io.open("/proc/self/stat")
  local pid = f:read("*n"); f:close()
  local p = io.popen("find /proc/" .. pid .. "/fd -lname 'socket:*' | wc -l")
  local n = p:read("*n"); p:close()
  return n
end
local fds0, handles0 = nfds(), asok._debug.handles()
return function()
  for _ = 1, 2 do collectgarbage(); collectgarbage(); asok.select(nil, nil, 0) end
  local fds1, handles1 = nfds(), asok._debug.handles()
  assert(fds1 == fds0, "fds " .. fds0 .. " -> " .. fds1)
  assert(handles1 == handles0, "handles " .. handles0 .. " -> " .. handles1)
  return string.format("fds %d, handles %d", fds1, handles1)
end
