// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: per-task and per-process pauses, from the scheduler's
 * tracepoints.  See pauses.h for what a pause is and its kinds.
 *
 * Each program exists twice: as tp_btf (typed arguments, cheapest) and as
 * raw_tp (for kernels where BPF_PROG_TYPE_TRACING cannot load); the loader
 * turns one set off with bpf_program__set_autoload() before loading.  Both
 * read task fields through CO-RE, so one object runs on every kernel from
 * 6.1 on.
 *
 * Per task, one record in @tasks says whether the task is in a pause and
 * since when; it is written in place (no allocation after the first time)
 * on switch-out, on wake-up and on switch-in, and removed when the task
 * dies.  On switch-in a pause ends: it goes into the per-process
 * histogram of its kind, into the lease guard's rings when it is long
 * enough, and to the ring buffer when it reaches the event threshold.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pauses.h"

#define TASK_RUNNING		0x0000
#define __TASK_STOPPED		0x0004
#define __TASK_TRACED		0x0008
#define TASK_DEAD		0x0080

#define SCHED_NORMAL		0
#define SCHED_BATCH		3
#define SCHED_IDLE		5

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile bool has_prev_state_arg = true;	/* sched_switch passes it (5.18+) */
const volatile __u32 targ_tgid;			/* 0: every process */
const volatile bool targ_tracked;		/* only processes in @tracked */
const volatile __u64 targ_cgroup;		/* cgroup v2 id, 0: any */
const volatile __u32 targ_cgroup_level;		/* its depth below the root */
const volatile __u64 event_min_ns = ~0ULL;	/* ring buffer threshold */
const volatile __u64 guard_min_ns;		/* 0: no guard records */

/* Counters of what could not be recorded, read by userspace. */
__u64 events_lost;	/* ring buffer full */
__u64 hists_full;	/* no room for a new process's histogram */
__u64 tasks_full;	/* no room for a new task's record */

struct task_pause {
	__u64 start_ns;		/* begin of the pause in progress */
	__u64 runnable_ns;	/* stopped: when it was woken, else 0 */
	__u32 kind;		/* enum cw_pause_kind; NONE: not paused */
	__u32 __pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);			/* tid */
	__type(value, struct task_pause);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cw_hist_key);
	__type(value, struct cw_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct cw_guard_key);
	__type(value, struct cw_guard_ring);
} guard SEC(".maps");

/* For the guard's readers; written by the loader, not by the programs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_guard_info);
} guard_info SEC(".maps");

/* With targ_tracked: the processes to follow, and their descendants. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);			/* tgid */
	__type(value, __u32);			/* tgid of the process that brought it in */
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static const struct cw_hist zero_hist;
static const struct cw_guard_ring zero_ring;

/* task_struct::state was renamed __state in 5.14. */
struct task_struct___pre514 {
	long state;
};

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/*
 * Is the CFS group of t, or one of its ancestors, throttled now?
 * throttle_count counts the throttled levels at and above this cfs_rq.
 */
static __always_inline bool task_throttled(struct task_struct *t)
{
	struct cfs_rq *cfs_rq;
	int count = 0;
	int policy;

	if (!bpf_core_field_exists(t->se.cfs_rq))	/* !CONFIG_FAIR_GROUP_SCHED */
		return false;
	policy = BPF_CORE_READ(t, policy);
	if (policy != SCHED_NORMAL && policy != SCHED_BATCH && policy != SCHED_IDLE)
		return false;
	cfs_rq = BPF_CORE_READ(t, se.cfs_rq);
	if (!cfs_rq)
		return false;
	if (bpf_core_read(&count, sizeof(count), &cfs_rq->throttle_count))
		return false;
	return count > 0;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* Is t in targ_cgroup or below it? */
static __always_inline bool task_in_cgroup(struct task_struct *t)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);
	struct cgroup *anc = NULL;
	__u64 off;

	if (!cg || BPF_CORE_READ(cg, level) < (int)targ_cgroup_level)
		return false;
	off = bpf_core_field_offset(struct cgroup, ancestors) +
	      (__u64)(targ_cgroup_level & 0xff) * sizeof(anc);
	if (bpf_probe_read_kernel(&anc, sizeof(anc), (void *)cg + off) || !anc)
		return false;
	return BPF_CORE_READ(anc, kn, id) == targ_cgroup;
}

static __always_inline bool tgid_wanted(__u32 tgid)
{
	if (targ_tracked)
		return bpf_map_lookup_elem(&tracked, &tgid) != NULL;
	return !targ_tgid || tgid == targ_tgid;
}

/* A tracked process forks: follow the child too. */
static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid;

	if (!targ_tracked)
		return;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid != ctgid && bpf_map_lookup_elem(&tracked, &ptgid))
		bpf_map_update_elem(&tracked, &ctgid, &ptgid, BPF_NOEXIST);
}

static __always_inline struct task_pause *task_lookup(__u32 tid)
{
	static const struct task_pause none;
	struct task_pause *tp;

	tp = bpf_map_lookup_elem(&tasks, &tid);
	if (tp)
		return tp;
	if (bpf_map_update_elem(&tasks, &tid, &none, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&tasks, &tid)) {
		__sync_fetch_and_add(&tasks_full, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&tasks, &tid);
}

static __always_inline void hist_add(__u32 tgid, __u32 kind, __u32 tid,
				     __u64 dur, __u64 now, struct task_struct *t)
{
	struct cw_hist_key key = { .tgid = tgid, .kind = kind };
	struct cw_hist *h;
	__u64 slot;

	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			__sync_fetch_and_add(&hists_full, 1);
			return;
		}
		BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
	}
	slot = cw_hist_slot(dur);
	/* keep the bounds check on the register that indexes (6.1's verifier) */
	barrier_var(slot);
	if (slot >= CW_HIST_SLOTS)
		return;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->total_ns, dur);
	/* Racy between CPUs, and only for the same process: good enough. */
	if (dur > h->max_ns) {
		h->max_ns = dur;
		h->max_end_ns = now;
		h->max_tid = tid;
	}
}

