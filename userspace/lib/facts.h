/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: the facts a clock error bound is computed from, and the
 * computation, kept apart from the page layout.
 *
 * facts.c fills a struct cw_facts from the page and the clock reads;
 * bound.c turns the facts into [earliest, latest] and a status without
 * looking at the page.  Only facts.c knows where each fact lives in
 * struct clockwatch_page, so a change of the page touches one function.
 */
#ifndef __CLOCKWATCH_FACTS_H
#define __CLOCKWATCH_FACTS_H

#include <stdbool.h>

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
 * @bracketed:		MONOTONIC_RAW was read around REALTIME
 * @clocks_disagree:	REALTIME moved unlike MONOTONIC_RAW since the
 *			page's snapshot: a step the page does not show yet
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
	bool bracketed;
	bool clocks_disagree;
};

/**
 * cw_facts_read() - copy the facts from the page and read the clocks
 * @page:	the mapped page
 * @mode:	how to read the clocks
 * @f:		filled on success
 *
 * The REALTIME read is made inside the sequence counter's section, so no
 * page update (a step, a maxerror write) falls between the facts and the
 * clock they describe.
 *
 * Return: 0; -EPROTO for a page of another layout; -EAGAIN when no
 * consistent copy could be made in CW_READ_MAX_RETRIES tries.
 */
int cw_facts_read(const struct clockwatch_page *page, enum cw_read_mode mode,
		  struct cw_facts *f);

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

#endif /* __CLOCKWATCH_FACTS_H */
