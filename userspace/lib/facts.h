/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: the facts a clock error bound is computed from, and the
 * computation, kept apart from the page layout.
 *
 * facts.c fills a struct cw_facts from the page and the clock reads;
 * bound.c turns the facts into [earliest, latest] and a status without
 * looking at the page.  Only facts.c knows where each fact lives in
 * struct clockwatch_page, so a change of the page touches one function.
 *
 * Between two page updates only REALTIME changes: bound.c settles what
 * an update fixes once (struct cw_settled), and now() then needs one
 * REALTIME read while the page's counter stays where it was.
 */
#ifndef __CLOCKWATCH_FACTS_H
#define __CLOCKWATCH_FACTS_H

#include <stdbool.h>
#include <time.h>

#include "internal.h"

/* The kernel's maxerror limit (NTP_PHASE_LIMIT), µs. */
#define CW_MAXERROR_LIMIT_US	16000000LL
/* The kernel grows maxerror by this much per second of silence, µs. */
#define CW_KERNEL_GROWTH_US	500LL
/* A daemon silent for more than this many update intervals: free running. */
#define CW_FREERUN_INTERVALS	8
/* Page clocks older than this (MONOTONIC_RAW): the module stopped. */
#define CW_STALE_NS		3000000000LL
/* Leap second: the bound widens by this much across it, ns. */
#define CW_LEAP_NS		1000000000LL
/*
 * MONOTONIC_RAW runs at most this much faster than REALTIME, as a shift:
 * 1/8 covers timex.tick at its limit (10 %) plus the frequency and slew
 * limits (500 ppm each).  Used only over the page's age, about 1 ms.
 */
#define CW_RAW_OVER_REAL_SHIFT	3

#define CW_NSEC_PER_SEC		1000000000LL
#define CW_SEC_PER_DAY		86400LL

/* How the clock reads of one now() were made. */
enum cw_read_mode {
	CW_READ_PAGE_TIME,	/* REALTIME once; MONOTONIC_RAW from the page */
	CW_READ_BRACKETED,	/* MONOTONIC_RAW, REALTIME, MONOTONIC_RAW */
};

/**
 * struct cw_facts - what one now() knows
 * @real_ns:		CLOCK_REALTIME, read while the page copy held
 * @raw_ns:		CLOCK_MONOTONIC_RAW at the REALTIME read, an upper
 *			estimate: the drift term grows with it
 * @window_ns:		how long the REALTIME read may have taken as seen
 *			by MONOTONIC_RAW (0 when it was read alone)
 * @page_real_ns:	the page's clocks snapshot: REALTIME ...
 * @page_raw_ns:	... and MONOTONIC_RAW at the same instant
 * @have_sync:		the page carries the sync facts below (module with
 *			the clock tracker)
 * @anchor_raw_ns:	when the sync daemon last wrote maxerror,
 *			MONOTONIC_RAW; 0 = never
 * @maxerror_us:	the maxerror it wrote then, µs
 * @esterror_us:	the esterror in force after that write, µs
 * @interval_ns:	the daemon's update interval as observed
 *			(MONOTONIC_RAW between its last two maxerror writes);
 *			0 = not known
 * @sync_state:		CLOCKWATCH_SYNC_* as the module derived it
 * @sync_reason:	CLOCKWATCH_SYNC_R_*
 * @ntp_status:		STA_* bits after the last adjtimex() call
 * @time_state:		TIME_OK .. TIME_ERROR after it
 * @leap_pending:	CLOCKWATCH_LEAP_*
 * @step_seq:		steps seen by the module
 * @seq:		the page's sequence counter when the facts were copied
 * @bracketed:		MONOTONIC_RAW was read around REALTIME
 * @clocks_disagree:	REALTIME moved unlike MONOTONIC_RAW since the
 *			page's snapshot: a step the page does not show yet
 * @ntp_offset_ns:	the offset the kernel's PLL had still to slew in at
 *			the last adjtimex() call, ns; it only shrinks until
 *			the next call
 * @ntp_raw_ns:		when that call returned, MONOTONIC_RAW
 * @step_inflight:	steps under way that the page does not show yet
 * @have_report:	the page carries the daemon report fields below
 * @report_raw_ns:	when the daemon's last report was taken,
 *			MONOTONIC_RAW; 0 = none
 * @report_correction_ns: the offset the daemon had still to correct then
 * @report_anchor_raw_ns: the maxerror write the report goes with ...
 * @report_maxerror_us:	... and its maxerror, µs
 * @report_step_seq:	@step_seq when the report was taken
 * @report_flags:	CLOCKWATCH_DREPF_*
 * @unseen_step_ns:	steps by other processes the daemon has not been
 *			seen to measure yet, ns
 */
