#!/usr/bin/env python3
"""Cluster reads against Prometheus 2.42: three node processes on loopback
(replication factor 2, write quorum 2) and one Prometheus with its
remote-write receiver, fed the same data.

  * The data set of promql_differential.py goes in through node A (and
    straight into Prometheus). Every query of differential_queries.txt,
    instant and range, through B (and a third of them through C), answers
    as Prometheus does; so do /api/v1/series, /labels and
    /label/<name>/values. /api/v1/status/cluster lists the nodes.
  * gRPC (Query, QueryRange, Series, LabelNames, LabelValues) through C
    with every node up, and through A with C killed, answers as the
    node's HTTP API does; with two nodes down a gRPC Query carries the
    HTTP answer's warning (partial_response true) or fails UNAVAILABLE
    naming both (false).
  * kill -9 of C while a writer pushes through A: queries through A and B
    stay equal to Prometheus and carry no warning, and find every sample
    the writer got 204 for; C restarts, links up and answers alike.
  * SIGSTOP of B: a query through A answers complete (no warning) once
    A's link drops B (connection timeout), well within its deadline; a
    query through C with timeout=1s answers 503 timeout at its own
    deadline, and C's fetch from B is withdrawn at once (nothing left in
    flight on the link while it is still up).
  * Two nodes down: through the survivor, answers carry a warning naming
    both (partial_response true), or are 503 naming both
    (partial_response false, node B).
  * Metric metadata (not replicated: kept by the node a write came
    through) written through A, B and C: /api/v1/metadata through each
    node, with its parameters, equals a single Nightlight's that got the
    same writes. C killed: through A the answer lacks C's family and
    carries a warning naming C (HTTP and gRPC Metadata), through B
    (partial_response false) it is 503 naming C; C restarted answers
    complete again.
With --tls the same runs over node-link mutual TLS (certificates from one
cluster CA, each naming its node; see cluster_tls.py).
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402
import promql_differential as pd  # noqa: E402

CONN_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 4.0


def node_config(name, link_ports, partial_response=True, tls=None):
    """`tls`: {"dir": certificate directory, "ca": (ca pem, ca key)}."""
    cfg = {
        "name": "e2e", "self": name,
        "nodes": [{"name": n, "addr": "127.0.0.1:%d" % p} for n, p in link_ports.items()],
        "replication_factor": 2, "heartbeat_interval": "500ms",
        "connection_timeout": "%dms" % int(CONN_TIMEOUT_S * 1000),
        "request_timeout": "%dms" % int(REQUEST_TIMEOUT_S * 1000),
        "reconnect_backoff_max": "1s", "partial_response": partial_response}
    if tls:
        import cluster_tls
        cert, key = cluster_tls.make_node_cert(tls["dir"], name, *tls["ca"])
        cfg.update({"cert_file": cert, "key_file": key, "ca_file": tls["ca"][0]})
    return {"cluster": cfg}


def links_up(node):
    return h.metric_sum(h.scrape_metrics(node.port), "nightlight_cluster_link_up")


def cluster_status(node):
    return {n["name"]: n for n in h.api_data(node.port, "/api/v1/status/cluster")["nodes"]}


class Reference:
    """Prometheus' answers, asked once per request."""

    def __init__(self, prom):
        self.prom = prom
        self.cache = {}

    def get(self, path, params):
        key = (path, tuple(params))
        if key not in self.cache:
            self.cache[key] = h.api_get(self.prom.port, path, params, timeout=30.0).json()
        return self.cache[key]


def query_requests(queries, instants, ranges):
    """(path, params) of every query as instant and range queries."""
    out = []
    for q in queries:
        for t in instants:
            out.append((q, "/api/v1/query", [("query", q), ("time", "%.3f" % (t / 1000))]))
        for start, end, step in ranges:
            out.append((q, "/api/v1/query_range", [("query", q), ("start", "%.3f" % (start / 1000)),
                                                   ("end", "%.3f" % (end / 1000)),
                                                   ("step", "%g" % (step / 1000))]))
    return out


