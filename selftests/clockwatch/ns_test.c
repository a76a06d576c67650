// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: processes as a pid namespace sees them.
 *
 * The page carries no pid.  Event records and CLOCKWATCH_IOC_TASKS name
 * a process as the reader's pid namespace sees it when it asks: its own
 * pid there, or 0 with no comm (and no CLOCKWATCH_EVF_TASK) when the
 * process is not visible from there or has exited.
 *
 * The test makes the steps itself, from processes whose pids it knows in
 * both namespaces: this process (outside), a child that is pid 1 of a
 * new pid namespace, a thread of the child, and a grandchild that exits
 * before anyone reads.  It steps the clock: it SKIPs unless
 * CLOCKWATCH_DESTRUCTIVE=1, and its steps add up to nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define STEP_NS		1000000LL	/* 1 ms: each step, and back */
#define NSTEPS		6		/* steps the child's namespace makes */
#define MAX_EVENTS	4096

/* What the child in the new pid namespace saw, for the parent to judge. */
struct ns_seen {
	int err;			/* first failure in the child, -errno */
	const char *what;		/* ... and where */
	pid_t pid;			/* the child's getpid(): 1 */
	pid_t thread_tid;		/* its first thread's gettid() there */
	pid_t live_tid;			/* its second thread's */
	int live_stepped;		/* the second thread has stepped */
	int release[2];			/* the second thread waits on it */
	pid_t gone_pid;			/* the grandchild's pid there */
	int nout;			/* STEP records of the outside steps */
	struct clockwatch_event out[2];
	struct clockwatch_tasks tasks_out; /* TASKS after the outside steps */
	int nin;			/* STEP records of its own steps */
	struct clockwatch_event in[NSTEPS];
	struct clockwatch_tasks tasks_in; /* TASKS after its own steps */
	unsigned long long disruptions0, disruptions1; /* around its steps */
};

/* Every STEP record waiting on @fd into @evs, at most @max. */
static int read_steps(int fd, struct clockwatch_event *evs, int max)
{
	static struct clockwatch_event buf[64];
	ssize_t n, i;
	int k = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n / (ssize_t)sizeof(buf[0]); i++)
			if (buf[i].type == CLOCKWATCH_EV_STEP && k < max)
				evs[k++] = buf[i];
	return n < 0 && errno != EAGAIN ? -errno : k;
}

/* The second thread: steps, and lives on until the records were read. */
static void *thread_live(void *arg)
{
	struct ns_seen *seen = arg;
	int err;
	char b;

	prctl(PR_SET_NAME, "cw-ns-live");
	seen->live_tid = syscall(SYS_gettid);
	err = cw_step_setoffset(STEP_NS);
	if (err && !seen->err) {
		seen->err = err;
		seen->what = "live thread step";
	}
	__atomic_store_n(&seen->live_stepped, 1, __ATOMIC_RELEASE);
	if (read(seen->release[0], &b, 1) != 1 && !seen->err) {
		seen->err = -errno;
		seen->what = "live thread release";
	}
	return NULL;
}

static void *thread_step(void *arg)
{
	struct ns_seen *seen = arg;
	int err;

	prctl(PR_SET_NAME, "cw-ns-thread");
	seen->thread_tid = syscall(SYS_gettid);
	err = cw_step_setoffset(-STEP_NS);
	if (err && !seen->err) {
		seen->err = err;
		seen->what = "thread step";
	}
	return NULL;
}

#define CHILD_FAIL(e, w) do {						\
	if (!seen->err) {						\
		seen->err = (e) ? (e) : -EIO;				\
		seen->what = (w);					\
	}								\
	_exit(1);							\
} while (0)

/*
 * pid 1 of the new namespace: read the outside steps' records, make
 * NSTEPS steps of its own (+1 ms itself, -1 ms a thread that then exits,
 * +1 ms a thread that lives on, -1 ms a grandchild that exits at once,
 * +1 ms and -1 ms itself again), read those.
 */
