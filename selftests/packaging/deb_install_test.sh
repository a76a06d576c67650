#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages (make deb) on a Debian root: install them, let
# clockwatch-dkms's postinst install the module through DKMS for a matrix
# kernel, load it as at boot (systemd-modules-load reads the package's
# modules-load.d file), run the installed tool and the command lines of
# the systemd units (as the users and with the capabilities the units give
# them), verify the installed units, build a program against
# libclockwatch-dev, then rmmod and purge, and find nothing left behind.
# Prints TAP.
#
#   selftests/packaging/deb_install_test.sh [--log FILE] KERNEL DEB-DIRECTORY
#   e.g. selftests/packaging/deb_install_test.sh 6.1 .build/deb
#
# Run on the host, it builds the module with DKMS from the package's own
# sources and dkms.conf (a private DKMS tree, as scripts/dkms-check does),
# then boots the test VM on KERNEL (scripts/vm; --log keeps its kernel
# log) and runs itself there with --guest, where everything else happens.
# The VM's root is the host's, read-only under a tmpfs overlay: dpkg -i
# there changes nothing on the host, and the host's dkms is the guest's.
# DKMS finds the matrix kernel's headers through /lib/modules/REL/build,
# as with linux-headers-REL installed.
#
# Why the compiler runs on the host: DKMS's build of the module under TCG
# takes 4.5 minutes, on the host 15 s.  The host's build reaches the
# guest through DKMS's own channel for prebuilt modules: a DKMS tarball
# (dkms mktarball: the sources and the built module) in
# /usr/share/clockwatch-dkms/, which the package's postinst (dh_dkms's)
# loads with dkms ldtarball instead of adding the bare sources; then it
# runs dkms install as for a module it built, and on purge dkms remove.
#
# The systemd units cannot be started here (the guest's PID 1 is a
# script, not systemd): their ExecStart= lines run under setpriv with the
# units' users and capability sets, and under their system call filters
# (syscall_filter_run.py), instead; the rest of the sandboxing is checked
# by systemd-analyze (scripts/check-units).
set -uo pipefail

usage="usage: deb_install_test.sh [--log FILE] KERNEL DEB-DIRECTORY"
guest=0 log=() tarball=
while [ $# -gt 0 ]; do
	case "$1" in
	--guest) guest=1; tarball=$2; shift 2 ;;
	--log)   log=(--log "$2"); shift 2 ;;
	*)       break ;;
	esac
