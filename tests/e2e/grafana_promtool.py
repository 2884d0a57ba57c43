#!/usr/bin/env python3
"""Grafana's Prometheus data source and promtool 2.42 against Nightlight,
checked against a real Prometheus 2.42 (remote-write receiver) holding the
same data (promql_differential's hour: counters with a reset, gauges,
classic histograms, a summary with NaN, a series that goes stale).

1. The request sequence of spec/prometheus-api.md §4, replayed against both
   servers: the "Save & test" health check (POST query 1+1 at time=4),
   buildinfo (Nightlight: 200, semver version, no non-empty features),
   dashboard range queries as POST form bodies with start/end aligned to
   the step (float seconds, with fractions, timeout=60s), instant queries,
   query_exemplars (POST and the millisecond GET probe), labels (POST, with
   and without match[]), label values (GET, __name__ and a label, with
   start/end and match[]), series (POST), rules and alerts, a parse error
   (400 bad_data on both), and the GET retry of every POST resource call.
   Answers must be equal: HTTP status, status/errorType, resultType and data,
   values compared as strings; only the order of unordered result lists is
   normalised. /api/v1/metadata: Prometheus' receiver keeps no remote-written
   metadata, so Prometheus is compared for shape only and Nightlight's
   answer must be exactly the metadata pushed (filters metric= and limit=).
2. promtool query instant/range/series/labels against both: exit code 0
   and the same output (series blocks sorted, as order is the server's).
"""

import json
import os
import re
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402
import promql_differential as pd  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# prometheus.MetricMetadata.MetricType
COUNTER, GAUGE, HISTOGRAM, SUMMARY = 1, 2, 3, 5
METADATA = [
    (COUNTER, "http_requests_total", "Total HTTP requests.", ""),
    (GAUGE, "node_memory_free_bytes", "Free memory.", "bytes"),
    (GAUGE, "temperature_celsius", "Room temperature.", "celsius"),
    (HISTOGRAM, "http_request_duration_seconds", "Request latency.", "seconds"),
    (SUMMARY, "nan_summary", "A summary with NaN quantiles.", ""),
]
TYPE_NAMES = {COUNTER: "counter", GAUGE: "gauge", HISTOGRAM: "histogram", SUMMARY: "summary"}


def fmt(sec):
    """Go's strconv.FormatFloat(sec, 'f', -1, 64) for the values used here."""
    s = repr(float(sec))
    return s[:-2] if s.endswith(".0") else s


def post(port, path, params):
    return h.request(port, "POST", path, body=urllib.parse.urlencode(params), headers=FORM)


def get(port, path, params):
    return h.api_get(port, path, params)


def doc_of(r):
    try:
        return json.loads(r.body)
    except ValueError:
        return {"<not json>": r.body[:200].decode("utf-8", "replace")}


def normalised(doc, ordered=False):
    """Drops the error text (parse messages differ in wording) and sorts
    lists whose order the API does not define."""
    doc = json.loads(json.dumps(doc))
    if doc.get("status") == "error":
        doc.pop("error", None)
        return doc
    data = doc.get("data")
    key = lambda s: sorted(s.get("metric", s.get("seriesLabels", s)).items())  # noqa: E731
    if (isinstance(data, dict) and data.get("resultType") in ("vector", "matrix", None)
            and isinstance(data.get("result"), list) and not ordered):
        data["result"].sort(key=key)
    elif isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        data.sort(key=key)
    return doc


def same(checks, name, a, b, ordered=False):
    """a from Nightlight, b from Prometheus."""
    da, db = normalised(doc_of(a), ordered), normalised(doc_of(b), ordered)
    ok = a.status == b.status and da == db
    checks.check(name, ok, "\n  nightlight %d %s\n  prometheus %d %s"
                 % (a.status, json.dumps(da)[:1500], b.status, json.dumps(db)[:1500]))
    return ok


def both(checks, name, nl, prom, method, path, params, ordered=False, want_status=200):
    fn = post if method == "POST" else get
    a, b = fn(nl.port, path, params), fn(prom.port, path, params)
    ok = same(checks, "%s %s: %s" % (method, path, name), a, b, ordered)
    if ok:  # a comparison of two empty/failed answers proves nothing
        d = doc_of(b)
        checks.check("%s %s: %s: Prometheus answered %d %s" % (method, path, name, want_status,
                                                               "success" if want_status == 200 else "error"),
                     b.status == want_status and d.get("status") == ("success" if want_status == 200 else "error"),
                     "%d %s" % (b.status, json.dumps(d)[:300]))
    return a, b


