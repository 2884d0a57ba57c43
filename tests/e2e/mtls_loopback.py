#!/usr/bin/env python3
"""The optional plaintext loopback listener (server.plaintext_loopback_addr)
next to an mTLS listener: promtool 2.42 (which cannot present a client
certificate) and plain HTTP clients use it; the allow lists apply to it as
the "@loopback" identity; any non-loopback address stops start-up with
exit code 2 and a message naming the key."""

import os
import subprocess
import sys

import nlharness as h
import mtls_common as m


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs"))
        for d in ("open", "listed", "unlisted"):
            os.makedirs(os.path.join(work, d))

        lport = h.free_port()
        nl = m.MtlsNightlight(args.nightlight, os.path.join(work, "open"), certs,
                              server={"plaintext_loopback_addr": "127.0.0.1:%d" % lport})
        try:
            nl.start()
            r = h.request(lport, "GET", "/-/ready")
            checks.check("plain HTTP on the loopback listener is served", r.status == 200, repr(r))
            body = h.encode_series([(h.labels_of("loopback_probe", job="lo"), [(h.now_ms(), 1.0)])])
            r = h.remote_write(lport, body)
            checks.check("empty allow lists: the loopback listener may write", r.status == 204, repr(r))
            p = subprocess.run(["promtool", "query", "series", "http://127.0.0.1:%d" % lport,
                                "--match=loopback_probe"], capture_output=True, timeout=30)
            out = p.stdout.decode()
            checks.check("promtool 2.42 queries through the loopback listener",
                         p.returncode == 0 and "loopback_probe" in out,
                         "rc=%d out=%r err=%r" % (p.returncode, out, p.stderr.decode()[-300:]))
            rc, out, err = m.curl("-w", "%{http_code}", "-o", "/dev/null",
                                  "http://127.0.0.1:%d/-/ready" % nl.port)
            checks.check("the TLS port still refuses plain HTTP", out == "400", "%r %r" % (out, err))
        finally:
            nl.stop()

        for name, readers, want in (("listed", ["reader", "@loopback"], 200),
                                    ("unlisted", ["reader"], 403)):
            lport = h.free_port()
            nl = m.MtlsNightlight(args.nightlight, os.path.join(work, name), certs,
                                  server={"plaintext_loopback_addr": "localhost:%d" % lport},
                                  tls={"allowed_readers": readers})
            try:
                nl.start()
                r = h.api_get(lport, "/api/v1/series", [("match[]", "up")])
                checks.check("allowed_readers %s: loopback query answers %d" % (readers, want),
                             r.status == want, repr(r))
            finally:
                nl.stop()

        for addr in ("0.0.0.0:%d" % h.free_port(), "10.1.2.3:9102", "[::]:9102",
                     "192.168.0.1:9102"):
            config = ("server:\n  http_addr: 127.0.0.1:%d\n  plaintext_loopback_addr: \"%s\"\n"
                      "storage:\n  data_dir: %s\n" % (h.free_port(), addr,
                                                      os.path.join(work, "refused")))
            rc, out = m.run_config_only(args.nightlight, work, config)
            checks.check("plaintext_loopback_addr %s is refused (exit 2)" % addr,
                         rc == 2 and "server.plaintext_loopback_addr" in out
                         and "loopback" in out, "rc=%s out=%r" % (rc, out[-300:]))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
