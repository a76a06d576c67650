// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch selftests: the per-CPU stall probe against truths the test
 * knows from outside it: stalls it injects (the injector reports when
 * its spin really started and ended), time it measures itself with
 * clock_gettime() around the probe's counts, the bucket rule of the
 * histograms as the uapi header documents it, and the CPUs the kernel
 * says it isolated.
 *
 * Injection needs the module loaded with inject=1 (the debugfs file
 * CLOCKWATCH_INJECT_PATH) and root; run_vm.sh does both.
 * CW_STALL_ACCOUNT_S sets how long the accounting test runs (default
 * 3 s); run_stall_stress.sh runs it under stress-ng.  A module loaded with
 * probe_cpus=LIST is checked against CW_EXPECT_PROBE_CPUS=LIST, the same
 * list; without it, the probe must run on the CPUs not isolated by
 * isolcpus= or nohz_full=.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>
/* The injector's header: a test header, not the uapi (never installed). */
#include <clockwatch/inject.h>

#include "kselftest_harness.h"

#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL
#define PARAM_DIR		"/sys/module/clockwatch/parameters/"
#define CPUS_MAX		1024

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_ns(long long ns)
{
	struct timespec ts = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long param_read(const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1) {
		/* bool parameters read as Y or N */
		rewind(f);
		v = fgetc(f) == 'Y';
	}
	fclose(f);
	return v;
}

static int param_write(const char *name, const char *val)
{
	char path[256];
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "%s\n", val) < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

static int cpu_stats(int fd, unsigned int cpu, struct clockwatch_cpu_stats *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->size = sizeof(*cs);
	cs->cpu = cpu;
	return ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, cs);
}

/* Read stalls from @from on into @out (up to @max); returns the count. */
static int stall_log(int fd, unsigned long long from, struct clockwatch_stall *out,
		     unsigned int max, unsigned long long *next)
{
	struct clockwatch_stall_log lg = {
		.size = sizeof(lg),
		.max = max,
		.from_seq = from,
		.stalls = (unsigned long)out,
	};

	if (ioctl(fd, CLOCKWATCH_IOC_STALL_LOG, &lg))
		return -errno;
	if (next)
		*next = lg.next_seq;
	return lg.count;
}

/* The seq the next stall will have. */
static unsigned long long stall_log_end(int fd)
{
	struct clockwatch_stall st;
	unsigned long long next = 0, from = 0;
	int n;

	do {
		n = stall_log(fd, from, &st, 1, &next);
		from = next;
	} while (n > 0);
	return next;
}

/*
 * The histogram buckets as the uapi header documents them, written from
 * its text: values below 16 ns have a bucket each; a value v >= 8 with
 * e = floor(log2(v)) goes to bucket (e - 2) * 8 + ((v >> (e - 3)) & 7);
 * bucket i >= 8 starts at (8 + (i & 7)) << ((i >> 3) - 1) ns; the last
 * bucket holds everything from its start on.
 */
static unsigned int doc_bucket(unsigned long long v)
{
	unsigned int e = 0, b;

	if (v < 8)
		return v;
	while (e < 63 && v >> (e + 1))
		e++;
	b = (e - 2) * 8 + ((v >> (e - 3)) & 7);
	return b < CLOCKWATCH_HIST_BUCKETS ? b : CLOCKWATCH_HIST_BUCKETS - 1;
}

static unsigned long long doc_bucket_lo(unsigned int i)
{
	if (i < 8)
		return i;
	return (8ULL + (i & 7)) << ((i >> 3) - 1);
}

/* Parse a CPU list ("0-2,5") into @set; returns 0, or -1. */
static int parse_cpulist(const char *s, bool *set)
{
	char *end;
	long a, b;

	memset(set, 0, CPUS_MAX * sizeof(*set));
	while (*s && *s != '\n') {
		a = strtol(s, &end, 10);
		if (end == s || a < 0 || a >= CPUS_MAX)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPUS_MAX)
				return -1;
		}
		for (; a <= b; a++)
			set[a] = true;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* A sysfs CPU list file into @set; a missing file is an empty list. */