static void ns_child(struct ns_seen *seen, int ready, int go)
{
	const struct clockwatch_page *page;
	struct clockwatch_page c;
	pthread_t th, live;
	pid_t g;
	char b;
	int fd, n;

	prctl(PR_SET_NAME, "cw-ns-child");
	seen->pid = getpid();
	fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		CHILD_FAIL(-errno, "open");
	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		CHILD_FAIL(-errno, "mmap");
	if (write(ready, "r", 1) != 1 || read(go, &b, 1) != 1)
		CHILD_FAIL(-errno, "handshake");

	/* The parent stepped twice meanwhile. */
	n = read_steps(fd, seen->out, 2);
	if (n < 0)
		CHILD_FAIL(n, "read outside");
	seen->nout = n;
	if (cw_tasks(fd, &seen->tasks_out))
		CHILD_FAIL(-errno, "TASKS outside");

	cw_page_copy(page, &c);
	seen->disruptions0 = c.disruption_count;
	if (cw_step_setoffset(STEP_NS))
		CHILD_FAIL(-errno, "step 1");
	if (pthread_create(&th, NULL, thread_step, seen) || pthread_join(th, NULL))
		CHILD_FAIL(-EAGAIN, "thread");
	if (pipe(seen->release))
		CHILD_FAIL(-errno, "pipe");
	if (pthread_create(&live, NULL, thread_live, seen))
		CHILD_FAIL(-EAGAIN, "live thread");
	while (!__atomic_load_n(&seen->live_stepped, __ATOMIC_ACQUIRE))
		usleep(1000);
	g = fork();
	if (g < 0)
		CHILD_FAIL(-errno, "fork");
	if (!g) {
		prctl(PR_SET_NAME, "cw-ns-gone");
		_exit(cw_step_setoffset(-STEP_NS) ? 1 : 0);
	}
	seen->gone_pid = g;
	if (waitpid(g, &n, 0) != g || !WIFEXITED(n) || WEXITSTATUS(n))
		CHILD_FAIL(-ECHILD, "grandchild step");
	if (cw_step_setoffset(STEP_NS) || cw_step_setoffset(-STEP_NS))
		CHILD_FAIL(-errno, "steps 5 and 6");
	cw_page_copy(page, &c);
	seen->disruptions1 = c.disruption_count;

	n = read_steps(fd, seen->in, NSTEPS);
	if (n < 0)
		CHILD_FAIL(n, "read inside");
	seen->nin = n;
	if (cw_tasks(fd, &seen->tasks_in))
		CHILD_FAIL(-errno, "TASKS inside");
	if (write(seen->release[1], "x", 1) != 1 || pthread_join(live, NULL))
		CHILD_FAIL(-errno, "live thread join");
	_exit(0);
}

static bool comm_is(const char *comm, const char *want)
{
	return !strncmp(comm, want, 16);
}

static bool comm_empty(const char *comm)
{
	int i;

	for (i = 0; i < 16; i++)
		if (comm[i])
			return false;
	return true;
}

/* A record of a process the reader cannot see: nothing of it. */
#define EXPECT_HIDDEN(ev) do {						\
	EXPECT_EQ(0, (ev).pid);						\
	EXPECT_EQ(0, (ev).tid);						\
	EXPECT_EQ(0, (ev).flags & CLOCKWATCH_EVF_TASK);			\
	EXPECT_TRUE(comm_empty((ev).comm));				\
} while (0)

/*
 * Steps from outside and inside a pid namespace, read from both: each
 * reader sees each stepping process as its own namespace does.
 */
