#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The Prometheus files under packaging/prometheus/ against promtool, on the
# host (no module needed): the rules check, their unit tests
# (clockwatch-rules.test.yml: each alert firing and not firing on series
# made for it) and the example configuration with the repository's rules
# in place of the installed path.  Prints TAP.
#
#   selftests/clockwatch/prom/run_promtool.sh
#
# promtool comes from scripts/deps (.cache/prometheus), $PROMTOOL or PATH.
# The rules against a real Prometheus server: prom_alerts_test.py.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
pkg=$top/packaging/prometheus
promtool=${PROMTOOL:-$top/.cache/prometheus/usr/bin/promtool}
[ -x "$promtool" ] || promtool=$(command -v promtool || true)

echo "TAP version 13"
if [ -z "$promtool" ]; then
	echo "1..0 # SKIP no promtool: run scripts/deps (or set PROMTOOL)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 fail=0
# One result: the command's output as comments, ok when it exits 0.
check() { # description command...
	desc=$1
	shift
	n=$((n + 1))
	if "$@" > "$tmp/out" 2>&1; then
		sed 's/^/# /' "$tmp/out"
		echo "ok $n $desc"
	else
		sed 's/^/# /' "$tmp/out"
		echo "not ok $n $desc"
		fail=1
	fi
}

echo "# $("$promtool" --version 2>&1 | head -n1)"
check "promtool check rules clockwatch-rules.yml (lint all)" \
	"$promtool" check rules --lint=all --lint-fatal "$pkg/clockwatch-rules.yml"
check "promtool test rules clockwatch-rules.test.yml" \
	"$promtool" test rules "$pkg/clockwatch-rules.test.yml"
sed "s|/usr/share/clockwatch/prometheus/clockwatch-rules.yml|$pkg/clockwatch-rules.yml|" \
	"$pkg/prometheus.yml.example" > "$tmp/prometheus.yml"
check "prometheus.yml.example loads the rules from their installed path" \
	grep -q "$pkg/clockwatch-rules.yml" "$tmp/prometheus.yml"
check "promtool check config prometheus.yml.example (lint all)" \
	"$promtool" check config --lint=all --lint-fatal "$tmp/prometheus.yml"
echo "1..$n"
exit $fail
