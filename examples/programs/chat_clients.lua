-- plain LuaSocket clients for chat.lua; reports its findings as "ok ..." lines
local socket = require "socket"
local port = tonumber(arg[1])
local out = {}
local function check(cond, msg) out[#out + 1] = (cond and "ok " or "FAIL ") .. msg end

local function join(name, rcvbuf)
  local c = socket.tcp4()
  if rcvbuf then assert(c:setoption("recv-buffer-size", rcvbuf)) end
  assert(c:connect("127.0.0.1", port))
  c:settimeout(10)
  assert(c:send(name .. "\n"))
  return c
end
local function expect(c, want)
  local l, err = c:receive("*l")
  return l == want, tostring(l) .. " " .. tostring(err)
end

local A = join("A")
local B = join("B"); assert(expect(A, "* B joined"))
local C = join("C"); assert(expect(A, "* C joined")); assert(expect(B, "* C joined"))
local S = join("S", 2048)
assert(expect(A, "* S joined")); assert(expect(B, "* S joined")); assert(expect(C, "* S joined"))

-- A talks; B and C read every line in order while S reads nothing
local N, bad = 2000, 0
for i = 1, N do
  local line = ("line %d "):format(i) .. ("x"):rep(500)
  assert(A:send(line .. "\n"))
  if not expect(B, "A: " .. line) then bad = bad + 1 end
  if not expect(C, "A: " .. line) then bad = bad + 1 end
end
check(bad == 0, "B and C got all " .. N .. " lines in order (bad " .. bad .. ")")

-- C leaves in the middle of a line
assert(C:send("half a li")); C:close()
local okA = expect(A, "* C left mid-line: half a li")
local okB = expect(B, "* C left mid-line: half a li")
check(okA and okB, "A and B told of C's partial line")

-- the server drops S when a send to it times out; A and B are told
check(expect(A, "* S dropped (timeout)") and expect(B, "* S dropped (timeout)"), "A and B told of S's drop")
-- S is dropped by the server (its sends timed out): it sees its data then 'closed'
local got, err, part = 0
repeat
  local l; l, err, part = S:receive("*l")
  if l then got = got + 1 end
until not l
check(err == "closed" and got > 0 and got < N, "S dropped after " .. got .. " lines: " .. tostring(err))

-- B still talks to A
assert(B:send("still here\n"))
local l = A:receive("*l")
check(l == "B: still here", "A hears B after S's drop: " .. tostring(l))

-- A quits
assert(A:send("/quit\n"))
local bye = A:receive("*l"); local eof, e2 = A:receive("*l")
check(bye == "bye" and eof == nil and e2 == "closed", "A's quit: " .. tostring(bye) .. " " .. tostring(e2))
B:close()

local r = socket.tcp(); assert(r:connect("127.0.0.1", port))
assert(r:send("REPORT\n" .. table.concat(out, "\n") .. "\n")); r:close()
