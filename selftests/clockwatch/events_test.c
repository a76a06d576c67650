// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: truth tests of the event ring and the clock tracker.
 *
 * Each test makes the change itself (a step of a size it chose, adjtimex
 * writes with values it chose, from threads it knows) and checks the
 * records against it: size, cause, pid and comm, one record per change.
 * They change the clocks: they SKIP unless CLOCKWATCH_DESTRUCTIVE=1, and
 * undo what they did (run_vm.sh runs them in a throw-away VM).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>
#include <clockwatch/inject.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL
#define MAX_EVENTS		16384

/* Step CLOCK_REALTIME by @ns with clock_settime(); 0 or -errno. */
static int step_settime(long long ns)
{
	long long t = cw_clock_ns(CLOCK_REALTIME) + ns;
	struct timespec ts = { t / NSEC_PER_SEC, t % NSEC_PER_SEC };

	return clock_settime(CLOCK_REALTIME, &ts) ? -errno : 0;
}

static int write_ntp(unsigned int modes, long maxerror, long esterror)
{
	struct timex tx = { .modes = modes, .maxerror = maxerror,
			    .esterror = esterror };

	return adjtimex(&tx) < 0 ? -errno : 0;
}

/* Read every record waiting on @fd (O_NONBLOCK) into @evs; the count. */
static int drain(int fd, struct clockwatch_event *evs, int max)
{
	int n = 0;
	ssize_t r;

	while (n < max) {
		r = read(fd, &evs[n], (size_t)(max - n) * sizeof(*evs));
		if (r <= 0)
			break;
		n += r / sizeof(*evs);
	}
	return n;
}

FIXTURE(ev) {
	int fd;
	const struct clockwatch_page *page;
	struct clockwatch_event *evs;
	struct timex saved;
	long long unstep_ns;
};

FIXTURE_SETUP(ev)
{
	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, self->fd);
	self->page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED,
			  self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	if (!CLOCKWATCH_FIELD_PRESENT(self->page, unseen_step_ns) ||
	    !(self->page->features & CLOCKWATCH_FEAT_EVENTS))
		SKIP(return, "module without events");
	self->evs = calloc(MAX_EVENTS, sizeof(*self->evs));
	ASSERT_NE(NULL, self->evs);
	self->saved.modes = 0;
	adjtimex(&self->saved);
	self->unstep_ns = 0;
}

FIXTURE_TEARDOWN(ev)
{
	struct timex tx = {
		.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_OFFSET | ADJ_TIMECONST,
		.freq = self->saved.freq,
		.status = self->saved.status & ~(STA_INS | STA_DEL | STA_PLL),
		.constant = self->saved.constant,
	};

	struct timex zero = { .modes = ADJ_STATUS | ADJ_OFFSET | ADJ_NANO,
			      .status = STA_PLL };

	if (self->unstep_ns)
		cw_step_setoffset(self->unstep_ns);
	if (getuid() == 0 && getenv("CLOCKWATCH_DESTRUCTIVE")) {
		/* an offset left to slew is only dropped in PLL mode */
		adjtimex(&zero);
		adjtimex(&tx);
	}
	free(self->evs);
	if (self->fd >= 0)
		close(self->fd);
}

/* Find the records of @type, or -1. */
static int find(const struct clockwatch_event *evs, int n, int type, int from)
{
	for (; from < n; from++)
		if (evs[from].type == type)
			return from;
	return -1;
}

/* read() semantics: whole records only, EINVAL, EAGAIN, INFO, ENOTTY. */
TEST_F(ev, read_semantics_and_info)
{
	struct clockwatch_info info = { .size = sizeof(info) };
	char small[CLOCKWATCH_EVENT_SIZE - 1];
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	ssize_t n = 0;
	int tries;

	ASSERT_EQ(-1, read(self->fd, small, sizeof(small)));
	ASSERT_EQ(EINVAL, errno);
	/*
	 * Nothing to read gives EAGAIN and a quiet poll().  The stall probe
	 * is the one source of events the test does not control (the VM
	 * stalls when the host pleases): a stall record arriving between
	 * the drain and the read means try again, anything else is a bug.
	 */
	for (tries = 0; tries < 100; tries++) {
		drain(self->fd, self->evs, MAX_EVENTS);
		n = read(self->fd, self->evs, CLOCKWATCH_EVENT_SIZE);
		if (n < 0)
			break;
		ASSERT_EQ(CLOCKWATCH_EVENT_SIZE, n);
		ASSERT_EQ(CLOCKWATCH_EV_STALL, self->evs[0].type);
	}
	ASSERT_EQ(-1, n);
	ASSERT_EQ(EAGAIN, errno);
	for (tries = 0; tries < 100; tries++) {
		drain(self->fd, self->evs, MAX_EVENTS);
		n = poll(&pfd, 1, 0);
		if (n == 0)
			break;
	}
	ASSERT_EQ(0, n);

	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_INFO, &info));
	ASSERT_EQ(CLOCKWATCH_EVENT_SIZE, info.event_size);
	ASSERT_EQ(CLOCKWATCH_ABI_VERSION, info.version);
	ASSERT_EQ(0, info.ring_entries & (info.ring_entries - 1));
	ASSERT_EQ(self->page->features, info.features);
	info.__reserved[1] = 1;
	ASSERT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_INFO, &info));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IO(CLOCKWATCH_IOC_MAGIC, 0x3f)));
	ASSERT_EQ(ENOTTY, errno);
}

