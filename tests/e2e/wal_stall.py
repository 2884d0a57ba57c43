#!/usr/bin/env python3
"""A hung disk: a sample is either acknowledged or never durable.

The real server runs with a fault-injecting file layer (LD_PRELOAD of
faults/file_faults_preload.cpp) that makes write(2) to the WAL block while a
flag file says so, and `storage.wal_write_timeout: 1s`. One write is taken by
the WAL writer and blocks in write(2); more writes queue behind it and
their deadline passes. Checked: while the WAL hangs, nothing is answered
204 and the in-flight budget is not exceeded; when the disk comes back, the
write that was in write(2) is acknowledged (it is durable), every queued
write past its deadline is answered 503 + Retry-After and counted, none of
their samples is stored, and after kill -9 and a restart exactly the
acknowledged samples are there.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

N = 100
BUDGET = 1000  # samples in flight (the smallest allowed); requests carry N


def payload(labels, t):
    return h.encode_series([(labels[i], [(t, float(t + i))]) for i in range(N)])


def stored(nl, t_end):
    res = h.api_data(nl.port, "/api/v1/query", [("query", "stall[1h]"), ("time", "%.3f" % (t_end / 1000))])
    out = {}
    for s in res["result"]:
        for t, v in s["values"]:
            out.setdefault(round(float(t) * 1000), set()).add(s["metric"]["series"])
    return out


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--preload", required=True, help="the file_faults_preload shared library")
    args = p.parse_args()
    checks = h.Checks()
    labels = [h.labels_of("stall", series=str(i)) for i in range(N)]
    t0 = h.now_ms() - 600000
    with h.Workdir(args.keep) as wd:
        nl = h.Nightlight(args.nightlight, wd, extra_config={
            "storage": {"wal_write_timeout": "1s"},
            "server": {"max_inflight_samples": BUDGET}})
        faults = h.FileFaults(args.preload, wd)
        nl.env = faults.env()
        answers = {}

        def send(t):
            try:
                answers[t] = h.remote_write(nl.port, payload(labels, t), timeout=60)
            except OSError as e:
                answers[t] = e

        try:
            nl.start()
            r = h.remote_write(nl.port, payload(labels, t0))
            checks.check("write before the stall is acknowledged", r.status == 204, r)
            acked = {t0}

            faults.set("stall", os.path.join(nl.data_dir, "wal") + "/")
            hung = t0 + 1000
            threads = [threading.Thread(target=send, args=(hung,))]
            threads[0].start()
            time.sleep(0.5)  # taken by the WAL writer, now inside write(2)
            queued = [t0 + 2000 + k * 1000 for k in range(5)]
            for t in queued:
                th = threading.Thread(target=send, args=(t,))
                th.start()
                threads.append(th)
                time.sleep(0.05)
            time.sleep(2.5)  # every queued write is past its 1 s deadline
            checks.check("nothing is answered while the WAL hangs", not answers, answers)
            m = h.scrape_metrics(nl.port)
            inflight = h.metric_sum(m, "nightlight_inflight_samples")
            checks.check("the in-flight budget covers the writes waiting for the WAL",
                         0 < inflight <= BUDGET, inflight)
            over = [h.labels_of("stall_over", series=str(i)) for i in range(5 * N)]
            r = h.remote_write(nl.port, h.encode_series([(l, [(t0, 1.0)]) for l in over]), timeout=10)
            checks.check("a new write over the budget is refused at once with 503 + Retry-After",
                         r.status == 503 and "retry-after" in r.headers, r)

            faults.clear()
            for th in threads:
                th.join(30)
            r = answers.get(hung)
            checks.check("the write that was inside write(2) is acknowledged",
                         getattr(r, "status", None) == 204, r)
            if getattr(r, "status", None) == 204:
                acked.add(hung)
            late = {t: answers.get(t) for t in queued}
            checks.check("every write queued past its deadline is answered 503 + Retry-After",
                         all(getattr(r, "status", None) == 503 and "retry-after" in r.headers
                             for r in late.values()), late)
            checks.check("the 503 says the WAL write waited past its deadline",
                         all("deadline" in r.text() for r in late.values() if hasattr(r, "text")), late)
            m = h.scrape_metrics(nl.port)
            checks.check("/metrics counts the expired WAL writes",
                         h.metric_sum(m, "nightlight_wal_writes_expired_total") >= len(queued),
                         h.metric_sum(m, "nightlight_wal_writes_expired_total"))
            want = {t: {str(i) for i in range(N)} for t in acked}
            got = stored(nl, t0 + 200000)
            checks.check("exactly the acknowledged samples are stored", got == want, (got, want))

            nl.kill9()
            nl.start()
            got = stored(nl, t0 + 200000)
            checks.check("after kill -9 and a restart exactly the acknowledged samples are there",
                         got == want, (got, want))
            r = h.remote_write(nl.port, payload(labels, t0 + 300000))
            checks.check("writes are acknowledged again", r.status == 204, r)
        finally:
            faults.clear()
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
