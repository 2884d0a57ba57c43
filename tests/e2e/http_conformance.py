#!/usr/bin/env python3
"""The HTTP details Prometheus 2.42 clients see besides query results,
checked against a real Prometheus 2.42 holding the same remote-written data:

  * /api/v1/status/flags, runtimeinfo and config: the same shapes (flags a
    flat string map; runtimeinfo the same keys with the same JSON types,
    both defaulting to storageRetention "15d"; config {"yaml": text}).
    Nightlight's effective YAML is a working configuration: a second
    server started from it (ports and data directory swapped) shows the
    same configuration again.
  * 405: the same status and Allow header as Prometheus for a foreign
    method; on /api/v1/* Nightlight's body is a JSON error envelope
    (errorType method_not_allowed), elsewhere Prometheus' text.
  * gzip: with Accept-Encoding: gzip both servers compress the same
    endpoints (API JSON, errors included, /metrics; not walreplay, health,
    404, 405); each decompressed answer equals the server's uncompressed
    one, and for the data endpoints Nightlight's equals Prometheus'.
  * /metrics: the seven process_* families with Prometheus' own HELP and
    TYPE lines, histogram `le` labels spelled as Go does (no exponent
    notation below 1e-4), and promtool check metrics accepts the text.
  * Milliseconds sent as `time`, `start` or `end`: Prometheus' answer
    plus one warning per such parameter (Nightlight's own addition).
"""

import gzip
import json
import os
import re
import subprocess
import sys
import time

import nlharness as h

PROCESS_FAMILIES = ("process_cpu_seconds_total", "process_max_fds", "process_open_fds",
                    "process_resident_memory_bytes", "process_start_time_seconds",
                    "process_virtual_memory_bytes", "process_virtual_memory_max_bytes")


def push(port, t_end):
    series = []
    for job in ("api", "web"):
        for i in range(3):
            labels = h.labels_of("http_conformance_total", job=job, instance="host-%d" % i)
            series.append((labels, [(t_end - k * 15000, float(100 * i + k)) for k in range(40, -1, -1)]))
    r = h.remote_write(port, h.encode_series(series))
    if r.status != 204:
        raise AssertionError("remote write -> %r" % r)


def get(port, path, headers=None, method="GET"):
    return h.request(port, method, path, headers=headers or {})


def decoded(r):
    return gzip.decompress(r.body) if r.headers.get("content-encoding") == "gzip" else r.body


def json_types(doc):
    return {k: type(v).__name__ for k, v in doc.items()}


def check_status(checks, nl, prom, nl_workdir):
    flags = {}
    for name, port in (("nightlight", nl.port), ("prometheus", prom.port)):
        r = get(port, "/api/v1/status/flags")
        doc = r.json() if r.status == 200 else {}
        data = doc.get("data")
        ok = (doc.get("status") == "success" and isinstance(data, dict) and data
              and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()))
        checks.check("%s: status/flags is a flat string map" % name, ok, repr(r))
        flags[name] = data or {}
    f = flags["nightlight"]
    checks.check("nightlight flags: effective settings and the command line",
                 f.get("server.http_addr") == "127.0.0.1:%d" % nl.port
                 and f.get("storage.data_dir") == nl.data_dir and f.get("config") == nl.config_path
                 and f.get("server.lookback_delta") == "5m" and f.get("wal-repair") == "false", f)

    info = {}
    for name, port in (("nightlight", nl.port), ("prometheus", prom.port)):
        r = get(port, "/api/v1/status/runtimeinfo")
        info[name] = r.json().get("data", {}) if r.status == 200 else {}
    checks.check("status/runtimeinfo: Prometheus' keys in Prometheus' order",
                 list(info["nightlight"]) == list(info["prometheus"]),
                 "%s\n  prometheus %s" % (list(info["nightlight"]), list(info["prometheus"])))
    checks.check("status/runtimeinfo: the same JSON types",
                 json_types(info["nightlight"]) == json_types(info["prometheus"]),
                 "%s\n  prometheus %s" % (json_types(info["nightlight"]), json_types(info["prometheus"])))
    n = info["nightlight"]
    rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
    started = n.get("startTime", "")
    checks.check("nightlight runtimeinfo: start and config times in RFC 3339",
                 bool(rfc3339.match(started)) and bool(re.match(r"^[^.]*Z$", n.get("lastConfigTime", "")))
                 and n.get("lastConfigTime", "")[:19] == started[:19], n)
    checks.check("nightlight runtimeinfo: values of this process",
                 n.get("CWD") == nl_workdir and n.get("reloadConfigSuccess") is True
                 and n.get("corruptionCount") == 0 and n.get("goroutineCount", 0) >= 2
                 and n.get("GOMAXPROCS") == len(os.sched_getaffinity(0)) and n.get("GOGC") == ""
                 and n.get("GODEBUG") == "", n)
    checks.check("runtimeinfo: the default retention reads 15d on both",
                 n.get("storageRetention") == info["prometheus"].get("storageRetention") == "15d",
                 (n.get("storageRetention"), info["prometheus"].get("storageRetention")))

    yamls = {}
    for name, port in (("nightlight", nl.port), ("prometheus", prom.port)):
        r = get(port, "/api/v1/status/config")
        data = r.json().get("data") if r.status == 200 else None
        checks.check("%s: status/config is {\"yaml\": text}" % name,
                     isinstance(data, dict) and list(data) == ["yaml"] and isinstance(data["yaml"], str), repr(r))
        yamls[name] = (data or {}).get("yaml", "")
    return yamls["nightlight"]


