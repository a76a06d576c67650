// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the stall injector, for tests only.
 *
 * Not part of /dev/clockwatch: loaded with inject=1, the module creates
 * the debugfs file CLOCKWATCH_INJECT_PATH, whose ioctls (declared in
 * include/clockwatch/inject.h, a header of the tests, never installed)
 * are:
 *
 * CLOCKWATCH_IOC_INJECT spins on one CPU for a given time with interrupts,
 * preemption or bottom halves disabled, and returns when the spin started
 * and ended (CLOCK_MONOTONIC): the truth a test holds the probe's stall
 * records against.  Interrupts are disabled by running the spin in an
 * IPI handler on the CPU (smp_call_function_single()); preemption and
 * bottom halves by running it in a kworker bound to the CPU.
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
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <clockwatch/inject.h>

#include "clockwatch.h"
#include "stall.h"

static bool inject;
module_param(inject, bool, 0444);
MODULE_PARM_DESC(inject,
		 "Create the test-only injector, debugfs clockwatch/inject (default 0)");

static_assert(sizeof(struct clockwatch_inject) <= CLOCKWATCH_EVENT_PAYLOAD_SIZE);

/*
 * Set at init, cleared at exit after the debugfs file is gone (its
 * removal waits for the calls in progress): only the file's ioctls use it.
 */
static struct clockwatch_dev *cw_inject_dev;	/* where the records go */
static struct dentry *cw_inject_dir;		/* debugfs clockwatch/ */

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

/*
 * CLOCKWATCH_IOC_INJECT.  Context: process; sleeps until the spin is
 * over.  Return: 0; -EPERM without CAP_SYS_ADMIN; -EINVAL for a bad
 * request or an offline CPU; -EFAULT.
 */
static long cw_inject_stall(struct clockwatch_dev *cw, void __user *uarg)
{
	struct clockwatch_inject req;
	struct cw_inject_ctx ctx;
	struct clockwatch_event ev;
	long ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(req) || req.__reserved0 ||
	    !req.duration_ns || req.duration_ns > CLOCKWATCH_INJECT_MAX_NS ||
	    req.cpu >= nr_cpu_ids)
		return -EINVAL;
	memset(&ctx, 0, sizeof(ctx));
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
	memset(&ev, 0, sizeof(ev));
	ev.type = CLOCKWATCH_EV_INJECT;
	memcpy(ev.__payload, &req, sizeof(req));
	clockwatch_event_emit(cw, &ev);
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/*
 * CLOCKWATCH_IOC_INJECT_EVENTS.  Context: process; may sleep between
 * records.  Return: 0; -EPERM without CAP_SYS_ADMIN; -EINVAL for a bad
 * request; -EINTR when a fatal signal stopped it (the records made so
 * far stay); -EFAULT.
 */
static long cw_inject_events(struct clockwatch_dev *cw, void __user *uarg)
{
	struct clockwatch_inject_events req;
	struct clockwatch_inject rec;
	struct clockwatch_event ev;
	u32 i;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(req) || !req.count ||
	    req.count > CLOCKWATCH_INJECT_MAX_EVENTS ||
	    req.__reserved[0] || req.__reserved[1])
		return -EINVAL;

	for (i = 0; i < req.count; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.size = sizeof(rec);
		rec.cpu = raw_smp_processor_id();
		rec.mode = CLOCKWATCH_INJECT_EVENTS;
		rec.duration_ns = i;
		memset(&ev, 0, sizeof(ev));
		ev.type = CLOCKWATCH_EV_INJECT;
		memcpy(ev.__payload, &rec, sizeof(rec));
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

/* ioctl() of the debugfs file: the injector's commands, nothing else. */
static long cw_inject_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CLOCKWATCH_IOC_INJECT:
		return cw_inject_stall(cw_inject_dev, uarg);
	case CLOCKWATCH_IOC_INJECT_EVENTS:
		return cw_inject_events(cw_inject_dev, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations cw_inject_fops = {
	.owner		= THIS_MODULE,
	.open		= stream_open,
	.unlocked_ioctl	= cw_inject_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * clockwatch_inject_init() - create the injector's debugfs file
 * @cw: the device whose event stream gets the injector's records
 *
 * Only with inject=1; then debugfs clockwatch/inject (mode 0600).
 *
 * Return: 0, or a negative errno when inject=1 and the file cannot be
 * created (no debugfs): a test run that asked for the injector fails to
 * load rather than skip its tests.
 */
int clockwatch_inject_init(struct clockwatch_dev *cw)
{
	struct dentry *file;

	if (!inject)
		return 0;
	cw_inject_dev = cw;
	cw_inject_dir = debugfs_create_dir("clockwatch", NULL);
	if (IS_ERR(cw_inject_dir))
		goto err_dir;
	file = debugfs_create_file("inject", 0600, cw_inject_dir, NULL,
				   &cw_inject_fops);
	if (IS_ERR(file)) {
		debugfs_remove(cw_inject_dir);
		cw_inject_dir = file;
		goto err_dir;
	}
	return 0;

err_dir:
	pr_err("inject=1: no debugfs file for the injector (%ld)\n",
	       PTR_ERR(cw_inject_dir));
	cw_inject_dev = NULL;
	return PTR_ERR(cw_inject_dir);
}

/**
 * clockwatch_inject_exit() - remove the injector's debugfs file
 *
 * Waits for the injector's calls in progress to return.
 */
void clockwatch_inject_exit(void)
{
	if (IS_ERR_OR_NULL(cw_inject_dir))
		return;
	debugfs_remove(cw_inject_dir);
	cw_inject_dir = NULL;
	cw_inject_dev = NULL;
}
