-- streamcats.lua - a flat perf profile of a stream-cell server as µs per
-- line by category, on one line (stream_split.sh's PERF=1 column).
--
--   perf report -i perf.data --no-children --sort dso,sym --stdio -g none \
--     | lua5.4 bench/lib/streamcats.lua CPU_US_PER_LINE [LJSYMS]
--
-- CPU_US_PER_LINE: the run's server CPU per line, which the shares of the
-- samples divide. LJSYMS (optional): an unstripped luajit binary whose
-- .text is the installed one's (Debian's is stripped); its symbols name
-- the addresses perf reports in luajit. Categories: krecv (the kernel's
-- receive copy, _copy_to_iter), ksend (its send copy, _copy_from_iter),
-- kother (the rest of the kernel), memmove, memcmp (libc's), libc (the
-- rest), indexbyte (Go's '\n' search), asok (the rest of libasok.so: Go
-- and capi), binding (asok.so), ljgc, ljalloc, ljstr (LuaJIT's GC,
-- allocator, string functions; with LJSYMS), lj (the rest of luajit, or
-- all of it without LJSYMS), jit (LuaJIT's compiled code), lua (a PUC
-- interpreter, its GC included), other. A reader, never a test.

local cpu = tonumber(arg[1])
if not cpu then
  io.stderr:write("usage: streamcats.lua CPU_US_PER_LINE [LJSYMS] < perf-report-output\n")
  os.exit(2)
end

-- syms: LJSYMS's function symbols as sorted address and name arrays
local addrs, names = {}, {}
if arg[2] and arg[2] ~= "" then
  local nm = assert(io.popen("nm -n --defined-only '" .. arg[2]:gsub("'", "") .. "'"))
  for l in nm:lines() do
    local a, t, n = l:match("^(%x+) (%a) (%S+)$")
    if a and t:match("[tTwW]") then
      addrs[#addrs + 1] = tonumber(a, 16)
      names[#names + 1] = n
    end
  end
  nm:close()
end

-- ljname returns the LJSYMS function holding address a (a string "0x..."),
-- or nil
local function ljname(a)
  local x = tonumber(a)
  if not x or #addrs == 0 or x < addrs[1] then return nil end
  local lo, hi = 1, #addrs
  while lo < hi do
    local m = (lo + hi + 1) // 2
    if addrs[m] <= x then lo = m else hi = m - 1 end
  end
  return names[lo]
end

local GC = { propagatemark = true, atomic = true, lj_gc_step = true, lj_gc_fullgc = true,
  lj_gc_barrierf = true, lj_gc_finalize_udata = true, lj_gc_finalize_cdata = true,
  lj_gc_separateudata = true, lj_gc_freeall = true, lj_gc_barriertrace = true,
  lj_gc_barrieruv = true, lj_gc_closeuv = true, lj_gc_step_jit = true, lj_gc_step_fixtop = true }

local function category(dso, kind, sym)
  if kind == "k" or dso:find("kernel", 1, true) then
    if sym == "_copy_to_iter" then return "krecv" end
    if sym == "_copy_from_iter" then return "ksend" end
    return "kother"
  end
  if dso:match("^libc") then
    if sym:match("memmove") or sym:match("memcpy") then return "memmove" end
    if sym:match("memcmp") then return "memcmp" end
    return "libc"
  end
  if dso == "libasok.so" then return sym == "indexbytebody" and "indexbyte" or "asok" end
  if dso == "asok.so" then return "binding" end
  if dso == "luajit" or dso:match("^libluajit") then
    local n = sym:match("^0x%x+$") and ljname(sym) or (#addrs > 0 and sym or nil)
    if not n then return "lj" end
    if GC[n] or n:match("^gc_") then return "ljgc" end
    if n:match("^lj_alloc") or n:match("^lj_mem_") or n:match("malloc") or n:match("^tmalloc")
        or n:match("^direct_") or n:match("^release_unused") or n:match("^alloc_sys") then
      return "ljalloc"
    end
    if n:match("^lj_str") or n:match("^hash_") then return "ljstr" end
    return "lj"
  end
  if dso:match("JIT") or dso:match("^perf%-") then return "jit" end
  if dso:match("^lua5") or dso:match("^liblua5") then return "lua" end
  return "other"
end

local order = { "krecv", "ksend", "kother", "memmove", "memcmp", "libc", "indexbyte", "asok",
  "binding", "ljgc", "ljalloc", "ljstr", "lj", "jit", "lua", "other" }
local us = {}
for _, k in ipairs(order) do us[k] = 0 end
for line in io.lines() do
  local pct, dso, kind, sym = line:match("^%s*([%d%.]+)%%%s+(%S+)%s+%[(.)%]%s+(.-)%s*$")
  if pct then
    local c = category(dso, kind, sym)
    us[c] = us[c] + tonumber(pct) / 100 * cpu
  end
end
local out = {}
for _, k in ipairs(order) do out[#out + 1] = ("%s=%.1f"):format(k, us[k]) end
print(table.concat(out, " "))
