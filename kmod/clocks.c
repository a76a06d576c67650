// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the clocks snapshot on the page.
 *
 * page->clocks holds REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME and TAI
 * read at one instant.  A periodic hrtimer refreshes it every refresh_us,
 * in hard irq context (also on PREEMPT_RT, so the period holds under
 * load).  When the clock is set (settimeofday, clock_settime, adjtimex
 * steps and TAI changes, leap seconds, resume), the timekeeping notifier
 * queues a refresh that runs as soon as the timekeeper is unlocked, so a
 * step reaches the page without waiting for the timer.
 */

#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/pvclock_gtod.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>

#include "clockwatch.h"

enum {
	CW_REFRESH_US_MIN	= 100,
	CW_REFRESH_US_MAX	= 1000000,
	CW_REFRESH_US_DEFAULT	= 1000,
	/* clock_was_set_seq changed this often in a row: give up for now */
	CW_READ_TRIES		= 3,
};

/* Period of the snapshot refresh, µs; read at every expiry of the timer. */
static unsigned int refresh_us = CW_REFRESH_US_DEFAULT;

static int refresh_us_set(const char *val, const struct kernel_param *kp)
{
	unsigned int us;

	if (kstrtouint(val, 0, &us) ||
	    us < CW_REFRESH_US_MIN || us > CW_REFRESH_US_MAX)
		return -EINVAL;
	/* Paired with READ_ONCE() in clockwatch_refresh_period(). */
	WRITE_ONCE(*(unsigned int *)kp->arg, us);
	return 0;
}

/* The refresh period now. */
static ktime_t clockwatch_refresh_period(void)
{
	/* Paired with WRITE_ONCE() in refresh_us_set(). */
	return ns_to_ktime((u64)READ_ONCE(refresh_us) * NSEC_PER_USEC);
}

static const struct kernel_param_ops refresh_us_ops = {
	.set = refresh_us_set,
	.get = param_get_uint,
};

module_param_cb(refresh_us, &refresh_us_ops, &refresh_us, 0644);
MODULE_PARM_DESC(refresh_us,
		 "Clocks snapshot refresh period, us (100..1000000, default 1000)");

/*
 * Read the five clocks at one instant.
 *
 * ktime_get_snapshot() gives REALTIME and MONOTONIC_RAW from one
 * clocksource read.  MONOTONIC, BOOTTIME and TAI differ from REALTIME by
 * the timekeeper's offsets, and those change only in the same timekeeper
 * update that increments clock_was_set_seq.  Offsets read between two
 * snapshots that saw the same clock_was_set_seq were therefore in force
 * at both, and the second snapshot plus those offsets is exact.  If the
 * clock keeps being set meanwhile, give up: every such set also queues
 * clockwatch_clock_set_work(), which reads again.
 */
static bool clockwatch_read_clocks(struct clockwatch_clocks *clocks)
{
	struct system_time_snapshot before, snap;
	ktime_t offs_real, offs_boot, offs_tai, mono;
	int tries;

	for (tries = 0; tries < CW_READ_TRIES; tries++) {
		ktime_get_snapshot(&before);
		offs_real = ktime_mono_to_any(0, TK_OFFS_REAL);
		offs_boot = ktime_mono_to_any(0, TK_OFFS_BOOT);
		offs_tai = ktime_mono_to_any(0, TK_OFFS_TAI);
		ktime_get_snapshot(&snap);
		if (snap.clock_was_set_seq != before.clock_was_set_seq)
			continue;

		mono = ktime_sub(snap.real, offs_real);
		clocks->realtime_ns = ktime_to_ns(snap.real);
		clocks->monotonic_ns = ktime_to_ns(mono);
		clocks->monotonic_raw_ns = ktime_to_ns(snap.raw);
		clocks->boottime_ns = ktime_to_ns(ktime_add(mono, offs_boot));
		clocks->tai_ns = ktime_to_ns(ktime_add(mono, offs_tai));
		return true;
	}
	return false;
}

/**
 * clockwatch_clocks_refresh() - read the clocks and publish them
 * @cw: the device
 *
 * The read happens under @cw->lock too, so that concurrent refreshes
 * reach the page in the order they read.  The clock tracker's state is
 * published with them.
 *
 * Context: any but NMI, not under the timekeeper lock (it reads the
 * clocks); takes @cw->lock with interrupts disabled.
 */
