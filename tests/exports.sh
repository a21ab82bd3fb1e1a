#!/bin/sh
# exports.sh LIB HEADER - libasok.so exports exactly the functions asok.h
# declares (ASOK_API): none missing, and nothing else (no cgo runtime
# symbol such as fatalf or crosscall2, no asokgo_* bridge) for a host's
# own symbols to clash with.
set -eu
lib=$1 header=$2
want=$(sed -n 's/^ASOK_API [^(]*[ *]\(asok_[a-z0-9_]*\) *(.*/\1/p' "$header" | sort)
got=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWDdBbRrVvi]$/ { print $3 }' | sed 's/@.*//' | sort)
[ -n "$want" ] || { echo "exports: no ASOK_API function found in $header"; exit 1; }
if [ "$want" != "$got" ]; then
  echo "exports: libasok.so's exported symbols differ from asok.h's API"
  echo "$want" > /tmp/asok-exports-want.$$
  echo "$got" | diff -u /tmp/asok-exports-want.$$ - || true
  rm -f /tmp/asok-exports-want.$$
  exit 1
fi
echo "exports ok: $(echo "$want" | wc -l) functions"
