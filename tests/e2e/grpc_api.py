#!/usr/bin/env python3
"""The gRPC query API (nightlight.v1.QueryService on server.grpc_addr)
against the HTTP API of the same server, on the same data.

1. Every method (Query, QueryRange, Series, LabelNames, LabelValues,
   Metadata) answers
   what HTTP answers, value for value: vectors, matrices, scalars, strings,
   NaN, +-Inf, -0, a NaN payload (bit for bit through storage and gRPC),
   non-ASCII labels, warnings ("results truncated due to limit").
2. A 3000-series x 250-step range answer arrives in several parts, each
   under gRPC's default 4 MiB receive limit, equal to HTTP's.
3. Errors: what HTTP answers 400 is INVALID_ARGUMENT with the same message,
   422 execution FAILED_PRECONDITION, too many samples RESOURCE_EXHAUSTED,
   a `timeout_ms` that passes DEADLINE_EXCEEDED.
4. A heavy query with a 200 ms deadline ends DEADLINE_EXCEEDED promptly and
   the server stops working on it (CPU back to idle within a second,
   nightlight_queries_cancelled_total, one log line); the same for a call
   the client cancels.
5. Off-the-shelf clients: grpc.health.v1 Check answers SERVING; server
   reflection lists the services and hands out query.proto, from which a
   request is built and answered without any generated code.
6. /metrics counts the calls by method and code.

Everything listens on 127.0.0.1; every wait is bounded in time."""

import math
import os
import struct
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

import nlharness as h
import grpc_common as g

MAX_SAMPLES = 1_000_000
# (type enum, family, help, unit) as remote write carries them; nl_g_gauge
# gets two descriptions.
METADATA = [(1, "nl_g_counter", "Requests.", ""), (2, "nl_g_gauge", "A gauge.", "bytes"),
            (2, "nl_g_gauge", "A gauge, described again.", "bytes"), (5, "nl_g_summary", "Latency ✓.", "seconds")]
TOO_MANY = 'nl_g_big or label_replace(nl_g_big, "copy", "1", "", "")'
PAYLOAD_NAN = 0x7FF8000000000ABC
STEP_MS = 15_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def nan_with_payload():
    return struct.unpack("<d", struct.pack("<Q", PAYLOAD_NAN))[0]


def write(server, series):
    r = h.remote_write(server.port, h.encode_series(series), timeout=30)
    if r.status != 204:
        raise AssertionError("write -> %r" % r)


def write_data(server, end_ms):
    """Counters, special values, and 3000 small series for the big answer."""
    t0 = end_ms - 3_600_000
    counters = []
    for job in ("api", "db"):
        for i in range(10):
            samples = [(t0 + k * STEP_MS, float(k * (i + 1))) for k in range(241)]
            counters.append((h.labels_of("nl_g_counter", job=job, instance="host-%d" % i), samples))
    write(server, counters)
    specials = [nan_with_payload(), math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1]
    gauges = []
    for n, v in enumerate(specials):
        samples = [(end_ms - 600_000 + k * 60_000, v if k == 9 else float(k + n)) for k in range(10)]
        gauges.append((h.labels_of("nl_g_gauge", kind="k%d" % n, text="ünïcode ✓ %d" % n), samples))
    r = h.remote_write(server.port, h.encode_series(gauges, metadata=METADATA), timeout=30)
    if r.status != 204:
        raise AssertionError("write -> %r" % r)
    # A sample every 4 minutes (inside the 5-minute lookback) for 64
    # minutes: every step of a 250-step range at 15 s has a value.
    for first in range(0, 3000, 500):
        write(server, [(h.labels_of("nl_g_big", i="%04d" % i),
                        [(end_ms - k * 240_000, i + k * 0.25) for k in range(16, -1, -1)])
                       for i in range(first, first + 500)])


