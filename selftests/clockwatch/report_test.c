// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: CLOCKWATCH_IOC_DAEMON_REPORT and the sync daemon's rules.
 *
 * The sync daemon is the process that wrote maxerror with adjtimex(), and
 * it stays the daemon while it lives.  Here it is the test's own process:
 * the harness runs each test in a process of its own that exits when the
 * test ends, so no test leaves a live daemon behind for the next test or
 * the next program.  Another process, when a test needs one, is a child
 * it forks.
 *
 * Each test checks what the module publishes against what the test did
 * itself: the report's fields, the MONOTONIC_RAW of the call between the
 * test's own reads around it, the anchors of its own maxerror writes, the
 * steps it made.  They change the clocks: they SKIP unless
 * CLOCKWATCH_DESTRUCTIVE=1, and put back the NTP state and the clock
 * offset they changed (run_vm.sh runs them in a throw-away VM).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_MSEC		1000000LL
/* maxerror writes closer than this are one update of the daemon, ns. */
#define UPDATE_GAP_NS		(100 * NSEC_PER_MSEC)
/* The maxerror the tests write as the daemon, µs: synchronised. */
#define TEST_MAXERROR_US	100000
#define STEP_NS			(50 * NSEC_PER_MSEC)

FIXTURE(rep) {
	int fd;
	const struct clockwatch_page *page;

	/* What the teardown puts back. */
	struct timex saved;		/* adjtimex() state before the test */
	long long unstep_ns;		/* a step of this process to undo, ns */
	bool disrupted;			/* the test made the state DISRUPTED */
};

FIXTURE_SETUP(rep)
{
	void *map;

	self->page = NULL;
	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s not found: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", CLOCKWATCH_DEVICE, strerror(errno));
	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	self->page = map;
	ASSERT_LE(0, adjtimex(&self->saved));
}

static int write_maxerror(long us);
static void sleep_ns(long long ns);

FIXTURE_TEARDOWN(rep)
{
	struct timex tx;

	if (!self->page)
		return;
	if (self->unstep_ns && cw_step_setoffset(-self->unstep_ns))
		TH_LOG("could not undo the %lld ns step", self->unstep_ns);
	tx = self->saved;
	tx.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_ESTERROR;
	if (adjtimex(&tx) < 0)
		TH_LOG("could not restore the NTP state: %s", strerror(errno));
	/*
	 * Still the daemon: end the disruption the test made, with two
	 * updates after it (the saved maxerror, written twice), so that the
	 * programs after this one do not start DISRUPTED by it.
	 */
	if (self->disrupted) {
		sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);
		write_maxerror(self->saved.maxerror);
		sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);
	}
	write_maxerror(self->saved.maxerror);
	munmap((void *)self->page, CLOCKWATCH_PAGE_SIZE);
	close(self->fd);
}

/* The 6.1 harness runs the body after a SKIP in the setup. */
#define REQUIRE_DESTRUCTIVE() do {					\
	if (!self->page)						\
		return;							\
	if (geteuid() != 0)						\
		SKIP(return, "needs root (CAP_SYS_TIME)");		\
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))				\
		SKIP(return, "changes the clocks: set CLOCKWATCH_DESTRUCTIVE=1 (run_vm.sh does)"); \
	if (!(self->page->features & CLOCKWATCH_FEAT_NTP))		\
		SKIP(return, "module has no adjtimex hook");		\
} while (0)

