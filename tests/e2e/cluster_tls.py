#!/usr/bin/env python3
"""Cluster mode over mutual TLS (terminated by Nightlight, CAF's BASP
plain on loopback behind it). Nodes A and B hold certificates from the
cluster CA; they link (one connection per pair, opened by the node whose
name sorts first), stay linked, replicate writes and answer reads through
each other. Then, while the A-B link must show ZERO link changes:
- node C starts with a certificate from another CA: A and B, which dial
  it, refuse it and log why; no link to C comes up;
- `openssl s_client` with a certificate from another CA, and TCP
  connections that close mid-handshake, hit B's node port repeatedly: B
  refuses and logs them and counts them in /metrics;
- C restarts with a cluster-CA certificate that names node b: A refuses
  it (the certificate must name the node it dials).
Last, A restarts with a cluster-CA certificate naming node c: B refuses
its hello (the hello's node name must be one of the certificate's names)
and closes that connection; A's files then get a certificate naming it,
SIGHUP reloads them, and A and B link up again without a restart.

Certificates are made at test time with the openssl CLI: a cluster CA and
a rogue CA, one certificate per node (serverAuth and clientAuth, since a
node both accepts and opens links) naming the node as CN and DNS SAN.
"""

import os
import shutil
import signal
import socket
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


def make_node_cert(d, name, ca_pem, ca_key, cert_name=None):
    """A node certificate: CN and DNS SAN `cert_name` (the node's name by
    default; node links require the certificate to name the node)."""
    cert_name = cert_name or name
    tag = name if cert_name == name else "%s-as-%s" % (name, cert_name)
    key, csr, pem = (os.path.join(d, tag + s) for s in ("-key.pem", ".csr", ".pem"))
    ext = os.path.join(d, tag + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s,IP:127.0.0.1\n" % cert_name)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", "/CN=" + cert_name, "-out", csr)
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
        pki = {"ca": make_ca(certs, "cluster-ca"), "rogue": make_ca(certs, "rogue-ca"), "dir": certs}
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
            signer = pki["rogue"] if n == "c" else pki["ca"]
            cert, key = make_node_cert(certs, n, *signer)
            configure(nodes[n], n, link_ports, cert, key, pki["ca"][0])
        try:
            run(checks, nodes, link_ports, pki)
        finally:
            for n in names:
                nodes[n].stop()
    return checks.finish()


def configure(node, name, link_ports, cert, key, ca):
    node.extra_config = node_config(name, link_ports, cert, key, ca)
    node.write_config()


def link_changes(node):
    return h.metric_sum(h.scrape_metrics(node.port), "nightlight_cluster_link_changes_total")


def ab_changes(a, b):
    """Link changes of the A-B link, as A and B count them."""
    def of(node, peer):
        m = h.scrape_metrics(node.port)
        return m.get(("nightlight_cluster_link_changes_total", frozenset({("peer", peer)})), 0.0)
    return of(a, "b") + of(b, "a")


def handshake_failures(node, reason):
    m = h.scrape_metrics(node.port)
    return m.get(("nightlight_cluster_tls_handshake_failures_total", frozenset({("reason", reason)})), 0.0)


def count_through(node, metric, t):
    doc = h.api_get(node.port, "/api/v1/query", [("query", "count(%s)" % metric), ("time", "%.3f" % (t / 1000))]).json()
    res = doc.get("data", {}).get("result", [])
    return (res[0]["value"][1] if len(res) == 1 else None), doc


def s_client(port, cert, key, ca):
    """One TLS handshake attempt with `cert` against 127.0.0.1:port."""
    subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-cert", cert, "-key", key,
                    "-CAfile", ca], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=20)


