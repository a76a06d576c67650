// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch selftests: the lease guard of libclockwatch, and the BPF
 * clock-change tracker of module-less mode, against truths the test makes:
 *
 *  - a holder left alone sees no pause above 50 ms and no step;
 *  - a holder stopped 300 ms by SIGSTOP (timed by the test) sees a
 *    stopped pause of 300 ms +- 10 % in its own thread's record;
 *  - a clock step the test makes during a lease is counted;
 *  - the clock tracker reports the test's own clock_settime() step with
 *    its size within 1 ms, and an adjtimex() write with its values, both
 *    with the test's pid and comm.
 *
 * The guard is pinned with the tool (`clockwatch guard --pin`, path from
 * CLOCKWATCH_CLI) unless it is pinned already, and unpinned afterwards.
 * Tests that step the clock need CLOCKWATCH_DESTRUCTIVE=1 (run_bpf_vm.sh
 * sets it in the VM) and put the clock back.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clockwatch.h"
#include "cwbpf.h"
#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL

/* CLOCKWATCH_CLI, else the tool of the build this test belongs to. */
static const char *cli(void)
{
	static char path[PATH_MAX];
	const char *c = getenv("CLOCKWATCH_CLI");
	ssize_t n;

	if (c)
		return c;
	/* this program is selftests/clockwatch/build/NAME */
	n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	if (n <= 0)
		return "clockwatch";
	path[n] = '\0';
	strcpy(strrchr(path, '/'), "/../../../userspace/build/clockwatch");
	return path;
}

static bool destructive(void)
{
	const char *d = getenv("CLOCKWATCH_DESTRUCTIVE");

	return d && strcmp(d, "1") == 0;
}

/* Step CLOCK_REALTIME by delta ns; 0 or -errno. */
static int step_clock(long long delta)
{
	long long t = cw_clock_ns(CLOCK_REALTIME) + delta;
	struct timespec ts = { .tv_sec = t / NSEC_PER_SEC, .tv_nsec = t % NSEC_PER_SEC };

	return clock_settime(CLOCK_REALTIME, &ts) ? -errno : 0;
}

FIXTURE(guard) {
	struct cw_guard *g;
	bool pinned_here;
};

