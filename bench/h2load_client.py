#!/usr/bin/env python3
"""h2load (nghttp2's load generator) as a benchmark client: runs

  h2load -n COUNT -c 1 -m IN_FLIGHT URL

and prints the same line as bench_client, so bench/report.py puts h2load beside the others:

  RESULT client=h2load workload=h2_multi ops=.. bytes=.. wall_s=.. cpu_s=.. user_s=.. sys_s=..
         maxrss_kib=.. server=..

CPU time and peak RSS are h2load's own (getrusage of the child process, as wait4 returns it):
its start-up and TLS set-up are counted, a few milliseconds against a run of seconds. The wall
time is h2load's "finished in", from its first connection to the last response, like
bench_client's loop. A run that does not complete every request with a 2xx status over HTTP/2
(h2 or h2c), or that runs past time_limit seconds, prints a FAIL line instead.

  python3 bench/h2load_client.py h2_multi count=100000 in_flight=100 \\
      url=https://127.0.0.1:28703/100b server=nginx_tls time_limit=120
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def fail(workload, error, status=1):
    server = next((a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("server=")), None)
    print(f'FAIL client=h2load workload={workload} error="{error}"' +
          (f" server={server}" if server else ""), flush=True)
    sys.exit(status)


def main():
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} WORKLOAD key=value...")
    workload = sys.argv[1]
    args = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
    count = int(args.get("count", "0"))
    in_flight = int(args.get("in_flight", "1"))
    url = args.get("url", "")
    time_limit = float(args.get("time_limit", "120"))
    if not url or count <= 0:
        fail(workload, "h2load needs url= and count=")

    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(["h2load", "-n", str(count), "-c", "1", "-m", str(in_flight), url],
                                 stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + time_limit
        while True:  # bounded by time_limit: polling leaves the child's own rusage alone
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.send_signal(signal.SIGKILL)
                os.wait4(child.pid, 0)
                fail(workload, "workload ran past its time limit")
            time.sleep(0.01)
        log.seek(0)
        text = log.read()

    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        fail(workload, f"h2load exited with status {status}: {text.strip().splitlines()[-1:]}")
    protocol = re.search(r"Application protocol: (\S+)", text)
    if not protocol or protocol.group(1) not in ("h2", "h2c"):
        # The wrong protocol stops the whole run, as in bench_client.
        fail(workload, f"h2load spoke {protocol.group(1) if protocol else 'nothing'}, not HTTP/2", 3)
    finished = re.search(r"finished in ([\d.]+)(m?s)", text)
    succeeded = re.search(r"(\d+) succeeded", text)
    ok_2xx = re.search(r"status codes: (\d+) 2xx", text)
    body = re.search(r"traffic: .*\((\d+)\) data", text)
    if not (finished and succeeded and ok_2xx):
        fail(workload, "h2load printed no summary")
    if int(succeeded.group(1)) != count or int(ok_2xx.group(1)) != count:
        fail(workload, f"{succeeded.group(1)} of {count} requests succeeded, "
                       f"{ok_2xx.group(1)} with 2xx")
    wall = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
    user, sys_s = usage.ru_utime, usage.ru_stime
    print(f"RESULT client=h2load workload={workload} ops={count} "
          f"bytes={body.group(1) if body else 0} wall_s={wall:.6f} cpu_s={user + sys_s:.6f} "
          f"user_s={user:.6f} sys_s={sys_s:.6f} maxrss_kib={usage.ru_maxrss}"
          + (f" server={args['server']}" if "server" in args else ""), flush=True)


if __name__ == "__main__":
    main()
