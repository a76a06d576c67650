// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch selftests: the page of /dev/clockwatch against truths the
 * test knows from outside the module: clock_gettime() read around the
 * page, a clock step the test makes, adjtimex() values the test writes
 * and reads, and the mmap() rules of a read-only page.
 *
 * Tests that change the clocks need root and CLOCKWATCH_DESTRUCTIVE=1
 * (run_vm.sh sets it; the test VM is thrown away afterwards), and put the
 * clocks back in the teardown, also when they fail.  Without the device
 * every test is skipped.
 *
 *   clockwatch_test            CLOCKWATCH_CLI=path/to/clockwatch for the
 *                              CLI test (default: the userspace build)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_USEC		1000LL
#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL

#define CLOCK_TOLERANCE_NS	(10 * NSEC_PER_MSEC)
#define READ_MAX_TRIES		1000000
#define REFRESH_US_DEFAULT	1000	/* the module's default refresh_us */
#define REFRESH_US_PARAM	"/sys/module/clockwatch/parameters/refresh_us"

/* The module's refresh period, us; its default when it cannot be read. */
static long refresh_us(void)
{
	FILE *f = fopen(REFRESH_US_PARAM, "r");
	long us = REFRESH_US_DEFAULT;

	if (f) {
		if (fscanf(f, "%ld", &us) != 1)
			us = REFRESH_US_DEFAULT;
		fclose(f);
	}
	return us;
}

static int set_refresh_us(long us)
{
	FILE *f = fopen(REFRESH_US_PARAM, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", us) < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

FIXTURE(cw) {
	int fd;
	const struct clockwatch_page *page;

	/* What the teardown puts back after a test changed the clocks. */
	struct timex saved;		/* adjtimex() state before the test */
	unsigned int restore_modes;	/* ADJ_* of saved to write back */
	long long unstep_ns;		/* step to undo, ns */
	long saved_refresh_us;		/* refresh_us to write back; 0: none */
};

FIXTURE_SETUP(cw)
{
	void *map;

	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s not found: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", CLOCKWATCH_DEVICE, strerror(errno));

	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	self->page = map;
}

FIXTURE_TEARDOWN(cw)
{
	if (self->unstep_ns) {
		int err = cw_step_setoffset(-self->unstep_ns);

		if (err)
			TH_LOG("could not undo the %lld ns step: %s",
			       self->unstep_ns, strerror(-err));
	}
	if (self->restore_modes) {
		struct timex tx = self->saved;

		tx.modes = self->restore_modes;
		if (adjtimex(&tx) < 0)
			TH_LOG("could not restore adjtimex modes %#x: %s",
			       self->restore_modes, strerror(errno));
	}
	if (self->saved_refresh_us) {
		long long pending_us = refresh_us();
		struct timespec ts;

		if (set_refresh_us(self->saved_refresh_us))
			TH_LOG("could not restore refresh_us=%ld", self->saved_refresh_us);
		/*
		 * The old period still runs until its next expiry; the tests
		 * that follow expect the restored one.
		 */
		pending_us += 20000;
		ts.tv_sec = pending_us / 1000000;
		ts.tv_nsec = pending_us % 1000000 * NSEC_PER_USEC;
		nanosleep(&ts, NULL);
	}
	if (self->page)
		munmap((void *)self->page, CLOCKWATCH_PAGE_SIZE);
	if (self->fd > 0)
		close(self->fd);
}

/*
 * The 6.1 harness runs the test body after a SKIP in the setup: leave
 * at once then (the skip is already recorded).
 */
#define REQUIRE_PAGE() do {						\
	if (!self->page)						\
		return;							\
} while (0)

/* Tests that change the clocks of the system they run on. */
#define REQUIRE_DESTRUCTIVE() do {					\
	REQUIRE_PAGE();							\
	if (geteuid() != 0)						\
		SKIP(return, "needs root (CAP_SYS_TIME)");		\
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))				\
		SKIP(return, "changes the clocks: set CLOCKWATCH_DESTRUCTIVE=1 (run_vm.sh does)"); \
} while (0)

