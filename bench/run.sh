#!/usr/bin/env bash
# End-to-end benchmark: courier against Boost.Beast, libcurl, h2load and raw TCP on the same
# local servers, in one run. Builds bench/ in Release, starts its own servers on 127.0.0.1 (the
# epoll WebSocket + raw TCP echo server in bench/e2e, nginx over HTTP/1.1 and over TLS with
# HTTP/2, and nghttpd over h2c), runs every client on every workload BENCH_REPS times (each
# run its own process, pinned to another CPU than the servers), and writes the Markdown report
# to stdout and to bench/results/:
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
#                     ws_text http_seq http_conc http_download ws_idle h2_multi h2_download
#                     h2_streams_rss)
#   BENCH_BUILD=DIR   build directory (default build-bench)
#   BENCH_PORT_BASE=N first of the six ports used (default 28700)
#   BENCH_NOTE=TEXT   a line added to the report (for example what else ran on the machine)
#   BENCH_CMD=COMMAND run COMMAND once the servers are up, instead of the workloads (their
#                     ports in BENCH_WS_PORT, BENCH_TCP_PORT, BENCH_HTTP_PORT, BENCH_H2_PORT
#                     (TLS, its certificate in BENCH_CA_FILE), BENCH_H2C_PORT (nghttpd),
#                     BENCH_H2C_NGINX_PORT (nginx over h2c)), for example
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
h2_port=$((base + 3)) h2c_port=$((base + 4))  # nginx over TLS (ALPN h2), nghttpd over h2c
h2c_nginx_port=$((base + 5))                   # nginx over h2c, for the download
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
server_pid="" nghttpd_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$nghttpd_pid" ] && kill "$nghttpd_pid" 2>/dev/null || true
  [ -f "$state/nginx.pid" ] && kill "$(cat "$state/nginx.pid")" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

# --- servers -------------------------------------------------------------------------------------
mkdir -p "$state/docroot" "$state/logs" "$state/temp"
head -c 100 /dev/urandom | base64 -w0 | head -c 100 >"$state/docroot/100b"
head -c $((32 << 20)) /dev/urandom >"$state/docroot/32m"
# A self-signed certificate for the TLS server; the clients trust it as their only CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$state/server.key" \
  -out "$state/server.pem" >"$state/logs/openssl.log" 2>&1
# nginx answers /100b from memory: as a file it costs nginx five system calls a request (two
# TCP_CORK setsockopt, writev, sendfile, recv) and the server, not the client, sets the pace of
# the concurrent workloads. The body is the file's, so every client reads the same bytes.
small_body=$(cat "$state/docroot/100b")
small_location="location = /100b { return 200 \"$small_body\"; }"
# HTTP/2 bodies go out in DATA frames of up to 256 KiB (courier allows that size, curl and
# h2load 16 KiB): in its default 8 KiB frames nginx, not the client, is a download's limit.
h2_chunk="http2_chunk_size 256k;"
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
    $small_location
  }
  server {
    listen 127.0.0.1:$h2_port ssl http2;
    ssl_certificate $state/server.pem;
    ssl_certificate_key $state/server.key;
    http2_max_concurrent_streams 1000;
    $h2_chunk
    root $state/docroot;
    $small_location
  }
  server {
    listen 127.0.0.1:$h2c_nginx_port http2;
    $h2_chunk
    root $state/docroot;
    $small_location
  }
}
NGINX
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"${pin_server[@]}" "$nginx" -p "$state" -c "$state/nginx.conf" -e "$state/logs/error.log"
"${pin_server[@]}" "$build/e2e/bench_echo_server" "$ws_port" "$tcp_port" >"$state/logs/echo.log" 2>&1 &
server_pid=$!
"${pin_server[@]}" nghttpd --no-tls --address=127.0.0.1 --htdocs="$state/docroot" \
  --max-concurrent-streams=1000 "$h2c_port" >"$state/logs/nghttpd.log" 2>&1 &
nghttpd_pid=$!
for _ in $(seq 50); do
  grep -q ready "$state/logs/echo.log" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$http_port/100b" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$http_port/100b" || { echo "nginx did not start" >&2; exit 1; }
for _ in $(seq 50); do
  curl -sf -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$h2c_port/100b" && break
  sleep 0.1
