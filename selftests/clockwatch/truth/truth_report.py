#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check every bound in a cwtruth log against the host's time.

  truth_report.py LOG MARKS [--json OUT] [--shell] [--show N]

LOG is cwtruth's record file; MARKS the scenario script's phase marks, one
a line: "<MONOTONIC_RAW ns> phase <name>", "<ns> step <name>" (a step
made inside the phase) or "<ns> end".

The truth for a sample of the bound read between the guest's
MONOTONIC_RAW raw_before and raw_after:

  A = the last exchange whose answer was back by raw_before (t2 <= before)
  B = the first exchange whose request left after raw_after (t1 >= after)

The host stamped T_A before the answer of A arrived, so before the
sample, and T_B after the request of B left, so after it: the sample's
true time lies in [T_A + min(leap_A, leap_B), T_B + max(leap_A, leap_B)].
This uses only the order of events on one guest clock, no latency or
symmetry assumption.  A sample that gives a bound (synchronized or
free_running) VIOLATES when [earliest, latest] misses that interval.

For the same samples, ClockBound's bound from the last "chronyc -c
tracking" before them: |system time| + root dispersion + root delay / 2
+ 50 ppm x (now - ref time), checked the same way.
"""

import argparse
import bisect
import json
import sys

NS = 1000000000
HAS_BOUND = ("synchronized", "free_running")
NO_BOUND = ("disrupted", "unknown", "unsynchronized")
CB_PPM = 50e-6
STA_PLL = 0x0001
STA_UNSYNC = 0x0040
HOST_REFID = "484F5354"		# "HOST", the refclock's refid


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def load(path):
    ex, lost, samples, track, ctl = [], [], [], [], []
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            t = c[0]
            try:
                if t == "X":
                    ex.append(dict(seq=int(c[1]), t1=int(c[2]), t1_real=int(c[3]),
                                   t2=int(c[4]), t2_real=int(c[5]), T=int(c[6]),
                                   leap=int(c[7]), announce=int(c[8]),
                                   fed=int(c[9])))
                elif t == "L":
                    lost.append(dict(seq=int(c[1]), t1=int(c[2])))
                elif t == "S":
                    s = dict(src=c[1], rc=int(c[2]), before=int(c[3]),
                             after=int(c[4]), real=int(c[5]), status=c[9],
                             reason=c[10], maxerror=int(c[12]),
                             since_write=int(c[16]),
                             ntp_status=int(c[17]) if len(c) > 17 else -1,
                             ntp_offset=int(c[18]) if len(c) > 18 else 0)
                    if c[6] != "-":
                        s["earliest"], s["latest"] = int(c[6]), int(c[7])
                        s["bound"] = int(c[8])
                    samples.append(s)
                elif t == "K":
                    k = dict(before=int(c[1]), after=int(c[2]), real=int(c[3]),
                             rc=int(c[4]))
                    f_ = c[5].split(",") if k["rc"] == 0 else []
                    if len(f_) >= 14:
                        k.update(refid=f_[0], reftime=float(f_[3]),
                                 systime=float(f_[4]), rootdelay=float(f_[10]),
                                 rootdisp=float(f_[11]), leap=f_[13])
                    track.append(k)
                elif t == "C":
                    ctl.append(c[1:])
            except (IndexError, ValueError):
                continue	# a record cut short when the run ended
    ex.sort(key=lambda e: e["t1"])
    samples.sort(key=lambda s: s["before"])
    track.sort(key=lambda k: k["after"])
    return ex, lost, samples, track, ctl


def load_marks(path):
    phases, steps = [], []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 2:
                continue
            raw = int(w[0])
            if w[1] == "phase" and len(w) >= 3:
                if phases and phases[-1]["end"] is None:
                    phases[-1]["end"] = raw
                phases.append(dict(name=w[2], start=raw, end=None))
            elif w[1] == "step" and len(w) >= 3:
                steps.append(dict(name=" ".join(w[2:]), raw=raw))
            elif w[1] == "end" and phases and phases[-1]["end"] is None:
                phases[-1]["end"] = raw
    for p in phases:
        if p["end"] is None:
            p["end"] = 1 << 62
    return phases, steps


class Truth:
    def __init__(self, ex):
        self.ex = ex
        self.t1 = [e["t1"] for e in ex]
        # answers come back in order: t2 rises with t1
        self.t2 = [e["t2"] for e in ex]

    def interval(self, before, after):
        i = bisect.bisect_right(self.t2, before) - 1
        j = bisect.bisect_left(self.t1, after)
        if i < 0 or j >= len(self.ex):
            return None
        a, b = self.ex[i], self.ex[j]
        return (a["T"] + min(a["leap"], b["leap"]),
                b["T"] + max(a["leap"], b["leap"]))


def clockbound(k, real):
    """ClockBound's half-width, ns, from one tracking record; or None."""
    if "refid" not in k or k["leap"] == "Not synchronised":
        return None
    age = max(0.0, real / NS - k["reftime"])
    return int((abs(k["systime"]) + k["rootdisp"] + k["rootdelay"] / 2 +
                CB_PPM * age) * NS)


