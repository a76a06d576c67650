// SPDX-License-Identifier: GPL-2.0
/*
 * The bound math and the status rules of libclockwatch, on constructed
 * facts with exact expected values: no page, no clock.
 */
#include <stdint.h>
#include <string.h>
#include <sys/timex.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "facts.h"

#define SEC		1000000000LL
#define DAY		(86400LL * SEC)
/* 2026-11-20 00:00:00 UTC, a midnight. */
#define MIDNIGHT	(1795132800LL * SEC)
#define DRIFT_50PPM	50000ULL

/*
 * A synchronized clock: maxerror 1 ms written 10 s ago, page 1 ms old, a
 * daemon that hands its offsets to the kernel's PLL, which has none left.
 */
static struct cw_facts synced(void)
{
	struct cw_facts f = {
		.real_ns = MIDNIGHT + 12 * 3600 * SEC,
		.raw_ns = 1000 * SEC,
		.page_real_ns = MIDNIGHT + 12 * 3600 * SEC - 1000000,
		.page_raw_ns = 1000 * SEC - 1000000,
		.have_sync = true,
		.anchor_raw_ns = 990 * SEC,
		.maxerror_us = 1000,
		.esterror_us = 100,
		.sync_state = CLOCKWATCH_SYNC_SYNCHRONIZED,
		.sync_reason = CLOCKWATCH_SYNC_R_MAXERROR,
		.ntp_status = STA_PLL,
		.time_state = TIME_OK,
		.ntp_raw_ns = 995 * SEC,
		.have_report = true,
	};
	return f;
}

/*
 * The same clock kept by a daemon that slews it itself (chronyd): no
 * STA_PLL, and its report, taken 2 ms after the maxerror write, says
 * 123 ms are still to be corrected.
 */
static struct cw_facts chrony_synced(void)
{
	struct cw_facts f = synced();

	f.ntp_status = 0;
	f.report_raw_ns = f.anchor_raw_ns + 2000000;
	f.report_correction_ns = -123000000;
	f.report_anchor_raw_ns = f.anchor_raw_ns;
	f.report_maxerror_us = f.maxerror_us;
	f.report_step_seq = f.step_seq;
	f.report_flags = CLOCKWATCH_DREPF_SYNCED;
	return f;
}

static void expect_unbounded(struct __test_metadata *_metadata,
			     const struct cw_now *n)
{
	EXPECT_EQ(CW_BOUND_INFINITE, n->bound_ns);
	EXPECT_EQ(INT64_MIN, n->earliest_ns);
	EXPECT_EQ(INT64_MAX, n->latest_ns);
}

/* 1 ms + 50 ppm * 10 s = 1 ms + 500 µs, exactly. */
TEST(bound_exact)
{
	struct cw_facts f = synced();
	struct cw_now n;

	cw_bound_compute(&f, DRIFT_50PPM, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	ASSERT_EQ(CW_REASON_SYNCED, n.reason);
	EXPECT_EQ(1000000, n.maxerror_ns);
	EXPECT_EQ(500000, n.drift_ns);
	EXPECT_EQ(0, n.window_ns);
	EXPECT_EQ(0, n.leap_ns);
	EXPECT_EQ(10 * SEC, n.since_write_ns);
	EXPECT_EQ(1500000, n.bound_ns);
	EXPECT_EQ(f.real_ns, n.real_ns);
	EXPECT_EQ(f.real_ns - 1500000, n.earliest_ns);
	EXPECT_EQ(f.real_ns + 1500000, n.latest_ns);
	EXPECT_EQ(0, n.flags);
	EXPECT_EQ(0, n.correction_ns);
	EXPECT_EQ(5 * SEC, n.correction_age_ns);
}

/*
 * The kernel's PLL has 123 ms still to slew in: the clock may be that
 * much further off than maxerror says (ntpd and timesyncd leave their
 * offsets to the PLL).
 */
TEST(pll_offset_in_bound)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.ntp_offset_ns = -123000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(123000000, n.correction_ns);
	EXPECT_EQ(1000000 + 123000000 + 500000, n.bound_ns);
	EXPECT_EQ(5 * SEC, n.correction_age_ns);

	/* The kernel clamps what it takes to 0.5 s: more may be left. */
	f.ntp_offset_ns = 500000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CORRECTION_UNKNOWN, n.reason);
	expect_unbounded(_metadata, &n);
}