def compare_queries(checks, server, client, pb, end_ms):
    at = end_ms / 1000.0
    instants = [
        "nl_g_counter", "sum by (job) (rate(nl_g_counter[5m]))", "nl_g_gauge", "nl_g_gauge[10m]",
        "nl_g_gauge / 0", "-nl_g_gauge", "ln(nl_g_gauge - 3)", "scalar(sum(nl_g_counter))", "time()",
        '"a string"', "absent(nl_nothing)", "nl_nothing", "topk(3, nl_g_counter)",
        "nl_g_counter offset 5m", 'label_replace(nl_g_gauge, "x", "$1", "text", "(.*)")',
        "count(nl_g_big)", "nl_g_counter[2m:30s]", "sort_desc(nl_g_counter)",
    ]
    for q in instants:
        js = h.api_get(server.port, "/api/v1/query", [("query", q), ("time", "%.3f" % at)])
        parts = client.call("Query", query=q, time_ms=end_ms)
        why = g.diff_answers(g.answer_of_parts(pb, parts), g.answer_of_json(js.json())) \
            if js.status == 200 else "HTTP %r" % js
        checks.check("Query %s: equal to HTTP" % q, not why, why)
    ranges = ["rate(nl_g_counter[1m])", "nl_g_gauge", "sum(nl_g_counter)", "vector(time())",
              "scalar(count(nl_g_counter))", "nl_g_gauge * 2 > 10", "timestamp(nl_g_gauge)"]
    start_ms = end_ms - 3_600_000
    for q in ranges:
        js = h.api_get(server.port, "/api/v1/query_range",
                       [("query", q), ("start", "%.3f" % (start_ms / 1000)), ("end", "%.3f" % at),
                        ("step", "15")])
        parts = client.call("QueryRange", query=q, start_ms=start_ms, end_ms=end_ms, step_ms=15_000)
        why = g.diff_answers(g.answer_of_parts(pb, parts), g.answer_of_json(js.json())) \
            if js.status == 200 else "HTTP %r" % js
        checks.check("QueryRange %s: equal to HTTP" % q, not why, why)

    # The NaN payload survives storage and gRPC bit for bit (the JSON
    # cannot show it).
    raw = g.answer_of_parts(pb, client.call("Query", query='nl_g_gauge{kind="k0"}[10m]', time_ms=end_ms))
    got = [g.bits(v) for _, pts in raw["result"] for _, v in pts]
    checks.check("a NaN payload comes back bit for bit", PAYLOAD_NAN in got,
                 ["%016x" % b for b in got])


def compare_metadata_calls(checks, server, client, end_ms):
    def http(path, params):
        r = h.api_get(server.port, path, params)
        return r.status, r.json()

    for match in (['nl_g_counter{job="api"}'], ["nl_g_gauge", "nl_g_big{i=~\"00.*\"}"], ["nl_nothing"]):
        st, js = http("/api/v1/series", [("match[]", m) for m in match])
        parts = client.call("Series", match=match)
        got = [dict((l.name, l.value) for l in s.labels) for p in parts for s in p.series]
        # Equal and empty proves little: only nl_nothing matches nothing.
        checks.check("Series %s: equal to HTTP" % match,
                     st == 200 and got == js["data"] and bool(got) == (match != ["nl_nothing"]),
                     "%d vs %d series" % (len(got), len(js.get("data", []))))
    # limit: the truncation warning as HTTP words it.
    st, js = http("/api/v1/series", [("match[]", "nl_g_big"), ("limit", "7")])
    parts = client.call("Series", match=["nl_g_big"], limit=7)
    got = [dict((l.name, l.value) for l in s.labels) for p in parts for s in p.series]
    warnings = [w for p in parts for w in p.warnings]
    checks.check("Series with limit: the same 7 series and warning",
                 got == js["data"] and warnings == js.get("warnings"), "%r %r" % (warnings, js.get("warnings")))
    window = [("start", "%.3f" % ((end_ms - 600_000) / 1000)), ("end", "%.3f" % (end_ms / 1000))]
    for params, fields in (([], {}), ([("match[]", "nl_g_gauge")], {"match": ["nl_g_gauge"]}),
                           (window, {"start_ms": end_ms - 600_000, "end_ms": end_ms})):
        st, js = http("/api/v1/labels", params)
        got = [n for p in client.call("LabelNames", **fields) for n in p.names]
        checks.check("LabelNames %r: equal to HTTP" % fields, st == 200 and got == js["data"] and len(got) > 1,
                     "%r vs %r" % (got, js.get("data")))
    for name, params, fields in (("text", [], {}), ("i", [("limit", "5")], {"limit": 5}),
                                 ("instance", [("match[]", 'nl_g_counter{job="db"}')],
                                  {"match": ['nl_g_counter{job="db"}']}), ("nl_no_label", [], {})):
        st, js = http("/api/v1/label/%s/values" % name, params)
        parts = client.call("LabelValues", label_name=name, **fields)
        got = [v for p in parts for v in p.values]
        warnings = [w for p in parts for w in p.warnings]
        checks.check("LabelValues %s %r: equal to HTTP" % (name, fields),
                     st == 200 and got == js["data"] and warnings == js.get("warnings", [])
                     and bool(got) == (name != "nl_no_label"),
                     "%r vs %r" % (got[:5], js.get("data", [])[:5]))


