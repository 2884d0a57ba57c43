#!/usr/bin/env python3
"""The same queries over HTTP (the Prometheus API, JSON) and gRPC
(nightlight.v1.QueryService) against one Nightlight, in one run.

1. Latency: every query class is timed over both paths in alternating
   rounds (the order flips every round, so background load hits both
   alike): median and p90 of the client's wall time from sending the
   request to having read the whole answer, on one kept-open connection.
   HTTP is timed with Python's http.client (~0.1 ms of its own), gRPC with
   bench/grpc_latency_client (C++; Python's streaming gRPC client alone
   costs ~0.3 ms a call, more than a small query). Neither answer is
   decoded while timed (HTTP: the body is read; gRPC: the parts are
   received as bytes); each answer is checked once, decoded, against the
   other path's.
2. Memory: the big answer (default 10 000 series x 250 steps, a raw range
   query) is fetched `--big-runs` times over one path by a freshly started
   server on the same data (the WAL replayed), then by another fresh server
   over the other path; the server's peak RSS (VmHWM) after start-up and
   after the big answers is reported for each path.

Data: `--series` series `bench_grpc{i, group}` with a sample every 60 s over
the last 70 minutes (written by remote write before the runs).

Prints a markdown table on stdout, progress on stderr. Uses
tests/e2e/nlharness.py and tests/e2e/grpc_common.py (python3-grpcio,
protoc, grpc-proto), nothing else. Do not trust timings from a machine that
is busy with other work.

  ninja -C build nightlight grpc_latency_client
  /usr/bin/python3 bench/grpc_vs_http.py --build build
  /usr/bin/python3 bench/grpc_vs_http.py --build build \\
      --series 50 --runs 4 --warmups 1 --big-runs 1      # a quick check
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

from google.protobuf import json_format

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import grpc  # noqa: E402

import grpc_common as g  # noqa: E402
import nlharness as h  # noqa: E402

METRIC = "bench_grpc"
STEP_MS = 15_000
RANGE_STEPS = 250
SAMPLE_EVERY_MS = 60_000
HISTORY_MS = 70 * 60_000


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def write_data(server, series, end_ms):
    times = list(range(end_ms - HISTORY_MS, end_ms + 1, SAMPLE_EVERY_MS))
    per_request = max(1, 20_000 // len(times))
    for first in range(0, series, per_request):
        batch = [(h.labels_of(METRIC, i="%05d" % i, group="g%d" % (i % 10)),
                  [(t, float(i + k)) for k, t in enumerate(times)])
                 for i in range(first, min(series, first + per_request))]
        r = h.remote_write(server.port, h.encode_series(batch), timeout=60)
        if r.status != 204:
            raise SystemExit("write -> %r" % r)


def query_classes(series, end_ms):
    """(name, HTTP path and params, gRPC method and fields)."""
    start_ms = end_ms - (RANGE_STEPS - 1) * STEP_MS
    rng = lambda q: ("/api/v1/query_range",  # noqa: E731
                     [("query", q), ("start", "%.3f" % (start_ms / 1000)), ("end", "%.3f" % (end_ms / 1000)),
                      ("step", str(STEP_MS // 1000))],
                     "QueryRange", {"query": q, "start_ms": start_ms, "end_ms": end_ms, "step_ms": STEP_MS})
    inst = lambda q: ("/api/v1/query", [("query", q), ("time", "%.3f" % (end_ms / 1000))],  # noqa: E731
                      "Query", {"query": q, "time_ms": end_ms})
    return [
        # No query work at all: what each transport costs by itself.
        ("floor: health check (no query)", "/-/healthy", [], "Health", {}),
        ("instant: one series", *inst('%s{i="00042"}' % METRIC)),
        ("instant: sum(rate) over all", *inst("sum(rate(%s[5m]))" % METRIC)),
        ("instant: all %d series" % series, *inst(METRIC)),
        ("range 250 steps: sum by group", *rng("sum by (group) (rate(%s[5m]))" % METRIC)),
        ("range 250 steps: topk(10)", *rng("topk(10, %s)" % METRIC)),
        ("series: one group", "/api/v1/series", [("match[]", '%s{group="g3"}' % METRIC)],
         "Series", {"match": ['%s{group="g3"}' % METRIC]}),
        ("label values: i", "/api/v1/label/i/values", [], "LabelValues", {"label_name": "i"}),
        ("range 250 steps: all %d series (big)" % series, *rng(METRIC)),
    ]


class Paths:
    """Timed HTTP (keep-alive) and gRPC (one channel per round, in
    grpc_latency_client) calls to one server."""

    def __init__(self, server, pb, grpc_client):
        self.server = server
        self.grpc_client = grpc_client
        self.pb = pb
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % server.grpc_port,
                                             options=[("grpc.max_receive_message_length", 64 << 20)])
        self.raw = {}
        self.client = g.QueryClient(self.channel, pb)
        q = pb.query
        for method, req in (("Query", q.QueryRequest), ("QueryRange", q.QueryRangeRequest),
                            ("Series", q.SeriesRequest), ("LabelValues", q.LabelValuesRequest)):
            # No deserializer: parts arrive as bytes, nothing is decoded.
            self.raw[method] = (self.channel.unary_stream("/%s/%s" % (g.SERVICE, method),
                                                          request_serializer=req.SerializeToString),
                                req)

    def http(self, path, params):
        t0 = time.perf_counter()
        self.conn.request("GET", path + "?" + urllib.parse.urlencode(params))
        resp = self.conn.getresponse()
        body = resp.read()
        took = time.perf_counter() - t0
        if resp.status != 200:
            raise SystemExit("HTTP %s -> %d %r" % (path, resp.status, body[:200]))
        return took, len(body)

    def grpc(self, method, fields):
        fn, req = self.raw[method]
        t0 = time.perf_counter()
        parts = list(fn(req(**fields), timeout=300))
        took = time.perf_counter() - t0
        return took, sum(len(p) for p in parts)

    def grpc_runs(self, method, fields, runs, warmups):
        """[(seconds, bytes)] of `runs` calls timed by the C++ client."""
        body = "{}" if method == "Health" else json_format.MessageToJson(self.raw[method][1](**fields), indent=None)
        out = subprocess.run([self.grpc_client, "127.0.0.1:%d" % self.server.grpc_port, method, body,
                              str(runs), str(warmups)], capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise SystemExit("grpc_latency_client %s: %s" % (method, out.stderr.strip()))
        return [(float(a), int(b)) for a, b in (line.split() for line in out.stdout.splitlines())]

    def close(self):
        self.conn.close()
        self.channel.close()


def check_same(paths, pb, http_path, params, method, fields):
    """The decoded answers agree (values for queries, lists otherwise);
    None for the health check, which answers no query."""
    if method == "Health":
        return None
    r = h.api_get(paths.server.port, http_path, params, timeout=300)
    body = r.json()
    parts = paths.client.call(method, timeout=300, **fields)
    if method in ("Query", "QueryRange"):
        return not g.diff_answers(g.answer_of_parts(pb, parts), g.answer_of_json(body))
    if method == "Series":
        got = [dict((l.name, l.value) for l in s.labels) for p in parts for s in p.series]
    else:
        got = [v for p in parts for v in p.values]
    return got == body["data"]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def latency_table(server, pb, classes, runs, warmups, rounds, grpc_client):
    paths = Paths(server, pb, grpc_client)
    rows = []
    per_round = max(1, runs // rounds)
    try:
        for name, http_path, params, method, fields in classes:
            same = check_same(paths, pb, http_path, params, method, fields)
            times = {"http": [], "grpc": []}
            size = {}
            for _ in range(warmups):
                paths.http(http_path, params)
            for r in range(rounds):
                order = ("http", "grpc") if r % 2 == 0 else ("grpc", "http")
                for which in order:
                    if which == "http":
                        for _ in range(per_round):
                            took, size["http"] = paths.http(http_path, params)
                            times["http"].append(took)
                    else:
                        # Each round is a new process and channel: its first call
                        # connects, so it is always a warm-up.
                        for took, nbytes in paths.grpc_runs(method, fields, per_round, warmups if r < 2 else 1):
                            size["grpc"] = nbytes
                            times["grpc"].append(took)
            hm, gm = statistics.median(times["http"]), statistics.median(times["grpc"])
            rows.append((name, hm, pct(times["http"], 0.9), size["http"], gm, pct(times["grpc"], 0.9),
                         size["grpc"], gm / hm if hm else float("nan"), same))
            log("%-40s http %8.2f ms  grpc %8.2f ms" % (name, hm * 1000, gm * 1000))
    finally:
        paths.close()
    return rows


def rss_run(args, workdir, pb, which, big):
    """Peak RSS (KiB) of a fresh server on the data dir: after start-up and
    after `--big-runs` big answers over `which`."""
    server = h.Nightlight(args.nightlight, workdir, extra_config=config())
    server.start(ready_timeout=600)
    try:
        base = server.peak_rss_kib()
        paths = Paths(server, pb, args.grpc_client)
        _, http_path, params, method, fields = big
        if which == "http":
            took = statistics.median(paths.http(http_path, params)[0] for _ in range(args.big_runs))
        else:
            took = statistics.median(t for t, _ in paths.grpc_runs(method, fields, args.big_runs, 0))
        paths.close()
        peak = server.peak_rss_kib()
        log("%s: peak RSS %d KiB after start-up, %d KiB after %d big answers (median %.2f s)"
            % (which, base, peak, args.big_runs, took))
        return base, peak, took
    finally:
        server.stop()


def config():
    # The history reaches further back than the default out-of-bounds
    # window; the limit must hold the big answer.
    return {"storage": {"out_of_bounds_window": "3h"},
            "server": {"max_samples_per_query": 200_000_000}}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default="build", help="build dir (nightlight, grpc_latency_client)")
    p.add_argument("--nightlight", help="the nightlight binary (default: BUILD/actors/nightlight)")
    p.add_argument("--grpc-client", help="default: BUILD/bench/grpc_latency_client")
    p.add_argument("--rounds", type=int, default=4, help="alternating HTTP/gRPC rounds per query")
    p.add_argument("--series", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmups", type=int, default=3)
    p.add_argument("--big-runs", type=int, default=5, help="big answers per path in the RSS phase")
    p.add_argument("--client-window", type=int, default=0,
                   help="the gRPC client's HTTP/2 receive window in bytes (0: gRPC's default, 64 KiB growing "
                        "by BDP probing); each round's client is a fresh channel")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args()
    if args.client_window:
        os.environ["NL_BENCH_CLIENT_WINDOW"] = str(args.client_window)
    args.nightlight = args.nightlight or os.path.join(args.build, "actors", "nightlight")
    args.grpc_client = args.grpc_client or os.path.join(args.build, "bench", "grpc_latency_client")
    for path in (args.nightlight, args.grpc_client):
        if not os.access(path, os.X_OK):
            raise SystemExit("%s missing: ninja -C %s nightlight grpc_latency_client" % (path, args.build))
    with h.Workdir(args.keep) as work:
        pb = g.Protos(work)
        server = h.Nightlight(args.nightlight, work, extra_config=config())
        server.start(ready_timeout=120)
        end_ms = h.now_ms() - 60_000
        try:
            t0 = time.monotonic()
            write_data(server, args.series, end_ms)
            log("wrote %d series in %.1f s" % (args.series, time.monotonic() - t0))
            classes = query_classes(args.series, end_ms)
            rows = latency_table(server, pb, classes, args.runs, args.warmups, args.rounds, args.grpc_client)
        finally:
            server.stop()
        big = classes[-1]
        rss = {which: rss_run(args, work, pb, which, big) for which in ("http", "grpc")}

    print("## HTTP (JSON) vs gRPC, %d series, %d runs (median / p90, ms), gRPC client window %s\n"
          % (args.series, args.runs, args.client_window or "default"))
    print("| query | HTTP median | HTTP p90 | HTTP bytes | gRPC median | gRPC p90 | gRPC bytes | gRPC/HTTP | same answer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, hm, hp, hb, gm, gp, gb, ratio, same in rows:
        print("| %s | %.2f | %.2f | %d | %.2f | %.2f | %d | %.2f | %s |"
              % (name, hm * 1000, hp * 1000, hb, gm * 1000, gp * 1000, gb, ratio,
                 "n/a" if same is None else "yes" if same else "NO"))
    print("\n## Server peak RSS, %d big answers (%s) per fresh server\n" % (args.big_runs, big[0]))
    print("| path | after start-up (MiB) | after the big answers (MiB) | growth (MiB) | s per answer (median) |")
    print("|---|---:|---:|---:|---:|")
    for which in ("http", "grpc"):
        base, peak, took = rss[which]
        print("| %s | %.1f | %.1f | %.1f | %.2f |" % (which, base / 1024, peak / 1024, (peak - base) / 1024, took))
    return 0 if all(r[-1] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
