#!/usr/bin/env bash
# bench/net.sh — `make bench-net`: the network servers against baselines,
# with real load generators, the server pinned to CPU 0 and the client to
# CPU 1 (taskset), all on 127.0.0.1.
#
#   HTTP: wrk -t1 -c100 -d5s --latency against examples/http_server and
#         bench/net/: epoll_http (hand-written epoll), uv_http (libuv),
#         nginx (one worker, static reply), asyncio and uvloop servers.
#   RESP: redis-benchmark -n 100000 per test (PING_INLINE, PING_MBULK, SET,
#         GET), without and with -P 16, against examples/resp_server and
#         redis-server.
#
# For each: requests/s, p50/p99 latency, and the SERVER's CPU time per
# request: utime+stime of the server process from /proc/PID/stat, before
# and after the run, divided by the requests of the run (clock ticks are
# 10 ms, so runs are long enough for that to be well under 1% of the
# total). A missing baseline is reported as skipped, never faked.
#
# Usage: bench/net.sh [BUILD]     env: NET_BENCH_SECONDS (wrk duration, 5),
#        NET_BENCH_REQUESTS (redis-benchmark -n, 100000), NET_BENCH_ONLY
#        (a regular expression: run only the servers whose name matches)
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$build/bench-net
mkdir -p "$out"
secs=${NET_BENCH_SECONDS:-5}
nreq=${NET_BENCH_REQUESTS:-100000}
if [ "$(nproc)" -ge 2 ]; then server_cpu=0; client_cpu=1; else server_cpu=0; client_cpu=0; fi
tck=$(getconf CLK_TCK)
rows=$out/rows.tsv
: > "$rows"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

skip() { printf 'BENCH\t%s\t%s\tskipped\t%s\n' "$1" "$2" "$3" | tee -a "$rows"; }
need() { command -v "$1" >/dev/null 2>&1; }

# ---- baselines --------------------------------------------------------------
cc=${CC:-cc}
$cc -O2 -D_GNU_SOURCE -o "$out/epoll_http" "$here/net/epoll_http.c" 2>"$out/cc.log" || rm -f "$out/epoll_http"
$cc -O2 -D_GNU_SOURCE -o "$out/uv_http" "$here/net/uv_http.c" -luv 2>>"$out/cc.log" || rm -f "$out/uv_http"
py=/usr/bin/python3
[ -x $py ] || py=$(command -v python3)