/*
 * A step of a size the test chose: its record has that size (within 1 ms
 * for clock_settime, which computes from a clock read; exact for
 * ADJ_SETOFFSET), the cause, this process's pid, tid and comm, and the
 * page's step_seq has moved before the call returned.
 */
TEST_F(ev, step_size_cause_and_caller)
{
	static const struct {
		long long ns;
		int setoffset;
		unsigned int cause;
	} steps[] = {
		{ 2500 * NSEC_PER_MSEC, 0, CLOCKWATCH_STEP_CLOCK_SETTIME },
		{ -1250 * NSEC_PER_MSEC, 0, CLOCKWATCH_STEP_CLOCK_SETTIME },
		{ 750 * NSEC_PER_MSEC + 123, 1, CLOCKWATCH_STEP_ADJ_SETOFFSET },
		{ -2000 * NSEC_PER_MSEC - 123, 1, CLOCKWATCH_STEP_ADJ_SETOFFSET },
	};
	struct clockwatch_page before, after;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	unsigned int i;
	int n, k;

	CW_REQUIRE_DESTRUCTIVE();
	if (!(self->page->features & CLOCKWATCH_FEAT_STEPS))
		SKIP(return, "no step tracking");
	prctl(PR_SET_NAME, "cw-stepper");
	drain(self->fd, self->evs, MAX_EVENTS);

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		long long offs0, truth;

		cw_page_copy(self->page, &before);
		offs0 = cw_real_minus_mono();
		ASSERT_EQ(0, steps[i].setoffset ? cw_step_setoffset(steps[i].ns) :
						  step_settime(steps[i].ns));
		/* the step made: REALTIME - MONOTONIC after minus before */
		truth = cw_real_minus_mono() - offs0;
		self->unstep_ns -= truth;
		/* On the page before the call returned. */
		cw_page_copy(self->page, &after);
		ASSERT_EQ(before.step_seq + 1, after.step_seq);
		ASSERT_EQ(steps[i].cause, after.last_step_cause);

		ASSERT_EQ(1, poll(&pfd, 1, 5000));
		n = drain(self->fd, self->evs, MAX_EVENTS);
		k = find(self->evs, n, CLOCKWATCH_EV_STEP, 0);
		ASSERT_LE(0, k);
		/* exactly one step record per step */
		ASSERT_EQ(-1, find(self->evs, n, CLOCKWATCH_EV_STEP, k + 1));
		do {
			const struct clockwatch_event *e = &self->evs[k];
			long long err = e->step.delta_ns - truth;

			TH_LOG("step asked %lld ns, made %lld ns: recorded %lld ns (%+lld ns), cause %u",
			       steps[i].ns, truth, (long long)e->step.delta_ns,
			       err, e->step.cause);
			if (steps[i].setoffset)
				ASSERT_EQ(steps[i].ns, e->step.delta_ns);
			ASSERT_LE(llabs(err), NSEC_PER_MSEC);
			ASSERT_EQ(steps[i].cause, e->step.cause);
			ASSERT_EQ(getpid(), e->pid);
			ASSERT_EQ(syscall(SYS_gettid), e->tid);
			ASSERT_STREQ("cw-stepper", e->comm);
			ASSERT_TRUE(e->flags & CLOCKWATCH_EVF_TASK);
			ASSERT_EQ(after.step_seq, e->step.step_seq);
			ASSERT_EQ(e->step.real_after_ns - e->step.real_before_ns,
				  e->step.delta_ns);
			/*
			 * The record's REALTIME is the clock after the step:
			 * its REALTIME - MONOTONIC is the offset now, measured
			 * by a bracket (two plain reads in a row can be a
			 * host preemption apart).
			 */
			ASSERT_LE(llabs(e->real_ns - e->mono_ns -
					cw_real_minus_mono()), NSEC_PER_MSEC);
		} while (0);
	}
	/* settimeofday(2) is named too. */
	{
		struct timeval tv;

		long long offs0 = cw_real_minus_mono(), truth;

		gettimeofday(&tv, NULL);
		tv.tv_sec += 3;
		/* the system call: glibc's settimeofday() calls clock_settime */
		ASSERT_EQ(0, syscall(SYS_settimeofday, &tv, NULL));
		truth = cw_real_minus_mono() - offs0;
		self->unstep_ns -= truth;
		n = drain(self->fd, self->evs, MAX_EVENTS);
		k = find(self->evs, n, CLOCKWATCH_EV_STEP, 0);
		ASSERT_LE(0, k);
		ASSERT_EQ(CLOCKWATCH_STEP_SETTIMEOFDAY, self->evs[k].step.cause);
		ASSERT_LE(llabs(self->evs[k].step.delta_ns - truth), NSEC_PER_MSEC);
	}
}

#define MIX_THREADS	4
#define MIX_CALLS	250	/* per thread: 1000 in all */

struct mix_arg {
	int idx;
	pid_t tid;
	int steps, writes, errors;
};

