#!/usr/bin/env python3
"""nightlight-tsdb against a data directory written by the real server.

Nightlight runs with 1-minute blocks and receives ~12 minutes of past data
(20 series, 5 s step, in time order, ending a minute ago) by remote write.
Once it has written at least two blocks it is stopped with SIGTERM, and then:
  * `check` exits 0 and reports no damage;
  * `dump` prints every written sample exactly once, with its exact value,
    from the blocks and the WAL together, and nothing else; `--match` with
    time bounds prints exactly the matching subset;
  * `analyze` exits 0 and ranks the metric with its 20 series;
  * none of them changed a byte of the data directory;
  * after one byte of a block's `chunks` file is flipped, `check` exits 1
    and names that block.
"""

import hashlib
import math
import os
import subprocess
import sys

import nlharness as h

METRIC = "nl_tool"
SERIES = 20
STEP_MS = 5_000
SPAN_MS = 12 * 60_000


def series_key(i):
    """The text form dump prints for series i."""
    return '%s{instance="i%02d", job="%s"}' % (METRIC, i, "a" if i % 2 == 0 else "b")


def labels(i):
    return h.labels_of(METRIC, instance="i%02d" % i, job="a" if i % 2 == 0 else "b")


def value(k, i):
    # Fractions that print with many digits; the last sample of series 0 is
    # a staleness marker.
    return k * 0.1 + i / 3.0


def tree_digest(path):
    """Names, sizes and contents of every file below path."""
    d = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            d.update(os.path.relpath(p, path).encode())
            with open(p, "rb") as f:
                d.update(f.read())
    return d.hexdigest()


