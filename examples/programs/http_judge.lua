-- plain LuaSocket's socket.http, the same requests as http_pool.lua's
local socket = require "socket"
local http   = require "socket.http"
local ltn12  = require "ltn12"
local reqs   = dofile("http_reqs.lua")
http.TIMEOUT = 1
for _, r in ipairs(reqs) do io.write(reqs.run(http, ltn12, tonumber(arg[1]), r), "\n") end
io.write("END\n")
