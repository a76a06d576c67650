// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: who may do what with /dev/clockwatch.
 *
 * The policy (Documentation/clockwatch.rst, "Privileges"):
 *   - anyone may open the device read-only, map the page and use
 *     CLOCKWATCH_IOC_INFO, _CPU_STATS and _STALL_LOG: they say no more
 *     than adjtimex(modes = 0) and /proc/stat do;
 *   - the event stream names processes, so read() and poll() of it take
 *     CAP_PERFMON or CAP_SYS_ADMIN, held by the process that opened the
 *     file (a file passed on keeps its opener's right);
 *   - CLOCKWATCH_IOC_STALL_RESET takes CAP_SYS_ADMIN, module parameters
 *     are written by root through sysfs;
 *   - the test injector is not the device's (ENOTTY there): its debugfs
 *     file is root's (0600), and its ioctls take CAP_SYS_ADMIN even on a
 *     file root opened and passed on;
 *   - CLOCKWATCH_IOC_DAEMON_REPORT takes CAP_SYS_TIME: a report changes
 *     the bound every reader computes;
 *   - no kernel address leaves the module.
 *
 * The tests run as root and drop to an unprivileged user (nobody, no
 * capabilities, or CAP_PERFMON alone) in a child.  The event tests make
 * an adjtimex() write and the address scan a 1 us step, which is why
 * they need CLOCKWATCH_DESTRUCTIVE=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/clockwatch.h>
/* The injector's header: a test header, not the uapi (never installed). */
#include <clockwatch/inject.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define DEV		"/dev/clockwatch"
#define MAX_EVENTS	256

#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif

#define REQUIRE_ROOT() do {						\
	if (getuid() != 0)						\
		SKIP(return, "drops privileges: needs root");		\
} while (0)

#define REQUIRE_DESTRUCTIVE() do {					\
	REQUIRE_ROOT();							\
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))				\
		SKIP(return, "writes NTP state: set CLOCKWATCH_DESTRUCTIVE=1"); \
} while (0)

/*
 * Run @fn in a child that dropped to nobody with @keep; its exit status
 * (0: all its checks held), or 255 when it could not drop.
 */
static int as_nobody(unsigned long long keep, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 254;
	if (!pid) {
		if (cw_drop_to_nobody(keep))
			_exit(255);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 253;
	return WEXITSTATUS(status);
}

/* One check of a child; prints what failed.  Evaluates to 0 or 1. */
#define CHILD_CHECK(cond) ({						\
	int __bad = !(cond);						\
	if (__bad)							\
		fprintf(stderr, "#   child (uid %d): %s:%d: %s\n",	\
			getuid(), __FILE__, __LINE__, #cond);		\
	__bad;								\
})

/* Make one event record: an adjtimex() write of maxerror. */
static int write_maxerror(void)
{
	struct timex tx = { .modes = ADJ_MAXERROR, .maxerror = 100000 };

	return adjtimex(&tx) < 0 ? -errno : 0;
}

/* read() @fd once without blocking: bytes, or -errno. */
static ssize_t read_events(int fd, struct clockwatch_event *evs, int max)
{
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	n = read(fd, evs, sizeof(*evs) * max);
	fcntl(fd, F_SETFL, fl);
	return n < 0 ? -errno : n;
}

static short poll_events(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) < 0 ? -1 : pfd.revents;
}

