#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""VM disruptions against the host's clock: host pauses, a snapshot
restore and a migration, with a real chronyd in the guest.

    disrupt_test.py [--kernel 6.1] [--long] [--settle S] [--keep]
                    [--out DIR] [ACTION...]

Boots the snapshot test VM (scripts/vm-snap, --ref: the host's clock on
the guest's /dev/ttyS1) with the module loaded.  In the guest
(disrupt_guest.sh) chronyd keeps the clock on the host's through
cwtruth's refclock feed, cwtruth samples libclockwatch's bound every
10 ms against exchanges with the host's clock, and "clockwatch watch"
records the module's events.  Once chronyd is synchronised the guest asks
for each disruption in turn ("#do N ACTION" on its results port) and the
host carries it out over QMP, timing it by QEMU's own STOP and RESUME
events (stamped with the host's clock):

  stop:S      stop, S seconds, cont (a host pause)
  savevm:S    savevm, S seconds, loadvm (the guest goes back to the
              snapshot; only the restored timeline comes out)
  migrate:S   migrate to a file, quit, S seconds, a new QEMU restores it
  load-on, load-off   stress-ng on every guest CPU (the guest's own)

Default (make check): savevm:2 stop:1.  --long (make check-truth): stop
0.3, 1, 3 and 10 s idle and again under stress-ng, savevm:2, migrate:5.

For each disruption, against what the host knows:

  jump      how much of the host's time the guest's clocks missed (its
            MONOTONIC_RAW against the host's clock, from the exchanges on
            either side: the host answered the last before STOP and the
            first after RESUME); its REALTIME fell behind by as much, unless
            the guest's clocks moved across the gap while a daemon slewed
            (after a loadvm on 6.12), which is reported too;
  detected  the module's DISRUPTION record (reason host_pause) after the
            resume, and the pause it measured against the RTC: within 20
            ms or 1 % of the jump, whichever is larger, plus the
            exchanges' own half round trips (a pause that began while the
            audit read around an RTC edge comes in two records, the
            second's interval starting where the first's ended: summed);
  latency   the guest's MONOTONIC_RAW from its resume (the request of the
            first exchange the host answered after RESUME) to the record;
  confident but wrong
            samples that claim synchronized or free_running with the
            host's time outside the bound: before the detection (the
            window a guest-side audit cannot close, reported) and after it
            (must be none).

