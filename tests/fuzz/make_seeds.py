#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that are generated rather than
copied from real files: remote_read, query_params, web_ui, config, client_parsers,
wal_records, wal_checkpoint, wal_segment/multi, prometheus_import,
accept_encoding, proc_stat, series_refs and head_snapshot. Run from anywhere;
the output is deterministic, so re-running it leaves git clean.

usage: tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- encodings -------------------------------------------------------------

def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint(n):  # zig-zag, as Go's binary.PutVarint
    return uvarint((n << 1) ^ (n >> 63) if n >= 0 else ((-n) << 1) - 1)


def pb_field(num, wire, payload):
    key = uvarint(num << 3 | wire)
    if wire == 0:
        return key + uvarint(payload & (2**64 - 1))
    return key + uvarint(len(payload)) + payload


def snappy_literal(data):
    """A valid snappy block made of literals only (no compression needed)."""
    out = bytearray(uvarint(len(data)))
    for i in range(0, len(data), 60):
        chunk = data[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def lp(data):  # the length prefix the multi-file targets use
    return struct.pack("<I", len(data)) + data


# --- remote read -----------------------------------------------------------

def matcher(t, name, value):
    return pb_field(1, 0, t) + pb_field(2, 2, name.encode()) + pb_field(3, 2, value.encode())


def query(start, end, matchers, hints=b""):
    q = pb_field(1, 0, start) + pb_field(2, 0, end)
    for m in matchers:
        q += pb_field(3, 2, m)
    if hints:
        q += pb_field(4, 2, hints)
    return q


def read_request(queries, accepted=()):
    r = b"".join(pb_field(1, 2, q) for q in queries)
    if accepted:
        r += pb_field(2, 2, b"".join(uvarint(a) for a in accepted))
    return r


def remote_read():
    hints = pb_field(1, 0, 15000) + pb_field(2, 2, b"rate") + pb_field(3, 0, 1700000000000) \
        + pb_field(4, 0, 1700003600000) + pb_field(5, 2, b"job") + pb_field(6, 0, 1) + pb_field(7, 0, 300000)
    seeds = {
        "samples": read_request([query(1700000000000, 1700003600000, [matcher(0, "__name__", "up")])]),
        "streamed": read_request([query(1700000000000, 1700003600000,
                                        [matcher(0, "__name__", "node_cpu_seconds_total"),
                                         matcher(1, "mode", "idle"), matcher(2, "job", "node|api.*"),
                                         matcher(3, "instance", "")], hints)], accepted=(1, 0)),
        "two-queries": read_request([query(0, 10, [matcher(2, "__name__", ".+")]),
                                     query(-5, -1, [matcher(0, "a", "\u00e9")])], accepted=(0,)),
        "bad-type": read_request([query(1, 2, [matcher(7, "a", "b")])], accepted=(5,)),
    }
    for name, body in seeds.items():
        write("remote_read", name + ".snappy", snappy_literal(body))
        write("remote_read", name + ".pb", body)


# --- query parameters ------------------------------------------------------

def web_ui():
    """Request path, newline, If-None-Match (see fuzz_web_ui.cpp)."""
    seeds = [
        "/graph\n",
        "/static/js/app.js\n\"0000000000000000\"",
        "/static/vendor/uplot/uPlot.min.css\nW/\"x\", *",
        "/static/%2e%2e/index.html\n",
        "/static/js//app.js\n\"a\",,\"b\"",
        "/tsdb-status\n*",
    ]
    for i, s in enumerate(seeds):
        write("web_ui", "w%02d" % i, s)


def query_params():
    form = "application/x-www-form-urlencoded; charset=utf-8"
    seeds = [
        "query=up&time=1700000000.5\n\n/api/v1/query\n",
        "start=2023-11-14T22:13:20Z&end=2023-11-14T23:13:20.123%2B01:00&step=15s\n"
        "query=rate(x%5B5m%5D)&match[]=up&match%5B%5D=%7Bjob%3D%22a%22%7D\n/api/v1/query_range\n" + form,
        "match[]=up&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z&limit=10\n"
        "\n/api/v1/series\n",
        "timeout=1h30m&lookback_delta=2w&limit=-1&skip_head=TRUE\n\n/api/v1/label/job%2Fx/values\n",
        "step=1e3&start=1.5e9&end=NaN&bad=%zz\nstep=0x1f+%41;x=1\n/api/v1/admin/tsdb/delete_series\n" + form,
        "start=0&end=11000&step=1ms&time=-Inf\n\n/-/healthy\ntext/plain",
        "\n\n/api/v1/status/tsdb\n",
    ]
    for i, s in enumerate(seeds):
        write("query_params", "p%02d" % i, s)


# --- client library parsers (Retry-After, then the remote-write URL) --------

def client_parsers():
    seeds = [
        "5\nhttp://127.0.0.1:9101/api/v1/write",
        "Sat, 05 Dec 2026 10:00:30 GMT\nhttps://[::1]:9101/api/v1/write?x=1",
        "sat,  05 DEC 2026 0:00:10.999 GMT\nHTTPS://nightlight.example",
        "-9223372036854775808\nhttp://user@h:65536/#f",
        "Sat, 29 Feb 2028 23:59:59 GMT\nhttp://[::1/",
    ]
    for i, s in enumerate(seeds):
        write("client_parsers", "c%02d" % i, s)


# --- config ----------------------------------------------------------------

def config():
    for name in ("nightlight.yaml", "nightlight-mtls.yaml"):
        with open(os.path.join(ROOT, "conf", name), "rb") as f:
            write("config", name, f.read())
    write("config", "durations.yaml",
          "storage:\n  retention: 90d\n  retention_size: 512MB\n  block_duration: 2h\n"
          "  out_of_order_window: 10m\n  fsync: always\nserver:\n  overload_status: 429\n"
          "  http_addr: \"[::1]:9101\"\n  lookback_delta: 5m\nlog: debug\n")
    write("config", "errors.yaml", "server:\n  overload_status: 500\n  nope: [1, {a: b}]\ningest: &x\n  <<: *x\n")


# --- HTTP headers and /proc ------------------------------------------------

def accept_encoding():
    for i, v in enumerate(["gzip", "deflate, gzip, br, zstd", "gzip;q=0, *;q=0.5", "x-gzip;q=1.000",
                           "identity;q=1, gzip;q=0.001;level=9"]):
        write("accept_encoding", "a%02d" % i, v)


def proc_stat():
    write("proc_stat", "self-stat",
          "4242 (night light)) S 1 4242 4242 0 -1 4194560 12345 0 0 0 250 75 0 0 30 10 17 0 "
          "9876543 1310883840 10895 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0\n")
    write("proc_stat", "stat", "cpu  10 0 5 100 0 0 0 0 0 0\nintr 1 2\nctxt 9\nbtime 1796445000\nprocesses 77\n")


# --- WAL -------------------------------------------------------------------

def label_key(labels):
    out = uvarint(len(labels))
    for k, v in labels:
        out += uvarint(len(k)) + k.encode() + uvarint(len(v)) + v.encode()
    return out


def series_rec(entries):
    return b"\x01" + b"".join(uvarint(ref) + label_key(ls) for ref, ls in entries)


def samples_rec(samples):
    if not samples:
        return b"\x02"
    base_ref, base_t, _ = samples[0]
    out = b"\x02" + uvarint(base_ref) + varint(base_t)
    for ref, t, v in samples:
        out += varint(ref - base_ref) + varint(t - base_t) + struct.pack("<d", v)
    return out


def tombstones_rec(stones):
    return b"\x03" + b"".join(uvarint(r) + varint(a) + uvarint(b - a) for r, a, b in stones)


def metadata_rec(entries):
    def lpb(s):
        return uvarint(len(s.encode())) + s.encode()
    return b"\x04" + b"".join(varint(t) + bytes([typ]) + lpb(f) + lpb(h) + lpb(u)
                              for t, typ, f, h, u in entries)


def segment(records, page=32 * 1024):
    """WAL segment framing: records split into fragments so that none
    crosses a 32 KiB page."""
    out = bytearray()
    for rec in records:
        first = True
        while True:
            room = page - len(out) % page
            if room < 7 + 1:
                out += b"\0" * room
                room = page
            part, rec = rec[:room - 7], rec[room - 7:]
            t = (1 if not rec else 2) if first else (4 if not rec else 3)
            out += struct.pack("<IHB", crc32c(bytes([t]) + part), len(part), t) + part
            first = False
            if not rec:
                break
    return bytes(out)


def wal():
    s = series_rec([(1, [("__name__", "up"), ("job", "a")]),
                    (2, [("__name__", "up"), ("instance", "x:9100"), ("job", "b")])])
    stale = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
    smp = samples_rec([(1, 1700000000000, 1.0), (2, 1700000000000, 0.5), (1, 1700000015000, stale),
                       (2, 1699999990000, float("inf"))])
    ts = tombstones_rec([(1, 1700000000000, 1700000010000), (2, -5, 9)])
    write("wal_records", "series", s)
    write("wal_records", "samples", smp)
    write("wal_records", "samples-empty", samples_rec([]))
    md = metadata_rec([(1700000000000, 1, "http_requests_total", "Requests served.", ""),
                       (1700000060000, 3, "rpc_duration_seconds", "RPC latency.", "seconds")])
    write("wal_records", "tombstones", ts)
    write("wal_records", "metadata", md)
    write("wal_segment", "multi", segment([s, smp, ts]))
    write("wal_checkpoint", "one-segment", lp(segment([s, smp])))
    write("wal_checkpoint", "metadata", lp(segment([s, md, smp])))
    write("wal_checkpoint", "two-segments", lp(segment([s])) + segment([smp, ts]))


# --- Prometheus blocks -----------------------------------------------------

def prometheus_import():
    src = os.path.join(ROOT, "tests", "testdata", "prometheus_block")
    for ulid in sorted(os.listdir(src)):
        d = os.path.join(src, ulid)
        if not os.path.isdir(d):
            continue
        parts = [open(os.path.join(d, n), "rb").read() for n in ("meta.json", "index", "tombstones")]
        chunks = open(os.path.join(d, "chunks", "000001"), "rb").read()
        write("prometheus_import", ulid, b"".join(lp(p) for p in parts) + chunks)


def block_tombstones():
    # storage/FORMAT.md's example file (series 0: [1000, 2000]; series 5:
    # [-5, 10], [100, 200]), and its body alone (the target also reads the
    # input as a body, with header and checksum added).
    body = bytes.fromhex("02" "0001" "d00fe807" "0502" "090f" "c80164")
    write("block_tombstones", "example", b"NLTS\x01\x00\x00\x00" + body + struct.pack("<I", crc32c(body)))
    write("block_tombstones", "example-body", body)


def series_refs():
    # A link batch's new keys: the count byte, then the keys.
    keys = [label_key([("__name__", "up"), ("job", "a")]),
            label_key([("__name__", "up"), ("instance", "x:9100"), ("job", "b")])]
    write("series_refs", "two-keys", bytes([2]) + b"".join(keys))
    write("series_refs", "repeated-key", bytes([2]) + keys[0] + keys[0])


def head_snapshot():
    # storage/FORMAT.md, "Head snapshot": the golden state (up{} with
    # (1000, 1) and (2000, 1) in its open chunk, saved with its appender
    # state), the same with an alias and an out-of-order sample, and one
    # whose series sits at the top of the ref range; the mode byte 0 (a
    # head state).
    chunk = bytes.fromhex("0002" "d00f" "3ff0000000000000" "e807" "00")
    def uvlp(b):
        return uvarint(len(b)) + b
    pairs = uvarint(1) + uvlp(uvlp(b"__name__") + uvlp(b"up"))
    state = (varint(1000) + uvarint(1000) + uvarint(1000) + struct.pack("<Q", 0x3FF0000000000000)
             + bytes([0xFF, 0, 7]))
    def series(ref):
        return uvarint(1) + uvarint(ref) + uvarint(1) + uvarint(0) + uvarint(0) + uvlp(chunk) + state
    head = uvarint(2) + uvarint(0) + pairs
    write("head_snapshot", "one-series", b"\0" + head + series(1) + uvarint(0) + uvarint(0))
    head = uvarint(10) + uvarint(1) + pairs
    ooo = uvarint(1) + uvarint(1) + uvarint(1) + varint(1500) + struct.pack("<Q", 0x4000000000000000) + uvarint(1)
    write("head_snapshot", "alias-and-ooo", b"\0" + head + series(1) + uvarint(1) + uvarint(9) + uvarint(1) + ooo)
    top = 1 << 62
    head = uvarint(top) + uvarint(0) + pairs
    write("head_snapshot", "ref-at-range-end", b"\0" + head + series(top - 1) + uvarint(0) + uvarint(0))
    # Mode byte 2: the WAL fingerprints a snapshot was taken with and the
    # one at start-up, two segments written since (storage/FORMAT.md).
    taken = b"00000003 70\n00000004 9\ncheckpoint.00000002/\ncheckpoint.00000002/00000001 2\n"
    current = b"00000003 70\n00000004 9\n00000005 4096\n00000006 12\ncheckpoint.00000002/\ncheckpoint.00000002/00000001 2\n"
    write("head_snapshot", "fingerprints", b"\2" + taken + b"\0" + current)


block_tombstones()
series_refs()
head_snapshot()
remote_read()
query_params()
web_ui()
client_parsers()
config()
wal()
prometheus_import()
accept_encoding()
proc_stat()
