-- plain LuaSocket runs udp_client_logic.lua against udp_rpc.lua's server
local socket = require "socket"
local logic = dofile("udp_client_logic.lua")
local api = {
  settimeout = function(u, t) return u:settimeout(t) end,
  sendto = function(u, ...) return u:sendto(...) end,
  receivefrom = function(u) return u:receivefrom() end,
  receive = function(u) return u:receive() end,
}
local port, w, n = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
io.write(logic(socket, api, port, w, n), "\nEND\n")
