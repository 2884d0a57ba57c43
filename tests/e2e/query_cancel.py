#!/usr/bin/env python3
"""A client that disconnects cancels its query.

Nightlight gets one series of 100 000 samples over the last 50 minutes, then a
deliberately huge range query over it (quantile_over_time over a 1 h window
at 10 000 steps: a sort of up to 100 000 samples per step, a minute of CPU).
The client gives up after it has seen the query burn CPU for 0.5 s.
Checks, for each way of giving up:
  * the query was really running (the server burnt CPU, no answer yet);
  * within a second of the disconnect the server is back to (nearly) idle,
    measured from utime+stime in /proc/PID/stat;
  * nightlight_queries_cancelled_total counts it and the log has one line.
Ways of giving up: close (FIN), reset (RST), and a half-close
(shutdown(SHUT_WR)) after the complete request, which Nightlight treats as
gone like Go's net/http does (documented in README); that client still reads
the 503 "canceled" answer. With --tls the server runs with mutual TLS and the
client closes after a TLS close_notify.

Everything listens on 127.0.0.1; every wait is bounded in time.
"""

import os
import select
import socket
import ssl
import struct
import sys
import time
import urllib.parse

import nlharness as h
import mtls_common as m

METRIC = "nl_cancel_big"
SAMPLES = 100_000
SPACING_MS = 30  # 100 000 samples in 50 minutes: inside the head's window
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_over(pid, seconds):
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - c0


class Target:
    """How this run talks to the server: plain HTTP or mutual TLS."""

    def __init__(self, args, work):
        self.certs = m.make_certs(os.path.join(work, "certs")) if args.tls else None
        if self.certs:
            self.server = m.MtlsNightlight(args.nightlight, work, self.certs)
        else:
            self.server = h.Nightlight(args.nightlight, work)

    def post_write(self, body):
        if self.certs:
            return m.https(self.server.port, "POST", "/api/v1/write", self.certs, "writer",
                           body=body, headers=h.REMOTE_WRITE_HEADERS, timeout=30)
        return h.remote_write(self.server.port, body, timeout=30)

    def metric(self, name):
        if self.certs:
            return m.tls_metric(self.server.port, self.certs, name)
        return h.scrape_metrics(self.server.port).get((name, frozenset()), 0.0)

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        if not self.certs:
            return raw
        ctx = m.client_context(self.certs, "reader")
        return ctx.wrap_socket(raw, server_hostname="localhost")


def write_data(target, end_ms):
    t0 = end_ms - (SAMPLES - 1) * SPACING_MS
    labels = h.labels_of(METRIC, job="cancel")
    per_request = 20_000
    for first in range(0, SAMPLES, per_request):
        samples = [(t0 + i * SPACING_MS, float(i % 97))
                   for i in range(first, min(first + per_request, SAMPLES))]
        r = target.post_write(h.encode_series([(labels, samples)]))
        if r.status != 204:
            raise AssertionError("write -> %r" % r)


def huge_query_request(end_ms):
    end = end_ms / 1000.0
    params = urllib.parse.urlencode([("query", "quantile_over_time(0.5, %s[1h])" % METRIC),
                                     ("start", "%.3f" % (end - 3000)), ("end", "%.3f" % end),
                                     ("step", "0.3")])
    return ("GET /api/v1/query_range?%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % params).encode()


def answered(sock):
    """True when the server answered or closed (TLS: application data, not
    the session tickets a TLS 1.3 server sends after the handshake). May
    consume a byte: the caller only closes the socket afterwards."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    sock.setblocking(False)
    try:
        sock.recv(1)  # data, or b"" when the server closed: either way, not running
        return True
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.setblocking(True)


def give_up(sock, how, tls):
    if how == "close":
        if tls:
            # Python closes TLS without close_notify; send it first, as
            # OpenSSL clients (curl) do, then close (FIN).
            sock.settimeout(0.2)
            try:
                sock.unwrap()
            except OSError:
                pass
        sock.close()
    elif how == "reset":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    elif how == "half-close":
        sock.shutdown(socket.SHUT_WR)


def scenario(checks, target, end_ms, how, expected_count):
    server = target.server
    pid = server.proc.pid
    idle = cpu_over(pid, 0.5)
    sock = target.connect()
    try:
        sock.sendall(huge_query_request(end_ms))
        # Wait until it burns (the fetch takes ~0.2 s, longer under ASan),
        # then let it burn for half a second.
        deadline = time.monotonic() + 15
        burning = 0.0
        early = False
        while burning < 0.1 and time.monotonic() < deadline and not early:
            burning = cpu_over(pid, 0.2)
            early = answered(sock)
        # Then let it burn 0.2 s of CPU: alone that takes 0.2 s, beside other
        # tests on two cores (ctest -j2) up to a few seconds.
        c0, t0 = cpu_seconds(pid), time.monotonic()
        while cpu_seconds(pid) - c0 < 0.2 and time.monotonic() - t0 < 8 and not early:
            time.sleep(0.05)
            early = answered(sock)
        burning, took = cpu_seconds(pid) - c0, time.monotonic() - t0
        early = early or answered(sock)
        checks.check("%s: the huge query runs (%.2f s CPU in %.2f s, idle %.2f s in 0.5 s)"
                     % (how, burning, took, idle), burning >= 0.2 and not early,
                     "answered early" if early else "")
        give_up(sock, how, target.certs is not None)
        t_gone = time.monotonic()
        time.sleep(0.3)
        after = cpu_over(pid, 0.7)
        checks.check("%s: CPU near idle within a second (%.3f s CPU in 0.3..1.0 s after)"
                     % (how, after), after < 0.07)
        if how == "half-close":
            # The client can still read: it gets the "canceled" answer, then EOF.
            sock.settimeout(3)
            data = b""
            try:
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError as e:
                data += repr(e).encode()
            checks.check("half-close: answered 503 canceled, then closed",
                         data.startswith(b"HTTP/1.1 503") and b'"errorType":"canceled"' in data
                         and data.endswith(b"}"), repr(data[-300:]))
    finally:
        sock.close()
    count = h.eventually(lambda: target.metric("nightlight_queries_cancelled_total")
                         >= expected_count or None, 5)
    checks.check("%s: nightlight_queries_cancelled_total is %d" % (how, expected_count),
                 count is not None and target.metric("nightlight_queries_cancelled_total")
                 == expected_count, "took %.1f s" % (time.monotonic() - t_gone))


def main():
    p = h.arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--tls", action="store_true", help="mutual TLS between client and server")
    args = p.parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        target = Target(args, work)
        server = target.server
        try:
            server.start(ready_timeout=60)
            end_ms = h.now_ms() - 1000
            t0 = time.monotonic()
            write_data(target, end_ms)
            h.log("wrote %d samples in %.1f s" % (SAMPLES, time.monotonic() - t0))
            ways = ["close"] if args.tls else ["close", "reset", "half-close"]
            for n, how in enumerate(ways, 1):
                scenario(checks, target, end_ms, how, n)
            lines = [l for l in open(server.log_path, errors="replace")
                     if "its client went away" in l]
            checks.check("one log line per cancelled query", len(lines) == len(ways),
                         "".join(lines[-5:]))
            checks.check("server alive", server.alive(), server.log_tail())
        finally:
            server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
