// SPDX-License-Identifier: GPL-2.0
/*
 * honesty_test: libclockwatch's [earliest, latest] holds the true time.
 *
 * The test plays the sync daemon: it writes maxerror, esterror and the
 * status with adjtimex() as chrony does, always honestly, i.e. no smaller
 * than the clock's real error at that moment.  It then perturbs the clock
 * in ways whose effect it knows: a wrong frequency up to 50 ppm with the
 * daemon silent (so the drift term must cover it, and the library turns
 * free running), a slew away from the truth (announced in maxerror, as
 * chrony adds the remaining slew), and a step by another process.
 *
 * The truth is MONOTONIC_RAW: T(raw) = REALTIME at the start + (raw -
 * raw at the start).  Each now() is bracketed by two MONOTONIC_RAW reads
 * [a, b]; the REALTIME it read was taken somewhere in between, so the
 * interval must meet [T(a), T(b)] whenever the status is synchronized or
 * free_running.  A step by a third party must show as disrupted when its
 * clock_settime() returns.
 *
 * Root, /dev/clockwatch and CLOCKWATCH_DESTRUCTIVE=1 (the test VM), else
 * SKIP.  The clock is left as a fresh boot has it: unsynchronized.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#include "clockwatch.h"

#define USEC		1000LL
#define MSEC		1000000LL
#define SEC		1000000000LL
#define MIN_CHECKED	10000	/* now() calls with a bound, at least */
#define DAEMON_PERIOD	(200 * MSEC)	/* the daemon's update interval */

static long long raw0, real0;	/* the truth's origin */
static long long uncert0;	/* how well REALTIME was read then, ns */
/*
 * How far REALTIME wanders around MONOTONIC_RAW at frequency 0, ns: the
 * timekeeper steers its multiplier by +-1 to follow the NTP tick length,
 * which moves REALTIME's phase by up to about a microsecond.  A real
 * daemon's maxerror carries such noise as dispersion; so does ours.
 */
static long long wander_ns;

static long long truth(long long raw)
{
	return real0 + (raw - raw0);
}

/* REALTIME between two MONOTONIC_RAW reads: the narrowest of 20 tries. */
static void bracket(long long *a, long long *real, long long *b)
{
	long long x, r, y;
	int i;

	*a = 0;
	*b = -1;
	for (i = 0; i < 20; i++) {
		x = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		r = cw_clock_ns(CLOCK_REALTIME);
		y = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		if (*b < 0 || y - x < *b - *a) {
			*a = x;
			*real = r;
			*b = y;
		}
	}
}

/* |REALTIME - truth| now, at most: the clock's real error, ns. */
static long long real_error(void)
{
	long long a, r, b, ea, eb;

	bracket(&a, &r, &b);
	ea = llabs(r - truth(a));
	eb = llabs(r - truth(b));
	return (ea > eb ? ea : eb) + uncert0;
}

/* The spread of REALTIME - truth over 200 ms at frequency 0, ns. */
static long long measure_wander(void)
{
	long long a, r, b, e, lo = 0, hi = 0;
	struct timespec ms = { .tv_nsec = MSEC };
	int i;

	for (i = 0; i < 200; i++) {
		bracket(&a, &r, &b);
		e = r - truth(a + (b - a) / 2);
		lo = e < lo ? e : lo;
		hi = e > hi ? e : hi;
		nanosleep(&ms, NULL);
	}
	return hi - lo;
}

static int ntp(struct timex *tx)
{
	return adjtimex(tx);
}

/*
 * The daemon's update: honest maxerror (+ extra_ns announced), synced.
 * STA_PLL, as ntpd sets it: the kernel's PLL holds the offset still to be
 * corrected (none: this daemon announces its slews in maxerror instead),
 * so the library knows the whole of it.
 */
