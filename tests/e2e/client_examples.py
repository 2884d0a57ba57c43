#!/usr/bin/env python3
"""examples/push_metrics and examples/query_metrics (the nightlight-api
client library) against a real Nightlight, plain or with mutual TLS (--tls,
certificates from scripts/gen-dev-certs.sh).

push_metrics remote-writes counters and gauges (5 points, 15 s apart) and
their TYPE/HELP/UNIT metadata, printing every sample it sent. Checked over
the HTTP API: every pushed sample is stored with its value and timestamp,
and the metadata is listed by /api/v1/metadata.

query_metrics then asks every gRPC method (Query, QueryRange, Series,
LabelNames, LabelValues, Metadata) about the same data. Checked: each answer
equals the HTTP API's answer to the same question (values compared as
floats, bit-exact text not required), the instant and range values are the
pushed ones, and bad PromQL comes back as INVALID_ARGUMENT with the HTTP
API's message. With --tls (tls.allowed_writers [writer], allowed_readers
[reader]), clients without a certificate are refused on both ports, and an
identity outside the list gets PERMISSION_DENIED (gRPC) or 403 (remote
write, not retried)."""

import json
import os
import subprocess
import sys
import urllib.parse

import mtls_common as m
import nlharness as h

CHECKS = h.Checks()
INTERVAL_MS = 15000
POINTS = 5


class Target:
    """The server and how to reach it: HTTP API for the reference answers,
    flags for the two examples."""

    def __init__(self, server, certs=None):
        self.server = server
        self.certs = certs

    def api(self, path, params=()):
        """GET path with params -> the parsed JSON document (any status)."""
        query = urllib.parse.urlencode(list(params))
        full = path + ("?" + query if query else "")
        if self.certs:
            r = m.https(self.server.port, "GET", full, self.certs, "reader")
        else:
            r = h.request(self.server.port, "GET", full)
        return r.json()

    def data(self, path, params=()):
        doc = self.api(path, params)
        if doc.get("status") != "success":
            raise AssertionError("GET %s %r -> %r" % (path, params, doc))
        return doc["data"]

    def push_flags(self, who="writer"):
        if not self.certs:
            return ["--url", "http://127.0.0.1:%d/api/v1/write" % self.server.port]
        flags = ["--url", "https://127.0.0.1:%d/api/v1/write" % self.server.port,
                 "--tls-ca", os.path.join(self.certs, "ca.pem")]
        if who:
            cert, key = m.cert_paths(self.certs, who)
            flags += ["--tls-cert", cert, "--tls-key", key]
        return flags

    def query_flags(self, who="reader"):
        flags = ["--address", "127.0.0.1:%d" % self.server.grpc_port]
        if self.certs:
            flags += ["--tls-ca", os.path.join(self.certs, "ca.pem"), "--tls-server-name",
                      "localhost"]
            if who:
                cert, key = m.cert_paths(self.certs, who)
                flags += ["--tls-cert", cert, "--tls-key", key]
        return flags


def run(cmd, timeout=60):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    h.log("%s -> exit %d\n%s%s" % (os.path.basename(cmd[0]), p.returncode, out[-3000:], err[-2000:]))
    return p.returncode, out


def series_text(metric):
    """name{k="v",...} as both examples print series (labels sorted)."""
    return metric.get("__name__", "") + "{" + ",".join(
        '%s="%s"' % (k, v) for k, v in sorted(metric.items()) if k != "__name__") + "}"


def parse_push(out):
    samples, metadata = {}, set()
    for line in out.splitlines():
        if line.startswith("sample "):
            _, s, t, v = line.split(" ")
            samples[(s, int(t))] = float(v)
        elif line.startswith("metadata "):
            metadata.add(line[len("metadata "):])
    return samples, metadata


def parse_query(out):
    """{section: [line fields...]} of query_metrics' output; sections are
    the method names."""
    sections, current = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            current = line.split(" ")[1]
            sections[current] = []
        elif current and not line.startswith("-- "):
            sections[current].append(line)
    return sections


def points(lines, kind):
    """{(series, t): value} of `vector`/`matrix` lines."""
    out = {}
    for l in lines:
        if l.startswith(kind + " "):
            _, s, t, v = l.split(" ")
            out[(s, int(t))] = float(v)
    return out


def words(lines, kind):
    return [l[len(kind) + 1:] for l in lines if l.startswith(kind + " ")]


