// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the kernel's NTP state on the page.
 *
 * The kernel exports no reader of its NTP state, but every adjtimex(),
 * ntp_adjtime() and clock_adjtime(CLOCK_REALTIME) call goes through
 * do_adjtimex(struct __kernel_timex *txc), which fills in *txc, a kernel
 * copy, with the state after the call.  A kretprobe on it captures that
 * copy as the call returns, in the same code path as the change.
 */

#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>
#include <linux/timex.h>

#include "clockwatch.h"

/**
 * struct clockwatch_adjtimex_call - one do_adjtimex() call in flight
 * @txc:	its argument, the kernel copy of the caller's timex
 * @modes:	txc->modes as the caller asked
 */
struct clockwatch_adjtimex_call {
	struct __kernel_timex *txc;
	unsigned int modes;
};

/*
 * Did the call ask to change something?  adjtime() with a NULL delta
 * (ADJ_OFFSET_SS_READ) only reads, as timekeeping_validate_timex() also
 * treats it when it checks for CAP_SYS_TIME.
 */
static bool clockwatch_adjtimex_writes(unsigned int modes)
{
	if (modes & ADJ_ADJTIME)
		return !(modes & ADJ_OFFSET_READONLY);
	return modes != 0;
}

static void clockwatch_ntp_from_timex(struct clockwatch_ntp *ntp,
				      const struct __kernel_timex *txc,
				      unsigned int modes, int time_state)
{
	s64 offset = txc->offset;

	/*
	 * The PLL offset comes back in ns with STA_NANO and in µs without;
	 * an adjtime() call (ADJ_ADJTIME) gets the adjtime() slew still to
	 * go instead, always in µs.
	 */
	if ((modes & ADJ_ADJTIME) || !(txc->status & STA_NANO))
		offset *= NSEC_PER_USEC;

	*ntp = (struct clockwatch_ntp) {
		.offset_ns	= offset,
		.freq_scaled_ppm	= txc->freq,
		.maxerror_us	= txc->maxerror,
		.esterror_us	= txc->esterror,
		.constant	= txc->constant,
		.tick_us	= txc->tick,
		.status		= txc->status,
		.time_state	= time_state,
		.tai_s		= txc->tai,
	};
}

/* Entry of do_adjtimex(): remember the call. */
static int clockwatch_adjtimex_entry(struct kretprobe_instance *ri,
				     struct pt_regs *regs)
{
	struct clockwatch_adjtimex_call *call = (void *)ri->data;

	call->txc = (struct __kernel_timex *)regs_get_kernel_argument(regs, 0);
	call->modes = call->txc->modes;
	return 0;
}

/*
 * Return from do_adjtimex(): *txc now holds the state after the call and
 * the return value is the clock state (TIME_OK..TIME_ERROR), or a
 * negative error, in which case nothing was changed or reported.
 */
static int clockwatch_adjtimex_return(struct kretprobe_instance *ri,
				      struct pt_regs *regs)
{
	struct clockwatch_dev *cw = container_of(get_kretprobe(ri),
						 struct clockwatch_dev,
						 adjtimex_rp);
	const struct clockwatch_adjtimex_call *call = (void *)ri->data;
	/* do_adjtimex() returns int: the register's upper half is undefined. */
	int ret = (int)regs_return_value(regs);
	struct clockwatch_page *page = cw->page;
	struct clockwatch_ntp ntp = {};
	unsigned long flags;

	if (ret >= 0)
		clockwatch_ntp_from_timex(&ntp, call->txc, call->modes, ret);
	/* Events, sync state: before the page, which shows their result. */
	clockwatch_steps_ntp(cw, call->modes, ret, &ntp, 0);

	raw_spin_lock_irqsave(&cw->lock, flags);
	clockwatch_page_write_begin(cw);
	page->ntp_calls++;
	if (ret >= 0) {
		page->ntp = ntp;
		/* NMI-safe reads: no wait on the timekeeper from a probe. */
		page->ntp_mono_ns = ktime_get_mono_fast_ns();
		page->ntp_raw_ns = ktime_get_raw_fast_ns();
		if (clockwatch_adjtimex_writes(call->modes))
			page->ntp_writes++;
	}
	clockwatch_steps_publish(cw);
	clockwatch_page_write_end(cw);
	raw_spin_unlock_irqrestore(&cw->lock, flags);
	return 0;
}

/**
 * clockwatch_ntp_start() - start capturing adjtimex() calls
 * @cw: the device, with its page allocated
 *
 * Sets CLOCKWATCH_FEAT_NTP when the kretprobe is in place.  Without it
 * (no kprobes in the kernel, do_adjtimex() not probe-able) the module
 * works on, with page->ntp never captured.
 */
void clockwatch_ntp_start(struct clockwatch_dev *cw)
{
	struct kretprobe *rp = &cw->adjtimex_rp;
	int ret;

	rp->kp.symbol_name = "do_adjtimex";
	rp->entry_handler = clockwatch_adjtimex_entry;
	rp->handler = clockwatch_adjtimex_return;
	rp->data_size = sizeof(struct clockwatch_adjtimex_call);
	/*
	 * Calls in flight at once, each can be preempted inside; one more
	 * than this is missed (page ntp_missed) and loses its event.
	 */
	rp->maxactive = 128;

	ret = register_kretprobe(rp);
	if (ret) {
		pr_info("adjtimex() calls not captured: no kretprobe on do_adjtimex (%d)\n",
			ret);
		return;
	}
	cw->page->features |= CLOCKWATCH_FEAT_NTP;
}

/**
 * clockwatch_ntp_stop() - stop capturing adjtimex() calls
 * @cw: the device
 *
 * On return no handler runs any more; calls still inside do_adjtimex()
 * return without one.
 */
void clockwatch_ntp_stop(struct clockwatch_dev *cw)
{
	struct kretprobe *rp = &cw->adjtimex_rp;

	if (!(cw->page->features & CLOCKWATCH_FEAT_NTP))
		return;
	unregister_kretprobe(rp);
	cw->page->features &= ~CLOCKWATCH_FEAT_NTP;
	if (rp->nmissed)
		pr_warn("%d adjtimex() calls were not captured (too many at once)\n",
			rp->nmissed);
}
