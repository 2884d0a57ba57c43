#!/usr/bin/env python3
"""Retention deletes whole blocks, oldest first, and nothing else.

Time: Nightlight with 1-minute blocks and `storage.retention: 3m` receives
12 minutes of data. Once retention has run, no block on disk ends 3 minutes
or more before the newest block, queries find nothing of the deleted
blocks' ranges and every sample of the kept blocks and the head exactly,
/metrics counts the deleted blocks and samples, and all of this holds after
a restart.
Size: a second server with `storage.retention_size: 8KB` keeps deleting
the oldest blocks while blocks + WAL exceed it, but never the newest block.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP = 5000
N = 10


def blocks_of(nl):
    bdir = os.path.join(nl.data_dir, "blocks")
    out = []
    for d in sorted(os.listdir(bdir)):
        if len(d) == 26:
            with open(os.path.join(bdir, d, "meta.json")) as f:
                m = json.load(f)
            out.append((m["minTime"], m["maxTime"], d))
    return out


def load(nl, t_start, t_end, labels):
    written = {}
    for t in range(t_start, t_end + 1, STEP):
        batch = [(labels[i], [(t, float(t // STEP + i))]) for i in range(N)]
        for i in range(N):
            written.setdefault(str(i), {})[t] = float(t // STEP + i)
        r = h.remote_write(nl.port, h.encode_series(batch))
        assert r.status // 100 == 2, r
    return written


def stored(nl, t_start, t_end):
    rng = (t_end - t_start) // 1000 + 60
    res = h.api_data(nl.port, "/api/v1/query", [("query", "ret[%ds]" % rng), ("time", "%.3f" % (t_end / 1000))])
    return {s["metric"]["series"]: {round(float(t) * 1000): float(v) for t, v in s["values"]} for s in res["result"]}


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    args = p.parse_args()
    checks = h.Checks()
    t_end = (h.now_ms() // STEP) * STEP - 60000
    t_start = t_end - 12 * 60000
    labels = [h.labels_of("ret", series=str(i)) for i in range(N)]
    with h.Workdir(args.keep) as wd:
        tdir, sdir = os.path.join(wd, "time"), os.path.join(wd, "size")
        os.makedirs(tdir)
        os.makedirs(sdir)
        nl = h.Nightlight(args.nightlight, tdir, extra_config={"storage": {
            "block_duration": "1m", "retention": "3m", "compaction_interval_seconds": 1}})
        by_size = h.Nightlight(args.nightlight, sdir, extra_config={"storage": {
            "block_duration": "1m", "retention_size": "8KB", "compaction_interval_seconds": 1}})
        try:
            nl.start()
            written = load(nl, t_start, t_end, labels)

            def retained():
                m = h.scrape_metrics(nl.port)
                bs = blocks_of(nl)
                if h.metric_sum(m, "nightlight_retention_blocks_deleted_total") < 1 or not bs:
                    return None
                newest = max(b[1] for b in bs)
                return m if all(newest - b[1] < 180000 for b in bs) else None
            m = h.eventually(retained, 60)
            checks.check("retention deleted blocks older than 3m", m is not None, blocks_of(nl))
            if m is not None:
                # Every sample is in one block or the head: those before the
                # oldest kept block are the ones retention deleted.
                def deleted_counted():
                    oldest = min(b[0] for b in blocks_of(nl))
                    gone = sum(1 for s in written.values() for t in s if t < oldest)
                    counted = h.metric_sum(h.scrape_metrics(nl.port), "nightlight_retention_samples_deleted_total")
                    return (gone, counted) if gone == counted and gone > 0 else None
                checks.check("/metrics counts exactly the samples of the deleted blocks",
                             h.eventually(deleted_counted, 30) is not None)
                with open(nl.log_path, "rb") as f:
                    log = f.read().decode("utf-8", "replace")
                logged = len(re.findall(r"compactor: removed block [0-9A-Z]{26} \(retention\)", log))
                counted = h.metric_sum(h.scrape_metrics(nl.port), "nightlight_retention_blocks_deleted_total")
                checks.check("the log names each block retention removed", logged == counted >= 1,
                             (logged, counted))
            for phase in ("", "after restart: "):
                bs = blocks_of(nl)
                oldest = min(b[0] for b in bs)
                got = stored(nl, t_start, t_end)
                want = {i: {t: v for t, v in s.items() if t >= oldest} for i, s in written.items()}
                checks.check(phase + "everything from the oldest kept block on is served exactly, "
                             "nothing before it", got == want,
                             [(i, len(got.get(i, {})), len(want[i])) for i in list(want)[:3]])
                checks.check(phase + "the deleted range is gone", oldest > t_start, (oldest, t_start))
                if not phase:
                    nl.stop()
                    nl.start()
            nl.stop()

            by_size.start()
            load(by_size, t_start, t_end, labels)

            def trimmed():
                m = h.scrape_metrics(by_size.port)
                return m if h.metric_sum(m, "nightlight_retention_blocks_deleted_total") >= 1 else None
            m = h.eventually(trimmed, 60)
            checks.check("size retention deleted blocks", m is not None)
            bs = blocks_of(by_size)
            checks.check("the newest block is kept", len(bs) >= 1, bs)
            def counted_bytes():
                # What retention_size counts: blocks, the WAL and the head's chunk files.
                return sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(by_size.data_dir)
                           for f in fs if any(d in dp + "/" for d in ("/blocks/", "/wal/", "/head_chunks/")))

            # A cut may land after a retention pass: the next pass (every
            # second) trims again.
            settled = h.eventually(lambda: counted_bytes() <= 8 * 1024 or len(blocks_of(by_size)) == 1, 30)
            checks.check("blocks + WAL + head chunks within 8KB, or only the newest block left", settled,
                         (counted_bytes(), blocks_of(by_size)))
        finally:
            nl.stop()
            by_size.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
