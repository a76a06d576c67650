#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make install DESTDIR=...` puts the headers under the project's own
# include directory (clockwatch/), none under linux/ (linux-libc-dev's),
# and a program that includes <clockwatch/clockwatch.h> builds against the
# installed files alone and runs.
#
# usage: test_install.sh MAKE-DIRECTORY

set -u
dir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
inc=$dest/usr/include
lib=$dest/usr/lib

n=0
fail=0
result() { # status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fail=1
	fi
}

echo "TAP version 13"
echo "1..5"
make -s -C "$dir" install DESTDIR="$dest" prefix=/usr >"$tmp/log" 2>&1
st=$?
[ $st = 0 ] || cat "$tmp/log" | sed 's/^/# /'
result $st "make install DESTDIR"

[ -f "$inc/clockwatch/clockwatch.h" ] && [ -f "$inc/clockwatch/linux/clockwatch.h" ]
result $? "headers in include/clockwatch/"

[ ! -e "$inc/linux" ]
result $? "nothing in include/linux/"

cat >"$tmp/prog.c" <<'PROG'
#include <stdio.h>
#include <clockwatch/clockwatch.h>

int main(void)
{
	/* 15 * 2^36: the start of the last bucket, in the ABI header */
	if (cw_hist_bucket_lo(CLOCKWATCH_HIST_BUCKETS - 1) != 15ULL << 36)
		return 1;
	printf("%s\n", cw_status_str(CW_STATUS_SYNCHRONIZED));
	return 0;
}
PROG
# -H lists every header opened: the ABI header must be the installed one.
${CC:-cc} -Wall -Werror -H -I"$inc" -o "$tmp/prog" "$tmp/prog.c" \
	"$lib/libclockwatch.a" 2>"$tmp/headers"
st=$?
[ $st = 0 ] || sed 's/^/# /' "$tmp/headers"
if [ $st = 0 ] && ! grep -q "^\.* $inc/clockwatch/linux/clockwatch.h$" "$tmp/headers"; then
	echo "# the ABI header came from elsewhere:"
	grep clockwatch "$tmp/headers" | sed 's/^/# /'
	st=1
fi
result $st "a program builds against the installed headers"

[ $st = 0 ] && [ "$("$tmp/prog")" = synchronized ]
result $? "and runs"
exit $fail
