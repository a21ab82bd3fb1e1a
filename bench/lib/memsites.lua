-- memsites.lua - memprobe.sh's reader: perf script --ns output of the
-- probe_libc:mm / mc entry probes (dst or a, src or b, len, ret) and their
-- return probes, summed per call site.
--
--   perf script --ns -i probe.perf | lua5.4 bench/lib/memsites.lua MAPS [LJSYMS]
--
-- MAPS: the server's /proc/PID/maps (return addresses to files); LJSYMS:
-- an unstripped luajit with the installed one's .text (stream_split.sh).
-- A reader, never a test.

local mapsfile, ljsyms = arg[1], arg[2] ~= "" and arg[2] or nil
if not mapsfile then
  io.stderr:write("usage: memsites.lua MAPS [LJSYMS] < perf-script-output\n")
  os.exit(2)
end

local maps = {}
for l in io.lines(mapsfile) do
  local lo, hi, perm, off, path = l:match("^(%x+)%-(%x+) (%S+) (%x+) %S+ %S+%s+(%S+)")
  if lo and perm:find("x", 1, true) then
    maps[#maps + 1] = { lo = tonumber(lo, 16), hi = tonumber(hi, 16), off = tonumber(off, 16), path = path }
  end
end

-- symbols of a file, from nm (dynamic symbols when it is stripped)
local symcache = {}
local function symbols(path)
  if symcache[path] then return symcache[path] end
  local file = (ljsyms and path:match("/luajit$")) and ljsyms or path
  local t = { a = {}, n = {}, dynamic = false }
  for _, opt in ipairs({ "-n --defined-only", "-D -n --defined-only" }) do
    t.dynamic = opt:match("^%-D") ~= nil
    local p = io.popen("nm " .. opt .. " '" .. file:gsub("'", "") .. "' 2>/dev/null")
    for l in p:lines() do
      local a, k, n = l:match("^(%x+) (%a) (%S+)$")
      if a and k:match("[tTwWiI]") then t.a[#t.a + 1] = tonumber(a, 16); t.n[#t.n + 1] = n end
    end
    p:close()
    if #t.a > 0 then break end
  end
  symcache[path] = t
  return t
end

-- where names the function a return address lies in: file:function
local function where(addr)
  for _, m in ipairs(maps) do
    if addr >= m.lo and addr < m.hi then
      local fo = addr - m.lo + m.off -- file offset; = the symbol's address in a PIE or .so
      local s = symbols(m.path)
      local name = ("0x%x"):format(fo)
      if #s.a > 0 and fo >= s.a[1] then
        local lo, hi = 1, #s.a
        while lo < hi do
          local mid = (lo + hi + 1) // 2
          if s.a[mid] <= fo then lo = mid else hi = mid - 1 end
        end
        -- "?": only the exported symbols were there, the nearest one
        -- below may not be the function
        name = s.n[lo] .. (s.dynamic and "?" or "")
      end
      return m.path:match("[^/]+$") .. ":" .. name
    end
  end
  return ("0x%x"):format(addr)
end

local pend, sites, order = {}, {}, {}
local t0, t1
for l in io.lines() do
  local tid, t, ev, rest = l:match("%s(%d+)%s+%[%d+%]%s+([%d%.]+):%s+probe_libc:(%w+)_*%w*:(.*)$")
  if tid then
    t = tonumber(t)
    t0, t1 = t0 or t, t
    if ev == "mm" or ev == "mc" then
      local d = tonumber(rest:match(" dst=(%d+)") or rest:match(" a=(%d+)"))
      local s = tonumber(rest:match(" src=(%d+)") or rest:match(" b=(%d+)"))
      local n = tonumber(rest:match(" len=(%d+)"))
      local r = tonumber(rest:match(" ret=(%d+)"))
      pend[tid] = { ev = ev, t = t, delta = (d - s) % 4096, n = n, ret = r }
    elseif pend[tid] and ((ev == "mmr") == (pend[tid].ev == "mm")) then
      local p = pend[tid]
      pend[tid] = nil
      local key = ("%s %s len=%d"):format(p.ev == "mm" and "memmove" or "memcmp", where(p.ret), p.n)
      if not sites[key] then sites[key] = { durs = {}, alias = {} }; order[#order + 1] = key end
      local st = sites[key]
      st.durs[#st.durs + 1] = (t - p.t) * 1e6
      if p.delta >= 1 and p.delta <= 31 then st.alias[#st.alias + 1] = (t - p.t) * 1e6 end
    end
  end
end
table.sort(order, function(a, b) return #sites[a].durs > #sites[b].durs end)
-- lines: the most frequent 64 KiB-ish site is once per line at least
print(("%.2f s of probes; per call site: calls, median / p90 µs, the share at (dst - src) mod 4096 in"):format((t1 or 0) - (t0 or 0)))
print("1..31 and their median µs:")
for _, k in ipairs(order) do
  local d, a = sites[k].durs, sites[k].alias
  table.sort(d)
  table.sort(a)
  print(("%6d  %6.1f / %6.1f µs  %5.1f%% %6s  %s"):format(#d, d[(#d + 1) // 2], d[math.max(1, math.floor(#d * 0.9))],
    100 * #a / #d, #a > 0 and ("%.1f"):format(a[(#a + 1) // 2]) or "-", k))
end
