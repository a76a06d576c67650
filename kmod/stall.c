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
 */

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smpboot.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "clockwatch.h"
#include "stall.h"

enum {
	CW_PROBE_US_MIN		= 100,
	CW_PROBE_US_MAX		= 1000000,
	CW_PROBE_US_DEFAULT	= 1000,
	CW_THRESHOLD_US_DEFAULT	= 1000,
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
 * @lock:		protects every field below it; taken in the timer's
 *			hard irq, by the thread and by readers, irqs off
 * @period_ns:		the period the timer last ran at
 * @since_ns:		last reset or start, CLOCK_MONOTONIC
 * @first_due_ns:	due time of the first expiry since @since_ns; 0: none
 * @next_due_ns:	due time of the timer's next expiry
 * @expiries:		expiries since @since_ns
 * @missed:		periods missed since @since_ns
 * @stalls:		stalls since @since_ns
 * @thread_missed:	expiries that found the thread wake-up still pending
 * @hist:		the histograms, enum clockwatch_hist_kind
 * @snap:		attribution counters at the previous expiry
 * @thread_due_ns:	due time of the oldest expiry the thread has not
 *			served yet
 * @thread_irq_lat_ns:	that expiry's own latency
 * @thread_pending:	the thread has an expiry to serve
 * @active:		the timer runs (the CPU is online)
 * @timer:		the probe; pinned to the CPU, hard irq
 * @thread:		the per-CPU thread (smpboot)
 * @cpu:		the CPU
 */
struct cw_stall_cpu {
	raw_spinlock_t lock;	/* protects the fields from here to @active */
	u64 period_ns;
	s64 since_ns;
	s64 first_due_ns;
	s64 next_due_ns;
	u64 expiries;
	u64 missed;
	u64 stalls;
	u64 thread_missed;
	struct clockwatch_hist hist[CLOCKWATCH_HIST_NR];
	struct cw_stall_snap snap;
	s64 thread_due_ns;
	u64 thread_irq_lat_ns;
	bool thread_pending;
	bool active;

	struct hrtimer timer;
	struct task_struct *thread;
	unsigned int cpu;
};

static struct clockwatch_dev *cw_dev;	/* where stall events go */
static struct cw_stall_cpu **cw_cpus;	/* one per possible CPU */
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

/* Add @n samples of @v, or of values in @v's bucket summing to @sum. */
static void cw_hist_add(struct clockwatch_hist *h, u64 v, u64 n, u64 sum)
{
	if (!n)
		return;
	if (!h->count || v < h->min_ns)
		h->min_ns = v;
	if (v > h->max_ns)
		h->max_ns = v;
	h->count += n;
	h->sum_ns += sum;
	h->buckets[clockwatch_hist_bucket(v)] += n;
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
	/* An arithmetic series: missed * (v + last) / 2, and it is whole. */
	if (missed & 1)
		h->sum_ns += missed * ((v + last) / 2);
	else
		h->sum_ns += missed / 2 * (v + last);

	while (missed) {
		unsigned int b = clockwatch_hist_bucket(v);

		lo = clockwatch_hist_bucket_lo(b);
		n = min(div64_u64(v - lo, period) + 1, missed);
		h->buckets[b] += n;
		missed -= n;
		if (!missed)
			break;
		v -= n * period;
	}
}

/* Record one sample and its missed periods; caller holds sc->lock. */
static void cw_record(struct cw_stall_cpu *sc, enum clockwatch_hist_kind kind,
		      u64 lat, u64 period, u64 missed)
{
	lockdep_assert_held(&sc->lock);
	cw_hist_add(&sc->hist[kind], lat, 1, lat);
	cw_hist_add(&sc->hist[kind + 1], lat, 1, lat);
	cw_hist_fill(&sc->hist[kind + 1], lat, period, missed);
}

/* Forget all counts; caller holds sc->lock. */
static void cw_stall_cpu_clear(struct cw_stall_cpu *sc, s64 now)
{
	lockdep_assert_held(&sc->lock);
	memset(sc->hist, 0, sizeof(sc->hist));
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
		     const struct cw_stall_snap *now_snap)
{
	lockdep_assert_held(&sc->lock);
	st->cpu = sc->cpu;
	st->period_ns = sc->period_ns;
	cw_stall_attribute(st, &sc->snap, now_snap);
	sc->stalls++;
	cw_log_stall(st);
}

/* ---- the probe ---------------------------------------------------------- */

/* The probe's expiry; hard irq, on sc->cpu. */
static enum hrtimer_restart cw_probe_fn(struct hrtimer *timer)
{
	struct cw_stall_cpu *sc = container_of(timer, struct cw_stall_cpu, timer);
	struct clockwatch_stall st = {};
	struct cw_stall_snap snap;
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
	cw_stall_snap_take(&snap);
	stalled = lat >= cw_threshold_ns();

