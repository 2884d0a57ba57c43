#!/usr/bin/env python3
"""Remote read (/api/v1/read) spoken directly: Nightlight against the real
Prometheus 2.42 remote-read server on the same remote-written data.

- SAMPLES answers: every series and sample equal (values bit for bit, the
  staleness marker included), for matchers of all four types, ranges with
  and without hints, hints func "series", several queries in one request.
- STREAMED_XOR_CHUNKS answers: every frame's CRC-32C checked, one series per
  frame in label order, query_index right, frames within the configured size
  (1 KiB here, so long series are split), the XOR chunks decoded here and,
  trimmed to the query range, equal to Prometheus' samples.
- The sample limit: the same limit gives the same 400 in both.
- Bad requests (garbage, bad snappy, unsupported response types, an invalid
  regex): 400 with a message (Prometheus: the same 400s, but 500 for the
  regex).
- The concurrency limit: reads beyond it wait for a slot.
- Server memory: a streamed read of hundreds of MiB raises Nightlight's RSS
  by a bounded amount, also for a client that reads slowly.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402

STEP_MS = 15000
SAMPLE_LIMIT = 5000
FRAME_BYTES = 1024
CHUNKED_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
SAMPLES, STREAMED = 0, 1
EQ, NEQ, RE, NRE = 0, 1, 2, 3


# --------------------------------------------------------------------------
# data

def verification_data(t_end):
    """50 series over the last hour, every 15 s: 5 jobs x 10 instances of
    `rr_metric`, values with NaN, +-Inf, -0.0, a staleness marker, and one
    series that stops half way."""
    times = [t_end - 3600000 + i * STEP_MS for i in range(241)]
    out = []
    for j in range(5):
        for k in range(10):
            labels = [("__name__", "rr_metric"), ("job", "job%d" % j), ("instance", "host-%02d" % k)]
            if k % 3 == 0:
                labels.append(("zone", "z%d" % (k % 2)))
            samples = []
            for i, t in enumerate(times):
                if j == 4 and k == 9 and i > 120:
                    break
                if i == 50 and k == 1:
                    v = h.stale_nan()
                elif i == 60 and k == 2:
                    v = float("nan")
                elif i == 61 and k == 2:
                    v = float("inf") if j % 2 else float("-inf")
                elif i == 62 and k == 2:
                    v = -0.0
                else:
                    v = (j * 1000 + k) * 1.5 + i * 0.25 * (1 if k % 2 else -1)
                samples.append((t, v))
            out.append((sorted(labels), samples))
    # Random values: ~8 bytes a sample, so its chunks (about 1 KiB each)
    # cannot share a 1 KiB frame.
    rnd = random.Random(7)
    out.append(([("__name__", "rr_noise")], [(t, rnd.uniform(-1e6, 1e6)) for t in times]))
    return out


def push_in_time_order(port, data):
    """One request per timestamp (receivers refuse samples far behind their
    newest one)."""
    by_time = {}
    for labels, samples in data:
        for t, v in samples:
            by_time.setdefault(t, []).append((labels, [(t, v)]))
    for t in sorted(by_time):
        r = h.remote_write(port, h.encode_series(by_time[t]))
        if r.status // 100 != 2:
            raise AssertionError("write at %d to %d: %r" % (t, port, r))


def push_bulk(port, n_series, n_samples, t_end):
    """`big_metric` series (for memory), whole series per request."""
    t0 = t_end - n_samples * STEP_MS
    batch = []
    for s in range(n_series):
        labels = [("__name__", "big_metric"), ("job", "bulk"), ("series", "s%06d" % s)]
        batch.append((labels, [(t0 + i * STEP_MS, float(s + i)) for i in range(n_samples)]))
        if len(batch) == 500 or s == n_series - 1:
            r = h.remote_write(port, h.encode_series(batch), timeout=60)
            if r.status // 100 != 2:
                raise AssertionError("bulk write: %r" % r)
            batch = []


# --------------------------------------------------------------------------
# protocol

def read_request(queries, accepted=()):
    """queries: (start_ms, end_ms, [(type, name, value)], hints or None),
    hints = (start_ms, end_ms, func)."""
    pb = h.proto()
    req = pb.ReadRequest()
    for start, end, matchers, hints in queries:
        q = req.queries.add()
        q.start_timestamp_ms = start
        q.end_timestamp_ms = end
        for mtype, name, value in matchers:
            m = q.matchers.add()
            m.type = mtype
            m.name = name
            m.value = value
        if hints is not None:
            q.hints.start_ms, q.hints.end_ms, q.hints.func = hints
            q.hints.step_ms = 15000
    for t in accepted:
        req.accepted_response_types.append(t)
    return req.SerializeToString()


def post_read(port, raw, timeout=60.0, compress=True):
    body = h.snappy.compress(raw) if compress else raw
    return h.request(port, "POST", "/api/v1/read", body=body, timeout=timeout,
                     headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                              "X-Prometheus-Remote-Read-Version": "0.1.0"})


def bits_of(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def samples_answer(resp):
    """{query index: [(labels tuple, [(t, value bits)])]} of a SAMPLES answer."""
    if resp.status != 200:
        raise AssertionError("SAMPLES read -> %r" % resp)
    pb = h.proto()
    rr = pb.ReadResponse()
    rr.ParseFromString(h.snappy.uncompress(resp.body))
    out = []
    for res in rr.results:
        series = []
        for ts in res.timeseries:
            series.append((tuple((l.name, l.value) for l in ts.labels),
                           [(s.timestamp, bits_of(s.value)) for s in ts.samples]))
        out.append(series)
    return out


def frames_of(body, check_crc=True):
    """[(msg bytes)] of a streamed body; raises on bad framing or CRC."""
    out, pos = [], 0
    while pos < len(body):
        n, shift = 0, 0
        while True:
            b = body[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        crc = struct.unpack(">I", body[pos:pos + 4])[0]
        msg = body[pos + 4:pos + 4 + n]
        if len(msg) != n:
            raise AssertionError("truncated frame at %d" % pos)
        if check_crc and h._crc32c(msg) != crc:
            raise AssertionError("CRC mismatch at offset %d" % pos)
        out.append(msg)
        pos += 4 + n
    return out


class BitReader:
    def __init__(self, data):
        self.value = int.from_bytes(data, "big")
        self.total = len(data) * 8
        self.pos = 0

    def bits(self, n):
        if self.pos + n > self.total:
            raise AssertionError("XOR chunk: read past the end")
        v = (self.value >> (self.total - self.pos - n)) & ((1 << n) - 1)
        self.pos += n
        return v

    def varint(self, signed):
        n, shift = 0, 0
        while True:
            b = self.bits(8)
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if signed:
            n = (n >> 1) ^ -(n & 1)
        return n


def xor_decode(data):
    """Samples [(t, value bits)] of a Prometheus XOR chunk, decoded
    independently of Nightlight's code (spec §2.3)."""
    count = struct.unpack(">H", data[:2])[0]
    r = BitReader(data[2:])
    out = []
    if count == 0:
        return out
    t = r.varint(True)
    vbits = r.bits(64)
    out.append((t, vbits))
    delta, leading, trailing = 0, 0, 0

    def read_value(vbits, leading, trailing):
        if r.bits(1) == 0:
            return vbits, leading, trailing
        if r.bits(1) == 1:
            leading = r.bits(5)
            sig = r.bits(6) or 64
            trailing = 64 - leading - sig
        sig = 64 - leading - trailing
        return vbits ^ (r.bits(sig) << trailing), leading, trailing

    for i in range(1, count):
        if i == 1:
            delta = r.varint(False)
        else:
            size = 0
            for s in (14, 17, 20, 64):
                if r.bits(1) == 0:
                    break
                size = s
            else:
                size = 64
            dod = 0
            if size == 64:
                dod = r.bits(64)
                if dod >= 1 << 63:
                    dod -= 1 << 64
            elif size:
                dod = r.bits(size)
                if dod > 1 << (size - 1):
                    dod -= 1 << size
            delta += dod
        t += delta
        vbits, leading, trailing = read_value(vbits, leading, trailing)
        out.append((t, vbits))
    return out


