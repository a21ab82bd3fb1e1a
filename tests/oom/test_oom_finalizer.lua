-- test_oom_finalizer.lua: a finalizer Lua drops for a memory error must
-- not keep an asok handle for good (run by oomhost, as test_oom.lua: the
-- globals oom_arm(n, k) and oom_disarm()).
--
-- Lua 5.1's collector marks a userdata finalized, then calls its __gc
-- unprotected (lgc.c, GCTM); when that call cannot grow the stack or the
-- CallInfo array (memory runs out right then), the error escapes from the
-- allocation that ran the collection step, and the finalizer is never run.
-- A LuaSocket object asok handles has two: its own (patched by asok) and
-- that of its asok.sock, a collection later, which freed the handle: that
-- one dropped, the handle stayed in asok for good (the end check of
-- test_oom.lua saw it once: "handles left: 2"). Here each object is
-- dropped, and one of the three collections that free it runs with memory
-- failing, called at every depth of a range, so that the finalizer's call
-- needs to grow the CallInfo array at some: then no handle may be left.
local socket = require "socket"
local asok = require "asok"

local checks, failures = 0, 0
local function check(cond, ...)
  checks = checks + 1
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: ", table.concat({ ... }, " "), "\n")
  end
  return cond
end

-- the objects, each made and dropped by a function of its own (no register
-- of the caller keeps them): a wrapped listener (a handle) and a socket
-- asok.select watched (a watcher), both closed
local KINDS = {
  handle = function()
    local s = asok.wrap(assert(socket.bind("127.0.0.1", 0)))
    s:close()
  end,
  -- a handle asok let go of (setfd) while its object lives on: its own
  -- __gc is its only finalizer; the reap frees it
  letgo = function()
    local a, b = assert(socket.bind("127.0.0.1", 0)), assert(socket.bind("127.0.0.1", 0))
    asok.select({ a }, nil, 0) -- a watcher
    asok.settimeout(b, 1)      -- a handle
    for _, raw in ipairs { a, b } do
      local fd = raw:getfd()
      raw:setfd(-1) -- asok lets go of it
      raw:setfd(fd)
      raw:close()
    end
  end,
  watcher = function()
    local s = assert(socket.bind("127.0.0.1", 0))
    asok.select({ s }, nil, 0)
    s:close()
  end,
}

-- atdepth(d, f) calls f d calls deep (not tail calls: each a frame)
local function atdepth(d, f)
  if d == 0 then return f() end
  local r = atdepth(d - 1, f)
  return r
end

-- armedgc is a full collection with memory failing from its first growing
-- allocation on (two in a row: 5.2+ tries a failed one again once)
local function armedgc()
  local ok = pcall(function() oom_arm(0, 2); collectgarbage() end)
  oom_disarm()
  return ok
end

local base = asok._debug.handles()
local errors = 0 -- armed collections that met the memory error
for _, name in ipairs { "handle", "watcher", "letgo" } do
  for cycle = 1, 3 do -- the object's finalizer, then its freeing, then its handle's
    for d = 1, 70 do
      KINDS[name]()
      for _ = 1, cycle - 1 do collectgarbage() end
      if not atdepth(d, armedgc) then errors = errors + 1 end
      for _ = 1, 6 do collectgarbage() end
      if asok._debug.reap then -- (the retired handles: freed by the second reap)
        asok._debug.reap(); asok._debug.reap(); collectgarbage()
      end
      local left = asok._debug.handles() - base
      check(left == 0, name, "collection", cycle, "armed at depth", d, ": handles left", left)
      base = asok._debug.handles() -- (one failure is counted once)
    end
  end
end
print(string.format("test_oom_finalizer: %d checks, %d failures, %d armed collections failed (%s)",
  checks, failures, errors, _VERSION))
os.exit(failures == 0 and 0 or 1)
