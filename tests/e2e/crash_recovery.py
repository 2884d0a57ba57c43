#!/usr/bin/env python3
"""kill -9 under load: every acknowledged sample must survive.

Writer threads (one keep-alive connection each, disjoint series, strictly
increasing timestamps) push batches and record exactly which batches got a
2xx. The server is killed with SIGKILL at seeded random moments and
restarted on the same data dir; writers retry the batch in flight, as
Prometheus does. When the writers stop the server is killed once more, right
after the last acknowledgement. After the last restart:
  * /api/v1/series lists every series that had an acknowledged sample;
  * `nl_crash{writer="w"}[range]` holds every acknowledged (timestamp,
    value) of every writer, no sample has a wrong value, no sample lies
    beyond the last batch sent, and count_over_time agrees. A query that
    keeps failing fails the test: the durability check never drops out.
With --block-duration (e.g. 1m) the head is cut into blocks, the WAL
checkpointed and blocks merged while the kills happen: then the data dir
must also hold blocks and a WAL checkpoint at the end (else the run did not
test what it claims), and the samples must be there exactly once.
With --clean-stop-every N, every N-th cycle stops the server cleanly
(SIGTERM: it writes a head snapshot) instead of killing it: the kills
after such a start then find a snapshot plus WAL segments written after
it, and the run must show at least one start that loaded a snapshot and
replayed only those segments.
"""

import os

import http.client
import random
import sys
import threading
import time

import nlharness as h

METRIC = "nl_crash"
STEP_MS = 100  # timestamp distance between consecutive batches of a writer


class Writer(threading.Thread):
    def __init__(self, idx, port, n_series, base_ms, stop, deadline):
        super().__init__(name="writer-%d" % idx, daemon=True)
        self.idx = idx
        self.port = port
        self.n_series = n_series
        self.base_ms = base_ms
        self.stop = stop
        self.deadline = deadline
        self.acked = set()        # batch numbers answered 2xx
        self.rejected = {}        # batch -> (status, body) for 4xx answers
        self.attempted = -1       # highest batch number sent at least once
        self.errors = 0           # connection failures (server down, reset)
        self.retries_503 = 0
        self.labels = [h.labels_of(METRIC, writer=str(idx), series=str(i)) for i in range(n_series)]
        self.k = 0                # batch being sent
        self.group = [self]       # writers that keep in step (see run)
        self.max_lead = None      # batches this one may run ahead of the slowest

    def ts(self, k):
        return self.base_ms + k * STEP_MS

    @staticmethod
    def value(k, i):
        return float(k * 1000 + i)

    def payload(self, k):
        t = self.ts(k)
        return h.encode_series([(self.labels[i], [(t, self.value(k, i))]) for i in range(self.n_series)])

    def run(self):
        conn = None
        k = 0
        body = self.payload(k)
        # Stop before timestamps reach the present: the server may reject
        # samples from the future, and the run must stay bounded anyway.
        while not self.stop.is_set() and time.monotonic() < self.deadline \
                and self.ts(k) < h.now_ms() - 60_000:
            try:
                # With blocks, a sample behind the newest cut is out of
                # bounds (as in Prometheus: more than half a block behind
                # the newest sample): writers keep in step, like the
                # targets of one scrape loop.
                if self.max_lead is not None and k > min(w.k for w in self.group) + self.max_lead:
                    time.sleep(0.002)
                    continue
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.attempted = max(self.attempted, k)
                conn.request("POST", "/api/v1/write", body=body, headers=h.REMOTE_WRITE_HEADERS)
                resp = conn.getresponse()
                text = resp.read()
                if 200 <= resp.status < 300:
                    self.acked.add(k)
                    k += 1
                    self.k = k
                    body = self.payload(k)
                elif resp.status == 503 or resp.status == 429:
                    self.retries_503 += 1
                    retry_after = resp.getheader("Retry-After") or "0"
                    time.sleep(min(1.0, max(0.01, float(retry_after) if retry_after.isdigit() else 0.1)))
                elif 400 <= resp.status < 500:
                    # A 4xx would make Prometheus drop the batch; the data
                    # here is always valid, so it is a failure to report.
                    self.rejected[k] = (resp.status, text[:200])
                    k += 1
                    self.k = k
                    body = self.payload(k)
                else:
                    time.sleep(0.05)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
        if conn is not None:
            conn.close()