/* The reader loop of the ABI header: a consistent copy, or -EAGAIN. */
static int read_page(const struct clockwatch_page *page, struct clockwatch_page *copy)
{
	__u32 seq;
	int tries;

	for (tries = 0; tries < READ_MAX_TRIES; tries++) {
		seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		memcpy(copy, page, sizeof(*copy));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&page->seq, __ATOMIC_RELAXED) == seq)
			return 0;
	}
	return -EAGAIN;
}

/*
 * A copy whose clocks were read at or after mono_ns (CLOCK_MONOTONIC),
 * waiting for the module's next update if needed; -ETIMEDOUT after
 * timeout_ns.
 */
static int read_page_after(const struct clockwatch_page *page,
			   struct clockwatch_page *copy, long long mono_ns,
			   long long timeout_ns)
{
	long long until = cw_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	struct timespec pause = { .tv_nsec = 50 * NSEC_PER_USEC };
	int err;

	for (;;) {
		err = read_page(page, copy);
		if (err)
			return err;
		if (copy->clocks.monotonic_ns >= mono_ns)
			return 0;
		if (cw_clock_ns(CLOCK_MONOTONIC) > until)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

static long long refresh_ns(void)
{
	return refresh_us() * NSEC_PER_USEC;
}

/*
 * other - MONOTONIC now, from clock_gettime(): the other clock read
 * between two MONOTONIC reads, against their midpoint.
 */
static long long offset_to_monotonic(clockid_t other)
{
	long long m0, x, m1;

	m0 = cw_clock_ns(CLOCK_MONOTONIC);
	x = cw_clock_ns(other);
	m1 = cw_clock_ns(CLOCK_MONOTONIC);
	return x - (m0 + (m1 - m0) / 2);
}

/* Make the module capture the NTP state now; returns adjtimex()'s value. */
static int ntp_read(struct timex *tx)
{
	memset(tx, 0, sizeof(*tx));
	return adjtimex(tx);
}

/*
 * The device is a stream: its records have no offset to seek to, so
 * lseek() and pread() fail with ESPIPE (noop_llseek let lseek() "work").
 */
TEST_F(cw, device_is_a_stream)
{
	char buf[CLOCKWATCH_EVENT_SIZE];

	REQUIRE_PAGE();
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(self->fd, CLOCKWATCH_EVENT_SIZE, SEEK_CUR));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
}

/*
 * CLOCKWATCH_IOC_TASKS checks its argument: the size, zero in every
 * reserved field, a readable and writable buffer; and says nothing else
 * has changed on the page it answers for.
 */
TEST_F(cw, tasks_ioctl_checks_its_argument)
{
	struct clockwatch_tasks t;
	struct clockwatch_page copy;
	void *ro;
	size_t i;

	REQUIRE_PAGE();
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, &t)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(t), t.size);
	ASSERT_EQ(0, read_page(self->page, &copy));
	/* Neither moves without a step or a new daemon, not in this test. */
	EXPECT_EQ(copy.step_seq, t.step_seq);
	EXPECT_EQ(copy.daemon_count, t.daemon_count);
	EXPECT_EQ(0, t.__reserved0);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, t.__reserved[i]);
	}
	if (!t.daemon_pid) {
		EXPECT_EQ(0, t.daemon_comm[0]);
	}
	if (!t.last_step_pid) {
		EXPECT_EQ(0, t.last_step_comm[0]);
	}

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t) - 8;
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, &t));
	EXPECT_EQ(EINVAL, errno);
	t.size = 0;
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, &t));
	EXPECT_EQ(EINVAL, errno);
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.__reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, &t));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < 2; i++) {
		memset(&t, 0, sizeof(t));
		t.size = sizeof(t);
		t.__reserved[i] = 1;
		EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, &t));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Readable but not writable: the answer cannot be given. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0, 4096);
	((struct clockwatch_tasks *)ro)->size = sizeof(t);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_TASKS, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

