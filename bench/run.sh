#!/usr/bin/env bash
# run.sh — run every benchmark program of a build and print one table.
#
#   bench/run.sh [--instr] [--quick] [--prog SUBSTR] [BUILD]     (BUILD: build)
#
# Timing mode (make bench): installs the baselines' packages (.ci/deps.sh
# bench; reconfigures and rebuilds if that installed anything), builds the Go
# baselines into BUILD/bench/go, then runs BUILD/bench/bench_* and
# baseline_*, the Go program and the Python one (asyncio, uvloop). Each
# program prints BENCH rows (bench/bench.h); this script groups them by
# measure, coop first, with the ratio of each value to coop's.
# Instruction mode (make bench-instr, --instr): runs only the C/C++ programs,
# each once under callgrind with instrumentation off (--instr-atstart=no)
# and COOP_BENCH_INSTR=1; each program switches counting on around its
# measured loops (bench_instr_begin/end) and dumps the counters with the
# measure's name and operation count; the table shows instructions per op.
# --quick: COOP_BENCH_QUICK=1 (a tenth of the work); --prog: only programs
# whose name contains SUBSTR; COOP_BENCH_ONLY=s: only measures containing s.
# Targets from bench/targets.tsv are reported (met or not) under the table.
# Output is also kept in BUILD/bench/results-<mode>/ (table.txt, rows.tsv,
# and each program's stdout/stderr). Exit status 1 if a program failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mode=time
build=build
prog_filter=
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "$1"; }
while [ $# -gt 0 ]; do
  case $1 in
    --instr) mode=instr ;;
    --quick) COOP_BENCH_QUICK=1 ;;
    --prog) prog_filter=${2:?--prog needs a value}; shift ;;
    -h | --help) usage 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage 2 ;;
    *) build=$1 ;;
  esac
  shift
done
case ${COOP_BENCH_QUICK:-0} in "" | 0) quick= ;; *) quick=", quick"; export COOP_BENCH_QUICK=1 ;; esac
bin=$(cd "$build" 2>/dev/null && pwd)/bench
[ -d "$build/bench" ] || { echo "run.sh: $build/bench does not exist: build first (make bench)" >&2; exit 2; }
out=$bin/results-$mode
rm -rf "$out" && mkdir -p "$out"
rows=$out/rows.tsv
: >"$rows"
failed=()
started=$(date +%s)

# ---- baselines' packages ----------------------------------------------
deps_log=$("$root/.ci/deps.sh" bench 2>&1)
deps_rc=$?
[ -n "$deps_log" ] && printf '%s\n' "$deps_log" >&2
[ $deps_rc -ne 0 ] && echo "run.sh: some baseline packages could not be installed: their rows say skipped" >&2
if printf '%s' "$deps_log" | grep -q '^deps.sh: installing'; then
  # New libraries: configure again so find_library sees them, and rebuild.
  echo "run.sh: rebuilding with the new packages" >&2
  cmake -S "$root" -B "$build" >/dev/null && cmake --build "$build" -j 2 >/dev/null ||
    { echo "run.sh: rebuild failed" >&2; exit 1; }
fi

# ---- the machine --------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null; }
build_type=$(cache_value CMAKE_BUILD_TYPE)
build_info="$($(cache_value CMAKE_C_COMPILER) --version 2>/dev/null | head -n1), ${build_type:-RelWithDebInfo}"
header() {
  echo "coop benchmarks ($mode mode$quick), $(date -u '+%Y-%m-%d %H:%M UTC'), coop $commit"
  echo "machine: $(uname -srm); CPU: ${cpu:-unknown} x $(nproc); memory: ${mem:-unknown}"
  echo "load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (other work on the machine inflates times)"
  echo "build: $build_info; vm.max_map_count $(cat /proc/sys/vm/max_map_count 2>/dev/null)"
  if [ $mode = time ]; then
    echo "values are medians of repeated runs; every figure is a cost (lower is better);"
    echo "ratio = value / coop's value for the same measure: above 1 means coop is cheaper"
  else
    echo "values are instructions per operation counted by callgrind (user space only);"
    echo "ratio = value / coop's value for the same measure: above 1 means coop executes fewer"
  fi
}