static int read_cpulist(const char *path, bool *set)
{
	char buf[4096] = "";
	FILE *f = fopen(path, "r");

	if (!f) {
		memset(set, 0, CPUS_MAX * sizeof(*set));
		return errno == ENOENT ? 0 : -1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	/* nohz_full reads "(null)" on a kernel booted without it */
	if (!strncmp(buf, "(null)", 6))
		buf[0] = 0;
	return parse_cpulist(buf, set);
}

/*
 * The CPUs the probe must run on, from outside the module: the list the
 * test was told the module was loaded with (CW_EXPECT_PROBE_CPUS), else
 * every CPU the kernel did not isolate (isolcpus=, nohz_full=).
 */
static int expected_probe_cpus(bool *set)
{
	static bool iso[CPUS_MAX], nohz[CPUS_MAX];
	const char *env = getenv("CW_EXPECT_PROBE_CPUS");
	int cpu;

	if (env)
		return parse_cpulist(env, set);
	if (read_cpulist("/sys/devices/system/cpu/isolated", iso) ||
	    read_cpulist("/sys/devices/system/cpu/nohz_full", nohz))
		return -1;
	for (cpu = 0; cpu < CPUS_MAX; cpu++)
		set[cpu] = !iso[cpu] && !nohz[cpu];
	return 0;
}

/* The highest online CPU the probe runs on; -1 when none. */
static int probed_cpu(int fd)
{
	struct clockwatch_cpu_stats *cs = calloc(1, sizeof(*cs));
	int cpu, found = -1;

	if (!cs)
		return -1;
	for (cpu = sysconf(_SC_NPROCESSORS_CONF) - 1; cpu >= 0 && found < 0; cpu--) {
		memset(cs, 0, sizeof(*cs));
		cs->size = sizeof(*cs);
		cs->cpu = cpu;
		if (!ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, cs) &&
		    (cs->flags & CLOCKWATCH_CPU_ACTIVE))
			found = cpu;
	}
	free(cs);
	return found;
}

/* The injector's file; -errno when it cannot be opened. */
static int inject_open(void)
{
	int fd = open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

FIXTURE(stall) {
	int fd;
	int inj;		/* the injector's file, or -errno */
	struct clockwatch_cpu_stats *cs;
	long saved_period_us;
	long saved_thread;
};

FIXTURE_SETUP(stall)
{
	self->saved_period_us = -1;
	self->saved_thread = -1;
	self->inj = inject_open();
	self->cs = calloc(1, sizeof(*self->cs));
	ASSERT_NE(NULL, self->cs);
	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "%s not found: module not loaded", CLOCKWATCH_DEVICE);
	if (cpu_stats(self->fd, 0, self->cs)) {
		int e = errno;

		close(self->fd);
		self->fd = -1;
		if (e == ENOTTY || e == ENODEV)
			SKIP(return, "no stall probe in this module (%s)", strerror(e));
		ASSERT_EQ(0, e);
	}
}

FIXTURE_TEARDOWN(stall)
{
	char v[32];

	if (self->saved_period_us > 0) {
		snprintf(v, sizeof(v), "%ld", self->saved_period_us);
		param_write("probe_period_us", v);
	}
	if (self->saved_thread >= 0)
		param_write("probe_thread", self->saved_thread ? "1" : "0");
	if (self->fd >= 0)
		close(self->fd);
	if (self->inj >= 0)
		close(self->inj);
	free(self->cs);
}

/* The 6.1 harness runs the body after a SKIP in the setup. */
#define REQUIRE_PROBE() do {						\
	if (self->fd < 0)						\
		return;							\
} while (0)

#define REQUIRE_INJECT() do {						\
	REQUIRE_PROBE();						\
	if (geteuid() != 0)						\
		SKIP(return, "needs root");				\
	if (param_read("inject") != 1)					\
		SKIP(return, "module not loaded with inject=1");	\
	ASSERT_LE(0, self->inj) TH_LOG("inject=1, but %s: %s",		\
				       CLOCKWATCH_INJECT_PATH,		\
				       strerror(-self->inj));		\
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)				\
		SKIP(return, "needs two CPUs");				\
	if (probed_cpu(self->fd) < 0)					\
		SKIP(return, "the probe runs on no CPU");		\
} while (0)

/*
 * The documented bucket rule is what the header promises: contiguous
 * buckets, each at most 1/8 as wide as the values it holds, and distinct
 * buckets from 1 us to 100 s.  (The module is held to it with real
 * samples in missed_periods_filled.)
 */
TEST(hist_buckets)
{
	unsigned long long v, lo, hi;
	unsigned int b;

	for (b = 0; b + 1 < CLOCKWATCH_HIST_BUCKETS; b++) {
		lo = doc_bucket_lo(b);
		hi = doc_bucket_lo(b + 1);
		ASSERT_LT(lo, hi);
		ASSERT_EQ(b, doc_bucket(lo));
		ASSERT_EQ(b, doc_bucket(hi - 1));
		if (lo >= 8)
			ASSERT_LE((hi - lo) * 8, lo);
	}
	/* the last bucket starts at 15 * 2^36 ns and holds all above */
	ASSERT_EQ(15ULL << 36, doc_bucket_lo(CLOCKWATCH_HIST_BUCKETS - 1));
	ASSERT_EQ(CLOCKWATCH_HIST_BUCKETS - 1, doc_bucket(~0ULL));
	ASSERT_LT(doc_bucket(100 * NSEC_PER_SEC), CLOCKWATCH_HIST_BUCKETS - 1);
	for (v = 1000; v < 100ULL * NSEC_PER_SEC; v = v * 9 / 8 + 1) {
		b = doc_bucket(v);
		ASSERT_LE(doc_bucket_lo(b), v);
		ASSERT_LE((v - doc_bucket_lo(b)) * 8, v);
	}
}

