-- samples_tftpcases.lua - the files test_samples.lua's TFTP server holds
-- and the requests made of it, shared by the asok side and the plain
-- LuaSocket child (samples_peer.lua tftp): the same list, shown the same way.
local C = {}

local big = {}
for i = 1, 5000 do big[i] = string.char(i % 256) end
-- name -> contents: under a block, exactly two blocks (an empty last
-- one), ten blocks, nothing; "drop" + name: the first DATA 2 is lost once
C.files = { small = ("0123456789"):rep(10), exact = ("x"):rep(1024),
  big = table.concat(big), empty = "" }

-- the names asked for, in order ("missing": an ERROR packet)
C.names = { "small", "exact", "big", "empty", "missing", "dropbig" }

-- url returns the tftp URL of name on port.
function C.url(port, name)
  return "tftp://127.0.0.1:" .. port .. "/" .. name
end

-- show renders tftp.get's results for name as one line.
function C.show(name, data, err)
  local d = type(data) == "string" and (#data .. (data == C.files[name:gsub("^drop", "")] and " same" or " differs")) or tostring(data)
  return name .. ": " .. d .. ", " .. tostring(err)
end

return C
