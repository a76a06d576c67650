// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the per-CPU stall probe.
 *
 * Each online CPU runs an absolute, pinned, hard-irq hrtimer with a fixed
 * period.  Every expiry measures how late it runs, puts that latency in
 * the CPU's histograms, and counts the periods it missed: a late expiry
 * is forwarded past now, and the periods skipped are filled into the
 * *_FILLED histograms with the latency each would have had, so the
 * histograms do not suffer from coordinated omission.  A latency at or
 * above the threshold is a stall, logged with what the kernel's counters
 * saw on the CPU meanwhile (stall_attr.c).  Optionally each expiry wakes
 * a per-CPU SCHED_FIFO thread, whose latency goes into histograms of its
 * own.  CPU hotplug starts and stops the probe on each CPU.
 *
 * Which CPUs: probe_cpus=, by default the housekeeping CPUs, those that
 * neither isolcpus= nor nohz_full= isolated.  The probe costs each CPU it
 * runs on one hard interrupt a period (1 kHz by default) and keeps its
 * tick from stopping for longer than a period when it is idle (NOHZ idle
 * still works, but only between expiries), which is why it stays off
 * the CPUs that were isolated to be left alone.
 *
 * Readers (CLOCKWATCH_IOC_CPU_STATS, which anyone may call) never block
 * the probe: they copy a CPU's counters under a sequence counter the
 * writers bump, and try again when a writer came by meanwhile.
 */

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/isolation.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/smpboot.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "clockwatch.h"
#include "stall.h"

enum {
	CW_PROBE_US_MIN		= 100,
	CW_PROBE_US_MAX		= 1000000,
	CW_PROBE_US_DEFAULT	= 1000,
	CW_THRESHOLD_US_DEFAULT	= 1000,
	/* CPU_STATS copies tried before giving up with -EAGAIN. */
	CW_SNAP_TRIES		= 1000,
};

/* ---- parameters --------------------------------------------------------- */

static bool probe = true;
module_param(probe, bool, 0444);
MODULE_PARM_DESC(probe, "Run the per-CPU stall probe (default 1)");

static unsigned int probe_period_us = CW_PROBE_US_DEFAULT;
static unsigned int stall_threshold_us = CW_THRESHOLD_US_DEFAULT;

static int probe_period_us_set(const char *val, const struct kernel_param *kp)
{
	unsigned int us;

	if (kstrtouint(val, 0, &us) || us < CW_PROBE_US_MIN || us > CW_PROBE_US_MAX)
		return -EINVAL;
	/* Paired with READ_ONCE() in cw_probe_period_ns(). */
	WRITE_ONCE(*(unsigned int *)kp->arg, us);
	return 0;
}

static const struct kernel_param_ops probe_period_us_ops = {
	.set = probe_period_us_set,
	.get = param_get_uint,
};

module_param_cb(probe_period_us, &probe_period_us_ops, &probe_period_us, 0644);
MODULE_PARM_DESC(probe_period_us,
		 "Stall probe period, us (100..1000000, default 1000); applies from the next expiry");

static int stall_threshold_us_set(const char *val, const struct kernel_param *kp)
{
	unsigned int us;

	if (kstrtouint(val, 0, &us) || us < 1)
		return -EINVAL;
	/* Paired with READ_ONCE() in cw_threshold_ns(). */
	WRITE_ONCE(*(unsigned int *)kp->arg, us);
	return 0;
}

static const struct kernel_param_ops stall_threshold_us_ops = {
	.set = stall_threshold_us_set,
	.get = param_get_uint,
};

module_param_cb(stall_threshold_us, &stall_threshold_us_ops, &stall_threshold_us, 0644);
MODULE_PARM_DESC(stall_threshold_us,
		 "A probe latency at or above this is a stall, us (default 1000)");

static bool probe_thread;
module_param(probe_thread, bool, 0644);
MODULE_PARM_DESC(probe_thread,
		 "Also measure a per-CPU SCHED_FIFO thread woken by the probe (default 0)");

/*
 * The CPUs the probe runs on: probe_cpus= as given (a CPU list), or the
 * housekeeping CPUs when not given.  Read-only once loaded.
 */
static struct cpumask cw_probe_cpus_req;	/* probe_cpus=, as parsed */
static bool cw_probe_cpus_given;		/* probe_cpus= named a CPU */
static struct cpumask cw_probe_mask;		/* in force; set by start */

