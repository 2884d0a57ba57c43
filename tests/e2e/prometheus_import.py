#!/usr/bin/env python3
"""Prometheus history survives the move to Nightlight.

An OpenMetrics file with a few series over several hours (counters with a
reset, a gauge holding NaN, +Inf, -Inf, -0.0, 0.1 and other decimals, a
series with timestamps at x.25 s, label values with a space and a
non-ASCII letter) is turned into real Prometheus blocks by `promtool tsdb
create-blocks-from openmetrics`. `nightlight-tsdb import-prometheus PROMDIR
NLDATA` converts them; Nightlight then starts on NLDATA and must answer:
  * /api/v1/series lists exactly the input's series;
  * `metric[range]` at the end holds exactly the input's samples, same
    timestamps, same values bit for bit (NaN as NaN), nothing more;
  * count_over_time agrees;
and the Prometheus directory is left byte for byte as it was, and
`nightlight-tsdb check NLDATA` finds nothing wrong.

With --server prometheus the same checks run against Prometheus 2.42
started on the promtool output (no import): that validates the test.

With --from-server the blocks are instead cut from its head and compacted
by a running `prometheus` (2.42, 5m blocks merged into 15m ones by its
own compactor: hidden flags --storage.tsdb.min/max-block-duration), fed
the same samples in time order through its remote-write receiver. Its
whole data directory (blocks, wal, chunks_head, lock) is imported; the
checks above then hold for the samples its blocks cover, and at least one
imported block must have been compacted (level 2 or more).
"""

import hashlib
import json
import math
import os
import random
import subprocess
import time

import nlharness as h

HOUR_S = 3600
METRICS = ["e2e_requests_total", "e2e_temperature", "e2e_up", "e2e_build_info"]


def make_samples(rnd, start_s, end_s):
    """{(metric, labels tuple): [(t_ms, value text)]} and the OpenMetrics text."""
    series = {}
    lines = []

    def add(metric, labels, t_text, v_text):
        key = (metric, tuple(sorted(labels.items())))
        series.setdefault(key, []).append((int(float(t_text) * 1000), v_text))
        lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
        lines.append("%s{%s} %s %s" % (metric, lab, v_text, t_text))

    lines.append("# TYPE e2e_requests counter")
    for code in ("200", "500"):
        v = 0
        step = 15 if code == "200" else 60
        for i, t in enumerate(range(start_s, end_s, step)):
            v = 0 if (code == "500" and i == 100) else v + rnd.randint(0, 9)
            add("e2e_requests_total", {"code": code, "job": "api"}, str(t), str(v))
    lines.append("# TYPE e2e_temperature gauge")
    specials = {3: "NaN", 4: "+Inf", 5: "-Inf", 6: "0.1", 7: "-0.0", 8: "1e-300", 9: "-273.15",
                400: "NaN", 401: "0.1", 555: "+Inf"}
    for room in ("lab", "hall"):
        for i, t in enumerate(range(start_s, end_s, 30)):
            v = specials.get(i, "%.3f" % (20 + rnd.gauss(0, 3))) if room == "lab" else "%.1f" % (i % 17)
            add("e2e_temperature", {"room": room}, str(t), v)
    lines.append("# TYPE e2e_up gauge")
    for i, t in enumerate(range(start_s, end_s, 20)):
        add("e2e_up", {"job": "api"}, "%d.25" % t, "0" if i % 101 == 0 else "1")
    lines.append("# TYPE e2e_build_info gauge")
    for t in range(start_s, end_s, 900):
        add("e2e_build_info", {"version": "1.2.3 (beta)", "name": "n\u00e4cht"}, str(t), "1")
    lines.append("# EOF")
    return series, "\n".join(lines) + "\n"


def tree_digest(path):
    """sha256 over every file's relative path and content."""
    d = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            d.update(os.path.relpath(p, path).encode() + b"\0")
            with open(p, "rb") as f:
                d.update(f.read())
    return d.hexdigest()


def same_value(got_text, want_text):
    got, want = float(got_text), float(want_text)
    if math.isnan(want):
        return math.isnan(got)
    # Exact, including the sign of zero: the API prints the shortest
    # decimal that reads back as the same double.
    return got == want and math.copysign(1, got) == math.copysign(1, want)


