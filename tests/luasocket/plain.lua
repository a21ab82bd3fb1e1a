-- plain.lua: runs one of LuaSocket's test scripts (arg[1]) on plain
-- LuaSocket, with socket._DEBUG set (the patched scripts time calls
-- themselves), for the side of a pair that asok does not run.
local real = require "socket"
local S = setmetatable({ _DEBUG = true }, { __index = real })
package.loaded.socket = S
socket = S
-- line by line: run.sh reads a server's output while it runs, and ends
-- an echo server for ever waiting with a signal (a full buffer is lost)
io.stdout:setvbuf("line")
math.mod = math.mod or math.fmod
dofile(assert(arg[1], "usage: plain.lua script.lua"))
io.stderr:write("CLIENT DONE\n")