/* The constant header: magic, size, version, and zero in reserved fields. */
TEST_F(cw, header)
{
	struct clockwatch_page copy;

	REQUIRE_PAGE();
	ASSERT_EQ(0, read_page(self->page, &copy));

	EXPECT_EQ(CLOCKWATCH_MAGIC, copy.magic);
	EXPECT_EQ(CLOCKWATCH_ABI_VERSION, copy.version);
	EXPECT_LE(sizeof(struct clockwatch_page), copy.size);
	EXPECT_GE(CLOCKWATCH_PAGE_SIZE, copy.size);
	EXPECT_TRUE(copy.features & CLOCKWATCH_FEAT_CLOCKS);
	EXPECT_EQ(0, copy.__reserved0);
	EXPECT_EQ(0, copy.__reserved1);
	EXPECT_EQ(0, copy.__pad1);
	EXPECT_EQ(0, copy.__pad2);
	EXPECT_EQ(0, copy.__pad3);
	EXPECT_EQ(0, copy.ntp.__reserved);
	TH_LOG("size %u, features %#llx", copy.size, (unsigned long long)copy.features);
}

/*
 * The page's clocks agree with clock_gettime(): its MONOTONIC is never
 * ahead of now nor older than the refresh period (plus 10 ms of slack),
 * and the offsets of the other clocks to MONOTONIC match within 10 ms.
 */