static int probe_cpus_set(const char *val, const struct kernel_param *kp)
{
	int ret = cpulist_parse(val, &cw_probe_cpus_req);

	if (ret)
		return -EINVAL;
	cw_probe_cpus_given = !cpumask_empty(&cw_probe_cpus_req);
	return 0;
}

static int probe_cpus_get(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%*pbl\n", cpumask_pr_args(&cw_probe_mask));
}

static const struct kernel_param_ops probe_cpus_ops = {
	.set = probe_cpus_set,
	.get = probe_cpus_get,
};

module_param_cb(probe_cpus, &probe_cpus_ops, NULL, 0444);
MODULE_PARM_DESC(probe_cpus,
		 "CPUs to probe, a CPU list (default: the CPUs not isolated by isolcpus= or nohz_full=); reads back the CPUs in force");

static u64 cw_probe_period_ns(void)
{
	/* Paired with WRITE_ONCE() in probe_period_us_set(). */
	return (u64)READ_ONCE(probe_period_us) * NSEC_PER_USEC;
}

static u64 cw_threshold_ns(void)
{
	/* Paired with WRITE_ONCE() in stall_threshold_us_set(). */
	return (u64)READ_ONCE(stall_threshold_us) * NSEC_PER_USEC;
}

/* ---- state -------------------------------------------------------------- */

/**
 * struct cw_stall_cpu - the probe of one CPU
 * @lock:		serialises the writers: the timer's hard irq, the
 *			thread, hotplug and reset, all with irqs off;
 *			protects @snap, the thread_* fields, and with @seq
 *			the counters
 * @seq:		bumped by the writers, under @lock, around every
 *			change of the fields from @period_ns to @active, so
 *			that readers copy them without @lock
 * @period_ns:		the period the timer last ran at
 * @since_ns:		last reset or start, CLOCK_MONOTONIC
 * @first_due_ns:	due time of the first expiry since @since_ns; 0: none
 * @next_due_ns:	due time of the timer's next expiry
 * @expiries:		expiries since @since_ns
 * @missed:		periods missed since @since_ns
 * @stalls:		stalls since @since_ns
 * @thread_missed:	expiries that found the thread wake-up still pending
 * @active:		the timer runs (a probed CPU, online)
 * @hist:		CLOCKWATCH_HIST_NR histograms (enum
 *			clockwatch_hist_kind); the pointer is set before the
 *			probe starts and freed after it stopped, the
 *			contents are under @seq
 * @snap:		attribution counters at the previous expiry
 * @thread_due_ns:	due time of the oldest expiry the thread has not
 *			served yet
 * @thread_irq_lat_ns:	that expiry's own latency
 * @thread_pending:	the thread has an expiry to serve
 * @timer:		the probe; pinned to the CPU, hard irq
 * @thread:		the per-CPU thread (smpboot)
 * @cpu:		the CPU
 *
 * The histograms (10 KB a CPU) are allocated apart: a module's static
 * per-CPU area is only a few KB.
 */
struct cw_stall_cpu {
	raw_spinlock_t lock;		/* serialises writers; protects snap, thread_* */
	seqcount_raw_spinlock_t seq;	/* protects period_ns .. active and *hist */
	u64 period_ns;
	s64 since_ns;
	s64 first_due_ns;
	s64 next_due_ns;
	u64 expiries;
	u64 missed;
	u64 stalls;
	u64 thread_missed;
	bool active;
	struct clockwatch_hist *hist;

	struct clockwatch_stall_snap snap;
	s64 thread_due_ns;
	u64 thread_irq_lat_ns;
	bool thread_pending;

	struct hrtimer timer;
	struct task_struct *thread;
	unsigned int cpu;
};

static DEFINE_PER_CPU(struct cw_stall_cpu, cw_stall_cpus);

static struct clockwatch_dev *cw_dev;	/* where stall events go */
static bool cw_started;			/* the probe's state is set up */
static enum cpuhp_state cw_hp_state;
static bool cw_threads_registered;

/*
 * The log of recent stalls, all CPUs.  Stalls are rare (at most one per
 * CPU per threshold), so one lock for all CPUs costs nothing.
 */
static DEFINE_RAW_SPINLOCK(cw_log_lock);	/* protects cw_log and cw_log_seq */
static struct clockwatch_stall cw_log[CLOCKWATCH_STALL_LOG_LEN];
static u64 cw_log_seq;				/* seq of the latest stall; 0: none */

