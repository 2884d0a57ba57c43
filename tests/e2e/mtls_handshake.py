#!/usr/bin/env python3
"""Nightlight with tls.require_client_cert: curl with the writer certificate
is served (TLS 1.2 and 1.3, ALPN http/1.1 even when h2 is offered); every
certificate that must be refused is refused (none, other CA, expired, not
yet valid, no clientAuth), plain HTTP to the TLS port gets Go's 400 answer,
and /metrics counts each refusal under its reason. Broken TLS files stop
start-up with exit code 2 and a message naming the file."""

import os
import socket
import ssl
import sys

import nlharness as h
import mtls_common as m

REFUSED = [
    # (client cert, reason label, what curl's error mentions)
    (None, "no_certificate", "certificate required"),
    ("other", "unknown_ca", "unknown ca"),
    ("expired", "expired", "certificate expired"),
    ("future", "not_yet_valid", ""),
    ("noclientauth", "bad_usage", ""),
]


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        certs = m.make_certs(os.path.join(work, "certs"))
        nl = m.MtlsNightlight(args.nightlight, work, certs)
        try:
            nl.start()
            base = "https://localhost:%d" % nl.port
            rc, out, err = m.curl(*m.curl_tls_args(certs, "writer"), "-w", " %{http_code}",
                                  base + "/-/ready")
            checks.check("curl with the writer certificate gets 200", rc == 0 and out.endswith(" 200"),
                         "rc=%d out=%r err=%r" % (rc, out, err))
            rc, out, err = m.curl(*m.curl_tls_args(certs, "writer"), "--tlsv1.2", "--tls-max", "1.2",
                                  "-w", "%{http_code}", "-o", "/dev/null", base + "/-/healthy")
            checks.check("TLS 1.2 works", rc == 0 and out == "200", "rc=%d %r %r" % (rc, out, err))
            rc, out, err = m.curl(*m.curl_tls_args(certs, "writer"), "--http2", "-w",
                                  "%{http_version}", "-o", "/dev/null", base + "/-/healthy")
            checks.check("curl --http2 is answered over HTTP/1.1 (ALPN)", rc == 0 and out == "1.1",
                         "rc=%d %r %r" % (rc, out, err))
            ctx = m.client_context(certs, "writer", alpn=["h2", "http/1.1"])
            with socket.create_connection(("127.0.0.1", nl.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    checks.check("python: TLS 1.3 and ALPN http/1.1",
                                 tls.version() == "TLSv1.3"
                                 and tls.selected_alpn_protocol() == "http/1.1",
                                 "%s %s" % (tls.version(), tls.selected_alpn_protocol()))

            for who, reason, says in REFUSED:
                rc, out, err = m.curl(*m.curl_tls_args(certs, who), base + "/-/ready")
                checks.check("curl as %s is refused" % (who or "no certificate"),
                             rc != 0 and says in err, "rc=%d out=%r err=%r" % (rc, out, err))
                try:
                    r = m.https(nl.port, "GET", "/-/ready", certs, who, timeout=5)
                    checks.check("python as %s is refused" % who, False, repr(r))
                except (ssl.SSLError, OSError) as e:
                    checks.check("python as %s is refused" % (who or "no certificate"), True, str(e))

            rc, out, err = m.curl("-w", " %{http_code}", "http://127.0.0.1:%d/-/ready" % nl.port)
            checks.check("plain HTTP to the TLS port gets 400 and Go's message",
                         out == "Client sent an HTTP request to an HTTPS server.\n 400",
                         "rc=%d out=%r err=%r" % (rc, out, err))

            def counted():
                return all(m.tls_metric(nl.port, certs, "nightlight_tls_handshake_failures_total",
                                        reason=reason) >= 2 for _, reason, _ in REFUSED) and \
                    m.tls_metric(nl.port, certs, "nightlight_tls_handshake_failures_total",
                                 reason="plaintext_http") >= 1
            ok = h.eventually(counted, 5)
            detail = {r: m.tls_metric(nl.port, certs, "nightlight_tls_handshake_failures_total",
                                      reason=r)
                      for r in ["no_certificate", "unknown_ca", "expired", "not_yet_valid",
                                "bad_usage", "plaintext_http", "other"]}
            checks.check("each refusal is counted under its reason", ok, repr(detail))
            log = nl.log_text()
            checks.check("refusals are logged with the peer address",
                         "tls handshake from 127.0.0.1:" in log and "refused: expired" in log,
                         log[-2000:])
        finally:
            nl.stop()

        # Start-up validation: each broken file is named, exit code 2.
        good = {"cert_file": os.path.join(certs, "server.pem"),
                "key_file": os.path.join(certs, "server-key.pem"),
                "ca_file": os.path.join(certs, "ca.pem")}
        garbage = os.path.join(work, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("this is not PEM\n")
        cases = [
            ("key of another certificate", {"key_file": os.path.join(certs, "writer-key.pem")},
             "key does not match the certificate"),
            ("missing certificate file", {"cert_file": os.path.join(work, "nope.pem")},
             "cannot open"),
            ("CA file that is not PEM", {"ca_file": garbage}, "not a PEM file"),
        ]
        for what, override, says in cases:
            files = dict(good, **override)
            config = ("server:\n  http_addr: 127.0.0.1:%d\nstorage:\n  data_dir: %s\n"
                      "tls:\n  cert_file: %s\n  key_file: %s\n  ca_file: %s\n"
                      "  require_client_cert: true\n"
                      % (h.free_port(), os.path.join(work, "data-refused"), files["cert_file"],
                         files["key_file"], files["ca_file"]))
            rc, out = m.run_config_only(args.nightlight, work, config)
            named = list(override.values())[0]
            checks.check("start-up refuses %s (exit 2, file named)" % what,
                         rc == 2 and says in out and named in out, "rc=%s out=%r" % (rc, out[-500:]))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
