#!/usr/bin/env bash
# End-to-end benchmark: courier against Boost.Beast, libcurl and raw TCP on the same local
# servers, in one run. Builds bench/ in Release, starts its own servers on 127.0.0.1 (the
# epoll WebSocket + raw TCP echo server in bench/e2e, and nginx), runs every client on every
# workload BENCH_REPS times (each run its own process, pinned to another CPU than the
# servers), and writes the Markdown report to stdout and to bench/results/:
#
#   <date>-<machine>.md (and .raw.txt)   a full run; it replaces the earlier full runs of the
#                                        same machine, so bench/results/ holds the latest run
#                                        of each machine (git history keeps the others)
#   <date>-<machine>-quick.md            BENCH_QUICK=1 } not committed (.gitignore); they
#   <date>-<machine>-partial.md          BENCH_ONLY    } never replace a full run
#
# <machine> is bench/machine_name.sh's name for this machine: CPU model and count, such as
# amd-epyc-2cpu.
#
#   BENCH_QUICK=1     a tenth of the full sizes (a smoke run)
#   BENCH_REPS=N      runs per client and workload (default 3; medians with min-max)
#   BENCH_ONLY=REGEX  only the workloads whose name matches (ws_latency ws_pipeline ws_binary
#                     ws_text http_seq http_conc http_download ws_idle)
#   BENCH_BUILD=DIR   build directory (default build-bench)
#   BENCH_PORT_BASE=N first of the three ports used (default 28700)
#   BENCH_NOTE=TEXT   a line added to the report (for example what else ran on the machine)
#   BENCH_CMD=COMMAND run COMMAND once the servers are up, instead of the workloads (their
#                     ports in BENCH_WS_PORT, BENCH_TCP_PORT, BENCH_HTTP_PORT), for example
#                     bench/paired.py
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BENCH_BUILD:-build-bench}
reps=${BENCH_REPS:-3}
quick=${BENCH_QUICK:-0}
only=${BENCH_ONLY:-.}
base=${BENCH_PORT_BASE:-28700}
ws_port=$base tcp_port=$((base + 1)) http_port=$((base + 2))
time_limit=${BENCH_TIME_LIMIT:-120}  # seconds per client run; the client stops itself past it

cmake -S bench -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target bench_client bench_echo_server
client="$build/e2e/bench_client"

# Server on CPU 0, clients on CPU 1 (when there are two CPUs or more).
if [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0) pin_client=(taskset -c 1)
else
  pin_server=() pin_client=()
fi
# The 10k idle WebSockets need 10k descriptors in the client and in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true

state=$(mktemp -d /tmp/courier-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -f "$state/nginx.pid" ] && kill "$(cat "$state/nginx.pid")" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

# --- servers -------------------------------------------------------------------------------------
mkdir -p "$state/docroot" "$state/logs" "$state/temp"
head -c 100 /dev/urandom | base64 -w0 | head -c 100 >"$state/docroot/100b"
head -c $((32 << 20)) /dev/urandom >"$state/docroot/32m"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root root;"
cat >"$state/nginx.conf" <<NGINX
$user_line
worker_processes 1;
worker_rlimit_nofile 65536;
daemon on;
pid $state/nginx.pid;
error_log $state/logs/error.log warn;
events { worker_connections 4096; }
http {
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path $state/temp/body;
  proxy_temp_path $state/temp/proxy;
  fastcgi_temp_path $state/temp/fastcgi;
  uwsgi_temp_path $state/temp/uwsgi;
  scgi_temp_path $state/temp/scgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  open_file_cache max=16;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$http_port;
    root $state/docroot;
  }
}
NGINX
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"${pin_server[@]}" "$nginx" -p "$state" -c "$state/nginx.conf" -e "$state/logs/error.log"
"${pin_server[@]}" "$build/e2e/bench_echo_server" "$ws_port" "$tcp_port" >"$state/logs/echo.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  grep -q ready "$state/logs/echo.log" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$http_port/100b" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$http_port/100b" || { echo "nginx did not start" >&2; exit 1; }

