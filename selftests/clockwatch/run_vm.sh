#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the clockwatch suite inside the test VM, as root: load the module
# given, run every suite program (TAP), unload the module.  Exits non-zero
# when a test, the load or the unload failed.
#
#   scripts/vm --kernel 6.1 -- selftests/clockwatch/run_vm.sh \
#           .build/6.1/kmod/clockwatch.ko [MODULE-PARAM=VALUE...]
#
# The programs come from the host's build (make -C selftests/clockwatch);
# the suite changes the clocks (CLOCKWATCH_DESTRUCTIVE=1), which is why it
# runs in a VM that is thrown away afterwards.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
progs="clockwatch_test events_test ns_test stall_test honesty_test priv_test report_test flood_test audit_test fuzz_test"
# lifecycle_test runs last, after the unload: it loads the module itself.

ko=${1:?usage: run_vm.sh MODULE.ko [PARAM=VALUE...]}
shift

if [ "$(id -u)" != 0 ]; then
	echo "run_vm: must run as root (inside the test VM)" >&2
	exit 2
fi
if [ -z "${CW_IN_VM:-}" ]; then
	echo "run_vm: not in the test VM (CW_IN_VM unset): the suite steps the clock" >&2
	exit 2
fi
for p in $progs; do
	if [ ! -x "$here/build/$p" ]; then
		echo "run_vm: $here/build/$p missing: run 'make -C selftests/clockwatch' on the host" >&2
		exit 2
	fi
done

# The module's own results: load, device node, unload.  They go last, as
# their own TAP block, after the suite programs' blocks.
results=
fail=0
result() { # ok|not-ok description
	n=$(( $(printf '%s' "$results" | grep -c '^') + 1 ))
	if [ "$1" = ok ]; then
		results="${results}ok $n $2
"
	else
		results="${results}not ok $n $2
"
		fail=1
	fi
}
report() {
	echo "TAP version 13"
	echo "1..$(printf '%s' "$results" | grep -c '^')"
	printf '%s' "$results"
}

echo "# kernel $(uname -r), $(nproc) CPUs, clocksource" \
	"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
if ! insmod "$ko" "$@"; then
	result not-ok "insmod $(basename "$ko")"
	report
	exit 1
fi
result ok "insmod $(basename "$ko")"

# devtmpfs creates the node as the misc device registers.
i=0
while [ ! -c /dev/clockwatch ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -c /dev/clockwatch ]; then
	result ok "/dev/clockwatch exists"
else
	result not-ok "/dev/clockwatch exists"
fi

for p in $progs; do
	CLOCKWATCH_DESTRUCTIVE=1 CLOCKWATCH_CLI="$top/userspace/build/clockwatch" \
		"$here/build/$p" || fail=1
done
# A real sync daemon against the module (a script: chronyd and the CLI).
CLOCKWATCH_DESTRUCTIVE=1 CLOCKWATCH_CLI="$top/userspace/build/clockwatch" \
	"$here/chrony_test.sh" || fail=1
# The tracepoints against steps and writes the script makes itself.
CLOCKWATCH_DESTRUCTIVE=1 "$here/trace_test.sh" || fail=1
# Time namespaces: the CLI in `unshare --time` against the namespace's clocks.
CLOCKWATCH_DESTRUCTIVE=1 "$here/timens_test.sh" || fail=1

if rmmod clockwatch; then
	result ok "rmmod clockwatch"
else
	result not-ok "rmmod clockwatch"
fi
if [ -e /dev/clockwatch ]; then
	result not-ok "/dev/clockwatch gone after rmmod"
else
	result ok "/dev/clockwatch gone after rmmod"
fi

# Load and unload again and again while in use (the module is out now).
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
CLOCKWATCH_DESTRUCTIVE=1 CW_KO="$ko" CW_KO_PARAMS="$*" "$here/build/lifecycle_test" || fail=1

report
exit $fail