/* ---- histograms --------------------------------------------------------- */

/*
 * The buckets, as the uapi header documents them: log2 with 8 linear
 * sub-buckets; values below 8 ns have one each, the last bucket holds
 * everything from 15 * 2^36 ns on.
 */
static unsigned int cw_hist_bucket(u64 v)
{
	unsigned int e;

	if (v < 8)
		return v;
	e = fls64(v) - 1;
	if (e > 39)
		return CLOCKWATCH_HIST_BUCKETS - 1;
	return (e - 2) * 8 + ((v >> (e - 3)) & 7);
}

/* The lowest value of bucket @i, ns. */
static u64 cw_hist_bucket_lo(unsigned int i)
{
	if (i < 8)
		return i;
	return (u64)(8 + (i & 7)) << ((i >> 3) - 1);
}

/* @sum += @v, saturating at U64_MAX (the uapi's sum_ns says so). */
static void cw_sum_add(u64 *sum, u64 v)
{
	if (check_add_overflow(*sum, v, sum))
		*sum = U64_MAX;
}

/*
 * The sum of the @n values @first, @first - P, ..., @last (an arithmetic
 * series, P = (@first - @last) / (@n - 1)), saturating: an hour-long
 * stall at a 100 us period fills in some 6.5 * 10^19 ns, more than a u64.
 * @first and @last are latencies, below 2^63, so @first + @last fits.
 */
static u64 cw_series_sum(u64 first, u64 last, u64 n)
{
	u64 sum;

	/* With n odd, first - last = (n - 1) * P is even: the mean is whole. */
	if (n & 1) {
		if (check_mul_overflow(n, last + (first - last) / 2, &sum))
			return U64_MAX;
	} else if (check_mul_overflow(n / 2, first + last, &sum)) {
		return U64_MAX;
	}
	return sum;
}

/* Add one sample @v. */
static void cw_hist_add(struct clockwatch_hist *h, u64 v)
{
	if (!h->count || v < h->min_ns)
		h->min_ns = v;
	if (v > h->max_ns)
		h->max_ns = v;
	h->count++;
	cw_sum_add(&h->sum_ns, v);
	h->buckets[cw_hist_bucket(v)]++;
}

/*
 * Fill in the @missed periods of a sample @lat late at @period: their
 * latencies are lat - k * period, k = 1 .. missed.  Walk them bucket by
 * bucket, from the largest, with one division per bucket touched: a
 * 100 s stall at 100 us costs a few hundred steps, not a million.
 */
static void cw_hist_fill(struct clockwatch_hist *h, u64 lat, u64 period, u64 missed)
{
	u64 v, lo, n, last;

	if (!missed)
		return;
	v = lat - period;			/* k = 1; missed <= lat / period */
	/* The smallest filled value, for min. */
	last = lat - missed * period;
	if (!h->count || last < h->min_ns)
		h->min_ns = last;
	if (v > h->max_ns)
		h->max_ns = v;
	h->count += missed;
	cw_sum_add(&h->sum_ns, cw_series_sum(v, last, missed));

	while (missed) {
		unsigned int b = cw_hist_bucket(v);

		lo = cw_hist_bucket_lo(b);
		n = min(div64_u64(v - lo, period) + 1, missed);
		h->buckets[b] += n;
		missed -= n;
		if (!missed)
			break;
		v -= n * period;
	}
}

/*
 * Record one sample and its missed periods; caller holds sc->lock and is
 * inside sc->seq's write section.
 */
static void cw_record(struct cw_stall_cpu *sc, enum clockwatch_hist_kind kind,
		      u64 lat, u64 period, u64 missed)
{
	lockdep_assert_held(&sc->lock);
	cw_hist_add(&sc->hist[kind], lat);
	cw_hist_add(&sc->hist[kind + 1], lat);
	cw_hist_fill(&sc->hist[kind + 1], lat, period, missed);
}

/* Forget all counts; caller holds sc->lock, inside sc->seq's write section. */
static void cw_stall_cpu_clear(struct cw_stall_cpu *sc, s64 now)
{
	lockdep_assert_held(&sc->lock);
	memset(sc->hist, 0, CLOCKWATCH_HIST_NR * sizeof(*sc->hist));
	sc->since_ns = now;
	sc->first_due_ns = 0;
	sc->expiries = 0;
	sc->missed = 0;
	sc->stalls = 0;
	sc->thread_missed = 0;
}

