"""Shared helpers for Nightlight's end-to-end tests.

Starts Nightlight, Prometheus 2.42 and VictoriaMetrics on free loopback ports
with throw-away data directories, speaks remote_write 1.0 (snappy block +
prometheus.WriteRequest) and the Prometheus HTTP API. Every wait is bounded
in time; callers stop servers in `finally` blocks (Server.stop is idempotent).

Only the standard library, python3-snappy and python3-protobuf are used. The
protobuf module is generated at run time from proto/*.proto with protoc, so
the tests always speak exactly the schema the server is built from.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

import snappy

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Ports are drawn from a range of the e2e tests' own, below Linux's
# ephemeral ports (32768-60999, where servers' outgoing connections and
# port-0 listeners land), and each candidate is checked by binding it.
PORT_RANGE = (20000, 32000)
# Ports this process handed out already: a server not started yet does not
# hold its port, and a second server given the same one would find it
# taken (and its readiness probe would reach the first server).
_handed_out = set()

STALE_NAN_BITS = 0x7FF0000000000002


def stale_nan():
    """The staleness marker: a NaN with Prometheus' exact bit pattern."""
    return struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def float_bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def now_ms():
    return int(time.time() * 1000)


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


# --------------------------------------------------------------------------
# protobuf

_proto = None


def proto():
    """Returns the generated `remote_pb2` module (WriteRequest and friends;
    `proto().types` is types_pb2). Generated once per process into a temp
    dir that is removed at exit."""
    global _proto
    if _proto is not None:
        return _proto
    out = tempfile.mkdtemp(prefix="nl-e2e-proto-")
    src = os.path.join(REPO_ROOT, "proto")
    subprocess.run(["protoc", "-I", src, "--python_out=" + out,
                    os.path.join(src, "types.proto"), os.path.join(src, "remote.proto")],
                   check=True)
    sys.path.insert(0, out)
    import remote_pb2  # noqa: E402  (generated above)
    import types_pb2  # noqa: E402
    remote_pb2.types = types_pb2
    import atexit
    atexit.register(shutil.rmtree, out, True)
    _proto = remote_pb2
    return _proto


def pb_varint(n):
    """A protobuf varint, for tests that hand-encode write requests."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(tag, payload):
    """A length-delimited protobuf field (tag byte, length, payload)."""
    return bytes([tag]) + pb_varint(len(payload)) + payload


def write_request(series, metadata=()):
    """Builds a prometheus.WriteRequest.

    series: iterable of (labels, samples); labels is a list of (name, value)
    pairs sent as given (order and duplicates preserved, so tests can send
    bad label sets), samples a list of (timestamp_ms, value).
    metadata: iterable of (type_enum, family_name, help, unit)."""
    pb = proto()
    req = pb.WriteRequest()
    for labels, samples in series:
        ts = req.timeseries.add()
        for name, value in labels:
            lab = ts.labels.add()
            lab.name = name
            lab.value = value
        for t, v in samples:
            s = ts.samples.add()
            s.timestamp = t
            s.value = v
    for mtype, family, help_text, unit in metadata:
        md = req.metadata.add()
        md.type = mtype
        md.metric_family_name = family
        md.help = help_text
        md.unit = unit
    return req


def encode(req):
    """Snappy block format of the serialized request, as remote_write sends."""
    return snappy.compress(req.SerializeToString())


def encode_series(series, metadata=()):
    return encode(write_request(series, metadata))


def _crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def snappy_framed(data):
    """The snappy *framing* format (stream identifier + one compressed chunk
    with a masked CRC-32C), which remote_write must reject. Written here
    because python3-snappy 0.5.3's StreamCompressor is broken on Python 3.11."""
    crc = _crc32c(data)
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    body = struct.pack("<I", masked) + snappy.compress(data)
    return (b"\xff\x06\x00\x00sNaPpY" + b"\x00" + struct.pack("<I", len(body))[:3] + body)


def labels_of(name, **kv):
    """Sorted label pairs with __name__ first (sorted order anyway)."""
    pairs = [("__name__", name)] + list(kv.items())
    return sorted(pairs)


REMOTE_WRITE_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "nightlight-e2e/1",
}