TEST_F(cw, clocks_match_clock_gettime)
{
	long long refresh = refresh_ns();
	long long t0, t1, page_off, sys_off;
	struct clockwatch_page copy;
	struct timex tx;
	static const struct {
		clockid_t id;
		const char *name;
		size_t offset;
	} clocks[] = {
		{ CLOCK_REALTIME, "REALTIME", offsetof(struct clockwatch_clocks, realtime_ns) },
		{ CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW", offsetof(struct clockwatch_clocks, monotonic_raw_ns) },
		{ CLOCK_BOOTTIME, "BOOTTIME", offsetof(struct clockwatch_clocks, boottime_ns) },
		{ CLOCK_TAI, "TAI", offsetof(struct clockwatch_clocks, tai_ns) },
	};
	size_t i;

	REQUIRE_PAGE();
	ASSERT_LE(0, ntp_read(&tx));

	t0 = cw_clock_ns(CLOCK_MONOTONIC);
	ASSERT_EQ(0, read_page(self->page, &copy));
	t1 = cw_clock_ns(CLOCK_MONOTONIC);

	/* Never ahead of now: the page was written before we read it. */
	EXPECT_LE(copy.clocks.monotonic_ns, t1);
	/* Not older than one refresh period, with slack for a slow guest. */
	EXPECT_GE(copy.clocks.monotonic_ns, t0 - refresh - CLOCK_TOLERANCE_NS)
		TH_LOG("page is %lld ns old, refresh period %lld ns",
		       t0 - copy.clocks.monotonic_ns, refresh);

	for (i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		long long page_clock = *(const __s64 *)((const char *)&copy.clocks +
							clocks[i].offset);

		page_off = page_clock - copy.clocks.monotonic_ns;
		sys_off = offset_to_monotonic(clocks[i].id);
		EXPECT_GE(CLOCK_TOLERANCE_NS, llabs(page_off - sys_off))
			TH_LOG("%s - MONOTONIC: page %lld ns, clock_gettime %lld ns",
			       clocks[i].name, page_off, sys_off);
	}

	/* TAI - REALTIME is the TAI offset exactly: both from one instant. */
	if (copy.features & CLOCKWATCH_FEAT_NTP) {
		EXPECT_EQ(tx.tai, copy.ntp.tai_s);
		EXPECT_EQ((long long)copy.ntp.tai_s * NSEC_PER_SEC,
			  copy.clocks.tai_ns - copy.clocks.realtime_ns);
	}
	/* BOOTTIME is MONOTONIC plus time suspended: never less. */
	EXPECT_LE(copy.clocks.monotonic_ns, copy.clocks.boottime_ns);
}

/* Time never goes backwards on the page, across many updates. */
TEST_F(cw, clocks_never_go_backwards)
{
	struct clockwatch_page prev, copy;
	long long until = cw_clock_ns(CLOCK_MONOTONIC) + 200 * NSEC_PER_MSEC;
	long updates = 0;

	REQUIRE_PAGE();
	ASSERT_EQ(0, read_page(self->page, &prev));
	while (cw_clock_ns(CLOCK_MONOTONIC) < until) {
		ASSERT_EQ(0, read_page(self->page, &copy));
		ASSERT_LE(prev.update_count, copy.update_count);
		ASSERT_LE(prev.clocks.monotonic_ns, copy.clocks.monotonic_ns);
		ASSERT_LE(prev.clocks.monotonic_raw_ns, copy.clocks.monotonic_raw_ns);
		ASSERT_LE(prev.clocks.boottime_ns, copy.clocks.boottime_ns);
		if (copy.update_count != prev.update_count)
			updates++;
		prev = copy;
	}
	EXPECT_LT(0, updates);
}

/*
 * A completed read has an even seq, and the page keeps being updated:
 * over 50 ms, update_count grows with the refresh period and seq moves
 * by exactly two per update.
 */
TEST_F(cw, seq_even_and_updates_advance)
{
	struct timespec wait = { .tv_nsec = 50 * NSEC_PER_MSEC };
	long long expected = wait.tv_nsec / refresh_ns();
	struct clockwatch_page a, b;
	long long updates;

	REQUIRE_PAGE();
	ASSERT_EQ(0, read_page(self->page, &a));
	EXPECT_EQ(0, a.seq & 1);
	nanosleep(&wait, NULL);
	ASSERT_EQ(0, read_page(self->page, &b));
	EXPECT_EQ(0, b.seq & 1);

	updates = b.update_count - a.update_count;
	TH_LOG("%lld updates in 50 ms, %lld expected from the refresh period",
	       updates, expected);
	EXPECT_LT(0, updates);
	/* the periodic refresh and nothing else, give or take a slow guest */
	EXPECT_LE(expected / 5, updates);
	EXPECT_GE(expected * 2 + 5, updates);
	EXPECT_EQ((__u32)(2 * updates), b.seq - a.seq);
}

/*
 * Nobody may write the page: no writable mapping, shared or private,
 * through a read-only or a read-write file, and mprotect() cannot make
 * one later.
 */
TEST_F(cw, mmap_write_refused)
{
	void *map;
	int fd;

	REQUIRE_PAGE();

	/* PROT_WRITE, MAP_SHARED on an O_RDONLY file: the VFS refuses it. */
	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->fd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EACCES, errno);

	/* Private and writable: refused too (it would be copy-on-write). */
	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   self->fd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_TRUE(errno == EROFS || errno == EACCES) TH_LOG("errno %d", errno);

	/* The read-only mapping cannot be made writable. */
	EXPECT_EQ(-1, mprotect((void *)self->page, CLOCKWATCH_PAGE_SIZE,
			       PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);

	/* With a file open for writing, the module itself must refuse. */
	fd = open(CLOCKWATCH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		TH_LOG("O_RDWR open refused (%s): nothing more to check", strerror(errno));
		return;
	}
	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_TRUE(errno == EROFS || errno == EACCES) TH_LOG("errno %d", errno);

	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("read-only mapping of an O_RDWR file: %s",
					  strerror(errno));
	EXPECT_EQ(-1, mprotect(map, CLOCKWATCH_PAGE_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(map, CLOCKWATCH_PAGE_SIZE);
	close(fd);
}

/* One page from offset 0 and nothing else. */
TEST_F(cw, mmap_geometry)
{
	void *map;

	REQUIRE_PAGE();

	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd,
		   CLOCKWATCH_PAGE_SIZE);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);

	map = mmap(NULL, 2 * CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);

	/* A second mapping of the page shows the same page. */
	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(CLOCKWATCH_MAGIC, ((const struct clockwatch_page *)map)->magic);
	munmap(map, CLOCKWATCH_PAGE_SIZE);
}

/*
 * An adjtimex() read is captured: the NTP block equals what the same
 * call returned, field by field, and was captured during the call.
 */
TEST_F(cw, ntp_matches_adjtimex_read)
{
	struct clockwatch_page before, after;
	long long t0, t1, offset_ns;
	struct timex tx;
	int state;

	REQUIRE_PAGE();
	ASSERT_EQ(0, read_page(self->page, &before));
	if (!(before.features & CLOCKWATCH_FEAT_NTP))
		SKIP(return, "module has no adjtimex hook (CLOCKWATCH_FEAT_NTP clear)");

	t0 = cw_clock_ns(CLOCK_MONOTONIC);
	state = ntp_read(&tx);
	t1 = cw_clock_ns(CLOCK_MONOTONIC);
	ASSERT_LE(0, state);
	ASSERT_EQ(0, read_page(self->page, &after));

	offset_ns = (tx.status & STA_NANO) ? tx.offset : tx.offset * NSEC_PER_USEC;
	EXPECT_EQ(state, after.ntp.time_state);
	EXPECT_EQ(tx.status, after.ntp.status);
	EXPECT_EQ(tx.freq, after.ntp.freq_scaled_ppm);
	EXPECT_EQ(tx.maxerror, after.ntp.maxerror_us);
	EXPECT_EQ(tx.esterror, after.ntp.esterror_us);
	EXPECT_EQ(offset_ns, after.ntp.offset_ns);
	EXPECT_EQ(tx.constant, after.ntp.constant);
	EXPECT_EQ(tx.tick, after.ntp.tick_us);
	EXPECT_EQ(tx.tai, after.ntp.tai_s);

	EXPECT_LE(t0, after.ntp_mono_ns);
	EXPECT_GE(t1, after.ntp_mono_ns);
	EXPECT_EQ(before.ntp_calls + 1, after.ntp_calls);
	/* a read is not a write */
	EXPECT_EQ(before.ntp_writes, after.ntp_writes);
}

/* clock_settime() one second ahead moves REALTIME - MONOTONIC by 1 s. */
TEST_F(cw, step_moves_realtime)
{
	struct clockwatch_page before, after;
	struct timespec now;
	long long t_set, moved, seen_ns;

	REQUIRE_DESTRUCTIVE();
	ASSERT_EQ(0, read_page(self->page, &before));

	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &now));
	now.tv_sec += 1;
	ASSERT_EQ(0, clock_settime(CLOCK_REALTIME, &now)) TH_LOG("%s", strerror(errno));
	self->unstep_ns = NSEC_PER_SEC;
	t_set = cw_clock_ns(CLOCK_MONOTONIC);

	ASSERT_EQ(0, read_page_after(self->page, &after, t_set,
				     refresh_ns() + 100 * NSEC_PER_MSEC));
	seen_ns = cw_clock_ns(CLOCK_MONOTONIC) - t_set;
	moved = (after.clocks.realtime_ns - after.clocks.monotonic_ns) -
		(before.clocks.realtime_ns - before.clocks.monotonic_ns);
	TH_LOG("REALTIME - MONOTONIC moved %lld ns; on the page %lld us after the step",
	       moved, seen_ns / NSEC_PER_USEC);
	EXPECT_GE(CLOCK_TOLERANCE_NS, llabs(moved - NSEC_PER_SEC));
	/* MONOTONIC does not step */
	EXPECT_GE(CLOCK_TOLERANCE_NS + refresh_ns() + 100 * NSEC_PER_MSEC,
		  after.clocks.monotonic_ns - before.clocks.monotonic_ns);
}

