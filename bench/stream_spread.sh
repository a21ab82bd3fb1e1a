#!/usr/bin/env bash
# stream_spread.sh - the spread of the one-connection stream cell: many short
# runs of the C ceiling and asok_echo, alternating, with where each run's
# server CPU went.
#
#   bench/stream_spread.sh HARNESS BUILD [interp...]    (default: lua5.4 luajit)
#
# HARNESS: a built copy of ../shared/bench; BUILD: an asok build dir.
# Runs $RUNS rounds; each round runs c_epoll_echo, asok's C API echo server
# (examples/echo_server.c, as build/bin/asok_echo_server: the reactor
# without Lua), then asok_echo on every interpreter, each for $DUR s under `loadgen --mode stream --conns 1 --size
# 65536` (the harness's stream cell), server on CPU $SRV_CPU, loadgen on CPU
# $LG_CPU. With perf (and root) it also samples each server for 1 s and
# splits its CPU per 64 KiB line into the kernel's two copies
# (`_copy_from_iter`: the send's copy from the server's buffer into socket
# memory; `_copy_to_iter`: the receive's) and the rest. Prints markdown: one
# row per run, then min / quartiles / max per server. A measurement, never a
# test: it fails only when it cannot run.
set -u
HARNESS=${1:?usage: stream_spread.sh HARNESS BUILD [interp...]}
BUILD=${2:?usage: stream_spread.sh HARNESS BUILD [interp...]}
shift 2
INTERPS=${*:-lua5.4 luajit}
RUNS=${RUNS:-8}
DUR=${DUR:-2}
SRV_CPU=${SRV_CPU:-0}
LG_CPU=${LG_CPU:-1}
PORT=${PORT:-24900}
OUT=${OUT:-$BUILD/bench/stream_spread}
mkdir -p "$OUT"
[ -x "$HARNESS/build/loadgen" ] || { echo "stream_spread.sh: $HARNESS/build/loadgen missing" >&2; exit 1; }
SERVERS=c_epoll
[ -x "$BUILD/bin/asok_echo_server" ] && SERVERS="$SERVERS asok_c"
for i in $INTERPS; do command -v "$i" >/dev/null && SERVERS="$SERVERS $i"; done
PERF=
if command -v perf >/dev/null && [ "$(id -u)" = 0 ]; then PERF=1; fi

# field NAME LINE -> the value of NAME=... in a loadgen line
field() { grep -oE "(^| )$1=[^ ]+" <<<"$2" | head -1 | cut -d= -f2; }

# share SYM FILE -> the percentage of perf samples in symbol SYM and what
# it calls (0 if none)
share() {
  perf report -i "$2" --children --sort sym 2>/dev/null |
    awk -v s="$1" '$1 ~ /%$/ && $NF == s { sub("%", "", $1); print $1; found = 1; exit } END { if (!found) print 0 }'
}