	raw_spin_lock(&sc->lock);
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
		cw_stall_publish(cw_dev, &st);
	if (wake)
		wake_up_process(sc->thread);
	return HRTIMER_RESTART;
}

/* ---- the thread --------------------------------------------------------- */

static DEFINE_PER_CPU(struct task_struct *, cw_thread);

static int cw_thread_should_run(unsigned int cpu)
{
	struct cw_stall_cpu *sc = cw_cpus[cpu];

	/* Paired with the store under sc->lock in cw_probe_fn(). */
	return READ_ONCE(sc->thread_pending);
}

/* The thread ran: its latency is from the due time of what woke it. */
static void cw_thread_fn(unsigned int cpu)
{
	struct cw_stall_cpu *sc = cw_cpus[cpu];
	struct clockwatch_stall st = {};
	struct cw_stall_snap snap;
	s64 now = ktime_get_ns();
	bool stalled = false;
	u64 lat, missed;

	raw_spin_lock_irq(&sc->lock);
	if (!sc->thread_pending) {
		raw_spin_unlock_irq(&sc->lock);
		return;
	}
	sc->thread_pending = false;
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
		cw_stall_snap_take(&snap);
		st.context = CLOCKWATCH_STALL_THREAD;
		st.start_ns = sc->thread_due_ns;
		st.duration_ns = lat;
		st.missed = missed;
		cw_stall(sc, &st, &snap);
	}
	raw_spin_unlock_irq(&sc->lock);