def run_queries(checks, label, ref, node, requests):
    """Every request through `node` equals Prometheus' answer and carries
    no warning. One check per query text."""
    diffs = {}
    nonempty = 0
    for q, path, params in requests:
        got = h.api_get(node.port, path, params, timeout=30.0).json()
        d = pd.compare(q, ref.get(path, params), got)
        nonempty += bool(got.get("data", {}).get("result"))
        if not d and got.get("warnings"):
            d = "warnings %s" % got["warnings"]
        if d:
            diffs.setdefault(q, []).append("%s %s: %s" % (path.rsplit("/", 1)[1], params[1:], d))
    queries = []
    for q, _, _ in requests:
        if q not in queries:
            queries.append(q)
    for q in queries:
        checks.check(label + q, q not in diffs, "; ".join(diffs.get(q, []))[:600])
    # Equal answers prove little if they are empty: most hold data.
    checks.check(label + "%d of %d answers hold data" % (nonempty, len(requests)), nonempty >= 0.7 * len(requests))


def metadata_requests(t_start, t_end, matchers_only=False):
    """(path, params) of series, label and label value requests."""
    rng = [("start", "%.3f" % (t_start / 1000)), ("end", "%.3f" % (t_end / 1000))]
    out = [
        ("/api/v1/series", [("match[]", "http_requests_total")]),
        ("/api/v1/series", [("match[]", 'http_requests_total{code="500"}'), ("match[]", "late_series")] + rng),
        ("/api/v1/series", [("match[]", '{__name__=~"node_.*|temperature_.*"}')]),
        ("/api/v1/labels", [("match[]", "http_request_duration_seconds_bucket")]),
        ("/api/v1/labels", [("match[]", "nan_summary"), ("match[]", "flappy_gauge")] + rng),
        ("/api/v1/label/instance/values", [("match[]", "flappy_gauge")]),
        ("/api/v1/label/le/values", [("match[]", '{job="web"}')]),
        ("/api/v1/label/code/values", []),
        ("/api/v1/label/no_such_label/values", []),
    ]
    if not matchers_only:
        # Everything stored: only while the data set is all there is.
        out += [("/api/v1/labels", []), ("/api/v1/label/__name__/values", []),
                ("/api/v1/label/job/values", rng)]
    return out


def canonical(path, doc):
    if doc.get("status") != "success":
        return doc
    data = doc["data"]
    if path == "/api/v1/series":
        data = sorted(sorted(s.items()) for s in data)
    return {"status": "success", "data": data, "warnings": doc.get("warnings", [])}


def run_metadata(checks, label, ref, node, requests):
    for path, params in requests:
        want = canonical(path, ref.get(path, params))
        got = canonical(path, h.api_get(node.port, path, params, timeout=30.0).json())
        checks.check("%s%s %s" % (label, path, params), got == want,
                     "got %s, want %s" % (str(got)[:300], str(want)[:300]))


class Writer(threading.Thread):
    """Pushes 20 series of cl_load through one node, retrying a batch until
    it gets 204; records what was acknowledged."""

    def __init__(self, port, base_ms):
        super().__init__(daemon=True)
        self.port, self.base_ms = port, base_ms
        self.stop = threading.Event()
        self.acked = set()

    def run(self):
        k = 0
        while not self.stop.is_set():
            t = self.base_ms + k * 10
            body = h.encode_series([(h.labels_of("cl_load", i=str(i)), [(t, float(k))]) for i in range(20)])
            while not self.stop.is_set():
                try:
                    if h.remote_write(self.port, body, timeout=10.0).status == 204:
                        self.acked.update((str(i), t) for i in range(20))
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            k += 1


