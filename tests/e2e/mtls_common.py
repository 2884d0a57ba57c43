"""Helpers shared by the mtls_*.py end-to-end tests: certificates made at
test time with scripts/gen-dev-certs.sh, a Nightlight started with mutual
TLS, HTTPS requests with a chosen client certificate, and curl.

Builds on nlharness (processes, ports, checks); only adds what TLS needs."""

import http.client
import os
import socket
import ssl
import subprocess
import time

import nlharness as h

GEN_CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "gen-dev-certs.sh")


def make_certs(directory):
    """CA, server, writer, reader and the refusal set (other CA, expired,
    not yet valid, no clientAuth) into `directory`; returns it."""
    subprocess.run(["bash", GEN_CERTS, "--test-set", directory], check=True,
                   stdout=subprocess.DEVNULL)
    return directory


def cert_paths(certs, who):
    return os.path.join(certs, who + ".pem"), os.path.join(certs, who + "-key.pem")


def client_context(certs, who="writer", alpn=None):
    """An ssl.SSLContext trusting the test CA and presenting `who`'s
    certificate (None: no certificate)."""
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    if who is not None:
        ctx.load_cert_chain(*cert_paths(certs, who))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def https(port, method, path, certs, who="writer", body=None, headers=None, timeout=10.0):
    """One request on a fresh TLS connection to localhost:port. Raises on
    handshake failure (ssl.SSLError / OSError)."""
    conn = http.client.HTTPSConnection("localhost", port, context=client_context(certs, who),
                                       timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return h.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        labels = {}
        if "{" in line:
            name, _, rest = line.partition("{")
            body, _, rest = rest.rpartition("}")
            for part in h._split_labels(body):
                k, _, v = part.partition("=")
                labels[k.strip()] = v.strip()[1:-1]
        else:
            name, _, rest = line.partition(" ")
        fields = rest.split()
        if fields:
            try:
                out[(name.strip(), frozenset(labels.items()))] = float(fields[0])
            except ValueError:
                pass
    return out


def tls_metric(port, certs, name, **labels):
    """Value of one series of Nightlight's /metrics, read over mTLS as the
    writer (open endpoint); 0 when absent."""
    r = https(port, "GET", "/metrics", certs, "writer")
    if r.status != 200:
        raise AssertionError("GET /metrics -> %r" % r)
    return parse_exposition(r.text()).get((name, frozenset(labels.items())), 0.0)


def curl(*args, timeout=20):
    """Runs curl -sS with args; returns (exit code, stdout, stderr)."""
    p = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args), capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def curl_tls_args(certs, who):
    args = ["--cacert", os.path.join(certs, "ca.pem")]
    if who is not None:
        cert, key = cert_paths(certs, who)
        args += ["--cert", cert, "--key", key]
    return args


class MtlsNightlight(h.Nightlight):
    """Nightlight with tls.* pointing at `certs` and client certificates
    required; readiness is polled over mTLS as `ready_as`."""

    def __init__(self, binary, workdir, certs, tls=None, server=None, ready_as="writer"):
        tls_cfg = {
            "cert_file": os.path.join(certs, "server.pem"),
            "key_file": os.path.join(certs, "server-key.pem"),
            "ca_file": os.path.join(certs, "ca.pem"),
            "require_client_cert": True,
        }
        tls_cfg.update(tls or {})
        extra = {"tls": tls_cfg}
        if server:
            extra["server"] = server
        super().__init__(binary, workdir, extra_config=extra)
        self.certs = certs
        self.ready_as = ready_as

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s during start-up; log:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            r = https(self.port, "GET", self.ready_path, self.certs, self.ready_as, timeout=2.0)
            return r.status == 200
        try:
            h.wait_until("nightlight ready over mTLS on port %d" % self.port, ready, timeout, 0.1)
        except AssertionError:
            print(self.log_tail())
            raise

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def run_config_only(binary, workdir, config_text, timeout=20):
    """Starts nightlight with a config that should be refused; returns
    (exit code, combined output). Kills it if it does not exit in time."""
    path = os.path.join(workdir, "refused-%d.yaml" % int(time.time() * 1e6))
    with open(path, "w") as f:
        f.write(config_text)
    p = subprocess.Popen([binary, "--config", path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        return None, out.decode("utf-8", "replace")
    return p.returncode, out.decode("utf-8", "replace")


def renew_server_cert(certs, new_key=True):
    """Issues a new server certificate (and, if asked, key) from the test CA;
    returns (cert_pem_bytes, key_pem_bytes or None) without touching the
    live files, so the caller decides how they are replaced."""
    tmp = os.path.join(certs, "renew")
    os.makedirs(tmp, exist_ok=True)
    key = os.path.join(tmp, "key.pem") if new_key else os.path.join(certs, "server-key.pem")
    if new_key:
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", key], check=True, capture_output=True)
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    csr = os.path.join(tmp, "req.csr")
    cert = os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(certs, "ca.pem"),
                    "-CAkey", os.path.join(certs, "ca-key.pem"), "-set_serial",
                    str(int.from_bytes(os.urandom(8), "big")), "-days", "30", "-extfile", ext,
                    "-out", cert], check=True, capture_output=True)
    with open(cert, "rb") as f:
        cert_pem = f.read()
    key_pem = None
    if new_key:
        with open(key, "rb") as f:
            key_pem = f.read()
    return cert_pem, key_pem


def replace_file(path, data):
    """Atomic replacement (write a sibling, rename over): what deployment
    tools do; changes the inode."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def server_fingerprint(port, certs, who="writer"):
    """SHA-256 of the certificate the server presents to a new connection."""
    import hashlib
    ctx = client_context(certs, who)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
