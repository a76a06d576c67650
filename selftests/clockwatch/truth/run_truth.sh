#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The truth suite: libclockwatch's bounds against the host's clock, with a
# real chronyd keeping the guest's clock on that same host clock, through
# steps, slews, foreign frequency writes, a dead daemon and (--long)
# rehearsed leap seconds.  TAP.  Runs as root in a test VM started with
# --ref (the host's reference on /dev/ttyS1):
#
#   scripts/vm --kernel 6.1 --ref --log /tmp/truth.dmesg -- \
#           selftests/clockwatch/truth/run_truth.sh [--long] \
#           [--daemon chrony|ntpsec] [--no-module] [--only LETTERS] \
#           .build/6.1/kmod/clockwatch.ko
#
# --only runs some of the scenarios a to g below (g needs --long).
#
# --daemon ntpsec: ntpsec's ntpd instead of chronyd, a daemon that
# disciplines through the kernel PLL (STA_PLL), fed through its SHM
# refclock; the scenarios that mean something for it: a (steady), c (an
# offset slewed out through the PLL), e (ntpd killed).  --no-module: the
# module is not loaded and the library reads adjtimex() instead
# (CW_CLOCK_ADJTIMEX), with either daemon.
#
# Each phase's line asserts that no bound libclockwatch gave (the library
# every 10 ms, the CLI every second) missed the host's time.  The harness
# checks itself too: chronyd synchronised to the reference, exchanges
# lost below 1 %, and chronyd's own claimed bound (ClockBound's formula)
# holding during steady sync.  The records, the marks and the report go
# to /.cwrun/out (FILE.out/ next to scripts/vm's --log FILE).
#
# Debian's chrony.conf, less the network sources, plus the refclock:
# "delay" is the longest exchange fed to chronyd, so half chronyd's root
# delay covers a sample's error (at most half its round trip; see
# cwtruth.c).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cwtruth=$here/../build/cwtruth
cli=$top/userspace/build/clockwatch
report=$here/truth_report.py
max_rtt_us=4000
csock=/run/chrony/cwtruth.sock

long=0
only=abcdefg
daemon=chrony
no_module=0
while [ $# -gt 0 ]; do
	case "$1" in
	--long) long=1; shift ;;
	--only) only=$2; shift 2 ;;
	--daemon) daemon=$2; shift 2 ;;
	--no-module) no_module=1; shift ;;
	-*)	echo "run_truth: unknown option $1" >&2; exit 2 ;;
	*)	break ;;
	esac
done
ko=${1:?usage: run_truth.sh [--long] [--daemon chrony|ntpsec] [--no-module] [--only LETTERS] MODULE.ko}
case "$daemon" in
chrony) supported=abcdefg ;;
# b (date -s of 1 s) is beyond ntpd's slew-only configuration below, d is
# chronyd's view of foreign frequency writes, f and g are chronyd options
ntpsec) supported=ace ;;
*) echo "run_truth: --daemon chrony or ntpsec" >&2; exit 2 ;;
esac
# --only: the scenarios to run, by letter (after the start, which always
# runs); g, the leap seconds, needs --long too.
want() {
	case "$supported" in *"$1"*) ;; *) return 1 ;; esac
	case "$only" in *"$1"*) return 0 ;; esac
	return 1
}

if [ "$(id -u)" != 0 ] || [ -z "${CW_IN_VM:-}" ]; then
	echo "run_truth: run as root in the test VM (it steps the clock)" >&2
	exit 2
fi
for f in "$cwtruth" "$cli"; do
	if [ ! -x "$f" ]; then
		echo "run_truth: $f missing: make userspace selftests" >&2
		exit 2
	fi
