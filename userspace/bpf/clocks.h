/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clockwatch: what the clock-change tracker (clocks.bpf.c) shares with
 * userspace.  Without the module, the syscall tracepoints are the only
 * place that sees who changes the system clock: clock_settime(),
 * settimeofday(), adjtimex() and clock_adjtime() on CLOCK_REALTIME.
 *
 * The size of a step is measured, not taken from the arguments: the
 * change of CLOCK_TAI - CLOCK_MONOTONIC (bpf_ktime_get_tai_ns(), Linux
 * 6.1+) from the call's entry to its exit.  CLOCK_TAI moves with
 * CLOCK_REALTIME except when the TAI offset itself changes (ADJ_TAI),
 * which the event also shows (res.tai against req.tai).
 */
#ifndef __CLOCKWATCH_BPF_CLOCKS_H
#define __CLOCKWATCH_BPF_CLOCKS_H

enum cw_clock_call {
	CW_CALL_CLOCK_SETTIME	= 1,
	CW_CALL_SETTIMEOFDAY	= 2,
	CW_CALL_ADJTIMEX	= 3,
	CW_CALL_CLOCK_ADJTIME	= 4,
};

/* cw_clock_event.flags */
#define CW_CLOCK_EV_STEP	(1U << 0)	/* the call set the clock and succeeded */
#define CW_CLOCK_EV_WRITE	(1U << 1)	/* an adjtimex-family call that writes */

/* The fields of struct timex that adjtimex() writes and reports. */
struct cw_timex_fields {
	__s64 offset;		/* us, or ns with STA_NANO */
	__s64 freq;		/* ppm << 16 */
	__s64 maxerror;		/* us */
	__s64 esterror;		/* us */
	__s64 constant;
	__s64 tick;		/* us */
	__s32 status;		/* STA_* */
	__s32 tai;		/* s */
};

struct cw_clock_event {
	__u64 seq;		/* per load, from 1 */
	__u64 mono_ns;		/* CLOCK_MONOTONIC when the call returned */
	__s64 tai_ns;		/* CLOCK_TAI when the call returned */
	__s64 delta_ns;		/* change of TAI - MONOTONIC across the call */
	__s64 ret;		/* the call's return value */
	__u32 pid;		/* tgid of the caller */
	__u32 tid;
	__u32 call;		/* enum cw_clock_call */
	__s32 clockid;		/* CLOCK_REALTIME for the clock_* calls, else 0 */
	__u32 modes;		/* adjtimex-family: timex.modes */
	__u32 flags;		/* CW_CLOCK_EV_* */
	struct cw_timex_fields req;	/* adjtimex-family: what the caller passed */
	struct cw_timex_fields res;	/* adjtimex-family: what it got back */
	char comm[16];
};

/*
 * Counters, in the one entry of the map "counters" (pinned as
 * clocks_counters by `clockwatch guard --pin`, read by the lease guard).
 */
struct cw_clock_counters {
	__u64 step_seq;		/* clock-setting calls that succeeded */
	__u64 write_seq;	/* NTP-state writes that succeeded */
	__u64 event_seq;	/* events sent, or lost */
	__u64 events_lost;	/* ring buffer full */
};

#endif /* __CLOCKWATCH_BPF_CLOCKS_H */