# ---- running the programs ------------------------------------------------
# run_prog NAME CMD...: run one program, keep its rows, note a failure.
wanted() { case $1 in *"$prog_filter"*) return 0 ;; *) return 1 ;; esac; }
run_prog() {
  local name=$1; shift
  wanted "$name" || return 0
  local t0 rc
  t0=$(date +%s%N)
  timeout "${COOP_BENCH_TIMEOUT:-300}" "$@" >"$out/$name.out" 2>"$out/$name.err"
  rc=$?
  if [ $mode = instr ]; then # timings under valgrind mean nothing: keep only the skips
    grep -a "^BENCH	[^	]*	[^	]*	skipped	" "$out/$name.out" >>"$rows"
  else
    grep -a "^BENCH	" "$out/$name.out" >>"$rows"
  fi
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    printf '  %-32s FAILED (exit %d%s)\n' "$name" $rc "$([ $rc -eq 124 ] && echo ', timed out')" >&2
  else
    local note=
    if [ -z "${COOP_BENCH_ONLY:-}" ] && ! grep -aq "^\(BENCH\|INSTR\)	" "$out/$name.out"; then
      note="  (printed no rows)"
    fi
    printf '  %-32s %6.1f s%s\n' "$name" "$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { print ns / 1e9 }')" "$note" >&2
  fi
}

# The C and C++ programs the build made.
native_programs() {
  local p
  for p in "$bin"/bench_* "$bin"/baseline_*; do
    [ -f "$p" ] && [ -x "$p" ] && echo "$p"
  done
}

# Turn callgrind dumps named "coop-bench<TAB>measure<TAB>impl<TAB>ops" into
# rows of instructions per operation.
instr_rows() {
  awk -F'\t' '
    FNR == 1 { key = "" }
    /^desc: Trigger: Client Request: coop-bench\t/ { key = $2 "\t" $3; ops = $4 }
    /^totals: / && key != "" && ops > 0 {
      split($0, t, " "); printf "BENCH\t%s\t%.1f\tinstr/op\n", key, t[2] / ops; key = ""
    }' "$@"
}

