-- echo_server_client.lua BINARY: starts examples/echo_server.c (built as
-- BINARY), reads the port it prints, sends lines over 20 connections and
-- checks every echo. Exits non-zero on any mismatch.
local socket = require "socket"
local bin = assert(arg[1], "usage: echo_server_client.lua BINARY")
local srv = assert(io.popen(("%q 0 2"):format(bin), "r"))
local banner = assert(srv:read("*l"), "no banner from " .. bin)
local port = assert(tonumber(banner:match(":(%d+)$")), "no port in: " .. banner)
local conns, bad = {}, 0
for i = 1, 20 do conns[i] = assert(socket.connect("127.0.0.1", port)) end
for round = 1, 50 do
  for i, c in ipairs(conns) do assert(c:send(("conn %d line %d\r\n"):format(i, round))) end
  for i, c in ipairs(conns) do
    local want = ("conn %d line %d"):format(i, round)
    local got, err = c:receive("*l")
    if got ~= want then bad = bad + 1; print("mismatch", i, round, got, err) end
  end
end
for _, c in ipairs(conns) do c:close() end
srv:close() -- waits for the server to stop (after its 2 s)
print(("echo_server: 20 connections x 50 lines, %d mismatches"):format(bad))
os.exit(bad == 0 and 0 or 1)
