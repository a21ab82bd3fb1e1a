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

-- asocket returns LuaSocket's socket table seen through asok: tcp, tcp4,
-- tcp6 and bind return wrappers (their errors as LuaSocket's), everything
-- else (try, protect, skip, sink, source, select, _VERSION...) is
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

--- asok.require(name): loads module name (a LuaSocket protocol module:
-- "socket.ftp", "socket.smtp", "socket.http", "socket.tp") afresh, with
-- require("socket") giving asok's socket table (tcp and bind make
-- wrappers) and require("coroutine") giving asok.coroutine, and returns
-- it: a new copy at each call. package.loaded is left as it was:
-- require(name) still gives the plain module. Another name is an
-- argument error; a module that cannot be loaded (LuaSocket without it)
-- raises require's error.
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
  if not ok then error(mod, 2) end
  return mod
end
