// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: changes of the system clock, from the syscall tracepoints,
 * for when the module is not loaded.  See clocks.h.
 *
 * On entry to a clock-changing call the tracker notes, per thread, the
 * call, its timex argument and CLOCK_TAI - CLOCK_MONOTONIC; on exit it
 * measures that difference again and sends one event per call that set
 * the clock or wrote NTP state.  Pure reads (adjtimex with modes = 0) are
 * not events: monitors poll them all the time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "clocks.h"

#define CLOCK_REALTIME		0
#define ADJ_OFFSET_SS_READ	0xa001

char LICENSE[] SEC("license") = "GPL";

/* Read by userspace, and by the lease guard through the pinned map. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_clock_counters);
} counters SEC(".maps");

struct pending {
	__u64 mono_ns;
	__s64 tai_ns;
	__u64 timex;		/* user pointer, adjtimex-family */
	__u32 call;
	__s32 clockid;
	__u32 modes;
	__u32 __pad;
	struct cw_timex_fields req;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);		/* tid */
	__type(value, struct pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/*
 * The programs' context is the per-syscall event's record, struct
 * syscall_trace_enter/exit of kernel/trace/trace.h, read through CO-RE:
 * its header (struct trace_entry) is larger on PREEMPT_RT, which moves
 * the arguments.
 */

static __always_inline int read_timex(__u64 uptr, struct cw_timex_fields *f, __u32 *modes)
{
	struct __kernel_timex tx;

	if (bpf_probe_read_user(&tx, sizeof(tx), (void *)uptr))
		return -1;
	if (modes)
		*modes = tx.modes;
	f->offset = tx.offset;
	f->freq = tx.freq;
	f->maxerror = tx.maxerror;
	f->esterror = tx.esterror;
	f->constant = tx.constant;
	f->tick = tx.tick;
	f->status = tx.status;
	f->tai = tx.tai;
	return 0;
}

/*
 * CLOCK_TAI now, and the MONOTONIC instant it belongs to (@mono): a TAI
 * read between two MONOTONIC reads, the tightest of three.  With two
 * plain reads, an interrupt between them (or the hypervisor running
 * another vCPU) would show as a change of TAI - MONOTONIC, a step that
 * never was; a bracket's error is half its width.
 */
static __always_inline __s64 tai_now(__u64 *mono)
{
	__u64 m0, m1, best = ~0ULL;
	__s64 tai, t = 0;
	int i;

	for (i = 0; i < 3; i++) {
		m0 = bpf_ktime_get_ns();
		tai = bpf_ktime_get_tai_ns();
		m1 = bpf_ktime_get_ns();
		if (m1 - m0 < best) {
			best = m1 - m0;
			*mono = m0 + best / 2;
			t = tai;
		}
	}
	return t;
}

static __always_inline void enter(__u32 call, __s32 clockid, __u64 timex)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending p = {};

	p.call = call;
	p.clockid = clockid;
	p.timex = timex;
	if (timex) {
		if (read_timex(timex, &p.req, &p.modes))
			return;
		/* a read: not an event */
		if (p.modes == 0 || p.modes == ADJ_OFFSET_SS_READ)
			return;
	}
	p.tai_ns = tai_now(&p.mono_ns);
	bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
}

static __always_inline void leave(__s64 ret, bool steps)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct cw_clock_counters *c;
	struct cw_clock_event *e;
	struct pending *p;
	__u64 mono;
	__s64 tai;

	p = bpf_map_lookup_elem(&pending, &tid);
	c = bpf_map_lookup_elem(&counters, &zero);
	if (!p || !c)
		return;
	tai = tai_now(&mono);

	/* count first: the guard must see a step even when the ring is full */
	if (ret >= 0) {
		if (p->timex)
			__sync_fetch_and_add(&c->write_seq, 1);
		if (steps)
			__sync_fetch_and_add(&c->step_seq, 1);
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&c->events_lost, 1);
		__sync_fetch_and_add(&c->event_seq, 1);
		goto out;
	}
	e->seq = __sync_fetch_and_add(&c->event_seq, 1) + 1;
	e->mono_ns = mono;
	e->tai_ns = tai;
	e->delta_ns = (tai - (__s64)mono) - (p->tai_ns - (__s64)p->mono_ns);
	e->ret = ret;
	e->pid = id >> 32;
	e->tid = tid;
	e->call = p->call;
	e->clockid = p->clockid;
	e->modes = p->modes;
	e->flags = 0;
	e->req = p->req;
	__builtin_memset(&e->res, 0, sizeof(e->res));
	if (p->timex) {
		e->flags |= CW_CLOCK_EV_WRITE;
		read_timex(p->timex, &e->res, NULL);
	}
	/* adjtimex() returns the clock state (>= 0) on success */
	if (ret >= 0 && steps)
		e->flags |= CW_CLOCK_EV_STEP;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&pending, &tid);
}

SEC("tracepoint/syscalls/sys_enter_clock_settime")
int enter_clock_settime(struct syscall_trace_enter *ctx)
{
	if ((__s32)ctx->args[0] == CLOCK_REALTIME)
		enter(CW_CALL_CLOCK_SETTIME, CLOCK_REALTIME, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clock_settime")
int exit_clock_settime(struct syscall_trace_exit *ctx)
{
	leave(ctx->ret, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_settimeofday")
int enter_settimeofday(struct syscall_trace_enter *ctx)
{
	/* settimeofday(NULL, tz) only sets the timezone */
	if (ctx->args[0])
		enter(CW_CALL_SETTIMEOFDAY, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_settimeofday")
int exit_settimeofday(struct syscall_trace_exit *ctx)
{
	leave(ctx->ret, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_adjtimex")
int enter_adjtimex(struct syscall_trace_enter *ctx)
{
	if (ctx->args[0])
		enter(CW_CALL_ADJTIMEX, 0, ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clock_adjtime")
int enter_clock_adjtime(struct syscall_trace_enter *ctx)
{
	if ((__s32)ctx->args[0] == CLOCK_REALTIME && ctx->args[1])
		enter(CW_CALL_CLOCK_ADJTIME, CLOCK_REALTIME, ctx->args[1]);
	return 0;
}

/* ADJ_SETOFFSET steps the clock; the other modes slew or set NTP state. */
static __always_inline void leave_adjtime(__s64 ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);

	if (p)
		leave(ret, p->modes & 0x0100 /* ADJ_SETOFFSET */);
}

SEC("tracepoint/syscalls/sys_exit_adjtimex")
int exit_adjtimex(struct syscall_trace_exit *ctx)
{
	leave_adjtime(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clock_adjtime")
int exit_clock_adjtime(struct syscall_trace_exit *ctx)
{
	leave_adjtime(ctx->ret);
	return 0;
}
