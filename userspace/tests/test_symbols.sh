#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# libclockwatch.so exports exactly the symbols of its version script, each
# at the version node the script names, and carries the soname.
#
#   test_symbols.sh LIBCLOCKWATCH.so LIBCLOCKWATCH.map   (TAP on stdout)
lib=${1:?usage: test_symbols.sh LIB MAP}
map=${2:?usage: test_symbols.sh LIB MAP}
fail=0

echo "TAP version 13"
echo "1..2"

# Each symbol at the node whose block lists it: "name@@NODE".
want=$(awk '/^CLOCKWATCH_[0-9.]* *\{/ { node = $1 }
	/^[[:space:]]*cw_[a-z_]*;/ { sub(/;.*/, ""); print $1 "@@" node }' "$map" | sort)
have=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
if [ "$want" = "$have" ]; then
	echo "ok 1 exported symbols match the version script"
else
	echo "# want: $want" | tr '\n' ' '; echo
	echo "# have: $have" | tr '\n' ' '; echo
	echo "not ok 1 exported symbols match the version script"
	fail=1
fi

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = libclockwatch.so.0 ]; then
	echo "ok 2 soname is libclockwatch.so.0"
else
	echo "not ok 2 soname is libclockwatch.so.0 (found '$soname')"
	fail=1
fi
exit $fail
