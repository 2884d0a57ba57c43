#!/usr/bin/env python3
"""The gRPC query API under mutual TLS (the tls.* settings HTTP uses),
with tls.allowed_readers = [reader]:
1. the reader's certificate queries; a valid certificate whose identity
   is not a reader (writer) gets PERMISSION_DENIED naming the list, and the
   refusal is logged and counted;
2. no client certificate, a certificate from another CA, an expired one
   and one without clientAuth are refused at the handshake (UNAVAILABLE),
   while the reader keeps working;
3. health needs only the handshake, as /-/healthy does;
4. a renewed server certificate and key, renamed into place, are served to
   new gRPC connections within 30 s; a connection made before keeps
   working; a rewrite the file poll cannot see is served after SIGHUP;
   a broken certificate file keeps the last good one in use.

Everything listens on 127.0.0.1; every wait is bounded in time."""

import hashlib
import os
import signal
import socket
import ssl
import sys
import time

import grpc

import nlharness as h
import mtls_common as m
import grpc_common as g


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(port, certs, who, ca="ca.pem"):
    """A channel to the gRPC port with `who`'s client certificate (None:
    none), trusting `ca`; a connection of its own."""
    if who is None:
        creds = grpc.ssl_channel_credentials(root_certificates=read(os.path.join(certs, ca)))
    else:
        cert, key = m.cert_paths(certs, who)
        creds = grpc.ssl_channel_credentials(root_certificates=read(os.path.join(certs, ca)),
                                             private_key=read(key), certificate_chain=read(cert))
    opts = g.channel_options(separate=True) + [("grpc.ssl_target_name_override", "localhost")]
    return grpc.secure_channel("127.0.0.1:%d" % port, creds, options=opts)


