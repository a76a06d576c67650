/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clockwatch: what the pause tracker (pauses.bpf.c) shares with userspace.
 *
 * A pause is one interval during which a task wanted to run, or was made
 * to stop, and did not run: from the moment it left the CPU (or was woken)
 * until it ran again.  Voluntary sleep is not a pause.  Each pause has one
 * kind, decided when it begins:
 *
 *  - runqueue:  woken, then waiting for a CPU (run-queue latency);
 *  - preempted: switched out while still runnable, waiting to run again;
 *  - throttled: switched out (or woken) while its CFS group was throttled
 *               by its cgroup's cpu.max, waiting for the next period;
 *  - stopped:   switched out in __TASK_STOPPED or __TASK_TRACED (SIGSTOP,
 *               a ptrace stop); the pause runs until the task runs again,
 *               so it includes the run-queue wait after SIGCONT, which is
 *               reported separately as runq_ns.
 *
 * Times are ns on CLOCK_MONOTONIC (bpf_ktime_get_ns()).  The idle task
 * (pid 0) is never tracked.
 */
#ifndef __CLOCKWATCH_BPF_PAUSES_H
#define __CLOCKWATCH_BPF_PAUSES_H

enum cw_pause_kind {
	CW_PAUSE_NONE		= 0,	/* running, or sleeping voluntarily */
	CW_PAUSE_RUNQUEUE	= 1,
	CW_PAUSE_PREEMPTED	= 2,
	CW_PAUSE_THROTTLED	= 3,
	CW_PAUSE_STOPPED	= 4,
	CW_PAUSE_NR_KINDS	= 5,
};

/*
 * Histogram: log2 octaves of ns, each split into 8 linear sub-buckets, so
 * every bucket is at most 1/8 wide relative to its lower bound.  Slot 0
 * holds pauses shorter than 2^10 ns (about 1 us); then 8 slots for each
 * octave from 2^10 to 2^37 ns (137 s); the last slot holds the rest.
 */
#define CW_HIST_MIN_SHIFT	10
#define CW_HIST_MAX_SHIFT	36	/* the last full octave: [2^36, 2^37) */
#define CW_HIST_SUB_SHIFT	3	/* 8 sub-buckets per octave */
#define CW_HIST_SUBS		(1 << CW_HIST_SUB_SHIFT)
#define CW_HIST_SLOTS		(2 + (CW_HIST_MAX_SHIFT - CW_HIST_MIN_SHIFT + 1) * CW_HIST_SUBS)

/* Key of the per-process histograms: one histogram per process and kind. */
struct cw_hist_key {
	__u32 tgid;
	__u32 kind;		/* enum cw_pause_kind */
};

struct cw_hist {
	__u64 count;		/* pauses recorded */
	__u64 total_ns;		/* their sum */
	__u64 max_ns;		/* the longest */
	__u64 max_end_ns;	/* when the longest ended, CLOCK_MONOTONIC */
	__u32 max_tid;		/* the thread it paused */
	__u32 __pad;
	char comm[16];		/* comm of the first thread recorded */
	__u32 slots[CW_HIST_SLOTS];
};

/* One pause at or above the event threshold, through the ring buffer. */
struct cw_pause_event {
	__u64 start_ns;		/* CLOCK_MONOTONIC: the task left the CPU or woke */
	__u64 end_ns;		/* CLOCK_MONOTONIC: the task ran again */
	__u64 runq_ns;		/* of the pause, the time spent runnable
				 * (stopped: after SIGCONT; else all of it) */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 kind;		/* enum cw_pause_kind */
	__u32 cpu;		/* where it ran again */
	__u64 cgroup_id;	/* cgroup v2 id of the task, 0 if unknown */
	char comm[16];		/* the thread's comm */
};

/*
 * The lease guard's record of recent long pauses of one thread or one
 * process (all its threads): a ring of the last CW_GUARD_RING pauses at or
 * above the guard threshold.  seq counts every pause ever written; slot
 * seq % CW_GUARD_RING is the next to be overwritten.  A reader that saw
 * seq = s0 when it took its token and sees s1 now knows that s1 - s0
 * pauses were recorded since, and that some were lost when s1 - s0 >
 * CW_GUARD_RING.
 */
#define CW_GUARD_RING		16

struct cw_guard_rec {
	__u64 start_ns;		/* CLOCK_MONOTONIC */
	__u64 end_ns;		/* CLOCK_MONOTONIC */
	__u32 kind;		/* enum cw_pause_kind */
	__u32 tid;
};

struct cw_guard_ring {
	__u64 seq;
	struct cw_guard_rec rec[CW_GUARD_RING];
};

/* Key of the guard map: a thread (tid) or a whole process (tgid). */
struct cw_guard_key {
	__u32 id;
	__u32 is_process;
};

/* What the lease guard's readers need to know of its tracker: the one
 * entry of the map guard_info, written by the loader. */
struct cw_guard_info {
	__u64 min_ns;		/* shorter pauses are not recorded */
	__u64 loaded_ns;	/* CLOCK_MONOTONIC when it was loaded */
};

/* Bucket of a pause of ns nanoseconds; no loops, for the BPF verifier. */
static inline __u32 cw_hist_slot(__u64 ns)
{
	__u32 k = 0;
	__u64 v = ns;

	if (ns < (1ULL << CW_HIST_MIN_SHIFT))
		return 0;
	if (v >> 32) { v >>= 32; k += 32; }
	if (v >> 16) { v >>= 16; k += 16; }
	if (v >> 8)  { v >>= 8;  k += 8; }
	if (v >> 4)  { v >>= 4;  k += 4; }
	if (v >> 2)  { v >>= 2;  k += 2; }
	if (v >> 1)  { k += 1; }
	if (k > CW_HIST_MAX_SHIFT)
		return CW_HIST_SLOTS - 1;
	return 1 + (k - CW_HIST_MIN_SHIFT) * CW_HIST_SUBS +
	       (__u32)((ns >> (k - CW_HIST_SUB_SHIFT)) & (CW_HIST_SUBS - 1));
}

/* The smallest ns that falls in slot; slot CW_HIST_SLOTS is the end. */
static inline __u64 cw_hist_slot_low(__u32 slot)
{
	__u32 k, sub;

	if (slot == 0)
		return 0;
	if (slot >= CW_HIST_SLOTS - 1)
		return 1ULL << (CW_HIST_MAX_SHIFT + 1);
	k = CW_HIST_MIN_SHIFT + (slot - 1) / CW_HIST_SUBS;
	sub = (slot - 1) % CW_HIST_SUBS;
	return (1ULL << k) + ((__u64)sub << (k - CW_HIST_SUB_SHIFT));
}

#endif /* __CLOCKWATCH_BPF_PAUSES_H */
