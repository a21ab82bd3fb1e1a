-- glue/modules.lua - asok.require: a copy of one of LuaSocket's protocol
-- modules (socket.ftp, socket.smtp, socket.http, socket.tp) whose sockets
-- are asok wrappers and whose coroutines are asok's.
--
-- Those modules take a `create` function for their control connection
-- only. socket.ftp opens its data connections with socket.tcp() and
-- socket.bind() itself, and its URL forms (ftp.get("ftp://...")) take no
-- create at all; socket.http follows a redirect on socket.tcp();
-- smtp.message runs its parts in a plain coroutine. Each of them looks
-- `socket` and `coroutine` up once, by require, when it is loaded: loaded
-- with asok's in package.loaded, every socket it makes yields, and the
-- program's own socket.* and coroutine.* stay as they were.
local M, P = ...

local argerror, typename = P.argerror, P.typename
local type, pcall, error, setmetatable, select, ipairs = type, pcall, error, setmetatable, select, ipairs
local require, loaded = require, package.loaded
local getmeta = debug and debug.getmetatable or getmetatable

-- yprotect gives socket.protect for the modules' copies. Their every
-- entry point (ftp.get, http.request, smtp.send...) runs inside
-- LuaSocket's protect, a C function that Lua 5.1 and LuaJIT cannot yield
-- across: each call there would block (nested runs of the reactor, one
-- per coroutine inside such a call, until PUC 5.1's C stack overflows at
-- about 65 of them). Where LuaSocket's protect lets its function yield
-- (5.2+), it is kept; elsewhere the same function over asok.xpcall:
-- results as they are, a socket.try exception (a table with LuaSocket's
-- exception metatable) as nil and its message, any other error raised
-- again as it is.
local function yprotect(socket)
  local create, resume, yield = coroutine.create, coroutine.resume, coroutine.yield
  local guarded = socket.protect(function() yield(true) end)
  local ok, yielded = resume(create(function() return guarded() end))
  if ok and yielded == true then return socket.protect end
  local _, probe = pcall(socket.newtry(), nil, "probe")
  local exception = type(probe) == "table" and getmeta(probe) or nil
  local xpcall = M.xpcall
  local function finish(ok, ...)
    if ok then return ... end
    local e = ...
    if exception ~= nil and type(e) == "table" and getmeta(e) == exception then return nil, e[1] end
    error(e, 0)
  end
  return function(f)
    return function(...) return finish(xpcall(f, nil, ...)) end
  end
end

-- bigselect gives select for the modules' copies: socket.select, but
-- asok.select for the sets socket.select refuses because an fd is past
-- FD_SETSIZE ("descriptor too large for set size", from fd 1,024).
-- socket.ftp's one select, its check of the control connection at each
-- step of a STOR (timeout 0, its result unused), would end an upload
-- with that error in a process of more than 1,024 sockets. socket.select
-- stays the common case: asok.select at every step of a transfer would
-- double its CPU time.
local function bigselect(sselect)
  local find, aselect = string.find, M.select
  return function(r, w, timeout)
    local ok, a, b, c = pcall(sselect, r, w, timeout)
    if ok then return a, b, c end
    if type(a) == "string" and find(a, "descriptor too large for set size", 1, true) then
      return aselect(r, w, timeout)
    end
    error(a, 0)
  end
end

-- asocket returns LuaSocket's socket table seen through asok: tcp, tcp4,
-- tcp6 and bind return wrappers (their errors as LuaSocket's); protect
-- lets the guarded function wait in asok on every version (yprotect);
-- select takes fds from 1,024 too (bigselect); sourcet and sinkt are tables of their own over
-- LuaSocket's, with source and sink choosing from them (socket.http adds
-- its "http-chunked" kinds there, not to the program's socket.sourcet).
-- Everything else (try, newtry, skip, choose, BLOCKSIZE, _VERSION...) is
-- LuaSocket's own. A module's `socket.ftp = {}` lands here, not on the
-- program's socket table. Made once, at the first asok.require.
local asocket
local function getasocket()
  if asocket then return asocket end
  local socket = require("socket")
  local t = setmetatable({}, { __index = socket })
  local function maker(f)
    return function(...)
      local s, err = f(...)
      if not s then return s, err end
      return M.wrap(s)
    end
  end
  for _, name in ipairs { "tcp", "tcp4", "tcp6", "bind" } do
    if type(socket[name]) == "function" then t[name] = maker(socket[name]) end
  end
  t.protect = yprotect(socket)
  t.select = bigselect(socket.select)
  if type(socket.choose) == "function" and type(socket.sourcet) == "table" and type(socket.sinkt) == "table" then
    t.sourcet = setmetatable({}, { __index = socket.sourcet })
    t.sinkt = setmetatable({}, { __index = socket.sinkt })
    t.source, t.sink = socket.choose(t.sourcet), socket.choose(t.sinkt)
  end
  asocket = t
  return t
end

-- The modules loaded again for each asok.require: the one asked for and
-- socket.tp (socket.ftp and socket.smtp make their connections through
-- it). Their other dependencies (ltn12, mime, socket.url,
-- socket.headers) make no sockets: they are shared, loaded first with
-- the program's socket table.
local SHARED = { "ltn12", "mime", "socket.url", "socket.headers" }

-- The modules asok.require loads: LuaSocket's that make sockets. Any
-- other name is an argument error (a module of the program's own is not
-- known to take asok's sockets for LuaSocket's).
local MODULES = { ["socket.ftp"] = true, ["socket.smtp"] = true, ["socket.http"] = true, ["socket.tp"] = true }

-- ownerror(e, name): whether e is one of require's own errors, which
-- require raises at its caller's line ("module 'x' not found", 5.1-5.3's
-- "loop or previous error loading module"); anything else (the module's
-- chunk's error, a searcher's "error loading module") is passed on as
-- require passes it.
local function ownerror(e, name)
  if type(e) ~= "string" then return false end
  for _, prefix in ipairs({ "module '" .. name .. "' not found:", "loop or previous error loading module '" .. name .. "'" }) do
    if e:sub(1, #prefix) == prefix then return true end
  end
  return false
end

--- asok.require(name): loads module name (a LuaSocket protocol module:
-- "socket.ftp", "socket.smtp", "socket.http", "socket.tp") afresh, with
-- require("socket") giving asok's socket table (tcp and bind make
-- wrappers) and require("coroutine") giving asok.coroutine, and returns
-- it: a new copy at each call. package.loaded is left as it was:
-- require(name) still gives the plain module. Another name is an
-- argument error; a module that cannot be loaded (LuaSocket without it)
-- raises what require raises.
function M.require(...)
  local name = ...
  if type(name) ~= "string" then
    argerror(1, "require", "string expected, got " .. typename(name, 1, select("#", ...)), 2)
  end
  if not MODULES[name] then
    argerror(1, "require", "'socket.ftp', 'socket.smtp', 'socket.http' or 'socket.tp' expected", 2)
  end
  local socket = getasocket()
  for _, dep in ipairs(SHARED) do pcall(require, dep) end
  local keys = { "socket", "coroutine", "socket.tp", name }
  local saved = {}
  for i, k in ipairs(keys) do saved[i] = loaded[k] end
  loaded.socket, loaded.coroutine, loaded["socket.tp"], loaded[name] = socket, M.coroutine, nil, nil
  local ok, mod = pcall(require, name)
  for i, k in ipairs(keys) do loaded[k] = saved[i] end
  if not ok then error(mod, ownerror(mod, name) and 2 or 0) end
  return mod
end