static int daemon_update(long long extra_ns)
{
	long long err = real_error() + wander_ns + extra_ns;
	struct timex tx = {
		.modes = ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS,
		.maxerror = (err + USEC - 1) / USEC + 1,
		.esterror = (err + USEC - 1) / USEC,
		.status = STA_PLL,
	};

	return ntp(&tx);
}

/*
 * Become the sync daemon: two updates 150 ms apart, as the module trusts
 * a daemon only from its second update on.
 */
static int daemon_start(void)
{
	int ret = daemon_update(0);

	if (ret < 0)
		return ret;
	usleep(150000);
	return daemon_update(0);
}

static int set_freq_ppm(long ppm)
{
	struct timex tx = { .modes = ADJ_FREQUENCY, .freq = ppm * 65536 };

	return ntp(&tx);
}

/* adjtime(): slew by us microseconds at the kernel's 500 ppm. */
static int slew_us(long us)
{
	struct timex tx = { .modes = ADJ_OFFSET_SINGLESHOT, .offset = us };

	return ntp(&tx);
}

/* The daemon steps the clock back onto the truth (ADJ_SETOFFSET). */
static int daemon_step_to_truth(void)
{
	long long a, r, b, off;
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };

	bracket(&a, &r, &b);
	off = truth(a + (b - a) / 2) - r;
	tx.time.tv_sec = off / SEC;
	tx.time.tv_usec = off % SEC;	/* ns with ADJ_NANO */
	if (tx.time.tv_usec < 0) {
		tx.time.tv_sec -= 1;
		tx.time.tv_usec += SEC;
	}
	return ntp(&tx);
}

struct tally {
	long calls;
	long checked;		/* with a bound */
	long outside;		/* interval missed [T(a), T(b)] */
	long covered;		/* interval held all of [T(a), T(b)] */
	long free_running;
	long long worst_margin;	/* least distance of a held truth to an edge, ns */
};

/* now() calls for dur_ns (daemon_every_ns: update then; 0: silent). */
static void run_phase(struct __test_metadata *_metadata, struct cw_clock *c,
		      struct tally *t, long long dur_ns, long long daemon_every_ns,
		      long long extra_ns)
{
	long long end = cw_clock_ns(CLOCK_MONOTONIC_RAW) + dur_ns, next = 0;
	long long a, b, ta, tb, m;
	struct cw_now n;

	for (;;) {
		a = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		if (a >= end)
			break;
		if (daemon_every_ns && a >= next) {
			ASSERT_LE(0, daemon_update(extra_ns));
			next = a + daemon_every_ns;
			a = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		}
		cw_clock__now(c, &n);
		b = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		t->calls++;
		if (n.status != CW_STATUS_SYNCHRONIZED &&
		    n.status != CW_STATUS_FREE_RUNNING)
			continue;
		t->checked++;
		t->free_running += n.status == CW_STATUS_FREE_RUNNING;
		ta = truth(a);
		tb = truth(b);
		if (n.latest_ns < ta || n.earliest_ns > tb) {
			if (!t->outside)
				TH_LOG("truth [%lld, %lld] outside [%lld, %lld] (%s, bound %llu ns)",
				       ta, tb, (long long)n.earliest_ns, (long long)n.latest_ns,
				       cw_status_str(n.status), (unsigned long long)n.bound_ns);
			t->outside++;
			continue;
		}
		if (n.earliest_ns > ta || n.latest_ns < tb)
			continue;	/* a long read window: met, not held */
		t->covered++;
		m = n.latest_ns - tb < ta - n.earliest_ns ? n.latest_ns - tb :
							    ta - n.earliest_ns;
		if (t->covered == 1 || m < t->worst_margin)
			t->worst_margin = m;
	}
}

FIXTURE(honesty) {
	const char *skip;	/* why the tests cannot run here */
	char why[128];
	struct cw_clock *fast;
	struct cw_clock *bracketed;
	struct tally tally;
};