if [ -n "${BENCH_CMD:-}" ]; then
  BENCH_WS_PORT=$ws_port BENCH_TCP_PORT=$tcp_port BENCH_HTTP_PORT=$http_port bash -c "$BENCH_CMD"
  exit
fi

# --- workloads -----------------------------------------------------------------------------------
scale() { if [ "$quick" = 1 ]; then echo $(( ($1 + 9) / 10 )); else echo "$1"; fi; }
# name | clients | arguments
workloads=(
  "ws_latency|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 20000) size=32"
  "ws_pipeline|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 200000) size=128 in_flight=64"
  "ws_binary|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 300) size=$((1 << 20))"
  "ws_text|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 10) size=$((16 << 20))"
  "http_seq|courier_sync courier_async beast_sync beast_async curl_easy raw_tcp|count=$(scale 20000) size=100 path=/100b"
  "http_conc|courier_sync courier_async beast_async curl_multi|count=$(scale 100000) connections=16 path=/100b"
  "http_download|courier_sync courier_async curl_easy raw_tcp|count=$(scale 20) size=$((32 << 20)) path=/32m"
  "ws_idle|courier_sync|count=$(scale 10000)"
)

raw="$state/raw.txt"
: >"$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for entry in "${workloads[@]}"; do
  IFS='|' read -r name clients args <<<"$entry"
  [[ "$name" =~ $only ]] || continue
  r_reps=$reps
  [ "$name" = ws_idle ] && r_reps=1  # one run: it holds 10k sockets for a while
  for rep in $(seq "$r_reps"); do
    for c in $clients; do  # interleaved, so background load hits every client alike
      # shellcheck disable=SC2086
      line=$("${pin_client[@]}" timeout $((time_limit + 30)) "$client" "$c" "$name" $args \
               ws_port=$ws_port tcp_port=$tcp_port http_port=$http_port time_limit=$time_limit \
             2>"$state/logs/client.err" | tail -1) || line="FAIL client=$c workload=$name error=\"exit $?\""
      [ -n "$line" ] || line="FAIL client=$c workload=$name error=\"no output\""
      echo "$line" | tee -a "$raw" >&2
    done
  done
done
# System calls per request of the async HTTP clients (bench/syscalls.py): exact counts.
for entry in "http_seq|path=/100b" "http_conc|connections=16 path=/100b"; do
  IFS='|' read -r name args <<<"$entry"
  [[ "$name" =~ $only ]] || continue
  BENCH_WS_PORT=$ws_port BENCH_TCP_PORT=$tcp_port BENCH_HTTP_PORT=$http_port \
    python3 bench/syscalls.py "$client" "$(scale 20000)" "$name $args" courier_async beast_async \
    2>"$state/logs/syscalls.err" | tee -a "$raw" >&2 ||
    echo "FAIL client=courier_async workload=$name error=\"syscall count: $(tail -1 "$state/logs/syscalls.err")\"" | tee -a "$raw" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p bench/results
machine=$(bash bench/machine_name.sh)
stem="bench/results/$(date -u +%Y-%m-%d)-$machine"
if [ "$quick" = 1 ]; then
  out="$stem-quick.md"
elif [ "$only" != . ]; then
  out="$stem-partial.md"
else
  out="$stem.md"
  # The latest full run of each machine is kept; earlier ones live in git history.
  for old in bench/results/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-"$machine".md; do
    if [ -e "$old" ] && [ "$old" != "$out" ]; then rm -f "$old" "${old%.md}.raw.txt"; fi
  done
fi
python3 bench/report.py "$raw" --reps "$reps" --quick "$quick" \
  --machine "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)" \
  --load "load average before $load_before, after $load_after" --note "${BENCH_NOTE:-}" >"$out"
cp "$raw" "${out%.md}.raw.txt"
cat "$out"
echo "written: $out (raw lines: ${out%.md}.raw.txt)" >&2
