#!/usr/bin/env python3
"""/federate against the real Prometheus 2.42 on the same data.

The same remote-write requests go to Nightlight and to a Prometheus started
with --web.enable-remote-write-receiver (no scrapes): series with and
without an instance label, label values with quotes, backslashes, newlines
and UTF-8, values 0, -0, 1e6, tiny, NaN, +Inf, -Inf; a series whose newest
sample is older than the lookback delta (5m), one that ended with a
staleness marker, one with a sample ahead of "now" (its older sample is
the newest within the window). Then /federate of both is compared for
several match[] sets: the families must come in the same order with the
same `# TYPE` lines, and within a family the same sample lines (Prometheus
orders series within a family at random: sort.Sort by name only). The
errors (no match[], a selector without matchers, bad selectors, a bad
escape) must get the same status and body.

Last, a second Prometheus scrapes Nightlight's /federate with honor_labels
(the federation setup of Prometheus' docs) and must store exactly the
federated series, their labels (no instance label: federation's
instance="" removes it) and values.
"""

import math
import os
import struct
import time
import urllib.parse

import nlharness as h

RECEIVER_CONFIG = "global:\n  scrape_interval: 1h\n"

SCRAPER_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{__name__=~"fed_.+"}']
    static_configs:
      - targets: ['127.0.0.1:%(nightlight)d']
"""


def neg_zero():
    return struct.unpack("<d", struct.pack("<Q", 0x8000000000000000))[0]


def data_set(now):
    """(labels, [(t, v), ...]) pairs, each series' samples in time order."""
    recent = now - 60000
    return [
        ([("__name__", "fed_probe"), ("a", "1")], [(now - 120000, 1.0), (recent, 3.5)]),
        ([("__name__", "fed_probe"), ("a", "2"), ("instance", "host:9100"), ("job", "node")], [(recent, 7.0)]),
        ([("__name__", "fed_probe"), ("Zed", "upper first"), ("a", "3")], [(recent, 1e6)]),
        ([("__name__", "fed_values"), ("v", "zero")], [(recent, 0.0)]),
        ([("__name__", "fed_values"), ("v", "negzero")], [(recent, neg_zero())]),
        ([("__name__", "fed_values"), ("v", "tiny")], [(recent, 2.5e-7)]),
        ([("__name__", "fed_values"), ("v", "big")], [(recent, 123456789.0)]),
        ([("__name__", "fed_values"), ("v", "frac")], [(recent, -0.1)]),
        ([("__name__", "fed_values"), ("v", "nan")], [(recent, float("nan"))]),
        ([("__name__", "fed_values"), ("v", "inf")], [(recent, float("inf"))]),
        ([("__name__", "fed_values"), ("v", "-inf")], [(recent, float("-inf"))]),
        ([("__name__", "fed_escapes"), ("q", 'say "hi"'), ("b", "back\\slash"), ("n", "two\nlines"),
          ("u", "\u20ac \u00fcber")], [(recent, 1.0)]),
        ([("__name__", "fed_old"), ("job", "x")], [(now - 400000, 1.0)]),
        ([("__name__", "fed_stale"), ("job", "x")], [(now - 90000, 1.0), (recent, h.stale_nan())]),
        ([("__name__", "fed_future"), ("job", "x")], [(now - 30000, 4.0), (now + 120000, 5.0)]),
        ([("__name__", "aaa_first"), ("job", "y")], [(recent, 2.0)]),
        ([("__name__", "other_metric"), ("job", "y")], [(recent, 9.0)]),
    ]


def families(body):
    """[(type line, sorted sample lines)] in the order the families come."""
    out = []
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
        else:
            out.append(("(no TYPE line)", [line]))
    return [(t, sorted(ls)) for t, ls in out]


def federate(port, selectors):
    query = urllib.parse.urlencode([("match[]", s) for s in selectors])
    return h.request(port, "GET", "/federate" + ("?" + query if query else ""))


