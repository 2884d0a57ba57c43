#!/usr/bin/python3
"""Captures XOR chunks encoded by a real Prometheus (2.42 on this machine)
into xor_prometheus.txt, for storage.xor_chunk to check byte for byte.

It starts `prometheus` on 127.0.0.1:19471 with an empty TSDB, remote-writes
a few series (regular, irregular, special values, every delta-of-delta
bucket), reads them back with remote read STREAMED_XOR_CHUNKS and prints, per
chunk, the samples it holds and its bytes.
Run: /usr/bin/python3 xor_prometheus.py > xor_prometheus.txt"""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import snappy

PORT = 19471
HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto")


def bits(v):
    return struct.unpack(">Q", struct.pack(">d", v))[0]


def from_bits(b):
    return struct.unpack(">d", struct.pack(">Q", b))[0]


def series(base):
    rng = random.Random(1)
    out = {}
    out["nl_xor_regular"] = [(base + 15000 * i, 1000.0 + 7 * i) for i in range(200)]
    t, s = base, []
    for i in range(150):
        t += rng.choice([15000, 15000 + rng.randint(-900, 900), rng.randint(1, 20), 60000])
        s.append((t, rng.choice([rng.random() * 1e6, float(rng.randint(0, 5)), -rng.random()])))
    out["nl_xor_irregular"] = s
    specials = [0.0, float("nan"), from_bits(0x7FF0000000000002), float("inf"), float("-inf"),
                -0.0, from_bits(0x7FF8000000000001), 5e-324, 1e308, 0.1, 0.1, 0.2]
    out["nl_xor_special"] = [(base + 1000 * i, v) for i, v in enumerate(specials)]
    t, delta, s = base, 0, []
    for dod in (0, 1, -1, 8192, -8191, 8193, 65536, -65535, 65537, 524288, 524289, -524288,
                -600000, 1500000, -1500000, 0, 7):
        delta += dod
        t += max(delta, 1)
        s.append((t, float(len(s))))
    out["nl_xor_dod"] = s
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="nl-xor-")
    proc = None
    try:
        subprocess.run(["protoc", "-I" + PROTO, "--python_out=" + tmp, "types.proto", "remote.proto"],
                       check=True)
        sys.path.insert(0, tmp)
        import remote_pb2
        import types_pb2
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {}\n")
        proc = subprocess.Popen(["prometheus", "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % PORT,
                                 "--web.enable-remote-write-receiver"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:%d" % PORT
        for _ in range(300):
            try:
                if urllib.request.urlopen(url + "/-/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("prometheus did not become ready")

        base = (int(time.time()) // 3600 * 3600 - 7200) * 1000 + 123
        data = series(base)
        wr = remote_pb2.WriteRequest()
        for name, samples in data.items():
            ts = wr.timeseries.add()
            ts.labels.add(name="__name__", value=name)
            for t, v in samples:
                ts.samples.add(timestamp=t, value=v)
        req = urllib.request.Request(url + "/api/v1/write", data=snappy.compress(wr.SerializeToString()),
                                     headers={"Content-Encoding": "snappy",
                                              "Content-Type": "application/x-protobuf",
                                              "X-Prometheus-Remote-Write-Version": "0.1.0"})
        urllib.request.urlopen(req, timeout=10)

        rr = remote_pb2.ReadRequest()
        q = rr.queries.add(start_timestamp_ms=base - 3600000, end_timestamp_ms=base + 7200000)
        q.matchers.add(type=types_pb2.LabelMatcher.RE, name="__name__", value="nl_xor_.*")
        rr.accepted_response_types.append(remote_pb2.ReadRequest.STREAMED_XOR_CHUNKS)
        req = urllib.request.Request(url + "/api/v1/read", data=snappy.compress(rr.SerializeToString()),
                                     headers={"Content-Encoding": "snappy",
                                              "Content-Type": "application/x-protobuf",
                                              "X-Prometheus-Remote-Read-Version": "0.1.0"})
        body = urllib.request.urlopen(req, timeout=10).read()

        print("# captured from", subprocess.run(["prometheus", "--version"], capture_output=True,
                                                text=True).stdout.splitlines()[0])
        print("# by xor_prometheus.py; lines: case <name> / s <t> <value bits hex> / chunk <hex>")
        pos = 0
        while pos < len(body):
            n, shift = 0, 0
            while True:
                b = body[pos]
                pos += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            pos += 4  # CRC-32C
            msg = remote_pb2.ChunkedReadResponse()
            msg.ParseFromString(body[pos:pos + n])
            pos += n
            for cs in msg.chunked_series:
                name = [l.value for l in cs.labels if l.name == "__name__"][0]
                for i, c in enumerate(cs.chunks):
                    assert c.type == types_pb2.Chunk.XOR
                    print("case %s_%d" % (name, i))
                    for t, v in data[name]:
                        if c.min_time_ms <= t <= c.max_time_ms:
                            print("s", t, "%016x" % bits(v))
                    print("chunk", c.data.hex())
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
