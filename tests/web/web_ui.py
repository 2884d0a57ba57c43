#!/usr/bin/env python3
"""The web UI in a real browser: headless Chromium (Debian's /usr/bin/chromium)
driven by playwright-core (tests/web/node_modules, installed by
scripts/install-deps.sh; it never downloads a browser).

This script starts a real Nightlight, remote-writes the fixture series
(a few flat lines, a label value that needs escaping, 1001 series for the
series limit, 100 series x 1000 points for the render measurement) and
keeps writing one live series while browser_checks.mjs loads the UI, types
and runs queries, and compares what the UI shows with what the API answers.
With --tls the server requires client certificates and lets only CN=reader
read: the checks then run as the reader over mTLS, and a certificate that is
not a reader must get the 403 page.

A machine without Node.js, Chromium or playwright-core FAILS this test with
a message saying what is missing: scripts/install-deps.sh installs them.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import nlharness as h  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
STEP_MS = 15000
BENCH_SERIES = 100
BENCH_POINTS = 1000


def missing_tools(node):
    """What the browser test needs and does not find, as sentences."""
    out = []
    if not node:
        out.append("Node.js (`node`) is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        out.append("Chromium is not installed at %s (Debian package `chromium`)" % CHROMIUM)
    if not os.path.isfile(os.path.join(HERE, "node_modules", "playwright-core", "package.json")):
        out.append("playwright-core is not installed in tests/web/node_modules (`npm ci` there)")
    return out


def write_in_time_order(port, series, window_ms=1800 * 1000):
    """Remote-writes `series` in time-ordered batches of `window_ms`, so no
    batch reaches further back than storage.out_of_bounds_window allows."""
    lo = min(t for _, samples in series for t, _ in samples)
    hi_all = max(t for _, samples in series for t, _ in samples)
    while lo <= hi_all:
        hi = lo + window_ms
        batch = [(labels, [(t, v) for t, v in samples if lo <= t < hi]) for labels, samples in series]
        batch = [(labels, samples) for labels, samples in batch if samples]
        r = h.remote_write(port, h.encode_series(batch), timeout=30)
        if r.status != 204:
            raise AssertionError("remote write: %r" % r)
        lo = hi


def fixture_series(t_end):
    demo = []
    # Flat lines (values 1, 2, 3): their pixels have exactly the line colour.
    for i, inst in enumerate(("a", "b", "c")):
        labels = h.labels_of("nl_ui_demo", inst=inst, job="web")
        demo.append((labels, [(t_end - k * STEP_MS, float(i + 1)) for k in range(120, -1, -1)]))
    # A label value that must be escaped in the series name.
    demo.append((h.labels_of("nl_ui_quote", path='a"b\\c'), [(t_end - k * STEP_MS, 7.0) for k in range(120, -1, -1)]))
    # More series than the browser's series limit (1000).
    many = [(h.labels_of("nl_ui_many", n="%04d" % i), [(t_end, float(i))]) for i in range(1001)]
    # 100 x 1000 points, one second apart: the render measurement.
    bench = []
    for s in range(BENCH_SERIES):
        samples = []
        for k in range(BENCH_POINTS):
            t = t_end - (BENCH_POINTS - 1 - k) * 1000
            samples.append((t, 100.0 * s + 20.0 * math.sin(k / 25.0 + s) + (k % 7)))
        bench.append((h.labels_of("nl_ui_bench", s="%03d" % s), samples))
    return demo, many, bench


class LiveWriter(threading.Thread):
    """Writes one sample of nl_ui_live every 250 ms until stopped, so the
    ingestion page has a rate to show."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_event = threading.Event()
        self.failures = []

    def run(self):
        k = 0
        while not self.stop_event.wait(0.25):
            k += 1
            try:
                r = h.remote_write(self.port, h.encode_series(
                    [(h.labels_of("nl_ui_live", job="web"), [(h.now_ms(), float(k))])]), timeout=5)
                if r.status != 204:
                    self.failures.append(repr(r))
            except OSError as e:
                self.failures.append(str(e))


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--tls", action="store_true", help="mutual TLS; the browser presents a reader certificate")
    p.add_argument("--screenshots", help="directory for screenshots of every page")
    p.add_argument("--measure-repeat", type=int, default=1,
                   help="take the first-paint and 100x1000 graph measurements this often (bench/web_ui.sh)")
    args = p.parse_args()
    node = shutil.which("node")
    missing = missing_tools(node)
    if missing:
        print("FAIL: the browser test cannot run: " + "; ".join(missing)
              + ". Run scripts/install-deps.sh (it installs chromium, nodejs and npm, and runs "
              "`npm ci` in tests/web).", file=sys.stderr)
        return 1
    with h.Workdir(args.keep) as work:
        t_end = (h.now_ms() // 1000) * 1000 - 5000
        demo, many, bench = fixture_series(t_end)
        config = {"workdir": work, "tEnd": t_end, "benchSeries": BENCH_SERIES, "benchPoints": BENCH_POINTS,
                  "chromium": CHROMIUM, "screenshots": args.screenshots, "measureRepeat": args.measure_repeat}
        if args.tls:
            import mtls_common as m
            certs = m.make_certs(os.path.join(work, "certs"))
            # The fixture is written through the plaintext loopback listener
            # ("@loopback" may write); the browser reads over mTLS.
            loopback_port = h.free_port()
            nl = m.MtlsNightlight(args.nightlight, work, certs,
                                  tls={"allowed_writers": ["writer", "@loopback"], "allowed_readers": ["reader"]},
                                  server={"plaintext_loopback_addr": "127.0.0.1:%d" % loopback_port})
            config["tls"] = {"ca": os.path.join(certs, "ca.pem"),
                             "reader": m.cert_paths(certs, "reader"),
                             "writer": m.cert_paths(certs, "writer")}
        else:
            nl = h.Nightlight(args.nightlight, work)
        live = None
        try:
            nl.start()
            port = loopback_port if args.tls else nl.port
            write_in_time_order(port, demo)
            write_in_time_order(port, many)
            write_in_time_order(port, bench)
            live = LiveWriter(port)
            live.start()
            config["url"] = ("https://localhost:%d/" if args.tls else "http://127.0.0.1:%d/") % nl.port
            config_path = os.path.join(work, "browser-config.json")
            with open(config_path, "w") as f:
                json.dump(config, f)
            h.log("browser checks against", config["url"])
            rc = subprocess.run([node, os.path.join(HERE, "browser_checks.mjs"), config_path],
                                cwd=HERE, timeout=600).returncode
            live.stop_event.set()
            live.join(5)
            if live.failures:
                print("FAIL: live writes failed: %s" % live.failures[:3], file=sys.stderr)
                rc = rc or 1
            checks = h.Checks()
            checks.check("browser checks passed", rc == 0, "browser_checks.mjs exited %d" % rc)
            return checks.finish()
        finally:
            if live is not None:
                live.stop_event.set()
            nl.stop()


if __name__ == "__main__":
    sys.exit(main())