/*
 * Each thread alternates its calls: adjtimex writes of esterror with a
 * value naming the thread and the call, and steps by settime or
 * ADJ_SETOFFSET of a few µs, net zero.
 */
static void *mix_thread(void *p)
{
	struct mix_arg *a = p;
	int i;

	a->tid = syscall(SYS_gettid);
	for (i = 0; i < MIX_CALLS; i++) {
		int err;

		switch (i % 3) {
		case 0:
			err = write_ntp(ADJ_ESTERROR, 0,
					1000000 + a->idx * 1000 + i);
			a->writes += !err;
			break;
		case 1:
			err = cw_step_setoffset(i & 2 ? 7000 : -7000);
			a->steps += !err;
			a->writes += !err;	/* and an NTP_ADJUST record */
			break;
		default:
			err = step_settime(0);
			a->steps += !err;
			break;
		}
		a->errors += !!err;
	}
	return NULL;
}

/*
 * 1,000 mixed calls from 4 threads: exactly one STEP record per step and
 * one NTP_ADJUST record per adjtimex write, each with its thread's tid,
 * every esterror value exactly once, and the seqs gap-free.
 */
TEST_F(ev, one_record_per_change_from_threads)
{
	struct mix_arg args[MIX_THREADS] = {};
	pthread_t th[MIX_THREADS];
	int steps[MIX_THREADS] = {}, writes[MIX_THREADS] = {};
	static unsigned char seen[MIX_THREADS][MIX_CALLS];
	struct clockwatch_info info = { .size = sizeof(info) };
	int i, n, t;

	CW_REQUIRE_DESTRUCTIVE();
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_INFO, &info));
	if (info.ring_entries < 4096)
		SKIP(return, "ring of %u records: too small for 1000 calls",
		     info.ring_entries);
	drain(self->fd, self->evs, MAX_EVENTS);

	for (i = 0; i < MIX_THREADS; i++) {
		args[i].idx = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, mix_thread, &args[i]));
	}
	for (i = 0; i < MIX_THREADS; i++)
		pthread_join(th[i], NULL);

	n = drain(self->fd, self->evs, MAX_EVENTS);
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++) {
		const struct clockwatch_event *e = &self->evs[i];

		ASSERT_NE(CLOCKWATCH_EV_OVERRUN, e->type);
		if (i)
			ASSERT_EQ(self->evs[i - 1].seq + 1, e->seq);
		for (t = 0; t < MIX_THREADS; t++)
			if (e->tid == args[t].tid)
				break;
		if (t == MIX_THREADS)
			continue;
		ASSERT_EQ(getpid(), e->pid);
		if (e->type == CLOCKWATCH_EV_STEP) {
			steps[t]++;
		} else if (e->type == CLOCKWATCH_EV_NTP_ADJUST) {
			writes[t]++;
			if (e->ntp_adjust.written & CLOCKWATCH_NTPF_ESTERROR) {
				long v = e->ntp_adjust.after.esterror_us - 1000000 - t * 1000;

				ASSERT_TRUE(v >= 0 && v < MIX_CALLS);
				ASSERT_EQ(0, seen[t][v]);
				seen[t][v] = 1;
			}
		}
	}
	for (t = 0; t < MIX_THREADS; t++) {
		TH_LOG("thread %d: %d steps, %d writes made; %d, %d recorded; %d errors",
		       t, args[t].steps, args[t].writes, steps[t], writes[t],
		       args[t].errors);
		ASSERT_EQ(0, args[t].errors);
		ASSERT_EQ(args[t].steps, steps[t]);
		ASSERT_EQ(args[t].writes, writes[t]);
		for (i = 0; i < MIX_CALLS; i += 3)
			ASSERT_EQ(1, seen[t][i]);
	}
}

/*
 * A reader that stops reading: after ring_entries + 100 records, its next
 * read starts with one OVERRUN record saying exactly how many were lost
 * (at least 100), then the ring's records in order from first_lost_seq +
 * lost.
 */