/*
 * A step reaches the page in the code path of the step, not at the next
 * periodic refresh: with the refresh period at 1 s, the page still shows
 * the step within 50 ms.
 */
TEST_F(cw, step_shows_at_once)
{
	const long long slow_us = 1000000;
	struct clockwatch_page before, after;
	struct timespec settle = { .tv_nsec = 20 * NSEC_PER_MSEC };
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO, .time.tv_sec = 1 };
	long long t_set, moved;

	REQUIRE_DESTRUCTIVE();
	if (access(REFRESH_US_PARAM, W_OK))
		SKIP(return, "no writable %s", REFRESH_US_PARAM);

	self->saved_refresh_us = refresh_us();
	ASSERT_EQ(0, set_refresh_us(slow_us));
	/* The new period applies from the next expiry: let that pass. */
	nanosleep(&settle, NULL);
	ASSERT_EQ(0, read_page(self->page, &before));

	t_set = cw_clock_ns(CLOCK_MONOTONIC);
	ASSERT_LE(0, adjtimex(&tx)) TH_LOG("ADJ_SETOFFSET: %s", strerror(errno));
	self->unstep_ns = NSEC_PER_SEC;

	/* Wait for the step to show, for 50 ms at most. */
	do {
		ASSERT_EQ(0, read_page(self->page, &after));
		moved = (after.clocks.realtime_ns - after.clocks.monotonic_ns) -
			(before.clocks.realtime_ns - before.clocks.monotonic_ns);
	} while (!moved && cw_clock_ns(CLOCK_MONOTONIC) - t_set < 50 * NSEC_PER_MSEC);

	TH_LOG("moved %lld ns, on the page %lld us after the call",
	       moved, (after.clocks.monotonic_ns - t_set) / NSEC_PER_USEC);
	/* ADJ_SETOFFSET steps by exactly what it is given */
	EXPECT_EQ(NSEC_PER_SEC, moved);
	EXPECT_LE(t_set, after.clocks.monotonic_ns);
}