/* What anyone may do: open, map, INFO, CPU_STATS, STALL_LOG. */
static int open_to_all(void *arg)
{
	struct clockwatch_info info = { .size = sizeof(info) };
	struct clockwatch_cpu_stats *cs;
	struct clockwatch_stall st[4];
	struct clockwatch_stall_log lg = {
		.size = sizeof(lg), .max = 4,
		.stalls = (unsigned long)st,
	};
	const struct clockwatch_page *page;
	int bad = 0, fd;

	fd = open(DEV, O_RDONLY);
	if (CHILD_CHECK(fd >= 0))
		return 1;
	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	bad |= CHILD_CHECK(page != MAP_FAILED);
	if (page != MAP_FAILED)
		bad |= CHILD_CHECK(page->magic == CLOCKWATCH_MAGIC);
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_INFO, &info) == 0);
	bad |= CHILD_CHECK(info.event_size == CLOCKWATCH_EVENT_SIZE);

	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return 1;
	cs->size = sizeof(*cs);
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, cs) == 0);
	bad |= CHILD_CHECK(cs->period_ns > 0);
	free(cs);
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_STALL_LOG, &lg) == 0);

	/* The node is 0444: no open for writing, whoever asks. */
	bad |= CHILD_CHECK(open(DEV, O_RDWR) < 0 && errno == EACCES);
	bad |= CHILD_CHECK(open(DEV, O_WRONLY) < 0 && errno == EACCES);
	close(fd);
	return bad;
}

/* The injector as root sees it, for a child that dropped its rights. */
struct injector_seen {
	bool exists;	/* CLOCKWATCH_INJECT_PATH exists (inject=1) */
	int fd;		/* root's open file of it, or -1 */
};

/* What nobody without capabilities may not do. */
static int refused_to_nobody(void *arg)
{
	const struct injector_seen *is = arg;
	struct clockwatch_event evs[MAX_EVENTS];
	struct clockwatch_inject inj = {
		.size = sizeof(inj), .cpu = 0,
		.mode = CLOCKWATCH_INJECT_PREEMPT, .duration_ns = 1000,
	};
	int bad = 0, fd, pfd;

	fd = open(DEV, O_RDONLY);
	if (CHILD_CHECK(fd >= 0))
		return 1;
	/* The events are waiting (the parent wrote one): still refused. */
	bad |= CHILD_CHECK(read_events(fd, evs, MAX_EVENTS) == -EPERM);
	bad |= CHILD_CHECK(read(fd, evs, 1) < 0 && errno == EPERM);
	bad |= CHILD_CHECK(poll_events(fd) == POLLERR);
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_STALL_RESET) < 0 &&
			   errno == EPERM);
	/* The device knows no injector, whoever asks. */
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_INJECT, &inj) < 0 &&
			   errno == ENOTTY);
	/* Its file is root's: debugfs is not even searchable to nobody. */
	pfd = open(CLOCKWATCH_INJECT_PATH, O_RDONLY);
	bad |= CHILD_CHECK(pfd < 0 && (errno == EACCES ||
				       (!is->exists && errno == ENOENT)));
	if (pfd >= 0)
		close(pfd);
	/* Root's open file of it, passed on: the call still needs the right. */
	if (is->fd >= 0)
		bad |= CHILD_CHECK(ioctl(is->fd, CLOCKWATCH_IOC_INJECT, &inj) < 0 &&
				   errno == EPERM);
	pfd = open("/sys/module/clockwatch/parameters/refresh_us", O_WRONLY);
	bad |= CHILD_CHECK(pfd < 0 && errno == EACCES);
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return bad;
}

/* CAP_PERFMON alone: the events, but no configuration. */
static int perfmon_only(void *arg)
{
	struct clockwatch_event evs[MAX_EVENTS];
	int bad = 0, fd = *(int *)arg, own;
	ssize_t n;

	/* @fd was opened by root before a write: the record is waiting. */
	own = open(DEV, O_RDONLY);
	if (CHILD_CHECK(own >= 0))
		return 1;
	/* Nothing of ours waits; a stall record may: never EPERM though. */
	bad |= CHILD_CHECK(!(poll_events(own) & POLLERR));
	n = read_events(own, evs, MAX_EVENTS);
	bad |= CHILD_CHECK(n == -EAGAIN || n >= (ssize_t)sizeof(evs[0]));
	bad |= CHILD_CHECK(ioctl(own, CLOCKWATCH_IOC_STALL_RESET) < 0 &&
			   errno == EPERM);
	bad |= CHILD_CHECK(poll_events(fd) & POLLIN);
	n = read_events(fd, evs, MAX_EVENTS);
	bad |= CHILD_CHECK(n >= (ssize_t)sizeof(evs[0]));
	close(own);
	return bad;
}

