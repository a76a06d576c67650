// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the facts of a bound, copied from the page under its
 * sequence counter together with the clock reads they describe.
 *
 * This is the only file that knows where the facts live in struct
 * clockwatch_page.  It reads the few fields it needs straight from the
 * mapping rather than copying the page.  now() comes here once per page
 * update; in between it keeps what the update settled and reads only the
 * counter and REALTIME (cw_read_real_at()).
 */
#include "facts.h"

#define LOAD(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* The last field the sync facts need: present with the clock tracker. */
#define HAVE_SYNC_FACTS(size)						\
	((size) >= __builtin_offsetof(struct clockwatch_page, time_state) + \
		   sizeof(__s32))

/* The daemon's update interval, published by newer modules. */
#define HAVE_INTERVAL(size)						\
	((size) >= __builtin_offsetof(struct clockwatch_page,		\
				      maxerror_interval_raw_ns) + sizeof(__s64))

/* The daemon report and the steps in flight, published by newer modules. */
#define HAVE_REPORT(size)						\
	((size) >= __builtin_offsetof(struct clockwatch_page,		\
				      report_ref_real_ns) + sizeof(__s64))

/* The steps the daemon has not seen, published by newer modules. */
#define HAVE_UNSEEN(size)						\
	((size) >= __builtin_offsetof(struct clockwatch_page,		\
				      unseen_step_ns) + sizeof(__s64))

/*
 * How far apart the page's REALTIME and MONOTONIC_RAW may have been read;
 * steps smaller than this are not told from slewing (they are within any
 * bound a daemon publishes anyway).
 */
#define SNAPSHOT_SLACK_NS	2000

/* The fields, as they are now; caller checks the counter around this. */
static void copy_fields(const struct clockwatch_page *p, __u32 size,
			bool sync, struct cw_facts *f)
{
	f->page_real_ns = LOAD(p->clocks.realtime_ns);
	f->page_raw_ns = LOAD(p->clocks.monotonic_raw_ns);
	f->ntp_status = LOAD(p->ntp.status);
	f->time_state = LOAD(p->ntp.time_state);
	f->have_sync = sync;
	f->window_ns = 0;
	f->interval_ns = 0;
	f->bracketed = false;
	f->clocks_disagree = false;
	f->ntp_offset_ns = LOAD(p->ntp.offset_ns);
	f->ntp_raw_ns = LOAD(p->ntp_raw_ns);
	f->step_inflight = 0;
	f->have_report = false;
	f->report_raw_ns = 0;
	f->report_correction_ns = 0;
	f->report_anchor_raw_ns = 0;
	f->report_maxerror_us = 0;
	f->report_step_seq = 0;
	f->report_flags = 0;
	f->unseen_step_ns = 0;
	if (!sync) {
		f->anchor_raw_ns = 0;
		f->maxerror_us = 0;
		f->esterror_us = 0;
		f->sync_state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
		f->sync_reason = CLOCKWATCH_SYNC_R_NO_DAEMON;
		f->leap_pending = CLOCKWATCH_LEAP_NONE;
		f->step_seq = 0;
		return;
	}
	f->anchor_raw_ns = LOAD(p->maxerror_raw_ns);
	f->maxerror_us = LOAD(p->maxerror_us);
	f->esterror_us = LOAD(p->esterror_us);
	f->sync_state = LOAD(p->sync_state);
	f->sync_reason = LOAD(p->sync_reason);
	f->leap_pending = LOAD(p->leap_pending);
	f->time_state = LOAD(p->time_state);
	f->step_seq = LOAD(p->step_seq);
	if (HAVE_INTERVAL(size))
		f->interval_ns = LOAD(p->maxerror_interval_raw_ns);
	if (!HAVE_REPORT(size))
		return;
	f->step_inflight = LOAD(p->step_inflight);
	f->have_report = true;
	f->report_raw_ns = LOAD(p->report_raw_ns);
	f->report_correction_ns = LOAD(p->report_correction_ns);
	f->report_anchor_raw_ns = LOAD(p->report_anchor_raw_ns);
	f->report_maxerror_us = LOAD(p->report_maxerror_us);
	f->report_step_seq = LOAD(p->report_step_seq);
	f->report_flags = LOAD(p->report_flags);
	if (HAVE_UNSEEN(size))
		f->unseen_step_ns = LOAD(p->unseen_step_ns);
}