def compare_metadata(checks, server, client):
    for params, fields in (([], {}), ([("metric", "nl_g_gauge")], {"metric": "nl_g_gauge"}),
                           ([("limit", "1")], {"limit": 1}), ([("limit", "0")], {"limit": 0}),
                           ([("limit_per_metric", "1")], {"limit_per_metric": 1}),
                           ([("limit", "-1")], {"limit": -1}), ([("metric", "nope")], {"metric": "nope"})):
        r = h.api_get(server.port, "/api/v1/metadata", params)
        want = r.json().get("data") if r.status == 200 else None
        got = {}
        for p in client.call("Metadata", **fields):
            for fam in p.metrics:
                got.setdefault(fam.metric, []).extend(
                    {"type": d.type, "help": d.help, "unit": d.unit} for d in fam.metadata)
        same = want == got and list(want or {}) == list(got)
        checks.check("Metadata %r: equal to HTTP (%d families)" % (fields, len(got)),
                     same and (fields.get("metric") == "nope" or fields.get("limit") == 0 or got),
                     "%r vs %r" % (got, want))


def check_big_answer(checks, server, client, pb, end_ms):
    start_ms = end_ms - 249 * STEP_MS
    t0 = time.monotonic()
    parts = client.call("QueryRange", query="nl_g_big", start_ms=start_ms, end_ms=end_ms, step_ms=STEP_MS)
    took = time.monotonic() - t0
    sizes = [p.ByteSize() for p in parts]
    js = h.api_get(server.port, "/api/v1/query_range",
                   [("query", "nl_g_big"), ("start", "%.3f" % (start_ms / 1000)),
                    ("end", "%.3f" % (end_ms / 1000)), ("step", "15")], timeout=60)
    got = g.answer_of_parts(pb, parts)
    points = sum(len(pts) for _, pts in got["result"])
    checks.check("3000 x 250 range answer: %d parts of at most %d bytes, %d points (%.1f s)"
                 % (len(parts), max(sizes), points, took),
                 len(parts) >= 4 and max(sizes) < 4 * 1024 * 1024 and len(got["result"]) == 3000
                 and points == 3000 * 250)
    why = g.diff_answers(got, g.answer_of_json(js.json())) if js.status == 200 else "HTTP %r" % js
    checks.check("3000 x 250 range answer equal to HTTP", not why, why)