def streamed_answer(resp, check_crc=True, frame_limit=None):
    """(series list per query index, frames): series = (labels, [(t, bits)])
    with every chunk's samples, in answer order; consecutive frames of one
    series are joined. Raises on a violated framing rule."""
    if resp.status != 200:
        raise AssertionError("STREAMED read -> %r" % resp)
    if resp.headers.get("content-type") != CHUNKED_TYPE:
        raise AssertionError("content type %r" % resp.headers.get("content-type"))
    if "content-encoding" in resp.headers:
        raise AssertionError("streamed answers are not compressed")
    pb = h.proto()
    per_query = {}
    msgs = frames_of(resp.body, check_crc)
    for msg in msgs:
        f = pb.ChunkedReadResponse()
        f.ParseFromString(msg)
        if len(f.chunked_series) != 1:
            raise AssertionError("%d series in one frame" % len(f.chunked_series))
        cs = f.chunked_series[0]
        if frame_limit is not None and len(cs.chunks) > 1 and len(msg) > frame_limit:
            raise AssertionError("frame of %d bytes with %d chunks over the limit %d"
                                 % (len(msg), len(cs.chunks), frame_limit))
        labels = tuple((l.name, l.value) for l in cs.labels)
        samples = []
        for c in cs.chunks:
            if c.type != 1:
                raise AssertionError("chunk type %d" % c.type)
            xs = xor_decode(c.data)
            if not xs or xs[0][0] != c.min_time_ms or xs[-1][0] != c.max_time_ms:
                raise AssertionError("chunk range %d..%d vs samples %s..%s"
                                     % (c.min_time_ms, c.max_time_ms, xs[:1], xs[-1:]))
            samples.extend(xs)
        series = per_query.setdefault(f.query_index, [])
        if series and series[-1][0] == labels:
            series[-1][1].extend(samples)  # a series split over frames
        else:
            if series and series[-1][0] > labels:
                raise AssertionError("series out of order: %s after %s" % (labels, series[-1][0]))
            series.append((labels, samples))
    return per_query, len(msgs)


