// SPDX-License-Identifier: GPL-2.0
/*
 * libclockwatch's clock API against a file-backed page: status
 * transitions as the stand-in module changes the facts, after/before,
 * commit wait, waiting for synchronization, and the errors.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "page_writer.h"
#include "sync_writer.h"
#include "torn.h"

#define MS		1000000LL
#define SEC		1000000000LL
#define MAXERR_US	2000LL		/* the daemon's maxerror, 2 ms */
#define DRIFT_PPB	50000LL
/* Slack for the page-time estimate and scheduling, ns. */
#define SLACK_NS	(1 * MS)

FIXTURE(clk) {
	struct page_file pf;
	struct cw_clock *clock;
};

/* The daemon wrote maxerror ago_ns before now; everything else is fine. */
static void daemon_wrote(struct clockwatch_page *p, long long ago_ns)
{
	page_set_sync(p, MAXERR_US, clock_ns(CLOCK_MONOTONIC_RAW) - ago_ns,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
}

FIXTURE_SETUP(clk)
{
	ASSERT_EQ(0, page_file_create(&self->pf));
	daemon_wrote(self->pf.page, 1 * SEC);
	self->clock = cw_clock__open(self->pf.path, NULL);
	ASSERT_NE(NULL, self->clock) TH_LOG("open: %s", cw_strerror(-errno));
}

FIXTURE_TEARDOWN(clk)
{
	cw_clock__close(self->clock);
	page_file_destroy(&self->pf);
}

/* Synchronized: the bound is maxerror + 50 ppm x 1 s, and holds REALTIME. */
TEST_F(clk, synchronized_bound)
{
	long long before, after, want;
	struct cw_now n;

	before = clock_ns(CLOCK_REALTIME);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	after = clock_ns(CLOCK_REALTIME);
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	want = MAXERR_US * 1000 + DRIFT_PPB;	/* 1 s at 50 ppm = 50 µs */
	EXPECT_GE(n.bound_ns, want);
	EXPECT_LE(n.bound_ns, want + SLACK_NS);
	EXPECT_EQ(MAXERR_US * 1000, n.maxerror_ns);
	EXPECT_EQ(n.bound_ns, n.maxerror_ns + n.drift_ns + n.window_ns + n.leap_ns);
	EXPECT_EQ(n.real_ns - (long long)n.bound_ns, n.earliest_ns);
	EXPECT_EQ(n.real_ns + (long long)n.bound_ns, n.latest_ns);
	EXPECT_GE(n.real_ns, before);
	EXPECT_LE(n.real_ns, after);
	EXPECT_EQ(0, n.flags & CW_NOW_BRACKETED);
}

/* Bracketed reads add their window and say so. */
TEST_F(clk, bracketed)
{
	struct cw_clock_opts opts = {
		.sz = sizeof(opts),
		.max_drift_ppb = 1000,	/* 1 ppm */
		.flags = CW_CLOCK_BRACKETED,
	};
	struct cw_clock *c = cw_clock__open(self->pf.path, &opts);
	struct cw_now n;

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, cw_clock__now(c, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_TRUE(n.flags & CW_NOW_BRACKETED);
	EXPECT_GT(n.window_ns, 0);
	EXPECT_GE(n.drift_ns, 1000);		/* 1 s at 1 ppm */
	EXPECT_LE(n.drift_ns, 1000 + 100);
	cw_clock__close(c);
}

/* The statuses in the order a machine's life may show them. */
TEST_F(clk, status_transitions)
{
	struct clockwatch_page *p = self->pf.page;
	struct cw_now n;

	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	/* Two writes 100 ms apart: the interval this process observes. */
	daemon_wrote(p, 0);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	page_set_sync(p, MAXERR_US, p->maxerror_raw_ns + 100 * MS,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	/* Silent for more than 8 x 100 ms. */
	daemon_wrote(p, 1 * SEC);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_SILENT, n.reason);
	EXPECT_NE(CW_BOUND_INFINITE, n.bound_ns);

	/* A third party steps the clock. */
	page_set_state(p, CLOCKWATCH_SYNC_DISRUPTED, CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
	EXPECT_EQ(CW_REASON_FOREIGN_STEP, n.reason);
	EXPECT_EQ(CW_BOUND_INFINITE, n.bound_ns);

	/* The daemon writes maxerror again. */
	daemon_wrote(p, 0);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	/* chrony at start: 16 s and STA_UNSYNC. */
	page_set_sync(p, 16000000, clock_ns(CLOCK_MONOTONIC_RAW),
		      CLOCKWATCH_SYNC_UNSYNCHRONIZED, STA_UNSYNC, TIME_ERROR);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);

	/* STA_UNSYNC alone is enough. */
	page_set_sync(p, MAXERR_US, clock_ns(CLOCK_MONOTONIC_RAW),
		      CLOCKWATCH_SYNC_SYNCHRONIZED, STA_UNSYNC, TIME_OK);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNSYNCHRONIZED, n.status);
	EXPECT_EQ(CW_REASON_STA_UNSYNC, n.reason);

	/* The module stops refreshing the page: stale. */
	daemon_wrote(p, 0);
	page_write_begin(p);
	p->clocks.realtime_ns -= 4 * SEC;
	p->clocks.monotonic_raw_ns -= 4 * SEC;
	page_write_end(p);
	EXPECT_EQ(-ESTALE, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_PAGE_STALE, n.reason);

	/* REALTIME stepped and the page does not say so yet. */
	daemon_wrote(p, 0);
	page_write_begin(p);
	p->clocks.realtime_ns += 1 * SEC;
	page_write_end(p);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_CLOCKS_DISAGREE, n.reason);

	/* A writer that never finishes: torn. */
	daemon_wrote(p, 0);
	page_write_begin(p);
	EXPECT_EQ(-EAGAIN, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_PAGE_TORN, n.reason);
	page_write_end(p);
}

