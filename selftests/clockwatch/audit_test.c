// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: tests of the reference audit (CLOCK_REALTIME against the
 * RTC) that the guest can make alone.
 *
 * The truth for "no jump" is that nothing stopped the guest: the tests
 * run the guest idle, under stress-ng, across a "date -s" step and an
 * RTC write of their own (hwclock --systohc), and check that the audit
 * counted no jump, emitted no DISRUPTION record of the RTC and kept
 * measuring.  The step test also checks the offset moved by the step the
 * test made, to the error bar.  Durations: CW_AUDIT_SECONDS (default 20)
 * for the idle and the loaded run.
 *
 * A host pause needs the host: "audit_test --pause-guest COUNT TIMEOUT"
 * is the guest half of audit_pause_host.py, which stops and resumes the
 * VM over QMP and holds what this prints against its own timing:
 *
 *	CW-AUDIT-READY i	the audit is measuring: pause now
 *	CW-AUDIT-JUMP i ...	the DISRUPTION record of pause i
 *	CW-AUDIT-DONE ...	the counters at the end
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL

static int audit_seconds(void)
{
	const char *s = getenv("CW_AUDIT_SECONDS");
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : 20;
}

static void page_now(const struct clockwatch_page *p, struct clockwatch_page *c)
{
	cw_page_copy(p, c);
}

/*
 * Wait until the audit has measured @n more edges than @from; false after
 * @timeout_s.
 */
static int wait_edges(const struct clockwatch_page *p, unsigned long long from,
		      int n, int timeout_s)
{
	struct clockwatch_page c;
	long long end = cw_clock_ns(CLOCK_MONOTONIC) + timeout_s * NSEC_PER_SEC;

	do {
		page_now(p, &c);
		if (c.audit_rtc_edges >= from + n)
			return 1;
		usleep(100000);
	} while (cw_clock_ns(CLOCK_MONOTONIC) < end);
	return 0;
}

/* RTC DISRUPTION records waiting on @fd (O_NONBLOCK). */
static int rtc_disruptions(int fd)
{
	struct clockwatch_event ev[64];
	int n = 0, i;
	ssize_t r;

	while ((r = read(fd, ev, sizeof(ev))) > 0)
		for (i = 0; i < r / (ssize_t)sizeof(ev[0]); i++)
			if (ev[i].type == CLOCKWATCH_EV_DISRUPTION &&
			    ev[i].disruption.ref_source == CLOCKWATCH_REF_RTC)
				n++;
	return n;
}

FIXTURE(au) {
	int fd;
	const struct clockwatch_page *page;
};

FIXTURE_SETUP(au)
{
	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, self->fd);
	self->page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED,
			  self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	if (!CLOCKWATCH_FIELD_PRESENT(self->page, audit_rtc_jump_raw_ns) ||
	    !(self->page->features & CLOCKWATCH_FEAT_AUDIT_RTC))
		SKIP(return, "module without the RTC audit (no CMOS RTC?)");
	/* A baseline and a few edges before any test judges anything. */
	ASSERT_TRUE(wait_edges(self->page, 0, 3, 10));
}

FIXTURE_TEARDOWN(au)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The audit measures: recent edges, error bar and rate in bounds. */
TEST_F(au, measures)
{
	struct clockwatch_page c;
	long long raw;

	page_now(self->page, &c);
	ASSERT_TRUE(wait_edges(self->page, c.audit_rtc_edges, 3, 10));
	page_now(self->page, &c);
	raw = cw_clock_ns(CLOCK_MONOTONIC_RAW);
	TH_LOG("offset %lld ns ± %lld ns, rate %lld ± %lld ppb, edges %llu, misses %llu, writes %llu, unexplained %llu, features %s",
	       (long long)c.audit_rtc_offset_ns, (long long)c.audit_rtc_err_ns,
	       (long long)c.audit_rtc_rate_ppb, (long long)c.audit_rtc_rate_err_ppb,
	       (unsigned long long)c.audit_rtc_edges,
	       (unsigned long long)c.audit_rtc_misses,
	       (unsigned long long)c.audit_rtc_writes,
	       (unsigned long long)c.audit_rtc_unexplained,
	       c.features & CLOCKWATCH_FEAT_AUDIT_RTC_WRITES ? "writes seen" : "writes not seen");
	/* Sampled about once a second: the last edge at most a few s ago. */
	EXPECT_GT(c.audit_rtc_raw_ns, raw - 5 * NSEC_PER_SEC);
	EXPECT_LE(c.audit_rtc_raw_ns, raw);
	/* Well under a second; a sample in the fine window is < 1 ms. */
	EXPECT_GT(c.audit_rtc_err_ns, 0);
	EXPECT_LT(c.audit_rtc_err_ns, 10 * NSEC_PER_MSEC);
	/* A crystal's rate, and the prior's bound until learned. */
	EXPECT_LE(c.audit_rtc_rate_ppb, 500000);
	EXPECT_GE(c.audit_rtc_rate_ppb, -500000);
	EXPECT_GT(c.audit_rtc_rate_err_ppb, 0);
	EXPECT_LE(c.audit_rtc_rate_err_ppb, 100000);
	EXPECT_EQ(0, c.audit_rtc_jumps);
}

