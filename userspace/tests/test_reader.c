// SPDX-License-Identifier: GPL-2.0
/*
 * libclockwatch's page reader against a file-backed page: consistent
 * copies while a writer rewrites the page under the sequence counter,
 * and the errors of a page the reader must not trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "page_writer.h"
#include "sync_writer.h"

#define TORN_READS		1000000	/* reads under a busy writer, at least */
#define TORN_TIME_NS		1000000000LL	/* and for this long, at least */
#define TORN_MAX_TIME_NS	10000000000LL	/* longer while few updates are seen */
#define WANT_DISTINCT		10000	/* updates seen that end the test early */
#define MIN_WRITE_RATE		10000	/* updates per second, at least */
#define WRITER_GAP_NS		2000	/* the writer's pause between updates */
#define MIN_DISTINCT		100	/* updates the reader sees, at least */

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

FIXTURE(page) {
	struct page_file pf;
	struct cw_reader *reader;
};

FIXTURE_SETUP(page)
{
	ASSERT_EQ(0, page_file_create(&self->pf));
	page_write_begin(self->pf.page);
	page_fill_derived(self->pf.page, 1);
	page_write_end(self->pf.page);

	self->reader = cw_reader__open(self->pf.path);
	ASSERT_NE(NULL, self->reader) TH_LOG("open %s: %s", self->pf.path, strerror(errno));
}

FIXTURE_TEARDOWN(page)
{
	cw_reader__close(self->reader);
	page_file_destroy(&self->pf);
}

/* A quiet page reads back exactly as written, with an even seq. */
TEST_F(page, read_back)
{
	struct clockwatch_page copy;

	ASSERT_EQ(0, cw_reader__read(self->reader, &copy));
	EXPECT_EQ(0, memcmp(&copy, self->pf.page, sizeof(copy)));
	EXPECT_EQ(2, copy.seq);
	EXPECT_EQ(0, page_check_derived(&copy));
	EXPECT_EQ(1, copy.update_count);
}

/* The mapping is shared: a later update is seen without reopening. */
TEST_F(page, sees_updates)
{
	struct clockwatch_page copy;

	page_write_begin(self->pf.page);
	page_fill_derived(self->pf.page, 77);
	page_write_end(self->pf.page);

	ASSERT_EQ(0, cw_reader__read(self->reader, &copy));
	EXPECT_EQ(77, copy.update_count);
	EXPECT_EQ(4, copy.seq);
	EXPECT_EQ(0, page_check_derived(&copy));
}

TEST_F(page, bad_magic)
{
	struct clockwatch_page copy;

	self->pf.page->magic = CLOCKWATCH_MAGIC ^ 1;
	errno = 0;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
	EXPECT_EQ(EPROTO, errno);
}

TEST_F(page, bad_version)
{
	struct clockwatch_page copy;

	self->pf.page->version = CLOCKWATCH_ABI_VERSION + 1;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
	self->pf.page->version = 0;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
}

/* A page too small for the version-1 fields, or bigger than a page. */
TEST_F(page, bad_size)
{
	struct clockwatch_page copy;

	self->pf.page->size = CW_PAGE_MIN_SIZE - 8;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
	self->pf.page->size = 0;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
	self->pf.page->size = CLOCKWATCH_PAGE_SIZE + 8;
	EXPECT_EQ(-EPROTO, cw_reader__read(self->reader, &copy));
}

/* A newer module publishes more fields: the known ones still read. */
TEST_F(page, larger_size_reads)
{
	struct clockwatch_page copy;

	self->pf.page->size = sizeof(copy) + 64;
	ASSERT_EQ(0, cw_reader__read(self->reader, &copy));
	EXPECT_EQ(sizeof(copy) + 64, copy.size);
	EXPECT_EQ(0, page_check_derived(&copy));
	EXPECT_TRUE(CLOCKWATCH_FIELD_PRESENT(&copy, ntp_writes));
}

