#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of disrupt_test.py, in the snapshot test VM
# (scripts/vm-image: busybox sh, the module loaded by /init).
#
#   sh disrupt_guest.sh SETTLE_S ACTION...
#
# chronyd keeps the guest's clock on the host's through cwtruth's SOCK
# refclock feed, clockwatch chrony-report passes chronyd's remaining
# correction to the module, cwtruth samples libclockwatch's bound every
# 10 ms against exchanges with the host's clock, "clockwatch watch
# --json" records the module's events and "clockwatch stalls" runs over
# all of it.  Once chronyd is synchronised
# (its own word, and the exchanges agree within 2 ms), each ACTION in
# turn:
#
#   load-on, load-off   start or stop stress-ng on every CPU (not a
#                       disruption: no host action follows)
#   anything else       "#do N ACTION" on the results port for the host
#                       to carry out (a QMP stop/cont, savevm/loadvm or a
#                       migration), then SETTLE_S seconds of the guest's
#                       own clock
#
# Everything is kept in the guest's RAM until the end: a loadvm takes the
# guest back to the snapshot, logs included, so what comes out is one
# timeline as the guest lived it.  At the end the log, the marks and the
# events go to the results port as "#file NAME", base64 of gzip, "#eof".
settle=${1:?usage: disrupt_guest.sh SETTLE_S ACTION...}
shift
r=${CW_RESULTS:?no results port}
d=/tmp/cw-disrupt
mkdir -p "$d"
mkdir -m 0750 /run/chrony	# chronyd refuses a command socket in a wider one
log=$d/truth.tsv
marks=$d/marks
max_rtt_us=4000		# the refclock's "delay" in /etc/chrony/chrony.conf
: > "$marks"

say() { echo "$*" > "$r"; }
mark() { echo "$(cwtruth --now-raw) $*" >> "$marks"; }
uptime_s() { cut -d. -f1 /proc/uptime; }

synced() {
	chronyc -c -n tracking 2>/dev/null | awk -F, '$1 == "484F5354" &&
		$14 != "Not synchronised" && ($5 < 0 ? -$5 : $5) < 0.001 { ok = 1 }
		END { exit !ok }' || return 1
	# and the latest short exchanges put the guest within 2 ms of the host
	tail -n 200 "$log" | awk -F'\t' -v max="$max_rtt_us" '
		$1 == "X" && ($5 - $3) <= max * 1000 {
			off = ($7 + $8) - ($4 + ($5 - $3) / 2)
			n++
			if (off > 2e6 || off < -2e6)
				bad++
		}
		END { exit !(n >= 5 && !bad) }'
}

dump() { # name file
	say "#file $1"
	gzip -c "$2" | base64 > "$r"
	say "#eof"
}

cwtruth --log "$log" --tty /dev/ttyS1 --chrony-sock /run/chrony.host.sock \
	--max-rtt-us "$max_rtt_us" --ctl "$d/ctl" --cli clockwatch \
	2> "$d/cwtruth.err" &
truth_pid=$!
clockwatch watch --json > "$d/events.json" 2> "$d/watch.err" &
watch_pid=$!
chronyd -u root -f /etc/chrony/chrony.conf -L 0 -l "$d/chronyd.log"
for _ in $(seq 50); do
	[ -S /run/chrony/chronyd.sock ] && break
	sleep 0.1
done
clockwatch chrony-report > "$d/chrony-report.log" 2>&1 &
report_pid=$!

echo "# kernel $(uname -r), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" > "$r"
t0=$(uptime_s)
while ! synced; do
	if [ $(($(uptime_s) - t0)) -ge 300 ]; then
		say "#fail chronyd not synchronised to the host in 300 s"
		chronyc -n tracking > "$r" 2>&1
		break
	fi
	sleep 0.5
done
say "#synced $(($(uptime_s) - t0))"
# the stall view over every disruption: its summary (at SIGINT) counts
# the host pauses the module's RTC audit saw meanwhile
clockwatch stalls --json --quiet --threshold 1000 > "$d/stalls.json" \
	2> "$d/stalls.err" &
stalls_pid=$!
mark phase steady
sleep 10

n=0
load_pid=
for a in "$@"; do
	case "$a" in
	load-on)
		stress-ng --cpu 0 --quiet > /dev/null 2>&1 &
		load_pid=$!
		sleep 1
		if kill -0 "$load_pid" 2>/dev/null; then
			say "#load stress-ng --cpu $(nproc)"
		else
			say "#fail stress-ng did not start"
		fi
		mark load on
		continue ;;
	load-off)
		[ -n "$load_pid" ] && kill "$load_pid" && wait "$load_pid"
		load_pid=
		mark load off
		continue ;;
	esac
	n=$((n + 1))
	mark phase "do$n"
	say "#do $n $a"
	sleep "$settle"
done
mark end
[ -n "$load_pid" ] && kill "$load_pid" && wait "$load_pid"

kill -INT "$stalls_pid" && wait "$stalls_pid"
kill "$truth_pid" "$watch_pid" "$report_pid" 2>/dev/null
wait "$truth_pid" "$watch_pid" 2>/dev/null
kill "$(cat /run/chronyd.pid 2>/dev/null)" 2>/dev/null
say "#status $(clockwatch status --json | tr -d '\n')"
dump truth.tsv "$log"
dump marks "$marks"
dump events.json "$d/events.json"
dump stalls.json "$d/stalls.json"
dump stalls.err "$d/stalls.err"
dump chronyd.log "$d/chronyd.log"
dump chrony-report.log "$d/chrony-report.log"
say "#done"
