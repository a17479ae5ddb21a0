#!/usr/bin/env bash
# Stops what start.sh STATE_DIR started, found by its pid files. Quiet, and never fails: a
# server already gone, a missing STATE_DIR or a stale pid file are all fine. A pid is signalled
# only while its command line still names STATE_DIR, so a reused pid is never hit.
#
# Usage: stop.sh STATE_DIR
set -uo pipefail

[[ $# -eq 1 && -n "$1" ]] || {
  echo "usage: stop.sh STATE_DIR" >&2
  exit 0
}
STATE="$(realpath -m -- "$1")"
[[ -d "$STATE" ]] || exit 0

readonly TERM_GRACE_TENTHS=50  # 5 s for a clean exit before SIGKILL

# Prints the pid in PID_FILE when that process is alive and was started for STATE_DIR.
our_pid() {
  local pid
  pid="$(head -n 1 -- "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$STATE" || return 1
  echo "$pid"
}

gone() {  # gone PID...: true when none of them is still running (a zombie counts as gone)
  local pid state
  for pid in "$@"; do
    state="$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" || continue
    [[ -z "$state" || "$state" == Z || "$state" == X ]] || return 1
  done
  return 0
}

wait_gone() {  # wait_gone PID...: bounded
  local i
  for ((i = 0; i < TERM_GRACE_TENTHS; i++)); do
    gone "$@" && return 0
    sleep 0.1
  done
  return 1
}

stop_pid_file() {  # stop_pid_file PID_FILE
  local pid children=() child
  pid="$(our_pid "$1")" || {
    rm -f -- "$1"
    return 0
  }
  # nginx's workers do not name STATE_DIR: note them now, in case the master needs SIGKILL.
  local stat line fields
  for stat in /proc/[0-9]*/stat; do  # (procps may not be installed)
    { read -r line <"$stat"; } 2>/dev/null || continue  # a builtin: no fork per process
    read -r -a fields <<<"${line##*) }"  # after "pid (comm) ": state ppid ...
    [[ "${fields[1]:-}" == "$pid" ]] && children+=("${stat//[^0-9]/}")
  done
  kill -TERM "$pid" 2>/dev/null
  if ! wait_gone "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    for child in "${children[@]}"; do
      tr '\0' ' ' 2>/dev/null <"/proc/$child/cmdline" | grep -q '^nginx: worker' &&
        kill -KILL "$child" 2>/dev/null
    done
    wait_gone "$pid" "${children[@]}"
  fi
  rm -f -- "$1"
}

for pid_file in "$STATE/nginx/nginx.pid" "$STATE/httpbin.pid" "$STATE/ws.pid" \
  "$STATE/tinyproxy.pid" "$STATE/tinyproxy-auth.pid" "$STATE/microsocks.pid" \
  "$STATE/microsocks-auth.pid" "$STATE/tinyproxy-tls.pid" "$STATE/tinyproxy-tls-cnonly.pid" \
  "$STATE/nghttpd.pid" "$STATE/h2fault.pid"; do
  stop_pid_file "$pid_file"
done
exit 0