/*
 * The probe runs on the CPUs it should (see expected_probe_cpus()) and
 * only there: an unprobed CPU answers, inactive and counting nothing.
 */
TEST_F(stall, probed_cpus)
{
	static bool want[CPUS_MAX], online[CPUS_MAX];
	long n = sysconf(_SC_NPROCESSORS_CONF), cpu;
	int probed = 0;

	REQUIRE_PROBE();
	ASSERT_EQ(0, expected_probe_cpus(want));
	ASSERT_EQ(0, read_cpulist("/sys/devices/system/cpu/online", online));
	for (cpu = 0; cpu < n && cpu < CPUS_MAX; cpu++) {
		bool active;

		ASSERT_EQ(0, cpu_stats(self->fd, cpu, self->cs));
		active = self->cs->flags & CLOCKWATCH_CPU_ACTIVE;
		TH_LOG("cpu %ld: online %d, expected %d, active %d, %llu expiries",
		       cpu, online[cpu], want[cpu], active,
		       (unsigned long long)self->cs->expiries);
		EXPECT_EQ(online[cpu] && want[cpu], active);
		if (!active)
			EXPECT_EQ(0, self->cs->hist[CLOCKWATCH_HIST_IRQ_FILLED].count);
		probed += active;
	}
	if (!getenv("CW_EXPECT_PROBE_CPUS"))
		TH_LOG("%d CPUs probed: the default, the CPUs not isolated", probed);
}

/* Reading resets nothing. */
TEST_F(stall, read_does_not_reset)
{
	int cpu;
	unsigned long long before;

	REQUIRE_PROBE();
	cpu = probed_cpu(self->fd);
	if (cpu < 0)
		SKIP(return, "the probe runs on no CPU");
	ASSERT_EQ(0, cpu_stats(self->fd, cpu, self->cs));
	EXPECT_GE(self->cs->period_ns, 100000);
	before = self->cs->hist[CLOCKWATCH_HIST_IRQ].count;
	sleep_ns(50 * NSEC_PER_MSEC);
	ASSERT_EQ(0, cpu_stats(self->fd, cpu, self->cs));
	EXPECT_GT(self->cs->hist[CLOCKWATCH_HIST_IRQ].count, before);
	EXPECT_EQ(self->cs->expiries, self->cs->hist[CLOCKWATCH_HIST_IRQ].count);
	EXPECT_EQ(self->cs->expiries + self->cs->missed,
		  self->cs->hist[CLOCKWATCH_HIST_IRQ_FILLED].count);
}

/* Bad requests: size, reserved fields, CPU. */
TEST_F(stall, bad_requests)
{
	REQUIRE_PROBE();
	memset(self->cs, 0, sizeof(*self->cs));
	self->cs->size = sizeof(*self->cs) - 8;
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_CPU_STATS, self->cs));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cpu_stats(self->fd, 1 << 20, self->cs));
	EXPECT_EQ(EINVAL, errno);
	memset(self->cs, 0, sizeof(*self->cs));
	self->cs->size = sizeof(*self->cs);
	self->cs->__reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_CPU_STATS, self->cs));
	EXPECT_EQ(EINVAL, errno);
}

/* Reset by ioctl: the counts start again, since_ns moves on. */
TEST_F(stall, reset)
{
	long long t0, start;

	REQUIRE_PROBE();
	if (geteuid() != 0)
		SKIP(return, "needs root");
	sleep_ns(20 * NSEC_PER_MSEC);
	t0 = mono_ns();
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_RESET));
	ASSERT_EQ(0, cpu_stats(self->fd, 0, self->cs));
	EXPECT_GE(self->cs->since_ns, t0);
	/*
	 * At most what was due between the reset and the read.  An expiry
	 * late across the reset is counted with its periods from its own
	 * due time (uapi: first_due_ns), which may precede the reset.
	 */
	start = t0;
	if (self->cs->first_due_ns && self->cs->first_due_ns < start)
		start = self->cs->first_due_ns;
	EXPECT_LE(self->cs->hist[CLOCKWATCH_HIST_IRQ_FILLED].count,
		  (self->cs->read_ns - start) / self->cs->period_ns + 2);
}

/* The period changes at run time, within its limits. */
TEST_F(stall, period_param)
{
	REQUIRE_PROBE();
	if (geteuid() != 0)
		SKIP(return, "needs root");
	self->saved_period_us = param_read("probe_period_us");
	ASSERT_GT(self->saved_period_us, 0);
	EXPECT_NE(0, param_write("probe_period_us", "99"));
	EXPECT_NE(0, param_write("probe_period_us", "1000001"));
	ASSERT_EQ(0, param_write("probe_period_us", "500"));
	sleep_ns(20 * NSEC_PER_MSEC);
	if (probed_cpu(self->fd) < 0)
		return;
	ASSERT_EQ(0, cpu_stats(self->fd, probed_cpu(self->fd), self->cs));
	EXPECT_EQ(500000, self->cs->period_ns);
}