TEST(pids_as_the_reader_sees_them)
{
	struct clockwatch_event outside[2 + NSTEPS];
	struct clockwatch_tasks t;
	struct timex tx = { .modes = ADJ_MAXERROR, .maxerror = 50000 };
	struct ns_seen *seen;
	bool daemon;
	int fd, ready[2], go[2], status, n, i;
	pid_t child;
	char b;

	CW_REQUIRE_DESTRUCTIVE();
	fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, fd);
	seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, seen);
	memset(seen, 0, sizeof(*seen));

	/* This process is the sync daemon, unless another one lives. */
	ASSERT_LE(0, adjtimex(&tx));
	ASSERT_EQ(0, cw_tasks(fd, &t));
	daemon = t.daemon_pid == getpid();
	if (!daemon)
		TH_LOG("another sync daemon lives (%d): disruptions not checked",
		       t.daemon_pid);
	EXPECT_TRUE(comm_is(t.daemon_comm, daemon ? "ns_test" : t.daemon_comm));
	while (read(fd, outside, sizeof(outside)) > 0)
		;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, unshare(CLONE_NEWPID)) TH_LOG("unshare: %s", strerror(errno));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(ready[0]);
		close(go[1]);
		ns_child(seen, ready[1], go[0]);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &b, 1));
	ASSERT_EQ(0, cw_step_setoffset(STEP_NS));
	ASSERT_EQ(0, cw_step_setoffset(-STEP_NS));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child: %s: %s", seen->what ? seen->what : "?", strerror(-seen->err));
	ASSERT_EQ(0, seen->err) TH_LOG("child: %s: %s", seen->what, strerror(-seen->err));

	/* The child is pid 1 of its namespace; the parent is not in it. */
	EXPECT_EQ(1, seen->pid);
	ASSERT_EQ(2, seen->nout);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(i ? -STEP_NS : STEP_NS, seen->out[i].step.delta_ns);
		EXPECT_HIDDEN(seen->out[i]);
	}
	EXPECT_EQ(0, seen->tasks_out.last_step_pid);
	EXPECT_TRUE(comm_empty(seen->tasks_out.last_step_comm));
	EXPECT_EQ(0, seen->tasks_out.daemon_pid);
	EXPECT_TRUE(comm_empty(seen->tasks_out.daemon_comm));
	EXPECT_EQ(seen->out[1].step.step_seq, seen->tasks_out.step_seq);
	EXPECT_EQ(t.daemon_count, seen->tasks_out.daemon_count);

	/* Its own steps: itself, its thread, the grandchild gone since. */
	ASSERT_EQ(NSTEPS, seen->nin);
	EXPECT_EQ(1, seen->in[0].pid);
	EXPECT_EQ(1, seen->in[0].tid);
	EXPECT_TRUE(seen->in[0].flags & CLOCKWATCH_EVF_TASK);
	EXPECT_TRUE(comm_is(seen->in[0].comm, "cw-ns-child"));
	/* The thread was joined before the read: its process lives on. */
	EXPECT_EQ(1, seen->in[1].pid);
	EXPECT_NE(1, seen->thread_tid);
	EXPECT_EQ(0, seen->in[1].tid);
	EXPECT_TRUE(seen->in[1].flags & CLOCKWATCH_EVF_TASK);
	EXPECT_TRUE(comm_is(seen->in[1].comm, "cw-ns-thread"));
	/* The second thread still ran at the read. */
	EXPECT_EQ(STEP_NS, seen->in[2].step.delta_ns);
	EXPECT_EQ(1, seen->in[2].pid);
	EXPECT_NE(1, seen->live_tid);
	EXPECT_NE(seen->thread_tid, seen->live_tid);
	EXPECT_EQ(seen->live_tid, seen->in[2].tid);
	EXPECT_TRUE(comm_is(seen->in[2].comm, "cw-ns-live"));
	/* The grandchild had exited: nothing of it. */
	EXPECT_EQ(-STEP_NS, seen->in[3].step.delta_ns);
	EXPECT_HIDDEN(seen->in[3]);
	for (i = 4; i < NSTEPS; i++) {
		EXPECT_EQ(1, seen->in[i].pid);
		EXPECT_EQ(1, seen->in[i].tid);
		EXPECT_EQ(i == 4 ? STEP_NS : -STEP_NS, seen->in[i].step.delta_ns);
	}
	/* The child has exited since, but answered while it lived. */
	EXPECT_EQ(1, seen->tasks_in.last_step_pid);
	EXPECT_TRUE(comm_is(seen->tasks_in.last_step_comm, "cw-ns-child"));
	EXPECT_EQ(seen->in[NSTEPS - 1].step.step_seq, seen->tasks_in.step_seq);
	EXPECT_EQ(0, seen->tasks_in.daemon_pid);
	/* Steps by processes that are not the daemon: one disruption each. */
	if (daemon) {
		EXPECT_EQ(seen->disruptions0 + NSTEPS, seen->disruptions1);
	}

	/* The initial namespace reads the same steps with init pids. */
	n = 0;
	while ((i = read(fd, &outside[n], sizeof(outside[0]))) > 0)
		if (outside[n].type == CLOCKWATCH_EV_STEP && ++n == 2 + NSTEPS)
			break;
	ASSERT_EQ(2 + NSTEPS, n);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(getpid(), outside[i].pid);
		EXPECT_EQ(getpid(), outside[i].tid);
		EXPECT_EQ(daemon ? CLOCKWATCH_STEPF_DAEMON : 0,
			  outside[i].step.flags & CLOCKWATCH_STEPF_DAEMON);
	}
	EXPECT_EQ(child, outside[2].pid);
	EXPECT_EQ(child, outside[2].tid);
	/* The initial namespace gets the ring's pids as they are. */
	EXPECT_EQ(child, outside[3].pid);
	EXPECT_NE(child, outside[3].tid);
	EXPECT_TRUE(comm_is(outside[3].comm, "cw-ns-thread"));
	EXPECT_EQ(child, outside[4].pid);
	EXPECT_NE(child, outside[4].tid);
	EXPECT_NE(outside[3].tid, outside[4].tid);
	EXPECT_NE(0, outside[5].pid);
	EXPECT_NE(child, outside[5].pid);
	EXPECT_TRUE(comm_is(outside[5].comm, "cw-ns-gone"));
	EXPECT_EQ(child, outside[6].pid);
	EXPECT_EQ(child, outside[7].pid);
	for (i = 0; i < NSTEPS; i++) {
		EXPECT_EQ(seen->in[i].seq, outside[2 + i].seq);
	}
	/* The child is gone now: nobody is the last step's caller. */
	ASSERT_EQ(0, cw_tasks(fd, &t));
	EXPECT_EQ(0, t.last_step_pid);
	EXPECT_TRUE(comm_empty(t.last_step_comm));
	if (daemon) {
		EXPECT_EQ(getpid(), t.daemon_pid);
	}

	munmap(seen, sizeof(*seen));
	close(fd);
}

