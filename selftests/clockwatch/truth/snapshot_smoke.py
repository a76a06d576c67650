#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Smoke test of the snapshot test VM (scripts/vm-snap): what the guest's
clocks do across a host pause, a snapshot restore and a migration.

    snapshot_smoke.py [--kernel 6.1] [--keep] [--duration S]

Boots the VM with the module loaded and the host's clock attached
(ref_host.py, --ref), runs cwclocks in the guest (REALTIME,
MONOTONIC_RAW, the RTC and one exchange with the host's reference every
100 ms, to the results port) and from the host, over QMP:

  a. stop, 1 s, cont;
  b. savevm, 2 s, loadvm (the guest goes back to the snapshot);
  c. migrate to a file (live), quit, 3 s, a new QEMU with -incoming
     from that file, cont.

Each pause is timed by the host: QEMU's own STOP and RESUME events
(their timestamps are the host's REALTIME), with the QMP commands'
send and answer times as the bracket when an event is missing.  Then it
prints, per event, what the guest saw: the gap of MONOTONIC_RAW between
the samples around it, the step of REALTIME against MONOTONIC_RAW, the
change of the guest's offset to the host's clock, the RTC's jump against
the guest's MONOTONIC_RAW and against the host, the VM generation ID
(QEMU's, query-vm-generation-id) and whether the guest's kernel logged a
VM fork.  Only what is certain is a test (TAP): the VM booted, the
reference answered, each pause was timed by the host and has samples on
both sides, the migration completed and the restored VM ran, the guest
command finished and its kernel log is clean.  The rest are figures.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.dont_write_bytecode = True	# no __pycache__ in the source tree
from qmp import QMP, QMPError  # noqa: E402

top = os.path.abspath(os.path.join(here, "..", "..", ".."))
vm_snap = os.path.join(top, "scripts", "vm-snap")

GUEST = r"""#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest side of snapshot_smoke.py.
r=$CW_RESULTS
vg=
for d in /sys/bus/acpi/devices/*VGID*; do
	[ -e "$d" ] && vg="$vg ${d##*/}"
done
echo "#vmgenid-dev$vg" > "$r"
echo "#clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" > "$r"
drv=
for d in /sys/bus/acpi/drivers/vmgenid/* /sys/bus/platform/drivers/vmgenid/*; do
	[ -L "$d" ] || continue
	case "${d##*/}" in
	module) ;;
	*) drv="$drv ${d##*/}" ;;
	esac
done
echo "#vmgenid-drv ${drv:-none}" > "$r"
if [ -e /dev/clockwatch ]; then
	echo "#status0 $(clockwatch status --json | tr -d '\n')" > "$r"
fi
echo "guest: sampling for $1 s"
cwclocks --out "$r" --ref /dev/ttyS1 --duration "$1"
rc=$?
if [ -e /dev/clockwatch ]; then
	echo "#status1 $(clockwatch status --json | tr -d '\n')" > "$r"
fi
exit $rc
"""

MS = 1e6


class Tap:
    def __init__(self, n):
        self.n = 0
        self.failed = 0
        print("TAP version 13")
        if n is not None:	# else the caller prints the plan at the end
            print("1..%d" % n)

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d %s" % ("" if cond else "not ", self.n, what))
        sys.stdout.flush()


def note(s):
    for line in s.splitlines():
        print("# " + line)
    sys.stdout.flush()


def results_text(run):
    r = subprocess.run([vm_snap, "results", "--dir", run],
                       stdout=subprocess.PIPE, text=True)
    return r.stdout


def parse(text):
    """The records in stream order: S, E, K and # lines."""
    recs = []
    for line in text.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "S" and len(w) >= 7:
            recs.append({"t": "S", "seq": int(w[1]), "raw": int(w[2]),
                         "real": int(w[3]), "rtc": int(w[4]),
                         "T": None if w[5] == "-" else int(w[5]),
                         "rtt": None if w[6] == "-" else int(w[6])})
        elif w[0] == "E" and len(w) >= 5:
            recs.append({"t": "E", "raw0": int(w[1]), "raw1": int(w[2]),
                         "real": int(w[3]), "rtc": int(w[4])})
        elif w[0] == "K":
            recs.append({"t": "K", "raw": int(w[1]),
                         "text": " ".join(w[2:])})
        elif w[0].startswith("#") and not w[0].startswith("#dmesg"):
            recs.append({"t": w[0], "text": line[len(w[0]):].strip()})
        elif w[0] == "I":
            recs.append({"t": "I", "text": line})
    return recs


def find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def wait_for(pred, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def qemu_gone(run, timeout=30):
    def gone():
        try:
            pid = int(open(os.path.join(run, "qemu.pid")).read())
            os.kill(pid, 0)
            return False
        except (OSError, ValueError):
            return True
    return wait_for(gone, timeout, 0.05)


def event_ns(ev):
    ts = ev.get("timestamp", {})
    return ts.get("seconds", 0) * 1000000000 + ts.get("microseconds", 0) * 1000


def last_event(q, name, after_ns):
    q.poll_events(0.3)
    evs = [e for e in q.events if e["event"] == name and event_ns(e) >= after_ns]
    return event_ns(evs[-1]) if evs else None


def analyse(recs, ev):
    """What the guest saw around one event (host window [w0, w1])."""
    w0, w1 = ev["w0"], ev["w1"]
    S = [(i, r) for i, r in enumerate(recs) if r["t"] == "S"]
    before = [x for x in S if x[1]["T"] is not None and x[1]["T"] < w0]
    if not before:
        return None
    ib, b = before[-1]
    nxt = [x for x in S if x[0] > ib]
    aft = [x for x in nxt if x[1]["T"] is not None and x[1]["T"] > w1]
    if not nxt or not aft:
        return None
    # The first sample with the host's time after the resume is the first
    # one certainly taken after it: a line that the guest's serial port
    # still held when the state was saved comes out again after a
    # restore, and a sample without an answer cannot be placed.
    ia, a = aft[0]
    out = {"i_before": ib, "i_after": ia,
           "raw_gap_ms": (a["raw"] - b["raw"]) / MS,
           "real_vs_raw_ms": ((a["real"] - a["raw"]) -
                              (b["real"] - b["raw"])) / MS,
           "vs_host_ms": ((a["real"] - a["T"]) - (b["real"] - b["T"])) / MS,
           "host_gap_ms": (a["T"] - b["T"]) / MS,
           "between": sum(1 for x in nxt if x[0] < ia)}

    # The RTC against MONOTONIC_RAW and against the host: the seconds
    # edges just before and just after the event.
    def edge_fig(i_e, e):
        mid = (e["raw0"] + e["raw1"]) // 2
        # the host's time at the edge, from the nearest sample with one
        near = min((x for x in S if x[1]["T"] is not None),
                   key=lambda x: abs(x[0] - i_e) * 10**12 + abs(x[1]["raw"] - mid))
        host = near[1]["T"] + (mid - near[1]["raw"])
        return (e["rtc"] * 1000000000 - mid, e["rtc"] * 1000000000 - host,
                (e["raw1"] - e["raw0"]) / MS)
    # An edge seen between the last sample before the pause and the first
    # after it is none: its "before" read may be from before the pause.
    eb = [(i, r) for i, r in enumerate(recs) if r["t"] == "E" and i < ib]
    ea = [(i, r) for i, r in enumerate(recs) if r["t"] == "E" and
          i > out["i_after"]]
    if eb and ea:
        fb, fa = edge_fig(*eb[-1]), edge_fig(*ea[0])
        out["rtc_vs_raw_ms"] = (fa[0] - fb[0]) / MS
        out["rtc_vs_host_ms"] = (fa[1] - fb[1]) / MS
        out["rtc_res_ms"] = max(fa[2], fb[2])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", default=os.environ.get("CW_KERNEL", "6.1"))
    p.add_argument("--duration", type=int, default=25,
                   help="the guest's sampling, in its own seconds (25)")
    p.add_argument("--keep", action="store_true",
                   help="keep the run folder (its path is printed)")
    args = p.parse_args()

    run = tempfile.mkdtemp(prefix="cw-snap.", dir="/tmp")
    guest = os.path.join(run, "smoke-guest.sh")
    with open(guest, "w") as f:
        f.write(GUEST)
    tap = Tap(6)
    note("kernel %s, run folder %s" % (args.kernel, run))
    events = []
    q = None
    try:
        t0 = time.monotonic()
        r = subprocess.run([vm_snap, "start", "--dir", run, "--kernel",
                            args.kernel, "--ref", "--file", guest, "--",
                            "sh", "smoke-guest.sh", str(args.duration)])
        t_started = time.monotonic()
        ok = r.returncode == 0 and wait_for(
            lambda: (any(rec["t"] == "S" for rec in parse(results_text(run)))
                     or qemu_gone(run, 0)), 120)
        ok = ok and any(rec["t"] == "S" for rec in parse(results_text(run)))
        t_sampling = time.monotonic()
        tap.ok(ok, "VM booted and the guest's sampler runs")
        note("vm-snap start returned after %.2f s (image check included); "
             "first sample %.2f s after start"
             % (t_started - t0, t_sampling - t0))
        if not ok:
            raise RuntimeError("no VM")
        img = open(os.path.join(run, "image")).read().strip()
        note("image %s: %s" % (os.path.basename(img), " ".join(
            open(os.path.join(img, "stats")).read().split())))
        q = QMP(os.path.join(run, "qmp.sock"))
        time.sleep(2.0)
        recs = parse(results_text(run))
        tap.ok(any(rec["t"] == "S" and rec["T"] is not None for rec in recs),
               "the host's reference answers on the guest's /dev/ttyS1")

        # a. stop 1 s, cont
        g0 = q.guid()
        q.stop()
        a = q.last
        time.sleep(1.0)
        q.cont()
        b = q.last
        ev = {"name": "stop 1 s + cont", "guid0": g0, "guid1": q.guid(),
              "bracket": (a["sent_real_ns"], a["reply_real_ns"],
                          b["sent_real_ns"], b["reply_real_ns"])}
        ev["stop"] = last_event(q, "STOP", a["sent_real_ns"] - 10**8)
        ev["resume"] = last_event(q, "RESUME", b["sent_real_ns"] - 10**8)
        events.append(ev)
        time.sleep(2.0)

        # b. savevm, 2 s, loadvm
        g0 = q.guid()
        q.savevm("cw1")
        s = q.last
        ev = {"name": "savevm", "guid0": g0, "guid1": q.guid(),
              "bracket": (s["sent_real_ns"], s["sent_real_ns"],
                          s["reply_real_ns"], s["reply_real_ns"])}
        ev["stop"] = last_event(q, "STOP", s["sent_real_ns"] - 10**8)
        ev["resume"] = last_event(q, "RESUME", s["sent_real_ns"] - 10**8)
        events.append(ev)
        time.sleep(2.0)
        g0 = q.guid()
        q.loadvm("cw1")
        lv = q.last
        ev = {"name": "loadvm (2 s after savevm)", "guid0": g0,
              "guid1": q.guid(),
              "bracket": (lv["sent_real_ns"], lv["sent_real_ns"],
                          lv["reply_real_ns"], lv["reply_real_ns"]),
              "since_save_ms": (lv["reply_real_ns"] - s["reply_real_ns"]) / MS}
        ev["stop"] = last_event(q, "STOP", lv["sent_real_ns"] - 10**8)
        ev["resume"] = last_event(q, "RESUME", lv["sent_real_ns"] - 10**8)
        events.append(ev)
        time.sleep(2.0)

        # c. migrate to a file, quit, 3 s, restore, cont
        mig = os.path.join(run, "mig.state")
        g0 = q.guid()
        m0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        info = q.migrate_to_file(mig)
        m1 = q.last
        stop_ns = last_event(q, "STOP", m0)
        q.quit()
        q.close()
        q = None
        gone = qemu_gone(run)
        time.sleep(3.0)
        t_in = time.monotonic()
        r = subprocess.run([vm_snap, "incoming", "--dir", run, mig])
        q = QMP(os.path.join(run, "qmp.sock"))
        inc = q.wait_migration(120)
        t_loaded = time.monotonic()
        g1 = q.guid()
        q.cont()
        c = q.last
        ev = {"name": "migrate to file, 3 s, restore", "guid0": g0,
              "guid1": g1, "stop": stop_ns,
              "resume": last_event(q, "RESUME", c["sent_real_ns"] - 10**8),
              "bracket": (m0, m1["reply_real_ns"], c["sent_real_ns"],
                          c["reply_real_ns"])}
        events.append(ev)
        mig_ok = (r.returncode == 0 and gone and
                  info.get("status") == "completed" and
                  inc.get("status") == "completed")
        note("migration: %.1f MiB in %s ms (QEMU's figures), "
             "downtime %s ms, file %.1f MiB; quit %s; incoming QEMU "
             "loaded it in %.2f s"
             % (info.get("ram", {}).get("transferred", 0) / 2**20,
                info.get("total-time"), info.get("downtime"),
                os.path.getsize(mig) / 2**20,
                "ok" if gone else "TIMED OUT", t_loaded - t_in))

        # The guest finishes its sampling on its own clock.
        w = subprocess.run([vm_snap, "wait", "--dir", run, "--timeout",
                            str(args.duration + 60)])
        q.close()
        q = None
        recs = parse(results_text(run))
        resumed = [rec for rec in recs if rec["t"] == "S" and
                   rec["T"] is not None and rec["T"] > c["reply_real_ns"]]
        tap.ok(analyse(recs, with_window(events[0])) is not None,
               "stop/cont: host timed the pause, samples on both sides")
        sv = analyse(recs, with_window(events[1]))
        lo = analyse(recs, with_window(events[2]))
        tap.ok(sv is not None and lo is not None,
               "savevm and loadvm: host timed both, samples around each")
        tap.ok(mig_ok and len(resumed) > 0,
               "migration to a file completed, the restored VM ran on "
               "(%d samples after cont)" % len(resumed))
        st1 = [rec for rec in recs if rec["t"] == "#status1"]
        rcs = [rec for rec in recs if rec["t"] == "#rc"]
        tap.ok(w.returncode == 0 and rcs and rcs[-1]["text"] == "0",
               "guest command finished (status %s), results arrived, "
               "kernel log clean" % (rcs[-1]["text"] if rcs else "none"))

        report(recs, events, st1)
    except (QMPError, OSError, RuntimeError, EOFError) as e:
        note("error: %s" % e)
        while tap.n < 6:
            tap.ok(False, "not reached")
    finally:
        if q:
            q.close()
        subprocess.run([vm_snap, "stop", "--dir", run])
        if args.keep:
            note("kept %s" % run)
        else:
            shutil.rmtree(run, ignore_errors=True)
    return 1 if tap.failed else 0


def with_window(ev):
    """The host's window of the pause: QEMU's STOP and RESUME events,
    or the commands' bracket."""
    br = ev["bracket"]
    ev["w0"] = ev.get("stop") or br[1]
    ev["w1"] = ev.get("resume") or br[2]
    ev["timed_by"] = ("events" if ev.get("stop") and ev.get("resume")
                      else "commands")
    return ev


def report(recs, events, st1):
    ks = [(i, r) for i, r in enumerate(recs) if r["t"] == "K"]
    note("per event (ms; host pause from QEMU's STOP/RESUME events):")
    rows = []
    for k, ev in enumerate(events):
        with_window(ev)
        a = analyse(recs, ev)
        pause = (ev["w1"] - ev["w0"]) / MS
        line = ["%-30s host pause %8.1f (%s)" % (ev["name"], pause,
                                                ev["timed_by"])]
        if a:
            nxt = None
            if k + 1 < len(events):
                na = analyse(recs, with_window(events[k + 1]))
                nxt = na["i_before"] if na else None
            forks = [r for i, r in ks if i > a["i_before"] and
                     (nxt is None or i <= nxt)]
            line.append("  guest RAW advanced %8.1f while the host's "
                        "clock advanced %8.1f; REALTIME-RAW step %7.1f; "
                        "guest-host offset change %8.1f"
                        % (a["raw_gap_ms"], a["host_gap_ms"],
                           a["real_vs_raw_ms"], a["vs_host_ms"]))
            if "rtc_vs_raw_ms" in a:
                line.append("  RTC jump vs guest RAW %+8.0f  vs host %+6.0f "
                            "(seconds edges read to +-%.0f)"
                            % (a["rtc_vs_raw_ms"], a["rtc_vs_host_ms"],
                               a["rtc_res_ms"]))
            line.append("  samples between without a host time or "
                        "replayed: %d; vmgenid %s; guest kernel logged a "
                        "VM fork: %s"
                        % (a["between"],
                           "CHANGED" if ev["guid0"] != ev["guid1"]
                           else "same",
                           "yes (%s)" % forks[0]["text"] if forks else "no"))
            if "since_save_ms" in ev:
                line.append("  (loadvm answered %.0f ms after savevm's "
                            "answer)" % ev["since_save_ms"])
        else:
            line.append("  no samples on both sides")
        rows.append("\n".join(line))
    note("\n".join(rows))
    s0 = None
    for rec in recs:
        if rec["t"] == "#vmgenid-dev":
            note("guest ACPI devices: %s" % (rec["text"] or "no QEMUVGID"))
        if rec["t"] == "#clocksource":
            note("guest clocksource: %s" % rec["text"])
        if rec["t"] == "#vmgenid-drv":
            note("guest vmgenid driver bound to: %s" % rec["text"])
        if rec["t"] == "#status0":
            s0 = rec
    for name, rec in (("before", s0), ("after", st1[-1] if st1 else None)):
        if not rec:
            continue
        try:
            j = json.loads(rec["text"])
        except ValueError:
            note("module status %s: unreadable" % name)
            continue
        note("module %s the run: sync %s (%s), disruption_count %s"
             % (name, find_key(j, "sync_state"), find_key(j, "sync_reason"),
                find_key(j, "disruption_count")))


if __name__ == "__main__":
    sys.exit(main())
