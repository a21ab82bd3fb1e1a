-- protocols_cases.lua - the client side of test_protocols.lua: LuaSocket's
-- own socket.ftp and socket.smtp clients, run once through asok (in
-- coroutines, several at once) and once by plain blocking LuaSocket in a
-- child process (this file run as a script: no asok loaded), against the
-- same servers; every case returns its results packed, to be compared.
--   local C = dofile("protocols_cases.lua")
--   C.ftpcases(env), C.smtpcases(env), C.ftptimeout(env), C.smtptimeout(env)
-- env: ftp, smtp (the modules to use), ltn12, mime, socket, create (or nil),
-- host, ftpport, smtpport, closedport, dir (this client's FTP directory).
local C = {}

local function pack(...) return { n = select("#", ...), ... } end

-- every byte value, repeated to 1 MiB
local bytes = {}
for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
C.BIG = string.rep(table.concat(bytes), 4096)
C.SMALL = "small file\r\n\0binary\255 tail"

-- ftpt fills the common fields of a socket.ftp request table.
local function ftpt(env, t)
  t.host, t.port, t.create = env.host, env.ftpport, env.create
  t.user = t.user or "u"
  t.password = t.password or "p"
  return t
end

-- get retrieves path into a table sink: the data, then get's results.
local function get(env, t)
  local parts = {}
  t.sink = env.ltn12.sink.table(parts)
  local r = pack(env.ftp.get(ftpt(env, t)))
  local data = table.concat(parts)
  return data, r
end

-- a digest of data for the results: its length and whether it is want
function C.digest(data, want)
  return #data .. (data == want and " same" or " differs")
end

-- C.ftpcases runs the FTP cases; returns name -> pack.
function C.ftpcases(env)
  local ftp, ltn12, socket, dir = env.ftp, env.ltn12, env.socket, env.dir
  local res = {}
  res.put_big = pack(ftp.put(ftpt(env, { path = "/" .. dir .. "/big", type = "i",
    source = ltn12.source.string(C.BIG) })))
  res.put_empty = pack(ftp.put(ftpt(env, { path = "/" .. dir .. "/empty", type = "i",
    source = ltn12.source.string("") })))
  res.put_small = pack(ftp.put(ftpt(env, { path = "/" .. dir .. "/small", type = "a",
    source = ltn12.source.string(C.SMALL) })))
  local data, r = get(env, { path = "/" .. dir .. "/big", type = "i" })
  res.get_big, res.get_big_data = r, pack(C.digest(data, C.BIG))
  data, r = get(env, { path = "/" .. dir .. "/empty", type = "i" })
  res.get_empty, res.get_empty_data = r, pack(data)
  data, r = get(env, { path = "/" .. dir .. "/small" })
  res.get_small, res.get_small_data = r, pack(data)
  -- 8 MiB: more than the kernel's buffers on loopback hold, so the
  -- transfer needs the server to run meanwhile (DELE frees it)
  local huge = C.BIG:rep(8)
  res.put_huge = pack(ftp.put(ftpt(env, { path = "/" .. dir .. "/huge", type = "i",
    source = ltn12.source.string(huge) })))
  data, r = get(env, { path = "/" .. dir .. "/huge", type = "i" })
  res.get_huge, res.get_huge_data = r, pack(C.digest(data, huge))
  huge, data = nil, nil
  res.dele = pack(ftp.command(ftpt(env, { command = "dele", argument = dir .. "/huge", check = 250 })))
  res.dele_missing = pack(ftp.command(ftpt(env, { command = "dele", argument = dir .. "/huge", check = 250 })))
  -- the URL forms: no create; the module's own socket.tcp (asok's, loaded
  -- as README says) opens the control connection
  res.get_url = pack(ftp.get("ftp://u:p@" .. env.host .. ":" .. env.ftpport .. "/" .. dir .. "/small;type=i"))
  res.put_url = pack(ftp.put("ftp://u:p@" .. env.host .. ":" .. env.ftpport .. "/" .. dir .. "/url;type=i",
    "stored by url"))
  data, r = get(env, { path = "/" .. dir .. "/url" })
  res.get_url_put, res.get_url_put_data = r, pack(data)
  data, r = get(env, { command = "nlst", argument = dir })
  res.nlst, res.nlst_data = r, pack(data)
  data, r = get(env, { command = "list", argument = dir })
  res.list, res.list_data = r, pack(data)
  res.cwd = pack(ftp.command(ftpt(env, { command = "cwd", argument = dir, check = 250 })))
  res.cwd_missing = pack(ftp.command(ftpt(env, { command = "cwd", argument = "nowhere", check = 250 })))
  res.cmds = pack(ftp.command(ftpt(env, { command = { "cwd", "noop" }, argument = { dir }, check = { 250, 200 } })))
  -- failing cases
  data, r = get(env, { path = "/" .. dir .. "/missing" })
  res.get_missing, res.get_missing_data = r, pack(data)
  data, r = get(env, { path = "/" .. dir .. "/big", password = "bad" })
  res.get_badpass, res.get_badpass_data = r, pack(data)
  res.refused = pack(ftp.get { host = env.host, port = env.closedport, path = "/x", create = env.create,
    sink = ltn12.sink.null() })
  res.refused_url = pack(ftp.get("ftp://" .. env.host .. ":" .. env.closedport .. "/x"))
  data, r = get(env, { path = "/cut" })
  res.get_cut, res.get_cut_data = r, pack(C.digest(data, C.BIG:sub(1, 300000)))
  res.put_badcmd = pack(ftp.put(ftpt(env, { path = "/" .. dir .. "/x", command = "appe",
    source = ltn12.source.string("x") })))
  res.badscheme = pack(ftp.get("http://" .. env.host .. "/x"))
  -- the low-level API: PASV and active mode (EPRT: the client listens, the
  -- server connects), under socket.protect as the high-level calls are
  -- PASV (on Lua 5.3 socket.ftp's port, computed from strings, is a
  -- float that connect refuses: "service not supported for socket type")
  res.lowlevel_pasv = pack(socket.protect(function()
    local f = ftp.open(env.host, env.ftpport, env.create)
    local out = {}
    out[#out + 1] = f:greet()
    out[#out + 1] = f:login("u", "p")
    out[#out + 1] = f:type("i")
    local addr, port = f:pasv()
    out[#out + 1] = addr .. " " .. type(port)
    local parts = {}
    out[#out + 1] = f:receive { path = dir .. "/small", sink = ltn12.sink.table(parts) }
    out[#out + 1] = table.concat(parts)
    out[#out + 1] = f:quit()
    out[#out + 1] = f:close()
    return table.concat(out, "|")
  end)())
  res.lowlevel_active = pack(socket.protect(function()
    local f = ftp.open(env.host, env.ftpport, env.create)
    local out = {}
    out[#out + 1] = f:greet()
    out[#out + 1] = f:login("u", "p")
    out[#out + 1] = f:type("i")
    out[#out + 1] = f:eprt("1")
    local parts = {}
    out[#out + 1] = f:receive { path = dir .. "/big", sink = ltn12.sink.table(parts) }
    out[#out + 1] = C.digest(table.concat(parts), C.BIG)
    out[#out + 1] = f:eprt("1")
    out[#out + 1] = f:send { path = dir .. "/active", source = ltn12.source.string(C.BIG:sub(1, 200000)) }
    out[#out + 1] = f:eprt("1")
    parts = {}
    out[#out + 1] = f:receive { path = dir .. "/active", sink = ltn12.sink.table(parts) }
    out[#out + 1] = C.digest(table.concat(parts), C.BIG:sub(1, 200000))
    out[#out + 1] = f:cwd(dir)
    out[#out + 1] = f:quit()
    out[#out + 1] = f:close()
    return table.concat(out, "|")
  end)())
  -- a transfer command before PASV/EPRT: socket.ftp's own error
  res.noport = pack(socket.protect(function()
    local f = ftp.open(env.host, env.ftpport, env.create)
    f:greet(); f:login("u", "p")
    local ok, err = pcall(f.receive, f, { path = "x", sink = ltn12.sink.null() })
    f:close()
    return ok, type(err) == "table" and err[1] or err
  end)())
  return res
end

-- C.ftptimeout: a server that answers RETR with 150 and never sends
-- (ftp.TIMEOUT set small by the caller).
function C.ftptimeout(env)
  local data, r = get(env, { path = "/stall" })
  return { get_stall = r, get_stall_data = pack(data) }
end

-- C.MESSAGE returns the multipart message table the SMTP cases send: text
-- with dot lines and bare LFs, a quoted-printable part, a base64 binary
-- attachment through mime filters, a nested multipart.
function C.message(env, n)
  local ltn12, mime = env.ltn12, env.mime
  local text = ".starts with a dot\r\n..two dots\r\nmiddle\r\n.\r\nalone dot above\n.bare lf dot\r\n"
    .. string.rep("line of text " .. n .. "\r\n", 200) .. "no final newline"
  return {
    headers = { from = "A <a@example.org>", to = "B <b@example.org>", subject = "test " .. n,
      date = "Mon, 07 Dec 2026 12:00:00 +0000" },
    body = {
      preamble = "This is a multipart message.",
      [1] = { body = mime.eol(0, text) },
      [2] = {
        headers = { ["content-type"] = 'text/plain; charset="utf-8"',
          ["content-transfer-encoding"] = "quoted-printable" },
        body = ltn12.source.chain(ltn12.source.string("caf\195\169 = tea\r\n.x\r\n" .. string.rep("q", 200)),
          ltn12.filter.chain(mime.normalize(), mime.encode("quoted-printable"), mime.wrap("quoted-printable"))),
      },
      [3] = {
        headers = { ["content-type"] = 'application/octet-stream; name="bytes.bin"',
          ["content-disposition"] = 'attachment; filename="bytes.bin"',
          ["content-transfer-encoding"] = "BASE64" },
        body = ltn12.source.chain(ltn12.source.string(C.BIG:sub(1, 70000)),
          ltn12.filter.chain(mime.encode("base64"), mime.wrap())),
      },
      [4] = { body = { [1] = { body = "nested one" }, [2] = { body = ".nested two\r\n." } } },
      epilogue = "the end",
    },
  }
end

-- smtpt fills the common fields of a socket.smtp request table.
local function smtpt(env, t)
  t.server, t.port, t.create = env.host, env.smtpport, env.create
  return t
end

-- C.smtpcases runs the SMTP cases; returns name -> pack. The messages go
-- from "<n@dir>" so that the server can tell them apart.
function C.smtpcases(env)
  local smtp, ltn12 = env.smtp, env.ltn12
  local res = {}
  res.multipart = pack(smtp.send(smtpt(env, { from = "<1@" .. env.dir .. ">",
    rcpt = { "<b@example.org>", "<c@example.org>" }, source = smtp.message(C.message(env, 1)) })))
  res.plain = pack(smtp.send(smtpt(env, { from = "<2@" .. env.dir .. ">", rcpt = "<b@example.org>",
    source = ltn12.source.string("Subject: x\r\n\r\n.a\r\nb\r\n..c\r\n.") })))
  res.empty = pack(smtp.send(smtpt(env, { from = "<3@" .. env.dir .. ">", rcpt = "<b@example.org>",
    source = ltn12.source.empty() })))
  res.auth = pack(smtp.send(smtpt(env, { from = "<4@" .. env.dir .. ">", rcpt = "<b@example.org>",
    user = "alice", password = "secret", source = smtp.message { headers = { date = "x" }, body = "hi" } })))
  res.rcpt_rejected = pack(smtp.send(smtpt(env, { from = "<5@" .. env.dir .. ">",
    rcpt = { "<b@example.org>", "<nobody@example.org>" }, source = ltn12.source.string("x") })))
  res.from_rejected = pack(smtp.send(smtpt(env, { from = "<spammer@x>", rcpt = "<b@example.org>",
    source = ltn12.source.string("x") })))
  res.closes = pack(smtp.send(smtpt(env, { from = "<close@" .. env.dir .. ">", rcpt = "<b@example.org>",
    source = ltn12.source.string("x") })))
  res.source_error = pack(smtp.send(smtpt(env, { from = "<6@" .. env.dir .. ">", rcpt = "<b@example.org>",
    source = ltn12.source.error("the source failed") })))
  res.refused = pack(smtp.send { server = env.host, port = env.closedport, create = env.create,
    from = "<a@x>", rcpt = "<b@x>", source = ltn12.source.string("x") })
  return res
end

-- C.smtptimeout: a server that greets and then never answers (smtp.TIMEOUT
-- set small by the caller).
function C.smtptimeout(env)
  return { silent = pack(env.smtp.send(smtpt(env, { from = "<silent@x>", rcpt = "<b@x>",
    source = env.ltn12.source.string("x") }))) }
end

-- C.serialize renders name -> pack as a Lua chunk returning it (numbers
-- keep their float or integer subtype on 5.3+).
function C.serialize(res)
  local out = { "return {\n" }
  local names = {}
  for k in pairs(res) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local p = res[k]
    local vals = {}
    for i = 1, p.n do
      local v = p[i]
      if type(v) == "string" then vals[i] = string.format("%q", v)
      elseif type(v) == "number" then
        local s = string.format("%.17g", v)
        if math.type and math.type(v) == "float" and not s:find("[%.eni]") then s = s .. ".0" end
        vals[i] = s
      elseif type(v) == "boolean" or v == nil then vals[i] = tostring(v)
      else vals[i] = string.format("%q", "<" .. type(v) .. ">") end
    end
    out[#out + 1] = string.format("  [%q] = { n = %d, %s },\n", k, p.n, table.concat(vals, ", "))
  end
  out[#out + 1] = "}\n"
  return table.concat(out)
end

-- run as a script: the plain LuaSocket client, no asok.
--   lua protocols_cases.lua <phase> <ftpport> <smtpport> <closedport> <out>
if arg and arg[0] and arg[0]:match("protocols_cases%.lua$") then
  local phase, ftpport, smtpport, closedport, out = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), arg[5]
  local env = { ftp = require "socket.ftp", smtp = require "socket.smtp", ltn12 = require "ltn12",
    mime = require "mime", socket = require "socket", host = "127.0.0.1", ftpport = ftpport,
    smtpport = smtpport, closedport = closedport, dir = "plain" }
  local res
  if phase == "main" then
    res = C.ftpcases(env)
    for k, v in pairs(C.smtpcases(env)) do res["smtp_" .. k] = v end
  else
    env.ftp.TIMEOUT, env.smtp.TIMEOUT = 0.3, 0.3
    res = C.ftptimeout(env)
    for k, v in pairs(C.smtptimeout(env)) do res["smtp_" .. k] = v end
  end
  local f = assert(io.open(out .. ".tmp", "wb"))
  f:write(C.serialize(res)); f:close()
  assert(os.rename(out .. ".tmp", out))
  os.exit(0)
end

return C