TEST_F(ev, overrun_count_exact)
{
	struct clockwatch_info info = { .size = sizeof(info) };
	struct clockwatch_info info2 = { .size = sizeof(info2) };
	unsigned long long cursor, head, lost, next, read = 0, later_lost = 0;
	int fd2, i, n;

	CW_REQUIRE_DESTRUCTIVE();
	ASSERT_EQ(0, ioctl(self->fd, CLOCKWATCH_IOC_INFO, &info));
	if (info.ring_entries > MAX_EVENTS - 200)
		SKIP(return, "ring too large for this test");
	fd2 = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd2);
	for (i = 0; i < (int)info.ring_entries + 100; i++)
		ASSERT_EQ(0, write_ntp(ADJ_ESTERROR, 0, 500 + i));
	ASSERT_EQ(0, ioctl(fd2, CLOCKWATCH_IOC_INFO, &info2));
	cursor = info2.cursor;
	head = info2.event_head;
	TH_LOG("%d writes; reader at %llu, head %llu, ring %u", i, cursor, head,
	       info.ring_entries);
	/* at least our writes went by; other trackers may add records */
	ASSERT_LE(cursor + info.ring_entries + 100, head);

	n = drain(fd2, self->evs, MAX_EVENTS);
	memset(&info2, 0, sizeof(info2));
	info2.size = sizeof(info2);
	ASSERT_EQ(0, ioctl(fd2, CLOCKWATCH_IOC_INFO, &info2));
	close(fd2);
	ASSERT_EQ(CLOCKWATCH_EV_OVERRUN, self->evs[0].type);
	lost = self->evs[0].overrun.lost;
	TH_LOG("overrun record: lost %llu from %llu; %d records after it",
	       lost, (unsigned long long)self->evs[0].overrun.first_lost_seq,
	       n - 1);
	ASSERT_EQ(cursor, self->evs[0].overrun.first_lost_seq);
	/* exactly the records the ring no longer held when read */
	ASSERT_LE(head - info.ring_entries - cursor, lost);
	ASSERT_EQ(cursor + lost, self->evs[1].seq);
	/*
	 * Then every record in order, none doubled.  A reader at the tail
	 * of the ring loses the next record to any emitter that overtakes
	 * it while it reads: a later OVERRUN is allowed only when records
	 * came during the drain, and must be exact too.
	 */
	next = cursor + lost;
	for (i = 1; i < n; i++) {
		const struct clockwatch_event *e = &self->evs[i];

		if (e->type == CLOCKWATCH_EV_OVERRUN) {
			ASSERT_EQ(next, e->overrun.first_lost_seq);
			ASSERT_LT(0, e->overrun.lost);
			next += e->overrun.lost;
			later_lost += e->overrun.lost;
			continue;
		}
		ASSERT_EQ(next, e->seq);
		next++;
		read++;
	}
	TH_LOG("%llu read after it; %llu lost later, head %llu -> %llu while draining",
	       read, later_lost, head, (unsigned long long)info2.event_head);
	if (later_lost)
		ASSERT_LT(head, info2.event_head);
	/* It drained the ring: every record up to our writes and beyond. */
	ASSERT_EQ(info2.cursor, next);
	ASSERT_LE(head, next);
	ASSERT_LE(next, info2.event_head);
}

#define WAKE_RECORDS	200

struct waiter {
	int fd;
	bool use_poll;		/* else a blocking read() */
	int seen;		/* this test's records taken; atomic */
	int timeouts;		/* poll() said nothing while a record waited */
	int errors;
};

