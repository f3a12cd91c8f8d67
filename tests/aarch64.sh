#!/usr/bin/env bash
# Cross-build coop and its test suite for aarch64 (build-aarch64) and run
# the suite under qemu-user: each test program runs as
# `qemu-aarch64 build-aarch64/tests/test_x` (tests/run.sh, COOP_TEST_WRAP)
# with QEMU_LD_PREFIX pointing at the cross libc. Forked children stay
# under qemu, so the harness's one-process-per-test works unchanged.
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user
# (.ci/packages/ci-core.txt). Usage: tests/aarch64.sh [build-dir]
# Extra CMake flags for the first configure: COOP_AARCH64_CMAKE_FLAGS.
#
# Known limits of qemu-user (not of coop): a test program that execs an
# aarch64 program (the example servers) needs binfmt_misc registered for
# aarch64 (qemu-user-binfmt), else the exec fails; qemu emulates vfork as
# fork, so spawn-failure reporting differs; and timing-sensitive tests may
# miss their bounds under emulation.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-aarch64}
cc=${COOP_AARCH64_CC:-aarch64-linux-gnu-gcc}
sysroot=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
for tool in "$cc" qemu-aarch64 cmake; do
  command -v "$tool" >/dev/null || { echo "aarch64.sh: $tool not found (see .ci/packages/ci-core.txt)" >&2; exit 1; }
done
[ -d "$sysroot" ] || { echo "aarch64.sh: no aarch64 libc in $sysroot (libc6-dev-arm64-cross)" >&2; exit 1; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
    -DCOOP_BUILD_BENCH=OFF -DCOOP_BUILD_EXAMPLES=OFF ${COOP_AARCH64_CMAKE_FLAGS:-}
fi
cmake --build "$build" -j "${JOBS:-2}"

# Emulation is slower: scale the per-test timeouts (tests/harness.c).
export QEMU_LD_PREFIX="$sysroot"
export COOP_TEST_WRAP=qemu-aarch64
export COOP_TEST_TIMEOUT_SCALE=${COOP_TEST_TIMEOUT_SCALE:-5}
exec "$root/tests/run.sh" "$build"