/*
 * The injector is not the device's: /dev/clockwatch answers its commands
 * with ENOTTY, with or without inject=1; its debugfs file exists only
 * with inject=1.
 */
TEST_F(stall, inject_not_on_device)
{
	struct clockwatch_inject inj = {
		.size = sizeof(inj), .cpu = 0, .mode = CLOCKWATCH_INJECT_IRQ,
		.duration_ns = 1000,
	};
	struct clockwatch_inject_events iev = { .size = sizeof(iev), .count = 1 };

	REQUIRE_PROBE();
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_INJECT, &inj));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_INJECT_EVENTS, &iev));
	EXPECT_EQ(ENOTTY, errno);
	if (geteuid() != 0)
		return;
	if (param_read("inject") == 1) {
		EXPECT_LE(0, self->inj);
	} else {
		EXPECT_EQ(-ENOENT, self->inj);
	}
}

/*
 * A stall of @ms injected on the last CPU with @mode (IRQs, preemption or
 * bottom halves off) is reported exactly once in @context (the probe's
 * hard irq, or its thread), with a duration within one period + 10 % of
 * the injector's truth, and parts that add up to it.  With @expected 0,
 * the mode must not stall @context at all (it may still delay it a
 * little: no stall of that context covers half the spin).
 *
 * Under TCG the host may not run a vCPU thread for tens of ms, and no
 * steal clock tells the guest.  When that happens just before the
 * injection, the CPU's stall starts before the spin did and the probe
 * rightly reports one longer stall.  The test sees it from the stall's
 * start, more than a period before the spin's, and injects again (up to
 * INJECT_TRIES times), saying so.
 */
#define INJECT_TRIES	4