/* Take records until all WAKE_RECORDS of this test's came. */
static void *waiter(void *p)
{
	struct waiter *w = p;
	struct clockwatch_event evs[64];
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	struct clockwatch_info info = { .size = sizeof(info) };
	ssize_t n, i;

	while (__atomic_load_n(&w->seen, __ATOMIC_ACQUIRE) < WAKE_RECORDS) {
		if (w->use_poll && poll(&pfd, 1, 5000) == 0) {
			if (!ioctl(w->fd, CLOCKWATCH_IOC_INFO, &info) &&
			    info.event_head != info.cursor)
				w->timeouts++;
			continue;
		}
		n = read(w->fd, evs, sizeof(evs));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			w->errors++;
			break;
		}
		for (i = 0; i < n / (ssize_t)sizeof(evs[0]); i++)
			if (evs[i].pid == getpid() &&
			    ((evs[i].type == CLOCKWATCH_EV_NTP_ADJUST &&
			      evs[i].ntp_adjust.after.esterror_us >= 700000) ||
			     evs[i].type == CLOCKWATCH_EV_INJECT))
				__atomic_add_fetch(&w->seen, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Have both waiters taken record @i of this test's (counting from 0)? */
static bool both_took(struct waiter *w, int i)
{
	return __atomic_load_n(&w[0].seen, __ATOMIC_ACQUIRE) > i &&
	       __atomic_load_n(&w[1].seen, __ATOMIC_ACQUIRE) > i;
}

/*
 * One record: an adjtimex write (a kretprobe's, not preemptible), or
 * with the injector every other one from its ioctl (preemptible).
 */
static int make_record(int inj, int i)
{
	struct clockwatch_inject_events req = { .size = sizeof(req), .count = 1 };

	if (inj >= 0 && (i & 1))
		return ioctl(inj, CLOCKWATCH_IOC_INJECT_EVENTS, &req) ? -errno : 0;
	return write_ntp(ADJ_ESTERROR, 0, 700000 + i);
}

/*
 * Readers are woken at once for the first record of a tick and on the
 * next tick for the records after it.  Each of 200 records is made as
 * soon as a poll() and a blocking read() have both taken the one
 * before, so most come in the tick of the previous wake-up: each must
 * still wake both, with no poll() timing out while a record waits.  The
 * records come from both kinds of emitter: adjtimex writes, and the
 * injector's ioctl (its debugfs file) when the module was loaded with
 * inject=1.
 */
TEST_F(ev, wakes_for_every_record_in_a_tick)
{
	struct waiter w[2] = {
		{ .use_poll = true },
		{ .use_poll = false },
	};
	struct clockwatch_inject_events probe = { .size = sizeof(probe), .count = 1 };
	pthread_t th[2];
	long long t0, t;
	bool injector;
	int i, k, in_turn, inj;

	CW_REQUIRE_DESTRUCTIVE();
	/* Before the readers open: they would count this record. */
	inj = open(CLOCKWATCH_INJECT_PATH, O_RDWR | O_CLOEXEC);
	injector = inj >= 0 && !ioctl(inj, CLOCKWATCH_IOC_INJECT_EVENTS, &probe);
	if (!injector && inj >= 0) {
		close(inj);
		inj = -1;
	}
	for (k = 0; k < 2; k++) {
		w[k].fd = open(CLOCKWATCH_DEVICE,
			       O_RDONLY | (w[k].use_poll ? O_NONBLOCK : 0));
		ASSERT_LE(0, w[k].fd);
		ASSERT_EQ(0, pthread_create(&th[k], NULL, waiter, &w[k]));
	}
	t0 = cw_clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < WAKE_RECORDS; i++) {
		ASSERT_EQ(0, make_record(inj, i));
		/* 10 s: a lost wake-up, never a slow one */
		t = cw_clock_ns(CLOCK_MONOTONIC);
		while (!both_took(w, i) &&
		       cw_clock_ns(CLOCK_MONOTONIC) - t < 10 * NSEC_PER_SEC)
			usleep(50);
		if (!both_took(w, i))
			break;
	}
	in_turn = i;
	TH_LOG("%d records (%s), each taken by both readers before the next: %lld us a record",
	       in_turn, injector ? "writes and injected" : "writes",
	       (cw_clock_ns(CLOCK_MONOTONIC) - t0) / 1000 / (in_turn ? in_turn : 1));
	/* End the readers whatever happened, then judge. */
	for (; i < WAKE_RECORDS; i++)
		write_ntp(ADJ_ESTERROR, 0, 700000 + i);
	for (k = 0; k < 2; k++) {
		pthread_join(th[k], NULL);
		close(w[k].fd);
		EXPECT_EQ(0, w[k].errors);
		EXPECT_EQ(0, w[k].timeouts);
		EXPECT_EQ(WAKE_RECORDS, w[k].seen);
	}
	EXPECT_EQ(WAKE_RECORDS, in_turn);
	if (inj >= 0)
		close(inj);
}

/* An NTP write: its record has the modes, the fields, old and new. */
TEST_F(ev, ntp_adjust_record)
{
	struct timex tx = { .modes = ADJ_MAXERROR | ADJ_ESTERROR,
			    .maxerror = 123456, .esterror = 2345 };
	struct clockwatch_tasks t;
	int n, k;

	CW_REQUIRE_DESTRUCTIVE();
	drain(self->fd, self->evs, MAX_EVENTS);
	ASSERT_LE(0, adjtimex(&tx));
	/* a pure read is no event */
	tx.modes = 0;
	ASSERT_LE(0, adjtimex(&tx));
	n = drain(self->fd, self->evs, MAX_EVENTS);
	k = find(self->evs, n, CLOCKWATCH_EV_NTP_ADJUST, 0);
	ASSERT_LE(0, k);
	ASSERT_EQ(-1, find(self->evs, n, CLOCKWATCH_EV_NTP_ADJUST, k + 1));
	ASSERT_EQ(ADJ_MAXERROR | ADJ_ESTERROR, self->evs[k].ntp_adjust.modes);
	ASSERT_EQ(CLOCKWATCH_NTPF_MAXERROR | CLOCKWATCH_NTPF_ESTERROR,
		  self->evs[k].ntp_adjust.written);
	ASSERT_EQ(123456, self->evs[k].ntp_adjust.after.maxerror_us);
	ASSERT_EQ(2345, self->evs[k].ntp_adjust.after.esterror_us);
	ASSERT_EQ(getpid(), self->evs[k].pid);
	/*
	 * This process wrote maxerror: it is the sync daemon now, and its
	 * first update does not make the clock synchronized (a daemon may
	 * write a placeholder as it starts); its second, 150 ms on, does.
	 */
	ASSERT_EQ(0, cw_tasks(self->fd, &t));
	ASSERT_EQ(getpid(), t.daemon_pid);
	ASSERT_EQ(self->page->daemon_count, t.daemon_count);
	ASSERT_NE(0, t.daemon_count);
	ASSERT_EQ(123456, self->page->maxerror_us);
	ASSERT_EQ(CLOCKWATCH_SYNC_UNSYNCHRONIZED, self->page->sync_state);
	ASSERT_EQ(CLOCKWATCH_SYNC_R_DAEMON_FIRST, self->page->sync_reason);
	usleep(150000);
	tx.modes = ADJ_MAXERROR | ADJ_ESTERROR;
	tx.maxerror = 123456;
	tx.esterror = 2345;
	ASSERT_LE(0, adjtimex(&tx));
	ASSERT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, self->page->sync_state);
}

/*
 * Sync state: a step by another process disrupts, the daemon recovers.
 * Every disruption moves page->disruption_count, also one while the
 * state is DISRUPTED already; the daemon's own updates and steps do not.
 */
