#!/usr/bin/env bash
# Installs the build into a temporary prefix, checks the layout, then builds
# the embedding example (examples/) against that prefix three ways and runs
# each on a tiny model made by the installed `erg mkmodel`:
#   find_package(erg) -> erg::erg (shared), erg::erg_static, and pkg-config.
# The three must print the same devices and the same next token.
# usage: test_install.sh BUILD_DIR SOURCE_DIR CMAKE C_COMPILER
set -euo pipefail
build=$1 src=$2 cmake=$3 cc=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

fail() { echo "test_install: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name liberg.so.0 -printf '%h\n')
[ -n "$libdir" ] || fail "no liberg.so.0 installed under $prefix"
for f in "$prefix/include/erg/erg.h" "$prefix/include/erg/erg_plugin.h" \
         "$libdir/liberg.a" "$libdir/liberg.so" "$libdir/pkgconfig/erg.pc" \
         "$libdir/cmake/erg/ergConfig.cmake" "$libdir/cmake/erg/ergConfigVersion.cmake" \
         "$prefix/bin/erg" "$prefix/lib/erg/plugins/liberg-plugin-npu-sim.so" \
         "$prefix/share/doc/erg/integration.md"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
# The shared library's name, soname and version: liberg.so -> .so.0 -> .so.0.1.0
[ "$(readlink "$libdir/liberg.so")" = liberg.so.0 ] || fail "liberg.so does not point to liberg.so.0"
[[ "$(readlink "$libdir/liberg.so.0")" =~ ^liberg\.so\.0\.[0-9]+\.[0-9]+$ ]] ||
  fail "liberg.so.0 points to $(readlink "$libdir/liberg.so.0")"
readelf -d "$libdir/liberg.so.0" | grep -q 'SONAME.*\[liberg\.so\.0\]' || fail "soname is not liberg.so.0"

model=$work/tiny.gguf
"$prefix/bin/erg" mkmodel --preset tiny --type q4_0 --out "$model" >/dev/null

# The installed plugins, found through ERG_PLUGIN_PATH: an application does
# not sit beside them as the erg CLI does.
export ERG_PLUGIN_PATH=$prefix/lib/erg/plugins

run_example() { # NAME BINARY
  local out=$work/$1.out
  "$2" "$model" 1 2 3 >"$out" || fail "$1: erg-embed failed"
  grep -q '^device 0: cpu' "$out" || fail "$1: no cpu device listed"
  grep -q '^device .*npu-sim' "$out" || fail "$1: the installed npu-sim plugin was not found"
  grep -q '^chosen device: ' "$out" || fail "$1: no chosen device"
  grep -q '^evaluated 3 tokens, next token ' "$out" || fail "$1: no evaluation"
  echo "== $1"; cat "$out"
}

for variant in shared static; do
  static=OFF; [ $variant = static ] && static=ON
  "$cmake" -S "$src/examples" -B "$work/cmake-$variant" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DERG_EXAMPLE_STATIC=$static >/dev/null ||
    fail "find_package($variant): configure failed"
  "$cmake" --build "$work/cmake-$variant" >/dev/null || fail "find_package($variant): build failed"
  run_example "find_package-$variant" "$work/cmake-$variant/erg-embed"
done
readelf -d "$work/cmake-shared/erg-embed" | grep -q 'NEEDED.*liberg\.so\.0' ||
  fail "the find_package(erg::erg) example does not load liberg.so.0"
readelf -d "$work/cmake-static/erg-embed" | grep -q 'NEEDED.*liberg' &&
  fail "the erg::erg_static example loads liberg.so"

export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --static --libs erg | grep -q -- '-lcjson' || fail "erg.pc: --static does not name libcjson"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "$src/examples/embed.c" -o "$work/pc-embed" \
  $(pkg-config --cflags --libs erg) -Wl,-rpath,"$(pkg-config --variable=libdir erg)" ||
  fail "pkg-config: build failed"
run_example pkg-config "$work/pc-embed"

# Same library, same model, same tokens: the same answer every way.
for v in find_package-static pkg-config; do
  diff <(grep -v '^placement' "$work/find_package-shared.out") \
       <(grep -v '^placement' "$work/$v.out") >/dev/null ||
    fail "$v printed something else than find_package-shared"
done
echo "install, find_package (shared, static) and pkg-config: OK"