def main():
    args = h.arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.Workdir(args.keep) as work:
        for d in ("target", "receiver", "scraper"):
            os.makedirs(os.path.join(work, d))
        target = h.Nightlight(args.nightlight, os.path.join(work, "target"))
        prom = h.Prometheus(os.path.join(work, "receiver"), RECEIVER_CONFIG, receiver=True)
        scraper = None
        try:
            target.start()
            prom.start()
            now = h.now_ms()
            payload = h.encode_series([(ls, samples) for ls, samples in data_set(now)])
            for server in (target, prom):
                r = h.remote_write(server.port, payload)
                checks.check("write: %s answers 204" % server.name, r.status == 204, r)

            selector_sets = [
                ['{__name__=~".+"}'],
                ["fed_probe"],
                ['fed_probe{a="1"}', '{__name__=~"fed_p.*"}'],  # overlapping: each series once
                ['{job="x"}'],
                ['{a=""}'],  # matches only the empty string: series without `a`
                ['{__name__=~"fed_values|aaa_first"}', "other_metric"],
                ["nothing_here"],
            ]
            for sel in selector_sets:
                rp, rn = federate(prom.port, sel), federate(target.port, sel)
                fp, fn = families(rp.text()), families(rn.text())
                checks.check("federate %s: %d families, %d samples, equal to Prometheus'"
                             % (sel, len(fp), sum(len(x) for _, x in fp)),
                             rp.status == rn.status == 200 and fp == fn
                             and rn.headers.get("content-type") == rp.headers.get("content-type"),
                             "\nprometheus:\n%s\nnightlight:\n%s" % (rp.text(), rn.text()))
            everything = federate(target.port, ['{__name__=~".+"}']).text()
            checks.check("federate: old, stale and future-only samples are left out as Prometheus does",
                         "fed_old" not in everything and "fed_stale" not in everything
                         and 'fed_future{job="x",instance=""} 4 %d' % (now - 30000) in everything,
                         everything)
            for sel in ([], ["{}"], ["up[5m]"], ["rate(up[5m])"], ["up or down"], ["{"], ['{a="1"'], [""],
                        ["%zz"]):
                if sel == ["%zz"]:
                    rp = h.request(prom.port, "GET", "/federate?match[]=%zz")
                    rn = h.request(target.port, "GET", "/federate?match[]=%zz")
                else:
                    rp, rn = federate(prom.port, sel), federate(target.port, sel)
                checks.check("federate %s: %d %r like Prometheus" % (sel, rp.status, rp.text()),
                             (rp.status, rp.text()) == (rn.status, rn.text()), "nightlight: %r" % rn)
            rp = h.request(prom.port, "POST", "/federate?match[]=up")
            rn = h.request(target.port, "POST", "/federate?match[]=up")
            checks.check("federate: POST is 405 with Allow: GET, OPTIONS like Prometheus",
                         rp.status == rn.status == 405 and rn.headers.get("allow") == rp.headers.get("allow"),
                         rn)

            # A real Prometheus federating from Nightlight.
            scraper = h.Prometheus(os.path.join(work, "scraper"), SCRAPER_CONFIG % {"nightlight": target.port})
            scraper.start()
            want = {}
            for ls, samples in data_set(now):
                name = dict(ls)["__name__"]
                if not name.startswith("fed_") or name in ("fed_old", "fed_stale"):
                    continue
                t, v = [(t, v) for t, v in samples if t <= now][-1]
                # honor_labels: the federated labels win; job comes from
                # the scrape config where the series has none.
                ls = ls + ([("job", "federate")] if "job" not in dict(ls) else [])
                labels = tuple(sorted((k, val) for k, val in ls))
                want[labels] = (t, v)

            def scraped():
                res = h.query(scraper.port, '{__name__=~"fed_.+"}', time.time())["result"]
                return len(res) >= len(want) and res
            try:
                res = h.wait_until("the scraper stored the federated series", scraped, 60, 0.5)
            except AssertionError:
                res = h.query(scraper.port, '{__name__=~"fed_.+"}', time.time())["result"]
            got = {}
            for s in res:
                got[tuple(sorted(s["metric"].items()))] = s["value"][1]
            mismatches = []
            for labels, (t, v) in want.items():
                text = got.get(labels)
                ok = text is not None and (math.isnan(v) and text == "NaN" or
                                           not math.isnan(v) and float(text) == v)
                if not ok:
                    mismatches.append("%s: want %r, got %r" % (labels, v, text))
            extra = set(got) - set(want)
            checks.check("scrape: a Prometheus with honor_labels stores the %d federated series exactly "
                         "(labels, no instance label where Nightlight had none, values)" % len(want),
                         not mismatches and not extra, "; ".join(mismatches[:5]) + " extra: %s" % list(extra)[:3])
            up = h.query(scraper.port, 'up{job="federate"}', time.time())["result"]
            checks.check("scrape: the federation target is up", len(up) == 1 and up[0]["value"][1] == "1", up)
        finally:
            if scraper:
                scraper.stop()
            prom.stop()
            target.stop()
    return checks.finish()


if __name__ == "__main__":
    raise SystemExit(main())
