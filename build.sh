#!/usr/bin/env bash
# build.sh - the one entry point of asok.
#   ./build.sh          build into build/ (lib/libasok.so, include/asok.h,
#                       lib/lua/<abi>/asok.so: an install-prefix layout)
#   ./build.sh test     install missing Debian/Ubuntu packages, build, ctest
#   ./build.sh demo     build, then run examples/echo_demo.lua
#   ./build.sh asan     C binding + C tests with -fsanitize=address,undefined
#                       in build-asan/; runs the C and Lua tests under ASan
#   ./build.sh valgrind build, then run Lua tests under valgrind memcheck
#   ./build.sh clean    remove build/ and build-asan/
#   ./build.sh bench    install peers (luv, cqueues, copas), build, then
#                       bench/run.sh: asok vs peers, Go/C/memory figures
#   ./build.sh soak     build, then tests/soak/soak.lua (SOAK_SECONDS, default 600; SOAK_INTERP)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
SELF=$ROOT/$(basename "${BASH_SOURCE[0]}")
BUILD=$ROOT/build
PACKAGES=(cmake gcc binutils make pkg-config lua5.1 lua5.2 lua5.3 lua5.4 luajit
  liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev
  libluajit-5.1-dev lua-socket lua-sec openssl)
# the peers ./build.sh bench measures asok against (any missing one is
# left out of the table), and perf for its profile part
BENCH_PACKAGES=(lua-luv lua-cqueues lua-copas linux-perf)

say() { printf '==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# usage prints the commands; exit status $1 (2 = bad usage, to stderr).
usage() {
  if [ "${1:-2}" -eq 0 ]; then
    sed -n '2,13p' "$SELF" | sed 's/^# \{0,1\}//'
  else
    sed -n '2,13p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  fi
  exit "${1:-2}"
}

# find_go puts go on PATH (falling back to /usr/local/go/bin).
find_go() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
  command -v go >/dev/null 2>&1 ||
    die "go (the version go.mod names, 1.26 or later) not found on PATH or in /usr/local/go/bin; see https://go.dev/dl/"
}

# missing_packages prints the packages named as arguments that are not
# installed.
missing_packages() {
  local p
  for p in "$@"; do
    if command -v dpkg >/dev/null 2>&1; then
      dpkg -s "$p" >/dev/null 2>&1 || echo "$p"
    else
      case $p in *-dev | lua-socket | lua-sec) ;; *) command -v "$p" >/dev/null 2>&1 || echo "$p" ;; esac
    fi
  done
}

# install_deps installs what is missing of PACKAGES (as root), or says
# how and stops.
install_deps() {
  local missing
  missing=$(missing_packages "${PACKAGES[@]}" | tr '\n' ' ')
  missing=${missing% }
  if [ -z "$missing" ]; then
    say "dependencies present"
    return
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "missing: $missing (not a Debian/Ubuntu system: install them by hand)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: missing packages: $missing" >&2
    echo "run: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $missing" >&2
    exit 1
  fi
  say "installing: $missing"
  apt-get update
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing </dev/null
}

# install_bench_deps installs the missing peers of BENCH_PACKAGES when it
# can (root with apt-get); otherwise the bench leaves them out.
install_bench_deps() {
  local missing
  missing=$(missing_packages "${BENCH_PACKAGES[@]}" | tr '\n' ' ')
  missing=${missing% }
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "not installed, left out of the bench: $missing"
    return 0
  fi
  say "installing bench peers: $missing"
  apt-get update
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing </dev/null ||
    say "could not install $missing: left out of the bench"
}

# build configures (first time or after changes) and builds everything.
build() {
  find_go
  command -v cmake >/dev/null 2>&1 || die "cmake not found (./build.sh test installs it)"
  say "configure build/ ($(go version | cut -d' ' -f3))"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  say "build"
  cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)"
  say "built: $BUILD/lib/libasok.so $BUILD/include/asok.h"
  if [ -d "$BUILD/lib/lua" ]; then
    say "Lua modules: $(cd "$BUILD/lib/lua" && ls -d */asok.so 2>/dev/null | tr '\n' ' ')"
  fi
}

# check_go runs the static checks: gofmt and a cgo-free vet of core.
check_go() {
  local unformatted
  say "gofmt, go vet"
  unformatted=$(gofmt -l core capi)
  [ -z "$unformatted" ] || die "not gofmt'ed: $unformatted"
  CGO_ENABLED=0 go vet ./core/...
  go vet ./capi/
}

# run_tests builds, then runs every ctest entry (independent: -j2).
run_tests() {
  install_deps
  build
  check_go
  say "ctest"
  (cd "$BUILD" && ctest --output-on-failure -j2)
}

