"""Helpers shared by the grpc_*.py end-to-end tests: Python modules for
proto/query.proto and the standard health and reflection protos (Debian's
grpc-proto), generated at test time with protoc; a client for every
nightlight.v1.QueryService method over python3-grpcio; and conversions of
gRPC answers and HTTP JSON answers into one comparable form.

Builds on nlharness (processes, ports, checks); only adds what gRPC needs."""

import importlib
import math
import os
import shutil
import struct
import subprocess
import sys

import grpc

import nlharness as h

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
GRPC_PROTO_DIR = "/usr/share/grpc-proto"
SERVICE = "nightlight.v1.QueryService"


class Protos:
    """query_pb2, health_pb2 and reflection_pb2, generated into `workdir`.
    The standard protos are copied under new file names first: their
    modules would otherwise be grpc.health..., inside grpcio's package."""

    def __init__(self, workdir):
        out = os.path.join(workdir, "pb")
        os.makedirs(out, exist_ok=True)
        shutil.copy(os.path.join(GRPC_PROTO_DIR, "grpc/health/v1/health.proto"),
                    os.path.join(out, "nl_health.proto"))
        shutil.copy(os.path.join(GRPC_PROTO_DIR, "grpc/reflection/v1alpha/reflection.proto"),
                    os.path.join(out, "nl_reflection.proto"))
        subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out", out, "query.proto"], check=True)
        subprocess.run(["protoc", "-I", out, "--python_out", out, "nl_health.proto",
                        "nl_reflection.proto"], check=True)
        sys.path.insert(0, out)
        self.query = importlib.import_module("query_pb2")
        self.health = importlib.import_module("nl_health_pb2")
        self.reflection = importlib.import_module("nl_reflection_pb2")


def channel_options(separate=False):
    """Options of a test channel; `separate` gives it a connection of its own."""
    opts = [("grpc.enable_retries", 0)]
    if separate:
        opts.append(("grpc.use_local_subchannel_pool", 1))
    return opts