def verify(checks, port, series, end_s, span_s):
    at = "%.3f" % (end_s + 1)
    want_keys = {(m, labels) for m, labels in series}
    listed = h.api_data(port, "/api/v1/series", [("match[]", '{__name__=~"e2e_.+"}'),
                                                 ("start", str(end_s - span_s - 60)), ("end", at)])
    have_keys = {(s["__name__"], tuple(sorted((k, v) for k, v in s.items() if k != "__name__")))
                 for s in listed}
    checks.check("series: exactly the %d input series listed" % len(want_keys), have_keys == want_keys,
                 "missing %s, extra %s" % (sorted(want_keys - have_keys)[:3], sorted(have_keys - want_keys)[:3]))

    window = "%ds" % (span_s + 600)
    for metric in METRICS:
        res = h.api_data(port, "/api/v1/query", [("query", "%s[%s]" % (metric, window)), ("time", at)],
                         timeout=30)
        stored = {}
        for s in res["result"]:
            labels = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
            stored[(metric, labels)] = [(round(float(t) * 1000), v) for t, v in s["values"]]
        for key, want in sorted(series.items()):
            if key[0] != metric:
                continue
            got = stored.get(key, [])
            times_ok = [t for t, _ in got] == [t for t, _ in want]
            wrong = [(t, g, w) for (t, g), (_, w) in zip(got, want) if not same_value(g, w)] if times_ok else []
            name = "%s%s" % (metric, dict(key[1]))
            checks.check("%s: all %d samples at their timestamps" % (name, len(want)), times_ok,
                         "got %d samples, first differences %s" % (
                             len(got), [(a, b) for a, b in zip(got, want) if a[0] != b[0]][:3]))
            checks.check("%s: every value exact" % name, not wrong, wrong[:5])
        extra = sorted(set(stored) - set(series))
        checks.check("%s: no series that was not in the input" % metric, not extra, extra[:3])

        counts = h.api_data(port, "/api/v1/query", [
            ("query", "count_over_time(%s[%s])" % (metric, window)), ("time", at)], timeout=30)
        by_key = {tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__")):
                  int(float(s["value"][1])) for s in counts["result"]}
        bad = [(k, by_key.get(k[1]), len(v)) for k, v in series.items()
               if k[0] == metric and by_key.get(k[1]) != len(v)]
        checks.check("%s: count_over_time agrees with the input" % metric, not bad, bad[:3])