# one SRV PORT -> one run: prints "srv mbps cpu_pct us_per_line from_us to_us softirq_us status"
one() {
  local srv=$1 PORT=$2 abi pid ppid= line us from=nan to=nan soft=nan
  case $srv in
    c_epoll) (cd "$HARNESS" && exec taskset -c "$SRV_CPU" build/c_epoll_echo "$PORT") 2>"$OUT/$srv.log" & ;;
    asok_c) taskset -c "$SRV_CPU" "$BUILD/bin/asok_echo_server" "$PORT" >/dev/null 2>"$OUT/$srv.log" & ;;
    *) case $srv in luajit) abi=5.1 ;; *) abi=${srv#lua} ;; esac
       (cd "$HARNESS" && LUA_CPATH="$BUILD/lib/lua/$abi/?.so;;" exec taskset -c "$SRV_CPU" "$srv" servers/asok_echo.lua "$PORT") \
         2>"$OUT/$srv.log" & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    "$HARNESS/build/loadgen" --mode probe --port "$PORT" --timeout 0.5 >/dev/null 2>&1 && break
    sleep 0.05
  done
  rm -f "$OUT/perf.data"
  if [ -n "$PERF" ]; then # 1 s of samples inside the measured window (after the 1 s warmup)
    (sleep 1.5; exec perf record -q -g -e cpu-clock -p "$pid" -o "$OUT/perf.data" -- sleep 1) >/dev/null 2>&1 &
    ppid=$!
  fi
  line=$(taskset -c "$LG_CPU" "$HARNESS/build/loadgen" --mode stream --conns 1 --size 65536 --port "$PORT" \
    --duration "$DUR" --warmup 1 --server-pid "$pid" 2>/dev/null | grep 'status=' | tail -1)
  [ -n "$ppid" ] && wait "$ppid" 2>/dev/null
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  us=$(awk -v c="$(field srv_cpu_pct "$line")" -v w="$(field window_s "$line")" -v n="$(field ops "$line")" \
    'BEGIN { if (n > 0) printf "%.1f", c / 100 * w * 1e6 / n; else print "nan" }')
  if [ -n "$PERF" ] && [ -s "$OUT/perf.data" ]; then
    from=$(awk -v p="$(share _copy_from_iter "$OUT/perf.data")" -v u="$us" 'BEGIN { printf "%.1f", p / 100 * u }')
    to=$(awk -v p="$(share _copy_to_iter "$OUT/perf.data")" -v u="$us" 'BEGIN { printf "%.1f", p / 100 * u }')
    soft=$(awk -v p="$(share handle_softirqs "$OUT/perf.data")" -v u="$us" 'BEGIN { printf "%.1f", p / 100 * u }')
  fi
  echo "$1 $(field mbps "$line") $(field srv_cpu_pct "$line") $us $from $to $soft $(field status "$line")"
}

echo "| round | server | MB/s | server CPU | µs CPU per line | of it \`_copy_from_iter\` | \`_copy_to_iter\` | softirqs | status |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
: >"$OUT/runs.txt"
for r in $(seq "$RUNS"); do
  for srv in $SERVERS; do
    PORT=$((PORT + 1))
    set -- $(one "$srv" "$PORT")
    echo "$*" >>"$OUT/runs.txt"
    printf '| %d | %s | %s | %s %% | %s | %s | %s | %s | %s |\n' "$r" "$1" "${2:-nan}" "${3:-nan}" "${4:-nan}" "${5:-nan}" "${6:-nan}" "${7:-nan}" "${8:-failed}"
    printf '%s stream_spread: round %d %s %s MB/s\n' "$(date +%H:%M:%S)" "$r" "$1" "${2:-nan}" >&2
  done
done
echo
echo "Per server over the $RUNS rounds (runs with status ok):"
echo
echo "| server | min MB/s | lower quartile | median | upper quartile | max | median µs CPU per line | \`_copy_from_iter\` µs per line, min – max |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
# col N FILE -> column N of FILE's lines, sorted numerically
col() { awk -v n="$1" '{ print $n }' "$2" | sort -n; }
# pick P -> the P-quantile (0..1, nearest rank) of stdin's sorted numbers
pick() { awk -v p="$1" '{ v[NR] = $1 } END { k = int(p * (NR - 1) + 1.5); if (NR) print v[k] }'; }
for srv in $SERVERS; do
  awk -v s="$srv" '$1 == s && $8 == "ok"' "$OUT/runs.txt" >"$OUT/ok.txt"
  [ -s "$OUT/ok.txt" ] || continue
  mb() { col 2 "$OUT/ok.txt" | pick "$1"; }
  froms=$(awk '$5 != "nan" { print $5 }' "$OUT/ok.txt" | sort -n)
  span=–
  [ -n "$froms" ] && span="$(head -1 <<<"$froms") – $(tail -1 <<<"$froms")"
  printf '| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %s |\n' "$srv" "$(mb 0)" "$(mb 0.25)" "$(mb 0.5)" "$(mb 0.75)" "$(mb 1)" \
    "$(col 4 "$OUT/ok.txt" | pick 0.5)" "$span"
done
