#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Time namespaces: inside `unshare --time` with MONOTONIC moved by 1000 s
# and BOOTTIME by 2000 s, what `clockwatch status`, `clockwatch watch` and
# the bound (`clockwatch now`) print must agree with the namespace's own
# clock_gettime(), not with the initial namespace's.  The truth is the
# offsets this test sets and the namespace's clocks read around each
# command.  Needs root, the module loaded; steps the clock by +1 ms and
# back (CLOCKWATCH_DESTRUCTIVE=1).  TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cw=$top/userspace/build/clockwatch
tmp=$(mktemp -d)
trap 'kill "$dpid" 2>/dev/null; rm -rf "$tmp"' EXIT
dpid=

echo "TAP version 13"
if [ -z "${CLOCKWATCH_DESTRUCTIVE:-}" ] || [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP steps the clock: root and CLOCKWATCH_DESTRUCTIVE=1 only"
	exit 0
fi
if [ ! -e /dev/clockwatch ]; then
	echo "1..0 # SKIP /dev/clockwatch missing (module not loaded?)"
	exit 0
fi
if ! unshare --time --fork --monotonic 1 true 2>/dev/null; then
	echo "1..0 # SKIP no time namespaces (CONFIG_TIME_NS)"
	exit 0
fi

# struct timex and adjtimex(), for the Python below.
cat > "$tmp/timex.py" <<'PY'
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long),
                ("freq", ctypes.c_long), ("maxerror", ctypes.c_long),
                ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long),
                ("tolerance", ctypes.c_long), ("time", Timeval),
                ("tick", ctypes.c_long), ("pad", ctypes.c_long * 20)]
PY

# A sync daemon the module believes: a maxerror update every 0.5 s with
# the kernel PLL on (its offset, 0, is the whole correction).
python3 - "$tmp" <<'PY' &
import ctypes, sys, time
sys.path.insert(0, sys.argv[1])
from timex import libc, Timex
for i in range(240):
    tx = Timex()
    tx.modes = 0x0004 | 0x0008 | 0x0010        # MAXERROR | ESTERROR | STATUS
    tx.maxerror, tx.esterror, tx.status = 5000, 1000, 0x0001   # STA_PLL
    assert libc.adjtimex(ctypes.byref(tx)) >= 0, ctypes.get_errno()
    if i == 2:
        open(sys.argv[1] + "/ready", "w").close()
    time.sleep(0.5)
PY
dpid=$!
i=0
while [ ! -e "$tmp/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

# The namespace's clocks before and after a command, JSON lines.
cat > "$tmp/clocks.py" <<'PY'
import json, time
print(json.dumps({"mono": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
                  "raw": time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW),
                  "boot": time.clock_gettime_ns(time.CLOCK_BOOTTIME),
                  "real": time.clock_gettime_ns(time.CLOCK_REALTIME)}))
PY

# A step of +1 ms and one of -1 ms (ADJ_SETOFFSET | ADJ_NANO).
cat > "$tmp/step.py" <<'PY'
import ctypes
from timex import libc, Timex
for sec, nsec in ((0, 1000000), (-1, 999000000)):
    tx = Timex()
    tx.modes = 0x0100 | 0x2000
    tx.time.sec, tx.time.usec = sec, nsec
    assert libc.adjtimex(ctypes.byref(tx)) >= 0, ctypes.get_errno()
PY

unshare --time --fork --monotonic 1000 --boottime 2000 sh -c "
	python3 $tmp/clocks.py > $tmp/in_before
	$cw status --json > $tmp/in_status 2>&1
	$cw now --json > $tmp/in_now 2>&1
	$cw watch --json --duration 6 > $tmp/in_watch 2>&1 &
	w=\$!
	sleep 1
	python3 $tmp/clocks.py > $tmp/in_step_before
	python3 $tmp/step.py
	python3 $tmp/clocks.py > $tmp/in_step_after
	wait \$w
	python3 $tmp/clocks.py > $tmp/in_after
"

python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
n = 0
fail = 0
def ok(cond, what):
    global n, fail
    n += 1
    print(("ok %d %s" if cond else "not ok %d %s") % (n, what))
    if not cond:
        fail = 1
def load(name):
    try:
        return json.loads(open(d + "/" + name).read().splitlines()[0])
    except Exception as e:
        print("# %s: %s" % (name, e))
        print("# " + open(d + "/" + name).read()[:2000].replace("\n", "\n# "))
        return None
print("1..5")
b, a = load("in_before"), load("in_after")
st = load("in_status")
slack = 2 * 10**9          # the page is refreshed every ms; TCG can stall
if st:
    print("# page in the namespace: mono %d raw %d boot %d; namespace before %d %d %d" %
          (st["monotonic_ns"], st["monotonic_raw_ns"], st["boottime_ns"],
           b["mono"], b["raw"], b["boot"]))
for key, ck in (("monotonic_ns", "mono"), ("monotonic_raw_ns", "raw"),
                ("boottime_ns", "boot")):
    ok(st is not None and b[ck] - slack <= st[key] <= a[ck],
       "status --json %s is the namespace's (offset applied)" % key)
# The bound inside the namespace: synchronized, and its age (since the
# daemon's last update, on MONOTONIC_RAW) within the daemon's 0.5 s period
# and the emulator's delays, not 1000 s.
i = load("in_now")
if i:
    print("# inside: %s, since_write_ns %s, bound_ns %s" %
          (i["status"], i.get("since_write_ns"), i.get("bound_ns")))
ok(i is not None and i["status"] == "synchronized" and
   0 <= i["since_write_ns"] <= 3 * 10**9,
   "now --json in the namespace: synchronized, the bound's age from the namespace's clock")
# The step record watch printed: its mono_ns on the namespace's MONOTONIC.
sb, sa = load("in_step_before"), load("in_step_after")
w = None
for line in open(d + "/in_watch"):
    try:
        r = json.loads(line)
    except ValueError:
        print("# watch: " + line.rstrip())
        continue
    if r.get("type") == "step":
        w = r
        break
print("# step record: %s; namespace's MONOTONIC around the step %s .. %s" %
      (w and w.get("mono_ns"), sb and sb["mono"], sa and sa["mono"]))
ok(w is not None and w.get("type") == "step" and sb["mono"] <= w["mono_ns"] <= sa["mono"],
   "watch --json step record's mono_ns is on the namespace's clock")
sys.exit(fail)
PY
