-- the two 8 MiB streams proxy.lua and proxy_client.lua move and compare
local M = {}
local function stream(seed, n)
  local t = {}
  for k = 1, n do
    t[k] = string.format("%s%07d:%048d\n", seed, k, (k * 7919 + #seed) % 1000003)
  end
  return table.concat(t)   -- n * 64 bytes
end
M.up = stream("u", 131072)     -- client -> upstream
M.down = stream("d", 131072)   -- upstream -> client
return M
