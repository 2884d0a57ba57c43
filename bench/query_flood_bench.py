#!/usr/bin/env python3
"""Ingestion under a query flood: Nightlight, Prometheus 2.42 and
VictoriaMetrics, one server at a time, everything on loopback.

Each server gets N series x 1 200 samples 15 s apart (5 h) from
`remote_write_load --backfill`, ending half an hour ago. Then:
  1. quiet: `remote_write_load` pushes fresh samples of the same series for
     --duration seconds: the quiet remote-write rate;
  2. flood: the same push again (later timestamps) while --clients threads
     send `sum by (instance) (rate(node_cpu_seconds_total[5m]))` range queries over
     the 5 h at a 60 s step, back to back, each on its own keep-alive
     connection. A client that gets 503 waits a jittered part of
     Retry-After (at most 1 s) before the next query, as a polite client
     would; other answers are counted and it goes on at once.
The report is the flood rate as a share of the quiet rate, with the query
answers by HTTP status, the queries completed per second and VmHWM.

Nightlight runs with max_samples_per_query raised to 10^9 so it evaluates
these queries (like the other two) instead of refusing them for the size of
their fetch; its other settings are defaults (max_concurrent_queries: one per
core). VictoriaMetrics runs with -search.disableCache, as in query_bench.py.

Prints a markdown table on stdout; progress goes to stderr. Reuses
bench/query_bench.py and tests/e2e/nlharness.py.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time

import query_bench as qb
from query_bench import h

# The query, sum by (instance) (rate({__name__=~".+"}[5m])), is
# refused (422) by Prometheus 2.42 and Nightlight on this fleet: rate()
# drops the names, and the series of one target then share label sets. A
# flood of refusals measures nothing, so the default is a query all three
# servers evaluate over the same data; --query takes the issue's.
QUERY = 'sum by (instance) (rate(node_cpu_seconds_total[5m]))'
BACKFILL_SAMPLES = 1200  # 5 h at 15 s
LIVE_STEP_MS = 1000


class Flood:
    """--clients threads sending QUERY back to back until stopped."""

    def __init__(self, port, params, clients):
        self.stop = threading.Event()
        self.statuses = {}
        self.ok_latency = []
        self.error_bodies = {}  # the first answer body of each status but 200
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(port, params, i), daemon=True)
                        for i in range(clients)]

    def run(self, port, params, i):
        rng = random.Random(i)
        client = qb.Client(port)
        while not self.stop.is_set():
            try:
                status, body, took = client.get("/api/v1/query_range", params, timeout=300)
                retry_after = None
                if status == 503:
                    retry_after = 1.0
            except OSError:
                status, body, took, retry_after = "conn_error", b"", 0.0, 1.0
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 200:
                    self.ok_latency.append(took)
                else:
                    self.error_bodies.setdefault(status, body[:300])
            if retry_after:
                self.stop.wait(min(retry_after, 1.0) * rng.uniform(0.5, 1.0))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=330)


def push(args, port, start_ms):
    cmd = [args.loader, "--url", "127.0.0.1:%d" % port, "--series", str(args.series),
           "--samples-per-series", str(args.live_samples), "--step-ms", str(LIVE_STEP_MS),
           "--start-ms", str(start_ms), "--connections", str(args.connections),
           "--duration", str(args.duration)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        sys.stderr.write(out.stdout)
        raise RuntimeError("remote_write_load failed (exit %d)" % out.returncode)
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split()) if re.match(r"^[\d.]+$", v)}


def start_server(name, args, work):
    d = os.path.join(work, name)
    os.makedirs(d)
    if name == "nightlight":
        s = h.Nightlight(args.nightlight, d, fsync="interval",
                         extra_config={"server": {"max_samples_per_query": 1000000000}})
    elif name == "prometheus":
        s = h.Prometheus(d, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
    else:
        s = qb.VictoriaMetricsNoCache(d)
    return s.start(ready_timeout=60)


def measure(name, args, work):
    end_ms = (int(time.time()) // 60 - 30) * 60 * 1000  # data ends 30 min ago
    live_span = args.live_samples * LIVE_STEP_MS
    s = start_server(name, args, work)
    try:
        h.log("%s: loading %d series x %d samples" % (name, args.series, BACKFILL_SAMPLES))
        args.samples = BACKFILL_SAMPLES
        qb.load(args.loader, s, args, end_ms)
        if name == "vm":
            h.request(s.port, "GET", "/internal/force_flush")
            time.sleep(2)
        qb.settle(s)
        quiet = push(args, s.port, end_ms + LIVE_STEP_MS)
        h.log("%s quiet: %.0f samples/s" % (name, quiet["samples_per_sec"]))
        qb.settle(s)
        params = [("query", args.query), ("start", str(end_ms // 1000 - 5 * 3600)),
                  ("end", str(end_ms // 1000)), ("step", "60")]
        status, body, took = qb.Client(s.port).get("/api/v1/query_range", params, timeout=300)
        h.log("%s: one query alone: HTTP %d in %.2fs" % (name, status, took))
        t0 = time.monotonic()
        with Flood(s.port, params, args.clients) as flood:
            time.sleep(args.ramp)  # the flood is under way before writes start
            loaded = push(args, s.port, end_ms + LIVE_STEP_MS + live_span + 60000)
        flood_s = time.monotonic() - t0
        h.log("%s flood: %.0f samples/s, queries %s" % (name, loaded["samples_per_sec"], flood.statuses))
        for st, body in flood.error_bodies.items():
            h.log("%s: a %s answer: %r" % (name, st, body))
        hwm = s.peak_rss_kib()
        return {"quiet": quiet, "flood": loaded, "statuses": flood.statuses,
                "ok_latency": flood.ok_latency, "flood_s": flood_s, "alone_s": took,
                "alone_status": status, "hwm_kib": hwm}
    finally:
        s.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nightlight", help="nightlight binary (needed with the nightlight server)")
    p.add_argument("--loader", required=True, help="remote_write_load binary")
    p.add_argument("--servers", default="nightlight,prometheus,vm")
    p.add_argument("--series", type=int, default=100000)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--clients", type=int, default=20, help="concurrent query clients")
    p.add_argument("--duration", type=int, default=30, help="seconds of each push")
    p.add_argument("--live-samples", type=int, default=600,
                   help="samples per series pre-encoded per push (1 s apart)")
    p.add_argument("--ramp", type=float, default=3.0, help="seconds of flood before the push")
    p.add_argument("--load-timeout", type=int, default=900, help="seconds for the backfill")
    p.add_argument("--query", default=QUERY,
                   help="the range query of the flood (see QUERY)")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    args.servers = args.servers.split(",")
    results = {}
    with h.Workdir(args.keep) as work:
        for name in args.servers:
            results[name] = measure(name, args, work)
    loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
    print("\nquery: `%s`" % args.query)
    print("\n%d series, %d query clients, %d s pushes, %d connections; load average %s\n"
          % (args.series, args.clients, args.duration, args.connections, loadavg))
    print("| server | quiet samples/s | under flood samples/s | kept | queries 200/s | "
          "query answers | median 200 latency | one query alone | VmHWM MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        q, f = r["quiet"]["samples_per_sec"], r["flood"]["samples_per_sec"]
        lat = sorted(r["ok_latency"])
        print("| %s | %.0f | %.0f | %.0f%% | %.2f | %s | %s | %.2f s (HTTP %d) | %.0f |"
              % (name, q, f, 100 * f / q if q else 0, r["statuses"].get(200, 0) / r["flood_s"],
                 ", ".join("%s: %d" % kv for kv in sorted(r["statuses"].items(), key=str)),
                 "%.2f s" % lat[len(lat) // 2] if lat else "-", r["alone_s"], r["alone_status"],
                 r["hwm_kib"] / 1024))


if __name__ == "__main__":
    main()