done

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
check() { # description command...
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
comment() { sed 's/^/# /'; }

# ntpsec: installed, or unpacked by scripts/deps (its package conflicts
# with chrony's)
ntpd=$(command -v ntpd 2>/dev/null || echo "$top/.cache/ntpsec/usr/sbin/ntpd")
ntpq=$(command -v ntpq 2>/dev/null || echo "$top/.cache/ntpsec/usr/bin/ntpq")
ntp_conf_base=/etc/ntpsec/ntp.conf
[ -f $ntp_conf_base ] || ntp_conf_base=$top/.cache/ntpsec/etc/ntpsec/ntp.conf

echo "TAP version 13"
if [ ! -c /dev/ttyS1 ]; then
	echo "1..0 # SKIP needs the host reference (scripts/vm --ref)"
	exit 0
fi
if [ $daemon = chrony ] && ! command -v chronyd >/dev/null 2>&1; then
	echo "1..0 # SKIP needs chronyd"
	exit 0
fi
if [ $daemon = ntpsec ] && ! [ -x "$ntpd" ]; then
	echo "1..0 # SKIP needs ntpsec's ntpd (scripts/deps)"
	exit 0
fi

dir=$(mktemp -d /tmp/cw-truth.XXXXXX)
out=$dir
if mkdir -p /.cwrun/out 2>/dev/null; then
	out=/.cwrun/out
fi
log=$dir/truth.tsv
marks=$dir/marks
: > "$marks"

uptime_s() { cut -d. -f1 /proc/uptime; }
mark() { # phase NAME | step NAME | end
	echo "$("$cwtruth" --now-raw) $*" >> "$marks"
}
# Sleep on the uptime, not on a count of sleeps: the test steps REALTIME.
pause() { # seconds
	end=$(($(uptime_s) + $1))
	while [ "$(uptime_s)" -lt $end ]; do sleep 0.5; done
}

# chronyc -c tracking, one field: 1 refid, 5 system time, 14 leap status
tracking() { chronyc -c -n tracking 2>/dev/null | cut -d, -f"$1"; }
# The kernel's NTP state, one field: state, status, maxerror_us, offset_ns
kstatus() { "$cwtruth" --kstatus | tr ' ' '\n' | sed -n "s/^$1=//p"; }
daemon_state() { # for the log, when something did not synchronise
	if [ $daemon = ntpsec ]; then
		"$cwtruth" --kstatus
		"$ntpq" -n -c rv -c pe 127.0.0.1 2>&1
		tail -5 "$dir/ntpd.log"
	else
		chronyc -n tracking 2>&1
		tail -5 "$dir/chronyd.log"
	fi
}
# chronyd synchronised to the reference, its correction under 1 ms; ntpd
# disciplining the kernel PLL (STA_PLL, STA_UNSYNC clear), its remaining
# offset under 1 ms and its maxerror under 20 ms (after its first step
# ntpd writes seconds for a while, its filter's dispersion decaying: not
# yet steady sync)
# shellcheck disable=SC2154 # state, status, ... set by the eval
synced() {
	if [ $daemon = ntpsec ]; then
		k=$("$cwtruth" --kstatus) || return 1
		# state= status= maxerror_us= offset_ns= constant=
		eval "$k"
		off=${offset_ns#-}
		[ $((status & 0x1)) != 0 ] && [ $((status & 0x40)) = 0 ] &&
			[ "$state" != 5 ] && [ "$off" -lt 1000000 ] &&
			[ "$maxerror_us" -lt 20000 ]
		return
	fi
	t=$(chronyc -c -n tracking 2>/dev/null) || return 1
	echo "$t" | awk -F, '$1 == "484F5354" && $14 != "Not synchronised" &&
		($5 < 0 ? -$5 : $5) < 0.001 { ok = 1 } END { exit !ok }'
}
# ... and the guest's clock within 2 ms of the host's by the latest short
# exchanges.  chronyd's word alone is not enough: right after a step its
# correction is still small, as it has not measured the step yet.
settled() {
	synced || return 1
	tail -n 200 "$log" | awk -F'\t' -v max="$max_rtt_us" '
		$1 == "X" && ($5 - $3) <= max * 1000 {
			off = ($7 + $8) - ($4 + ($5 - $3) / 2)
			n++
			if (off > 2e6 || off < -2e6)
				bad++
		}
		END { exit !(n >= 5 && !bad) }'
}
wait_synced() { # seconds
	end=$(($(uptime_s) + $1))
	while [ "$(uptime_s)" -lt $end ]; do
		settled && return 0
		sleep 0.5
	done
	return 1
}

write_conf() { # file rtcsync(0|1) leapsectz(0|1)
	grep -vE '^[[:space:]]*(pool|server|peer|sourcedir|driftfile|logdir|rtcsync|leapsectz)([[:space:]]|$)' \
		/etc/chrony/chrony.conf > "$1"
	[ "$2" = 1 ] && echo "rtcsync" >> "$1"
	[ "$3" = 1 ] && grep -E '^[[:space:]]*leapsectz' /etc/chrony/chrony.conf >> "$1"
	cat >> "$1" <<CONF
driftfile $dir/chrony.drift
logdir $dir
pidfile $dir/chronyd.pid
refclock SOCK $csock refid HOST poll 0 delay $(awk "BEGIN { print $max_rtt_us / 1e6 }")
CONF
}
start_chronyd() { # conf
	rm -f "$dir/chronyd.pid"
	chronyd -u root -f "$1" -L 0 -l "$dir/chronyd.log"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -s "$dir/chronyd.pid" ] && return 0
		sleep 0.5
	done
	return 1
}
stop_chronyd() { # signal
	pid=$(cat "$dir/chronyd.pid" 2>/dev/null) || return 0
	kill -"$1" "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	rm -f "$dir/chronyd.pid"
}
# Debian's ntp.conf, less the network sources and its tos, plus the SHM
# refclock at ntpsec's shortest poll (minpoll 0, 1 s).  ntpd's maxerror
# for a refclock is its root dispersion alone: a refclock has no delay
# and no refclock option adds any (time1 shifts, it does not widen), so
# the sample's own error, up to half the longest round trip fed, is not
# in it.  "tos mindist" is the one term that reaches it: the floor of
# the root dispersion ntpd writes (1 ms by default).  Set to the longest
# round trip fed, it covers the sample's error twice: once for that
# error, once for what ntpd itself adds on top (|offset|, jitter, the
# dispersion's growth) before its own sum exceeds the floor.  A floor,
# not a sum as chronyd's delay is: see README.rst for what the truth
# shows of it.  "tinker step 0.4": offsets up to 400 ms are slewed
# through the kernel PLL rather than stepped (the kernel discipline is
# used only while the step threshold is at most 0.5 s).  A drift file
# from the start: without one ntpd ignores its first 300 s of updates.
write_ntp_conf() { # file
	{
		echo "tinker step 0.4"
		grep -vE '^[[:space:]]*(pool|server|peer|driftfile|statsdir|logfile|tos|statistics|filegen|refclock)([[:space:]]|$)' \
			"$ntp_conf_base" | grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$' |
			while read -r l; do
				# a leapfile that is not there would only be noise
				case "$l" in leapfile*) [ -f "${l#leapfile }" ] || continue ;; esac
				echo "$l"
			done
		cat <<CONF
driftfile $dir/ntp.drift
statsdir $dir/
statistics loopstats clockstats
filegen loopstats type none enable
filegen clockstats type none enable
tos minclock 1 minsane 1 mindist $(awk "BEGIN { print $max_rtt_us / 1e6 }")
refclock shm unit 0 refid HOST minpoll 0 maxpoll 0 prefer
CONF
	} > "$1"
	[ -f "$dir/ntp.drift" ] || echo "0.000" > "$dir/ntp.drift"
}
ntpd_pid=
start_ntpd() { # [ntpd options]
	"$ntpd" -n -g "$@" -c "$dir/ntp.conf" -p "$dir/ntpd.pid" \
		-l "$dir/ntpd.log" >> "$dir/ntpd.out" 2>&1 &
	ntpd_pid=$!
	sleep 0.5
	kill -0 "$ntpd_pid" 2>/dev/null
}
stop_ntpd() { # signal
	[ -n "$ntpd_pid" ] || return 0
	kill -CONT "$ntpd_pid" 2>/dev/null
	kill -"$1" "$ntpd_pid" 2>/dev/null
	wait "$ntpd_pid" 2>/dev/null
	ntpd_pid=
}
start_daemon() { # chrony conf | ntpd options
	if [ $daemon = ntpsec ]; then start_ntpd "$@"; else start_chronyd "$@"; fi
}
stop_daemon() { # signal
	if [ $daemon = ntpsec ]; then stop_ntpd "$1"; else stop_chronyd "$1"; fi
}