def non_empty(doc):
    d = doc.get("data")
    if isinstance(d, dict) and "result" in d:
        d = d["result"]
    return bool(d)


def grafana_sequence(checks, nl, prom, t_start, t_end):
    # 4.2 Save & test
    a, b = both(checks, "health check 1+1", nl, prom, "POST", "/api/v1/query", [("query", "1+1"), ("time", "4")])
    checks.check("health check answer is the scalar [4, \"2\"]",
                 doc_of(a).get("data") == {"resultType": "scalar", "result": [4, "2"]}, a)

    # 4.3 buildinfo
    r = h.request(nl.port, "GET", "/api/v1/status/buildinfo")
    d = doc_of(r).get("data", {}) if r.status == 200 else {}
    checks.check("buildinfo: 200, semver version, no non-empty features",
                 r.status == 200 and isinstance(d, dict)
                 and re.match(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", str(d.get("version", "")))
                 is not None and not d.get("features"), r)
    pb = doc_of(h.request(prom.port, "GET", "/api/v1/status/buildinfo")).get("data", {})
    checks.check("buildinfo: Prometheus' keys", set(pb) <= set(d) | {"features"}, (sorted(d), sorted(pb)))

    # 4.4 dashboard range queries, aligned to step, float seconds.
    t0, t1 = t_start / 1000.0, t_end / 1000.0
    range_queries = [
        'sum by (job) (rate(http_requests_total[5m]))',
        'rate(http_requests_total{job="api",instance="host-1"}[1m])',
        'histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))',
        'flappy_gauge',
        'nan_summary',
        'node_memory_free_bytes / 1e6',
        'increase(http_requests_total{method="GET",code="200"}[10m])',
    ]
    for step in (15, 60, 7.5, 0.5):
        span = 3300 if step >= 7.5 else 600
        start = ((t1 - span - 7) // step) * step + 0.0
        end = ((t1 + 9.3) // step) * step + 0.0
        if step < 7.5:
            start, end = ((t0 + 1200.25) // step) * step, ((t0 + 1200.25 + span) // step) * step
        for q in range_queries:
            params = [("query", q), ("start", fmt(start)), ("end", fmt(end)), ("step", fmt(step)),
                      ("timeout", "60s")]
            a, b = both(checks, "range step %s %s" % (fmt(step), q), nl, prom, "POST", "/api/v1/query_range", params)
            checks.check("range step %s %s: a non-empty matrix" % (fmt(step), q), non_empty(doc_of(b)), b)
    # Start/end with millisecond fractions (an unaligned range, as Grafana sends with step < 1 s).
    params = [("query", "flappy_gauge"), ("start", fmt(t0 + 1234.567)), ("end", fmt(t0 + 1534.567)),
              ("step", "15")]
    both(checks, "range with fractional start/end", nl, prom, "POST", "/api/v1/query_range", params)

    # Instant queries (table/stat, alert rules).
    instant = [
        ('sort_desc(sum by (instance) (http_requests_total))', True),
        ('topk(3, rate(http_requests_total[5m]))', False),
        ('http_request_duration_seconds_bucket{job="web"}', False),
        ('nan_summary', False),
        ('count(flappy_gauge)', False),
        ('time()', False),
        ('vector(1) + 0.1', False),
        ('"a string"', False),
    ]
    for q, ordered in instant:
        for t in (t1, t0 + 1800.5, t0 + 1215):
            a, b = both(checks, "instant %s @%s" % (q, fmt(t)), nl, prom, "POST", "/api/v1/query",
                        [("query", q), ("time", fmt(t)), ("timeout", "60s")], ordered=ordered)
    # Parse error: both 400 bad_data (texts are not compared).
    for method in ("POST", "GET"):
        a, b = both(checks, "parse error", nl, prom, method, "/api/v1/query", [("query", "sum(rate(x[5m])"),
                                                                               ("time", fmt(t1))], want_status=400)
        checks.check("%s parse error: errorType bad_data on both" % method,
                     doc_of(a).get("errorType") == doc_of(b).get("errorType") == "bad_data", (a, b))
        both(checks, "range parse error", nl, prom, method, "/api/v1/query_range",
             [("query", "rate(x[5m]"), ("start", fmt(t0)), ("end", fmt(t1)), ("step", "15")], want_status=400)

    # Exemplars: POST as the backend, GET probe with milliseconds (4.7).
    both(checks, "exemplars", nl, prom, "POST", "/api/v1/query_exemplars",
         [("query", "http_requests_total"), ("start", fmt(t0)), ("end", fmt(t1))])
    both(checks, "exemplar probe in ms", nl, prom, "GET", "/api/v1/query_exemplars",
         [("query", "test"), ("start", str(t_end - 1800000)), ("end", str(t_end))])

    # 4.5/4.6 resource calls, integer seconds snapped to the minute.
    s, e = str(int(t0 // 60 * 60)), str(int(t1 // 60 * 60 + 60))
    resource = [
        ("POST", "/api/v1/labels", "label names", [("start", s), ("end", e), ("limit", "40000")]),
        ("POST", "/api/v1/labels", "label names with match[]",
         [("match[]", '{__name__=~".*requests.*"}'), ("start", s), ("end", e), ("limit", "40000")]),
        ("POST", "/api/v1/labels", "label names, two match[]",
         [("match[]", "flappy_gauge"), ("match[]", 'temperature_celsius{room="b"}'), ("start", s), ("end", e)]),
        ("GET", "/api/v1/label/__name__/values", "metric names",
         [("start", s), ("end", e), ("limit", "40000")]),
        ("GET", "/api/v1/label/__name__/values", "metric names with match[]",
         [("start", s), ("end", e), ("limit", "40000"), ("match[]", '{job="api"}')]),
        ("GET", "/api/v1/label/instance/values", "label values", [("start", s), ("end", e)]),
        ("GET", "/api/v1/label/le/values", "label values with match[]",
         [("match[]", 'http_request_duration_seconds_bucket{job="web"}'), ("start", s), ("end", e)]),
        ("GET", "/api/v1/label/code/values", "label values with match[] (adhoc)",
         [("match[]", 'http_requests_total{method="POST"}'), ("start", s), ("end", e)]),
        ("POST", "/api/v1/series", "series {__name__!=\"\"}",
         [("match[]", '{__name__!=""}'), ("start", s), ("end", e), ("limit", "40000")]),
        ("POST", "/api/v1/series", "series selector",
         [("match[]", 'http_requests_total{job="web",code="500"}'), ("start", s), ("end", e)]),
        ("GET", "/api/v1/rules", "rules", []),
        ("GET", "/api/v1/rules", "alert rules", [("type", "alert")]),
        ("GET", "/api/v1/alerts", "alerts", []),
    ]
    for method, path, name, params in resource:
        a, b = both(checks, name, nl, prom, method, path, params)
        if path.startswith("/api/v1/label") or path == "/api/v1/series":
            checks.check("%s %s: %s: non-empty" % (method, path, name), non_empty(doc_of(b)), b)
        if method == "POST":
            # Grafana's retry path: the same call as GET answers the same.
            g = get(nl.port, path, params)
            same(checks, "GET retry %s: %s: equals POST" % (path, name), g, a)
            same(checks, "GET retry %s: %s: equals Prometheus" % (path, name), g, get(prom.port, path, params))
    # POST parameters in the URL (grafana#60242) answer as in the body.
    qs = urllib.parse.urlencode([("match[]", "flappy_gauge"), ("start", s), ("end", e)])
    a = h.request(nl.port, "POST", "/api/v1/series?" + qs, body="", headers=FORM)
    b = h.request(prom.port, "POST", "/api/v1/series?" + qs, body="", headers=FORM)
    same(checks, "POST /api/v1/series with parameters in the URL", a, b)

    # Metadata: Prometheus' receiver keeps none (2.42): shape only there.
    want = {}
    for mtype, fam, help_text, unit in METADATA:
        want[fam] = [{"type": TYPE_NAMES[mtype], "help": help_text, "unit": unit}]
    for params, expect in (([], want), ([("metric", "temperature_celsius")], {"temperature_celsius":
                                                                             want["temperature_celsius"]}),
                           ([("metric", "nope")], {}), ([("limit", "2")], None)):
        a, b = get(nl.port, "/api/v1/metadata", params), get(prom.port, "/api/v1/metadata", params)
        da, db = doc_of(a), doc_of(b)
        checks.check("GET /api/v1/metadata %s: same status and shape as Prometheus" % params,
                     a.status == b.status == 200 and da.get("status") == db.get("status") == "success"
                     and isinstance(da.get("data"), dict) and isinstance(db.get("data"), dict), (a, b))
        got = da.get("data")
        if expect is None:
            ok = isinstance(got, dict) and len(got) == 2 and all(want.get(k) == v for k, v in got.items())
        else:
            ok = got == expect
        checks.check("GET /api/v1/metadata %s: the pushed metadata" % params, ok,
                     "got %s\n  want %s" % (json.dumps(got), json.dumps(expect)))


def promtool(args):
    p = subprocess.run(["promtool", "query"] + args, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def blocks(text):
    """promql output: one block per series (a matrix prints `metric =>`
    then its points); sorted, as the order is the server's."""
    out, cur = [], []
    for line in text.splitlines():
        if cur and (" =>" in line or not line.startswith(("  ", "\t"))) and not re.match(r"^[-+0-9.NaInf]+ @\[", line):
            out.append("\n".join(cur))
            cur = []
        cur.append(line)
    if cur:
        out.append("\n".join(cur))
    return sorted(out)


def promtool_checks(checks, nl, prom, t_start, t_end):
    t0, t1 = t_start // 1000, t_end // 1000
    cases = [
        ["instant", "--time=%d" % t1, "URL", 'sum by (job, code) (rate(http_requests_total[5m]))'],
        ["instant", "--time=%d" % (t0 + 1800), "URL", 'http_request_duration_seconds_bucket{job="api"}'],
        ["instant", "--time=%d" % t1, "URL", 'nan_summary'],
        ["instant", "--time=%d" % t1, "URL", 'scalar(sum(flappy_gauge))'],
        ["instant", "-o", "json", "--time=%d" % t1, "URL", 'rate(http_requests_total{job="web"}[5m])'],
        ["range", "--start=%d" % (t0 + 300), "--end=%d" % t1, "--step=1m", "URL",
         'sum by (job) (rate(http_requests_total[5m]))'],
        ["range", "--start=%d" % (t0 + 1100), "--end=%d" % (t0 + 1400), "--step=15s", "URL", 'flappy_gauge'],
        ["range", "-o", "json", "--start=%d" % (t0 + 300), "--end=%d" % t1, "--step=5m", "URL",
         'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))'],
        ["series", "--match=http_requests_total{job=\"api\"}", "--start=%d" % t0, "--end=%d" % t1, "URL"],
        ["series", "--match=flappy_gauge", "--match=late_series", "URL"],
        ["labels", "URL", "instance"],
        ["labels", "--match=temperature_celsius", "--start=%d" % t0, "--end=%d" % t1, "URL", "room"],
        ["labels", "URL", "__name__"],
    ]
    for case in cases:
        name = "promtool query " + " ".join(a for a in case if a != "URL")
        ra = promtool([a if a != "URL" else "http://127.0.0.1:%d" % nl.port for a in case])
        rb = promtool([a if a != "URL" else "http://127.0.0.1:%d" % prom.port for a in case])
        checks.check(name + ": exit 0 on both", ra[0] == rb[0] == 0,
                     "nightlight %d %s\n  prometheus %d %s" % (ra[0], ra[2][:300], rb[0], rb[2][:300]))
        if "json" in case:
            oa = normalised({"data": {"result": json.loads(ra[1] or "null") or []}})
            ob = normalised({"data": {"result": json.loads(rb[1] or "null") or []}})
        else:
            oa, ob = blocks(ra[1]), blocks(rb[1])
        checks.check(name + ": the same output", oa == ob and rb[1].strip() != "",
                     "\n  nightlight %r\n  prometheus %r" % (ra[1][:1500], rb[1][:1500]))


def main():
    args = h.arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    t_start, _, t_end, series, times = pd.data_hour()
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        nl = h.Nightlight(args.nightlight, nl_dir)
        try:
            prom.start()
            nl.start()
            for port in (prom.port, nl.port):
                pd.push(port, series, times)
                last = [(list(k), [v[-1]]) for k, v in series.items() if v and v[-1][0] == t_end][:1]
                r = h.remote_write(port, h.encode_series(last, METADATA))
                if r.status // 100 != 2:
                    raise AssertionError("metadata push to %d: %r" % (port, r))
            grafana_sequence(checks, nl, prom, t_start, t_end)
            promtool_checks(checks, nl, prom, t_start, t_end)
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
