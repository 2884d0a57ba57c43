#!/usr/bin/env python3
"""Cluster mode, three node processes on loopback (rf 2, write quorum 2).

  * A write through node A is stored on exactly two nodes per series
    (each node's own data read with nightlight-tsdb dump).
  * kill -9 of node C while writers push through A: writes answered 204
    were in two WALs, so every acknowledged sample is on A or B (the
    writers retry what got 503, as Prometheus does): queries through A
    and through B (fanned out to every node) find every one, without a
    warning, and agree; C restarts and links up again, and a query
    through C then finds every acknowledged sample too.
  * SIGSTOP of node B: A's link goes down within the connection timeout.
  * kill -9 of both owners of some series at once: writes through C (an
    owner of none of them, so only A's and B's WALs can hold them) are
    acknowledged, A and B die together and restart; every acknowledged
    sample is then there exactly once with its value, through A, B and C
    and in A's and B's own data.
  * A retry after a partial write: B SIGSTOPped while a write of three
    samples of a series owned by A and B is in flight, so A stores them
    and the client gets 503; after SIGCONT the same request is 204 (A
    takes the samples it holds as no-ops), each node holds each sample
    once, and a changed value is a 400 counting each sample once, not
    once per replica.
  * A node with another cluster name is refused, and both sides log it.

Nodes link once per pair: the node whose name sorts first dials. With
--tls the same runs over node-link mutual TLS (certificates from one
cluster CA, each naming its node; see cluster_tls.py).
"""

import os
import signal
import subprocess
import threading
import time

import nlharness as h

CONN_TIMEOUT_S = 2.0
# --tls: {"dir": certificate directory, "ca": (ca pem, ca key)}.
TLS = None


def node_config(name, link_ports, cluster="e2e"):
    cfg = {
        "name": cluster, "self": name,
        "nodes": [{"name": n, "addr": "127.0.0.1:%d" % p} for n, p in link_ports.items()],
        "replication_factor": 2, "heartbeat_interval": "500ms",
        "connection_timeout": "%dms" % int(CONN_TIMEOUT_S * 1000), "request_timeout": "3s",
        "reconnect_backoff_max": "1s"}
    if TLS:
        import cluster_tls
        cert, key = cluster_tls.make_node_cert(TLS["dir"], name, *TLS["ca"])
        cfg.update({"cert_file": cert, "key_file": key, "ca_file": TLS["ca"][0]})
    return {"cluster": cfg}