def check_errors(checks, server, client, end_ms):
    at = "%.3f" % (end_ms / 1000)
    cases = [
        ("bad PromQL", "Query", {"query": "sum(", "time_ms": end_ms},
         "/api/v1/query", [("query", "sum("), ("time", at)], grpc.StatusCode.INVALID_ARGUMENT),
        ("end before start", "QueryRange",
         {"query": "up", "start_ms": end_ms, "end_ms": end_ms - 1000, "step_ms": 1000},
         "/api/v1/query_range", [("query", "up"), ("start", at), ("end", "%.3f" % (end_ms / 1000 - 1)),
                                 ("step", "1")], grpc.StatusCode.INVALID_ARGUMENT),
        ("11,001 points", "QueryRange",
         {"query": "up", "start_ms": end_ms - 11_001_000, "end_ms": end_ms, "step_ms": 1000},
         "/api/v1/query_range", [("query", "up"), ("start", "%.3f" % (end_ms / 1000 - 11001)),
                                 ("end", at), ("step", "1")], grpc.StatusCode.INVALID_ARGUMENT),
        ("range query of a range vector", "QueryRange",
         {"query": "nl_g_counter[5m]", "start_ms": end_ms - 60_000, "end_ms": end_ms, "step_ms": 15_000},
         "/api/v1/query_range", [("query", "nl_g_counter[5m]"), ("start", "%.3f" % (end_ms / 1000 - 60)),
                                 ("end", at), ("step", "15")], grpc.StatusCode.INVALID_ARGUMENT),
        ("series without match[]", "Series", {}, "/api/v1/series", [], grpc.StatusCode.INVALID_ARGUMENT),
        ("series matching everything", "Series", {"match": ['{job=""}']}, "/api/v1/series",
         [("match[]", '{job=""}')], grpc.StatusCode.INVALID_ARGUMENT),
        ("a broken selector", "LabelNames", {"match": ["nl_g_counter{"]}, "/api/v1/labels",
         [("match[]", "nl_g_counter{")], grpc.StatusCode.INVALID_ARGUMENT),
        ("an evaluation error", "Query",
         {"query": 'label_replace(nl_g_counter, "instance", "same", "", "")', "time_ms": end_ms},
         "/api/v1/query", [("query", 'label_replace(nl_g_counter, "instance", "same", "", "")'),
                           ("time", at)], grpc.StatusCode.FAILED_PRECONDITION),
        # 6000 series x 250 steps held at once: over max_samples_per_query.
        ("too many samples", "QueryRange",
         {"query": TOO_MANY, "start_ms": end_ms - 249 * STEP_MS, "end_ms": end_ms, "step_ms": STEP_MS},
         "/api/v1/query_range", [("query", TOO_MANY), ("start", "%.3f" % ((end_ms - 249 * STEP_MS) / 1000)),
                                 ("end", at), ("step", "15")], grpc.StatusCode.RESOURCE_EXHAUSTED),
    ]
    for what, method, fields, path, params, want in cases:
        code, details = client.status(method, **fields)
        st, etype, emsg = g.http_error(server.port, path, params)
        checks.check("%s: %s with HTTP's message (HTTP %d %s)" % (what, want.name, st, etype),
                     code == want and details == emsg, "%s %r vs %r" % (code, details, emsg))
    # A query timeout: gRPC's deadline code, HTTP's 503 "timeout".
    code, details = client.status("QueryRange", query="nl_g_big", start_ms=end_ms - 249 * STEP_MS,
                                  end_ms=end_ms, step_ms=STEP_MS, timeout_ms=1)
    checks.check("timeout_ms that passes: DEADLINE_EXCEEDED (%s)" % details,
                 code == grpc.StatusCode.DEADLINE_EXCEEDED, code)
    code, details = client.status("Query", query="up", timeout_ms=-1)
    checks.check("a negative timeout_ms: INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT, code)


# -- deadline and cancel -----------------------------------------------------------

HEAVY = "nl_g_heavy"
HEAVY_SAMPLES = 100_000
HEAVY_SPACING_MS = 30


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_over(pid, seconds):
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - c0


def write_heavy(server, end_ms):
    t0 = end_ms - (HEAVY_SAMPLES - 1) * HEAVY_SPACING_MS
    labels = h.labels_of(HEAVY, job="cancel")
    for first in range(0, HEAVY_SAMPLES, 20_000):
        write(server, [(labels, [(t0 + i * HEAVY_SPACING_MS, float(i % 97))
                                 for i in range(first, min(first + 20_000, HEAVY_SAMPLES))])])


def heavy_request(end_ms):
    # quantile_over_time over 1 h at 10 000 steps: a minute of CPU.
    return {"query": "quantile_over_time(0.5, %s[1h])" % HEAVY, "start_ms": end_ms - 3_000_000,
            "end_ms": end_ms, "step_ms": 300}


def metric(server, name):
    return h.scrape_metrics(server.port).get((name, frozenset()), 0.0)


def check_deadline_and_cancel(checks, server, client, end_ms):
    pid = server.proc.pid
    # 1. A 200 ms deadline.
    t0 = time.monotonic()
    code, details = client.status("QueryRange", timeout=0.2, **heavy_request(end_ms))
    took = time.monotonic() - t0
    checks.check("a 200 ms deadline ends DEADLINE_EXCEEDED within a second (%.3f s)" % took,
                 code == grpc.StatusCode.DEADLINE_EXCEEDED and took < 1.0, "%s %s" % (code, details))
    time.sleep(0.3)
    after = cpu_over(pid, 0.7)
    checks.check("deadline: CPU near idle within a second (%.3f s CPU in 0.3..1.0 s after)" % after,
                 after < 0.07)
    n = h.eventually(lambda: metric(server, "nightlight_queries_cancelled_total") >= 1 or None, 5)
    checks.check("deadline: nightlight_queries_cancelled_total counts it",
                 n is not None and metric(server, "nightlight_queries_cancelled_total") == 1)

    # 2. A call the client cancels while the query burns CPU.
    call = client.start("QueryRange", timeout=60, **heavy_request(end_ms))
    outcome = {}

    def drain():
        try:
            outcome["parts"] = list(call)
        except grpc.RpcError as e:
            outcome["code"] = e.code()
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    c0, t0 = cpu_seconds(pid), time.monotonic()
    while cpu_seconds(pid) - c0 < 0.4 and time.monotonic() - t0 < 15 and reader.is_alive():
        time.sleep(0.05)
    burning = reader.is_alive()
    checks.check("cancel: the heavy query runs (%.2f s CPU)" % (cpu_seconds(pid) - c0), burning)
    call.cancel()
    reader.join(5)
    checks.check("cancel: the call ends CANCELLED", outcome.get("code") == grpc.StatusCode.CANCELLED,
                 repr(outcome)[:200])
    time.sleep(0.3)
    after = cpu_over(pid, 0.7)
    checks.check("cancel: CPU near idle within a second (%.3f s CPU)" % after, after < 0.07)
    n = h.eventually(lambda: metric(server, "nightlight_queries_cancelled_total") >= 2 or None, 5)
    checks.check("cancel: nightlight_queries_cancelled_total is 2",
                 n is not None and metric(server, "nightlight_queries_cancelled_total") == 2)
    lines = [l for l in open(server.log_path, errors="replace") if "its client went away" in l]
    checks.check("one log line per withdrawn query", len(lines) == 2, "".join(lines[-4:]))


# -- health and reflection ------------------------------------------------------------

def check_health(checks, channel, pb):
    hc = pb.health
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=hc.HealthCheckRequest.SerializeToString,
                                response_deserializer=hc.HealthCheckResponse.FromString)
    for service in ("", g.SERVICE):
        r = check(hc.HealthCheckRequest(service=service), timeout=5)
        checks.check("health Check(%r): SERVING" % service,
                     r.status == hc.HealthCheckResponse.SERVING, r)
    try:
        check(hc.HealthCheckRequest(service="no.such.Service"), timeout=5)
        checks.check("health Check of an unknown service: NOT_FOUND", False, "answered")
    except grpc.RpcError as e:
        checks.check("health Check of an unknown service: NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND,
                     e.code())


