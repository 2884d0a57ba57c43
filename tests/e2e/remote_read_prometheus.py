#!/usr/bin/env python3
"""Remote read through a real Prometheus: a Prometheus 2.42 whose own TSDB
stays empty has `remote_read` (read_recent: true) pointing at Nightlight,
which holds the data of the PromQL differential test (one hour, remote-
written into Nightlight only, most of it already cut into persistent
blocks). Every query of differential_queries.txt, instant at several times
and over ranges, must give Prometheus exactly Nightlight's own answer:
same series, same timestamps, every value the same string (except where
the query applies a transcendental function: Go's math package and
glibc's libm may round those differently in the last bit, so there the
values may differ by a few ulp, 1e-15 relative). Prometheus
turns remote-read failures into warnings, so no answer may carry one.
/api/v1/series through Prometheus (hints func "series") must list what
Nightlight lists.

With --tls Nightlight requires client certificates and lets only `reader`
read: Prometheus reads with the reader certificate (and the same answers
must come back), a Prometheus with the writer certificate gets nothing
but a warning naming the 403, and a streamed read over TLS arrives whole.
The data goes in, and Nightlight's own answers come out, through the
plaintext loopback listener (`@loopback` may write and read).
"""

import math
import os
import re
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402
import promql_differential as pd  # noqa: E402
import mtls_common as m  # noqa: E402
import remote_read as rr  # noqa: E402

PROMETHEUS_CONFIG = """global:
  scrape_interval: 1h
remote_read:
  - url: http://127.0.0.1:%d/api/v1/read
    name: nightlight
    read_recent: true
"""

PROMETHEUS_TLS_CONFIG = """global:
  scrape_interval: 1h
remote_read:
  - url: https://localhost:%(port)d/api/v1/read
    name: nightlight
    read_recent: true
    tls_config:
      ca_file: %(certs)s/ca.pem
      cert_file: %(certs)s/%(who)s.pem
      key_file: %(certs)s/%(who)s-key.pem
      server_name: localhost
      min_version: TLS12
"""


def exact(a, b):
    return a == b


# Functions whose results come from the platform's libm (Go's math in
# Prometheus, glibc in Nightlight): equal to within a few ulp, not always
# in the last bit.
LIBM = re.compile(r"\b(exp|ln|log2|log10|sin|cos|tan|asin|acos|atan|sinh|cosh|tanh|asinh|acosh|atanh)\(")


def within_ulps(a, b):
    if a == b:
        return True
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
        return False
    return abs(x - y) <= 1e-15 * max(abs(x), abs(y))