# Metric metadata written through one node each: (node, entries), entries
# as h.write_request takes them (type, family, help, unit).
COUNTER, GAUGE, HISTOGRAM, INFO = 1, 2, 3, 6  # prometheus.MetricMetadata.MetricType
META_WRITES = [
    ("a", [(COUNTER, "cm_requests_total", "Requests.", ""), (GAUGE, "cm_temperature", "Room temperature.", "celsius")]),
    # Another exporter version words a help text differently, through B.
    ("b", [(COUNTER, "cm_requests_total", "Requests served.", ""),
           (HISTOGRAM, "cm_latency_seconds", "Latency.", "seconds")]),
    # One description through two nodes: listed once.
    ("b", [(GAUGE, "cm_temperature", "Room temperature.", "celsius")]),
    ("c", [(INFO, "cm_build", "Build information.", "")]),
]
META_PARAMS = [[], [("metric", "cm_requests_total")], [("limit", "2")], [("limit_per_metric", "1")],
               [("limit", "1"), ("limit_per_metric", "1")], [("limit", "0")], [("metric", "cm_nothing")]]


def write_metadata(checks, nodes, single):
    for name, entries in META_WRITES:
        body = h.encode_series([], entries)
        for label, port in (("through " + name.upper(), nodes[name].port), ("to the single node", single.port)):
            r = h.remote_write(port, body)
            checks.check("metadata write %s: 204" % label, r.status == 204, r)


def metadata_doc(node, params):
    return h.api_get(node.port, "/api/v1/metadata", params, timeout=30.0).json()


def compare_metadata(checks, label, single, node):
    """/api/v1/metadata through `node` equals the single node's, no warning."""
    for params in META_PARAMS:
        want, got = metadata_doc(single, params), metadata_doc(node, params)
        checks.check("%s/api/v1/metadata %s: as one node" % (label, params), got == want and "warnings" not in got,
                     "got %s, want %s" % (str(got)[:400], str(want)[:400]))


def grpc_client(wd, node):
    import grpc
    import grpc_common as g
    ch = grpc.insecure_channel("127.0.0.1:%d" % node.grpc_port, options=g.channel_options())
    return ch, g.QueryClient(ch, g.Protos(wd))


def grpc_metadata(wd, node):
    """gRPC Metadata through `node`: ({family: [descriptions]}, warnings)."""
    ch, client = grpc_client(wd, node)
    with ch:
        parts = client.call("Metadata")
    fams = {}
    for p in parts:
        for fam in p.metrics:
            fams.setdefault(fam.metric, []).extend({"type": d.type, "help": d.help, "unit": d.unit}
                                                   for d in fam.metadata)
    return fams, [w for p in parts for w in p.warnings]


def grpc_as_http(checks, label, wd, node, requests):
    """Every query of `requests` over gRPC through `node` answers as its
    HTTP API does (compared to Prometheus elsewhere), warnings included;
    then Series, LabelNames and LabelValues as their HTTP endpoints."""
    import grpc
    import grpc_common as g
    ch, client = grpc_client(wd, node)
    with ch:
        diffs, nonempty = [], 0
        for q, path, params in requests:
            p = dict(params)
            js = h.api_get(node.port, path, params, timeout=30.0).json()
            if path.endswith("/query"):
                code, parts = client.status("Query", query=q, time_ms=int(round(float(p["time"]) * 1000)))
            else:
                code, parts = client.status("QueryRange", query=q, start_ms=int(round(float(p["start"]) * 1000)),
                                            end_ms=int(round(float(p["end"]) * 1000)),
                                            step_ms=int(round(float(p["step"]) * 1000)))
            if js.get("status") != "success" or code != grpc.StatusCode.OK:
                # The data set's queries include some that fail alike.
                why = "" if js.get("status") != "success" and code != grpc.StatusCode.OK else \
                    "HTTP %s, gRPC %s %s" % (js.get("status"), code, str(parts)[:200])
            else:
                got = g.answer_of_parts(client.pb, parts)
                why = g.diff_answers(got, g.answer_of_json(js))
                nonempty += bool(got["result"])
            if why:
                diffs.append("%s %s: %s" % (q, path.rsplit("/", 1)[1], why))
        checks.check(label + "gRPC Query/QueryRange as HTTP (%d requests)" % len(requests), not diffs,
                     "; ".join(diffs)[:600])
        checks.check(label + "gRPC: %d of %d answers hold data" % (nonempty, len(requests)),
                     nonempty >= 0.7 * len(requests))
        for match in (["http_requests_total"], ['{__name__=~"node_.*|temperature_.*"}']):
            js = h.api_get(node.port, "/api/v1/series", [("match[]", m) for m in match], timeout=30.0).json()
            parts = client.call("Series", match=match)
            got = [dict((l.name, l.value) for l in x.labels) for pt in parts for x in pt.series]
            checks.check(label + "gRPC Series %s as HTTP" % match,
                         bool(got) and sorted(map(sorted, map(dict.items, got))) ==
                         sorted(map(sorted, map(dict.items, js["data"]))), "%d vs %d" % (len(got), len(js["data"])))
        js = h.api_get(node.port, "/api/v1/labels", [("match[]", "http_request_duration_seconds_bucket")]).json()
        got = [n for pt in client.call("LabelNames", match=["http_request_duration_seconds_bucket"]) for n in pt.names]
        checks.check(label + "gRPC LabelNames as HTTP", len(got) > 1 and got == js["data"], (got, js))
        js = h.api_get(node.port, "/api/v1/label/instance/values", [("match[]", "flappy_gauge")]).json()
        got = [v for pt in client.call("LabelValues", label_name="instance", match=["flappy_gauge"]) for v in pt.values]
        checks.check(label + "gRPC LabelValues as HTTP", bool(got) and got == js["data"], (got, js))