done
curl -sf -o /dev/null --http2 --cacert "$state/server.pem" "https://127.0.0.1:$h2_port/100b" ||
  { echo "nginx over TLS did not start" >&2; exit 1; }
curl -sf -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$h2c_port/100b" ||
  { echo "nghttpd did not start" >&2; exit 1; }

if [ -n "${BENCH_CMD:-}" ]; then
  BENCH_WS_PORT=$ws_port BENCH_TCP_PORT=$tcp_port BENCH_HTTP_PORT=$http_port \
    BENCH_H2_PORT=$h2_port BENCH_H2C_PORT=$h2c_port BENCH_H2C_NGINX_PORT=$h2c_nginx_port \
    BENCH_CA_FILE=$state/server.pem bash -c "$BENCH_CMD"
  exit
fi

# --- workloads -----------------------------------------------------------------------------------
scale() { if [ "$quick" = 1 ]; then echo $(( ($1 + 9) / 10 )); else echo "$1"; fi; }
# name | clients | arguments. The HTTP/2 workloads run once per server (nginx over TLS, nghttpd
# over h2c); these arguments end with the server's origin, so "${h2c}/100b" is a whole URL.
h2_tls="server=nginx_tls ca_file=$state/server.pem url=https://127.0.0.1:$h2_port"
h2c="server=nghttpd_h2c url=http://127.0.0.1:$h2c_port"
# The h2c download is served by nginx, as http_download is: nghttpd serves 32 MiB at about the
# speed courier reads it, so it would measure the server.
h2c_nginx="server=nginx_h2c url=http://127.0.0.1:$h2c_nginx_port"
workloads=(
  "ws_latency|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 20000) size=32"
  "ws_pipeline|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 200000) size=128 in_flight=64"
  "ws_binary|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 300) size=$((1 << 20))"
  "ws_text|courier_sync courier_async beast_sync beast_async raw_tcp|count=$(scale 10) size=$((16 << 20))"
  "http_seq|courier_sync courier_async beast_sync beast_async curl_easy raw_tcp|count=$(scale 20000) size=100 path=/100b"
  "http_conc|courier_sync courier_async beast_async curl_multi|count=$(scale 100000) connections=16 path=/100b"
  "http_download|courier_sync courier_async curl_easy raw_tcp|count=$(scale 20) size=$((32 << 20)) path=/32m"
  "ws_idle|courier_sync|count=$(scale 10000)"
  "h2_multi|courier_sync courier_async courier_async_io curl_multi h2load|count=$(scale 100000) in_flight=100 ${h2_tls}/100b"
  # Not libcurl over h2c: 7.88 (Debian 12) fails every request that reuses a prior-knowledge
  # connection with "Error in the HTTP2 framing layer" (fixed in 7.89).
  "h2_multi|courier_sync courier_async courier_async_io h2load|count=$(scale 100000) in_flight=100 ${h2c}/100b"
  "h2_download|courier_sync courier_sync_http1 h2load|count=$(scale 20) size=$((32 << 20)) ${h2_tls}/32m"
  "h2_download|courier_sync h2load|count=$(scale 20) size=$((32 << 20)) ${h2c_nginx}/32m"
  "h2_streams_rss|courier_callback courier_async|count=1000 in_flight=1000 ${h2_tls}/100b"
  "h2_streams_rss|courier_callback courier_async|count=1000 in_flight=1000 ${h2c}/100b"
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
      run=("$client" "$c")
      [ "$c" = h2load ] && run=(python3 bench/h2load_client.py)
      status=0
      # shellcheck disable=SC2086
      line=$(set -o pipefail; "${pin_client[@]}" timeout $((time_limit + 30)) "${run[@]}" "$name" $args \
               ws_port=$ws_port tcp_port=$tcp_port http_port=$http_port time_limit=$time_limit \
             2>"$state/logs/client.err" | tail -1) || status=$?
      [ "$status" = 0 ] || [[ "$line" == FAIL* ]] || line="FAIL client=$c workload=$name error=\"exit $status\""
      [ -n "$line" ] || line="FAIL client=$c workload=$name error=\"no output\""
      echo "$line" | tee -a "$raw" >&2
      if [ "$status" = 3 ]; then  # a response over the wrong protocol: no figure can be trusted
        echo "bench/run.sh: $c on $name did not speak the protocol it measures; stopping" >&2
        exit 1
      fi
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