def prometheus_server_blocks(checks, prom_work, series):
    """Feeds `series` to a Prometheus server cutting 5m blocks and merging
    them into 15m ones, in time order (its head refuses samples far behind
    its newest), until its compactor has written a level 2 block; stops it.
    Returns the blocks' [min, max) time in ms, or None."""
    prom = h.Prometheus(prom_work, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True,
                        extra_args=["--storage.tsdb.min-block-duration=5m",
                                    "--storage.tsdb.max-block-duration=15m"])
    samples = sorted((t, key, v) for key, vs in series.items() for t, v in vs)

    def metas():
        out = []
        for d in os.listdir(prom.tsdb):
            path = os.path.join(prom.tsdb, d, "meta.json")
            if len(d) == 26 and os.path.exists(path):
                with open(path) as f:
                    out.append(json.load(f))
        return out

    try:
        prom.start()
        step_ms = 60000  # one minute of samples a request
        refused = []
        i = 0
        while i < len(samples):
            j = i
            while j < len(samples) and samples[j][0] < samples[i][0] + step_ms:
                j += 1
            per_series = {}
            for t, key, v in samples[i:j]:
                per_series.setdefault(key, []).append((t, float(v)))
            body = h.encode_series([(sorted([("__name__", k[0])] + list(k[1])), ss)
                                    for k, ss in per_series.items()])
            r = h.remote_write(prom.port, body)
            if r.status not in (200, 204):
                refused.append((samples[i][0], r))
            i = j
        if not checks.check("Prometheus took every request", not refused, refused[:3]):
            return None

        h.wait_until("Prometheus compacted 5m blocks into a 15m block",
                     lambda: any(m["compaction"]["level"] >= 2 for m in metas()), 120)
        time.sleep(1.0)  # let a compaction in progress finish its renames
    finally:
        prom.stop()
    ms = metas()
    levels = sorted(m["compaction"]["level"] for m in ms)
    h.log("Prometheus blocks: %d, compaction levels %s" % (len(ms), levels))
    checks.check("Prometheus cut several blocks and compacted one (levels %s)" % levels,
                 len(ms) >= 2 and levels[-1] >= 2)
    return min(m["minTime"] for m in ms), max(m["maxTime"] for m in ms)


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--tsdb", help="path of the nightlight-tsdb binary")
    p.add_argument("--hours", type=int, default=5, help="hours of history (several Prometheus blocks)")
    p.add_argument("--seed", type=int, default=20261205)
    p.add_argument("--from-server", action="store_true",
                   help="blocks cut and compacted by a running prometheus instead of promtool's")
    args = p.parse_args()
    if args.server == "nightlight" and not args.tsdb:
        raise SystemExit("--tsdb BINARY is required with --server nightlight")
    if args.from_server and args.server != "nightlight":
        raise SystemExit("--from-server checks an import: --server nightlight only")
    rnd = random.Random(args.seed)
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        # History ending ten minutes ago (well inside any retention).
        end_s = int(time.time()) - 600
        span_s = args.hours * HOUR_S
        series, text = make_samples(rnd, end_s - span_s, end_s)
        om = os.path.join(work, "input.om")
        with open(om, "w", encoding="utf-8") as f:
            f.write(text)
        h.log("%d series, %d samples over %d h" % (len(series), sum(map(len, series.values())), args.hours))

        prom_work = os.path.join(work, "prom")
        os.makedirs(prom_work)
        promdir = os.path.join(prom_work, "tsdb")  # where h.Prometheus keeps its TSDB
        if args.from_server:
            covered = prometheus_server_blocks(checks, prom_work, series)
            if covered is None:
                return checks.finish()
            # What the blocks hold; the rest stayed in Prometheus' head.
            series = {k: [(t, v) for t, v in vs if covered[0] <= t < covered[1]] for k, vs in series.items()}
            series = {k: vs for k, vs in series.items() if vs}
            h.log("the blocks cover [%d, %d): %d series, %d samples" % (
                covered[0], covered[1], len(series), sum(map(len, series.values()))))
        else:
            r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, promdir],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                checks.check("promtool create-blocks-from succeeded", False, r.stdout + r.stderr)
                return checks.finish()
        blocks = sorted(d for d in os.listdir(promdir) if len(d) == 26)
        if not checks.check("Prometheus wrote several blocks (%d)" % len(blocks), len(blocks) >= 2):
            return checks.finish()

        if args.server == "prometheus":
            target = h.Prometheus(prom_work, h.PROMETHEUS_RECEIVER_CONFIG)
        else:
            nl_work = os.path.join(work, "nl")
            os.makedirs(nl_work)
            # The server's data dir is <workdir>/data: import straight into it.
            target = h.Nightlight(args.nightlight, nl_work)
            digest = tree_digest(promdir)
            r = subprocess.run([args.tsdb, "import-prometheus", promdir, target.data_dir],
                               capture_output=True, text=True, timeout=120)
            h.log("import-prometheus exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
            if not checks.check("nightlight-tsdb import-prometheus succeeded", r.returncode == 0,
                                "(does this nightlight-tsdb have the import-prometheus command?)"):
                return checks.finish()
            checks.check("the Prometheus directory is unchanged", tree_digest(promdir) == digest)
            imported = sorted(d for d in os.listdir(os.path.join(target.data_dir, "blocks")) if len(d) == 26)
            checks.check("one Nightlight block per Prometheus block (%d)" % len(imported),
                         len(imported) == len(blocks), imported)
            r = subprocess.run([args.tsdb, "check", target.data_dir], capture_output=True, text=True, timeout=120)
            checks.check("nightlight-tsdb check finds the imported data dir sound", r.returncode == 0,
                         (r.stdout + r.stderr)[-2000:])
        try:
            target.start()
            h.log("%s on port %d" % (target.name, target.port))
            verify(checks, target.port, series, end_s, span_s)
        finally:
            target.stop()
    return checks.finish()


if __name__ == "__main__":
    raise SystemExit(main())