FIXTURE_SETUP(honesty)
{
	struct cw_clock_opts opts = { .sz = sizeof(opts), .flags = CW_CLOCK_BRACKETED };
	long long a, b;

	/* The 6.1 harness runs the test after a SKIP in the setup: say why here. */
	if (geteuid() != 0) {
		self->skip = "needs root (adjtimex writes, clock_settime)";
		return;
	}
	if (!getenv("CLOCKWATCH_DESTRUCTIVE")) {
		self->skip = "changes the clocks: set CLOCKWATCH_DESTRUCTIVE=1 (test VM only)";
		return;
	}
	self->fast = cw_clock__open(CLOCKWATCH_DEVICE, NULL);
	if (!self->fast) {
		snprintf(self->why, sizeof(self->why), "%s: %s", CLOCKWATCH_DEVICE,
			 cw_strerror(-errno));
		self->skip = self->why;
		return;
	}
	self->bracketed = cw_clock__open(CLOCKWATCH_DEVICE, &opts);
	ASSERT_NE(NULL, self->bracketed);

	/* A clean clock: no frequency error, no slew; then the truth's origin. */
	ASSERT_LE(0, set_freq_ppm(0));
	ASSERT_LE(0, slew_us(0));
	/*
	 * The kernel applies an adjtime() slew a second at a time, from the
	 * next second boundary: one cancelled now may still run for up to a
	 * second.  Let it end before the truth is fixed.
	 */
	nanosleep(&(struct timespec){ .tv_sec = 1, .tv_nsec = 200 * MSEC }, NULL);
	bracket(&a, &real0, &b);
	raw0 = a + (b - a) / 2;
	uncert0 = (b - a) / 2 + 1;
	wander_ns = measure_wander();
	TH_LOG("truth origin read within %lld ns; REALTIME wanders %lld ns around it",
	       uncert0, wander_ns);
}

FIXTURE_TEARDOWN(honesty)
{
	struct timex tx = {
		.modes = ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS | ADJ_FREQUENCY,
		.maxerror = 16000000, .esterror = 16000000, .status = STA_UNSYNC,
	};

	if (!self->fast)
		return;
	slew_us(0);
	ntp(&tx);
	cw_clock__close(self->fast);
	cw_clock__close(self->bracketed);
}

static void both(struct __test_metadata *_metadata, FIXTURE_DATA(honesty) *self,
		 long long dur_ns, long long every_ns, long long extra_ns)
{
	run_phase(_metadata, self->fast, &self->tally, dur_ns / 2, every_ns, extra_ns);
	run_phase(_metadata, self->bracketed, &self->tally, dur_ns / 2, every_ns, extra_ns);
}

/* The drift term covers a frequency error of up to 50 ppm, either way. */
TEST_F_TIMEOUT(honesty, frequency_and_slew, 120)
{
	struct tally *t = &self->tally;
	struct cw_now n;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	ASSERT_LE(0, daemon_start());
	ASSERT_EQ(0, cw_clock__now(self->fast, &n));
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status)
		TH_LOG("after the daemon's write: %s (%s)", cw_status_str(n.status),
		       cw_reason_str(n.reason));

	both(_metadata, self, 1 * SEC, DAEMON_PERIOD, 0);	/* in sync */

	ASSERT_LE(0, set_freq_ppm(50));				/* +50 ppm, silent */
	ASSERT_LE(0, daemon_update(0));
	both(_metadata, self, 3 * SEC, 0, 0);
	ASSERT_LE(0, set_freq_ppm(-50));			/* -50 ppm, silent */
	ASSERT_LE(0, daemon_update(0));
	both(_metadata, self, 3 * SEC, 0, 0);
	ASSERT_LE(0, set_freq_ppm(30));				/* +30 ppm, updates */
	both(_metadata, self, 1 * SEC, DAEMON_PERIOD, 0);

	/* A slew of 400 us away from the truth, announced in maxerror. */
	ASSERT_LE(0, set_freq_ppm(0));
	ASSERT_LE(0, slew_us(400));
	ASSERT_LE(0, daemon_update(400 * USEC));
	both(_metadata, self, 2500 * MSEC, 0, 0);	/* applied within 2 s */
	ASSERT_LE(0, slew_us(-400));				/* and back */
	both(_metadata, self, 2500 * MSEC, DAEMON_PERIOD, 400 * USEC);

	TH_LOG("%ld now() calls, %ld with a bound (%ld free running), %ld held all of the truth's read window, %ld missed it; closest the window came to an edge: %lld ns",
	       t->calls, t->checked, t->free_running, t->covered, t->outside, t->worst_margin);
	EXPECT_EQ(0, t->outside);
	EXPECT_GE(t->checked, MIN_CHECKED);
	EXPECT_GT(t->free_running, 0);	/* the silent phases */
}

