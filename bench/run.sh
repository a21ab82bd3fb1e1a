#!/usr/bin/env bash
# bench/run.sh - asok's benchmark: asok_echo against the peers and the C
# ceiling (through the neutral harness ../shared/bench), plus the 15,000
# connection idle sweep (through the harness, and in one process without
# it), the Go core benchmarks, the C API cost per call and the memory per
# idle connection. Run by `./build.sh bench` after a build.
#
#   bench/run.sh                      # everything, defaults below
#   SERVERS="c_epoll asok" CELLS="pp100" REPS=1 bench/run.sh   # a subset
#   PARTS="matrix memory" bench/run.sh                        # some parts
#
# Knobs (environment): PARTS (matrix idle idlelua gobench capi memory
# streamspread; "profile" adds bench/profile.sh), SPREAD_RUNS (8), SERVERS
# (harness ids, default: C ceiling + every Debian peer + asok), CELLS,
# REPS (3), DUR (4), INTERPS ("lua5.4 luajit"), IDLE_ACTIVE / IDLE_IDLE (1000 / 14000), MEM_CONNS (5000), ASOK_BUILD (an
# asok build dir; default build/, built by ./build.sh), ASOK_BENCH_HARNESS
# (default ../shared/bench), ASOK_HARNESS_COPY (where it is copied and built;
# default build/bench/harness), MACHINE_NOTE. Everything is measurement: no
# part fails on a slow figure; the exit status is non-zero only when a part
# could not run at all.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
BUILD=${ASOK_BUILD:-$ROOT/build}
HARNESS_SRC=${ASOK_BENCH_HARNESS:-$ROOT/../shared/bench}
PARTS=${PARTS:-matrix idle idlelua gobench capi memory streamspread}
INTERPS=${INTERPS:-lua5.4 luajit}
SRV_CPU=${SRV_CPU:-0}
LG_CPU=${LG_CPU:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$BUILD/bench/$STAMP
REPORT=${REPORT:-$ROOT/bench/results/asok-$STAMP.md}
export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$WORK" "$(dirname "$REPORT")"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
status=0

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
has() { [[ " $PARTS " == *" $1 "* ]]; }
abi_of() { case $1 in luajit) echo 5.1 ;; *) echo "${1#lua}" ;; esac; }
# out appends stdin to the report and shows it.
out() { tee -a "$REPORT"; }

[ -f "$BUILD/lib/libasok.so" ] || { log "no $BUILD/lib/libasok.so: run ./build.sh first"; exit 1; }

{
  echo "# asok benchmark run $STAMP"
  echo
  echo "- machine: $(uname -sr), $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load before start: $(cut -d' ' -f1-3 /proc/loadavg)${MACHINE_NOTE:+, $MACHINE_NOTE}"
  echo "- asok: $(git -C "$ROOT" describe --always --dirty 2>/dev/null), build $BUILD"
  echo "- command: \`$(for v in ASOK_BUILD PARTS SERVERS CELLS REPS DUR INTERPS SPREAD_RUNS; do [ -n "${!v:-}" ] && printf '%s=%q ' "$v" "${!v}"; done)bench/run.sh\` (what \`./build.sh bench\` runs after building)"
  echo
} | out

# ---- the harness copy (../shared/bench is read-only: build in a copy) --------
HARNESS=${ASOK_HARNESS_COPY:-$BUILD/bench/harness}
harness_ready() {
  [ -d "$HARNESS_SRC" ] || { log "harness $HARNESS_SRC not found: matrix and idle sweep skipped"; return 1; }
  if [ ! -x "$HARNESS/build/loadgen" ] || [ "$HARNESS_SRC/loadgen.c" -nt "$HARNESS/build/loadgen" ]; then
    rm -rf "$HARNESS"
    mkdir -p "$HARNESS"
    cp -r "$HARNESS_SRC"/. "$HARNESS"/ && chmod -R u+w "$HARNESS"
    rm -rf "$HARNESS/results"
  fi
  make -s -C "$HARNESS" all >&2 || { log "harness build failed"; return 1; }
}

