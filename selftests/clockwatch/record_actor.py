#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The command `clockwatch record` records in report_render_test.py.

It makes three things happen at times it notes itself, on
CLOCK_MONOTONIC: a stall of one CPU through the module's test injector
(loaded with inject=1; the injector's ioctl returns when the spin started
and ended), a step of CLOCK_REALTIME by +2 s (clock_settime(), bracketed
by two CLOCK_MONOTONIC reads), and a pause of a busy child of its own,
SIGSTOP to SIGCONT (300 ms), a second of quiet before and between.
The times go to SIDE_FILE as one JSON object.  Run as root in the test VM:

    record_actor.py SIDE_FILE [--cpu N] [--stall-ms MS]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cwinject import inject_stall  # noqa: E402


def mono():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def step(delta_ns):
    before = mono()
    now = time.clock_gettime_ns(time.CLOCK_REALTIME)
    time.clock_settime_ns(time.CLOCK_REALTIME, now + delta_ns)
    after = mono()
    return before, after


def pause_child(ms):
    """A busy child stopped for @ms: its pid, when SIGSTOP went, when the
    child was seen stopped (waitpid), when SIGCONT went."""
    child = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    time.sleep(0.3)
    stop = mono()
    os.kill(child.pid, signal.SIGSTOP)
    os.waitpid(child.pid, os.WUNTRACED)
    stopped = mono()            # it stopped by now: it must run to stop
    time.sleep(max(0, stop + ms * 1000000 - mono()) / 1e9)
    cont = mono()
    os.kill(child.pid, signal.SIGCONT)
    time.sleep(0.3)
    child.kill()
    child.wait()
    return child.pid, stop, stopped, cont


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("side_file")
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--stall-ms", type=int, default=250)
    args = ap.parse_args()

    time.sleep(1)
    stall_start, stall_end = inject_stall(args.cpu, args.stall_ms)
    time.sleep(1)
    step_before, step_after = step(2 * 1000000000)
    time.sleep(1)
    pid, stop, stopped, cont = pause_child(300)
    with open(args.side_file, "w") as f:
        json.dump({"stall": {"cpu": args.cpu, "start_mono_ns": stall_start,
                             "end_mono_ns": stall_end},
                   "step": {"delta_ns": 2 * 1000000000,
                            "before_mono_ns": step_before,
                            "after_mono_ns": step_after},
                   "pause": {"pid": pid, "stop_mono_ns": stop,
                             "stopped_mono_ns": stopped,
                             "cont_mono_ns": cont}}, f)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
