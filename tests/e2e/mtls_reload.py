#!/usr/bin/env python3
"""Certificate rotation without a restart, while a client keeps writing
(new connections and one keep-alive connection):
1. a new server certificate and key, renamed into place, is served to new
   connections within 30 s (the file poll), the keep-alive connection keeps
   the old one and keeps working;
2. a certificate rewritten in place with identical size, mtime and inode
   (invisible to the poll) is served right after SIGHUP;
3. a broken certificate file is logged with its path and the last good
   certificate stays in use.
No write fails at any point."""

import http.client
import os
import signal
import sys
import threading
import time

import nlharness as h
import mtls_common as m

PAD = 4096  # server.pem is padded to this size so a rewrite keeps its size


def padded(pem):
    assert len(pem) < PAD
    return pem + b"\n" * (PAD - len(pem))


class Writer(threading.Thread):
    """Writes one sample every 50 ms, alternating a fresh connection and a
    long-lived keep-alive connection; records failures."""

    def __init__(self, port, certs):
        super().__init__(daemon=True)
        self.port, self.certs = port, certs
        self.stop_flag = threading.Event()
        self.ok = 0
        self.failures = []
        self.keepalive = http.client.HTTPSConnection("localhost", port, timeout=10,
                                                     context=m.client_context(certs, "writer"))
        self.keepalive.connect()
        self.keepalive_cert = self.keepalive.sock.getpeercert(binary_form=True)

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            body = h.encode_series([(h.labels_of("reload_probe", job="reload"), [(h.now_ms(), i)])])
            try:
                if i % 2:
                    r = m.https(self.port, "POST", "/api/v1/write", self.certs, "writer", body=body,
                                headers=h.REMOTE_WRITE_HEADERS)
                    status = r.status
                else:
                    self.keepalive.request("POST", "/api/v1/write", body=body,
                                           headers=h.REMOTE_WRITE_HEADERS)
                    resp = self.keepalive.getresponse()
                    resp.read()
                    status = resp.status
                if status == 204:
                    self.ok += 1
                else:
                    self.failures.append("write %d: HTTP %d" % (i, status))
            except Exception as e:  # noqa: BLE001 (any failure counts)
                self.failures.append("write %d: %s" % (i, e))
            time.sleep(0.05)


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs"))
        server_pem = os.path.join(certs, "server.pem")
        server_key = os.path.join(certs, "server-key.pem")
        with open(server_pem, "rb") as f:
            m.replace_file(server_pem, padded(f.read()))
        nl = m.MtlsNightlight(args.nightlight, work, certs)
        writer = None
        try:
            nl.start()
            first = m.server_fingerprint(nl.port, certs)
            writer = Writer(nl.port, certs)
            writer.start()
            time.sleep(1)

            # 1. new key + certificate by rename; key first, as tools do.
            cert_pem, key_pem = m.renew_server_cert(certs, new_key=True)
            t0 = time.monotonic()
            m.replace_file(server_key, key_pem)
            m.replace_file(server_pem, padded(cert_pem))
            second = h.eventually(lambda: (lambda fp: fp if fp != first else None)(
                m.server_fingerprint(nl.port, certs)), 30, 0.25)
            took = time.monotonic() - t0
            checks.check("renamed new certificate and key are served within 30 s (%.1f s)" % took,
                         second is not None, nl.log_tail())
            time.sleep(0.5)
            import hashlib
            checks.check("the keep-alive connection still has the old certificate and works",
                         hashlib.sha256(writer.keepalive_cert).hexdigest() == first
                         and writer.ok > 0 and not writer.failures, "%r" % writer.failures[:3])

            # 2. in-place rewrite that the poll cannot see, then SIGHUP.
            st = os.stat(server_pem)
            cert_pem, _ = m.renew_server_cert(certs, new_key=False)
            with open(server_pem, "r+b") as f:
                f.write(padded(cert_pem))
            os.utime(server_pem, ns=(st.st_atime_ns, st.st_mtime_ns))
            time.sleep(7)  # longer than the poll interval: nothing may change
            unchanged = m.server_fingerprint(nl.port, certs)
            checks.check("an invisible rewrite is not picked up by the poll", unchanged == second)
            os.kill(nl.proc.pid, signal.SIGHUP)
            third = h.eventually(lambda: (lambda fp: fp if fp != second else None)(
                m.server_fingerprint(nl.port, certs)), 3, 0.1)
            checks.check("SIGHUP reloads at once", third is not None, nl.log_tail())

            # 3. a broken file keeps the last good certificate.
            m.replace_file(server_pem, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
            logged = h.eventually(lambda: "reload failed" in nl.log_text()
                                  and server_pem in nl.log_text(), 15, 0.25)
            checks.check("a broken certificate file is logged with its path", bool(logged),
                         nl.log_tail())
            still = m.server_fingerprint(nl.port, certs)
            checks.check("the last good certificate stays in use", still == third)
        finally:
            if writer is not None:
                writer.stop_flag.set()
                writer.join(10)
            nl.stop()
        if writer is not None:
            checks.check("no write failed during the rotations (%d written)" % writer.ok,
                         writer.ok > 50 and not writer.failures, "%r" % writer.failures[:5])
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
