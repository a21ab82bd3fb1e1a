-- asok.select over three sockets and stdin (a pipe) in a coroutine, while
-- other coroutines receive on the same sockets; each wake-up is compared with
-- what socket.select says at that moment (timeout 0, same sets).
-- Run as a program: it re-runs itself with select_feeder.lua piped into it.
local socket = require "socket"
local asok   = require "asok"
local interp = arg[-1]
local portfile = os.tmpname()
if arg[1] ~= "piped" then
  local ok = os.execute("luajit select_feeder.lua " .. portfile .. " | " .. interp .. " select_multi.lua piped " .. portfile)
  os.remove(portfile)
  os.exit((ok == true or ok == 0) and 0 or 1)
end
portfile = arg[2]
local leaks = dofile("leaks.lua")
local stdin = { getfd = function() return 0 end }

local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local f = io.open(portfile, "w"); f:write(select(2, server:getsockname()), "\n"); f:close()
local conns = {}
asok.spawn(function()
  for _ = 1, 4 do
    local c = assert(server:accept()); c:settimeout(30)
    conns[assert(c:receive("*l"))] = c
  end
end)
while not conns.C do asok.select(nil, nil, 0.1) end
local ctl, A, B, C = conns.ctl, conns.A, conns.B, conns.C
local names = { [A] = "A", [B] = "B", [C] = "C", [stdin] = "stdin" }
local function list(t)
  local r = {}
  for _, s in ipairs(t) do r[#r + 1] = names[s] or "?" end
  table.sort(r)
  return table.concat(r, ",")
end

local seen = {}                  -- what the watchers' selects returned
local function watcher(tag, set)
  while true do
    local r, w, err = asok.select(set, nil, 20)
    -- socket.select now, on what is still open
    local open = {}
    for _, s in ipairs(set) do if s == stdin or s:getfd() ~= -1 then open[#open + 1] = s end end
    local r2, w2, err2 = socket.select(open, nil, 0)
    seen[#seen + 1] = { tag = tag, r = list(r), err = err, r2 = list(r2), err2 = err2, w = #w }
    -- the result's map entries, as socket.select's
    for i, s in ipairs(r) do assert(r[s] == i and math.type == nil or r[s] == i and math.type(r[s]) == "float", "map entry " .. tostring(r[s])) end
    for i, s in ipairs(r2) do assert(r2[s] == i and math.type == nil or r2[s] == i and math.type(r2[s]) == "float", "socket.select map entry " .. tostring(r2[s])) end
    if r[stdin] then
      local l = io.stdin:read("*l")
      seen[#seen].stdin = l or "EOF"
      if not l then set = { A, B, C } end
    end
    if r[C] then seen[#seen].c = C:receive("*l") end
    if err == "timeout" or #set == 0 then return end
    if tag == "W2" then return end
  end
end

local got = { A = {}, B = {} }
local function receiver(name, s)
  while true do
    local l, err, part = s:receive("*l")
    got[name][#got[name] + 1] = l or (err .. "[" .. part .. "]")
    if not l then return end
  end
end

local function cmd(c)
  assert(ctl:send(c .. "\n")); assert(ctl:receive("*l") == "done")
end
local function expect(n)    -- let the watchers see n wake-ups in all
  for _ = 1, 2000 do if #seen >= n then return end; asok.sleep(0.005) end
  local t = {}
  for i, x in ipairs(seen) do t[i] = x.tag .. " {" .. x.r .. "} {" .. x.r2 .. "}" end
  error("no wake-up " .. n .. ": " .. table.concat(t, "; "))
end

local results
asok.spawn(function()
  asok.spawn(watcher, "W", { A, B, C, stdin })
  asok.spawn(receiver, "A", A); asok.spawn(receiver, "B", B)
  cmd("out hello"); expect(1)
  cmd("send A a1"); expect(2)
  -- a second select on A and B at once: both selects see A in the same step
  asok.spawn(watcher, "W2", { A, B })
  cmd("send A a2"); expect(4)
  cmd("send C c1|c2"); expect(6)      -- W reads c1; c2 stays in asok: C ready again at once
  cmd("eof"); expect(7)
  cmd("send B b1"); expect(8)
  asok.spawn(function() B:close() end)  -- closed while W and the receiver wait on it
  expect(9)
  results = true
end)
local steps = 0
while not results do asok.select(nil, nil, 0.1); steps = steps + 1; assert(steps < 300, "stuck") end

local out = {}
for i, s in ipairs(seen) do
  out[i] = ("%s r={%s} err=%s sel={%s} %s%s"):format(s.tag, s.r, tostring(s.err), s.r2,
    s.stdin and ("stdin=" .. s.stdin .. " ") or "", s.c and ("C:" .. s.c) or "")
end
local text = table.concat(out, "\n")
io.stderr:write(text, "\n")
io.stderr:write("A: ", table.concat(got.A, " "), "\nB: ", table.concat(got.B, " "), "\n")
for i, s in ipairs(seen) do
  if i < 9 then assert(s.r == s.r2, "differs from socket.select at " .. i) end
  assert(s.err == nil)
end
assert(table.concat(got.A, " ") == "a1 a2")
assert(table.concat(got.B, " ") == "b1 closed[]")
assert(ctl:send("quit\n"))
for _, c in pairs(conns) do c:close() end
server:close(); server, conns, A, B, C, ctl, names = nil
print("ok: " .. #seen .. " wake-ups, " .. leaks())
