#!/usr/bin/env python3
"""The remote-write client of nightlight-api (through examples/push_metrics)
against a tiny scripted HTTP receiver: what it sends and when it tries again.

Every scenario answers the first sample request(s) with a scripted status
(503 with Retry-After, 429 with an HTTP-date Retry-After, 400, a connection
closed without an answer, endless 500) and 204 afterwards, and records
every request. Checked:
  * the request is Prometheus' (POST, Content-Encoding snappy, Content-Type
    application/x-protobuf, X-Prometheus-Remote-Write-Version 0.1.0,
    User-Agent, Host) and its body decodes to exactly the samples and
    metadata push_metrics says it sent, identical on every retry;
  * Prometheus 2.42's rules: 5xx and lost connections are retried with the
    30 ms, 60 ms, ... backoff and Retry-After ignored (unless
    --retry-after-on-5xx, Prometheus 2.48+), 429 only with --retry-on-429
    and then after its Retry-After, 400 never; the retried request succeeds;
  * the waits the client reports are really waited (lower bounds only),
    retries reuse the keep-alive connection, and a kept-alive connection the
    server closed is replaced without counting as a failed attempt.
"""

import email.utils
import http.server
import socketserver
import subprocess
import sys
import threading
import time

import snappy

import nlharness as h

CHECKS = h.Checks()
END_MS = 1796464800000  # fixed, so bodies are comparable across runs


class Receiver:
    """A remote-write receiver on a free loopback port that answers from a
    script: a list of actions for the first requests, then 204. An action
    is (status, headers, body) or "drop" (close the connection without an
    answer)."""

    def __init__(self):
        self.script = []
        self.requests = []  # (monotonic time, client port, method, path, headers, body)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with receiver.lock:
                    receiver.requests.append((time.monotonic(), self.client_address[1], "POST",
                                              self.path, {k.lower(): v for k, v in self.headers.items()},
                                              body))
                    action = receiver.script.pop(0) if receiver.script else (204, {}, b"")
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = action
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, script):
        with self.lock:
            self.script = list(script)
            self.requests = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run_push(binary, port, *flags):
    cmd = [binary, "--url", "http://127.0.0.1:%d/api/v1/write" % port, "--points", "2",
           "--end-ms", str(END_MS), "--give-up-after-ms", "20000"] + list(flags)
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    out = p.stdout.decode()
    h.log("push_metrics %s -> exit %d\n%s%s" % (" ".join(flags), p.returncode,
                                                "\n".join(l for l in out.splitlines()
                                                          if not l.startswith(("sample", "metadata"))),
                                                p.stderr.decode()))
    return p.returncode, out


def sent_by_push(out):
    """What push_metrics says it sent: {(series text, t): value} and the
    metadata lines."""
    samples, metadata = {}, []
    for line in out.splitlines():
        if line.startswith("sample "):
            _, series, t, v = line.split(" ")
            samples[(series, int(t))] = float(v)
        elif line.startswith("metadata "):
            metadata.append(line[len("metadata "):])
    return samples, metadata


def decode(body):
    """The WriteRequest of a body: ({(series text, t): value}, metadata lines)."""
    req = h.proto().WriteRequest()
    req.ParseFromString(snappy.uncompress(body))
    samples = {}
    for ts in req.timeseries:
        labels = [(l.name, l.value) for l in ts.labels]
        name = dict(labels)["__name__"]
        text = name + "{" + ",".join('%s="%s"' % (k, v) for k, v in labels if k != "__name__") + "}"
        for s in ts.samples:
            samples[(text, s.timestamp)] = s.value
    types = {0: "unknown", 1: "counter", 2: "gauge"}
    metadata = ['%s %s "%s" "%s"' % (m.metric_family_name, types.get(m.type, "?"), m.help, m.unit)
                for m in req.metadata]
    return samples, metadata


