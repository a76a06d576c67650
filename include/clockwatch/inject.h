/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * clockwatch: the test injector, for the module's own tests only.
 *
 * Not part of the ABI of /dev/clockwatch and never installed.  A module
 * loaded with inject=1 creates the debugfs file CLOCKWATCH_INJECT_PATH
 * (mode 0600); its ioctls make stalls and event records whose truth a
 * test knows from outside the code it checks.  Every call also needs
 * CAP_SYS_ADMIN.  /dev/clockwatch answers these commands with -ENOTTY.
 *
 * The module and selftests/clockwatch include this header.
 */
#ifndef _CLOCKWATCH_INJECT_H
#define _CLOCKWATCH_INJECT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CLOCKWATCH_INJECT_PATH		"/sys/kernel/debug/clockwatch/inject"

/*
 * The record type of the injector's event records (read() of
 * /dev/clockwatch); its payload, clockwatch_event.__payload, is a
 * struct clockwatch_inject.
 */
#define CLOCKWATCH_EV_INJECT		7

/* clockwatch_inject.mode: what the spin disables on the CPU. */
#define CLOCKWATCH_INJECT_PREEMPT	1 /* preemption (a kworker on the CPU) */
#define CLOCKWATCH_INJECT_IRQ		2 /* interrupts (an IPI handler) */
#define CLOCKWATCH_INJECT_SOFTIRQ	3 /* bottom halves (a kworker on the CPU) */
#define CLOCKWATCH_INJECT_EVENTS	4 /* no stall: CLOCKWATCH_IOC_INJECT_EVENTS */

#define CLOCKWATCH_INJECT_MAX_NS	1000000000ULL	/* 1 s */

/**
 * struct clockwatch_inject - CLOCKWATCH_IOC_INJECT: make a stall
 * @size:		in: sizeof(struct clockwatch_inject)
 * @cpu:		in: the CPU to stall; it must be online
 * @mode:		in: CLOCKWATCH_INJECT_PREEMPT, _IRQ or _SOFTIRQ
 * @__reserved0:	in: zero
 * @duration_ns:	in: how long to spin, 1 .. CLOCKWATCH_INJECT_MAX_NS
 * @start_ns:		out: when the spin started, CLOCK_MONOTONIC
 * @end_ns:		out: when it ended, CLOCK_MONOTONIC
 *
 * Returns when the spin is over, after a CLOCKWATCH_EV_INJECT record with
 * the same structure went to the event stream.  -EINVAL for a bad request
 * or an offline CPU, -EPERM without CAP_SYS_ADMIN.
 */
struct clockwatch_inject {
	__u32 size;
	__u32 cpu;
	__u32 mode;
	__u32 __reserved0;
	__u64 duration_ns;
	__s64 start_ns;
	__s64 end_ns;
};

/* Records one CLOCKWATCH_IOC_INJECT_EVENTS call may ask for. */
#define CLOCKWATCH_INJECT_MAX_EVENTS	65536

/**
 * struct clockwatch_inject_events - CLOCKWATCH_IOC_INJECT_EVENTS: make
 *	event records (tests of the event stream under a flood)
 * @size:		in: sizeof(struct clockwatch_inject_events)
 * @count:		in: records to make, 1 .. CLOCKWATCH_INJECT_MAX_EVENTS
 * @first_seq:		out: seq of the first one
 * @last_seq:		out: seq of the last one; records of other sources
 *			may lie between
 * @__reserved:		in: zero
 *
 * Each record is a CLOCKWATCH_EV_INJECT with mode CLOCKWATCH_INJECT_EVENTS
 * and duration_ns its index in the call, made through the same path as
 * every other record.  -EINVAL for a bad request, -EPERM without
 * CAP_SYS_ADMIN, -EINTR when a fatal signal stopped it (the records made
 * so far stay).
 */
struct clockwatch_inject_events {
	__u32 size;
	__u32 count;
	__u64 first_seq;
	__u64 last_seq;
	__u64 __reserved[2];
};

/*
 * The commands of the debugfs file.  Their numbers are the ones
 * /dev/clockwatch used before the injector left its ABI: the device
 * refuses them with -ENOTTY.
 */
#define CLOCKWATCH_IOC_INJECT		_IOWR(0xC7, 0x43, struct clockwatch_inject)
#define CLOCKWATCH_IOC_INJECT_EVENTS	\
	_IOWR(0xC7, 0x44, struct clockwatch_inject_events)

#endif /* _CLOCKWATCH_INJECT_H */