def fingerprint(port, certs):
    """SHA-256 of the certificate a new gRPC (h2) connection is shown."""
    ctx = m.client_context(certs, "reader", alpn=["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def main():
    args = h.arg_parser(__doc__.split("\n\n")[0]).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        pb = g.Protos(work)
        certs = m.make_certs(os.path.join(work, "certs"))
        server_pem = os.path.join(certs, "server.pem")
        server_key = os.path.join(certs, "server-key.pem")
        nl = m.MtlsNightlight(args.nightlight, work, certs, tls={"allowed_readers": ["reader"]})
        try:
            nl.start()
            now = h.now_ms()
            body = h.encode_series([(h.labels_of("nl_grpc_tls", job="t"), [(now - 1000, 42.0)])])
            r = m.https(nl.port, "POST", "/api/v1/write", certs, "writer", body=body,
                        headers=h.REMOTE_WRITE_HEADERS)
            checks.check("write over HTTPS as writer", r.status == 204, repr(r))
            port = nl.grpc_port

            def query_as(who, ca="ca.pem"):
                ch = channel(port, certs, who, ca)
                try:
                    return g.QueryClient(ch, pb).status("Query", timeout=10, query="nl_grpc_tls", time_ms=now)
                finally:
                    ch.close()

            code, parts = query_as("reader")
            values = [x.value for p in parts for x in p.vector] if code == grpc.StatusCode.OK else parts
            checks.check("reader queries over mTLS", code == grpc.StatusCode.OK and values == [42.0],
                         "%s %r" % (code, values))
            code, details = query_as("writer")
            checks.check("writer (not a reader): PERMISSION_DENIED naming tls.allowed_readers",
                         code == grpc.StatusCode.PERMISSION_DENIED and "tls.allowed_readers" in str(details),
                         "%s %r" % (code, details))
            logged = h.eventually(lambda: "forbidden: gRPC Query" in nl.log_text() or None, 5)
            checks.check("the refusal is logged", logged is not None, nl.log_tail())
            count = m.tls_metric(nl.port, certs, "nightlight_grpc_requests_total", method="Query",
                                 code="PERMISSION_DENIED")
            checks.check("the refusal is counted (%d)" % count, count == 1)

            for what, who, ca in (("no client certificate", None, "ca.pem"),
                                  ("a certificate from another CA", "other", "ca.pem"),
                                  ("an expired certificate", "expired", "ca.pem"),
                                  ("a certificate without clientAuth", "noclientauth", "ca.pem")):
                code, details = query_as(who, ca)
                checks.check("%s: refused at the handshake (UNAVAILABLE)" % what,
                             code == grpc.StatusCode.UNAVAILABLE, "%s %r" % (code, details))
            code, _ = query_as("reader")
            checks.check("the reader still queries after the refusals", code == grpc.StatusCode.OK, code)

            hc = pb.health
            ch = channel(port, certs, "writer")
            check = ch.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=hc.HealthCheckRequest.SerializeToString,
                                   response_deserializer=hc.HealthCheckResponse.FromString)
            r = check(hc.HealthCheckRequest(service=g.SERVICE), timeout=5)
            checks.check("health needs only the handshake (writer: SERVING)",
                         r.status == hc.HealthCheckResponse.SERVING, r)
            ch.close()

            # Certificate renewal while a connection stays open.
            first = fingerprint(port, certs)
            before = channel(port, certs, "reader")
            old_client = g.QueryClient(before, pb)
            code, _ = old_client.status("Query", timeout=10, query="nl_grpc_tls", time_ms=now)
            checks.check("a connection made before the renewal works", code == grpc.StatusCode.OK, code)
            cert_pem, key_pem = m.renew_server_cert(certs, new_key=True)
            t0 = time.monotonic()
            m.replace_file(server_key, key_pem)
            m.replace_file(server_pem, cert_pem)
            second = h.eventually(lambda: (lambda fp: fp if fp != first else None)(fingerprint(port, certs)),
                                  30, 0.25)
            took = time.monotonic() - t0
            checks.check("the renewed certificate is served to new connections within 30 s (%.1f s)" % took,
                         second is not None, nl.log_tail())
            code, _ = query_as("reader")
            checks.check("a new connection queries with the renewed certificate", code == grpc.StatusCode.OK,
                         code)
            code, _ = old_client.status("Query", timeout=10, query="nl_grpc_tls", time_ms=now)
            checks.check("the connection made before keeps working", code == grpc.StatusCode.OK, code)
            before.close()
            # An in-place rewrite with the same size, mtime and inode: only
            # SIGHUP reloads it (HTTP's reloader, which gRPC follows).
            cert_pem, _ = m.renew_server_cert(certs, new_key=False)
            pad = len(cert_pem) + 64  # room for the next one in place
            m.replace_file(server_pem, cert_pem + b"\n" * (pad - len(cert_pem)))
            time.sleep(7)  # HTTP's poll sees this change; wait until it did
            second = fingerprint(port, certs)
            st = os.stat(server_pem)
            cert_pem, _ = m.renew_server_cert(certs, new_key=False)
            with open(server_pem, "r+b") as f:
                f.write(cert_pem + b"\n" * (st.st_size - len(cert_pem)))
            os.utime(server_pem, ns=(st.st_atime_ns, st.st_mtime_ns))
            time.sleep(7)
            checks.check("an invisible rewrite is not picked up", fingerprint(port, certs) == second)
            os.kill(nl.proc.pid, signal.SIGHUP)
            third = h.eventually(lambda: (lambda fp: fp if fp != second else None)(fingerprint(port, certs)),
                                 5, 0.1)
            checks.check("SIGHUP reaches gRPC within seconds", third is not None, nl.log_tail())
            second = third
            m.replace_file(server_pem, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
            time.sleep(7)  # longer than gRPC's re-read interval
            still = fingerprint(port, certs)
            code, _ = query_as("reader")
            checks.check("a broken certificate file keeps the last good one in use",
                         still == second and code == grpc.StatusCode.OK, "%s %s" % (still == second, code))
            checks.check("server alive", nl.alive(), nl.log_tail())
        finally:
            nl.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
