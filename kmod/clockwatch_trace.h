/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: tracepoints, so that perf, trace-cmd and bpftrace see the
 * same clock steps and NTP writes as readers of /dev/clockwatch.
 *
 *	clockwatch:clock_step	CLOCK_REALTIME (or TAI) was stepped
 *	clockwatch:ntp_adjust	an adjtimex-family call wrote NTP state
 *	clockwatch:stall	a CPU's stall probe ran late (stall.c)
 *
 * The fields are fixed-width scalars, so the tracefs format stays stable.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM clockwatch

#if !defined(_CLOCKWATCH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CLOCKWATCH_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

#include <uapi/linux/clockwatch.h>

TRACE_EVENT(clock_step,

	TP_PROTO(const struct clockwatch_event *ev),

	TP_ARGS(ev),

	TP_STRUCT__entry(
		__field(u64, seq)
		__field(s64, mono_ns)
		__field(s64, real_ns)
		__field(s64, delta_ns)
		__field(s64, tai_delta_ns)
		__field(u32, cause)
		__field(u32, flags)
		__field(s32, pid)
		__array(char, comm, 16)
	),

	TP_fast_assign(
		__entry->seq = ev->seq;
		__entry->mono_ns = ev->mono_ns;
		__entry->real_ns = ev->real_ns;
		__entry->delta_ns = ev->step.delta_ns;
		__entry->tai_delta_ns = ev->step.tai_delta_ns;
		__entry->cause = ev->step.cause;
		__entry->flags = ev->step.flags;
		__entry->pid = ev->pid;
		memcpy(__entry->comm, ev->comm, sizeof(__entry->comm));
	),

	TP_printk("seq=%llu delta_ns=%lld tai_delta_ns=%lld cause=%u flags=%#x pid=%d comm=%.16s mono_ns=%lld real_ns=%lld",
		  __entry->seq, __entry->delta_ns, __entry->tai_delta_ns,
		  __entry->cause, __entry->flags, __entry->pid, __entry->comm,
		  __entry->mono_ns, __entry->real_ns)
);

TRACE_EVENT(ntp_adjust,

	TP_PROTO(const struct clockwatch_event *ev),

	TP_ARGS(ev),

	TP_STRUCT__entry(
		__field(u64, seq)
		__field(s64, mono_ns)
		__field(u32, modes)
		__field(s32, ret)
		__field(u32, written)
		__field(s32, status)
		__field(s64, offset_ns)
		__field(s64, freq_scaled_ppm)
		__field(s64, maxerror_us)
		__field(s64, esterror_us)
		__field(s32, pid)
		__array(char, comm, 16)
	),

	TP_fast_assign(
		__entry->seq = ev->seq;
		__entry->mono_ns = ev->mono_ns;
		__entry->modes = ev->ntp_adjust.modes;
		__entry->ret = ev->ntp_adjust.ret;
		__entry->written = ev->ntp_adjust.written;
		__entry->status = ev->ntp_adjust.after.status;
		__entry->offset_ns = ev->ntp_adjust.after.offset_ns;
		__entry->freq_scaled_ppm = ev->ntp_adjust.after.freq_scaled_ppm;
		__entry->maxerror_us = ev->ntp_adjust.after.maxerror_us;
		__entry->esterror_us = ev->ntp_adjust.after.esterror_us;
		__entry->pid = ev->pid;
		memcpy(__entry->comm, ev->comm, sizeof(__entry->comm));
	),

	TP_printk("seq=%llu modes=%#x ret=%d written=%#x status=%#x offset_ns=%lld freq_scaled_ppm=%lld maxerror_us=%lld esterror_us=%lld pid=%d comm=%.16s mono_ns=%lld",
		  __entry->seq, __entry->modes, __entry->ret, __entry->written,
		  __entry->status, __entry->offset_ns, __entry->freq_scaled_ppm,
		  __entry->maxerror_us, __entry->esterror_us, __entry->pid,
		  __entry->comm, __entry->mono_ns)
);

TRACE_EVENT(stall,

	TP_PROTO(const struct clockwatch_stall *st),

	TP_ARGS(st),

	TP_STRUCT__entry(
		__field(u64, seq)
		__field(s64, start_ns)
		__field(u64, duration_ns)
		__field(u64, missed)
		__field(u64, steal_ns)
		__field(u64, irq_ns)
		__field(u64, softirq_ns)
		__field(u64, unexplained_ns)
		__field(u32, irq_count)
		__field(u32, softirq_count)
		__field(u32, stall_cpu)
		__field(u16, context)
		__field(u16, attr_flags)
	),

	TP_fast_assign(
		__entry->seq = st->seq;
		__entry->start_ns = st->start_ns;
		__entry->duration_ns = st->duration_ns;
		__entry->missed = st->missed;
		__entry->steal_ns = st->steal_ns;
		__entry->irq_ns = st->irq_ns;
		__entry->softirq_ns = st->softirq_ns;
		__entry->unexplained_ns = st->unexplained_ns;
		__entry->irq_count = st->irq_count;
		__entry->softirq_count = st->softirq_count;
		__entry->stall_cpu = st->cpu;
		__entry->context = st->context;
		__entry->attr_flags = st->attr_flags;
	),

	TP_printk("seq=%llu cpu=%u context=%u start_ns=%lld duration_ns=%llu missed=%llu steal_ns=%llu irq_ns=%llu softirq_ns=%llu unexplained_ns=%llu irqs=%u softirqs=%u flags=%#x",
		  __entry->seq, __entry->stall_cpu, __entry->context,
		  __entry->start_ns, __entry->duration_ns, __entry->missed,
		  __entry->steal_ns, __entry->irq_ns, __entry->softirq_ns,
		  __entry->unexplained_ns,
		  __entry->irq_count, __entry->softirq_count, __entry->attr_flags)
);

#endif /* _CLOCKWATCH_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE clockwatch_trace
#include <trace/define_trace.h>
