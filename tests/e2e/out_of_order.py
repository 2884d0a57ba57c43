#!/usr/bin/env python3
"""Out-of-order samples, differentially against Prometheus 2.42.

Both servers get the same remote writes with out_of_order_time_window 30m
(Nightlight: storage.out_of_order_window, with 10m blocks so that cuts,
out-of-order blocks and their merges happen during the test):
  * in-order data for 60 minutes ending a minute ago;
  * then samples 5 to 25 minutes behind the newest (inside the window, some
    behind the block cut already made): accepted by both;
  * a sample 45 minutes behind: refused by both (Nightlight 400 "out of
    bounds"; Prometheus 2.42 answers 500 "too old sample", which makes
    senders retry it forever; 2.50 changed that to 400);
  * a stored out-of-order timestamp again with another value: Nightlight
    refuses it (400 "duplicate sample for timestamp", as for in-order
    samples); Prometheus 2.42 silently replaces the value, so this one is
    sent to Nightlight only.
Then `m[2h]` (every raw sample) must be equal on both servers, before and
after Nightlight has cut the out-of-order samples into blocks and after a
restart. Separately, without a window, one request carrying a series'
samples out of order is stored whole by Nightlight (sorted), where
Prometheus 2.42 keeps only the in-order ones.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP = 15000
WINDOW = "30m"


def push(port, series_samples):
    return h.remote_write(port, h.encode_series(series_samples))


def raw(port, expr, at_ms):
    res = h.api_data(port, "/api/v1/query", [("query", expr), ("time", "%.3f" % (at_ms / 1000))], timeout=30)
    return {tuple(sorted(s["metric"].items())): [(round(float(t) * 1000), v) for t, v in s["values"]]
            for s in res["result"]}


def diff(want, got):
    out = []
    for k in sorted(set(want) | set(got)):
        w, g = dict(want.get(k, [])), dict(got.get(k, []))
        for t in sorted(set(w) | set(g)):
            if w.get(t) != g.get(t):
                out.append((dict(k).get("job"), t, w.get(t), g.get(t)))
    return out[:6]


def wait_for_cuts(nl, n):
    def done():
        m = h.scrape_metrics(nl.port)
        return h.metric_sum(m, "nightlight_compactions_total") >= n
    return h.eventually(done, 60)


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    args = p.parse_args()
    checks = h.Checks()
    t_end = (h.now_ms() // STEP) * STEP - 60000
    t_start = t_end - 3600 * 1000
    a = h.labels_of("ooo_metric", job="a")
    b = h.labels_of("ooo_metric", job="b")
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir, plain_dir = (os.path.join(wd, d) for d in ("prom", "nl", "plain"))
        for d in (prom_dir, nl_dir, plain_dir):
            os.makedirs(d)
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG
                            + "storage:\n  tsdb:\n    out_of_order_time_window: %s\n" % WINDOW, receiver=True)
        nl = h.Nightlight(args.nightlight, nl_dir, extra_config={"storage": {
            "out_of_order_window": WINDOW, "block_duration": "10m", "compaction_interval_seconds": 1}})
        plain = h.Nightlight(args.nightlight, plain_dir)
        try:
            prom.start()
            nl.start()
            servers = [("prometheus", prom), ("nightlight", nl)]
            # In order: every other step for series a, every step for b.
            for t in range(t_start, t_end + 1, STEP):
                batch = [(b, [(t, float(t // STEP % 97))])]
                if (t // STEP) % 2 == 0:
                    batch.append((a, [(t, float(t // STEP % 89))]))
                for name, srv in servers:
                    r = push(srv.port, batch)
                    if r.status // 100 != 2:
                        raise AssertionError("%s in-order push at %d: %r" % (name, t, r))
            # Let Nightlight cut the older part into blocks first, so that
            # some out-of-order samples land behind a cut.
            checks.check("nightlight cut blocks before the out-of-order writes", wait_for_cuts(nl, 3))
            # Out of order, 5..25 minutes behind: a's odd steps.
            late = [t for t in range(t_end - 25 * 60000, t_end - 5 * 60000, STEP) if (t // STEP) % 2 == 1]
            for name, srv in servers:
                bad = [t for t in late if push(srv.port, [(a, [(t, 1000.0 + t // STEP % 7)])]).status // 100 != 2]
                checks.check("%s accepts %d samples inside the window" % (name, len(late)), not bad, bad[:3])
                r = push(srv.port, [(a, [(t_end - 45 * 60000 + STEP, 1.0)])])
                ok = r.status == 400 if srv is nl else r.status in (400, 500)
                checks.check("%s refuses a sample behind the window" % name, ok, r)
            # The newest late sample is still in the head (the older ones
            # may be in blocks already, where a conflict cannot be seen).
            r = push(nl.port, [(a, [(late[-1], 5.5)])])
            checks.check("nightlight refuses another value for a stored out-of-order time",
                         r.status == 400 and b"duplicate sample" in r.body, r)
            m = h.scrape_metrics(nl.port)
            checks.check("/metrics counts the %d out-of-order samples" % len(late),
                         h.metric_sum(m, "nightlight_out_of_order_samples_appended_total") == len(late),
                         h.metric_sum(m, "nightlight_out_of_order_samples_appended_total"))
            at = t_end + 1
            want = raw(prom.port, "ooo_metric[2h]", at)
            checks.check("prometheus stored the out-of-order samples",
                         len(want.get(tuple(sorted({"__name__": "ooo_metric", "job": "a"}.items())), []))
                         > 120 + len(late) - 5)
            got = raw(nl.port, "ooo_metric[2h]", at)
            checks.check("equal raw samples right after the writes", got == want, diff(want, got))
            checks.check("nightlight cut the out-of-order samples into blocks", wait_for_cuts(nl, 5))
            time.sleep(2)
            got = raw(nl.port, "ooo_metric[2h]", at)
            checks.check("equal raw samples after the cuts", got == want, diff(want, got))
            nl.stop()
            nl.start()
            got = raw(nl.port, "ooo_metric[2h]", at)
            checks.check("equal raw samples after a restart", got == want, diff(want, got))
            m = h.scrape_metrics(nl.port)
            checks.check("no compaction failed", h.metric_sum(m, "nightlight_compactions_failed_total") == 0)

            # Without a window: one request, one series, samples out of order.
            plain.start()
            c = h.labels_of("unsorted_metric", job="c")
            ts = [t_end - 60000, t_end - 120000, t_end - 30000, t_end - 90000]
            r = push(plain.port, [(c, [(t, float(i)) for i, t in enumerate(ts)])])
            checks.check("a request with unsorted samples is accepted", r.status // 100 == 2, r)
            got = raw(plain.port, "unsorted_metric[10m]", t_end + 1)
            series = list(got.values())[0] if got else []
            checks.check("all its samples are stored in time order",
                         [t for t, _ in series] == sorted(ts)
                         and [float(v) for _, v in series] == [1.0, 3.0, 0.0, 2.0], series)
        finally:
            plain.stop()
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
