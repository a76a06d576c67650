#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host pauses against the module's RTC audit, with the truth from the host.

Boots the test VM (scripts/vm --qmp) with the module, runs the guest half
(audit_test --pause-guest) and, each time the guest says it is ready,
stops the VM over QMP, sleeps, and resumes it, timing the pause on the
host's own clock.  The guest prints the DISRUPTION record the audit
emitted; this script holds it against the host's timing:

  detected	a DISRUPTION record of the RTC, reason host_pause (7)
  size		-ref_offset_change_ns against the host's pause: within
		20 ms or 1 %, whichever is larger (plus the host's own
		uncertainty: half the QMP round trips)
  latency	from the resume (the "cont" reply) to the guest's line on
		the console, host time (target <= 1 s)
  no extra	exactly one jump per pause, no unexplained change

  audit_pause_host.py [--kernel 6.1] [--pauses 1,3] [--ko PATH]

Prints TAP; exits non-zero when a check failed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOST_PAUSE = 7

sys.path.insert(0, os.path.join(TOP, "selftests", "clockwatch", "truth"))
from qmp import QMP  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("--pauses", default="1,3",
                    help="pause lengths, s, comma-separated")
    ap.add_argument("--ko", help="the module (default .build/KERNEL/kmod/clockwatch.ko)")
    ap.add_argument("--params", default="", help="module parameters")
    ap.add_argument("--timeout", type=int, default=900)
    args = ap.parse_args()

    pauses = [float(x) for x in args.pauses.split(",") if x]
    ko = args.ko or os.path.join(TOP, ".build", args.kernel, "kmod", "clockwatch.ko")
    tmp = tempfile.mkdtemp(prefix="cw-qmp.")
    qsock = os.path.join(tmp, "qmp.sock")
    guest = os.path.join(TOP, "selftests", "clockwatch", "build", "audit_test")
    cmd = "insmod %s %s && %s --pause-guest %d 20" % (ko, args.params, guest, len(pauses))
    vm = subprocess.Popen([os.path.join(TOP, "scripts", "vm"), "--kernel", args.kernel,
                           "--timeout", str(args.timeout), "--qmp", qsock, "--",
                           "sh", "-c", cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=TOP)
    qmp = None
    results = []
    done = None
    current = None          # (index, host pause, its uncertainty, resume time)

    def result(ok, what):
        results.append((ok, what))
        print("# %s %s" % ("ok" if ok else "NOT OK", what), flush=True)

    for raw in vm.stdout:
        now = time.monotonic()
        line = raw.decode(errors="replace").rstrip("\r\n")
        print("# guest: " + line, flush=True)
        m = re.search(r"CW-AUDIT-READY (\d+)", line)
        if m:
            i = int(m.group(1))
            if qmp is None:
                qmp = QMP(qsock, connect_timeout=30.0)
            length = pauses[i - 1]
            t0 = time.monotonic()
            qmp.cmd("stop")
            t1 = time.monotonic()
            time.sleep(max(0.0, length - (t1 - t0)))
            t2 = time.monotonic()
            qmp.cmd("cont")
            t3 = time.monotonic()
            host = (t2 + t3) / 2 - (t0 + t1) / 2
            host_err = ((t1 - t0) + (t3 - t2)) / 2
            current = (i, host, host_err, t3)
            print("# pause %d: host %.4f s ± %.4f s" % (i, host, host_err), flush=True)
            continue
        m = re.search(r"CW-AUDIT-JUMP (\d+) change_ns=(-?\d+) err_ns=(\d+) reason=(\d+)", line)
        if m and current and int(m.group(1)) == current[0]:
            i, host, host_err, t_resume = current
            size = -int(m.group(2)) / 1e9
            err = int(m.group(3)) / 1e9
            latency = now - t_resume
            allowed = max(0.020, 0.01 * host) + host_err
            print("# pause %d: host %.4f s, audit %.4f s ± %.4f s, diff %+.4f s, "
                  "latency %.3f s" % (i, host, size, err, size - host, latency), flush=True)
            result(int(m.group(4)) == HOST_PAUSE, "pause %d (%.1f s): reason host_pause" % (i, pauses[i - 1]))
            result(abs(size - host) <= allowed,
                   "pause %d (%.1f s): size %.4f s within %.3f s of the host's %.4f s"
                   % (i, pauses[i - 1], size, allowed, host))
            result(latency <= 2.5, "pause %d (%.1f s): detected %.3f s after the resume"
                   % (i, pauses[i - 1], latency))
            current = None
            continue
        m = re.search(r"CW-AUDIT-MISSED (\d+)", line)
        if m:
            result(False, "pause %s detected" % m.group(1))
            current = None
            continue
        m = re.search(r"CW-AUDIT-DONE jumps=(\d+) unexplained=(\d+)", line)
        if m:
            done = (int(m.group(1)), int(m.group(2)))
    rc = vm.wait()
    result(rc == 0, "the VM run (exit %d)" % rc)
    if done is None:
        result(False, "the guest finished")
    else:
        result(done[0] == len(pauses), "one jump per pause (%d for %d)" % (done[0], len(pauses)))
        result(done[1] == 0, "no unexplained change (%d)" % done[1])
    print("TAP version 13")
    print("1..%d" % len(results))
    for n, (ok, what) in enumerate(results, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", n, what))
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