/* A writer that never finishes: the reader gives up, it does not hang. */
TEST_F(page, odd_seq_forever)
{
	struct clockwatch_page copy;
	long long t0;

	page_write_begin(self->pf.page);
	t0 = mono_ns();
	errno = 0;
	EXPECT_EQ(-EAGAIN, cw_reader__read(self->reader, &copy));
	EXPECT_EQ(EAGAIN, errno);
	TH_LOG("gave up after %lld us", (mono_ns() - t0) / 1000);
	page_write_end(self->pf.page);

	/* Once the writer is done, the page reads again. */
	EXPECT_EQ(0, cw_reader__read(self->reader, &copy));
}

TEST_F(page, null_arguments)
{
	struct clockwatch_page copy;

	EXPECT_EQ(-EINVAL, cw_reader__read(NULL, &copy));
	EXPECT_EQ(-EINVAL, cw_reader__read(self->reader, NULL));
	cw_reader__close(NULL);
}

struct writer {
	struct clockwatch_page *page;
	int stop;		/* set by the reader, __atomic */
	__u64 updates;
	long long elapsed_ns;
};

/* Rewrite the page under the seqcount until told to stop. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	long long t0 = mono_ns(), until;
	__u64 n = w->page->update_count;

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		page_write_begin(w->page);
		page_fill_derived(w->page, ++n);
		page_write_end(w->page);
		w->updates++;

		/* Leave the readers a moment, as the real writer does. */
		until = mono_ns() + WRITER_GAP_NS;
		while (mono_ns() < until)
			;
	}
	w->elapsed_ns = mono_ns() - t0;
	return NULL;
}

/*
 * The point of the protocol: a million reads under a writer updating
 * the page tens of thousands of times a second, and not one copy mixes
 * two updates.  Copies never go back in time either.
 */
TEST_F_TIMEOUT(page, no_torn_reads, 120)
{
	struct writer w = { .page = self->pf.page };
	struct clockwatch_page copy;
	__u64 last = 0, distinct = 0;
	long torn = 0, backwards = 0, eagain = 0, other = 0;
	long long t0, now;
	double rate;
	pthread_t thread;
	long reads;
	int err;

	ASSERT_EQ(0, pthread_create(&thread, NULL, writer_main, &w));

	t0 = mono_ns();
	for (reads = 0; ; reads++) {
		/* A million reads for a second; on a busy machine, longer. */
		if ((reads & 0xfff) == 0 && reads >= TORN_READS) {
			now = mono_ns();
			if (now - t0 >= TORN_MAX_TIME_NS ||
			    (now - t0 >= TORN_TIME_NS && distinct >= WANT_DISTINCT))
				break;
		}
		err = cw_reader__read(self->reader, &copy);
		if (err == -EAGAIN) {
			eagain++;
			continue;
		}
		if (err) {
			other++;
			continue;
		}
		if (page_check_derived(&copy) || copy.seq != 2 * copy.update_count)
			torn++;
		if (copy.update_count < last)
			backwards++;
		if (copy.update_count != last)
			distinct++;
		last = copy.update_count;
	}

	__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	rate = w.updates * 1e9 / (double)w.elapsed_ns;
	TH_LOG("%ld reads, %llu distinct snapshots, %llu updates at %.0f/s, %ld EAGAIN",
	       reads, (unsigned long long)distinct,
	       (unsigned long long)w.updates, rate, eagain);

	EXPECT_EQ(0, torn);
	EXPECT_EQ(0, backwards);
	EXPECT_EQ(0, other);
	/* EAGAIN is not a torn read, but a healthy writer causes few. */
	EXPECT_LT(eagain, reads / 1000);
	/*
	 * The test means something only if the page really was moving
	 * under the reader; on a busy machine the two threads may still run
	 * by turns, and far fewer updates are seen.
	 */
	EXPECT_GE(rate, MIN_WRITE_RATE);
	EXPECT_GE(distinct, MIN_DISTINCT);
}

TEST(open_missing)
{
	errno = 0;
	EXPECT_EQ(NULL, cw_reader__open("/nonexistent/clockwatch"));
	EXPECT_EQ(ENOENT, errno);
}

/* A file shorter than the page would fault on access: refused at open. */
TEST(open_short_file)
{
	char path[] = "/tmp/cw-short.XXXXXX";
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 100));
	errno = 0;
	EXPECT_EQ(NULL, cw_reader__open(path));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	unlink(path);
}

