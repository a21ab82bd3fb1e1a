-- plain LuaSocket peer for select_multi.lua (run by luajit, for its ffi): connects a control line and
-- three data connections, then on each command writes to its stdout (the
-- other program's stdin) or sends on a connection, and acknowledges it
local socket = require "socket"
local port
for _ = 1, 500 do
  local f = io.open(arg[1]); if f then port = tonumber(f:read("*l")); f:close() end
  if port then break end
  socket.sleep(0.01)
end
local function conn(name)
  local c = socket.tcp(); assert(c:connect("127.0.0.1", port)); assert(c:send(name .. "\n"))
  return c
end
local ctl = conn("ctl")
local data = { A = conn("A"), B = conn("B"), C = conn("C") }
ctl:settimeout(30)
while true do
  local line = ctl:receive("*l")
  if not line or line == "quit" then break end
  local what, rest = line:match("^(%S+) ?(.*)$")
  if what == "out" then io.stdout:write(rest, "\n"); io.stdout:flush()
  elseif what == "eof" then               -- Lua cannot close a standard file: close fd 1
    local ffi = require "ffi"
    ffi.cdef "int close(int fd);"
    io.stdout:flush(); assert(ffi.C.close(1) == 0)
  elseif what == "send" then local k, text = rest:match("^(%S+) (.*)$"); assert(data[k]:send(text:gsub("|", "\n") .. "\n"))
  end
  ctl:send("done\n")
end
for _, c in pairs(data) do c:close() end
ctl:close()
