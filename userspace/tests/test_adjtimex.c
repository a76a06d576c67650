// SPDX-License-Identifier: GPL-2.0
/*
 * The bound without the module (CW_CLOCK_ADJTIMEX): the rules on
 * constructed struct timex values with exact expected results, then
 * now() on this machine beside adjtimex() and clock_gettime() read
 * around it.  Nothing here changes the clock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "kernel_facts.h"

#define SEC		1000000000LL
#define DAY		(86400LL * SEC)
/* 2026-11-20 00:00:00 UTC, a midnight. */
#define MIDNIGHT	(1795132800LL * SEC)
#define NOON		(MIDNIGHT + 12 * 3600 * SEC)

/* Put ns of REALTIME into tx->time as the kernel does: µs without STA_NANO. */
static void set_time(struct timex *tx, long long ns)
{
	tx->time.tv_sec = ns / SEC;
	tx->time.tv_usec = ns % SEC;
	if (!(tx->status & STA_NANO))
		tx->time.tv_usec /= 1000;
}

/*
 * ntpd-like: STA_PLL, ns resolution, maxerror 1 ms as the kernel holds
 * it, 123.456 µs still in the PLL, at noon and a half second.
 */
static struct timex synced(void)
{
	struct timex tx = {
		.status = STA_PLL | STA_NANO,
		.maxerror = 1000,
		.esterror = 20,
		.offset = -123456,
	};

	set_time(&tx, NOON + SEC / 2);
	return tx;
}

static void expect_unbounded(struct __test_metadata *_metadata,
			     const struct cw_now *n)
{
	EXPECT_EQ(CW_BOUND_INFINITE, n->bound_ns);
	EXPECT_EQ(INT64_MIN, n->earliest_ns);
	EXPECT_EQ(INT64_MAX, n->latest_ns);
	EXPECT_EQ(CW_NOW_ADJTIMEX, n->flags);
}

/* 1 ms + the 500 µs owed + 123.456 µs, exactly; the time is the call's. */
TEST(bound_exact)
{
	struct timex tx = synced();
	struct cw_now n;

	cw_bound_timex(&tx, TIME_OK, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_SYNCED, n.reason);
	EXPECT_EQ(CW_NOW_ADJTIMEX, n.flags);
	EXPECT_EQ(NOON + SEC / 2, n.real_ns);
	EXPECT_EQ(1000000, n.maxerror_ns);
	EXPECT_EQ(500000, n.drift_ns);
	EXPECT_EQ(123456, n.correction_ns);
	EXPECT_EQ(0, n.correction_age_ns);
	EXPECT_EQ(0, n.window_ns);
	EXPECT_EQ(0, n.leap_ns);
	EXPECT_EQ(-1, n.since_write_ns);
	EXPECT_EQ(1623456, n.bound_ns);
	EXPECT_EQ(NOON + SEC / 2 - 1623456, n.earliest_ns);
	EXPECT_EQ(NOON + SEC / 2 + 1623456, n.latest_ns);
	EXPECT_EQ(0, n.__reserved);

	/* The sign of the offset does not matter. */
	tx.offset = 123456;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(1623456, n.bound_ns);
}

/*
 * Without STA_NANO the kernel truncates the time and the offset to the
 * µs: each may be up to 999 ns more than it says.
 */
TEST(microseconds)
{
	struct timex tx = synced();
	struct cw_now n;

	tx.status &= ~STA_NANO;
	tx.offset = -123;			/* µs */
	set_time(&tx, NOON + SEC / 2 + 789);	/* the 789 ns are lost */
	cw_bound_timex(&tx, TIME_OK, &n);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(NOON + SEC / 2, n.real_ns);
	EXPECT_EQ(123999, n.correction_ns);
	EXPECT_EQ(999, n.window_ns);
	EXPECT_EQ(1000000 + 500000 + 123999 + 999, n.bound_ns);
	EXPECT_EQ(n.real_ns + (long long)n.bound_ns, n.latest_ns);
}

