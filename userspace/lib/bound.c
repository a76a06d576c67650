// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: from the facts to [earliest, latest] and a status.
 *
 *	bound = maxerror + max_drift * (raw now - raw of the maxerror write)
 *	      + read window (+ 1 s across a leap second)
 *
 * The status decides whether there is a bound at all; in doubt the
 * answer is never SYNCHRONIZED.  Documentation/bound.rst has the why of
 * each term and each rule.
 */
#include <sys/timex.h>

#include "facts.h"

/* a + b, stuck at UINT64_MAX instead of wrapping. */
static __u64 add_sat(__u64 a, __u64 b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * max_drift_ppb * since_ns / 1e9, rounded up: the bound never shrinks.
 * Whole seconds and the rest apart, so that no product overflows 64 bits
 * (ppb < 1e9) and no 128-bit division is needed on the fast path.
 */
static __u64 drift_term(__u64 max_drift_ppb, __s64 since_ns)
{
	__u64 s, rest, whole;

	if (since_ns <= 0)
		return 0;
	/* Up to about two days at 50 ppm the product fits: one division. */
	if (!__builtin_mul_overflow(max_drift_ppb, (__u64)since_ns, &whole))
		return whole / CW_NSEC_PER_SEC + (whole % CW_NSEC_PER_SEC != 0);
	s = (__u64)since_ns / CW_NSEC_PER_SEC;
	rest = (__u64)since_ns % CW_NSEC_PER_SEC;
	whole = max_drift_ppb * s;
	return add_sat(whole, (max_drift_ppb * rest + CW_NSEC_PER_SEC - 1) /
			      CW_NSEC_PER_SEC);
}

static __u32 module_reason(__u32 sync_reason)
{
	switch (sync_reason) {
	case CLOCKWATCH_SYNC_R_NO_DAEMON:
		return CW_REASON_NO_DAEMON;
	case CLOCKWATCH_SYNC_R_MAXERROR_LIMIT:
		return CW_REASON_MAXERROR_LIMIT;
	case CLOCKWATCH_SYNC_R_DAEMON_SILENT:
		return CW_REASON_DAEMON_SILENT;
	case CLOCKWATCH_SYNC_R_FOREIGN_STEP:
		return CW_REASON_FOREIGN_STEP;
	case CLOCKWATCH_SYNC_R_VMFORK:
		return CW_REASON_VMFORK;
	case CLOCKWATCH_SYNC_R_RESUME:
		return CW_REASON_RESUME;
	case CLOCKWATCH_SYNC_R_HOST_PAUSE:
		return CW_REASON_HOST_PAUSE;
	default:
		return CW_REASON_MODULE;
	}
}

/*
 * The status before the bound is looked at; *reason says why.  Only
 * SYNCHRONIZED and FREE_RUNNING come with a bound.
 */
static __u32 facts_status(const struct cw_facts *f, __u32 *reason)
{
	__s64 since = f->raw_ns - f->anchor_raw_ns;
	__s64 kernel_us;

	if (!f->have_sync) {
		*reason = CW_REASON_PAGE_OLD;
		return CW_STATUS_UNKNOWN;
	}
	if (f->raw_ns - f->page_raw_ns > CW_STALE_NS) {
		*reason = CW_REASON_PAGE_STALE;
		return CW_STATUS_UNKNOWN;
	}
	if (f->sync_state == CLOCKWATCH_SYNC_DISRUPTED) {
		*reason = module_reason(f->sync_reason);
		return CW_STATUS_DISRUPTED;
	}
	if (f->clocks_disagree) {
		*reason = CW_REASON_CLOCKS_DISAGREE;
		return CW_STATUS_UNKNOWN;
	}
	if (!f->anchor_raw_ns) {
		*reason = CW_REASON_NO_DAEMON;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	if (f->maxerror_us >= CW_MAXERROR_LIMIT_US || f->maxerror_us < 0) {
		*reason = CW_REASON_MAXERROR_LIMIT;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	if (f->ntp_status & STA_UNSYNC) {
		*reason = CW_REASON_STA_UNSYNC;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	if (f->time_state == TIME_ERROR) {
		*reason = CW_REASON_TIME_ERROR;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	/*
	 * The kernel grows its own maxerror by 500 µs a second and sets
	 * STA_UNSYNC at 16 s; nobody may have called adjtimex() since.
	 */
	/* since >> 29 over-counts seconds (2^29 ns < 1 s): a cheap first test. */
	kernel_us = f->maxerror_us + CW_KERNEL_GROWTH_US * ((since >> 29) + 1);
	if (since > 0 && kernel_us >= CW_MAXERROR_LIMIT_US)
		kernel_us = f->maxerror_us +
			    CW_KERNEL_GROWTH_US * (since / CW_NSEC_PER_SEC);
	if (since > 0 && kernel_us >= CW_MAXERROR_LIMIT_US) {
		*reason = CW_REASON_KERNEL_LIMIT;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	switch (f->sync_state) {
	case CLOCKWATCH_SYNC_UNSYNCHRONIZED:
		*reason = module_reason(f->sync_reason);
		return CW_STATUS_UNSYNCHRONIZED;
	case CLOCKWATCH_SYNC_FREE_RUNNING:
		*reason = CW_REASON_DAEMON_SILENT;
		return CW_STATUS_FREE_RUNNING;
	case CLOCKWATCH_SYNC_SYNCHRONIZED:
		break;
	default:
		*reason = CW_REASON_MODULE;	/* a state this library does not know */
		return CW_STATUS_UNKNOWN;
	}
	if (f->interval_ns > 0 && since > CW_FREERUN_INTERVALS * f->interval_ns) {
		*reason = CW_REASON_DAEMON_SILENT;
		return CW_STATUS_FREE_RUNNING;
	}
	*reason = CW_REASON_SYNCED;
	return CW_STATUS_SYNCHRONIZED;
}

/* ns since the epoch of the UTC midnight at or before t. */
static __s64 midnight_before(__s64 t)
{
	const __s64 day = CW_SEC_PER_DAY * CW_NSEC_PER_SEC;
	__s64 m = t / day * day;

	return m > t ? m - day : m;
}

/*
 * Is a leap second within the interval's reach?  Armed (STA_INS/STA_DEL):
 * it happens at the next UTC midnight.  In progress or just done
 * (TIME_OOP, TIME_WAIT): it happened at the last one.
 */
static bool leap_near(const struct cw_facts *f, __u64 bound)
{
	const __s64 day = CW_SEC_PER_DAY * CW_NSEC_PER_SEC;
	__u64 reach = add_sat(bound, CW_LEAP_NS);
	bool armed = f->leap_pending != CLOCKWATCH_LEAP_NONE ||
		     f->time_state == TIME_INS || f->time_state == TIME_DEL;
	bool done = f->time_state == TIME_OOP || f->time_state == TIME_WAIT;
	__s64 prev;

	if (!armed && !done)
		return false;
	prev = midnight_before(f->real_ns);
	if (armed && (__u64)(prev + day - f->real_ns) <= reach)
		return true;
	return done && (__u64)(f->real_ns - prev) <= reach;
}

static void set_unbounded(struct cw_now *out)
{
	out->bound_ns = CW_BOUND_INFINITE;
	out->earliest_ns = INT64_MIN;
	out->latest_ns = INT64_MAX;
}

void cw_bound_compute(const struct cw_facts *f, __u64 max_drift_ppb,
		      struct cw_now *out)
{
	__u64 bound;

	/*
	 * Field by field: a memset() here is a "rep stos", whose start-up
	 * alone is a sizeable part of a now() call.
	 */
	out->flags = 0;
	out->__reserved = 0;
	out->maxerror_ns = 0;
	out->drift_ns = 0;
	out->window_ns = 0;
	out->leap_ns = 0;
	out->since_write_ns = 0;
	out->real_ns = f->real_ns;
	out->status = facts_status(f, &out->reason);
	if (out->status != CW_STATUS_SYNCHRONIZED &&
	    out->status != CW_STATUS_FREE_RUNNING) {
		set_unbounded(out);
		return;
	}

	out->since_write_ns = f->raw_ns - f->anchor_raw_ns;
	out->maxerror_ns = (__u64)f->maxerror_us * 1000;
	out->drift_ns = drift_term(max_drift_ppb, out->since_write_ns);
	out->window_ns = f->window_ns > 0 ? (__u64)f->window_ns : 0;
	if (f->bracketed)
		out->flags |= CW_NOW_BRACKETED;
	bound = add_sat(add_sat(out->maxerror_ns, out->drift_ns), out->window_ns);
	if (leap_near(f, bound)) {
		out->leap_ns = CW_LEAP_NS;
		out->flags |= CW_NOW_LEAP;
		bound = add_sat(bound, CW_LEAP_NS);
	}
	if (bound > (__u64)INT64_MAX) {
		set_unbounded(out);
		out->status = CW_STATUS_UNSYNCHRONIZED;
		out->reason = CW_REASON_MAXERROR_LIMIT;
		return;
	}
	out->bound_ns = bound;
	out->earliest_ns = f->real_ns < INT64_MIN + (__s64)bound ?
			   INT64_MIN : f->real_ns - (__s64)bound;
	out->latest_ns = f->real_ns > INT64_MAX - (__s64)bound ?
			 INT64_MAX : f->real_ns + (__s64)bound;
}
