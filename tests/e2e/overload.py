#!/usr/bin/env python3
"""Back-pressure: with a tiny in-flight budget (server.max_inflight_samples)
and several concurrent writers, Nightlight must refuse the excess with 503 +
Retry-After (which Prometheus retries; a 429 or 400 would make it drop the
batch), answer nothing but 204 or 503, take every batch once it is retried,
and return its in-flight gauge to 0 afterwards."""

import http.client
import sys
import threading
import time

import nlharness as h

WRITERS = 6
BATCHES = 40
SAMPLES = 800  # per request; two requests exceed the budget of 1000


def writer(idx, port, base, stats, deadline):
    conn = None
    labels = [h.labels_of("nl_overload", writer=str(idx), series=str(i)) for i in range(SAMPLES)]
    k = 0
    while k < BATCHES and time.monotonic() < deadline:
        body = h.encode_series([(labels[i], [(base + k * 1000, float(k))]) for i in range(SAMPLES)])
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/api/v1/write", body=body, headers=h.REMOTE_WRITE_HEADERS)
            resp = conn.getresponse()
            text = resp.read()
        except (OSError, http.client.HTTPException) as e:
            stats["errors"].append(repr(e))
            conn = None
            time.sleep(0.05)
            continue
        with stats["lock"]:
            stats["codes"][resp.status] = stats["codes"].get(resp.status, 0) + 1
        if 200 <= resp.status < 300:
            k += 1
        elif resp.status == 503:
            ra = resp.getheader("Retry-After")
            if ra is None or not ra.isdigit():
                stats["bad_retry_after"].append(ra)
            # Prometheus 2.42 ignores Retry-After and backs off from 30 ms;
            # do the same so the test stays short.
            time.sleep(0.03)
        else:
            stats["other"].append((resp.status, text[:200]))
            k += 1
    stats["done"][idx] = k
    if conn is not None:
        conn.close()


def main():
    args = h.arg_parser(__doc__).parse_args()
    if args.server != "nightlight":
        raise SystemExit("overload.py tests Nightlight's own admission settings")
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        target = h.Nightlight(args.nightlight, work, fsync="always", extra_config={
            "server": {"max_inflight_samples": 1000, "retry_after_seconds": 1}})
        try:
            target.start()
            stats = {"lock": threading.Lock(), "codes": {}, "bad_retry_after": [], "other": [],
                     "errors": [], "done": {}}
            base = h.now_ms() - 20 * 60_000
            deadline = time.monotonic() + 90
            threads = [threading.Thread(target=writer, args=(i, target.port, base, stats, deadline))
                       for i in range(WRITERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=100)
            h.log("status codes:", stats["codes"], "connection errors:", len(stats["errors"]))
            checks.check("every writer got all %d batches acknowledged" % BATCHES,
                         all(stats["done"].get(i) == BATCHES for i in range(WRITERS)), stats["done"])
            checks.check("answers are 204 or 503 only", not stats["other"], stats["other"][:3])
            checks.check("no connection errors", not stats["errors"], stats["errors"][:3])
            overloads = stats["codes"].get(503, 0)
            checks.check("the budget was hit (503 answers: %d)" % overloads, overloads > 0)
            checks.check("every 503 carries Retry-After in seconds", not stats["bad_retry_after"],
                         stats["bad_retry_after"][:3])
            m = h.scrape_metrics(target.port)
            counted = h.metric_sum(m, "nightlight_overload_responses_total")
            checks.check("nightlight_overload_responses_total counts them (%d)" % counted,
                         counted >= overloads)
            inflight = h.eventually(
                lambda: h.metric_sum(h.scrape_metrics(target.port), "nightlight_inflight_samples") == 0, 5)
            checks.check("nightlight_inflight_samples back to 0", inflight)
            listed = h.series(target.port, "nl_overload")
            checks.check("all %d series listed" % (WRITERS * SAMPLES), len(listed) == WRITERS * SAMPLES,
                         len(listed))
            checks.check("server alive", target.alive())
        finally:
            target.stop()
            if checks.failed:
                print(target.log_tail(), file=sys.stderr)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