echo "running the benchmark programs (output in $out):" >&2
if [ $mode = instr ]; then
  command -v valgrind >/dev/null || { echo "run.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
  mkdir -p "$out/callgrind"
  for p in $(native_programs); do
    name=$(basename "$p")
    COOP_BENCH_INSTR=1 run_prog "$name" valgrind -q --tool=callgrind --instr-atstart=no \
      --callgrind-out-file="$out/callgrind/$name.%p" "$p"
    set -- "$out/callgrind/$name".*
    [ -e "$1" ] && instr_rows "$@" >>"$rows"
  done
else
  for p in $(native_programs); do run_prog "$(basename "$p")" "$p"; done

  # Go: built now, standard library only, nothing fetched.
  go_dir=$bin/go
  if command -v go >/dev/null; then
    mkdir -p "$go_dir"
    for src in "$here"/baselines/go/*.go; do
      [ -f "$src" ] || continue
      name=go_$(basename "$src" .go)
      wanted "$name" || continue
      if GOCACHE="$go_dir/cache" GOPATH="$go_dir/path" GOPROXY=off GOFLAGS= GO111MODULE=off \
        go build -o "$go_dir/$name" "$src" 2>"$out/$name.build.err"; then
        GOMAXPROCS=1 run_prog "$name" "$go_dir/$name"
      else
        failed+=("$name (go build)")
        echo "  $name: go build failed, see $out/$name.build.err" >&2
      fi
    done
  else
    printf 'BENCH\t(Go baselines)\tgo\tskipped\tgolang-go not installed\n' >>"$rows"
  fi

  # Python: the system interpreter (where python3-uvloop installs).
  py=/usr/bin/python3
  [ -x $py ] || py=$(command -v python3 || true)
  if [ -n "$py" ]; then
    for loop in asyncio uvloop; do run_prog "py_$loop" "$py" "$here/baselines/py_asyncio.py" $loop; done
  else
    printf 'BENCH\t(Python baselines)\tasyncio\tskipped\tpython3 not installed\n' >>"$rows"
  fi
fi

# ---- the table --------------------------------------------------------------
# Measures in the order first seen; in each, coop's rows first.
table() {
  awk -F'\t' '
    function num(v) { return v ~ /^[0-9.eE+-]+$/ }
    {
      m = $2
      if (!(m in seen)) { seen[m] = 1; order[++nm] = m }
      i = ++count[m]; impl[m, i] = $3; val[m, i] = $4; unit[m, i] = $5
      if ($3 == "coop" && num($4) && !((m) in coopv)) { coopv[m] = $4; coopu[m] = $5 }
      if ($3 !~ /^coop/) others[m] = 1
    }
    END {
      w1 = length("measure"); w2 = length("impl"); w3 = length("value"); w4 = length("unit")
      for (k = 1; k <= nm; k++) for (i = 1; i <= count[order[k]]; i++) {
        m = order[k]
        if (length(m) > w1) w1 = length(m)
        if (length(impl[m, i]) > w2) w2 = length(impl[m, i])
        if (length(val[m, i]) > w3) w3 = length(val[m, i])
        if (val[m, i] != "skipped" && length(unit[m, i]) > w4) w4 = length(unit[m, i])
      }
      fmt = "%-" w1 "s  %-" w2 "s  %" w3 "s  %-" w4 "s  %s\n"
      printf fmt, "measure", "impl", "value", "unit", "ratio"
      for (k = 1; k <= nm; k++) {
        m = order[k]
        for (pass = 0; pass < 2; pass++) for (i = 1; i <= count[m]; i++) {
          if ((impl[m, i] ~ /^coop/) != (pass == 0)) continue
          r = ""
          if ((m in coopv) && others[m] && num(val[m, i]) && unit[m, i] == coopu[m] && coopv[m] > 0) {
            x = val[m, i] / coopv[m]
            r = sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : x >= 0.1 ? "%.2f" : "%.3f", x)
          }
          printf fmt, (shown[m]++ ? "" : m), impl[m, i], val[m, i], unit[m, i], r
        }
      }
    }' "$rows"
}

# Targets: "mode<TAB>measure<TAB>impl<TAB>relation<TAB>bound<TAB>what", bound
# a number or another impl of the same measure. Reported, never enforced.
targets() {
  local file=$here/targets.tsv
  [ -f "$file" ] || return 0
  awk -F'\t' -v mode="$mode" '
    function num(x) { return x ~ /^[0-9.]+$/ }
    FNR == NR { v[$2, $3] = $4; u[$2, $3] = $5; next }
    /^#/ || NF < 6 || $1 != mode { next }
    {
      bound = $5; against = ""
      if (!num(bound)) { against = " " bound; bound = (($2, $5) in v) ? v[$2, $5] : "" }
      if (!num(v[$2, $3]) || !num(bound)) { printf "  %-8s %s (no figure)\n", "unknown", $6; next }
      x = v[$2, $3] + 0; b = bound + 0
      ok = ($4 == "<=") ? x <= b : ($4 == "<") ? x < b : ($4 == ">=") ? x >= b : x > b
      printf "  %-8s %s: %s %s %s %s%s\n", ok ? "met" : "NOT met", $6, $3, v[$2, $3], $4, bound, against
    }' "$rows" "$file"
}

{
  header
  echo
  table
  if [ $mode = instr ]; then
    echo
    echo "(Go and Python are not counted: their runtimes are measured in time mode only)"
  fi
  t=$(targets)
  if [ -n "$t" ]; then
    echo
    echo "targets (reported, not enforced):"
    printf '%s\n' "$t"
  fi
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "FAILED programs: ${failed[*]} (stderr in $out/<name>.err)"
  fi
  echo
  echo "done in $(($(date +%s) - started)) s"
} | tee "$out/table.txt"
[ ${#failed[@]} -eq 0 ]
