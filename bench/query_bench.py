#!/usr/bin/env python3
"""Query latency benchmark: Nightlight, Prometheus 2.42 and VictoriaMetrics
holding the same data, queried with the same query set in one run.

Every server gets the identical data set from `remote_write_load --backfill`
(same seeds, same --end-ms): N series x M samples 15 s apart, the last one
at a fixed time a minute or so before the run. All three servers then stay
up together and every query class is timed round-robin across them (warm-up
runs first, then N timed runs; the server order rotates every run), so a
burst of background load on this shared machine hits all servers alike.

Latency is the client's wall time from sending the GET to having read the
whole body, on a keep-alive connection; JSON decoding is not timed.
VictoriaMetrics runs with -search.disableCache: otherwise it answers a
repeated range query from its rollup result cache, and this would measure
that cache, not query evaluation.

Prints a markdown table (median and p90 per server, ratios, answer check)
on stdout; progress goes to stderr. Only the standard library and
tests/e2e/nlharness.py are used.
"""

import argparse
import http.client
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import nlharness as h  # noqa: E402

STEP_S = 60
RANGE_STEPS = 250


class VictoriaMetricsNoCache(h.VictoriaMetrics):
    def command(self):
        return super().command() + ["-search.disableCache"]


def answers_promql(port):
    """True when the server evaluates PromQL at /api/v1/query: a server
    without it is left out of the comparison (the e2e tests never skip)."""
    try:
        r = h.api_get(port, "/api/v1/query", [("query", "1"), ("time", "%.3f" % time.time())])
    except (OSError, http.client.HTTPException):
        return False
    if r.status != 200:
        return False
    try:
        return r.json().get("status") == "success"
    except ValueError:
        return False


def query_classes(end_s, first_s, step_s=STEP_S):
    """(class name, path, params). Range queries cover RANGE_STEPS points
    `step_s` apart ending at the last sample; instant queries evaluate at
    the last sample."""
    start_s = end_s - (RANGE_STEPS - 1) * step_s
    rng = [("start", "%d" % start_s), ("end", "%d" % end_s), ("step", "%d" % step_s)]
    inst = [("time", "%d" % end_s)]
    span = [("start", "%d" % first_s), ("end", "%d" % end_s)]
    cpu_rate = "sum by (instance) (rate(node_cpu_seconds_total[5m]))"
    regex = 'node_cpu_seconds_total{instance=~"10.0.0.1.*"}'
    return [
        ("sum by (instance) (rate(cpu[5m])), range 250 steps",
         "/api/v1/query_range", [("query", cpu_rate)] + rng),
        ("sum by (instance) (rate(cpu[5m])), instant",
         "/api/v1/query", [("query", cpu_rate)] + inst),
        ('topk(10, sum by (instance) (rate(cpu{mode!="idle"}[5m]))), range',
         "/api/v1/query_range",
         [("query", 'topk(10, sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m])))')]
         + rng),
        ("histogram_quantile(0.9, sum by (le) (rate(bucket[5m]))), range",
         "/api/v1/query_range",
         [("query", "histogram_quantile(0.9, sum by (le) "
                    "(rate(http_request_duration_seconds_bucket[5m])))")] + rng),
        ('count({__name__=~".+"}), instant',
         "/api/v1/query", [("query", 'count({__name__=~".+"})')] + inst),
        ('cpu{instance=~"10.0.0.1.*"}, instant',
         "/api/v1/query", [("query", regex)] + inst),
        ("/api/v1/labels", "/api/v1/labels", span),
        ("/api/v1/label/instance/values", "/api/v1/label/instance/values", span),
        ('/api/v1/series?match[]=cpu{instance=~"10.0.0.1.*"}',
         "/api/v1/series", [("match[]", regex)] + span),
        (FLOOR_CLASS, "/-/healthy", []),
    ]


# Not a query: the round trip of this client and each server's HTTP stack
# with no work behind it. A class whose medians sit near it measures the
# floor, not the server's work.
FLOOR_CLASS = "/-/healthy (round-trip floor; reference, no target)"


