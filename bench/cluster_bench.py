#!/usr/bin/env python3
"""Cluster-mode cost benchmark (issue 12): what replication and fan-out
cost, measured on one machine where N nodes cannot show scaling.

1. CPU per acknowledged sample: the same remote_write_load run against one
   node and against node A of a three-node cluster with replication factor
   2 (write quorum 2) and 1, in rounds of single, rf 2, rf 1 so that
   drifting load on the machine hits all alike. Each round also runs a
   reference without a cluster, "pair": two single nodes given the same
   load at once (half the connections each), i.e. replication by the
   client: two decodes and two stores per sample, two processes sharing
   the cores. And "trio": three single nodes, each given the two thirds of
   the series that rf 2 over three nodes would place on it, i.e. the same
   replication by the client with three processes sharing the cores as the
   cluster's do. CPU is the sum over all
   node processes (utime + stime), the load generator not counted; the log
   splits it by thread name. Target:
   rf 2 / single <= 2.5x (two copies are stored, so 2x is the floor). The
   three costs give the model of docs/CLUSTER.md its parts: per sample,
   c_link = 1.5 (c_rf1 - c_single), c_store = (c_rf2 - c_rf1) - (c_rf1 -
   c_single), c_decode = c_single - c_store.
2. One node link: two nodes, replication factor 2, writes through A; every
   acknowledged sample crossed the A->B link once. Reports acknowledged
   samples/s and the link's payload bytes/s
   (nightlight_cluster_write_bytes_total{peer="b"} on A).
3. Fan-out latency per query class: one node and a three-node cluster
   loaded with the identical backfilled data set (remote_write_load
   --backfill, same --end-ms; the cluster through A), then the query
   classes of bench/query_bench.py timed round-robin against the single
   node and through cluster node B (which holds only part of the data, so
   every answer needs its peers); the difference is what fan-out adds.
   The answers are compared (same series, same values).

Prints markdown tables on stdout; progress on stderr. Nothing here is a
test: run it on a quiet machine (bench/run_cluster.sh).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402
import query_bench as qb  # noqa: E402


# --write-linger (cluster nodes) and --node-head-shards (every node of
# three sharing the cores: the cluster's and trio's).
SETTINGS = {"write_linger": "", "node_head_shards": 0}


def cluster_config(name, link_ports, rf):
    return {"cluster": {
        "name": "bench", "self": name,
        "nodes": [{"name": n, "addr": "127.0.0.1:%d" % p} for n, p in link_ports.items()],
        "replication_factor": rf, "write_quorum": rf, "heartbeat_interval": "500ms",
        "connection_timeout": "5s", "request_timeout": "30s",
        **({"write_linger": SETTINGS["write_linger"]} if SETTINGS["write_linger"] else {})}}


def start_nodes(binary, work, names, rf, three_way=False):
    """One node (names == ["single"]) or a cluster; returns {name: server}.
    three_way: one of three nodes sharing the cores (--node-head-shards)."""
    nodes = {}
    three_way = three_way or len(names) == 3
    storage = {"head_shards": SETTINGS["node_head_shards"]} if three_way and SETTINGS["node_head_shards"] else {}
    for n in names:
        d = os.path.join(work, n)
        os.makedirs(d)
        nodes[n] = h.Nightlight(binary, d, fsync="interval", extra_config={"storage": storage})
    if names != ["single"]:
        link_ports = dict(zip(names, h.distinct_free_ports(len(names), h.ports_of(nodes.values()))))
        for n in names:
            nodes[n].extra_config = dict(cluster_config(n, link_ports, rf), storage=storage)
            nodes[n].write_config()
    for s in nodes.values():
        s.start(ready_timeout=60)
    if len(nodes) > 1:
        h.wait_until("every link up", lambda: all(
            h.metric_sum(h.scrape_metrics(s.port), "nightlight_cluster_link_up") == len(nodes) - 1
            for s in nodes.values()), 30)
    return nodes


def stop_nodes(nodes):
    for s in nodes.values():
        s.stop()


def cpu_seconds(nodes):
    hz = os.sysconf("SC_CLK_TCK")
    return sum(qb.cpu_ticks(s.proc.pid) for s in nodes.values()) / hz


def run_load(args, port, extra=()):
    cmd = [args.loader, "--url", "127.0.0.1:%d" % port, "--series", str(args.series),
           "--connections", str(args.connections), "--batch", str(args.batch)] + list(extra)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stderr.write(out.stdout)
    m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError("remote_write_load failed (exit %d)" % out.returncode)
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def live_load(args, port):
    return run_load(args, port, ["--samples-per-series", str(args.samples_per_series),
                                 "--duration", str(args.duration)])


# --------------------------------------------------------------------------

def thread_cpu(nodes):
    """CPU ticks per thread name, summed over the nodes' threads."""
    out = {}
    for s in nodes.values():
        task = "/proc/%d/task" % s.proc.pid
        for tid in os.listdir(task):
            try:
                with open("%s/%s/stat" % (task, tid)) as f:
                    head, rest = f.read().rsplit(")", 1)
            except OSError:
                continue
            name = head.split("(", 1)[1]
            fields = rest.split()
            out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def replicated_load(args, nodes):
    """Replication done by the client, without a cluster: "pair" gives two
    single nodes the same load at once (half the connections each); "trio"
    gives each of three single nodes two thirds of the series (loader k
    leaves out every third series from the k-th, so each series is on two
    nodes, as rf 2 over three nodes places it), half the connections each."""
    half = dict(vars(args))
    half["connections"] = max(1, args.connections // 2)
    half = argparse.Namespace(**half)
    ports = [s.port for s in nodes.values()]
    trio = len(ports) == 3
    results = [None] * len(ports)

    def one(k, port):
        results[k] = run_load(half, port, ["--samples-per-series", str(args.samples_per_series),
                                           "--duration", str(args.duration)]
                              + (["--leave-out-third", str(k)] if trio else []))

    threads = [threading.Thread(target=one, args=(k, port)) for k, port in enumerate(ports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if None in results:
        raise RuntimeError("a %s load failed" % ("trio" if trio else "pair"))
    # The loaders send the same series and values from the same start, so a
    # sample has both copies stored up to the loader that sent the fewest
    # rounds: count those (the CPU of the other loaders' extra copies is
    # charged to them). Rounds = samples / series sent per round; a pair's
    # loaders send every series, a trio's two thirds of them.
    rounds = min(int(r["samples"]) / int(r["series"]) for r in results)
    samples = int(rounds * args.series)
    rate = min(float(r["samples_per_sec"]) * args.series / int(r["series"]) for r in results)
    retries = sum(int(r["retries"]) for r in results)  # every loader's resends
    return {"samples": samples, "samples_per_sec": rate, "retries": retries}


TOPOLOGIES = ["single", "rf2", "rf1", "pair", "trio"]
CLIENT_REPLICATED = {"pair": ["p", "q"], "trio": ["t0", "t1", "t2"]}


def measure_cpu(args, work):
    rows = []
    for i, topo in enumerate(TOPOLOGIES * args.rounds):
        names = {"single": ["single"], **CLIENT_REPLICATED}.get(topo, ["a", "b", "c"])
        if topo in CLIENT_REPLICATED:  # single nodes, not a cluster
            nodes = {}
            try:
                for n in names:
                    nodes[n] = start_nodes(args.nightlight, os.path.join(work, "cpu-%d-%s" % (i, n)), ["single"],
                                           1, three_way=topo == "trio")["single"]
            except Exception:
                stop_nodes(nodes)
                raise
        else:
            nodes = start_nodes(args.nightlight, os.path.join(work, "cpu-%d" % i), names, 2 if topo == "rf2" else 1)
        try:
            before = cpu_seconds(nodes)
            threads_before = thread_cpu(nodes)
            r = (replicated_load(args, nodes) if topo in CLIENT_REPLICATED
                 else live_load(args, nodes[names[0]].port))
            cpu = cpu_seconds(nodes) - before
            threads_after = thread_cpu(nodes)
        finally:
            stop_nodes(nodes)
        samples = int(r["samples"])
        rows.append((topo, i // len(TOPOLOGIES) + 1, float(r["samples_per_sec"]), samples, cpu,
                     1e6 * cpu / samples if samples else None, r["retries"]))
        # Threads that ended during the run are missing here (their CPU is
        # in the process total above).
        hz = os.sysconf("SC_CLK_TCK")
        delta = {n: threads_after[n] - threads_before.get(n, 0) for n in threads_after}
        per_thread = ", ".join("%s %.2f" % (n, delta[n] / hz) for n in sorted(delta, key=lambda n: -delta[n]))
        h.log("cpu run %d (%s): %s samples, %.2f s CPU; by thread name (s): %s" % (i, topo, samples, cpu, per_thread))
    return rows


def measure_link(args, work):
    nodes = start_nodes(args.nightlight, os.path.join(work, "link"), ["a", "b"], 2)
    try:
        a = nodes["a"]
        bytes0 = link_bytes(a)
        r = live_load(args, a.port)
        sent = link_bytes(a) - bytes0
    finally:
        stop_nodes(nodes)
    secs = float(r["seconds"])
    return float(r["samples_per_sec"]), int(r["samples"]), sent / secs if secs > 0 else 0.0, r["retries"]


def link_bytes(node):
    m = h.scrape_metrics(node.port)
    return sum(v for (name, labels), v in m.items()
               if name == "nightlight_cluster_write_bytes_total" and ("peer", "b") in labels)


def measure_queries(args, work):
    end_ms = (int(time.time()) // qb.STEP_S - 1) * qb.STEP_S * 1000
    first_ms = end_ms - (args.query_samples - 1) * 15000
    single = start_nodes(args.nightlight, os.path.join(work, "q-single"), ["single"], 2)
    cluster = {}
    try:
        cluster = start_nodes(args.nightlight, os.path.join(work, "q-cluster"), ["a", "b", "c"], 2)
        backfill = ["--backfill", "--samples-per-series", str(args.query_samples), "--end-ms", str(end_ms),
                    "--max-payload-mb", "8192", "--duration", "600"]
        run_load(args, single["single"].port, backfill)
        run_load(args, cluster["a"].port, backfill)
        for n in list(single.values()) + list(cluster.values()):
            qb.settle(n)
        targets = {"single": qb.Client(single["single"].port), "cluster": qb.Client(cluster["b"].port)}
        results = []
        for cname, path, params in qb.query_classes(end_ms // 1000, first_ms // 1000, qb.STEP_S):
            times = {k: [] for k in targets}
            answers = {}
            order = list(targets)
            for i in range(args.warmups + args.runs):
                for k in order[i % 2:] + order[:i % 2]:
                    status, body, took = targets[k].get(path, params)
                    if i == 0:
                        answers[k] = qb.parse_answer(status, body) if cname != qb.FLOOR_CLASS else status
                    if i >= args.warmups:
                        times[k].append(took)
            results.append((cname, times, answers))
            h.log("%s: single %s ms, cluster %s ms" % (cname, qb.fmt_ms(statistics.median(times["single"])),
                                                       qb.fmt_ms(statistics.median(times["cluster"]))))
        return results
    finally:
        stop_nodes(single)
        stop_nodes(cluster)


# --------------------------------------------------------------------------

def report(args, cpu_rows, link, queries, loadavg):
    print()
    print("Workload: remote_write_load, %d series, %d connections, %d samples a request, up to %d samples/series, <= %d s per run; "
          "%d cores, load average %s at the start. CPU: all node processes (utime + stime), the load "
          "generator not counted. Cluster nodes: cluster.write_linger %s; nodes of three: storage.head_shards %s."
          % (args.series, args.connections, args.batch, args.samples_per_series, args.duration,
             os.cpu_count(), loadavg, args.write_linger or "default", args.node_head_shards or "default"))
    if cpu_rows:
        report_cpu(cpu_rows)
    if link is not None:
        report_link(link)
    if queries:
        report_queries(args, queries)


def report_cpu(cpu_rows):
    print()
    print("### CPU per acknowledged sample (three nodes with rf 2 and rf 1, writes through one; two single nodes given the same load; vs one node)")
    print()
    print("| round | topology | samples/s | samples acked | CPU s | CPU us/sample | vs single | 5xx retries |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    per = {(t, k): us for t, k, _, _, _, us, _ in cpu_rows}
    for topo, k, rate, samples, cpu, us, retries in cpu_rows:
        vs = ""
        if topo != "single" and us and per.get(("single", k)):
            x = us / per[("single", k)]
            vs = "%.2fx%s" % (x, " (**over 2.5x**)" if topo == "rf2" and x > 2.5 else "")
        print("| %d | %s | %.0f | %d | %.2f | %s | %s | %s |" % (k, topo, rate, samples, cpu,
                                                               "%.2f" % us if us else "-", vs, retries))
    med = {t: statistics.median([us for tt, _, _, _, _, us, _ in cpu_rows if tt == t and us] or [0])
           for t in TOPOLOGIES}
    if all(med.values()):
        c_link = 1.5 * (med["rf1"] - med["single"])
        c_store = (med["rf2"] - med["rf1"]) - (med["rf1"] - med["single"])
        print()
        print("Medians (us/sample): single %.2f, rf 1 %.2f, rf 2 %.2f (rf 2 / single %.2fx). Model parts: "
              "c_link %.2f (one copy over a link), c_store %.2f (one copy into WAL and head), "
              "c_decode %.2f (decode and placement)."
              % (med["single"], med["rf1"], med["rf2"], med["rf2"] / med["single"], c_link, c_store,
                 med["single"] - c_store))
        print()
        print("Reference without a cluster: two single nodes given the same load at once (each sample "
              "decoded and stored by both) cost %.2f us per sample pair, %.2fx one node; rf 2 costs %.2fx that."
              % (med["pair"], med["pair"] / med["single"], med["rf2"] / med["pair"]))
        print()
        print("Reference with three processes: three single nodes, each given two thirds of the series "
              "(each sample decoded and stored by two of them, as rf 2 over three nodes places it) cost "
              "%.2f us per sample pair, %.2fx one node; rf 2 costs %.2fx that."
              % (med["trio"], med["trio"] / med["single"], med["rf2"] / med["trio"]))


def report_link(link):
    print()
    rate, samples, bps, retries = link
    print("### One node link (two nodes, rf 2: every acknowledged sample crosses A->B once)")
    print()
    print("| samples/s acked (= over the link) | samples | link payload MB/s | bytes/sample | 5xx retries |")
    print("|---:|---:|---:|---:|---:|")
    print("| %.0f | %d | %.1f | %.1f | %s |" % (rate, samples, bps / 1e6, bps / rate if rate else 0, retries))


def report_queries(args, queries):
    print()
    print("### Latency fan-out adds (through node B of three, rf 2, vs one node; same data: "
          "%d series x %d samples)" % (args.series, args.query_samples))
    print()
    print("| query class | runs | single p50 ms | single p90 ms | cluster p50 ms | cluster p90 ms | added p50 ms | answers |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for cname, times, answers in queries:
        s50, c50 = statistics.median(times["single"]), statistics.median(times["cluster"])
        if cname == qb.FLOOR_CLASS:
            agree = "reference"
        elif isinstance(answers["single"], str) or isinstance(answers["cluster"], str):
            agree = "**error**: %s / %s" % (answers["single"] if isinstance(answers["single"], str) else "ok",
                                           answers["cluster"] if isinstance(answers["cluster"], str) else "ok")
        else:
            agree = "equal" if qb.same_values(answers["single"], answers["cluster"]) else "**differ**"
        print("| %s | %d | %s | %s | %s | %s | %.2f | %s |" % (
            cname.replace("|", "\\|"), len(times["single"]), qb.fmt_ms(s50),
            qb.fmt_ms(qb.percentile(times["single"], 0.9)), qb.fmt_ms(c50),
            qb.fmt_ms(qb.percentile(times["cluster"], 0.9)), (c50 - s50) * 1000, agree))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nightlight", required=True)
    p.add_argument("--loader", required=True, help="remote_write_load binary")
    p.add_argument("--series", type=int, default=10000)
    p.add_argument("--samples-per-series", type=int, default=2000, help="write runs (1, 2)")
    p.add_argument("--duration", type=int, default=20, help="seconds per write run")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--batch", type=int, default=500, help="samples per remote_write request (Prometheus 2.42: 500)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of single, rf 2, rf 1, pair, trio write runs")
    p.add_argument("--query-samples", type=int, default=1000, help="samples per series for the query data set")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmups", type=int, default=2)
    p.add_argument("--skip", default="", help="comma-separated: cpu,link,queries")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--write-linger", default="", help="cluster.write_linger of the cluster nodes (default: Nightlight's)")
    p.add_argument("--node-head-shards", type=int, default=0,
                   help="storage.head_shards of each of three nodes sharing the cores (cluster, trio); "
                        "0: Nightlight's default (one per core)")
    args = p.parse_args()
    SETTINGS.update(write_linger=args.write_linger, node_head_shards=args.node_head_shards)
    args.nightlight = os.path.abspath(args.nightlight)
    args.loader = os.path.abspath(args.loader)
    skip = set(x for x in args.skip.split(",") if x)
    loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
    with h.Workdir(args.keep) as work:
        cpu_rows = measure_cpu(args, work) if "cpu" not in skip else []
        link = measure_link(args, work) if "link" not in skip else None
        queries = measure_queries(args, work) if "queries" not in skip else []
    report(args, cpu_rows, link, queries, loadavg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