/* The kernel clamps what the PLL takes to 0.5 s: at the clamp, unknown. */
TEST(pll_clamp)
{
	struct timex tx = synced();
	struct cw_now n;

	tx.offset = 499999999;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(1000000 + 500000 + 499999999, n.bound_ns);

	tx.offset = 500000000;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CORRECTION_UNKNOWN, n.reason);
	expect_unbounded(_metadata, &n);
	tx.offset = -500000000;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);

	/* The same in µs. */
	tx.status &= ~STA_NANO;
	tx.offset = -500000;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	tx.offset = 499999;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(499999999, n.correction_ns);
}

/* A daemon that slews the clock itself: what it has left is not known. */
TEST(no_pll)
{
	struct timex tx = synced();
	struct cw_now n;

	tx.status &= ~STA_PLL;
	tx.offset = 0;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CORRECTION_UNKNOWN, n.reason);
	expect_unbounded(_metadata, &n);
	EXPECT_EQ(NOON + SEC / 2, n.real_ns);
}

TEST(unsynchronized)
{
	struct timex tx = synced();
	struct cw_now n;

	/* The kernel's maxerror reached 16 s (it sets STA_UNSYNC with it). */
	tx.maxerror = 16000000;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_KERNEL_LIMIT, n.reason);
	expect_unbounded(_metadata, &n);
	tx.maxerror = 15999999;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(15999999000ULL + 500000 + 123456, n.bound_ns);
	tx.maxerror = -1;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_REASON_KERNEL_LIMIT, n.reason);

	tx = synced();
	tx.status |= STA_UNSYNC;
	cw_bound_timex(&tx, TIME_ERROR, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_STA_UNSYNC, n.reason);
	expect_unbounded(_metadata, &n);

	/* TIME_ERROR for another cause (STA_CLOCKERR, PPS trouble). */
	tx = synced();
	cw_bound_timex(&tx, TIME_ERROR, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_TIME_ERROR, n.reason);
}

/*
 * maxerror 0 is no estimate.  The kernel grows maxerror but not esterror:
 * esterror 0 with maxerror in whole 500 µs steps is a 0 written and grown
 * (systemd-timesyncd writes both 0).
 */
TEST(maxerror_zero)
{
	struct timex tx = synced();
	struct cw_now n;

	tx.maxerror = 0;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_MAXERROR_ZERO, n.reason);
	expect_unbounded(_metadata, &n);

	tx.maxerror = 1500;	/* 3 s after timesyncd's write */
	tx.esterror = 0;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_MAXERROR_ZERO, n.reason);

	/* A real estimate with esterror 0 (a very good PPS). */
	tx.maxerror = 1234;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(1234000 + 500000 + 123456, n.bound_ns);
}