def check_yaml_round_trip(checks, nl, yaml_text, workdir, binary):
    """A second server from the effective YAML shows the same YAML again."""
    other_dir = os.path.join(workdir, "from-effective-yaml")
    os.makedirs(other_dir)
    second = h.Nightlight(binary, other_dir)
    swapped = (yaml_text.replace("127.0.0.1:%d" % nl.port, "127.0.0.1:%d" % second.port)
               .replace("127.0.0.1:%d" % nl.grpc_port, "127.0.0.1:%d" % second.grpc_port)
               .replace("data_dir: %s" % nl.data_dir, "data_dir: %s" % second.data_dir))
    with open(second.config_path, "w") as f:
        f.write(swapped)
    second.write_config = lambda: None  # keep the file written above
    try:
        second.start()
        r = get(second.port, "/api/v1/status/config")
        again = r.json()["data"]["yaml"] if r.status == 200 else None
        checks.check("a server started from the effective YAML shows the same configuration",
                     again == swapped, "%r\n  want %r" % (again, swapped))
    finally:
        second.stop()


# (method, path): every one answered 405 by both servers.
WRONG_METHODS = [
    ("PUT", "/api/v1/query"), ("DELETE", "/api/v1/query_range"), ("PATCH", "/api/v1/labels"),
    ("POST", "/api/v1/status/flags"), ("POST", "/api/v1/status/runtimeinfo"), ("POST", "/api/v1/status/config"),
    ("POST", "/api/v1/status/buildinfo"), ("POST", "/api/v1/status/tsdb"), ("POST", "/api/v1/rules"),
    ("GET", "/api/v1/write"), ("PUT", "/api/v1/write"), ("DELETE", "/api/v1/admin/tsdb/snapshot"),
    ("GET", "/api/v1/admin/tsdb/delete_series"), ("POST", "/metrics"), ("POST", "/-/healthy"),
    ("DELETE", "/-/ready"),
]


def check_405(checks, nl, prom):
    for method, path in WRONG_METHODS:
        a = get(nl.port, path, method=method)
        b = get(prom.port, path, method=method)
        checks.check("%s %s: 405 with Prometheus' Allow (%s)" % (method, path, b.headers.get("allow")),
                     a.status == b.status == 405 and a.headers.get("allow") == b.headers.get("allow"),
                     "nightlight %d %s, prometheus %d %s" % (a.status, a.headers.get("allow"), b.status,
                                                            b.headers.get("allow")))
        if path.startswith("/api/"):
            doc = a.json() if a.headers.get("content-type") == "application/json" else {}
            checks.check("%s %s: a JSON error envelope naming method and path" % (method, path),
                         doc.get("status") == "error" and doc.get("errorType") == "method_not_allowed"
                         and method in doc.get("error", "") and path in doc.get("error", ""), repr(a))
        else:
            checks.check("%s %s: Prometheus' plain text" % (method, path),
                         a.body == b.body == b"Method Not Allowed\n"
                         and a.headers.get("content-type") == b.headers.get("content-type"), (a, b))


