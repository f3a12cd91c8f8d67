#!/usr/bin/env bash
# Install coop into a temporary prefix and build the README's example against
# it twice: through pkg-config and through the CMake package.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$root/examples/nursery_deadline.c" $(pkg-config --cflags --libs coop) -o "$tmp/demo-pc"
mkdir "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(demo C)
find_package(coop REQUIRED)
add_executable(demo $root/examples/nursery_deadline.c)
target_link_libraries(demo coop::coop)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/b" >/dev/null
for exe in "$tmp/demo-pc" "$tmp/cm/b/demo"; do
  out=$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$exe")
  grep -q "nursery: ETIMEDOUT" <<<"$out" || { echo "install check: unexpected output from $exe: $out"; exit 1; }
done
echo "install check: pkg-config and CMake package both work"