/*
 * Another process steps the clock: the page says disrupted before its
 * clock_settime() returns.  The daemon's first update after it does not
 * end it (its measurements were mostly taken before the step); the one
 * after that does.
 */
TEST_F_TIMEOUT(honesty, third_party_step, 60)
{
	const struct clockwatch_page *p;
	struct cw_reader *reader;
	struct clockwatch_page page;
	struct cw_now n;
	int status;
	pid_t pid;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	reader = cw_reader__open(CLOCKWATCH_DEVICE);
	ASSERT_NE(NULL, reader);
	ASSERT_EQ(0, cw_reader__read(reader, &page));
	cw_reader__close(reader);
	p = &page;
	if (!(p->features & CLOCKWATCH_FEAT_STEPS) ||
	    !CLOCKWATCH_FIELD_PRESENT(p, sync_state))
		SKIP(return, "the module has no step hook (CLOCKWATCH_FEAT_STEPS)");

	ASSERT_LE(0, daemon_start());
	ASSERT_EQ(0, cw_clock__now(self->fast, &n));
	ASSERT_EQ(CW_STATUS_SYNCHRONIZED, n.status);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct timespec ts;
		struct cw_now cn;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * MSEC;
		if (ts.tv_nsec >= SEC) {
			ts.tv_nsec -= SEC;
			ts.tv_sec++;
		}
		if (clock_settime(CLOCK_REALTIME, &ts))
			_exit(2);
		/* Nothing between the return and this read. */
		cw_clock__now(self->fast, &cn);
		_exit(cn.status == CW_STATUS_DISRUPTED ? 0 :
		      cn.status == CW_STATUS_UNKNOWN ? 3 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("status right after the step's return: %s",
		       WEXITSTATUS(status) == 3 ? "unknown" : "not disrupted");

	ASSERT_EQ(0, cw_clock__now(self->fast, &n));
	EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
	EXPECT_EQ(CW_REASON_FOREIGN_STEP, n.reason);
	EXPECT_EQ(0, cw_clock__after(self->fast, 0));	/* nothing definite */

	/*
	 * The daemon steps back onto the truth and writes maxerror, in an
	 * update of its own (150 ms after its last write: writes under
	 * 100 ms apart are one update, and that one began before the step).
	 */
	ASSERT_LE(0, daemon_step_to_truth());
	usleep(150000);
	ASSERT_LE(0, daemon_update(0));
	ASSERT_EQ(0, cw_clock__now(self->fast, &n));
	EXPECT_EQ(CW_STATUS_DISRUPTED, n.status);
	/* Its next update, 150 ms on (one update is writes < 100 ms apart). */
	usleep(150000);
	ASSERT_LE(0, daemon_update(0));
	ASSERT_EQ(0, cw_clock__now(self->fast, &n));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, n.status);
	run_phase(_metadata, self->fast, &self->tally, 500 * MSEC, DAEMON_PERIOD, 0);
	EXPECT_EQ(0, self->tally.outside);
}

TEST_HARNESS_MAIN