# A control line to the host's reference; waits for its OK.
control() { # line
	echo "$1" > "$dir/ctl"
	end=$(($(uptime_s) + 5))
	while [ "$(uptime_s)" -lt $end ]; do
		grep -q "^C	.*	$1	OK" "$log" && return 0
		sleep 0.2
	done
	return 1
}

cleanup() {
	[ -n "${truth_pid:-}" ] && kill "$truth_pid" 2>/dev/null
	[ -n "${report_pid:-}" ] && kill "$report_pid" 2>/dev/null
	stop_daemon TERM
}
trap cleanup EXIT

echo "# kernel $(uname -r), $(nproc) CPUs, clocksource" \
	"$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
	"$([ $long = 1 ] && echo long || echo short) version, $daemon," \
	"$([ $no_module = 1 ] && echo "no module (adjtimex)" || echo module)"
# The library is linked in: say which build ran.
echo "# cwtruth built $(date -u -r "$cwtruth" +%FT%TZ)," \
	"libclockwatch.a $(date -u -r "$top/userspace/build/libclockwatch.a" +%FT%TZ)"
if [ $no_module = 1 ]; then
	# the library's adjtimex() mode, as where the module cannot be loaded
	check "module not loaded: the bound from adjtimex() (CW_CLOCK_ADJTIMEX)" \
		test ! -e /dev/clockwatch
