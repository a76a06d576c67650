#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the BPF suite inside the test VM, as root, without the module
# (module-less mode): the pause tracker's truth tests with tp_btf and with
# raw_tp programs, then the tool's BPF commands.  Prints TAP; exits
# non-zero when a test failed.
#
#   scripts/vm --kernel 6.1 -- selftests/clockwatch/run_bpf_vm.sh
#
# The programs come from the host's build (make -C selftests/clockwatch).
# Some tests step the clock, which is why this runs in a VM that is thrown
# away afterwards.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cli="$top/userspace/build/clockwatch"
progs="bpf_pauses_test bpf_guard_test"

# REALTIME - MONOTONIC now, ns: the REALTIME read between two MONOTONIC
# reads, the tightest bracket of 20 (its error is half its width).
real_minus_mono() {
	python3 -c '
import time
best = None
for _ in range(20):
    m0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    r = time.clock_gettime_ns(time.CLOCK_REALTIME)
    m1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    if best is None or m1 - m0 < best[0]:
        best = (m1 - m0, r - (m0 + m1) // 2)
print(best[1])'
}

if [ "$(id -u)" != 0 ]; then
	echo "run_bpf_vm: must run as root (inside the test VM)" >&2
	exit 2
fi
if [ -z "${CW_IN_VM:-}" ]; then
	echo "run_bpf_vm: not in the test VM (CW_IN_VM unset): the suite steps the clock" >&2
	exit 2
fi
for p in $progs; do
	if [ ! -x "$here/build/$p" ]; then
		echo "run_bpf_vm: $here/build/$p missing: run 'make -C selftests/clockwatch' on the host" >&2
		exit 2
	fi
done

fail=0
echo "# kernel $(uname -r), $(nproc) CPUs, module-less (no /dev/clockwatch)"
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

for attach in tp_btf raw_tp; do
	echo "# pause tracker with $attach programs"
	CW_BPF_ATTACH=$attach "$here/build/bpf_pauses_test" || fail=1
done

echo "# lease guard and clock tracker"
CLOCKWATCH_DESTRUCTIVE=1 CLOCKWATCH_CLI="$cli" "$here/build/bpf_guard_test" || fail=1

# The tool's own checks, one TAP block.
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

# Wait (at most 30 s) until a BPF command says on stderr that it traces.
wait_tracing() { # stderr-file
	i=0
	while ! grep -q '^Tracing' "$1" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

if [ -e /dev/clockwatch ]; then
	result not-ok "module not loaded (this suite tests module-less mode)"
else
	result ok "module not loaded (this suite tests module-less mode)"
fi

# clockwatch stalls --pid --json: a spinner stopped for 300 ms by SIGSTOP.
sh -c 'while :; do :; done' &
spin=$!
"$cli" stalls --pid "$spin" --threshold 50 --json > "$tmp/stalls.json" 2> "$tmp/stalls.err" &
cw=$!
wait_tracing "$tmp/stalls.err"
sleep 0.2
# the truth: SIGSTOP to SIGCONT on CLOCK_MONOTONIC, as the C test times it
truth=$(python3 -c '
import os, signal, sys, time
pid = int(sys.argv[1])
t0 = time.monotonic_ns()
os.kill(pid, signal.SIGSTOP)
time.sleep(0.3)
t1 = time.monotonic_ns()
os.kill(pid, signal.SIGCONT)
print(t1 - t0)' "$spin")
sleep 0.5
kill -INT "$cw"		# the summary comes at Ctrl-C
wait "$cw"
rc=$?
kill "$spin"
wait "$spin" 2>/dev/null
if [ $rc = 0 ] && python3 - "$tmp/stalls.json" "$spin" "$truth" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
pid, truth = int(sys.argv[2]), int(sys.argv[3])
ev = [l for l in lines if l.get("type") == "pause" and l["kind"] == "stopped"]
summ = [l for l in lines if l.get("type") == "stalls"][0]
proc = [p for p in summ["processes"] if p["pid"] == pid][0]
st = proc["kinds"]["stopped"]
print("# stalls --json: truth %.1f ms, event %.1f ms, summary max %.1f ms, p50 %.1f ms"
      % (truth / 1e6, ev[0]["duration_ns"] / 1e6, st["max_ns"] / 1e6, st["p50_ns"] / 1e6))
assert len(ev) == 1 and ev[0]["pid"] == pid and ev[0]["comm"] == "sh"
assert abs(ev[0]["duration_ns"] - truth) <= truth * 0.1
assert st["count"] == 1 and st["max_ns"] == ev[0]["duration_ns"]
assert proc["worst"][0]["kind"] == "stopped"
EOF
then
	result ok "clockwatch stalls --pid --json reports the 300 ms SIGSTOP"
else
	sed 's/^/# /' "$tmp/stalls.err" "$tmp/stalls.json"
	result not-ok "clockwatch stalls --pid --json reports the 300 ms SIGSTOP"
fi

if "$cli" stalls --duration 0.5 > "$tmp/stalls.txt" 2>&1 &&
	grep -q '^Pauses per process' "$tmp/stalls.txt" &&
	grep -q 'KIND.*P50.*P99.9.*MAX' "$tmp/stalls.txt"; then
	result ok "clockwatch stalls prints the per-process table"
else
	sed 's/^/# /' "$tmp/stalls.txt"
	result not-ok "clockwatch stalls prints the per-process table"
fi

# clockwatch guard -- date -s: the step, its size and its caller.
up0=$(cut -d' ' -f1 /proc/uptime)
before=$(date +%s%N)
target=$(( before + 5000000000 ))
"$cli" guard --json -o "$tmp/guard.json" -- \
	date -s "@$(( target / 1000000000 )).$(printf %09d $(( target % 1000000000 )))" \
	> /dev/null 2> "$tmp/guard.err"
rc=$?
up1=$(cut -d' ' -f1 /proc/uptime)
date -s "@$(( $(date +%s) - 5 ))" > /dev/null
# REALTIME at the step lies between before and before + the time elapsed
# (/proc/uptime, 10 ms resolution, which covers the tool's start too)
elapsed=$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.0f", (b - a + 0.02) * 1e9 }')
if [ $rc = 0 ] && python3 - "$tmp/guard.json" "$before" "$target" "$elapsed" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
before, target, elapsed = (int(a) for a in sys.argv[2:5])
steps = [l for l in lines if l.get("type") == "step"]
summ = [l for l in lines if l.get("type") == "guard"][0]
s = steps[0]
print("# guard: step by %s (%s) of %+.6f s; made between %+.6f and %+.6f s"
      % (s["comm"], s["cause"], s["delta_ns"] / 1e9, (target - before - elapsed) / 1e9,
         (target - before) / 1e9))
assert len(steps) == 1 and s["comm"] == "date" and s["source"] == "bpf"
assert s["cause"] in ("clock_settime", "settimeofday")
# the step is target - REALTIME at the call, which lies between the reads
assert target - before - elapsed <= s["delta_ns"] <= target - before + 1000000
assert summ["steps"] == 1 and summ["exit_status"] == 0
EOF
then
	result ok "clockwatch guard reports the step made by date, its size and caller"
else
	sed 's/^/# /' "$tmp/guard.err" "$tmp/guard.json"
	result not-ok "clockwatch guard reports the step made by date, its size and caller"
fi

# clockwatch watch without the module: steps with their caller and pauses,
# from the BPF source.  Ready when its clock tracker's programs are loaded.
"$cli" watch --json --timeout 120 > "$tmp/watch.json" 2> "$tmp/watch.err" &
w=$!
i=0
while ! bpftool prog show 2>/dev/null | grep -q 'name exit_clock_set' && [ $i -lt 120 ]; do
	sleep 0.5
	i=$((i + 1))
done
sh -c 'while :; do :; done' &
spin=$!
sleep 0.5
# The truth of each step: REALTIME - MONOTONIC after it minus before it
# (nothing else steps the clock here), whatever date's start-up took.
o0=$(real_minus_mono)
date -s "@$(( $(date +%s) + 3 ))" > /dev/null
o1=$(real_minus_mono)
kill -STOP "$spin"
sleep 0.3
kill -CONT "$spin"
date -s "@$(( $(date +%s) - 3 ))" > /dev/null
o2=$(real_minus_mono)
sleep 1
kill -INT "$w"
wait "$w"
kill "$spin"
wait "$spin" 2>/dev/null
if python3 - "$tmp/watch.json" "$spin" "$((o1 - o0))" "$((o2 - o1))" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
spin = int(sys.argv[2])
made = [int(a) for a in sys.argv[3:5]]
steps = [l for l in lines if l.get("type") == "step" and l.get("source") == "bpf"]
stops = [l for l in lines if l.get("type") == "pause" and l["pid"] == spin
         and l["kind"] == "stopped"]
print("# watch: %d steps by %s, %+.6f s then %+.6f s (made %+.6f s, %+.6f s);"
      " spinner stopped %.1f ms"
      % (len(steps), ",".join(s["comm"] for s in steps),
         steps[0]["delta_ns"] / 1e9 if steps else 0,
         steps[-1]["delta_ns"] / 1e9 if steps else 0,
         made[0] / 1e9, made[1] / 1e9,
         stops[0]["duration_ns"] / 1e6 if stops else 0))
assert len(steps) == 2 and all(s["comm"] == "date" for s in steps)
# each within 1 ms of the step made, measured by brackets on both sides
assert all(abs(s["delta_ns"] - m) <= 1e6 for s, m in zip(steps, made))
assert len(stops) == 1 and stops[0]["duration_ns"] >= 250e6
EOF
then
	result ok "clockwatch watch shows steps with their caller, and pauses, without the module"
else
	sed 's/^/# /' "$tmp/watch.err" "$tmp/watch.json" | head -40
	result not-ok "clockwatch watch shows steps with their caller, and pauses, without the module"
fi

"$cli" status > "$tmp/status.txt" 2>&1
rc=$?
"$cli" status --json > "$tmp/status.json" 2> /dev/null
if [ $rc = 0 ] && grep -q '^module-less mode: /dev/clockwatch is absent: the module is not loaded' "$tmp/status.txt" &&
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["type"] == "modless" and j["bpf"]["pauses"] and j["bpf"]["clock_changes"]
assert any(m["feature"] == "cpu_stalls" for m in j["missing"])' "$tmp/status.json"; then
	result ok "clockwatch status names the missing module and what still works"
else
	sed 's/^/# /' "$tmp/status.txt" "$tmp/status.json"
	result not-ok "clockwatch status names the missing module and what still works"
fi

if "$cli" guard --pin > "$tmp/pin.txt" 2>&1 && "$cli" guard --status >> "$tmp/pin.txt" 2>&1 &&
	grep -q '^guard: pinned under /sys/fs/bpf/clockwatch' "$tmp/pin.txt" &&
	"$cli" guard --unpin >> "$tmp/pin.txt" 2>&1 && [ ! -e /sys/fs/bpf/clockwatch ] &&
	! "$cli" guard --status >> "$tmp/pin.txt" 2>&1; then
	result ok "clockwatch guard --pin, --status, --unpin"
else
	sed 's/^/# /' "$tmp/pin.txt"
	result not-ok "clockwatch guard --pin, --status, --unpin"
fi

echo "TAP version 13"
echo "1..$(printf '%s' "$results" | grep -c '^')"
printf '%s' "$results"
exit $fail