static __always_inline void guard_add(__u32 id, __u32 is_process, __u32 tid,
				      __u32 kind, __u64 start, __u64 end)
{
	struct cw_guard_key key = { .id = id, .is_process = is_process };
	struct cw_guard_ring *r;
	__u64 seq;
	__u32 i;

	r = bpf_map_lookup_elem(&guard, &key);
	if (!r) {
		bpf_map_update_elem(&guard, &key, &zero_ring, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&guard, &key);
		if (!r)
			return;
	}
	seq = __sync_fetch_and_add(&r->seq, 1);
	i = seq % CW_GUARD_RING;
	r->rec[i].start_ns = start;
	r->rec[i].end_ns = end;
	r->rec[i].kind = kind;
	r->rec[i].tid = tid;
}

/* next runs again: end its pause, if it was in one. */
static __always_inline void pause_end(struct task_struct *next, __u64 now)
{
	struct cw_pause_event *e;
	struct task_pause *tp;
	__u32 tid = BPF_CORE_READ(next, pid);
	__u32 tgid, kind;
	__u64 start, runnable, dur;

	if (!tid)
		return;
	tp = bpf_map_lookup_elem(&tasks, &tid);
	if (!tp || tp->kind == CW_PAUSE_NONE)
		return;
	kind = tp->kind;
	start = tp->start_ns;
	runnable = tp->runnable_ns;
	tp->kind = CW_PAUSE_NONE;
	if (now <= start || kind >= CW_PAUSE_NR_KINDS)
		return;

	tgid = BPF_CORE_READ(next, tgid);
	if (!tgid_wanted(tgid))
		return;
	if (targ_cgroup && !task_in_cgroup(next))
		return;

	dur = now - start;
	hist_add(tgid, kind, tid, dur, now, next);
	if (guard_min_ns && dur >= guard_min_ns) {
		guard_add(tid, 0, tid, kind, start, now);
		guard_add(tgid, 1, tid, kind, start, now);
	}
	if (dur < event_min_ns)
		return;

	/* reserve, fill, submit */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	e->start_ns = start;
	e->end_ns = now;
	e->runq_ns = kind == CW_PAUSE_STOPPED ? (runnable ? now - runnable : 0) : dur;
	e->pid = tgid;
	e->tid = tid;
	e->kind = kind;
	e->cpu = bpf_get_smp_processor_id();
	e->cgroup_id = task_cgroup_id(next);
	BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
	bpf_ringbuf_submit(e, 0);
}

/* prev leaves the CPU: a pause begins unless it goes to sleep. */
static __always_inline void pause_begin(bool preempt, struct task_struct *prev,
					__u32 state, __u64 now)
{
	__u32 tid = BPF_CORE_READ(prev, pid);
	struct task_pause *tp;
	__u32 kind;

	if (!tid)
		return;
	if (state & TASK_DEAD) {
		bpf_map_delete_elem(&tasks, &tid);
		return;
	}
	if (!tgid_wanted(BPF_CORE_READ(prev, tgid)))
		return;

	/*
	 * A preempted task stays queued whatever its state says (it may
	 * have been preempted on its way to sleep); otherwise the state
	 * tells whether it was stopped, still runnable, or went to sleep.
	 */
	if (preempt || state == TASK_RUNNING)
		kind = task_throttled(prev) ? CW_PAUSE_THROTTLED : CW_PAUSE_PREEMPTED;
	else if (state & (__TASK_STOPPED | __TASK_TRACED))
		kind = CW_PAUSE_STOPPED;
	else
		kind = CW_PAUSE_NONE;

	tp = kind == CW_PAUSE_NONE ? bpf_map_lookup_elem(&tasks, &tid) : task_lookup(tid);
	if (!tp)
		return;
	tp->kind = kind;
	tp->start_ns = now;
	tp->runnable_ns = 0;
}

/* p is woken: it waits for a CPU from now, unless it was already waiting. */
static __always_inline void wakeup(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct task_pause *tp;
	__u64 now;

	if (!tid || !tgid_wanted(BPF_CORE_READ(p, tgid)))
		return;
	tp = task_lookup(tid);
	if (!tp)
		return;
	now = bpf_ktime_get_ns();
	switch (tp->kind) {
	case CW_PAUSE_NONE:
		tp->kind = task_throttled(p) ? CW_PAUSE_THROTTLED : CW_PAUSE_RUNQUEUE;
		tp->start_ns = now;
		tp->runnable_ns = 0;
		break;
	case CW_PAUSE_STOPPED:
		/* SIGCONT: the first wake-up after the stop counts */
		if (!tp->runnable_ns)
			tp->runnable_ns = now;
		break;
	default:
		/* already queued: the pause began earlier */
		break;
	}
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev,
				      struct task_struct *next, __u32 prev_state)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 state = has_prev_state_arg ? prev_state : task_state(prev);

	pause_begin(preempt, prev, state, now);
	pause_end(next, now);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	on_switch(preempt, prev, next, prev_state);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_sched_wakeup, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(btf_sched_wakeup_new, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	on_switch(preempt, prev, next, prev_state);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_sched_wakeup, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_sched_wakeup_new, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(raw_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}
