// SPDX-License-Identifier: GPL-2.0
/*
 * The lease guard's decisions over maps laid out as the BPF trackers pin
 * them (../bpf/pauses.h, ../bpf/clocks.h), made and filled by the test:
 * what cw_guard__held() answers for pauses that were recorded, and for
 * those the tracker's minimum keeps from being recorded.  Needs bpf()
 * and a bpffs at /sys/fs/bpf (root); no tracker is loaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "pauses.h"
#include "clocks.h"

#define MS		1000000ULL
#define GUARD_MIN_NS	(5 * MS)	/* `clockwatch guard --pin`'s default */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int map_create(__u32 type, __u32 key_size, __u32 value_size, __u32 max)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

static int map_update(int fd, const void *key, const void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (__u64)(unsigned long)key;
	attr.value = (__u64)(unsigned long)value;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &attr);
}

static int pin(int fd, const char *dir, const char *name)
{
	char path[PATH_MAX];
	union bpf_attr attr;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(&attr, 0, sizeof(attr));
	attr.bpf_fd = fd;
	attr.pathname = (__u64)(unsigned long)path;
	return sys_bpf(BPF_OBJ_PIN, &attr);
}

static __u64 mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

FIXTURE(guard) {
	char dir[64];
	int ring_fd, info_fd, counters_fd;
	bool info_pinned;
	bool ready;		/* maps pinned: the tests can run */
};

FIXTURE_SETUP(guard)
{
	struct cw_clock_counters counters = { 0 };
	__u32 zero = 0;

	self->ring_fd = self->info_fd = self->counters_fd = -1;
	self->dir[0] = '\0';
	if (access("/dev/clockwatch", F_OK) == 0)
		SKIP(return, "the module is loaded: its page would count the steps");
	self->ring_fd = map_create(BPF_MAP_TYPE_HASH, sizeof(struct cw_guard_key),
				   sizeof(struct cw_guard_ring), 64);
	if (self->ring_fd < 0)
		SKIP(return, "bpf(BPF_MAP_CREATE): %s", strerror(errno));
	self->info_fd = map_create(BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				   sizeof(struct cw_guard_info), 1);
	self->counters_fd = map_create(BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				       sizeof(struct cw_clock_counters), 1);
	ASSERT_LE(0, self->info_fd);
	ASSERT_LE(0, self->counters_fd);
	ASSERT_EQ(0, map_update(self->counters_fd, &zero, &counters));

	snprintf(self->dir, sizeof(self->dir), "/sys/fs/bpf/cwtest_%d", (int)getpid());
	if (mkdir(self->dir, 0700)) {
		self->dir[0] = '\0';
		SKIP(return, "mkdir in /sys/fs/bpf: %s", strerror(errno));
	}
	ASSERT_EQ(0, pin(self->ring_fd, self->dir, "pauses_guard"));
	ASSERT_EQ(0, pin(self->counters_fd, self->dir, "clocks_counters"));
	self->ready = true;
}

FIXTURE_TEARDOWN(guard)
{
	static const char *const names[] = {
		"pauses_guard", "pauses_guard_info", "clocks_counters",
	};
	char path[PATH_MAX];
	size_t i;

	if (self->dir[0]) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", self->dir, names[i]);
			unlink(path);
		}
		rmdir(self->dir);
	}
	if (self->ring_fd >= 0)
		close(self->ring_fd);
	if (self->info_fd >= 0)
		close(self->info_fd);
	if (self->counters_fd >= 0)
		close(self->counters_fd);
}

/* The tracker's minimum, as `clockwatch guard --pin` writes it. */
static void set_min(struct __test_metadata *_metadata, FIXTURE_DATA(guard) *self,
		    __u64 min_ns)
{
	struct cw_guard_info info = { .min_ns = min_ns, .loaded_ns = mono() };
	__u32 zero = 0;

	ASSERT_EQ(0, map_update(self->info_fd, &zero, &info));
	if (!self->info_pinned)
		ASSERT_EQ(0, pin(self->info_fd, self->dir, "pauses_guard_info"));
	self->info_pinned = true;
}

/* The tracker saw the thread (and so its process) paused from..to. */
static void record(struct __test_metadata *_metadata, int fd, const struct cw_lease *l,
		   __u64 from, __u64 to)
{
	struct cw_guard_key key = { .id = l->tid, .is_process = 0 };
	struct cw_guard_ring ring;
	struct cw_guard_rec rec = {
		.start_ns = from, .end_ns = to, .kind = CW_PAUSE_STOPPED, .tid = l->tid,
	};

	memset(&ring, 0, sizeof(ring));
	ring.seq = l->thread_seq + 1;
	ring.rec[l->thread_seq % CW_GUARD_RING] = rec;
	ASSERT_EQ(0, map_update(fd, &key, &ring));
	key.id = l->pid;
	key.is_process = 1;
	memset(&ring, 0, sizeof(ring));
	ring.seq = l->process_seq + 1;
	ring.rec[l->process_seq % CW_GUARD_RING] = rec;
	ASSERT_EQ(0, map_update(fd, &key, &ring));
}

