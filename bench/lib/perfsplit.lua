-- perfsplit.lua - splits a flat perf profile of an asok server by layer.
--
--   perf report -i perf.data --no-children --sort dso,sym --stdio -g none \
--     | lua5.4 bench/lib/perfsplit.lua
--
-- Reads perf report's "  12.34%  dso  [k|.] symbol" lines and prints a
-- markdown table of the share of server CPU samples per layer (kernel, Go
-- runtime cgo transitions, asok core, capi, Lua VM, binding, ...) followed
-- by the top symbols. A reader of a profile, never a test.

-- classify returns the layer of one (dso, symbol) sample line.
local function classify(dso, sym, kind)
  if kind == "k" or dso:find("kernel", 1, true) then return "kernel (TCP, epoll, syscalls)" end
  if dso == "libasok.so" then
    if sym:match("^runtime%.cgocall") or sym:match("^runtime%.cgocallback") or sym:match("^crosscall")
        or sym:match("^_cgoexp") or sym:match("^_cgo_") or sym:match("^x_cgo") or sym:match("^runtime%.asmcgocall")
        or sym:match("^runtime%.needm") or sym:match("^runtime%.dropm") or sym:match("^runtime%.cgoBindM")
        or sym:match("^runtime%.lockOSThread") or sym:match("^runtime%.unlockOSThread")
        or sym:match("^runtime%.exitsyscall") or sym:match("^runtime%.entersyscall")
        or sym:match("^runtime%.reentersyscall") or sym:match("^runtime%.casgstatus")
        or sym:match("^runtime%.callbackUpdateSystemStack") or sym:match("^runtime%.save")
        or sym:match("^runtime%.load_g") or sym:match("^setg_gcc") or sym:match("^asokgo_")
        or sym:match("^asok_") or sym:match("^runtime%.cgoCheck") or sym:match("^runtime%.systemstack")
        or sym:match("^runtime%.mcall") or sym:match("^gosave") then
      return "Go: cgo transitions (C->Go, entersyscall/exitsyscall)"
    end
    if sym:match("^github%.com/asok%-lua/asok/core") then return "Go: asok core (reactor, buffers)" end
    if sym:match("^main%.") or sym:match("^sync%.") or sym:match("^github%.com/mattn") then
      return "Go: capi (handle table, locks, output copy)"
    end
    if sym:match("^syscall%.") or sym:match("^golang%.org/x/sys") or sym:match("^internal/runtime/syscall") then
      return "Go: syscall wrappers"
    end
    if sym:match("map") or sym:match("^internal/runtime/maps") or sym:match("^runtime%.memhash")
        or sym:match("^runtime%.aeshash") then
      return "Go: maps (handles, byTok, socks)"
    end
    if sym:match("^runtime%.gc") or sym:match("^runtime%.scan") or sym:match("^runtime%.mallocgc")
        or sym:match("^runtime%.greyobject") or sym:match("^runtime%.markBits") or sym:match("^runtime%.heapBits")
        or sym:match("^runtime%.findObject") then
      return "Go: GC and allocation"
    end
    return "Go: runtime, other"
  end
  if dso == "asok.so" then return "asok Lua binding (C)" end
  if dso == "core.so" or dso:match("^socket") then return "LuaSocket (C)" end
  if dso == "lua5.4" or dso == "luajit" or dso:match("^liblua") or dso:match("^libluajit") then
    return "Lua VM (interpreter, GC, strings)"
  end
  if dso:match("^perf%-") or dso:match("JIT") or dso == "[unknown]" then return "Lua VM (JIT-compiled code)" end
  if dso:match("^libc") or dso:match("^ld%-linux") then return "libc (memcpy, malloc)" end
  if dso == "[vdso]" then return "vdso (clock_gettime)" end
  return "other: " .. dso
end

local shares, order, top = {}, {}, {}
local total = 0
for line in io.lines() do
  local pct, dso, kind, sym = line:match("^%s*([%d%.]+)%%%s+(%S+)%s+%[(.)%]%s+(.-)%s*$")
  if pct then
    pct = tonumber(pct)
    local cat = classify(dso, sym, kind)
    if not shares[cat] then shares[cat] = 0; order[#order + 1] = cat end
    shares[cat] = shares[cat] + pct
    total = total + pct
    top[#top + 1] = { pct = pct, dso = dso, sym = sym, cat = cat }
  end
end
table.sort(order, function(a, b) return shares[a] > shares[b] end)
print("| layer | share of server CPU samples |")
print("| --- | ---: |")
for _, cat in ipairs(order) do print(("| %s | %.1f%% |"):format(cat, shares[cat])) end
print(("| (total parsed) | %.1f%% |"):format(total))
print()
print("| top symbols | dso | share | layer |")
print("| --- | --- | ---: | --- |")
table.sort(top, function(a, b) return a.pct > b.pct end)
for i = 1, math.min(25, #top) do
  local t = top[i]
  print(("| `%s` | %s | %.2f%% | %s |"):format(t.sym, t.dso, t.pct, t.cat))
end