class Client:
    """One keep-alive connection to a server; reconnects after errors."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path, params, timeout=60.0):
        url = path + "?" + urllib.parse.urlencode(params)
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                t0 = time.perf_counter()
                self.conn.request("GET", url)
                resp = self.conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - t0
                return resp.status, body, elapsed
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------
# answers

def parse_answer(status, body):
    """The `data` of a successful answer, or an error string."""
    if status != 200:
        return "HTTP %d: %s" % (status, body[:120].decode("utf-8", "replace"))
    try:
        doc = json.loads(body)
    except ValueError:
        return "bad JSON"
    if doc.get("status") != "success":
        return "status %r" % doc.get("status")
    return doc["data"]


def summary(data):
    """A short, comparable description: series and point counts."""
    if isinstance(data, str):
        return None
    if isinstance(data, list):  # labels, label values, series
        return "%d" % len(data)
    kind, result = data["resultType"], data["result"]
    if kind == "matrix":
        return "%d/%d" % (len(result), sum(len(s["values"]) for s in result))
    if kind == "vector":
        return "%d" % len(result)
    return "1"


def as_points(data):
    """{frozenset(labels): [(t, v), ...]} for query answers, or a set for lists."""
    if isinstance(data, list):
        return {json.dumps(x, sort_keys=True) for x in data}
    kind, result = data["resultType"], data["result"]
    if kind == "matrix":
        return {frozenset(s["metric"].items()): [(t, float(v)) for t, v in s["values"]]
                for s in result}
    if kind == "vector":
        return {frozenset(s["metric"].items()): [(s["value"][0], float(s["value"][1]))]
                for s in result}
    return {frozenset(): [(result[0], float(result[1]))]}


def same_values(a, b, rel=1e-9):
    """True when two answers hold the same series with the same points
    (values equal up to `rel`, NaN equal to NaN)."""
    pa, pb = as_points(a), as_points(b)
    if isinstance(pa, set) or isinstance(pb, set):
        return pa == pb
    if pa.keys() != pb.keys():
        return False
    for k, xs in pa.items():
        ys = pb[k]
        if len(xs) != len(ys):
            return False
        for (tx, vx), (ty, vy) in zip(xs, ys):
            if tx != ty:
                return False
            if math.isnan(vx) or math.isnan(vy):
                if not (math.isnan(vx) and math.isnan(vy)):
                    return False
            elif abs(vx - vy) > rel * max(abs(vx), abs(vy), 1e-300):
                return False
    return True


# --------------------------------------------------------------------------
# servers and data

def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def settle(server, max_s=60.0, idle_share=0.10):
    """Waits until the server uses under `idle_share` of a core for a full
    second (background compaction and flushing finished), at most max_s."""
    hz = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + max_s
    last = cpu_ticks(server.proc.pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_ticks(server.proc.pid)
        if (now - last) / hz < idle_share:
            return True
        last = now
    return False


def duration_ms(text):
    """A Prometheus duration such as 2h, 30m, 90s (units combined: 1h30m)."""
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("not a duration: %r" % text)
    return sum(int(n) * units[u] for n, u in parts)


def wait_for_cut(server, block_ms, max_s=300.0):
    """Waits until Nightlight's head spans at most 1.5 block durations (the
    compactor, which looks for work once a minute, has cut everything older
    into blocks), so that the queries read blocks, not a head holding the
    whole load. False after max_s."""
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        r = h.request(server.port, "GET", "/api/v1/status/tsdb")
        if r.status == 200:
            head = json.loads(r.body)["data"]["headStats"]
            if head["maxTime"] - head["minTime"] <= block_ms * 3 // 2:
                return True
        time.sleep(2.0)
    return False


def load(loader, server, args, end_ms):
    cmd = [loader, "--url", "127.0.0.1:%d" % server.port, "--backfill",
           "--series", str(args.series), "--samples-per-series", str(args.samples),
           "--connections", str(args.connections), "--end-ms", str(end_ms),
           "--max-payload-mb", "8192",
           "--duration", str(args.load_timeout)]
    t0 = time.monotonic()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.monotonic() - t0
    sys.stderr.write(out.stdout)
    if out.returncode != 0:
        raise RuntimeError("loading %s failed (exit %d)" % (server.name, out.returncode))
    return took


def start_servers(args, work):
    servers = {}
    for name in args.servers:
        d = os.path.join(work, name)
        os.makedirs(d)
        if name == "nightlight":
            storage = {"block_duration": args.block_duration} if args.block_duration else {}
            s = h.Nightlight(args.nightlight, d, fsync="interval", extra_config={"storage": storage})
        elif name == "prometheus":
            s = h.Prometheus(d, h.PROMETHEUS_RECEIVER_CONFIG, receiver=True)
        else:
            s = VictoriaMetricsNoCache(d)
        servers[name] = s.start(ready_timeout=60)
        h.log("%s up on 127.0.0.1:%d" % (name, s.port))
    return servers


# --------------------------------------------------------------------------

def percentile(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, math.ceil(p * len(xs)) - 1))
    return xs[k]


def fmt_ms(x):
    return "-" if x is None else ("%.1f" % (x * 1000) if x >= 0.01 else "%.2f" % (x * 1000))


def ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else "%.2fx" % (a / b)


def run(args):
    end_ms = (int(time.time()) // STEP_S - 1) * STEP_S * 1000
    first_ms = end_ms - (args.samples - 1) * 15000
    with h.Workdir(args.keep) as work:
        servers = {}
        try:
            servers = start_servers(args, work)
            load_s = {}
            for name, s in servers.items():
                h.log("loading %s: %d series x %d samples" % (name, args.series, args.samples))
                load_s[name] = load(args.loader, s, args, end_ms)
                if name == "vm":
                    h.request(s.port, "GET", "/internal/force_flush")
                    time.sleep(2)
                if name == "nightlight":
                    block_ms = duration_ms(args.block_duration or "2h")
                    if not wait_for_cut(s, block_ms):
                        raise RuntimeError("nightlight: the head was not cut into blocks within 300 s")
                quiet = settle(s)
                h.log("%s loaded in %.1fs%s" % (name, load_s[name],
                                                "" if quiet else " (still busy after 60 s)"))
            usable = []
            for name, s in servers.items():
                if answers_promql(s.port):
                    usable.append(name)
                else:
                    h.log("%s does not answer /api/v1/query: left out" % name)
            clients = {n: Client(servers[n].port) for n in usable}
            loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
            classes = query_classes(end_ms // 1000, first_ms // 1000, args.step)
            results = []
            for cname, path, params in classes:
                times = {n: [] for n in usable}
                answers = {}
                t_class = time.monotonic()
                for i in range(args.warmups + args.runs):
                    # Slow classes stop early (but after at least 5 timed
                    # runs) so one run of the benchmark stays short.
                    if (i >= args.warmups + 5
                            and time.monotonic() - t_class > args.max_seconds_per_class):
                        break
                    order = usable[i % len(usable):] + usable[:i % len(usable)]
                    for n in order:
                        status, body, took = clients[n].get(path, params)
                        if i == 0:
                            answers[n] = (parse_answer(status, body) if cname != FLOOR_CLASS
                                          else "HTTP %d" % status)
                        if i >= args.warmups:
                            times[n].append(took)
                results.append((cname, times, answers))
                h.log("%s: %s" % (cname, ", ".join(
                    "%s %s ms" % (n, fmt_ms(statistics.median(times[n]))) for n in usable)))
            print_report(args, servers, usable, results, load_s, loadavg)
        finally:
            for s in servers.values():
                s.stop()


def print_report(args, servers, usable, results, load_s, loadavg):
    cols = [n for n in ("nightlight", "vm", "prometheus") if n in usable]
    print()
    print("Data: %d series x %d samples (15 s apart), loaded with remote_write_load --backfill "
          "(%s). Up to %d timed runs (at least 5, at most %.0f s per class) after %d warm-up "
          "run(s) per query and server; %d cores, load average %s when the queries began."
          % (args.series, args.samples,
             ", ".join("%s %.0f s" % (n, t) for n, t in load_s.items()),
             args.runs, args.max_seconds_per_class, args.warmups, os.cpu_count(), loadavg))
    left_out = [n for n in servers if n not in usable]
    if left_out:
        print("Not queried (no /api/v1/query): %s." % ", ".join(left_out))
    print()
    head = "| query class | runs |"
    sep = "|---|---:|"
    for n in cols:
        head += " %s p50 ms | %s p90 ms |" % (n, n)
        sep += "---:|---:|"
    if "nightlight" in cols:
        if "vm" in cols:
            head += " NL/VM |"
            sep += "---:|"
        if "prometheus" in cols:
            head += " NL/Prom |"
            sep += "---:|"
        if "vm" in cols and "prometheus" in cols:
            head += " target |"
            sep += "---|"
    head += " answers (series[/points]) |"
    sep += "---|"
    print(head)
    print(sep)
    for cname, times, answers in results:
        med = {n: statistics.median(times[n]) for n in cols}
        row = "| %s | %d |" % (cname.replace("|", "\\|"), min(len(times[n]) for n in cols))
        for n in cols:
            row += " %s | %s |" % (fmt_ms(med[n]), fmt_ms(percentile(times[n], 0.9)))
        if "nightlight" in cols:
            if "vm" in cols:
                row += " %s |" % ratio(med["nightlight"], med["vm"])
            if "prometheus" in cols:
                row += " %s |" % ratio(med["nightlight"], med["prometheus"])
            if "vm" in cols and "prometheus" in cols:
                # The target: no slower than VictoriaMetrics and at
                # most half of Prometheus' median.
                met = med["nightlight"] <= med["vm"] and med["nightlight"] <= 0.5 * med["prometheus"]
                if cname == FLOOR_CLASS:
                    row += " reference |"
                elif summary(answers["nightlight"]) is None:
                    row += " error |"
                else:
                    row += " %s |" % ("met" if met else "**missed**")
        if cname == FLOOR_CLASS:
            row += " %s |" % ", ".join("%s %s" % (n, answers[n]) for n in cols)
        else:
            row += " %s |" % agreement(cols, answers)
        print(row)


def agreement(cols, answers):
    parts = []
    for n in cols:
        s = summary(answers[n])
        parts.append("%s %s" % (n, s if s is not None else "ERROR " + answers[n]))
    counts = {summary(answers[n]) for n in cols}
    verdict = "counts agree" if len(counts) == 1 and None not in counts else "**counts differ**"
    if "nightlight" in cols and "prometheus" in cols and None not in counts:
        verdict += ("; NL = Prom values" if same_values(answers["nightlight"], answers["prometheus"])
                    else "; **NL != Prom values**")
    return ", ".join(parts) + " — " + verdict


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nightlight", help="nightlight binary (needed with the nightlight server)")
    p.add_argument("--loader", required=True, help="remote_write_load binary")
    p.add_argument("--servers", default="nightlight,prometheus,vm",
                   help="comma-separated subset of nightlight,prometheus,vm")
    p.add_argument("--series", type=int, default=10000)
    p.add_argument("--samples", type=int, default=1000, help="samples per series")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--step", type=int, default=STEP_S,
                   help="range query step in seconds (%d points per range query)" % RANGE_STEPS)
    p.add_argument("--block-duration", help="Nightlight storage.block_duration (default: the server's, 2h)")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmups", type=int, default=2)
    p.add_argument("--max-seconds-per-class", type=float, default=20.0,
                   help="stop timing a query class after this long (>= 5 timed runs)")
    p.add_argument("--load-timeout", type=int, default=300, help="seconds per server")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    args = p.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    # Servers run in their work dirs: resolve the binaries first.
    args.loader = os.path.abspath(args.loader)
    if args.nightlight:
        args.nightlight = os.path.abspath(args.nightlight)
    for s in args.servers:
        if s not in ("nightlight", "prometheus", "vm"):
            p.error("unknown server %s" % s)
    if "nightlight" in args.servers and not args.nightlight:
        p.error("--nightlight BINARY is required with the nightlight server")
    if args.runs < 1 or args.warmups < 1:
        p.error("--runs and --warmups must be >= 1")
    run(args)


if __name__ == "__main__":
    main()
