#!/usr/bin/env bash
# stream_ab.sh - two asok builds on the stream cell, alternating: the
# server CPU per 64 KiB line of asok_echo.lua under the harness's
# `loadgen --mode stream --conns 1 --size 65536`, each run DUR s, ROUNDS
# rounds, one line per run and the paired ratios (new / old) at the end.
#
#   bench/stream_ab.sh HARNESS OLD_BUILD NEW_BUILD    (INTERP=lua5.4 ABI=5.4)
#
# HARNESS: a built copy of ../shared/bench (run.sh's matrix part makes one
# in BUILD/bench/harness). The CPU is the server's utime + stime from /proc
# over the loadgen run; other_cpu is loadgen's figure for the rest of the
# machine. With PERF=1 (perf, root) each run also samples the server for
# 1 s and splits its CPU per line: the kernel's receive copy
# (_copy_to_iter), its send copy (_copy_from_iter), libc's memmove (the
# Lua strings) and Go's '\n' search (indexbytebody). A measurement, never
# a test.
set -u
H=${1:?usage: stream_ab.sh HARNESS OLD_BUILD NEW_BUILD}
OLD=${2:?usage}
NEW=${3:?usage}
INTERP=${INTERP:-lua5.4}
ABI=${ABI:-5.4}
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-2}
TCK=$(getconf CLK_TCK)
cd "$H" || exit 1
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  declare -A per=()
  for b in old new; do
    B=$OLD
    [ $b = new ] && B=$NEW
    port=$((27000 + RANDOM % 1000))
    (LUA_CPATH="$B/lib/lua/$ABI/?.so;;" exec taskset -c 0 "$INTERP" servers/asok_echo.lua $port 2>/dev/null) &
    sp=$!
    sleep 0.4
    pp=
    if [ -n "${PERF:-}" ]; then
      (sleep 0.5; exec perf record -q -e cpu-clock -p $sp -o "$H/stream_ab.perf" -- sleep 1) >/dev/null 2>&1 &
      pp=$!
    fi
    t0=$(awk '{print $14+$15}' /proc/$sp/stat)
    out=$(taskset -c 1 build/loadgen --port $port --mode stream --conns 1 --size 65536 --duration "$DUR" --warmup 0 2>&1 | tail -1)
    t1=$(awk '{print $14+$15}' /proc/$sp/stat)
    [ -n "$pp" ] && wait $pp
    kill $sp
    wait $sp 2>/dev/null
    ops=$(grep -oE ' ops=[0-9]+' <<<"$out" | cut -d= -f2)
    oth=$(grep -oE 'other_cpu_pct=[0-9.]+' <<<"$out" | cut -d= -f2)
    per[$b]=$(awk -v t=$((t1 - t0)) -v ops="${ops:-0}" -v tck="$TCK" 'BEGIN{ if (ops > 0) printf "%.1f", t * 1e6 / tck / ops; else print "nan" }')
    split=
    if [ -n "$pp" ] && [ -s "$H/stream_ab.perf" ]; then
      rep=$(perf report -i "$H/stream_ab.perf" --no-children --sort sym --stdio -g none 2>/dev/null)
      for sym in _copy_to_iter _copy_from_iter __memmove_avx_unaligned_erms indexbytebody; do
        split="$split $sym=$(awk -v s=$sym -v u="${per[$b]}" '$NF == s { sub("%", "", $1); p = $1 } END { printf "%.1f", p / 100 * u }' <<<"$rep")us"
      done
    fi
    echo "$r $b lines=${ops:-0} cpu/line=${per[$b]}us other_cpu=${oth:-?}%$split"
  done
  ratios+=("$(awk -v o="${per[old]}" -v n="${per[new]}" 'BEGIN{ printf "%.2f", n / o }')")
done
echo "new/old per round: ${ratios[*]}"