static void sleep_ns(long long ns)
{
	struct timespec ts = { ns / CW_NSEC_PER_SEC, ns % CW_NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int write_maxerror(long us)
{
	struct timex tx = { .modes = ADJ_MAXERROR, .maxerror = us };

	return adjtimex(&tx) < 0 ? -errno : 0;
}

/* A report that passes every check of form, for @pid and the page's now. */
static void report_init(struct clockwatch_daemon_report *r, pid_t pid,
			const struct clockwatch_page *c)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->source = CLOCKWATCH_DREP_CHRONY;
	r->flags = CLOCKWATCH_DREPF_SYNCED;
	r->daemon_pid = pid;
	r->anchor_raw_ns = c->maxerror_raw_ns;
	r->step_seq = c->step_seq;
	r->correction_ns = -123456789;
	r->root_delay_ns = 2345678;
	r->root_dispersion_ns = 345678;
	r->ref_real_ns = 1700000000123456789LL;
}

static int report(int fd, struct clockwatch_daemon_report *r)
{
	return ioctl(fd, CLOCKWATCH_IOC_DAEMON_REPORT, r) ? -errno : 0;
}

/*
 * Write maxerror as the sync daemon: this process must become it (no
 * other daemon may live) or already be it.  Fills @c with the page after.
 */
#define BE_DAEMON(c) do {						\
	struct clockwatch_tasks bd_t;					\
									\
	ASSERT_EQ(0, write_maxerror(TEST_MAXERROR_US));			\
	cw_page_copy(self->page, (c));					\
	ASSERT_EQ(0, cw_tasks(self->fd, &bd_t));				\
	ASSERT_EQ(getpid(), bd_t.daemon_pid)				\
		TH_LOG("another sync daemon lives: pid %d (%.16s)",	\
		       bd_t.daemon_pid, bd_t.daemon_comm);		\
} while (0)

/*
 * Become the daemon with no disruption in force: two updates more than
 * UPDATE_GAP_NS apart (a disruption left by earlier programs ends at the
 * second).
 */
#define BE_SYNCED_DAEMON(c) do {					\
	BE_DAEMON(c);							\
	sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);			\
	BE_DAEMON(c);							\
	ASSERT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, (c)->sync_state)	\
		TH_LOG("sync_state %u reason %u after two updates",	\
		       (c)->sync_state, (c)->sync_reason);	\
} while (0)