void clockwatch_clocks_refresh(struct clockwatch_dev *cw)
{
	struct clockwatch_clocks clocks;
	unsigned long flags;

	raw_spin_lock_irqsave(&cw->lock, flags);
	if (clockwatch_read_clocks(&clocks)) {
		clockwatch_steps_sample(cw, &clocks);
		clockwatch_page_write_begin(cw);
		cw->page->clocks = clocks;
		clockwatch_steps_publish(cw);
		clockwatch_page_write_end(cw);
	}
	raw_spin_unlock_irqrestore(&cw->lock, flags);
}

/* Periodic refresh; hard irq context. */
static enum hrtimer_restart clockwatch_refresh_timer(struct hrtimer *timer)
{
	struct clockwatch_dev *cw = container_of(timer, struct clockwatch_dev,
						 refresh_timer);

	clockwatch_clocks_refresh(cw);
	hrtimer_forward_now(timer, clockwatch_refresh_period());
	return HRTIMER_RESTART;
}

/* Refresh after the clock was set; hard irq context (IRQ_WORK_HARD_IRQ). */
static void clockwatch_clock_set_work(struct irq_work *work)
{
	struct clockwatch_dev *cw = container_of(work, struct clockwatch_dev,
						 clock_set_work);

	clockwatch_clocks_refresh(cw);
}

/*
 * Called by timekeeping_update() on every timekeeper update, with the
 * timekeeper lock held and tk_core.seq open for writing; @was_set is
 * non-zero when the clock was set, @priv is the timekeeper.  Reading a
 * clock here would spin on tk_core.seq forever, so the step tracker looks
 * at the timekeeper's offsets only, and the refresh is queued: the
 * irq_work runs once interrupts are enabled again, which is after the
 * update is complete and before the stepping call returns.
 */
static int clockwatch_gtod_notify(struct notifier_block *nb,
				  unsigned long was_set, void *priv)
{
	struct clockwatch_dev *cw = container_of(nb, struct clockwatch_dev,
						 gtod_nb);

	clockwatch_steps_gtod(cw, was_set, priv);
	if (was_set)
		irq_work_queue(&cw->clock_set_work);
	return NOTIFY_DONE;
}

/**
 * clockwatch_clocks_start() - fill page->clocks and keep it current
 * @cw: the device, with its page allocated
 *
 * Sets CLOCKWATCH_FEAT_CLOCKS: the periodic refresh cannot fail to start.
 * Without the clock-set notifier (it cannot fail on the supported kernels,
 * but is checked) a step reaches the page at the next periodic refresh.
 */
void clockwatch_clocks_start(struct clockwatch_dev *cw)
{
	int ret;

	cw->clock_set_work = IRQ_WORK_INIT_HARD(clockwatch_clock_set_work);
	hrtimer_setup(&cw->refresh_timer, clockwatch_refresh_timer,
		      CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);

	clockwatch_clocks_refresh(cw);
	hrtimer_start(&cw->refresh_timer, clockwatch_refresh_period(),
		      HRTIMER_MODE_REL_HARD);
	cw->page->features |= CLOCKWATCH_FEAT_CLOCKS;

	cw->gtod_nb.notifier_call = clockwatch_gtod_notify;
	ret = pvclock_gtod_register_notifier(&cw->gtod_nb);
	if (ret) {
		pr_warn("no clock-set notifier (%d): steps show at the next refresh\n",
			ret);
		return;
	}
	cw->gtod_registered = true;
	cw->page->features |= CLOCKWATCH_FEAT_STEPS;
}

/**
 * clockwatch_clocks_stop() - stop all refreshes of page->clocks
 * @cw: the device
 *
 * On return nothing refreshes the clocks any more, and nothing will.
 */
void clockwatch_clocks_stop(struct clockwatch_dev *cw)
{
	/* Under the timekeeper lock: no call is in progress on return. */
	if (cw->gtod_registered)
		pvclock_gtod_unregister_notifier(&cw->gtod_nb);
	cw->gtod_registered = false;
	cw->page->features &= ~CLOCKWATCH_FEAT_STEPS;
	/* Only the notifier queues it. */
	irq_work_sync(&cw->clock_set_work);
	hrtimer_cancel(&cw->refresh_timer);
}
