#!/usr/bin/env python3
"""The real Prometheus 2.42 remote-writes to Nightlight over mutual TLS
(remote_write.tls_config with the writer certificate) while Nightlight only
lets `writer` write and `reader` read. Within 60 s the reader sees
Prometheus' own series, and Prometheus has not dropped a sample (a 403 or a
refused handshake would show in its failed/retried counters)."""

import os
import sys

import nlharness as h
import mtls_common as m

SENDER_CONFIG = """
global:
  scrape_interval: 1s
  external_labels:
    e2e: mtls
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PORT']
remote_write:
  - url: https://localhost:%(port)d/api/v1/write
    name: nightlight_mtls
    remote_timeout: 10s
    tls_config:
      ca_file: %(certs)s/ca.pem
      cert_file: %(certs)s/writer.pem
      key_file: %(certs)s/writer-key.pem
      server_name: localhost
      min_version: TLS12
    queue_config:
      batch_send_deadline: 500ms
      max_samples_per_send: 500
      min_backoff: 30ms
      max_backoff: 500ms
"""


def sender(prom, name):
    return h.metric_sum(h.scrape_metrics(prom.port), name)


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs"))
        nl_dir = os.path.join(work, "nl")
        prom_dir = os.path.join(work, "prom")
        os.makedirs(nl_dir)
        os.makedirs(prom_dir)
        nl = m.MtlsNightlight(args.nightlight, nl_dir, certs,
                              tls={"allowed_writers": ["writer"], "allowed_readers": ["reader"]})
        prom = None
        try:
            nl.start()
            prom = h.Prometheus(prom_dir, SENDER_CONFIG % {"port": nl.port, "certs": certs})
            prom.start()

            def reader_sees_up():
                r = m.https(nl.port, "GET", "/api/v1/series?match%5B%5D=up", certs, "reader")
                if r.status != 200:
                    return False
                data = r.json()["data"]
                return [s for s in data if s.get("job") == "prometheus" and s.get("e2e") == "mtls"]
            found = h.eventually(reader_sees_up, 60, 0.5)
            checks.check("the reader sees up{job=prometheus} written over mTLS", bool(found),
                         nl.log_tail())

            def many_series():
                r = m.https(nl.port, "GET", "/api/v1/label/__name__/values", certs, "reader")
                names = r.json()["data"] if r.status == 200 else []
                return len([n for n in names if n.startswith("prometheus_")]) >= 5
            checks.check("Prometheus' own metrics arrive", bool(h.eventually(many_series, 30, 0.5)))

            sent = sender(prom, "prometheus_remote_storage_samples_total")
            failed = sender(prom, "prometheus_remote_storage_samples_failed_total")
            retried = sender(prom, "prometheus_remote_storage_samples_retried_total")
            checks.check("Prometheus sent samples and none failed or were retried",
                         sent > 0 and failed == 0 and retried == 0,
                         "sent=%s failed=%s retried=%s" % (sent, failed, retried))
            refused = sum(m.tls_metric(nl.port, certs, "nightlight_tls_handshake_failures_total",
                                       reason=r)
                          for r in ["no_certificate", "unknown_ca", "expired", "not_yet_valid",
                                    "bad_usage", "plaintext_http", "other"])
            forbidden = m.tls_metric(nl.port, certs, "nightlight_http_forbidden_total",
                                     path="/api/v1/write")
            checks.check("no handshake refused, no write forbidden", refused == 0 and forbidden == 0,
                         "refused=%s forbidden=%s" % (refused, forbidden))
            r = m.https(nl.port, "GET", "/api/v1/series?match%5B%5D=up", certs, "writer")
            checks.check("the writer may not read", r.status == 403, repr(r))
        finally:
            if prom is not None:
                prom.stop()
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
