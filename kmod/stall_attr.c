// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: what the kernel saw on a CPU while its probe was stalled.
 *
 * The probe reads a few of the CPU's own counters at every expiry; a
 * stall's attribution is their difference between the expiry before it
 * and the late one.  Time comes from kcpustat: steal time (what the
 * paravirt steal clock gave the tick), hard irq and softirq time (exact
 * with CONFIG_IRQ_TIME_ACCOUNTING, else whole ticks that found the CPU in
 * an irq or softirq).  Counts come from kstat and, on x86, the arch's own
 * interrupt counters.  Each part is capped by what the parts before it
 * left of the stall; what remains is unexplained, so the parts add up to
 * the duration.
 *
 * A host pause is not attributed: it stops every clock of the guest, so
 * the probe's latency does not contain it, and kvmclock's
 * PVCLOCK_GUEST_STOPPED flag is cleared by the kernel's own pvclock reads
 * and may outlast a short pause, so it cannot say which stall it was.
 */

#include <linux/interrupt.h>
#include <linux/kernel_stat.h>
#include <linux/minmax.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "clockwatch.h"
#include "clockwatch_trace.h"
#include "stall.h"

#ifdef CONFIG_X86
#include <asm/hardirq.h>

/* Interrupts x86 counts outside kstat: local timer and IPIs. */
static u64 cw_arch_irqs(void)
{
	return __this_cpu_read(irq_stat.apic_timer_irqs) +
	       __this_cpu_read(irq_stat.irq_resched_count) +
	       __this_cpu_read(irq_stat.irq_call_count) +
	       __this_cpu_read(irq_stat.irq_tlb_count) +
	       __this_cpu_read(irq_stat.apic_irq_work_irqs);
}
#else
static u64 cw_arch_irqs(void)
{
	return 0;
}
#endif /* CONFIG_X86 */

/**
 * clockwatch_stall_snap_take() - read this CPU's attribution counters
 * @snap: where to put them
 *
 * Context: interrupts disabled, on the CPU being measured.
 */
void clockwatch_stall_snap_take(struct clockwatch_stall_snap *snap)
{
	unsigned int cpu = smp_processor_id();
	const u64 *cpustat = kcpustat_this_cpu->cpustat;
	unsigned int i;

	snap->steal_ns = cpustat[CPUTIME_STEAL];
	snap->irq_ns = cpustat[CPUTIME_IRQ];
	snap->softirq_ns = cpustat[CPUTIME_SOFTIRQ];
	snap->irqs = kstat_cpu_irqs_sum(cpu) + cw_arch_irqs();
	snap->softirqs = 0;
	for (i = 0; i < NR_SOFTIRQS; i++)
		snap->softirqs += kstat_softirqs_cpu(i, cpu);
}

/* @after - @before, capped to what is left of @left; takes it from @left. */
static u64 cw_take(u64 before, u64 after, u64 *left)
{
	u64 d = after >= before ? after - before : 0;

	d = min(d, *left);
	*left -= d;
	return d;
}

/**
 * clockwatch_stall_attribute() - split a stall's duration by what the CPU did
 * @st: the stall, with @st->duration_ns set
 * @before: the counters at the expiry before the stall
 * @after: the counters at its end
 *
 * Context: interrupts disabled, on the stalled CPU.
 */
void clockwatch_stall_attribute(struct clockwatch_stall *st,
				const struct clockwatch_stall_snap *before,
				const struct clockwatch_stall_snap *after)
{
	u64 left = st->duration_ns;
	u64 irqs = after->irqs - before->irqs;

	st->attr_flags = 0;
	if (IS_ENABLED(CONFIG_PARAVIRT))
		st->attr_flags |= CLOCKWATCH_ATTR_STEAL;
	if (IS_ENABLED(CONFIG_IRQ_TIME_ACCOUNTING))
		st->attr_flags |= CLOCKWATCH_ATTR_IRQTIME;

	st->steal_ns = cw_take(before->steal_ns, after->steal_ns, &left);
	st->irq_ns = cw_take(before->irq_ns, after->irq_ns, &left);
	st->softirq_ns = cw_take(before->softirq_ns, after->softirq_ns, &left);
	st->unexplained_ns = left;
	/* The interrupt that ran the late expiry is the probe's own. */
	if (st->context == CLOCKWATCH_STALL_IRQ && irqs)
		irqs--;
	st->irq_count = min_t(u64, irqs, U32_MAX);
	st->softirq_count = min_t(u64, after->softirqs - before->softirqs, U32_MAX);
}

/**
 * clockwatch_stall_publish() - tell the world about a stall
 * @cw: the device
 * @st: the stall, complete
 *
 * The clockwatch:stall tracepoint, and a CLOCKWATCH_EV_STALL record for
 * the readers of /dev/clockwatch.
 *
 * Context: hard irq or the probe thread; outside the probe's locks.
 */
void clockwatch_stall_publish(struct clockwatch_dev *cw,
			      const struct clockwatch_stall *st)
{
	struct clockwatch_event ev;

	/* Zeroed whole: the ring's copy goes to userspace, padding and all. */
	memset(&ev, 0, sizeof(ev));
	ev.type = CLOCKWATCH_EV_STALL;
	ev.stall = *st;
	trace_stall(st);
	clockwatch_event_emit(cw, &ev);
}
