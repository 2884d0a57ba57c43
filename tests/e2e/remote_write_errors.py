#!/usr/bin/env python3
"""Hand-built remote_write requests that a receiver must answer correctly
(spec §1): bad bodies are 400 with a message, oversize bodies 413, foreign
encodings 415, out-of-order and far-future samples 400 while the valid rest
of the batch is stored, exact duplicates, special floats, empty and
metadata-only requests 204. The server must stay up throughout.

The expectations are Nightlight's (partial write, 415 on foreign encodings);
run with --server prometheus to see where Prometheus 2.42 differs."""

import math
import random
import select
import socket
import sys
import time

import snappy

import nlharness as h

CHECKS = h.Checks()


def expect_status(target, name, resp, statuses, want_message=False):
    ok = resp.status in statuses
    if ok and want_message:
        ok = len(resp.body.strip()) > 0
    CHECKS.check("%s -> %s%s" % (name, "/".join(map(str, statuses)),
                                 " with a message" if want_message else ""),
                 ok, "got %r" % (resp,))
    CHECKS.check("%s: server still ready" % name, still_up(target))
    return ok


def still_up(target):
    try:
        return target.alive() and h.request(target.port, "GET", target.ready_path, timeout=5).status == 200
    except OSError:
        return False


def send_oversize(port, claimed=256 << 20, timeout=30.0):
    """Declares a body of `claimed` bytes and streams zeros until the server
    answers (a good server answers 413 from the headers alone) or everything
    is sent. Returns the status code, or None if the connection died without
    an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        head = ("POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"
                "Content-Length: %d\r\n\r\n" % (port, claimed)).encode()
        s.sendall(head)
        chunk = b"\0" * (1 << 20)
        sent = 0
        deadline = time.monotonic() + timeout
        s.setblocking(False)
        while sent < claimed and time.monotonic() < deadline:
            readable, writable, _ = select.select([s], [s], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    sent += s.send(chunk[:min(len(chunk), claimed - sent)])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    break
        s.setblocking(True)
        s.settimeout(max(1.0, deadline - time.monotonic()))
        data = b""
        try:
            while b"\r\n" not in data:
                more = s.recv(4096)
                if not more:
                    break
                data += more
        except OSError:
            pass
        if not data.startswith(b"HTTP/1."):
            return None
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


def main():
    args = h.arg_parser(__doc__).parse_args()
    with h.Workdir(args.keep) as work:
        target = h.make_target(args, work)
        try:
            target.start()
            run(target)
        finally:
            target.stop()
            if CHECKS.failed:
                print(target.log_tail(), file=sys.stderr)
    return CHECKS.finish()


def run(target):
    port = target.port
    rw = lambda payload, **kw: h.remote_write(port, payload, **kw)
    t0 = h.now_ms() - 60_000
    good = h.write_request([(h.labels_of("nl_e2e_good", case="baseline"), [(t0, 1.0)])])

    expect_status(target, "valid request", rw(h.encode(good)), (200, 204))

    # --- undecodable bodies
    expect_status(target, "garbage (not snappy)", rw(b"\xde\xad\xbe\xef not snappy at all"), (400,), True)
    raw = good.SerializeToString()
    truncated = snappy.compress(raw)[:-3]
    expect_status(target, "truncated snappy block", rw(truncated), (400,), True)
    bomb = b"\x80\x80\x80\x80\x04" + b"\x00" * 8  # preamble claims 1 GiB
    expect_status(target, "snappy preamble claiming 1 GiB", rw(bomb), (400, 413), True)
    expect_status(target, "snappy framing format", rw(h.snappy_framed(raw)), (400,), True)
    expect_status(target, "malformed protobuf (invalid wire type)",
                  rw(snappy.compress(b"\x0f\xff\xff\xff\xff")), (400,), True)
    expect_status(target, "truncated protobuf", rw(snappy.compress(raw[:-4])), (400,), True)
    expect_status(target, "protobuf length beyond the body",
                  rw(snappy.compress(b"\x0a\xff\xff\xff\xff\x0f" + raw)), (400,), True)

    # --- size and media type
    status = send_oversize(port)
    CHECKS.check("oversize body (256 MiB declared) -> 413", status == 413, "got %s" % status)
    CHECKS.check("oversize body: server still ready", still_up(target))
    expect_status(target, "Content-Encoding: gzip", rw(h.encode(good), headers={"Content-Encoding": "gzip"}),
                  (415,), True)
    expect_status(target, "Content-Type of remote write 2.0",
                  rw(h.encode(good), headers={
                      "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"}),
                  (415,), True)
    expect_status(target, "no Content-Encoding/Content-Type headers (accepted like 2.42)",
                  rw(h.encode(good), headers={"Content-Encoding": None, "Content-Type": None,
                                              "X-Prometheus-Remote-Write-Version": None}), (200, 204))
    r = h.request(port, "GET", "/api/v1/write")
    CHECKS.check("GET /api/v1/write -> 405", r.status == 405, r)

    # --- label rules
    dup = h.write_request([([("__name__", "nl_e2e_dup"), ("a", "1"), ("a", "2")], [(t0, 1.0)])])
    expect_status(target, "duplicate label names", rw(h.encode(dup)), (400,), True)
    CHECKS.check("duplicate label names: series not stored",
                 h.series(port, "nl_e2e_dup") == [])

    # --- out of order inside a batch with a good new series
    base = h.write_request([(h.labels_of("nl_e2e_ooo", case="a"), [(t0, 1.0)])])
    expect_status(target, "first sample of series a", rw(h.encode(base)), (200, 204))
    mixed = h.write_request([
        (h.labels_of("nl_e2e_ooo", case="a"), [(t0 - 10_000, 2.0)]),
        (h.labels_of("nl_e2e_ooo", case="b"), [(t0, 3.0)]),
    ])
    r = rw(h.encode(mixed))
    expect_status(target, "out-of-order sample + new series", r, (400,), True)
    h.log("  out-of-order answer:", r.text()[:300].strip())
    stored = h.eventually(
        lambda: [s for s in h.series(port, "nl_e2e_ooo") if s.get("case") == "b"], 5)
    CHECKS.check("out-of-order: the valid rest of the batch is stored", bool(stored))
    res = h.query(port, "nl_e2e_ooo", (t0 + 1000) / 1000)
    got = {s["metric"]["case"]: s["value"][1] for s in res["result"]}
    CHECKS.check("out-of-order: the valid rest is stored with its value",
                 got == {"a": "1", "b": "3"}, got)
    expect_status(target, "exact duplicate sample", rw(h.encode(base)), (200, 204))
    conflicting = h.write_request([(h.labels_of("nl_e2e_ooo", case="a"), [(t0, 42.0)])])
    expect_status(target, "same timestamp, different value", rw(h.encode(conflicting)), (400,), True)
    res = h.query(port, 'nl_e2e_ooo{case="a"}[1m]', (t0 + 1000) / 1000)
    got = [(s["metric"]["case"], s["values"]) for s in res["result"]]
    CHECKS.check("the out-of-order and the conflicting sample of a were not stored",
                 got == [("a", [[t0 / 1000, "1"]])], got)

    # --- special values
    special = [("stale", h.stale_nan()), ("nan", math.nan), ("pinf", math.inf), ("ninf", -math.inf)]
    req = h.write_request([(h.labels_of("nl_e2e_special", kind=k), [(t0, v)]) for k, v in special])
    sent_bits = {ts.labels[1].value: h.float_bits(ts.samples[0].value) for ts in req.timeseries}
    CHECKS.check("test sends StaleNaN bit-exactly", sent_bits["stale"] == h.STALE_NAN_BITS, hex(sent_bits["stale"]))
    expect_status(target, "StaleNaN, NaN, +Inf, -Inf", rw(h.encode(req)), (200, 204))
    kinds = h.eventually(lambda: (lambda s: len(s) == 4 and s)(h.series(port, "nl_e2e_special")), 5)
    CHECKS.check("special values: 4 series listed", kinds, h.series(port, "nl_e2e_special"))
    res = h.query(port, "nl_e2e_special", (t0 + 1000) / 1000)
    got = {s["metric"]["kind"]: s["value"][1] for s in res["result"]}
    CHECKS.check("query: NaN/+Inf/-Inf returned, stale series hidden",
                 got == {"nan": "NaN", "pinf": "+Inf", "ninf": "-Inf"}, got)

    # --- empty and metadata-only requests
    expect_status(target, "empty request (snappy of zero bytes)", rw(b"\x00"), (200, 204))
    expect_status(target, "zero-length body", rw(b""), (200, 204, 400))
    meta = h.write_request([], metadata=[(1, "nl_e2e_meta_total", "Counts e2e things.", ""),
                                         (2, "nl_e2e_meta_gauge", "A gauge.", "bytes")])
    expect_status(target, "metadata-only request", rw(h.encode(meta)), (200, 204))

    # --- flipped bytes (seeded, near the end: a flip may store junk series
    # or odd timestamps that later checks should not see). Each variant must get a clean 2xx or 400,
    # never a 5xx (the sender would retry it forever) and never a crash.
    rnd = random.Random(1127)
    bigger = h.write_request([(h.labels_of("nl_e2e_flip", i=str(i), host="h%d" % (i % 7)),
                               [(t0 + i, float(i))]) for i in range(40)])
    bad = []
    for variant in range(30):
        body = bytearray(h.encode(bigger) if variant % 2 else bigger.SerializeToString())
        for _ in range(rnd.randint(1, 4)):
            body[rnd.randrange(len(body))] ^= 1 << rnd.randrange(8)
        if variant % 2 == 0:
            body = bytearray(snappy.compress(bytes(body)))  # flipped protobuf, valid snappy
        r = rw(bytes(body))
        if not (200 <= r.status < 300 or r.status == 400):
            bad.append((variant, r.status, r.body[:80]))
    CHECKS.check("30 bit-flipped bodies -> 2xx or 400 only", not bad, bad[:5])
    CHECKS.check("bit-flipped bodies: server still ready", still_up(target))

    # --- far future: rejected, and it must not push the head's clock
    future = h.write_request([(h.labels_of("nl_e2e_future"), [(h.now_ms() + 3_600_000, 1.0)])])
    expect_status(target, "sample 1 h in the future", rw(h.encode(future)), (400,), True)
    after = h.write_request([(h.labels_of("nl_e2e_after_future"), [(h.now_ms() - 1000, 1.0)])])
    expect_status(target, "current sample after the future one", rw(h.encode(after)), (200, 204))

    expect_status(target, "valid request at the end", rw(h.encode(good)), (200, 204))
    CHECKS.check("process alive at the end", target.alive())

    if target.name == "nightlight":
        # Refusals are counted under their own reason, not one catch-all.
        m = h.scrape_metrics(port)
        rejected = lambda why: m.get(("nightlight_samples_rejected_total",
                                      frozenset({("reason", why)})), 0)
        for why in ("invalid_labels", "too_far_in_future"):
            CHECKS.check("/metrics counts samples rejected as %s" % why, rejected(why) >= 1,
                         rejected(why))


if __name__ == "__main__":
    sys.exit(main())