/*
 * MONOTONIC_RAW is read in the caller's time namespace: less its offset,
 * it is the page's (the initial namespace's) MONOTONIC_RAW.
 */
static void read_clocks(enum cw_read_mode mode, __s64 raw_offset_ns,
			struct cw_facts *f)
{
	__s64 raw0;

	if (mode == CW_READ_PAGE_TIME) {
		f->real_ns = cw_read_clock(CLOCK_REALTIME);
		return;
	}
	raw0 = cw_read_clock(CLOCK_MONOTONIC_RAW);
	f->real_ns = cw_read_clock(CLOCK_REALTIME);
	f->raw_ns = cw_read_clock(CLOCK_MONOTONIC_RAW) - raw_offset_ns;
	f->window_ns = f->raw_ns + raw_offset_ns - raw0;
}

/*
 * One consistent copy with the clocks read inside it; 0 or -EAGAIN.
 * Pairs with the writer's barriers as cw_reader__read() does.
 */
static int read_once(const struct clockwatch_page *p, __u32 size, bool sync,
		     enum cw_read_mode mode, __s64 raw_offset_ns,
		     struct cw_facts *f)
{
	long tries;
	__u32 seq;

	for (tries = 0; tries < CW_READ_MAX_RETRIES; tries++) {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			cw_cpu_relax();
			continue;
		}
		copy_fields(p, size, sync, f);
		read_clocks(mode, raw_offset_ns, f);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&p->seq, __ATOMIC_RELAXED) == seq) {
			f->seq = seq;
			return 0;
		}
	}
	return -EAGAIN;
}

/*
 * Did REALTIME move as MONOTONIC_RAW did since the snapshot, within the
 * rate limit?  No means a step the page does not show yet.
 */
static bool clocks_agree(const struct cw_facts *f)
{
	__s64 d_raw = f->raw_ns - f->page_raw_ns;
	__s64 d_real = f->real_ns - f->page_real_ns;
	__s64 slack = (d_raw > 0 ? d_raw >> CW_RAW_OVER_REAL_SHIFT : 0) +
		      SNAPSHOT_SLACK_NS;

	return d_real >= d_raw - f->window_ns - slack && d_real <= d_raw + slack;
}

int cw_facts_read(const struct clockwatch_page *page, enum cw_read_mode mode,
		  __s64 raw_offset_ns, struct cw_facts *f)
{
	__u32 size;
	bool sync;
	int err;

	if (LOAD(page->magic) != CLOCKWATCH_MAGIC ||
	    LOAD(page->version) != CLOCKWATCH_ABI_VERSION)
		return -EPROTO;
	size = LOAD(page->size);
	if (size < CW_PAGE_MIN_SIZE || size > CLOCKWATCH_PAGE_SIZE)
		return -EPROTO;
	sync = HAVE_SYNC_FACTS(size);

	err = read_once(page, size, sync, mode, raw_offset_ns, f);
	if (err)
		return err;
	if (mode == CW_READ_PAGE_TIME &&
	    cw_page_time(f->page_real_ns, f->page_raw_ns, f->real_ns, &f->raw_ns))
		return 0;
	if (mode == CW_READ_PAGE_TIME) {
		err = read_once(page, size, sync, CW_READ_BRACKETED,
				raw_offset_ns, f);
		if (err)
			return err;
	}
	f->bracketed = true;
	f->clocks_disagree = !clocks_agree(f);
	return 0;
}
