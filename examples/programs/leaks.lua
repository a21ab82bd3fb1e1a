-- fds and asok handles at the start, checked again at the end
local asok = require "asok"
-- the process's sockets (the Go runtime opens files of its own now and then)
local function nfds()
  local f = io.open("/proc/self/stat")
  local pid = f:read("*n"); f:close()
  local p = io.popen("find /proc/" .. pid .. "/fd -lname 'socket:*' 2>/dev/null | wc -l")
  local n = p:read("*n"); p:close()
  return n
end
local fds0, handles0 = nfds(), asok._debug.handles()
return function()
  -- LuaJIT's compiled traces keep the objects they specialised on (a
  -- socket.http body loop's source, say) until flushed
  if jit then jit.flush() end
  -- a finalized object lets go of the next one only at the next cycle
  -- (5.1, LuaJIT: a wrapper, then its LuaSocket object): a few rounds
  for _ = 1, 6 do
    collectgarbage(); collectgarbage(); asok.select(nil, nil, 0)
    if asok._debug.handles() == handles0 then break end
  end
  local fds1, handles1 = nfds(), asok._debug.handles()
  assert(fds1 == fds0, "fds " .. fds0 .. " -> " .. fds1)
  assert(handles1 == handles0, "handles " .. handles0 .. " -> " .. handles1)
  return string.format("fds %d, handles %d", fds1, handles1)
end