def http_metadata_lines(target, job_metrics):
    data = target.data("/api/v1/metadata")
    return {'%s %s "%s" "%s"' % (name, e["type"], e["help"], e["unit"])
            for name, entries in data.items() for e in entries if name in job_metrics}


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--push", required=True, help="path of examples/push_metrics")
    p.add_argument("--query", required=True, help="path of examples/query_metrics")
    p.add_argument("--tls", action="store_true", help="mutual TLS on both ports")
    args = p.parse_args()
    mode = "mtls" if args.tls else "plain"
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs")) if args.tls else None
        if certs:
            server = m.MtlsNightlight(args.nightlight, work, certs,
                                      tls={"allowed_writers": ["writer"],
                                           "allowed_readers": ["reader"]})
        else:
            server = h.Nightlight(args.nightlight, work)
        server.start()
        target = Target(server, certs)
        try:
            job = "client_examples_" + mode
            end = (h.now_ms() // 1000) * 1000 - 30000
            start = end - (POINTS - 1) * INTERVAL_MS

            # -- push ------------------------------------------------------
            code, out = run([args.push] + target.push_flags() +
                            ["--job", job, "--points", str(POINTS), "--interval-ms",
                             str(INTERVAL_MS), "--end-ms", str(end)])
            pushed, pushed_meta = parse_push(out)
            CHECKS.check("%s: push_metrics exits 0, samples and metadata accepted" % mode,
                         code == 0 and out.count("  accepted") == 2, out[-500:])
            CHECKS.check("%s: push_metrics sent 6 series x %d points and 4 metadata" % (mode, POINTS),
                         len(pushed) == 6 * POINTS and len(pushed_meta) == 4)

            stored = {}
            for s in target.data("/api/v1/query", [("query", '{job="%s"}[10m]' % job),
                                                    ("time", "%.3f" % (end / 1000.0))])["result"]:
                for t, v in s["values"]:
                    stored[(series_text(s["metric"]), int(round(float(t) * 1000)))] = float(v)
            CHECKS.check("%s: every pushed sample is stored with its value (HTTP API)" % mode,
                         stored == pushed,
                         "missing %r, unexpected %r" % (sorted(set(pushed.items()) - set(stored.items()))[:5],
                                                         sorted(set(stored.items()) - set(pushed.items()))[:5]))
            metrics = {k[0].split("{")[0] for k in pushed}
            try:
                http_meta = http_metadata_lines(target, metrics)
            except (AssertionError, ValueError) as e:
                http_meta = "unavailable: %s" % e
            CHECKS.check("%s: the pushed TYPE/HELP/UNIT are listed by /api/v1/metadata" % mode,
                         http_meta == pushed_meta, "%r vs %r" % (http_meta, pushed_meta))

            # -- query: every method, compared with the HTTP API -----------
            instant = 'demo_temperature_celsius{job="%s"}' % job
            ranged = 'demo_requests_total{job="%s"}' % job
            selector = '{job="%s"}' % job
            code, out = run([args.query] + target.query_flags() +
                            ["--query", instant, "--time-ms", str(end),
                             "--range-query", ranged, "--start-ms", str(start), "--end-ms", str(end),
                             "--step-ms", str(INTERVAL_MS), "--match", selector, "--label", "room"])
            got = parse_query(out)
            CHECKS.check("%s: query_metrics exits 0 and answers every method" % mode,
                         code == 0 and set(got) == {"Query", "QueryRange", "Series", "LabelNames",
                                                    "LabelValues", "Metadata"}
                         and not any(l.startswith("error") for ls in got.values() for l in ls),
                         out[-800:])

            at = "%.3f" % (end / 1000.0)
            http_vec = {(series_text(s["metric"]), int(round(float(s["value"][0]) * 1000))):
                        float(s["value"][1])
                        for s in target.data("/api/v1/query", [("query", instant), ("time", at)])["result"]}
            grpc_vec = points(got.get("Query", []), "vector")
            CHECKS.check("%s: Query equals /api/v1/query" % mode, grpc_vec == http_vec and grpc_vec,
                         "%r vs %r" % (grpc_vec, http_vec))
            CHECKS.check("%s: Query finds the pushed gauge values" % mode,
                         grpc_vec == {k: v for k, v in pushed.items()
                                      if k[0].startswith("demo_temperature_celsius") and k[1] == end},
                         "%r" % grpc_vec)

            http_mat = {}
            for s in target.data("/api/v1/query_range",
                                 [("query", ranged), ("start", "%.3f" % (start / 1000.0)),
                                  ("end", at), ("step", "%.3f" % (INTERVAL_MS / 1000.0))])["result"]:
                for t, v in s["values"]:
                    http_mat[(series_text(s["metric"]), int(round(float(t) * 1000)))] = float(v)
            grpc_mat = points(got.get("QueryRange", []), "matrix")
            CHECKS.check("%s: QueryRange equals /api/v1/query_range" % mode,
                         grpc_mat == http_mat and grpc_mat, "%r vs %r" % (grpc_mat, http_mat))
            CHECKS.check("%s: QueryRange finds every pushed counter value" % mode,
                         grpc_mat == {k: v for k, v in pushed.items()
                                      if k[0].startswith("demo_requests_total")}, "%r" % grpc_mat)

            http_series = sorted(series_text(s) for s in
                                 target.data("/api/v1/series", [("match[]", selector)]))
            grpc_series = words(got.get("Series", []), "series")
            CHECKS.check("%s: Series equals /api/v1/series" % mode,
                         grpc_series == http_series and len(grpc_series) == 6,
                         "%r vs %r" % (grpc_series, http_series))

            http_names = target.data("/api/v1/labels", [("match[]", selector)])
            grpc_names = words(got.get("LabelNames", []), "label_name")
            CHECKS.check("%s: LabelNames equals /api/v1/labels" % mode,
                         grpc_names == http_names and "room" in grpc_names,
                         "%r vs %r" % (grpc_names, http_names))

            http_values = target.data("/api/v1/label/room/values", [("match[]", selector)])
            grpc_values = words(got.get("LabelValues", []), "label_value")
            CHECKS.check("%s: LabelValues equals /api/v1/label/room/values" % mode,
                         grpc_values == http_values == ["kitchen", "office"],
                         "%r vs %r" % (grpc_values, http_values))

            grpc_meta = {l for l in words(got.get("Metadata", []), "metadata")
                         if l.split(" ")[0] in metrics}
            CHECKS.check("%s: Metadata equals /api/v1/metadata and holds what was pushed" % mode,
                         grpc_meta == http_meta == pushed_meta,
                         "%r vs %r vs %r" % (grpc_meta, http_meta, pushed_meta))

            # -- errors -----------------------------------------------------
            code, out = run([args.query] + target.query_flags() + ["--query", "sum(", "--time-ms",
                                                                   str(end)])
            http_err = target.api("/api/v1/query", [("query", "sum("), ("time", at)])
            want = "error Query: INVALID_ARGUMENT: %s" % http_err.get("error")
            CHECKS.check("%s: bad PromQL is INVALID_ARGUMENT with the HTTP API's message" % mode,
                         code == 1 and want in out.splitlines(),
                         "want %r in\n%s" % (want, out[:600]))

            if certs:
                code, out = run([args.query] + target.query_flags(who=None))
                errors = [l for l in out.splitlines() if l.startswith("error ")]
                CHECKS.check("mtls: query_metrics without a client certificate is refused",
                             code == 1 and len(errors) == 6
                             and all("UNAVAILABLE" in l or "UNAUTHENTICATED" in l for l in errors),
                             out[-600:])
                code, out = run([args.push] + target.push_flags(who=None) +
                                ["--job", job + "_nocert", "--give-up-after-ms", "300"])
                CHECKS.check("mtls: push_metrics without a client certificate is refused",
                             code == 1 and "FAILED: UNAVAILABLE" in out, out[-600:])
                code, out = run([args.query] + target.query_flags(who="writer"))
                errors = [l for l in out.splitlines() if l.startswith("error ")]
                CHECKS.check("mtls: a writer identity may not query: PERMISSION_DENIED naming it",
                             code == 1 and len(errors) == 6
                             and all("PERMISSION_DENIED" in l and "CN=writer" in l for l in errors),
                             out[-600:])
                code, out = run([args.push] + target.push_flags(who="reader") +
                                ["--job", job + "_reader"])
                a = [l for l in out.splitlines() if l.startswith("  attempt ")]
                CHECKS.check("mtls: a reader identity may not write: 403, PERMISSION_DENIED, not retried",
                             code == 1 and "FAILED: PERMISSION_DENIED: server returned HTTP status 403"
                             in out and len(a) == 2, out[-600:])
                for suffix in ("_nocert", "_reader"):
                    leaked = target.data("/api/v1/series", [("match[]", '{job="%s%s"}' % (job, suffix))])
                    CHECKS.check("mtls: nothing from the refused push (%s) is stored" % suffix[1:],
                                 leaked == [], json.dumps(leaked)[:300])
        finally:
            server.stop()
    return CHECKS.finish()


if __name__ == "__main__":
    sys.exit(main())