/* chronyd's remaining correction, from its report, is in the bound. */
TEST(daemon_report_in_bound)
{
	struct cw_facts f = chrony_synced();
	struct cw_now n;

	cw_bound_compute(&f, DRIFT_50PPM, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(1000000, n.maxerror_ns);
	EXPECT_EQ(123000000, n.correction_ns);
	EXPECT_EQ(1000000 + 123000000 + 500000, n.bound_ns);
	EXPECT_EQ(10 * SEC - 2000000, n.correction_age_ns);

	/*
	 * The daemon wrote again (maxerror 3 ms, 1 s ago) and has not been
	 * asked since: the older pair still holds, grown by the drift.
	 */
	f.anchor_raw_ns = f.raw_ns - SEC;
	f.maxerror_us = 3000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(1000000, n.maxerror_ns);
	EXPECT_EQ(10 * SEC, n.since_write_ns);
	EXPECT_EQ(1000000 + 123000000 + 500000, n.bound_ns);

	/* chronyd without rtcsync leaves STA_UNSYNC set: its word counts. */
	f = chrony_synced();
	f.ntp_status = STA_UNSYNC;
	f.time_state = TIME_ERROR;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(1000000 + 123000000 + 500000, n.bound_ns);

	/* ... unless it says it is not synchronised. */
	f.report_flags = 0;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_UNSYNC, n.reason);
	expect_unbounded(_metadata, &n);
}

/*
 * A step by another process that the daemon has not measured yet: its
 * estimate does not know of it, the bound must.
 */
TEST(unseen_step_in_bound)
{
	struct cw_facts f = chrony_synced();
	struct cw_now n;

	f.unseen_step_ns = -1000000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(123000000 + 1000000000, n.correction_ns);
	EXPECT_EQ(1000000 + 123000000 + 1000000000 + 500000, n.bound_ns);

	f = synced();
	f.unseen_step_ns = 250000000;
	f.ntp_offset_ns = 1000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(250001000, n.correction_ns);
	EXPECT_EQ(1000000 + 250001000 + 500000, n.bound_ns);
}

/* Without a report that still holds, the daemon's correction is unknown. */
TEST(daemon_report_missing)
{
	struct cw_facts f = chrony_synced();
	struct cw_now n;

	f.report_raw_ns = 0;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CORRECTION_UNKNOWN, n.reason);
	expect_unbounded(_metadata, &n);

	/* A step since the report voids it. */
	f = chrony_synced();
	f.step_seq = 4;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CORRECTION_UNKNOWN, n.reason);

	/* A page without the report fields: the same. */
	f = chrony_synced();
	f.have_report = false;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);

	/* The kernel's own word comes first when it says unsynchronised. */
	f.ntp_status = STA_UNSYNC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_STA_UNSYNC, n.reason);
}

/* maxerror 0 (systemd-timesyncd writes it) is no estimate. */
TEST(maxerror_zero)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.maxerror_us = 0;
	f.ntp_offset_ns = 400000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_MAXERROR_ZERO, n.reason);
	expect_unbounded(_metadata, &n);

	f = chrony_synced();
	f.report_maxerror_us = 0;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_MAXERROR_ZERO, n.reason);
}

/* A step under way: REALTIME may be ahead of what the page describes. */
TEST(step_inflight)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.step_inflight = 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_STEP_INFLIGHT, n.reason);
	expect_unbounded(_metadata, &n);
}

/* The read window adds in full; the drift rate is the caller's. */
TEST(bound_window_and_rate)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.window_ns = 123;
	f.bracketed = true;
	cw_bound_compute(&f, 1000 /* 1 ppm */, &n);
	EXPECT_EQ(10000, n.drift_ns);
	EXPECT_EQ(123, n.window_ns);
	EXPECT_EQ(1000000 + 10000 + 123, n.bound_ns);
	EXPECT_EQ(CW_NOW_BRACKETED, n.flags);
}

/* The drift term rounds up: 1 ns at 50 ppm is 0.00005 ns, counted as 1. */
TEST(bound_drift_rounds_up)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.anchor_raw_ns = f.raw_ns - 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(1, n.drift_ns);
	f.anchor_raw_ns = f.raw_ns;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.drift_ns);
	EXPECT_EQ(1000000, n.bound_ns);
	/* 20001 ns * 50 ppm = 1.00005 ns: 2 */
	f.anchor_raw_ns = f.raw_ns - 20001;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(2, n.drift_ns);
}