/* A root-opened file read by nobody: the opener's right goes with it. */
static int reads_passed_file(void *arg)
{
	struct clockwatch_event evs[MAX_EVENTS];
	int bad = 0, fd = *(int *)arg, i, found = 0;
	ssize_t n;

	n = read_events(fd, evs, MAX_EVENTS);
	bad |= CHILD_CHECK(n >= (ssize_t)sizeof(evs[0]));
	for (i = 0; n > 0 && i < n / (ssize_t)sizeof(evs[0]); i++)
		if (evs[i].type == CLOCKWATCH_EV_NTP_ADJUST &&
		    evs[i].pid == getppid())
			found = 1;
	bad |= CHILD_CHECK(found);
	return bad;
}

/* nobody opens, passes the file to root over a socket, and exits. */
static int send_own_file(void *arg)
{
	int sock = *(int *)arg, fd;
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	fd = open(DEV, O_RDONLY);
	if (CHILD_CHECK(fd >= 0))
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return CHILD_CHECK(sendmsg(sock, &msg, 0) == 1);
}

static int recv_file(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * A report the module would take from a caller with CAP_SYS_TIME: from
 * the sync daemon @pid, paired with the page's anchor and step_seq now.
 */
static int report_fill(struct clockwatch_daemon_report *rep, pid_t pid)
{
	const struct clockwatch_page *p;
	unsigned int seq;
	int fd;

	fd = open(DEV, O_RDONLY);
	if (fd < 0)
		return -errno;
	p = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	memset(rep, 0, sizeof(*rep));
	rep->size = sizeof(*rep);
	rep->source = CLOCKWATCH_DREP_CHRONY;
	rep->flags = CLOCKWATCH_DREPF_SYNCED;
	rep->daemon_pid = pid;
	rep->correction_ns = 12345;
	rep->root_delay_ns = 1000000;
	rep->root_dispersion_ns = 500000;
	rep->ref_real_ns = cw_clock_ns(CLOCK_REALTIME);
	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		rep->anchor_raw_ns = p->maxerror_raw_ns;
		rep->step_seq = p->step_seq;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
	munmap((void *)p, CLOCKWATCH_PAGE_SIZE);
	return 0;
}

/* The report @arg, refused for want of CAP_SYS_TIME. */
static int report_refused(void *arg)
{
	struct clockwatch_daemon_report *rep = arg;
	int bad = 0, fd;

	fd = open(DEV, O_RDONLY);
	if (CHILD_CHECK(fd >= 0))
		return 1;
	bad |= CHILD_CHECK(ioctl(fd, CLOCKWATCH_IOC_DAEMON_REPORT, rep) < 0 &&
			   errno == EPERM);
	close(fd);
	return bad;
}

/* Run @fn in a child that stays root but drops CAP_SYS_TIME; as as_nobody(). */
static int as_root_without_sys_time(int (*fn)(void *), void *arg)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 254;
	if (!pid) {
		if (syscall(SYS_capget, &hdr, data))
			_exit(255);
		data[CAP_SYS_TIME / 32].effective &= ~(1U << (CAP_SYS_TIME % 32));
		data[CAP_SYS_TIME / 32].permitted &= ~(1U << (CAP_SYS_TIME % 32));
		if (syscall(SYS_capset, &hdr, data) || getuid() != 0)
			_exit(255);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 253;
	return WEXITSTATUS(status);
}

TEST(page_and_info_open_to_all)
{
	REQUIRE_ROOT();
	ASSERT_EQ(0, as_nobody(0, open_to_all, NULL));
}

TEST(events_and_config_refused_to_nobody)
{
	struct injector_seen is;

	REQUIRE_DESTRUCTIVE();
	is.exists = !access(CLOCKWATCH_INJECT_PATH, F_OK);
	is.fd = open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ(is.exists, is.fd >= 0);
	ASSERT_EQ(0, write_maxerror());
	ASSERT_EQ(0, as_nobody(0, refused_to_nobody, &is));
	if (is.fd >= 0)
		close(is.fd);
}

TEST(perfmon_reads_events_but_does_not_configure)
{
	int fd;

	REQUIRE_DESTRUCTIVE();
	fd = open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_maxerror());
	EXPECT_EQ(0, as_nobody(1ULL << CAP_PERFMON, perfmon_only, &fd));
	close(fd);
}