done
kver=${1:?$usage}
debdir=$(cd "${2:?$usage}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
ver=$(dpkg-deb -f "$debdir"/clockwatch-dkms_*_all.deb Version)
upver=${ver%-*}

if [ "$guest" = 0 ]; then
	[ "${CW_IN_VM:-}" != 1 ] || { echo "deb_install_test: run it on the host" >&2; exit 2; }
	rel=$("$top/scripts/kernels" release "$kver") || exit 1
	kdir=$("$top/scripts/kernels" kdir "$kver") || exit 1
	# Under the build tree: the guest sees it at the same path.
	work=$top/.build/deb-test
	rm -rf "$work"
	mkdir -p "$work/tree"
	trap 'rm -rf "$work"' EXIT
	dpkg-deb -x "$debdir/clockwatch-dkms_${ver}_all.deb" "$work/pkg"
	src=$work/pkg/usr/src
	{
		dkms add --dkmstree "$work/tree" --sourcetree "$src" "clockwatch/$upver" &&
		dkms build --dkmstree "$work/tree" --sourcetree "$src" -k "$rel" \
			--kernelsourcedir "$kdir" "clockwatch/$upver" &&
		dkms mktarball --dkmstree "$work/tree" --sourcetree "$src" -k "$rel" \
			--archive "$work/clockwatch-$upver.dkms.tar.gz" "clockwatch/$upver"
	} > "$work/dkms.log" 2>&1 || {
		echo "not ok 1 DKMS build of the package's sources for $rel"
		sed 's/^/# /' "$work/dkms.log"
		exit 1
	}
	"$top/scripts/vm" --kernel "$kver" --timeout 600 "${log[@]}" -- \
		"$0" --guest "$work/clockwatch-$upver.dkms.tar.gz" "$kver" "$debdir"
	exit $?
fi

n=0
fail=0
tmp=$(mktemp -d)
result() { # status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fail=1
	fi
	echo "# at $SECONDS s"
}
# Run a command, its output as TAP comments when it fails.
quiet() { # description command...
	local d=$1 st
	shift
	"$@" > "$tmp/out" 2>&1
	st=$?
	[ $st = 0 ] || sed 's/^/# /' "$tmp/out" | tail -n 40
	result $st "$d"
}

rel=$(uname -r)
kdir=$("$top/scripts/kernels" kdir "$kver")
debs=("$debdir"/clockwatch-dkms_"$ver"_all.deb "$debdir"/clockwatch_"$ver"_*.deb
      "$debdir"/libclockwatch0_"$ver"_*.deb "$debdir"/libclockwatch-dev_"$ver"_*.deb)
pkgs="clockwatch clockwatch-dkms libclockwatch0 libclockwatch-dev"
port=9817
filter=$top/selftests/packaging/syscall_filter_run.py

echo "TAP version 13"
echo "1..19"

# What udev sets up on a booted system, and dkms's bash needs for <(...).
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# The running kernel's modules directory holds its lists of modules
# (modules.builtin, modules.order) but not the 3,700 modules themselves:
# DKMS runs depmod on install and on remove, and depmod over the whole
# matrix kernel takes 34 s under TCG.  The headers are where
# linux-headers-REL puts them: /lib/modules/REL/build points to
# /usr/src/linux-headers-REL.
moddir=$(readlink -f "/lib/modules/$rel")
rm "/lib/modules/$rel"
mkdir "/lib/modules/$rel"
cp "$moddir"/modules.builtin* "$moddir/modules.order" "/lib/modules/$rel/"
[ -d "/usr/src/linux-headers-$rel" ] || ln -s "$kdir" "/usr/src/linux-headers-$rel"
ln -s "/usr/src/linux-headers-$rel" "/lib/modules/$rel/build"
depmod "$rel"
# man-db's trigger rebuilds its index (31 s under TCG) unless turned off,
# as debconf's man-db/auto-update=false does on servers.
rm -f /var/lib/man-db/auto-update

# Where DKMS, the maintainer scripts and the units' state could leave
# anything, listed whole: names, types, modes and owners' uids (the contents of
# /etc/ld.so.cache and the like change with any package).  A listing of all /usr is too slow over 9p under TCG (minutes): there,
# every path the four packages hold is checked instead (paths_state).
listing() {
	find /etc /usr/src /usr/lib/modules-load.d /lib/systemd/system \
		/var/lib/dkms /var/lib/dpkg/info /var/lib/systemd \
		"/usr/lib/modules/$rel" -printf '%p %y %m %U\n' 2>/dev/null |
		LC_ALL=C sort
}
for d in "${debs[@]}"; do
	dpkg-deb --fsys-tarfile "$d" | tar -t | sed -e 's#^\./#/#' -e 's#/$##'
done | grep . | LC_ALL=C sort -u > "$tmp/paths"
paths_state() {
	while read -r p; do
		if [ -L "$p" ] || [ -e "$p" ]; then echo "$p there"; else echo "$p absent"; fi
	done < "$tmp/paths"
}
listing > "$tmp/before"
paths_state > "$tmp/paths.before"

# The host's DKMS build, where the package's postinst looks for one.
tardir=/usr/share/clockwatch-dkms
mkdir "$tardir"
cp "$tarball" "$tardir/"

quiet "dpkg -i the four packages (postinst: dkms ldtarball, dkms install)" \
	dpkg -i "${debs[@]}"
rm -r "$tardir"

dkms status clockwatch > "$tmp/dkms" 2>&1
grep -q "^clockwatch/$upver, $rel, [^:]*: installed" "$tmp/dkms"
st=$?
[ $st = 0 ] || sed 's/^/# /' "$tmp/dkms"
result $st "dkms status: clockwatch/$upver installed for $rel"

ko=$(modinfo -k "$rel" -n clockwatch 2>/dev/null)
case "$ko" in
/lib/modules/"$rel"/updates/dkms/clockwatch.ko*)
	modinfo -F vermagic "$ko" | grep -q "^$rel "
	result $? "modinfo: DKMS's clockwatch.ko ($ko) has vermagic $rel" ;;
*)
	echo "# modinfo clockwatch: '$ko'"
	result 1 "modinfo: clockwatch.ko in updates/dkms" ;;
esac

# As at boot: systemd-modules-load loads what modules-load.d names.
quiet "systemd-modules-load loads the module (/usr/lib/modules-load.d/clockwatch.conf)" \
	/lib/systemd/systemd-modules-load
for _ in $(seq 50); do
	[ -c /dev/clockwatch ] && break
	sleep 0.1
done
[ -d /sys/module/clockwatch ] && [ -c /dev/clockwatch ]
result $? "/sys/module/clockwatch and /dev/clockwatch are there"

# The installed tool reads the module's page: its REALTIME within 5 s of
# date's.
if /usr/sbin/clockwatch status --json > "$tmp/status" 2> "$tmp/status.err"; then
	python3 - "$tmp/status" "$(date +%s)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