TEST_F(ev, sync_state_from_evidence)
{
	struct clockwatch_page c;
	struct clockwatch_tasks t;
	unsigned long long count, daemons;
	int n, k, s;

	CW_REQUIRE_DESTRUCTIVE();
	/* Two updates: the daemon's first alone is not trusted. */
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 50000, 0));
	usleep(150000);
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 50000, 0));
	ASSERT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, self->page->sync_state);
	cw_page_copy(self->page, &c);
	count = c.disruption_count;
	daemons = c.daemon_count;
	/* The daemon's update: no disruption, no new daemon. */
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 50000, 0));
	cw_page_copy(self->page, &c);
	ASSERT_EQ(count, c.disruption_count);
	ASSERT_EQ(daemons, c.daemon_count);
	drain(self->fd, self->evs, MAX_EVENTS);
	/* "date" steps: not the daemon */
	ASSERT_EQ(0, system("date -s '+1 seconds' >/dev/null"));
	self->unstep_ns -= NSEC_PER_SEC;
	cw_page_copy(self->page, &c);
	ASSERT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c.sync_state);
	ASSERT_EQ(CLOCKWATCH_SYNC_R_FOREIGN_STEP, c.sync_reason);
	ASSERT_EQ(count + 1, c.disruption_count);
	ASSERT_EQ(0, c.last_step_flags & CLOCKWATCH_STEPF_DAEMON);
	n = drain(self->fd, self->evs, MAX_EVENTS);
	s = find(self->evs, n, CLOCKWATCH_EV_STEP, 0);
	ASSERT_LE(0, s);
	ASSERT_STREQ("date", self->evs[s].comm);
	ASSERT_EQ(0, self->evs[s].step.flags & CLOCKWATCH_STEPF_DAEMON);
	/* The page names no process; the ioctl does: "date" has exited. */
	ASSERT_EQ(0, cw_tasks(self->fd, &t));
	ASSERT_EQ(0, t.last_step_pid);
	ASSERT_EQ(0, t.last_step_comm[0]);
	ASSERT_EQ(getpid(), t.daemon_pid);
	k = find(self->evs, n, CLOCKWATCH_EV_DISRUPTION, 0);
	ASSERT_LE(0, k);
	ASSERT_EQ(CLOCKWATCH_SYNC_DISRUPTED, self->evs[k].disruption.new_state);
	/*
	 * Made inside the timekeeper with the step: the step's times, not
	 * a REALTIME read whose base is still the one before the step.
	 */
	ASSERT_EQ(self->evs[s].mono_ns, self->evs[k].mono_ns);
	ASSERT_EQ(self->evs[s].real_ns, self->evs[k].real_ns);
	ASSERT_EQ(self->evs[s].raw_ns, self->evs[k].raw_ns);
	/* A second foreign step while DISRUPTED: counted, no new record. */
	ASSERT_EQ(0, system("date -s '-1 seconds' >/dev/null"));
	self->unstep_ns += NSEC_PER_SEC;
	cw_page_copy(self->page, &c);
	ASSERT_EQ(CLOCKWATCH_SYNC_DISRUPTED, c.sync_state);
	ASSERT_EQ(count + 2, c.disruption_count);
	n = drain(self->fd, self->evs, MAX_EVENTS);
	ASSERT_LE(0, find(self->evs, n, CLOCKWATCH_EV_STEP, 0));
	ASSERT_EQ(-1, find(self->evs, n, CLOCKWATCH_EV_DISRUPTION, 0));
	/*
	 * The daemon's first update after it does not end it, the second
	 * (writes 150 ms apart: two updates) does.
	 */
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 50000, 0));
	ASSERT_EQ(CLOCKWATCH_SYNC_DISRUPTED, self->page->sync_state);
	usleep(150000);
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 50000, 0));
	ASSERT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, self->page->sync_state);
	/* a step by the daemon itself does not disrupt */
	ASSERT_EQ(0, cw_step_setoffset(-NSEC_PER_SEC));
	self->unstep_ns += NSEC_PER_SEC;
	cw_page_copy(self->page, &c);
	ASSERT_EQ(CLOCKWATCH_SYNC_SYNCHRONIZED, c.sync_state);
	ASSERT_EQ(count + 2, c.disruption_count);
	ASSERT_EQ(CLOCKWATCH_STEPF_DAEMON, c.last_step_flags & CLOCKWATCH_STEPF_DAEMON);
	ASSERT_EQ(0, cw_tasks(self->fd, &t));
	ASSERT_EQ(getpid(), t.last_step_pid);
	ASSERT_EQ(c.step_seq, t.step_seq);
	/* the kernel's unsynchronised limit */
	ASSERT_EQ(0, write_ntp(ADJ_MAXERROR, 16000000, 0));
	ASSERT_EQ(CLOCKWATCH_SYNC_UNSYNCHRONIZED, self->page->sync_state);
}