def check_reflection(checks, channel, pb, end_ms, expected):
    """What grpcurl does: list the services, fetch the file of QueryService,
    build a request from the descriptor and call it."""
    rf = pb.reflection
    info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=rf.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=rf.ServerReflectionResponse.FromString)
    answers = list(info(iter([rf.ServerReflectionRequest(list_services=""),
                              rf.ServerReflectionRequest(file_containing_symbol=g.SERVICE)]), timeout=10))
    services = sorted(s.name for s in answers[0].list_services_response.service)
    checks.check("reflection lists the services %s" % services,
                 g.SERVICE in services and "grpc.health.v1.Health" in services)
    pool = descriptor_pool.DescriptorPool()
    for raw in answers[1].file_descriptor_response.file_descriptor_proto:
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(raw))
    service = pool.FindServiceByName(g.SERVICE)
    methods = sorted(m.name for m in service.methods)
    checks.check("reflection describes the methods %s" % methods,
                 {"Query", "QueryRange", "Series", "LabelNames", "LabelValues"} <= set(methods))
    method = service.FindMethodByName("Query")
    factory = message_factory.MessageFactory(pool)
    req_cls = factory.GetPrototype(method.input_type)
    resp_cls = factory.GetPrototype(method.output_type)
    req = req_cls()
    req.query = "nl_g_counter"
    req.time_ms = end_ms
    call = channel.unary_stream("/%s/Query" % g.SERVICE, request_serializer=req_cls.SerializeToString,
                                response_deserializer=resp_cls.FromString)
    parts = list(call(req, timeout=10))
    got = sorted((tuple(sorted((l.name, l.value) for l in x.labels)), x.value)
                 for p in parts for x in p.vector)
    checks.check("a request built from reflection alone is answered (%d samples)" % len(got),
                 got == expected and len(got) == 20)


