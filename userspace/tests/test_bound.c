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

/* A synchronized clock: maxerror 1 ms written 10 s ago, page 1 ms old. */
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
		.time_state = TIME_OK,
	};
	return f;
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

static void expect_unbounded(struct __test_metadata *_metadata,
			     const struct cw_now *n)
{
	EXPECT_EQ(CW_BOUND_INFINITE, n->bound_ns);
	EXPECT_EQ(INT64_MIN, n->earliest_ns);
	EXPECT_EQ(INT64_MAX, n->latest_ns);
}

TEST(unsynchronized)
{
	struct cw_facts f;
	struct cw_now n;

	f = synced();
	f.ntp_status = STA_UNSYNC;
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
		{ CLOCKWATCH_SYNC_R_HOST_PAUSE, CW_REASON_HOST_PAUSE },
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

	/* Just done (TIME_OOP): widened for 1 s + bound after midnight. */
	f.time_state = TIME_OOP;
	f.real_ns = MIDNIGHT + 200000000;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	f.real_ns = MIDNIGHT + 2 * SEC;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(0, n.leap_ns);

	/* Armed by time_state alone (TIME_DEL). */
	f.time_state = TIME_DEL;
	f.real_ns = MIDNIGHT - 100;
	cw_bound_compute(&f, DRIFT_50PPM, &n);
	EXPECT_EQ(SEC, n.leap_ns);
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
