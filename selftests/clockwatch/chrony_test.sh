#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real sync daemon: Debian's chronyd, synchronising to a second chronyd
# that serves on 127.0.0.1 in the same machine (with -x, so the server
# never touches the clock).  clockwatch must record chronyd's adjtimex
# writes (maxerror, esterror, status, freq, offset) with its pid and comm,
# a "date -s" step as made by date with its size, and chronyd's writes
# after the step that bring the sync state back.  TAP; run as root in the
# test VM (run_vm.sh), with the module loaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cli=${CLOCKWATCH_CLI:-$here/../../userspace/build/clockwatch}
dir=$(mktemp -d /tmp/cw-chrony.XXXXXX)
port=11123
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
check() { # description command...
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

echo "TAP version 13"
if ! command -v chronyd >/dev/null 2>&1; then
	echo "1..0 # SKIP chronyd not installed"
	exit 0
fi
if [ -z "${CLOCKWATCH_DESTRUCTIVE:-}" ] || [ ! -c /dev/clockwatch ]; then
	echo "1..0 # SKIP needs /dev/clockwatch and CLOCKWATCH_DESTRUCTIVE=1"
	exit 0
fi
echo "1..8"

cat > "$dir/server.conf" <<CONF
port $port
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 3
cmdport 0
pidfile $dir/server.pid
CONF
# Poll every 2 s, step at once on a large offset: converges in seconds.
cat > "$dir/client.conf" <<CONF
server 127.0.0.1 port $port iburst minpoll 1 maxpoll 1
port 0
cmdport 0
makestep 0.5 -1
maxupdateskew 1000
pidfile $dir/client.pid
driftfile $dir/drift
CONF

# Only the clock events: other trackers' (stalls) would swamp the file.
{ "$cli" watch --json 2> "$dir/watch.err" & echo $! > "$dir/watch.pid"; wait; } |
	grep --line-buffered -E '"type":"(step|ntp_adjust|disruption)"' \
	> "$dir/events.json" &
watch_pid=$!
sleep 0.5

chronyd -x -u root -f "$dir/server.conf" -L 1 -l "$dir/server.log"
chronyd -u root -f "$dir/client.conf" -L 1 -l "$dir/client.log"
sleep 1
cpid=$(cat "$dir/client.pid" 2>/dev/null)
echo "# client chronyd pid ${cpid:-?}"

# Wait (bounded) for the client's first clock update: a maxerror write.
# Deadlines on the uptime: a count of sleeps stretches under a slow VM,
# and the test steps CLOCK_REALTIME.
uptime_s() { cut -d. -f1 /proc/uptime; }
wait_for() { # seconds grep-pattern [first-line]
	end=$(($(uptime_s) + $1))
	while [ "$(uptime_s)" -lt $end ]; do
		tail -n +"${3:-1}" "$dir/events.json" | grep -q "$2" && return 0
		sleep 0.2
	done
	return 1
}
jfield='"pid":'"$cpid"',"tid":[0-9]*,"comm":"chronyd"'
wait_for 40 "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"maxerror\""
check "chronyd's maxerror writes recorded, pid and comm chronyd" \
	grep -q "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"maxerror\"" "$dir/events.json"
check "chronyd's esterror writes recorded" \
	grep -q "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"esterror\"" "$dir/events.json"
check "chronyd's status writes recorded" \
	grep -q "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"status\"" "$dir/events.json"
wait_for 30 "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"offset\""
wait_for 30 "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"freq\""
check "chronyd's freq writes recorded" \
	grep -q "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"freq\"" "$dir/events.json"
check "chronyd's offset writes recorded" \
	grep -q "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"offset\"" "$dir/events.json"

# date -s: a step of +2 s by date; the offsets around it are the truth,
# each from the tightest of 20 MONOTONIC-REALTIME-MONOTONIC brackets (a
# single pair of reads can be ms apart when the host does not run the VM).
offset_py='import time
m = time.CLOCK_MONOTONIC
best = None
for _ in range(20):
    a = time.clock_gettime_ns(m)
    r = time.clock_gettime_ns(time.CLOCK_REALTIME)
    b = time.clock_gettime_ns(m)
    if best is None or b - a < best[0]:
        best = (b - a, r - (a + b) // 2)
print(best[1])'
before=$(python3 -c "$offset_py")
date -s '+2 seconds' > /dev/null
after=$(python3 -c "$offset_py")
made=$((after - before))
mark=$(wc -l < "$dir/events.json")
sleep 0.5
line=$(grep '"type":"step".*"comm":"date"' "$dir/events.json" | tail -1)
delta=$(printf '%s' "$line" | sed -n 's/.*"delta_ns":\(-\{0,1\}[0-9]*\).*/\1/p')
echo "# date -s +2 s: made ${made} ns (python reads), recorded ${delta:-none} ns"
err=$(( ${delta:-0} - made ))
[ $err -lt 0 ] && err=$((-err))
# date's own reads of the clock and its settimeofday() are the slack
check "date -s recorded as a step by date, size within 5 ms" \
	test -n "$delta" -a "$err" -lt 5000000

# chronyd goes on after the step: its next maxerror write after it.
got=
wait_for 40 "\"type\":\"ntp_adjust\".*$jfield.*\"written\":\[[^]]*\"maxerror\"" \
	"$((mark + 1))" && got=1
check "chronyd's correction after the step recorded (maxerror written again)" \
	test -n "$got"
# The disruption ends at chronyd's second update after the step: the
# first was computed from measurements taken mostly before it.
end=$(($(uptime_s) + 40))
while :; do
	state=$("$cli" status --json | sed -n 's/.*"sync_state":"\([a-z_]*\)".*/\1/p')
	[ "$state" = disrupted ] && [ "$(uptime_s)" -lt $end ] || break
	sleep 0.2
done
echo "# sync_state after chronyd's updates: $state"
check "sync state back from disrupted after chronyd's updates" \
	test "$state" = synchronized -o "$state" = unsynchronized

kill "$(cat "$dir/client.pid")" "$(cat "$dir/server.pid")" 2>/dev/null
kill "$(cat "$dir/watch.pid")" 2>/dev/null
wait $watch_pid 2>/dev/null
if [ $fail -ne 0 ]; then
	echo "# client log:"; sed 's/^/# /' "$dir/client.log" | tail -20
	echo "# events:"; grep chronyd "$dir/events.json" | head -5 | sed 's/^/# /'
fi
rm -rf "$dir"
exit $fail