# --------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "HTTP %d %r" % (self.status, self.body[:200])


def request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One request on a fresh connection. Raises OSError/HTTPException on
    network errors."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def remote_write(port, payload, headers=None, timeout=10.0, path="/api/v1/write"):
    h = dict(REMOTE_WRITE_HEADERS)
    if headers is not None:
        h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
    return request(port, "POST", path, body=payload, headers=h, timeout=timeout)


def api_get(port, path, params=(), timeout=10.0):
    """GET an /api/v1 endpoint; params is a list of (key, value) pairs so
    match[] may repeat. Returns the Response."""
    query = urllib.parse.urlencode(list(params))
    return request(port, "GET", path + ("?" + query if query else ""), timeout=timeout)


def api_data(port, path, params=(), timeout=10.0):
    """GET and unwrap {"status":"success","data":...}; raises on anything else."""
    r = api_get(port, path, params, timeout)
    if r.status != 200:
        raise AssertionError("GET %s %s -> %r" % (path, params, r))
    doc = r.json()
    if doc.get("status") != "success":
        raise AssertionError("GET %s %s -> %r" % (path, params, doc))
    return doc["data"]


def series(port, match, start=None, end=None):
    params = [("match[]", match)]
    if start is not None:
        params.append(("start", "%.3f" % start))
    if end is not None:
        params.append(("end", "%.3f" % end))
    return api_data(port, "/api/v1/series", params)


# Answers that mean "busy right now, ask again" rather than "wrong".
BUSY_STATUSES = (429, 503)


def query(port, expr, at, timeout=30.0, attempts=5, pause=1.0):
    """Evaluates PromQL `expr` at `at` (Unix seconds) at /api/v1/query and
    returns the data object ({"resultType": ..., "result": ...}).

    Value checks depend on this answer, so it never quietly fails: a server
    that is briefly busy (429/503, a refused, reset or timed-out connection,
    e.g. right after a restart or under overload) is asked again, up to
    `attempts` times `pause` seconds apart; any other answer, or a busy one
    on the last attempt, raises AssertionError naming the query and the
    answer."""
    params = [("query", expr), ("time", "%.3f" % at)]
    last = None
    for attempt in range(1, attempts + 1):
        try:
            r = api_get(port, "/api/v1/query", params, timeout=timeout)
        except (OSError, http.client.HTTPException) as e:
            last = "no answer (%s: %s)" % (type(e).__name__, e)
        else:
            if r.status in BUSY_STATUSES:
                last = repr(r)
            elif r.status != 200:
                raise AssertionError("query %r at %.3f -> %r" % (expr, at, r))
            else:
                try:
                    doc = r.json()
                except ValueError:
                    raise AssertionError("query %r at %.3f: the answer is not JSON: %r" % (expr, at, r))
                if doc.get("status") != "success" or "result" not in doc.get("data", {}):
                    raise AssertionError("query %r at %.3f -> %r" % (expr, at, doc))
                return doc["data"]
        if attempt < attempts:
            log("query %r: attempt %d of %d failed, retrying: %s" % (expr, attempt, attempts, last))
            time.sleep(pause)
    raise AssertionError("query %r at %.3f failed %d times, last: %s" % (expr, at, attempts, last))


def scrape_metrics(port, path="/metrics"):
    """Parses a text exposition into {(name, frozenset(labels.items())): value}."""
    r = request(port, "GET", path)
    if r.status != 200:
        raise AssertionError("GET %s -> %r" % (path, r))
    out = {}
    for line in r.text().splitlines():
        if not line or line.startswith("#"):
            continue
        labels = {}
        if "{" in line:
            name, _, rest = line.partition("{")
            body, _, rest = rest.rpartition("}")
            for part in _split_labels(body):
                k, _, v = part.partition("=")
                labels[k.strip()] = v.strip()[1:-1]
        else:
            name, _, rest = line.partition(" ")
        fields = rest.split()
        if not fields:
            continue
        try:
            out[(name.strip(), frozenset(labels.items()))] = float(fields[0])
        except ValueError:
            continue
    return out