/* ---- stalls ------------------------------------------------------------- */

/* Append @st to the log, giving it its sequence number. */
static void cw_log_stall(struct clockwatch_stall *st)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&cw_log_lock, flags);
	st->seq = ++cw_log_seq;
	cw_log[st->seq % CLOCKWATCH_STALL_LOG_LEN] = *st;
	raw_spin_unlock_irqrestore(&cw_log_lock, flags);
}

/*
 * A stall ended: fill in @st from the counters at the previous expiry and
 * now, log it, and publish it.  Caller holds sc->lock.
 */
static void cw_stall(struct cw_stall_cpu *sc, struct clockwatch_stall *st,
		     const struct clockwatch_stall_snap *now_snap)
{
	lockdep_assert_held(&sc->lock);
	st->cpu = sc->cpu;
	st->period_ns = sc->period_ns;
	clockwatch_stall_attribute(st, &sc->snap, now_snap);
	sc->stalls++;
	cw_log_stall(st);
}

/* ---- the probe ---------------------------------------------------------- */

/* The probe's expiry; hard irq, on sc->cpu. */
static enum hrtimer_restart cw_probe_fn(struct hrtimer *timer)
{
	struct cw_stall_cpu *sc = container_of(timer, struct cw_stall_cpu, timer);
	struct clockwatch_stall st;
	struct clockwatch_stall_snap snap;
	s64 due = ktime_to_ns(hrtimer_get_expires(timer));
	s64 now = ktime_get_ns();
	u64 period = cw_probe_period_ns();
	u64 lat = now > due ? now - due : 0;
	u64 missed;
	bool stalled, wake = false;

	/*
	 * Forward past now: the number of periods added, less the one that
	 * is this expiry's own, were due meanwhile and missed.
	 */
	missed = hrtimer_forward(timer, ns_to_ktime(now), ns_to_ktime(period));
	missed = missed ? missed - 1 : 0;
	clockwatch_stall_snap_take(&snap);
	stalled = lat >= cw_threshold_ns();

	memset(&st, 0, sizeof(st));
	raw_spin_lock(&sc->lock);
	write_seqcount_begin(&sc->seq);
	sc->period_ns = period;
	if (!sc->first_due_ns)
		sc->first_due_ns = due;
	sc->next_due_ns = ktime_to_ns(hrtimer_get_expires(timer));
	sc->expiries++;
	sc->missed += missed;
	cw_record(sc, CLOCKWATCH_HIST_IRQ, lat, period, missed);
	if (stalled) {
		st.context = CLOCKWATCH_STALL_IRQ;
		st.start_ns = due;
		st.duration_ns = lat;
		st.missed = missed;
		cw_stall(sc, &st, &snap);
	}
	write_seqcount_end(&sc->seq);
	sc->snap = snap;
	if (READ_ONCE(probe_thread) && sc->thread) {
		if (sc->thread_pending) {
			sc->thread_missed++;
		} else {
			sc->thread_pending = true;
			sc->thread_due_ns = due;
			sc->thread_irq_lat_ns = lat;
		}
		wake = true;
	}
	raw_spin_unlock(&sc->lock);

	if (stalled)
		clockwatch_stall_publish(cw_dev, &st);
	if (wake)
		wake_up_process(sc->thread);
	return HRTIMER_RESTART;
}

/* ---- the thread --------------------------------------------------------- */

static DEFINE_PER_CPU(struct task_struct *, cw_thread);

static int cw_thread_should_run(unsigned int cpu)
{
	struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);

	/* Paired with the store under sc->lock in cw_probe_fn(). */
	return READ_ONCE(sc->thread_pending);
}