class QueryClient:
    """Each method returns the list of answer parts (raises grpc.RpcError)."""

    def __init__(self, channel, pb):
        self.pb = pb
        q = pb.query

        def stream(name, req, resp):
            return channel.unary_stream("/%s/%s" % (SERVICE, name),
                                        request_serializer=req.SerializeToString,
                                        response_deserializer=resp.FromString)
        self.calls = {
            "Query": (stream("Query", q.QueryRequest, q.QueryResponse), q.QueryRequest),
            "QueryRange": (stream("QueryRange", q.QueryRangeRequest, q.QueryResponse),
                           q.QueryRangeRequest),
            "Series": (stream("Series", q.SeriesRequest, q.SeriesResponse), q.SeriesRequest),
            "LabelNames": (stream("LabelNames", q.LabelNamesRequest, q.LabelNamesResponse),
                           q.LabelNamesRequest),
            "LabelValues": (stream("LabelValues", q.LabelValuesRequest, q.LabelValuesResponse),
                            q.LabelValuesRequest),
            "Metadata": (stream("Metadata", q.MetadataRequest, q.MetadataResponse),
                         q.MetadataRequest),
        }

    def start(self, method, timeout=30.0, **fields):
        """The call's iterator (cancel() withdraws it)."""
        fn, req = self.calls[method]
        return fn(req(**fields), timeout=timeout)

    def call(self, method, timeout=30.0, **fields):
        return list(self.start(method, timeout, **fields))

    def status(self, method, timeout=30.0, **fields):
        """(code, details) of a call that should fail; (OK, parts) otherwise."""
        try:
            return grpc.StatusCode.OK, self.call(method, timeout, **fields)
        except grpc.RpcError as e:
            return e.code(), e.details()


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def same_value(a, b):
    """Equal as the JSON can tell: NaN (the JSON has no payload) or bit for bit."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return bits(a) == bits(b)


def _labels(pairs):
    return tuple(sorted((l.name, l.value) for l in pairs))


def answer_of_parts(pb, parts):
    """A query's parts as {"type", "result", "warnings"}: vector
    [(labels, t_ms, v)], matrix [(labels, [(t_ms, v)])] with continued
    pieces joined, scalar/string (t_ms, v)."""
    q = pb.query
    names = {q.RESULT_TYPE_VECTOR: "vector", q.RESULT_TYPE_MATRIX: "matrix",
             q.RESULT_TYPE_SCALAR: "scalar", q.RESULT_TYPE_STRING: "string"}
    types = {p.result_type for p in parts}
    assert len(types) == 1, "parts disagree on the result type: %r" % types
    kind = names[types.pop()]
    warnings = [w for p in parts for w in p.warnings]
    if kind == "scalar":
        return {"type": kind, "result": (parts[0].scalar.timestamp_ms, parts[0].scalar.value),
                "warnings": warnings}
    if kind == "string":
        s = parts[0].string_value
        return {"type": kind, "result": (s.timestamp_ms, s.value), "warnings": warnings}
    if kind == "vector":
        return {"type": kind, "warnings": warnings,
                "result": [(_labels(x.labels), x.timestamp_ms, x.value)
                           for p in parts for x in p.vector]}
    series = []
    for p in parts:
        for s in p.matrix:
            points = list(zip(s.timestamps_ms, s.values))
            if s.continued:
                assert series, "a continued piece without a series before it"
                series[-1][1].extend(points)
            else:
                series.append((_labels(s.labels), points))
    return {"type": kind, "result": series, "warnings": warnings}


def _ms(ts):
    return int(round(float(ts) * 1000))


def answer_of_json(body):
    """The same form from an HTTP /api/v1/query(_range) JSON body."""
    data = body["data"]
    kind = data["resultType"]
    res = data["result"]
    warnings = body.get("warnings", [])
    if kind in ("scalar", "string"):
        v = float(res[1]) if kind == "scalar" else res[1]
        return {"type": kind, "result": (_ms(res[0]), v), "warnings": warnings}
    if kind == "vector":
        return {"type": kind, "warnings": warnings,
                "result": [(tuple(sorted(e["metric"].items())), _ms(e["value"][0]),
                            float(e["value"][1])) for e in res]}
    return {"type": kind, "warnings": warnings,
            "result": [(tuple(sorted(e["metric"].items())),
                        [(_ms(t), float(v)) for t, v in e.get("values", [])]) for e in res]}


def diff_answers(g, j):
    """"" when equal value for value, else where they first differ."""
    if g["type"] != j["type"]:
        return "type %s vs %s" % (g["type"], j["type"])
    if g["warnings"] != j["warnings"]:
        return "warnings %r vs %r" % (g["warnings"], j["warnings"])
    a, b = g["result"], j["result"]
    if g["type"] in ("scalar", "string"):
        ok = a[0] == b[0] and (a[1] == b[1] if g["type"] == "string" else same_value(a[1], b[1]))
        return "" if ok else "%r vs %r" % (a, b)
    if len(a) != len(b):
        return "%d vs %d elements" % (len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        if x[0] != y[0]:
            return "element %d labels %r vs %r" % (i, x[0], y[0])
        if g["type"] == "vector":
            if x[1] != y[1] or not same_value(x[2], y[2]):
                return "element %d: %r vs %r" % (i, x[1:], y[1:])
            continue
        if len(x[1]) != len(y[1]):
            return "series %d: %d vs %d points" % (i, len(x[1]), len(y[1]))
        for k, (p, q) in enumerate(zip(x[1], y[1])):
            if p[0] != q[0] or not same_value(p[1], q[1]):
                return "series %d point %d: %r vs %r" % (i, k, p, q)
    return ""


def http_error(port, path, params):
    """(status, errorType, error) of an HTTP API call expected to fail."""
    r = h.api_get(port, path, params)
    body = r.json()
    return r.status, body.get("errorType"), body.get("error")