def main():
    args = h.arg_parser(__doc__.split("\n\n")[0]).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        pb = g.Protos(work)
        server = h.Nightlight(args.nightlight, work,
                              extra_config={"server": {"max_samples_per_query": MAX_SAMPLES},
                                            "storage": {"out_of_bounds_window": "3h"}})
        try:
            server.start(ready_timeout=60)
            end_ms = h.now_ms() - 60_000
            write_data(server, end_ms)
            channel = grpc.insecure_channel("127.0.0.1:%d" % server.grpc_port, options=g.channel_options())
            client = g.QueryClient(channel, pb)
            compare_queries(checks, server, client, pb, end_ms)
            compare_metadata_calls(checks, server, client, end_ms)
            compare_metadata(checks, server, client)
            check_big_answer(checks, server, client, pb, end_ms)
            check_errors(checks, server, client, end_ms)
            check_health(checks, channel, pb)
            expected = sorted((tuple(sorted((l.name, l.value) for l in x.labels)), x.value)
                              for p in client.call("Query", query="nl_g_counter", time_ms=end_ms)
                              for x in p.vector)
            check_reflection(checks, channel, pb, end_ms, expected)
            heavy_end = h.now_ms() - 1000
            write_heavy(server, heavy_end)
            check_deadline_and_cancel(checks, server, client, heavy_end)
            m = h.scrape_metrics(server.port)
            ok_calls = m.get(("nightlight_grpc_requests_total",
                              frozenset({"method": "Query", "code": "OK"}.items())), 0)
            checks.check("/metrics counts gRPC calls by method and code (%d OK Query calls)" % ok_calls,
                         ok_calls >= 10 and m.get(("nightlight_grpc_requests_total", frozenset(
                             {"method": "QueryRange", "code": "DEADLINE_EXCEEDED"}.items())), 0) >= 1)
            checks.check("server alive", server.alive(), server.log_tail())
        finally:
            server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
