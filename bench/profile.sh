#!/usr/bin/env bash
# profile.sh - where an asok echo server's time goes, per round trip.
#
#   bench/profile.sh HARNESS BUILD [interp...]     (default: lua5.4 luajit)
#
# HARNESS: a built copy of ../shared/bench (build/loadgen, servers/);
# BUILD: an asok build dir (lib/libasok.so, lib/lua/<abi>/asok.so).
# For each interpreter it runs servers/asok_echo.lua pinned to CPU $SRV_CPU
# under `loadgen --mode pingpong --conns $CONNS` pinned to CPU $LG_CPU and:
#   1. perf record (flat, all threads) for $DUR s; the samples are split by
#      layer with lib/perfsplit.lua (kernel, cgo transitions, core, capi,
#      Lua VM, binding, ...);
#   2. perf stat with uprobes on libasok's Go entry points (asokgo_*, the
#      cgo exports behind the asok_* functions: one per call into Go), on
#      asok_receive itself (which a retry answered from asok_select's
#      completed receives leaves without entering Go) and syscall
#      tracepoints for $DUR s: cgo calls and syscalls per round trip (one
#      send per echoed line, so counts are divided by sendto + sendmsg).
# Needs root (uprobes); the probes are removed on exit. Prints markdown.
# A measurement, never a test: it fails only when it cannot run.
set -u
HARNESS=${1:?usage: profile.sh HARNESS BUILD [interp...]}
BUILD=${2:?usage: profile.sh HARNESS BUILD [interp...]}
shift 2
INTERPS=${*:-lua5.4 luajit}
DUR=${DUR:-4}
CONNS=${CONNS:-100}
IDLE=${IDLE:-0}
SRV_CPU=${SRV_CPU:-0}
LG_CPU=${LG_CPU:-1}
PORT=${PORT:-24400}
OUT=${OUT:-$BUILD/bench/profile}
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$BUILD/lib/libasok.so
FUNCS="asok_receive asokgo_receive asokgo_send asokgo_select asokgo_wait asokgo_sleep asokgo_cancel asokgo_buffered asokgo_wrap asokgo_sock_free asokgo_close"
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null

command -v perf >/dev/null || { echo "profile.sh: perf not installed" >&2; exit 1; }
[ -x "$HARNESS/build/loadgen" ] || { echo "profile.sh: $HARNESS/build/loadgen missing (make in the harness copy)" >&2; exit 1; }

# probes adds the uprobes (once); cleanup removes them.
probes() {
  local f
  for f in $FUNCS; do perf probe -q -x "$LIB" --add "$f" 2>/dev/null; done
}
cleanup() { perf probe -q -d 'probe_libasok:*' 2>/dev/null; }
trap cleanup EXIT

# one interp: runs the server and both measurements.
one() {
  local interp=$1 abi pid lgpid
  case $interp in luajit) abi=5.1 ;; *) abi=${interp#lua} ;; esac
  PORT=$((PORT + 1))
  (cd "$HARNESS" && LUA_CPATH="$BUILD/lib/lua/$abi/?.so;;" exec taskset -c "$SRV_CPU" "$interp" servers/asok_echo.lua "$PORT") \
    2>"$OUT/server-$interp.log" &
  pid=$!
  for _ in $(seq 100); do
    "$HARNESS/build/loadgen" --mode probe --port "$PORT" --timeout 0.5 >/dev/null 2>&1 && break
    sleep 0.05
  done
  # the server process is the interpreter (exec in the subshell)
  taskset -c "$LG_CPU" "$HARNESS/build/loadgen" --port "$PORT" --mode pingpong --conns "$CONNS" --idle "$IDLE" \
    --size 64 --duration $((2 * DUR + 2)) --warmup 1 --setup-timeout 30 --server-pid "$pid" >"$OUT/loadgen-$interp.txt" &
  lgpid=$!
  sleep 2
  perf record -q -F 1999 -p "$pid" -o "$OUT/perf-$interp.data" -- sleep "$DUR" 2>/dev/null
  probes
  local events="syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,raw_syscalls:sys_enter"
  for f in $FUNCS; do events="$events,probe_libasok:$f"; done
  perf stat -x, -e "$events" -p "$pid" -o "$OUT/stat-$interp.csv" -- sleep "$DUR" 2>/dev/null
  cleanup
  wait "$lgpid"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null

  echo "### $interp: pingpong $CONNS connections${IDLE:+ (+$IDLE idle)}"
  echo
  echo "loadgen: \`$(grep -oE '(rps|p50_us|p99_us|srv_cpu_pct|other_cpu_pct|status)=[^ ]+' "$OUT/loadgen-$interp.txt" | tr '\n' ' ')\`"
  echo
  perf report -i "$OUT/perf-$interp.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
    lua5.4 "$HERE/lib/perfsplit.lua"
  echo
  echo "Per round trip (counts over ${DUR}s / send calls (sendto + sendmsg); uprobes slow the server during this window):"
  echo
  awk -F, '
    { gsub(/^ +/, "", $1); n[$3] = $1 }
    END {
      rt = n["syscalls:sys_enter_sendmsg"] + n["syscalls:sys_enter_sendto"]
      if (rt == "" || rt + 0 == 0) { print "(no send counted)"; exit }
      printf "| event | total | per round trip |\n| --- | ---: | ---: |\n"
      c = 0
      for (k in n) if (k ~ /^probe_libasok:asokgo_/) c += n[k]
      for (k in n) if (n[k] + 0 > 0) printf "| %s | %d | %.3f |\n", k, n[k], n[k] / rt
      printf "| **cgo calls (all asokgo_*)** | %d | **%.3f** |\n", c, c / rt
    }' "$OUT/stat-$interp.csv" | sort -t'|' -k2
  echo
}

for i in $INTERPS; do
  command -v "$i" >/dev/null || { echo "(skipped $i: not installed)"; continue; }
  one "$i"
done
