-- patch.lua IN OUT [skip-connect-timeout]: copies one of LuaSocket's
-- test scripts (test/testclnt.lua, test/utestclnt.lua, the udpconnect,
-- unixdgram and unixstream pairs, tcp-getoptions, the udp-zero-length
-- pair) with the edits that let it run through asok, on a LuaSocket
-- built without LUASOCKET_DEBUG, on every Lua version, side by side
-- with the other runs, and to an end. Each edit must apply exactly as
-- many times as listed, or this script fails: a changed upstream file is
-- then looked at, not silently half-patched. A script with no entry
-- here is refused (run.sh copies the ones that need no edit).
local src, dst, skipconnect = arg[1], arg[2], arg[3] == "skip-connect-timeout"
local name = src:match("[^/]*$")
local f = assert(io.open(src, "rb")); local s = f:read("*a"); f:close()

local function edit(old, new, count)
  local n, from = 0, 1
  local out = {}
  while true do
    local i, j = s:find(old, from, true)
    if not i then break end
    out[#out + 1] = s:sub(from, i - 1) .. new
    from, n = j + 1, n + 1
  end
  out[#out + 1] = s:sub(from)
  if n ~= count then
    error(string.format("%s: %q found %d times, expected %d", src, old, n, count), 0)
  end
  s = table.concat(out)
end

local function clients()
  -- socket._DEBUG's fourth result (the call's elapsed time): timed here
  edit("str, err, partial, elapsed = data:receive(2*len)",
    "local t0 = socket.gettime(); str, err, partial = data:receive(2*len); elapsed = socket.gettime() - t0", 2)
  edit("total, err, partial, elapsed = data:send(str)",
    "local t0 = socket.gettime(); total, err, partial = data:send(str); elapsed = socket.gettime() - t0", 1)
  edit("total, err,  partial, elapsed = data:send(str)",
    "local t0 = socket.gettime(); total, err, partial = data:send(str); elapsed = socket.gettime() - t0", 1)
end

if name == "utestclnt.lua" then
  clients()
  s = "math.mod = math.mod or math.fmod\n" .. s
  -- stale for LuaSocket 3: socket.udp() has no fd before its first use,
  -- so the script's "should not be closed" fails on plain LuaSocket too
  edit("\nactive_close()\n", "\n-- active_close(): stale for LuaSocket 3\n", 1)
  -- the server echoes `size` bytes where the client waits for 2*size
  -- (plain LuaSocket hangs there too); testclnt.lua's version reads 2*size
  edit("str = data:receive(%d, str)", "str = data:receive(2*%d, str)", 1)
elseif name == "testclnt.lua" then
  clients()
  -- asok.select(nil, nil, t) runs the reactor and returns nil, 'timeout'
  -- (the 2008 asok's contract), where socket.select returns {}, {}, 'timeout'
  edit([[    local r, s, e = socket.select(nil, nil, 0.1)
    assert(type(r) == "table" and type(s) == "table" and
        (e == "timeout" or e == "error"))
    pass("both nil: ok")]], [[    local r, s, e
    pass("both nil: skipped (asok.select(nil, nil, t) runs the reactor)")]], 1)
  -- asok.select has no FD_SETSIZE limit, so no "too many sockets" error
  edit("for i = 1, socket._SETSIZE+1 do", "for i = 1, 0 do", 1)
  if skipconnect then
    edit("\nconnect_timeout()\n", "\n-- connect_timeout(): this network accepts every connect\n", 1)
  end
elseif name == "udpconnectclnt.lua" then
  -- the server's port comes from run.sh's global `port` (it reads the
  -- port the server prints), not from arg[1], which is the script here
  edit('local port = assert(arg[1], "missing port argument")',
    'local port = assert(port, "missing port argument")', 1)
elseif name == "udpconnectsrvr.lua" then
  -- Linux drops a UDP socket's implicit port when it is unconnected
  -- (getsockname then says 0), and sendto picks a new one that nobody
  -- sends to: the last receivefrom waits for ever on plain LuaSocket
  -- too. Bounded by a timeout, both print its nil, 'timeout'
  edit("print(s:receivefrom())", "s:settimeout(1); print(s:receivefrom())", 1)
elseif name == "unixdgramclnt.lua" or name == "unixdgramsrvr.lua"
    or name == "unixstreamclnt.lua" or name == "unixstreamsrvr.lua" then
  -- the socket files in the run's own directory: runs side by side do
  -- not share /tmp/foo, and the paths printed are the same in every run
  edit('"/tmp/foo"', '"foo"', 1)
  if name == "unixdgramclnt.lua" then
    edit('"/tmp/bar"', '"bar"', 1)
    -- an echo client for ever: it ends at the end of its input
    edit('local l = io.read("*l")\n', 'local l = io.read("*l")\n    if not l then break end\n', 1)
  elseif name == "unixstreamclnt.lua" then
    edit("local l = io.read()\n", "local l = io.read()\n    if not l then break end\n", 1)
  elseif name == "unixstreamsrvr.lua" then
    -- it prints all of every receive's results (as many as it gets), the
    -- last one (the client gone) too, and ends there instead of raising it
    s = "local function show(...) print(...) return (...) end\n" .. s
    edit("print(assert(c:receive()))", "if not show(c:receive()) then break end", 1)
  end
  -- (unixdgramsrvr.lua echoes for ever: run.sh ends it once its client,
  -- which waits for each echo, is done)
elseif name == "tcp-getoptions" then
  -- written for Lua 5.1: 5.2 and later have table.unpack only
  edit('local socket = require"socket"\n',
    'local socket = require"socket"\nlocal unpack = unpack or table.unpack\n', 1)
  -- run.sh's port, not a fixed one, so that runs side by side do not collide
  edit("port = 8765", "port = port or 8765", 1)
elseif name == "find-connect-limit" then
  -- a local server (run.sh's holder.lua), not google.com:80: host and
  -- port from run.sh's globals, not arg[1] and arg[2] (the script here)
  edit('host = arg[1] or "google.com"', 'host = host or "google.com"', 1)
  edit('port = arg[2] or 80', 'port = port or 80', 1)
  edit("socket.connect(hostip or host, 80)", "socket.connect(hostip or host, port)", 1)
elseif name == "udp-zero-length-send" or name == "udp-zero-length-send-recv" then
  -- run.sh's port, not a fixed one, so that runs side by side do not collide
  edit('r:setsockname("*", 5432)', 'r:setsockname("*", port)', 1)
  edit('s:setpeername("127.0.0.1", 5432)', 's:setpeername("127.0.0.1", port)', 1)
else
  error(src .. ": no edits known for this script", 0)
end

f = assert(io.open(dst, "wb")); f:write(s); f:close()