/*
 * CLOCKWATCH_IOC_TASKS names a live step caller in the initial namespace
 * too, and a process of a pid namespace as it is there: a child of a new
 * namespace steps (and back) and waits; both ask.
 */
TEST(tasks_while_the_caller_lives)
{
	struct clockwatch_tasks t;
	int fd, ready[2], go[2], status;
	pid_t child;
	char b;

	CW_REQUIRE_DESTRUCTIVE();
	fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, unshare(CLONE_NEWPID));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int ok;

		prctl(PR_SET_NAME, "cw-ns-live");
		ok = !cw_step_setoffset(STEP_NS) && !cw_step_setoffset(-STEP_NS) &&
		     !cw_tasks(fd, &t) && t.last_step_pid == 1 &&
		     comm_is(t.last_step_comm, "cw-ns-live");
		if (write(ready[1], ok ? "y" : "n", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(2);
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(1, read(ready[0], &b, 1));
	EXPECT_EQ('y', b) TH_LOG("the child did not see itself as pid 1");
	ASSERT_EQ(0, cw_tasks(fd, &t));
	EXPECT_EQ(child, t.last_step_pid);
	EXPECT_TRUE(comm_is(t.last_step_comm, "cw-ns-live"));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(fd);
}

TEST_HARNESS_MAIN