TEST(right_follows_the_opener)
{
	struct clockwatch_event evs[MAX_EVENTS];
	int fd, sv[2], theirs;

	REQUIRE_DESTRUCTIVE();

	/* Root's file, read by nobody: the records, with root's pid in them. */
	fd = open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_maxerror());
	EXPECT_EQ(0, as_nobody(0, reads_passed_file, &fd));
	close(fd);

	/* nobody's file, read by root: still refused. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_EQ(0, as_nobody(0, send_own_file, &sv[1]));
	theirs = recv_file(sv[0]);
	ASSERT_LE(0, theirs);
	ASSERT_EQ(0, write_maxerror());
	EXPECT_EQ(-EPERM, read_events(theirs, evs, MAX_EVENTS));
	EXPECT_EQ(POLLERR, poll_events(theirs));
	close(theirs);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A daemon report that root would get taken is refused with EPERM to
 * nobody, to nobody with CAP_PERFMON and to root without CAP_SYS_TIME.
 * This test's process writes maxerror and so is the sync daemon until it
 * exits, at the end of the test.
 */
TEST(daemon_report_needs_sys_time)
{
	struct clockwatch_daemon_report rep;
	int fd;

	REQUIRE_DESTRUCTIVE();
	ASSERT_EQ(0, write_maxerror());
	ASSERT_EQ(0, report_fill(&rep, getpid()));
	EXPECT_EQ(0, as_nobody(0, report_refused, &rep));
	EXPECT_EQ(0, as_nobody(1ULL << CAP_PERFMON, report_refused, &rep));
	EXPECT_EQ(0, as_root_without_sys_time(report_refused, &rep));

	/* The same report from root: taken, so EPERM was the only fault. */
	fd = open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, CLOCKWATCH_IOC_DAEMON_REPORT, &rep))
		TH_LOG("root's report: %s", strerror(errno));
	close(fd);
}

/* Kernel address ranges this test can learn as root. */
struct kranges {
	unsigned long long lo[64], hi[64];
	int n;
};

static void kranges_add(struct kranges *kr, unsigned long long lo,
			unsigned long long hi)
{
	if (kr->n < 64 && lo) {
		kr->lo[kr->n] = lo;
		kr->hi[kr->n] = hi;
		kr->n++;
	}
}

/*
 * The kernel's text and data, the module's sections, and the direct map
 * and vmalloc areas as far as /proc/kallsyms and sysfs tell them; each
 * widened by 16 MiB.
 */
static void kranges_learn(struct kranges *kr)
{
	const unsigned long long slack = 16ULL << 20;
	unsigned long long a, klo = ~0ULL, khi = 0, mlo = ~0ULL, mhi = 0;
	char line[512], type, name[256], mod[64];
	FILE *f = fopen("/proc/kallsyms", "r");
	int n;

	while (f && fgets(line, sizeof(line), f)) {
		mod[0] = 0;
		n = sscanf(line, "%llx %c %255s [%63[^]]]", &a, &type, name, mod);
		/* Per-CPU symbols show offsets, hidden ones zero. */
		if (n < 3 || a < 0xffff800000000000ULL)
			continue;
		if (n == 4 && !strcmp(mod, "clockwatch")) {
			mlo = a < mlo ? a : mlo;
			mhi = a > mhi ? a : mhi;
		} else if (n == 3) {
			klo = a < klo ? a : klo;
			khi = a > khi ? a : khi;
		}
	}
	if (f)
		fclose(f);
	if (!khi)
		return;
	kranges_add(kr, klo - slack, khi + slack);
	if (mhi)
		kranges_add(kr, mlo - slack, mhi + slack);
	/* x86-64: the direct map, vmalloc and vmemmap lie below the text. */
	kranges_add(kr, 0xff00000000000000ULL, klo - slack);
}