# demo builds, then runs the echo demo with the best interpreter found.
demo() {
  local interp abi
  build
  [ -f "$ROOT/examples/echo_demo.lua" ] || die "examples/echo_demo.lua not found"
  for interp in lua5.4 lua5.3 lua5.2 lua5.1 luajit lua; do
    command -v "$interp" >/dev/null 2>&1 && break
    interp=
  done
  [ -n "$interp" ] || die "no Lua interpreter found"
  case $interp in
    luajit) abi=5.1 ;;
    lua) abi=$(lua -e 'print((_VERSION:gsub("Lua ", "")))') ;;
    *) abi=${interp#lua} ;;
  esac
  [ -f "$BUILD/lib/lua/$abi/asok.so" ] || die "no asok module for Lua $abi in $BUILD/lib/lua"
  # 1,000 clients and the server's ends of their connections: ~2,000 fds
  # (1,024 is a common soft limit; the demo retries accepts past it, but
  # its clients' own sockets need the room)
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
    ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  fi
  say "$interp examples/echo_demo.lua (ulimit -n $(ulimit -n))"
  LUA_CPATH="$BUILD/lib/lua/$abi/?.so;;" "$interp" "$ROOT/examples/echo_demo.lua"
}

# asan builds the C side (binding, C tests) with ASan+UBSan into
# build-asan/ and runs the C and Lua tests there. The Go library is built
# as usual. Lua interpreters are not instrumented, so the ASan runtime is
# LD_PRELOADed; detect_leaks=0 because LeakSanitizer cannot see the Go
# heap's references to C memory and reports the Go runtime's allocations;
# allocator_may_return_null=1 because LuaSocket itself (a reference in the
# UDP tests) asks malloc for SIZE_MAX bytes and handles the NULL.
asan() {
  local rt flags=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  find_go
  rt=$(gcc -print-file-name=libasan.so)
  [ -f "$rt" ] || die "the ASan runtime (libasan.so) was not found: install gcc's libasan"
  say "configure build-asan/ (${flags[*]})"
  cmake -S "$ROOT" -B "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="${flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${flags[*]}" \
    -DCMAKE_MODULE_LINKER_FLAGS="${flags[*]}" >/dev/null
  cmake --build "$ROOT/build-asan" -j "$(nproc 2>/dev/null || echo 2)"
  say "ctest c_* lua_* (LD_PRELOAD=$rt, ASAN_OPTIONS=detect_leaks=0)"
  (cd "$ROOT/build-asan" && LD_PRELOAD=$rt \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:allow_user_segv_handler=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j2 -R '^(c|lua)_' -E '^lua_differential_')
}

# valgrind_tests builds, then runs Lua tests (lua5.4) under memcheck and
# fails on definite leaks and memory errors; Go runtime noise is
# suppressed by tests/valgrind.supp. Slow tests are left out
# (ASOK_VALGRIND_TESTS overrides the list).
valgrind_tests() {
  local t failed=0 tests
  command -v valgrind >/dev/null 2>&1 || die "valgrind not found (apt-get install valgrind)"
  build
  tests=${ASOK_VALGRIND_TESTS:-"args patterns wrap close_wakes lifetime hostile xpcall udp socks resolve main_thread spawn_errors exit_open atomic native_client tokens pickup"}
  for t in $tests; do
    say "valgrind lua5.4 tests/lua/test_$t.lua"
    (cd "$ROOT/tests/lua" && LUA_CPATH="$BUILD/lib/lua/5.4/?.so;;" \
      valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
      --errors-for-leak-kinds=definite --suppressions="$ROOT/tests/valgrind.supp" \
      lua5.4 "test_$t.lua") || failed=1
  done
  [ "$failed" -eq 0 ] || die "valgrind found errors"
}

# soak builds, then runs the soak test (docs/soak.md) for SOAK_SECONDS
# (default 600) with SOAK_INTERP (default lua5.4) and a descriptor limit
# high enough for 1,000 connections (both ends: 2,000 sockets).
soak() {
  local interp=${SOAK_INTERP:-lua5.4} abi
  build
  command -v "$interp" >/dev/null 2>&1 || die "$interp not found (SOAK_INTERP chooses the interpreter)"
  abi=$("$interp" -e 'print(jit and "5.1" or (_VERSION:gsub("Lua ", "")))')
  [ -f "$BUILD/lib/lua/$abi/asok.so" ] || die "no asok module for Lua $abi in $BUILD/lib/lua"
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
    ulimit -n 8192 2>/dev/null || die "ulimit -n 8192 failed (hard limit $(ulimit -Hn)): the soak needs ~2,100 descriptors"
  fi
  say "$interp tests/soak/soak.lua ${SOAK_SECONDS:-600} s (ulimit -n $(ulimit -n))"
  LUA_CPATH="$BUILD/lib/lua/$abi/?.so;;" "$interp" "$ROOT/tests/soak/soak.lua" "${SOAK_SECONDS:-600}"
}

case ${1:-build} in
  build) build ;;
  test) run_tests ;;
  demo) demo ;;
  bench) install_deps; install_bench_deps; build; "$ROOT/bench/run.sh" ;;
  asan) asan ;;
  valgrind) valgrind_tests ;;
  soak) soak ;;
  clean) say "rm -rf build/ build-asan/"; rm -rf "$BUILD" "$ROOT/build-asan" ;;
  -h | --help | help) usage 0 ;;
  *) echo "build.sh: unknown command: $1" >&2; usage ;;
esac
