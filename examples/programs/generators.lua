-- Generators over sockets with asok.coroutine, and asok.xpcall with errors
-- raised inside and after waits: a log-line parser reads a socket through
-- a generator, a worker pool runs jobs under asok.xpcall; a peer in this
-- process sends the lines, one job's socket is closed under it.
local socket = require "socket"
local asok   = require "asok"
local coroutine = asok.coroutine
local leaks  = dofile("leaks.lua")

local server = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
local _, port = server:getsockname()

-- the peer: on each connection, sends its lines (some in pieces) and closes
asok.spawn(function()
  for n = 1, 3 do
    local c = assert(server:accept())
    asok.spawn(function()
      local first = assert(c:receive("*l"))
      if first == "lines" then
        for i = 1, 50 do
          local l = ("%d level=%s msg=hello %d\n"):format(i, i % 7 == 0 and "error" or "info", i)
          c:send(l:sub(1, 5)); asok.sleep(0); c:send(l:sub(6))
        end
        c:send("trailing without newline")
        c:close()
      elseif first == "stall" then
        asok.sleep(0.2); c:close()          -- closes while the job waits
      else
        c:send("boom\n"); asok.sleep(0.5); c:close()
      end
    end)
  end
end)

local function connect(what)
  local c = asok.wrap(socket.tcp(), 5)
  assert(c:connect("127.0.0.1", port))
  assert(c:send(what .. "\n"))
  return c
end

-- a generator: yields each line, then the partial last one with its error
local function lines(c)
  return coroutine.wrap(function()
    while true do
      local l, err, part = c:receive("*l")
      if not l then coroutine.yield(nil, err, part); return end
      coroutine.yield(l)
    end
  end)
end
-- a filter over a generator, itself a generator (two levels of asok waits)
local function errors_only(gen)
  return coroutine.wrap(function()
    while true do
      local l, err, part = gen()
      if not l then return err, part end
      if l:find("level=error", 1, true) then coroutine.yield(tonumber(l:match("^%d+"))) end
    end
  end)
end

local results = {}
local jobs = {
  parse = function()
    local c = connect("lines")
    local got, gen = {}, errors_only(lines(c))
    while true do
      local id, part = gen()
      if type(id) ~= "number" then got[#got + 1] = tostring(id) .. "|" .. tostring(part); break end
      got[#got + 1] = id
    end
    c:close()
    return table.concat(got, ",")
  end,
  stall = function()
    local c = connect("stall")
    local l, err, part = c:receive("*l")      -- the peer closes: nil, 'closed', ''
    error({ code = "stalled", err = err, part = part })   -- a table error
  end,
  boom = function()
    local c = connect("boom")
    local l = assert(c:receive("*l"))
    local ok, e = asok.xpcall(function()       -- nested: an error after a wait
      local l2, err = c:receive("*l")           -- waits until the peer closes
      error("inner " .. tostring(err), 0)
    end, function(m) return "handled: " .. m end)
    c:close()
    error(l .. " / " .. tostring(ok) .. " / " .. e)         -- a string error
  end,
}
local pending = 0
for name, job in pairs(jobs) do
  pending = pending + 1
  asok.spawn(function()
    -- debug.traceback as the handler: f's own frames (5.1 too, README)
    local r = { asok.xpcall(job, name == "stall" and function(e) return e end or debug.traceback) }
    results[name] = r
    pending = pending - 1
  end)
end
local steps = 0
while pending > 0 do asok.select(nil, nil, 0.1); steps = steps + 1; assert(steps < 100, "stuck") end

assert(results.parse[1] == true and results.parse[2] == "7,14,21,28,35,42,49,closed|trailing without newline",
  tostring(results.parse[2]))
assert(results.stall[1] == false and type(results.stall[2]) == "table")
assert(results.stall[2].code == "stalled" and results.stall[2].err == "closed" and results.stall[2].part == "",
  tostring(results.stall[2].err))
local tb = results.boom[2]
assert(results.boom[1] == false and tb:match("^generators%.lua:%d+: boom / false / handled: inner closed\nstack traceback:\n"), tb)
-- the traceback names the job's function, where the error was raised
assert(tb:find("generators.lua:" .. tb:match("^generators%.lua:(%d+):") .. ":", 20, true), tb)

-- asok.xpcall with a nil handler: errors come back as they are, like pcall
local e = {}
local ok, got = asok.xpcall(function() asok.sleep(0.01); error(e) end, nil)
assert(ok == false and got == e)
-- and values pass through, nils included
local r = { asok.xpcall(function(a, b) asok.sleep(0); return a, nil, b end, nil, 1, 2) }
assert(r[1] == true and r[2] == 1 and r[3] == nil and r[4] == 2)
server:close(); server = nil
print("ok: generators and xpcall, " .. leaks())