struct cw_facts {
	__s64 real_ns;
	__s64 raw_ns;
	__s64 window_ns;
	__s64 page_real_ns;
	__s64 page_raw_ns;
	bool have_sync;
	__s64 anchor_raw_ns;
	__s64 maxerror_us;
	__s64 esterror_us;
	__s64 interval_ns;
	__u32 sync_state;
	__u32 sync_reason;
	__s32 ntp_status;
	__s32 time_state;
	__u32 leap_pending;
	__u64 step_seq;
	__u32 seq;
	bool bracketed;
	bool clocks_disagree;
	__s64 ntp_offset_ns;
	__s64 ntp_raw_ns;
	__u32 step_inflight;
	bool have_report;
	__s64 report_raw_ns;
	__s64 report_correction_ns;
	__s64 report_anchor_raw_ns;
	__s64 report_maxerror_us;
	__u64 report_step_seq;
	__u32 report_flags;
	__s64 unseen_step_ns;
};

/**
 * cw_facts_read() - copy the facts from the page and read the clocks
 * @page:	the mapped page
 * @mode:	how to read the clocks
 * @raw_offset_ns: the caller's time-namespace monotonic offset
 *		(struct cw_timens), taken off its MONOTONIC_RAW reads
 * @f:		filled on success; every MONOTONIC_RAW time in it is the
 *		page's, of the initial time namespace
 *
 * The REALTIME read is made inside the sequence counter's section, so no
 * page update (a step, a maxerror write) falls between the facts and the
 * clock they describe.
 *
 * Return: 0; -EPROTO for a page of another layout; -EAGAIN when no
 * consistent copy could be made in CW_READ_MAX_RETRIES tries.
 */
int cw_facts_read(const struct clockwatch_page *page, enum cw_read_mode mode,
		  __s64 raw_offset_ns, struct cw_facts *f);

/**
 * cw_bound_compute() - the interval and status the facts support
 * @f:			the facts
 * @max_drift_ppb:	the clock's worst frequency error, ppb
 * @out:		filled: earliest_ns, latest_ns, bound_ns, status,
 *			reason and flags
 *
 * A pure function of its arguments: the unit tests give it constructed
 * facts and expect exact results.
 */
void cw_bound_compute(const struct cw_facts *f, __u64 max_drift_ppb,
		      struct cw_now *out);

/*
 * Page time: MONOTONIC_RAW at real_ns, from the page's snapshot and the
 * REALTIME elapsed since, rounded up.  false when REALTIME went backwards
 * or the snapshot is too old to lean on: then read MONOTONIC_RAW itself.
 */
static inline bool cw_page_time(__s64 page_real_ns, __s64 page_raw_ns,
				__s64 real_ns, __s64 *raw_ns)
{
	__s64 e = real_ns - page_real_ns;

	if (e < 0 || e > CW_STALE_NS)
		return false;
	*raw_ns = page_raw_ns + e + (e >> CW_RAW_OVER_REAL_SHIFT) + 1;
	return true;
}

/* struct cw_settled.leap */
#define CW_LEAP_ARMED		(1U << 0) /* at the next UTC midnight */
#define CW_LEAP_DONE		(1U << 1) /* in progress or done at the last one */