elif [ -c /dev/clockwatch ] || insmod "$ko"; then
	ok "module loaded"
else
	not_ok "module loaded"
	exit 1
fi

mkfifo "$dir/ctl"
if [ $daemon = ntpsec ]; then
	write_ntp_conf "$dir/ntp.conf"
	feed="--ntp-shm 0 --no-tracking"
	echo "# $("$ntpd" --version 2>&1 | head -1), SHM refclock unit 0"
else
	mkdir -p -m 0750 /run/chrony
	write_conf "$dir/chrony.conf" 1 1
	write_conf "$dir/chrony-nortc.conf" 0 1
	write_conf "$dir/chrony-noleaptz.conf" 1 0
	feed="--chrony-sock $csock"
fi
[ $no_module = 1 ] && feed="$feed --adjtimex"

# shellcheck disable=SC2086
"$cwtruth" --log "$log" $feed --max-rtt-us "$max_rtt_us" \
	--ctl "$dir/ctl" --cli "$cli" &
truth_pid=$!
end=$(($(uptime_s) + 10))
while [ "$(uptime_s)" -lt $end ] && ! grep -q '^X' "$log" 2>/dev/null; do
	sleep 0.2
done
if ! grep -q '^X' "$log" 2>/dev/null; then
	not_ok "exchanges with the host's reference"
	exit 1
fi
ok "exchanges with the host's reference"

# (start) the daemon comes up and synchronises to the reference
mark phase s_start
if [ $daemon = ntpsec ]; then
	# -G: step the first offset, whatever its size.  ntpd hands the
	# clock to the kernel PLL at its first update under 0.5 ms after
	# that; until then, for up to 300 s, it slews by adjtime() itself
	# and writes nothing to the kernel (unsynchronised: no bound).  A
	# sample's error here reaches 2 ms, so that first update is luck:
	# without it in 40 s, ntpd is started again, three times at most.
	t0=$(uptime_s)
	tries=0
	while [ $tries -lt 3 ]; do
		tries=$((tries + 1))
		start_ntpd -G || echo "# ntpd did not start"
		wait_synced 40 && break
		echo "# ntpd not synchronised in 40 s (try $tries):"
		daemon_state | comment
		stop_ntpd TERM
	done
	if [ -n "$ntpd_pid" ]; then
		ok "ntpd synchronised to the host's reference through the kernel PLL ($(kstatus status)) in $(($(uptime_s) - t0)) s, start $tries"
	else
		not_ok "ntpd synchronised to the host's reference in 3 starts"
		start_ntpd -G
	fi
	pause 3