# ---- 1. the matrix: asok_echo vs peers vs C, one run, ratios ------------------
if has matrix && harness_ready; then
  log "matrix: asok vs peers through $HARNESS_SRC (progress: one line per run)"
  (
    cd "$HARNESS" || exit 1
    export ASOK_LUA_CPATH_lua5_4="$BUILD/lib/lua/5.4/?.so" ASOK_LUA_CPATH_luajit="$BUILD/lib/lua/5.1/?.so"
    export COPAS1_LUA_PATH_lua5_4="${COPAS1_LUA_PATH_lua5_4:-;;/usr/share/lua/5.2/?.lua}"
    SERVERS=${SERVERS:-"c_epoll copas1 cqueues luv asok"} \
      CELLS=${CELLS:-"pp100 pp1000 pp5000 mix5000 stream"} \
      REPS=${REPS:-3} DUR=${DUR:-4} INTERPS=$INTERPS RETRIES=${RETRIES:-1} QUIET_WAIT=${QUIET_WAIT:-30} \
      RAW=$WORK/raw.tsv MD=$WORK/matrix.md LOGDIR=$WORK/logs PUBLISH= ./run.sh
  ) || { status=1; log "matrix failed"; }
  if [ -f "$WORK/matrix.md" ]; then
    echo "## Matrix (harness report; × = ratio to c_epoll in the same repetition)" | out >/dev/null
    # the harness's sections, one heading level down
    { sed -n '/^## Results/,$p' "$WORK/matrix.md"
      sed -n '/^## Exact commands/,/^## Results/p' "$WORK/matrix.md" | sed '$d'; } |
      sed -e 's/^### /#### /' -e 's/^## /### /' >>"$REPORT"
    lua5.4 "$HARNESS/lib/summarize.lua" "$WORK/raw.tsv" --brief >&2
    { echo
      echo "### Best repetition per server (the fast mode; \`bench/lib/best.lua\`)"
      echo
      echo "Each server's most round trips per second and least CPU per round trip over the repetitions, and their ratios to the C server's best: the servers compared in the same mode of the VM (\`bench/README.md\`, \"Two modes\")."
      echo
      lua5.4 "$ROOT/bench/lib/best.lua" "$WORK/raw.tsv"; } >>"$REPORT"
  fi
fi

