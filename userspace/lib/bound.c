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
 *
 * Two ways in, one set of rules: cw_bound_compute() from all the facts,
 * and cw_bound_settled() from what a page update settled (cw_settle())
 * and a REALTIME read, for now() between page updates.
 */
#include <sys/timex.h>

#include "facts.h"

/* a + b, stuck at UINT64_MAX instead of wrapping. */
static __u64 add_sat(__u64 a, __u64 b)
{
	__u64 sum = a + b;

	return sum < a ? UINT64_MAX : sum;
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
	/*
	 * Up to about four days at 50 ppm the product fits: one division,
	 * rounded up by adding 1e9 - 1 first (shorter than the remainder).
	 */
	if (!__builtin_mul_overflow(max_drift_ppb, (__u64)since_ns, &whole) &&
	    !__builtin_add_overflow(whole, CW_NSEC_PER_SEC - 1, &whole))
		return whole / CW_NSEC_PER_SEC;
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
	case CLOCKWATCH_SYNC_R_FOREIGN_ADJUST:
		return CW_REASON_FOREIGN_ADJUST;
	case CLOCKWATCH_SYNC_R_DAEMON_FIRST:
		return CW_REASON_DAEMON_FIRST;
	default:
		return CW_REASON_MODULE;
	}
}

__u32 cw_leap_state(bool armed, __s32 time_state)
{
	__u32 leap = 0;

	if (armed || time_state == TIME_INS || time_state == TIME_DEL)
		leap |= CW_LEAP_ARMED;
	if (time_state == TIME_OOP || time_state == TIME_WAIT)
		leap |= CW_LEAP_DONE;
	return leap;
}

/* Of the leap second bits, what the facts say. */
static __u32 facts_leap(const struct cw_facts *f)
{
	return cw_leap_state(f->leap_pending != CLOCKWATCH_LEAP_NONE,
			     f->time_state);
}

/* |v|, INT64_MIN included. */
static __u64 abs_ns(__s64 v)
{
	return v < 0 ? -(__u64)v : (__u64)v;
}

/* A maxerror the bound can stand on; else the reason it cannot. */
static bool maxerror_usable(__s64 maxerror_us, __u32 *reason)
{
	if (maxerror_us >= CW_MAXERROR_LIMIT_US || maxerror_us < 0) {
		*reason = CW_REASON_MAXERROR_LIMIT;
		return false;
	}
	/* No daemon can know the time exactly: 0 is no estimate at all. */
	if (!maxerror_us) {
		*reason = CW_REASON_MAXERROR_ZERO;
		return false;
	}
	return true;
}

/* The kernel says unsynchronised; which way, in *reason. */
static bool kernel_unsync(const struct cw_facts *f, __u32 *reason)
{
	if (f->ntp_status & STA_UNSYNC) {
		*reason = CW_REASON_STA_UNSYNC;
		return true;
	}
	if (f->time_state == TIME_ERROR) {
		*reason = CW_REASON_TIME_ERROR;
		return true;
	}
	return false;
}

/*
 * What the bound stands on: a maxerror write (*anchor, s->maxerror_ns),
 * the offset still to be corrected (s->correction_ns) and when that was
 * read (*reading).
 *
 * With STA_PLL the kernel slews in the daemon's offset: what is left is
 * the PLL's offset, which only shrinks between two adjtimex() calls, so
 * the last call's value holds until the next.  The kernel clamps what it
 * takes to 0.5 s: at the clamp, more may be left than it says.
 *
 * Without STA_PLL the daemon slews the clock itself (chronyd does, with
 * the frequency), and only the daemon knows what it has left: its report
 * (CLOCKWATCH_IOC_DAEMON_REPORT) says, with the maxerror write it was
 * made after.  That pair holds until the daemon's next report, also when
 * the daemon has written maxerror since: the older estimate, grown by
 * the drift, is still an estimate.  The daemon's word that it is
 * synchronised then stands for STA_UNSYNC, which chronyd without rtcsync
 * never clears.  A step since the report voids it.
 *
 * false, with s->status and s->reason, when there is no bound.
 */