static void inject_truth(struct __test_metadata *_metadata, int fd, int injfd,
			 struct clockwatch_cpu_stats *cs, unsigned int ms,
			 unsigned int mode, unsigned int context, int expected)
{
	unsigned int cpu = probed_cpu(fd);
	struct clockwatch_inject inj, got;
	struct clockwatch_stall st[64], *f = NULL;
	long long truth = 0, tol, period;
	unsigned long long from;
	int n, i, overlapping = 0, try, evfd = -1;
	struct clockwatch_event ev[32];
	int ev_stall = 0, ev_inject = 0;
	ssize_t r;

	ASSERT_EQ(0, cpu_stats(fd, cpu, cs));
	period = cs->period_ns;
	for (try = 0; try < INJECT_TRIES; try++) {
		memset(&inj, 0, sizeof(inj));
		inj.size = sizeof(inj);
		inj.cpu = cpu;
		inj.mode = mode;
		inj.duration_ns = ms * NSEC_PER_MSEC;
		from = stall_log_end(fd);
		if (evfd >= 0)
			close(evfd);
		/* a reader of its own, from the next event record on */
		evfd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ASSERT_EQ(0, ioctl(injfd, CLOCKWATCH_IOC_INJECT, &inj));
		truth = inj.end_ns - inj.start_ns;
		ASSERT_GE(truth, ms * NSEC_PER_MSEC);
		/* The late expiry or thread runs as soon as the spin ends. */
		sleep_ns(50 * NSEC_PER_MSEC);

		n = stall_log(fd, from, st, 64, NULL);
		ASSERT_GE(n, 0);
		overlapping = 0;
		f = NULL;
		for (i = 0; i < n; i++) {
			long long s = st[i].start_ns;
			long long e = s + (long long)st[i].duration_ns;

			if (st[i].cpu != cpu || st[i].context != context)
				continue;
			if (!expected && (long long)st[i].duration_ns < truth / 2)
				continue;
			if (s < inj.end_ns && e > inj.start_ns) {
				overlapping++;
				f = &st[i];
			}
		}
		if (expected && !overlapping && context == CLOCKWATCH_STALL_THREAD) {
			/* A late expiry is an irq stall, the thread's then no stall. */
			TH_LOG("try %d: no thread stall on CPU %u (was the expiry that "
			       "woke it late itself?): injecting again", try + 1, cpu);
			for (i = 0; i < n; i++)
				TH_LOG("  stall on CPU %u, context %u: %+.3f ms from the spin's start, %.3f ms",
				       st[i].cpu, st[i].context,
				       (st[i].start_ns - inj.start_ns) / 1e6,
				       st[i].duration_ns / 1e6);
			continue;
		}
		if (overlapping != 1 || !expected ||
		    f->start_ns >= inj.start_ns - period)
			break;
		TH_LOG("try %d: CPU %u was already stalled %.3f ms before the spin "
		       "(host did not run it): injecting again", try + 1, cpu,
		       (inj.start_ns - f->start_ns) / 1e6);
	}
	if (overlapping != expected)
		for (i = 0; i < n; i++)
			TH_LOG("stall on CPU %u, context %u: %+.3f ms from the spin's start, %.3f ms",
			       st[i].cpu, st[i].context,
			       (st[i].start_ns - inj.start_ns) / 1e6,
			       st[i].duration_ns / 1e6);
	ASSERT_EQ(expected, overlapping);
	if (!expected) {
		TH_LOG("injected %u ms in mode %u: no stall of context %u, as expected",
		       ms, mode, context);
		close(evfd);
		return;
	}
	tol = period + truth / 10;
	TH_LOG("injected %u ms: truth %.3f ms, reported %.3f ms (missed %llu), "
	       "start %+.3f ms; steal %llu irq %llu softirq %llu "
	       "unexplained %llu ns, %u irqs, %u softirqs, flags %#x",
	       ms, truth / 1e6, f->duration_ns / 1e6, (unsigned long long)f->missed,
	       (f->start_ns - inj.start_ns) / 1e6,
	       (unsigned long long)f->steal_ns, (unsigned long long)f->irq_ns,
	       (unsigned long long)f->softirq_ns,
	       (unsigned long long)f->unexplained_ns, f->irq_count, f->softirq_count,
	       f->attr_flags);
	EXPECT_LE(llabs((long long)f->duration_ns - truth), tol);
	/* it was due within a period of the spin's start */
	EXPECT_GE(f->start_ns, inj.start_ns - period);
	EXPECT_LE(f->start_ns, inj.start_ns + period);
	EXPECT_EQ(f->duration_ns,
		  f->steal_ns + f->irq_ns + f->softirq_ns + f->unexplained_ns);
	/* no attribution bit the header does not define */
	EXPECT_EQ(0, f->attr_flags & ~(CLOCKWATCH_ATTR_STEAL | CLOCKWATCH_ATTR_IRQTIME));
	EXPECT_EQ(f->missed, f->duration_ns / f->period_ns);
	EXPECT_EQ(f->cpu, cpu);

	/* The same stall, and the injection's truth, in the event ring. */
	ASSERT_LE(0, evfd);
	while ((r = read(evfd, ev, sizeof(ev))) > 0) {
		for (i = 0; i < r / (ssize_t)sizeof(ev[0]); i++) {
			if (ev[i].type == CLOCKWATCH_EV_STALL && ev[i].stall.seq == f->seq) {
				ev_stall++;
				EXPECT_EQ(0, memcmp(&ev[i].stall, f, sizeof(*f)));
			}
			if (ev[i].type != CLOCKWATCH_EV_INJECT)
				continue;
			/* the injector's payload: a struct clockwatch_inject */
			memcpy(&got, ev[i].__payload, sizeof(got));
			if (got.start_ns == inj.start_ns) {
				ev_inject++;
				EXPECT_EQ(inj.end_ns, got.end_ns);
				EXPECT_EQ(cpu, got.cpu);
				EXPECT_EQ(mode, got.mode);
			}
		}
	}
	close(evfd);
	EXPECT_EQ(1, ev_stall);
	EXPECT_EQ(1, ev_inject);
}

TEST_F(stall, inject_irq_20ms)
{
	REQUIRE_INJECT();
	inject_truth(_metadata, self->fd, self->inj, self->cs, 20, CLOCKWATCH_INJECT_IRQ,
		     CLOCKWATCH_STALL_IRQ, 1);
}

TEST_F(stall, inject_irq_50ms)
{
	REQUIRE_INJECT();
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50, CLOCKWATCH_INJECT_IRQ,
		     CLOCKWATCH_STALL_IRQ, 1);
}

TEST_F(stall, inject_irq_200ms)
{
	REQUIRE_INJECT();
	inject_truth(_metadata, self->fd, self->inj, self->cs, 200, CLOCKWATCH_INJECT_IRQ,
		     CLOCKWATCH_STALL_IRQ, 1);
}

/* Is this a PREEMPT_RT kernel?  Its bottom halves do not stop preemption. */
static bool preempt_rt(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.version, "PREEMPT_RT");
}

/* Switch the probe's thread on for a test; the teardown restores it. */
#define REQUIRE_THREAD_PROBE() do {					\
	self->saved_thread = param_read("probe_thread");		\
	ASSERT_EQ(0, param_write("probe_thread", "1"));			\
	sleep_ns(20 * NSEC_PER_MSEC);					\
} while (0)

/*
 * Preemption off: the hard irq expiries keep their time, the thread the
 * first one wakes waits for the spin's end.
 */
TEST_F(stall, inject_preempt_50ms)
{
	REQUIRE_INJECT();
	REQUIRE_THREAD_PROBE();
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50, CLOCKWATCH_INJECT_PREEMPT,
		     CLOCKWATCH_STALL_THREAD, 1);
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50, CLOCKWATCH_INJECT_PREEMPT,
		     CLOCKWATCH_STALL_IRQ, 0);
}

