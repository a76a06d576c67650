#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""clockwatch record and report, checked on the picture a browser draws.

In the test VM (run_record_vm.sh): the module with its test injector,
`clockwatch record` of a command (record_actor.py) that stalls CPU 1,
steps CLOCK_REALTIME by +2 s and stops a child of its own for 300 ms, at
CLOCK_MONOTONIC times it notes itself.
On this machine: `clockwatch report` of that record, drawn by headless
Chromium into a PNG, which this test decodes (zlib, no other library) and
reads pixel by pixel:

- the step's marker colour stands at the column where the time axis puts
  the step, as this test computes it from its own times and the axis's
  geometry (the data- attributes of the report's SVG), within a few
  pixels, and nowhere else in its panel;
- the stall's bar colour covers CPU 1's lane from the injected spin's
  start to its end, stands in no other CPU's lane meanwhile, and
  elsewhere in the lanes only where the record holds a stall (the
  emulated machine stalls by itself now and then, and those are real);
- the pause's bar colour covers the stopped child's lane from the moment
  waitpid() saw it stopped to SIGCONT, and stands in the process lanes only at the record's pauses;
- the page names no http:// or https:// resource.

Prints TAP.  Needs the module built (scripts/build-kmod KERNEL), the tool
(make -C userspace) and chromium (scripts/deps).

    report_render_test.py [--kernel 6.12] [--out DIR] [--chromium PATH] [--no-vm]
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.path.join(TOP, "userspace", "build", "clockwatch")

# The documented colours (clockwatch(8), REPORT).
STEP = (0xd7, 0x19, 0x1c)
STALL = (0xe7, 0x29, 0x8a)
PAUSE = (0x1b, 0x9e, 0x77)
TOLERANCE = 24          # per channel: anti-aliased edges are not counted
X_SLACK_PX = 3          # a step's marker is 3 px wide at its time

tests = []


def tap(ok, name, diag=None):
    tests.append(ok)
    print("%s %d %s" % ("ok" if ok else "not ok", len(tests), name))
    for line in ("" if ok else diag or "").splitlines():
        print("# " + line)
    sys.stdout.flush()


# ---- PNG, the subset Chromium writes: 8-bit RGB or RGBA, not interlaced --

def png_decode(data):
    """(width, height, rows): rows[y][x] is an (r, g, b) tuple."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("PNG depth %d colour type %d interlace %d not read here"
                         % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        base = y * (stride + 1)
        ftype = raw[base]
        line = bytearray(raw[base + 1:base + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xff
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xff
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xff
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def near(px, colour):
    return all(abs(p - c) <= TOLERANCE for p, c in zip(px, colour))


def columns_of(rows, colour, y0, y1, x0, x1):
    """The x of every column with the colour somewhere in rows y0..y1."""
    return sorted({x for y in range(y0, y1) for x in range(x0, x1)
                   if near(rows[y][x], colour)})


# ---- the report's geometry ------------------------------------------------

def attr(html, pattern, what):
    m = re.search(pattern, html)
    if not m:
        raise ValueError("the report has no " + what)
    return m


def geometry(html):
    svg = attr(html, r'<svg id="report" width="(\d+)" height="(\d+)"[^>]*'
               r'data-plot-x0="(\d+)" data-plot-w="(\d+)" data-t-max-s="([0-9.]+)"',
               "svg with its axis")
    g = {"width": int(svg.group(1)), "height": int(svg.group(2)),
         "x0": int(svg.group(3)), "w": int(svg.group(4)),
         "t_max": float(svg.group(5))}
    m = attr(html, r'<g id="offset" data-y0="(\d+)" data-y1="(\d+)"', "offset panel")
    g["offset"] = (int(m.group(1)), int(m.group(2)))
    for kind in ("cpu", "pid"):
        g[kind + "s"] = {int(c): (int(a), int(b)) for c, a, b in re.findall(
            r'<g class="lane %s" data-%s="(\d+)" data-y0="(\d+)" data-y1="(\d+)"'
            % (kind, kind), html)}
    return g


def recorded(path, kind, who):
    """(who, record) of every record of a kind in the record file."""
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == kind:
                out.append((r[who], r))
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="6.12")
    ap.add_argument("--out", default=os.path.join(TOP, ".build", "check", "record-6.12"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--no-vm", action="store_true",
                    help="draw the record a run before left in --out")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    t_begin = time.monotonic()

    ko = os.path.join(TOP, ".build", args.kernel, "kmod", "clockwatch.ko")
    log = os.path.join(args.out, "dmesg.log")
    record = os.path.join(log + ".out", "record.jsonl")
    actor = os.path.join(log + ".out", "actor.json")
    if args.no_vm:
        rc, diag = 0, None
    else:
        shutil.rmtree(log + ".out", ignore_errors=True)
        vm = run([os.path.join(TOP, "scripts", "vm"), "--kernel", args.kernel,
                  "--timeout", "240", "--log", log, "--",
                  "selftests/clockwatch/run_record_vm.sh", ko], cwd=TOP)
        rc, diag = vm.returncode, vm.stdout[-2000:] + vm.stderr[-2000:]
    tap(rc == 0 and os.path.exists(record) and os.path.exists(actor),
        "record in the VM on %s (%.0f s)" % (args.kernel, time.monotonic() - t_begin),
        diag if rc else None)
    if tests[-1] is False:
        return 1
    with open(actor) as f:
        truth = json.load(f)
    with open(record) as f:
        header = json.loads(f.readline())
    start = header["start"]["monotonic_ns"]

    html_path = os.path.join(args.out, "report.html")
    rep = run([CLI, "report", record, "-o", html_path])
    tap(rep.returncode == 0, "clockwatch report", rep.stderr)
    if rep.returncode:
        return 1
    with open(html_path) as f:
        html = f.read()
    remote = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'<>)]*", html)
    tap(not remote, "the page fetches nothing: no http(s):// or //host reference",
        "\n".join(remote[:5]))
    g = geometry(html)

    # Chromium: a profile of its own, the window the size of the SVG.
    png_path = os.path.join(args.out, "report.png")
    if os.path.exists(png_path):
        os.unlink(png_path)
    with tempfile.TemporaryDirectory(prefix="cw-chromium-") as prof:
        env = dict(os.environ, HOME=prof)
        t0 = time.monotonic()
        shot = run([args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--user-data-dir=" + prof, "--force-device-scale-factor=1",
                    "--hide-scrollbars", "--screenshot=" + png_path,
                    "--window-size=%d,%d" % (g["width"], g["height"]),
                    "file://" + html_path], env=env, timeout=120)
    ok = shot.returncode == 0 and os.path.exists(png_path)
    tap(ok, "chromium draws the page (%.1f s)" % (time.monotonic() - t0),
        None if ok else shot.stderr[-2000:])
    if not ok:
        return 1
    with open(png_path, "rb") as f:
        width, height, rows = png_decode(f.read())

    def x_of(mono_ns):
        return g["x0"] + (mono_ns - start) / 1e9 / g["t_max"] * g["w"]

    # The step: the middle of the test's own bracket around clock_settime().
    st = truth["step"]
    step_x = x_of((st["before_mono_ns"] + st["after_mono_ns"]) / 2)
    oy0, oy1 = g["offset"]
    cols = columns_of(rows, STEP, oy0 + 1, oy1 - 1, g["x0"], g["x0"] + g["w"] + 2)
    at = [x for x in cols if abs(x - step_x) <= X_SLACK_PX]
    away = [x for x in cols if abs(x - step_x) > X_SLACK_PX]
    tap(bool(at), "the step's marker at x %.1f px (%.3f s into the run)"
        % (step_x, (st["before_mono_ns"] - start) / 1e9),
        "step colour in columns %s" % cols[:20])
    tap(not away, "no step colour elsewhere in the offset panel",
        "step colour at x %s, %.1f expected" % (away[:20], step_x))
    # Full height: a marker, not a stray pixel (rows below the labels).
    full = all(any(near(rows[y][x], STEP) for x in at) for y in range(oy0 + 70, oy1 - 2))
    tap(full, "the step's marker runs down its panel")

    # The stall: CPU 1's lane from the spin's start to its end.
    sl = truth["stall"]
    lane = g["cpus"].get(sl["cpu"])
    tap(lane is not None, "a lane for CPU %d" % sl["cpu"], "lanes: %s" % g["cpus"])
    if lane is None:
        return 1
    xs, xe = x_of(sl["start_mono_ns"]), x_of(sl["end_mono_ns"])
    mid = (lane[0] + lane[1]) // 2
    inside = [x for x in range(int(xs) + 2, int(xe) - 1)]
    covered = [x for x in inside if near(rows[mid][x], STALL)]
    tap(inside and len(covered) == len(inside),
        "the stall's bar covers CPU %d's lane from %.1f to %.1f px (%.0f ms injected)"
        % (sl["cpu"], xs, xe, (sl["end_mono_ns"] - sl["start_mono_ns"]) / 1e6),
        "stall colour in %d of %d columns" % (len(covered), len(inside)))
    # Elsewhere in the lanes the stall colour stands only where the record
    # has a stall: the emulated machine stalls by itself now and then
    # (TCG stops every vCPU), and the module rightly records it.
    own = [(cpu, x_of(b["start_ns"]), x_of(b["start_ns"] + b["duration_ns"]))
           for cpu, b in recorded(record, "stall", "cpu")]
    stray, other = [], []
    for cpu, (y0, y1) in sorted(g["cpus"].items()):
        for x in columns_of(rows, STALL, y0 + 1, y1 - 1, g["x0"], g["x0"] + g["w"] + 2):
            if cpu == sl["cpu"] and xs - X_SLACK_PX <= x <= xe + X_SLACK_PX:
                continue
            if any(c == cpu and a - X_SLACK_PX <= x <= b + X_SLACK_PX for c, a, b in own):
                other.append((cpu, x))
            else:
                stray.append((cpu, x))
    notes = ["the record's own stalls (cpu, from px, to px): %s"
             % [(c, round(a), round(b)) for c, a, b in own]] if own else []
    for note in notes:
        print("# " + note)
    tap(not stray, "no stall colour in the CPU lanes but at the injected stall "
        "and the record's stalls", "stray stall colour at (cpu, x) %s" % stray[:20])
    # While CPU 1 spun, the other CPUs ran: no bar of theirs there.
    during = [(cpu, x) for cpu, x in other if cpu != sl["cpu"] and xs <= x <= xe]
    tap(not during, "no other CPU's lane shows a stall during the injected one",
        "stall colour at (cpu, x) %s" % during[:20])
    # The pause: the stopped child's lane from SIGSTOP to SIGCONT.
    pa = truth["pause"]
    lane = g["pids"].get(pa["pid"])
    tap(lane is not None, "a lane for the stopped child, pid %d" % pa["pid"],
        "lanes: %s" % g["pids"])
    if lane is None:
        return 1
    # It stops when it next runs after SIGSTOP, by the time waitpid() saw
    # it stopped: the bar must cover from then to SIGCONT.
    xs, xe = x_of(pa["stopped_mono_ns"]), x_of(pa["cont_mono_ns"])
    mid = (lane[0] + lane[1]) // 2
    inside = [x for x in range(int(xs) + 2, int(xe) - 1)]
    covered = [x for x in inside if near(rows[mid][x], PAUSE)]
    tap(inside and len(covered) == len(inside),
        "the pause's bar covers its lane from %.1f to %.1f px (%.0f ms stopped)"
        % (xs, xe, (pa["cont_mono_ns"] - pa["stopped_mono_ns"]) / 1e6),
        "pause colour in %d of %d columns" % (len(covered), len(inside)))
    own = [(p, x_of(b["start_ns"]), x_of(b["start_ns"] + b["duration_ns"]))
           for p, b in recorded(record, "pause", "pid")]
    stray = []
    for pid, (y0, y1) in sorted(g["pids"].items()):
        for x in columns_of(rows, PAUSE, y0 + 1, y1 - 1, g["x0"], g["x0"] + g["w"] + 2):
            if not any(p == pid and a - X_SLACK_PX <= x <= b + X_SLACK_PX
                       for p, a, b in own):
                stray.append((pid, x))
    tap(not stray, "no pause colour in the process lanes but at the record's pauses",
        "stray pause colour at (pid, x) %s" % stray[:20])
    print("# %.1f s in all" % (time.monotonic() - t_begin))
    return 0 if all(tests) else 1


if __name__ == "__main__":
    rc = main()
    print("1..%d" % len(tests))
    sys.exit(rc)
