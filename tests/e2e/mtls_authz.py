#!/usr/bin/env python3
"""Identity-based authorization: with tls.allowed_writers [writer],
tls.allowed_readers [reader] and tls.allowed_admins [reader] (admin API on),
the writer's snapshot request is 403 and the reader's succeeds; the
reader's remote write is 403 (plain text,
nothing stored), the writer's query is 403 (JSON envelope, errorType
forbidden), open endpoints serve both, and nightlight_http_forbidden_total
counts per path. The reader sees the effective configuration with the
server's key path redacted. With open_endpoints_for_any_client false, /metrics needs
a reader."""

import os
import sys
import time

import nlharness as h
import mtls_common as m


def payload(name):
    now = h.now_ms()
    return h.encode_series([(h.labels_of(name, job="authz"), [(now, 1.0)])])


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs"))
        os.makedirs(os.path.join(work, "a"))
        os.makedirs(os.path.join(work, "b"))
        nl = m.MtlsNightlight(args.nightlight, os.path.join(work, "a"), certs,
                              tls={"allowed_writers": ["writer"], "allowed_readers": ["reader"],
                                   "allowed_admins": ["reader"]},
                              server={"enable_admin_api": True})
        try:
            nl.start()
            r = m.https(nl.port, "POST", "/api/v1/write", certs, "writer",
                        body=payload("authz_written_by_writer"), headers=h.REMOTE_WRITE_HEADERS)
            checks.check("the writer writes (204)", r.status == 204, repr(r))
            r = m.https(nl.port, "POST", "/api/v1/write", certs, "reader",
                        body=payload("authz_written_by_reader"), headers=h.REMOTE_WRITE_HEADERS)
            checks.check("the reader's write is 403 in plain text naming the identity",
                         r.status == 403 and r.headers.get("content-type", "").startswith("text/plain")
                         and "CN=reader" in r.text() and "tls.allowed_writers" in r.text(), repr(r))

            q = "/api/v1/series?match%5B%5D=%7Bjob%3D%22authz%22%7D"
            r = m.https(nl.port, "GET", q, certs, "writer")
            doc = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            checks.check("the writer's query is 403 with a JSON error envelope",
                         r.status == 403 and doc.get("status") == "error"
                         and doc.get("errorType") == "forbidden"
                         and "tls.allowed_readers" in doc.get("error", ""), repr(r))
            time.sleep(0.2)
            r = m.https(nl.port, "GET", q, certs, "reader")
            names = sorted(s.get("__name__") for s in r.json().get("data", [])) if r.status == 200 else None
            checks.check("the reader reads; only the writer's series was stored",
                         names == ["authz_written_by_writer"], "%r %r" % (r, names))
            # The effective configuration shows the certificate paths but
            # not the private key's (Prometheus' "<secret>").
            key_path = os.path.join(certs, "server-key.pem")
            r = m.https(nl.port, "GET", "/api/v1/status/config", certs, "reader")
            yaml = r.json()["data"]["yaml"] if r.status == 200 else ""
            checks.check("status/config redacts tls.key_file and shows the certificate",
                         "key_file: <secret>\n" in yaml and key_path not in yaml
                         and os.path.join(certs, "server.pem") in yaml, repr(r))
            r = m.https(nl.port, "GET", "/api/v1/status/flags", certs, "reader")
            flags = r.json()["data"] if r.status == 200 else {}
            checks.check("status/flags redacts tls.key_file",
                         flags.get("tls.key_file") == "<secret>" and key_path not in r.text()
                         and flags.get("tls.allowed_readers") == "[reader]", repr(r))
            r = m.https(nl.port, "GET", "/api/v1/status/config", certs, "writer")
            checks.check("status/config is for readers only (403 for the writer)", r.status == 403, repr(r))
            for who in ("writer", "reader"):
                r = m.https(nl.port, "GET", "/metrics", certs, who)
                checks.check("/metrics is open to %s" % who, r.status == 200, repr(r))
                r = m.https(nl.port, "GET", "/-/healthy", certs, who)
                checks.check("/-/healthy is open to %s" % who, r.status == 200, repr(r))
            # The admin API: only tls.allowed_admins, whatever else a caller may do.
            r = m.https(nl.port, "POST", "/api/v1/admin/tsdb/snapshot", certs, "writer")
            doc = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            checks.check("the writer's snapshot request is 403 naming tls.allowed_admins",
                         r.status == 403 and doc.get("errorType") == "forbidden"
                         and "tls.allowed_admins" in doc.get("error", ""), repr(r))
            r = m.https(nl.port, "POST", "/api/v1/admin/tsdb/snapshot", certs, "reader")
            doc = r.json() if r.status == 200 else {}
            checks.check("the listed admin takes a snapshot",
                         doc.get("status") == "success" and doc.get("data", {}).get("name"), repr(r))
            w = m.tls_metric(nl.port, certs, "nightlight_http_forbidden_total", path="/api/v1/write")
            s = m.tls_metric(nl.port, certs, "nightlight_http_forbidden_total", path="/api/v1/series")
            checks.check("forbidden requests are counted per path", w == 1 and s == 1,
                         "write=%s series=%s" % (w, s))
        finally:
            nl.stop()

        closed = m.MtlsNightlight(args.nightlight, os.path.join(work, "b"), certs, ready_as="reader",
                                  tls={"allowed_readers": ["reader"],
                                       "open_endpoints_for_any_client": False})
        try:
            closed.start()
            r = m.https(closed.port, "GET", "/metrics", certs, "writer")
            checks.check("closed open endpoints: /metrics refuses the writer", r.status == 403, repr(r))
            r = m.https(closed.port, "GET", "/metrics", certs, "reader")
            checks.check("closed open endpoints: /metrics serves the reader", r.status == 200, repr(r))
            r = m.https(closed.port, "POST", "/api/v1/write", certs, "reader",
                        body=payload("authz_any_writer"), headers=h.REMOTE_WRITE_HEADERS)
            checks.check("an empty allowed_writers lets any verified client write", r.status == 204,
                         repr(r))
        finally:
            closed.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
