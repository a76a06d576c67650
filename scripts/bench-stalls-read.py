#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Helper of scripts/bench-stalls: read the stall probe's histograms
# through /dev/clockwatch (reset | dump | window SECONDS [TRACING_ON]),
# measure the CPUs' busy time (idle SECONDS [PID...]), and print the
# results of a run (overhead IDLE.txt LOOPS.txt | peer CLOCKWATCH.json
# TIMERLAT.txt).
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


def idle_ns():
    """Idle and iowait time of all CPUs, ns.

    With NO_HZ, /proc/stat takes these from the idle loop's own clock
    reads (get_cpu_idle_time_us()), not from tick samples: a CPU stops
    being idle when an interrupt enters, so the fields are exact to
    their unit, USER_HZ, and hard irq time is busy time.
    """
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    with open("/proc/stat") as f:
        for line in f:
            if re.match(r"cpu\d", line):
                v = line.split()
                total += int(v[4]) + int(v[5])
    return total * 1000000000 // hz


def task_ns(pids):
    """Run time of every task of the PIDs (schedstat), ns."""
    total = 0
    for pid in pids:
        try:
            for tid in os.listdir("/proc/%s/task" % pid):
                with open("/proc/%s/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def rounds_of(path, states):
    """{round: {state: [values...]}} of the rounds that have every state."""
    rounds = {}
    for line in open(path).readlines()[1:]:
        v = list(map(int, line.split()))
        rounds.setdefault(v[0], {})[v[1]] = v[2:]
    return [v for _, v in sorted(rounds.items()) if all(s in v for s in states)]


def iqr(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def ratio_interval(num, den):
    """95 % bootstrap interval of median(num) / median(den), paired rounds."""
    rng = random.Random(1)
    ratios = []
    for _ in range(2000):
        pick = [rng.randrange(len(num)) for _ in num]
        d = statistics.median(den[i] for i in pick)
        if d > 0:
            ratios.append(statistics.median(num[i] for i in pick) / d)
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]


def overhead_idle(path):
    # "round state busy_ns task_ns": 0 none, 1 probe, 2 probe + thread,
    # 3 cyclictest; each against its own round's none.
    full = rounds_of(path, (0, 1, 2, 3))
    print("Overhead at a 1 ms period on 2 CPUs, meter 1: busy CPU time with "
          "nothing else running (idle accounting), minus the same round's "
          "with nothing measuring; median of %d rounds, interquartile "
          "range in brackets, ms of CPU time a second:" % len(full))
    cost = {}
    for st, name in ((1, "clockwatch probe"), (2, "probe + thread"),
                     (3, "cyclictest")):
        per_s = [1e3 * (v[st][0] / v[st][2] - v[0][0] / v[0][2]) for v in full]
        cost[st] = per_s
        lo, hi = iqr(per_s)
        print("  %-18s %7.2f ms/s  [%.2f, %.2f]  %5.2f %% of 2 CPUs" %
              (name + ":", statistics.median(per_s), lo, hi,
               statistics.median(per_s) / 20))
    tasks = [1e3 * v[3][1] / v[3][2] for v in full]
    print("  (of cyclictest's, its own threads ran %.2f ms/s; of the "
          "thread's, the probe threads ran %.2f ms/s)" %
          (statistics.median(tasks),
           statistics.median(1e3 * v[2][1] / v[2][2] for v in full)))
    cc = statistics.median(cost[3])
    for st, name in ((1, "probe"), (2, "probe + thread")):
        if cc > 0:
            lo, hi = ratio_interval(cost[st], cost[3])
            print("  ratio %s/cyclictest: %.3f, 95 %% bootstrap interval "
                  "[%.3f, %.3f] (target <= 0.25)" %
                  (name, statistics.median(cost[st]) / cc, lo, hi))


def overhead_loops(path):
    # "round state loops": 0 none, 1 probe, 3 cyclictest
    full = rounds_of(path, (0, 1, 3))
    cps = [1 - v[1][0] / v[0][0] for v in full]
    ccs = [1 - v[3][0] / v[0][0] for v in full]
    cp, cc = statistics.median(cps), statistics.median(ccs)
    print("Meter 2: busy-loop throughput lost against the same round's "
          "loops with nothing measuring; median of %d rounds, "
          "interquartile range in brackets:" % len(full))
    lo, hi = iqr(cps)
    print("  clockwatch probe: %6.2f %% of 2 CPUs  [%.2f, %.2f]" % (100 * cp, 100 * lo, 100 * hi))
    lo, hi = iqr(ccs)
    print("  cyclictest:       %6.2f %% of 2 CPUs  [%.2f, %.2f]" % (100 * cc, 100 * lo, 100 * hi))
    if cc > 0:
        lo, hi = ratio_interval(cps, ccs)
        print("  ratio probe/cyclictest: %.2f, 95 %% bootstrap interval "
              "[%.2f, %.2f] (target <= 0.25)" % (cp / cc, lo, hi))


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
    if cmd == "idle":
        # idle SECONDS [PID...]: the CPU time all CPUs were not idle in
        # the next SECONDS, and what the PIDs' tasks ran of it, both ns.
        secs, pids = float(sys.argv[2]), sys.argv[3:]
        w0, i0, t0 = time.monotonic_ns(), idle_ns(), task_ns(pids)
        time.sleep(secs)
        w1, i1, t1 = time.monotonic_ns(), idle_ns(), task_ns(pids)
        print(os.cpu_count() * (w1 - w0) - (i1 - i0), t1 - t0, w1 - w0)
        return
    if cmd == "overhead":
        overhead_idle(sys.argv[2])
        overhead_loops(sys.argv[3])
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
    sys.exit("usage: bench-stalls-read.py reset|dump|window SECS [ON]|"
             "idle SECS [PID...]|overhead IDLE LOOPS|peer CW TL")


if __name__ == "__main__":
    main()
