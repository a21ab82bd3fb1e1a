-- the socket.http requests http_pool.lua makes through asok and
-- http_judge.lua with plain LuaSocket; run() gives one line per result
local reqs = {
  { url = "/hello" },
  { url = "/big/100000" },
  { url = "/chunked" },
  { url = "/nothing" },
  { url = "/slow" },
  { url = "/close" },
  { url = "/redirect", redirect = false },
  { url = "/hello", method = "HEAD" },
  { simple = "/big/5000" },
  { url = "/redirect" },   -- followed (the hop drops create: asok needs the scheme's)
}
local function show(t)
  if type(t) ~= "table" then return tostring(t) end
  local keys = {}
  for k in pairs(t) do if k ~= "x-served" then keys[#keys + 1] = tostring(k) end end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(t[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end
function reqs.run(http, ltn12, port, r, create)
  local base = "http://127.0.0.1:" .. port
  if r.simple then
    local body, code, headers, status = http.request(base .. r.simple)
    return table.concat({ "simple", #tostring(body), tostring(code), show(headers), tostring(status) }, " | ")
  end
  local parts = {}
  local one, code, headers, status = http.request{ url = base .. r.url, method = r.method,
    redirect = r.redirect, create = create, sink = ltn12.sink.table(parts) }
  local body = table.concat(parts)
  return table.concat({ r.url, tostring(one), tostring(code), show(headers), tostring(status),
    #body, body:sub(1, 40) }, " | ")
end
return reqs