/* +100 ppm: the measured rate within 2 ppm within 5 s. */
TEST_F(ev, freq_measured_100ppm)
{
	struct timex tx = { .modes = ADJ_FREQUENCY, .freq = 100 << 16 };
	struct clockwatch_page c;
	long long set_raw, deadline;
	int ok = 0;

	CW_REQUIRE_DESTRUCTIVE();
	if (!(self->page->features & CLOCKWATCH_FEAT_FREQ))
		SKIP(return, "no frequency measurement");
	long long sig, new_samples = 0;

	ASSERT_LE(0, adjtimex(&tx));
	set_raw = cw_clock_ns(CLOCK_MONOTONIC_RAW);
	deadline = set_raw + 5 * NSEC_PER_SEC;
	cw_page_copy(self->page, &c);
	sig = c.freq_long_window_raw_ns ^ c.freq_short_window_raw_ns;
	while (cw_clock_ns(CLOCK_MONOTONIC_RAW) < deadline) {
		usleep(50000);
		cw_page_copy(self->page, &c);
		/*
		 * A new sample since the last look; the second one closes a
		 * short window that began with the first, after the change.
		 */
		if ((c.freq_long_window_raw_ns ^ c.freq_short_window_raw_ns) != sig) {
			sig = c.freq_long_window_raw_ns ^ c.freq_short_window_raw_ns;
			new_samples++;
		}
		if (new_samples < 2)
			continue;
		TH_LOG("measured %lld ppb over %lld ns",
		       (long long)c.freq_short_ppb,
		       (long long)c.freq_short_window_raw_ns);
		ASSERT_LE(llabs(c.freq_short_ppb - 100000), 2000);
		ok = 1;
		break;
	}
	ASSERT_TRUE(ok);
}

/*
 * A 50 ms ADJ_OFFSET (PLL) slew: slew_pending_ns starts at 50 ms and
 * falls, and what it says was slewed matches what the test measures the
 * clock to have gained against MONOTONIC_RAW at the frequency set.
 */
TEST_F(ev, slew_progress_50ms)
{
	struct timex tx = { .modes = ADJ_OFFSET | ADJ_STATUS | ADJ_NANO |
				     ADJ_TIMECONST | ADJ_FREQUENCY,
			    .offset = 50 * NSEC_PER_MSEC, .status = STA_PLL,
			    .constant = 0, .freq = 0 };
	struct clockwatch_page c;
	long long mono0, raw0, prev = 50 * NSEC_PER_MSEC + 1;
	long long gained, done, per_s = 0, age, tolerance;
	unsigned long long missed;
	double rate;
	int i;

	CW_REQUIRE_DESTRUCTIVE();
	/*
	 * A call the kretprobe could not catch is counted in ntp_missed,
	 * not lost silently; the slew is what this test is about, so make
	 * such a call again.
	 */
	for (i = 0; i < 3; i++) {
		missed = self->page->ntp_missed;
		tx.modes = ADJ_OFFSET | ADJ_STATUS | ADJ_NANO | ADJ_TIMECONST |
			   ADJ_FREQUENCY;
		tx.offset = 50 * NSEC_PER_MSEC;
		tx.status = STA_PLL;
		tx.constant = 0;
		tx.freq = 0;
		ASSERT_LE(0, adjtimex(&tx));
		mono0 = cw_clock_ns(CLOCK_MONOTONIC);
		raw0 = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		cw_page_copy(self->page, &c);
		if (c.ntp_missed == missed)
			break;
		TH_LOG("the adjtimex() probe missed the call (%llu missed): again",
		       (unsigned long long)c.ntp_missed);
	}
	/* the PLL set a frequency too: slewing is what goes beyond it */
	rate = tx.freq / 65536.0 * 1e-6;
	TH_LOG("after the call: pending %lld ns, freq %.3f ppm, offset returned %ld ns",
	       (long long)c.slew_pending_ns, rate * 1e6, (long)tx.offset);
	ASSERT_LE(llabs(c.slew_pending_ns - 50 * NSEC_PER_MSEC), NSEC_PER_MSEC);
	for (i = 0; i < 6; i++) {
		sleep(1);
		cw_page_copy(self->page, &c);
		TH_LOG("t+%d s: pending %lld ns", i + 1,
		       (long long)c.slew_pending_ns);
		ASSERT_LE(c.slew_pending_ns, prev);
		if (prev - c.slew_pending_ns > per_s)
			per_s = prev - c.slew_pending_ns;
		prev = c.slew_pending_ns;
	}
	ASSERT_LT(c.slew_pending_ns, 45 * NSEC_PER_MSEC);
	/* the test's own measurement, at the page's last sample */
	gained = (c.clocks.monotonic_ns - mono0) - (c.clocks.monotonic_raw_ns - raw0) -
		 (long long)((c.clocks.monotonic_raw_ns - raw0) * rate);
	done = 50 * NSEC_PER_MSEC - c.slew_pending_ns;
	/*
	 * The page's figure is as of its last once-a-second sample
	 * (slew_mono_ns), the test's as of the clocks' refresh: allow for
	 * what slewed in between, at the fastest rate of a second seen.
	 */
	age = c.clocks.monotonic_ns - c.slew_mono_ns;
	tolerance = NSEC_PER_MSEC + per_s * age / NSEC_PER_SEC;
	TH_LOG("slewed by the page %lld ns, measured by the test %lld ns "
	       "(page figure %lld ms older, tolerance %lld ns)",
	       done, gained, age / NSEC_PER_MSEC, tolerance);
	ASSERT_GE(age, 0);
	ASSERT_LE(age, 2 * NSEC_PER_SEC);
	ASSERT_LE(llabs(done - gained), tolerance);
}

