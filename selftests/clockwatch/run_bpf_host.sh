#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the BPF suite on the running kernel, as root, without touching the
# clocks: the module-less mode of the machine itself (on the build
# machine: 6.18, BPF and BTF and tracepoints, but no modules and no
# kprobes).  Tests that step the clock or need cgroup v2's cpu controller
# SKIP here; run_bpf_vm.sh runs them in the VM.  Prints TAP.
#
#   selftests/clockwatch/run_bpf_host.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cli="$top/userspace/build/clockwatch"

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (BPF)"
	exit 0
fi
for p in bpf_pauses_test bpf_guard_test; do
	if [ ! -x "$here/build/$p" ]; then
		echo "run_bpf_host: $here/build/$p missing: run 'make -C selftests/clockwatch'" >&2
		exit 2
	fi
done
if [ -e /sys/fs/bpf/clockwatch ]; then
	echo "run_bpf_host: a guard is pinned under /sys/fs/bpf/clockwatch: leaving it alone" >&2
fi

fail=0
echo "# kernel $(uname -r), $(nproc) CPUs, on the host"
"$here/build/bpf_pauses_test" || fail=1
CLOCKWATCH_CLI="$cli" "$here/build/bpf_guard_test" || fail=1

results=
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -e /dev/clockwatch ]; then
	result ok "clockwatch status with the module # SKIP the module is loaded"
else
	"$cli" status > "$tmp/status.txt" 2>&1
	rc=$?
	# A complete report exits 0; where the kernel cannot load modules
	# (no /proc/modules), it does not tell the user to load one.
	if [ $rc = 0 ] &&
		grep -q '^module-less mode: /dev/clockwatch is absent: ' "$tmp/status.txt" &&
		grep -q 'per-process pauses *yes' "$tmp/status.txt" &&
		{ [ -e /proc/modules ] || ! grep -q 'insmod\|modprobe' "$tmp/status.txt"; }; then
		result ok "clockwatch status says module-less, why, and what works"
	else
		echo "# exit status $rc"
		sed 's/^/# /' "$tmp/status.txt"
		result not-ok "clockwatch status says module-less, why, and what works"
	fi
fi

# clockwatch guard follows a command's children: a grandchild stopped 300 ms
"$cli" guard --json -o "$tmp/guard.json" -t 100 -- sh -c 'sh -c "kill -STOP \$\$; :" & wait' \
	> /dev/null 2>&1 &
g=$!
i=0
pid=
while [ -z "$pid" ] && [ $i -lt 100 ]; do
	pid=$(ps -eo pid=,stat=,args= | awk '$2 ~ /^T/ && /kill -STOP/ { print $1; exit }')
	sleep 0.1
	i=$((i + 1))
done
if [ -n "$pid" ]; then
	sleep 0.3
	kill -CONT "$pid"
fi
wait $g
if [ -n "$pid" ] && python3 - "$tmp/guard.json" "$pid" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
pid = int(sys.argv[2])
p = [l for l in lines if l.get("type") == "pause" and l["pid"] == pid]
s = [l for l in lines if l.get("type") == "guard"][0]
print("# guard: grandchild %d stopped %.1f ms (slept 300 ms before SIGCONT)"
      % (pid, p[0]["duration_ns"] / 1e6 if p else 0))
assert p and p[0]["kind"] == "stopped" and p[0]["duration_ns"] >= 300e6
assert s["pauses"] >= 1 and s["exit_status"] == 0
EOF
then
	result ok "clockwatch guard reports a stopped grandchild of its command"
else
	sed 's/^/# /' "$tmp/guard.json"
	result not-ok "clockwatch guard reports a stopped grandchild of its command"
fi

echo "TAP version 13"
echo "1..$(printf '%s' "$results" | grep -c '^')"
printf '%s' "$results"
exit $fail