def acked_found(checks, label, node, acked):
    """Every acknowledged cl_load sample is found through `node`, without a
    warning."""
    newest = max(t for _, t in acked)
    r = h.api_get(node.port, "/api/v1/query", [("query", "cl_load[1h]"), ("time", "%.3f" % (newest / 1000 + 1))],
                  timeout=30.0)
    doc = r.json()
    found = set()
    for res in doc.get("data", {}).get("result", []):
        for t, _ in res["values"]:
            found.add((res["metric"]["i"], int(round(float(t) * 1000))))
    checks.check(label + ": every acknowledged sample found (%d)" % len(acked), not (acked - found),
                 "%d missing, answer %r" % (len(acked - found), r))
    checks.check(label + ": no warning", not doc.get("warnings"), doc.get("warnings"))


def timed_get(port, path, params, timeout=30.0):
    t0 = time.monotonic()
    r = h.api_get(port, path, params, timeout=timeout)
    return r, time.monotonic() - t0


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--tls", action="store_true", help="node links over mutual TLS")
    args = p.parse_args()
    checks = h.Checks()
    t_start, t_mid, t_end, series, times = pd.data_hour()
    queries = pd.load_queries(pd.QUERIES_FILE, t_mid, t_end)
    instants = [t_mid, t_end, t_start + 17 * 60000 + 7000, t_end + 150000]
    ranges = [(t_start + 5 * 60000, t_end, 60000), (t_start, t_end + 300000, 37000)]
    everything = query_requests(queries, instants, ranges)
    third = query_requests(queries[::3], instants, ranges)
    # Asked again and again while nodes fail: a few of each kind.
    sample = query_requests(queries[::12], [t_mid, t_end], ranges[:1])
    with h.Workdir(args.keep) as wd:
        names = ["a", "b", "c"]
        nodes = {}
        for n in names + ["single"]:
            d = os.path.join(wd, n)
            os.makedirs(d)
            nodes[n] = h.Nightlight(args.nightlight, d)
        single = nodes.pop("single")  # the oracle for metric metadata
        prom_dir = os.path.join(wd, "prom")
        os.makedirs(prom_dir)
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        # Link ports distinct from each other and from every server's ports
        # (none is bound before the servers start).
        taken = h.ports_of(list(nodes.values()) + [prom, single])
        link_ports = dict(zip(names, h.distinct_free_ports(len(names), taken)))
        tls = None
        if args.tls:
            import cluster_tls
            certs = os.path.join(wd, "certs")
            os.makedirs(certs)
            tls = {"dir": certs, "ca": cluster_tls.make_ca(certs, "cluster-ca")}
        for n in names:
            nodes[n].extra_config = node_config(n, link_ports, partial_response=(n != "b"), tls=tls)
            nodes[n].write_config()
        try:
            prom.start()
            single.start()
            for n in names:
                nodes[n].start()
            run(checks, wd, nodes, single, prom, series, times, t_start, t_end, everything, third, sample)
        finally:
            for n in names:
                if nodes[n].proc is not None and nodes[n].alive():
                    os.kill(nodes[n].proc.pid, signal.SIGCONT)
                nodes[n].stop()
            single.stop()
            prom.stop()
    return checks.finish()


