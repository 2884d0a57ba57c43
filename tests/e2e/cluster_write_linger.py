#!/usr/bin/env python3
"""cluster.write_linger: writes forwarded to a peer within the linger share
one link batch, and each is still answered on its own.

Three node processes on loopback (replication factor 2) with the
longest linger (100 ms), so that writes sent at once meet. Eight writes go through
node A at the same moment: four carry only new series, four also carry a
second value for a sample A already stored. Each good write gets 204,
each bad one 400 naming the duplicate (its other samples are stored, as a
single node does); A sent at most two write batches to each peer, so
at least four writes shared one;
queries through B find every acknowledged series on two nodes and the
first value of the duplicate.
"""

import sys
import threading

import nlharness as h

LINGER = "100ms"
WRITERS = 8


def node_config(name, link_ports):
    return {"cluster": {
        "name": "e2e", "self": name,
        "nodes": [{"name": n, "addr": "127.0.0.1:%d" % p} for n, p in link_ports.items()],
        "replication_factor": 2, "heartbeat_interval": "500ms", "connection_timeout": "3s",
        "request_timeout": "5s", "write_linger": LINGER}}


def peer_metric(metrics, name, peer):
    return sum(v for (n, labels), v in metrics.items() if n == name and ("peer", peer) in labels)


def main():
    args = h.arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as wd:
        nodes, _ = h.cluster_nodes(args.nightlight, wd, ["a", "b", "c"], node_config)
        try:
            for s in nodes.values():
                s.start()
            run(checks, nodes)
        finally:
            for s in nodes.values():
                s.stop()
    return checks.finish()


def run(checks, nodes):
    a, b = nodes["a"], nodes["b"]
    h.wait_until("every link up", lambda: all(
        h.metric_sum(h.scrape_metrics(s.port), "nightlight_cluster_link_up") == 2 for s in nodes.values()), 20)
    t0 = h.now_ms() - 60000
    dup = h.labels_of("cl_linger", w="dup", i="0")
    r = h.remote_write(a.port, h.encode_series([(dup, [(t0, 1.0)])]))
    checks.check("the first value of the duplicate is stored", r.status == 204, r)

    before = h.scrape_metrics(a.port)
    start = threading.Barrier(WRITERS)
    answers = [None] * WRITERS

    def write(k):
        series = [(h.labels_of("cl_linger", w=str(k), i=str(i)), [(t0, float(k))]) for i in range(20)]
        if k % 2 == 1:
            series.append((dup, [(t0, 2.0)]))
        body = h.encode_series(series)
        start.wait()
        answers[k] = h.remote_write(a.port, body, timeout=20.0)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, r in enumerate(answers):
        if k % 2 == 0:
            checks.check("write %d (new series only) is 204" % k, r is not None and r.status == 204, r)
        else:
            text = r.text() if r is not None else ""
            checks.check("write %d (with the duplicate) is 400 naming it" % k,
                         r is not None and r.status == 400 and "duplicate sample" in text
                         and 'w="dup"' in text, r)

    after = h.scrape_metrics(a.port)
    for peer in ("b", "c"):
        writes = (peer_metric(after, "nightlight_cluster_requests_total", peer)
                  - peer_metric(before, "nightlight_cluster_requests_total", peer))
        batches = (peer_metric(after, "nightlight_cluster_write_batches_total", peer)
                   - peer_metric(before, "nightlight_cluster_write_batches_total", peer))
        checks.check("A merged the writes to %s (%d writes, %d batches)" % (peer, writes, batches),
                     writes >= WRITERS // 2 and 0 < batches <= 2)

    at = (t0 + 1000) / 1000
    got = h.query(b.port, 'count(cl_linger{w!="dup"})', at)["result"]
    checks.check("every acknowledged series is found through B",
                 len(got) == 1 and got[0]["value"][1] == str(20 * WRITERS), got)
    got = h.query(b.port, 'cl_linger{w="dup"}', at)["result"]
    checks.check("the duplicate keeps its first value",
                 len(got) == 1 and got[0]["value"][1] == "1", got)
    copies = 0
    for n in nodes.values():
        st = h.api_data(n.port, "/api/v1/status/tsdb")
        copies += st["headStats"]["numSeries"]
    checks.check("every series is stored on two nodes", copies == 2 * (20 * WRITERS + 1), copies)


if __name__ == "__main__":
    sys.exit(main())
