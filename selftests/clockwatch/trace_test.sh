#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The tracepoints carry the same facts as the event records: a step of a
# size the test makes shows in clockwatch:clock_step with that size, the
# cause and the caller, and an adjtimex() maxerror write shows in
# clockwatch:ntp_adjust with the value written.  Needs root, the module
# loaded and tracefs; steps the clock (CLOCKWATCH_DESTRUCTIVE=1).  TAP.
set -u

t=/sys/kernel/tracing
n=0 fail=0
ok()    { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); echo "not ok $n $*"; fail=1; }

echo "TAP version 13"
if [ -z "${CLOCKWATCH_DESTRUCTIVE:-}" ] || [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP steps the clock: root and CLOCKWATCH_DESTRUCTIVE=1 only"
	exit 0
fi
if [ ! -d "$t/events/clockwatch" ]; then
	echo "1..0 # SKIP no clockwatch tracepoints in $t (module not loaded?)"
	exit 0
fi
echo "1..3"

echo 0 > "$t/tracing_on"
echo > "$t/trace"
echo 1 > "$t/events/clockwatch/clock_step/enable"
echo 1 > "$t/events/clockwatch/ntp_adjust/enable"
echo 1 > "$t/tracing_on"

# A step of exactly +1.5 s by ADJ_SETOFFSET (the kernel adds it as given)
# and a maxerror write of 123456 us, from a process named cwtracetest.
python3 - <<'PY'
import ctypes, ctypes.util
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, b"cwtracetest", 0, 0, 0)        # PR_SET_NAME
class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long),
                ("freq", ctypes.c_long), ("maxerror", ctypes.c_long),
                ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long),
                ("tolerance", ctypes.c_long), ("time", Timeval),
                ("tick", ctypes.c_long), ("pad", ctypes.c_long * 20)]
tx = Timex()
tx.modes = 0x0100 | 0x2000                      # ADJ_SETOFFSET | ADJ_NANO
tx.time.sec, tx.time.usec = 1, 500000000
assert libc.adjtimex(ctypes.byref(tx)) >= 0, ctypes.get_errno()
tx = Timex()
tx.modes = 0x0004                               # ADJ_MAXERROR
tx.maxerror = 123456
assert libc.adjtimex(ctypes.byref(tx)) >= 0, ctypes.get_errno()
tx = Timex()
tx.modes = 0x0100 | 0x2000                      # step back
tx.time.sec, tx.time.usec = -2, 500000000       # -1.5 s
assert libc.adjtimex(ctypes.byref(tx)) >= 0, ctypes.get_errno()
PY

echo 0 > "$t/tracing_on"
echo 0 > "$t/events/clockwatch/clock_step/enable"
echo 0 > "$t/events/clockwatch/ntp_adjust/enable"
grep -E 'clock_step|ntp_adjust' "$t/trace" | sed 's/^/# /'

if grep 'clock_step:' "$t/trace" | grep 'comm=cwtracetest' | grep -q ' delta_ns=1500000000 '; then
	ok "clock_step: +1.5 s ADJ_SETOFFSET step, exact size, comm cwtracetest"
else
	notok "clock_step: +1.5 s ADJ_SETOFFSET step, exact size, comm cwtracetest"
fi
if grep 'clock_step:' "$t/trace" | grep 'comm=cwtracetest' | grep -q ' delta_ns=-1500000000 '; then
	ok "clock_step: -1.5 s step back, exact size"
else
	notok "clock_step: -1.5 s step back, exact size"
fi
if grep 'ntp_adjust:' "$t/trace" | grep 'comm=cwtracetest' | grep -q 'modes=0x4 .*maxerror_us=123456 '; then
	ok "ntp_adjust: ADJ_MAXERROR write of 123456 us, comm cwtracetest"
else
	notok "ntp_adjust: ADJ_MAXERROR write of 123456 us, comm cwtracetest"
fi
echo > "$t/trace"
exit $fail
