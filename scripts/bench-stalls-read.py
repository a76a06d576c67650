#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Helper of scripts/bench-stalls: read the stall probe's histograms
# through /dev/clockwatch (reset | dump | window SECONDS [TRACING_ON]),
# and print the results of a run
# (overhead FILE | peer CLOCKWATCH.json TIMERLAT.txt).
import fcntl
import json
import os
import random
import re
import statistics
import struct
import sys
import time

BUCKETS = 304
KINDS = ("irq", "irq_filled", "thread", "thread_filled")
HEAD = struct.Struct("=4I10Q")              # struct clockwatch_cpu_stats up to hist[]
HIST = struct.Struct("=4Q%dQ" % BUCKETS)    # struct clockwatch_hist
SIZE = HEAD.size + len(KINDS) * HIST.size


def ioc(nr, size):
    return (3 << 30) | (size << 16) | (0xC7 << 8) | nr   # _IOWR(0xC7, nr, size)


def bucket_lo(i):
    return i if i < 8 else (8 + (i & 7)) << ((i >> 3) - 1)


def cpu_stats(fd, cpu):
    buf = bytearray(SIZE)
    HEAD.pack_into(buf, 0, SIZE, cpu, 0, 0, *([0] * 10))
    fcntl.ioctl(fd, ioc(0x40, SIZE), buf)
    h = HEAD.unpack_from(buf, 0)
    d = {"cpu": cpu, "flags": h[2], "period_ns": h[4], "expiries": h[10],
         "missed": h[11], "stalls": h[12]}
    for k, name in enumerate(KINDS):
        v = HIST.unpack_from(buf, HEAD.size + k * HIST.size)
        d[name] = {"count": v[0], "sum_ns": v[1], "min_ns": v[2], "max_ns": v[3],
                   "buckets": {str(i): c for i, c in enumerate(v[4:]) if c}}
    return d


def quantile(h, q):
    """Top of the bucket holding quantile q, capped at max: ns."""
    if not h["count"]:
        return 0
    want, seen = max(1, int(q * h["count"] + 0.999999)), 0
    for i in sorted(int(b) for b in h["buckets"]):
        seen += h["buckets"][str(i)]
        if seen >= want:
            return min(bucket_lo(i + 1) - 1, h["max_ns"])
    return h["max_ns"]


def exact_quantile(vals, q):
    if not vals:
        return 0
    vals = sorted(vals)
    return vals[min(len(vals) - 1, max(0, int(q * len(vals) + 0.999999) - 1))]


QS = (0.5, 0.9, 0.99, 0.999)


def main():
    cmd = sys.argv[1]
    if cmd in ("reset", "dump", "window"):
        fd = os.open("/dev/clockwatch", os.O_RDONLY)
        if cmd == "reset":
            fcntl.ioctl(fd, 0xC7 << 8 | 0x41)
            return
        if cmd == "window":
            # window SECONDS [TRACING_ON]: reset, switch the tracer on,
            # wait, switch it off, dump: one window for both measurers.
            secs, on = float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None
            fcntl.ioctl(fd, 0xC7 << 8 | 0x41)
            if on:
                with open(on, "w") as f:
                    f.write("1")
            time.sleep(secs)
            if on:
                with open(on, "w") as f:
                    f.write("0")
        cpus = [cpu_stats(fd, c) for c in range(os.cpu_count())]
        json.dump(cpus, sys.stdout)
        return
    if cmd == "overhead":
        # "round state loops": state 0 none, 1 probe, 2 cyclictest
        rounds = {}
        for line in open(sys.argv[2]).readlines()[1:]:
            r, st, loops = map(int, line.split())
            rounds.setdefault(r, {})[st] = loops
        full = [v for _, v in sorted(rounds.items()) if len(v) == 3]
        cps = [1 - v[1] / v[0] for v in full]
        ccs = [1 - v[2] / v[0] for v in full]
        cp, cc = statistics.median(cps), statistics.median(ccs)

        def spread(xs):
            q = statistics.quantiles(xs, n=4)
            return q[0], q[2]

        print("Overhead at a 1 ms period on 2 CPUs (busy-loop throughput lost "
              "against the same round's loops with nothing measuring; "
              "median of %d rounds, interquartile range in brackets):" % len(full))
        lo, hi = spread(cps)
        print("  clockwatch probe: %6.2f %% of 2 CPUs  [%.2f, %.2f]" % (100 * cp, 100 * lo, 100 * hi))
        lo, hi = spread(ccs)
        print("  cyclictest:       %6.2f %% of 2 CPUs  [%.2f, %.2f]" % (100 * cc, 100 * lo, 100 * hi))
        if cc > 0:
            # 95 % interval of the ratio of medians: resample the rounds.
            rng = random.Random(1)
            ratios = []
            for _ in range(2000):
                pick = [rng.randrange(len(full)) for _ in full]
                bc = statistics.median(ccs[i] for i in pick)
                if bc > 0:
                    ratios.append(statistics.median(cps[i] for i in pick) / bc)
            ratios.sort()
            print("  ratio probe/cyclictest: %.2f, 95 %% bootstrap interval "
                  "[%.2f, %.2f] (target <= 0.25)" %
                  (cp / cc, ratios[int(0.025 * len(ratios))],
                   ratios[int(0.975 * len(ratios)) - 1]))
        return
    if cmd == "peer":
        cw = json.load(open(sys.argv[2]))
        tl = {"irq": {}, "thread": {}}
        pat = re.compile(r"\[(\d+)\].*context +(irq|thread) timer_latency +(\d+) ns")
        for line in open(sys.argv[3]):
            m = pat.search(line)
            if m:
                tl[m.group(2)].setdefault(int(m.group(1)), []).append(int(m.group(3)))
        print("Peer on 6.1-rt, 1 ms period, CPUs 0-1, under stress-ng "
              "(cpu, hrtimers, schedpolicy); latency in us:")
        print("  %-26s %9s %9s %9s %9s %9s %9s" %
              ("measurer/cpu/context", "samples", "p50", "p90", "p99", "p99.9", "max"))
        for c in cw:
            for kind in KINDS:
                h = c[kind]
                if not h["count"]:
                    continue
                print("  %-26s %9d" % ("clockwatch/%d/%s" % (c["cpu"], kind), h["count"]) +
                      "".join(" %9.1f" % (quantile(h, q) / 1e3) for q in QS) +
                      " %9.1f" % (h["max_ns"] / 1e3))
            for ctx in ("irq", "thread"):
                v = tl[ctx].get(c["cpu"], [])
                if v:
                    print("  %-26s %9d" % ("timerlat/%d/%s" % (c["cpu"], ctx), len(v)) +
                          "".join(" %9.1f" % (exact_quantile(v, q) / 1e3) for q in QS) +
                          " %9.1f" % (max(v) / 1e3))
        print("  (clockwatch quantiles are bucket tops, <= 1/8 above the value;"
              " *_filled adds the missed periods, which timerlat skips)")
        return
    sys.exit("usage: bench-stalls-read.py reset|dump|overhead FILE|peer CW TL")


if __name__ == "__main__":
    main()
