#!/usr/bin/env python3
"""The head snapshot a clean stop writes stands for the WAL replay, and only
while the WAL is exactly as the stop left it.

1. Series with closed and open chunks, an out-of-order sample and metric
   metadata are written; a clean stop logs the snapshot and leaves
   data/head.snapshot; the next start loads it instead of replaying
   (log), keeps it, and answers every query and the metadata as before.
2. More samples, then kill -9: no snapshot is written; the start loads the
   one that is there and replays only the WAL segment written after it
   (log), and every acknowledged sample is there. A copy of the data
   directory without the snapshot replays the whole WAL and answers the
   same.
3. A clean stop, then a WAL segment grows by a byte (as if written after
   the snapshot): the snapshot is not used (and deleted), the WAL is
   replayed, nothing is lost.
4. A clean stop, then one byte of the snapshot flipped: not used (and
   deleted), replayed, nothing lost.
5. `storage.snapshot_on_shutdown: false`: no snapshot is written.
In step 1 a copy of the data directory without the snapshot is started
too: it replays the WAL, and both answer a range query, /series, label
values, metadata and the TSDB status' headStats identically.
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP = 15000
N = 20


def log_text(nl):
    with open(nl.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def write(nl, labels, t0, count, ooo=False):
    written = {}
    for k in range(count):
        t = t0 + k * STEP
        batch = [(labels[i], [(t, float(t // STEP * (i + 1)))]) for i in range(N)]
        for i in range(N):
            written[(i, t)] = float(t // STEP * (i + 1))
        meta = [(1, "snap_total", "A counter of the snapshot test.", "")] if k == 0 else ()
        r = h.remote_write(nl.port, h.encode_series(batch, meta))
        assert r.status // 100 == 2, r
    if ooo:
        t = t0 + STEP // 2  # between two samples of series 0
        r = h.remote_write(nl.port, h.encode_series([(labels[0], [(t, -1.0)])]))
        assert r.status // 100 == 2, r
        written[(0, t)] = -1.0
    return written


def stored(nl, t_end):
    res = h.api_data(nl.port, "/api/v1/query", [("query", "snap_total[1d]"), ("time", "%.3f" % (t_end / 1000))])
    out = {}
    for s in res["result"]:
        i = int(s["metric"]["i"])
        for t, v in s["values"]:
            out[(i, round(float(t) * 1000))] = float(v)
    return out


def metadata(nl):
    return h.api_data(nl.port, "/api/v1/metadata", [("metric", "snap_total")])


CONFIG = {"storage": {"out_of_order_window": "1h"}}


def copy_without_snapshot(args, wd, nl, name):
    """A server (not started) on a copy of the stopped `nl`'s data directory
    without the snapshot: it replays the whole WAL."""
    os.makedirs(os.path.join(wd, name))
    other = h.Nightlight(args.nightlight, os.path.join(wd, name), extra_config=CONFIG)
    shutil.copytree(nl.data_dir, other.data_dir)
    os.remove(os.path.join(other.data_dir, "head.snapshot"))
    return other


def same_answers(checks, nl, other, t0, t_end, how):
    """`other` replayed the whole WAL, and `nl` answers a range query,
    /series, label values and the metadata as it does."""
    checks.check("the copy without the snapshot replayed the whole WAL (%s)" % how,
                 "wal: replay done" in log_text(other) and "head snapshot" not in log_text(other))
    for what, path, params in (
            ("range query", "/api/v1/query_range",
             [("query", "snap_total"), ("start", "%.3f" % (t0 / 1000)),
              ("end", "%.3f" % (t_end / 1000)), ("step", "7")]),
            ("series", "/api/v1/series", [("match[]", "{__name__=~\".+\"}")]),
            ("label values", "/api/v1/label/i/values", []),
            ("metadata", "/api/v1/metadata", [])):
        a, b = h.api_data(nl.port, path, params), h.api_data(other.port, path, params)
        checks.check("%s %s: as a replay of the whole WAL" % (what, how), a == b and a, (a, b))


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    args = p.parse_args()
    checks = h.Checks()
    labels = [[("__name__", "snap_total"), ("i", str(i))] for i in range(N)]
    t0 = (h.now_ms() // STEP) * STEP - 3600 * 1000
    with h.Workdir(args.keep) as wd:
        nl = h.Nightlight(args.nightlight, wd, extra_config=CONFIG)
        snap = os.path.join(nl.data_dir, "head.snapshot")
        try:
            nl.start()
            written = write(nl, labels, t0, 150, ooo=True)  # 150 samples: closed chunks too
            t_end = t0 + 200 * STEP
            before = stored(nl, t_end)
            checks.check("the samples are served before the stop", before == written, len(before))
            meta_before = metadata(nl)
            nl.stop()
            checks.check("a clean stop writes the snapshot",
                         os.path.exists(snap) and "head snapshot: written" in log_text(nl), log_text(nl)[-600:])
            # The replay's answers are what the loaded head must give.
            replayed = copy_without_snapshot(args, wd, nl, "replayed")
            replayed.start()
            nl.start()
            text = log_text(nl)
            same_answers(checks, nl, replayed, t0, t_end, "from the snapshot")
            sa = h.api_data(nl.port, "/api/v1/status/tsdb")["headStats"]
            sb = h.api_data(replayed.port, "/api/v1/status/tsdb")["headStats"]
            checks.check("TSDB status headStats as after a replay (series, chunks, times)", sa == sb, (sa, sb))
            replayed.stop()
            checks.check("the start loads it instead of replaying the WAL",
                         "head snapshot loaded instead of the WAL replay: %d series" % N in text, text[-800:])
            checks.check("and keeps it", os.path.exists(snap))
            checks.check("every sample is served as before, the out-of-order one included",
                         stored(nl, t_end) == written)
            checks.check("the metadata is as before", metadata(nl) == meta_before, metadata(nl))
            # Appending goes on after the loaded open chunks.
            written.update(write(nl, labels, t0 + 150 * STEP, 10))
            checks.check("samples written after the load are served", stored(nl, t_end) == written)

            nl.kill9()
            with open(snap + ".tmp", "wb") as f:  # as a stop killed while writing it leaves
                f.write(b"NLHEADS2 half written")
            with open(snap + ".old", "wb") as f:  # as earlier versions left one they had read
                f.write(b"NLHEADS2 already read")
            full = copy_without_snapshot(args, wd, nl, "full")
            mark = len(log_text(nl))
            nl.start()
            text = log_text(nl)[mark:]
            checks.check("the start removes a half-written snapshot", not os.path.exists(snap + ".tmp"))
            checks.check("and an old one", not os.path.exists(snap + ".old"))
            checks.check("after kill -9 the start loads the snapshot and replays the segment written after it",
                         "head snapshot loaded, the WAL segments written after it follow: %d series" % N in text
                         and "replaying the segments after the head snapshot" in text
                         and "replaying checkpoint" not in text, text[-800:])
            checks.check("after kill -9 every acknowledged sample is there", stored(nl, t_end) == written)
            checks.check("the metadata too", metadata(nl) == meta_before)
            full.start()
            same_answers(checks, nl, full, t0, t_end, "after kill -9")
            full.stop()

            for damage in ("wal", "snapshot"):
                nl.stop()
                checks.check("a clean stop writes the snapshot (%s case)" % damage, os.path.exists(snap))
                if damage == "wal":
                    wal = os.path.join(nl.data_dir, "wal")
                    seg = sorted(f for f in os.listdir(wal) if f.isdigit())[-1]
                    with open(os.path.join(wal, seg), "ab") as f:
                        f.write(b"\0")  # zero padding: a replay reads past it
                else:
                    with open(snap, "r+b") as f:
                        f.seek(os.path.getsize(snap) // 2)
                        b = f.read(1)
                        f.seek(-1, 1)
                        f.write(bytes([b[0] ^ 0x20]))
                mark = len(log_text(nl))
                nl.start()
                text = log_text(nl)[mark:]
                checks.check("a %s changed after the stop: the snapshot is not used" % damage,
                             "head snapshot not used" in text and "loaded instead" not in text, text[-600:])
                checks.check("and deleted (%s case)" % damage, not os.path.exists(snap))
                checks.check("the replay after a changed %s serves every sample" % damage,
                             stored(nl, t_end) == written)
                checks.check("and the metadata", metadata(nl) == meta_before)
            nl.stop()

            os.makedirs(os.path.join(wd, "off"))
            off = h.Nightlight(args.nightlight, os.path.join(wd, "off"),
                               extra_config={"storage": {"snapshot_on_shutdown": False}})
            off.start()
            write(off, labels, t0, 3)
            off.stop()
            checks.check("snapshot_on_shutdown: false writes none",
                         not os.path.exists(os.path.join(off.data_dir, "head.snapshot")))
        finally:
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