	if (stalled)
		cw_stall_publish(cw_dev, &st);
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

/* The CPU came online; runs on it. */
static int cw_stall_cpu_online(unsigned int cpu)
{
	struct cw_stall_cpu *sc = cw_cpus[cpu];
	u64 period = cw_probe_period_ns();
	s64 now = ktime_get_ns();

	raw_spin_lock_irq(&sc->lock);
	cw_stall_cpu_clear(sc, now);
	sc->period_ns = period;
	sc->next_due_ns = now + period;
	cw_stall_snap_take(&sc->snap);
	sc->thread_pending = false;
	sc->thread = per_cpu(cw_thread, cpu);
	sc->active = true;
	raw_spin_unlock_irq(&sc->lock);

	hrtimer_start(&sc->timer, ns_to_ktime(now + period),
		      HRTIMER_MODE_ABS_PINNED_HARD);
	return 0;
}

/* The CPU goes offline; runs on it. */
static int cw_stall_cpu_offline(unsigned int cpu)
{
	struct cw_stall_cpu *sc = cw_cpus[cpu];

	hrtimer_cancel(&sc->timer);
	raw_spin_lock_irq(&sc->lock);
	sc->active = false;
	sc->thread_pending = false;
	raw_spin_unlock_irq(&sc->lock);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------- */

static long cw_ioc_cpu_stats(void __user *uarg)
{
	struct clockwatch_cpu_stats *cs;
	struct cw_stall_cpu *sc;
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
	if (!cw_cpus || cpu >= nr_cpu_ids || !cpu_possible(cpu)) {
		ret = cw_cpus ? -EINVAL : -ENODEV;
		goto out_free;
	}
	sc = cw_cpus[cpu];

	memset(cs, 0, sizeof(*cs));
	cs->size = sizeof(*cs);
	cs->cpu = cpu;
	cs->threshold_ns = cw_threshold_ns();
	raw_spin_lock_irq(&sc->lock);
	cs->read_ns = ktime_get_ns();
	cs->flags = (sc->active ? CLOCKWATCH_CPU_ACTIVE : 0) |
		    (READ_ONCE(probe_thread) ? CLOCKWATCH_CPU_THREAD : 0);
	cs->period_ns = sc->period_ns;
	cs->since_ns = sc->since_ns;
	cs->first_due_ns = sc->first_due_ns;
	cs->next_due_ns = sc->next_due_ns;
	cs->expiries = sc->expiries;
	cs->missed = sc->missed;
	cs->stalls = sc->stalls;
	cs->thread_missed = sc->thread_missed;
	memcpy(cs->hist, sc->hist, sizeof(cs->hist));
	raw_spin_unlock_irq(&sc->lock);

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
	if (!cw_cpus)
		return -ENODEV;
	for_each_possible_cpu(cpu) {
		struct cw_stall_cpu *sc = cw_cpus[cpu];

		raw_spin_lock_irq(&sc->lock);
		cw_stall_cpu_clear(sc, ktime_get_ns());
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
	seq = max_t(u64, lg.from_seq, 1);
	lg.count = 0;
	lg.lost = 0;

	while (lg.count < lg.max) {
		raw_spin_lock_irq(&cw_log_lock);
		last = cw_log_seq;
		oldest = last > CLOCKWATCH_STALL_LOG_LEN ?
			 last - CLOCKWATCH_STALL_LOG_LEN + 1 : 1;
		if (seq < oldest) {
			lg.lost += oldest - seq;
			seq = oldest;
		}
		if (seq > last) {
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
 * clockwatch_stall_ioctl() - the stall probe's and injector's ioctls
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
	case CLOCKWATCH_IOC_INJECT:
		return clockwatch_inject_ioctl(cw, uarg);
	case CLOCKWATCH_IOC_INJECT_EVENTS:
		return clockwatch_inject_events_ioctl(cw, uarg);
	default:
		return -ENOTTY;
	}
}

/* ---- start and stop ----------------------------------------------------- */

static void cw_stall_free(void)
{
	unsigned int cpu;

	if (!cw_cpus)
		return;
	for_each_possible_cpu(cpu)
		kfree(cw_cpus[cpu]);
	kfree(cw_cpus);
	cw_cpus = NULL;
}

/**
 * clockwatch_stall_start() - start the probe on every online CPU
 * @cw: the device
 *
 * Without probe=1 nothing is started: CLOCKWATCH_IOC_CPU_STATS and
 * _STALL_RESET fail with -ENODEV, _STALL_LOG returns no stall; the
 * injector works as with the probe.
 *
 * Return: 0, or a negative errno when the probe was asked for and could
 * not start.
 */
int clockwatch_stall_start(struct clockwatch_dev *cw)
{
	unsigned int cpu;
	int ret;

	if (!probe)
		return 0;
	cw_dev = cw;

	cw_cpus = kcalloc(nr_cpu_ids, sizeof(*cw_cpus), GFP_KERNEL);
	if (!cw_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct cw_stall_cpu *sc = kzalloc(sizeof(*sc), GFP_KERNEL);

		if (!sc) {
			ret = -ENOMEM;
			goto err_alloc;
		}
		raw_spin_lock_init(&sc->lock);
		sc->cpu = cpu;
		hrtimer_setup(&sc->timer, cw_probe_fn, CLOCK_MONOTONIC,
			      HRTIMER_MODE_ABS_PINNED_HARD);
		cw_cpus[cpu] = sc;
	}

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
	if (!cw_cpus)
		return;
	/* Runs the offline callback on every online CPU: no timer is left. */
	cpuhp_remove_state(cw_hp_state);
	if (cw_threads_registered)
		smpboot_unregister_percpu_thread(&cw_threads);
	cw_threads_registered = false;
	cw_stall_free();
}
