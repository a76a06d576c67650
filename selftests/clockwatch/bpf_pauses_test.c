// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch selftests: the BPF pause tracker against truths the test
 * knows from outside it.
 *
 *  - A child stopped by the test with SIGSTOP and continued 300 ms later,
 *    both timed by the test on CLOCK_MONOTONIC, is reported stopped for
 *    300 ms +- 10 %.
 *  - A SCHED_FIFO hog pinned to a victim's CPU, spinning for 100 ms by its
 *    own CLOCK_MONOTONIC reads, shows as one run-queue wait (preempted or
 *    runqueue) of the victim that covers the whole spin.
 *  - A busy child in a cgroup with cpu.max "10000 100000" shows throttled
 *    pauses of about 90 ms, and their number and sum match the cgroup's
 *    own cpu.stat (nr_throttled, throttled_usec).
 *  - The idle task never appears.
 *
 * Needs root and BPF; it does not need the module.  run_bpf_vm.sh runs it
 * in the test VM (twice: tp_btf and raw_tp).  The VM is emulated and
 * noisy, so every assertion compares with the truth measured in the same
 * run, within the stated tolerance, never with absolute timing alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cwbpf.h"
#include "kselftest_harness.h"

#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL
#define MAX_EVENTS		4096

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_until(long long t)
{
	struct timespec ts = { .tv_sec = t / NSEC_PER_SEC, .tv_nsec = t % NSEC_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int pin_to(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

/* A child that spins until killed, optionally pinned. */
static pid_t spawn_spinner(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (cpu >= 0 && pin_to(0, cpu))
			_exit(1);
		for (;;)
			__asm__ __volatile__("" ::: "memory");
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static struct collector {
	struct cw_pause_event ev[MAX_EVENTS];
	int n;
} col;

static int collect(void *ctx, const struct cw_pause_event *e)
{
	(void)ctx;
	if (col.n < MAX_EVENTS)
		col.ev[col.n++] = *e;
	return 0;
}

/* Poll the tracker's events for ms milliseconds. */
static void poll_for(struct cw_pauses *p, long long ms)
{
	long long end = mono_ns() + ms * NSEC_PER_MSEC;

	do {
		cw_pauses__poll(p, 50);
	} while (mono_ns() < end);
	cw_pauses__poll(p, 0);
}

static int need_root_and_cpus(int cpus)
{
	if (geteuid() != 0)
		return -1;
	if (sysconf(_SC_NPROCESSORS_ONLN) < cpus)
		return -2;
	return 0;
}

#define REQUIRE(_metadata, cpus)						\
	do {									\
		int _r = need_root_and_cpus(cpus);				\
		if (_r == -1)							\
			SKIP(return, "needs root (BPF)");			\
		if (_r == -2)							\
			SKIP(return, "needs %d CPUs", cpus);			\
	} while (0)

static struct cw_pauses *open_tracker(struct __test_metadata *_metadata,
				      const struct cw_pauses_opts *o)
{
	struct cw_pauses *p = NULL;
	int err;

	col.n = 0;
	err = cw_pauses__open(&p, o);
	if (err)
		return NULL;
	cw_pauses__set_callback(p, collect, NULL);
	TH_LOG("tracker loaded with %s programs", cw_pauses__attach_type(p));
	return p;
}

/* The histogram of one process and kind; 0 when found. */
static int read_hist(struct cw_pauses *p, __u32 tgid, __u32 kind, struct cw_hist *h)
{
	struct cw_hist_key key = { .tgid = tgid, .kind = kind };

	return bpf_map_lookup_elem(cw_pauses__hists_fd(p), &key, h);
}

TEST(sigstop_300ms)
{
	struct cw_pauses_opts o = { .event_min_ns = 50 * NSEC_PER_MSEC };
	long long t_stop, t_stopped, t_cont, truth, dur;
	struct cw_pauses *p;
	struct cw_hist h;
	int status, i, found = -1;
	pid_t child;

	REQUIRE(_metadata, 1);
	child = spawn_spinner(-1);
	ASSERT_GT(child, 0);
	o.tgid = child;
	p = open_tracker(_metadata, &o);
	if (!p)
		reap(child);
	ASSERT_NE(NULL, p);
	poll_for(p, 200);

	t_stop = mono_ns();
	ASSERT_EQ(0, kill(child, SIGSTOP));
	ASSERT_EQ(child, waitpid(child, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	t_stopped = mono_ns();
	sleep_until(t_stop + 300 * NSEC_PER_MSEC);
	t_cont = mono_ns();
	ASSERT_EQ(0, kill(child, SIGCONT));
	poll_for(p, 300);
	reap(child);
	truth = t_cont - t_stop;

	for (i = 0; i < col.n; i++)
		if (col.ev[i].kind == CW_PAUSE_STOPPED && col.ev[i].pid == (__u32)child) {
			EXPECT_EQ(-1, found) TH_LOG("more than one stopped pause");
			found = i;
		}
	ASSERT_NE(-1, found) TH_LOG("no stopped pause among %d events", col.n);
	dur = col.ev[found].end_ns - col.ev[found].start_ns;
	TH_LOG("SIGSTOP..SIGCONT %.3f ms (truth), reported stopped %.3f ms (%+.1f %%), of which %.3f ms runnable; the child stopped within %.3f ms of SIGSTOP",
	       truth / 1e6, dur / 1e6, 100.0 * (dur - truth) / truth, col.ev[found].runq_ns / 1e6,
	       (t_stopped - t_stop) / 1e6);
	/*
	 * 10 %; and a child busy on a loaded machine stops only once it runs
	 * again to take the signal: the time until waitpid() saw it stopped
	 * is a wait of another kind, not part of the stop.
	 */
	EXPECT_LE(llabs(dur - truth), truth / 10 + (t_stopped - t_stop));
	/*
	 * The stop lies around the truth: it began after SIGSTOP (the child
	 * tells its parent, whose waitpid() may return, just before it
	 * leaves the CPU: not a bound) and before SIGCONT, and ended after.
	 */
	EXPECT_GE((long long)col.ev[found].start_ns, t_stop);
	EXPECT_LT((long long)col.ev[found].start_ns, t_cont);
	EXPECT_GE((long long)col.ev[found].end_ns, t_cont);

	/* the histogram saw the same single pause */
	ASSERT_EQ(0, read_hist(p, child, CW_PAUSE_STOPPED, &h));
	EXPECT_EQ(1, h.count);
	EXPECT_EQ((__u64)dur, h.max_ns);
	cw_pauses__close(p);
}

TEST(fifo_hog_100ms)
{
	struct cw_pauses_opts o = { .event_min_ns = 20 * NSEC_PER_MSEC };
	long long spin[2] = { 0, 0 }, dur;
	struct sched_param sp = { .sched_priority = 10 };
	struct cw_pauses *p;
	pid_t victim, hog;
	int pipefd[2], i, found = -1;

	REQUIRE(_metadata, 2);
	ASSERT_EQ(0, pin_to(0, 0));
	victim = spawn_spinner(1);
	ASSERT_GT(victim, 0);
	o.tgid = victim;
	p = open_tracker(_metadata, &o);
	if (!p)
		reap(victim);
	ASSERT_NE(NULL, p);
	poll_for(p, 300);
	col.n = 0;

	ASSERT_EQ(0, pipe(pipefd));
	hog = fork();
	if (hog == 0) {
		long long t[2];

		if (pin_to(0, 1) || sched_setscheduler(0, SCHED_FIFO, &sp))
			_exit(1);
		/* now on CPU 1, ahead of the victim: spin 100 ms */
		t[0] = mono_ns();
		do
			t[1] = mono_ns();
		while (t[1] - t[0] < 100 * NSEC_PER_MSEC);
		if (write(pipefd[1], t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
	ASSERT_GT(hog, 0);
	close(pipefd[1]);
	EXPECT_EQ(sizeof(spin), read(pipefd[0], spin, sizeof(spin)));
	close(pipefd[0]);
	waitpid(hog, NULL, 0);
	poll_for(p, 300);
	reap(victim);
	ASSERT_GE(spin[1] - spin[0], 100 * NSEC_PER_MSEC);

	for (i = 0; i < col.n; i++) {
		const struct cw_pause_event *e = &col.ev[i];

		if ((long long)e->start_ns <= spin[0] && (long long)e->end_ns >= spin[1])
			found = i;
	}
	ASSERT_NE(-1, found) TH_LOG("no pause of the victim covers the hog's spin (%d events)",
				    col.n);
	dur = col.ev[found].end_ns - col.ev[found].start_ns;
	TH_LOG("hog spun %.3f ms (truth); victim waited %.3f ms, kind %s",
	       (spin[1] - spin[0]) / 1e6, dur / 1e6, cw_pause_kind_name(col.ev[found].kind));
	EXPECT_TRUE(col.ev[found].kind == CW_PAUSE_PREEMPTED ||
		    col.ev[found].kind == CW_PAUSE_RUNQUEUE);
	EXPECT_GE(dur, spin[1] - spin[0]);
	cw_pauses__close(p);
}

/* ---- cgroup throttling -------------------------------------------------- */

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define PERIOD_NS	(100 * NSEC_PER_MSEC)	/* cpu.max period of the test */

struct cpu_stat {
	long long nr_throttled;
	long long throttled_usec;
};

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -errno;
}

static int read_cpu_stat(const char *cg, struct cpu_stat *st)
{
	char path[256], key[64];
	long long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", cg);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (strcmp(key, "nr_throttled") == 0)
			st->nr_throttled = v;
		else if (strcmp(key, "throttled_usec") == 0)
			st->throttled_usec = v;
	}
	fclose(f);
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

TEST(cgroup_throttle)
{
	struct cw_pauses_opts o = { .event_min_ns = 10 * NSEC_PER_MSEC };
	long long t0, t1, sum = 0, truth_ns, durs[MAX_EVENTS], median, truth_mean;
	struct cpu_stat s0, s1;
	struct cw_pauses *p;
	char cg[128], procs[160], pidstr[32];
	int i, n = 0, others = 0, periods = 0, long_ones = 0;
	pid_t child;

	REQUIRE(_metadata, 1);
	if (access(CGROUP_ROOT "/cgroup.subtree_control", W_OK))
		SKIP(return, "no cgroup v2 at " CGROUP_ROOT);
	if (write_file(CGROUP_ROOT "/cgroup.subtree_control", "+cpu"))
		SKIP(return, "cannot enable the cpu controller");
	snprintf(cg, sizeof(cg), CGROUP_ROOT "/cw-throttle-%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755));
	snprintf(procs, sizeof(procs), "%s/cpu.max", cg);
	ASSERT_EQ(0, write_file(procs, "10000 100000"));

	child = spawn_spinner(-1);
	ASSERT_GT(child, 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	snprintf(pidstr, sizeof(pidstr), "%d", child);
	if (write_file(procs, pidstr)) {
		reap(child);
		rmdir(cg);
		ASSERT_TRUE(false) TH_LOG("cannot move the child into %s", cg);
	}

	/* the tracker's cgroup filter is under test too */
	if (cw_cgroup_lookup(cg, &o.cgroup_id, &o.cgroup_level)) {
		reap(child);
		rmdir(cg);
		ASSERT_TRUE(false);
	}
	p = open_tracker(_metadata, &o);
	if (!p) {
		reap(child);
		rmdir(cg);
	}
	ASSERT_NE(NULL, p);
	poll_for(p, 300);

	ASSERT_EQ(0, read_cpu_stat(cg, &s0));
	t0 = mono_ns();
	poll_for(p, 2000);
	ASSERT_EQ(0, read_cpu_stat(cg, &s1));
	t1 = mono_ns();
	poll_for(p, 200);
	reap(child);
	cw_pauses__close(p);
	rmdir(cg);

	for (i = 0; i < col.n; i++) {
		const struct cw_pause_event *e = &col.ev[i];

		if (e->cgroup_id != o.cgroup_id)
			others++;
		if (e->kind != CW_PAUSE_THROTTLED || e->pid != (__u32)child)
			continue;
		/* a pause is counted by cpu.stat when it ends (unthrottle) */
		if ((long long)e->end_ns <= t0 || (long long)e->end_ns > t1)
			continue;
		durs[n++] = e->end_ns - e->start_ns;
		sum += e->end_ns - e->start_ns;
		/* the periods this pause spanned: see below */
		periods += ((e->end_ns - e->start_ns + PERIOD_NS / 2) / PERIOD_NS) ?: 1;
		if (e->end_ns - e->start_ns > PERIOD_NS * 3 / 2)
			long_ones++;
	}
	EXPECT_EQ(0, others) TH_LOG("%d events from outside the cgroup", others);
	truth_ns = (s1.throttled_usec - s0.throttled_usec) * 1000;
	ASSERT_GT(n, 0) TH_LOG("no throttled pause in %d events", col.n);
	qsort(durs, n, sizeof(durs[0]), cmp_ll);
	median = durs[n / 2];
	TH_LOG("cpu.stat: %lld throttled periods, %.3f ms throttled; tracker: %d throttled pauses spanning %d periods, %.3f ms, median %.3f ms (min %.3f, max %.3f)",
	       s1.nr_throttled - s0.nr_throttled, truth_ns / 1e6, n, periods, sum / 1e6,
	       median / 1e6, durs[0] / 1e6, durs[n - 1] / 1e6);

	/*
	 * cpu.stat counts a throttle, and adds its time, when the period
	 * timer unthrottles the group; the tracker ends the pause when the
	 * task runs again, just after.  A throttle unthrottled right at an
	 * edge of the window can fall on different sides of it: one pause
	 * either way.  The tracker's pause also holds the wait for a CPU
	 * after the unthrottle, so its sum is a little longer: 10 %.
	 *
	 * nr_throttled counts periods, not throttles: when the period timer
	 * fires late (the emulated VM stalls now and then), it adds every
	 * period it overran, and the one pause that spans them all ends only
	 * then.  So a pause counts for the periods it spans, its duration
	 * over the period rounded; the phase of the period is unknown, so
	 * each pause longer than 1.5 periods may be off by one.
	 */
	EXPECT_LE(llabs((long long)periods - (s1.nr_throttled - s0.nr_throttled)),
		  1 + long_ones);
	EXPECT_LE(llabs(sum - truth_ns), truth_ns / 10 + durs[n - 1]);
	/*
	 * Quota 10 ms of every 100 ms: about 90 ms each.  Against the truth:
	 * the typical pause is within 25 % of cpu.stat's own mean throttle
	 * per period (the emulated VM stretches some periods, which moves
	 * the mean more than the median).
	 */
	truth_mean = truth_ns / ((s1.nr_throttled - s0.nr_throttled) ?: 1);
	TH_LOG("cpu.stat's mean throttle per period %.3f ms", truth_mean / 1e6);
	EXPECT_LE(llabs(median - truth_mean), truth_mean / 4);
}

TEST(idle_task_never_counts)
{
	struct cw_pauses_opts o = { .event_min_ns = 1 };
	struct cw_hist_key key, next;
	struct cw_pauses *p;
	int fd, i, idle = 0, keys = 0;
	bool first = true;

	REQUIRE(_metadata, 1);
	p = open_tracker(_metadata, &o);
	ASSERT_NE(NULL, p);
	poll_for(p, 500);
	for (i = 0; i < col.n; i++)
		if (col.ev[i].tid == 0 || col.ev[i].pid == 0)
			idle++;
	fd = cw_pauses__hists_fd(p);
	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		keys++;
		if (key.tgid == 0)
			idle++;
	}
	TH_LOG("%d events, %d histograms, none may be the idle task's", col.n, keys);
	EXPECT_GT(keys, 0);
	EXPECT_EQ(0, idle);
	cw_pauses__close(p);
}

TEST_HARNESS_MAIN
