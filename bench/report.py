#!/usr/bin/env python3
"""Turns bench_client RESULT lines into the Markdown report: one table of figures per
workload (medians with min-max over the runs), the ratios courier/Beast, courier/libcurl,
courier/h2load and courier/raw TCP, and the performance targets marked met or missed.

The HTTP/2 workloads run once per server; their lines name it (server=nginx_tls), and the
report keeps them apart as "h2_multi/nginx_tls" and so on."""
import argparse
import re
import statistics
from collections import defaultdict

H2_SERVERS = ["nginx_tls", "nghttpd_h2c"]
H2_DOWNLOAD_SERVERS = ["nginx_tls", "nginx_h2c"]  # http_download's server, over h2c too
ORDER = (["ws_latency", "ws_pipeline", "ws_binary", "ws_text", "http_seq", "http_conc",
          "http_download", "ws_idle"] +
         [f"h2_multi/{s}" for s in H2_SERVERS] +
         [f"h2_download/{s}" for s in H2_DOWNLOAD_SERVERS] +
         [f"h2_streams_rss/{s}" for s in H2_SERVERS])
# The courier clients that ratios and "best courier client" targets consider (courier_async_io:
# coroutines on the backend's own executor, HTTP/2 only).
COURIER_CLIENTS = ("courier_sync", "courier_async", "courier_async_io")
SERVER_NAMES = {"nginx_tls": "nginx over TLS (ALPN h2)", "nghttpd_h2c": "nghttpd over h2c",
                "nginx_h2c": "nginx over h2c"}
TITLES = {
    "ws_latency": "WebSocket latency: 32 B binary, one in flight",
    "ws_pipeline": "WebSocket pipelined: 128 B binary, 64 in flight",
    "ws_binary": "WebSocket 1 MiB binary messages",
    "ws_text": "WebSocket 16 MiB text messages (UTF-8 validated)",
    "http_seq": "HTTP: sequential GETs of 100 B on one keep-alive connection",
    "http_conc": "HTTP: GETs of 100 B over 16 concurrent connections",
    "http_download": "HTTP: 32 MiB downloads",
    "ws_idle": "10,000 idle WebSockets from one process",
}
for _s in H2_SERVERS:
    TITLES[f"h2_multi/{_s}"] = (f"HTTP/2: GETs of 100 B, 100 streams in flight on one connection, "
                                f"{SERVER_NAMES[_s]}")
    TITLES[f"h2_streams_rss/{_s}"] = (f"HTTP/2: 1,000 concurrent streams on one connection, "
                                      f"{SERVER_NAMES[_s]}")
for _s in H2_DOWNLOAD_SERVERS:
    TITLES[f"h2_download/{_s}"] = f"HTTP/2: 32 MiB downloads, {SERVER_NAMES[_s]}"
BYTES_WORKLOADS = {"ws_binary", "ws_text", "http_download"} | {
    f"h2_download/{s}" for s in H2_DOWNLOAD_SERVERS}


# (workload, client) -> (system calls per operation, the SYSCALLS line), from bench/syscalls.py
syscalls = {}


def parse(path):
    runs = defaultdict(list)   # (workload, client) -> [dict]
    failures = []
    for line in open(path):
        line = line.strip()
        kind, _, rest = line.partition(" ")
        fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', rest))
        if kind == "RESULT":
            w = fields["workload"] + (f"/{fields['server']}" if "server" in fields else "")
            runs[(w, fields["client"])].append(fields)
        elif kind == "FAIL":
            failures.append(fields)
        elif kind == "SYSCALLS":
            syscalls[(fields["workload"], fields["client"])] = (float(fields["per_op"]), rest)
    return runs, failures


def med(values):
    values = sorted(values)
    return statistics.median(values), values[0], values[-1]


