// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: a flood of events, and four readers that must each get
 * every record or be told exactly how many they missed.
 *
 * Two sources make records for CW_FLOOD_SECONDS (default 60): a thread
 * making CW_FLOOD_WRITES adjtimex() writes a second (default 1000; 0: as
 * fast as it can), each one record (see events_test), and a thread
 * asking the test injector
 * (CLOCKWATCH_IOC_INJECT_EVENTS on its debugfs file, module loaded with
 * inject=1) for
 * CW_FLOOD_RATE records a second (default 10^5) in batches each
 * millisecond: under emulation a real clock change costs tens of µs, too
 * many for 10^5 a second.  Four readers, each with its own file, follow
 * the stream: one blocked in read(), one in poll(), one polling with
 * O_NONBLOCK, and one slow on purpose (it sleeps between reads), so that
 * the ring overruns it.  A reader that sleeps while a record waits (a
 * lost wake-up) is caught: poll() times out, or the reader does not get
 * to the marker.  Each reader checks that sequence numbers run
 * without a gap except where an OVERRUN record says exactly which it
 * missed and, up to a last marker write, that it accounted for every
 * record made since it opened: read + lost == made; and, when it lost
 * none, that it read every write and every injected record.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>
/* The injector's header: a test header, not the uapi (never installed). */
#include <clockwatch/inject.h>

#include "kselftest_harness.h"

#define DEV		"/dev/clockwatch"
#define NREADERS	4
#define BATCH		512
#define NSEC_PER_SEC	1000000000LL
#define TICK_NS		1000000LL

struct flood {
	volatile int stop;
	long long rate;			/* injected records a second */
	long long write_rate;		/* adjtimex writes a second; 0: no limit */
	long long seconds;
	long long writes, injected;	/* made by the two sources */
	long long failed_writes;
	int inject_err;
	pid_t pid, marker_tid;
	int ctl;			/* the injector's file (debugfs) */
};

enum reader_kind { BLOCKING, POLLING, NONBLOCKING, SLOW, NKINDS };

static const char *const kind_name[NKINDS] = {
	"blocking read", "poll", "O_NONBLOCK", "slow",
};