def verify(checks, target, writers):
    port = target.port
    listed = h.eventually(lambda: h.series(port, METRIC), 10) or []
    have = {(s.get("writer"), s.get("series")) for s in listed}
    want = {(str(w.idx), str(i)) for w in writers if w.acked for i in range(w.n_series)}
    missing = sorted(want - have)
    checks.check("series: every acknowledged series listed (%d)" % len(want), not missing,
                 "missing %d, e.g. %s" % (len(missing), missing[:5]))

    for w in writers:
        # A writer without acknowledgements has nothing to verify, which
        # must not pass for "nothing lost".
        if not checks.check("writer %d: has acknowledged batches to verify" % w.idx, w.acked):
            continue
        last = w.ts(w.attempted)
        at = (last + 1) / 1000.0
        window_s = (last - w.base_ms) // 1000 + 5
        expr = '%s{writer="%d"}[%ds]' % (METRIC, w.idx, window_s)
        res = h.query(port, expr, at)
        stored = {}
        for s in res["result"]:
            i = int(s["metric"]["series"])
            stored[i] = {round(float(t) * 1000): float(v) for t, v in s["values"]}
        lost, wrong, beyond = [], [], []
        for i in range(w.n_series):
            points = stored.get(i, {})
            for k in w.acked:
                if points.get(w.ts(k)) is None:
                    lost.append((i, k))
            for t, v in points.items():
                k, rem = divmod(t - w.base_ms, STEP_MS)
                if rem or k > w.attempted or k < 0:
                    beyond.append((i, t))
                elif v != w.value(k, i):
                    wrong.append((i, t, v))
        checks.check("writer %d: all %d acknowledged batches present" % (w.idx, len(w.acked)), not lost,
                     "%d samples lost, e.g. (series, batch) %s" % (len(lost), sorted(lost)[:8]))
        checks.check("writer %d: every stored value correct" % w.idx, not wrong, wrong[:5])
        checks.check("writer %d: nothing stored that was never sent" % w.idx, not beyond, beyond[:5])

        counts = h.query(port, 'count_over_time(%s)' % expr, at)
        by_series = {int(s["metric"]["series"]): int(float(s["value"][1])) for s in counts["result"]}
        bad = [(i, by_series.get(i), len(stored.get(i, {}))) for i in range(w.n_series)
               if by_series.get(i) != len(stored.get(i, {}))]
        checks.check("writer %d: count_over_time agrees with the raw samples" % w.idx, not bad, bad[:5])


