#!/usr/bin/env python3
"""The admin API (/api/v1/admin/tsdb/*) against the real Prometheus 2.42.

The same hour of data (15 s interval, ending a minute ago) goes to
Nightlight (enable_admin_api, 10-minute blocks: the data lies in several
blocks and the head) and to Prometheus started with --web.enable-admin-api.
Then, on both:

1. snapshot (and snapshot?skip_head=true): the answer's shape, and for
   Nightlight the directory: one directory per block with meta.json,
   `nightlight-tsdb check` passes on it, and a server started on a copy of
   its blocks answers like Prometheus;
2. delete_series with matchers and time ranges (in the blocks, in the head,
   across both, all time): raw samples (`metric[2h]`) and /api/v1/series
   must then be equal on both servers;
3. the same after Nightlight restarts (tombstones files, WAL replay);
4. clean_tombstones: equal again, and no Nightlight block keeps a
   tombstones file; then once more after a restart that merges blocks;
5. with the admin API disabled both answer every admin path 500
   {"status":"error","errorType":"unavailable","error":"admin APIs disabled"}.
"""

import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP_MS = 15000
HOUR_MS = 3600 * 1000
MINUTE_MS = 60000
NAME_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{16}$")
ADMIN_PATHS = ("/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series",
               "/api/v1/admin/tsdb/clean_tombstones")


