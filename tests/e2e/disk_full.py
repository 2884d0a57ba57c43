#!/usr/bin/env python3
"""A full disk: writes answer 503 with Retry-After, nothing acknowledged is
lost, no half-written block appears, and ingestion resumes by itself.

The real server runs with a fault-injecting file layer (LD_PRELOAD of
faults/file_faults_preload.cpp): while a flag file exists, every write(2) to
a file under the path prefix it names fails with ENOSPC. First only the blocks
directory is full: with 1-minute blocks and three minutes of data in the
head, the compactor tries to cut and fails, and neither a block nor a
temporary directory is left. Then the whole data directory is full: the
refused request gets 503 + Retry-After and a message naming the cause,
/metrics counts it, the log says why, the refused samples are not stored.
Once the flag is gone the next write is acknowledged without a restart, a
block is cut, and after kill -9 and a restart every acknowledged sample is
there exactly once and no refused one is.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP = 15000
N = 20


def stored(nl, t_end):
    res = h.api_data(nl.port, "/api/v1/query", [("query", "full_disk[10m]"), ("time", "%.3f" % (t_end / 1000))])
    return {s["metric"]["series"]: [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
            for s in res["result"]}


def batch(labels, ts):
    return [(labels[i], [(t, float(t // STEP * 100 + i)) for t in ts]) for i in range(N)]


def expect(written, ts):
    for i in range(N):
        for t in ts:
            written.setdefault(str(i), []).append((t, float(t // STEP * 100 + i)))


def block_dirs(nl):
    bdir = os.path.join(nl.data_dir, "blocks")
    return sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--preload", required=True, help="the file_faults_preload shared library")
    args = p.parse_args()
    checks = h.Checks()
    labels = [h.labels_of("full_disk", series=str(i)) for i in range(N)]
    t0 = (h.now_ms() // 60000) * 60000 - 4 * 60000
    with h.Workdir(args.keep) as wd:
        nl = h.Nightlight(args.nightlight, wd, extra_config={"storage": {
            "block_duration": "1m", "compaction_interval_seconds": 1}})
        faults = h.FileFaults(args.preload, wd)
        nl.env = faults.env()

        def disk_full(prefix):
            faults.set("enospc", prefix)

        def failed_cuts():
            return h.metric_sum(h.scrape_metrics(nl.port), "nightlight_compactions_failed_total")
        written = {}
        try:
            nl.start()
            # The blocks directory is full: samples are acknowledged, cuts fail.
            disk_full(os.path.join(nl.data_dir, "blocks") + "/")
            first = [t0 + k * STEP for k in range(12)]
            r = h.remote_write(nl.port, h.encode_series(batch(labels, first)))
            checks.check("write while only the blocks directory is full is acknowledged", r.status == 204, r)
            expect(written, first)
            # The compactor ticks every second with 1m blocks: it tries to
            # cut the first minute and fails; nothing it wrote is visible.
            tried = h.eventually(lambda: failed_cuts() >= 1, 30)
            checks.check("the compactor tried to cut a block and failed", tried is not None, failed_cuts())
            leftovers = [d for d in block_dirs(nl) if len(d) == 26]
            checks.check("no block becomes visible while the disk is full", leftovers == [], leftovers)
            checks.check("a failed cut leaves no temporary block",
                         h.eventually(lambda: not any(d.endswith(".tmp") for d in block_dirs(nl)), 10)
                         is not None, block_dirs(nl))

            # The whole data directory is full: writes are refused.
            disk_full(nl.data_dir + "/")
            refused = [t0 + k * STEP for k in range(12, 16)]
            r = h.remote_write(nl.port, h.encode_series(batch(labels, refused)))
            checks.check("write to a full disk answers 503", r.status == 503, r)
            checks.check("the 503 carries Retry-After", "retry-after" in r.headers, r.headers)
            checks.check("the 503 names the cause", "No space left on device" in r.text(), r.text())
            r = h.remote_write(nl.port, h.encode_series(batch(labels, refused)))
            checks.check("a retry while still full answers 503 again", r.status == 503, r)
            m = h.scrape_metrics(nl.port)
            checks.check("/metrics counts the refused WAL writes",
                         h.metric_sum(m, "nightlight_wal_no_space_failures_total") >= 2,
                         h.metric_sum(m, "nightlight_wal_no_space_failures_total"))
            # The server is still up and answers queries.
            got = stored(nl, refused[-1])
            checks.check("refused samples are not stored, acknowledged ones are", got == written,
                         (got.get("0"), written.get("0")))
            with open(nl.log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            checks.check("the log says the WAL refuses writes until space is freed",
                         "until space is freed" in text, nl.log_tail())

            faults.clear()
            # Space is back: the same samples go through without a restart.
            r = h.remote_write(nl.port, h.encode_series(batch(labels, refused)))
            checks.check("the first write after space is back is acknowledged", r.status == 204, r)
            expect(written, refused)
            later = [t0 + k * STEP for k in range(16, 20)]
            r = h.remote_write(nl.port, h.encode_series(batch(labels, later)))
            checks.check("later writes are acknowledged", r.status == 204, r)
            expect(written, later)
            cut = h.eventually(lambda: [d for d in block_dirs(nl) if len(d) == 26] or None, 30)
            checks.check("a block is cut once space is back", cut is not None, block_dirs(nl))
            checks.check("no temporary block is left behind",
                         h.eventually(lambda: not any(d.endswith(".tmp") for d in block_dirs(nl)), 10)
                         is not None, block_dirs(nl))
            with open(nl.log_path, encoding="utf-8", errors="replace") as f:
                checks.check("the log says writes succeed again", "writes succeed again" in f.read(),
                             nl.log_tail())
            got = stored(nl, later[-1])
            checks.check("every acknowledged sample is stored once", got == written,
                         (got.get("0"), written.get("0")))

            nl.kill9()
            nl.start()
            got = stored(nl, later[-1])
            checks.check("after kill -9 and restart every acknowledged sample is there once",
                         got == written, (got.get("0"), written.get("0")))
        finally:
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