/*
 * A pause shorter than the tracker's minimum leaves no record: held()
 * cannot vouch for a limit below that minimum (a 3 ms SIGSTOP against
 * held(1 ms) under a 5 ms minimum), but can for one at or above it.
 */
TEST_F(guard, below_minimum)
{
	struct cw_lease_report rep;
	struct cw_lease lease;
	struct cw_guard *g;

	if (!self->ready)
		SKIP(return, "no bpffs to pin test maps in");
	set_min(_metadata, self, GUARD_MIN_NS);
	g = cw_guard__open(self->dir);
	ASSERT_NE(NULL, g) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, cw_guard__take(g, &lease));
	usleep(3000);		/* as long as a pause the tracker would not keep */

	ASSERT_EQ(0, cw_guard__check(g, &lease, &rep));
	EXPECT_EQ(GUARD_MIN_NS, rep.min_recorded_ns);
	EXPECT_EQ(0, rep.thread_pause_ns);
	EXPECT_EQ(0, rep.flags);
	EXPECT_EQ(0, cw_guard__held(g, &lease, 1 * MS));
	EXPECT_EQ(0, cw_guard__held(g, &lease, GUARD_MIN_NS - 1));
	EXPECT_EQ(1, cw_guard__held(g, &lease, GUARD_MIN_NS));
	EXPECT_EQ(1, cw_guard__held(g, &lease, 50 * MS));
	cw_guard__close(g);
}

/* Without the minimum, no absence of records proves anything. */
TEST_F(guard, minimum_unknown)
{
	struct cw_lease_report rep;
	struct cw_lease lease;
	struct cw_guard *g;

	if (!self->ready)
		SKIP(return, "no bpffs to pin test maps in");
	g = cw_guard__open(self->dir);
	ASSERT_NE(NULL, g) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, cw_guard__take(g, &lease));
	ASSERT_EQ(0, cw_guard__check(g, &lease, &rep));
	EXPECT_EQ(0, rep.min_recorded_ns);
	EXPECT_EQ(0, cw_guard__held(g, &lease, 1000 * MS));
	cw_guard__close(g);
}

/* A recorded 7 ms pause inside the lease: held for 10 ms, not for 6 ms. */
TEST_F(guard, recorded_pause)
{
	struct cw_lease_report rep;
	struct cw_lease lease;
	struct cw_guard *g;
	size_t i;

	if (!self->ready)
		SKIP(return, "no bpffs to pin test maps in");
	set_min(_metadata, self, GUARD_MIN_NS);
	g = cw_guard__open(self->dir);
	ASSERT_NE(NULL, g) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, cw_guard__take(g, &lease));
	EXPECT_EQ(CW_LEASE_STEPS_BPF, lease.step_source);
	record(_metadata, self->ring_fd, &lease, lease.start_ns + 1 * MS,
	       lease.start_ns + 8 * MS);

	memset(&rep, 0xa5, sizeof(rep));
	ASSERT_EQ(0, cw_guard__check(g, &lease, &rep));
	EXPECT_EQ(7 * MS, rep.thread_pause_ns);
	EXPECT_EQ(CW_LEASE_PAUSE_STOPPED, rep.thread_pause_kind);
	EXPECT_EQ(7 * MS, rep.process_pause_ns);
	EXPECT_EQ(lease.tid, rep.process_pause_tid);
	for (i = 0; i < sizeof(rep.__reserved) / sizeof(rep.__reserved[0]); i++)
		EXPECT_EQ(0, rep.__reserved[i]);
	EXPECT_EQ(1, cw_guard__held(g, &lease, 10 * MS));
	EXPECT_EQ(1, cw_guard__held(g, &lease, 7 * MS));
	EXPECT_EQ(0, cw_guard__held(g, &lease, 6 * MS));

	/* A token with its reserved room written is not one take() made. */
	lease.__reserved1[3] = 1;
	EXPECT_EQ(-EINVAL, cw_guard__check(g, &lease, &rep));
	EXPECT_EQ(-EINVAL, cw_guard__held(g, &lease, 10 * MS));
	cw_guard__close(g);
}

/*
 * In another pid namespace the tracker's thread ids are not the caller's:
 * the guard refuses to open there rather than find no pauses and answer
 * that every lease held.  The truth: the namespace this test made.
 */
TEST_F(guard, other_pid_namespace)
{
	int status;
	pid_t pid;

	if (!self->ready)
		SKIP(return, "no bpffs to pin test maps in");
	set_min(_metadata, self, GUARD_MIN_NS);
	if (unshare(CLONE_NEWPID))
		SKIP(return, "unshare(CLONE_NEWPID): %s", strerror(errno));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cw_guard *g = cw_guard__open(self->dir);

		_exit(!g && errno == EOPNOTSUPP ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_HARNESS_MAIN