def fmt_ns(ns):
    if ns is None:
        return "-"
    a = abs(ns)
    if a >= NS:
        return "%.3f s" % (ns / NS)
    if a >= 1000000:
        return "%.3f ms" % (ns / 1e6)
    return "%.1f us" % (ns / 1e3)


def analyse(ex, lost, samples, track, phases, steps, show):
    truth = Truth(ex)
    track_after = [k["after"] for k in track]
    out = {"phases": [], "overall": {}}
    lost_t1 = sorted(x["t1"] for x in lost)
    s_before = [s["before"] for s in samples]
    k_before = [k["before"] for k in track]

    for ph in phases:
        lo, hi = ph["start"], ph["end"]
        r = dict(name=ph["name"], samples=0, lib_samples=0, cli_samples=0,
                 with_bound=0, violations=0, no_truth=0, first_violations=[],
                 pll=0, pll_offset_max_ns=0, kernel_unsync=0,
                 statuses={}, reasons={})
        widths, errs, twidths, cbw, excess = [], [], [], [], []
        cb_n = cb_viol = 0
        cb_first = []
        in_phase = samples[bisect.bisect_left(s_before, lo):
                           bisect.bisect_left(s_before, hi)]
        for s in in_phase:
            r["samples"] += 1
            r["lib_samples" if s["src"] == "lib" else "cli_samples"] += 1
            r["statuses"][s["status"]] = r["statuses"].get(s["status"], 0) + 1
            if s["status"] not in HAS_BOUND:
                why = "%s: %s" % (s["status"], s["reason"])
                r["reasons"][why] = r["reasons"].get(why, 0) + 1
            # the daemon's own word, in the kernel: no bound is owed
            if s["ntp_status"] >= 0 and s["ntp_status"] & STA_UNSYNC:
                r["kernel_unsync"] += 1
            iv = truth.interval(s["before"], s["after"])
            if iv is None:
                r["no_truth"] += 1
                continue
            tlo, thi = iv
            twidths.append(thi - tlo)
            mid = (tlo + thi) // 2
            err = s["real"] - mid
            if s["status"] in HAS_BOUND and "earliest" in s:
                r["with_bound"] += 1
                # the kernel PLL's state the bound was made from
                if s["ntp_status"] >= 0 and s["ntp_status"] & STA_PLL:
                    r["pll"] += 1
                    r["pll_offset_max_ns"] = max(r["pll_offset_max_ns"],
                                                 abs(s["ntp_offset"]))
                widths.append(2 * s["bound"])
                errs.append(abs(err))
                if s["latest"] < tlo or s["earliest"] > thi:
                    r["violations"] += 1
                    miss = tlo - s["latest"] if s["latest"] < tlo else s["earliest"] - thi
                    excess.append(miss)
                    if len(r["first_violations"]) < show:
                        r["first_violations"].append(dict(
                            t_s=round((s["before"] - lo) / NS, 3), src=s["src"],
                            status=s["status"], reason=s["reason"],
                            bound_ns=s["bound"], err_ns=err, miss_ns=miss,
                            truth_width_ns=thi - tlo,
                            maxerror_ns=s["maxerror"],
                            ntp_status=s["ntp_status"],
                            ntp_offset_ns=s["ntp_offset"],
                            since_write_ns=s["since_write"]))
            # ClockBound's, from the last tracking record before the sample
            ki = bisect.bisect_right(track_after, s["before"]) - 1
            if s["src"] == "lib" and ki >= 0:
                cb = clockbound(track[ki], s["real"])
                if cb is not None:
                    cb_n += 1
                    cbw.append(2 * cb)
                    if s["real"] + cb < tlo or s["real"] - cb > thi:
                        cb_viol += 1
                        if len(cb_first) < show:
                            cb_first.append(dict(
                                t_s=round((s["before"] - lo) / NS, 3),
                                bound_ns=cb, err_ns=err))
        r.update(
            bound_width_median_ns=pct(widths, 50), bound_width_p99_ns=pct(widths, 99),
            true_error_median_ns=pct(errs, 50), true_error_p99_ns=pct(errs, 99),
            true_error_max_ns=max(errs) if errs else None,
            truth_width_median_ns=pct(twidths, 50),
            truth_width_p99_ns=pct(twidths, 99),
            violation_miss_max_ns=max(excess) if excess else None,
            clockbound_samples=cb_n, clockbound_violations=cb_viol,
            clockbound_width_median_ns=pct(cbw, 50),
            clockbound_first_violations=cb_first)

        # the exchanges of the phase
        pex = ex[bisect.bisect_left(truth.t1, lo):bisect.bisect_left(truth.t1, hi)]
        rtts = [e["t2"] - e["t1"] for e in pex]
        nlost = bisect.bisect_left(lost_t1, hi) - bisect.bisect_left(lost_t1, lo)
        r.update(exchanges=len(pex), lost=nlost,
                 rtt_median_ns=pct(rtts, 50), rtt_p99_ns=pct(rtts, 99),
                 fed=sum(e["fed"] for e in pex))
        ptr = track[bisect.bisect_left(k_before, lo):bisect.bisect_left(k_before, hi)]
        r["tracking"] = len(ptr)
        r["tracking_synced_host"] = sum(
            1 for k in ptr if k.get("refid") == HOST_REFID and
            k.get("leap") != "Not synchronised")
        r["tracking_leap"] = sorted({k["leap"] for k in ptr if "leap" in k})

        # steps made in the phase: how soon the library stopped bounding
        r["steps"] = []
        for st in steps:
            if not (lo <= st["raw"] < hi):
                continue
            first = None
            bounded_after = 0
            for s in samples[bisect.bisect_left(s_before, st["raw"]):
                             bisect.bisect_left(s_before, hi)]:
                if s["src"] != "lib":
                    continue
                if s["status"] in NO_BOUND:
                    first = s
                    break
                bounded_after += 1
            r["steps"].append(dict(
                name=st["name"],
                to_no_bound_ns=(first["after"] - st["raw"]) if first else None,
                status=first["status"] if first else None,
                reason=first["reason"] if first else None,
                bounded_samples_before=bounded_after))
        out["phases"].append(r)

    o = out["overall"]
    o["exchanges"] = len(ex)
    o["lost"] = len(lost)
    o["lost_fraction"] = len(lost) / max(1, len(ex) + len(lost))
    o["samples"] = sum(p["samples"] for p in out["phases"])
    o["violations"] = sum(p["violations"] for p in out["phases"])
    return out