/* Silent for more than 8 update intervals: free running, bound still valid. */
TEST(free_running_after_8_intervals)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.interval_ns = 1250 * 1000000LL;	/* 8 x 1.25 s = 10 s */
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	f.anchor_raw_ns -= 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_SILENT, n.reason);
	EXPECT_EQ(1000000 + 500001, n.bound_ns);

	/* The module's own judgement counts too. */
	f = synced();
	f.sync_state = CLOCKWATCH_SYNC_FREE_RUNNING;
	f.sync_reason = CLOCKWATCH_SYNC_R_DAEMON_SILENT;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(1500000, n.bound_ns);
}

TEST(unsynchronized)
{
	struct cw_facts f;
	struct cw_now n;

	f = synced();
	f.ntp_status |= STA_UNSYNC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_STA_UNSYNC, n.reason);
	expect_unbounded(_metadata, &n);

	f = synced();
	f.time_state = TIME_ERROR;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_TIME_ERROR, n.reason);

	f = synced();
	f.maxerror_us = 16000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_MAXERROR_LIMIT, n.reason);

	f = synced();
	f.anchor_raw_ns = 0;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_NO_DAEMON, n.reason);

	f = synced();
	f.sync_state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
	f.sync_reason = CLOCKWATCH_SYNC_R_NO_DAEMON;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	expect_unbounded(_metadata, &n);
}

/* The kernel's own maxerror (+500 µs/s) reaches 16 s: it set STA_UNSYNC. */
TEST(kernel_limit)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.maxerror_us = 16000000 - 5000;	/* 10 s x 500 µs = 5000 µs */
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_KERNEL_LIMIT, n.reason);

	f.maxerror_us -= 1;	/* the kernel's is 1 µs short of 16 s */
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
}

TEST(disrupted)
{
	static const struct { __u32 module, want; } reasons[] = {
		{ CLOCKWATCH_SYNC_R_FOREIGN_STEP, CW_REASON_FOREIGN_STEP },
		{ CLOCKWATCH_SYNC_R_VMFORK, CW_REASON_VMFORK },
		{ CLOCKWATCH_SYNC_R_RESUME, CW_REASON_RESUME },
		{ CLOCKWATCH_SYNC_R_FOREIGN_ADJUST, CW_REASON_FOREIGN_ADJUST },
		{ CLOCKWATCH_SYNC_R_HOST_PAUSE, CW_REASON_HOST_PAUSE },
		{ 99, CW_REASON_MODULE },	/* a reason this library does not know */
	};
	struct cw_facts f;
	struct cw_now n;
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		f = synced();
		f.sync_state = CLOCKWATCH_SYNC_DISRUPTED;
		f.sync_reason = reasons[i].module;
		/* Disrupted wins over clocks that disagree (the step itself). */
		f.clocks_disagree = true;
		cw_bound_compute(&f, DRIFT_50PPM, &n);
		EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
		EXPECT_EQ(reasons[i].want, n.reason);
		expect_unbounded(_metadata, &n);
	}
}

TEST(unknown)
{
	struct cw_facts f;
	struct cw_now n;

	f = synced();
	f.have_sync = false;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_PAGE_OLD, n.reason);
	expect_unbounded(_metadata, &n);

	f = synced();
	f.page_raw_ns = f.raw_ns - CW_STALE_NS;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	f.page_raw_ns -= 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_PAGE_STALE, n.reason);

	f = synced();
	f.clocks_disagree = true;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CLOCKS_DISAGREE, n.reason);

	f = synced();
	f.sync_state = 99;	/* a state of a newer module: in doubt */
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
}