/*
 * An ADJ_MAXERROR write shows on the page as written (the kernel then
 * adds 500 us a second), counted as one write.
 */
TEST_F(cw, maxerror_follows_adjtimex)
{
	const long maxerror = 123456;	/* us */
	struct clockwatch_page before, after;
	struct timex tx = { .modes = ADJ_MAXERROR, .maxerror = maxerror };

	REQUIRE_DESTRUCTIVE();
	ASSERT_LE(0, ntp_read(&self->saved));
	ASSERT_EQ(0, read_page(self->page, &before));
	if (!(before.features & CLOCKWATCH_FEAT_NTP))
		SKIP(return, "module has no adjtimex hook (CLOCKWATCH_FEAT_NTP clear)");

	self->restore_modes |= ADJ_MAXERROR;
	ASSERT_LE(0, adjtimex(&tx)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, read_page(self->page, &after));

	EXPECT_LE(maxerror, after.ntp.maxerror_us);
	EXPECT_GE(maxerror + 1000, after.ntp.maxerror_us);
	EXPECT_EQ(before.ntp_writes + 1, after.ntp_writes);
	EXPECT_EQ(before.ntp_calls + 1, after.ntp_calls);
}

/* REALTIME's rate against MONOTONIC_RAW between two copies, ppm. */
static double rate_ppm(const struct clockwatch_page *a, const struct clockwatch_page *b)
{
	double real = b->clocks.realtime_ns - a->clocks.realtime_ns;
	double raw = b->clocks.monotonic_raw_ns - a->clocks.monotonic_raw_ns;

	return (real / raw - 1.0) * 1e6;
}

/*
 * ADJ_FREQUENCY +100 ppm shows as freq 100 << 16, and the page's own
 * clocks then measure REALTIME running 100 ppm faster against
 * MONOTONIC_RAW than before.
 */
TEST_F(cw, freq_follows_adjtimex)
{
	struct timespec window = { .tv_nsec = 500 * NSEC_PER_MSEC };
	struct clockwatch_page base0, base1, after, later;
	struct timex tx = { .modes = ADJ_FREQUENCY, .freq = 100 << 16 };
	double rate_before, rate_after, expected;

	REQUIRE_DESTRUCTIVE();
	ASSERT_LE(0, ntp_read(&self->saved));
	ASSERT_EQ(0, read_page(self->page, &base0));
	if (!(base0.features & CLOCKWATCH_FEAT_NTP))
		SKIP(return, "module has no adjtimex hook (CLOCKWATCH_FEAT_NTP clear)");

	/* REALTIME against MONOTONIC_RAW at the frequency we found */
	nanosleep(&window, NULL);
	ASSERT_EQ(0, read_page(self->page, &base1));

	self->restore_modes |= ADJ_FREQUENCY;
	ASSERT_LE(0, adjtimex(&tx)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, read_page_after(self->page, &after, cw_clock_ns(CLOCK_MONOTONIC),
				     refresh_ns() + 100 * NSEC_PER_MSEC));
	EXPECT_EQ(100LL << 16, after.ntp.freq_scaled_ppm);

	nanosleep(&window, NULL);
	ASSERT_EQ(0, read_page(self->page, &later));

	rate_before = rate_ppm(&base0, &base1);
	rate_after = rate_ppm(&after, &later);
	TH_LOG("REALTIME against MONOTONIC_RAW: %+.3f ppm before, %+.3f ppm after",
	       rate_before, rate_after);
	/* The change we made: from the frequency we found to +100 ppm. */
	expected = 100.0 - self->saved.freq / 65536.0;
	EXPECT_GT(0.5, fabs(rate_after - rate_before - expected))
		TH_LOG("REALTIME sped up by %+.3f ppm, %+.3f ppm expected",
		       rate_after - rate_before, expected);
}