FIXTURE_SETUP(guard)
{
	char cmd[512];

	self->g = NULL;
	self->pinned_here = false;
	if (geteuid() != 0)
		SKIP(return, "needs root (BPF)");
	self->g = cw_guard__open(NULL);
	if (!self->g && errno == ENOENT) {
		snprintf(cmd, sizeof(cmd), "%s guard --pin >&2", cli());
		ASSERT_EQ(0, system(cmd)) TH_LOG("%s failed", cmd);
		self->pinned_here = true;
		self->g = cw_guard__open(NULL);
	}
	ASSERT_NE(NULL, self->g) TH_LOG("cw_guard__open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(guard)
{
	char cmd[512];

	cw_guard__close(self->g);
	if (self->pinned_here) {
		snprintf(cmd, sizeof(cmd), "%s guard --unpin", cli());
		EXPECT_EQ(0, system(cmd));
	}
}

TEST_F(guard, undisturbed_holder)
{
	struct cw_lease_report rep;
	struct cw_lease lease;
	long long end;
	int i;

	if (!self->g)
		return;
	ASSERT_EQ(0, cw_guard__take(self->g, &lease));
	/* 500 ms of work: short sleeps and short bursts, as a holder does */
	for (i = 0; i < 50; i++) {
		end = cw_clock_ns(CLOCK_MONOTONIC) + 2 * NSEC_PER_MSEC;
		while (cw_clock_ns(CLOCK_MONOTONIC) < end)
			;
		usleep(8000);
	}
	ASSERT_EQ(0, cw_guard__check(self->g, &lease, &rep));
	TH_LOG("lease of %.1f ms: longest pause %.3f ms (thread), %.3f ms (process), %llu steps, flags 0x%x, records >= %.3f ms",
	       rep.elapsed_ns / 1e6, rep.thread_pause_ns / 1e6, rep.process_pause_ns / 1e6,
	       (unsigned long long)rep.steps, rep.flags, rep.min_recorded_ns / 1e6);
	EXPECT_LE(rep.thread_pause_ns, 50 * NSEC_PER_MSEC);
	EXPECT_LE(rep.process_pause_ns, 50 * NSEC_PER_MSEC);
	EXPECT_EQ(0, rep.flags & (CW_LEASE_LOST | CW_LEASE_STEPPED));
	EXPECT_NE(CW_LEASE_STEPS_NONE, lease.step_source);
	EXPECT_EQ(0, rep.steps);
	EXPECT_EQ(1, cw_guard__held(self->g, &lease, 50 * NSEC_PER_MSEC));
}

/* The child's findings, through a pipe. */
struct holder_result {
	int err;
	struct cw_lease lease;
	struct cw_lease_report rep;
	int held;
};

TEST_F(guard, sigstop_during_lease)
{
	struct holder_result res = {};
	long long t_stop, t_cont, truth, dur;
	int to_child[2], to_parent[2], status;
	char x = 0;
	pid_t child;

	if (!self->g)
		return;
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		long long end;

		res.err = cw_guard__take(self->g, &res.lease);
		if (write(to_parent[1], &x, 1) != 1)
			_exit(1);
		/* hold the lease, busy, until the parent says it is over */
		if (read(to_child[0], &x, 1) != 1)
			_exit(1);
		end = cw_clock_ns(CLOCK_MONOTONIC) + 20 * NSEC_PER_MSEC;
		while (cw_clock_ns(CLOCK_MONOTONIC) < end)
			;
		if (!res.err)
			res.err = cw_guard__check(self->g, &res.lease, &res.rep);
		res.held = cw_guard__held(self->g, &res.lease, 50 * NSEC_PER_MSEC);
		if (write(to_parent[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(to_parent[0], &x, 1));
	usleep(50000);
	t_stop = cw_clock_ns(CLOCK_MONOTONIC);
	ASSERT_EQ(0, kill(child, SIGSTOP));
	ASSERT_EQ(child, waitpid(child, &status, WUNTRACED));
	usleep(300000 - (cw_clock_ns(CLOCK_MONOTONIC) - t_stop) / 1000);
	t_cont = cw_clock_ns(CLOCK_MONOTONIC);
	ASSERT_EQ(0, kill(child, SIGCONT));
	ASSERT_EQ(1, write(to_child[1], &x, 1));
	ASSERT_EQ(sizeof(res), read(to_parent[0], &res, sizeof(res)));
	waitpid(child, &status, 0);
	truth = t_cont - t_stop;

	ASSERT_EQ(0, res.err);
	dur = res.rep.thread_pause_ns;
	TH_LOG("SIGSTOP..SIGCONT %.3f ms (truth); the holder's lease reports a %s pause of %.3f ms (%+.1f %%), process %.3f ms",
	       truth / 1e6, res.rep.thread_pause_kind == CW_LEASE_PAUSE_STOPPED ? "stopped" : "other",
	       dur / 1e6, 100.0 * (dur - truth) / truth, res.rep.process_pause_ns / 1e6);
	EXPECT_EQ(CW_LEASE_PAUSE_STOPPED, res.rep.thread_pause_kind);
	EXPECT_LE(llabs(dur - truth), truth / 10);
	EXPECT_GE(res.rep.process_pause_ns, res.rep.thread_pause_ns);
	EXPECT_EQ(0, res.held);
}

TEST_F(guard, step_during_lease)
{
	struct cw_lease_report rep;
	struct cw_lease lease;

	if (!self->g)
		return;
	if (!destructive())
		SKIP(return, "steps the clock: set CLOCKWATCH_DESTRUCTIVE=1 (run_bpf_vm.sh does)");
	ASSERT_EQ(0, cw_guard__take(self->g, &lease));
	ASSERT_EQ(0, step_clock(NSEC_PER_SEC));
	ASSERT_EQ(0, cw_guard__check(self->g, &lease, &rep));
	EXPECT_EQ(0, step_clock(-NSEC_PER_SEC));
	TH_LOG("one +1 s step during the lease: %llu steps counted (source %s), flags 0x%x",
	       (unsigned long long)rep.steps,
	       lease.step_source == CW_LEASE_STEPS_MODULE ? "module" : "bpf", rep.flags);
	EXPECT_EQ(1, rep.steps);
	EXPECT_TRUE(rep.flags & CW_LEASE_STEPPED);
	EXPECT_EQ(0, cw_guard__held(self->g, &lease, NSEC_PER_SEC));
}

/* ---- the clock tracker ------------------------------------------------ */

static struct cw_clock_event clock_ev[64];
static int nr_clock_ev;

static int collect_clock(void *ctx, const struct cw_clock_event *e)
{
	(void)ctx;
	if (nr_clock_ev < 64)
		clock_ev[nr_clock_ev++] = *e;
	return 0;
}

TEST(clock_tracker_sees_step_and_write)
{
	struct timex tx = {}, saved = {};
	struct cw_clocks *c = NULL;
	long long before, mono0, mono1, target;
	struct timespec ts;
	char comm[16] = "";
	int i, steps = 0, writes = 0;

	if (geteuid() != 0)
		SKIP(return, "needs root (BPF)");
	if (!destructive())
		SKIP(return, "steps the clock: set CLOCKWATCH_DESTRUCTIVE=1 (run_bpf_vm.sh does)");
	ASSERT_EQ(0, cw_clocks__open(&c));
	cw_clocks__set_callback(c, collect_clock, NULL);
	prctl(PR_GET_NAME, comm);
	ASSERT_GE(adjtimex(&saved), 0);

	/* a +2 s step whose size the test knows to the syscall's latency */
	mono0 = cw_clock_ns(CLOCK_MONOTONIC);
	before = cw_clock_ns(CLOCK_REALTIME);
	target = before + 2 * NSEC_PER_SEC;
	ts.tv_sec = target / NSEC_PER_SEC;
	ts.tv_nsec = target % NSEC_PER_SEC;
	ASSERT_EQ(0, clock_settime(CLOCK_REALTIME, &ts));
	mono1 = cw_clock_ns(CLOCK_MONOTONIC);
	/* a maxerror write, as a sync daemon makes */
	tx.modes = ADJ_MAXERROR;
	tx.maxerror = 123456;
	ASSERT_GE(adjtimex(&tx), 0);
	cw_clocks__poll(c, 100);
	EXPECT_EQ(0, step_clock(-2 * NSEC_PER_SEC));
	cw_clocks__poll(c, 100);
	cw_clocks__close(c);

	for (i = 0; i < nr_clock_ev; i++) {
		const struct cw_clock_event *e = &clock_ev[i];

		EXPECT_EQ((__u32)getpid(), e->pid);
		EXPECT_EQ(0, strncmp(e->comm, comm, 16));
		if (e->call == CW_CALL_CLOCK_SETTIME && e->delta_ns > 0) {
			steps++;
			TH_LOG("clock_settime step: reported %+lld ns, made %+lld ns (%+lld ns)",
			       (long long)e->delta_ns, target - before,
			       (long long)e->delta_ns - (target - before));
			EXPECT_TRUE(e->flags & CW_CLOCK_EV_STEP);
			/*
			 * The step is target - REALTIME when the kernel set
			 * it, some time between the read of before and mono1;
			 * within 1 ms of that window.
			 */
			EXPECT_LE(e->delta_ns, target - before + NSEC_PER_MSEC);
			EXPECT_GE(e->delta_ns, target - before - (mono1 - mono0) - NSEC_PER_MSEC);
		}
		/* glibc's adjtimex() is clock_adjtime(CLOCK_REALTIME) */
		if (e->call == CW_CALL_ADJTIMEX || e->call == CW_CALL_CLOCK_ADJTIME) {
			writes++;
			TH_LOG("adjtimex write: modes 0x%x maxerror %lld -> %lld us", e->modes,
			       (long long)e->req.maxerror, (long long)e->res.maxerror);
			EXPECT_EQ(ADJ_MAXERROR, e->modes);
			EXPECT_EQ(123456, e->req.maxerror);
			EXPECT_EQ(123456, e->res.maxerror);
			EXPECT_FALSE(e->flags & CW_CLOCK_EV_STEP);
		}
	}
	EXPECT_EQ(1, steps);
	EXPECT_EQ(1, writes);
	EXPECT_EQ(3, nr_clock_ev);	/* and the step back */
	(void)saved;
}

/* Safe on any machine: a clock_settime() the kernel refuses changes nothing,
 * and is still reported, with its caller. */
TEST(clock_tracker_names_refused_caller)
{
	struct timespec bad = { .tv_sec = 0, .tv_nsec = 2 * NSEC_PER_SEC };
	struct cw_clocks *c = NULL;
	char comm[16] = "";
	uint64_t seq0;
	int i, found = 0;

	if (geteuid() != 0)
		SKIP(return, "needs root (BPF)");
	ASSERT_EQ(0, cw_clocks__open(&c));
	nr_clock_ev = 0;
	cw_clocks__set_callback(c, collect_clock, NULL);
	prctl(PR_GET_NAME, comm);
	seq0 = cw_clocks__step_seq(c);
	/* the system call itself: glibc refuses this one before the kernel */
	EXPECT_EQ(-1, syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
	EXPECT_EQ(EINVAL, errno);
	cw_clocks__poll(c, 100);
	for (i = 0; i < nr_clock_ev; i++) {
		const struct cw_clock_event *e = &clock_ev[i];

		if (e->call != CW_CALL_CLOCK_SETTIME || e->pid != (__u32)getpid())
			continue;
		found++;
		TH_LOG("refused clock_settime: ret %lld, comm %.16s, delta %lld ns",
		       (long long)e->ret, e->comm, (long long)e->delta_ns);
		EXPECT_EQ(-EINVAL, e->ret);
		EXPECT_EQ(0, strncmp(e->comm, comm, 16));
		EXPECT_FALSE(e->flags & CW_CLOCK_EV_STEP);
		EXPECT_LE(llabs(e->delta_ns), NSEC_PER_MSEC);
	}
	EXPECT_EQ(1, found);
	EXPECT_EQ(seq0, cw_clocks__step_seq(c));
	cw_clocks__close(c);
}

TEST_HARNESS_MAIN
