-- the UDP client both udp_rpc.lua (through asok, in coroutines) and
-- udp_judge.lua (plain LuaSocket) run: request k of client w, with retries;
-- returns one line per request: its attempts and the results' shapes
local function pack(...) return { n = select("#", ...), ... } end
local function shape(t)
  local out = {}
  for i = 1, t.n do out[i] = type(t[i]) == "number" and (math.type and math.type(t[i]) or "number") or tostring(t[i]) end
  return table.concat(out, ",")
end
return function(socket, api, port, w, nreq)
  local u = assert(socket.udp())
  assert(u:setsockname("127.0.0.1", 0))
  api.settimeout(u, 0.3)
  local lines = {}
  for k = 1, nreq do
    local id = w * 100 + k
    local tries, answer, shapes = 0, nil, {}
    repeat
      tries = tries + 1
      local s = pack(api.sendto(u, ("req:%d:%d"):format(id, tries), "127.0.0.1", port))
      local r = pack(api.receivefrom(u))
      shapes[#shapes + 1] = "send(" .. shape(s) .. ") recv(" .. (r[1] and ("data," .. r[2] .. "," .. type(r[3])) or shape(r)) .. ")"
      if r[1] then answer = r[1] end
    until answer or tries == 4
    lines[#lines + 1] = ("%d tries=%d answer=%s %s"):format(id, tries, tostring(answer), table.concat(shapes, " "))
  end
  -- a receive with nothing coming, and a zero timeout
  api.settimeout(u, 0)
  lines[#lines + 1] = "zero: " .. shape(pack(api.receivefrom(u))) .. " " .. shape(pack(api.receive(u)))
  u:close()
  -- (not receivefrom: on a closed socket LuaSocket's reads an address the
  -- kernel never wrote: "ai_family not supported" or garbage, by luck)
  lines[#lines + 1] = "closed: " .. shape(pack(api.receive(u))) .. " | " .. shape(pack(pcall(api.sendto, u, "x", "127.0.0.1", port)))
  return table.concat(lines, "\n")
end