/* The thread ran: its latency is from the due time of what woke it. */
static void cw_thread_fn(unsigned int cpu)
{
	struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);
	struct clockwatch_stall st;
	struct clockwatch_stall_snap snap;
	s64 now = ktime_get_ns();
	bool stalled = false;
	u64 lat, missed;

	memset(&st, 0, sizeof(st));
	raw_spin_lock_irq(&sc->lock);
	if (!sc->thread_pending) {
		raw_spin_unlock_irq(&sc->lock);
		return;
	}
	sc->thread_pending = false;
	write_seqcount_begin(&sc->seq);
	lat = now > sc->thread_due_ns ? now - sc->thread_due_ns : 0;
	missed = div64_u64(lat, sc->period_ns);
	cw_record(sc, CLOCKWATCH_HIST_THREAD, lat, sc->period_ns, missed);
	/*
	 * A late expiry was a stall of its own already: the thread's stall
	 * is its wait after that expiry ran, when it reaches the threshold.
	 * Its duration still counts from the due time, as every latency.
	 */
	if (lat - min(lat, sc->thread_irq_lat_ns) >= cw_threshold_ns()) {
		stalled = true;
		clockwatch_stall_snap_take(&snap);
		st.context = CLOCKWATCH_STALL_THREAD;
		st.start_ns = sc->thread_due_ns;
		st.duration_ns = lat;
		st.missed = missed;
		cw_stall(sc, &st, &snap);
	}
	write_seqcount_end(&sc->seq);
	raw_spin_unlock_irq(&sc->lock);

	if (stalled)
		clockwatch_stall_publish(cw_dev, &st);
}

static void cw_thread_setup(unsigned int cpu)
{
	sched_set_fifo(current);
}

static struct smp_hotplug_thread cw_threads = {
	.store			= &cw_thread,
	.thread_should_run	= cw_thread_should_run,
	.thread_fn		= cw_thread_fn,
	.thread_comm		= "clockwatch/%u",
	.setup			= cw_thread_setup,
};

/* ---- CPU hotplug -------------------------------------------------------- */

/* The CPU came online; runs on it.  Starts the probe on a probed CPU. */
static int cw_stall_cpu_online(unsigned int cpu)
{
	struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);
	u64 period = cw_probe_period_ns();
	s64 now = ktime_get_ns();

	if (!cpumask_test_cpu(cpu, &cw_probe_mask))
		return 0;
	raw_spin_lock_irq(&sc->lock);
	write_seqcount_begin(&sc->seq);
	cw_stall_cpu_clear(sc, now);
	sc->period_ns = period;
	sc->next_due_ns = now + period;
	sc->active = true;
	write_seqcount_end(&sc->seq);
	clockwatch_stall_snap_take(&sc->snap);
	sc->thread_pending = false;
	sc->thread = per_cpu(cw_thread, cpu);
	raw_spin_unlock_irq(&sc->lock);

	hrtimer_start(&sc->timer, ns_to_ktime(now + period),
		      HRTIMER_MODE_ABS_PINNED_HARD);
	return 0;
}

/* The CPU goes offline; runs on it. */
static int cw_stall_cpu_offline(unsigned int cpu)
{
	struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);

	/* Not started on a CPU the probe leaves alone: nothing to cancel. */
	hrtimer_cancel(&sc->timer);
	raw_spin_lock_irq(&sc->lock);
	write_seqcount_begin(&sc->seq);
	sc->active = false;
	write_seqcount_end(&sc->seq);
	sc->thread_pending = false;
	raw_spin_unlock_irq(&sc->lock);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------- */

/*
 * Copy @sc's counters into @cs without its lock: the hard-irq probe never
 * waits for a reader.  Return: 0, or -EAGAIN when a writer changed them
 * during each of CW_SNAP_TRIES copies.
 */
static int cw_stall_cpu_snapshot(struct cw_stall_cpu *sc,
				 struct clockwatch_cpu_stats *cs)
{
	unsigned int seq, tries;

	for (tries = 0; tries < CW_SNAP_TRIES; tries++) {
		seq = read_seqcount_begin(&sc->seq);
		cs->read_ns = ktime_get_ns();
		cs->flags = sc->active ? CLOCKWATCH_CPU_ACTIVE : 0;
		cs->period_ns = sc->period_ns;
		cs->since_ns = sc->since_ns;
		cs->first_due_ns = sc->first_due_ns;
		cs->next_due_ns = sc->next_due_ns;
		cs->expiries = sc->expiries;
		cs->missed = sc->missed;
		cs->stalls = sc->stalls;
		cs->thread_missed = sc->thread_missed;
		memcpy(cs->hist, sc->hist, sizeof(cs->hist));
		if (!read_seqcount_retry(&sc->seq, seq))
			return 0;
		cond_resched();
	}
	return -EAGAIN;
}