def run_tool(tsdb, *args):
    r = subprocess.run([tsdb] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def parse_dump(text):
    """{series text: [(t, value text)]} in printed order, and bad lines."""
    out, bad = {}, []
    for line in text.splitlines():
        parts = line.rsplit(" ", 2)
        if len(parts) != 3 or not parts[2].lstrip("-").isdigit():
            bad.append(line)
            continue
        out.setdefault(parts[0], []).append((int(parts[2]), parts[1]))
    return out, bad


def compare(written, dumped, keys, mint, maxt):
    """Lists of differences between the written samples (within [mint,
    maxt], of `keys`) and a parsed dump."""
    missing, wrong, extra, unordered = [], [], [], []
    for key in dumped:
        if key not in keys:
            extra.append((key, dumped[key][:2]))
    for key in keys:
        want = {t: v for t, v in written[key].items() if mint <= t <= maxt}
        got = dumped.get(key, [])
        times = [t for t, _ in got]
        if times != sorted(set(times)):
            unordered.append(key)
        seen = dict(got)
        for t, v in want.items():
            if t not in seen:
                missing.append((key, t))
            elif not same_value(v, seen[t]):
                wrong.append((key, t, v, seen[t]))
        for t in seen:
            if t not in want:
                extra.append((key, t))
    return missing, wrong, extra, unordered


def same_value(v, text):
    if math.isnan(v):
        return text == "NaN"
    try:
        return float(text) == v
    except ValueError:
        return False


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--tsdb", required=True, help="path of the nightlight-tsdb binary")
    args = p.parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        target = h.Nightlight(args.nightlight, work, extra_config={
            "storage": {"block_duration": "1m", "compaction_interval_seconds": 3600}})
        written = {series_key(i): {} for i in range(SERIES)}
        try:
            target.start()
            end = (h.now_ms() - 60_000) // STEP_MS * STEP_MS
            start = end - SPAN_MS
            steps = SPAN_MS // STEP_MS + 1
            for k in range(steps):
                t = start + k * STEP_MS
                batch = []
                for i in range(SERIES):
                    v = h.stale_nan() if (i == 0 and k == steps - 1) else value(k, i)
                    written[series_key(i)][t] = v
                    batch.append((labels(i), [(t, v)]))
                r = h.remote_write(target.port, h.encode_series(batch))
                if r.status != 204:
                    raise AssertionError("remote write at %d -> %r" % (t, r))
            h.log("wrote %d samples in [%d, %d]" % (steps * SERIES, start, end))
            loaded = h.eventually(
                lambda: h.metric_sum(h.scrape_metrics(target.port), "nightlight_blocks_loaded") >= 2, 60)
            checks.check("the server wrote at least two blocks", loaded)
            rc = target.stop()
            checks.check("nightlight stopped cleanly on SIGTERM", rc == 0, rc)
        finally:
            target.stop()

        data = target.data_dir
        blocks_dir = os.path.join(data, "blocks")
        blocks = sorted(d for d in os.listdir(blocks_dir) if len(d) == 26)
        h.log("blocks: %s; wal: %s" % (blocks, sorted(os.listdir(os.path.join(data, "wal")))))
        before = tree_digest(data)

        rc, out, err = run_tool(args.tsdb, "check", data)
        checks.check("check exits 0 on the intact data dir", rc == 0, "rc %d\n%s%s" % (rc, out, err))
        checks.check("check reports every block ok",
                     all(("block %s [" % b) in out for b in blocks) and "DAMAGED" not in out, out)
        summary = [line for line in out.splitlines() if line.startswith("summary: ")]
        checks.check("check prints one summary line ending in intact",
                     len(summary) == 1 and summary[0].endswith(": intact"), summary)

        rc, out, err = run_tool(args.tsdb, "dump", data)
        checks.check("dump exits 0", rc == 0, "rc %d: %s" % (rc, err))
        dumped, bad = parse_dump(out)
        checks.check("every dump line is `labels value timestamp`", not bad, bad[:3])
        checks.check("dump lists the series in label order", list(dumped) == sorted(written), list(dumped)[:3])
        missing, wrong, extra, unordered = compare(written, dumped, set(written), -2**63, 2**63 - 1)
        total = sum(len(v) for v in dumped.values())
        h.log("dump: %d lines for %d written samples" % (total, sum(len(v) for v in written.values())))
        checks.check("dump holds every written sample (blocks + WAL)", not missing,
                     "%d missing, e.g. %s" % (len(missing), missing[:5]))
        checks.check("dump values are exact (stale marker as NaN)", not wrong, wrong[:5])
        checks.check("dump prints nothing that was not written, each sample once",
                     not extra and total == sum(len(v) for v in written.values()), extra[:5])
        checks.check("dump prints each series in time order", not unordered, unordered[:3])

        key = series_key(3)
        mint, maxt = start + 100_000, start + 400_000
        rc, out, err = run_tool(args.tsdb, "dump", data, "--match", 'nl_tool{instance="i03"}',
                                "--min-time", str(mint), "--max-time", str(maxt))
        sub, bad = parse_dump(out)
        missing, wrong, extra, unordered = compare(written, sub, {key}, mint, maxt)
        checks.check("dump --match --min-time --max-time prints exactly that subset",
                     rc == 0 and not bad and not missing and not wrong and not extra and list(sub) == [key],
                     (rc, err, missing[:3], wrong[:3], extra[:3]))

        rc, out, err = run_tool(args.tsdb, "analyze", data)
        checks.check("analyze exits 0", rc == 0, "rc %d: %s" % (rc, err))
        checks.check("analyze ranks the metric with its %d series" % SERIES,
                     ("\n%d %s\n" % (SERIES, METRIC)) in out, out)
        checks.check("analyze lists every block", all(b in out for b in blocks), out)

        checks.check("check, dump and analyze changed nothing in the data dir", tree_digest(data) == before)

        victim = blocks[0]
        chunks = os.path.join(blocks_dir, victim, "chunks")
        with open(chunks, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x40]))
        rc, out, err = run_tool(args.tsdb, "check", data)
        checks.check("check exits 1 after a flipped byte in %s/chunks" % victim, rc == 1,
                     "rc %d\n%s%s" % (rc, out, err))
        checks.check("check names the damaged block", ("block %s: DAMAGED: " % victim) in out, out)
        if checks.failed:
            print(target.log_tail(), file=sys.stderr)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
