// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the bound without the module.
 *
 * adjtimex() with modes = 0 needs no privilege and returns, in one call,
 * the kernel's NTP state and CLOCK_REALTIME (txc.time).  The kernel reads
 * the time first and the state right after, under the timekeeper lock:
 * the state is never older than the time, which is the safe side, since
 * maxerror only grows and the PLL's offset only shrinks until someone
 * writes them again.
 *
 *	bound = maxerror, as the kernel holds it     (the daemon's, grown)
 *	      + 500 µs                               (growth still owed)
 *	      + |PLL offset|                         (STA_PLL)
 *	      + 999 ns without STA_NANO               (µs resolution)
 *	      (+ 1 s across a leap second)
 *
 * Documentation/bound.rst, "Without the module", has the why of each.
 */
#include <stdbool.h>
#include <string.h>

#include "clockwatch.h"
#include "facts.h"
#include "kernel_facts.h"

/* The kernel grows maxerror by this much at each second_overflow(), ns. */
#define GROWTH_OWED_NS		(CW_KERNEL_GROWTH_US * 1000)

static __u64 abs_u64(__s64 v)
{
	return v < 0 ? -(__u64)v : (__u64)v;
}

/*
 * The status the NTP state allows; false, with *status and *reason, when
 * it allows no bound.  In the order of the module's rules.
 */
static bool timex_usable(const struct timex *tx, int state, __u32 *status,
			 __u32 *reason)
{
	*status = CW_STATUS_UNSYNCHRONIZED;
	/*
	 * The daemon's maxerror as the kernel grew it: the kernel sets
	 * STA_UNSYNC itself when it passes 16 s.
	 */
	if (tx->maxerror >= CW_MAXERROR_LIMIT_US || tx->maxerror < 0) {
		*reason = CW_REASON_KERNEL_LIMIT;
		return false;
	}
	if (tx->status & STA_UNSYNC) {
		*reason = CW_REASON_STA_UNSYNC;
		return false;
	}
	if (state == TIME_ERROR) {
		*reason = CW_REASON_TIME_ERROR;
		return false;
	}
	/*
	 * 0 is no estimate.  The kernel grows maxerror but never esterror:
	 * esterror 0 with a maxerror of whole 500 µs steps is a write of 0
	 * grown by the kernel (systemd-timesyncd writes both 0).
	 */
	if (!tx->maxerror ||
	    (!tx->esterror && !(tx->maxerror % CW_KERNEL_GROWTH_US))) {
		*reason = CW_REASON_MAXERROR_ZERO;
		return false;
	}
	/*
	 * Without STA_PLL the daemon slews the clock itself (chronyd), and
	 * the kernel does not hold what it has still to correct.
	 */
	*status = CW_STATUS_UNKNOWN;
	*reason = CW_REASON_CORRECTION_UNKNOWN;
	if (!(tx->status & STA_PLL))
		return false;
	/* The kernel clamps what it takes to MAXPHASE: more may be left. */
	if (abs_u64(tx->offset) * ((tx->status & STA_NANO) ? 1 : 1000) >=
	    CW_KERNEL_MAXPHASE_NS)
		return false;
	*status = CW_STATUS_SYNCHRONIZED;
	*reason = CW_REASON_SYNCED;
	return true;
}

static void put_unbounded(struct cw_now *out, __u32 status, __u32 reason)
{
	out->status = status;
	out->reason = reason;
	out->bound_ns = CW_BOUND_INFINITE;
	out->earliest_ns = INT64_MIN;
	out->latest_ns = INT64_MAX;
	out->correction_age_ns = -1;
}

void cw_bound_timex(const struct timex *tx, int state, struct cw_now *out)
{
	/*
	 * Without STA_NANO the kernel truncates the time and the offset to
	 * the µs: each may be up to 999 ns more than it says.
	 */
	__s64 unit = (tx->status & STA_NANO) ? 1 : 1000;
	__u32 status, reason, leap;
	__u64 bound;

	memset(out, 0, sizeof(*out));
	out->real_ns = (__s64)tx->time.tv_sec * CW_NSEC_PER_SEC +
		       (__s64)tx->time.tv_usec * unit;
	out->flags = CW_NOW_ADJTIMEX;
	/* The write the maxerror comes from is not known without the module. */
	out->since_write_ns = -1;
	if (!timex_usable(tx, state, &status, &reason)) {
		put_unbounded(out, status, reason);
		return;
	}
	out->maxerror_ns = (__u64)tx->maxerror * 1000;
	/*
	 * The kernel adds 500 µs at the first tick of each second: the part
	 * of a second since the last growth is owed up to 500 µs more.
	 */
	out->drift_ns = GROWTH_OWED_NS;
	out->correction_ns = abs_u64(tx->offset) * unit + (unit - 1);
	out->correction_age_ns = 0;	/* read with the time */
	out->window_ns = unit - 1;
	bound = out->maxerror_ns + out->drift_ns + out->correction_ns +
		out->window_ns;
	leap = cw_leap_state(tx->status & (STA_INS | STA_DEL), state);
	if (leap && cw_leap_near(leap, out->real_ns, bound)) {
		out->leap_ns = CW_LEAP_NS;
		out->flags |= CW_NOW_LEAP;
		bound += CW_LEAP_NS;
	}
	out->status = status;
	out->reason = reason;
	out->bound_ns = bound;	/* below 17.6 s: no overflow */
	if (__builtin_sub_overflow(out->real_ns, (__s64)bound, &out->earliest_ns))
		out->earliest_ns = INT64_MIN;
	if (__builtin_add_overflow(out->real_ns, (__s64)bound, &out->latest_ns))
		out->latest_ns = INT64_MAX;
}
