// SPDX-License-Identifier: GPL-2.0
/*
 * libclockwatch's page reader against a file-backed page: consistent
 * copies while a writer rewrites the page under the sequence counter,
 * and the errors of a page the reader must not trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "page_writer.h"

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

	self->pf.page->version = CLOCKWATCH_PAGE_VERSION + 1;
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

TEST_HARNESS_MAIN