/* A leap second armed widens the bound by 1 s when midnight is in reach. */
TEST(leap_second)
{
	struct cw_facts f = synced();
	struct cw_now n;

	f.leap_pending = CLOCKWATCH_LEAP_INSERT;
	f.real_ns = MIDNIGHT + DAY - 500000000;	/* 23:59:59.5 */
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(SEC, n.leap_ns);
	EXPECT_EQ(1500000 + SEC, n.bound_ns);
	EXPECT_EQ(CW_NOW_LEAP, n.flags);

	/* Exactly 1 s + bound before midnight: still in reach. */
	f.real_ns = MIDNIGHT + DAY - SEC - 1500000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	f.real_ns -= 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.leap_ns);
	EXPECT_EQ(1500000, n.bound_ns);

	/* Not armed: no widening at midnight. */
	f.leap_pending = CLOCKWATCH_LEAP_NONE;
	f.real_ns = MIDNIGHT + DAY - 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.leap_ns);

	/*
	 * In progress (TIME_OOP): second_overflow() set REALTIME back to
	 * 23:59:59 as it reached midnight, so the midnight is still ahead
	 * for the whole inserted second.
	 */
	f.time_state = TIME_OOP;
	f.real_ns = MIDNIGHT + DAY - SEC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	EXPECT_EQ(f.real_ns + SEC + 1500000, n.latest_ns);
	f.real_ns = MIDNIGHT + DAY - 1;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);

	/* Just done (TIME_WAIT): widened for 1 s + bound after midnight. */
	f.time_state = TIME_WAIT;
	f.real_ns = MIDNIGHT + 200000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	f.real_ns = MIDNIGHT + 2 * SEC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.leap_ns);
	f.real_ns = MIDNIGHT + 12 * 3600 * SEC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.leap_ns);

	/* Armed by time_state alone (TIME_DEL). */
	f.time_state = TIME_DEL;
	f.real_ns = MIDNIGHT - 100;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
}

/*
 * The settled path: what cw_settle() keeps of a page update and
 * cw_bound_settled() makes of it with a REALTIME read must be exactly
 * what cw_bound_compute() makes of the facts of a page-time read of that
 * REALTIME.
 *
 * A page-time read of f's page at real_ns, the maxerror write since_ns
 * before it (if there was one).  1 when the settled path answered, as
 * cw_bound_compute() does; 0 when it declined, as it must for a page
 * without the sync facts, REALTIME before the snapshot or a stale one;
 * -1 for a wrong answer or a wrong refusal.
 */
static int settled_vs_compute(struct cw_facts *f, __s64 real_ns,
			      __s64 since_ns, __u64 drift_ppb)
{
	struct timespec real = {
		/* Normalized, as clock_gettime() gives it. */
		.tv_sec = real_ns / SEC - (real_ns % SEC < 0),
		.tv_nsec = real_ns % SEC + (real_ns % SEC < 0 ? SEC : 0),
	};
	struct cw_settled s;
	struct cw_now want, got;
	bool covered, answered;

	f->real_ns = real_ns;
	f->raw_ns = f->page_raw_ns;
	f->window_ns = 0;
	f->bracketed = false;
	f->clocks_disagree = false;
	covered = cw_page_time(f->page_real_ns, f->page_raw_ns, real_ns,
			       &f->raw_ns);
	if (f->anchor_raw_ns)
		f->anchor_raw_ns = f->raw_ns - since_ns;
	if (f->report_anchor_raw_ns) {
		f->report_anchor_raw_ns = f->anchor_raw_ns;
		f->report_raw_ns = f->anchor_raw_ns + 1000;
	}

	memset(&want, 0xa5, sizeof(want));
	memset(&got, 0x5a, sizeof(got));
	cw_bound_compute(f, drift_ppb, &want);
	covered = covered && f->have_sync && want.reason != CW_REASON_PAGE_STALE;
	if (!cw_settle(f, drift_ppb, &s))
		return covered ? -1 : 0;
	answered = cw_bound_settled(&s, &real, drift_ppb, &got);
	if (!answered)
		return covered ? -1 : 0;
	return covered && !memcmp(&want, &got, sizeof(want)) ? 1 : -1;
}

#define VARIANTS	27

