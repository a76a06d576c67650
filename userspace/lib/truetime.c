// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the TrueTime-shaped API over the bound: now(), after(),
 * before(), commit wait and waiting for synchronization.
 *
 * after(t) and before(t) mean what Spanner's TT.after() and TT.before()
 * mean: t has definitely passed, t has definitely not arrived.  Without
 * a bound neither is ever definite, so both answer 0.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "facts.h"
#include "kernel_facts.h"

/* How often the waits look again while there is no bound, ns. */
#define WAIT_POLL_NS		10000000LL

/*
 * The page update the last slow now() settled, for the calls that follow
 * until the page's counter moves.  @seq is a sequence counter over
 * @settled: odd while one thread rewrites it.  That thread took the odd
 * value by compare-and-swap, so there is one writer at a time; the others
 * do not wait for it and take the slow path meanwhile.  Readers work from
 * @settled in place and keep the result when @seq was even and unchanged
 * around their reads.
 *
 * For the copy to answer for another page update, the page's counter
 * would have to come round to the same value (2^31 updates) within the
 * 3 s cw_page_time() leans on the snapshot.
 */
struct cw_cache {
	__u32 seq;
	struct cw_settled settled;
};

struct cw_clock {
	struct cw_reader *reader;
	const struct clockwatch_page *page;
	__u64 max_drift_ppb;
	enum cw_read_mode mode;
	__s64 raw_offset_ns;		/* the opener's time-namespace offset */
	bool adjtimex;			/* CW_CLOCK_ADJTIMEX: no page */
	/*
	 * The daemon's update interval as this process saw it, for a page
	 * that does not publish it: MONOTONIC_RAW between two different
	 * maxerror writes seen.  Relaxed atomics: now() may run on many
	 * threads at once.
	 */
	__s64 seen_anchor_ns;
	__s64 seen_interval_ns;
	struct cw_cache cache;		/* page-time clocks only */
};

/*
 * The options as libbpf reads its opts: a field the caller's @sz does not
 * cover takes its default, and a larger struct than this library knows is
 * fine while the bytes it does not know are zero.
 */
#define OPTS_HAS(opts, field)						\
	((opts)->sz >= __builtin_offsetof(struct cw_clock_opts, field) +	\
		       sizeof((opts)->field))
#define OPTS_GET(opts, field, def)	(OPTS_HAS(opts, field) ? (opts)->field : (def))

static bool opts_valid(const struct cw_clock_opts *opts)
{
	const char *extra = (const char *)opts + sizeof(*opts);
	__u64 drift, i;
	__u32 flags;

	if (opts->sz < sizeof(opts->sz))
		return false;
	for (i = 0; opts->sz > sizeof(*opts) && i < opts->sz - sizeof(*opts); i++)
		if (extra[i])
			return false;
	drift = OPTS_GET(opts, max_drift_ppb, 0);
	flags = OPTS_GET(opts, flags, 0);
	if (flags & ~(CW_CLOCK_BRACKETED | CW_CLOCK_ADJTIMEX) ||
	    OPTS_GET(opts, __reserved, 0) || drift >= 1000000000ULL)
		return false;
	/* Without the module the kernel's 500 ppm is the only drift term. */
	return !(flags & CW_CLOCK_ADJTIMEX) || drift <= CW_KERNEL_GROWTH_PPB;
}

struct cw_clock *cw_clock__open(const char *path, const struct cw_clock_opts *opts)
{
	struct cw_clock *clock;
	__u64 drift;
	__u32 flags;
	int err;

	if (opts && !opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}

	drift = opts ? OPTS_GET(opts, max_drift_ppb, 0) : 0;
	flags = opts ? OPTS_GET(opts, flags, 0) : 0;

	clock = calloc(1, sizeof(*clock));
	if (!clock)
		return NULL;
	if (flags & CW_CLOCK_ADJTIMEX) {
		clock->adjtimex = true;
		clock->max_drift_ppb = CW_KERNEL_GROWTH_PPB;
		return clock;
	}
	clock->reader = cw_reader__open(path);
	if (!clock->reader) {
		err = errno;
		free(clock);
		errno = err;
		return NULL;
	}
	clock->page = cw_reader_page(clock->reader);
	clock->raw_offset_ns = cw_reader_timens(clock->reader)->monotonic_ns;
	clock->max_drift_ppb = CW_MAX_DRIFT_PPB_DEFAULT;
	clock->mode = CW_READ_PAGE_TIME;
	if (drift)
		clock->max_drift_ppb = drift;
	if (flags & CW_CLOCK_BRACKETED)
		clock->mode = CW_READ_BRACKETED;
	clock->cache.settled.seq = 1;	/* odd: no page copy holds it */
	return clock;
}

