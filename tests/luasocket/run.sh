#!/bin/sh
# tests/luasocket/run.sh LUASOCKET_CHECKOUT [interpreter...]
#
# Runs LuaSocket's own test clients and servers (test/testclnt.lua with
# test/testsrvr.lua over TCP, test/utestclnt.lua with test/utestsrvr.lua
# over a unix socket) with asok on one side: asok's client against plain
# LuaSocket's server, and plain LuaSocket's client against asok's server,
# on each interpreter (default: lua5.1 lua5.2 lua5.3 lua5.4 luajit); and
# test/test_socket_error.lua and test/test_bind.lua through asok.
# LuaSocket's files are copied from the checkout and patched at run time
# (patch.lua says what and why); none of them is part of asok.
# Needs ./build.sh first. Takes about a minute per interpreter (the
# scripts' own sleeps), the four runs of one interpreter side by side.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=${1:?usage: tests/luasocket/run.sh LUASOCKET_CHECKOUT [interpreter...]}
shift
[ -f "$src/test/testclnt.lua" ] || { echo "no test/testclnt.lua in $src" >&2; exit 2; }
interps=${*:-lua5.1 lua5.2 lua5.3 lua5.4 luajit}
work=$(mktemp -d /tmp/asok-luasocket.XXXXXX)
echo "work directory: $work"

# a network that accepts every connect (some sandboxes) makes testclnt's
# connect_timeout fail on plain LuaSocket too: skip it there
skip=
if lua5.4 -e 'local s=require"socket".tcp(); s:settimeout(0.5)
  os.exit(s:connect("10.0.0.1", 81) and 0 or 1)' 2>/dev/null; then
  skip=skip-connect-timeout
  echo "this network accepts a connect to 10.0.0.1:81: connect_timeout skipped"
fi
lua5.4 "$here/patch.lua" "$src/test/testclnt.lua" "$work/testclnt.lua" $skip || exit 2
lua5.4 "$here/patch.lua" "$src/test/utestclnt.lua" "$work/utestclnt.lua" || exit 2
cp "$src/test/testsrvr.lua" "$src/test/utestsrvr.lua" "$src/test/test_socket_error.lua" \
  "$src/test/test_bind.lua" "$here/shim.lua" "$here/plain.lua" "$work/"

# pair NAME INTERP CLIENT_DRIVER CLIENT SERVER_DRIVER SERVER PORT
pair() {
  d="$work/$1"; mkdir -p "$d"; cp "$work"/*.lua "$d/"
  (
    cd "$d" || exit 2
    timeout 300 "$2" -e "port='$7'" "$5" "$6" > server.log 2>&1 &
    spid=$!
    sleep 1
    timeout 300 "$2" -e "port='$7'" "$3" "$4" > client.out 2> client.err
    rc=$?
    kill "$spid" 2>/dev/null
    if [ $rc -eq 0 ] && grep -q "CLIENT DONE" client.err &&
       ! grep -q "ERROR" client.err; then
      echo "ok    $1"
    else
      echo "FAIL  $1 (rc $rc): $d/client.err"; tail -5 client.err | sed 's/^/      /'
      exit 1
    fi
  )
}

# single NAME INTERP SCRIPT EXPECTED: one script through asok, exit 0
# and its own success line
single() {
  d="$work/$1"; mkdir -p "$d"; cp "$work"/*.lua "$d/"
  (
    cd "$d" || exit 2
    timeout 60 "$2" shim.lua "$3" > client.out 2> client.err
    rc=$?
    if [ $rc -eq 0 ] && grep -q "$4" client.out; then
      echo "ok    $1"
    else
      echo "FAIL  $1 (rc $rc): $d/client.out"; tail -5 client.out client.err | sed 's/^/      /'
      exit 1
    fi
  )
}

fails=0
port=$((20000 + $$ % 20000))
for lua in $interps; do
  case $lua in luajit|lua5.1) v=5.1 ;; *) v=${lua#lua} ;; esac
  export LUA_CPATH="$root/build/lib/lua/$v/?.so;;"
  pair "$lua-tcp-asok-client" "$lua" shim.lua testclnt.lua plain.lua testsrvr.lua $port > "$work/$lua.1" &
  pair "$lua-tcp-asok-server" "$lua" plain.lua testclnt.lua shim.lua testsrvr.lua $((port+1)) > "$work/$lua.2" &
  pair "$lua-unix-asok-client" "$lua" shim.lua utestclnt.lua plain.lua utestsrvr.lua 0 > "$work/$lua.3" &
  pair "$lua-unix-asok-server" "$lua" plain.lua utestclnt.lua shim.lua utestsrvr.lua 0 > "$work/$lua.4" &
  wait
  single "$lua-socket-error" "$lua" test_socket_error.lua "^Passed!" > "$work/$lua.5"
  single "$lua-bind" "$lua" test_bind.lua "^done!" > "$work/$lua.6"
  cat "$work/$lua".[1-6]
  fails=$((fails + $(cat "$work/$lua".[1-6] | grep -c '^FAIL')))
  port=$((port + 2))
done
echo "$fails failed"
[ $fails -eq 0 ]