def attempts(out, which="samples"):
    """The attempt lines push_metrics printed for its samples or metadata
    request."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(which + ":"))
    result = []
    for l in lines[start + 1:]:
        if not l.startswith("  attempt "):
            break
        result.append(l.strip())
    return result


def sample_requests(rx):
    """The recorded requests carrying samples (not the metadata request)."""
    return [r for r in rx.requests if decode(r[5])[0]]


def check_request_shape(name, rx, port):
    for i, (_, _, method, path, headers, _) in enumerate(rx.requests):
        want = {
            "content-encoding": "snappy",
            "content-type": "application/x-protobuf",
            "x-prometheus-remote-write-version": "0.1.0",
            "host": "127.0.0.1:%d" % port,
        }
        got = {k: headers.get(k) for k in want}
        CHECKS.check("%s: request %d is POST /api/v1/write with Prometheus' headers" % (name, i + 1),
                     method == "POST" and path == "/api/v1/write" and got == want
                     and "content-length" in headers
                     and headers.get("user-agent", "").startswith("nightlight-api/"),
                     "%s %s %r" % (method, path, headers))


def check_bodies(name, rx, out):
    samples, metadata = sent_by_push(out)
    reqs = sample_requests(rx)
    CHECKS.check("%s: every sample request carries exactly what push_metrics sent" % name,
                 reqs and all(decode(r[5]) == (samples, []) for r in reqs),
                 "sent %d samples; got %r" % (len(samples), [decode(r[5]) for r in reqs][:1]))
    CHECKS.check("%s: retries resend the identical body" % name,
                 len({r[5] for r in reqs}) == 1)
    meta = [r for r in rx.requests if not decode(r[5])[0]]
    CHECKS.check("%s: metadata goes in a request of its own, with TYPE/HELP/UNIT" % name,
                 len(meta) == 1 and decode(meta[0][5]) == ({}, metadata) and len(metadata) == 4,
                 "%r vs %r" % ([decode(r[5]) for r in meta], metadata))


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--push", required=True, help="path of examples/push_metrics")
    args = p.parse_args()
    rx = Receiver()
    try:
        # 1. 503 + Retry-After twice: retried with Prometheus 2.42's backoff
        #    (Retry-After ignored on 5xx), then accepted.
        name = "503 Retry-After"
        busy = (503, {"Retry-After": "2"}, b"overloaded: 10 writes in flight\nmore detail\n")
        rx.reset([busy, busy])
        code, out = run_push(args.push, rx.port)
        CHECKS.check(name + ": push succeeds after the retries", code == 0, out[-400:])
        CHECKS.check(name + ": three sample requests reached the server",
                     len(sample_requests(rx)) == 3, "%d" % len(sample_requests(rx)))
        a = attempts(out)
        CHECKS.check(name + ": waits 30 ms then 60 ms (min_backoff doubling), Retry-After ignored",
                     a == ["attempt 1: 503 (server returned HTTP status 503 Service Unavailable: "
                           "overloaded: 10 writes in flight), retrying in 30 ms",
                           "attempt 2: 503 (server returned HTTP status 503 Service Unavailable: "
                           "overloaded: 10 writes in flight), retrying in 60 ms",
                           "attempt 3: 204"], "\n".join(a))
        reqs = sample_requests(rx)
        if len(reqs) == 3:
            CHECKS.check(name + ": the waits were waited (>= 30 ms, >= 60 ms)",
                         reqs[1][0] - reqs[0][0] >= 0.030 and reqs[2][0] - reqs[1][0] >= 0.060,
                         "%.3f %.3f" % (reqs[1][0] - reqs[0][0], reqs[2][0] - reqs[1][0]))
            CHECKS.check(name + ": retries reuse the keep-alive connection",
                         len({r[1] for r in rx.requests}) == 1,
                         "client ports %r" % [r[1] for r in rx.requests])
        check_request_shape(name, rx, rx.port)
        check_bodies(name, rx, out)

        # 2. The same with --retry-after-on-5xx (Prometheus 2.48+): the
        #    server's 1 s is waited instead.
        name = "503 Retry-After honoured"
        rx.reset([(503, {"Retry-After": "1"}, b"busy")])
        code, out = run_push(args.push, rx.port, "--retry-after-on-5xx")
        reqs = sample_requests(rx)
        CHECKS.check(name + ": accepted on the second attempt", code == 0 and len(reqs) == 2, out[-300:])
        CHECKS.check(name + ": waits the 1000 ms the server asked for",
                     attempts(out)[0].endswith("retrying in 1000 ms (Retry-After)"),
                     "\n".join(attempts(out)))
        if len(reqs) == 2:
            CHECKS.check(name + ": and really waited >= 1 s", reqs[1][0] - reqs[0][0] >= 1.0,
                         "%.3f" % (reqs[1][0] - reqs[0][0]))

        # 3. 429 with an HTTP-date Retry-After and --retry-on-429.
        name = "429 Retry-After date"
        when = email.utils.formatdate(time.time() + 3, usegmt=True)
        rx.reset([(429, {"Retry-After": when}, b"slow down")])
        code, out = run_push(args.push, rx.port, "--retry-on-429")
        reqs = sample_requests(rx)
        a = attempts(out)
        wait_ms = int(a[0].split("retrying in ")[1].split(" ")[0]) if "retrying in" in a[0] else 0
        CHECKS.check(name + ": accepted on the second attempt", code == 0 and len(reqs) == 2, out[-300:])
        CHECKS.check(name + ": waits until the date (whole seconds, 1-3 s) as Retry-After",
                     1000 <= wait_ms <= 3000 and a[0].endswith("(Retry-After)"), "\n".join(a))
        if len(reqs) == 2:
            CHECKS.check(name + ": and really waited that long",
                         reqs[1][0] - reqs[0][0] >= wait_ms / 1000.0 - 0.01,
                         "%.3f" % (reqs[1][0] - reqs[0][0]))

        # 4. 429 without --retry-on-429: given up at once (Prometheus' default).
        name = "429 not retried"
        rx.reset([(429, {"Retry-After": "1"}, b"slow down")])
        code, out = run_push(args.push, rx.port)
        CHECKS.check(name + ": push fails after one attempt",
                     code == 1 and len(sample_requests(rx)) == 1, out[-300:])
        CHECKS.check(name + ": reported as RESOURCE_EXHAUSTED with the server's words",
                     "FAILED: RESOURCE_EXHAUSTED: server returned HTTP status 429 Too Many "
                     "Requests: slow down" in out, out[-300:])

        # 5. 400: never retried; only the first line of the answer is kept.
        name = "400 not retried"
        rx.reset([(400, {}, b"1 series rejected: demo{}: bad label\nsecond line\n")])
        code, out = run_push(args.push, rx.port)
        CHECKS.check(name + ": push fails after one attempt",
                     code == 1 and len(sample_requests(rx)) == 1, out[-300:])
        CHECKS.check(name + ": reported as INVALID_ARGUMENT with the first line of the answer",
                     "FAILED: INVALID_ARGUMENT: server returned HTTP status 400 Bad Request: "
                     "1 series rejected: demo{}: bad label\n" in out, out[-300:])

        # 6. A connection closed without an answer: retried on a new one.
        name = "lost connection"
        rx.reset(["drop"])
        code, out = run_push(args.push, rx.port)
        a = attempts(out)
        CHECKS.check(name + ": retried and accepted", code == 0 and len(sample_requests(rx)) == 2
                     and a[0].startswith("attempt 1: no answer") and a[-1] == "attempt 2: 204",
                     "\n".join(a))
        check_bodies(name, rx, out)

        # 8. The server closes a kept-alive connection without answering
        #    (an idle timeout racing the next request): the request is sent
        #    again on a new connection at once, not counted as a failed
        #    attempt (Go's transport does the same for errServerClosedIdle).
        name = "closed keep-alive connection"
        rx.reset([(204, {}, b""), "drop"])
        code, out = run_push(args.push, rx.port)
        CHECKS.check(name + ": the metadata request is resent transparently",
                     code == 0 and attempts(out, "metadata") == ["attempt 1: 204"]
                     and len(rx.requests) == 3 and len({r[1] for r in rx.requests}) == 2,
                     "%s; %d requests on %d connections" % (attempts(out, "metadata"),
                                                          len(rx.requests),
                                                          len({r[1] for r in rx.requests})))

        # 7. Endless 500: the client gives up after --give-up-after-ms.
        name = "endless 500"
        rx.reset([(500, {}, b"boom")] * 1000)
        code, out = run_push(args.push, rx.port, "--give-up-after-ms", "400")
        a = attempts(out)
        CHECKS.check(name + ": gives up with UNAVAILABLE naming the last answer",
                     code == 1 and "FAILED: UNAVAILABLE: giving up after" in out
                     and "server returned HTTP status 500 Internal Server Error: boom" in out,
                     out[-400:])
        CHECKS.check(name + ": several attempts with doubling waits first",
                     len(a) >= 3 and "retrying in 30 ms" in a[0] and "retrying in 60 ms" in a[1],
                     "\n".join(a))
    finally:
        rx.close()
    return CHECKS.finish()


if __name__ == "__main__":
    sys.exit(main())