def fmt(triple, digits=2):
    m, lo, hi = triple
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def figures(rs, workload):
    cpu = med([float(r["cpu_s"]) / int(r["ops"]) * 1e6 for r in rs])
    if workload in BYTES_WORKLOADS:
        tput = med([int(r["bytes"]) / float(r["wall_s"]) / 1e6 for r in rs])
    else:
        tput = med([int(r["ops"]) / float(r["wall_s"]) for r in rs])
    rss = med([int(r["maxrss_kib"]) / 1024 for r in rs])
    # The user-space part of the CPU figure (older raw files have only the sum).
    user = (med([float(r["user_s"]) / int(r["ops"]) * 1e6 for r in rs])
            if all("user_s" in r for r in rs) else None)
    p50 = med([float(r["p50_us"]) for r in rs]) if "p50_us" in rs[0] else None
    p99 = med([float(r["p99_us"]) for r in rs]) if "p99_us" in rs[0] else None
    return {"cpu": cpu, "user": user, "tput": tput, "rss": rss, "p50": p50, "p99": p99}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--reps", default="3")
    ap.add_argument("--quick", default="0")
    ap.add_argument("--machine", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    runs, failures = parse(a.raw)
    out = []
    out.append("# courier end-to-end benchmark\n")
    out.append(f"- Machine: {a.machine}. Servers (epoll echo server, nginx with one worker, "
               "nghttpd) pinned to CPU 0, each client run its own process pinned to CPU 1.")
    out.append(f"- {a.reps} runs per client and workload, interleaved; figures are medians "
               "with (min–max). CPU is the client process's user + system time (getrusage) "
               "divided by operations, and \"of which user\" its user-space part; RSS is the "
               "client's peak.")
    if a.quick == "1":
        out.append("- **BENCH_QUICK=1**: a tenth of the full sizes.")
    out.append(f"- System {a.load}.")
    if a.note:
        out.append(f"- Note: {a.note}")
    knobs = ("BENCH_QUICK=1 " if a.quick == "1" else "") + (f"BENCH_REPS={a.reps} " if a.reps != "3" else "")
    out.append(f"- Reproduce: `{knobs}make bench` (or `{knobs}bash bench/run.sh`).\n")

    fig = {}
    for w in ORDER:
        clients = [c for (ww, c) in runs if ww == w]
        if not clients:
            continue
        out.append(f"## {TITLES[w]}\n")
        if w == "ws_idle":
            out.append("| client | connections | RSS per connection, KiB | peak RSS, MiB |")
            out.append("|---|---|---|---|")
            for c in clients:
                rs = runs[(w, c)]
                per = med([float(r.get("idle_kib_per_conn", 0)) for r in rs])
                fig[(w, c)] = {"idle": per}
                out.append(f"| {c} | {rs[0]['ops']} | {fmt(per, 1)} | "
                           f"{fmt(med([int(r['maxrss_kib']) / 1024 for r in rs]), 1)} |")
            out.append("")
            continue
        if w.startswith("h2_streams_rss/"):
            out.append("| client | streams | RSS growth, KiB | CPU µs/stream | peak RSS, MiB |")
            out.append("|---|---|---|---|---|")
            for c in clients:
                rs = runs[(w, c)]
                growth = med([float(r.get("rss_growth_kib", 0)) for r in rs])
                fig[(w, c)] = {"growth": growth}
                out.append(f"| {c} | {rs[0]['ops']} | {fmt(growth, 0)} | "
                           f"{fmt(figures(rs, w)['cpu'])} | "
                           f"{fmt(med([int(r['maxrss_kib']) / 1024 for r in rs]), 1)} |")
            out.append("")
            continue
        unit = "MB/s" if w in BYTES_WORKLOADS else "ops/s"
        lat = w == "ws_latency"
        users = all(figures(runs[(w, c)], w)["user"] for c in clients)
        head = (f"| client | ops | CPU µs/op |" + (" of which user |" if users else "") +
                f" {unit} |" + (" p50 µs | p99 µs |" if lat else "") + " peak RSS MiB |")
        out.append(head)
        out.append("|---" * (head.count("|") - 1) + "|")
        for c in clients:
            rs = runs[(w, c)]
            f = figures(rs, w)
            fig[(w, c)] = f
            row = f"| {c} | {rs[0]['ops']} | {fmt(f['cpu'])} |"
            if users:
                row += f" {fmt(f['user'])} |"
            row += f" {fmt(f['tput'], 0 if unit == 'ops/s' else 1)} |"
            if lat:
                row += f" {fmt(f['p50'], 1)} | {fmt(f['p99'], 1)} |"
            row += f" {fmt(f['rss'], 1)} |"
            out.append(row)
        out.append("")

    # Ratios of the medians.
    def ratio(w, c, ref, key):
        if (w, c) not in fig or (w, ref) not in fig:
            return None
        return fig[(w, c)][key][0] / fig[(w, ref)][key][0]

    out.append("## Ratios (medians): courier / reference\n")
    out.append("CPU ratio < 1 means courier spends less CPU per operation; throughput ratio > 1 "
               "means courier is faster.\n")
    out.append("| workload | courier client | reference | CPU/op ratio | throughput ratio |")
    out.append("|---|---|---|---|---|")
    refs = {"courier_sync": ["beast_sync", "curl_easy", "curl_multi", "h2load",
                             "courier_sync_http1", "raw_tcp"],
            "courier_async": ["beast_async", "beast_sync", "curl_easy", "curl_multi", "h2load",
                              "raw_tcp"],
            "courier_async_io": ["curl_multi", "h2load"]}
    for w in ORDER:
        if w == "ws_idle" or w.startswith("h2_streams_rss/"):
            continue
        for c in COURIER_CLIENTS:
            for ref in refs[c]:
                cr, tr = ratio(w, c, ref, "cpu"), ratio(w, c, ref, "tput")
                if cr is None:
                    continue
                out.append(f"| {w} | {c} | {ref} | {cr:.2f} | {tr:.2f} |")
    # HTTP/2 downloads against courier's own HTTP/1.1 download (another workload, same client).
    for s in H2_DOWNLOAD_SERVERS:
        w = f"h2_download/{s}"
        if (w, "courier_sync") in fig and ("http_download", "courier_sync") in fig:
            cr = fig[(w, "courier_sync")]["cpu"][0] / fig[("http_download", "courier_sync")]["cpu"][0]
            tr = fig[(w, "courier_sync")]["tput"][0] / fig[("http_download", "courier_sync")]["tput"][0]
            out.append(f"| {w} | courier_sync | courier_sync on http_download (HTTP/1.1) | "
                       f"{cr:.2f} | {tr:.2f} |")
    out.append("")

    if syscalls:
        out.append("## System calls per request\n")
        out.append("Counted exactly (bench/syscalls.py: perf's raw_syscalls tracepoint, or strace "
                   "when perf cannot read it), over one run of each client.\n")
        out.append("| workload | client | per request | the most frequent, per request |")
        out.append("|---|---|---|---|")
        for (w, c), (per, line) in sorted(syscalls.items()):
            detail = " ".join(f for f in line.split() if "=" in f and f.split("=")[0] not in
                              ("client", "workload", "per_op"))
            out.append(f"| {w} | {c} | {per:.2f} | {detail} |")
        out.append("")

    # The performance targets courier holds itself to (bench/README.md).
    def best(w, ref, key, better):
        vals = [r for r in (ratio(w, c, ref, key) for c in COURIER_CLIENTS) if r is not None]
        if not vals:
            return None
        return min(vals) if better == "low" else max(vals)

    targets = [
        ("(a) latency: CPU per round trip within 2% of Beast (sync vs sync)",
         ratio("ws_latency", "courier_sync", "beast_sync", "cpu"), lambda r: r <= 1.02),
        ("(b) pipelined: CPU per message ≤ 1/3 of Beast (sync vs sync)",
         ratio("ws_pipeline", "courier_sync", "beast_sync", "cpu"), lambda r: r <= 1 / 3),
        ("(c) 1 MiB binary: ≥ 95% of raw TCP throughput (best courier client)",
         best("ws_binary", "raw_tcp", "tput", "high"), lambda r: r >= 0.95),
        ("(d) 16 MiB text: ≥ 70% of raw TCP throughput (best courier client)",
         best("ws_text", "raw_tcp", "tput", "high"), lambda r: r >= 0.70),
        ("HTTP keep-alive: CPU per request ≤ Beast sync",
         ratio("http_seq", "courier_sync", "beast_sync", "cpu"), lambda r: r <= 1.0),
        ("HTTP keep-alive: CPU per request ≤ 75% of libcurl easy",
         ratio("http_seq", "courier_sync", "curl_easy", "cpu"), lambda r: r <= 0.75),
        ("HTTP 16 connections: requests/s ≥ libcurl multi (best courier client)",
         best("http_conc", "curl_multi", "tput", "high"), lambda r: r >= 1.0),
        ("HTTP keep-alive, coroutine: CPU per request ≤ Beast async",
         ratio("http_seq", "courier_async", "beast_async", "cpu"), lambda r: r <= 1.0),
        ("HTTP 16 coroutines: requests/s ≥ Beast async",
         ratio("http_conc", "courier_async", "beast_async", "tput"), lambda r: r >= 1.0),
        ("HTTP 16 coroutines: requests/s ≥ 1.5 × libcurl multi",
         ratio("http_conc", "courier_async", "curl_multi", "tput"), lambda r: r >= 1.5),
        ("pipelined messages, coroutine: CPU per message ≤ 1.5 × courier's blocking",
         ratio("ws_pipeline", "courier_async", "courier_sync", "cpu"), lambda r: r <= 1.5),
        ("HTTP 16 coroutines: at most 2.5 system calls per request (a count, not a ratio)",
         syscalls.get(("http_conc", "courier_async"), (None,))[0], lambda r: r <= 2.5),
        ("32 MiB download: ≥ 95% of raw TCP throughput (best courier client)",
         best("http_download", "raw_tcp", "tput", "high"), lambda r: r >= 0.95),
    ]

    def h2_download_ratio(server, ref_workload, ref_client):
        w = f"h2_download/{server}"
        if (w, "courier_sync") not in fig or (ref_workload, ref_client) not in fig:
            return None
        return fig[(w, "courier_sync")]["tput"][0] / fig[(ref_workload, ref_client)]["tput"][0]

    # HTTP/2 (libcurl 7.88 cannot multiplex over h2c: its targets are for nginx over TLS only).
    targets += [
        ("HTTP/2 100 streams, nginx TLS: CPU per request ≤ ½ of libcurl multi (best courier client)",
         best("h2_multi/nginx_tls", "curl_multi", "cpu", "low"), lambda r: r <= 0.5),
        ("HTTP/2 100 streams, nginx TLS: requests/s ≥ libcurl multi (best courier client)",
         best("h2_multi/nginx_tls", "curl_multi", "tput", "high"), lambda r: r >= 1.0),
    ]
    for s in H2_SERVERS:
        targets.append((f"HTTP/2 100 streams, {s}: CPU per request ≤ 1.5 × h2load (best courier client)",
                        best(f"h2_multi/{s}", "h2load", "cpu", "low"), lambda r: r <= 1.5))
    # Over h2c against the cleartext HTTP/1.1 download; over TLS against HTTP/1.1 on the same
    # TLS server, which pays for the encryption alike.
    targets += [
        ("HTTP/2 32 MiB download, nginx_h2c: ≥ 90% of courier's HTTP/1.1 http_download (sync)",
         h2_download_ratio("nginx_h2c", "http_download", "courier_sync"), lambda r: r >= 0.9),
        ("HTTP/2 32 MiB download, nginx_tls: ≥ 90% of courier's HTTP/1.1 over the same TLS (sync)",
         h2_download_ratio("nginx_tls", "h2_download/nginx_tls", "courier_sync_http1"),
         lambda r: r >= 0.9),
    ]
    out.append("## Targets\n")
    out.append("| target | measured ratio | met? |")
    out.append("|---|---|---|")
    for name, r, ok in targets:
        if r is None:
            out.append(f"| {name} | not run | |")
        else:
            out.append(f"| {name} | {r:.2f} | {'yes' if ok(r) else '**no**'} |")
    if ("ws_idle", "courier_sync") in fig:
        kib = fig[("ws_idle", "courier_sync")]["idle"][0]
        out.append(f"| 10k idle WebSockets: < 20 KiB RSS each | {kib:.1f} KiB | {'yes' if kib < 20 else '**no**'} |")
    for s in H2_SERVERS:
        # Each courier client in its own row: with callbacks the figure is the streams' own
        # memory; with coroutines it adds the caller's 1,000 coroutines.
        for c in ("courier_callback", "courier_async"):
            if (f"h2_streams_rss/{s}", c) in fig:
                kib = fig[(f"h2_streams_rss/{s}", c)]["growth"][0]
                out.append(f"| HTTP/2 1,000 concurrent streams, {s}, {c}: RSS growth ≤ 4 MiB | "
                           f"{kib:.0f} KiB | {'yes' if kib <= 4096 else '**no**'} |")
    out.append("")
    if failures:
        out.append("## Failed runs\n")
        for f in failures:
            where = f.get('workload', '') + (f"/{f['server']}" if "server" in f else "")
            out.append(f"- {f.get('client')} / {where}: {f.get('error', '').strip(chr(34))}")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