/* The leap rules of the module's path (bound.c), on the kernel's bits. */
TEST(leap_second)
{
	struct timex tx = synced();
	const long long b = 1623456;
	struct cw_now n;

	tx.status |= STA_INS;
	set_time(&tx, MIDNIGHT + DAY - SEC / 2);	/* 23:59:59.5 */
	cw_bound_timex(&tx, TIME_INS, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(SEC, n.leap_ns);
	EXPECT_EQ(b + SEC, n.bound_ns);
	EXPECT_EQ(CW_NOW_ADJTIMEX | CW_NOW_LEAP, n.flags);

	/* Exactly 1 s + bound before midnight: still in reach. */
	set_time(&tx, MIDNIGHT + DAY - SEC - b);
	cw_bound_timex(&tx, TIME_INS, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	set_time(&tx, MIDNIGHT + DAY - SEC - b - 1);
	cw_bound_timex(&tx, TIME_INS, &n);
	EXPECT_EQ(0, n.leap_ns);
	EXPECT_EQ(b, n.bound_ns);

	/* STA_DEL armed, time_state not yet TIME_DEL: armed all the same. */
	tx.status ^= STA_INS | STA_DEL;
	set_time(&tx, MIDNIGHT + DAY - SEC / 2);
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(SEC, n.leap_ns);

	/* Not armed: no widening at midnight. */
	tx.status &= ~STA_DEL;
	cw_bound_timex(&tx, TIME_OK, &n);
	EXPECT_EQ(0, n.leap_ns);

	/* TIME_OOP: REALTIME shows 23:59:59 again, the midnight is ahead. */
	set_time(&tx, MIDNIGHT + DAY - SEC);
	cw_bound_timex(&tx, TIME_OOP, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	EXPECT_EQ(MIDNIGHT + DAY - SEC + SEC + b, n.latest_ns);

	/* TIME_WAIT: 1 s + bound after midnight, not later. */
	set_time(&tx, MIDNIGHT + SEC + b);
	cw_bound_timex(&tx, TIME_WAIT, &n);
	EXPECT_EQ(SEC, n.leap_ns);
	set_time(&tx, MIDNIGHT + SEC + b + 1);
	cw_bound_timex(&tx, TIME_WAIT, &n);
	EXPECT_EQ(0, n.leap_ns);
}

/* The mode opens nothing; a drift above the kernel's 500 ppm is refused. */
TEST(open_options)
{
	struct cw_clock_opts o = { .sz = sizeof(o), .flags = CW_CLOCK_ADJTIMEX };
	struct cw_clock *c;

	c = cw_clock__open("/nonexistent/clockwatch", &o);
	ASSERT_NE(NULL, c);
	cw_clock__close(c);

	o.max_drift_ppb = 500000;
	c = cw_clock__open(NULL, &o);
	ASSERT_NE(NULL, c);
	cw_clock__close(c);

	o.max_drift_ppb = 500001;
	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open(NULL, &o));
	EXPECT_EQ(EINVAL, errno);

	o.max_drift_ppb = 0;
	o.flags = CW_CLOCK_ADJTIMEX << 1;
	EXPECT_EQ(NULL, cw_clock__open(NULL, &o));
}

static long long realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

/*
 * now() on this machine: its time lies between REALTIME read before and
 * after (less the µs truncation), and its status is what the rules make
 * of adjtimex() read before and after, when both agree.
 */
TEST(live)
{
	struct cw_clock_opts o = { .sz = sizeof(o), .flags = CW_CLOCK_ADJTIMEX };
	struct timex tx0 = { .modes = 0 }, tx1 = { .modes = 0 };
	struct cw_now n, e0, e1;
	long long t0, t1;
	struct cw_clock *c;
	int s0, s1, i;

	c = cw_clock__open(NULL, &o);
	ASSERT_NE(NULL, c);
	for (i = 0; i < 1000; i++) {
		s0 = adjtimex(&tx0);
		t0 = realtime_ns();
		ASSERT_EQ(0, cw_clock__now(c, &n));
		t1 = realtime_ns();
		s1 = adjtimex(&tx1);
		ASSERT_LE(0, s0);
		ASSERT_LE(0, s1);

		EXPECT_TRUE(n.flags & CW_NOW_ADJTIMEX);
		EXPECT_LE(t0 - 999, n.real_ns);
		EXPECT_GE(t1, n.real_ns);
		cw_bound_timex(&tx0, s0, &e0);
		cw_bound_timex(&tx1, s1, &e1);
		if (e0.status == e1.status && e0.reason == e1.reason) {
			EXPECT_EQ(e0.status, n.status);
			EXPECT_EQ(e0.reason, n.reason);
		}
		/* The machine's own state, said plainly. */
		if ((tx0.status & STA_UNSYNC) && (tx1.status & STA_UNSYNC))
			EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
		if (n.status == CW_STATUS_SYNCHRONIZED) {
			EXPECT_LE(n.earliest_ns, n.real_ns);
			EXPECT_GE(n.bound_ns, 500000);
		}
	}
	if (i == 1000)
		TH_LOG("this machine: %s (%s), maxerror %ld us, status 0x%x",
		       cw_status_str(n.status), cw_reason_str(n.reason),
		       tx1.maxerror, tx1.status);
	cw_clock__close(c);
}

/* The CLI says which source it used. */
TEST(cli_source)
{
	const char *cli = getenv("CLOCKWATCH_CLI");
	char cmd[512], out[4096];
	size_t len;
	FILE *p;

	if (!cli)
		SKIP(return, "CLOCKWATCH_CLI not set (make test sets it)");
	snprintf(cmd, sizeof(cmd), "%s now --adjtimex --json", cli);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	len = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[len] = '\0';
	EXPECT_NE(NULL, strstr(out, "\"source\":\"adjtimex\""));

	snprintf(cmd, sizeof(cmd), "%s now --adjtimex", cli);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	len = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[len] = '\0';
	EXPECT_NE(NULL, strstr(out, "source    adjtimex"));
}

TEST_HARNESS_MAIN
