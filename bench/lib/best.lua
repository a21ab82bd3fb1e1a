-- best.lua - each server's best repetition in a harness raw.tsv, against
-- the C server's best.
--
--   lua5.4 bench/lib/best.lua raw.tsv
--
-- On this VM a pingpong run lands in one of two modes: in the slow one
-- every server, the C one included, pays about 1.8 µs more kernel time per
-- round trip. The harness pairs the servers of one repetition, but the
-- mode can change between two runs of a cell, so a median of per-repetition
-- ratios mixes modes. A server's best repetition (least CPU per round
-- trip, most round trips per second) is its fast-mode figure; the ratio of
-- two bests compares the servers in the same mode. Prints a markdown
-- table of the pingpong cells. A reader of measurements, never a test.

local path = assert(arg[1], "usage: best.lua raw.tsv")

-- field returns the value of key in a loadgen line ("k=v k=v ..."), or nil.
local function field(line, key)
  return tonumber(line:match("%f[%w_]" .. key .. "=([%d.]+)"))
end

local best, cells, servers, seen = {}, {}, {}, {}
local header
for line in io.lines(path) do
  local cols = {}
  for c in (line .. "\t"):gmatch("([^\t]*)\t") do cols[#cols + 1] = c end
  if not header then
    header = {}
    for i, name in ipairs(cols) do header[name] = i end
  else
    local cell = cols[header.cell]
    local lg = cols[header.loadgen] or ""
    local rps, cpu = field(lg, "rps"), field(lg, "srv_cpu_pct")
    if cell and cell:match("^pp") or cell and cell:match("^mix") then
      if rps and cpu and rps > 0 and lg:find("status=ok", 1, true) then
        local who = cols[header.server] .. (cols[header.interp] ~= "-" and (" " .. cols[header.interp]) or "")
        local us = cpu / 100 * 1e6 / rps
        local key = who .. "\0" .. cell
        local b = best[key] or { rps = 0, us = math.huge, n = 0 }
        if rps > b.rps then b.rps = rps end
        if us < b.us then b.us = us end
        b.n = b.n + 1
        best[key] = b
        if not seen[cell] then seen[cell] = true; cells[#cells + 1] = cell end
        if not seen[who] then seen[who] = true; servers[#servers + 1] = who end
      end
    end
  end
end

io.write("| server | ", table.concat(cells, " | "), " |\n")
io.write("| --- |", string.rep(" ---: |", #cells), "\n")
for _, who in ipairs(servers) do
  local row = { who }
  for _, cell in ipairs(cells) do
    local b, c = best[who .. "\0" .. cell], best["c_epoll\0" .. cell]
    if not b then
      row[#row + 1] = "–"
    elseif c then
      row[#row + 1] = ("%.1fk ×%.2f, %.2f µs ×%.2f (n=%d)"):format(b.rps / 1e3, b.rps / c.rps, b.us, b.us / c.us, b.n)
    else
      row[#row + 1] = ("%.1fk, %.2f µs (n=%d)"):format(b.rps / 1e3, b.us, b.n)
    end
  end
  io.write("| ", table.concat(row, " | "), " |\n")
end
