#!/usr/bin/env python3
"""`stats` on /api/v1/query and /api/v1/query_range against Prometheus 2.42
(with --enable-feature=promql-per-step-stats, which its stats=all needs):
both receive the data set of promql_differential.py, then every query of
differential_queries.txt runs with stats=all as instant queries at several
times and as range queries. Where Prometheus answers, Nightlight must report
the same samples: totalQueryableSamples, peakSamples and every entry of
totalQueryableSamplesPerStep, equal. Timings are the servers' own: all six
present, numbers, not negative. Any other `stats` value gives timings and
samples without the per-step list; no `stats`, no data.stats.

Prometheus' peak depends on the order its storage hands out series, which
for a head without blocks is the order they were first written: the data
set is therefore written with every request's series sorted by labels, so
that it is label order, as it is whenever Prometheus reads blocks.
"""

import sys

import nlharness as h
import promql_differential as pd

TIMINGS = ("evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime",
           "execQueueTime", "execTotalTime")


def push_sorted(port, series, times):
    by_time = {}
    for labels, samples in series.items():
        for t, v in samples:
            by_time.setdefault(t, []).append((list(labels), [(t, v)]))
    for t in times:
        entries = sorted(by_time.get(t, []), key=lambda e: e[0])
        resp = h.remote_write(port, h.encode_series(entries))
        if resp.status // 100 != 2:
            raise AssertionError("push at %d to port %d: %s" % (t, port, resp))


def timings_ok(stats):
    t = stats.get("timings", {})
    return list(t) == list(TIMINGS) and all(isinstance(v, (int, float)) and v >= 0 for v in t.values())


def compare_stats(ref, got):
    """None when the samples agree, else what differs."""
    if ref.get("status") != "success":
        return None  # errors carry no stats
    if got.get("status") != "success":
        return "nightlight failed: %s" % got.get("error")
    rs, gs = ref["data"].get("stats"), got["data"].get("stats")
    if gs is None:
        return "no data.stats"
    if not timings_ok(gs):
        return "timings %s" % gs.get("timings")
    if list(gs) != list(rs) or list(gs["samples"]) != list(rs["samples"]):
        return "keys %s vs %s" % (list(gs["samples"]), list(rs["samples"]))
    r, g = rs["samples"], gs["samples"]
    diffs = []
    for k in ("totalQueryableSamples", "peakSamples"):
        if r[k] != g[k]:
            diffs.append("%s %d, prometheus %d" % (k, g[k], r[k]))
    rp, gp = r.get("totalQueryableSamplesPerStep"), g.get("totalQueryableSamplesPerStep")
    if rp != gp:
        bad = [(a, b) for a, b in zip(gp or [], rp or []) if a != b][:2]
        diffs.append("per step: %d vs %d entries, first differences %s" % (len(gp or []), len(rp or []), bad))
    return "; ".join(diffs) or None


def read_samples(ref):
    """Whether Prometheus' answer counts samples read (its stats compared)."""
    if ref.get("status") != "success":
        return False
    return ref["data"].get("stats", {}).get("samples", {}).get("totalQueryableSamples", 0) > 0


def run(checks, prom, nl, queries, instants, ranges, t_start):
    with_samples = 0
    for q in queries:
        diffs = []
        read = False
        for t in instants:
            params = [("query", q), ("time", "%.3f" % (t / 1000)), ("stats", "all")]
            ref = h.api_get(prom.port, "/api/v1/query", params).json()
            read |= read_samples(ref)
            d = compare_stats(ref, h.api_get(nl.port, "/api/v1/query", params).json())
            if d:
                diffs.append("instant@%d: %s" % ((t - t_start) // 1000, d))
        for start, end, step in ranges:
            params = [("query", q), ("start", "%.3f" % (start / 1000)), ("end", "%.3f" % (end / 1000)),
                      ("step", "%g" % (step / 1000)), ("stats", "all")]
            ref = h.api_get(prom.port, "/api/v1/query_range", params).json()
            read |= read_samples(ref)
            d = compare_stats(ref, h.api_get(nl.port, "/api/v1/query_range", params).json())
            if d:
                diffs.append("range step %ds: %s" % (step // 1000, d))
        with_samples += read
        checks.check("stats: " + q, not diffs, "; ".join(diffs)[:700])
    # Errors are not compared, and zero against zero proves little: most
    # queries must have read samples (not those of numbers and time() alone:
    # 166 of 197 do).
    h.log("%d of %d queries read samples" % (with_samples, len(queries)))
    checks.check("stats: most queries read samples", with_samples * 5 >= len(queries) * 4,
                 "%d of %d queries read samples" % (with_samples, len(queries)))


def check_parameter_values(checks, prom, nl, t):
    q = "sum(rate(http_requests_total[5m]))"
    for value in ("1", "true", "x"):
        for name, port in (("nightlight", nl.port), ("prometheus", prom.port)):
            doc = h.api_get(port, "/api/v1/query", [("query", q), ("time", "%.3f" % (t / 1000)),
                                                    ("stats", value)]).json()
            st = doc.get("data", {}).get("stats", {})
            checks.check("%s: stats=%s gives timings and samples without the per-step list" % (name, value),
                         timings_ok(st) and list(st.get("samples", {})) == ["totalQueryableSamples", "peakSamples"],
                         st)
    for name, port in (("nightlight", nl.port), ("prometheus", prom.port)):
        doc = h.api_get(port, "/api/v1/query", [("query", q), ("time", "%.3f" % (t / 1000))]).json()
        checks.check("%s: no stats without the parameter" % name, "stats" not in doc.get("data", {}), doc)
        doc = h.api_get(port, "/api/v1/query", [("query", q), ("time", "%.3f" % (t / 1000)), ("stats", "")]).json()
        checks.check("%s: an empty stats parameter is none" % name, "stats" not in doc.get("data", {}), doc)


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--queries", default=pd.QUERIES_FILE)
    args = p.parse_args()
    checks = h.Checks()
    t_start, t_mid, t_end, series, times = pd.data_hour()
    queries = pd.load_queries(args.queries, t_mid, t_end)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True,
                            extra_args=["--enable-feature=promql-per-step-stats"])
        nl = h.Nightlight(args.nightlight, nl_dir)
        try:
            prom.start()
            nl.start()
            push_sorted(prom.port, series, times)
            push_sorted(nl.port, series, times)
            instants = [t_mid, t_end, t_start + 17 * 60000 + 7000]
            ranges = [(t_start + 5 * 60000, t_end, 60000), (t_start, t_end + 300000, 37000)]
            run(checks, prom, nl, queries, instants, ranges, t_start)
            check_parameter_values(checks, prom, nl, t_end)
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
