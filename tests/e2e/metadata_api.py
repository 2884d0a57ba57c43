#!/usr/bin/env python3
"""/api/v1/metadata against the real Prometheus 2.42, and its durability.

Two tiny exporters (Python http.server) expose every metric type with
# HELP / # TYPE / # UNIT: one in OpenMetrics (units, info, stateset,
gaugehistogram, help with escapes, <, & and UTF-8), one in the text format
0.0.4, which describes one family differently (so that family has two
descriptions, as a target upgrade leaves it). Prometheus 2.42 scrapes both
every second and remote-writes to Nightlight with metadata_config
send_interval 1s.

1. Differential: Nightlight's /api/v1/metadata equals Prometheus' own, every
   family and every (type, help, unit), also with `metric`, `limit=0`, a
   `limit` that cuts (Prometheus picks the families at random, so only the
   number and the contents are compared) and a bad `limit` (status and
   body). Prometheus' metadata counters show no failed send.
2. Durability through a checkpoint: with 1-minute blocks the compactor cuts
   the head and writes a WAL checkpoint; that checkpoint must hold metadata
   records (the segments that logged them are gone by then, and a held
   description is logged again only every ten minutes).
3. Crash: Prometheus is stopped (nothing is resent), Nightlight is killed
   with SIGKILL and started again: /api/v1/metadata answers exactly as
   before.
"""

import http.server
import os
import signal
import socketserver
import struct
import threading
import time

import nlharness as h

OPENMETRICS = """\
# HELP demo_requests Requests served, by <code> & \\"path\\" \\\\ done.
# TYPE demo_requests counter
demo_requests_total{code="200"} 17
demo_requests_created{code="200"} 1700000000
# HELP demo_temperature_celsius Temperature of the demo room in \u20ac-land.
# TYPE demo_temperature_celsius gauge
# UNIT demo_temperature_celsius celsius
demo_temperature_celsius 21.5
# HELP demo_latency_seconds Latency.\\nSecond line.
# TYPE demo_latency_seconds histogram
# UNIT demo_latency_seconds seconds
demo_latency_seconds_bucket{le="0.1"} 3
demo_latency_seconds_bucket{le="+Inf"} 5
demo_latency_seconds_sum 0.7
demo_latency_seconds_count 5
# HELP demo_rpc_seconds RPC time.
# TYPE demo_rpc_seconds summary
# UNIT demo_rpc_seconds seconds
demo_rpc_seconds{quantile="0.5"} 0.2
demo_rpc_seconds_sum 2
demo_rpc_seconds_count 10
# HELP demo_build Build information.
# TYPE demo_build info
demo_build_info{version="1.2.3"} 1
# HELP demo_state Feature state.
# TYPE demo_state stateset
demo_state{demo_state="a"} 1
demo_state{demo_state="b"} 0
# HELP demo_queue_bytes Queue size distribution.
# TYPE demo_queue_bytes gaugehistogram
# UNIT demo_queue_bytes bytes
demo_queue_bytes_bucket{le="1024"} 2
demo_queue_bytes_bucket{le="+Inf"} 3
demo_queue_bytes_gcount 3
demo_queue_bytes_gsum 2048
# HELP demo_mystery Whatever it is.
# TYPE demo_mystery unknown
demo_mystery 3
# HELP demo_shared Shared family, described by the new exporter.
# TYPE demo_shared gauge
demo_shared 1
# EOF
"""

TEXT_004 = """\
# HELP demo_shared Shared family, described by the old exporter.
# TYPE demo_shared gauge
demo_shared 2
# HELP demo_old_total Only in the old exporter.
# TYPE demo_old_total counter
demo_old_total 5
demo_untyped_without_metadata 1
"""

PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: exporters
    static_configs:
      - targets: ['127.0.0.1:%(om)d', '127.0.0.1:%(text)d']
remote_write:
  - url: http://127.0.0.1:%(receiver)d/api/v1/write
    remote_timeout: 10s
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 30ms
      max_backoff: 500ms
    metadata_config:
      send: true
      send_interval: 1s
"""


class Exporter:
    """Serves one exposition body on /metrics from a thread."""

    def __init__(self, body, content_type):
        payload = body.encode("utf-8")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        socketserver.TCPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def normalised(data):
    """{family: sorted list of (type, help, unit)}: Prometheus lists a
    family's descriptions in map order, i.e. at random."""
    return {name: sorted((d["type"], d["help"], d["unit"]) for d in descs) for name, descs in data.items()}


def metadata(port, params=()):
    return normalised(h.api_data(port, "/api/v1/metadata", params))


def wal_records(path):
    """The records of one WAL segment file (storage/FORMAT.md, "WAL
    segments"): fragments joined, CRCs not checked (the server checks them)."""
    with open(path, "rb") as f:
        data = f.read()
    out, current, pos, page = [], b"", 0, 32 * 1024
    while pos + 7 <= len(data):
        if page - pos % page < 7:
            pos += page - pos % page
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0:
            pos += page - pos % page
            continue
        frag = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        kind &= 0x7F
        current = frag if kind in (1, 2) else current + frag
        if kind in (1, 4):
            out.append(current)
    return out


def checkpoint_metadata_entries(data_dir):
    """How many metadata record bytes the newest WAL checkpoint holds, or
    None without a checkpoint."""
    wal = os.path.join(data_dir, "wal")
    cps = sorted(n for n in os.listdir(wal) if n.startswith("checkpoint.") and not n.endswith(".tmp"))
    if not cps:
        return None
    d = os.path.join(wal, cps[-1])
    n = 0
    for seg in sorted(os.listdir(d)):
        n += sum(1 for r in wal_records(os.path.join(d, seg)) if r[:1] == b"\x04")
    return n


