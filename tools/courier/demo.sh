#!/usr/bin/env bash
# The courier command-line client against the project's local servers: an HTTP GET with JSON
# output, a JSON POST, and a WebSocket exchange. Run by `make demo` through
# tests/servers/run-with-servers.sh, which starts the servers and sets COURIER_TEST_ENV.
#
# Usage: demo.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: demo.sh BUILD_DIR}
courier="$build/tools/courier/courier"
[[ -x "$courier" ]] || {
  echo "demo.sh: $courier is not built (cmake --build $build --target courier_cli)" >&2
  exit 1
}
: "${COURIER_TEST_ENV:?COURIER_TEST_ENV must name the test servers env file}"
# shellcheck disable=SC1090
source "$COURIER_TEST_ENV"

# Prints a command the way one would type it (quoted where the shell needs it).
show() {
  local word line='$'
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      line+=" $word"
    else
      line+=" '${word//\'/\'\\\'\'}'"
    fi
  done
  printf '%s\n' "$line"
}

step() {
  printf '\n\033[1m== %s\033[0m\n' "$1"
  show "${@:2}"
  "${@:2}" 2>&1
}

# Colours and headers as on a terminal, even when `make demo` is piped.
step "An HTTP GET; the JSON answer is indented and coloured" \
  "$courier" --pretty=all -hb "http://127.0.0.1:$HTTPBIN_PORT/get" search=="c++ websockets" \
  X-Demo:yes

step "A JSON POST built from items (name=value is a string, age:=36 is raw JSON)" \
  "$courier" --pretty=all -b POST "http://127.0.0.1:$HTTPBIN_PORT/post" name=ada age:=36

step "The same request as a curl command" \
  "$courier" --curl POST "http://127.0.0.1:$HTTPBIN_PORT/post" name=ada age:=36

printf '\n\033[1m== A WebSocket exchange: two lines in, their echoes out, then a clean close\033[0m\n'
printf "\$ printf 'hello\\\\nworld\\\\n' | %s ws ws://127.0.0.1:%s/echo\n" "$courier" "$WS_PORT"
printf 'hello\nworld\n' | "$courier" ws "ws://127.0.0.1:$WS_PORT/echo" 2>&1

printf '\n\033[1m== The same exchange as JSON events, for scripts\033[0m\n'
printf "\$ printf 'hello\\\\n' | %s ws --jsonl ws://127.0.0.1:%s/echo\n" "$courier" "$WS_PORT"
printf 'hello\n' | "$courier" ws --jsonl "ws://127.0.0.1:$WS_PORT/echo" 2>&1

printf '\nMore: %s --help, %s ws --help, docs/cli.md\n' "$courier" "$courier"