def close_mid_handshake(port, nbytes):
    """Connects, sends the first `nbytes` of a TLS ClientHello record
    header (or nothing), and closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if nbytes:
            s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])[:nbytes])


def run(checks, nodes, link_ports, pki):
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    ca_pem = pki["ca"][0]
    a.start()
    b.start()
    h.wait_until("A and B link up over TLS", lambda: state_of(a, "b") == "up" and state_of(b, "a") == "up", 20)
    checks.check("A logs its node port with mutual TLS", log_has(a, "(mutual TLS, terminated by Nightlight"))
    checks.check("B waits for A to dial it", log_has(b, "waiting for node a"))
    # Stable: no link change for a few heartbeats (C is not running).
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

    base = ab_changes(a, b)
    # The rogue node: A and B dial it and refuse its certificate.
    c.start()
    for who, node in (("A", a), ("B", b)):
        h.wait_until("%s logs refusing C's certificate" % who,
                     lambda node=node: log_has(node, "cluster tls: cannot reach node c")
                     and log_has(node, "unable to get local issuer certificate"), 20)
    h.wait_until("C logs refusing A's and B's connections (they abort at its certificate)",
                 lambda: log_has(c, "cluster tls: refused a connection from 127.0.0.1"), 20)
    checks.check("C logs waiting for A to link", log_has(c, "waiting for node a"))
    time.sleep(3.0)  # several more attempts go by
    for who, node, peer in (("A", a, "c"), ("B", b, "c"), ("C", c, "a"), ("C", c, "b")):
        checks.check("%s shows %s down" % (who, peer), state_of(node, peer) == "down")
    checks.check("C never linked", not log_has(c, "link to node a (127.0.0.1:%d) up" % link_ports["a"])
                 and not log_has(c, "link to node b (127.0.0.1:%d) up" % link_ports["b"]))
    h.log("A-B link changes while C was refused: %d" % (ab_changes(a, b) - base))
    checks.check("A-B link: zero changes while the rogue C was refused", ab_changes(a, b) == base,
                 ab_changes(a, b) - base)

    # Bad handshakes against B's node port: a certificate from another CA,
    # and connections closed mid-handshake.
    rogue_cert, rogue_key = os.path.join(pki["dir"], "c.pem"), os.path.join(pki["dir"], "c-key.pem")
    unknown_before = handshake_failures(b, "unknown_ca")
    for _ in range(8):
        s_client(link_ports["b"], rogue_cert, rogue_key, ca_pem)
    for i in range(8):
        close_mid_handshake(link_ports["b"], i)
    h.wait_until("B counts 8 refused certificates from another CA",
                 lambda: handshake_failures(b, "unknown_ca") >= unknown_before + 8, 20)
    checks.check("B logs the refusal with the peer address and the verification error",
                 log_has(b, "cluster tls: refused a connection from 127.0.0.1:")
                 and log_has(b, "unknown_ca (unable to get local issuer certificate)"))
    time.sleep(1.0)
    h.log("A-B link changes after 8 bad-certificate and 8 mid-handshake closes at B: %d" % (ab_changes(a, b) - base))
    checks.check("A-B link: zero changes after bad handshakes at B's node port", ab_changes(a, b) == base
                 and state_of(a, "b") == "up" and state_of(b, "a") == "up", ab_changes(a, b) - base)
    n, doc = count_through(b, "tls_up", t)
    checks.check("count(tls_up) through B still 50 (read over the A-B link)", n == "50", doc)

    # C with a cluster-CA certificate that names node b: A refuses it.
    c.stop()
    cert, key = make_node_cert(pki["dir"], "c", *pki["ca"], cert_name="b")
    configure(c, "c", link_ports, cert, key, ca_pem)
    c.start()
    h.wait_until("A refuses C's certificate naming node b",
                 lambda: log_has(a, "does not name node c") and log_has(a, "CN=b DNS=b"), 20)
    time.sleep(1.0)
    checks.check("A shows C down (certificate names another node)", state_of(a, "c") == "down")
    checks.check("A-B link: zero changes while C's certificate named another node", ab_changes(a, b) == base,
                 ab_changes(a, b) - base)
    c.stop()

    # A with a cluster-CA certificate naming node c: B refuses its hello.
    checks.check("A exit code 0", a.stop() == 0)
    cert, key = make_node_cert(pki["dir"], "a", *pki["ca"], cert_name="c")
    configure(a, "a", link_ports, cert, key, ca_pem)
    a.start()
    h.wait_until("B refuses A's hello (its certificate names node c)",
                 lambda: log_has(b, 'refused a hello from node "a": its TLS certificate (CN=c DNS=c) '
                                    'does not name node "a"'), 20)
    h.wait_until("A logs why B refused its hello",
                 lambda: log_has(a, "node b refused the hello: its TLS certificate (CN=c DNS=c)"), 20)
    checks.check("A shows B down (hello refused)", state_of(a, "b") == "down")
    checks.check("B shows A down", state_of(b, "a") == "down")
    # The fix without a restart: A's files get a certificate naming it, and
    # SIGHUP reloads them. B closed the refused connection, so A's next
    # attempt is a new TLS connection with the new certificate.
    a_cfg = a.extra_config["cluster"]
    shutil.copyfile(os.path.join(pki["dir"], "a-key.pem"), a_cfg["key_file"])
    shutil.copyfile(os.path.join(pki["dir"], "a.pem"), a_cfg["cert_file"])
    os.kill(a.proc.pid, signal.SIGHUP)
    h.wait_until("A reloads its certificate", lambda: log_has(a, "cluster tls: reloaded"), 20)
    h.wait_until("A and B link up again after the reload",
                 lambda: state_of(a, "b") == "up" and state_of(b, "a") == "up", 20)
    checks.check("B logged closing the refused connection", log_has(b, "(connection closed)"))
    for n in (a, b):
        checks.check("node exit code 0", n.stop() == 0)


if __name__ == "__main__":
    sys.exit(main())