/* Learn the daemon's update interval from the writes this process saw. */
static void observe_interval(struct cw_clock *clock, struct cw_facts *f)
{
	__s64 seen = __atomic_load_n(&clock->seen_anchor_ns, __ATOMIC_RELAXED);

	if (f->anchor_raw_ns && f->anchor_raw_ns != seen) {
		if (seen && f->anchor_raw_ns > seen)
			__atomic_store_n(&clock->seen_interval_ns,
					 f->anchor_raw_ns - seen, __ATOMIC_RELAXED);
		__atomic_store_n(&clock->seen_anchor_ns, f->anchor_raw_ns,
				 __ATOMIC_RELAXED);
	}
	if (!f->interval_ns)
		f->interval_ns = __atomic_load_n(&clock->seen_interval_ns,
						 __ATOMIC_RELAXED);
}

static void set_unknown(struct cw_now *now, __u32 reason)
{
	memset(now, 0, sizeof(*now));
	now->status = CW_STATUS_UNKNOWN;
	now->reason = reason;
	now->bound_ns = CW_BOUND_INFINITE;
	now->earliest_ns = INT64_MIN;
	now->latest_ns = INT64_MAX;
}

/* Settle the facts' page update for the calls after this one. */
static void cache_fill(struct cw_cache *cache, const struct cw_facts *f,
		       __u64 max_drift_ppb)
{
	struct cw_settled s;
	__u32 seq;

	if (!cw_settle(f, max_drift_ppb, &s))
		return;
	seq = CW_READ_ONCE(cache->seq);
	if ((seq & 1) || CW_READ_ONCE(cache->settled.seq) == s.seq)
		return;		/* being filled, or already holds it */
	if (!__atomic_compare_exchange_n(&cache->seq, &seq, seq + 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	/* Orders the odd value before the new contents. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	cw_settled_store(&cache->settled, &s);
	/* Orders the new contents before the even value. */
	__atomic_store_n(&cache->seq, seq + 2, __ATOMIC_RELEASE);
}

/*
 * now() from the settled facts: one REALTIME read while the page's counter
 * still holds the cached value.  false when they do not answer (the page
 * changed, the cache is being filled, a case only the slow path handles);
 * *now is then the slow path's to fill.
 */
static bool now_cached(struct cw_clock *clock, struct cw_now *now)
{
	struct cw_cache *cache = &clock->cache;
	struct timespec real;
	__u32 seq, page_seq;
	bool answered;

	/* Pairs with the release store that ends a fill. */
	seq = __atomic_load_n(&cache->seq, __ATOMIC_ACQUIRE);
	if (seq & 1)
		return false;
	page_seq = CW_READ_ONCE(cache->settled.seq);
	if (!cw_read_real_at(clock->page, page_seq, &real))
		return false;
	/* From the cache in place: no copy to make first. */
	answered = cw_bound_settled(&cache->settled, &real,
				    clock->max_drift_ppb, now);
	/* Pairs with the fence after a fill's compare-and-swap. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return answered && CW_READ_ONCE(cache->seq) == seq;
}

/* Apart from the fast path, which it would burden with its stack frame. */
static __attribute__((noinline))
int now_slow(struct cw_clock *clock, struct cw_now *now)
{
	struct cw_facts f;
	int err;

	err = cw_facts_read(clock->page, clock->mode, clock->raw_offset_ns, &f);
	if (err) {
		set_unknown(now, err == -EAGAIN ? CW_REASON_PAGE_TORN :
						  CW_REASON_PAGE_OLD);
		return cw_err(err);
	}
	observe_interval(clock, &f);
	cw_bound_compute(&f, clock->max_drift_ppb, now);
	if (clock->mode == CW_READ_PAGE_TIME)
		cache_fill(&clock->cache, &f, clock->max_drift_ppb);
	if (now->reason == CW_REASON_PAGE_STALE)
		return cw_err(-ESTALE);
	return 0;
}

/* now() without the module: one adjtimex() call, the rules of kernel_facts.c. */
static int now_adjtimex(struct cw_now *now)
{
	struct timex tx = { .modes = 0 };
	int state = adjtimex(&tx);

	if (state < 0) {
		state = -errno;
		set_unknown(now, CW_REASON_PAGE_OLD);
		now->flags = CW_NOW_ADJTIMEX;
		return cw_err(state);
	}
	cw_bound_timex(&tx, state, now);
	return 0;
}

int cw_clock__now(struct cw_clock *clock, struct cw_now *now)
{
	if (!now)
		return cw_err(-EINVAL);
	if (!clock) {
		set_unknown(now, CW_REASON_PAGE_OLD);
		return cw_err(-EINVAL);
	}
	if (clock->adjtimex)
		return now_adjtimex(now);
	if (clock->mode == CW_READ_PAGE_TIME && now_cached(clock, now))
		return 0;
	return now_slow(clock, now);
}

static bool bounded(const struct cw_now *now)
{
	return now->status == CW_STATUS_SYNCHRONIZED ||
	       now->status == CW_STATUS_FREE_RUNNING;
}

/* now() for after() and before(): the page's own troubles are no error. */
static int now_for_compare(struct cw_clock *clock, struct cw_now *now)
{
	int err = cw_clock__now(clock, now);

	if (err == -EAGAIN || err == -ESTALE)
		return 0;	/* UNKNOWN: nothing is definite */
	return err;
}

int cw_clock__after(struct cw_clock *clock, __s64 t_ns)
{
	struct cw_now now;
	int err = now_for_compare(clock, &now);

	if (err)
		return err;
	return bounded(&now) && t_ns < now.earliest_ns;
}

int cw_clock__before(struct cw_clock *clock, __s64 t_ns)
{
	struct cw_now now;
	int err = now_for_compare(clock, &now);

	if (err)
		return err;
	return bounded(&now) && t_ns > now.latest_ns;
}

static __s64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * CW_NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * Sleep ns on CLOCK_MONOTONIC (steps do not move it), at most until
 * deadline (0: none); 0, or -ETIMEDOUT when the deadline had passed.  A
 * signal cuts the sleep short with 0: the caller looks again and sleeps
 * on.
 */
static int sleep_until_deadline(__s64 ns, __s64 deadline)
{
	struct timespec ts;
	__s64 left;
	int err;

	if (deadline) {
		left = deadline - mono_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (ns > left)
			ns = left;
	}
	if (ns < 1)
		ns = 1;
	ts.tv_sec = ns / CW_NSEC_PER_SEC;
	ts.tv_nsec = ns % CW_NSEC_PER_SEC;
	err = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	return err && err != EINTR ? -err : 0;
}

static int wait_args(const struct cw_clock *clock, __s64 timeout_ns, __s64 *deadline)
{
	if (!clock || (timeout_ns < 0 && timeout_ns != CW_WAIT_FOREVER))
		return -EINVAL;
	*deadline = 0;		/* none */
	if (timeout_ns != CW_WAIT_FOREVER)
		*deadline = mono_ns() + timeout_ns;
	if (timeout_ns != CW_WAIT_FOREVER && *deadline == 0)
		*deadline = 1;
	return 0;
}

int cw_clock__wait_until(struct cw_clock *clock, __s64 t_ns, __s64 timeout_ns)
{
	struct cw_now now;
	__s64 deadline, ns;
	int err;

	err = wait_args(clock, timeout_ns, &deadline);
	if (err)
		return cw_err(err);
	for (;;) {
		err = now_for_compare(clock, &now);
		if (err)
			return err;
		if (bounded(&now) && t_ns < now.earliest_ns)
			return 0;
		/*
		 * earliest moves at REALTIME's rate less the bound's growth:
		 * sleep the distance, a little more, and look again.
		 */
		ns = WAIT_POLL_NS;
		if (bounded(&now))
			ns = t_ns - now.earliest_ns + 1000 + ((t_ns - now.earliest_ns) >> 12);
		err = sleep_until_deadline(ns, deadline);
		if (err)
			return cw_err(err);
	}
}

int cw_clock__wait_synced(struct cw_clock *clock, __s64 timeout_ns)
{
	struct cw_now now;
	__s64 deadline;
	int err;

	err = wait_args(clock, timeout_ns, &deadline);
	if (err)
		return cw_err(err);
	for (;;) {
		err = now_for_compare(clock, &now);
		if (err)
			return err;
		if (bounded(&now))
			return 0;
		err = sleep_until_deadline(WAIT_POLL_NS, deadline);
		if (err)
			return cw_err(err);
	}
}

void cw_clock__close(struct cw_clock *clock)
{
	if (!clock)
		return;
	cw_reader__close(clock->reader);
	free(clock);
}