/**
 * struct cw_settled - what one page update settles for every now() until
 *	the next: the facts of a page copy with the status rules that look at
 *	the page alone applied, in the form a REALTIME read goes into fastest
 * @seq:		the page's sequence counter value they hold for
 * @leap:		CW_LEAP_*
 * @page_sec:		the page's REALTIME snapshot, seconds ...
 * @page_nsec:		... and the rest: REALTIME elapsed within the same
 *			second is a subtraction
 * @drift_linear:	@drift_ns and @drift_rem hold: the time since the
 *			maxerror write stays positive and its drift term
 *			fits 64 bits until the snapshot is stale
 * @since_ns:		time since the maxerror write the bound is anchored
 *			to, as page time counts it at the snapshot: the
 *			snapshot's MONOTONIC_RAW + 1 - the write's; e ns of
 *			REALTIME later add x = e + e / 8 to it
 * @maxerror_ns:	the maxerror of that write, in ns
 * @correction_ns:	the offset still to be corrected, ns
 * @reading_ns:		when that was read, MONOTONIC_RAW, less the
 *			anchor's: the reading's age is since - this
 * @kernel_after_ns:	since the maxerror write, MONOTONIC_RAW: after this
 *			the kernel's own maxerror has reached 16 s; INT64_MAX
 *			when another rule decides first
 * @silent_after_ns:	... and after this the daemon counts as silent (8
 *			update intervals); INT64_MAX: never
 * @drift_ns:		max_drift * @since_ns + 1e9 - 1 (the drift term
 *			before its division, rounded up) divided by 1e9 ...
 * @drift_rem:		... and the remainder: x later, the drift term is
 *			@drift_ns + (@drift_rem + max_drift * x) / 1e9
 * @status:		CW_STATUS_* until either threshold is passed
 * @reason:		CW_REASON_* with it
 */
struct cw_settled {
	__u32 seq;
	__u32 leap;
	__s64 page_sec;
	__s32 page_nsec;
	__u32 drift_linear;
	__s64 since_ns;
	__u64 maxerror_ns;
	__u64 correction_ns;
	__s64 reading_ns;
	__s64 kernel_after_ns;
	__s64 silent_after_ns;
	__u64 drift_ns;
	__u64 drift_rem;
	__u32 status;
	__u32 reason;
};

/*
 * Field by field, each once, with relaxed atomics: the struct cw_settled
 * of a clock's cache is read while another thread may be rewriting it
 * (the cache's own counter tells the reader afterwards).
 */
#define CW_READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define CW_WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline void cw_settled_load(struct cw_settled *to,
				   const struct cw_settled *from)
{
	to->seq = CW_READ_ONCE(from->seq);
	to->leap = CW_READ_ONCE(from->leap);
	to->page_sec = CW_READ_ONCE(from->page_sec);
	to->page_nsec = CW_READ_ONCE(from->page_nsec);
	to->drift_linear = CW_READ_ONCE(from->drift_linear);
	to->since_ns = CW_READ_ONCE(from->since_ns);
	to->maxerror_ns = CW_READ_ONCE(from->maxerror_ns);
	to->correction_ns = CW_READ_ONCE(from->correction_ns);
	to->reading_ns = CW_READ_ONCE(from->reading_ns);
	to->kernel_after_ns = CW_READ_ONCE(from->kernel_after_ns);
	to->silent_after_ns = CW_READ_ONCE(from->silent_after_ns);
	to->drift_ns = CW_READ_ONCE(from->drift_ns);
	to->drift_rem = CW_READ_ONCE(from->drift_rem);
	to->status = CW_READ_ONCE(from->status);
	to->reason = CW_READ_ONCE(from->reason);
}

