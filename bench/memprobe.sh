#!/usr/bin/env bash
# memprobe.sh - which copies and compares of 4 KiB or more a stream-cell
# server makes per line, from where, at what (dst - src) mod 4096, and how
# long each takes: uprobes on libc's memmove and memcmp (entry, with the
# arguments and the return address, and return) for 0.5 s of the cell.
#
#   bench/memprobe.sh HARNESS INTERP ABI BUILD     (root: perf probe)
#
# Prints, per call site (the caller's function: LJSYMS names LuaJIT's, as
# in stream_split.sh), the calls per line, the median and 90th percentile
# duration (each includes the probes' own cost, several µs: compare sites
# with each other, not with a bare memcpy) and the share whose destination
# lies 1-31 bytes past the source modulo 4096, where this CPU's memmove of
# 64 KiB takes 15-20 times longer (bench/c/memcpy_alias.c). The probes stay
# defined (probe_libc:mm, mc, mmr__return, mcr__return); `perf probe -d
# 'probe_libc:*'` removes them. A measurement, never a test.
set -u
H=${1:?usage: memprobe.sh HARNESS INTERP ABI BUILD}
INTERP=${2:?usage}
ABI=${3:?usage}
B=${4:?usage}
HERE=$(cd "$(dirname "$0")" && pwd)
LIBC=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
MM=$(nm -D "$LIBC" | awk '$3 ~ /^__memmove_avx_unaligned_erms$/ {print $3; exit}')
MC=$(nm -D "$LIBC" | awk '$3 ~ /^__memcmp_avx2_movbe$/ {print $3; exit}')
# the ifuncs libc picks on this CPU (perf report names them): fall back to
# the names as perf shows them when nm -D does not list the variants
MM=${MM:-__memmove_avx_unaligned_erms}
MC=${MC:-__memcmp_avx2_movbe}
perf probe -q -d 'probe_libc:*' 2>/dev/null
perf probe -q -x "$LIBC" -a "mm=$MM dst=%di:u64 src=%si:u64 len=%dx:u64 ret=+0(%sp):u64" &&
  perf probe -q -x "$LIBC" -a "mc=$MC a=%di:u64 b=%si:u64 len=%dx:u64 ret=+0(%sp):u64" &&
  perf probe -q -x "$LIBC" -a "mmr=$MM%return" &&
  perf probe -q -x "$LIBC" -a "mcr=$MC%return" || { echo "memprobe: perf probe failed" >&2; exit 1; }
OUT=$(mktemp -d /tmp/memprobe.XXXXXX)
cd "$H" || exit 1
port=$((29000 + RANDOM % 1000))
(LUA_CPATH="$B/lib/lua/$ABI/?.so;;" exec taskset -c 0 "$INTERP" servers/asok_echo.lua $port 2>/dev/null) &
sp=$!
sleep 0.4
(sleep 0.7; exec perf record -q -e probe_libc:mm --filter 'len >= 4096' -e probe_libc:mc --filter 'len >= 4096' \
  -e probe_libc:mmr__return -e probe_libc:mcr__return -p $sp -o "$OUT/probe.perf" -- sleep 0.5) >/dev/null 2>&1 &
pp=$!
taskset -c 1 build/loadgen --port $port --mode stream --conns 1 --size 65536 --duration 2 --warmup 0 >/dev/null 2>&1
wait $pp
cat /proc/$sp/maps >"$OUT/maps"
kill $sp
wait $sp 2>/dev/null
perf script --ns -i "$OUT/probe.perf" 2>/dev/null | lua5.4 "$HERE/lib/memsites.lua" "$OUT/maps" "${LJSYMS:-}"
echo "(raw: $OUT)"
