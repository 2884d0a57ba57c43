#!/usr/bin/env python3
"""The real Prometheus 2.42 scrapes itself every second and remote-writes to
the server under test. Within 60 s the server must list `up` and several
`prometheus_*` series, name them in /api/v1/label/__name__/values, and
Prometheus must not have dropped a single sample or metadata entry (its
`..._failed_total` counters stay 0: a 4xx from the receiver would show there).
Every sample the server returns for `up` and `prometheus_http_requests_total`
must also be in Prometheus' own TSDB with the same value (the sender is the
oracle); a query that keeps failing fails the test."""

import os
import sys
import time

import nlharness as h

SENDER_CONFIG = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    e2e: sender
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PORT']
remote_write:
  - url: http://127.0.0.1:%(receiver)d/api/v1/write
    name: under_test
    remote_timeout: 10s
    queue_config:
      batch_send_deadline: 500ms
      max_samples_per_send: 500
      min_backoff: 30ms
      max_backoff: 500ms
    metadata_config:
      send: true
      send_interval: 2s
"""

WANT_PROMETHEUS_SERIES = 5


def sender_counters(prom):
    m = h.scrape_metrics(prom.port)
    return {name: h.metric_sum(m, name) for name in (
        "prometheus_remote_storage_samples_total",
        "prometheus_remote_storage_samples_failed_total",
        "prometheus_remote_storage_samples_retried_total",
        "prometheus_remote_storage_metadata_total",
        "prometheus_remote_storage_metadata_failed_total",
        "prometheus_remote_storage_samples_pending",
    )}


def compare_with_sender(checks, target, prom, expr):
    """Every (t, v) the target returns for expr[30s] must equal the sender's
    sample at t for the same series (minus the external label)."""
    at = time.time() - 2
    got = h.query(target.port, expr + "[30s]", at)
    want = h.query(prom.port, expr + "[30s]", at)
    def key(metric):
        return tuple(sorted((k, v) for k, v in metric.items() if k != "e2e"))
    oracle = {key(s["metric"]): dict((round(float(t) * 1000), v) for t, v in s["values"])
              for s in want["result"]}
    compared, mismatches = 0, []
    for s in got["result"]:
        ref = oracle.get(key(s["metric"]))
        if ref is None:
            mismatches.append("series %s unknown to the sender" % (s["metric"],))
            continue
        for t, v in s["values"]:
            ms = round(float(t) * 1000)
            compared += 1
            if ref.get(ms) != v:
                mismatches.append("%s @%d: got %s, sender has %s" % (s["metric"], ms, v, ref.get(ms)))
    checks.check("%s[30s] samples equal the sender's (%d compared)" % (expr, compared),
                 compared > 0 and not mismatches, "; ".join(mismatches[:5]))


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        os.makedirs(os.path.join(work, "target"))
        os.makedirs(os.path.join(work, "sender"))
        target = h.make_target(args, os.path.join(work, "target"))
        prom = None
        try:
            target.start()
            prom = h.Prometheus(os.path.join(work, "sender"),
                                SENDER_CONFIG % {"receiver": target.port})
            prom.start()
            h.log("target %s on %d, sender prometheus on %d" % (target.name, target.port, prom.port))

            def enough_series():
                up = h.series(target.port, "up")
                names = h.series(target.port, '{__name__=~"prometheus_.+"}')
                return (len(up) >= 1 and len(names) >= WANT_PROMETHEUS_SERIES) and (up, names)
            up, names = h.wait_until("up and prometheus_* series at the target", enough_series, 60)
            checks.check("series: up present", any(s.get("__name__") == "up" for s in up), up)
            checks.check("series: up carries job/instance/external label",
                         any(s.get("job") == "prometheus" and s.get("instance") == "127.0.0.1:%d" % prom.port
                             and s.get("e2e") == "sender" for s in up), up)
            checks.check("series: >= %d prometheus_* series (%d)" % (WANT_PROMETHEUS_SERIES, len(names)),
                         len(names) >= WANT_PROMETHEUS_SERIES)
            checks.check("series: every result matches the selector",
                         all(s.get("__name__", "").startswith("prometheus_") for s in names))

            values = h.api_data(target.port, "/api/v1/label/__name__/values")
            sample_names = sorted({s["__name__"] for s in names})[:20]
            checks.check("label values: __name__ lists up and the prometheus_* names",
                         "up" in values and all(n in values for n in sample_names),
                         [n for n in ["up"] + sample_names if n not in values])
            checks.check("label values: sorted and unique", values == sorted(set(values)))
            labels = h.api_data(target.port, "/api/v1/labels")
            checks.check("labels: lists __name__, job, instance",
                         all(n in labels for n in ("__name__", "job", "instance")), labels)
            job_values = h.api_data(target.port, "/api/v1/label/job/values")
            checks.check("label values: job", job_values == ["prometheus"], job_values)

            # Let a few more batches and at least one metadata round go out,
            # then the sender's own books must show no drops.
            time.sleep(3)
            c = h.wait_until("sender sent samples and metadata",
                             lambda: (lambda c: c["prometheus_remote_storage_samples_total"] > 0
                                      and c["prometheus_remote_storage_metadata_total"] > 0 and c)(
                                 sender_counters(prom)), 30)
            h.log("sender counters:", c)
            checks.check("sender: samples_failed_total == 0",
                         c["prometheus_remote_storage_samples_failed_total"] == 0, c)
            checks.check("sender: metadata_failed_total == 0",
                         c["prometheus_remote_storage_metadata_failed_total"] == 0, c)
            checks.check("sender: samples_retried_total == 0",
                         c["prometheus_remote_storage_samples_retried_total"] == 0, c)

            compare_with_sender(checks, target, prom, 'up')
            compare_with_sender(checks, target, prom, 'prometheus_http_requests_total')
            checks.check("target still running", target.alive())
        finally:
            if prom is not None:
                prom.stop()
            target.stop()
            if checks.failed:
                print(target.log_tail(), file=sys.stderr)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
