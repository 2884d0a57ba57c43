#!/usr/bin/env python3
"""/api/v1/status/tsdb and /api/v1/status/walreplay against Prometheus 2.42.

The same series are remote-written to Nightlight and to a real Prometheus
2.42 receiver (PROMETHEUS_RECEIVER_CONFIG has no scrape configs, so its head
holds exactly these series and nothing of its own). Then:
  * the empty heads answer the same TSDB status (numbers and times included:
    Prometheus reports MaxInt64 / MinInt64 for an empty head);
  * the filled heads agree on headStats (numSeries, numLabelPairs,
    chunkCount, minTime, maxTime) and on the four top-10 lists, and both
    match the statistics computed here from the data (Prometheus'
    definitions, tsdb/index/postings.go MemPostings.Stats). Prometheus orders
    equal values at random and keeps a random subset of a tie at the cut, so
    the lists are compared as: the same values in the same order, and the
    same names for every value above the cut; Nightlight's own order (ties
    by name) is checked exactly against the expected lists;
  * Nightlight's `limit` parameter (Prometheus 3.x; 2.42 ignores it);
  * walreplay answers 200 with {"min","max","current"} integers on both, and
    on Nightlight follows its segments across a restart.
Prometheus caches the lists (not headStats) for 30 s after computing them,
so its filled head is asked only once its empty answer has expired.
"""

import sys
import time

import nlharness as h

CHUNK_RANGE_MS = 2 * 3600 * 1000  # both heads cut chunks at 2h boundaries
N_METRICS = 14
TIMES = 3  # samples per series: one chunk each, in both heads
EMPTY_HEAD_TIMES = (2 ** 63 - 1, -(2 ** 63))
STAT_LISTS = ("seriesCountByMetricName", "labelValueCountByLabelName",
              "memoryInBytesByLabelName", "seriesCountByLabelValuePair")


def build_series():
    """Label sets (sorted pair lists): metric i has i + 3 series, so series
    counts per metric differ, dim_<i> has i + 1 distinct values, job and
    instance values repeat across metrics, and `note` needs JSON escaping."""
    out = []
    for i in range(N_METRICS):
        for s in range(i + 3):
            labels = {"__name__": "nl_status_%02d" % i,
                      "instance": "host-%02d" % s,
                      "job": ("api", "db", "cache")[s % 3],
                      "dim_%02d" % i: "d%d" % (s % (i + 1))}
            if i == N_METRICS - 1 and s % 2 == 0:
                labels["note"] = 'x<y>&"z"\\%d' % s
            out.append(sorted(labels.items()))
    return out