/* The value of "key": in a one-line JSON object, as an integer. */
static int json_int(const char *json, const char *key, long long *v)
{
	char pattern[64];
	const char *p;
	char *end;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(json, pattern);
	if (!p)
		return -ENOENT;
	errno = 0;
	*v = strtoll(p + strlen(pattern), &end, 10);
	if (errno || (*end != ',' && *end != '}'))
		return -EINVAL;
	return 0;
}

/* The value of "key": in a one-line JSON object, as a number. */
static int json_number(const char *json, const char *key, double *v)
{
	char pattern[64];
	const char *p;
	char *end;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(json, pattern);
	if (!p)
		return -ENOENT;
	errno = 0;
	*v = strtod(p + strlen(pattern), &end);
	if (errno || end == p + strlen(pattern))
		return -EINVAL;
	return 0;
}

static const char *cli_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("CLOCKWATCH_CLI");
	char *slash;
	ssize_t n;

	if (env)
		return env;
	/* build/clockwatch_test -> ../../userspace/build/clockwatch */
	n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	if (n < 0)
		return "clockwatch";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash : path, "/../../../userspace/build/clockwatch");
	return path;
}

/* `clockwatch status --json` reports what the page holds. */
TEST_F(cw, cli_status_json_agrees)
{
	struct clockwatch_page before, after;
	const char *cli = cli_path();
	char cmd[PATH_MAX + 32];
	char json[8192];
	long long v;
	size_t n;
	FILE *p;

	REQUIRE_PAGE();
	if (access(cli, X_OK))
		SKIP(return, "no clockwatch tool at %.900s (make -C userspace)", cli);

	ASSERT_EQ(0, read_page(self->page, &before));
	snprintf(cmd, sizeof(cmd), "%s status --json", cli);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	n = fread(json, 1, sizeof(json) - 1, p);
	json[n] = '\0';
	ASSERT_EQ(0, pclose(p)) TH_LOG("%s", json);
	ASSERT_EQ(0, read_page(self->page, &after));

#define EXPECT_KEY_BETWEEN(key, lo, hi) do {				\
	ASSERT_EQ(0, json_int(json, key, &v)) TH_LOG("%s in %s", key, json); \
	EXPECT_LE((long long)(lo), v) TH_LOG("%s", key);		\
	EXPECT_GE((long long)(hi), v) TH_LOG("%s", key);		\
} while (0)
	EXPECT_KEY_BETWEEN("update_count", before.update_count, after.update_count);
	EXPECT_KEY_BETWEEN("realtime_ns", before.clocks.realtime_ns, after.clocks.realtime_ns);
	EXPECT_KEY_BETWEEN("monotonic_ns", before.clocks.monotonic_ns, after.clocks.monotonic_ns);
	EXPECT_KEY_BETWEEN("monotonic_raw_ns", before.clocks.monotonic_raw_ns,
			   after.clocks.monotonic_raw_ns);
	EXPECT_KEY_BETWEEN("boottime_ns", before.clocks.boottime_ns, after.clocks.boottime_ns);
	EXPECT_KEY_BETWEEN("tai_ns", before.clocks.tai_ns, after.clocks.tai_ns);
	/* No step happened: the offset is the same number everywhere. */
	EXPECT_KEY_BETWEEN("realtime_minus_monotonic_ns",
			   after.clocks.realtime_ns - after.clocks.monotonic_ns,
			   after.clocks.realtime_ns - after.clocks.monotonic_ns);
	EXPECT_KEY_BETWEEN("version", after.version, after.version);
	EXPECT_KEY_BETWEEN("size", after.size, after.size);
	EXPECT_KEY_BETWEEN("features_mask", after.features, after.features);

	if (!(after.features & CLOCKWATCH_FEAT_NTP))
		return;
	/* Every feature bit the module sets has a name, listed in bit order. */
	EXPECT_NE(NULL, strstr(json, "\"features\":[\"clocks\",\"ntp\"")) TH_LOG("%s", json);
	EXPECT_EQ(NULL, strstr(json, "\"0x")) TH_LOG("unnamed feature bit: %s", json);
	/* The tool's own adjtimex() read is the one it shows. */
	EXPECT_EQ(before.ntp_calls + 1, after.ntp_calls);
	EXPECT_KEY_BETWEEN("calls", after.ntp_calls, after.ntp_calls);
	EXPECT_KEY_BETWEEN("maxerror_us", before.ntp.maxerror_us, after.ntp.maxerror_us);
	EXPECT_KEY_BETWEEN("status", after.ntp.status, after.ntp.status);
	EXPECT_KEY_BETWEEN("freq_scaled_ppm", after.ntp.freq_scaled_ppm, after.ntp.freq_scaled_ppm);
	EXPECT_KEY_BETWEEN("tai_s", after.ntp.tai_s, after.ntp.tai_s);
	EXPECT_KEY_BETWEEN("time_state", after.ntp.time_state, after.ntp.time_state);
	EXPECT_KEY_BETWEEN("mono_ns", after.ntp_mono_ns, after.ntp_mono_ns);