def _split_labels(body):
    parts, cur, quoted, esc = [], "", False, False
    for ch in body:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            cur += ch
            esc = True
        elif ch == '"':
            quoted = not quoted
            cur += ch
        elif ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def stop_process(pid, timeout=5):
    """SIGSTOPs `pid` and waits until every thread of it is stopped: the
    signal alone returns before a busy process stops, which can still
    answer in between."""
    os.kill(pid, signal.SIGSTOP)

    def all_stopped():
        states = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                continue
        return bool(states) and all(s in ("T", "t") for s in states)
    wait_until("process %d stopped" % pid, all_stopped, timeout, 0.005)


def metric_sum(metrics, name):
    return sum(v for (n, _), v in metrics.items() if n == name)


def wait_until(what, fn, timeout, interval=0.2):
    """Polls fn() until it returns a truthy value; returns it or raises
    AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except (OSError, http.client.HTTPException, AssertionError, ValueError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s (last error: %s)"
                                 % (timeout, what, last_error))
        time.sleep(interval)


def eventually(fn, timeout, interval=0.2):
    """Like wait_until, but returns None instead of raising on timeout, for
    checks that report their own failure."""
    try:
        return wait_until("condition", fn, timeout, interval)
    except AssertionError:
        return None


def wait_compactor_settled(checks, nl, what, ok, timeout):
    """Until ok(blocks loaded, blocks written) holds for Nightlight `nl` and
    its compactor then stays idle for two seconds; checks that it came to
    pass (as `what`) and returns that (loaded, written), or None."""
    def state():
        m = scrape_metrics(nl.port)
        return (metric_sum(m, "nightlight_blocks_loaded"), metric_sum(m, "nightlight_compactions_total"))

    def settled():
        s = state()
        if not ok(*s):
            return None
        time.sleep(2)
        return s if state() == s else None
    s = eventually(settled, timeout)
    checks.check(what, s is not None, state())
    return s


# --------------------------------------------------------------------------
# processes

def free_port():
    """A loopback TCP port in PORT_RANGE that nobody listens on right now."""
    ports = list(range(*PORT_RANGE))
    random.SystemRandom().shuffle(ports)
    for p in ports:
        if p in _handed_out:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
            _handed_out.add(p)
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in %s" % (PORT_RANGE,))


def distinct_free_ports(n, taken=()):
    """n free ports, distinct from each other and from `taken` (ports picked
    earlier but not bound yet, e.g. other servers' not started yet)."""
    out = []
    while len(out) < n:
        p = free_port()
        if p not in out and p not in taken:
            out.append(p)
    return out


def ports_of(servers):
    """The ports a set of servers (not started yet) will bind."""
    out = set()
    for s in servers:
        out.add(s.port)
        if getattr(s, "grpc_port", None):
            out.add(s.grpc_port)
    return out


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")
# Findings that fail every test at the end: sanitizer reports in a server
# log, and a Nightlight that did not shut down cleanly on SIGTERM.
SANITIZER_FINDINGS = []


class Server:
    """A child process listening on 127.0.0.1:port; its output goes to a log
    file in its work dir. The process gets its own session so kill -9 hits
    exactly it."""

    name = "server"
    ready_path = "/-/ready"

    def __init__(self, workdir, port):
        self.workdir = workdir
        self.auto_port = port is None
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(workdir, "%s.log" % self.name)
        self.starts = 0
        self.env = None  # the process environment; None inherits ours

    def command(self):
        raise NotImplementedError

    def port_changed(self):
        """Rewrites whatever names self.port (config files)."""

    def start(self, ready_timeout=30.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        for attempt in range(3):
            self.starts += 1
            logf = open(self.log_path, "ab")
            logf.write(("\n=== start %d: %s\n" % (self.starts, " ".join(self.command()))).encode())
            logf.flush()
            self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir, env=self.env,
                                         start_new_session=True)
            logf.close()
            try:
                self.wait_ready(ready_timeout)
                return self
            except RuntimeError:
                # free_port() only saw the port free: a test running in
                # parallel may bind it first. A first start on a port of our
                # own choosing moves on; anything else is a real failure.
                if (not self.auto_port or self.starts > attempt + 1 or attempt == 2
                        or "in use" not in self.log_tail().lower()):
                    raise
                self.port = free_port()
                self.port_changed()
        return self

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s during start-up; log:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            return request(self.port, "GET", self.ready_path, timeout=2.0).status == 200
        try:
            wait_until("%s ready on port %d" % (self.name, self.port), ready, timeout, 0.05)
        except AssertionError:
            print(self.log_tail(), file=sys.stderr)
            raise

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL, then reap: simulates a crash (nothing gets to flush)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout=15.0):
        """SIGTERM, wait, SIGKILL if needed. Returns the exit code. Sanitizer
        reports in the log (ASan/UBSan builds) are recorded in
        SANITIZER_FINDINGS, which fails Checks.finish()."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(timeout=timeout)
                if self.proc.returncode != 0 and self.name == "nightlight":
                    SANITIZER_FINDINGS.append("nightlight exited with %d after SIGTERM"
                                              % self.proc.returncode)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                if self.name == "nightlight":
                    SANITIZER_FINDINGS.append("nightlight ignored SIGTERM for %.0fs" % timeout)
        self.scan_for_sanitizer_reports()
        return self.proc.returncode

    def scan_for_sanitizer_reports(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return
        for line in text.splitlines():
            if any(marker in line for marker in SANITIZER_MARKERS) and line not in SANITIZER_FINDINGS:
                SANITIZER_FINDINGS.append(line)

    def peak_rss_kib(self):
        """VmHWM of the running process, KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("  | " + l for l in data[-lines:])
        except OSError:
            return "  (no log)"