/*
 * Bottom halves off: also no preemption, but on PREEMPT_RT, where
 * local_bh_disable() leaves the task preemptible, the thread runs on time.
 */
TEST_F(stall, inject_softirq_50ms)
{
	REQUIRE_INJECT();
	REQUIRE_THREAD_PROBE();
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50, CLOCKWATCH_INJECT_SOFTIRQ,
		     CLOCKWATCH_STALL_THREAD, preempt_rt() ? 0 : 1);
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50, CLOCKWATCH_INJECT_SOFTIRQ,
		     CLOCKWATCH_STALL_IRQ, 0);
}

/*
 * The filled histogram has one sample per period: the 100 ms stall's
 * missed periods are in it, spread down from the stall's latency, each in
 * the bucket the uapi header's formula gives it.  Every sample at or above
 * the stall threshold belongs to a stall of the log: a stall L late at
 * period P adds L - k * P for k = 0 .. missed, so the buckets above the
 * threshold must hold exactly what the formula makes of the logged stalls.
 */
TEST_F(stall, missed_periods_filled)
{
	unsigned int cpu;
	struct clockwatch_inject inj;
	static unsigned long long want[CLOCKWATCH_HIST_BUCKETS];
	const struct clockwatch_hist *raw, *filled;
	struct clockwatch_stall st[64];
	unsigned long long over_50ms = 0, from, k, v;
	unsigned int b, first_b;
	int n, i, mine = 0, wrong = 0;

	REQUIRE_INJECT();
	cpu = probed_cpu(self->fd);
	memset(&inj, 0, sizeof(inj));
	inj.size = sizeof(inj);
	inj.cpu = cpu;
	inj.mode = CLOCKWATCH_INJECT_IRQ;
	inj.duration_ns = 100 * NSEC_PER_MSEC;
	from = stall_log_end(self->fd);
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_RESET));
	ASSERT_EQ(0, ioctl(self->inj, CLOCKWATCH_IOC_INJECT, &inj));
	sleep_ns(20 * NSEC_PER_MSEC);
	ASSERT_EQ(0, cpu_stats(self->fd, cpu, self->cs));
	raw = &self->cs->hist[CLOCKWATCH_HIST_IRQ];
	filled = &self->cs->hist[CLOCKWATCH_HIST_IRQ_FILLED];
	EXPECT_GE(self->cs->missed, 100 * NSEC_PER_MSEC / self->cs->period_ns - 2);
	EXPECT_EQ(raw->count + self->cs->missed, filled->count);
	EXPECT_GE(raw->max_ns, 100 * NSEC_PER_MSEC - self->cs->period_ns);
	EXPECT_EQ(raw->max_ns, filled->max_ns);
	/* about half of the ~100 filled-in samples of the stall are >= 50 ms */
	for (b = doc_bucket(50 * NSEC_PER_MSEC) + 1; b < CLOCKWATCH_HIST_BUCKETS; b++)
		over_50ms += filled->buckets[b];
	EXPECT_GE(over_50ms, 40 * NSEC_PER_MSEC / self->cs->period_ns);

	/* The buckets from the threshold up, from the log and the formula. */
	n = stall_log(self->fd, from, st, 64, NULL);
	ASSERT_GE(n, 1);
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		long long end = st[i].start_ns + (long long)st[i].duration_ns;

		if (st[i].cpu != cpu || st[i].context != CLOCKWATCH_STALL_IRQ ||
		    end < self->cs->since_ns || end > self->cs->read_ns)
			continue;
		mine++;
		for (k = 0; k <= st[i].missed; k++) {
			v = st[i].duration_ns - k * st[i].period_ns;
			want[doc_bucket(v)]++;
		}
	}
	EXPECT_GE(mine, 1);
	first_b = doc_bucket(self->cs->threshold_ns);
	if (doc_bucket_lo(first_b) < self->cs->threshold_ns)
		first_b++;
	for (b = first_b; b < CLOCKWATCH_HIST_BUCKETS; b++) {
		if (filled->buckets[b] == want[b])
			continue;
		TH_LOG("bucket %u [%llu ns ..): %llu samples, the formula gives %llu",
		       b, doc_bucket_lo(b), (unsigned long long)filled->buckets[b],
		       want[b]);
		wrong++;
	}
	EXPECT_EQ(0, wrong);
}

/* How a CPU_STATS hammer went; see stats_hammer(). */
struct hammer {
	int fd;
	unsigned int cpu;	/* whose stats */
	int pin;		/* the CPU the thread runs on */
	volatile int stop;
	unsigned long long calls, errors, torn;
	int err;
};

/*
 * CPU_STATS every 200 us, each answer checked against the identities a
 * consistent copy keeps (uapi header): expiries + missed periods are the
 * filled count, which is the periods from the first due time to the next.
 */