def print_text(out):
    o = out["overall"]
    print("exchanges %d, lost %d (%.2f %%)" % (o["exchanges"], o["lost"],
                                               100 * o["lost_fraction"]))
    for p in out["phases"]:
        print("phase %s: %d samples (%d lib, %d cli), %d with a bound, "
              "%d VIOLATIONS%s" % (
                  p["name"], p["samples"], p["lib_samples"], p["cli_samples"],
                  p["with_bound"], p["violations"],
                  ", %d without truth" % p["no_truth"] if p["no_truth"] else ""))
        print("  statuses %s; STA_PLL in %d of the bounds (PLL offset up to %s)" % (
            " ".join("%s=%d" % kv for kv in sorted(p["statuses"].items())),
            p["pll"], fmt_ns(p["pll_offset_max_ns"])))
        if p["reasons"]:
            print("  without a bound: %s; STA_UNSYNC in the kernel on %d "
                  "samples" % ("; ".join(
                      "%s (%d)" % kv for kv in sorted(p["reasons"].items())),
                      p["kernel_unsync"]))
        print("  bound width median %s p99 %s; true error median %s p99 %s "
              "max %s; truth width median %s p99 %s" % (
                  fmt_ns(p["bound_width_median_ns"]), fmt_ns(p["bound_width_p99_ns"]),
                  fmt_ns(p["true_error_median_ns"]), fmt_ns(p["true_error_p99_ns"]),
                  fmt_ns(p["true_error_max_ns"]), fmt_ns(p["truth_width_median_ns"]),
                  fmt_ns(p["truth_width_p99_ns"])))
        print("  ClockBound formula: width median %s, %d of %d samples violate" % (
            fmt_ns(p["clockbound_width_median_ns"]), p["clockbound_violations"],
            p["clockbound_samples"]))
        print("  exchanges %d, lost %d, rtt median %s p99 %s, fed to the daemon %d; "
              "chronyc: %d of %d synced to HOST, leap %s" % (
                  p["exchanges"], p["lost"], fmt_ns(p["rtt_median_ns"]),
                  fmt_ns(p["rtt_p99_ns"]), p["fed"], p["tracking_synced_host"],
                  p["tracking"], ",".join(p["tracking_leap"]) or "-"))
        for st in p["steps"]:
            print("  step %s: no bound after %s (%s, %s), %d bounded samples "
                  "before that" % (st["name"], fmt_ns(st["to_no_bound_ns"]),
                                   st["status"], st["reason"],
                                   st["bounded_samples_before"]))
        for v in p["first_violations"]:
            print("  violation at +%.3f s (%s): %s, %s, bound %s, error %s, "
                  "missed by %s, truth width %s, since write %s, maxerror %s, "
                  "ntp status 0x%x, PLL offset %s" % (
                      v["t_s"], v["src"], v["status"], v["reason"],
                      fmt_ns(v["bound_ns"]), fmt_ns(v["err_ns"]),
                      fmt_ns(v["miss_ns"]), fmt_ns(v["truth_width_ns"]),
                      fmt_ns(v["since_write_ns"]), fmt_ns(v["maxerror_ns"]),
                      v["ntp_status"] & 0xffffffff, fmt_ns(v["ntp_offset_ns"])))
        for v in p["clockbound_first_violations"]:
            print("  ClockBound violation at +%.3f s: bound %s, error %s" % (
                v["t_s"], fmt_ns(v["bound_ns"]), fmt_ns(v["err_ns"])))


