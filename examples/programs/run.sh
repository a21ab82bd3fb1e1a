#!/bin/sh
# run.sh prog.lua [interp...]: runs a program on each interpreter with its ABI's module
here=$(cd "$(dirname "$0")" && pwd); build="$here/../../build/lib/lua"
prog=$1; shift
[ $# -eq 0 ] && set -- lua5.1 lua5.2 lua5.3 lua5.4 luajit
rc=0
for i in "$@"; do
  abi=${i#lua}; [ "$i" = luajit ] && abi=5.1
  printf '== %s %s: ' "$prog" "$i"
  if (cd "$here" && LUA_CPATH="$build/$abi/?.so;;" timeout 120 "$i" "$prog" $ARGS); then :; else echo "FAILED ($?)"; rc=1; fi
done
exit $rc