struct reader {
	struct flood *fl;
	int fd;
	enum reader_kind kind;
	unsigned long long poll_timeouts;	/* poll() said nothing, yet a record waited */
	unsigned long long start, next;	/* seq: first expected, next expected */
	unsigned long long read, lost, overruns;
	unsigned long long reads;	/* read() calls that returned records */
	unsigned long long ntp, inj;	/* this test's records read */
	unsigned long long bad_seq, bad_overrun;
	unsigned long long marker;	/* seq of the marker, once seen */
	bool done;
	int finished;			/* the thread is about to return */
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static unsigned long long info_cursor(int fd)
{
	struct clockwatch_info info = { .size = sizeof(info) };

	if (ioctl(fd, CLOCKWATCH_IOC_INFO, &info))
		return ~0ULL;
	return info.cursor;
}

/* Real records: adjtimex() writes, write_rate a second or back to back. */
static void *writer(void *p)
{
	struct flood *fl = p;
	struct timex tx = { .modes = ADJ_MAXERROR };
	long long k = 0, t0 = now_ns();

	while (!fl->stop) {
		if (fl->write_rate &&
		    fl->writes >= fl->write_rate * (now_ns() - t0) / NSEC_PER_SEC) {
			usleep(500);
			continue;
		}
		tx.maxerror = 100000 + (k++ & 1023);
		if (adjtimex(&tx) < 0)
			fl->failed_writes++;
		else
			fl->writes++;
	}
	return NULL;
}

/* rate / 1000 records each millisecond, catching up when behind. */
static void *injector(void *p)
{
	struct flood *fl = p;
	struct clockwatch_inject_events req = { .size = sizeof(req) };
	long long t0 = now_ns(), due, t;

	while (!fl->stop) {
		t = now_ns();
		due = fl->rate * (t - t0) / NSEC_PER_SEC - fl->injected;
		if (due <= 0) {
			usleep(TICK_NS / 1000 / 2);
			continue;
		}
		req.count = due < CLOCKWATCH_INJECT_MAX_EVENTS ? due :
			    CLOCKWATCH_INJECT_MAX_EVENTS;
		if (ioctl(fl->ctl, CLOCKWATCH_IOC_INJECT_EVENTS, &req)) {
			fl->inject_err = errno;
			break;
		}
		fl->injected += req.count;
	}
	return NULL;
}

static void account(struct reader *r, const struct clockwatch_event *ev)
{
	struct flood *fl = r->fl;

	if (ev->type == CLOCKWATCH_EV_OVERRUN) {
		if (ev->overrun.first_lost_seq != r->next || !ev->overrun.lost)
			r->bad_overrun++;
		r->overruns++;
		r->lost += ev->overrun.lost;
		r->next = ev->overrun.first_lost_seq + ev->overrun.lost;
		return;
	}
	if (ev->seq != r->next)
		r->bad_seq++;
	r->next = ev->seq + 1;
	r->read++;
	if (ev->pid != fl->pid)
		return;
	if (ev->type == CLOCKWATCH_EV_NTP_ADJUST && ev->tid == fl->marker_tid) {
		r->marker = ev->seq;
		r->done = true;
	} else if (ev->type == CLOCKWATCH_EV_NTP_ADJUST) {
		r->ntp++;
	} else if (ev->type == CLOCKWATCH_EV_INJECT) {
		struct clockwatch_inject inj;

		/* the injector's payload: a struct clockwatch_inject */
		memcpy(&inj, ev->__payload, sizeof(inj));
		if (inj.mode == CLOCKWATCH_INJECT_EVENTS)
			r->inj++;
	}
}

/* Is a record waiting for @fd's reader?  From the file's cursor. */
static bool record_waits(int fd)
{
	struct clockwatch_info info = { .size = sizeof(info) };

	return !ioctl(fd, CLOCKWATCH_IOC_INFO, &info) &&
	       info.event_head != info.cursor;
}

/* Follow the stream up to and including the marker. */
static void *reader(void *p)
{
	struct reader *r = p;
	struct clockwatch_event evs[BATCH];
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t n, i;

	while (!r->done) {
		/* 10 s without a record is never right while records come. */
		if (r->kind == POLLING && poll(&pfd, 1, 10000) == 0) {
			if (record_waits(r->fd))
				r->poll_timeouts++;
			continue;
		}
		n = read(r->fd, evs, sizeof(evs));
		if (n < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->bad_seq++;
			break;
		}
		r->reads++;
		for (i = 0; i < n / (ssize_t)sizeof(evs[0]) && !r->done; i++)
			account(r, &evs[i]);
		if (r->kind == SLOW)
			usleep(100000);	/* 100 ms: the ring overruns meanwhile */
	}
	__atomic_store_n(&r->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool all_finished(struct reader *rd)
{
	int i;

	for (i = 0; i < NREADERS; i++)
		if (!__atomic_load_n(&rd[i].finished, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

FIXTURE(flood) {};
FIXTURE_SETUP(flood) {}
FIXTURE_TEARDOWN(flood) {}

TEST_F_TIMEOUT(flood, four_readers_every_event_or_exact_overrun, 900)
{
	struct flood fl = { .pid = getpid(), .marker_tid = gettid() };
	struct reader rd[NREADERS] = {};
	pthread_t rt[NREADERS], wt, it;
	struct timex marker = { .modes = ADJ_MAXERROR, .maxerror = 200000 };
	struct clockwatch_inject_events probe = { .size = sizeof(probe), .count = 1 };
	unsigned long long made;
	long long t0, t1;
	int i, stuck = 0;

	if (getuid() != 0)
		SKIP(return, "writes NTP state: needs root");
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))
		SKIP(return, "writes NTP state: set CLOCKWATCH_DESTRUCTIVE=1");
	fl.rate = getenv("CW_FLOOD_RATE") ? atoll(getenv("CW_FLOOD_RATE")) : 100000;
	fl.write_rate = getenv("CW_FLOOD_WRITES") ? atoll(getenv("CW_FLOOD_WRITES")) : 1000;
	fl.seconds = getenv("CW_FLOOD_SECONDS") ? atoll(getenv("CW_FLOOD_SECONDS")) : 60;
	ASSERT_LT(0, fl.rate);
	ASSERT_LT(0, fl.seconds);
	ASSERT_LE(0, fl.write_rate);

	if (access(DEV, F_OK))
		SKIP(return, "%s not found: module not loaded", DEV);
	fl.ctl = open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC);
	if (fl.ctl < 0)
		SKIP(return, "no event injector (%s: %s): load with inject=1",
		     CLOCKWATCH_INJECT_PATH, strerror(errno));
	ASSERT_EQ(0, ioctl(fl.ctl, CLOCKWATCH_IOC_INJECT_EVENTS, &probe));
	for (i = 0; i < NREADERS; i++) {
		rd[i].fl = &fl;
		rd[i].kind = i;
		rd[i].fd = open(DEV, O_RDONLY |
				(rd[i].kind == BLOCKING ? 0 : O_NONBLOCK));
		ASSERT_LE(0, rd[i].fd);
		rd[i].start = rd[i].next = info_cursor(rd[i].fd);
		ASSERT_NE(~0ULL, rd[i].start);
	}
	for (i = 0; i < NREADERS; i++)
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, reader, &rd[i]));

	t0 = now_ns();
	ASSERT_EQ(0, pthread_create(&wt, NULL, writer, &fl));
	ASSERT_EQ(0, pthread_create(&it, NULL, injector, &fl));
	while (now_ns() - t0 < fl.seconds * NSEC_PER_SEC && !fl.inject_err)
		usleep(100000);
	fl.stop = 1;
	pthread_join(wt, NULL);
	pthread_join(it, NULL);
	t1 = now_ns();
	/* The marker: the last record each reader must account up to. */
	ASSERT_EQ(0, adjtimex(&marker) < 0 ? errno : 0);
	/* A reader still asleep 30 s later missed its wake-up. */
	for (i = 0; i < 300 && !all_finished(rd); i++)
		usleep(100000);
	for (i = 0; i < NREADERS; i++) {
		stuck += !__atomic_load_n(&rd[i].finished, __ATOMIC_ACQUIRE);
		if (!__atomic_load_n(&rd[i].finished, __ATOMIC_ACQUIRE))
			printf("# reader %d (%s) asleep with the marker waiting\n",
			       i, kind_name[rd[i].kind]);
	}
	while (!all_finished(rd)) {
		marker.maxerror++;	/* wake it, to end the test */
		adjtimex(&marker);
		usleep(100000);
	}
	for (i = 0; i < NREADERS; i++)
		pthread_join(rt[i], NULL);
	EXPECT_EQ(0, stuck);

	EXPECT_EQ(0, fl.inject_err);
	EXPECT_EQ(0, fl.failed_writes);
	printf("# %.1f s: %lld injected records (%.0f/s, asked %lld/s) and %lld adjtimex writes (%.0f/s)\n",
	       (t1 - t0) / 1e9, fl.injected, fl.injected * 1e9 / (t1 - t0),
	       fl.rate, fl.writes, fl.writes * 1e9 / (t1 - t0));
	for (i = 0; i < NREADERS; i++) {
		struct reader *r = &rd[i];

		made = r->marker + 1 - r->start;
		printf("# reader %d (%s): %llu of %llu records read (%.0f a read()), %llu lost in %llu overruns; %llu writes, %llu injected\n",
		       i, kind_name[r->kind], r->read, made,
		       r->reads ? (double)(r->read + r->overruns) / r->reads : 0.0,
		       r->lost, r->overruns, r->ntp, r->inj);
		EXPECT_TRUE(r->done);
		EXPECT_EQ(0, r->poll_timeouts);
		EXPECT_EQ(0, r->bad_seq);
		EXPECT_EQ(0, r->bad_overrun);
		/* Every record from its open to the marker: read or counted lost. */
		EXPECT_EQ(made, r->read + r->lost);
		EXPECT_LE(r->ntp, fl.writes);
		EXPECT_LE(r->inj, fl.injected);
		EXPECT_LE(fl.writes + fl.injected, r->ntp + r->inj + r->lost);
		if (!r->lost) {
			EXPECT_EQ(fl.writes, r->ntp);
			EXPECT_EQ(fl.injected, r->inj);
		}
		close(r->fd);
	}
	/* The slow reader must have been overrun, or the test proves less. */
	EXPECT_LT(0, rd[SLOW].lost);
	close(fl.ctl);
}

TEST_HARNESS_MAIN