/* A child that waits until @release is closed; returns its pid. */
static pid_t idle_child(int release[2])
{
	pid_t pid;
	char b;

	if (pipe(release))
		return -1;
	pid = fork();
	if (!pid) {
		close(release[1]);
		while (read(release[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(release[0]);
	return pid;
}

/* adjtimex(@tx) in a child process; 0, or what went wrong. */
static int foreign_adjtimex(struct timex *tx)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(adjtimex(tx) < 0 ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status) ? -EIO : 0;
}

/*
 * (a) The daemon's report, with the anchor and step_seq it read, is taken
 * and shows on the page field by field, made at a MONOTONIC_RAW between
 * the test's own reads around the call.
 */
TEST_F(rep, taken_and_published)
{
	struct clockwatch_daemon_report r;
	struct clockwatch_page c, after;
	long long raw0, raw1;

	REQUIRE_DESTRUCTIVE();
	BE_DAEMON(&c);
	EXPECT_EQ(TEST_MAXERROR_US, c.maxerror_us);
	report_init(&r, getpid(), &c);

	raw0 = cw_clock_ns(CLOCK_MONOTONIC_RAW);
	ASSERT_EQ(0, report(self->fd, &r));
	raw1 = cw_clock_ns(CLOCK_MONOTONIC_RAW);

	cw_page_copy(self->page, &after);
	EXPECT_LE(raw0, after.report_raw_ns);
	EXPECT_GE(raw1, after.report_raw_ns);
	EXPECT_EQ(c.maxerror_raw_ns, after.report_anchor_raw_ns);
	EXPECT_EQ(TEST_MAXERROR_US, after.report_maxerror_us);
	EXPECT_EQ(c.step_seq, after.report_step_seq);
	EXPECT_EQ(CLOCKWATCH_DREP_CHRONY, after.report_source);
	EXPECT_EQ(CLOCKWATCH_DREPF_SYNCED, after.report_flags);
	EXPECT_EQ(r.correction_ns, after.report_correction_ns);
	EXPECT_EQ(r.root_delay_ns, after.report_root_delay_ns);
	EXPECT_EQ(r.root_dispersion_ns, after.report_root_dispersion_ns);
	EXPECT_EQ(r.ref_real_ns, after.report_ref_real_ns);
	/* A report never changes the clock or the anchor. */
	EXPECT_EQ(c.maxerror_raw_ns, after.maxerror_raw_ns);
	EXPECT_EQ(c.step_seq, after.step_seq);
	TH_LOG("report at raw %lld, %lld ns after the read before the call, %lld ns before the one after",
	       (long long)after.report_raw_ns,
	       (long long)after.report_raw_ns - raw0,
	       raw1 - (long long)after.report_raw_ns);

	/* A second report with other values replaces the first. */
	r.flags = 0;
	r.correction_ns = 1000LL * CW_NSEC_PER_SEC;	/* the limit is allowed */
	r.root_delay_ns = 0;
	r.root_dispersion_ns = 0;
	ASSERT_EQ(0, report(self->fd, &r));
	cw_page_copy(self->page, &after);
	EXPECT_EQ(0, after.report_flags);
	EXPECT_EQ(r.correction_ns, after.report_correction_ns);
	EXPECT_EQ(0, after.report_root_delay_ns);
	EXPECT_EQ(0, after.report_root_dispersion_ns);
}

/*
 * (b) EAGAIN for the old anchor once the daemon wrote maxerror again as a
 * new update, and for the old step_seq once the clock was stepped; the
 * page keeps the last report taken.
 */
TEST_F(rep, eagain_after_new_write_and_step)
{
	struct clockwatch_daemon_report r;
	struct clockwatch_page c1, c2, c3, after;

	REQUIRE_DESTRUCTIVE();
	BE_DAEMON(&c1);
	report_init(&r, getpid(), &c1);
	ASSERT_EQ(0, report(self->fd, &r));
	cw_page_copy(self->page, &after);

	sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);
	BE_DAEMON(&c2);
	ASSERT_LT(c1.maxerror_raw_ns, c2.maxerror_raw_ns);
	EXPECT_EQ(-EAGAIN, report(self->fd, &r));
	cw_page_copy(self->page, &c3);
	EXPECT_EQ(after.report_raw_ns, c3.report_raw_ns);
	EXPECT_EQ(c1.maxerror_raw_ns, c3.report_anchor_raw_ns);
	r.anchor_raw_ns = c2.maxerror_raw_ns;
	EXPECT_EQ(0, report(self->fd, &r));

	/* A step: the daemon's own, which disrupts nothing, still moves step_seq. */
	ASSERT_EQ(0, cw_step_setoffset(STEP_NS));
	self->unstep_ns = STEP_NS;
	cw_page_copy(self->page, &c3);
	ASSERT_EQ(c2.step_seq + 1, c3.step_seq);
	EXPECT_EQ(c2.maxerror_raw_ns, c3.maxerror_raw_ns);
	EXPECT_EQ(-EAGAIN, report(self->fd, &r));
	r.step_seq = c3.step_seq;
	EXPECT_EQ(0, report(self->fd, &r));
	cw_page_copy(self->page, &after);
	EXPECT_EQ(c3.step_seq, after.report_step_seq);
	EXPECT_EQ(c2.maxerror_raw_ns, after.report_anchor_raw_ns);
}

static void *tid_thread(void *arg)
{
	int *release = arg;
	char b;

	*(pid_t *)(release + 2) = (pid_t)syscall(SYS_gettid);
	while (read(release[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/*
 * (c) ESRCH for a process that is not the daemon (a live child, a thread
 * of the daemon) and for a daemon that is gone (exited, then reaped).
 */
TEST_F(rep, esrch_not_the_daemon_or_dead)
{
	struct clockwatch_daemon_report r;
	struct clockwatch_page c;
	struct clockwatch_tasks t;
	int ready[2], release[2], trel[3];
	siginfo_t si;
	pthread_t th;
	pid_t d, child;
	char b;

	REQUIRE_DESTRUCTIVE();

	/* A child that becomes the daemon, reports through the parent, dies. */
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(release));
	d = fork();
	ASSERT_LE(0, d);
	if (!d) {
		close(ready[0]);
		close(release[1]);
		if (write_maxerror(TEST_MAXERROR_US) || write(ready[1], "x", 1) != 1)
			_exit(1);
		while (read(release[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	ASSERT_EQ(1, read(ready[0], &b, 1));
	cw_page_copy(self->page, &c);
	ASSERT_EQ(0, cw_tasks(self->fd, &t));
	ASSERT_EQ(d, t.daemon_pid)
		TH_LOG("the child did not become the daemon: pid %d (%.16s) is",
		       t.daemon_pid, t.daemon_comm);
	report_init(&r, d, &c);
	EXPECT_EQ(0, report(self->fd, &r)) TH_LOG("from the live child daemon");

	/* Dead but not reaped: a zombie is no daemon. */
	close(release[1]);
	ASSERT_EQ(0, waitid(P_PID, d, &si, WEXITED | WNOWAIT));
	EXPECT_EQ(-ESRCH, report(self->fd, &r)) TH_LOG("from the zombie daemon");
	ASSERT_EQ(d, waitpid(d, NULL, 0));
	EXPECT_EQ(-ESRCH, report(self->fd, &r)) TH_LOG("from the reaped daemon");
	close(ready[0]);

	/* The daemon gone, this process becomes it at its first write. */
	BE_DAEMON(&c);
	report_init(&r, getpid(), &c);
	EXPECT_EQ(0, report(self->fd, &r));

	/* A live process that is not the daemon. */
	child = idle_child(release);
	ASSERT_LT(0, child);
	r.daemon_pid = child;
	EXPECT_EQ(-ESRCH, report(self->fd, &r)) TH_LOG("from a live child");
	close(release[1]);
	ASSERT_EQ(child, waitpid(child, NULL, 0));

	/* A thread of the daemon: its tid is not the daemon's tgid. */
	ASSERT_EQ(0, pipe(trel));
	trel[2] = 0;
	ASSERT_EQ(0, pthread_create(&th, NULL, tid_thread, trel));
	while (!__atomic_load_n(&trel[2], __ATOMIC_ACQUIRE))
		sleep_ns(NSEC_PER_MSEC);
	r.daemon_pid = trel[2];
	EXPECT_NE(getpid(), r.daemon_pid);
	EXPECT_EQ(-ESRCH, report(self->fd, &r)) TH_LOG("from tid %d", r.daemon_pid);
	close(trel[1]);
	pthread_join(th, NULL);
	close(trel[0]);

	r.daemon_pid = getpid();
	EXPECT_EQ(0, report(self->fd, &r));
}

/*
 * (d) While the daemon lives, another process's frequency change makes
 * the state DISRUPTED (FOREIGN_ADJUST), and its maxerror write moves
 * neither the anchor nor the daemon.
 */
TEST_F(rep, foreign_adjust_disrupts_foreign_maxerror_ignored)
{
	struct timex tx = { .modes = ADJ_FREQUENCY };
	struct clockwatch_page c, after;
	struct clockwatch_tasks t0, t;
	long long raw0, raw1;

	REQUIRE_DESTRUCTIVE();
	BE_SYNCED_DAEMON(&c);

	tx.freq = self->saved.freq + 10 * 65536;	/* +10 ppm */
	raw0 = cw_clock_ns(CLOCK_MONOTONIC_RAW);
	ASSERT_EQ(0, foreign_adjtimex(&tx));
	raw1 = cw_clock_ns(CLOCK_MONOTONIC_RAW);
	self->disrupted = true;
	cw_page_copy(self->page, &after);
	EXPECT_EQ(CLOCKWATCH_SYNC_DISRUPTED, after.sync_state);
	EXPECT_EQ(CLOCKWATCH_SYNC_R_FOREIGN_ADJUST, after.sync_reason);
	EXPECT_LE(raw0, after.disrupt_raw_ns);
	EXPECT_GE(raw1, after.disrupt_raw_ns);
	ASSERT_EQ(0, cw_tasks(self->fd, &t0));
	EXPECT_EQ(getpid(), t0.daemon_pid);

	/* Another process writes maxerror: the page's ntp has it, the daemon's fields not. */
	memset(&tx, 0, sizeof(tx));
	tx.modes = ADJ_MAXERROR;
	tx.maxerror = 777777;
	ASSERT_EQ(0, foreign_adjtimex(&tx));
	cw_page_copy(self->page, &after);
	EXPECT_EQ(777777, after.ntp.maxerror_us);
	EXPECT_EQ(c.maxerror_raw_ns, after.maxerror_raw_ns);
	EXPECT_EQ(c.maxerror_mono_ns, after.maxerror_mono_ns);
	EXPECT_EQ(TEST_MAXERROR_US, after.maxerror_us);
	EXPECT_EQ(c.daemon_count, after.daemon_count);
	ASSERT_EQ(0, cw_tasks(self->fd, &t));
	EXPECT_EQ(getpid(), t.daemon_pid);
	EXPECT_EQ(t0.daemon_count, t.daemon_count);
	EXPECT_EQ(0, strncmp(t0.daemon_comm, t.daemon_comm, sizeof(t.daemon_comm)));
	EXPECT_EQ(CLOCKWATCH_SYNC_DISRUPTED, after.sync_state);
}

/*
 * (e) A disruption ends at the daemon's second update after it, not the
 * first: the first was computed from measurements mostly taken before.
 * maxerror writes less than UPDATE_GAP_NS apart are one update.
 */
TEST_F(rep, disruption_ends_at_second_update)
{
	struct timex tx = { .modes = ADJ_FREQUENCY };
	struct clockwatch_page c, c1, c1b, c2;
	long long gap;

	REQUIRE_DESTRUCTIVE();
	BE_SYNCED_DAEMON(&c);
	/* the next write is a new update, not the tail of this one */
	sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);

	tx.freq = self->saved.freq - 10 * 65536;	/* -10 ppm */
	ASSERT_EQ(0, foreign_adjtimex(&tx));
	self->disrupted = true;
	cw_page_copy(self->page, &c);
	ASSERT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c.sync_state);
	ASSERT_EQ(CLOCKWATCH_SYNC_R_FOREIGN_ADJUST, c.sync_reason);

	/* First update after the disruption: still disrupted. */
	BE_DAEMON(&c1);
	EXPECT_LT(c.disrupt_raw_ns, c1.maxerror_raw_ns);
	EXPECT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c1.sync_state)
		TH_LOG("the first update after the disruption ended it");

	/* A write 10 ms later belongs to the same update. */
	sleep_ns(10 * NSEC_PER_MSEC);
	BE_DAEMON(&c1b);
	gap = c1b.maxerror_raw_ns - c1.maxerror_raw_ns;
	if (gap < UPDATE_GAP_NS) {
		EXPECT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c1b.sync_state)
			TH_LOG("a write %lld ns after the first ended it", gap);
	} else {
		TH_LOG("the second write came %lld ns after the first (a slow host): a new update",
		       gap);
	}

	/* The second update: the disruption is over. */
	sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);
	BE_DAEMON(&c2);
	EXPECT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, c2.sync_state);
	EXPECT_EQ(CLOCKWATCH_SYNC_R_MAXERROR, c2.sync_reason);
	self->disrupted = false;
}

/* What the stepping child saw right after each of its steps. */
struct step_seen {
	int err;
	unsigned int inflight;
	long long page_offs;	/* REALTIME - MONOTONIC on the page */
	long long offs;		/* the same, measured (tightest bracket) */
	long long step_seq;
	long long delta;	/* last_step_delta_ns */
	int pid;		/* CLOCKWATCH_IOC_TASKS's last_step_pid */
};

static void step_look(int fd, const struct clockwatch_page *p,
		      struct step_seen *s)
{
	struct clockwatch_tasks t;
	struct clockwatch_page c;

	cw_page_copy(p, &c);
	s->offs = cw_real_minus_mono();
	s->inflight = c.step_inflight;
	s->page_offs = c.clocks.realtime_ns - c.clocks.monotonic_ns;
	s->step_seq = c.step_seq;
	s->delta = c.last_step_delta_ns;
	s->pid = cw_tasks(fd, &t) ? -1 : t.last_step_pid;
}

/*
 * (f) A step by another process: when its call returns, the page shows no
 * step in flight and its clocks are already the stepped ones.  The child
 * steps +50 ms and back with ADJ_SETOFFSET, and +20 ms with
 * clock_settime(), undone by ADJ_SETOFFSET of the step the page recorded.
 */
TEST_F(rep, foreign_step_on_page_when_call_returns)
{
	struct step_seen seen[4] = {};
	struct clockwatch_page c;
	int pipefd[2], status, i;
	long long before;
	pid_t pid;

	REQUIRE_DESTRUCTIVE();
	BE_DAEMON(&c);
	before = cw_real_minus_mono();
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct timespec ts;
		long long t;

		close(pipefd[0]);
		seen[0].err = cw_step_setoffset(STEP_NS);
		step_look(self->fd, self->page, &seen[0]);
		seen[1].err = cw_step_setoffset(-STEP_NS);
		step_look(self->fd, self->page, &seen[1]);
		t = cw_clock_ns(CLOCK_REALTIME) + 20 * NSEC_PER_MSEC;
		ts.tv_sec = t / CW_NSEC_PER_SEC;
		ts.tv_nsec = t % CW_NSEC_PER_SEC;
		seen[2].err = clock_settime(CLOCK_REALTIME, &ts) ? -errno : 0;
		step_look(self->fd, self->page, &seen[2]);
		seen[3].err = cw_step_setoffset(-seen[2].delta);
		step_look(self->fd, self->page, &seen[3]);
		_exit(write(pipefd[1], seen, sizeof(seen)) == sizeof(seen) ? 0 : 1);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(seen), read(pipefd[0], seen, sizeof(seen)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->disrupted = true;
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, seen[i].err) TH_LOG("step %d", i);
		EXPECT_EQ(0, seen[i].inflight) TH_LOG("step %d", i);
		EXPECT_EQ(c.step_seq + i + 1, seen[i].step_seq) TH_LOG("step %d", i);
		EXPECT_EQ(pid, seen[i].pid) TH_LOG("step %d", i);
		EXPECT_GT(NSEC_PER_MSEC, llabs(seen[i].page_offs - seen[i].offs))
			TH_LOG("step %d: page REALTIME - MONOTONIC %lld, measured %lld",
			       i, seen[i].page_offs, seen[i].offs);
		TH_LOG("step %d of %lld ns: page offset %+lld ns from the measured one",
		       i, seen[i].delta, seen[i].page_offs - seen[i].offs);
	}
	EXPECT_EQ(STEP_NS, seen[0].delta);
	EXPECT_EQ(-STEP_NS, seen[1].delta);
	/* +20 ms less the time from the child's REALTIME read to the set */
	EXPECT_GE(20 * NSEC_PER_MSEC, seen[2].delta);
	EXPECT_LT(10 * NSEC_PER_MSEC, seen[2].delta);
	EXPECT_EQ(-seen[2].delta, seen[3].delta);
	/* and the clock is back where it was */
	EXPECT_GT(100000, llabs(cw_real_minus_mono() - before));
	cw_page_copy(self->page, &c);
	EXPECT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c.sync_state);
	EXPECT_EQ(CLOCKWATCH_SYNC_R_FOREIGN_STEP, c.sync_reason);
}

/* A step of @ns by a child process (not the daemon); 0 or what failed. */
static int foreign_step(long long ns)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(cw_step_setoffset(ns) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status) ? -EIO : 0;
}