/* CLOCKWATCH_IOC_CPU_STATS: no privilege needed, see cw_stall_cpu_snapshot(). */
static long cw_ioc_cpu_stats(void __user *uarg)
{
	struct clockwatch_cpu_stats *cs;
	u32 size, cpu;
	long ret;

	if (get_user(size, (u32 __user *)uarg) || get_user(cpu, (u32 __user *)uarg + 1))
		return -EFAULT;
	if (size != sizeof(*cs))
		return -EINVAL;
	cs = kmalloc(sizeof(*cs), GFP_KERNEL);
	if (!cs)
		return -ENOMEM;
	if (copy_from_user(cs, uarg, sizeof(*cs))) {
		ret = -EFAULT;
		goto out_free;
	}
	if (cs->__reserved0 || cs->flags) {
		ret = -EINVAL;
		goto out_free;
	}
	if (!cw_started || cpu >= nr_cpu_ids || !cpu_possible(cpu)) {
		ret = cw_started ? -EINVAL : -ENODEV;
		goto out_free;
	}
	/* No speculative look at another CPU's state past the check. */
	cpu = array_index_nospec(cpu, nr_cpu_ids);

	memset(cs, 0, sizeof(*cs));
	cs->size = sizeof(*cs);
	cs->cpu = cpu;
	cs->threshold_ns = cw_threshold_ns();
	ret = cw_stall_cpu_snapshot(per_cpu_ptr(&cw_stall_cpus, cpu), cs);
	if (ret)
		goto out_free;
	if (READ_ONCE(probe_thread))
		cs->flags |= CLOCKWATCH_CPU_THREAD;

	ret = copy_to_user(uarg, cs, sizeof(*cs)) ? -EFAULT : 0;
out_free:
	kfree(cs);
	return ret;
}

static long cw_ioc_stall_reset(void)
{
	unsigned int cpu;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!cw_started)
		return -ENODEV;
	for_each_possible_cpu(cpu) {
		struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);

		raw_spin_lock_irq(&sc->lock);
		write_seqcount_begin(&sc->seq);
		cw_stall_cpu_clear(sc, ktime_get_ns());
		write_seqcount_end(&sc->seq);
		raw_spin_unlock_irq(&sc->lock);
	}
	return 0;
}

static long cw_ioc_stall_log(void __user *uarg)
{
	struct clockwatch_stall_log lg;
	struct clockwatch_stall st;
	struct clockwatch_stall __user *out;
	u64 seq, last, oldest;
	long ret = 0;

	if (copy_from_user(&lg, uarg, sizeof(lg)))
		return -EFAULT;
	if (lg.size != sizeof(lg) || lg.__reserved0)
		return -EINVAL;
	out = u64_to_user_ptr(lg.stalls);
	/* Stall seqs start at 1: from_seq 0 asks for the same as 1. */
	seq = max_t(u64, lg.from_seq, 1);
	lg.count = 0;
	lg.lost = 0;

	/*
	 * Each round moves @seq past what the log no longer holds, counting
	 * it as lost (also when @max is 0), then copies one record: the log
	 * may move on between two rounds.  Once @max records are copied,
	 * @next_seq is the one after the last of them.
	 */
	for (;;) {
		raw_spin_lock_irq(&cw_log_lock);
		if (lg.count && lg.count >= lg.max) {
			raw_spin_unlock_irq(&cw_log_lock);
			break;
		}
		last = cw_log_seq;
		oldest = last > CLOCKWATCH_STALL_LOG_LEN ?
			 last - CLOCKWATCH_STALL_LOG_LEN + 1 : 1;
		if (seq < oldest) {
			lg.lost += oldest - seq;
			seq = oldest;
		}
		if (seq > last || lg.count >= lg.max) {
			raw_spin_unlock_irq(&cw_log_lock);
			break;
		}
		st = cw_log[seq % CLOCKWATCH_STALL_LOG_LEN];
		raw_spin_unlock_irq(&cw_log_lock);

		if (copy_to_user(&out[lg.count], &st, sizeof(st))) {
			ret = -EFAULT;
			break;
		}
		lg.count++;
		seq++;
	}
	lg.next_seq = seq;
	if (!ret && copy_to_user(uarg, &lg, sizeof(lg)))
		ret = -EFAULT;
	return ret;
}

/**
 * clockwatch_stall_ioctl() - the stall probe's ioctls
 * @cw: the device
 * @cmd: the command
 * @arg: its argument, a user pointer
 *
 * Return: the command's result, or -ENOTTY when @cmd is not one of them.
 */
