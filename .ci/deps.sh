#!/usr/bin/env bash
# Install the Debian packages a set of tasks needs, if any is missing.
#   .ci/deps.sh test    what `make test` needs (real clients and servers)
#   .ci/deps.sh bench   baselines for `make bench` (boost.context, libuv, Go, ...)
#   .ci/deps.sh ci      what .ci/run adds (sanitizer runtimes, valgrind, aarch64)
# Each set is the union of .ci/packages/<set>-*.txt (one file per area, one
# package per line). Runs apt-get as root or through sudo; without either it
# says what is missing and returns 0, so a build without network still works.
set -u
set_name=${1:?usage: deps.sh test|bench|ci}
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(cat "$here"/packages/"$set_name"-*.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \n' '\n' | sort -u)
[ -n "$pkgs" ] || exit 0
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "deps.sh: missing packages (${missing[*]}) and no root: install them to run everything" >&2; exit 0
fi
echo "deps.sh: installing ${missing[*]}"
$sudo apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  { echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2; exit 1; }
