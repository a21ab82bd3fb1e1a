#!/bin/sh
# tests/luasocket/run.sh LUASOCKET_CHECKOUT [interpreter...]
#
# Runs LuaSocket's own test scripts through asok, on each interpreter
# (default: lua5.1 lua5.2 lua5.3 lua5.4 luajit):
# - clients and servers with asok on one side: asok's client against
#   plain LuaSocket's server, and plain LuaSocket's client against asok's
#   server: test/testclnt.lua with test/testsrvr.lua over TCP and
#   test/utestclnt.lua with test/utestsrvr.lua over a unix socket (judged
#   by the client's own checks); udpconnectclnt/udpconnectsrvr,
#   unixdgramclnt/unixdgramsrvr and unixstreamclnt/unixstreamsrvr
#   (judged by both sides' output against the same pair run on plain
#   LuaSocket alone; the echo clients read a few lines, then end);
# - single scripts through asok, judged by their output against the same
#   script on plain LuaSocket and by their own success line:
#   test_socket_error, test_bind, tcp-getoptions, udp-zero-length-send,
#   udp-zero-length-send-recv, test_getaddrinfo (localhost only: it asks
#   for nothing else), find-connect-limit (against a local server, under
#   `ulimit -n 64`), and the library tests that use no network but must
#   keep working with asok loaded: ltn12test, mimetest, urltest,
#   stufftest, excepttest, hello.
# The rest of test/ needs servers this does not have: httptest (a web
# server on localhost with test/cgi and test/auth, a proxy on
# localhost:3128, httpbin.org), ftptest (an FTP server on localhost
# with its files), smtptest and testmesg (an SMTP server on localhost
# with its mailboxes), tftptest (a TFTP server, by default a host at
# princeton.edu), dicttest (a DICT server on localhost).
# LuaSocket's files are copied from the checkout and patched at run time
# (patch.lua says what and why); none of them is part of asok.
# Needs ./build.sh first. Takes about a minute per interpreter (the
# scripts' own sleeps), the runs of one interpreter side by side.
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
for f in udpconnectclnt.lua udpconnectsrvr.lua unixdgramclnt.lua unixdgramsrvr.lua \
    unixstreamclnt.lua unixstreamsrvr.lua tcp-getoptions udp-zero-length-send \
    udp-zero-length-send-recv find-connect-limit; do
  lua5.4 "$here/patch.lua" "$src/test/$f" "$work/$f" || exit 2
done
for f in testsrvr.lua utestsrvr.lua test_socket_error.lua test_bind.lua \
    test_getaddrinfo.lua ltn12test.lua mimetest.lua urltest.lua stufftest.lua \
    excepttest.lua testsupport.lua hello.lua; do
  cp "$src/test/$f" "$work/" || exit 2
done
cp "$here/shim.lua" "$here/plain.lua" "$here/holder.lua" "$work/"
# the echo clients' input: an empty line, a line ending in CR (which a
# stream receive's "*l" drops), a datagram longer than LuaSocket's 8192
# bytes (receivefrom's default size cuts it)
lua5.4 -e 'io.write("one\n\ntwo words\ncarriage\r\n", string.rep("x", 10000), "\nend\n")' \
  > "$work/input.txt"

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

# normal FILE: FILE as it would read from any run: addresses (0x...),
# asok's wrapper names (asok{tcp{client}: 0x...} for LuaSocket's
# tcp{client}: 0x...), mimetest's time, a port the kernel picked
normal() {
  sed -E -e 's/asok\{([a-z0-9]+\{[a-z]+\}: 0x[0-9a-f]+)\}/\1/g' \
    -e 's/0x[0-9a-f]+/0xADDR/g' -e 's/^done in [0-9.]+s$/done in Ts/' \
    -e 's/^(getsockname\t[0-9.]+\t)[1-9][0-9]*/\1PORT/' "$1"
}