#undef EXPECT_KEY_BETWEEN
}

/*
 * The live view of `clockwatch status` measures a frequency the test
 * set: +100 ppm with ADJ_FREQUENCY shows in every line's rate_ppb.
 */
TEST_F(cw, cli_live_view_measures_freq)
{
	struct timespec window = { .tv_nsec = 300 * NSEC_PER_MSEC };
	struct timex tx = { .modes = ADJ_FREQUENCY, .freq = 100 << 16 };
	struct clockwatch_page base0, base1;
	const char *cli = cli_path();
	double base_ppb, want_ppb, rate = NAN;
	char cmd[PATH_MAX + 64];
	char line[1024];
	int lines = 0;
	FILE *p;

	REQUIRE_DESTRUCTIVE();
	if (access(cli, X_OK))
		SKIP(return, "no clockwatch tool at %.900s (make -C userspace)", cli);
	ASSERT_LE(0, ntp_read(&self->saved));

	ASSERT_EQ(0, read_page(self->page, &base0));
	nanosleep(&window, NULL);
	ASSERT_EQ(0, read_page(self->page, &base1));
	base_ppb = rate_ppm(&base0, &base1) * 1000.0;

	self->restore_modes |= ADJ_FREQUENCY;
	ASSERT_LE(0, adjtimex(&tx)) TH_LOG("%s", strerror(errno));
	want_ppb = base_ppb + (100.0 - self->saved.freq / 65536.0) * 1000.0;

	snprintf(cmd, sizeof(cmd), "%s status --json --interval 0.2 --count 3", cli);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while (fgets(line, sizeof(line), p)) {
		lines++;
		ASSERT_EQ(0, json_number(line, "rate_ppb", &rate)) TH_LOG("%s", line);
		EXPECT_GT(500.0, fabs(rate - want_ppb))
			TH_LOG("line %d: %.3f ppb, %.3f ppb expected", lines, rate, want_ppb);
		EXPECT_NE(NULL, strstr(line, "\"time_state_name\":\"TIME_")) TH_LOG("%s", line);
	}
	ASSERT_EQ(0, pclose(p));
	EXPECT_EQ(3, lines);
	TH_LOG("%.3f ppb expected, last line %.3f ppb", want_ppb, rate);
}

TEST_HARNESS_MAIN
