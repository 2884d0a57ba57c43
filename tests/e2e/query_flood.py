#!/usr/bin/env python3
"""Query flood: heavy range queries are bounded and writes keep flowing.

Nightlight gets SERIES series (default 2 000) of one hour, 15 s apart, then
CLIENTS threads (default 20) each send
`sum by (instance) (rate({__name__=~"nl_flood_.+"}[5m]))` range queries over
that hour at a 15 s step, back to back, for DURATION seconds, on their own
keep-alive connections, each with `timeout=QUERY_TIMEOUT`. The server runs
with server.max_concurrent_queries = 2 (so the test means the same on any
machine): 2 run, 8 wait, the rest are refused. A client that gets 503 waits
a jittered fraction of Retry-After, as a polite client would. Meanwhile a
writer sends a remote-write request of WRITE_SERIES fresh samples every
WRITE_EVERY seconds, each with a deadline of WRITE_DEADLINE seconds.

Checks:
  * every write is answered 204 within its deadline (none late, none lost);
  * query answers are only 200 and 503, both occur; every 503 is Prometheus'
    JSON envelope ("unavailable" for a refused slot, "timeout" otherwise)
    with a numeric Retry-After, and nightlight_queries_rejected_total counts
    the refusals;
  * no query hangs: each is answered within QUERY_TIMEOUT + 10 s;
  * memory is bounded: VmRSS sampled every 100 ms and VmHWM stay under
    --rss-limit-mib (default 400 MiB). The data is ~480k samples (a few MiB
    of chunks); each running query fetches at most all of it; evaluation
    holds 2 000 x 241 points per query (~8 MiB). Twenty queries admitted at
    once would hold twenty copies of everything; 400 MiB leaves room for
    allocator slack and the HTTP buffers.
  * the writes are stored: count_over_time of the written metric equals
    the acknowledged samples.

Everything listens on 127.0.0.1; every loop is bounded in time.
"""

import http.client
import json
import os
import random
import struct
import sys
import threading
import time
import urllib.parse

import snappy

import nlharness as h

METRIC = "nl_flood_load"     # the data the queries read
WRITTEN = "nl_flood_written"  # what the writer sends during the flood
STEP_MS = 15000
QUERY = 'sum by (instance) (rate({__name__=~"nl_flood_.+"}[5m]))'


# Hand-encoded protobuf (fast enough to keep a writer thread busy).
varint = h.pb_varint
field = h.pb_field


def label_blob(name, **kv):
    return b"".join(field(0x0A, field(0x0A, n.encode()) + field(0x12, v.encode()))
                    for n, v in h.labels_of(name, **kv))


def payload(blobs, samples):
    """A WriteRequest: every series in `blobs` gets the same (t, v) samples.
    Hand-encoded, the samples once for all series."""
    enc = b"".join(field(0x12, b"\x09" + struct.pack("<d", float(v)) + b"\x10" + varint(t))
                   for t, v in samples)
    return snappy.compress(b"".join(field(0x0A, lb + enc) for lb in blobs))


def post(port, body, timeout):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api/v1/write", body=body, headers=h.REMOTE_WRITE_HEADERS)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def rss_kib(pid, field_name="VmRSS:"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field_name):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field_name, pid))


class QueryClient(threading.Thread):
    def __init__(self, index, port, params, deadline, args):
        super().__init__(daemon=True)
        self.rng = random.Random(index)
        self.port = port
        self.url = "/api/v1/query_range?" + urllib.parse.urlencode(params)
        self.deadline = deadline
        self.args = args
        self.statuses = {}
        self.bad_503 = []       # a 503 without envelope or Retry-After
        self.error_types = {}
        self.slowest = 0.0
        self.errors = []

    def run(self):
        conn = None
        while time.monotonic() < self.deadline:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                  timeout=self.args.query_timeout + 30)
            t0 = time.monotonic()
            try:
                conn.request("GET", self.url)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(repr(e))
                conn.close()
                conn = None
                time.sleep(0.1)
                continue
            took = time.monotonic() - t0
            self.slowest = max(self.slowest, took)
            self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
            if resp.status == 503:
                retry_after = resp.getheader("Retry-After")
                try:
                    kind = json.loads(body).get("errorType")
                    wait = float(retry_after)
                except (TypeError, ValueError):
                    self.bad_503.append((retry_after, body[:200]))
                    kind, wait = None, 1.0
                self.error_types[kind] = self.error_types.get(kind, 0) + 1
                if kind not in ("unavailable", "timeout"):
                    self.bad_503.append((retry_after, body[:200]))
                time.sleep(min(wait, 1.0) * self.rng.uniform(0.2, 0.5))
        if conn is not None:
            conn.close()