static inline void cw_settled_store(struct cw_settled *to,
				    const struct cw_settled *from)
{
	CW_WRITE_ONCE(to->seq, from->seq);
	CW_WRITE_ONCE(to->leap, from->leap);
	CW_WRITE_ONCE(to->page_sec, from->page_sec);
	CW_WRITE_ONCE(to->page_nsec, from->page_nsec);
	CW_WRITE_ONCE(to->drift_linear, from->drift_linear);
	CW_WRITE_ONCE(to->since_ns, from->since_ns);
	CW_WRITE_ONCE(to->maxerror_ns, from->maxerror_ns);
	CW_WRITE_ONCE(to->correction_ns, from->correction_ns);
	CW_WRITE_ONCE(to->reading_ns, from->reading_ns);
	CW_WRITE_ONCE(to->kernel_after_ns, from->kernel_after_ns);
	CW_WRITE_ONCE(to->silent_after_ns, from->silent_after_ns);
	CW_WRITE_ONCE(to->drift_ns, from->drift_ns);
	CW_WRITE_ONCE(to->drift_rem, from->drift_rem);
	CW_WRITE_ONCE(to->status, from->status);
	CW_WRITE_ONCE(to->reason, from->reason);
}

/**
 * cw_leap_state() - CW_LEAP_* from what the kernel says of a leap second
 * @armed:	STA_INS or STA_DEL is set
 * @time_state:	the kernel's time_state (TIME_OK .. TIME_ERROR)
 */
__u32 cw_leap_state(bool armed, __s32 time_state);

/**
 * cw_leap_near() - is the leap second of @leap within reach of the
 *	interval real_ns +/- bound_ns?  Then the bound widens by CW_LEAP_NS.
 * @leap:	CW_LEAP_*
 * @real_ns:	CLOCK_REALTIME, the middle of the interval
 * @bound_ns:	the bound before the leap term
 */
bool cw_leap_near(__u32 leap, __s64 real_ns, __u64 bound_ns);

/**
 * cw_settle() - the settled part of page-time facts
 * @f:			facts from cw_facts_read(), with the interval now()
 *			uses
 * @max_drift_ppb:	as cw_bound_compute()
 * @s:			filled when the result is true
 *
 * Return: false for a page without the sync facts: its now() stays on
 * cw_facts_read() and cw_bound_compute().
 */
bool cw_settle(const struct cw_facts *f, __u64 max_drift_ppb,
	       struct cw_settled *s);

/**
 * cw_bound_settled() - cw_bound_compute() on settled facts and a REALTIME
 *	read made while the page's counter held @settled->seq
 * @settled:		from cw_settle(); read once with cw_settled_load(),
 *			so it may be a cache another thread is rewriting if
 *			the caller looks at the cache's counter afterwards
 * @real:		CLOCK_REALTIME, as clock_gettime() gives it
 * @max_drift_ppb:	the one given to cw_settle()
 * @out:		filled when the result is true, exactly as
 *			cw_bound_compute() fills it for the facts of a
 *			page-time cw_facts_read() that read @real
 *
 * Return: false when REALTIME went backwards since the page's snapshot or
 * the snapshot is stale; those take cw_facts_read() and
 * cw_bound_compute().
 */
bool cw_bound_settled(const struct cw_settled *settled,
		      const struct timespec *real, __u64 max_drift_ppb,
		      struct cw_now *out);

static inline __s64 cw_timespec_ns(const struct timespec *ts)
{
	return (__s64)ts->tv_sec * CW_NSEC_PER_SEC + ts->tv_nsec;
}

static inline __s64 cw_read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return cw_timespec_ns(&ts);
}

/**
 * cw_read_real_at() - read CLOCK_REALTIME while the page is unchanged
 * @page:	the mapped page
 * @seq:	the sequence counter value of a copy made earlier
 * @real:	filled when the result is true
 *
 * The section of cw_facts_read() without the copy.
 *
 * Return: true when the counter held @seq before and after the read: the
 * copy's facts hold for @real as they would for a cw_facts_read() now.
 */
static inline bool cw_read_real_at(const struct clockwatch_page *page,
				   __u32 seq, struct timespec *real)
{
	if (__atomic_load_n(&page->seq, __ATOMIC_ACQUIRE) != seq)
		return false;
	clock_gettime(CLOCK_REALTIME, real);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&page->seq, __ATOMIC_RELAXED) == seq;
}

#endif /* __CLOCKWATCH_FACTS_H */