def cluster_nodes(binary, workdir, names, config_of):
    """Nightlight nodes (not started) in workdir/<name>, each configured
    with config_of(name, link_ports): {name: node link port}, ports
    distinct from each other and from the nodes' HTTP and gRPC ports
    (none is bound before the nodes start). Returns (nodes, link_ports)."""
    nodes = {}
    for n in names:
        d = os.path.join(workdir, n)
        os.makedirs(d, exist_ok=True)
        nodes[n] = Nightlight(binary, d)
    link_ports = dict(zip(names, distinct_free_ports(len(names), ports_of(nodes.values()))))
    for n in names:
        nodes[n].extra_config = config_of(n, link_ports)
        nodes[n].write_config()
    return nodes, link_ports


class Nightlight(Server):
    name = "nightlight"

    def __init__(self, binary, workdir, port=None, fsync="interval", extra_config=None):
        super().__init__(workdir, port)
        self.binary = os.path.abspath(binary)
        self.data_dir = os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, "nightlight.yaml")
        self.fsync = fsync
        self.extra_config = extra_config or {}
        self.grpc_port = None
        self.write_config()

    def port_changed(self):
        self.grpc_port = None
        self.write_config()

    def write_config(self):
        # grpc_addr too: its default (9100) would collide between tests
        # running in parallel.
        while self.grpc_port in (None, self.port):
            self.grpc_port = free_port()
        server = {"http_addr": "127.0.0.1:%d" % self.port,
                  "grpc_addr": "127.0.0.1:%d" % self.grpc_port}
        storage = {"data_dir": self.data_dir, "fsync": self.fsync}
        server.update(self.extra_config.get("server", {}))
        storage.update(self.extra_config.get("storage", {}))
        doc = {"server": server, "storage": storage}
        for section, values in self.extra_config.items():
            if section not in doc:
                doc[section] = values
        with open(self.config_path, "w") as f:
            for section, values in doc.items():
                f.write("%s:\n" % section)
                for k, v in values.items():
                    f.write("  %s: %s\n" % (k, json.dumps(v)))  # JSON scalars are YAML

    def command(self):
        return [self.binary, "--config", self.config_path]


class Prometheus(Server):
    name = "prometheus"

    def __init__(self, workdir, config_text, port=None, receiver=False, extra_args=()):
        super().__init__(workdir, port)
        self.tsdb = os.path.join(workdir, "tsdb")
        self.config_path = os.path.join(workdir, "prometheus.yml")
        self.config_text = config_text
        self.receiver = receiver
        self.extra_args = list(extra_args)
        self.port_changed()

    def port_changed(self):
        with open(self.config_path, "w") as f:
            f.write(self.config_text.replace("$PORT", str(self.port)))

    def command(self):
        cmd = ["prometheus", "--config.file=" + self.config_path,
               "--storage.tsdb.path=" + self.tsdb,
               "--web.listen-address=127.0.0.1:%d" % self.port,
               "--log.level=warn"]
        if self.receiver:
            cmd.append("--web.enable-remote-write-receiver")
        return cmd + self.extra_args


