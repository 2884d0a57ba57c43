#!/usr/bin/env python3
"""Cluster mode over mutual TLS (CAF's openssl module). Nodes A and B
hold certificates from the cluster CA; they link (one connection per pair,
opened by the node whose name sorts first), stay linked, replicate writes
and answer reads through each other. Then node C starts with a certificate
from another CA: A and B, which dial it, refuse it and log why; no link to
C comes up; the status endpoints show it down.

While C is refused, CAF 0.17.6's openssl module drops A's and B's other
connections at each failed handshake (docs/CLUSTER.md, "TLS"): the link
changes are logged here, not checked.

Certificates are made at test time with the openssl CLI: a cluster CA and
a rogue CA, one certificate per node (serverAuth and clientAuth, since a
node both accepts and opens links).
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlharness as h  # noqa: E402


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name):
    key, pem = os.path.join(d, name + "-key.pem"), os.path.join(d, name + ".pem")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=" + name, "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", pem)
    return pem, key


def make_node_cert(d, name, ca_pem, ca_key):
    key, csr, pem = (os.path.join(d, name + s) for s in ("-key.pem", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s,IP:127.0.0.1\n" % name)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", "/CN=" + name, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial", "-days", "30",
            "-extfile", ext, "-out", pem)
    return pem, key


def node_config(name, link_ports, cert, key, ca):
    return {"cluster": {
        "name": "tls", "self": name,
        "nodes": [{"name": n, "addr": "127.0.0.1:%d" % p} for n, p in link_ports.items()],
        "replication_factor": 2, "write_quorum": 1, "heartbeat_interval": "500ms",
        "connection_timeout": "2s", "request_timeout": "4s", "reconnect_backoff_max": "1s",
        "cert_file": cert, "key_file": key, "ca_file": ca}}


def log_has(node, text):
    with open(node.log_path, "rb") as f:
        return text in f.read().decode("utf-8", "replace")


def state_of(node, peer):
    for n in h.api_data(node.port, "/api/v1/status/cluster")["nodes"]:
        if n["name"] == peer:
            return n["state"]
    return None


def main():
    args = h.arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as wd:
        certs = os.path.join(wd, "certs")
        os.makedirs(certs)
        ca_pem, ca_key = make_ca(certs, "cluster-ca")
        rogue_pem, rogue_key = make_ca(certs, "rogue-ca")
        names = ["a", "b", "c"]
        nodes = {}
        for n in names:
            d = os.path.join(wd, n)
            os.makedirs(d)
            nodes[n] = h.Nightlight(args.nightlight, d)
        # Link ports distinct from each other and from the nodes' own.
        link_ports = dict(zip(names, h.distinct_free_ports(len(names), h.ports_of(nodes.values()))))
        for n in names:
            # c's certificate comes from the rogue CA; it trusts the
            # cluster CA, so only the others' checks can refuse it.
            signer = (rogue_pem, rogue_key) if n == "c" else (ca_pem, ca_key)
            cert, key = make_node_cert(certs, n, *signer)
            nodes[n].extra_config = node_config(n, link_ports, cert, key, ca_pem)
            nodes[n].write_config()
        try:
            run(checks, nodes, link_ports)
        finally:
            for n in names:
                nodes[n].stop()
    return checks.finish()


def link_changes(node):
    return h.metric_sum(h.scrape_metrics(node.port), "nightlight_cluster_link_changes_total")


def count_through(node, metric, t):
    doc = h.api_get(node.port, "/api/v1/query", [("query", "count(%s)" % metric), ("time", "%.3f" % (t / 1000))]).json()
    res = doc.get("data", {}).get("result", [])
    return (res[0]["value"][1] if len(res) == 1 else None), doc


def run(checks, nodes, link_ports):
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    a.start()
    b.start()
    h.wait_until("A and B link up over TLS", lambda: state_of(a, "b") == "up" and state_of(b, "a") == "up", 20)
    checks.check("A logs its gateway listening with mutual TLS", log_has(a, "(mutual TLS)"))
    checks.check("B waits for A to dial it", log_has(b, "waiting for node a"))
    # Stable: no link change for a few heartbeats (C is not running: its
    # connections are refused by the kernel, which does not disturb CAF).
    before = link_changes(a) + link_changes(b)
    time.sleep(3.0)
    checks.check("A and B stay linked over TLS for 3s", link_changes(a) + link_changes(b) == before
                 and state_of(a, "b") == "up", (before, link_changes(a) + link_changes(b)))
    # Writes replicate over the TLS link and reads fan out over it (write
    # quorum 1: C is down; with C missing every answer carries a warning,
    # since quorum 1 tolerates no missing node).
    t = h.now_ms()
    batch = [(h.labels_of("tls_up", i=str(i)), [(t, float(i))]) for i in range(50)]
    r = h.remote_write(a.port, h.encode_series(batch))
    checks.check("write through A: 204", r.status == 204, r)
    for who, node in (("A", a), ("B", b)):
        n, doc = count_through(node, "tls_up", t)
        checks.check("count(tls_up) through %s is 50" % who, n == "50", doc)
    # The rogue node.
    c.start()
    for who, node in (("A", a), ("B", b)):
        h.wait_until("%s logs refusing C's certificate" % who,
                     lambda node=node: log_has(node, "cannot link to node c") and log_has(node, "TLS handshake refused"),
                     20)
    checks.check("C logs waiting for A to link", log_has(c, "waiting for node a"))
    before = link_changes(a) + link_changes(b)
    time.sleep(3.0)  # several more attempts go by
    for who, node, peer in (("A", a, "c"), ("B", b, "c"), ("C", c, "a"), ("C", c, "b")):
        checks.check("%s shows %s down" % (who, peer), state_of(node, peer) == "down")
    checks.check("C never linked", not log_has(c, "link to node a (127.0.0.1:%d) up" % link_ports["a"])
                 and not log_has(c, "link to node b (127.0.0.1:%d) up" % link_ports["b"]))
    h.log("A-B link changes in 3s while C was refused (CAF openssl defect, see docs/CLUSTER.md): %d"
          % (link_changes(a) + link_changes(b) - before))
    c.stop()
    for n in (a, b):
        checks.check("node exit code 0", n.stop() == 0)

if __name__ == "__main__":
    sys.exit(main())