long clockwatch_stall_ioctl(struct clockwatch_dev *cw, unsigned int cmd,
			    unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CLOCKWATCH_IOC_CPU_STATS:
		return cw_ioc_cpu_stats(uarg);
	case CLOCKWATCH_IOC_STALL_RESET:
		return cw_ioc_stall_reset();
	case CLOCKWATCH_IOC_STALL_LOG:
		return cw_ioc_stall_log(uarg);
	default:
		return -ENOTTY;
	}
}

/* ---- start and stop ----------------------------------------------------- */

static void cw_stall_free(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);

		kfree(sc->hist);
		sc->hist = NULL;
	}
	cw_started = false;
}

/* probe_cpus=, or the CPUs neither isolcpus= nor nohz_full= isolated. */
static int cw_probe_mask_init(void)
{
	if (cw_probe_cpus_given) {
		cpumask_and(&cw_probe_mask, &cw_probe_cpus_req, cpu_possible_mask);
		if (cpumask_empty(&cw_probe_mask)) {
			pr_err("probe_cpus=%*pbl: no such CPU\n",
			       cpumask_pr_args(&cw_probe_cpus_req));
			return -EINVAL;
		}
		return 0;
	}
	cpumask_and(&cw_probe_mask, housekeeping_cpumask(HK_TYPE_DOMAIN),
		    housekeeping_cpumask(HK_TYPE_TICK));
	cpumask_and(&cw_probe_mask, &cw_probe_mask, cpu_possible_mask);
	return 0;
}

/**
 * clockwatch_stall_start() - start the probe on the probed CPUs
 * @cw: the device
 *
 * The probed CPUs are probe_cpus=, by default the housekeeping ones; the
 * probe follows them on and off line.  Without probe=1 nothing is
 * started: CLOCKWATCH_IOC_CPU_STATS and _STALL_RESET fail with -ENODEV,
 * _STALL_LOG returns no stall.
 *
 * Return: 0, or a negative errno when the probe was asked for and could
 * not start (-EINVAL: probe_cpus= names no possible CPU).
 */
int clockwatch_stall_start(struct clockwatch_dev *cw)
{
	unsigned int cpu;
	int ret;

	if (!probe)
		return 0;
	cw_dev = cw;
	ret = cw_probe_mask_init();
	if (ret)
		return ret;

	for_each_possible_cpu(cpu) {
		struct cw_stall_cpu *sc = per_cpu_ptr(&cw_stall_cpus, cpu);

		sc->hist = kcalloc_node(CLOCKWATCH_HIST_NR, sizeof(*sc->hist),
					GFP_KERNEL, cpu_to_node(cpu));
		if (!sc->hist) {
			ret = -ENOMEM;
			goto err_alloc;
		}
		raw_spin_lock_init(&sc->lock);
		seqcount_raw_spinlock_init(&sc->seq, &sc->lock);
		sc->cpu = cpu;
		hrtimer_setup(&sc->timer, cw_probe_fn, CLOCK_MONOTONIC,
			      HRTIMER_MODE_ABS_PINNED_HARD);
	}
	cw_started = true;

	/* The threads first: the online callback hands them to the timers. */
	ret = smpboot_register_percpu_thread(&cw_threads);
	if (ret)
		pr_warn("no probe threads (%d): thread latency not measured\n", ret);
	else
		cw_threads_registered = true;

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "clockwatch/stall:online",
				cw_stall_cpu_online, cw_stall_cpu_offline);
	if (ret < 0)
		goto err_cpuhp;
	cw_hp_state = ret;
	cw->page->features |= CLOCKWATCH_FEAT_STALLS;
	return 0;

err_cpuhp:
	if (cw_threads_registered)
		smpboot_unregister_percpu_thread(&cw_threads);
	cw_threads_registered = false;
err_alloc:
	cw_stall_free();
	return ret;
}

/**
 * clockwatch_stall_stop() - stop the probe on every CPU and free it
 * @cw: the device
 */
void clockwatch_stall_stop(struct clockwatch_dev *cw)
{
	if (!cw_started)
		return;
	/* Runs the offline callback on every online CPU: no timer is left. */
	cpuhp_remove_state(cw_hp_state);
	if (cw_threads_registered)
		smpboot_unregister_percpu_thread(&cw_threads);
	cw_threads_registered = false;
	cw_stall_free();
}