/* synced() with one status rule or leap state in play. */
static void vary(struct cw_facts *f, int variant)
{
	switch (variant) {
	case 1:
		f->sync_state = CLOCKWATCH_SYNC_FREE_RUNNING;
		break;
	case 2:
		f->sync_state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
		break;
	case 3:
		f->sync_state = 99;
		break;
	case 4:
		f->sync_state = CLOCKWATCH_SYNC_DISRUPTED;
		f->sync_reason = CLOCKWATCH_SYNC_R_VMFORK;
		break;
	case 5:
		f->anchor_raw_ns = 0;
		break;
	case 6:
		f->maxerror_us = 16000000;
		break;
	case 7:
		f->maxerror_us = -1;
		break;
	case 8:
		f->ntp_status = STA_UNSYNC;
		break;
	case 9:
		f->time_state = TIME_ERROR;
		break;
	case 10:	/* the kernel reaches 16 s 32 s after the write ... */
		f->maxerror_us = 16000000 - 16000;
		break;
	case 11:	/* ... 1 µs more: 33 s */
		f->maxerror_us = 16000000 - 16001;
		break;
	case 12:
		f->interval_ns = 0;
		break;
	case 13:
		f->interval_ns = INT64_MAX / 4;
		break;
	case 14:
		f->leap_pending = CLOCKWATCH_LEAP_INSERT;
		break;
	case 15:
		f->time_state = TIME_DEL;
		break;
	case 16:
		f->time_state = TIME_OOP;
		break;
	case 17:
		f->time_state = TIME_WAIT;
		break;
	case 18:
		f->have_sync = false;
		break;
	case 19:
		f->maxerror_us = INT64_MAX / 1000;
		break;
	case 20:
		f->ntp_offset_ns = -250000000;
		break;
	case 21:
		f->ntp_offset_ns = 500000000;
		break;
	case 22:
		*f = chrony_synced();
		break;
	case 23:
		*f = chrony_synced();
		f->report_flags = 0;
		break;
	case 24:
		*f = chrony_synced();
		f->step_seq++;
		break;
	case 25:
		f->step_inflight = 2;
		break;
	case 26:
		*f = chrony_synced();
		f->unseen_step_ns = -300000000;
		break;
	}
}

#define COUNT(a)	(sizeof(a) / sizeof((a)[0]))

/* Every status rule and leap state, at the ages and times around its edges. */
TEST(settled_matches_compute)
{
	static const __s64 ages[] = {
		0, 1, 1000000, 2666666665LL, 2666666666LL, 2666666667LL,
		CW_STALE_NS, CW_STALE_NS + 1, -1,
	};
	/* Free running after 8 x 1.25 s; the kernel's 16 s after 32 s. */
	static const __s64 sinces[] = {
		10 * SEC, 0, -1, 1, 10 * SEC + 1, 32 * SEC - 1, 32 * SEC,
		INT64_MAX / 2,
	};
	/* Noon, and both sides of a leap second's reach at midnight. */
	static const __s64 reals[] = {
		MIDNIGHT + 12 * 3600 * SEC, MIDNIGHT + DAY - SEC - 1500001,
		MIDNIGHT + DAY - SEC - 1500000, MIDNIGHT + DAY - 1,
		MIDNIGHT + DAY, MIDNIGHT + DAY + SEC + 1500000,
		MIDNIGHT + DAY + SEC + 1500001,
	};
	static const __u64 rates[] = { 1, DRIFT_50PPM, 999999999 };
	int variant, answered = 0, declined = 0, wrong = 0, r;
	size_t a, i, t, d;
	struct cw_facts f;

	for (variant = 0; variant < VARIANTS; variant++)
	for (a = 0; a < COUNT(ages); a++)
	for (i = 0; i < COUNT(sinces); i++)
	for (t = 0; t < COUNT(reals); t++)
	for (d = 0; d < COUNT(rates); d++) {
		f = synced();
		vary(&f, variant);
		f.page_real_ns = reals[t] - ages[a];
		f.interval_ns = 1250000000LL;
		r = settled_vs_compute(&f, reals[t], sinces[i], rates[d]);
		if (r < 0 && wrong++ < 5)
			TH_LOG("variant %d, age %lld, since %lld, real %zu, %llu ppb",
			       variant, (long long)ages[a], (long long)sinces[i],
			       t, (unsigned long long)rates[d]);
		answered += r > 0;
		declined += r == 0;
	}
	EXPECT_EQ(0, wrong);
	TH_LOG("%d answered by the settled path, %d declined", answered, declined);

	/* The everyday case goes the settled way, at every rate. */
	for (d = 0; d < COUNT(rates); d++) {
		f = synced();
		f.page_real_ns = reals[0] - 1000000;
		EXPECT_EQ(1, settled_vs_compute(&f, reals[0], 10 * SEC, rates[d]));
	}
}

static __u64 rnd_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64: the same sequence on every run. */
static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/*
 * Any value of 62 bits, small ones as often as large ones: two of them
 * add up without overflow.
 */