def check_gzip(checks, nl, prom, t_end):
    ask = {"Accept-Encoding": "gzip"}
    t = "%.3f" % (t_end / 1000.0)
    same_data = [
        "/api/v1/query?query=http_conformance_total&time=" + t,
        "/api/v1/query?query=count+by+(job)(http_conformance_total)&time=" + t,
        "/api/v1/query_range?query=http_conformance_total%7Bjob%3D%22api%22%7D&start="
        + "%.3f&end=%s&step=60" % (t_end / 1000.0 - 600, t),
        "/api/v1/series?match%5B%5D=http_conformance_total",
        "/api/v1/label/job/values?match%5B%5D=http_conformance_total",
        "/api/v1/query?query=sum(",  # a 400 error envelope: compressed too
    ]
    for path in same_data:
        a = get(nl.port, path, ask)
        b = get(prom.port, path, ask)
        checks.check("%s: gzip from both" % path,
                     a.headers.get("content-encoding") == b.headers.get("content-encoding") == "gzip",
                     (a.headers.get("content-encoding"), b.headers.get("content-encoding")))
        plain = get(nl.port, path)
        checks.check("%s: decodes to the uncompressed answer" % path,
                     "content-encoding" not in plain.headers and decoded(a) == plain.body, (a, plain))
        na, pb = json.loads(decoded(a)), json.loads(decoded(b))
        if path.startswith("/api/v1/query?query=sum("):
            na.pop("error"), pb.pop("error")  # parse error texts are compared elsewhere
        elif isinstance(na.get("data"), dict):
            for doc in (na, pb):
                doc["data"]["result"].sort(key=lambda s: sorted(s["metric"].items()))
        checks.check("%s: the same JSON as Prometheus once decoded" % path, na == pb,
                     "%s\n  prometheus %s" % (na, pb))
    for path in ("/api/v1/status/buildinfo", "/api/v1/status/flags", "/api/v1/labels", "/metrics"):
        a = get(nl.port, path, ask)
        b = get(prom.port, path, ask)
        checks.check("%s: gzip from both" % path,
                     a.headers.get("content-encoding") == b.headers.get("content-encoding") == "gzip",
                     (a.headers.get("content-encoding"), b.headers.get("content-encoding")))
        if path != "/metrics":  # its numbers move between two scrapes
            checks.check("%s: decodes to the uncompressed answer" % path, decoded(a) == get(nl.port, path).body, a)
        else:
            checks.check("/metrics: decodes to an exposition", decoded(a).startswith(b"# HELP "), a)
    for method, path in (("GET", "/api/v1/status/walreplay"), ("GET", "/-/healthy"), ("GET", "/-/ready"),
                         ("GET", "/nope"), ("PUT", "/api/v1/query")):
        a = get(nl.port, path, ask, method)
        b = get(prom.port, path, ask, method)
        checks.check("%s %s: not compressed, as in Prometheus" % (method, path),
                     "content-encoding" not in a.headers and "content-encoding" not in b.headers,
                     (a.headers, b.headers))