def main():
    p = h.arg_parser(__doc__)
    args = p.parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        for d in ("target", "sender"):
            os.makedirs(os.path.join(work, d))
        om = Exporter(OPENMETRICS, "application/openmetrics-text; version=1.0.0; charset=utf-8")
        text = Exporter(TEXT_004, "text/plain; version=0.0.4; charset=utf-8")
        target = h.Nightlight(args.nightlight, os.path.join(work, "target"),
                              extra_config={"storage": {"block_duration": "1m"}})
        prom = None
        try:
            target.start()
            prom = h.Prometheus(os.path.join(work, "sender"),
                                PROMETHEUS_CONFIG % {"om": om.port, "text": text.port, "receiver": target.port})
            prom.start()
            h.log("nightlight on %d, prometheus on %d, exporters on %d and %d"
                  % (target.port, prom.port, om.port, text.port))

            # 1. The same answer as the sender's own API.
            def same():
                want = metadata(prom.port)
                got = metadata(target.port)
                return len(want) >= 10 and want == got and (want, got)
            try:
                want, got = h.wait_until("Nightlight's metadata equals Prometheus'", same, 60)
            except AssertionError:
                want, got = metadata(prom.port), metadata(target.port)
            checks.check("metadata: every family and description equals Prometheus' (%d families)" % len(want),
                         want == got and len(want) >= 10,
                         "only in Prometheus: %s; only in Nightlight: %s"
                         % ({k: v for k, v in want.items() if got.get(k) != v},
                            {k: v for k, v in got.items() if want.get(k) != v}))
            checks.check("metadata: a family two targets describe differently lists both",
                         len(got.get("demo_shared", [])) == 2, got.get("demo_shared"))
            checks.check("metadata: units, info, stateset and gaugehistogram came through",
                         got.get("demo_latency_seconds") == [("histogram", "Latency.\nSecond line.", "seconds")]
                         and got.get("demo_build") == [("info", "Build information.", "")]
                         and got.get("demo_state") == [("stateset", "Feature state.", "")]
                         and got.get("demo_queue_bytes", [("",)])[0][0] == "gaugehistogram",
                         {k: got.get(k) for k in ("demo_latency_seconds", "demo_build", "demo_state",
                                                  "demo_queue_bytes")})
            raw_p = h.api_get(prom.port, "/api/v1/metadata", [("metric", "demo_requests")])
            raw_n = h.api_get(target.port, "/api/v1/metadata", [("metric", "demo_requests")])
            checks.check("metadata: metric=demo_requests byte-identical (HTML escapes included)",
                         raw_p.status == raw_n.status == 200 and raw_p.body == raw_n.body,
                         "%r vs %r" % (raw_p.body, raw_n.body))
            for params in ([("metric", "nope")], [("limit", "0")], [("limit", "-1")],
                           [("metric", "demo_shared"), ("limit", "5")]):
                checks.check("metadata: %s equals Prometheus'" % params,
                             metadata(prom.port, params) == metadata(target.port, params))
            cut_p = metadata(prom.port, [("limit", "3")])
            cut_n = metadata(target.port, [("limit", "3")])
            checks.check("metadata: limit=3 gives 3 families, each as Prometheus describes it",
                         len(cut_p) == len(cut_n) == 3 and all(want.get(k) == v for k, v in cut_n.items()),
                         cut_n)
            for params in ([("limit", "abc")], [("limit", "1.5")]):
                rp = h.api_get(prom.port, "/api/v1/metadata", params)
                rn = h.api_get(target.port, "/api/v1/metadata", params)
                checks.check("metadata: %s answered like Prometheus (%d %s)" % (params, rp.status, rp.text()),
                             rp.status == rn.status == 400 and rp.json() == rn.json(), rn)
            pm = h.scrape_metrics(prom.port)
            sent = h.metric_sum(pm, "prometheus_remote_storage_metadata_total")
            failed = h.metric_sum(pm, "prometheus_remote_storage_metadata_failed_total")
            checks.check("sender: %d metadata entries sent, none failed" % sent, sent > 0 and failed == 0,
                         failed)

            # 2. A checkpoint carries the metadata (1-minute blocks: the
            # head spans 1.5 blocks after about 90 s of scrapes).
            def checkpointed():
                n = h.metric_sum(h.scrape_metrics(target.port), "nightlight_wal_checkpoints_total")
                entries = checkpoint_metadata_entries(target.data_dir)
                return n >= 1 and entries and (n, entries)
            try:
                n, entries = h.wait_until("a WAL checkpoint with metadata records", checkpointed, 240, 1.0)
                checks.check("checkpoint: %d checkpoint(s), the newest holds %d metadata records" % (n, entries),
                             True)
            except AssertionError as e:
                checks.check("checkpoint: a WAL checkpoint holds metadata records", False, e)
            final = metadata(prom.port)

            # 3. No sender any more, then a crash after everything was
            # acknowledged (what the API shows was acknowledged: it is
            # applied only after the WAL took it).
            prom.stop()
            before = metadata(target.port)
            checks.check("crash: before it, Nightlight still equals Prometheus' last answer", before == final)
            target.kill9()
            target.start()
            after = metadata(target.port)
            checks.check("crash: after kill -9 and a restart every family and description is back",
                         after == before,
                         "missing: %s" % {k: v for k, v in before.items() if after.get(k) != v})
        finally:
            if prom:
                prom.stop()
            target.stop()
            om.stop()
            text.stop()
    return checks.finish()


if __name__ == "__main__":
    raise SystemExit(main())