static void *stats_hammer(void *arg)
{
	struct hammer *h = arg;
	struct clockwatch_cpu_stats *cs = calloc(1, sizeof(*cs));
	cpu_set_t set;

	if (!cs)
		return NULL;
	CPU_ZERO(&set);
	CPU_SET(h->pin, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!h->stop) {
		const struct clockwatch_hist *fl;
		struct timespec nap = { 0, 200000 };

		/*
		 * Not back to back: two vCPUs that never idle make TCG run
		 * each in turn for milliseconds, stalls the host makes.
		 */
		nanosleep(&nap, NULL);
		h->calls++;
		if (cpu_stats(h->fd, h->cpu, cs)) {
			h->errors++;
			h->err = errno;
			continue;
		}
		fl = &cs->hist[CLOCKWATCH_HIST_IRQ_FILLED];
		if (cs->expiries + cs->missed != fl->count ||
		    cs->expiries != cs->hist[CLOCKWATCH_HIST_IRQ].count ||
		    (cs->first_due_ns &&
		     fl->count != (unsigned long long)(cs->next_due_ns - cs->first_due_ns) /
				  cs->period_ns))
			h->torn++;
	}
	free(cs);
	return NULL;
}

/*
 * Readers hammer CPU_STATS of the stalled CPU, one on each of two CPUs
 * (the stalled one too), while a 50 ms stall is injected: the stall is
 * still measured within the injector's truth, and every copy the readers
 * got was whole.
 */
TEST_F(stall, cpu_stats_hammer_during_stall)
{
	struct hammer h[2];
	pthread_t th[2];
	unsigned int cpu;
	int i;

	REQUIRE_INJECT();
	cpu = probed_cpu(self->fd);
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_RESET));
	for (i = 0; i < 2; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].fd = self->fd;
		h[i].cpu = cpu;
		h[i].pin = i ? (int)cpu : (cpu ? 0 : 1);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stats_hammer, &h[i]));
	}
	sleep_ns(100 * NSEC_PER_MSEC);
	inject_truth(_metadata, self->fd, self->inj, self->cs, 50,
		     CLOCKWATCH_INJECT_IRQ, CLOCKWATCH_STALL_IRQ, 1);
	sleep_ns(100 * NSEC_PER_MSEC);
	for (i = 0; i < 2; i++) {
		h[i].stop = 1;
		pthread_join(th[i], NULL);
		TH_LOG("reader on CPU %d: %llu CPU_STATS of CPU %u, %llu failed (%s), %llu torn",
		       h[i].pin, h[i].calls, cpu, h[i].errors,
		       h[i].errors ? strerror(h[i].err) : "-", h[i].torn);
		EXPECT_GT(h[i].calls, 0);
		EXPECT_EQ(0, h[i].errors);
		EXPECT_EQ(0, h[i].torn);
	}
}

/*
 * Every period is accounted for: the filled count equals the periods
 * between the first counted expiry and the next one due, and the time the
 * test measured itself, within the edges: the reset and the read each
 * fall anywhere in a period (+-1 each), and an expiry that is late at
 * the moment of the read is not counted yet (its periods are added).
 */
TEST_F(stall, account_every_period)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	const char *env = getenv("CW_STALL_ACCOUNT_S");
	long long secs = env ? atoll(env) : 3;
	long long t0, t1, start, elapsed, expect, inflight, got, period;

	REQUIRE_PROBE();
	if (geteuid() != 0)
		SKIP(return, "needs root");
	t0 = mono_ns();
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_RESET));
	t1 = mono_ns();
	sleep_ns(secs * NSEC_PER_SEC);
	for (cpu = 0; cpu < n; cpu++) {
		const struct clockwatch_cpu_stats *cs = self->cs;

		ASSERT_EQ(0, cpu_stats(self->fd, cpu, self->cs));
		if (!(cs->flags & CLOCKWATCH_CPU_ACTIVE))
			continue;	/* not probed: probed_cpus checks it */
		period = cs->period_ns;
		got = cs->hist[CLOCKWATCH_HIST_IRQ_FILLED].count;
		/*
		 * The first expiry counted after the reset may have been due
		 * before it, by as much as that expiry was late: its periods
		 * are counted from its due time.
		 */
		EXPECT_GE(cs->first_due_ns,
			  t0 - (long long)cs->hist[CLOCKWATCH_HIST_IRQ].max_ns - period);
		start = cs->first_due_ns < t0 ? cs->first_due_ns : t0;
		elapsed = cs->read_ns - start;
		expect = elapsed / period;
		inflight = cs->read_ns > cs->next_due_ns ?
			   (cs->read_ns - cs->next_due_ns) / period + 1 : 0;
		TH_LOG("cpu %ld: %.3f s at %lld us: %llu expiries + %llu missed = %lld, "
		       "expected %lld (in flight %lld), max %.3f ms, %llu stalls",
		       cpu, elapsed / 1e9, period / 1000,
		       (unsigned long long)cs->expiries, (unsigned long long)cs->missed,
		       got, expect, inflight,
		       cs->hist[CLOCKWATCH_HIST_IRQ].max_ns / 1e6,
		       (unsigned long long)cs->stalls);
		/* exact, inside the module */
		EXPECT_EQ(got, (cs->next_due_ns - cs->first_due_ns) / period);
		EXPECT_EQ(got, (long long)(cs->expiries + cs->missed));
		/*
		 * Against the test's own clock: the reset happened somewhere
		 * between t0 and t1, so at least the periods since t1 count.
		 */
		EXPECT_LE(got, expect + 2);
		EXPECT_GE(got + inflight, (cs->read_ns - t1) / period - 2);
	}
}

