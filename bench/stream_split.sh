#!/usr/bin/env bash
# stream_split.sh - servers alternating on the stream cell, the server's CPU
# per 64 KiB line split into user and system time, and with PERF=1 into
# what it went to (the kernel's copies, memmove, memcmp, LuaJIT's GC, ...).
#
#   bench/stream_split.sh HARNESS CONFIG...
#
# CONFIG is LABEL=c (the harness's C epoll server) or LABEL=INTERP:ABI:BUILD
# (asok_echo.lua under INTERP with BUILD/lib/lua/ABI/asok.so), e.g.
#   c=c l54=lua5.4:5.4:build lj=luajit:5.1:build
# Each round runs every config once (ROUNDS rounds, DUR s each, the server
# pinned to CPU 0, loadgen --mode stream --conns 1 --size 65536 to CPU 1).
# One line per run: lines echoed, usr / sys / cpu µs per line (the server's
# utime and stime from /proc over loadgen's run). PERF=1 (perf, root) also
# samples the server for 1 s per run (kept in OUT/LABEL.rN.perf) and prints
# its CPU per line by category (lib/streamcats.lua); LJSYMS names an
# unstripped luajit whose .text is the installed one's, to name LuaJIT's
# own functions (bench/README.md, "LuaJIT's stream line, split"). At the
# end, the median of each column per config. A measurement, never a test.
set -u
H=${1:?usage: stream_split.sh HARNESS CONFIG...}
shift
[ $# -gt 0 ] || { echo "usage: stream_split.sh HARNESS CONFIG..." >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-3}
if [ -n "${PERF:-}" ] && ! awk -v d="$DUR" 'BEGIN{ exit !(d >= 2) }'; then
  echo "stream_split.sh: PERF=1 samples from 0.5 s to 1.5 s of each run: DUR must be 2 or more" >&2
  exit 2
fi
OUT=${OUT:-$(mktemp -d /tmp/stream_split.XXXXXX)}
mkdir -p "$OUT"
TCK=$(getconf CLK_TCK)
cd "$H" || exit 1
: >"$OUT/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  for cfg in "$@"; do
    label=${cfg%%=*}
    spec=${cfg#*=}
    port=$((28000 + RANDOM % 1000))
    if [ "$spec" = c ]; then
      (exec taskset -c 0 build/c_epoll_echo $port 2>/dev/null) &
    else
      IFS=: read -r interp abi build <<<"$spec"
      (LUA_CPATH="$build/lib/lua/$abi/?.so;;" exec taskset -c 0 "$interp" servers/asok_echo.lua $port 2>/dev/null) &
    fi
    sp=$!
    sleep 0.4
    pp=
    if [ -n "${PERF:-}" ]; then
      (sleep 0.5; exec perf record -q -e cpu-clock -p $sp -o "$OUT/$label.r$r.perf" -- sleep 1) >/dev/null 2>&1 &
      pp=$!
    fi
    read -r u0 s0 < <(awk '{print $14, $15}' /proc/$sp/stat)
    out=$(taskset -c 1 build/loadgen --port $port --mode stream --conns 1 --size 65536 --duration "$DUR" --warmup 0 2>&1 | tail -1)
    read -r u1 s1 < <(awk '{print $14, $15}' /proc/$sp/stat)
    [ -n "$pp" ] && wait $pp
    kill $sp
    wait $sp 2>/dev/null
    ops=$(grep -oE ' ops=[0-9]+' <<<"$out" | cut -d= -f2)
    mbps=$(grep -oE 'mbps=[0-9.]+' <<<"$out" | cut -d= -f2)
    line=$(awk -v r=$r -v l=$label -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v ops="${ops:-0}" -v tck=$TCK -v m="${mbps:-0}" \
      'BEGIN{ if (ops > 0) printf "%d %s lines=%d usr=%.1f sys=%.1f cpu=%.1f MB/s=%s", r, l, ops, u*1e6/tck/ops, s*1e6/tck/ops, (u+s)*1e6/tck/ops, m; else printf "%d %s lines=0", r, l }')
    if [ -n "$pp" ] && [ -s "$OUT/$label.r$r.perf" ] && [ "${ops:-0}" -gt 0 ]; then
      cpu=$(grep -oE 'cpu=[0-9.]+' <<<"$line" | cut -d= -f2)
      line="$line $(perf report -i "$OUT/$label.r$r.perf" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        lua5.4 "$HERE/lib/streamcats.lua" "$cpu" "${LJSYMS:-}")"
    fi
    echo "$line" | tee -a "$OUT/runs.txt"
  done
done
echo "medians ($OUT/runs.txt):"
for cfg in "$@"; do
  label=${cfg%%=*}
  lua5.4 - "$label" "$OUT/runs.txt" <<'LUA'
local label, cols, order = arg[1], {}, {}
for l in io.lines(arg[2]) do
  local lab, rest = l:match("^%d+ (%S+) (.*)$")
  if lab == label then
    for k, v in rest:gmatch("([%w/]+)=([%d.]+)") do
      if not cols[k] then cols[k] = {}; order[#order + 1] = k end
      table.insert(cols[k], tonumber(v))
    end
  end
end
local out = {}
for _, k in ipairs(order) do
  local t = cols[k]
  table.sort(t)
  local m = #t % 2 == 1 and t[(#t + 1) // 2] or (t[#t // 2] + t[#t // 2 + 1]) / 2
  out[#out + 1] = ("%s=%.1f"):format(k, m)
end
print(label .. " " .. table.concat(out, " "))
LUA
done
