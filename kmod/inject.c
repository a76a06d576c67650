// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the stall injector, for tests only.
 *
 * CLOCKWATCH_IOC_INJECT spins on one CPU for a given time with interrupts,
 * preemption or bottom halves disabled, and returns when the spin started
 * and ended (CLOCK_MONOTONIC): the truth a test holds the probe's stall
 * records against.  Interrupts are disabled by running the spin in an
 * IPI handler on the CPU (smp_call_function_single()); preemption and
 * bottom halves by running it in a kworker bound to the CPU.  The module
 * refuses it unless loaded with inject=1.
 *
 * CLOCKWATCH_IOC_INJECT_EVENTS makes a given number of event records, for
 * tests of the event stream under more records a second than real clock
 * changes can make in an emulated machine.
 */

#include <linux/bottom_half.h>
#include <linux/capability.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "clockwatch.h"
#include "stall.h"

static bool inject;
module_param(inject, bool, 0444);
MODULE_PARM_DESC(inject, "Allow the test-only stall injector (default 0)");

/**
 * struct cw_inject_ctx - one injection, on the caller's stack
 * @duration_ns:	how long to spin
 * @start_ns:		when the spin started, CLOCK_MONOTONIC
 * @end_ns:		when it ended, CLOCK_MONOTONIC
 * @done:		completed by the IPI handler when the spin is over
 */
struct cw_inject_ctx {
	u64 duration_ns;
	s64 start_ns;
	s64 end_ns;
	struct completion done;
};

/* Spin for ctx->duration_ns, noting the true start and end. */
static void cw_inject_spin(struct cw_inject_ctx *ctx)
{
	s64 start = ktime_get_ns();
	s64 now;

	do {
		cpu_relax();
		now = ktime_get_ns();
	} while (now - start < ctx->duration_ns);
	ctx->start_ns = start;
	ctx->end_ns = now;
}

/* IPI handler: interrupts are disabled here. */
static void cw_inject_irq_fn(void *info)
{
	struct cw_inject_ctx *ctx = info;

	cw_inject_spin(ctx);
	complete(&ctx->done);
}

static long cw_inject_preempt_fn(void *info)
{
	preempt_disable();
	cw_inject_spin(info);
	preempt_enable();
	return 0;
}

static long cw_inject_softirq_fn(void *info)
{
	local_bh_disable();
	cw_inject_spin(info);
	local_bh_enable();
	return 0;
}

/**
 * clockwatch_inject_allowed() - was the module loaded with inject=1?
 *
 * Return: true when CLOCKWATCH_IOC_INJECT may be used.
 */
bool clockwatch_inject_allowed(void)
{
	return inject;
}

/**
 * clockwatch_inject_ioctl() - CLOCKWATCH_IOC_INJECT
 * @cw: the device
 * @uarg: user pointer to struct clockwatch_inject
 *
 * Context: process; sleeps until the spin is over.
 * Return: 0; -EPERM without inject=1 or CAP_SYS_ADMIN; -EINVAL for a bad
 * request or an offline CPU; -EFAULT.
 */
long clockwatch_inject_ioctl(struct clockwatch_dev *cw, void __user *uarg)
{
	struct clockwatch_inject req;
	struct cw_inject_ctx ctx = {};
	struct clockwatch_event ev = {};
	long ret;

	if (!inject || !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(req) || req.__reserved0 ||
	    !req.duration_ns || req.duration_ns > CLOCKWATCH_INJECT_MAX_NS ||
	    req.cpu >= nr_cpu_ids)
		return -EINVAL;
	ctx.duration_ns = req.duration_ns;
	init_completion(&ctx.done);

	cpus_read_lock();
	if (!cpu_online(req.cpu)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	switch (req.mode) {
	case CLOCKWATCH_INJECT_IRQ:
		/*
		 * Not waiting in smp_call_function_single(), which would keep
		 * this CPU's preemption off for the whole spin: the handler
		 * signals the completion instead.  The call's own descriptor
		 * is free before the handler runs; ctx stays until it is done.
		 */
		ret = smp_call_function_single(req.cpu, cw_inject_irq_fn, &ctx, 0);
		if (!ret)
			wait_for_completion(&ctx.done);
		break;
	case CLOCKWATCH_INJECT_PREEMPT:
		ret = work_on_cpu(req.cpu, cw_inject_preempt_fn, &ctx);
		break;
	case CLOCKWATCH_INJECT_SOFTIRQ:
		ret = work_on_cpu(req.cpu, cw_inject_softirq_fn, &ctx);
		break;
	default:
		ret = -EINVAL;
		break;
	}
out_unlock:
	cpus_read_unlock();
	if (ret)
		return ret;

	req.start_ns = ctx.start_ns;
	req.end_ns = ctx.end_ns;
	/* The truth, for readers that hold stall events against it. */
	ev.type = CLOCKWATCH_EV_INJECT;
	ev.inject = req;
	clockwatch_event_emit(cw, &ev);
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/**
 * clockwatch_inject_events_ioctl() - CLOCKWATCH_IOC_INJECT_EVENTS
 * @cw: the device
 * @uarg: user pointer to struct clockwatch_inject_events
 *
 * Context: process; may sleep between records.
 * Return: 0; -EPERM without inject=1 or CAP_SYS_ADMIN; -EINVAL for a bad
 * request; -EINTR when a signal stopped it (the records made so far
 * stay); -EFAULT.
 */
long clockwatch_inject_events_ioctl(struct clockwatch_dev *cw, void __user *uarg)
{
	struct clockwatch_inject_events req;
	struct clockwatch_event ev;
	u32 i;

	if (!inject || !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(req) || !req.count ||
	    req.count > CLOCKWATCH_INJECT_MAX_EVENTS ||
	    req.__reserved[0] || req.__reserved[1])
		return -EINVAL;

	for (i = 0; i < req.count; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = CLOCKWATCH_EV_INJECT;
		ev.inject.size = sizeof(ev.inject);
		ev.inject.cpu = raw_smp_processor_id();
		ev.inject.mode = CLOCKWATCH_INJECT_EVENTS;
		ev.inject.duration_ns = i;
		clockwatch_event_emit(cw, &ev);
		if (!i)
			req.first_seq = ev.seq;
		req.last_seq = ev.seq;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}