def stored_series(tsdb, node, metric):
    """{i} of the series of `metric` in a node's own data directory (its
    WAL; read while it runs, as nightlight-tsdb allows)."""
    r = subprocess.run([tsdb, "dump", node.data_dir, "--match", metric], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise AssertionError("nightlight-tsdb dump %s: %s" % (node.data_dir, r.stderr.decode()[:300]))
    out = set()
    for line in r.stdout.decode().splitlines():
        labels = line.rsplit(" ", 2)[0]
        out.add(labels.split('i="', 1)[1].split('"', 1)[0])
    return out


def stored_samples(tsdb, node, match):
    """[(labels, t_ms, value text)] of the samples matching `match` in a
    node's own data directory (dump's lines: labels, value, timestamp)."""
    r = subprocess.run([tsdb, "dump", node.data_dir, "--match", match], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise AssertionError("nightlight-tsdb dump %s: %s" % (node.data_dir, r.stderr.decode()[:300]))
    out = []
    for line in r.stdout.decode().splitlines():
        labels, v, t = line.rsplit(" ", 2)
        out.append((labels, int(t), v))
    return sorted(out, key=lambda x: x[1])


def samples_via(port, metric, at_ms):
    """{(i, t_ms)} of every sample of `metric` a query through one node
    finds (every node asked), and the answer's warnings."""
    out = set()
    r = h.api_get(port, "/api/v1/query", [("query", "%s[1h]" % metric), ("time", "%.3f" % (at_ms / 1000))],
                  timeout=30.0)
    doc = r.json()
    if r.status != 200 or doc.get("status") != "success":
        raise AssertionError("query through port %d: %r" % (port, r))
    for res in doc["data"]["result"]:
        for t, _ in res["values"]:
            out.add((res["metric"]["i"], int(round(float(t) * 1000))))
    return out, doc.get("warnings", [])


def equal(checks, name, got, want):
    return checks.check(name, got == want, "got %r, want %r" % (got, want))


def latest(acked):
    """A query time that covers every acknowledged sample (the writer runs
    ahead of the clock: 10 ms of timestamps per batch)."""
    return max([t for _, t in acked] + [h.now_ms()]) + 1000


def log_has(node, text):
    with open(node.log_path, "rb") as f:
        return text in f.read().decode("utf-8", "replace")


class Writer(threading.Thread):
    """Pushes batches of 20 series through one node; retries a batch until
    it gets 204 (Prometheus' behaviour on 5xx); records what was acked."""

    def __init__(self, port, stop, base_ms):
        super().__init__(daemon=True)
        self.port, self.stop, self.base_ms = port, stop, base_ms
        self.acked = set()
        self.refused = 0

    def run(self):
        k = 0
        while not self.stop.is_set():
            t = self.base_ms + k * 10
            batch = [(h.labels_of("cl_load", i=str(i)), [(t, float(k))]) for i in range(20)]
            body = h.encode_series(batch)
            while not self.stop.is_set():
                try:
                    r = h.remote_write(self.port, body, timeout=10.0)
                    if r.status == 204:
                        self.acked.update((str(i), t) for i in range(20))
                        break
                    assert r.status == 503, "unexpected write answer %d %r" % (r.status, r.body[:200])
                    self.refused += 1
                except OSError:
                    self.refused += 1
                time.sleep(0.05)
            k += 1


def copies_on(args, nodes, metric):
    """{i: set of node names holding series i of `metric`}."""
    out = {}
    for n, node in nodes.items():
        for i in stored_series(args.tsdb, node, metric):
            out.setdefault(i, set()).add(n)
    return out


def process_state(pid):
    """The state letter of /proc/PID/stat (T: stopped)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def all_linked(nodes):
    """Every node's links to the other two are up."""
    return all(h.metric_sum(h.scrape_metrics(n.port), "nightlight_cluster_link_up") == len(nodes) - 1
               for n in nodes.values())


def series_via(port, metric, at_ms):
    """{i: [(t_ms, value)]} of every series of `metric` a query through one
    node finds (every node asked), and the answer's warnings."""
    r = h.api_get(port, "/api/v1/query", [("query", "%s[1h]" % metric), ("time", "%.3f" % (at_ms / 1000))],
                  timeout=30.0)
    doc = r.json()
    if r.status != 200 or doc.get("status") != "success":
        raise AssertionError("query through port %d: %r" % (port, r))
    return ({res["metric"]["i"]: [(int(round(float(t) * 1000)), float(v)) for t, v in res["values"]]
             for res in doc["data"]["result"]}, doc.get("warnings", []))


def stored_by_series(tsdb, node, metric):
    """{i: [(t_ms, value)]} of `metric` in a node's own data directory."""
    out = {}
    for labels, t, v in stored_samples(tsdb, node, metric):
        out.setdefault(labels.split('i="', 1)[1].split('"', 1)[0], []).append((t, float(v)))
    return out


def peer_metric(metrics, name, peer):
    """The value of `name` for label peer=`peer` (0 when absent)."""
    return sum(v for (n, labels), v in metrics.items() if n == name and ("peer", peer) in labels)


def both_owners_killed(checks, args, nodes):
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    metric = "cl_owned"
    h.wait_until("every node linked to both others", lambda: all_linked(nodes), 15)
    # Placement first: which series A and B own (C holds none of them).
    t0 = h.now_ms() - 30000
    r = h.remote_write(c.port, h.encode_series([(h.labels_of(metric, i=str(i)), [(t0, float(i))])
                                                 for i in range(60)]))
    equal(checks, "placement write through C", r.status, 204)
    ours = sorted(i for i, ns in copies_on(args, nodes, metric).items() if ns == {"a", "b"})
    if not checks.check("some of 60 series owned by A and B", len(ours) > 0):
        return
    h.log("%d series owned by A and B: %s" % (len(ours), " ".join(ours)))
    acked = {i: [(t0, float(i))] for i in ours}
    statuses = []
    for k in range(1, 21):
        t = t0 + k * 1000
        r = h.remote_write(c.port, h.encode_series([(h.labels_of(metric, i=i), [(t, k * 1000 + int(i) + 0.25)])
                                                    for i in ours]))
        statuses.append(r.status)
        if r.status == 204:
            for i in ours:
                acked[i].append((t, k * 1000 + int(i) + 0.25))
    equal(checks, "20 more writes through C acknowledged", statuses, [204] * 20)
    equal(checks, "C holds none of the series A and B own", stored_series(args.tsdb, c, metric) & set(ours), set())
    # Both owners at once: no replica survives outside their WALs.
    os.kill(a.proc.pid, signal.SIGKILL)
    os.kill(b.proc.pid, signal.SIGKILL)
    a.kill9()
    b.kill9()
    a.start()
    b.start()
    h.wait_until("every node linked after A and B restarted", lambda: all_linked(nodes), 20)
    at = t0 + 60000
    for n in ("a", "b", "c"):
        got, warnings = series_via(nodes[n].port, metric, at)
        equal(checks, "acknowledged samples through %s after A and B died together (each once, its value)"
              % n.upper(), {i: got.get(i) for i in ours}, acked)
        equal(checks, "warnings through %s after A and B restarted" % n.upper(), warnings, [])
    for n in ("a", "b"):
        got = stored_by_series(args.tsdb, nodes[n], metric)
        equal(checks, "%s's own data after its restart (each sample once)" % n.upper(),
              {i: got.get(i) for i in ours}, acked)


def retry_after_partial_write(checks, args, nodes, copies):
    a, b = nodes["a"], nodes["b"]
    # A series owned by A and B (placed in step 1): with B stopped before
    # its link notices, the write waits for B, A stores its copy, and the
    # request fails 503 when A's link drops B (connection timeout).
    i = next(i for i, ns in sorted(copies.items()) if ns == {"a", "b"})
    match = 'cl_place{i="%s"}' % i
    # The link to B carries writes again (its metric can say up while B's
    # side of the relink is still in progress): a write to the series
    # through both is acknowledged first.
    def both_take_a_write():
        r = h.remote_write(a.port, h.encode_series([(h.labels_of("cl_place", i=i), [(h.now_ms() - 5000, 0.0)])]))
        return r.status == 204
    h.wait_until("a write to series %s reaches A and B" % i, both_take_a_write, 15)
    before = len(stored_samples(args.tsdb, a, match))
    t = h.now_ms()
    samples = [(t + 1000, 1.0), (t + 2000, 2.0), (t + 3000, 3.0)]
    body = h.encode_series([(h.labels_of("cl_place", i=i), samples)])
    os.kill(b.proc.pid, signal.SIGSTOP)
    h.wait_until("B is stopped", lambda: process_state(b.proc.pid) == "T", 5)
    try:
        sent = time.monotonic()
        r = h.remote_write(a.port, body, timeout=30.0)
        equal(checks, "write with B stopped mid-request", r.status, 503)
        equal(checks, "A stored its copy of the failed write", len(stored_samples(args.tsdb, a, match)), before + 3)
        # B resumes past the batch's deadline (request_timeout 3 s).
        time.sleep(max(0.0, sent + 3.5 - time.monotonic()))
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    h.wait_until("A relinks to B after SIGCONT",
                 lambda: h.metric_sum(h.scrape_metrics(a.port), "nightlight_cluster_link_up") == 2, 15)
    equal(checks, "B did not store the batch it got past its deadline",
          [x for x in stored_samples(args.tsdb, b, match) if x[1] > t], [])
    r = h.remote_write(a.port, body)
    equal(checks, "retry of the partially stored write", (r.status, r.text()), (204, ""))
    for n in ("a", "b"):
        got = [(ts, float(v)) for _, ts, v in stored_samples(args.tsdb, nodes[n], match) if ts > t]
        equal(checks, "samples of the retried write on %s (each once)" % n.upper(), got, samples)
    for n in ("a", "b", "c"):
        got, _ = samples_via(nodes[n].port, match, t + 4000)
        equal(checks, "retried samples through %s" % n.upper(), sorted(ts for _, ts in got if ts > t),
              [ts for ts, _ in samples])
    # Another value at a stored timestamp: refused on both replicas,
    # counted once.
    changed = [(t + 1000, 1.0), (t + 2000, 7.0), (t + 3000, 3.0)]
    r = h.remote_write(a.port, h.encode_series([(h.labels_of("cl_place", i=i), changed)]))
    equal(checks, "a changed value is refused", r.status, 400)
    checks.check("refusal named and counted once, not per replica",
                 r.text().count("duplicate sample") == 1 and "(1 samples rejected, 2 stored)" in r.text(), r.text())


def main():
    p = h.arg_parser(__doc__.splitlines()[0])
    p.add_argument("--tsdb", required=True, help="path of the nightlight-tsdb binary")
    p.add_argument("--tls", action="store_true", help="node links over mutual TLS")
    args = p.parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as wd:
        if args.tls:
            import cluster_tls
            global TLS
            certs = os.path.join(wd, "certs")
            os.makedirs(certs)
            TLS = {"dir": certs, "ca": cluster_tls.make_ca(certs, "cluster-ca")}
        names = ["a", "b", "c"]
        nodes, link_ports = h.cluster_nodes(args.nightlight, wd, names, node_config)
        try:
            run(checks, args, wd, names, link_ports, nodes)
        finally:
            for n in names:
                if nodes[n].proc is not None and nodes[n].alive():
                    os.kill(nodes[n].proc.pid, signal.SIGCONT)
                nodes[n].stop()
    return checks.finish()


def run(checks, args, wd, names, link_ports, nodes):
        for n in names:
            nodes[n].start()
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        h.wait_until("A links to B and C", lambda: log_has(a, "link to node b") and log_has(a, "link to node c")
                     and h.metric_sum(h.scrape_metrics(a.port), "nightlight_cluster_link_up") == 2, 15)

        # 1. Placement: every series on exactly two nodes.
        t0 = h.now_ms()
        batch = [(h.labels_of("cl_place", i=str(i)), [(t0, float(i))]) for i in range(300)]
        r = h.remote_write(a.port, h.encode_series(batch))
        equal(checks, "write through A", r.status, 204)
        copies = {}
        for n in names:
            for i in stored_series(args.tsdb, nodes[n], "cl_place"):
                copies[i] = copies.get(i, 0) + 1
        equal(checks, "series stored", len(copies), 300)
        equal(checks, "copies per series", sorted(set(copies.values())), [2])
        # A's per-peer metrics: both links up, each carried requests and
        # write bytes, nothing left in flight, no failure, no change yet.
        m = h.scrape_metrics(a.port)
        for peer in ("b", "c"):
            got = {k: peer_metric(m, "nightlight_cluster_" + k, peer)
                   for k in ("link_up", "requests_total", "write_bytes_total", "requests_in_flight",
                             "request_failures_total", "link_changes_total")}
            checks.check("A's metrics for peer %s after a write" % peer,
                         got["link_up"] == 1 and got["requests_total"] > 0 and got["write_bytes_total"] > 0
                         and got["requests_in_flight"] == 0 and got["request_failures_total"] == 0
                         and got["link_changes_total"] == 1, got)

        # 2. kill -9 C under continuous writes through A.
        stop = threading.Event()
        w = Writer(a.port, stop, h.now_ms() - 60000)
        w.start()
        time.sleep(2.0)
        c.kill9()
        time.sleep(3.0)
        acked_now = set(w.acked)
        checks.check("writes acknowledged while C was down", len(acked_now) > 0)
        # One log line per link change: C's death once, and A's failing
        # redials (every backoff, at most 1s apart) once per reason.
        with open(a.log_path, "rb") as f:
            about_c = [l for l in f.read().decode("utf-8", "replace").splitlines() if "link to node c (" in l]
        downs = [i for i, l in enumerate(about_c) if " down: " in l]
        redials = [l for l in about_c[downs[0] + 1:] if "cannot link to node c (" in l] if downs else []
        checks.check("A logs C's death once, and its failing redials of 3 s once", len(downs) == 1
                     and len(redials) == 1, " | ".join(about_c[-8:]))
        m = h.scrape_metrics(a.port)
        checks.check("A's metrics: the link to C down (one more change), B's up",
                     peer_metric(m, "nightlight_cluster_link_up", "c") == 0
                     and peer_metric(m, "nightlight_cluster_link_changes_total", "c") == 2
                     and peer_metric(m, "nightlight_cluster_link_up", "b") == 1,
                     {k: v for k, v in m.items() if k[0].startswith("nightlight_cluster_link")})
        answers = {}
        newest_acked = max(t for _, t in acked_now)
        for n in ("a", "b"):
            got, warnings = samples_via(nodes[n].port, "cl_load", latest(acked_now))
            answers[n] = {s for s in got if s[1] <= newest_acked}
            equal(checks, "acknowledged samples missing through %s after C died" % n.upper(),
                  len(acked_now - got), 0)
            equal(checks, "warnings through %s with C down (one node within rf - 1)" % n.upper(), warnings, [])
        equal(checks, "A and B answer alike with C down", answers["a"] == answers["b"], True)
        c.start()
        h.wait_until("A relinks to C", lambda: h.metric_sum(h.scrape_metrics(a.port), "nightlight_cluster_link_up") == 2, 15)
        time.sleep(1.0)
        stop.set()
        w.join(30)
        for n in names:
            got, warnings = samples_via(nodes[n].port, "cl_load", latest(w.acked))
            equal(checks, "acknowledged samples missing through %s after C restarted" % n.upper(),
                  len(w.acked - got), 0)
            equal(checks, "warnings through %s after C restarted" % n.upper(), warnings, [])
        h.log("writer: %d samples acked, %d batches refused and retried" % (len(w.acked), w.refused))

        # 3. SIGSTOP B: detected within the connection timeout (+ one heartbeat).
        os.kill(b.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            h.wait_until("A sees B down", lambda: h.metric_sum(h.scrape_metrics(a.port), "nightlight_cluster_link_up") == 1,
                         CONN_TIMEOUT_S + 2.0, 0.05)
            took = time.monotonic() - stopped
            h.log("B stopped: link down after %.2fs" % took)
            checks.check("stopped node detected within connection timeout + 1s (%.2fs)" % took, took <= CONN_TIMEOUT_S + 1.0)
            # With B down and rf 2, writes still reach two nodes (A and C).
            t1 = h.now_ms()
            r = h.remote_write(a.port, h.encode_series([(h.labels_of("cl_stop", i=str(i)), [(t1, 1.0)]) for i in range(50)]))
            equal(checks, "write with B stopped", r.status, 204)
        finally:
            os.kill(b.proc.pid, signal.SIGCONT)

        # 3b. A retry after a partial write.
        h.wait_until("A relinks to B", lambda: h.metric_sum(h.scrape_metrics(a.port), "nightlight_cluster_link_up") == 2, 15)
        retry_after_partial_write(checks, args, nodes, copies_on(args, nodes, "cl_place"))

        # 3c. kill -9 of both owners of some series at once.
        both_owners_killed(checks, args, nodes)

        # 4. A node of another cluster is refused, and logged on both sides.
        xd = os.path.join(wd, "x")
        os.makedirs(xd, exist_ok=True)
        # x, of cluster "other", knows A; its name sorts before "a", so it
        # is the one that dials.
        x = h.Nightlight(args.nightlight, xd)
        taken = h.ports_of(list(nodes.values()) + [x]) | set(link_ports.values())
        x_ports = {"X": h.distinct_free_ports(1, taken)[0], "a": link_ports["a"]}
        x.extra_config = node_config("X", x_ports, cluster="other")
        x.write_config()
        x.start()
        h.wait_until("x refused by A", lambda: log_has(x, "refused the hello"), 15)
        h.wait_until("A logs the refusal", lambda: log_has(a, 'refused a hello from node "X": cluster name "other"'), 15)
        checks.check("x never linked to A", not log_has(x, "link to node a (127.0.0.1:%d) up" % link_ports["a"]))
        x.stop()
        for n in names:
            equal(checks, "node %s exit code" % n, nodes[n].stop(), 0)
            # A clean stop in cluster mode writes no head snapshot: peers'
            # writes are not among the requests it waits for.
            checks.check("node %s left no head snapshot" % n,
                         not os.path.exists(os.path.join(nodes[n].data_dir, "head.snapshot")))


if __name__ == "__main__":
    raise SystemExit(main())