def build_data(t_start):
    """{labels tuple: [(t, v)]}: adm_metric for two jobs and three
    instances, adm_other for two instances."""
    times = [t_start + i * STEP_MS for i in range(HOUR_MS // STEP_MS + 1)]
    series = {}
    for j, job in enumerate(("a", "b")):
        for k, inst in enumerate(("i1", "i2", "i3")):
            key = tuple(sorted({"__name__": "adm_metric", "job": job, "instance": inst}.items()))
            series[key] = [(t, float(i * (j + 1) + k) + 0.5) for i, t in enumerate(times)]
    for inst in ("i1", "i2"):
        key = tuple(sorted({"__name__": "adm_other", "instance": inst}.items()))
        series[key] = [(t, math.sin(i / 10.0)) for i, t in enumerate(times)]
    return series, times


def push(port, series, times):
    by_time = {}
    for labels, samples in series.items():
        for t, v in samples:
            by_time.setdefault(t, []).append((list(labels), [(t, v)]))
    for t in times:
        resp = h.remote_write(port, h.encode_series(by_time.get(t, [])))
        if resp.status // 100 != 2:
            raise AssertionError("push at %d to port %d: %s" % (t, port, resp))


def admin(port, path, params=(), method="POST"):
    """An admin call with form parameters in the body."""
    body = urllib.parse.urlencode(list(params))
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    return h.request(port, method, path, body=body.encode() if body else None, headers=headers, timeout=60)


def value_eq(a, b):
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y


def raw(port, metric, t_end):
    """{labels: [(t, value)]} of metric[2h] at t_end + 1 m."""
    d = h.api_data(port, "/api/v1/query", [("query", metric + "[2h]"), ("time", "%.3f" % (t_end / 1000 + 60))])
    return {tuple(sorted(s["metric"].items())): [(p[0], p[1]) for p in s["values"]] for s in d["result"]}


def diff_raw(ref, got):
    if set(ref) != set(got):
        return "series differ: only Prometheus %s, only Nightlight %s" % (
            sorted(set(ref) - set(got))[:3], sorted(set(got) - set(ref))[:3])
    for k in ref:
        a, b = ref[k], got[k]
        if len(a) != len(b):
            return "%s: %d samples vs %d" % (dict(k), len(a), len(b))
        for p, q in zip(a, b):
            if p[0] != q[0] or not value_eq(p[1], q[1]):
                return "%s: %s vs %s" % (dict(k), p, q)
    return None


def series_set(port, match, start=None, end=None):
    return sorted(tuple(sorted(s.items())) for s in h.series(port, match, start, end))


def compare(checks, label, prom, nl, t_start, t_end):
    with_samples = set()
    for metric in ("adm_metric", "adm_other"):
        ref = raw(prom.port, metric, t_end)
        with_samples |= set(ref)
        d = diff_raw(ref, raw(nl.port, metric, t_end))
        checks.check("%s: %s[2h] raw samples equal" % (label, metric), d is None, d or "")
    for match in ("adm_metric", "adm_other", '{__name__=~"adm_.*"}'):
        ref = series_set(prom.port, match)
        got = series_set(nl.port, match)
        # Prometheus 2.42 still lists a series whose head samples were all
        # deleted (its open head chunk counts as ending at +Inf, so no
        # tombstone covers it) until the head is compacted; Nightlight
        # deletes head samples at once and lists only series with samples.
        ghosts = set(ref) - set(got)
        ok = set(got) <= set(ref) and not (ghosts & with_samples)
        checks.check("%s: /api/v1/series %s equal%s" % (label, match, " but for series without samples"
                                                        if ghosts and ok else ""), ok, "%s vs %s" % (ref, got))
    # A window entirely before the data and one over all of it.
    for start, end in ((t_start / 1000 - 7200, t_start / 1000 - 3600), (t_start / 1000 - 60, t_end / 1000 + 60)):
        ref = series_set(prom.port, "adm_metric", start, end)
        got = series_set(nl.port, "adm_metric", start, end)
        checks.check("%s: /api/v1/series adm_metric in [%d, %d] equal" % (label, start, end), ref == got,
                     "%s vs %s" % (ref, got))


def blocks_loaded(nl):
    return h.metric_sum(h.scrape_metrics(nl.port), "nightlight_blocks_loaded")


def block_dirs(path):
    return sorted(e for e in os.listdir(path) if re.match(r"^[0-9A-HJKMNP-TV-Z]{26}$", e))


def check_snapshot(checks, args, nl, name, with_head, nblocks):
    snap = os.path.join(nl.data_dir, "snapshots", name)
    checks.check("snapshot directory %s exists" % name, os.path.isdir(snap), snap)
    if not os.path.isdir(snap):
        return None
    dirs = block_dirs(snap)
    want = nblocks + (1 if with_head else 0)
    checks.check("snapshot holds %d block directories (head %s)" % (want, "included" if with_head else "skipped"),
                 len(dirs) == want and len(dirs) == len(os.listdir(snap)), os.listdir(snap))
    checks.check("every snapshot block has meta.json",
                 all(os.path.isfile(os.path.join(snap, d, "meta.json")) for d in dirs), dirs)
    r = subprocess.run([args.tsdb, "check", snap], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    checks.check("nightlight-tsdb check passes on the snapshot", r.returncode == 0 and "intact" in out,
                 "rc %d: %s %s" % (r.returncode, out[-600:], r.stderr.decode("utf-8", "replace")[-300:]))
    return snap


def snapshot(checks, port, who, params=()):
    r = admin(port, "/api/v1/admin/tsdb/snapshot", params)
    ok = r.status == 200
    name = None
    if ok:
        doc = r.json()
        name = doc.get("data", {}).get("name", "")
        ok = set(doc) == {"status", "data"} and doc["status"] == "success" and set(doc["data"]) == {"name"} \
            and NAME_RE.match(name) is not None
    checks.check("%s: snapshot %s answers 200 {name}" % (who, dict(params)), ok, r)
    return name


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--tsdb", required=True, help="path of nightlight-tsdb (checks the snapshot)")
    args = p.parse_args()
    checks = h.Checks()
    t_end = (h.now_ms() // STEP_MS) * STEP_MS - 60000
    t_start = t_end - HOUR_MS
    series, times = build_data(t_start)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir, restore_dir = h.make_dirs(wd, "prom", "nl", "restore")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True,
                            extra_args=["--web.enable-admin-api"])
        extra = {"server": {"enable_admin_api": True},
                 "storage": {"block_duration": "10m", "compaction_interval_seconds": 3600}}
        nl = h.Nightlight(args.nightlight, nl_dir, extra_config=extra)
        restored = None
        try:
            prom.start()
            nl.start()
            push(prom.port, series, times)
            push(nl.port, series, times)
            s = h.wait_compactor_settled(checks, nl, "the data lies in >= 3 blocks and the head",
                                         lambda loaded, written: loaded >= 3, 120)
            nblocks = int(s[0]) if s else int(blocks_loaded(nl))
            compare(checks, "before any deletion", prom, nl, t_start, t_end)

            # -- 1. snapshots --------------------------------------------------
            name = snapshot(checks, nl.port, "nightlight")
            snapshot(checks, prom.port, "prometheus")
            snap = check_snapshot(checks, args, nl, name, True, nblocks) if name else None
            skip = snapshot(checks, nl.port, "nightlight", [("skip_head", "true")])
            snapshot(checks, prom.port, "prometheus", [("skip_head", "true")])
            if skip:
                check_snapshot(checks, args, nl, skip, False, nblocks)
            bad = [admin(x.port, "/api/v1/admin/tsdb/snapshot", [("skip_head", "maybe")]) for x in (prom, nl)]
            checks.check("a bad skip_head is the same 400 on both", bad[0].status == bad[1].status == 400
                         and bad[0].json() == bad[1].json(), "%r | %r" % (bad[0], bad[1]))
            if snap:
                # The snapshot's block directories, copied into blocks/, are
                # a data directory.
                os.makedirs(os.path.join(restore_dir, "data", "blocks"))
                for d in block_dirs(snap):
                    shutil.copytree(os.path.join(snap, d), os.path.join(restore_dir, "data", "blocks", d))
                restored = h.Nightlight(args.nightlight, restore_dir)
                restored.start()
                d = diff_raw(raw(prom.port, "adm_metric", t_end), raw(restored.port, "adm_metric", t_end))
                checks.check("a server on the snapshot's blocks answers like Prometheus", d is None, d or "")
                restored.stop()

            # -- 2. deletions --------------------------------------------------
            for x in (prom, nl):
                r = admin(x.port, "/api/v1/admin/tsdb/delete_series")
                checks.check("%s: delete_series without match[] is 400" % x.name, r.status == 400
                             and r.json().get("error") == "no match[] parameter provided", r)
            deletions = [
                # In the blocks.
                [("match[]", 'adm_metric{job="a"}'), ("start", "%.3f" % ((t_start + 10 * MINUTE_MS) / 1000)),
                 ("end", "%.3f" % ((t_start + 25 * MINUTE_MS) / 1000))],
                # In the head, RFC 3339 times.
                [("match[]", 'adm_metric{job="b",instance="i2"}'),
                 ("start", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((t_end - 5 * MINUTE_MS) / 1000))),
                 ("end", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((t_end - MINUTE_MS) / 1000)))],
                # Across blocks and head, two selectors in one call.
                [("match[]", 'adm_metric{instance="i3"}'), ("match[]", 'adm_metric{job="b",instance="i1"}'),
                 ("start", "%.3f" % ((t_start + 40 * MINUTE_MS + 7500) / 1000))],
                # Everything of a metric.
                [("match[]", 'adm_other{instance="i1"}')],
                [("match[]", "adm_other"), ("end", "%.3f" % ((t_start + 30 * MINUTE_MS) / 1000))],
            ]
            for params in deletions:
                codes = []
                for x in (prom, nl):
                    r = admin(x.port, "/api/v1/admin/tsdb/delete_series", params,
                              method="PUT" if params is deletions[1] else "POST")
                    codes.append(r.status)
                checks.check("delete_series %s: 204 on both" % params, codes == [204, 204], codes)
            compare(checks, "after delete_series", prom, nl, t_start, t_end)

            # -- 3. restart ----------------------------------------------------
            nl.stop()
            nl.start()
            compare(checks, "after a restart", prom, nl, t_start, t_end)

            # -- 4. clean_tombstones ---------------------------------------------
            codes = [admin(x.port, "/api/v1/admin/tsdb/clean_tombstones").status for x in (prom, nl)]
            checks.check("clean_tombstones: 204 on both", codes == [204, 204], codes)
            compare(checks, "after clean_tombstones", prom, nl, t_start, t_end)
            blocks = os.path.join(nl.data_dir, "blocks")
            left = [d for d in block_dirs(blocks) if os.path.exists(os.path.join(blocks, d, "tombstones"))]
            checks.check("no block keeps a tombstones file", not left, left)
            m = h.scrape_metrics(nl.port)
            checks.check("/metrics counts the cleanup", h.metric_sum(m, "nightlight_tombstone_cleanups_total") == 1,
                         h.metric_sum(m, "nightlight_tombstone_cleanups_total"))
            nl.stop()
            extra["storage"]["compaction_interval_seconds"] = 1
            nl.write_config()
            nl.start()
            h.wait_compactor_settled(checks, nl, "after a restart the blocks are merged",
                                     lambda loaded, written: written >= 1, 120)
            compare(checks, "after merges", prom, nl, t_start, t_end)

            # -- 5. disabled ---------------------------------------------------
            nl.stop()
            prom.stop()
            del extra["server"]["enable_admin_api"]
            nl.write_config()
            nl.start()
            prom.extra_args = []
            prom.start()
            for path in ADMIN_PATHS:
                for method in ("POST", "PUT"):
                    got = [admin(x.port, path, [("match[]", "adm_metric")], method) for x in (prom, nl)]
                    checks.check("disabled: %s %s is 500 unavailable on both" % (method, path),
                                 got[0].status == got[1].status == 500 and got[0].json() == got[1].json() == {
                                     "status": "error", "errorType": "unavailable", "error": "admin APIs disabled"},
                                 "%r | %r" % (got[0], got[1]))
        finally:
            nl.stop()
            prom.stop()
            if restored is not None:
                restored.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
