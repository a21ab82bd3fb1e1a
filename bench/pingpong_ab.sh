#!/usr/bin/env bash
# pingpong_ab.sh - two asok builds on the pingpong cells, alternating: the
# server CPU per round trip of asok_echo.lua under the harness's loadgen
# (`--mode pingpong --size 64`, c=1000 and 100 active + 4,900 idle), each
# run DUR s after a 1 s warm-up, ROUNDS rounds (the order old/new flips
# every round), one line per run and the paired ratios (new / old) per
# cell at the end.
#
#   bench/pingpong_ab.sh HARNESS OLD_BUILD NEW_BUILD   (INTERP=luajit ABI=5.1)
#
# HARNESS: a built copy of ../shared/bench (run.sh's matrix part makes one
# in BUILD/bench/harness). The CPU is loadgen's srv_cpu_pct (the server's
# utime + stime over the measured window) over its round trips a second.
# A measurement, never a test; run it under the shared bench lock.
set -u
H=${1:?usage: pingpong_ab.sh HARNESS OLD_BUILD NEW_BUILD}
OLD=${2:?usage}
NEW=${3:?usage}
INTERP=${INTERP:-luajit}
ABI=${ABI:-5.1}
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-3}
CELLS=${CELLS:-pp1000 mix5000}
cd "$H" || exit 1
ulimit -n 20000 2>/dev/null
declare -A ratios=()
# one runs build B on cell c; prints µs of server CPU per round trip.
one() {
  local B=$1 cell=$2 conns idle port sp out rps cpu oth
  case $cell in pp1000) conns=1000 idle=0 ;; mix5000) conns=100 idle=4900 ;; *) conns=${cell#pp} idle=0 ;; esac
  port=$((27000 + RANDOM % 2000))
  (LUA_CPATH="$B/lib/lua/$ABI/?.so;;" exec taskset -c 0 "$INTERP" servers/asok_echo.lua $port 2>/dev/null) &
  sp=$!
  for _ in $(seq 100); do build/loadgen --mode probe --port $port --timeout 0.5 >/dev/null 2>&1 && break; sleep 0.05; done
  out=$(taskset -c 1 build/loadgen --port $port --mode pingpong --conns $conns --idle $idle --size 64 \
    --duration "$DUR" --warmup 1 --setup-timeout 30 --server-pid $sp 2>&1 | tail -1)
  kill $sp
  wait $sp 2>/dev/null
  rps=$(grep -oE ' rps=[0-9.]+' <<<"$out" | cut -d= -f2)
  cpu=$(grep -oE 'srv_cpu_pct=[0-9.]+' <<<"$out" | cut -d= -f2)
  oth=$(grep -oE 'other_cpu_pct=[0-9.]+' <<<"$out" | cut -d= -f2)
  awk -v r="${rps:-0}" -v c="${cpu:-0}" -v o="${oth:-?}" 'BEGIN{ if (r > 0) printf "%.2f %.0f %s", c / 100 / r * 1e6, r, o; else print "nan 0 ?" }'
}
for r in $(seq 1 "$ROUNDS"); do
  order="old new"
  [ $((r % 2)) -eq 0 ] && order="new old"
  for cell in $CELLS; do
    declare -A per=()
    for b in $order; do
      B=$OLD
      [ $b = new ] && B=$NEW
      read -r us rps oth <<<"$(one "$B" "$cell")"
      per[$b]=$us
      echo "round $r $cell $b: $us µs/round trip, $rps round trips/s, other_cpu_pct $oth"
    done
    ratios[$cell]="${ratios[$cell]:-} $(awk -v o="${per[old]}" -v n="${per[new]}" 'BEGIN{ printf "%.3f", n / o }')"
  done
done
for cell in $CELLS; do
  echo "$cell new/old:${ratios[$cell]} median $(tr ' ' '\n' <<<"${ratios[$cell]}" | grep . | sort -n | awk '{a[NR]=$1} END{ print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2 }')"
done