def run(checks, wd, nodes, single, prom, series, times, t_start, t_end, everything, third, sample):
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    for name, n in nodes.items():
        h.wait_until("node %s links to both peers" % name, lambda n=n: links_up(n) == 2, 20)
    st = cluster_status(a)
    checks.check("status: A is self, B and C up",
                 (st["a"]["state"], st["b"]["state"], st["c"]["state"]) == ("self", "up", "up"), st)
    ref = Reference(prom)
    pd.push(prom.port, series, times)
    pd.push(a.port, series, times)

    # 1. Through B and C, every answer as Prometheus'.
    t0 = time.monotonic()
    run_queries(checks, "through B: ", ref, b, everything)
    h.log("%d queries through B in %.1fs" % (len(everything), time.monotonic() - t0))
    run_queries(checks, "through C: ", ref, c, third)
    meta = metadata_requests(t_start, t_end)
    run_metadata(checks, "through B: ", ref, b, meta)
    run_metadata(checks, "through C: ", ref, c, meta)
    grpc_as_http(checks, "through C: ", wd, c, sample)
    # Metric metadata: every node's, merged, through any node.
    write_metadata(checks, nodes, single)
    whole = h.api_data(single.port, "/api/v1/metadata", [])
    checks.check("the single node lists 4 families, cm_requests_total twice",
                 len(whole) == 4 and len(whole.get("cm_requests_total", [])) == 2, whole)
    for n, node in (("A", a), ("B", b), ("C", c)):
        compare_metadata(checks, "through %s: " % n, single, node)

    # 2. kill -9 C while a writer pushes through A.
    w = Writer(a.port, h.now_ms() - 30000)
    w.start()
    time.sleep(1.5)
    c.kill9()
    h.wait_until("A sees C down", lambda: cluster_status(a)["c"]["state"] == "down", 10)
    time.sleep(1.0)
    acked = set(w.acked)
    checks.check("writes acknowledged with C down", len(acked) > 0)
    meta_now = metadata_requests(t_start, t_end, matchers_only=True)
    for n, node in (("A", a), ("B", b)):
        run_queries(checks, "C killed, through %s: " % n, ref, node, sample)
        run_metadata(checks, "C killed, through %s: " % n, ref, node, meta_now)
        acked_found(checks, "C killed, through %s" % n, node, acked)
    # Metric metadata lives on the node that received it: C's family is
    # gone with C, and the answer says so.
    without_c = {k: v for k, v in whole.items() if k != "cm_build"}
    r = h.api_get(a.port, "/api/v1/metadata", [], timeout=30.0)
    doc = r.json()
    warnings = doc.get("warnings", [])
    checks.check("C killed, /api/v1/metadata through A: 200, every family but C's",
                 r.status == 200 and doc.get("data") == without_c, r)
    checks.check("... with one warning naming C", len(warnings) == 1 and "1 of 3 nodes did not answer" in warnings[0]
                 and "c: " in warnings[0] and "a: " not in warnings[0] and "b: " not in warnings[0], warnings)
    grpc_as_http(checks, "C killed, through A: ", wd, a, sample)
    fams, gwarnings = grpc_metadata(wd, a)
    checks.check("C killed, gRPC Metadata through A: the same families and warning",
                 fams == without_c and gwarnings == warnings, (fams, gwarnings))
    r = h.api_get(b.port, "/api/v1/metadata", [], timeout=30.0)
    checks.check("C killed, /api/v1/metadata through B (partial_response false): 503 naming C",
                 r.status == 503 and r.json().get("errorType") == "unavailable"
                 and "c: " in r.json().get("error", ""), r)
    c.start()
    h.wait_until("C links up again", lambda: links_up(c) == 2 and cluster_status(a)["c"]["state"] == "up", 20)
    time.sleep(1.0)
    w.stop.set()
    w.join(30)
    run_queries(checks, "C restarted, through C: ", ref, c, sample)
    run_metadata(checks, "C restarted, through C: ", ref, c, meta_now)
    compare_metadata(checks, "C restarted, through C: ", single, c)
    acked_found(checks, "C restarted, through C", c, w.acked)

    # 3. SIGSTOP B: no DOWN comes, only the heartbeat timeout tells.
    q_sum = [("query", "sum(http_requests_total)"), ("time", "%.3f" % (t_end / 1000))]
    h.stop_process(b.proc.pid)
    try:
        short = {}

        def ask_with_short_timeout():
            short["r"], short["took"] = timed_get(c.port, "/api/v1/query", q_sum + [("timeout", "1s")])
            # Right after the answer, before C's link notices B (about
            # CONN_TIMEOUT_S after the stop): nothing may be left in flight.
            short["status"] = cluster_status(c)["b"]
        t = threading.Thread(target=ask_with_short_timeout)
        t.start()
        r, took = timed_get(a.port, "/api/v1/query", q_sum)
        t.join(30)
        h.log("B stopped: A answered in %.2fs, C (timeout=1s) in %.2fs" % (took, short.get("took", -1)))
        d = pd.compare("sum(http_requests_total)", ref.get("/api/v1/query", q_sum), r.json())
        checks.check("B stopped: A answers as Prometheus (%s)" % d, d is None and r.status == 200)
        checks.check("B stopped: A's answer carries no warning", not r.json().get("warnings"), r.json())
        checks.check("B stopped: A answers within connection timeout + 1.5s (%.2fs)" % took,
                     took <= CONN_TIMEOUT_S + 1.5)
        sr = short.get("r")
        checks.check("B stopped: C's query with timeout=1s is a 503 timeout",
                     sr is not None and sr.status == 503 and sr.json().get("errorType") == "timeout", sr)
        checks.check("B stopped: C answers at its own deadline (%.2fs)" % short.get("took", -1),
                     0.9 <= short.get("took", -1) <= 1.8)
        bs = short.get("status", {})
        checks.check("B stopped: C's link still up when asked (else the next check proves nothing)",
                     bs.get("state") == "up", bs)
        checks.check("B stopped: C's fetch from B withdrawn at the deadline (in flight 0)",
                     bs.get("requestsInFlight") == 0, bs)
        h.wait_until("A and C see B down",
                     lambda: cluster_status(a)["b"]["state"] == "down" and cluster_status(c)["b"]["state"] == "down",
                     10)
        run_queries(checks, "B stopped, through C: ", ref, c, sample)
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    h.wait_until("B links up again", lambda: links_up(b) == 2 and links_up(a) == 2 and links_up(c) == 2, 20)

    # Metric metadata is kept by the node that received it (not
    # replicated); a 204 means it is stored there, with or without
    # samples, and every node serves it.
    r = h.remote_write(a.port, h.encode_series([], [(COUNTER, "cluster_meta_only_total", "Only metadata.", "")]))
    checks.check("metadata-only write through A: 204", r.status == 204, r)
    r = h.remote_write(a.port, h.encode_series(
        [([("__name__", "cluster_meta_mixed"), ("job", "m")], [(t_end, 1.0)])],
        [(GAUGE, "cluster_meta_mixed", "Samples and metadata.", "bytes")]))
    checks.check("samples + metadata write through A: 204", r.status == 204, r)
    for n, node in (("A", a), ("C", c)):
        md = h.api_data(node.port, "/api/v1/metadata", [])
        checks.check("%s serves both families' metadata" % n,
                     md.get("cluster_meta_only_total") == [{"type": "counter", "help": "Only metadata.", "unit": ""}]
                     and md.get("cluster_meta_mixed") == [{"type": "gauge", "help": "Samples and metadata.",
                                                           "unit": "bytes"}], md)

    # 4. Two nodes down. B answers no partial results...
    a.kill9()
    c.kill9()
    h.wait_until("B sees A and C down", lambda: links_up(b) == 0, 10)
    r = h.api_get(b.port, "/api/v1/query", q_sum, timeout=30.0)
    body = r.json()
    checks.check("A and C down, through B (partial_response false): 503",
                 r.status == 503 and body.get("errorType") == "unavailable", r)
    checks.check("... naming both nodes", "a: " in body.get("error", "") and "c: " in body.get("error", ""), body)
    checks.check("... with Retry-After", "retry-after" in r.headers, r.headers)
    r = h.api_get(b.port, "/api/v1/labels", [], timeout=30.0)
    checks.check("A and C down, /labels through B: 503", r.status == 503, r)
    import grpc
    http_error = h.api_get(b.port, "/api/v1/query", q_sum, timeout=30.0).json().get("error")
    ch, client = grpc_client(wd, b)
    with ch:
        code, details = client.status("Query", query="sum(http_requests_total)", time_ms=t_end)
    checks.check("A and C down, gRPC Query through B: UNAVAILABLE with the HTTP answer's error",
                 code == grpc.StatusCode.UNAVAILABLE and details == http_error, (code, details, http_error))
    r = h.api_get(b.port, "/api/v1/metadata", [], timeout=30.0)
    checks.check("A and C down, /metadata through B: 503", r.status == 503, r)
    # ... A does, with a warning.
    a.start()
    h.wait_until("A links to B", lambda: cluster_status(a)["b"]["state"] == "up", 20)
    b.kill9()
    h.wait_until("A sees B down", lambda: links_up(a) == 0, 10)
    for path, params in (("/api/v1/query", q_sum), ("/api/v1/series", [("match[]", "late_series")]),
                         ("/api/v1/label/job/values", []), ("/api/v1/metadata", [])):
        r = h.api_get(a.port, path, params, timeout=30.0)
        doc = r.json()
        warnings = doc.get("warnings", [])
        checks.check("B and C down, %s through A: 200 with one warning" % path,
                     r.status == 200 and len(warnings) == 1, r)
        checks.check("... naming both nodes",
                     bool(warnings) and "2 of 3 nodes did not answer" in warnings[0]
                     and "b: " in warnings[0] and "c: " in warnings[0], warnings)
    h.log("warning text: %s" % warnings)
    http_doc = h.api_get(a.port, "/api/v1/query", q_sum, timeout=30.0).json()
    ch, client = grpc_client(wd, a)
    with ch:
        parts = client.call("Query", query="sum(http_requests_total)", time_ms=t_end)
    gw = [w for p in parts for w in p.warnings]
    checks.check("B and C down, gRPC Query through A: the HTTP answer's one warning",
                 len(gw) == 1 and gw == http_doc.get("warnings") and any(p.vector for p in parts),
                 (gw, http_doc.get("warnings")))
    # Remote read and /federate cannot carry a warning: refused instead.
    pb = h.proto()
    req = pb.ReadRequest()
    q = req.queries.add()
    q.start_timestamp_ms, q.end_timestamp_ms = t_start, t_end
    m = q.matchers.add()
    m.type, m.name, m.value = 0, "__name__", "late_series"  # EQ
    for accepted, kind in (((), "samples"), ((1,), "streamed")):  # 1: STREAMED_XOR_CHUNKS
        del req.accepted_response_types[:]
        req.accepted_response_types.extend(accepted)
        r = h.request(a.port, "POST", "/api/v1/read", body=h.snappy.compress(req.SerializeToString()),
                      timeout=30.0, headers={"Content-Type": "application/x-protobuf",
                                             "Content-Encoding": "snappy",
                                             "X-Prometheus-Remote-Read-Version": "0.1.0"})
        checks.check("B and C down, %s remote read through A: 503 naming the missing nodes" % kind,
                     r.status == 503 and b"incomplete" in r.body and b"b: " in r.body, r)
    r = h.request(a.port, "GET", "/federate?match[]=late_series", timeout=30.0)
    checks.check("B and C down, /federate through A: 503 naming the missing nodes",
                 r.status == 503 and b"incomplete" in r.body and b"c: " in r.body, r)


if __name__ == "__main__":
    sys.exit(main())