/* @secs of the guest as it is: no jump, no RTC disruption record. */
static void no_jump_for(struct __test_metadata *_metadata, int fd,
			const struct clockwatch_page *p, int secs,
			const char *what)
{
	struct clockwatch_page a, b;

	page_now(p, &a);
	sleep(secs);
	page_now(p, &b);
	TH_LOG("%s %d s: offset %lld -> %lld ns, edges %llu, misses %llu, jumps %llu, unexplained %llu, err %lld ns, rate %lld ± %lld ppb",
	       what, secs, (long long)a.audit_rtc_offset_ns,
	       (long long)b.audit_rtc_offset_ns,
	       (unsigned long long)(b.audit_rtc_edges - a.audit_rtc_edges),
	       (unsigned long long)(b.audit_rtc_misses - a.audit_rtc_misses),
	       (unsigned long long)(b.audit_rtc_jumps - a.audit_rtc_jumps),
	       (unsigned long long)(b.audit_rtc_unexplained - a.audit_rtc_unexplained),
	       (long long)b.audit_rtc_err_ns, (long long)b.audit_rtc_rate_ppb,
	       (long long)b.audit_rtc_rate_err_ppb);
	EXPECT_EQ(a.audit_rtc_jumps, b.audit_rtc_jumps);
	EXPECT_EQ(0, rtc_disruptions(fd));
	/* It kept measuring: most seconds gave an edge. */
	EXPECT_GE(b.audit_rtc_edges - a.audit_rtc_edges, (unsigned long long)secs / 2);
}

TEST_F_TIMEOUT(au, idle_no_jump, 3600)
{
	no_jump_for(_metadata, self->fd, self->page, audit_seconds(), "idle");
}

/* Under load: stress-ng on every CPU (or busy children without it). */
TEST_F_TIMEOUT(au, load_no_jump, 3600)
{
	int secs = audit_seconds();
	char t[32];
	pid_t pid;
	int st;

	snprintf(t, sizeof(t), "%ds", secs + 2);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("stress-ng", "stress-ng", "--cpu", "0", "--io", "1",
		       "--vm", "1", "--vm-bytes", "64M", "--timer", "1",
		       "--timeout", t, NULL);
		/* No stress-ng: spin, a child per CPU. */
		for (st = 1; st < sysconf(_SC_NPROCESSORS_ONLN); st++)
			if (fork() == 0)
				break;
		alarm(secs + 2);
		for (;;)
			;
	}
	sleep(1);
	no_jump_for(_metadata, self->fd, self->page, secs, "under load");
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* A step of CLOCK_REALTIME by "date -s": the offset moves, no jump. */
TEST_F_TIMEOUT(au, date_step_not_jump, 120)
{
	struct clockwatch_page a, b;
	long long step = 5 * NSEC_PER_SEC, t, moved, rm0, rm1;
	char cmd[96];

	CW_REQUIRE_DESTRUCTIVE();
	/* A fresh edge before: the offset as it is now. */
	page_now(self->page, &a);
	ASSERT_TRUE(wait_edges(self->page, a.audit_rtc_edges, 1, 10));
	page_now(self->page, &a);
	/* The step's truth: REALTIME - MONOTONIC around it (date runs late). */
	rm0 = cw_real_minus_mono();
	t = cw_clock_ns(CLOCK_REALTIME) + step;
	snprintf(cmd, sizeof(cmd), "date -u -s @%lld.%09lld >/dev/null",
		 t / NSEC_PER_SEC, t % NSEC_PER_SEC);
	ASSERT_EQ(0, system(cmd));
	rm1 = cw_real_minus_mono();
	step = rm1 - rm0;
	ASSERT_TRUE(wait_edges(self->page, a.audit_rtc_edges, 4, 15));
	page_now(self->page, &b);
	/* The test's own step took some µs after it read the clock. */
	moved = b.audit_rtc_offset_ns - a.audit_rtc_offset_ns;
	TH_LOG("step %lld ns: offset %lld -> %lld ns, moved %lld ns, error bars %lld + %lld ns",
	       step, (long long)a.audit_rtc_offset_ns,
	       (long long)b.audit_rtc_offset_ns, moved, (long long)a.audit_rtc_err_ns,
	       (long long)b.audit_rtc_err_ns);
	cw_step_setoffset(-step);
	EXPECT_EQ(a.audit_rtc_jumps, b.audit_rtc_jumps);
	EXPECT_EQ(a.audit_rtc_unexplained, b.audit_rtc_unexplained);
	EXPECT_LT(llabs(moved - step), a.audit_rtc_err_ns + b.audit_rtc_err_ns +
					 20 * NSEC_PER_MSEC);
	EXPECT_EQ(0, rtc_disruptions(self->fd));
}

