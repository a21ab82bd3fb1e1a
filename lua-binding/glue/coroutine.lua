-- glue/coroutine.lua - asok.coroutine: Lua's coroutine library, with a
-- resume and a wrap that let the coroutine they run wait in asok calls.
--
-- An asok call that waits yields its coroutine. Under plain
-- coroutine.resume or coroutine.wrap, that yield goes to the resumer as if
-- it were a value: a generator reading lines from a socket hands its
-- caller asok's wait marker instead of a line. asok.coroutine.resume and
-- asok.coroutine.wrap pass such a wait up instead. The resuming coroutine
-- waits too, and when asok resumes it, it resumes the waiting one. The
-- caller sees only the coroutine's own yields and returns. This is the
-- parents chain of asok.xpcall's helpers (park resumes the root); cqueues'
-- auxlib.resume and auxlib.wrap solve the same case.
local M, P, C = ...

local WAIT, MAIN, parents, argerror = P.WAIT, P.MAIN, P.parents, P.argerror
local deputed, loop = P.deputed, P.loop
local pack2, newco, typename = P.pack2, P.newco, P.typename
local resume, yield = coroutine.resume, coroutine.yield
local status, running, close = coroutine.status, coroutine.running, coroutine.close
local isyieldable = coroutine.isyieldable or C.isyieldable
local type, select, error, pairs, setmetatable = type, select, error, pairs, setmetatable
local unpack = table.unpack or unpack

-- driving: coroutines inside a forward (a resume of asok.coroutine's) ->
-- the coroutine running that forward (true: the main thread or one that
-- cannot yield)
local driving = setmetatable({}, { __mode = "k" })

-- driven says whether co is inside a forward still: not if the coroutine
-- that ran it was closed meanwhile (Lua 5.4: co is left suspended, free
-- to be resumed again)
local function driven(co)
  local d = driving[co]
  if d == nil then return false end
  if d ~= true and status(d) == "dead" then
    driving[co] = nil
    if parents[co] == d then parents[co] = nil end
    return false
  end
  return true
end

-- forward resumes co with the given values; while co is waiting in an
-- asok call, the running coroutine waits with it (yielding the wait up) and
-- resumes co when asok resumes it. Where the running code cannot yield
-- (main thread, a non-yieldable C boundary), co's asok calls block
-- instead, as there. A co closed (coroutine.close) while it waited gives
-- up its operation's turn on the socket. Returns what coroutine.resume
-- returns.
local function forward(co, ...)
  -- co waits in asok inside another resume: it is not suspended to anyone
  -- else (natively it would still be inside that resume)
  if driven(co) then return false, "cannot resume non-suspended coroutine" end
  local me, ismain = running()
  local driver = MAIN
  if me and not ismain and (isyieldable == nil or isyieldable()) then driver = me end
  local before = parents[co]
  parents[co] = driver
  driving[co] = (me and not ismain) and me or true
  local r = pack2(resume(co, ...))
  while r[1] and r.n == 2 and r[2] == WAIT and driver ~= MAIN and status(co) == "suspended" do
    r = pack2(resume(co, yield(WAIT)))
  end
  driving[co] = nil
  local tok = deputed[co]
  if tok and not r[1] and status(co) == "dead" then -- closed while it waited
    deputed[co] = nil
    -- its operation gives up its turn, as step does for others, and its
    -- token goes back (it was lent to this driver: nobody else would)
    P.abandonlent(tok)
  end
  parents[co] = before
  return unpack(r, 1, r.n)
end

local A = {}
for k, v in pairs(coroutine) do A[k] = v end

--- asok.coroutine.resume(co, ...): coroutine.resume, except that co may
-- wait in asok calls (the running coroutine waits with it).
function A.resume(...)
  local co = ...
  if type(co) ~= "thread" then
    argerror(1, "resume", "thread expected, got " .. typename(co, 1, select("#", ...)), 2)
  end
  return forward(...)
end

--- asok.coroutine.wrap(f): coroutine.wrap, except that the coroutine may
-- wait in asok calls. Errors propagate as coroutine.wrap's do: a string
-- gets the caller's position; on Lua 5.4 the dead coroutine is closed. A C
-- function is taken on every version (Lua 5.1's coroutine.wrap refuses it).
function A.wrap(...)
  local f = ...
  if type(f) ~= "function" then
    argerror(1, "wrap", "function expected, got " .. typename(f, 1, select("#", ...)), 2)
  end
  local co = newco(f)
  return function(...)
    local r = pack2(forward(co, ...))
    if r[1] then return unpack(r, 2, r.n) end
    local e = r[2]
    if close and status(co) == "dead" then -- its to-be-closed variables (5.4)
      local closed, cerr = close(co)
      if not closed then e = cerr end
    end
    error(e, 2)
  end
end

--- asok.coroutine.status(co): coroutine.status, "normal" for a coroutine
-- that waits in asok inside an asok.coroutine.resume (it is inside that
-- resume, as it would be natively).
function A.status(...)
  local co = ...
  local st = status(...)
  if st == "suspended" and driven(co) then return "normal" end
  return st
end

M.coroutine = A