/* CLOCKWATCH_IOC_TASKS is the device's: a page in a file has no ioctls. */
TEST_F(page, tasks_of_a_file)
{
	struct clockwatch_tasks t;

	memset(&t, 0xa5, sizeof(t));
	errno = 0;
	EXPECT_EQ(-ENOTTY, cw_reader__tasks(self->reader, &t));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-EINVAL, cw_reader__tasks(NULL, &t));
	EXPECT_EQ(-EINVAL, cw_reader__tasks(self->reader, NULL));
}

/*
 * The histogram buckets of the ABI header: values below 16 ns have one
 * each; v >= 8 goes to bucket (e - 2) * 8 + ((v >> (e - 3)) & 7), e =
 * floor(log2(v)); the last starts at 15 * 2^36 ns.
 */
static unsigned int bucket_of(__u64 v)
{
	unsigned int e;

	if (v < 16)
		return (unsigned int)v;
	e = 63 - (unsigned int)__builtin_clzll(v);
	if ((e - 2) * 8 + ((v >> (e - 3)) & 7) >= CLOCKWATCH_HIST_BUCKETS)
		return CLOCKWATCH_HIST_BUCKETS - 1;
	return (e - 2) * 8 + (unsigned int)((v >> (e - 3)) & 7);
}

TEST(hist_buckets)
{
	static const struct { unsigned int bucket; __u64 lo; } known[] = {
		{ 0, 0 }, { 1, 1 }, { 7, 7 }, { 8, 8 }, { 15, 15 },
		{ 16, 16 }, { 17, 18 }, { 23, 30 }, { 24, 32 }, { 25, 36 },
		{ 32, 64 }, { 64, 1024 },		/* 2^10 ns */
		{ 144, 1048576 },			/* 2^20 ns */
		{ CLOCKWATCH_HIST_BUCKETS - 1, 15ULL << 36 },
		{ CLOCKWATCH_HIST_BUCKETS, UINT64_MAX },
		{ CLOCKWATCH_HIST_BUCKETS + 1, UINT64_MAX },
		{ ~0U, UINT64_MAX },
	};
	__u64 v, lo;
	unsigned int i, b;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		b = known[i].bucket;
		lo = known[i].lo;
		EXPECT_EQ(lo, cw_hist_bucket_lo(b)) TH_LOG("bucket %u", b);
	}

	/* Each bucket's first value is its own, the one before the previous's. */
	for (b = 1; b < CLOCKWATCH_HIST_BUCKETS; b++) {
		lo = cw_hist_bucket_lo(b);
		EXPECT_GT(lo, cw_hist_bucket_lo(b - 1));
		EXPECT_EQ(b, bucket_of(lo)) TH_LOG("bucket %u lo %llu", b,
						   (unsigned long long)lo);
		EXPECT_EQ(b - 1, bucket_of(lo - 1));
	}
	/* Values of many magnitudes land where their bucket's bounds say. */
	for (v = 1; v < (1ULL << 40); v = v * 3 + 1) {
		b = bucket_of(v);
		EXPECT_LE(cw_hist_bucket_lo(b), v);
		EXPECT_GT(cw_hist_bucket_lo(b + 1), v);
	}
	EXPECT_EQ(CLOCKWATCH_HIST_BUCKETS - 1, bucket_of(UINT64_MAX));
}

#define NS_MONO_S	1000		/* the namespace's offsets */
#define NS_MONO_NSEC	123
#define NS_BOOT_S	2000
#define NS_BOOT_NSEC	456
#define NS_MONO		(NS_MONO_S * 1000000000LL + NS_MONO_NSEC)
#define NS_BOOT		(NS_BOOT_S * 1000000000LL + NS_BOOT_NSEC)

/* What the child in the time namespace saw. */
struct ns_view {
	int err_offsets, err_read, err_now, err_now_br;
	struct cw_timens ns;
	struct clockwatch_page copy;
	__s64 own_mono, own_raw;	/* its clock_gettime() around the copy */
	struct cw_now now, now_br;
};