fi
[ $daemon = chrony ] && start_chronyd "$dir/chrony.conf"
# The library bounds a clock that chronyd slews only with chronyd's word
# on what is left to slew: the CLI's helper passes it to the module, as
# it would run beside chronyd anywhere.  It outlives chronyd's restarts.
if [ $daemon = ntpsec ] || [ $no_module = 1 ]; then
	: # ntpd's correction is the kernel PLL's offset; no module to pass it to
elif "$cli" chrony-report --help > /dev/null 2>&1; then
	"$cli" chrony-report > "$dir/chrony-report.log" 2>&1 &
	report_pid=$!
	echo "# clockwatch chrony-report runs beside chronyd"
else
	echo "# this CLI has no chrony-report: chronyd's remaining correction is not passed on"
fi
if [ $daemon = chrony ]; then
	t0=$(uptime_s)
	if wait_synced 60; then
		ok "chronyd synchronised to the host's reference (refid HOST, leap $(tracking 14)) in $(($(uptime_s) - t0)) s"
	else
		not_ok "chronyd synchronised to the host's reference"
		daemon_state | comment
	fi
	pause 3
fi

# (a) steady
if want a; then
	mark phase a_steady
	if [ $long = 1 ]; then pause 300
	elif [ $daemon = ntpsec ]; then pause 30
	else pause 60
	fi
fi

# (b) a step of +1 s by another process, then -1 s once chronyd corrected
# it; Debian's "makestep 1 3" lets chronyd step only in its first three
# updates, so it slews both out.
if want b; then
	mark phase b_step
	for d in '+1 second' '-1 second'; do
		mark step "date -s '$d'"
		date -s "$d" > /dev/null
		pause 3
		t0=$(uptime_s)
		if wait_synced 90; then
			echo "# chronyd corrected date -s '$d' in $(($(uptime_s) - t0 + 3)) s"
		else
			echo "# chronyd did not correct date -s '$d' in 90 s"
		fi
		pause 5
	done
fi

# (c) ntpsec: the clock off by 300 ms while ntpd is stopped (SIGSTOP,
# so that it keeps its state: a new ntpd slews by adjtime() itself for
# 300 s before it uses the PLL); ntpd continued slews it out through the
# kernel PLL (under "tinker step 0.4").  Without the module the library
# sees only what the kernel says: the offset comes with STA_UNSYNC, as
# from a process that steps the clock and says so (a silent foreign
# step is beyond adjtimex(): bound.rst, "Without the module").
if want c && [ $daemon = ntpsec ]; then
	mark phase c_slew
	kill -STOP "$ntpd_pid"
	pause 2
	if [ $no_module = 1 ]; then
		mark step "STA_UNSYNC and ADJ_SETOFFSET +300 ms, ntpd stopped"
		"$cwtruth" --adj-unsync
	else
		mark step "ADJ_SETOFFSET +300 ms, ntpd stopped"
	fi
	"$cwtruth" --adj-offset 300000000
	pause 2
	kill -CONT "$ntpd_pid"
	t0=$(uptime_s)
	if wait_synced 90; then
		echo "# ntpd slewed 300 ms out in $(($(uptime_s) - t0)) s"
	else
		echo "# ntpd did not correct 300 ms in 90 s"
		daemon_state | comment
	fi
	pause 5
fi

# (c) the clock off by 300 ms while chronyd is stopped; chronyd started
# again slews it out (under makestep's 1 s)
if want c && [ $daemon = chrony ]; then
	mark phase c_slew
	stop_chronyd TERM
	pause 2
	mark step "ADJ_SETOFFSET +300 ms, chronyd stopped"
	"$cwtruth" --adj-offset 300000000
	pause 2
	start_chronyd "$dir/chrony.conf"
	t0=$(uptime_s)
	if wait_synced 90; then
		echo "# chronyd slewed 300 ms out in $(($(uptime_s) - t0)) s"
	else
		echo "# chronyd did not correct 300 ms in 90 s"
	fi
	pause 5