# ---- 2. idle sweep: CPU per round trip with and without idle connections -----
# us_per_op LINE -> server CPU microseconds per operation of a loadgen line
us_per_op() {
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { if (v["ops"] > 0) printf "%.2f", v["srv_cpu_pct"] / 100 * v["window_s"] * 1e6 / v["ops"]; else print "nan" }' <<<"$1"
}
if has idle && harness_ready; then
  A=${IDLE_ACTIVE:-1000}
  I=${IDLE_IDLE:-14000}
  log "idle sweep: $A active with 0 and with $I idle connections, C ceiling and asok"
  {
    echo
    echo "## Idle sweep: $A active connections, without and with $I idle ones (median of ${REPS:-3})"
    echo
    echo "Each repetition runs 0 idle then $I idle back to back; the slope is the median of the per-repetition ratios. The C server's own slope is the kernel's (bigger socket tables, colder caches); asok's beyond it would be O(n) work of its own."
    echo
    echo "| server | interp | idle | status | round trips/s | server µs/round trip | slope | peak RSS |"
    echo "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"
  } | out
  # idle_run SRV INTERP IDLE REP PORT -> "us/op rps hwm_kb status" of one run
  idle_run() {
    local srv=$1 interp=$2 idle=$3 rep=$4 port=$5 abi pid line st
    abi=$(abi_of "$interp")
    if [ "$srv" = asok ]; then
      (cd "$HARNESS" && LUA_CPATH="$BUILD/lib/lua/$abi/?.so;;" exec taskset -c "$SRV_CPU" "$interp" servers/asok_echo.lua "$port") 2>"$WORK/idle-$interp-$idle-$rep.log" &
    else
      (cd "$HARNESS" && exec taskset -c "$SRV_CPU" build/c_epoll_echo "$port") 2>"$WORK/idle-c-$idle-$rep.log" &
    fi
    pid=$!
    for _ in $(seq 100); do "$HARNESS/build/loadgen" --mode probe --port "$port" --timeout 0.5 >/dev/null 2>&1 && break; sleep 0.05; done
    line=$(taskset -c "$LG_CPU" "$HARNESS/build/loadgen" --port "$port" --mode pingpong --conns "$A" --idle "$idle" --size 64 \
      --duration "${DUR:-4}" --warmup 1 --setup-timeout 60 --server-pid "$pid")
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    st=$(grep -oE 'status=[a-z_]+' <<<"$line")
    log "  $srv $interp idle=$idle r$rep: $st $(grep -oE '(rps|srv_cpu_pct|other_cpu_pct)=[^ ]+' <<<"$line" | tr '\n' ' ') us/op=$(us_per_op "$line")"
    echo "$(us_per_op "$line") $(grep -oE 'rps=[0-9.]+' <<<"$line" | cut -d= -f2) $(grep -oE 'srv_hwm_kb=[0-9]+' <<<"$line" | cut -d= -f2) ${st#status=}"
  }
  # idle_row SRV INTERP IDLE SLOPE VALS... -> the table row of the median run
  idle_row() {
    local srv=$1 interp=$2 idle=$3 slope=$4
    shift 4
    printf '%s\n' "$@" | sort -n | awk -v srv="$srv" -v interp="$interp" -v idle="$idle" -v slope="$slope" '
      { u[NR] = $1; r[NR] = $2; m[NR] = $3; s = s $4 " " }
      END { k = int((NR + 1) / 2)
            printf "| `%s` | %s | %d | %s | %.1fk | %s | %s | %.1f MiB |\n", srv, interp, idle, s, r[k] / 1000, u[k], slope, m[k] / 1024 }' | out
  }
  port=24700
  for entry in c_epoll:native $(for i in $INTERPS; do echo "asok:$i"; done); do
    srv=${entry%%:*} interp=${entry#*:}
    [ "$srv" = asok ] && ! command -v "$interp" >/dev/null && continue
    # each repetition runs 0 idle then $I idle back to back: the slope is
    # the median of these paired ratios, so the VM's drift between
    # repetitions does not enter it
    none=() some=() ratios=()
    for rep in $(seq "${REPS:-3}"); do
      port=$((port + 2))
      v0=$(idle_run "$srv" "$interp" 0 "$rep" "$((port - 1))")
      v1=$(idle_run "$srv" "$interp" "$I" "$rep" "$port")
      none+=("$v0")
      some+=("$v1")
      ratios+=("$(awk -v a="${v0%% *}" -v b="${v1%% *}" 'BEGIN { if (a > 0) printf "%.4f", b / a; else print "nan" }')")
    done
    slope=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { k = int((NR + 1) / 2); printf "%+.0f %%", (r[k] - 1) * 100 }')
    idle_row "$srv" "$interp" 0 "–" "${none[@]}"
    idle_row "$srv" "$interp" "$I" "$slope (paired)" "${some[@]}"
  done
fi

# ---- 2b. idle connections in one process, without the load generator -------
if has idlelua; then
  for interp in $INTERPS; do
    command -v "$interp" >/dev/null || continue
    log "idle connections in process: $interp, ${IDLE_ACTIVE:-1000} active, 0 vs ${IDLE_IDLE:-14000} idle"
    { echo; echo "## Idle connections in one process ($interp, bench/idle_inproc.lua: both ends of the active connections in the process, no load generator)"; echo
      LUA_CPATH="$BUILD/lib/lua/$(abi_of "$interp")/?.so;;" taskset -c "$SRV_CPU" "$interp" "$ROOT/bench/idle_inproc.lua" \
        "${IDLE_IDLE:-14000}" "${IDLE_ACTIVE:-1000}" 200 "${REPS:-3}"; } | out || status=1
  done
fi

# ---- 3. Go benchmarks of the core paths --------------------------------------
if has gobench; then
  log "go test -bench ./core (allocations per op)"
  {
    echo
    echo "## Go core benchmarks (\`go test -run '^\$' -bench . -benchmem ./core/\`)"
    echo
    echo '```'
    (cd "$ROOT" && go test -run '^$' -bench . -benchmem ./core/ 2>&1 | grep -E '^(Benchmark|cpu:|ok|FAIL)')
    echo '```'
  } | out
fi

# ---- 4. C API cost per call ------------------------------------------------
if has capi; then
  log "C API cost per call"
  if gcc -O2 -Wall -Wextra -o "$WORK/bench_capi" "$ROOT/bench/c/bench_capi.c" -I"$BUILD/include" \
    -L"$BUILD/lib" -Wl,-rpath,"$BUILD/lib" -lasok; then
    { echo; echo "## C API cost per call (bench/c/bench_capi.c, pinned to CPU $SRV_CPU)"; echo
      taskset -c "$SRV_CPU" "$WORK/bench_capi" 200000; } | out
    [ "${PIPESTATUS[0]}" = 0 ] || { status=1; log "bench_capi failed (see the report)"; }
  else
    status=1
    log "bench_capi did not build"
  fi
fi

# ---- 5. memory per idle connection -------------------------------------------
if has memory; then
  for interp in $INTERPS; do
    command -v "$interp" >/dev/null || continue
    for mode in native luasocket; do
      log "memory per idle connection: $interp, $mode clients"
      { echo; echo "## Memory per idle connection ($interp, $mode clients, bench/memory.lua)"; echo
        LUA_CPATH="$BUILD/lib/lua/$(abi_of "$interp")/?.so;;" "$interp" "$ROOT/bench/memory.lua" "${MEM_CONNS:-5000}" "$mode"; } | out ||
        status=1
    done
  done
fi

# ---- 5b. the stream cell's spread: many short runs, C and asok alternating ----
if has streamspread && harness_ready; then
  log "stream spread: ${SPREAD_RUNS:-8} rounds of c_epoll and asok ($INTERPS), one connection, 64 KiB lines"
  { echo; echo "## Stream spread (bench/stream_spread.sh: ${SPREAD_RUNS:-8} rounds, each server for 2 s per round, alternating; CPU per line split with perf where it can run)"; echo
    RUNS=${SPREAD_RUNS:-8} SRV_CPU=$SRV_CPU LG_CPU=$LG_CPU OUT=$WORK/stream_spread \
      "$ROOT/bench/stream_spread.sh" "$HARNESS" "$BUILD" $INTERPS; } | out || status=1
fi

# ---- 6. optional: profile (perf) ---------------------------------------------
if has profile && harness_ready; then
  log "profile (perf record + uprobes)"
  { echo; echo "## Profile"; echo; "$ROOT/bench/profile.sh" "$HARNESS" "$BUILD" $INTERPS; } | out || status=1
fi

log "report: $REPORT (raw data and logs: $WORK)"
exit $status