static void ns_child(const char *path, int fd)
{
	struct cw_clock_opts br = { .sz = sizeof(br), .flags = CW_CLOCK_BRACKETED };
	struct cw_reader *r;
	struct cw_clock *c, *cb;
	struct ns_view v;

	memset(&v, 0, sizeof(v));
	v.err_offsets = cw_timens__offsets(&v.ns);
	r = cw_reader__open(path);
	c = cw_clock__open(path, NULL);
	cb = cw_clock__open(path, &br);
	v.err_read = r ? cw_reader__read(r, &v.copy) : -errno;
	v.own_mono = clock_ns(CLOCK_MONOTONIC);
	v.own_raw = clock_ns(CLOCK_MONOTONIC_RAW);
	v.err_now = c ? cw_clock__now(c, &v.now) : -errno;
	v.err_now_br = cb ? cw_clock__now(cb, &v.now_br) : -errno;
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(2);
	_exit(0);
}

/*
 * A reader in a time namespace sees the page's MONOTONIC, MONOTONIC_RAW
 * and BOOTTIME plus the offsets the namespace was made with, and computes
 * the same bound as a reader outside.
 */
TEST(time_namespace)
{
	struct clockwatch_page *p;
	struct cw_clock_opts br = { .sz = sizeof(br), .flags = CW_CLOCK_BRACKETED };
	struct page_file pf = { .fd = -1 };
	struct cw_clock *outside;
	struct cw_timens busy;
	struct cw_now out_now;
	struct ns_view v;
	char offsets[128];
	int pipefd[2], fd, len, status;
	pid_t pid;

	if (access("/proc/self/ns/time", F_OK))
		SKIP(return, "no /proc/self/ns/time: kernel without CONFIG_TIME_NS");

	ASSERT_EQ(0, page_file_create(&pf));
	p = pf.page;
	/* The daemon wrote 1 s ago; then fixed times for every clock field. */
	page_set_sync(p, 2000, clock_ns(CLOCK_MONOTONIC_RAW) - 1000000000LL,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, TIME_OK);
	page_write_begin(p);
	p->clocks.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
	p->clocks.boottime_ns = clock_ns(CLOCK_BOOTTIME);
	p->ntp_mono_ns = 1111;
	p->ntp_raw_ns = 2222;
	p->last_step_mono_ns = 3333;
	p->last_step_real_ns = 4444;
	p->sync_mono_ns = 5555;
	p->maxerror_mono_ns = 6666;
	p->slew_mono_ns = 7777;
	p->disrupt_raw_ns = 0;		/* "none": stays 0 */
	p->report_raw_ns = 8888;
	p->report_anchor_raw_ns = 9999;
	p->report_ref_real_ns = 1234;
	p->freq_short_window_raw_ns = 1000000000;
	p->maxerror_interval_raw_ns = 64000000000LL;
	p->audit_rtc_raw_ns = 11111;
	p->audit_rtc_jump_raw_ns = 12121;
	p->audit_rtc_jump_ns = -1000000000LL;
	page_write_end(p);

	outside = cw_clock__open(pf.path, &br);
	ASSERT_NE(NULL, outside);

	if (unshare(CLONE_NEWTIME)) {
		cw_clock__close(outside);
		page_file_destroy(&pf);
		SKIP(return, "unshare(CLONE_NEWTIME): %s", strerror(errno));
	}
	fd = open("/proc/self/timens_offsets", O_WRONLY);
	ASSERT_LE(0, fd);
	len = snprintf(offsets, sizeof(offsets), "monotonic %d %d\nboottime %d %d\n",
		       NS_MONO_S, NS_MONO_NSEC, NS_BOOT_S, NS_BOOT_NSEC);
	ASSERT_EQ(len, write(fd, offsets, len)) TH_LOG("%s", strerror(errno));
	close(fd);

	/* This process stays outside: its file speaks of the children's. */
	EXPECT_EQ(-EBUSY, cw_timens__offsets(&busy));
	EXPECT_EQ(-EINVAL, cw_timens__offsets(NULL));

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[0]);
		ns_child(pf.path, pipefd[1]);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(v), read(pipefd[0], &v, sizeof(v)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, cw_clock__now(outside, &out_now));

	ASSERT_EQ(0, v.err_offsets);
	EXPECT_EQ(NS_MONO, v.ns.monotonic_ns);
	EXPECT_EQ(NS_BOOT, v.ns.boottime_ns);

	ASSERT_EQ(0, v.err_read);
	EXPECT_EQ(p->clocks.monotonic_ns + NS_MONO, v.copy.clocks.monotonic_ns);
	EXPECT_EQ(p->clocks.monotonic_raw_ns + NS_MONO, v.copy.clocks.monotonic_raw_ns);
	EXPECT_EQ(p->clocks.boottime_ns + NS_BOOT, v.copy.clocks.boottime_ns);
	EXPECT_EQ(p->clocks.realtime_ns, v.copy.clocks.realtime_ns);
	EXPECT_EQ(p->clocks.tai_ns, v.copy.clocks.tai_ns);
	EXPECT_EQ(1111 + NS_MONO, v.copy.ntp_mono_ns);
	EXPECT_EQ(2222 + NS_MONO, v.copy.ntp_raw_ns);
	EXPECT_EQ(3333 + NS_MONO, v.copy.last_step_mono_ns);
	EXPECT_EQ(4444, v.copy.last_step_real_ns);
	EXPECT_EQ(5555 + NS_MONO, v.copy.sync_mono_ns);
	EXPECT_EQ(6666 + NS_MONO, v.copy.maxerror_mono_ns);
	EXPECT_EQ(p->maxerror_raw_ns + NS_MONO, v.copy.maxerror_raw_ns);
	EXPECT_EQ(7777 + NS_MONO, v.copy.slew_mono_ns);
	EXPECT_EQ(0, v.copy.disrupt_raw_ns);
	EXPECT_EQ(8888 + NS_MONO, v.copy.report_raw_ns);
	EXPECT_EQ(9999 + NS_MONO, v.copy.report_anchor_raw_ns);
	EXPECT_EQ(1234, v.copy.report_ref_real_ns);
	EXPECT_EQ(1000000000, v.copy.freq_short_window_raw_ns);
	EXPECT_EQ(64000000000LL, v.copy.maxerror_interval_raw_ns);
	EXPECT_EQ(11111 + NS_MONO, v.copy.audit_rtc_raw_ns);
	EXPECT_EQ(12121 + NS_MONO, v.copy.audit_rtc_jump_raw_ns);
	EXPECT_EQ(-1000000000LL, v.copy.audit_rtc_jump_ns);

	/* The copy's clocks are the child's: its own reads came after them. */
	EXPECT_GE(v.own_mono, v.copy.clocks.monotonic_ns);
	EXPECT_LT(v.own_mono - v.copy.clocks.monotonic_ns, 10000000000LL);
	EXPECT_GE(v.own_raw, v.copy.clocks.monotonic_raw_ns);
	EXPECT_LT(v.own_raw - v.copy.clocks.monotonic_raw_ns, 10000000000LL);

	/* The bound: 2 ms + 50 ppm of about 1 s, inside and outside. */
	ASSERT_EQ(0, v.err_now);
	ASSERT_EQ(0, v.err_now_br);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, v.now.status);
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, v.now_br.status) TH_LOG("reason %s",
		cw_reason_str(v.now_br.reason));
	EXPECT_EQ(CW_STATUS_SYNCHRONIZED, out_now.status);
	EXPECT_EQ(2000000, v.now_br.maxerror_ns);
	EXPECT_LT(llabs(v.now_br.since_write_ns - out_now.since_write_ns), 2000000000LL);
	EXPECT_LT(llabs((long long)v.now_br.drift_ns - (long long)out_now.drift_ns),
		  100000);	/* 2 s at 50 ppm */
	EXPECT_LT(v.now_br.bound_ns, 2000000 + 50000 * 5);
	EXPECT_LT(v.now.bound_ns, 2000000 + 50000 * 5);

	cw_clock__close(outside);
	page_file_destroy(&pf);
}

TEST_HARNESS_MAIN
