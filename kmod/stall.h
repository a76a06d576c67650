/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: the stall probe's parts, shared by its files.
 *
 * stall.c	the per-CPU probe, its histograms, stall log and ioctls
 * stall_attr.c	what the kernel saw on a CPU during a stall; publishing it
 * inject.c	the test-only injector: a debugfs file, with inject=1
 */
#ifndef _CLOCKWATCH_STALL_H
#define _CLOCKWATCH_STALL_H

#include <linux/types.h>

#include <uapi/linux/clockwatch.h>

struct clockwatch_dev;

/**
 * struct clockwatch_stall_snap - a CPU's attribution counters at one instant
 * @steal_ns:	kcpustat CPUTIME_STEAL
 * @irq_ns:	kcpustat CPUTIME_IRQ
 * @softirq_ns:	kcpustat CPUTIME_SOFTIRQ
 * @irqs:	hard interrupts handled (generic and arch counters)
 * @softirqs:	softirqs run, all vectors
 */
struct clockwatch_stall_snap {
	u64 steal_ns;
	u64 irq_ns;
	u64 softirq_ns;
	u64 irqs;
	u64 softirqs;
};

void clockwatch_stall_snap_take(struct clockwatch_stall_snap *snap);
void clockwatch_stall_attribute(struct clockwatch_stall *st,
				const struct clockwatch_stall_snap *before,
				const struct clockwatch_stall_snap *after);
void clockwatch_stall_publish(struct clockwatch_dev *cw,
			      const struct clockwatch_stall *st);

int clockwatch_stall_start(struct clockwatch_dev *cw);
void clockwatch_stall_stop(struct clockwatch_dev *cw);
long clockwatch_stall_ioctl(struct clockwatch_dev *cw, unsigned int cmd,
			    unsigned long arg);
int clockwatch_inject_init(struct clockwatch_dev *cw);
void clockwatch_inject_exit(void);

#endif /* _CLOCKWATCH_STALL_H */