And for the whole run: no host_pause record without a host action (no
false alarm), no bound that misses the host's time outside the windows
between a resume and its detection, the guest's kernel log clean.
Latencies are figures, not tests: timing under TCG is noisy.
"""

import argparse
import base64
import bisect
import gzip
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
from snapshot_smoke import Tap, note, qemu_gone, last_event  # noqa: E402
import truth_report  # noqa: E402

top = os.path.abspath(os.path.join(here, "..", "..", ".."))
vm_snap = os.path.join(top, "scripts", "vm-snap")
guest_sh = os.path.join(here, "disrupt_guest.sh")

# The snapshot first, while chronyd holds the clock steady: a 6.12 guest
# restored while chronyd slews comes back with its clocks moved at the
# slewed rate (see Documentation/clockwatch.rst); --long has that case.
SHORT = ["savevm:2", "stop:1"]
LONG = ["stop:0.3", "stop:1", "stop:3", "stop:10", "load-on",
        "stop:0.3", "stop:1", "stop:3", "stop:10", "load-off",
        "savevm:2", "migrate:5"]
MS = 1000000
NS = 1000000000
# A jump the audit must see: its error bar is a few ms (the RTC edges'
# brackets and audit_margin_us, 2 ms); anything from 100 ms up is far
# outside it.
MUST_SEE_NS = 100 * MS
# What a detection may follow its resume by and still be that resume's.
DETECT_WINDOW_NS = 10 * NS
# The exchanges that place a disruption: round trips up to this (the
# median under TCG is about 5 ms).
SHORT_RTT_NS = 20 * MS


class Run:
    """The VM of one test, its QMP connection and its results ports."""

    def __init__(self, run):
        self.run = run
        self.q = None
        self.gen = 0
        self.pos = 0
        self.partial = ""

    def connect(self):
        self.q = QMP(os.path.join(self.run, "qmp.sock"))

    def lines(self):
        """The new complete lines of the current QEMU's results port."""
        path = os.path.join(self.run, "results.%d" % self.gen)
        try:
            with open(path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return []
        self.pos += len(data)
        text = self.partial + data.decode("utf-8", "replace").replace("\r", "")
        out = text.split("\n")
        self.partial = out.pop()
        return out


def act_stop(r, secs):
    q = r.q
    q.stop()
    a = q.last
    time.sleep(secs)
    q.cont()
    b = q.last
    return {"w0": last_event(q, "STOP", a["sent_real_ns"] - 10**8) or
            a["reply_real_ns"],
            "w1": last_event(q, "RESUME", b["sent_real_ns"] - 10**8) or
            b["sent_real_ns"]}


def act_savevm(r, secs):
    q = r.q
    q.savevm("cw")
    s = q.last
    w0 = last_event(q, "STOP", s["sent_real_ns"] - 10**8) or s["sent_real_ns"]
    time.sleep(secs)
    q.loadvm("cw")
    lv = q.last
    w1 = last_event(q, "RESUME", lv["sent_real_ns"] - 10**8) or \
        lv["reply_real_ns"]
    # The guest goes on from the snapshot: its pause is from savevm's
    # STOP, when the state was taken, to loadvm's RESUME.
    return {"w0": w0, "w1": w1, "save_ms": (s["reply_real_ns"] -
                                            s["sent_real_ns"]) / MS}


def act_migrate(r, secs):
    q = r.q
    path = os.path.join(r.run, "mig.state")
    m0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
    info = q.migrate_to_file(path)
    w0 = last_event(q, "STOP", m0) or q.last["reply_real_ns"]
    q.quit()
    q.close()
    r.q = None
    if not qemu_gone(r.run):
        raise RuntimeError("the migrated QEMU did not quit")
    time.sleep(secs)
    if subprocess.run([vm_snap, "incoming", "--dir", r.run, path]).returncode:
        raise RuntimeError("vm-snap incoming failed")
    r.gen += 1
    r.pos = 0
    r.partial = ""
    r.connect()
    r.q.wait_migration(120)
    r.q.cont()
    c = r.q.last
    w1 = last_event(r.q, "RESUME", c["sent_real_ns"] - 10**8) or \
        c["sent_real_ns"]
    os.unlink(path)
    return {"w0": w0, "w1": w1,
            "mig_mib": info.get("ram", {}).get("transferred", 0) / 2**20}


ACTIONS = {"stop": act_stop, "savevm": act_savevm, "migrate": act_migrate}


def drive(r, deadline):
    """Carry out what the guest asks until it is done; the actions and
    the guest's # lines."""
    done = {}
    hashes = []
    while time.monotonic() < deadline:
        for line in r.lines():
            if not line.startswith("#") or line.startswith("#dmesg"):
                continue
            hashes.append(line)
            w = line.split()
            if w[0] == "#do" and len(w) == 3 and w[1] not in done:
                kind, _, arg = w[2].partition(":")
                t0 = time.monotonic()
                res = ACTIONS[kind](r, float(arg))
                res.update(n=int(w[1]), action=w[2], kind=kind,
                           took_s=time.monotonic() - t0)
                done[w[1]] = res
            if w[0] == "#rc":
                return list(done.values()), hashes
        if r.q is None or qemu_gone(r.run, 0):
            # the guest powered off; its last lines are in the file
            for line in r.lines() + [r.partial]:
                if line.startswith("#") and not line.startswith("#dmesg"):
                    hashes.append(line)
            return list(done.values()), hashes
        time.sleep(0.05)
    raise RuntimeError("the guest did not finish in time")


def unpack(run, text):
    """The guest's "#file NAME" blocks, written into run/out/; names."""
    outdir = os.path.join(run, "out")
    os.makedirs(outdir, exist_ok=True)
    name, buf, names = None, [], []
    for line in text.splitlines():
        if line.startswith("#file "):
            name, buf = os.path.basename(line.split()[1]), []
        elif line == "#eof" and name:
            try:
                data = gzip.decompress(base64.b64decode("".join(buf)))
            except (ValueError, OSError, EOFError):
                data = None
            if data is not None:
                with open(os.path.join(outdir, name), "wb") as f:
                    f.write(data)
                names.append(name)
            name = None
        elif name:
            buf.append(line.strip())
    return outdir, names


def offsets(ex, clock):
    """Per exchange: host time minus the guest's clock ("t1": its
    MONOTONIC_RAW, "t1_real": its REALTIME) at the exchange's midpoint,
    and the half round trip that bounds its error."""
    out = []
    for e in ex:
        half = (e["t2"] - e["t1"]) // 2
        out.append((e["T"] + e["leap"] - (e[clock] + half), half))
    return out


def analyse(ex, samples, events, acts):
    """Per action, what the guest saw; and the whole run's figures."""
    truth = truth_report.Truth(ex)
    offs = offsets(ex, "t1")
    offs_real = offsets(ex, "t1_real")
    Ts = [e["T"] for e in ex]
    s_before = [s["before"] for s in samples]
    pauses = [e for e in events if e.get("type") == "disruption" and
              e.get("reason") == "host_pause"]
    used = set()
    windows = []
    for a in acts:
        a["ok"] = False
        # The last exchange the host answered before STOP and the first
        # it answered after RESUME, each with a short round trip: one
        # that straddles a loadvm on 6.12 has the guest's jump inside.
        i = bisect.bisect_left(Ts, a["w0"]) - 1
        while i >= 0 and ex[i]["t2"] - ex[i]["t1"] > SHORT_RTT_NS:
            i -= 1
        j = bisect.bisect_right(Ts, a["w1"])
        while j < len(ex) and ex[j]["t2"] - ex[j]["t1"] > SHORT_RTT_NS:
            j += 1
        if i < 0 or j >= len(ex):
            continue
        # The exchanges just around it, in the guest's own order: how much
        # host time the guest's clocks missed (MONOTONIC_RAW: what the
        # audit measures; REALTIME differs when the guest's clocks moved
        # across the gap while a daemon slewed, as after a loadvm on 6.12)
        a["jump_ns"] = offs[j][0] - offs[i][0]
        a["real_jump_ns"] = offs_real[j][0] - offs_real[i][0]
        a["jump_err_ns"] = offs[i][1] + offs[j][1]
        a["host_ns"] = a["w1"] - a["w0"]
        # The guest's MONOTONIC_RAW at the resume: its request to the
        # first after left after it, the one to the last before did not.
        res_raw = (ex[i]["t1"] + ex[j]["t1"]) // 2
        a["resume_raw"] = res_raw
        a["resume_err_ns"] = (ex[j]["t1"] - ex[i]["t1"]) // 2
        a["ok"] = True
        det = None
        for k, e in enumerate(pauses):
            if k not in used and ex[i]["t1"] <= e["raw_ns"] <= \
                    res_raw + DETECT_WINDOW_NS:
                det = e
                used.add(k)
                break
        a["detected"] = det is not None
        if det:
            # A pause that begins while the audit reads around an edge
            # makes that edge late (no guest clock runs in the pause):
            # the record measures part of it, and the next edge the rest,
            # in a record whose interval starts where the first ended.
            parts = [det]
            for k, e in enumerate(pauses):
                if k not in used and e.get("ref_before_raw_ns") and \
                        e["ref_before_raw_ns"] == parts[-1].get(
                            "ref_after_raw_ns"):
                    parts.append(e)
                    used.add(k)
            a["parts"] = len(parts)
            a["measured_ns"] = -sum(e.get("ref_offset_change_ns", 0)
                                    for e in parts)
            a["measured_err_ns"] = sum(e.get("ref_err_ns", 0) for e in parts)
            a["latency_ns"] = det["raw_ns"] - res_raw
            det_raw = det["raw_ns"]
        else:
            det_raw = None
        windows.append((ex[i]["t2"], det_raw if det_raw else res_raw))
        a["det_raw"] = det_raw
    # Each sample once: None when it claims no bound (or the host's time
    # around it is not known), else (the truth interval, missed or not).
    verdicts = [judge(sm, truth) for sm in samples]
    # confident but wrong: samples with a bound the host's time is outside
    for n, a in enumerate(acts):
        if not a["ok"]:
            continue
        end = acts[n + 1]["resume_raw"] if n + 1 < len(acts) and \
            acts[n + 1]["ok"] else 1 << 62
        a["wrong_before"] = a["wrong_after"] = a["bounded_before"] = 0
        a["bounded_after"] = 0
        a["wrong_after_first"] = []
        for k in range(bisect.bisect_left(s_before, a["resume_raw"]),
                       bisect.bisect_left(s_before, end)):
            if verdicts[k] is None:
                continue
            s, (iv, missed) = samples[k], verdicts[k]
            # after: begun once the record was out (a CLI sample can take
            # half a second and read the state from before it)
            before = a["det_raw"] is None or s["before"] < a["det_raw"]
            key = "before" if before else "after"
            a["bounded_" + key] += 1
            if missed:
                a["wrong_" + key] += 1
                if key == "after" and len(a["wrong_after_first"]) < 5:
                    a["wrong_after_first"].append(
                        "+%s (%s): %s, %s, bound %s, error %s" % (
                            fmt(s["before"] - a["det_raw"]), s["src"],
                            s["status"], s["reason"], fmt(s["bound"]),
                            fmt(s["real"] - (iv[0] + iv[1]) // 2)))
    # the rest of the run: no bound misses, no alarm without an action
    outside = viol = 0
    for s, v in zip(samples, verdicts):
        if v is None or any(w0 <= s["before"] <= w1 for w0, w1 in windows):
            continue
        outside += 1
        viol += v[1]
    false_alarms = [e for k, e in enumerate(pauses) if k not in used]
    return {"outside_bounded": outside, "outside_violations": viol,
            "false_alarms": false_alarms}


def judge(s, truth):
    """None when sample s claims no bound (status without one) or the
    host's time around it is not known; else the host's time interval
    and whether the bound missed it."""
    if s["status"] not in truth_report.HAS_BOUND or "earliest" not in s:
        return None
    iv = truth.interval(s["before"], s["after"])
    if iv is None:
        return None
    return iv, s["latest"] < iv[0] or s["earliest"] > iv[1]


def load_events(path):
    evs = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    evs.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return evs


def fmt(ns):
    return truth_report.fmt_ns(ns)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", default=os.environ.get("CW_KERNEL", "6.1"))
    p.add_argument("--long", action="store_true",
                   help="every disruption (make check-truth)")
    p.add_argument("--settle", type=int, default=None,
                   help="guest seconds after each disruption (15; 20 long)")
    p.add_argument("--keep", action="store_true",
                   help="keep the run folder (its path is printed)")
    p.add_argument("--out", help="copy the guest's logs and report here")
    p.add_argument("actions", nargs="*", help="instead of the default list")
    args = p.parse_args()
    plan = args.actions or (LONG if args.long else SHORT)
    for a in plan:
        kind, _, arg = a.partition(":")
        if a not in ("load-on", "load-off") and (kind not in ACTIONS or
                                                 not arg):
            p.error("unknown action %s" % a)
    settle = args.settle or (20 if args.long else 15)
    disrupts = [a for a in plan if a not in ("load-on", "load-off")]

    run = tempfile.mkdtemp(prefix="cw-dis.", dir="/tmp")
    r = Run(run)
    tap = Tap(None)
    note("kernel %s, actions %s, %d s after each; run folder %s"
         % (args.kernel, " ".join(plan), settle, run))
    rc = 1
    try:
        st = subprocess.run([vm_snap, "start", "--dir", run, "--kernel",
                             args.kernel, "--ref", "--file", guest_sh,
                             "--timeout", str(780 + len(plan) * 60), "--",
                             "sh", "disrupt_guest.sh", str(settle)] + plan)
        if st.returncode:
            raise RuntimeError("vm-snap start failed")
        r.connect()
        acts, hashes = drive(r, time.monotonic() + 480 +
                             len(plan) * (settle + 30))
        w = subprocess.run([vm_snap, "wait", "--dir", run, "--timeout", "60"])
        text = subprocess.run([vm_snap, "results", "--dir", run],
                              stdout=subprocess.PIPE, text=True).stdout
        outdir, names = unpack(run, text)
        for h in hashes:
            if h.startswith(("# kernel", "#synced", "#fail", "#load")):
                note(h.lstrip("# "))
        tap.ok(any(h.startswith("#synced") for h in hashes) and
               not any(h.startswith("#fail") for h in hashes),
               "chronyd in the guest synchronised to the host's clock%s" % (
                   ", stress-ng ran" if "load-on" in plan else ""))
        tap.ok(len(acts) == len(disrupts),
               "the host carried out every disruption the guest asked for "
               "(%d of %d)" % (len(acts), len(disrupts)))
        tap.ok("truth.tsv" in names and "events.json" in names,
               "the guest's logs came back (%s)" % " ".join(names))
        ex, _, samples, _, _ = truth_report.load(
            os.path.join(outdir, "truth.tsv")) if "truth.tsv" in names \
            else ([], [], [], [], [])
        events = load_events(os.path.join(outdir, "events.json"))
        acts.sort(key=lambda a: a["n"])
        whole = analyse(ex, samples, events, acts)

        for a in acts:
            name = "%s (#%d)" % (a["action"], a["n"])
            if not a["ok"]:
                tap.ok(False, "%s: exchanges with the host on both sides"
                       % name)
                continue
            note("%s: host %s (STOP to RESUME); the guest's clocks missed "
                 "%s +- %s of the host's, its REALTIME fell behind by %s%s"
                 % (name, fmt(a["host_ns"]), fmt(a["jump_ns"]),
                    fmt(a["jump_err_ns"]), fmt(a["real_jump_ns"]),
                                 (", savevm took %.0f ms" % a["save_ms"])
                                 if "save_ms" in a else
                                 (", %.0f MiB migrated" % a["mig_mib"])
                                 if "mig_mib" in a else ""))
            if a["jump_ns"] >= MUST_SEE_NS:
                tol = max(20 * MS, a["jump_ns"] // 100) + a["jump_err_ns"]
                tap.ok(a["detected"],
                       "%s: a host_pause disruption after the resume" % name)
                if a["detected"]:
                    diff = a["measured_ns"] - a["jump_ns"]
                    tap.ok(abs(diff) <= tol,
                           "%s: measured %s +- %s against the RTC%s, the "
                           "host's clock says %s (within %s)"
                           % (name, fmt(a["measured_ns"]),
                              fmt(a["measured_err_ns"]),
                              " (%d records)" % a["parts"]
                              if a["parts"] > 1 else "", fmt(a["jump_ns"]),
                              fmt(tol)))
                    note("%s: detected %s +- %s after the resume (guest "
                         "MONOTONIC_RAW)" % (name, fmt(a["latency_ns"]),
                                             fmt(a["resume_err_ns"])))
            else:
                note("%s: the guest's clock did not fall behind the host's "
                     "(%s): nothing to detect%s" % (
                         name, fmt(a["jump_ns"]),
                         "; a host_pause record came anyway"
                         if a["detected"] else ""))
            note("%s: confident but wrong before the detection: %d of %d "
                 "bounded samples" % (name, a["wrong_before"],
                                      a["bounded_before"]))
            for w_ in a["wrong_after_first"]:
                note("%s: wrong after the detection at %s" % (name, w_))
            # No bound at all is honest too: after a long pause chronyd
            # slews for minutes, and the library may give none meanwhile.
            tap.ok(a["wrong_after"] == 0,
                   "%s: after the detection no bound misses the host's "
                   "time (%d of %d bounded samples)" % (
                       name, a["wrong_after"], a["bounded_after"]))
        # the status view says what the records say
        st_json = None
        for h in hashes:
            if h.startswith("#status "):
                try:
                    st_json = json.loads(h[len("#status "):])
                except ValueError:
                    pass
        au = (st_json or {}).get("audit_rtc") or {}
        hp = [e for e in events if e.get("type") == "disruption" and
              e.get("reason") == "host_pause"]
        tap.ok(au.get("jumps") == len(hp) and hp and
               au.get("last_jump_ns") == hp[-1].get("ref_offset_change_ns"),
               "clockwatch status shows the host pauses the records show "
               "(%s of %d, the last %s)" % (
                   au.get("jumps"), len(hp),
                   fmt(-au["last_jump_ns"]) if "last_jump_ns" in au else "-"))
        # ... and so does the stall view, over the whole run
        summ = [e for e in load_events(os.path.join(outdir, "stalls.json"))
                if e.get("type") == "stalls"]
        hps = summ[-1].get("host_pauses") if summ else None
        n_det = sum(1 for a in acts if a.get("detected"))
        tap.ok(hps is not None and hps == len(hp) and hps >= n_det,
               "clockwatch stalls counts the host pauses (%s; %d records, "
               "%d disruptions detected)" % (hps, len(hp), n_det))
        fa = whole["false_alarms"]
        tap.ok(not fa, "no host_pause disruption without a host action "
               "(%d)" % len(fa))
        for e in fa[:5]:
            note("unexplained: %s" % json.dumps(e))
        tap.ok(whole["outside_bounded"] > 0 and
               whole["outside_violations"] == 0,
               "outside the windows from resume to detection no bound "
               "misses the host's time (%d of %d)"
               % (whole["outside_violations"], whole["outside_bounded"]))
        tap.ok(w.returncode == 0, "the guest finished, its kernel log is "
               "clean (vm-snap wait: %d)" % w.returncode)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            for f in names:
                shutil.copy(os.path.join(outdir, f), args.out)
            with open(os.path.join(args.out, "disruptions.json"), "w") as f:
                json.dump({"actions": acts, "run": {
                    k: v for k, v in whole.items() if k != "false_alarms"}},
                    f, indent=1)
        rc = 1 if tap.failed else 0
    except (QMPError, OSError, RuntimeError, EOFError, KeyError) as e:
        tap.ok(False, "the run: %s" % e)
    finally:
        if r.q:
            r.q.close()
        subprocess.run([vm_snap, "stop", "--dir", run])
        if args.keep or rc:
            note("kept %s" % run)
        else:
            shutil.rmtree(run, ignore_errors=True)
    print("1..%d" % tap.n)
    return rc


if __name__ == "__main__":
    sys.exit(main())