/* Does any aligned 64-bit word of @buf fall in a kernel range? */
static int find_kaddr(const struct kranges *kr, const void *buf, size_t len,
		      const char *what)
{
	const unsigned long long *w = buf;
	size_t i;
	int j;

	for (i = 0; i < len / 8; i++)
		for (j = 0; j < kr->n; j++)
			if (w[i] >= kr->lo[j] && w[i] <= kr->hi[j]) {
				fprintf(stderr, "#   %s: word %zu is %#llx\n",
					what, i, w[i]);
				return 1;
			}
	return 0;
}

TEST(no_kernel_address_leaves_the_module)
{
	struct clockwatch_info info = { .size = sizeof(info) };
	struct clockwatch_event *evs;
	struct clockwatch_cpu_stats *cs;
	struct clockwatch_stall st[64];
	struct clockwatch_stall_log lg = {
		.size = sizeof(lg), .max = 64,
		.stalls = (unsigned long)st,
	};
	struct clockwatch_inject inj = {
		.size = sizeof(inj), .cpu = 0,
		.mode = CLOCKWATCH_INJECT_PREEMPT, .duration_ns = 20000000,
	};
	struct kranges kr = {};
	const void *page;
	int fd, injfd, cpu, ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t n;

	REQUIRE_DESTRUCTIVE();
	kranges_learn(&kr);
	ASSERT_LE(3, kr.n) TH_LOG("no kernel or module symbols in /proc/kallsyms");

	/*
	 * The scan cannot tell a kernel address from a signed field holding
	 * a negative number in the same range: a step back by 2 s is a word
	 * in the kernel's text range, one by hours a word in the direct
	 * map's.  So the last step, which the page keeps, is this test's
	 * own, +1 us; the other signed fields hold small values here.
	 */
	ASSERT_EQ(0, cw_step_setoffset(1000));	/* +1 us */
	fd = open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	/* Events of each kind a test can make: NTP write, stall. */
	ASSERT_EQ(0, write_maxerror());
	injfd = open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC);
	if (injfd < 0 || ioctl(injfd, CLOCKWATCH_IOC_INJECT, &inj))
		TH_LOG("no injector (%s): no stall records", strerror(errno));
	if (injfd >= 0)
		close(injfd);

	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, page);
	EXPECT_EQ(0, find_kaddr(&kr, page, CLOCKWATCH_PAGE_SIZE, "page"));

	ASSERT_EQ(0, ioctl(fd, CLOCKWATCH_IOC_INFO, &info));
	EXPECT_EQ(0, find_kaddr(&kr, &info, sizeof(info), "INFO"));

	cs = calloc(1, sizeof(*cs));
	ASSERT_NE(NULL, cs);
	for (cpu = 0; cpu < ncpu; cpu++) {
		memset(cs, 0, sizeof(*cs));
		cs->size = sizeof(*cs);
		cs->cpu = cpu;
		ASSERT_EQ(0, ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, cs));
		EXPECT_EQ(0, find_kaddr(&kr, cs, sizeof(*cs), "CPU_STATS"));
	}
	free(cs);

	ASSERT_EQ(0, ioctl(fd, CLOCKWATCH_IOC_STALL_LOG, &lg));
	EXPECT_EQ(0, find_kaddr(&kr, st, lg.count * sizeof(st[0]), "STALL_LOG"));

	evs = calloc(MAX_EVENTS, sizeof(*evs));
	ASSERT_NE(NULL, evs);
	n = read_events(fd, evs, MAX_EVENTS);
	ASSERT_LE((ssize_t)sizeof(evs[0]), n);
	EXPECT_EQ(0, find_kaddr(&kr, evs, n, "events"));
	free(evs);
	close(fd);
}

TEST_HARNESS_MAIN