def sample_times():
    """TIMES timestamps 1 s apart ending a minute ago, inside one 2h chunk
    range (else each head would cut a second chunk at the boundary)."""
    t_end = (h.now_ms() // 1000) * 1000 - 60000
    first = t_end - (TIMES - 1) * 1000
    if first // CHUNK_RANGE_MS != t_end // CHUNK_RANGE_MS:
        first = (t_end // CHUNK_RANGE_MS) * CHUNK_RANGE_MS
    return [first + k * 1000 for k in range(TIMES)]


def push(port, series, times):
    """One request per timestamp, in time order."""
    for k, t in enumerate(times):
        resp = h.remote_write(port, h.encode_series([(labels, [(t, float(k))]) for labels in series]))
        if resp.status // 100 != 2:
            raise AssertionError("push at %d to port %d: %s" % (t, port, resp))


def expected_stats(series):
    """Full (uncut) maps name -> value of the four lists, and numLabelPairs."""
    pairs = {}
    for labels in series:
        for n, v in labels:
            pairs.setdefault(n, {}).setdefault(v, 0)
            pairs[n][v] += 1
    full = {k: {} for k in STAT_LISTS}
    for n, values in pairs.items():
        full["labelValueCountByLabelName"][n] = len(values)
        # Bytes of the distinct values (Go's len(): UTF-8 bytes), each once.
        full["memoryInBytesByLabelName"][n] = sum(len(v.encode()) for v in values)
        for v, c in values.items():
            full["seriesCountByLabelValuePair"]["%s=%s" % (n, v)] = c
            if n == "__name__":
                full["seriesCountByMetricName"][v] = c
    return full, sum(len(v) for v in pairs.values())


def top(full, limit):
    """Nightlight's order: value descending, ties by name."""
    return [{"name": n, "value": v} for n, v in sorted(full.items(), key=lambda x: (-x[1], x[0]))[:limit]]


def list_problems(got, full, limit):
    """Why `got` is not a valid top-`limit` list of `full`, or None. Any
    order of ties and any subset of a tie at the cut is valid."""
    values = [e.get("value") for e in got]
    want = sorted(full.values(), reverse=True)[:limit]
    if values != want:
        return "values %s, want %s" % (values, want)
    names = [e.get("name") for e in got]
    if len(set(names)) != len(names):
        return "repeated names %s" % names
    wrong = [e for e in got if full.get(e["name"]) != e["value"]]
    if wrong:
        return "entries not in the data: %s" % wrong
    return None


def same_above_cut(a, b, limit):
    """Whether two valid top lists name the same entries for every value
    above the cut (the value of a full list's last entry)."""
    cut = a[-1]["value"] if len(a) == limit and a else -1
    pick = lambda xs: sorted((e["value"], e["name"]) for e in xs if e["value"] > cut)
    return pick(a) == pick(b)


def tsdb(port, params=()):
    return h.api_data(port, "/api/v1/status/tsdb", params)


def walreplay_ok(checks, who, port):
    r = h.api_get(port, "/api/v1/status/walreplay")
    ok = r.status == 200 and r.json().get("status") == "success"
    d = r.json().get("data") if ok else None
    shape = (isinstance(d, dict) and sorted(d) == ["current", "max", "min"]
             and all(type(d[k]) is int for k in d))
    h.log("%s walreplay: %s" % (who, d))
    checks.check("%s: walreplay answers 200 with integer min/max/current" % who, ok and shape, r)
    if shape:
        checks.check("%s: walreplay is finished once ready (min <= current == max)" % who,
                     d["min"] <= d["current"] == d["max"], d)
    return d if shape else None


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    args = p.parse_args()
    if not args.nightlight:
        raise SystemExit("--nightlight BINARY is required")
    checks = h.Checks()
    series = build_series()
    times = sample_times()
    full, num_pairs = expected_stats(series)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        nl = h.Nightlight(args.nightlight, nl_dir)
        try:
            prom.start()
            nl.start()

            # -- empty heads ------------------------------------------------
            prom_empty = tsdb(prom.port)
            asked_prom = time.monotonic()
            nl_empty = tsdb(nl.port)
            checks.check("empty head: the same TSDB status as Prometheus", nl_empty == prom_empty,
                         "nightlight %s\n  prometheus %s" % (nl_empty, prom_empty))
            hs = nl_empty["headStats"]
            checks.check("empty head: no series, min/max time MaxInt64/MinInt64",
                         (hs["numSeries"], hs["chunkCount"], hs["minTime"], hs["maxTime"])
                         == (0, 0) + EMPTY_HEAD_TIMES, hs)

            # -- walreplay --------------------------------------------------
            walreplay_ok(checks, "prometheus", prom.port)
            first = walreplay_ok(checks, "nightlight", nl.port)
            checks.check("nightlight: a fresh WAL replays nothing and writes segment 1",
                         first == {"min": 1, "max": 1, "current": 1}, first)
            for path in ("/api/v1/status/tsdb", "/api/v1/status/walreplay"):
                a = h.request(prom.port, "POST", path).status
                b = h.request(nl.port, "POST", path).status
                checks.check("POST %s: %d like Prometheus" % (path, b), a == b == 405, (a, b))

            # -- filled heads: Nightlight now, Prometheus after its cache ----
            push(prom.port, series, times)
            push(nl.port, series, times)
            want_head = {"numSeries": len(series), "numLabelPairs": num_pairs,
                         "chunkCount": len(series), "minTime": times[0], "maxTime": times[-1]}
            nl_full = tsdb(nl.port)
            checks.check("nightlight: headStats as computed from the data",
                         nl_full["headStats"] == want_head, "%s, want %s" % (nl_full["headStats"], want_head))
            for k in STAT_LISTS:
                checks.check("nightlight: %s is the top 10, ties by name" % k, nl_full[k] == top(full[k], 10),
                             "%s\n  want %s" % (nl_full[k], top(full[k], 10)))

            # -- limit (Prometheus 3.x; 2.42 has none) ------------------------
            three = tsdb(nl.port, [("limit", "3")])
            checks.check("nightlight: limit=3 cuts every list to 3",
                         all(three[k] == top(full[k], 3) for k in STAT_LISTS), three)
            everything = tsdb(nl.port, [("limit", "10000")])
            checks.check("nightlight: limit=10000 lists every pair",
                         len(everything["seriesCountByLabelValuePair"]) == num_pairs,
                         len(everything["seriesCountByLabelValuePair"]))
            for bad, msg in (("0", "limit must be a positive number"), ("-3", "limit must be a positive number"),
                             ("x", "limit must be a positive number"), ("10001", "limit must not exceed 10000")):
                r = h.api_get(nl.port, "/api/v1/status/tsdb", [("limit", bad)])
                checks.check("nightlight: limit=%s is 400 bad_data" % bad,
                             r.status == 400 and r.json() == {"status": "error", "errorType": "bad_data",
                                                              "error": msg}, r)

            # -- restart: the replay is followed and the head comes back ------
            nl.stop()
            nl.start()
            again = walreplay_ok(checks, "nightlight after restart", nl.port)
            checks.check("nightlight: after a restart segment 1 was replayed and 2 is written",
                         again == {"min": 1, "max": 2, "current": 2}, again)
            replayed = tsdb(nl.port)
            checks.check("nightlight: the replayed head has the same TSDB status", replayed == nl_full,
                         "%s\n  before %s" % (replayed, nl_full))

            # -- Prometheus, once its cached empty lists have expired ---------
            wait = asked_prom + 33 - time.monotonic()
            if wait > 0:
                h.log("waiting %.0fs for Prometheus' 30 s cardinality cache" % wait)
                time.sleep(wait)
            prom_full = tsdb(prom.port)
            checks.check("prometheus: headStats as computed from the data (validates the test)",
                         prom_full["headStats"] == want_head, "%s, want %s" % (prom_full["headStats"], want_head))
            checks.check("headStats equal to Prometheus'", nl_full["headStats"] == prom_full["headStats"],
                         "%s\n  prometheus %s" % (nl_full["headStats"], prom_full["headStats"]))
            for k in STAT_LISTS:
                why = list_problems(prom_full[k], full[k], 10)
                checks.check("prometheus: %s is a top 10 of the data (validates the test)" % k, why is None, why)
                checks.check("%s: same values and names above the cut as Prometheus" % k,
                             [e["value"] for e in nl_full[k]] == [e["value"] for e in prom_full[k]]
                             and same_above_cut(nl_full[k], prom_full[k], 10),
                             "%s\n  prometheus %s" % (nl_full[k], prom_full[k]))
            checks.check("both answer exactly the same keys",
                         sorted(nl_full) == sorted(prom_full) and sorted(nl_full["headStats"])
                         == sorted(prom_full["headStats"]), (sorted(nl_full), sorted(prom_full)))
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