/*
 * (g) A step the daemon has not seen counts as measured when the daemon's
 * correction has moved by it since, not when the correction happens to
 * undo it: a daemon still slewing out 50 ms when another process steps
 * the clock back by 50 ms reports about 50 ms again before it has
 * measured anything (as chronyd did, still slewing out 9 s when a 10 s
 * host pause came).
 */
TEST_F(rep, unseen_step_measured_by_the_change)
{
	struct clockwatch_daemon_report r;
	struct clockwatch_page c;

	REQUIRE_DESTRUCTIVE();
	BE_SYNCED_DAEMON(&c);
	report_init(&r, getpid(), &c);
	r.correction_ns = STEP_NS;		/* 50 ms still to slew out */
	ASSERT_EQ(0, report(self->fd, &r));

	ASSERT_EQ(0, foreign_step(-STEP_NS));
	self->disrupted = true;
	self->unstep_ns = -STEP_NS;	/* the daemon steps it back: seen */
	cw_page_copy(self->page, &c);
	ASSERT_EQ(-STEP_NS, c.unseen_step_ns);

	/* The daemon's next update, which has not measured the step. */
	sleep_ns(UPDATE_GAP_NS + 10 * NSEC_PER_MSEC);
	BE_DAEMON(&c);
	report_init(&r, getpid(), &c);
	r.correction_ns = STEP_NS - 5 * NSEC_PER_MSEC;
	ASSERT_EQ(0, report(self->fd, &r));
	cw_page_copy(self->page, &c);
	EXPECT_EQ(-STEP_NS, c.unseen_step_ns)
		TH_LOG("a correction that only went on slewing counted as measuring the step");

	/* The one after it has: 50 ms more to slew out. */
	r.correction_ns = 2 * STEP_NS - 10 * NSEC_PER_MSEC;
	ASSERT_EQ(0, report(self->fd, &r));
	cw_page_copy(self->page, &c);
	EXPECT_EQ(0, c.unseen_step_ns);
}

TEST_HARNESS_MAIN
