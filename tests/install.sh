#!/bin/sh
# install.sh CMAKE BUILD CC INTERP:ABI... - `cmake --install` gives a prefix
# the build directory's layout, and what is installed works from there
# alone: each interpreter loads its ABI's asok.so with only the prefix on
# LUA_CPATH (the module finding the prefix's libasok.so by its rpath), and
# a C program builds against the prefix's asok.h and libasok.so. DESTDIR
# stages the same files under its root.
set -eu
cmake=$1 build=$2 cc=$3
shift 3
tmp=$(mktemp -d /tmp/asok-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install: $*"; exit 1; }

# prefix P: the files the layout promises
p="$tmp/pre fix" # a space: nothing in the installed files may depend on the path
"$cmake" --install "$build" --prefix "$p" >/dev/null
for f in lib/libasok.so include/asok.h; do
  [ -f "$p/$f" ] || fail "missing $f in the prefix"
done
for pair in "$@"; do
  abi=${pair#*:}
  [ -f "$p/lib/lua/$abi/asok.so" ] || fail "missing lib/lua/$abi/asok.so in the prefix"
done
cmp -s "$p/lib/libasok.so" "$build/lib/libasok.so" || fail "installed libasok.so differs from the built one"

# DESTDIR: the same files under the staging root
DESTDIR="$tmp/stage" "$cmake" --install "$build" --prefix /usr/local >/dev/null
for f in lib/libasok.so include/asok.h; do
  [ -f "$tmp/stage/usr/local/$f" ] || fail "DESTDIR: missing usr/local/$f"
done

# each interpreter: asok from the prefix, its libasok.so the prefix's
mkdir "$tmp/empty"
for pair in "$@"; do
  interp=${pair%%:*} abi=${pair#*:}
  out=$(LUA_CPATH="$p/lib/lua/$abi/?.so" LUA_PATH="$tmp/empty/?.lua;;" "$interp" -e '
    local asok = require "asok"
    local f = assert(io.open("/proc/self/maps"))
    local lib
    for line in f:lines() do lib = lib or line:match("(/%S.*/libasok%.so)$") end
    f:close()
    local done
    asok.spawn(function() asok.sleep(0.01); done = true end)
    while not done do asok.select(nil, nil, 1) end
    io.write(asok._VERSION, "|", tostring(lib))') || fail "$interp: require from the prefix failed"
  case $out in
    *"|$p/lib/libasok.so") ;;
    *) fail "$interp: loaded $out, not the prefix's libasok.so" ;;
  esac
done

# a C program against the prefix
cat > "$tmp/prog.c" <<'CEOF'
#include <stdio.h>
#include <asok.h>
int main(void) {
  asok_loop *loop = NULL;
  if (asok_version() != ASOK_VERSION_HEX) { printf("version %x != %x\n", asok_version(), ASOK_VERSION_HEX); return 1; }
  if (asok_loop_new(&loop) != ASOK_OK || loop == NULL) { printf("asok_loop_new failed\n"); return 1; }
  asok_loop_free(loop);
  printf("ok %s\n", asok_version_string());
  return 0;
}
CEOF
"$cc" -Wall -Wextra -o "$tmp/prog" "$tmp/prog.c" -I"$p/include" -L"$p/lib" -lasok "-Wl,-rpath,$p/lib" ||
  fail "a C program does not build against the prefix"
"$tmp/prog" || fail "a C program built against the prefix fails"
echo "install ok: $# Lua ABIs and C, prefix and DESTDIR"