def trimmed(series, start, end):
    """Samples within [start, end] of every series (streamed chunks are
    whole), series without samples there dropped."""
    out = []
    for labels, xs in series:
        inside = [x for x in xs if start <= x[0] <= end]
        for a, b in zip(inside, inside[1:]):
            if b[0] <= a[0]:
                raise AssertionError("%s: timestamps not increasing (%d, %d)" % (labels, a[0], b[0]))
        if inside:
            out.append((labels, inside))
    return out


NEG_ZERO_BITS = 1 << 63


def prometheus_zero(series):
    """Prometheus' SAMPLES encoder (gogo protobuf) leaves out a value that
    compares equal to 0, so a stored -0.0 reaches its clients as +0.0;
    Nightlight keeps the sign. Comparisons with Prometheus' answers read
    -0.0 as +0.0 (Nightlight's bit-exactness is checked on its own)."""
    return [(l, [(t, 0 if b == NEG_ZERO_BITS else b) for t, b in xs]) for l, xs in series]


def first_difference(a, b):
    a, b = prometheus_zero(a), prometheus_zero(b)
    if len(a) != len(b):
        return "%d series vs %d: %s | %s" % (len(a), len(b), [s[0] for s in a][:3], [s[0] for s in b][:3])
    for (la, xa), (lb, xb) in zip(a, b):
        if la != lb:
            return "labels %s vs %s" % (la, lb)
        if xa != xb:
            for i, (p, q) in enumerate(zip(xa, xb)):
                if p != q:
                    return "%s: sample %d %s vs %s" % (la, i, p, q)
            return "%s: %d samples vs %d" % (la, len(xa), len(xb))
    return None


