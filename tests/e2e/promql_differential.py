#!/usr/bin/env python3
"""Differential PromQL test: the real Prometheus 2.42 (remote-write receiver)
and Nightlight receive the same remote-written data; every query of
differential_queries.txt then runs against both, as instant queries at
several times and as range queries, and the answers must match: same result
type, same label sets, same timestamps, values equal within a relative 1e-9
(NaN equal to NaN), same order where the query orders (sort, sort_desc), and
the same error type where Prometheus refuses.

With --block-duration (e.g. 10m) Nightlight cuts the hour into persistent
blocks: the queries run once the data lies in at least three blocks plus
the head, then again after a restart that merges those blocks into larger
ones: answers over head + blocks must equal Prometheus' in both states.

The data set (one hour at a 15 s interval, ending a minute ago) has counters
with a reset, gauges with negative values, classic histograms, a summary with
NaN quantiles, a series that goes stale and comes back, and a series that
starts late.
"""

import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP_MS = 15000
HOUR_MS = 3600 * 1000


QUERIES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "differential_queries.txt")


def data_hour():
    """(t_start, t_mid, t_end, series, times): the data set over an hour that
    ends a minute ago, aligned to the scrape interval, so that no receiver
    sees samples from the future."""
    t_end = (h.now_ms() // STEP_MS) * STEP_MS - 60000
    t_start = t_end - HOUR_MS
    series, times = build_data(t_start)
    return t_start, t_start + HOUR_MS // 2, t_end, series, times


def build_data(t_start):
    """{labels tuple: [(t, v), ...]} for one hour from t_start (ms)."""
    rnd = random.Random(42)
    series = {}
    times = [t_start + i * STEP_MS for i in range(HOUR_MS // STEP_MS + 1)]

    def add(labels, fn):
        key = tuple(sorted(labels.items()))
        series[key] = [(t, v) for t, v in ((t, fn(i, t)) for i, t in enumerate(times)) if v is not None]

    for job in ("api", "web"):
        for inst in ("host-1", "host-2", "host-3"):
            for method in ("GET", "POST"):
                for code in ("200", "500"):
                    rate = rnd.uniform(0.1, 5.0) * (0.1 if code == "500" else 1.0)
                    increments = [rnd.uniform(0.5, 1.5) * rate * 15 for _ in times]
                    values, acc = [], 0.0
                    for i in range(len(times)):
                        acc += round(increments[i], 3)
                        if job == "api" and inst == "host-1" and method == "GET" and code == "200" and i == 80:
                            acc = 3.0  # counter reset
                        values.append(acc)
                    add({"__name__": "http_requests_total", "job": job, "instance": inst,
                         "method": method, "code": code}, lambda i, t, v=values: v[i])
    for n, inst in enumerate(("host-1", "host-2", "host-3")):
        base = 1.5e9 + n * 5e8
        add({"__name__": "node_memory_free_bytes", "job": "node", "instance": inst},
            lambda i, t, b=base, k=n: b + 1e6 * i * (k - 1) + 3e7 * math.sin(i / 7.0))
        add({"__name__": "temperature_celsius", "job": "sensors", "instance": inst, "room": "abc"[n]},
            lambda i, t, k=n: 20.0 if i % 17 == 0 else round(15 + 20 * math.sin(i / 11.0 + k), 2))
    # Present, then a staleness marker at 20m, gone until 40m, back again.
    add({"__name__": "flappy_gauge", "instance": "host-1"},
        lambda i, t: h.stale_nan() if i == 80 else (None if 80 < i < 160 else float(i % 9)))
    add({"__name__": "flappy_gauge", "instance": "host-2"}, lambda i, t: float(i % 5))
    add({"__name__": "late_series", "job": "late"}, lambda i, t: None if i < 180 else float(i * 2))
    for q in ("0.5", "0.99"):
        add({"__name__": "nan_summary", "job": "api", "quantile": q},
            lambda i, t, q=q: float("nan") if i % 4 == 0 else float(q) * (i % 13))
    bounds = ("0.1", "0.25", "0.5", "1", "2.5", "+Inf")
    for job in ("api", "web"):
        cum = [0.0] * len(bounds)
        total = [0.0]
        per_step = []
        for i in range(len(times)):
            obs = [rnd.uniform(0, 3) for _ in range(rnd.randint(5, 20))]
            for j, b in enumerate(bounds):
                cum[j] += sum(1 for o in obs if b == "+Inf" or o <= float(b))
            total[0] += round(sum(obs), 4)
            per_step.append((list(cum), total[0], cum[-1]))
        for j, b in enumerate(bounds):
            add({"__name__": "http_request_duration_seconds_bucket", "job": job, "instance": "host-1",
                 "le": b}, lambda i, t, j=j, p=per_step: p[i][0][j])
        add({"__name__": "http_request_duration_seconds_sum", "job": job, "instance": "host-1"},
            lambda i, t, p=per_step: p[i][1])
        add({"__name__": "http_request_duration_seconds_count", "job": job, "instance": "host-1"},
            lambda i, t, p=per_step: p[i][2])
    return series, times


def push(port, series, times):
    """One request per timestamp, in time order (both receivers reject
    samples far behind their newest one)."""
    by_time = {}
    for labels, samples in series.items():
        for t, v in samples:
            by_time.setdefault(t, []).append((list(labels), [(t, v)]))
    for t in times:
        entries = by_time.get(t, [])
        resp = h.remote_write(port, h.encode_series(entries))
        if resp.status // 100 != 2:
            raise AssertionError("push at %d to port %d: %s" % (t, port, resp))


def load_queries(path, t_mid, t_end):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            out.append(line.replace("{T_MID}", "%.3f" % (t_mid / 1000)).replace(
                "{T_END}", "%.3f" % (t_end / 1000)))
    return out


def value_eq(a, b):
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y)) or abs(x - y) <= 1e-12


def key_of(metric):
    return tuple(sorted(metric.items()))


def compare(query, ref, got, value_eq=value_eq):
    """None when equal, else a one-line description of the first difference.
    `value_eq` compares two values as strings of the JSON answer."""
    if ref.get("status") != got.get("status"):
        return "status %s vs %s (%s)" % (ref.get("status"), got.get("status"),
                                         got.get("error") or ref.get("error"))
    if ref["status"] == "error":
        if ref.get("errorType") != got.get("errorType"):
            return "errorType %s vs %s (%s | %s)" % (ref.get("errorType"), got.get("errorType"),
                                                    ref.get("error"), got.get("error"))
        return None
    rd, gd = ref["data"], got["data"]
    if rd["resultType"] != gd["resultType"]:
        return "resultType %s vs %s" % (rd["resultType"], gd["resultType"])
    rt, rr, gr = rd["resultType"], rd["result"], gd["result"]
    if rt in ("scalar", "string"):
        if rr[0] != gr[0] or not (value_eq(rr[1], gr[1]) if rt == "scalar" else rr[1] == gr[1]):
            return "%s %s vs %s" % (rt, rr, gr)
        return None
    ordered = query.startswith("sort")
    if ordered and rt == "vector":
        if [key_of(s["metric"]) for s in rr] != [key_of(s["metric"]) for s in gr]:
            return "order differs: %s vs %s" % ([s["metric"] for s in rr][:3], [s["metric"] for s in gr][:3])
    rmap = {key_of(s["metric"]): s for s in rr}
    gmap = {key_of(s["metric"]): s for s in gr}
    if len(rmap) != len(rr) or len(gmap) != len(gr):
        return "duplicate label sets in a result"
    if set(rmap) != set(gmap):
        missing = set(rmap) - set(gmap)
        extra = set(gmap) - set(rmap)
        return "label sets differ: missing %s extra %s" % (list(missing)[:2], list(extra)[:2])
    for k, rs in rmap.items():
        gs = gmap[k]
        if rt == "vector":
            if rs["value"][0] != gs["value"][0] or not value_eq(rs["value"][1], gs["value"][1]):
                return "%s: %s vs %s" % (dict(k), rs["value"], gs["value"])
        else:
            rv, gv = rs.get("values", []), gs.get("values", [])
            if len(rv) != len(gv):
                return "%s: %d points vs %d" % (dict(k), len(rv), len(gv))
            for p, q in zip(rv, gv):
                if p[0] != q[0] or not value_eq(p[1], q[1]):
                    return "%s: point %s vs %s" % (dict(k), p, q)
    return None


def has_data(answer):
    """Whether a successful answer holds a sample (a scalar or string counts)."""
    if answer.get("status") != "success":
        return False
    d = answer["data"]
    return d["resultType"] in ("scalar", "string") or any(s.get("value") or s.get("values") for s in d["result"])


def run_queries(checks, label, prom, nl, queries, instants, ranges, t_start):
    with_data = 0
    for q in queries:
        diffs = []
        data = False
        for t in instants:
            params = [("query", q), ("time", "%.3f" % (t / 1000))]
            ref = h.api_get(prom.port, "/api/v1/query", params).json()
            got = h.api_get(nl.port, "/api/v1/query", params).json()
            data |= has_data(ref)
            d = compare(q, ref, got)
            if d:
                diffs.append("instant@%d: %s" % ((t - t_start) // 1000, d))
        for start, end, step in ranges:
            params = [("query", q), ("start", "%.3f" % (start / 1000)),
                      ("end", "%.3f" % (end / 1000)), ("step", "%g" % (step / 1000))]
            ref = h.api_get(prom.port, "/api/v1/query_range", params).json()
            got = h.api_get(nl.port, "/api/v1/query_range", params).json()
            data |= has_data(ref)
            d = compare(q, ref, got)
            if d:
                diffs.append("range step %ds: %s" % (step // 1000, d))
        with_data += data
        checks.check(label + q, not diffs, "; ".join(diffs)[:600])
    # Equal answers prove little when they are empty: most queries must
    # have found samples in Prometheus' answer.
    h.log("%s%d of %d queries answered with data" % (label, with_data, len(queries)))
    checks.check(label + "most queries answered with data", with_data * 10 >= len(queries) * 9,
                 "%d of %d queries had data" % (with_data, len(queries)))


def check_storage_metrics(checks, prom, nl, t_end):
    """The block and head gauges of /metrics against the blocks on disk and
    /api/v1/status/tsdb, before and after new series (sent to Prometheus
    too, so that the answers compared afterwards stay alike)."""
    bdir = os.path.join(nl.data_dir, "blocks")
    blocks = [d for d in os.listdir(bdir) if len(d) == 26]
    files = sum(os.path.getsize(os.path.join(bdir, d, f)) for d in blocks for f in ("index", "chunks"))
    m = h.scrape_metrics(nl.port)
    loaded, block_bytes = h.metric_sum(m, "nightlight_blocks_loaded"), h.metric_sum(m, "nightlight_block_bytes")
    # A block counts its index and chunks, and meta.json as 512 bytes.
    checks.check("/metrics: blocks loaded and their bytes as on disk",
                 loaded == len(blocks) and block_bytes == files + 512 * len(blocks), (loaded, block_bytes, files))
    runs = h.metric_sum(m, "nightlight_compactions_total")
    timed = sum(v for (n, _), v in m.items() if n == "nightlight_compaction_duration_seconds_count")
    checks.check("/metrics: every compaction timed", runs >= len(blocks) and timed == runs, (runs, timed))

    def chunks_agree(at_least):
        want = h.api_get(nl.port, "/api/v1/status/tsdb").json()["data"]["headStats"]["chunkCount"]
        got = h.metric_sum(h.scrape_metrics(nl.port), "nightlight_head_chunks")
        return (want, got) if want == got and want >= at_least else None
    # The gauge is brought up to date when the compactor next looks.
    before = h.eventually(lambda: chunks_agree(1), 30)
    checks.check("/metrics: nightlight_head_chunks equals headStats.chunkCount", before is not None)
    # Five new series, one chunk each, with no cut: the gauge follows.
    extra = {(("__name__", "gauge_probe"), ("i", str(i))): [(t_end, float(i))] for i in range(5)}
    for port in (prom.port, nl.port):
        push(port, extra, [t_end])
    checks.check("/metrics: nightlight_head_chunks follows five new series",
                 before is not None and h.eventually(lambda: chunks_agree(before[0] + 5), 30) is not None)


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--queries", default=QUERIES_FILE)
    p.add_argument("--block-duration", help="storage.block_duration for Nightlight (e.g. 10m)")
    args = p.parse_args()
    checks = h.Checks()
    t_start, t_mid, t_end, series, times = data_hour()
    queries = load_queries(args.queries, t_mid, t_end)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        extra = None
        if args.block_duration:
            # No merges at first: the cut blocks stay as they are.
            extra = {"storage": {"block_duration": args.block_duration, "compaction_interval_seconds": 3600}}
        nl = h.Nightlight(args.nightlight, nl_dir, extra_config=extra)
        try:
            prom.start()
            nl.start()
            push(prom.port, series, times)
            push(nl.port, series, times)
            instants = [t_mid, t_end, t_start + 17 * 60000 + 7000, t_end + 150000]
            ranges = [(t_start + 5 * 60000, t_end, 60000), (t_start, t_end + 300000, 37000)]
            if not args.block_duration:
                run_queries(checks, "", prom, nl, queries, instants, ranges, t_start)
            else:
                s = h.wait_compactor_settled(checks, nl, "the data lies in >= 3 blocks and the head",
                                             lambda loaded, written: loaded >= 3, 90)
                cut = s[0] if s else None
                check_storage_metrics(checks, prom, nl, t_end)
                run_queries(checks, "blocks: ", prom, nl, queries, instants, ranges, t_start)
                nl.stop()
                extra["storage"]["compaction_interval_seconds"] = 1
                nl.write_config()
                nl.start()
                h.wait_compactor_settled(checks, nl, "after the restart the blocks are merged",
                                         lambda loaded, written: cut is not None and written >= 1 and loaded < cut,
                                         90)
                run_queries(checks, "merged, after restart: ", prom, nl, queries, instants, ranges, t_start)
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
