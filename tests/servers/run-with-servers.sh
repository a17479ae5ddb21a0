#!/usr/bin/env bash
# Starts the test servers, runs a command with COURIER_TEST_ENV pointing at their env file, then
# stops them (also on Ctrl-C or failure). Exits with the command's status.
#
# Usage: run-with-servers.sh STATE_DIR -- command [args...]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE

if [[ $# -lt 3 || -z "$1" || "$2" != "--" ]]; then
  echo "usage: run-with-servers.sh STATE_DIR -- command [args...]" >&2
  exit 2
fi
STATE="$(realpath -m -- "$1")"
shift 2

trap 'bash "$HERE/stop.sh" "$STATE"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$HERE/start.sh" "$STATE"
export COURIER_TEST_ENV="$STATE/env"
status=0
"$@" || status=$?
exit "$status"