/* An RTC write (hwclock through /dev/rtc): a new baseline, no jump. */
TEST_F_TIMEOUT(au, rtc_write_not_jump, 120)
{
	struct clockwatch_page a, b;

	CW_REQUIRE_DESTRUCTIVE();
	if (!(self->page->features & CLOCKWATCH_FEAT_AUDIT_RTC_WRITES))
		SKIP(return, "RTC writes not seen by this module");
	if (system("command -v hwclock >/dev/null 2>&1"))
		SKIP(return, "no hwclock");
	page_now(self->page, &a);
	/* 2 s ahead: a write the audit would call a jump if it missed it. */
	ASSERT_EQ(0, cw_step_setoffset(2 * NSEC_PER_SEC));
	ASSERT_EQ(0, system("hwclock --systohc --utc --noadjfile"));
	ASSERT_EQ(0, cw_step_setoffset(-2 * NSEC_PER_SEC));
	ASSERT_EQ(0, system("hwclock --systohc --utc --noadjfile"));
	ASSERT_TRUE(wait_edges(self->page, a.audit_rtc_edges, 4, 15));
	page_now(self->page, &b);
	TH_LOG("writes %llu -> %llu, offset %lld -> %lld ns",
	       (unsigned long long)a.audit_rtc_writes,
	       (unsigned long long)b.audit_rtc_writes,
	       (long long)a.audit_rtc_offset_ns, (long long)b.audit_rtc_offset_ns);
	EXPECT_LT(a.audit_rtc_writes, b.audit_rtc_writes);
	EXPECT_EQ(a.audit_rtc_jumps, b.audit_rtc_jumps);
	EXPECT_EQ(0, rtc_disruptions(self->fd));
}

/*
 * The guest half of audit_pause_host.py: announce readiness, wait for
 * the DISRUPTION record of each pause the host makes, print it.
 */
static int pause_guest(int count, int timeout_s)
{
	const struct clockwatch_page *p;
	struct clockwatch_page a, b;
	struct clockwatch_event ev;
	struct pollfd pfd;
	int fd, i, got;
	long long end;

	fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		perror(CLOCKWATCH_DEVICE);
		return 2;
	}
	p = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || !CLOCKWATCH_FIELD_PRESENT(p, audit_rtc_jump_raw_ns) ||
	    !(p->features & CLOCKWATCH_FEAT_AUDIT_RTC)) {
		printf("CW-AUDIT-SKIP no RTC audit\n");
		return 4;
	}
	page_now(p, &a);
	for (i = 1; i <= count; i++) {
		/* A settled audit: a few edges since the start or the last pause. */
		page_now(p, &b);
		if (!wait_edges(p, b.audit_rtc_edges, 5, 20)) {
			printf("CW-AUDIT-FAIL no edges\n");
			return 1;
		}
		while (read(fd, &ev, sizeof(ev)) > 0)
			;
		printf("CW-AUDIT-READY %d\n", i);
		fflush(stdout);
		got = 0;
		end = cw_clock_ns(CLOCK_MONOTONIC) + timeout_s * NSEC_PER_SEC;
		while (!got && cw_clock_ns(CLOCK_MONOTONIC) < end) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 200) <= 0)
				continue;
			while (read(fd, &ev, sizeof(ev)) == sizeof(ev)) {
				if (ev.type != CLOCKWATCH_EV_DISRUPTION ||
				    ev.disruption.ref_source != CLOCKWATCH_REF_RTC)
					continue;
				printf("CW-AUDIT-JUMP %d change_ns=%lld err_ns=%lld reason=%u old=%u new=%u before_raw=%lld after_raw=%lld ev_raw=%lld\n",
				       i, (long long)ev.disruption.ref_offset_change_ns,
				       (long long)ev.disruption.ref_err_ns,
				       ev.disruption.reason, ev.disruption.old_state,
				       ev.disruption.new_state,
				       (long long)ev.disruption.ref_before_raw_ns,
				       (long long)ev.disruption.ref_after_raw_ns,
				       (long long)ev.raw_ns);
				fflush(stdout);
				got++;
			}
		}
		if (!got) {
			printf("CW-AUDIT-MISSED %d\n", i);
			fflush(stdout);
		}
	}
	/* Settle, then the counters: one jump per pause, nothing else. */
	page_now(p, &b);
	wait_edges(p, b.audit_rtc_edges, 5, 20);
	page_now(p, &b);
	printf("CW-AUDIT-DONE jumps=%llu unexplained=%llu edges=%llu misses=%llu writes=%llu sync_state=%u sync_reason=%u disruptions=%llu\n",
	       (unsigned long long)(b.audit_rtc_jumps - a.audit_rtc_jumps),
	       (unsigned long long)(b.audit_rtc_unexplained - a.audit_rtc_unexplained),
	       (unsigned long long)(b.audit_rtc_edges - a.audit_rtc_edges),
	       (unsigned long long)(b.audit_rtc_misses - a.audit_rtc_misses),
	       (unsigned long long)(b.audit_rtc_writes - a.audit_rtc_writes),
	       b.sync_state, b.sync_reason,
	       (unsigned long long)(b.disruption_count - a.disruption_count));
	fflush(stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--pause-guest"))
		return pause_guest(atoi(argv[2]), atoi(argv[3]));
	return test_harness_run(argc, argv);
}
