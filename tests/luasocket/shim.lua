-- shim.lua: runs one of LuaSocket's own test scripts (arg[1]) with every
-- socket it makes an asok wrapper, inside a coroutine, while the main
-- thread runs asok's reactor. The script's global `socket` (and
-- `require "socket"`, `require "socket.unix"`) is LuaSocket with its
-- constructors wrapped; socket.select and socket.sleep are asok's.
local real = require "socket"
local asok = require "asok"
local S = setmetatable({}, { __index = real })

local function wrapped(make)
  return function(...)
    local s, err = make(...)
    if not s then return s, err end
    return asok.wrap(s)
  end
end

for _, name in ipairs { "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6" } do
  if real[name] then S[name] = wrapped(real[name]) end
end
S.bind = wrapped(real.bind)
-- socket.connect as LuaSocket's: a new socket of the address's family
-- (asok.connect makes one when the name resolves to the other family)
S.connect = function(host, port)
  local c = asok.wrap(real.tcp())
  local ok, err = c:connect(host, port)
  if not ok then c:close(); return nil, err end
  return c
end
S.select = asok.select
S.sleep = asok.sleep
-- line by line: run.sh reads a server's output while it runs, and ends
-- an echo server for ever waiting with a signal (a full buffer is lost)
io.stdout:setvbuf("line")
S._DEBUG = true -- testclnt.lua insists; the shim computes `elapsed` itself

local unix = require "socket.unix"
local U = setmetatable({}, { __index = unix,
  __call = function(_, ...) return wrapped(unix)(...) end })
U.stream, U.dgram = wrapped(unix.stream), wrapped(unix.dgram)
package.loaded["socket.unix"] = U
package.loaded.socket = S
socket = S

asok.seterrorhandler(function(msg)
  io.stderr:write("COROUTINE ERROR: ", tostring(msg), "\n")
  os.exit(2)
end)
asok.spawn(function()
  dofile(assert(arg[1], "usage: shim.lua script.lua"))
  io.stderr:write("CLIENT DONE\n")
  os.exit(0)
end)
while true do asok.select(nil, nil, 1) end
