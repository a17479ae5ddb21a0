#!/usr/bin/env python3
"""Paired comparison of clients or builds, for differences smaller than the spread between
runs of the full benchmark: every round runs each client once, back to back, and the ratio
to the last client is taken per round, so that the host's drift between rounds cancels out.
Prints, per client, the median CPU per run (user + system, then each) and wall time, and the
median and quartiles of its per-round ratio to the reference (the last client given); a wall
time ratio below 1 is a throughput ratio above 1 (its inverse).

Run it with the servers of bench/run.sh up:

  BENCH_BUILD=build-bench BENCH_CMD='python3 bench/paired.py 30 \\
      "http_seq count=20000 size=100 path=/100b" \\
      courier=build-bench/e2e/bench_client:courier_sync \\
      beast=build-bench/e2e/bench_client:beast_sync' bash bench/run.sh

Each LABEL=BINARY:CLIENT names a bench_client binary (another build of courier, say, to
compare two versions) and one of its clients; h2load is bench/h2load_client.py:h2load. Bounded: ROUNDS x clients runs, each limited
by the client's own time limit.
"""
import os
import re
import statistics
import subprocess
import sys

KEYS = ("cpu_s", "user_s", "sys_s", "wall_s")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, workload, specs = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3:]
    ports = [f"ws_port={os.environ['BENCH_WS_PORT']}", f"tcp_port={os.environ['BENCH_TCP_PORT']}",
             f"http_port={os.environ['BENCH_HTTP_PORT']}"]
    pin = ["taskset", "-c", "1"] if os.cpu_count() and os.cpu_count() >= 2 else []
    clients = [(label, *rest.split(":", 1)) for label, rest in (s.split("=", 1) for s in specs)]
    results = {label: {k: [] for k in KEYS} for label, _, _ in clients}
    for _ in range(rounds):
        for label, binary, client in clients:
            # bench/h2load_client.py stands for the client h2load: it takes no client name.
            command = ["python3", binary] if binary.endswith(".py") else [binary, client]
            out = subprocess.run(pin + command + workload + ports, capture_output=True,
                                 text=True, timeout=300).stdout
            line = next((l for l in out.splitlines() if l.startswith("RESULT")), None)
            if line is None:
                sys.exit(f"{label}: no RESULT line:\n{out}")
            for k in KEYS:
                results[label][k].append(float(re.search(k + r"=([0-9.]+)", line).group(1)))
    reference = clients[-1][0]
    for label, _, _ in clients:
        cells = []
        for k in KEYS:
            mine, ref = results[label][k], results[reference][k]
            ratios = [a / b for a, b in zip(mine, ref) if b > 0]
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            cells.append(f"{k} {statistics.median(mine):.4f} s, vs {reference} "
                         f"{statistics.median(ratios):.3f} ({q[0]:.3f}-{q[2]:.3f})")
        print(f"{label:10s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
