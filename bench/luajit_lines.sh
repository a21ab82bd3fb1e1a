#!/usr/bin/env bash
# luajit_lines.sh - how much of LuaJIT's gap is its string hash: the
# pingpong matrix twice, once with the harness's lines as they are, once
# with lines whose bytes LuaJIT's hash reads differ from line to line.
#
#   bench/luajit_lines.sh            (after ./build.sh; knobs as run.sh's)
#
# LuaJIT 2.1 (Debian's 2.1.0-beta3) hashes a string from four 4-byte
# samples: offsets 0, len/4-1, len/2-2 and len-4. The harness's lines are
# "c<id> s<seq> " and a filler fixed per connection, so the lines of one
# connection differ only where the hash does not read: they share one hash
# chain, and interning a line walks it and compares each entry. The second
# run uses a copy of the harness whose load generator (env LINES_SPREAD=1)
# also writes the sequence number's last four digits at len/4-1, len/2-2
# and len-4. Same length, same traffic; only the hash's samples differ.
# Both runs go through bench/run.sh (PARTS=matrix) into a harness copy of
# their own (build/bench/harness-lines); the reports land in bench/results/
# as luajit-lines-plain-STAMP.md and luajit-lines-spread-STAMP.md.
# A measurement, never a test.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
BUILD=${ASOK_BUILD:-$ROOT/build}
SRC=${ASOK_BENCH_HARNESS:-$ROOT/../shared/bench}
COPY=$BUILD/bench/harness-lines-src
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
[ -f "$SRC/loadgen.c" ] || { echo "luajit_lines: no harness at $SRC" >&2; exit 1; }

rm -rf "$COPY" && mkdir -p "$COPY" && cp -r "$SRC"/. "$COPY"/ && chmod -R u+w "$COPY" && rm -rf "$COPY/build" "$COPY/results"
# patch fill_msg: after its last statement (the closing '\n'), the spread
python3 - "$COPY/loadgen.c" <<'PY' || { echo "luajit_lines: loadgen.c not as expected" >&2; exit 1; }
import sys
p = sys.argv[1]; s = open(p).read()
old = "    c->msg[opt_size - 1] = '\\n';\n}\n\nstatic void write_msg"
new = """    c->msg[opt_size - 1] = '\\n';
    if (getenv("LINES_SPREAD") && opt_size > 40) {
        char d[16];
        uint32_t len = opt_size - 1, at[3] = { len / 4 - 1, len / 2 - 2, len - 4 };
        snprintf(d, sizeof d, "%04llu", (unsigned long long)(c->seq % 10000));
        for (int i = 0; i < 3; i++) memcpy(c->msg + at[i], d, 4);
    }
}

static void write_msg"""
if s.count(old) != 1: sys.exit(1)
open(p, "w").write(s.replace(old, new))
PY

for mode in plain spread; do
  if [ $mode = spread ]; then export LINES_SPREAD=1; else unset LINES_SPREAD; fi
  echo "luajit_lines: $mode lines" >&2
  ASOK_BENCH_HARNESS=$COPY ASOK_HARNESS_COPY=$BUILD/bench/harness-lines PARTS=matrix \
    SERVERS=${SERVERS:-"c_epoll luv asok"} INTERPS=${INTERPS:-luajit} \
    CELLS=${CELLS:-"pp100 pp1000 pp5000 mix5000"} REPS=${REPS:-3} DUR=${DUR:-3} \
    MACHINE_NOTE="luajit_lines.sh, $mode lines" \
    REPORT=$ROOT/bench/results/luajit-lines-$mode-$STAMP.md bench/run.sh || exit 1
done