free_port() { $py -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# Start a server pinned to the server CPU. Either it prints its port on
# stdout (port arg "-") or it listens on the given port. Sets spid, sport.
start_server() {
    local name=$1 port=$2; shift 2
    taskset -c $server_cpu "$@" > "$out/$name.out" 2> "$out/$name.err" &
    spid=$!
    pids+=("$spid")
    for _ in $(seq 100); do
        if [ "$port" = - ]; then sport=$(head -n1 "$out/$name.out" 2>/dev/null)
        else sport=$port; fi
        if [ -n "$sport" ] && (exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null; then return 0; fi
        kill -0 "$spid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }

# utime+stime of a process in clock ticks (the fields after the ")" of comm).
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# wrk latency "1.23ms" / "512.00us" / "1.02s" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print v }'; }

only=${NET_BENCH_ONLY:-.}
selected() { echo "$1" | grep -Eq -- "$only"; }

http_bench() {
    local name=$1; shift
    selected "$name" || return 0
    if ! start_server "$name" "$@"; then skip "http wrk -c100" "$name" "server did not start"; stop_server; return; fi
    local url=http://127.0.0.1:$sport/
    taskset -c $client_cpu wrk -t1 -c100 -d1s "$url" > /dev/null 2>&1 # warm-up
    local t0; t0=$(ticks "$spid")
    taskset -c $client_cpu wrk -t1 -c100 -d"${secs}s" --latency "$url" > "$out/$name.wrk" 2>&1
    local t1; t1=$(ticks "$spid")
    stop_server
    local reqs rps p50 p99
    reqs=$(awk '/requests in/ {print $1}' "$out/$name.wrk")
    rps=$(awk '/Requests\/sec/ {print $2}' "$out/$name.wrk")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out/$name.wrk")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out/$name.wrk")")
    if [ -z "$reqs" ] || [ "$reqs" = 0 ]; then skip "http wrk -c100" "$name" "wrk failed"; return; fi
    local cpu; cpu=$(awk -v d=$((t1 - t0)) -v t="$tck" -v n="$reqs" 'BEGIN{printf "%.2f", d / t * 1e6 / n}')
    printf 'BENCH\thttp wrk -c100 req/s\t%s\t%s\treq/s\n' "$name" "$rps" | tee -a "$rows"
    printf 'BENCH\thttp wrk -c100 p50\t%s\t%s\tms\n' "$name" "$p50" | tee -a "$rows"
    printf 'BENCH\thttp wrk -c100 p99\t%s\t%s\tms\n' "$name" "$p99" | tee -a "$rows"
    printf 'BENCH\thttp wrk -c100 server CPU\t%s\t%s\tus/req\n' "$name" "$cpu" | tee -a "$rows"
}

resp_bench() {
    local name=$1 pipeline=$2; shift 2
    selected "$name" || return 0
    if ! start_server "$name" "$@"; then skip "resp" "$name" "server did not start"; stop_server; return; fi
    for t in ping_inline ping_mbulk set get; do
        local t0 t1 line
        t0=$(ticks "$spid")
        line=$(taskset -c $client_cpu redis-benchmark -h 127.0.0.1 -p "$sport" -t $t -n "$nreq" \
            -P "$pipeline" --csv 2>/dev/null | grep -v '^"test"' | head -n1)
        t1=$(ticks "$spid")
        # "TEST","rps","avg","min","p50","p95","p99","max"
        local rps p50 p99 cpu T
        T=$(echo "$line" | cut -d, -f1 | tr -d '"')
        rps=$(echo "$line" | cut -d, -f2 | tr -d '"')
        p50=$(echo "$line" | cut -d, -f5 | tr -d '"')
        p99=$(echo "$line" | cut -d, -f7 | tr -d '"')
        if [ -z "$rps" ]; then skip "resp $t -P$pipeline" "$name" "redis-benchmark failed"; continue; fi
        cpu=$(awk -v d=$((t1 - t0)) -v t="$tck" -v n="$nreq" 'BEGIN{printf "%.2f", d / t * 1e6 / n}')
        printf 'BENCH\tresp %s -P%s req/s\t%s\t%s\treq/s\n' "$T" "$pipeline" "$name" "$rps" | tee -a "$rows"
        printf 'BENCH\tresp %s -P%s p50\t%s\t%s\tms\n' "$T" "$pipeline" "$name" "$p50" | tee -a "$rows"
        printf 'BENCH\tresp %s -P%s p99\t%s\t%s\tms\n' "$T" "$pipeline" "$name" "$p99" | tee -a "$rows"
        printf 'BENCH\tresp %s -P%s server CPU\t%s\t%s\tus/req\n' "$T" "$pipeline" "$name" "$cpu" | tee -a "$rows"
    done
    stop_server
}

echo "# bench-net: server on CPU $server_cpu, client on CPU $client_cpu, $(nproc) CPUs, $(date -u +%F)"

# ---- HTTP ---------------------------------------------------------------
if need wrk && need taskset; then
    http_bench coop - "$build/examples/http_server" 0
    if [ -x "$out/epoll_http" ]; then http_bench epoll - "$out/epoll_http" 0
    else skip "http wrk -c100" epoll "cc failed (see $out/cc.log)"; fi
    if [ -x "$out/uv_http" ]; then http_bench libuv - "$out/uv_http" 0
    else skip "http wrk -c100" libuv "libuv1-dev missing"; fi
    if need nginx || [ -x /usr/sbin/nginx ]; then
        nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
        prefix=$(mktemp -d)
        port=$(free_port)
        sed "s|PREFIX|$prefix|g; s|PORT|$port|g" "$here/net/nginx.conf" > "$prefix/nginx.conf"
        http_bench nginx "$port" "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
        rm -rf "$prefix"
    else skip "http wrk -c100" nginx "nginx not installed"; fi
    http_bench asyncio - $py "$here/net/asyncio_http.py" 0
    if $py -c 'import uvloop' 2>/dev/null; then http_bench uvloop - $py "$here/net/asyncio_http.py" 0 --uvloop
    else skip "http wrk -c100" uvloop "python3-uvloop missing"; fi
else
    skip "http wrk -c100" all "wrk or taskset missing"
fi

# ---- RESP ---------------------------------------------------------------
if need redis-benchmark; then
    for P in 1 16; do
        resp_bench coop $P - "$build/examples/resp_server" 0
        if need redis-server; then
            port=$(free_port)
            resp_bench redis-server $P "$port" redis-server --port "$port" --bind 127.0.0.1 \
                --save '' --appendonly no --daemonize no --logfile /dev/null
        else skip "resp" redis-server "redis-server not installed"; fi
    done
else
    skip "resp" all "redis-benchmark missing"
fi

# ---- summary table ---------------------------------------------------------
echo
echo "| measure | impl | req/s | p50 ms | p99 ms | server CPU us/req |"
echo "|---|---|---:|---:|---:|---:|"
awk -F'\t' '$4 != "skipped" {
    m = $2; sub(/ (req\/s|p50|p99|server CPU)$/, "", m); k = m "\t" $3
    if (!(k in seen)) { seen[k] = 1; order[n++] = k }
    if ($2 ~ /req\/s$/) rps[k] = $4; else if ($2 ~ /p50$/) p50[k] = $4;
    else if ($2 ~ /p99$/) p99[k] = $4; else cpu[k] = $4 }
    END { for (i = 0; i < n; i++) { k = order[i]; split(k, a, "\t")
          printf "| %s | %s | %s | %s | %s | %s |\n", a[1], a[2], rps[k], p50[k], p99[k], cpu[k] } }' "$rows"