/*
 * A leap second, as tools/testing/selftests/timers/leap-a-day.c makes
 * one: the clock set to 23:59:57 UTC, STA_INS (or STA_DEL) armed.  At
 * midnight the kernel inserts 23:59:60: a step of -1 s with cause
 * LEAP_INSERT and no caller, TAI unchanged, and time_state goes from
 * TIME_INS to TIME_OOP.  A deleted one skips 23:59:59: +1 s, LEAP_DELETE,
 * and time_state goes from TIME_DEL straight to TIME_WAIT (there is no
 * second to be "in"; second_overflow() in kernel/time/ntp.c).  The LEAP
 * record comes with the STEP record's times.
 */
static void leap_second(struct __test_metadata *_metadata,
			FIXTURE_DATA(ev) *self, bool insert)
{
	struct timex tx = {};
	long long real0 = cw_clock_ns(CLOCK_REALTIME), mono0 = cw_clock_ns(CLOCK_MONOTONIC);
	long long midnight, mono_end, delta = insert ? -NSEC_PER_SEC : NSEC_PER_SEC;
	unsigned int cause = insert ? CLOCKWATCH_STEP_LEAP_INSERT : CLOCKWATCH_STEP_LEAP_DELETE;
	unsigned int pending = insert ? CLOCKWATCH_LEAP_INSERT : CLOCKWATCH_LEAP_DELETE;
	struct timespec ts;
	int n, k, kl, armed = 0;

	drain(self->fd, self->evs, MAX_EVENTS);
	midnight = (real0 / NSEC_PER_SEC / 86400 + 1) * 86400;
	ts.tv_sec = midnight - 3;
	ts.tv_nsec = 0;
	ASSERT_EQ(0, clock_settime(CLOCK_REALTIME, &ts));
	tx.modes = ADJ_STATUS;
	tx.status = insert ? STA_INS : STA_DEL;
	ASSERT_LE(0, adjtimex(&tx));
	ASSERT_EQ(pending, self->page->leap_pending);

	mono_end = cw_clock_ns(CLOCK_MONOTONIC) + 8 * NSEC_PER_SEC;
	while (cw_clock_ns(CLOCK_MONOTONIC) < mono_end) {
		usleep(200000);
		tx.modes = 0;
		adjtimex(&tx);
		if (tx.time.tv_sec >= midnight + 1)
			break;
	}
	n = drain(self->fd, self->evs, MAX_EVENTS);
	/* clear the leap, then put the clock back where it would be */
	tx.modes = ADJ_STATUS;
	tx.status = 0;
	adjtimex(&tx);
	{
		long long back = real0 + (cw_clock_ns(CLOCK_MONOTONIC) - mono0);

		ts.tv_sec = back / NSEC_PER_SEC;
		ts.tv_nsec = back % NSEC_PER_SEC;
		clock_settime(CLOCK_REALTIME, &ts);
	}

	for (k = -1, kl = 0; kl < n; kl++) {
		if (self->evs[kl].type == CLOCKWATCH_EV_LEAP &&
		    self->evs[kl].leap.leap_pending == pending)
			armed = 1;
		if (self->evs[kl].type == CLOCKWATCH_EV_STEP &&
		    self->evs[kl].step.cause == cause)
			k = kl;
	}
	ASSERT_TRUE(armed);
	ASSERT_LE(0, k);
	TH_LOG("leap step %lld ns at real %lld (midnight %lld)",
	       (long long)self->evs[k].step.delta_ns,
	       (long long)self->evs[k].real_ns, midnight * NSEC_PER_SEC);
	ASSERT_EQ(delta, self->evs[k].step.delta_ns);
	ASSERT_EQ(-delta, self->evs[k].step.tai_delta_ns);
	ASSERT_EQ(0, self->evs[k].flags & CLOCKWATCH_EVF_TASK);
	/*
	 * Inserted: REALTIME went from just past midnight back to 23:59:59.x;
	 * deleted: from just past 23:59:59 on to midnight.
	 */
	ASSERT_LE(llabs(self->evs[k].step.real_before_ns -
			(insert ? midnight : midnight - 1) * NSEC_PER_SEC),
		  100 * NSEC_PER_MSEC);
	kl = find(self->evs, n, CLOCKWATCH_EV_LEAP, k);
	ASSERT_LE(0, kl);
	ASSERT_EQ(insert ? TIME_INS : TIME_DEL, self->evs[kl].leap.old_state);
	ASSERT_EQ(insert ? TIME_OOP : TIME_WAIT, self->evs[kl].leap.new_state);
	ASSERT_EQ(CLOCKWATCH_LEAP_NONE, self->evs[kl].leap.leap_pending);
	ASSERT_EQ(self->evs[k].mono_ns, self->evs[kl].mono_ns);
	ASSERT_EQ(self->evs[k].real_ns, self->evs[kl].real_ns);
	ASSERT_EQ(self->evs[k].raw_ns, self->evs[kl].raw_ns);
}

TEST_F(ev, leap_second_insert)
{
	CW_REQUIRE_DESTRUCTIVE();
	leap_second(_metadata, self, true);
}

TEST_F(ev, leap_second_delete)
{
	CW_REQUIRE_DESTRUCTIVE();
	leap_second(_metadata, self, false);
}

TEST_HARNESS_MAIN