def verify_blocks(checks, target):
    blocks_dir = os.path.join(target.data_dir, "blocks")
    blocks = [d for d in os.listdir(blocks_dir) if len(d) == 26] if os.path.isdir(blocks_dir) else []
    checks.check("blocks were written under the kills (%d)" % len(blocks), len(blocks) >= 1)
    wal = os.listdir(os.path.join(target.data_dir, "wal"))
    checks.check("the WAL was checkpointed", any(n.startswith("checkpoint.") and not n.endswith(".tmp")
                                                 for n in wal), sorted(wal))
    leftovers = [d for d in os.listdir(blocks_dir) if not len(d) == 26] if blocks else []
    checks.check("no temporary or damaged block directories left", not leftovers, leftovers)


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--fsync", default="interval", choices=["interval", "always"])
    p.add_argument("--cycles", type=int, default=6, help="kill -9 / restart cycles (>= 5)")
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--series-per-writer", type=int, default=50)
    p.add_argument("--min-up", type=float, default=0.4, help="seconds of load before a kill, min")
    p.add_argument("--max-up", type=float, default=2.0, help="seconds of load before a kill, max")
    p.add_argument("--block-duration", help="storage.block_duration (cuts, checkpoints, merges under kills)")
    p.add_argument("--clean-stop-every", type=int, default=0,
                   help="every N-th cycle stops cleanly instead of kill -9 (0: never)")
    args = p.parse_args()
    rnd = random.Random(args.seed)
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        kw = {"fsync": args.fsync} if args.server == "nightlight" else {}
        if args.block_duration and args.server == "nightlight":
            kw["extra_config"] = {"storage": {"block_duration": args.block_duration,
                                              "compaction_interval_seconds": 1}}
        target = h.make_target(args, work, **kw)
        stop = threading.Event()
        writers = []
        try:
            target.start()
            h.log("%s on port %d, seed %d, fsync %s" % (target.name, target.port, args.seed, args.fsync))
            base = h.now_ms() - 30 * 60_000
            deadline = time.monotonic() + 240
            writers = [Writer(i, target.port, args.series_per_writer, base, stop, deadline)
                       for i in range(args.writers)]
            if args.block_duration:
                for w in writers:
                    w.group = writers
                    w.max_lead = 50  # 5 s of timestamps, well inside half a block
            for w in writers:
                w.start()
            for cycle in range(1, args.cycles + 1):
                time.sleep(rnd.uniform(args.min_up, args.max_up))
                before = sum(len(w.acked) for w in writers)
                if args.clean_stop_every and cycle % args.clean_stop_every == 0:
                    target.stop(timeout=60)
                    h.log("cycle %d: stopped cleanly after %d acknowledged batches" % (cycle, before))
                else:
                    target.kill9()
                    h.log("cycle %d: killed after %d acknowledged batches" % (cycle, before))
                time.sleep(rnd.uniform(0.0, 0.3))
                t = time.monotonic()
                target.start(ready_timeout=60)
                h.log("cycle %d: ready again after %.2fs" % (cycle, time.monotonic() - t))
            time.sleep(rnd.uniform(args.min_up, args.max_up))
            stop.set()
            for w in writers:
                w.join(timeout=30)
            checks.check("writers finished", not any(w.is_alive() for w in writers))
            # One more crash right after the last acknowledgement: whatever
            # was acked last must not live only in memory.
            target.kill9()
            target.start(ready_timeout=60)
            h.log("final kill -9 after the last acknowledgement; ready again")
            total = sum(len(w.acked) for w in writers)
            h.log("acknowledged batches %d (%d samples), connection errors %d, 503 retries %d"
                  % (total, total * args.series_per_writer, sum(w.errors for w in writers),
                     sum(w.retries_503 for w in writers)))
            checks.check("load went through (>= 20 acknowledged batches per writer)",
                         all(len(w.acked) >= 20 for w in writers), [len(w.acked) for w in writers])
            rejected = {w.idx: w.rejected for w in writers if w.rejected}
            checks.check("no valid batch answered 4xx", not rejected,
                         {i: list(r.items())[:2] for i, r in rejected.items()})
            verify(checks, target, writers)
            if args.block_duration and args.server == "nightlight":
                verify_blocks(checks, target)
            if args.clean_stop_every and args.server == "nightlight":
                with open(target.log_path, "rb") as f:
                    log = f.read().decode("utf-8", "replace")
                written = log.count("head snapshot: written")
                partial = log.count("head snapshot loaded, the WAL segments written after it follow")
                h.log("head snapshots written %d, loaded with the segments after them %d" % (written, partial))
                checks.check("a start after a kill loaded a snapshot and replayed only the segments after it",
                             written >= 1 and partial >= 1, (written, partial))
            checks.check("server alive after verification", target.alive())
        finally:
            stop.set()
            target.stop()
            if checks.failed:
                print(target.log_tail(), file=sys.stderr)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