class VictoriaMetrics(Server):
    name = "victoria-metrics"
    ready_path = "/health"

    def __init__(self, workdir, port=None):
        super().__init__(workdir, port)
        self.data_dir = os.path.join(workdir, "vmdata")

    def command(self):
        return ["victoria-metrics", "-httpListenAddr=127.0.0.1:%d" % self.port,
                "-storageDataPath=" + self.data_dir, "-loggerLevel=WARN"]


PROMETHEUS_RECEIVER_CONFIG = "global:\n  scrape_interval: 1h\n"


def make_target(args, workdir, **kw):
    """The server under test chosen by --server: nightlight (default),
    prometheus (2.42 with its remote-write receiver) or vm. The reference
    servers let the tests themselves be validated."""
    if args.server == "nightlight":
        if not args.nightlight:
            raise SystemExit("--nightlight BINARY is required with --server nightlight")
        return Nightlight(args.nightlight, workdir, **kw)
    if args.server == "prometheus":
        return Prometheus(workdir, PROMETHEUS_RECEIVER_CONFIG, receiver=True)
    if args.server == "vm":
        return VictoriaMetrics(workdir)
    raise SystemExit("unknown --server %s" % args.server)


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--nightlight", help="path of the nightlight binary")
    p.add_argument("--server", default="nightlight", choices=["nightlight", "prometheus", "vm"],
                   help="server under test (prometheus and vm validate the test itself)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    return p


class FileFaults:
    """Drives tests/e2e/faults/file_faults_preload.cpp under a server:
    env() is the environment that loads it, set(kind, prefix) makes write(2)
    to files under `prefix` fail with ENOSPC ("enospc") or block ("stall"),
    clear() ends the fault."""

    def __init__(self, preload, workdir):
        self.preload = os.path.abspath(preload)
        self.flag = os.path.join(workdir, "file-fault")

    def env(self):
        # verify_asan_link_order=0: an ASan build accepts a preload first.
        return dict(os.environ, LD_PRELOAD=self.preload, NL_FAULT_FLAG=self.flag,
                    ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")

    def set(self, kind, prefix):
        tmp = self.flag + ".tmp"
        with open(tmp, "w") as f:
            f.write("%s %s" % (kind, prefix))
        os.rename(tmp, self.flag)  # the shim never reads half a spec

    def clear(self):
        if os.path.exists(self.flag):
            os.unlink(self.flag)


def make_dirs(parent, *names):
    """Creates parent/<name> for every name; returns their paths in order."""
    paths = [os.path.join(parent, n) for n in names]
    for p in paths:
        os.makedirs(p)
    return paths


class Workdir:
    """Temp dir removed on exit unless --keep (or the test failed: then its
    path is printed so the logs can be read)."""

    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix="nl-e2e-")
        self.keep = keep

    def __enter__(self):
        return self.path

    def __exit__(self, exc_type, exc, tb):
        if self.keep or exc_type is not None:
            print("work dir kept: %s" % self.path, file=sys.stderr)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


class Checks:
    """Collects named checks so one run reports every deviation, then fails
    once at the end."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            log("PASS", name)
        else:
            self.failed.append(name)
            log("FAIL", name, detail)
        return ok

    def finish(self):
        if SANITIZER_FINDINGS:
            self.check("clean shutdown, no sanitizer reports in server logs", False,
                       "\n  ".join(SANITIZER_FINDINGS[:10]))
        if self.passed == 0 and not self.failed:
            self.check("at least one check ran", False, "a test that checked nothing cannot pass")
        log("%d passed, %d failed%s" % (self.passed, len(self.failed),
                                         (": " + ", ".join(self.failed)) if self.failed else ""))
        return 1 if self.failed else 0
