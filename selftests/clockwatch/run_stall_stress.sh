#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The stall probe under load, inside the test VM: load the module, run
# stress-ng (cpu, hrtimers and schedpolicy stressors on every CPU) and, while it
# runs, the accounting test of stall_test: every probe period of the run
# must be in the histograms, as an expiry that ran or a missed period.
#
#   scripts/vm --kernel 6.1 -- selftests/clockwatch/run_stall_stress.sh \
#           .build/6.1/kmod/clockwatch.ko [SECONDS]
set -u

here=$(cd "$(dirname "$0")" && pwd)
ko=${1:?usage: run_stall_stress.sh MODULE.ko [SECONDS]}
secs=${2:-10}

if [ -z "${CW_IN_VM:-}" ] || [ "$(id -u)" != 0 ]; then
	echo "run_stall_stress: run as root in the test VM (scripts/vm)" >&2
	exit 2
fi
command -v stress-ng >/dev/null || { echo "run_stall_stress: no stress-ng" >&2; exit 2; }

insmod "$ko" || exit 1
n=$(nproc)
stress-ng --cpu "$n" --hrtimers "$n" --schedpolicy "$n" --timeout $((secs + 5))s \
	--quiet >/dev/null 2>&1 &
spid=$!
sleep 1

CW_STALL_ACCOUNT_S=$secs "$here/build/stall_test" -t account_every_period
rc=$?

kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
rmmod clockwatch || rc=1
exit $rc
