# SPDX-License-Identifier: GPL-2.0
#
# Counting of test results for scripts/check and scripts/check-debug,
# sourced by both (bash).  The caller sets $logdir and the counters
# $passed, $failed and $skipped; each step's output goes to a log there.

# Count the TAP results in a log; print each failure with what its test
# printed since the previous result.
tally() { # log
	local p f s t
	p=$(grep -cE '^[[:space:]]*ok [0-9]+' "$1" | head -n1)
	s=$(grep -E '^[[:space:]]*ok [0-9]+' "$1" | grep -ciE '# *skip')
	f=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$1")
	# "not ok ... # TODO": a known failure, open on an issue; counted
	# with the skipped, and printed below as what it is.
	t=$(grep -E '^[[:space:]]*not ok [0-9]+' "$1" | grep -ciE '# *todo')
	p=$((p - s)) f=$((f - t)) s=$((s + t))
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	awk '/^[[:space:]]*(not )?ok [0-9]+/ {
		if ($0 ~ /^[[:space:]]*not ok/) {
			print "    " ($0 ~ /# *[Tt][Oo][Dd][Oo]/ ? "KNOWN FAILURE (TODO)" : "FAILED") ": " $0
			for (i = (n > 15 ? n - 15 : 0); i < n; i++)
				print "    | " buf[i]
		}
		n = 0
		next
	}
	{ buf[n++] = $0 }' "$1"
	echo "    $p passed, $f failed, $s skipped"
}

# A guest kernel that died says why at the top of its report, which the
# tail of a long log does not reach: print the first 40 lines from the
# first oops marker, if there is one.
oops_head() { # log
	local n
	n=$(grep -nE '(BUG:|Oops:|general protection fault|Kernel panic|WARNING:|kernel BUG at)' "$1" |
		head -n1 | cut -d: -f1)
	[ -n "$n" ] || return 0
	echo "    first kernel report, from line $n:"
	sed -n "$((n > 5 ? n - 5 : 1)),$((n + 40))p" "$1" | sed 's/^/    ! /'
}

# One pass/fail result for a step with no TAP of its own; its status.
step() { # name command...
	local name=$1 log t0
	shift
	log=$logdir/$(echo "$name" | tr ' /' '__').log
	echo "== $name"
	t0=$(date +%s)
	if "$@" > "$log" 2>&1; then
		passed=$((passed + 1))
		echo "    ok ($(( $(date +%s) - t0 )) s)"
		return 0
	fi
	failed=$((failed + 1))
	echo "    FAILED (log: $log)"
	oops_head "$log"
	tail -n 30 "$log" | sed 's/^/    | /'
	return 1
}

# A step that prints TAP; a non-zero exit without any "not ok" line is one
# extra failure (the runner itself broke).
tap_step() { # name command...
	local name=$1 log rc t0
	shift
	log=$logdir/$(echo "$name" | tr ' /' '__').log
	echo "== $name"
	t0=$(date +%s)
	"$@" > "$log" 2>&1
	rc=$?
	tally "$log"
	echo "    ($(( $(date +%s) - t0 )) s)"
	if [ "$rc" != 0 ] && ! grep -qE '^[[:space:]]*not ok [0-9]+' "$log"; then
		failed=$((failed + 1))
		echo "    FAILED: exit status $rc (log: $log)"
		oops_head "$log"
		tail -n 30 "$log" | sed 's/^/    | /'
	fi
}