# --------------------------------------------------------------------------
# memory

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Highest VmRSS of a process while running, sampled every 20 ms."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss_kib(pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def raw_streamed_read(port, raw, on_data, recv_size=1 << 20):
    """POST a read on a raw socket and hand every received piece of the
    (chunked) response to on_data(bytes) until the connection ends or
    on_data returns False. Returns the bytes received."""
    body = h.snappy.compress(raw)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(("POST /api/v1/read HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                   "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
        total = 0
        while True:
            data = s.recv(recv_size)
            if not data:
                return total
            total += len(data)
            if on_data(data) is False:
                return total
    finally:
        s.close()


# --------------------------------------------------------------------------
# checks

def check_answers(checks, nl, prom, t_end):
    t_start = t_end - 3600000
    mid = t_start + 1800000
    R = lambda m: [(EQ, "__name__", "rr_metric")] + m  # noqa: E731
    cases = [
        ("equal", (mid - 600000, mid, R([(EQ, "job", "job1")]), None)),
        ("not equal", (t_start, mid, R([(NEQ, "job", "job0"), (EQ, "instance", "host-02")]), None)),
        ("regex", (t_start, t_end, R([(RE, "instance", "host-0[1-3]"), (EQ, "job", "job2")]), None)),
        ("not regex", (mid, t_end, R([(NRE, "job", "job[0-3]")]), None)),
        ("matches empty", (mid, t_end, R([(EQ, "zone", ""), (EQ, "job", "job3")]), None)),
        ("regex with empty", (mid, t_end, R([(RE, "zone", "z1|"), (EQ, "job", "job4")]), None)),
        ("hints narrow the range", (t_start, t_end, R([(EQ, "job", "job1")]), (mid - 300000, mid, "rate"))),
        ("hints func series", (t_start, t_end, R([(RE, "job", "job[12]")]), (t_start, t_end, "series"))),
        ("a stopped series", (mid, t_end, R([(EQ, "job", "job4"), (EQ, "instance", "host-09")]), None)),
        ("nothing matches", (t_start, t_end, [(EQ, "__name__", "no_such_metric")], None)),
        ("range before the data", (t_start - 7200000, t_start - 3600000, R([]), None)),
        ("no matchers", (t_start, t_end, [], None)),
    ]
    # Every case alone, then all in one request.
    for name, q in cases:
        raw = read_request([q])
        want = samples_answer(post_read(prom.port, raw))
        got = samples_answer(post_read(nl.port, raw))
        d = first_difference(got[0], want[0]) if len(got) == len(want) == 1 else "results %d" % len(got)
        checks.check("SAMPLES %s: %d series, equal to Prometheus" % (name, len(want[0])), d is None, d)
        s_want, _ = streamed_answer(post_read(prom.port, read_request([q], [STREAMED])),
                                    frame_limit=None)
        s_got, nframes = streamed_answer(post_read(nl.port, read_request([q], [STREAMED, SAMPLES])),
                                         frame_limit=FRAME_BYTES)
        start, end = (q[3][0], q[3][1]) if q[3] else (q[0], q[1])
        tw, tg = trimmed(s_want.get(0, []), start, end), trimmed(s_got.get(0, []), start, end)
        d = first_difference(tg, tw)
        checks.check("STREAMED %s: %d series in %d frames, CRCs good, samples equal to Prometheus'"
                     % (name, len(tg), nframes), d is None and set(s_got) <= {0}, d)
    raw = read_request([q for _, q in cases])
    want = samples_answer(post_read(prom.port, raw))
    got = samples_answer(post_read(nl.port, raw))
    diffs = [first_difference(g, w) for g, w in zip(got, want)]
    checks.check("SAMPLES: %d queries in one request, results in order" % len(cases),
                 len(got) == len(want) == len(cases) and not any(diffs), diffs)
    s_got, _ = streamed_answer(post_read(nl.port, read_request([q for _, q in cases], [STREAMED])),
                               frame_limit=FRAME_BYTES)
    diffs = [first_difference(trimmed(s_got.get(i, []), *((q[3][0], q[3][1]) if q[3] else (q[0], q[1]))),
                              [(l, xs) for l, xs in want[i] if xs])
             for i, (_, q) in enumerate(cases) if not (q[3] and q[3][2] == "series")]
    checks.check("STREAMED: %d queries in one request, query_index of every frame right" % len(cases),
                 not any(diffs) and set(s_got) <= set(range(len(cases))), diffs)
    # The staleness marker and the other special values, bit for bit.
    one = samples_answer(post_read(nl.port, read_request([(t_start, t_end, R([(RE, "instance", "host-0[12]"),
                                                                               (EQ, "job", "job1")]), None)])))[0]
    bits = {b for _, xs in one for _, b in xs}
    checks.check("stale NaN, NaN, -Inf/+Inf and -0.0 come back bit-exact",
                 {h.STALE_NAN_BITS, bits_of(-0.0)} <= bits and any(b in bits for b in (bits_of(float("inf")), bits_of(float("-inf")))),
                 sorted(b for b in bits if b >> 52 & 0x7FF == 0x7FF or b == bits_of(-0.0)))
    # Frames of 1 KiB split a series whose chunks are larger.
    q = (t_start, t_end, [(EQ, "__name__", "rr_noise")], None)
    s_got, nframes = streamed_answer(post_read(nl.port, read_request([q], [STREAMED])), frame_limit=FRAME_BYTES)
    s_want, _ = streamed_answer(post_read(prom.port, read_request([q], [STREAMED])))
    d = first_difference(trimmed(s_got.get(0, []), t_start, t_end), trimmed(s_want.get(0, []), t_start, t_end))
    checks.check("a series longer than a frame is split over %d frames, joined equal to Prometheus'" % nframes,
                 nframes >= 2 and len(s_got.get(0, [])) == 1 and d is None, d)


def check_limits_and_errors(checks, nl, prom, t_end):
    t_start = t_end - 3600000
    over = read_request([(t_start, t_end, [(EQ, "__name__", "rr_metric")], None)])  # 50 x 241 > 5000
    a, b = post_read(nl.port, over), post_read(prom.port, over)
    checks.check("the sample limit: 400 \"exceeded sample limit (%d)\" like Prometheus" % SAMPLE_LIMIT,
                 a.status == b.status == 400 and a.text() == b.text()
                 == "exceeded sample limit (%d)\n" % SAMPLE_LIMIT, (a, b))
    streamed = post_read(nl.port, read_request([(t_start, t_end, [(EQ, "__name__", "rr_metric")], None)], [STREAMED]))
    checks.check("streamed answers have no sample limit", streamed.status == 200, streamed)
    bad = [
        ("garbage", b"\x0a\x05\x1a\x10", True),
        ("not snappy", b"this is not snappy", False),
        ("unsupported response types", read_request([(0, 1, [(EQ, "a", "b")], None)], [5, 7]), True),
        ("invalid regex", read_request([(0, 1, [(RE, "job", "(unclosed")], None)]), True),
        ("unknown matcher type", read_request([(0, 1, [(9, "job", "x")], None)]), True),
    ]
    for name, raw, compress in bad:
        a = post_read(nl.port, raw, compress=compress)
        b = post_read(prom.port, raw, compress=compress)
        ok = a.status == 400 and a.headers.get("content-type", "").startswith("text/plain") and len(a.text().strip()) > 5
        same_text = name in ("not snappy", "unsupported response types")
        if same_text:
            ok = ok and a.text() == b.text()
        checks.check("bad request, %s: 400 %r (Prometheus: %d %r)" % (name, a.text().strip()[:90], b.status,
                                                                      b.text().strip()[:60]), ok)


def check_concurrency(checks, nl, t_end):
    """Limit 2: a third streamed read waits until one of two held ones is
    read to its end."""
    # ~60 MiB each: more than the socket buffers take, so a read whose
    # client does not read holds its slot.
    raw = read_request([(t_end - 7200000, t_end, [(EQ, "__name__", "big_metric")], None)] * 20, [STREAMED])
    body = h.snappy.compress(raw)
    socks = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", nl.port), timeout=30)
        s.sendall(("POST /api/v1/read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                   % len(body)).encode() + body)
        socks.append(s)
        time.sleep(0.3)
    try:
        def first_bytes(s, timeout):
            s.settimeout(timeout)
            try:
                return s.recv(64)
            except socket.timeout:
                return b""
        held = [first_bytes(s, 10) for s in socks[:2]]
        waiting = first_bytes(socks[2], 1.5)
        gauge = h.metric_sum(h.scrape_metrics(nl.port), "nightlight_remote_read_queries")
        checks.check("two reads run, the third waits for a slot (gauge %g)" % gauge,
                     all(x.startswith(b"HTTP/1.1 200") for x in held) and waiting == b"" and gauge == 3)
        socks[0].settimeout(60)
        while socks[0].recv(1 << 20):
            pass
        got = first_bytes(socks[2], 30)
        checks.check("once the first read is taken whole, the waiting one starts", got.startswith(b"HTTP/1.1 200"))
    finally:
        for s in socks:
            s.close()
    ok = h.eventually(lambda: h.metric_sum(h.scrape_metrics(nl.port), "nightlight_remote_read_queries") == 0, 30)
    checks.check("closed connections free their slots", ok)


def check_memory(checks, nl, t_end, n_series):
    """A streamed read of the bulk series asked for many times over in one
    request: hundreds of MiB go out, RSS must not follow."""
    queries = 120
    raw = read_request([(t_end - 7200000, t_end, [(EQ, "__name__", "big_metric"), (RE, "series", "s.*")], None)]
                       * queries, [STREAMED])
    pid = nl.proc.pid
    time.sleep(1)
    before = rss_kib(pid)
    head, tail = bytearray(), bytearray()

    def keep_ends(data):
        if len(head) < 2048:
            head.extend(data[:2048])
        tail.extend(data)
        del tail[:-16]
        return True
    with RssSampler(pid) as rss:
        total = raw_streamed_read(nl.port, raw, keep_ends)
    growth = rss.peak - before
    h.log("streamed %.0f MiB: RSS %d MiB before, peak %d MiB" % (total / 2**20, before // 1024, rss.peak // 1024))
    checks.check("a streamed read of %.0f MiB completes (chunked, ends with the last chunk)" % (total / 2**20),
                 total > 200 * 2**20 and head.startswith(b"HTTP/1.1 200")
                 and b"Transfer-Encoding: chunked" in head and tail.endswith(b"\r\n0\r\n\r\n"))
    limit = 96 * 1024 if not os.environ.get("NL_SANITIZE") else 400 * 1024
    checks.check("server RSS grew by %d MiB during it (bound %d MiB)" % (growth // 1024, limit // 1024),
                 growth < limit)

    # A slow client: 64 KiB at a time with pauses, for a few seconds; the
    # server must wait for it rather than buffer the answer.
    before = rss_kib(pid)
    state = {"n": 0, "start": time.monotonic()}

    def slow(data):
        state["n"] += len(data)
        time.sleep(0.01)
        return time.monotonic() - state["start"] < 4
    with RssSampler(pid) as rss:
        taken = raw_streamed_read(nl.port, raw, slow, recv_size=64 * 1024)
    growth = rss.peak - before
    checks.check("a slow client (took %.0f MiB of the answer): RSS grew by %d MiB (bound %d MiB)"
                 % (taken / 2**20, growth // 1024, limit // 1024), growth < limit and taken < 200 * 2**20)
    ok = h.eventually(lambda: h.metric_sum(h.scrape_metrics(nl.port), "nightlight_remote_read_queries") == 0, 30)
    checks.check("the abandoned read stopped and freed its slot", ok)
    # Still serving.
    r = samples_answer(post_read(nl.port, read_request([(t_end - 7200000, t_end, [(EQ, "series", "s000007")], None)])))
    checks.check("reads go on after that", len(r[0]) == 1 and len(r[0][0][1]) > 0)


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--bulk-series", type=int, default=10000)
    args = p.parse_args()
    checks = h.Checks()
    t_end = (h.now_ms() // STEP_MS) * STEP_MS - 60000
    data = verification_data(t_end)
    with h.Workdir(args.keep) as wd:
        prom_dir, nl_dir = h.make_dirs(wd, "prom", "nl")
        prom = h.Prometheus(prom_dir, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True,
                            extra_args=["--storage.remote.read-sample-limit=%d" % SAMPLE_LIMIT,
                                        "--storage.remote.read-max-bytes-in-frame=%d" % FRAME_BYTES])
        nl = h.Nightlight(args.nightlight, nl_dir, extra_config={"server": {
            "remote_read_sample_limit": SAMPLE_LIMIT,
            "remote_read_max_bytes_in_frame": FRAME_BYTES,
            "remote_read_concurrent_limit": 2}})
        try:
            prom.start()
            nl.start()
            push_in_time_order(prom.port, data)
            push_in_time_order(nl.port, data)
            check_answers(checks, nl, prom, t_end)
            check_limits_and_errors(checks, nl, prom, t_end)
            t0 = time.monotonic()
            push_bulk(nl.port, args.bulk_series, 120, t_end)
            h.log("wrote %d bulk series in %.1fs" % (args.bulk_series, time.monotonic() - t0))
            check_concurrency(checks, nl, t_end)
            check_memory(checks, nl, t_end, args.bulk_series)
        finally:
            nl.stop()
            prom.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