def main():
    p = h.arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=2000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--query-timeout", type=float, default=5.0, help="each query's timeout (s)")
    p.add_argument("--write-series", type=int, default=200)
    p.add_argument("--write-every", type=float, default=0.1)
    p.add_argument("--write-deadline", type=float, default=2.0)
    p.add_argument("--rss-limit-mib", type=int, default=400)
    args = p.parse_args()
    if args.nightlight:
        args.nightlight = os.path.abspath(args.nightlight)

    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        server = h.make_target(args, work, extra_config={
            "server": {"max_concurrent_queries": args.max_concurrent}})
        try:
            server.start(ready_timeout=60)
            pid = server.proc.pid
            end_ms = (h.now_ms() // STEP_MS - 1) * STEP_MS
            first_ms = end_ms - 240 * STEP_MS
            # The data: every series one hour, written 20 samples at a time
            # for all series, so writes stay in time order everywhere.
            blobs = [label_blob(METRIC, instance="i%02d" % (s % 50), series="s%05d" % s)
                     for s in range(args.series)]
            t0 = time.monotonic()
            for r in range(12):
                samples = [(first_ms + (r * 20 + j) * STEP_MS, float(r * 20 + j)) for j in range(20)]
                for g in range(0, len(blobs), 500):
                    status = post(server.port, payload(blobs[g:g + 500], samples), 30)
                    if status != 204:
                        checks.check("loading the data is acknowledged", False, "HTTP %d" % status)
                        return checks.finish()
            h.log("loaded %d series x 240 samples in %.1fs" % (args.series, time.monotonic() - t0))

            params = [("query", QUERY), ("start", "%.3f" % (first_ms / 1000)),
                      ("end", "%.3f" % (end_ms / 1000)), ("step", "15"),
                      ("timeout", "%gs" % args.query_timeout)]
            r = h.api_get(server.port, "/api/v1/query_range", params, timeout=60)
            t1 = time.monotonic()
            r = h.api_get(server.port, "/api/v1/query_range", params, timeout=60)
            one = time.monotonic() - t1
            ok = r.status == 200 and len(r.json()["data"]["result"]) == 50
            checks.check("the heavy query answers alone (50 instances)", ok,
                         "HTTP %d %s" % (r.status, r.body[:200]))
            h.log("one heavy query alone: %.0f ms" % (one * 1000))

            # The flood, with the writer alongside.
            write_blobs = [label_blob(WRITTEN, series="w%04d" % s) for s in range(args.write_series)]
            deadline = time.monotonic() + args.duration
            clients = [QueryClient(i, server.port, params, deadline, args) for i in range(args.clients)]
            for c in clients:
                c.start()
            writes = []  # (status or exception text, seconds)
            rss = []
            next_write = time.monotonic()
            wt = h.now_ms()
            while time.monotonic() < deadline and server.alive():
                now = time.monotonic()
                if now >= next_write:
                    wt = max(wt + 1, h.now_ms())
                    body = payload(write_blobs, [(wt, float(len(writes)))])
                    t0 = time.monotonic()
                    try:
                        status = post(server.port, body, args.write_deadline)
                    except (OSError, http.client.HTTPException) as e:
                        status = repr(e)
                    writes.append((status, time.monotonic() - t0, wt))
                    next_write = max(next_write + args.write_every, time.monotonic())
                rss.append(rss_kib(pid))
                time.sleep(min(0.1, max(0.0, next_write - time.monotonic())))
            for c in clients:
                c.join(timeout=args.query_timeout + 30)
            hung = [c for c in clients if c.is_alive()]
            checks.check("query clients finish", not hung, "%d still waiting" % len(hung))
            if not checks.check("server alive after the flood", server.alive(), server.log_tail()):
                return checks.finish()
            hwm = rss_kib(pid, "VmHWM:")

            statuses, kinds = {}, {}
            for c in clients:
                for k, n in c.statuses.items():
                    statuses[k] = statuses.get(k, 0) + n
                for k, n in c.error_types.items():
                    kinds[k] = kinds.get(k, 0) + n
            slowest = max((c.slowest for c in clients), default=0.0)
            acked = [w for w in writes if w[0] == 204]
            late = [w for w in writes if w[0] == 204 and w[1] > args.write_deadline]
            lat = sorted(w[1] for w in writes)
            h.log("queries: %s, 503 errorTypes %s, slowest %.1fs" % (statuses, kinds, slowest))
            h.log("writes: %d sent, %d acknowledged, latency median %.1f ms, max %.1f ms"
                  % (len(writes), len(acked), lat[len(lat) // 2] * 1000 if lat else 0,
                     lat[-1] * 1000 if lat else 0))
            h.log("RSS max sampled %.1f MiB, VmHWM %.1f MiB"
                  % (max(rss, default=0) / 1024, hwm / 1024))

            checks.check("writes were sent during the flood", len(writes) >= args.duration / args.write_every / 2,
                         "%d writes" % len(writes))
            checks.check("every write is acknowledged with 204 within %gs" % args.write_deadline,
                         len(acked) == len(writes) and not late,
                         "not 204: %s; late: %s" % ([w[:2] for w in writes if w[0] != 204][:5],
                                                   [w[:2] for w in late][:5]))
            checks.check("query answers are only 200 and 503", set(statuses) <= {200, 503},
                         str(statuses))
            checks.check("some queries were answered", statuses.get(200, 0) > 0, str(statuses))
            checks.check("excess queries got 503", statuses.get(503, 0) > 0, str(statuses))
            checks.check("every 503 is an unavailable/timeout envelope with Retry-After",
                         not any(c.bad_503 for c in clients),
                         str([b for c in clients for b in c.bad_503][:3]))
            checks.check("no query connection errors", not any(c.errors for c in clients),
                         str([e for c in clients for e in c.errors][:3]))
            checks.check("no query waits past its timeout + 10 s", slowest < args.query_timeout + 10,
                         "%.1fs" % slowest)
            limit_mib = args.rss_limit_mib
            if os.environ.get("NL_SANITIZE") == "1":
                limit_mib = 2 * limit_mib + 256  # ASan quarantine and redzones (see overload.py)
            checks.check("sampled VmRSS stays under %d MiB" % limit_mib,
                         rss and max(rss) < limit_mib * 1024, "%.1f MiB" % (max(rss, default=0) / 1024))
            checks.check("VmHWM stays under %d MiB" % limit_mib, hwm < limit_mib * 1024,
                         "%.1f MiB" % (hwm / 1024))
            if args.server == "nightlight":
                m = h.scrape_metrics(server.port)
                rejected = h.metric_sum(m, "nightlight_queries_rejected_total")
                checks.check("nightlight_queries_rejected_total counts the refusals",
                             rejected > 0 and rejected <= kinds.get("unavailable", 0),
                             "%s counted, %d unavailable answers" % (rejected, kinds.get("unavailable", 0)))

            # What was acknowledged is stored.
            if acked:
                lo, hi = min(w[2] for w in acked), max(w[2] for w in acked)
                data = h.query(server.port, "count_over_time(%s[%dms])" % (WRITTEN, hi - lo + 1000),
                               (hi + 1) / 1000.0, timeout=30)
                counts = [int(float(s["value"][1])) for s in data["result"]]
                checks.check("every acknowledged write is stored",
                             len(counts) == args.write_series and min(counts) >= len(acked),
                             "%d series, min count %s, %d acknowledged"
                             % (len(counts), min(counts, default=None), len(acked)))
        finally:
            server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