# The page's fields; "type": "modless" when the tool fell back to adjtimex().
rt = s.get("realtime_ns")
ok = s.get("type") != "modless" and "update_count" in s and rt is not None \
    and abs(rt / 1e9 - int(sys.argv[2])) < 5
if not ok:
    print("# type %r, realtime %r, date %s" % (s.get("type"), rt, sys.argv[2]))
sys.exit(0 if ok else 1)
EOF
	result $? "/usr/sbin/clockwatch status: the module's page, REALTIME within 5 s of date"
else
	sed 's/^/# /' "$tmp/status.err"
	result 1 "/usr/sbin/clockwatch status"
fi

# clockwatch-exporter.service's ExecStart, as an unprivileged user with no
# capability at all (DynamicUser=, CapabilityBoundingSet=), under the
# unit's system call filter (syscall_filter_run.py): the module's counters
# in /metrics.
unit=/lib/systemd/system/clockwatch-exporter.service
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
# shellcheck disable=SC2086 # the unit's command line, split as systemd does
setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
	--inh-caps=-all --bounding-set=-all "$filter" "$unit" -- $cmd --count 1 \
	2> "$tmp/exporter.err" &
exporter=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/metrics" > "$tmp/metrics" 2>/dev/null && break
	sleep 0.1
done
wait "$exporter"
st=$?
grep -q '^clockwatch_adjtimex_calls_total ' "$tmp/metrics" &&
	grep -q '^clockwatch_offset_seconds ' "$tmp/metrics"
st2=$?
[ $((st | st2)) = 0 ] || sed 's/^/# /' "$tmp/exporter.err"
result $((st | st2)) "exporter's ExecStart as nobody, no capability, its system calls: /metrics on 127.0.0.1:$port with the module's counters"

# clockwatch-textfile.service's ExecStart, as root without capabilities,
# into node_exporter's directory.
unit=/lib/systemd/system/clockwatch-textfile.service
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
prom=$(sed -n 's/^ExecStart=.*--output \([^ ]*\).*/\1/p' "$unit")
mkdir -p "$(dirname "$prom")"
# shellcheck disable=SC2086
setpriv --no-new-privs --inh-caps=-all --bounding-set=-all \
	"$filter" "$unit" -- $cmd 2> "$tmp/textfile.err"
st=$?
grep -q '^clockwatch_steps_total ' "$prom" 2>/dev/null &&
	grep -q '^clockwatch_offset_seconds ' "$prom" &&
	[ "$(stat -c %a "$prom")" = 644 ]
st2=$?
[ $((st | st2)) = 0 ] || sed 's/^/# /' "$tmp/textfile.err"
result $((st | st2)) "textfile's ExecStart, root without capabilities, its system calls: $prom, mode 644, with the module's counters"
# The filter is real, and ProtectClock= must stay off: without the unit's
# "SystemCallFilter=adjtimex ..." line, as under ProtectClock=yes, the
# read-only adjtimex() fails and the adjtimex() quantities are missing.
grep -v '^SystemCallFilter=adjtimex' "$unit" > "$tmp/no-adjtimex.service"
rm -f "$prom"
# shellcheck disable=SC2086
setpriv --no-new-privs --inh-caps=-all --bounding-set=-all \
	"$filter" "$tmp/no-adjtimex.service" -- $cmd 2> "$tmp/textfile.err"
! grep -q '^clockwatch_offset_seconds ' "$prom" && grep -q 'adjtimex' "$tmp/textfile.err"
st=$?
[ $st = 0 ] || sed 's/^/# /' "$tmp/textfile.err"
result $st "the same without adjtimex in its filter: adjtimex() refused, no clockwatch_offset_seconds"
rm -f "$prom"
rmdir -p "$(dirname "$prom")" 2>/dev/null

# clockwatch-chrony-report.service's ExecStart, once, as _chrony with
# the unit's two capabilities, against a chronyd with no sources: what it
# sent to the module must be chronyd's own tracking report.
unit=/lib/systemd/system/clockwatch-chrony-report.service
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit" | tr 'A-Z ' 'a-z,' | sed 's/cap_/+/g')
mkdir -m 0750 /run/chrony
chown "$user:$user" /run/chrony
printf 'local stratum 8\n' > "$tmp/chrony.conf"
chronyd -f "$tmp/chrony.conf" -u "$user" -l "$tmp/chronyd.log"
for _ in $(seq 50); do
	[ -S /run/chrony/chronyd.sock ] && break
	sleep 0.1