def print_shell(out):
    """NAME_KEY=value lines for a scenario script's eval."""
    o = out["overall"]
    print("overall_lost_ppm=%d" % int(o["lost_fraction"] * 1e6))
    print("overall_violations=%d" % o["violations"])
    keys = ("samples", "with_bound", "violations", "no_truth", "exchanges",
            "lost", "clockbound_samples", "clockbound_violations", "tracking",
            "tracking_synced_host", "pll", "kernel_unsync")
    for p in out["phases"]:
        for k in keys:
            print("%s_%s=%d" % (p["name"], k, p[k]))
        ns = [s["to_no_bound_ns"] for s in p["steps"]]
        print("%s_steps=%d" % (p["name"], len(ns)))
        print("%s_steps_unseen=%d" % (p["name"], sum(1 for x in ns if x is None)))


def main():
    ap = argparse.ArgumentParser(
        description="Check libclockwatch's bounds in a cwtruth log against "
                    "the host's time.")
    ap.add_argument("log")
    ap.add_argument("marks")
    ap.add_argument("--json", help="write the summary here as JSON")
    ap.add_argument("--shell", action="store_true",
                    help="print PHASE_KEY=N lines instead of the text")
    ap.add_argument("--show", type=int, default=5,
                    help="violations to show per phase (5)")
    a = ap.parse_args()

    ex, lost, samples, track, _ = load(a.log)
    phases, steps = load_marks(a.marks)
    if not ex:
        print("truth_report: no exchanges in %s" % a.log, file=sys.stderr)
        return 1
    out = analyse(ex, lost, samples, track, phases, steps, a.show)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if a.shell:
        print_shell(out)
    else:
        print_text(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
