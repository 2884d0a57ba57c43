#!/usr/bin/env python3
"""Damaged blocks are moved aside; the server starts and serves the rest.

Nightlight (storage.block_duration 1m) receives 12 minutes of data and cuts
it into blocks; it is stopped and four blocks are damaged in four ways:
a flipped byte in the index, a truncated index, a missing chunks file and a
missing meta.json. On the next start every damaged block must be renamed to
<ulid>.corrupted with a log line naming it and the reason, counted in
nightlight_corrupted_blocks_total, and every sample outside the damaged
blocks' time ranges must still be served exactly. A flipped byte inside a
chunk is not seen at start-up (chunks are verified as they are read): a
query touching it must fail with an error naming the block, not crash or
return wrong data, and nightlight-tsdb check must report it.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP = 5000
N_SERIES = 10


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x40]))


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--tsdb", required=True, help="path of nightlight-tsdb")
    args = p.parse_args()
    checks = h.Checks()
    t_end = (h.now_ms() // STEP) * STEP - 60000
    t_start = t_end - 12 * 60000
    labels = [h.labels_of("dmg", series=str(i)) for i in range(N_SERIES)]
    written = {}
    with h.Workdir(args.keep) as wd:
        nl = h.Nightlight(args.nightlight, wd, extra_config={"storage": {
            "block_duration": "1m", "compaction_interval_seconds": 3600}})
        try:
            nl.start()
            for t in range(t_start, t_end + 1, STEP):
                batch = [(labels[i], [(t, float(t // STEP * 10 + i))]) for i in range(N_SERIES)]
                for i in range(N_SERIES):
                    written.setdefault(str(i), {})[t] = float(t // STEP * 10 + i)
                r = h.remote_write(nl.port, h.encode_series(batch))
                assert r.status // 100 == 2, r

            def enough_blocks():
                m = h.scrape_metrics(nl.port)
                return h.metric_sum(m, "nightlight_blocks_loaded") >= 8
            checks.check("at least 8 blocks written", h.eventually(enough_blocks, 60))
            nl.stop()
            bdir = os.path.join(nl.data_dir, "blocks")
            blocks = sorted(d for d in os.listdir(bdir) if len(d) == 26)
            metas = {}
            for b in blocks:
                with open(os.path.join(bdir, b, "meta.json")) as f:
                    metas[b] = json.load(f)
            # Damage four blocks in four ways; a fifth gets a bad chunk byte.
            victims = blocks[1:5]
            flip(os.path.join(bdir, victims[0], "index"), 40)
            with open(os.path.join(bdir, victims[1], "index"), "r+b") as f:
                f.truncate(os.path.getsize(f.name) - 20)
            os.remove(os.path.join(bdir, victims[2], "chunks"))
            os.remove(os.path.join(bdir, victims[3], "meta.json"))
            bad_chunk = blocks[6]
            flip(os.path.join(bdir, bad_chunk, "chunks"), os.path.getsize(os.path.join(bdir, bad_chunk, "chunks")) // 2)

            r = subprocess.run([args.tsdb, "check", nl.data_dir], capture_output=True, text=True)
            out = r.stdout + r.stderr
            checks.check("nightlight-tsdb check exits 1 on the damage", r.returncode == 1, r.returncode)
            checks.check("nightlight-tsdb check names every damaged block",
                         all(v in out for v in victims + [bad_chunk]), out[-800:])

            nl.start()
            log = open(nl.log_path).read()
            after = set(os.listdir(bdir))
            for v in victims:
                checks.check("%s moved aside" % v, v + ".corrupted" in after and v not in after, sorted(after))
                checks.check("%s logged with a reason" % v,
                             any(v in line and "damaged block" in line for line in log.splitlines()))
            m = h.scrape_metrics(nl.port)
            checks.check("nightlight_corrupted_blocks_total counts 4",
                         h.metric_sum(m, "nightlight_corrupted_blocks_total") == 4,
                         h.metric_sum(m, "nightlight_corrupted_blocks_total"))

            lost = [(metas[v]["minTime"], metas[v]["maxTime"]) for v in victims]
            bad = (metas[bad_chunk]["minTime"], metas[bad_chunk]["maxTime"])

            def expected(i, lo, hi):
                return {t: v for t, v in written[str(i)].items()
                        if lo <= t < hi and not any(a <= t < b for a, b in lost)}

            def served(lo, hi):
                """Raw samples in [lo, hi) per series, and the expected ones
                (Prometheus 2.42: a range selector includes both ends)."""
                at = hi - 1
                rng = (hi - lo) // 1000
                res = h.api_data(nl.port, "/api/v1/query", [
                    ("query", "dmg[%ds]" % rng), ("time", "%.3f" % (at / 1000))])
                got = {s["metric"]["series"]: {round(float(t) * 1000): float(v) for t, v in s["values"]}
                       for s in res["result"]}
                return [(i, sorted(set(got.get(str(i), {}).items()) ^ set(expected(i, at - rng * 1000, hi).items()))[:3])
                        for i in range(N_SERIES) if got.get(str(i), {}) != expected(i, at - rng * 1000, hi)]
            wrong = served(t_start, bad[0])
            checks.check("samples outside the damaged blocks are served exactly", not wrong, wrong[:2])
            wrong = served(bad[1], t_end + 1)
            checks.check("samples after the damaged chunk are served exactly", not wrong, wrong[:2])
            # A query over the bad chunk fails cleanly, naming the block.
            r = h.api_get(nl.port, "/api/v1/query", [
                ("query", "dmg[%ds]" % ((bad[1] - bad[0]) // 1000)), ("time", "%.3f" % ((bad[1] - 1) / 1000))])
            body = r.text()
            checks.check("a query over a damaged chunk fails naming the block",
                         r.status >= 400 and bad_chunk in body, (r.status, body[:300]))
            checks.check("the server is still alive", nl.alive())
        finally:
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
