#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of report_render_test.py: load the module with its test
# injector, `clockwatch record` a command (record_actor.py) that stalls a
# CPU and steps the clock at times it notes, and leave the record and
# those times in /.cwrun/out for the host (scripts/vm --log FILE copies
# them to FILE.out/).
#
#   scripts/vm --kernel 6.12 --log F -- selftests/clockwatch/run_record_vm.sh \
#           .build/6.12/kmod/clockwatch.ko
#
# Stalls are stalls from 150 ms here, so that the emulated machine's own
# (TCG stops every vCPU now and then, for 100 ms and more) mostly stay out
# of the picture; the injected one lasts 400 ms.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=/.cwrun/out

if [ $# -ne 1 ] || [ -z "${CW_IN_VM:-}" ]; then
	echo "usage: scripts/vm ... -- $0 MODULE.ko (in the test VM: it steps the clock)" >&2
	exit 2
fi
mkdir -p "$out"
insmod "$1" inject=1 stall_threshold_us=150000
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
rc=0
"$top/userspace/build/clockwatch" record -o "$out/record.jsonl" -i 50 -- \
	python3 "$here/record_actor.py" --stall-ms 400 "$out/actor.json" || rc=$?
rmmod clockwatch
exit $rc