def check_millisecond_times(checks, nl, prom, t_end):
    """Milliseconds where seconds belong: Prometheus answers silently;
    Nightlight's answer is the same plus a warning naming each parameter.
    (Past the year 2262 Prometheus' evaluation time wraps around, Go's
    UnixNano overflowing, so a constant's timestamp is compared with the
    time asked for instead.)"""
    ms = str(t_end)
    cases = [("/api/v1/query?query=http_conformance_total&time=" + ms, ["time"]),
             ("/api/v1/query_range?query=http_conformance_total&start=%s&end=%s&step=60" % (ms, str(t_end + 600000)),
              ["start", "end"])]
    for path, params in cases:
        a, b = get(nl.port, path), get(prom.port, path)
        na = a.json() if a.status == 200 else {}
        pb = b.json() if b.status == 200 else {}
        warnings = na.pop("warnings", [])
        checks.check("%s: Prometheus' answer" % path, na == pb and na.get("status") == "success",
                     "%s\n  prometheus %s" % (na, pb))
        checks.check("%s: a warning for %s" % (path, ", ".join(params)),
                     len(warnings) == len(params)
                     and all(w.startswith(p + "=") and "looks like milliseconds" in w for w, p in zip(warnings, params)),
                     warnings)
    r = get(nl.port, "/api/v1/query?query=1%2B1&time=" + ms)
    doc = r.json() if r.status == 200 else {}
    checks.check("1+1 at a millisecond time: evaluated at that time, with the warning",
                 doc.get("data", {}).get("result") == [t_end, "2"] and len(doc.get("warnings", [])) == 1, doc)
    # Seconds and milliseconds mixed: too many points for both, the same error.
    path = "/api/v1/query_range?query=http_conformance_total&start=%.3f&end=%s&step=60" % (t_end / 1000.0, ms)
    a, b = get(nl.port, path), get(prom.port, path)
    checks.check("start in seconds, end in milliseconds: Prometheus' error", a.status == b.status == 400
                 and a.json() == b.json(), (a, b))
    r = get(nl.port, "/api/v1/query?query=http_conformance_total&time=%.3f" % (t_end / 1000.0))
    checks.check("a time in seconds gets no warning", r.status == 200 and "warnings" not in r.json(), repr(r))


def check_metrics(checks, nl, prom):
    mine = get(nl.port, "/metrics").text()
    theirs = get(prom.port, "/metrics").text()
    for family in PROCESS_FAMILIES:
        want = [l for l in theirs.splitlines() if l.startswith("# ") and l.split()[2] == family]
        got = [l for l in mine.splitlines() if l.startswith("# ") and l.split()[2] == family]
        value = [l for l in mine.splitlines() if l.startswith(family + " ")]
        checks.check("%s: Prometheus' HELP and TYPE, one value" % family,
                     len(want) == 2 and got == want and len(value) == 1, (got, want, value))
    values = {l.split()[0]: float(l.split()[1]) for l in mine.splitlines()
              if l.startswith("process_") and not l.startswith("#")}
    now = time.time()
    checks.check("process_* values are this process's",
                 0 < values.get("process_resident_memory_bytes", 0) <= values.get("process_virtual_memory_bytes", 0)
                 and 3 <= values.get("process_open_fds", 0) <= values.get("process_max_fds", 0)
                 and now - 600 < values.get("process_start_time_seconds", 0) <= now + 1
                 and values.get("process_cpu_seconds_total", -1) >= 0, values)
    les = re.findall(r'le="([^"]*)"', mine)
    checks.check("histogram le labels are spelled as Go spells them",
                 "0.0005" in les and "0.0025" in les and not any("e-" in le for le in les), sorted(set(les)))
    p = subprocess.run(["promtool", "check", "metrics"], input=mine.encode(), capture_output=True)
    checks.check("promtool check metrics accepts /metrics", p.returncode == 0, p.stdout + p.stderr)


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        nl_dir, prom_dir = os.path.join(work, "nightlight"), os.path.join(work, "prometheus")
        os.makedirs(nl_dir)
        os.makedirs(prom_dir)
        nl = h.Nightlight(args.nightlight, nl_dir)
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        try:
            nl.start()
            prom.start()
            t_end = (h.now_ms() // 1000) * 1000 - 30000
            push(nl.port, t_end)
            push(prom.port, t_end)
            yaml_text = check_status(checks, nl, prom, nl_dir)
            check_405(checks, nl, prom)
            check_gzip(checks, nl, prom, t_end)
            check_metrics(checks, nl, prom)
            check_millisecond_times(checks, nl, prom, t_end)
            check_yaml_round_trip(checks, nl, yaml_text, work, args.nightlight)
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