static bool pick_terms(const struct cw_facts *f, struct cw_settled *s,
		       __s64 *anchor, __s64 *reading)
{
	const __s64 clamp_ns = 500000000;	/* MAXPHASE */
	__u32 reason;

	if (f->ntp_status & STA_PLL) {
		if (kernel_unsync(f, &s->reason))
			return false;
		if (abs_ns(f->ntp_offset_ns) >= clamp_ns) {
			s->reason = CW_REASON_CORRECTION_UNKNOWN;
			s->status = CW_STATUS_UNKNOWN;
			return false;
		}
		*anchor = f->anchor_raw_ns;
		*reading = f->ntp_raw_ns;
		s->maxerror_ns = (__u64)f->maxerror_us * 1000;
		s->correction_ns = abs_ns(f->ntp_offset_ns);
		return true;
	}
	if (!f->have_report || !f->report_raw_ns || !f->report_anchor_raw_ns ||
	    f->report_step_seq != f->step_seq) {
		if (kernel_unsync(f, &s->reason))
			return false;
		s->reason = CW_REASON_CORRECTION_UNKNOWN;
		s->status = CW_STATUS_UNKNOWN;
		return false;
	}
	if (!(f->report_flags & CLOCKWATCH_DREPF_SYNCED)) {
		s->reason = CW_REASON_DAEMON_UNSYNC;
		return false;
	}
	if (!maxerror_usable(f->report_maxerror_us, &reason)) {
		s->reason = reason;
		return false;
	}
	*anchor = f->report_anchor_raw_ns;
	*reading = f->report_raw_ns;
	s->maxerror_ns = (__u64)f->report_maxerror_us * 1000;
	s->correction_ns = abs_ns(f->report_correction_ns);
	return true;
}

/*
 * The status rules that look at the page alone, in their order, after
 * the page's age, and the terms the bound stands on (*anchor: the
 * maxerror write it counts the drift from).  Of the time since that
 * write, only two thresholds are left to compare: see rules_status().
 */
static void page_rules(const struct cw_facts *f, struct cw_settled *s,
		       __s64 *anchor)
{
	__s64 reading = 0;
	__u32 reason;

	*anchor = f->anchor_raw_ns;
	s->kernel_after_ns = INT64_MAX;
	s->silent_after_ns = INT64_MAX;
	s->maxerror_ns = 0;
	s->correction_ns = 0;
	s->reading_ns = 0;
	if (f->step_inflight) {
		s->reason = CW_REASON_STEP_INFLIGHT;
		s->status = CW_STATUS_UNKNOWN;
		return;
	}
	if (f->sync_state == CLOCKWATCH_SYNC_DISRUPTED) {
		s->reason = module_reason(f->sync_reason);
		s->status = CW_STATUS_DISRUPTED;
		return;
	}
	s->status = CW_STATUS_UNSYNCHRONIZED;
	if (!f->anchor_raw_ns) {
		s->reason = CW_REASON_NO_DAEMON;
		return;
	}
	if (!maxerror_usable(f->maxerror_us, &reason)) {
		s->reason = reason;
		return;
	}
	if (!pick_terms(f, s, anchor, &reading))
		return;
	/*
	 * Steps by other processes that the daemon has not measured yet:
	 * its estimate does not know of them (chronyd's, for about two
	 * seconds after a "date -s").
	 */
	s->correction_ns = add_sat(s->correction_ns, abs_ns(f->unseen_step_ns));
	s->reading_ns = reading - *anchor;
	/*
	 * The kernel grows its own maxerror by 500 µs a second and sets
	 * STA_UNSYNC at 16 s; nobody may have called adjtimex() since.  It
	 * counts whole seconds: 16 s is reached at the first whole second
	 * whose 500 µs make up the difference.
	 */
	s->kernel_after_ns = (CW_MAXERROR_LIMIT_US - f->maxerror_us +
			      CW_KERNEL_GROWTH_US - 1) / CW_KERNEL_GROWTH_US *
			     CW_NSEC_PER_SEC - 1;
	switch (f->sync_state) {
	case CLOCKWATCH_SYNC_UNSYNCHRONIZED:
		s->reason = module_reason(f->sync_reason);
		return;
	case CLOCKWATCH_SYNC_FREE_RUNNING:
		s->reason = CW_REASON_DAEMON_SILENT;
		s->status = CW_STATUS_FREE_RUNNING;
		return;
	case CLOCKWATCH_SYNC_SYNCHRONIZED:
		break;
	default:
		s->reason = CW_REASON_MODULE;	/* a state this library does not know */
		s->status = CW_STATUS_UNKNOWN;
		return;
	}
	/* 8 intervals of more than 36 years are never passed. */
	if (f->interval_ns > 0 && f->interval_ns <= INT64_MAX / CW_FREERUN_INTERVALS)
		s->silent_after_ns = CW_FREERUN_INTERVALS * f->interval_ns;
	s->reason = CW_REASON_SYNCED;
	s->status = CW_STATUS_SYNCHRONIZED;
}

