#!/usr/bin/env python3
"""System calls per operation of one client on one workload: exact counts, which the machine's
load does not change the way it changes CPU time. Each client runs COUNT operations (pinned to
CPU 1 like the benchmark's runs) and prints one line:

  SYSCALLS client=courier_async workload=http_conc per_op=2.31 method=perf recvfrom=1.30 ...

The count is taken with `perf stat` on the raw_syscalls tracepoint when perf may read it (as
root, or with kernel.perf_event_paranoid <= -1), which leaves the client's timing alone; else
with `strace -f -c`, which slows every system call down and so changes how often a read finds
its data already there. Starting up, connecting and exiting are counted too: COUNT should be
large enough to make them a rounding error (10,000 requests: about 0.02 per request).

Run it with the servers of bench/run.sh up (their ports in BENCH_*_PORT), for example:

  BENCH_CMD='python3 bench/syscalls.py build-bench/e2e/bench_client 20000 \\
      "http_conc connections=16 path=/100b" courier_async beast_async' bash bench/run.sh
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

NAMED = ("sendmsg", "sendto", "recvfrom", "recvmsg", "epoll_wait", "epoll_ctl", "timerfd_settime",
         "ioctl", "futex", "poll", "read", "write", "fcntl")


def run_client(prefix, binary, client, workload, n, ports):
    cmd = prefix + [binary, client] + workload + [f"count={n}"] + ports
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if "RESULT" not in done.stdout:
        sys.exit(f"{client}: no RESULT line:\n{done.stdout}\n{done.stderr[-2000:]}")
    return done.stderr


def with_perf(pin, binary, client, workload, n, ports):
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{s}" for s in NAMED]
    err = run_client(pin + ["perf", "stat", "-x,", "-e", ",".join(events), "--"], binary, client,
                     workload, n, ports)
    calls, total = Counter(), None
    for line in err.splitlines():
        parts = line.split(",")
        if len(parts) < 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2]
        if name == "raw_syscalls:sys_enter":
            total = int(parts[0])
        else:
            calls[name.replace("syscalls:sys_enter_", "")] = int(parts[0])
    if total is None:
        return None
    return total, calls


def with_strace(pin, binary, client, workload, n, ports):
    with tempfile.NamedTemporaryFile(mode="r", suffix=".strace") as f:
        run_client(pin + ["strace", "-f", "-c", "-o", f.name], binary, client, workload, n, ports)
        calls = Counter()
        for line in f.read().splitlines():
            # % time, seconds, usecs/call, calls, [errors], syscall
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] += int(m.group(1))
        return sum(calls.values()), calls


def perf_works():
    if not shutil.which("perf"):
        return False
    probe = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and re.search(r"^\d+,", probe.stderr, re.M) is not None


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    binary, n, workload, clients = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
    ports = [f"ws_port={os.environ['BENCH_WS_PORT']}", f"tcp_port={os.environ['BENCH_TCP_PORT']}",
             f"http_port={os.environ['BENCH_HTTP_PORT']}"]
    pin = ["taskset", "-c", "1"] if os.cpu_count() and os.cpu_count() >= 2 else []
    method = "perf" if perf_works() else "strace"
    if method == "strace" and not shutil.which("strace"):
        sys.exit("neither perf (with tracepoints readable) nor strace is available")
    for client in clients:
        counted = (with_perf if method == "perf" else with_strace)(pin, binary, client, workload,
                                                                   n, ports)
        if counted is None:
            sys.exit(f"{client}: perf stat gave no count")
        total, calls = counted
        detail = " ".join(f"{k}={v / n:.2f}" for k, v in calls.most_common() if v / n >= 0.005)
        print(f"SYSCALLS client={client} workload={workload[0]} per_op={total / n:.2f} "
              f"method={method} {detail}", flush=True)


if __name__ == "__main__":
    main()