fi

# (d) +200 ppm by another process: the frequency, then the tick
if want d; then
	mark phase d_freq
	"$cwtruth" --adj-freq 200
	pause $([ $long = 1 ] && echo 60 || echo 15)
	mark phase d_tick
	"$cwtruth" --adj-tick 10002
	pause $([ $long = 1 ] && echo 60 || echo 15)
fi

# (e) the daemon killed: free running
if want e; then
	mark phase e_free
	stop_daemon KILL
	if [ $long = 1 ]; then pause 300
	elif [ $daemon = ntpsec ]; then pause 20
	else pause 60
	fi
fi

# (f) chronyd without rtcsync
if want f; then
	stop_chronyd TERM
	mark phase f_start_nortc
	start_chronyd "$dir/chrony-nortc.conf"
	wait_synced 60
	pause 3
	mark phase f_steady_nortc
	pause $([ $long = 1 ] && echo 120 || echo 30)
fi
stop_daemon TERM

# (g) rehearsed leap seconds (--long): the reference shifted to a minute
# before a midnight UTC at which leap seconds may come (the end of June
# or December: chronyd takes a source's leap only then), the leap
# announced; chronyd without leapsectz, restarted, steps to it.
if [ $long = 1 ] && want g; then
	next=$(python3 -c 'import datetime as d, time
t = d.datetime.now(d.timezone.utc)
for y in range(t.year, t.year + 2):
    for m in (7, 13):
        c = d.datetime(y + m // 13, m % 12 or 12, 1, tzinfo=d.timezone.utc)
        if c.timestamp() > time.time() + 86400:
            print(int(c.timestamp()))
            raise SystemExit')
	for kind in ins del; do
		at=$next
		# Until chronyd has stepped the guest to the shifted time, the
		# reference is weeks away from a clock nobody told: not a phase
		# to hold the bound to, only to report.
		mark phase "g_shift_$kind"
		control "shift_to=$(( (at - 60) * 1000000000 ))" ||
			echo "# the reference did not take shift_to"
		control "leap=$kind at=$((at * 1000000000))" ||
			echo "# the reference did not take leap=$kind"
		start_chronyd "$dir/chrony-noleaptz.conf"
		wait_synced 40 || echo "# chronyd not synchronised before the leap"
		mark phase "g_leap_$kind"
		echo "# leap=$kind at $at: chronyd leap status $(tracking 14)," \
			"REALTIME $(date -u +%FT%T)"
		pause 80
		echo "# after the leap: REALTIME $(date -u +%FT%T)," \
			"leap status $(tracking 14)"
		stop_chronyd TERM
		next=$(python3 -c "import datetime as d
t = d.datetime.fromtimestamp($at, d.timezone.utc)
print(int(t.replace(year=t.year + (t.month == 7), month=1 if t.month == 7 else 7).timestamp()))")
	done
fi
mark end

kill "$truth_pid"
wait "$truth_pid"
truth_pid=
if [ -n "${report_pid:-}" ]; then
	kill "$report_pid" 2>/dev/null
	wait "$report_pid" 2>/dev/null
	report_pid=
fi

grep '^I	stats' "$log" | cut -f4 | comment
"$report" "$log" "$marks" --json "$dir/report.json" > "$dir/report.txt"
comment < "$dir/report.txt"
"$report" "$log" "$marks" --shell > "$dir/report.sh"
. "$dir/report.sh"

# The harness
check "exchanges lost below 1 % ($overall_lost_ppm ppm)" \
	test "$overall_lost_ppm" -lt 10000
if want a && [ $daemon = chrony ]; then
		check "chronyd synchronised to the reference all through steady sync ($a_steady_tracking_synced_host of $a_steady_tracking)" \
			test "$a_steady_tracking" -gt 0 -a "$a_steady_tracking_synced_host" = "$a_steady_tracking"
		check "the guest's REALTIME within chronyd's claimed bound of the host in steady sync ($a_steady_clockbound_violations of $a_steady_clockbound_samples outside)" \
			test "$a_steady_clockbound_samples" -gt 0 -a "$a_steady_clockbound_violations" = 0
fi

# The bounds
phases=s_start
want a && phases="$phases a_steady"
want b && phases="$phases b_step"
want c && phases="$phases c_slew"
want d && phases="$phases d_freq d_tick"
want e && phases="$phases e_free"
want f && phases="$phases f_start_nortc f_steady_nortc"
[ $long = 1 ] && want g && phases="$phases g_leap_ins g_leap_del"
for p in $phases; do
	eval "v=\${${p}_violations:-x} b=\${${p}_with_bound:-0} s=\${${p}_samples:-0}"
	if [ "$v" = x ]; then
		not_ok "$p: no report"
	elif [ "$s" = 0 ]; then
		not_ok "$p: no samples"
	elif [ "$v" != 0 ] && [ "$p" = s_start ] && [ $daemon = ntpsec ] &&
	     [ $no_module = 1 ]; then
		# ntpsec 1.2.2 writes maxerror 16 us with STA_UNSYNC clear as
		# it starts, before it has measured anything (fixed upstream in
		# 1.2.5).  The module does not trust a daemon's first update;
		# adjtimex() alone cannot tell that write from a real one.
		n=$((n + 1))
		echo "not ok $n $p: no bound misses the host's time ($v of $b bounds, $s samples) # TODO ntpsec 1.2.2's placeholder maxerror at start, unseen without the module"
	else
		check "$p: no bound misses the host's time ($v of $b bounds, $s samples)" \
			test "$v" = 0
	fi
done
# Not vacuous: in steady sync, a bound wherever the kernel does not say
# unsynchronised.  ntpd's STA_UNSYNC is its own word that it is not
# synchronised: no bound is owed then, but it must leave at least half
# the phase to the check.
if want a; then
	eval "b=\${a_steady_with_bound:-0} s=\${a_steady_samples:-0} u=\${a_steady_kernel_unsync:-0}"
	# (chronyd's STA_UNSYNC is no such word: without rtcsync it never
	# clears it, and the library takes its report instead)
	[ $daemon = ntpsec ] || u=0
	[ "$u" = 0 ] || echo "# a_steady: STA_UNSYNC in the kernel on $u of $s samples"
	s=$((s - u))
	check "a_steady: a bound on at least 95 % of the samples the kernel calls synchronised ($b of $s, $u left out)" \
		test "$s" -gt 0 -a $((s * 2)) -ge $((s + u)) -a $((b * 100)) -ge $((s * 95))
fi
# ... and with ntpd, made from the kernel PLL's state: STA_PLL in the NTP
# state the bound saw (the page's ntp.status, or adjtimex()'s)
if want a && [ $daemon = ntpsec ]; then
	eval "b=\${a_steady_with_bound:-0} p=\${a_steady_pll:-0}"
	check "a_steady: STA_PLL behind at least 95 % of the bounds ($p of $b)" \
		test "$b" -gt 0 -a $((p * 100)) -ge $((b * 95))
fi
if want c && [ $daemon = ntpsec ]; then
	eval "p=\${c_slew_pll:-0}"
	check "c_slew: the 300 ms slewed out through the PLL, with bounds ($p with STA_PLL)" \
		test "$p" -gt 0
fi

cp "$log" "$marks" "$dir/report.json" "$dir/report.txt" "$dir/chrony.conf" \
	"$out/" 2>/dev/null
cp "$dir/chronyd.log" "$dir/chrony-report.log" "$out/" 2>/dev/null
cp "$dir/ntp.conf" "$dir/ntpd.log" "$dir/ntpd.out" "$dir/loopstats" \
	"$dir/clockstats" "$out/" 2>/dev/null
echo "1..$n"
exit $fail