/*
 * STALL_LOG's lost count: with a 1 us threshold nearly every expiry is a
 * stall, so the log of CLOCKWATCH_STALL_LOG_LEN wraps within a second or
 * two.  Stalls are numbered from 1 without a gap, so from 0 (= 1) the
 * lost ones are exactly those below the oldest record kept, and a
 * request for no record (max 0) says as many.
 */
TEST_F(stall, stall_log_lost)
{
	static struct clockwatch_stall st[CLOCKWATCH_STALL_LOG_LEN];
	struct clockwatch_stall_log lg;
	long saved = param_read("stall_threshold_us");
	unsigned long long lost0;
	char v[32];
	int i;

	REQUIRE_PROBE();
	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_GT(saved, 0);
	ASSERT_EQ(0, param_write("stall_threshold_us", "1"));
	for (i = 0; i < 100; i++) {
		sleep_ns(100 * NSEC_PER_MSEC);
		if (stall_log_end(self->fd) > 2 * CLOCKWATCH_STALL_LOG_LEN)
			break;
	}
	snprintf(v, sizeof(v), "%ld", saved);
	ASSERT_EQ(0, param_write("stall_threshold_us", v));
	sleep_ns(20 * NSEC_PER_MSEC);

	/* max 0: nothing copied, the lost ones counted all the same */
	memset(&lg, 0, sizeof(lg));
	lg.size = sizeof(lg);
	lg.from_seq = 0;
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_LOG, &lg));
	EXPECT_EQ(0, lg.count);
	EXPECT_GT(lg.lost, CLOCKWATCH_STALL_LOG_LEN);
	EXPECT_EQ(lg.lost + 1, lg.next_seq);
	lost0 = lg.lost;

	/* all of it: the oldest kept is the first not lost, then gap-free */
	memset(&lg, 0, sizeof(lg));
	lg.size = sizeof(lg);
	lg.from_seq = 1;
	lg.max = CLOCKWATCH_STALL_LOG_LEN;
	lg.stalls = (unsigned long)st;
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_LOG, &lg));
	EXPECT_EQ(CLOCKWATCH_STALL_LOG_LEN, lg.count);
	EXPECT_GE(lg.lost, lost0);
	EXPECT_EQ(lg.lost + 1, st[0].seq);
	for (i = 1; i < (int)lg.count; i++)
		EXPECT_EQ(st[i - 1].seq + 1, st[i].seq);
	EXPECT_EQ(st[lg.count - 1].seq + 1, lg.next_seq);
	TH_LOG("%llu stalls lost, %u kept up to %llu",
	       (unsigned long long)lg.lost, lg.count,
	       (unsigned long long)st[lg.count - 1].seq);
}

/* The thread probe, switched on at run time, measures wake-ups. */
TEST_F(stall, thread_probe)
{
	const struct clockwatch_hist *th;

	REQUIRE_PROBE();
	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (probed_cpu(self->fd) < 0)
		SKIP(return, "the probe runs on no CPU");
	self->saved_thread = param_read("probe_thread");
	ASSERT_EQ(0, param_write("probe_thread", "1"));
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_STALL_RESET));
	sleep_ns(500 * NSEC_PER_MSEC);
	ASSERT_EQ(0, cpu_stats(self->fd, probed_cpu(self->fd), self->cs));
	th = &self->cs->hist[CLOCKWATCH_HIST_THREAD];
	EXPECT_TRUE(self->cs->flags & CLOCKWATCH_CPU_THREAD);
	EXPECT_GT(th->count, 0);
	/* each expiry either woke the thread or found it still pending */
	EXPECT_LE(th->count + self->cs->thread_missed, self->cs->expiries + 1);
	EXPECT_GE(th->count + self->cs->thread_missed + 2, self->cs->expiries);
	/* the thread runs after its expiry */
	EXPECT_GE(th->min_ns, self->cs->hist[CLOCKWATCH_HIST_IRQ].min_ns);
	TH_LOG("thread: %llu wake-ups, %llu missed, max %.3f ms",
	       (unsigned long long)th->count,
	       (unsigned long long)self->cs->thread_missed, th->max_ns / 1e6);
}

TEST_HARNESS_MAIN