def run(checks, label, prom, nl, queries, instants, ranges, t_start):
    """Like promql_differential.run_queries, with exact values, and every
    Prometheus answer free of warnings."""
    with_data = 0
    for q in queries:
        diffs = []
        data = False
        requests = [("/api/v1/query", [("query", q), ("time", "%.3f" % (t / 1000))], "instant@%d" % ((t - t_start) // 1000))
                    for t in instants]
        requests += [("/api/v1/query_range", [("query", q), ("start", "%.3f" % (s / 1000)), ("end", "%.3f" % (e / 1000)),
                                              ("step", "%g" % (st / 1000))], "range step %ds" % (st // 1000))
                     for s, e, st in ranges]
        for path, params, what in requests:
            ref = h.api_get(nl.port, path, params, timeout=60).json()
            got = h.api_get(prom.port, path, params, timeout=60).json()
            data |= pd.has_data(ref)
            d = pd.compare(q, ref, got, within_ulps if LIBM.search(q) else exact)
            if not d and got.get("warnings"):
                d = "Prometheus warns: %s" % got["warnings"]
            if d:
                diffs.append("%s: %s" % (what, d))
        with_data += data
        checks.check(label + q, not diffs, "; ".join(diffs)[:600])
    # Equal answers prove little when they are empty.
    h.log("%s%d of %d queries answered with data" % (label, with_data, len(queries)))
    checks.check(label + "most queries answered with data", with_data * 10 >= len(queries) * 9,
                 "%d of %d queries had data" % (with_data, len(queries)))


def check_tls(checks, nl, certs, prom_dir, t_start, t_end):
    """The writer may not read; a streamed read over TLS arrives whole."""
    raw = rr.read_request([(t_start, t_end, [(rr.EQ, "__name__", "http_requests_total")], None)], [rr.STREAMED])
    body = h.snappy.compress(raw)
    r = m.https(nl.port, "POST", "/api/v1/read", certs, "writer", body=body)
    checks.check("the writer's remote read is 403 in plain text naming tls.allowed_readers",
                 r.status == 403 and r.headers.get("content-type", "").startswith("text/plain")
                 and "tls.allowed_readers" in r.text(), r)
    r = m.https(nl.port, "POST", "/api/v1/read", certs, "reader", body=body, timeout=60)
    series, frames = rr.streamed_answer(r)
    n = len(series.get(0, []))
    checks.check("a streamed read over TLS: %d series in %d frames, every CRC good" % (n, frames),
                 n == 24 and all(len(xs) >= 240 for _, xs in series[0]))
    os.makedirs(prom_dir, exist_ok=True)
    prom = h.Prometheus(prom_dir, PROMETHEUS_TLS_CONFIG % {"port": nl.port, "certs": certs, "who": "writer"})
    try:
        prom.start()
        got = h.api_get(prom.port, "/api/v1/query", [("query", "http_requests_total"),
                                                      ("time", "%.3f" % (t_end / 1000))]).json()
        warnings = " ".join(got.get("warnings", []))
        checks.check("a Prometheus reading as the writer gets no data and a warning naming the 403",
                     got.get("status") == "success" and got["data"]["result"] == [] and "403" in warnings,
                     got)
    finally:
        prom.stop()


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--tls", action="store_true", help="mutual TLS; Prometheus reads as `reader`")
    p.add_argument("--queries", default=pd.QUERIES_FILE)
    args = p.parse_args()
    checks = h.Checks()
    t_start, t_mid, t_end, series, times = pd.data_hour()
    queries = pd.load_queries(args.queries, t_mid, t_end)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        # 10-minute blocks, cut as the head grows; no merges.
        storage = {"block_duration": "10m", "compaction_interval_seconds": 3600}
        certs = None
        if args.tls:
            certs = m.make_certs(os.path.join(wd, "certs"))
            lo = h.free_port()
            nl = m.MtlsNightlight(args.nightlight, nl_dir, certs,
                                  tls={"allowed_writers": ["writer", "@loopback"],
                                       "allowed_readers": ["reader", "@loopback"]},
                                  server={"plaintext_loopback_addr": "127.0.0.1:%d" % lo})
            nl.extra_config["storage"] = storage
            nl.write_config()
            plain = types.SimpleNamespace(port=lo)  # the loopback listener
            prom_config = PROMETHEUS_TLS_CONFIG % {"port": nl.port, "certs": certs, "who": "reader"}
        else:
            nl = h.Nightlight(args.nightlight, nl_dir, extra_config={"storage": storage})
            plain = nl
            prom_config = PROMETHEUS_CONFIG % nl.port
        prom = None
        try:
            nl.start()
            pd.push(plain.port, series, times)
            h.wait_compactor_settled(checks, plain, "the data lies in >= 3 blocks and the head",
                                     lambda loaded, written: loaded >= 3, 90)
            prom = h.Prometheus(prom_dir, prom_config)
            prom.start()
            instants = [t_mid, t_end, t_start + 17 * 60000 + 7000, t_end + 150000]
            ranges = [(t_start + 5 * 60000, t_end, 60000), (t_start, t_end + 300000, 37000)]
            run(checks, "through Prometheus: ", prom, plain, queries, instants, ranges, t_start)
            # /api/v1/series: Prometheus asks with hints func "series".
            for match in ('{__name__=~".+"}', 'http_requests_total{code="500"}', "flappy_gauge", "no_such_metric"):
                params = [("match[]", match), ("start", "%.3f" % (t_start / 1000)), ("end", "%.3f" % (t_end / 1000))]
                want = h.api_get(plain.port, "/api/v1/series", params).json()
                got = h.api_get(prom.port, "/api/v1/series", params).json()
                key = lambda doc: sorted(tuple(sorted(m.items())) for m in doc.get("data", []))  # noqa: E731
                checks.check("series %s through Prometheus: %d series, as Nightlight lists them"
                             % (match, len(want.get("data", []))),
                             got.get("status") == "success" and not got.get("warnings") and key(got) == key(want)
                             and (len(want.get("data", [])) > 0) == (match != "no_such_metric"),
                             (got.get("warnings"), len(got.get("data", []))))
            # Everything came from Nightlight: Prometheus holds nothing.
            pm = h.scrape_metrics(prom.port)
            nm = h.scrape_metrics(plain.port)
            reads = sum(v for (n, labels), v in nm.items()
                        if n == "nightlight_http_requests_total" and ("handler", "/api/v1/read") in labels
                        and ("code", "200") in labels)
            checks.check("Prometheus' own head stayed empty (%g series); Nightlight answered %g remote reads"
                         % (h.metric_sum(pm, "prometheus_tsdb_head_series"), reads),
                         h.metric_sum(pm, "prometheus_tsdb_head_series") == 0 and reads > len(queries))
            if args.tls:
                prom.stop()
                check_tls(checks, nl, certs, os.path.join(wd, "prom-writer"), t_start, t_end)
        finally:
            if prom is not None:
                prom.stop()
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