done
# chronyd writes maxerror as it starts; the report waits for that write.
for _ in $(seq 20); do
	# shellcheck disable=SC2086
	setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
		--inh-caps="$caps" --ambient-caps="$caps" --bounding-set="-all,$caps" \
		"$filter" "$unit" -- $cmd --once > "$tmp/report" 2> "$tmp/report.err"
	st=$?
	grep -q 'no sync daemon has written maxerror' "$tmp/report.err" || break
	sleep 0.5
done
if [ $st = 0 ]; then
	python3 - "$tmp/report" <<'EOF' || st=1
import json, sys
r = json.load(open(sys.argv[1]))
ok = r.get("result") == "ok" and r.get("source") is not None
if not ok:
    print("# " + json.dumps(r)[:400])
sys.exit(0 if ok else 1)
EOF
fi
[ $st = 0 ] || { sed 's/^/# /' "$tmp/report.err"; sed 's/^/# chronyd: /' "$tmp/chronyd.log"; }
result $st "chrony-report's ExecStart --once as $user with $caps, its system calls: the report reached the module"
# Again without CAP_SYS_TIME: the module must refuse it, so the test
# above did need the capability the unit gives.
# shellcheck disable=SC2086
! setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
	--inh-caps=-all --bounding-set=-all $cmd --once > /dev/null 2> "$tmp/report.err" &&
	grep -q "needs CAP_SYS_TIME" "$tmp/report.err"
st=$?
[ $st = 0 ] || sed 's/^/# /' "$tmp/report.err"
result $st "chrony-report without CAP_SYS_TIME is refused"
kill "$(cat /run/chrony/chronyd.pid 2>/dev/null)" 2>/dev/null
for _ in $(seq 50); do
	[ -e /run/chrony/chronyd.pid ] || break
	sleep 0.1
done
rm -rf /run/chrony

quiet "systemd-analyze verify: the installed units" \
	systemd-analyze verify --man=no /lib/systemd/system/clockwatch-*.service \
	/lib/systemd/system/clockwatch-*.timer

# libclockwatch-dev: a program built with pkg-config's flags and linked
# against libclockwatch.so.0 reads the page: its CLOCK_REALTIME within 5 s
# of date's.
cat > "$tmp/reader.c" <<'EOF'
#include <stdio.h>
#include <clockwatch.h>

int main(void)
{
	struct cw_reader *r = cw_reader__open(NULL);
	struct clockwatch_page page;

	if (!r || cw_reader__read(r, &page))
		return 1;
	cw_reader__close(r);
	printf("%lld\n", (long long)(page.clocks.realtime_ns / 1000000000));
	return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config's flags are words
if cc -o "$tmp/reader" "$tmp/reader.c" $(pkg-config --cflags --libs libclockwatch) \
	2> "$tmp/cc.err"; then
	t=$("$tmp/reader")
	ldd "$tmp/reader" | grep -q 'libclockwatch.so.0 => /[^ ]*/libclockwatch.so.0 ' &&
		[ -n "$t" ] && d=$(( t - $(date +%s) )) && [ "${d#-}" -le 5 ]
	st=$?
	[ $st = 0 ] || { echo "# reader: '$t', date: $(date +%s)"; ldd "$tmp/reader" | sed 's/^/# /'; }
	result $st "a program built with pkg-config libclockwatch, on libclockwatch.so.0, reads the page: REALTIME within 5 s of date"
else
	sed 's/^/# /' "$tmp/cc.err"
	result 1 "a program built with pkg-config libclockwatch"
fi

quiet "rmmod clockwatch" rmmod clockwatch
# shellcheck disable=SC2086
quiet "dpkg --purge the four packages" dpkg --purge $pkgs

dkms status clockwatch > "$tmp/dkms" 2>&1
! grep -q . "$tmp/dkms"
st=$?
sed 's/^/# /' "$tmp/dkms"
result $st "dkms status: nothing of clockwatch"

! modinfo -k "$rel" clockwatch > /dev/null 2>&1
result $? "modinfo: no clockwatch.ko for $rel"

# shellcheck disable=SC2086
! dpkg-query -W -f '${db:Status-Abbrev}${Package}\n' $pkgs 2>/dev/null | grep -qv '^un '
result $? "dpkg: the four packages are not installed, no config left"

listing > "$tmp/after"
paths_state > "$tmp/paths.after"
diff "$tmp/before" "$tmp/after" > "$tmp/diff"
st=$?
diff "$tmp/paths.before" "$tmp/paths.after" >> "$tmp/diff"
st=$((st | $?))
[ $st = 0 ] || sed 's/^/# /' "$tmp/diff" | head -n 40
result $st "nothing left behind: /etc, /usr/src, modules-load.d, the units, the DKMS tree, dpkg's and systemd's state, /usr/lib/modules/$rel, every path of the packages"

rm -rf "$tmp"
exit $fail