# single NAME INTERP SCRIPT EXPECTED [PORT]: one script through asok
# and on plain LuaSocket (PORT in the global `port`): both exit 0, the
# asok run prints the script's own success line EXPECTED, and both
# print the same (normal) output
single() {
  d="$work/$1"; mkdir -p "$d"; cp "$work"/*.lua "$work"/tcp-* "$work"/udp-* "$work"/find-* "$d/"
  (
    cd "$d" || exit 2
    timeout 60 "$2" -e "port='${5:-0}'" plain.lua "$3" > plain.out 2> plain.err
    prc=$?
    timeout 60 "$2" -e "port='${5:-0}'" shim.lua "$3" > client.out 2> client.err
    rc=$?
    normal plain.out > plain.normal; normal client.out > client.normal
    if [ $rc -eq 0 ] && [ $prc -eq 0 ] && grep -q "$4" client.out &&
       diff -u plain.normal client.normal > diff.out; then
      echo "ok    $1"
    else
      echo "FAIL  $1 (rc $rc, plain $prc): $d"
      tail -n 5 diff.out client.out client.err 2>/dev/null | sed 's/^/      /'
      exit 1
    fi
  )
}

# limit NAME INTERP PORT: find-connect-limit against holder.lua on PORT
# under `ulimit -n 64`, through asok and on plain LuaSocket: both connect
# until the last descriptor (fd 63), then end on the script's assert
# with "Too many open files". (asok's own descriptors, its epoll and wake
# fds and Go's, leave it fewer connections: counts are not compared.)
limit() {
  d="$work/$1"; mkdir -p "$d"; cp "$work"/*.lua "$work"/find-* "$d/"
  (
    cd "$d" || exit 2
    timeout 120 "$2" holder.lua "$3" > holder.out 2>&1 &
    hpid=$!
    n=0
    while [ $n -lt 300 ] && ! grep -q ready holder.out 2>/dev/null; do
      kill -0 "$hpid" 2>/dev/null || break
      sleep 0.1; n=$((n + 1))
    done
    for drv in plain shim; do
      (ulimit -n 64 && timeout 60 "$2" -e "host='127.0.0.1' port='$3'" $drv.lua \
        find-connect-limit > $drv.out 2>&1)
      # the last connection's fd, and the error the script ended on
      { grep '^connection #' $drv.out | tail -n 1 | awk '{ print $NF }'
        grep -o 'find-connect-limit:[0-9]*: .*' $drv.out | head -n 1
      } > $drv.end
    done
    kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
    if grep -q '^63' plain.end && grep -q 'Too many open files' plain.end &&
       cmp -s plain.end shim.end; then
      echo "ok    $1"
    else
      echo "FAIL  $1: $d"; cat plain.end shim.end | sed 's/^/      /'
      exit 1
    fi
  )
}

# duo NAME INTERP CLIENT_DRIVER CLIENT SERVER_DRIVER SERVER READY END:
# a client and server that print what they get, the client fed
# input.txt; READY: "port" (the server prints its port, which the client
# gets as `port`) or a socket file's name (the server has bound it);
# END: "wait" (the server ends on its own) or "kill" (an echo server
# that loops for ever, ended once its client, which waits for each
# echo, is done). Leaves client.out and server.out in $work/NAME
duo() {
  d="$work/$1"; mkdir -p "$d"; cp "$work"/*.lua "$d/"
  (
    cd "$d" || exit 2
    timeout 60 "$2" "$5" "$6" > server.out 2> server.err &
    spid=$!
    p=0; n=0
    while [ $n -lt 300 ]; do # until the server is ready (or gone)
      if [ "$7" = port ]; then
        p=$(awk '/^getsockname/ { print $3; exit }' server.out 2>/dev/null)
        [ -n "$p" ] && break
      elif [ -S "$7" ]; then break; fi
      kill -0 "$spid" 2>/dev/null || break
      sleep 0.1; n=$((n + 1))
    done
    timeout 60 "$2" -e "port='$p'" "$3" "$4" < ../input.txt > client.out 2> client.err
    rc=$?
    if [ "$8" = kill ]; then kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; src=0
    else wait "$spid"; src=$?; fi
    if [ $rc -eq 0 ] && [ $src -eq 0 ] && grep -q "CLIENT DONE" client.err; then
      exit 0
    fi
    echo "FAIL  $1 (client rc $rc, server rc $src): $d"
    tail -n 5 client.err server.err | sed 's/^/      /'
    exit 1
  )
}

# trio NAME INTERP CLIENT SERVER READY END: the pair on plain LuaSocket
# alone, then with asok's client, then with asok's server (one after the
# other: udpconnect's ports are fixed), each side's output the same as
# on plain LuaSocket
trio() {
  duo "$1-plain" "$2" plain.lua "$3" plain.lua "$4" "$5" "$6" || return
  [ -s "$work/$1-plain/server.out" ] || { echo "FAIL  $1-plain: no output"; return; }
  for side in client server; do
    if [ $side = client ]; then
      duo "$1-asok-$side" "$2" shim.lua "$3" plain.lua "$4" "$5" "$6" || continue
    else
      duo "$1-asok-$side" "$2" plain.lua "$3" shim.lua "$4" "$5" "$6" || continue
    fi
    ok=yes
    for f in client.out server.out; do
      normal "$work/$1-plain/$f" > "$work/$1-asok-$side/$f.want"
      normal "$work/$1-asok-$side/$f" > "$work/$1-asok-$side/$f.got"
      diff -u "$work/$1-asok-$side/$f.want" "$work/$1-asok-$side/$f.got" \
        > "$work/$1-asok-$side/$f.diff" || ok=
    done
    if [ -n "$ok" ]; then
      echo "ok    $1-asok-$side"
    else
      echo "FAIL  $1-asok-$side (output differs): $work/$1-asok-$side/*.diff"
      cat "$work/$1-asok-$side"/*.diff | head -8 | sed 's/^/      /'
    fi
  done
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
  trio "$lua-udpconnect" "$lua" udpconnectclnt.lua udpconnectsrvr.lua port wait > "$work/$lua.5" &
  trio "$lua-unixdgram" "$lua" unixdgramclnt.lua unixdgramsrvr.lua foo kill > "$work/$lua.6" &
  trio "$lua-unixstream" "$lua" unixstreamclnt.lua unixstreamsrvr.lua foo wait > "$work/$lua.7" &
  wait
  {
    single "$lua-socket-error" "$lua" test_socket_error.lua "^Passed!"
    single "$lua-bind" "$lua" test_bind.lua "^done!"
    single "$lua-tcp-getoptions" "$lua" tcp-getoptions "^getoption	linger	on" $((port + 2))
    single "$lua-udp-zero-length-send" "$lua" udp-zero-length-send "^OK	" $((port + 3))
    single "$lua-udp-zero-length-send-recv" "$lua" udp-zero-length-send-recv "^ok$" $((port + 4))
    single "$lua-getaddrinfo" "$lua" test_getaddrinfo.lua "^done!"
    single "$lua-ltn12test" "$lua" ltn12test.lua "a bunch): ok$"
    single "$lua-mimetest" "$lua" mimetest.lua "^done in"
    single "$lua-urltest" "$lua" urltest.lua "^the library passed all tests$"
    single "$lua-stufftest" "$lua" stufftest.lua "^ok$"
    single "$lua-excepttest" "$lua" excepttest.lua "^OK$"
    single "$lua-hello" "$lua" hello.lua "^Hello from LuaSocket"
    limit "$lua-find-connect-limit" "$lua" $((port + 5))
  } > "$work/$lua.8"
  cat "$work/$lua".[1-8]
  fails=$((fails + $(cat "$work/$lua".[1-8] | grep -c '^FAIL')))
  port=$((port + 6))
done
echo "$fails failed"
[ $fails -eq 0 ]
