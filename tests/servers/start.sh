#!/usr/bin/env bash
# Starts the real servers courier's integration tests talk to, all on loopback, all owned by
# STATE_DIR (certificates, docroot, configs, logs, pid files):
#   nginx     plain HTTP on 127.0.0.1 and [::1]; HTTPS with a good, an expired, a wrong-host, an
#             untrusted and a Common-Name-only certificate; HTTPS that requires a client
#             certificate
#   httpbin   python3-httpbin on Werkzeug's threaded server (httpbin_server.py)
#   ws        python3-websockets, ws and wss (ws_server.py)
#   nghttpd   HTTP/2 over cleartext TCP (h2c, prior knowledge) serving the docroot
#   h2fault   HTTP/2 on python3-h2 that misbehaves frame by frame (h2_fault_server.py)
# Then writes STATE_DIR/env (KEY=VALUE lines, the file COURIER_TEST_ENV names). See
# tests/servers/README.md for every key and endpoint. Stop with stop.sh STATE_DIR.
#
# Usage: start.sh STATE_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
readonly PY=/usr/bin/python3  # Debian's interpreter: the one with httpbin and websockets
readonly MARKER=.courier-test-state
readonly READY_TIMEOUT_S=15
readonly ATTEMPTS=3  # a port picked here can be taken by someone else before a server binds it

die() {
  echo "start.sh: $*" >&2
  exit 1
}