/* The module publishes the daemon's interval: 8 of them silent is free running. */
TEST_F(clk, published_interval)
{
	struct clockwatch_page *p = self->pf.page;
	struct cw_now n;

	daemon_wrote(p, 500 * MS);
	page_write_begin(p);
	p->maxerror_interval_raw_ns = 100 * MS;
	page_write_end(p);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	daemon_wrote(p, 900 * MS);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_SILENT, n.reason);
}

/* A page of the first version has no sync facts: unknown, never synchronized. */
TEST_F(clk, old_page)
{
	struct clockwatch_page *p = self->pf.page;
	struct cw_now n;

	page_write_begin(p);
	p->size = CW_PAGE_MIN_SIZE;
	page_write_end(p);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(CW_REASON_PAGE_OLD, n.reason);

	page_write_begin(p);
	p->magic = 0;
	page_write_end(p);
	EXPECT_EQ(-EPROTO, cw_clock__now(self->clock, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
}

/* TrueTime's after(t): t < earliest; before(t): t > latest. */
TEST_F(clk, after_before)
{
	struct cw_now n;
	long long b;

	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	b = (long long)n.bound_ns;
	EXPECT_EQ(1, cw_clock__after(self->clock, n.real_ns - 2 * b - SLACK_NS));
	EXPECT_EQ(0, cw_clock__after(self->clock, n.real_ns));
	EXPECT_EQ(0, cw_clock__after(self->clock, n.real_ns + 2 * b));
	EXPECT_EQ(1, cw_clock__before(self->clock, n.real_ns + 2 * b + SLACK_NS));
	EXPECT_EQ(0, cw_clock__before(self->clock, n.real_ns));
	EXPECT_EQ(0, cw_clock__before(self->clock, n.real_ns - 2 * b));

	/* Without a bound nothing is definite, either way. */
	page_set_state(self->pf.page, CLOCKWATCH_SYNC_DISRUPTED,
		       CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	EXPECT_EQ(0, cw_clock__after(self->clock, 0));
	EXPECT_EQ(0, cw_clock__before(self->clock, INT64_MAX));
	EXPECT_EQ(-EINVAL, cw_clock__after(NULL, 0));
}

/* Commit wait: t = now.latest has definitely passed on return, ~2 bounds later. */
TEST_F(clk, wait_until)
{
	long long t0, waited;
	struct cw_now n;

	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	t0 = clock_ns(CLOCK_MONOTONIC);
	ASSERT_EQ(0, cw_clock__wait_until(self->clock, n.latest_ns, 1 * SEC));
	waited = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_EQ(1, cw_clock__after(self->clock, n.latest_ns));
	EXPECT_GE(waited, 2 * (long long)n.bound_ns - SLACK_NS);
	EXPECT_LE(waited, 2 * (long long)n.bound_ns + 50 * MS);

	/* No bound: the wait runs into its timeout. */
	page_set_state(self->pf.page, CLOCKWATCH_SYNC_DISRUPTED,
		       CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	t0 = clock_ns(CLOCK_MONOTONIC);
	EXPECT_EQ(-ETIMEDOUT, cw_clock__wait_until(self->clock, 0, 30 * MS));
	waited = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_GE(waited, 30 * MS);
	EXPECT_LE(waited, 200 * MS);
	EXPECT_EQ(-EINVAL, cw_clock__wait_until(self->clock, 0, -5));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* SIGALRM every period_ms, with a handler and without SA_RESTART. */
static void alarm_every(int period_ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_interval = { .tv_usec = period_ms * 1000 },
		.it_value = { .tv_usec = period_ms * 1000 },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void alarm_off(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_DFL);
}

/* Signals with a handler do not end a commit wait before its time. */
TEST_F(clk, wait_until_signals)
{
	long long t, real, t0, waited;
	struct cw_now n;

	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	t = n.latest_ns + 300 * MS;
	alarm_every(40);
	EXPECT_EQ(0, cw_clock__wait_until(self->clock, t, 5 * SEC));
	real = clock_ns(CLOCK_REALTIME);
	alarm_off();
	EXPECT_GE(alarms, 2);
	/* Definitely passed: REALTIME is past t by a bound at least. */
	EXPECT_GT(real, t + (long long)n.bound_ns);

	/* No bound: the wait runs into its timeout, not into a signal. */
	page_set_state(self->pf.page, CLOCKWATCH_SYNC_DISRUPTED,
		       CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	alarm_every(20);
	t0 = clock_ns(CLOCK_MONOTONIC);
	EXPECT_EQ(-ETIMEDOUT, cw_clock__wait_until(self->clock, 0, 150 * MS));
	EXPECT_EQ(-ETIMEDOUT, cw_clock__wait_synced(self->clock, 150 * MS));
	waited = clock_ns(CLOCK_MONOTONIC) - t0;
	alarm_off();
	EXPECT_GE(alarms, 4);
	EXPECT_GE(waited, 300 * MS);
}

/*
 * cw_clock_opts as libbpf's opts: an older caller's smaller struct leaves
 * the fields it does not cover at their defaults, whatever its memory
 * holds past its size; a newer caller's larger struct is fine while the
 * bytes this library does not know are zero.
 */
TEST_F(clk, opts_size)
{
	struct {
		struct cw_clock_opts o;
		char newer[8];
	} big;
	struct cw_clock_opts o;
	struct cw_clock *c;
	struct cw_now n;
	size_t i;

	/* Up to max_drift_ppb: the flags past it are not read. */
	memset(&o, 0, sizeof(o));
	o.sz = offsetof(struct cw_clock_opts, flags);
	o.max_drift_ppb = 1000;			/* 1 ppm */
	o.flags = CW_CLOCK_ADJTIMEX | 0x80;	/* would be EINVAL */
	c = cw_clock__open(self->pf.path, &o);
	ASSERT_NE(NULL, c) TH_LOG("%s", cw_strerror(-errno));
	ASSERT_EQ(0, cw_clock__now(c, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	EXPECT_EQ(0, n.flags & CW_NOW_ADJTIMEX);
	EXPECT_GE(n.drift_ns, 1000);		/* 1 s at 1 ppm */
	EXPECT_LE(n.drift_ns, 1000 + 100);
	cw_clock__close(c);
	/* ... so a page is opened: a missing one is ENOENT, as without opts. */
	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open("/nonexistent/clockwatch", &o));
	EXPECT_EQ(ENOENT, errno);

	/* Only sz: every option at its default (50 ppm). */
	o.sz = sizeof(o.sz);
	o.max_drift_ppb = 1000000000ULL;	/* would be EINVAL */
	c = cw_clock__open(self->pf.path, &o);
	ASSERT_NE(NULL, c) TH_LOG("%s", cw_strerror(-errno));
	ASSERT_EQ(0, cw_clock__now(c, &n));
	EXPECT_GE(n.drift_ns, DRIFT_PPB);	/* 1 s at 50 ppm */
	EXPECT_LE(n.drift_ns, DRIFT_PPB + 5000);
	cw_clock__close(c);

	/* Less than sz itself: not a struct at all. */
	o.sz = sizeof(o.sz) - 1;
	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open(self->pf.path, &o));
	EXPECT_EQ(EINVAL, errno);

	/* Larger, zero beyond: fine; any byte beyond set: EINVAL. */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.max_drift_ppb = 1000;
	c = cw_clock__open(self->pf.path, &big.o);
	EXPECT_NE(NULL, c);
	cw_clock__close(c);
	for (i = 0; i < sizeof(big.newer); i++) {
		big.newer[i] = 1;
		errno = 0;
		EXPECT_EQ(NULL, cw_clock__open(self->pf.path, &big.o));
		EXPECT_EQ(EINVAL, errno);
		big.newer[i] = 0;
	}
}

/* The room for later fields of struct cw_now is zero, bound or no bound. */
TEST_F(clk, now_reserved_zero)
{
	struct cw_now n;
	int round;
	size_t i;

	for (round = 0; round < 3; round++) {
		if (round == 2)
			page_set_state(self->pf.page, CLOCKWATCH_SYNC_DISRUPTED,
				       CLOCKWATCH_SYNC_R_FOREIGN_STEP);
		/* the first call fills the cache, the second answers from it */
		memset(&n, 0xa5, sizeof(n));
		ASSERT_EQ(0, cw_clock__now(self->clock, &n));
		EXPECT_EQ(0, n.__reserved);
		for (i = 0; i < sizeof(n.__reserved1) / sizeof(n.__reserved1[0]); i++)
			EXPECT_EQ(0, n.__reserved1[i]) TH_LOG("round %d, [%zu]", round, i);
	}
	EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
}

static void *resync_later(void *arg)
{
	struct clockwatch_page *p = arg;
	struct timespec ts = { .tv_nsec = 50 * MS };

	nanosleep(&ts, NULL);
	daemon_wrote(p, 0);
	return NULL;
}

TEST_F(clk, wait_synced)
{
	struct clockwatch_page *p = self->pf.page;
	long long t0, waited;
	pthread_t th;

	EXPECT_EQ(0, cw_clock__wait_synced(self->clock, 0));

	page_set_state(p, CLOCKWATCH_SYNC_DISRUPTED, CLOCKWATCH_SYNC_R_VMFORK);
	EXPECT_EQ(-ETIMEDOUT, cw_clock__wait_synced(self->clock, 20 * MS));
	EXPECT_EQ(ETIMEDOUT, errno);

	t0 = clock_ns(CLOCK_MONOTONIC);
	ASSERT_EQ(0, pthread_create(&th, NULL, resync_later, p));
	EXPECT_EQ(0, cw_clock__wait_synced(self->clock, CW_WAIT_FOREVER));
	waited = clock_ns(CLOCK_MONOTONIC) - t0;
	pthread_join(th, NULL);
	EXPECT_GE(waited, 50 * MS);
	EXPECT_LE(waited, 500 * MS);
}

/*
 * now() keeps what a page update settled and, until the page's counter
 * moves, reads only REALTIME.  Its answer must be the one the slow path
 * (cw_facts_read(), cw_bound_compute()) gives for the same facts and the
 * same REALTIME read.
 */

/* The slow path's answer for the facts f of a page-time read at real_ns. */
static void slow_answer(struct __test_metadata *_metadata,
			const struct cw_facts *f, __s64 real_ns, struct cw_now *out)
{
	struct cw_facts g = *f;

	g.real_ns = real_ns;
	ASSERT_TRUE(cw_page_time(g.page_real_ns, g.page_raw_ns, real_ns, &g.raw_ns));
	cw_bound_compute(&g, DRIFT_PPB, out);
}

/*
 * After a page change: the first now() settles it, the second answers
 * from what it settled.  A write behind the counter's back (the sync
 * state flipped, which decides every status after the page's age) shows
 * which did: the settled facts do not see it, a fresh read would.  Both
 * answers must be the slow path's for the page's facts and their own
 * REALTIME.  interval_ns: the daemon's interval as the clock saw it,
 * when the page does not publish one.
 */
static void expect_settled(struct __test_metadata *_metadata,
			   struct cw_clock *clock, struct clockwatch_page *p,
			   __s64 interval_ns, struct cw_now *n)
{
	struct cw_now first, want;
	struct cw_facts f;
	__u32 state;

	ASSERT_EQ(0, cw_clock__now(clock, &first));
	ASSERT_EQ(0, cw_facts_read(p, CW_READ_PAGE_TIME, 0, &f));
	if (!f.interval_ns)
		f.interval_ns = interval_ns;

	state = p->sync_state;
	p->sync_state = state == CLOCKWATCH_SYNC_DISRUPTED ?
			    CLOCKWATCH_SYNC_SYNCHRONIZED : CLOCKWATCH_SYNC_DISRUPTED;
	ASSERT_EQ(0, cw_clock__now(clock, n));
	p->sync_state = state;

	slow_answer(_metadata, &f, first.real_ns, &want);
	EXPECT_EQ(0, memcmp(&want, &first, sizeof(want)))
		TH_LOG("first call: status %u reason %u, want %u %u",
		       first.status, first.reason, want.status, want.reason);
	slow_answer(_metadata, &f, n->real_ns, &want);
	EXPECT_EQ(0, memcmp(&want, n, sizeof(want)))
		TH_LOG("settled call: status %u reason %u, want %u %u",
		       n->status, n->reason, want.status, want.reason);
}

/* The cases the settled facts do not answer, twice: settled or not. */
static void expect_slow(struct __test_metadata *_metadata,
			struct cw_clock *clock, int err, __u32 reason)
{
	struct cw_now n;
	int i;

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(err, cw_clock__now(clock, &n));
		EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
		EXPECT_EQ(reason, n.reason);
	}
}

TEST_F(clk, settled_follows_page)
{
	struct clockwatch_page *p = self->pf.page;
	struct cw_now n;

	/* Published, and far from passed: the clock's own view is not used. */
	page_write_begin(p);
	p->maxerror_interval_raw_ns = 10 * SEC;
	page_write_end(p);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	/* A maxerror write. */
	page_set_sync(p, 5000, clock_ns(CLOCK_MONOTONIC_RAW) - 10 * MS,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(5000 * 1000, n.maxerror_ns);

	/* A step by another process, then the daemon again. */
	page_set_state(p, CLOCKWATCH_SYNC_DISRUPTED, CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
	daemon_wrote(p, 0);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	/* A leap second armed, then in progress. */
	page_write_begin(p);
	p->leap_pending = CLOCKWATCH_LEAP_INSERT;
	page_write_end(p);
	expect_settled(_metadata, self->clock, p, 0, &n);
	page_write_begin(p);
	p->leap_pending = CLOCKWATCH_LEAP_NONE;
	p->time_state = TIME_OOP;
	page_write_end(p);
	expect_settled(_metadata, self->clock, p, 0, &n);

	/* The kernel's own maxerror reached 16 s: 500 µs short, 2 s ago. */
	page_set_sync(p, 16000000 - 500, clock_ns(CLOCK_MONOTONIC_RAW) - 2 * SEC,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_REASON_KERNEL_LIMIT, n.reason);

	/* Silent for more than 8 published intervals. */
	daemon_wrote(p, 900 * MS);
	page_write_begin(p);
	p->maxerror_interval_raw_ns = 100 * MS;
	page_write_end(p);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_SILENT, n.reason);

	/* STA_UNSYNC. */
	page_set_sync(p, MAXERR_US, clock_ns(CLOCK_MONOTONIC_RAW),
		      CLOCKWATCH_SYNC_SYNCHRONIZED, STA_UNSYNC, TIME_OK);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_REASON_STA_UNSYNC, n.reason);

	/* A stale page, and a step the page does not show yet: never settled. */
	daemon_wrote(p, 0);
	page_write_begin(p);
	p->clocks.realtime_ns -= 4 * SEC;
	p->clocks.monotonic_raw_ns -= 4 * SEC;
	page_write_end(p);
	expect_slow(_metadata, self->clock, -ESTALE, CW_REASON_PAGE_STALE);
	daemon_wrote(p, 0);
	page_write_begin(p);
	p->clocks.realtime_ns += 1 * SEC;
	page_write_end(p);
	expect_slow(_metadata, self->clock, 0, CW_REASON_CLOCKS_DISAGREE);

	/* Back to normal, then a page without the sync facts. */
	daemon_wrote(p, 0);
	expect_settled(_metadata, self->clock, p, 0, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	page_write_begin(p);
	p->size = CW_PAGE_MIN_SIZE;
	page_write_end(p);
	expect_slow(_metadata, self->clock, 0, CW_REASON_PAGE_OLD);
}

/* The interval as the clock saw it, not published: settled with it. */
TEST_F(clk, settled_seen_interval)
{
	struct clockwatch_page *p = self->pf.page;
	struct cw_now n;

	daemon_wrote(p, 0);
	ASSERT_EQ(0, cw_clock__now(self->clock, &n));
	page_set_sync(p, MAXERR_US, p->maxerror_raw_ns + 100 * MS,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
	expect_settled(_metadata, self->clock, p, 100 * MS, &n);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	daemon_wrote(p, 1 * SEC);
	expect_settled(_metadata, self->clock, p, 100 * MS, &n);
	EXPECT_EQ(CW_STATUS_FREE_RUNNING, n.status);
	EXPECT_EQ(CW_REASON_DAEMON_SILENT, n.reason);
}

#define SHARED_READERS	3
#define SHARED_CALLS	1000000
/* Two pages the writer alternates: maxerror and its write's age apart. */
#define A_MAXERR_US	1000LL
#define A_AGO_NS	(1 * SEC)
#define B_MAXERR_US	3000LL
#define B_AGO_NS	(5 * SEC)
/* Page age on top of the write's age: writes come every 100 µs. */
#define SHARED_SLACK_NS	(2 * SEC)

struct shared {
	struct clockwatch_page *page;
	struct cw_clock *clock;
	int stop;
	long writes;
	long bad;
	long seen_a, seen_b;
	struct cw_now first_bad;
};

/* Page A after an even number of writes, B after an odd one. */
static void write_next(struct shared *sh)
{
	bool b = sh->writes++ & 1;

	page_set_sync(sh->page, b ? B_MAXERR_US : A_MAXERR_US,
		      clock_ns(CLOCK_MONOTONIC_RAW) - (b ? B_AGO_NS : A_AGO_NS),
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
}

static void *alternate_pages(void *arg)
{
	struct shared *sh = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		next.tv_nsec += 100000;
		if (next.tv_nsec >= SEC) {
			next.tv_nsec -= SEC;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		write_next(sh);
	}
	return NULL;
}

/* Is n what one of the two pages gives, whole, at its own REALTIME? */
static bool from_one_page(const struct cw_now *n)
{
	__s64 ago = n->maxerror_ns == A_MAXERR_US * 1000 ? A_AGO_NS :
		    n->maxerror_ns == B_MAXERR_US * 1000 ? B_AGO_NS : -1;
	__u64 drift = ((unsigned __int128)DRIFT_PPB * n->since_write_ns +
		       SEC - 1) / SEC;

	return n->status == CW_STATUS_SYNCHRONIZED && ago > 0 &&
	       n->since_write_ns >= ago &&
	       n->since_write_ns <= ago + SHARED_SLACK_NS &&
	       n->drift_ns == drift && !n->window_ns && !n->leap_ns &&
	       !n->flags && n->bound_ns == n->maxerror_ns + drift &&
	       n->earliest_ns == n->real_ns - (__s64)n->bound_ns &&
	       n->latest_ns == n->real_ns + (__s64)n->bound_ns;
}

static void *read_shared(void *arg)
{
	struct shared *sh = arg;
	struct cw_now n;
	long i;

	for (i = 0; i < SHARED_CALLS; i++) {
		if (cw_clock__now(sh->clock, &n) || !from_one_page(&n)) {
			if (!__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED))
				sh->first_bad = n;
			continue;
		}
		if (n.maxerror_ns == A_MAXERR_US * 1000)
			__atomic_fetch_add(&sh->seen_a, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&sh->seen_b, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * One clock, several threads, a page that changes 10,000 times a second
 * between two sets of facts: every answer is whole, from one of them,
 * while the threads settle each change for each other.
 */
TEST_F(clk, settled_shared_by_threads)
{
	struct shared sh = { .page = self->pf.page, .clock = self->clock };
	pthread_t readers[SHARED_READERS], writer;
	int i;

	/* Published: the anchors' to and fro is no interval to learn. */
	page_write_begin(sh.page);
	sh.page->maxerror_interval_raw_ns = 10 * SEC;
	page_write_end(sh.page);
	write_next(&sh);
	ASSERT_EQ(0, pthread_create(&writer, NULL, alternate_pages, &sh));
	for (i = 0; i < SHARED_READERS; i++)
		ASSERT_EQ(0, pthread_create(&readers[i], NULL, read_shared, &sh));
	for (i = 0; i < SHARED_READERS; i++)
		pthread_join(readers[i], NULL);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
	pthread_join(writer, NULL);
	TH_LOG("%d x %d calls, %ld page writes; %ld from A, %ld from B",
	       SHARED_READERS, SHARED_CALLS, sh.writes, sh.seen_a, sh.seen_b);
	EXPECT_EQ(0, sh.bad)
		TH_LOG("first: status %u reason %u maxerror %llu since %lld",
		       sh.first_bad.status, sh.first_bad.reason,
		       (unsigned long long)sh.first_bad.maxerror_ns,
		       (long long)sh.first_bad.since_write_ns);
	EXPECT_GT(sh.writes, 100);
	EXPECT_GT(sh.seen_a, 0);
	EXPECT_GT(sh.seen_b, 0);
}

#define TORN_READS	1000000	/* the bench does 10^8 */
#define TORN_RATE_HZ	10000

/*
 * No torn facts in 10^6 reads while a writer rewrites the page 10,000
 * times a second; each read includes the REALTIME read, as now() does.
 */
TEST_F(clk, no_torn_reads)
{
	struct rate_writer w = { .page = self->pf.page, .rate_hz = TORN_RATE_HZ };
	unsigned long long seen = 0, torn = 0, last = ~0ULL;
	long long t0, elapsed;
	struct cw_facts f;
	double rate;
	long i;

	ASSERT_EQ(0, rate_writer_start(&w));
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < TORN_READS; i++) {
		ASSERT_EQ(0, cw_facts_read(self->pf.page, CW_READ_PAGE_TIME, 0, &f));
		torn += facts_torn(&f);
		seen += f.step_seq != last;
		last = f.step_seq;
	}
	elapsed = clock_ns(CLOCK_MONOTONIC) - t0;
	rate = rate_writer_stop(&w, elapsed);
	TH_LOG("%d reads in %.3f s, writer at %.0f updates/s, %llu distinct seen",
	       TORN_READS, elapsed / 1e9, rate, seen);
	EXPECT_EQ(0, torn);
	EXPECT_GT(seen, 10);
}

/* Errors: negative errno, errno set, a string for each. */
TEST(errors)
{
	static const int errs[] = {
		ENOENT, EACCES, EPROTO, EAGAIN, ESTALE, ETIMEDOUT, EINTR,
		EINVAL, ENOMEM,
	};
	struct cw_clock_opts bad = { .sz = sizeof(bad), .max_drift_ppb = 1000000000ULL };
	struct cw_now n;
	size_t i, j;

	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open("/nonexistent/clockwatch", NULL));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_NE(NULL, strstr(cw_strerror(-ENOENT), "module"));

	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open("/dev/null", &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.max_drift_ppb = 0;
	bad.sz = 4;	/* does not even cover sz */
	errno = 0;
	EXPECT_EQ(NULL, cw_clock__open("/dev/null", &bad));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-EINVAL, cw_clock__now(NULL, &n));
	EXPECT_EQ(CW_STATUS_UNKNOWN, n.status);
	EXPECT_EQ(EINVAL, errno);

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		EXPECT_NE(NULL, cw_strerror(-errs[i]));
		EXPECT_STREQ(cw_strerror(-errs[i]), cw_strerror(errs[i]));
		for (j = 0; j < i; j++)
			if (errs[j] != EACCES)
				EXPECT_STRNE(cw_strerror(-errs[i]), cw_strerror(-errs[j]));
	}
	EXPECT_STREQ("success", cw_strerror(0));
	EXPECT_NE(NULL, cw_strerror(-9999));
}

TEST_HARNESS_MAIN