/* The status at since_ns after the maxerror write; *reason says why. */
static __u32 rules_status(const struct cw_settled *s, __s64 since_ns,
			  __u32 *reason)
{
	if (since_ns > s->kernel_after_ns) {
		*reason = CW_REASON_KERNEL_LIMIT;
		return CW_STATUS_UNSYNCHRONIZED;
	}
	if (since_ns > s->silent_after_ns) {
		*reason = CW_REASON_DAEMON_SILENT;
		return CW_STATUS_FREE_RUNNING;
	}
	*reason = s->reason;
	return s->status;
}

static bool page_stale(__s64 raw_ns, __s64 page_raw_ns)
{
	return raw_ns - page_raw_ns > CW_STALE_NS;
}

/*
 * The status before the bound is looked at; *reason says why.  Only
 * SYNCHRONIZED and FREE_RUNNING come with a bound.
 */
static __u32 facts_status(const struct cw_facts *f, struct cw_settled *s,
			  __s64 *anchor, __u32 *reason)
{
	if (!f->have_sync) {
		*reason = CW_REASON_PAGE_OLD;
		return CW_STATUS_UNKNOWN;
	}
	if (page_stale(f->raw_ns, f->page_raw_ns)) {
		*reason = CW_REASON_PAGE_STALE;
		return CW_STATUS_UNKNOWN;
	}
	page_rules(f, s, anchor);
	/* A step the page does not show yet, unless the module says disrupted. */
	if (f->clocks_disagree && s->status != CW_STATUS_DISRUPTED) {
		*reason = CW_REASON_CLOCKS_DISAGREE;
		return CW_STATUS_UNKNOWN;
	}
	return rules_status(s, f->raw_ns - *anchor, reason);
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
 * (TIME_OOP, TIME_WAIT): at the nearest one.  In TIME_OOP, REALTIME shows
 * 23:59:59 a second time (second_overflow() sets the clock back as it
 * reaches midnight and enters TIME_OOP), so that midnight is still ahead.
 */
static bool leap_near(__u32 leap, __s64 real_ns, __u64 bound)
{
	const __s64 day = CW_SEC_PER_DAY * CW_NSEC_PER_SEC;
	__u64 reach = add_sat(bound, CW_LEAP_NS);
	__s64 prev = midnight_before(real_ns);
	__u64 ahead = (__u64)(prev + day - real_ns);
	__u64 behind = (__u64)(real_ns - prev);

	if ((leap & CW_LEAP_ARMED) && ahead <= reach)
		return true;
	return (leap & CW_LEAP_DONE) && (ahead <= reach || behind <= reach);
}

bool cw_leap_near(__u32 leap, __s64 real_ns, __u64 bound_ns)
{
	return leap_near(leap, real_ns, bound_ns);
}

static bool bounded(__u32 status)
{
	return status == CW_STATUS_SYNCHRONIZED ||
	       status == CW_STATUS_FREE_RUNNING;
}

/* The room later versions fill. */
static inline __attribute__((always_inline))
void zero_reserved(struct cw_now *out)
{
	unsigned int i;

	for (i = 0; i < sizeof(out->__reserved1) / sizeof(out->__reserved1[0]); i++)
		out->__reserved1[i] = 0;
}

static void set_unbounded(struct cw_now *out)
{
	out->bound_ns = CW_BOUND_INFINITE;
	out->earliest_ns = INT64_MIN;
	out->latest_ns = INT64_MAX;
}

/*
 * Every field of *out, each written once: a memset() first would be a
 * "rep stos", whose start-up alone is a sizeable part of a now() call.
 */
static void put_unbounded(struct cw_now *out, __u32 status, __u32 reason,
			  __s64 real_ns)
{
	out->real_ns = real_ns;
	out->__reserved = 0;
	zero_reserved(out);
	out->status = status;
	out->reason = reason;
	out->flags = 0;
	out->maxerror_ns = 0;
	out->drift_ns = 0;
	out->window_ns = 0;
	out->leap_ns = 0;
	out->since_write_ns = 0;
	out->correction_ns = 0;
	out->correction_age_ns = -1;
	set_unbounded(out);
}

/*
 * The same for a status with a bound, from its terms.  Inline in both
 * callers, so that the settled one drops the window and the flags, which
 * are 0 there.
 */
static inline __attribute__((always_inline))
void put_bounded(struct cw_now *out, __u32 status, __u32 reason,
		 __s64 real_ns, __s64 since_ns, const struct cw_settled *s,
		 __u64 drift_ns, __s64 window_ns, __u32 flags)
{
	__u64 window = window_ns > 0 ? (__u64)window_ns : 0;
	__u64 bound = add_sat(add_sat(add_sat(s->maxerror_ns, s->correction_ns),
				      drift_ns), window);
	__u32 leap = s->leap;
	__u64 leap_ns = 0;

	/*
	 * The terms that do not wait for the drift term first: written
	 * together with it, gcc pairs maxerror and drift into one vector
	 * store, a longer way from the REALTIME read to its end.
	 */
	out->real_ns = real_ns;
	out->__reserved = 0;
	zero_reserved(out);
	out->maxerror_ns = s->maxerror_ns;
	out->correction_ns = s->correction_ns;
	out->correction_age_ns = since_ns - s->reading_ns;
	out->window_ns = window;
	out->since_write_ns = since_ns;
	if (__builtin_expect(leap, 0) && leap_near(leap, real_ns, bound)) {
		leap_ns = CW_LEAP_NS;
		flags |= CW_NOW_LEAP;
		bound = add_sat(bound, CW_LEAP_NS);
	}
	out->flags = flags;
	out->drift_ns = drift_ns;
	out->leap_ns = leap_ns;
	if (bound > (__u64)INT64_MAX) {
		set_unbounded(out);
		out->status = CW_STATUS_UNSYNCHRONIZED;
		out->reason = CW_REASON_MAXERROR_LIMIT;
		return;
	}
	out->status = status;
	out->reason = reason;
	out->bound_ns = bound;
	/* Stuck at the ends of the range instead of wrapping. */
	if (__builtin_sub_overflow(real_ns, (__s64)bound, &out->earliest_ns))
		out->earliest_ns = INT64_MIN;
	if (__builtin_add_overflow(real_ns, (__s64)bound, &out->latest_ns))
		out->latest_ns = INT64_MAX;
}

void cw_bound_compute(const struct cw_facts *f, __u64 max_drift_ppb,
		      struct cw_now *out)
{
	struct cw_settled s;
	__s64 anchor, since_ns;
	__u32 reason, status;

	status = facts_status(f, &s, &anchor, &reason);
	if (!bounded(status)) {
		put_unbounded(out, status, reason, f->real_ns);
		return;
	}
	s.leap = facts_leap(f);
	since_ns = f->raw_ns - anchor;
	put_bounded(out, status, reason, f->real_ns, since_ns, &s,
		    drift_term(max_drift_ppb, since_ns), f->window_ns,
		    f->bracketed ? CW_NOW_BRACKETED : 0);
}

/*
 * Page time (cw_page_time()) puts MONOTONIC_RAW e + e / 8 + 1 after the
 * snapshot's for e of REALTIME; the snapshot is stale past CW_STALE_NS of
 * that, so e + e / 8 goes up to:
 */
#define LAST_PAGE_TIME_NS	(CW_STALE_NS - 1)

bool cw_settle(const struct cw_facts *f, __u64 max_drift_ppb,
	       struct cw_settled *s)
{
	__u64 numerator;
	__s64 anchor;

	if (!f->have_sync)
		return false;
	s->seq = f->seq;
	s->leap = facts_leap(f);
	s->page_sec = f->page_real_ns / CW_NSEC_PER_SEC;
	s->page_nsec = f->page_real_ns % CW_NSEC_PER_SEC;
	page_rules(f, s, &anchor);
	/* Modulo 2^64, as the slow path's raw - anchor wraps. */
	s->since_ns = (__s64)((__u64)f->page_raw_ns + 1 - (__u64)anchor);
	/*
	 * While the time since the write stays positive and max_drift x
	 * that time + 1e9 - 1 fits 64 bits, up to the last page time,
	 * drift_term() is that sum divided by 1e9.  Divided here at the
	 * snapshot, quotient and remainder, it leaves each now() the page
	 * time's part to divide.
	 */
	s->drift_linear = s->since_ns > 0 &&
		!__builtin_mul_overflow(max_drift_ppb,
					(__u64)s->since_ns + LAST_PAGE_TIME_NS,
					&numerator) &&
		!__builtin_add_overflow(numerator, CW_NSEC_PER_SEC - 1, &numerator);
	s->drift_ns = 0;
	s->drift_rem = 0;
	if (s->drift_linear) {
		numerator = max_drift_ppb * (__u64)s->since_ns +
			    CW_NSEC_PER_SEC - 1;
		s->drift_ns = numerator / CW_NSEC_PER_SEC;
		s->drift_rem = numerator % CW_NSEC_PER_SEC;
	}
	return true;
}

/*
 * The facts of a page-time read are the settled ones, REALTIME, and
 * MONOTONIC_RAW from cw_page_time(): no window, not bracketed, clocks
 * that agree.  The rest of cw_bound_compute() follows, with the time
 * since the write and the drift term counted from the snapshot on:
 * between REALTIME and the bound, only additions, one multiplication and
 * one division, as short a chain as the rules allow.
 */
bool cw_bound_settled(const struct cw_settled *settled,
		      const struct timespec *real, __u64 max_drift_ppb,
		      struct cw_now *out)
{
	__s64 real_ns = cw_timespec_ns(real);
	__s64 page_ns, since_ns;
	__u32 status, reason;
	struct cw_settled s;
	__u64 x, drift_ns;

	cw_settled_load(&s, settled);

	/* REALTIME elapsed since the snapshot, as real_ns - its REALTIME. */
	if (__builtin_expect(real->tv_sec == s.page_sec, 1))
		page_ns = real->tv_nsec - s.page_nsec;
	else
		page_ns = (__s64)(((__u64)real->tv_sec - (__u64)s.page_sec) *
				  CW_NSEC_PER_SEC + (real->tv_nsec - s.page_nsec));
	/*
	 * As cw_page_time() and page_stale() decide, in one test: before the
	 * snapshot, x wraps to far beyond the last page time.
	 */
	x = (__u64)page_ns + (__u64)(page_ns >> CW_RAW_OVER_REAL_SHIFT);
	if (x > LAST_PAGE_TIME_NS)
		return false;

	since_ns = (__s64)((__u64)s.since_ns + x);
	status = rules_status(&s, since_ns, &reason);
	if (!bounded(status)) {
		put_unbounded(out, status, reason, real_ns);
		return true;
	}
	if (__builtin_expect(s.drift_linear, 1))
		drift_ns = s.drift_ns + (s.drift_rem + max_drift_ppb * x) /
					 CW_NSEC_PER_SEC;
	else
		drift_ns = drift_term(max_drift_ppb, since_ns);
	put_bounded(out, status, reason, real_ns, since_ns, &s, drift_ns, 0, 0);
	return true;
}