[[ $# -eq 1 && -n "$1" ]] || die "usage: start.sh STATE_DIR"
STATE="$(realpath -m -- "$1")"
[[ "$STATE" != "/" && "$STATE" != "$HOME" ]] || die "refusing to use $STATE as STATE_DIR"

# --- prerequisites (Debian packages: nginx-light, openssl, python3-httpbin, python3-websockets)
NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx  # not on a user's PATH
[[ -n "$NGINX" ]] || die "nginx not found (apt-get install nginx-light)"
readonly NGINX
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
[[ -x "$PY" ]] || die "$PY not found (apt-get install python3)"
"$PY" -c 'import httpbin' 2>/dev/null || die "$PY cannot import httpbin (apt-get install python3-httpbin)"
"$PY" -c 'import websockets' 2>/dev/null ||
  die "$PY cannot import websockets (apt-get install python3-websockets)"

# --- a fresh STATE_DIR; never wipe a directory this script did not make
if [[ -e "$STATE" ]]; then
  if [[ -n "$(ls -A -- "$STATE")" && ! -e "$STATE/$MARKER" ]]; then
    die "$STATE exists, is not empty and was not made by start.sh; refusing to wipe it"
  fi
  bash "$HERE/stop.sh" "$STATE"
  rm -rf -- "$STATE"
fi
mkdir -p "$STATE"
touch "$STATE/$MARKER"
readonly TLS="$STATE/tls" DOCROOT="$STATE/docroot" NGX="$STATE/nginx" LOGS="$STATE/logs"
mkdir -p "$TLS" "$DOCROOT/text" "$NGX/logs" "$NGX/temp" "$LOGS"

started=0
on_exit() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    show_logs
    [[ $started -eq 1 ]] && bash "$HERE/stop.sh" "$STATE"
  fi
}
trap on_exit EXIT

show_logs() {
  local f logs=("$TLS/openssl.log")
  [[ $started -eq 1 ]] && logs=("$NGX/logs/error.log" "$LOGS/nginx.out" "$LOGS/httpbin.log" "$LOGS/ws.log")
  for f in "${logs[@]}"; do
    if [[ -s "$f" ]]; then
      echo "--- tail of $f" >&2
      tail -n 25 -- "$f" >&2
    fi
  done
}

# --- certificates: a CA made for this run, and server/client certificates it signs ---------
# EC P-256 keys: fast to make. Everything openssl prints goes to tls/openssl.log.
make_certificates() {
  ossl() { openssl "$@" >>"$TLS/openssl.log" 2>&1; }
  cat >"$TLS/extensions.cnf" <<'EOF'
[ server_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ server_wronghost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# The host name in the subject's Common Name only, no subjectAltName: RFC 6125 clients refuse it.
[ server_cn_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  # `openssl ca` is only needed for the expired certificate: OpenSSL 3.0's `x509 -req` cannot
  # set dates in the past.
  mkdir -p "$TLS/ca-db"
  : >"$TLS/ca-db/index.txt"
  echo 1000 >"$TLS/ca-db/serial"
  cat >"$TLS/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca

[ test_ca ]
database = $TLS/ca-db/index.txt
new_certs_dir = $TLS/ca-db
serial = $TLS/ca-db/serial
certificate = $TLS/ca.pem
private_key = $TLS/ca.key
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none

[ any_name ]
commonName = supplied
EOF

  new_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
  new_csr() { ossl req -new -key "$1" -subj "$2" -out "$3"; }
  sign() {  # sign CSR OUT EXTENSION_SECTION [CA_NAME]
    local ca="${4:-ca}"
    ossl x509 -req -in "$1" -CA "$TLS/$ca.pem" -CAkey "$TLS/$ca.key" -set_serial "0x$(
      openssl rand -hex 8
    )" -days 30 -sha256 -extfile "$TLS/extensions.cnf" -extensions "$3" -out "$2"
  }
  make_ca() {  # make_ca NAME SUBJECT
    new_key "$TLS/$1.key"
    ossl req -x509 -new -key "$TLS/$1.key" -subj "$2" -days 30 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$TLS/$1.pem"
  }

  make_ca ca "/CN=courier test CA"
  make_ca untrusted-ca "/CN=courier untrusted CA"

  new_key "$TLS/server.key"
  new_csr "$TLS/server.key" "/CN=localhost" "$TLS/server.csr"
  sign "$TLS/server.csr" "$TLS/server.pem" server_localhost

  new_key "$TLS/expired.key"
  new_csr "$TLS/expired.key" "/CN=localhost" "$TLS/expired.csr"
  ossl ca -batch -notext -config "$TLS/ca.cnf" -extfile "$TLS/extensions.cnf" \
    -extensions server_localhost -rand_serial -startdate 200101000000Z -enddate 200201000000Z \
    -in "$TLS/expired.csr" -out "$TLS/expired.pem"

  new_key "$TLS/wronghost.key"
  new_csr "$TLS/wronghost.key" "/CN=wrong.example" "$TLS/wronghost.csr"
  sign "$TLS/wronghost.csr" "$TLS/wronghost.pem" server_wronghost

  new_key "$TLS/cn-only.key"
  new_csr "$TLS/cn-only.key" "/CN=localhost" "$TLS/cn-only.csr"
  sign "$TLS/cn-only.csr" "$TLS/cn-only.pem" server_cn_only

  new_key "$TLS/untrusted.key"
  new_csr "$TLS/untrusted.key" "/CN=localhost" "$TLS/untrusted.csr"
  sign "$TLS/untrusted.csr" "$TLS/untrusted.pem" server_localhost untrusted-ca

  new_key "$TLS/client.key"
  new_csr "$TLS/client.key" "/CN=courier test client" "$TLS/client.csr"
  sign "$TLS/client.csr" "$TLS/client.pem" client
}

# --- docroot ----------------------------------------------------------------------------------
make_docroot() {
  # small.txt: exactly 100 bytes.
  printf '%s%s\n' "0123456789012345678901234567890123456789012345678901234567890123456789" \
    "01234567890123456789012345678" >"$DOCROOT/small.txt"
  printf '{"hello":"world","n":1}\n' >"$DOCROOT/hello.json"
  head -c 8388608 /dev/urandom >"$DOCROOT/large.bin"
  # Sparse files of zeros for streaming tests and bench/streaming: no disk space, no time.
  truncate -s 512M "$DOCROOT/sparse-512m.bin"
  truncate -s 1G "$DOCROOT/sparse-1g.bin"
  truncate -s 4G "$DOCROOT/sparse-4g.bin"
  # ~200 KiB of numbered lines: compresses well, and a truncated copy shows where it broke.
  "$PY" - "$DOCROOT/text/lorem.txt" <<'EOF'
import sys
line = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua.")
with open(sys.argv[1], "w") as f:
    for i in range(1600):
        f.write(f"{i:05d} {line}\n")
EOF
  [[ $(stat -c %s "$DOCROOT/small.txt") -eq 100 ]] || die "small.txt is not 100 bytes"
}

# --- ports: asked of the kernel, all held at once so they differ ---------------------------------
# Prints: HTTP_PORT HTTP6_PORT PORT... (HTTP6_PORT is HTTP_PORT when [::1] has it free too,
# 0 when the machine has no IPv6 loopback).
pick_ports() {
  "$PY" - "$1" <<'EOF'
import socket, sys
count = int(sys.argv[1])
held = []

def bind(family, host, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        raise
    held.append(s)
    return s.getsockname()[1]

def ipv6_loopback():
    try:
        bind(socket.AF_INET6, "::1", 0)
        return True
    except OSError:
        return False

http = bind(socket.AF_INET, "127.0.0.1", 0)
http6 = 0
if ipv6_loopback():
    for _ in range(50):
        try:
            http6 = bind(socket.AF_INET6, "::1", http)
            break
        except OSError:
            http = bind(socket.AF_INET, "127.0.0.1", 0)
    else:
        http6 = bind(socket.AF_INET6, "::1", 0)
others = [bind(socket.AF_INET, "127.0.0.1", 0) for _ in range(count)]
print(http, http6, *others)
EOF
}

# --- nginx ----------------------------------------------------------------------------------------
write_nginx_config() {
  local user_line=""
  # As root, nginx's workers would switch to `nobody`, which may not be able to read STATE_DIR.
  [[ $(id -u) -eq 0 ]] && user_line="user root root;"
  local http6_listen=""
  [[ $HTTP6_PORT -ne 0 ]] && http6_listen="listen [::1]:$HTTP6_PORT;"

  # Locations shared by every server block.
  cat >"$NGX/locations.conf" <<EOF
root $DOCROOT;

# 302 with a relative Location, so clients must resolve it.
location = /redirect-to-small {
  return 302 /small.txt;
}

# The docroot again, always sent with Transfer-Encoding: chunked and never gzip: sub_filter
# drops Content-Length (its output length is unknown in advance), so nginx chunks HTTP/1.1
# answers. The pattern never occurs; the bytes pass through unchanged.
location /chunked/ {
  alias $DOCROOT/;
  gzip off;
  sub_filter_types *;
  sub_filter 'courier-pattern-that-never-occurs' '';
}

# Which client certificate nginx saw (NONE when there is none).
location = /client-cert {
  default_type text/plain;
  return 200 "\$ssl_client_verify \$ssl_client_s_dn\n";
}
EOF

  local tls_common="ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache off;"
  cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon on;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;

events {
  worker_connections 1024;
}

http {
  types {
    text/plain txt;
    text/html html;
    application/json json;
    application/octet-stream bin;
  }
  default_type application/octet-stream;

  access_log $NGX/logs/access.log;
  client_body_temp_path $NGX/temp/body;
  proxy_temp_path $NGX/temp/proxy;
  fastcgi_temp_path $NGX/temp/fastcgi;
  uwsgi_temp_path $NGX/temp/uwsgi;
  scgi_temp_path $NGX/temp/scgi;

  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000;
  keepalive_timeout 75s;
  client_max_body_size 64m;
  absolute_redirect off;
  server_tokens off;

  # Text answers come gzip-encoded (and so chunked) when the request asks for gzip.
  gzip on;
  gzip_min_length 1;
  gzip_types text/plain text/css application/json application/javascript text/xml;
  gzip_proxied any;
  gzip_vary on;

  server {
    listen 127.0.0.1:$HTTP_PORT;
    $http6_listen
    server_name localhost;
    include $NGX/locations.conf;
  }

  server {
    listen 127.0.0.1:$HTTPS_PORT ssl;
    server_name localhost;
    ssl_certificate $TLS/server.pem;
    ssl_certificate_key $TLS/server.key;
    $tls_common
    include $NGX/locations.conf;
    # nginx's connection serial number: requests that share a connection show the same one.
    location = /connection {
      default_type text/plain;
      return 200 "\$connection";
    }
  }

  server {
    listen 127.0.0.1:$EXPIRED_PORT ssl;
    server_name localhost;
    ssl_certificate $TLS/expired.pem;
    ssl_certificate_key $TLS/expired.key;
    $tls_common
    include $NGX/locations.conf;
  }

  server {
    listen 127.0.0.1:$WRONGHOST_PORT ssl;
    server_name wrong.example;
    ssl_certificate $TLS/wronghost.pem;
    ssl_certificate_key $TLS/wronghost.key;
    $tls_common
    include $NGX/locations.conf;
  }

  server {
    listen 127.0.0.1:$UNTRUSTED_PORT ssl;
    server_name localhost;
    ssl_certificate $TLS/untrusted.pem;
    ssl_certificate_key $TLS/untrusted.key;
    $tls_common
    include $NGX/locations.conf;
  }

  server {
    listen 127.0.0.1:$CNONLY_PORT ssl;
    server_name localhost;
    ssl_certificate $TLS/cn-only.pem;
    ssl_certificate_key $TLS/cn-only.key;
    $tls_common
    include $NGX/locations.conf;
  }

  # Requires a client certificate signed by the test CA (nginx answers 400 without one).
  server {
    listen 127.0.0.1:$CLIENTCERT_PORT ssl;
    server_name localhost;
    ssl_certificate $TLS/server.pem;
    ssl_certificate_key $TLS/server.key;
    ssl_client_certificate $TLS/ca.pem;
    ssl_verify_client on;
    $tls_common
    include $NGX/locations.conf;
  }

  # HTTP/2 (and HTTP/1.1) over TLS, chosen with ALPN. X-Connection is nginx's connection serial
  # number: requests that share a connection show the same one.
  server {
    listen 127.0.0.1:$HTTP2_PORT ssl http2;
    server_name localhost;
    ssl_certificate $TLS/server.pem;
    ssl_certificate_key $TLS/server.key;
    $tls_common
    add_header X-Connection \$connection always;
    include $NGX/locations.conf;
    # To the HTTP/1.1-only TLS port: a redirect that changes the protocol.
    location = /redirect-to-http1 {
      return 302 https://localhost:$HTTPS_PORT/small.txt;
    }
  }
}
EOF
}

# --- launching and waiting ------------------------------------------------------------------------
# A background server in its own session (a Ctrl-C meant for a test does not reach it), with
# no inherited stdio: CTest waits for the fixture's output pipes to close.
launch() {  # launch PID_FILE LOG command...
  local pid_file="$1" log="$2"
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pid_file"
}

alive() {  # alive PID_FILE
  local pid
  pid="$(cat -- "$1" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

accepts() {  # accepts HOST PORT: one TCP connect, closed at once
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Returns 0 when every port accepts, 1 on timeout, 2 when a server died (likely its port was
# taken between pick_ports and its bind).
wait_until_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT_S)) hostport pending f
  while :; do
    for f in "$NGX/nginx.pid" "$STATE/httpbin.pid" "$STATE/ws.pid"; do
      alive "$f" || {
        echo "start.sh: the server of $f is not running" >&2
        return 2
      }
    done
    pending=()
    for hostport in "$@"; do
      accepts "${hostport% *}" "${hostport#* }" || pending+=("$hostport")
    done
    [[ ${#pending[@]} -eq 0 ]] && return 0
    if ((SECONDS >= deadline)); then
      echo "start.sh: not accepting after ${READY_TIMEOUT_S}s: ${pending[*]}" >&2
      return 1
    fi
    sleep 0.1
  done
}

start_servers() {
  read -r HTTP_PORT HTTP6_PORT HTTPS_PORT EXPIRED_PORT WRONGHOST_PORT UNTRUSTED_PORT \
    CLIENTCERT_PORT HTTPBIN_PORT WS_PORT WSS_PORT CNONLY_PORT HTTP2_PORT < <(pick_ports 10) || true
  # (set -e is off in a function called with ||: check by hand.)
  [[ "$HTTP2_PORT" =~ ^[0-9]+$ ]] || {
    echo "start.sh: could not pick free ports" >&2
    return 1
  }
  write_nginx_config || return 1
  started=1
  if ! "$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" </dev/null \
    >>"$LOGS/nginx.out" 2>&1; then
    echo "start.sh: nginx did not start" >&2
    return 2
  fi
  launch "$STATE/httpbin.pid" "$LOGS/httpbin.log" "$PY" "$HERE/httpbin_server.py" \
    --host 127.0.0.1 --port "$HTTPBIN_PORT" --pid-file "$STATE/httpbin.pid"
  launch "$STATE/ws.pid" "$LOGS/ws.log" "$PY" "$HERE/ws_server.py" --host 127.0.0.1 \
    --port "$WS_PORT" --tls-port "$WSS_PORT" --cert "$TLS/server.pem" --key "$TLS/server.key" \
    --pid-file "$STATE/ws.pid"

  local checks=()
  local p
  for p in "$HTTP_PORT" "$HTTPS_PORT" "$EXPIRED_PORT" "$WRONGHOST_PORT" "$UNTRUSTED_PORT" \
    "$CLIENTCERT_PORT" "$HTTPBIN_PORT" "$WS_PORT" "$WSS_PORT" "$CNONLY_PORT" "$HTTP2_PORT"; do
    checks+=("127.0.0.1 $p")
  done
  [[ $HTTP6_PORT -ne 0 ]] && checks+=("::1 $HTTP6_PORT")
  wait_until_ready "${checks[@]}"
}

port_clash() {
  grep -qs -e "Address already in use" "$NGX/logs/error.log" "$LOGS/nginx.out" \
    "$LOGS/httpbin.log" "$LOGS/ws.log"
}

make_certificates
make_docroot

attempt=1
while :; do
  status=0
  start_servers || status=$?
  [[ $status -eq 0 ]] && break
  if [[ $status -eq 2 && $attempt -lt $ATTEMPTS ]] && port_clash; then
    echo "start.sh: a port was taken meanwhile; retrying with new ports" >&2
    bash "$HERE/stop.sh" "$STATE"
    for f in "$NGX/logs/error.log" "$LOGS/nginx.out" "$LOGS/httpbin.log" "$LOGS/ws.log"; do
      [[ -e "$f" ]] && mv -f -- "$f" "$f.attempt$attempt"
    done
    attempt=$((attempt + 1))
    continue
  fi
  die "servers did not come up (state in $STATE)"
done

# --- proxies: tinyproxy (HTTP, CONNECT) and microsocks (SOCKS5), each without and with auth --
# Credentials are test values, written to the env file. tinyproxy allows CONNECT to any port
# (no ConnectPort line). microsocks never names STATE_DIR on its command line, so it is started
# under an argv[0] that does (stop.sh checks that before signalling a pid).
readonly PROXY_USER=courier PROXY_PASSWORD=s3cret-proxy
readonly SOCKS_USER=courier SOCKS_PASSWORD=s3cret-socks
readonly PROXIES="$STATE/proxies"

write_tinyproxy_config() {  # write_tinyproxy_config NAME PORT [BASIC_AUTH_LINE]
  cat >"$PROXIES/$1.conf" <<EOF
Port $2
Listen 127.0.0.1
Timeout 30
LogFile "$LOGS/$1.log"
LogLevel Info
MaxClients 100
Allow 127.0.0.1
DisableViaHeader Yes
${3:-}
EOF
}

start_proxies() {
  local ports
  ports="$(pick_ports 6)" || return 1
  # (pick_ports prints two HTTP ports first; the six after them are ours.)
  read -r _ _ TINYPROXY_PORT TINYPROXY_AUTH_PORT MICROSOCKS_PORT MICROSOCKS_AUTH_PORT \
    TINYPROXY_TLS_PORT TINYPROXY_TLS_CNONLY_PORT <<<"$ports"
  [[ "$TINYPROXY_TLS_CNONLY_PORT" =~ ^[0-9]+$ ]] || return 1
  mkdir -p "$PROXIES"
  write_tinyproxy_config tinyproxy "$TINYPROXY_PORT"
  write_tinyproxy_config tinyproxy-auth "$TINYPROXY_AUTH_PORT" \
    "BasicAuth $PROXY_USER $PROXY_PASSWORD"
  launch "$STATE/tinyproxy.pid" "$LOGS/tinyproxy.out" tinyproxy -d -c "$PROXIES/tinyproxy.conf"
  launch "$STATE/tinyproxy-auth.pid" "$LOGS/tinyproxy-auth.out" tinyproxy -d \
    -c "$PROXIES/tinyproxy-auth.conf"
  launch "$STATE/microsocks.pid" "$LOGS/microsocks.out" bash -c 'exec -a "$0" microsocks "$@"' \
    "microsocks[$STATE]" -i 127.0.0.1 -p "$MICROSOCKS_PORT"
  launch "$STATE/microsocks-auth.pid" "$LOGS/microsocks-auth.out" \
    bash -c 'exec -a "$0" microsocks "$@"' "microsocks[$STATE]" -i 127.0.0.1 \
    -p "$MICROSOCKS_AUTH_PORT" -u "$SOCKS_USER" -P "$SOCKS_PASSWORD"
  # An https:// proxy: TLS (the localhost certificate) in front of the tinyproxy with auth.
  launch "$STATE/tinyproxy-tls.pid" "$LOGS/tinyproxy-tls.log" "$PY" "$HERE/tls_front.py" \
    --port "$TINYPROXY_TLS_PORT" --to "$TINYPROXY_AUTH_PORT" --cert "$TLS/server.pem" \
    --key "$TLS/server.key" --pid-file "$STATE/tinyproxy-tls.pid"
  # The same with the Common-Name-only certificate, which clients must refuse.
  launch "$STATE/tinyproxy-tls-cnonly.pid" "$LOGS/tinyproxy-tls-cnonly.log" "$PY" \
    "$HERE/tls_front.py" --port "$TINYPROXY_TLS_CNONLY_PORT" --to "$TINYPROXY_AUTH_PORT" \
    --cert "$TLS/cn-only.pem" --key "$TLS/cn-only.key" \
    --pid-file "$STATE/tinyproxy-tls-cnonly.pid"
  local deadline=$((SECONDS + READY_TIMEOUT_S)) p f pending
  while :; do
    for f in tinyproxy tinyproxy-auth microsocks microsocks-auth tinyproxy-tls \
      tinyproxy-tls-cnonly; do
      alive "$STATE/$f.pid" || {
        echo "start.sh: $f is not running" >&2
        return 2
      }
    done
    pending=()
    for p in "$TINYPROXY_PORT" "$TINYPROXY_AUTH_PORT" "$MICROSOCKS_PORT" "$MICROSOCKS_AUTH_PORT" \
      "$TINYPROXY_TLS_PORT" "$TINYPROXY_TLS_CNONLY_PORT"; do
      accepts 127.0.0.1 "$p" || pending+=("$p")
    done
    [[ ${#pending[@]} -eq 0 ]] && return 0
    if ((SECONDS >= deadline)); then
      echo "start.sh: proxies not accepting after ${READY_TIMEOUT_S}s: ${pending[*]}" >&2
      return 1
    fi
    sleep 0.1
  done
}

stop_proxies() {
  local f
  for f in tinyproxy tinyproxy-auth microsocks microsocks-auth tinyproxy-tls \
    tinyproxy-tls-cnonly; do
    [[ -e "$STATE/$f.pid" ]] && kill -TERM "$(cat "$STATE/$f.pid")" 2>/dev/null
    rm -f "$STATE/$f.pid"
  done
  return 0
}

command -v tinyproxy >/dev/null || die "tinyproxy not found (apt-get install tinyproxy)"
command -v microsocks >/dev/null || die "microsocks not found (apt-get install microsocks)"
attempt=1
until start_proxies; do
  stop_proxies
  if [[ $attempt -ge $ATTEMPTS ]]; then
    for f in "$LOGS"/tinyproxy*.out "$LOGS"/tinyproxy*.log "$LOGS"/microsocks*.out; do
      [[ -s "$f" ]] && { echo "--- tail of $f" >&2; tail -n 25 -- "$f" >&2; }
    done
    die "proxies did not come up (state in $STATE)"
  fi
  echo "start.sh: a proxy did not start; retrying with new ports" >&2
  attempt=$((attempt + 1))
done

# --- nghttpd: HTTP/2 over cleartext TCP with prior knowledge (h2c), serving the docroot, with a
# trailer on every response and uploads echoed back. Its command line names STATE_DIR (the
# docroot), as stop.sh needs.
command -v nghttpd >/dev/null || die "nghttpd not found (apt-get install nghttp2-server)"
start_nghttpd() {
  local ports
  ports="$(pick_ports 1)" || return 1
  read -r _ _ NGHTTPD_PORT <<<"$ports"
  [[ "$NGHTTPD_PORT" =~ ^[0-9]+$ ]] || return 1
  launch "$STATE/nghttpd.pid" "$LOGS/nghttpd.log" nghttpd --no-tls --address=127.0.0.1 \
    --htdocs="$DOCROOT" --trailer="x-served-by: nghttpd" --echo-upload "$NGHTTPD_PORT"
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until accepts 127.0.0.1 "$NGHTTPD_PORT"; do
    alive "$STATE/nghttpd.pid" || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
attempt=1
until start_nghttpd; do
  [[ -e "$STATE/nghttpd.pid" ]] && kill -TERM "$(cat "$STATE/nghttpd.pid")" 2>/dev/null
  rm -f "$STATE/nghttpd.pid"
  if [[ $attempt -ge $ATTEMPTS ]]; then
    [[ -s "$LOGS/nghttpd.log" ]] && tail -n 25 -- "$LOGS/nghttpd.log" >&2
    die "nghttpd did not come up (state in $STATE)"
  fi
  attempt=$((attempt + 1))
done

# --- h2_fault_server.py: HTTP/2 on python3-h2 that misbehaves on request (TLS with ALPN, h2c
# with prior knowledge, and an HTTP/1.1-only TLS port), logging what each client spoke.
"$PY" -c 'import h2, hyperframe' 2>/dev/null || die "$PY cannot import h2 (apt-get install python3-h2)"
start_h2fault() {
  local ports
  ports="$(pick_ports 4)" || return 1
  read -r _ _ H2FAULT_TLS_PORT H2FAULT_H2C_PORT H2FAULT_H1_TLS_PORT H2FAULT_FLIP_PORT <<<"$ports"
  [[ "$H2FAULT_FLIP_PORT" =~ ^[0-9]+$ ]] || return 1
  launch "$STATE/h2fault.pid" "$LOGS/h2fault.out" "$PY" "$HERE/h2_fault_server.py" \
    --tls-port "$H2FAULT_TLS_PORT" --h2c-port "$H2FAULT_H2C_PORT" \
    --h1-tls-port "$H2FAULT_H1_TLS_PORT" --flip-port "$H2FAULT_FLIP_PORT" --cert "$TLS/server.pem" --key "$TLS/server.key" \
    --log "$LOGS/h2fault.jsonl" --pid-file "$STATE/h2fault.pid"
  local deadline=$((SECONDS + READY_TIMEOUT_S)) p
  for p in "$H2FAULT_TLS_PORT" "$H2FAULT_H2C_PORT" "$H2FAULT_H1_TLS_PORT" "$H2FAULT_FLIP_PORT"; do
    until accepts 127.0.0.1 "$p"; do
      alive "$STATE/h2fault.pid" || return 1
      ((SECONDS < deadline)) || return 1
      sleep 0.1
    done
  done
}
attempt=1
until start_h2fault; do
  [[ -e "$STATE/h2fault.pid" ]] && kill -TERM "$(cat "$STATE/h2fault.pid")" 2>/dev/null
  rm -f "$STATE/h2fault.pid"
  if [[ $attempt -ge $ATTEMPTS ]]; then
    [[ -s "$LOGS/h2fault.out" ]] && tail -n 25 -- "$LOGS/h2fault.out" >&2
    die "h2_fault_server.py did not come up (state in $STATE)"
  fi
  attempt=$((attempt + 1))
done

{
  echo "STATE_DIR=$STATE"
  echo "DOCROOT=$DOCROOT"
  echo "CA_FILE=$TLS/ca.pem"
  echo "UNTRUSTED_CA_FILE=$TLS/untrusted-ca.pem"
  echo "CLIENT_CERT_FILE=$TLS/client.pem"
  echo "CLIENT_KEY_FILE=$TLS/client.key"
  echo "NGINX_HTTP_PORT=$HTTP_PORT"
  [[ $HTTP6_PORT -ne 0 ]] && echo "NGINX_HTTP6_PORT=$HTTP6_PORT"
  echo "NGINX_HTTPS_PORT=$HTTPS_PORT"
  echo "NGINX_HTTPS_EXPIRED_PORT=$EXPIRED_PORT"
  echo "NGINX_HTTPS_WRONGHOST_PORT=$WRONGHOST_PORT"
  echo "NGINX_HTTPS_UNTRUSTED_PORT=$UNTRUSTED_PORT"
  echo "NGINX_HTTPS_CLIENTCERT_PORT=$CLIENTCERT_PORT"
  echo "NGINX_HTTPS_CNONLY_PORT=$CNONLY_PORT"
  echo "NGINX_HTTP2_PORT=$HTTP2_PORT"
  echo "HTTPBIN_PORT=$HTTPBIN_PORT"
  echo "WS_PORT=$WS_PORT"
  echo "WSS_PORT=$WSS_PORT"
  echo "LARGE_BIN_SHA256=$(sha256sum "$DOCROOT/large.bin" | cut -d' ' -f1)"
} >"$STATE/env.tmp"
{
  echo "TINYPROXY_PORT=$TINYPROXY_PORT"
  echo "TINYPROXY_AUTH_PORT=$TINYPROXY_AUTH_PORT"
  echo "TINYPROXY_TLS_PORT=$TINYPROXY_TLS_PORT"
  echo "TINYPROXY_TLS_CNONLY_PORT=$TINYPROXY_TLS_CNONLY_PORT"
  echo "PROXY_USER=$PROXY_USER"
  echo "PROXY_PASSWORD=$PROXY_PASSWORD"
  echo "MICROSOCKS_PORT=$MICROSOCKS_PORT"
  echo "MICROSOCKS_AUTH_PORT=$MICROSOCKS_AUTH_PORT"
  echo "SOCKS_USER=$SOCKS_USER"
  echo "SOCKS_PASSWORD=$SOCKS_PASSWORD"
  echo "NGHTTPD_PORT=$NGHTTPD_PORT"
  echo "H2FAULT_TLS_PORT=$H2FAULT_TLS_PORT"
  echo "H2FAULT_H2C_PORT=$H2FAULT_H2C_PORT"
  echo "H2FAULT_H1_TLS_PORT=$H2FAULT_H1_TLS_PORT"
  echo "H2FAULT_FLIP_PORT=$H2FAULT_FLIP_PORT"
  echo "H2FAULT_LOG=$LOGS/h2fault.jsonl"
} >>"$STATE/env.tmp"
mv -f "$STATE/env.tmp" "$STATE/env"

echo "courier test servers up ($STATE/env): http=$HTTP_PORT http6=$HTTP6_PORT https=$HTTPS_PORT" \
  "expired=$EXPIRED_PORT wronghost=$WRONGHOST_PORT untrusted=$UNTRUSTED_PORT" \
  "clientcert=$CLIENTCERT_PORT cnonly=$CNONLY_PORT http2=$HTTP2_PORT httpbin=$HTTPBIN_PORT ws=$WS_PORT wss=$WSS_PORT" \
  "tinyproxy=$TINYPROXY_PORT/$TINYPROXY_AUTH_PORT microsocks=$MICROSOCKS_PORT/$MICROSOCKS_AUTH_PORT" \
  "nghttpd=$NGHTTPD_PORT h2fault=$H2FAULT_TLS_PORT/$H2FAULT_H2C_PORT/$H2FAULT_H1_TLS_PORT"