static __s64 rnd_any(void)
{
	return (__s64)rnd() >> (2 + rnd() % 62);
}

/* 10^6 facts from anywhere, the same on every run. */
TEST(settled_matches_compute_random)
{
	static const __u32 states[] = {
		CLOCKWATCH_SYNC_SYNCHRONIZED, CLOCKWATCH_SYNC_SYNCHRONIZED,
		CLOCKWATCH_SYNC_FREE_RUNNING, CLOCKWATCH_SYNC_UNSYNCHRONIZED,
		CLOCKWATCH_SYNC_DISRUPTED, 7,
	};
	static const int time_states[] = {
		TIME_OK, TIME_OK, TIME_OK, TIME_INS, TIME_DEL, TIME_OOP,
		TIME_WAIT, TIME_ERROR,
	};
	int i, answered = 0, wrong = 0, r;
	__s64 real, since;
	struct cw_facts f;
	__u64 ppb;

	for (i = 0; i < 1000000; i++) {
		f = synced();
		real = rnd() % 2 ? rnd_any() :
		       MIDNIGHT + (__s64)(rnd() % 3) * DAY - 2 * SEC +
		       (__s64)(rnd() % (4 * SEC));
		f.page_real_ns = real - (rnd() % 2 ? (__s64)(rnd() % (4 * SEC)) :
						     rnd_any());
		f.page_raw_ns = rnd_any();
		f.have_sync = rnd() % 16;
		f.anchor_raw_ns = rnd() % 16;
		f.maxerror_us = rnd() % 2 ? (__s64)(rnd() % 16001000) : rnd_any();
		f.interval_ns = rnd() % 2 ? (__s64)(rnd() % (10 * SEC)) : rnd_any();
		f.sync_state = states[rnd() % COUNT(states)];
		f.sync_reason = rnd() % 9;
		f.ntp_status = (rnd() % 8 ? 0 : STA_UNSYNC) |
			       (rnd() % 4 ? STA_PLL : 0);
		f.ntp_offset_ns = rnd() % 2 ? 0 : (__s64)(rnd() % (2 * SEC)) - SEC;
		f.step_inflight = rnd() % 16 == 0;
		f.unseen_step_ns = rnd() % 4 ? 0 : rnd_any() - rnd_any();
		if (rnd() % 2) {
			f.report_raw_ns = 1;
			f.report_anchor_raw_ns = 1;
			f.report_maxerror_us = rnd() % 2 ? f.maxerror_us :
							  (__s64)(rnd() % 16001000);
			f.report_correction_ns = rnd_any() - rnd_any();
			f.report_flags = rnd() % 4 ? CLOCKWATCH_DREPF_SYNCED : 0;
			f.report_step_seq = rnd() % 8 == 0;
		}
		f.time_state = time_states[rnd() % COUNT(time_states)];
		f.leap_pending = rnd() % 4 ? CLOCKWATCH_LEAP_NONE : rnd() % 3;
		since = rnd() % 2 ? (__s64)(rnd() % (40000 * SEC)) : rnd_any();
		ppb = rnd() % 2 ? DRIFT_50PPM : rnd() % 1000000000ULL;
		r = settled_vs_compute(&f, real, since, ppb);
		if (r < 0 && wrong++ < 5)
			TH_LOG("case %d differs", i);
		answered += r > 0;
	}
	EXPECT_EQ(0, wrong);
	EXPECT_GT(answered, 100000);
}

TEST(names)
{
	EXPECT_STREQ("synchronized", cw_status_str(CW_STATUS_SYNCHRONIZED));
	EXPECT_STREQ("free_running", cw_status_str(CW_STATUS_FREE_RUNNING));
	EXPECT_STREQ("unsynchronized", cw_status_str(CW_STATUS_UNSYNCHRONIZED));
	EXPECT_STREQ("disrupted", cw_status_str(CW_STATUS_DISRUPTED));
	EXPECT_STREQ("unknown", cw_status_str(CW_STATUS_UNKNOWN));
	EXPECT_STREQ("unknown", cw_status_str(77));
	EXPECT_STREQ("unknown reason", cw_reason_str(1000));
	EXPECT_NE(NULL, strstr(cw_reason_str(CW_REASON_FOREIGN_STEP), "step"));
}

TEST_HARNESS_MAIN
