#!/usr/bin/env bash
# Runs the demo against the servers that tests/servers/run-with-servers.sh started.
# Usage: demo.sh BUILD_DIR   (with COURIER_TEST_ENV naming the servers' env file)
set -euo pipefail
build=${1:-build}
# shellcheck disable=SC1090
source "$COURIER_TEST_ENV"
echo "== courier demo: httpbin on 127.0.0.1:$HTTPBIN_PORT, nginx on 127.0.0.1:$NGINX_HTTP_PORT"
"$build/examples/demo" "http://127.0.0.1:$HTTPBIN_PORT" "http://127.0.0.1:$NGINX_HTTP_PORT" \
  "http://127.0.0.1:$TINYPROXY_PORT"
