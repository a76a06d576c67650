// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the clock tracker: steps with their size, cause and caller,
 * NTP writes as events, leap seconds, the sync state, and the clocks'
 * measured rates.
 *
 * Steps.  The timekeeper calls the pvclock_gtod notifier on every update
 * with itself as the argument, under its lock.  REALTIME - MONOTONIC is
 * tk->offs_real and changes only when the clock is stepped, so a step is
 * a change of offs_real between two updates, and its size is the
 * difference, exact to the ns.  TAI - UTC (tk->tai_offset) is watched the
 * same way.  The notifier runs in the stepping call's own context, before
 * the call returns, so the event and the page (through an irq_work that
 * runs as soon as the timekeeper lock is dropped) are current when the
 * caller gets control back.
 *
 * Causes.  The notifier does not say who stepped.  kretprobes on the
 * unexported step paths (do_settimeofday64(), timekeeping_inject_offset(),
 * timekeeping_resume()) mark the calling task for the duration of the
 * call, and the notifier looks the current task up.  A step with no mark
 * that moves REALTIME by exactly -1 s or +1 s while keeping TAI is a leap
 * second; one that only moves TAI - UTC is ADJ_TAI.
 *
 * Sync state.  The sync daemon is the process that writes maxerror: that
 * is what every NTP and PTP daemon does on each clock update.  Once one
 * has, another process becomes the daemon only after that process is
 * gone; a maxerror write by anyone else while it lives is not the
 * daemon's.  The daemon's writes make the clock SYNCHRONIZED (maxerror <
 * 16 s) or UNSYNCHRONIZED (16 s, the kernel's limit); silence for
 * freerun_after_s makes it FREE_RUNNING.  Its first update does not make
 * it SYNCHRONIZED: ntpsec 1.2.2 writes maxerror 16 µs with STA_UNSYNC
 * clear as it starts, before it has measured anything; the second does.
 * A step by anyone else, another
 * process's change of the clock's rate or offset (frequency, tick, PLL
 * offset, adjtime(), the discipline's status bits), a VM fork or a
 * resume makes it DISRUPTED.  That ends at a maxerror write of the daemon
 * whose previous update also came after the disruption (an update made
 * right after it was computed from measurements mostly taken before), or
 * whose process started after it.
 *
 * Steps the daemon has not seen.  A daemon learns of a step made behind
 * its back only when it next measures the clock, and until then it goes
 * on claiming its old error (chronyd did, for about two seconds after a
 * "date -s", and for many seconds after a host pause, which leaves
 * REALTIME behind by the pause as a step would): the sum of such steps
 * and of the pauses a reference measured stays on the page as
 * unseen_step_ns, for the bound to add, until the daemon shows it has
 * measured them: it steps the clock, or the correction it reports or the
 * PLL offset it writes has moved since the sum began by enough to undo it
 * to within half of it, or a daemon
 * started after the step takes over.
 *
 * Steps in flight.  Between the timekeeper's update of the vDSO and the
 * page's refresh, REALTIME already holds the stepped value while the page
 * still describes the clock before: a reader could take the step for
 * elapsed time.  The step paths' entry probes raise step_inflight on
 * the page before the step, and their return probes lower it with the
 * page refreshed after it.
 *
 * Rates.  Once a second the refresh timer keeps the clocks it read; the
 * rate of MONOTONIC against MONOTONIC_RAW over the last second and the
 * last minute comes from those.  REALTIME runs at the same rate between
 * steps.
 *
 * Processes.  The page names none: the tracker keeps the sync daemon and
 * the last step's caller as initial-namespace tgids with the time it saw
 * them, and CLOCKWATCH_IOC_TASKS translates them into the caller's pid
 * namespace.
 */

#include <linux/capability.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/preempt.h>
#include <linux/ptrace.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/timekeeper_internal.h>
#include <linux/timekeeping.h>
#include <linux/timex.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "clockwatch.h"

#define CREATE_TRACE_POINTS
#include "clockwatch_trace.h"

/* The first page field of the tracker's after disruption_count. */
#define CW_PUB_FIRST		offsetof(struct clockwatch_page, step_seq)

/* The kernel's maxerror limit (NTP_PHASE_LIMIT in kernel/time/ntp.c), µs. */
#define CW_MAXERROR_LIMIT_US	16000000LL
/* A tick of USER_HZ, µs: timex.tick at nominal rate. */
#define CW_TICK_NOMINAL_US	(USEC_PER_SEC / USER_HZ)

/*
 * maxerror writes of one daemon closer together than this are one clock
 * update (chronyd writes twice per update, microseconds apart), ns.
 */
#define CW_UPDATE_GAP_NS	(100 * NSEC_PER_MSEC)
/* The largest correction a daemon report may carry, ns. */
#define CW_REPORT_MAX_NS	(1000LL * NSEC_PER_SEC)
/* The most unseen_step_ns holds either way, ns (73 years). */
#define CW_UNSEEN_MAX_NS	(S64_MAX / 4)
/* STA_* bits that choose how the kernel disciplines the clock. */
#define CW_STA_DISCIPLINE	(STA_PLL | STA_FLL | STA_FREQHOLD | STA_PPSFREQ | \
				 STA_PPSTIME)

enum {
	CW_FREERUN_AFTER_S_DEFAULT	= 2100,	/* 2 x chrony's maxpoll, and some */
	CW_FREQ_SHORT_NS		= 1000000000,	/* 1 s */
	CW_FREQ_LONG_S			= 60,
	CW_MARKS			= 64,
	CW_STEP_MAXACTIVE		= 64,
};

/* Silence of the sync daemon after which the clock is free running, s. */
static unsigned int freerun_after_s = CW_FREERUN_AFTER_S_DEFAULT;
module_param(freerun_after_s, uint, 0644);
MODULE_PARM_DESC(freerun_after_s,
		 "Seconds without a maxerror write after which the clock is free running (default 2100)");

/*
 * Cause marks: which task is inside which step path right now.  Few tasks
 * step the clock at once; a full table only loses the cause of a step
 * (UNKNOWN), never the step.
 */
struct cw_mark {
	struct task_struct *task;
	u32 cause;
};

static struct cw_mark cw_marks[CW_MARKS];
static DEFINE_RAW_SPINLOCK(cw_marks_lock);	/* protects cw_marks */

/* Precedence when a task is inside two paths: the innermost wins. */
static int cw_cause_rank(u32 cause)
{
	switch (cause) {
	case CLOCKWATCH_STEP_ADJ_SETOFFSET:
		return 3;
	case CLOCKWATCH_STEP_RESUME:
		return 2;
	case CLOCKWATCH_STEP_SETTIMEOFDAY:
		return 1;
	default:
		return 0;
	}
}

static int cw_mark_push(u32 cause)
{
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&cw_marks_lock, flags);
	for (i = 0; i < CW_MARKS; i++) {
		if (!cw_marks[i].task) {
			cw_marks[i].task = current;
			cw_marks[i].cause = cause;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&cw_marks_lock, flags);
	return i < CW_MARKS ? i : -1;
}

static void cw_mark_pop(int slot)
{
	unsigned long flags;

	if (slot < 0)
		return;
	raw_spin_lock_irqsave(&cw_marks_lock, flags);
	cw_marks[slot].task = NULL;
	raw_spin_unlock_irqrestore(&cw_marks_lock, flags);
}

/* The cause the current task is marked with, or CLOCKWATCH_STEP_UNKNOWN. */
static u32 cw_mark_find(void)
{
	u32 cause = CLOCKWATCH_STEP_UNKNOWN;
	unsigned long flags;
	int i;

	if (!in_task())
		return cause;
	raw_spin_lock_irqsave(&cw_marks_lock, flags);
	for (i = 0; i < CW_MARKS; i++)
		if (cw_marks[i].task == current &&
		    cw_cause_rank(cw_marks[i].cause) > cw_cause_rank(cause))
			cause = cw_marks[i].cause;
	raw_spin_unlock_irqrestore(&cw_marks_lock, flags);
	return cause;
}

/*
 * do_settimeofday64() serves settimeofday() and clock_settime() alike, and
 * the kernel's own callers (RTC at boot): tell them apart by the system
 * call the task is in.
 */
static u32 cw_settime_cause(void)
{
	long nr;

	if (current->flags & PF_KTHREAD)
		return CLOCKWATCH_STEP_SETTIME_KERNEL;
	nr = syscall_get_nr(current, task_pt_regs(current));
	if (nr == __NR_clock_settime)
		return CLOCKWATCH_STEP_CLOCK_SETTIME;
	if (nr == __NR_settimeofday)
		return CLOCKWATCH_STEP_SETTIMEOFDAY;
	/* 32-bit callers: the compat numbers differ; name the common path. */
	return CLOCKWATCH_STEP_SETTIMEOFDAY;
}

/* kretprobe data: the device and the mark slot of this call. */
struct cw_mark_call {
	struct clockwatch_dev *cw;
	int slot;
};

/* Publish the tracker's state on the page, clocks as they are. */
static void cw_publish(struct clockwatch_dev *cw)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&cw->lock, flags);
	clockwatch_page_write_begin(cw);
	clockwatch_steps_publish(cw);
	clockwatch_page_write_end(cw);
	raw_spin_unlock_irqrestore(&cw->lock, flags);
}

/*
 * A step path is entered: raise step_inflight on the page before the
 * step can reach the vDSO.  The clocks are not read here: on the way into
 * timekeeping_resume() the clocksource is not running yet.
 */
static void cw_step_enter(struct kretprobe_instance *ri,
			  struct clockwatch_dev *cw, u32 cause)
{
	struct cw_mark_call *call = (struct cw_mark_call *)ri->data;
	unsigned long flags;

	call->cw = cw;
	call->slot = cw_mark_push(cause);
	raw_spin_lock_irqsave(&cw->trk.lock, flags);
	cw->trk.pub.step_inflight++;
	raw_spin_unlock_irqrestore(&cw->trk.lock, flags);
	cw_publish(cw);
	/*
	 * Ensure the page's raised count is visible before anything the step
	 * writes; pairs with the reader's acquire fence between its
	 * CLOCK_REALTIME read and its second load of the page's seq.
	 */
	smp_wmb();
}

static int cw_settime_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cw_step_enter(ri, container_of(get_kretprobe(ri), struct clockwatch_dev,
				       steps.settime_rp),
		      CLOCKWATCH_STEP_SETTIMEOFDAY);
	return 0;
}

static int cw_setoffset_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cw_step_enter(ri, container_of(get_kretprobe(ri), struct clockwatch_dev,
				       steps.setoffset_rp),
		      CLOCKWATCH_STEP_ADJ_SETOFFSET);
	return 0;
}

static int cw_resume_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cw_step_enter(ri, container_of(get_kretprobe(ri), struct clockwatch_dev,
				       steps.resume_rp),
		      CLOCKWATCH_STEP_RESUME);
	return 0;
}

/* The step path returned: the page shows its result, then the count drops. */
static int cw_mark_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct cw_mark_call *call = (struct cw_mark_call *)ri->data;
	struct clockwatch_dev *cw = call->cw;
	unsigned long flags;

	cw_mark_pop(call->slot);
	raw_spin_lock_irqsave(&cw->trk.lock, flags);
	if (cw->trk.pub.step_inflight)
		cw->trk.pub.step_inflight--;
	raw_spin_unlock_irqrestore(&cw->trk.lock, flags);
	clockwatch_clocks_refresh(cw);
	return 0;
}

/* The current task's process, seen at @mono (CLOCK_MONOTONIC). */
static void cw_task_id_current(struct clockwatch_task_id *id, s64 mono)
{
	id->tgid = task_tgid_nr(current);
	id->mono_ns = mono;
	/* A torn read of a racing rename is harmless. */
	strscpy_pad(id->comm, current->comm, sizeof(id->comm));
}

/* Start time of the current task's process, to tell pids apart. */
static u64 cw_current_start(void)
{
	return current->group_leader->start_boottime;
}

/* Is the current task the sync daemon?  Caller holds trk->lock. */
static bool cw_is_daemon(const struct clockwatch_tracker *trk)
{
	lockdep_assert_held(&trk->lock);

	return in_task() && trk->daemon.tgid &&
	       task_tgid_nr(current) == trk->daemon.tgid &&
	       cw_current_start() == trk->daemon_start;
}

/* Does the sync daemon's process still run?  Caller holds trk->lock. */
static bool cw_daemon_alive(const struct clockwatch_tracker *trk)
{
	struct task_struct *t;
	bool alive;

	lockdep_assert_held(&trk->lock);

	if (!trk->daemon.tgid)
		return false;
	rcu_read_lock();
	t = pid_task(find_pid_ns(trk->daemon.tgid, &init_pid_ns),
		     PIDTYPE_TGID);
	alive = t && t->start_boottime == trk->daemon_start &&
		!(READ_ONCE(t->flags) & PF_EXITING);
	rcu_read_unlock();
	return alive;
}

/* |v| for an s64 that is never S64_MIN here. */
static s64 cw_abs(s64 v)
{
	return v < 0 ? -v : v;
}

/*
 * Has the daemon's correction (positive: the clock is behind) moved, since
 * the unseen steps began, by enough to undo them to within half?  The
 * change, not the correction itself: a daemon still slewing out 9 s when
 * a 10 s pause came reported 9 s before it had measured the pause.
 * Caller holds trk->lock.
 */
static void cw_unseen_measured(struct clockwatch_tracker *trk, s64 correction)
{
	s64 unseen = trk->pub.unseen_step_ns;
	s64 moved;

	lockdep_assert_held(&trk->lock);

	/* Corrections within +-2^61 ns (73 years): the difference cannot wrap. */
	correction = clamp_t(s64, correction, -CW_UNSEEN_MAX_NS, CW_UNSEEN_MAX_NS);
	trk->last_correction_ns = correction;
	moved = correction - trk->unseen_base_ns;
	if (unseen && cw_abs(moved + unseen) <= cw_abs(unseen) / 2)
		trk->pub.unseen_step_ns = 0;
}

/* A step by another process, @d_real ns; caller holds trk->lock. */
static void cw_unseen_add(struct clockwatch_tracker *trk, s64 d_real)
{
	s64 *unseen = &trk->pub.unseen_step_ns;

	lockdep_assert_held(&trk->lock);

	if (!*unseen)
		trk->unseen_base_ns = trk->last_correction_ns;
	/* Both within +-2^61 ns (73 years): the sum cannot wrap. */
	*unseen = clamp_t(s64, *unseen + clamp_t(s64, d_real, -CW_UNSEEN_MAX_NS,
						 CW_UNSEEN_MAX_NS),
			  -CW_UNSEEN_MAX_NS, CW_UNSEEN_MAX_NS);
	trk->unseen_boot_ns = ktime_get_boot_fast_ns();
}

/*
 * A disruption, from @raw on; caller holds trk->lock.  Counted also when
 * one is in force already: page->disruption_count tells a reader that
 * something happened since it last looked.
 */
static void cw_disrupt_locked(struct clockwatch_tracker *trk, u32 reason,
			      s64 raw)
{
	lockdep_assert_held(&trk->lock);

	trk->disrupted = true;
	trk->disrupt_reason = reason;
	trk->pub.disruption_count++;
	trk->pub.disrupt_raw_ns = raw;
	trk->disrupt_boot_ns = ktime_get_boot_fast_ns();
}

/*
 * The sync state from the facts; caller holds trk->lock.  Returns the
 * state before, so the caller can report a change.
 */
static u32 cw_sync_update(struct clockwatch_tracker *trk, s64 now_mono)
{
	struct clockwatch_page *x = &trk->pub;
	u32 old = x->sync_state;
	u32 state, reason;

	lockdep_assert_held(&trk->lock);

	if (trk->disrupted) {
		state = CLOCKWATCH_SYNC_DISRUPTED;
		reason = trk->disrupt_reason;
	} else if (!trk->daemon.tgid) {
		state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
		reason = CLOCKWATCH_SYNC_R_NO_DAEMON;
	} else if (x->maxerror_us >= CW_MAXERROR_LIMIT_US) {
		state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
		reason = CLOCKWATCH_SYNC_R_MAXERROR_LIMIT;
	} else if (!trk->prev_burst_raw_ns) {
		/* One update only: it may be a placeholder written at start. */
		state = CLOCKWATCH_SYNC_UNSYNCHRONIZED;
		reason = CLOCKWATCH_SYNC_R_DAEMON_FIRST;
	} else if (now_mono - x->maxerror_mono_ns >
		   (s64)READ_ONCE(freerun_after_s) * NSEC_PER_SEC) {
		state = CLOCKWATCH_SYNC_FREE_RUNNING;
		reason = CLOCKWATCH_SYNC_R_DAEMON_SILENT;
	} else {
		state = CLOCKWATCH_SYNC_SYNCHRONIZED;
		reason = CLOCKWATCH_SYNC_R_MAXERROR;
	}
	if (state != old || reason != x->sync_reason) {
		x->sync_state = state;
		x->sync_reason = reason;
		x->sync_mono_ns = now_mono;
	}
	return old;
}

/*
 * The times of a record that follows from another one (a LEAP or
 * DISRUPTION record after the STEP or NTP_ADJUST record that caused it):
 * the cause's own.  Inside the timekeeper, the fast REALTIME read still
 * has the base from before a step, so a time read there now would be off
 * by the step.
 */
static void cw_event_times(struct clockwatch_event *ev,
			   const struct clockwatch_event *cause)
{
	if (!cause)
		return;
	ev->mono_ns = cause->mono_ns;
	ev->real_ns = cause->real_ns;
	ev->raw_ns = cause->raw_ns;
}

/*
 * Report a move into or out of DISRUPTED, at the time of @cause (NULL:
 * now); not under trk->lock.
 */
static void cw_sync_report(struct clockwatch_dev *cw, u32 old, u32 new,
			   u32 reason, const struct clockwatch_event *cause)
{
	struct clockwatch_event ev;

	if (old == new || (old != CLOCKWATCH_SYNC_DISRUPTED &&
			   new != CLOCKWATCH_SYNC_DISRUPTED))
		return;
	memset(&ev, 0, sizeof(ev));
	cw_event_times(&ev, cause);
	ev.type = CLOCKWATCH_EV_DISRUPTION;
	ev.disruption.reason = reason;
	ev.disruption.old_state = old;
	ev.disruption.new_state = new;
	clockwatch_event_emit(cw, &ev);
}

/**
 * clockwatch_sync_disrupt() - the clock can no longer be trusted
 * @cw:		the device
 * @reason:	CLOCKWATCH_SYNC_R_* (VMFORK)
 *
 * Makes the sync state DISRUPTED until the sync daemon writes maxerror
 * again, counts the disruption (page->disruption_count), emits a
 * DISRUPTION event when the state changes, and publishes the page.
 *
 * Context: any but NMI, not under the timekeeper lock.
 */
void clockwatch_sync_disrupt(struct clockwatch_dev *cw, u32 reason)
{
	struct clockwatch_tracker *trk = &cw->trk;
	unsigned long flags;
	u32 old, new;

	raw_spin_lock_irqsave(&trk->lock, flags);
	cw_disrupt_locked(trk, reason, ktime_get_raw_fast_ns());
	old = cw_sync_update(trk, ktime_get_mono_fast_ns());
	new = trk->pub.sync_state;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	cw_sync_report(cw, old, new, reason, NULL);
	cw_publish(cw);
}

/**
 * clockwatch_sync_disrupt_ref() - a reference saw the clock disrupted
 * @cw:		the device
 * @reason:	CLOCKWATCH_SYNC_R_* (HOST_PAUSE)
 * @ref:	what the reference measured: its ref_* fields
 *
 * As clockwatch_sync_disrupt(), but the DISRUPTION record is emitted
 * also when the state was DISRUPTED already (old_state is new_state
 * then): the record carries a measurement a reader has nowhere else.
 * The measured change of REALTIME against the reference also goes into
 * page->unseen_step_ns, as a step the daemon has not seen.
 *
 * Context: task context, not under the timekeeper lock.
 */
void clockwatch_sync_disrupt_ref(struct clockwatch_dev *cw, u32 reason,
				 const struct clockwatch_disruption *ref)
{
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_event ev;
	unsigned long flags;
	u32 old, new;

	raw_spin_lock_irqsave(&trk->lock, flags);
	cw_disrupt_locked(trk, reason, ktime_get_raw_fast_ns());
	/*
	 * REALTIME fell behind the reference by the pause: to the daemon,
	 * which measures the clock only now and then, that is a step of
	 * REALTIME it has not seen (chronyd went on writing its old error
	 * for seconds after a 1 s pause).  It stays in the bound until the
	 * daemon shows it has measured it, as a step by another process.
	 */
	cw_unseen_add(trk, ref->ref_offset_change_ns);
	old = cw_sync_update(trk, ktime_get_mono_fast_ns());
	new = trk->pub.sync_state;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	memset(&ev, 0, sizeof(ev));
	ev.type = CLOCKWATCH_EV_DISRUPTION;
	ev.disruption.reason = reason;
	ev.disruption.old_state = old;
	ev.disruption.new_state = new;
	ev.disruption.ref_source = ref->ref_source;
	ev.disruption.ref_offset_change_ns = ref->ref_offset_change_ns;
	ev.disruption.ref_err_ns = ref->ref_err_ns;
	ev.disruption.ref_before_raw_ns = ref->ref_before_raw_ns;
	ev.disruption.ref_after_raw_ns = ref->ref_after_raw_ns;
	clockwatch_event_emit(cw, &ev);
	cw_publish(cw);
}

/* Leap second armed, from the NTP state. */
static u32 cw_leap_pending(s32 status, s32 time_state)
{
	if (time_state != TIME_OK && time_state != TIME_INS &&
	    time_state != TIME_DEL && time_state != TIME_ERROR)
		return CLOCKWATCH_LEAP_NONE;
	if (status & STA_INS)
		return CLOCKWATCH_LEAP_INSERT;
	if (status & STA_DEL)
		return CLOCKWATCH_LEAP_DELETE;
	return CLOCKWATCH_LEAP_NONE;
}

/* Report a move of time_state, at the time of @cause. */
static void cw_leap_report(struct clockwatch_dev *cw, s32 old_state,
			   s32 new_state, s32 status, u32 pending,
			   const struct clockwatch_event *cause)
{
	struct clockwatch_event ev;

	memset(&ev, 0, sizeof(ev));
	cw_event_times(&ev, cause);
	ev.type = CLOCKWATCH_EV_LEAP;
	ev.leap.old_state = old_state;
	ev.leap.new_state = new_state;
	ev.leap.status = status;
	ev.leap.leap_pending = pending;
	clockwatch_event_emit(cw, &ev);
}

/**
 * clockwatch_steps_gtod() - a timekeeper update: was the clock stepped?
 * @cw:		the device
 * @was_set:	the update set the clock (TK_CLOCK_WAS_SET)
 * @priv:	the struct timekeeper, locked and being updated
 *
 * Context: the pvclock_gtod notifier, under the timekeeper lock with
 * interrupts disabled, tk_core.seq open for writing: no clock read but
 * the NMI-safe ones.
 */
void clockwatch_steps_gtod(struct clockwatch_dev *cw, unsigned long was_set,
			   void *priv)
{
	struct clockwatch_step_hooks *h = &cw->steps;
	struct clockwatch_tracker *trk = &cw->trk;
	const struct timekeeper *tk = priv;
	struct clockwatch_event ev;
	s64 d_real, d_tai, mono;
	u32 cause, old_sync, new_sync, reason = 0;
	s32 old_state = 0, new_state = 0, status = 0;
	bool leap = false;
	unsigned long flags;

	if (!h->prev_valid) {
		h->prev_offs_real = tk->offs_real;
		h->prev_tai_offset = tk->tai_offset;
		h->prev_valid = true;
		return;
	}
	d_real = ktime_to_ns(ktime_sub(tk->offs_real, h->prev_offs_real));
	d_tai = (s64)(tk->tai_offset - h->prev_tai_offset) * NSEC_PER_SEC;
	if (!d_real && !d_tai && !was_set)
		return;

	cause = cw_mark_find();
	/* A clock-set update that moved nothing: only a settime is a step. */
	if (!d_real && !d_tai && cause != CLOCKWATCH_STEP_SETTIMEOFDAY &&
	    cause != CLOCKWATCH_STEP_ADJ_SETOFFSET)
		return;
	if (cause == CLOCKWATCH_STEP_SETTIMEOFDAY)
		cause = cw_settime_cause();
	else if (cause == CLOCKWATCH_STEP_UNKNOWN && !d_real)
		cause = CLOCKWATCH_STEP_TAI;
	else if (cause == CLOCKWATCH_STEP_UNKNOWN &&
		 d_real == -NSEC_PER_SEC && d_tai == NSEC_PER_SEC)
		cause = CLOCKWATCH_STEP_LEAP_INSERT;
	else if (cause == CLOCKWATCH_STEP_UNKNOWN &&
		 d_real == NSEC_PER_SEC && d_tai == -NSEC_PER_SEC)
		cause = CLOCKWATCH_STEP_LEAP_DELETE;

	mono = ktime_get_mono_fast_ns();
	memset(&ev, 0, sizeof(ev));
	ev.type = CLOCKWATCH_EV_STEP;
	ev.mono_ns = mono;
	ev.raw_ns = ktime_get_raw_fast_ns();
	ev.real_ns = mono + ktime_to_ns(tk->offs_real);
	ev.step.delta_ns = d_real;
	ev.step.real_before_ns = mono + ktime_to_ns(h->prev_offs_real);
	ev.step.real_after_ns = ev.real_ns;
	ev.step.tai_delta_ns = d_tai;
	ev.step.cause = cause;
	h->prev_offs_real = tk->offs_real;
	h->prev_tai_offset = tk->tai_offset;

	raw_spin_lock_irqsave(&trk->lock, flags);
	if (cw_is_daemon(trk))
		ev.step.flags |= CLOCKWATCH_STEPF_DAEMON;
	ev.step.step_seq = ++trk->pub.step_seq;
	trk->pub.last_step_delta_ns = d_real;
	trk->pub.last_step_mono_ns = mono;
	trk->pub.last_step_real_ns = ev.real_ns;
	trk->pub.last_step_cause = cause;
	trk->pub.last_step_flags = ev.step.flags;
	/* A step from interrupt context (a leap second) has no caller. */
	if (in_task())
		cw_task_id_current(&trk->last_step, mono);
	else
		memset(&trk->last_step, 0, sizeof(trk->last_step));
	/*
	 * A leap second moves time_state on (second_overflow() in
	 * kernel/time/ntp.c): an inserted one from INS to OOP, where it
	 * stays for the second 23:59:60; a deleted one from DEL straight
	 * to WAIT, as 23:59:59 never happens.
	 */
	if (cause == CLOCKWATCH_STEP_LEAP_INSERT ||
	    cause == CLOCKWATCH_STEP_LEAP_DELETE) {
		leap = true;
		if (cause == CLOCKWATCH_STEP_LEAP_INSERT) {
			old_state = TIME_INS;
			new_state = TIME_OOP;
		} else {
			old_state = TIME_DEL;
			new_state = TIME_WAIT;
		}
		status = trk->ntp_last.status;
		trk->pub.time_state = new_state;
		trk->pub.leap_pending = CLOCKWATCH_LEAP_NONE;
	}
	/* Only REALTIME steps disrupt; leap seconds and ADJ_TAI are due. */
	if (d_real && !(ev.step.flags & CLOCKWATCH_STEPF_DAEMON) &&
	    cause != CLOCKWATCH_STEP_LEAP_INSERT &&
	    cause != CLOCKWATCH_STEP_LEAP_DELETE) {
		reason = cause == CLOCKWATCH_STEP_RESUME ?
			 CLOCKWATCH_SYNC_R_RESUME : CLOCKWATCH_SYNC_R_FOREIGN_STEP;
		cw_disrupt_locked(trk, reason, ev.raw_ns);
		/* The time asleep is real time: a resume's step is no error. */
		if (cause != CLOCKWATCH_STEP_RESUME && trk->daemon.tgid)
			cw_unseen_add(trk, d_real);
	}
	/* For the reference audit: the RTC ran while MONOTONIC_RAW did not. */
	if (d_real && cause == CLOCKWATCH_STEP_RESUME)
		trk->audit_resumes++;
	/* The daemon stepped: it measured the clock, unseen steps included. */
	if (d_real && (ev.step.flags & CLOCKWATCH_STEPF_DAEMON))
		trk->pub.unseen_step_ns = 0;
	old_sync = cw_sync_update(trk, mono);
	new_sync = trk->pub.sync_state;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	clockwatch_event_emit(cw, &ev);
	trace_clock_step(&ev);
	if (leap)
		cw_leap_report(cw, old_state, new_state, status,
			       CLOCKWATCH_LEAP_NONE, &ev);
	cw_sync_report(cw, old_sync, new_sync, reason, &ev);
}

/* Fields a call with these modes writes: CLOCKWATCH_NTPF_*. */
static u32 cw_ntp_written(unsigned int modes)
{
	u32 w = 0;

	if (modes & ADJ_ADJTIME)	/* adjtime(): the offset only */
		return (modes & ADJ_OFFSET_READONLY) ? 0 : CLOCKWATCH_NTPF_OFFSET;
	if (modes & ADJ_OFFSET)
		w |= CLOCKWATCH_NTPF_OFFSET;
	if (modes & ADJ_FREQUENCY)
		w |= CLOCKWATCH_NTPF_FREQ;
	if (modes & ADJ_MAXERROR)
		w |= CLOCKWATCH_NTPF_MAXERROR;
	if (modes & ADJ_ESTERROR)
		w |= CLOCKWATCH_NTPF_ESTERROR;
	if (modes & ADJ_STATUS)
		w |= CLOCKWATCH_NTPF_STATUS;
	if (modes & ADJ_TIMECONST)
		w |= CLOCKWATCH_NTPF_CONSTANT;
	if (modes & ADJ_TICK)
		w |= CLOCKWATCH_NTPF_TICK;
	if (modes & ADJ_TAI)
		w |= CLOCKWATCH_NTPF_TAI;
	if (modes & ADJ_SETOFFSET)
		w |= CLOCKWATCH_NTPF_SETOFFSET;
	return w;
}

/* The rate the NTP state sets MONOTONIC to against the clocksource, ppb. */
static s64 cw_ntp_rate_ppb(const struct clockwatch_ntp *ntp)
{
	/* freq: ppm << 16; tick: µs per USER_HZ tick. */
	return div_s64(ntp->freq_scaled_ppm * 1000, 65536) +
	       div_s64((ntp->tick_us - CW_TICK_NOMINAL_US) * NSEC_PER_SEC,
		       CW_TICK_NOMINAL_US);
}

/*
 * Did a call change how the clock runs: its rate (frequency, tick), the
 * offset the kernel slews in (PLL or adjtime()), or the discipline?
 */
static bool cw_foreign_change(const struct clockwatch_ntp *old,
			      const struct clockwatch_ntp *new,
			      unsigned int modes, u32 written)
{
	if ((written & CLOCKWATCH_NTPF_FREQ) &&
	    new->freq_scaled_ppm != old->freq_scaled_ppm)
		return true;
	if ((written & CLOCKWATCH_NTPF_TICK) && new->tick_us != old->tick_us)
		return true;
	/* adjtime() returns the adjustment before the call: any is a slew. */
	if ((written & CLOCKWATCH_NTPF_OFFSET) &&
	    ((modes & ADJ_ADJTIME) || new->offset_ns))
		return true;
	return (written & CLOCKWATCH_NTPF_STATUS) &&
	       ((new->status ^ old->status) & CW_STA_DISCIPLINE);
}

/*
 * The current task's process becomes the sync daemon at @mono; caller
 * holds trk->lock.
 */
static void cw_daemon_new(struct clockwatch_tracker *trk, s64 mono)
{
	struct clockwatch_page *x = &trk->pub;

	lockdep_assert_held(&trk->lock);

	cw_task_id_current(&trk->daemon, mono);
	x->daemon_count++;
	trk->daemon_start = cw_current_start();
	/* All it measures is from after the unseen steps. */
	if (trk->daemon_start > trk->unseen_boot_ns)
		x->unseen_step_ns = 0;
	/* Its corrections start from nothing known; the sum, if kept, too. */
	trk->last_correction_ns = 0;
	trk->unseen_base_ns = 0;
	trk->burst_raw_ns = 0;
	trk->prev_burst_raw_ns = 0;
	x->maxerror_interval_raw_ns = 0;
}

/*
 * A maxerror write of the sync daemon: the bound's new anchor, its update
 * interval, and the end of a disruption that both this update and the
 * one before it came after, or that came before the daemon's process
 * started (all it measured is from after).  Caller holds trk->lock.
 */
static void cw_daemon_write(struct clockwatch_tracker *trk,
			    const struct clockwatch_ntp *new, s64 mono, s64 raw)
{
	struct clockwatch_page *x = &trk->pub;

	lockdep_assert_held(&trk->lock);

	if (!trk->burst_raw_ns || raw - x->maxerror_raw_ns >= CW_UPDATE_GAP_NS) {
		x->maxerror_interval_raw_ns =
			trk->burst_raw_ns ? raw - trk->burst_raw_ns : 0;
		trk->prev_burst_raw_ns = trk->burst_raw_ns;
		trk->burst_raw_ns = raw;
	}
	x->maxerror_mono_ns = mono;
	x->maxerror_raw_ns = raw;
	x->maxerror_us = new->maxerror_us;
	x->esterror_us = new->esterror_us;
	if (trk->disrupted &&
	    ((trk->prev_burst_raw_ns &&
	      trk->prev_burst_raw_ns >= x->disrupt_raw_ns) ||
	     trk->daemon_start > trk->disrupt_boot_ns)) {
		trk->disrupted = false;
		/*
		 * A report made after an earlier write holds what the daemon
		 * knew before this update: possibly nothing of the
		 * disruption.  Void it; the daemon's next report is due.
		 */
		if (x->report_anchor_raw_ns < raw)
			x->report_raw_ns = 0;
	}
}

/**
 * clockwatch_steps_report() - CLOCKWATCH_IOC_DAEMON_REPORT
 * @cw:		the device
 * @urep:	the report, from userspace
 *
 * Publishes what the sync daemon reported about the clock, paired with
 * the maxerror write the caller saw before asking the daemon.
 *
 * Return: 0; -EFAULT; -EINVAL for a malformed report; -EPERM without
 * CAP_SYS_TIME; -ESRCH when @urep->daemon_pid is not the sync daemon;
 * -EAGAIN when the daemon wrote maxerror or the clock was stepped since
 * the caller read the page.
 *
 * Context: process context.
 */
long clockwatch_steps_report(struct clockwatch_dev *cw,
			     struct clockwatch_daemon_report __user *urep)
{
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_page *x = &trk->pub;
	struct clockwatch_daemon_report rep;
	unsigned long flags;
	long ret = 0;
	pid_t tgid;
	size_t i;

	if (copy_from_user(&rep, urep, sizeof(rep)))
		return -EFAULT;
	if (rep.size != sizeof(rep) || rep.source != CLOCKWATCH_DREP_CHRONY ||
	    rep.flags & ~CLOCKWATCH_DREPF_SYNCED || rep.daemon_pid <= 0 ||
	    rep.correction_ns > CW_REPORT_MAX_NS ||
	    rep.correction_ns < -CW_REPORT_MAX_NS ||
	    rep.root_delay_ns < 0 || rep.root_dispersion_ns < 0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(rep.__reserved); i++)
		if (rep.__reserved[i])
			return -EINVAL;
	if (!capable(CAP_SYS_TIME))
		return -EPERM;

	rcu_read_lock();
	tgid = pid_nr(find_vpid(rep.daemon_pid));
	rcu_read_unlock();

	raw_spin_lock_irqsave(&trk->lock, flags);
	if (!tgid || tgid != trk->daemon.tgid || !cw_daemon_alive(trk)) {
		ret = -ESRCH;
	} else if (rep.anchor_raw_ns != x->maxerror_raw_ns ||
		   rep.step_seq != x->step_seq) {
		ret = -EAGAIN;
	} else {
		x->report_raw_ns = ktime_get_raw_fast_ns();
		x->report_correction_ns = rep.correction_ns;
		x->report_anchor_raw_ns = x->maxerror_raw_ns;
		x->report_maxerror_us = x->maxerror_us;
		x->report_step_seq = x->step_seq;
		x->report_source = rep.source;
		x->report_flags = rep.flags;
		x->report_root_delay_ns = rep.root_delay_ns;
		x->report_root_dispersion_ns = rep.root_dispersion_ns;
		x->report_ref_real_ns = rep.ref_real_ns;
		cw_unseen_measured(trk, rep.correction_ns);
	}
	raw_spin_unlock_irqrestore(&trk->lock, flags);
	if (!ret)
		cw_publish(cw);
	return ret;
}

/*
 * @id as pid namespace @ns sees it: its tgid there, or 0 (and no comm)
 * when it is not visible from @ns or has exited.
 */
static pid_t cw_task_id_ns(const struct clockwatch_task_id *id,
			   struct pid_namespace *ns, char *comm)
{
	struct task_struct *t;
	pid_t nr = 0;

	rcu_read_lock();
	t = clockwatch_task_at(id->tgid, PIDTYPE_TGID, id->mono_ns);
	if (t)
		nr = task_tgid_nr_ns(t, ns);
	rcu_read_unlock();
	if (nr)
		memcpy(comm, id->comm, TASK_COMM_LEN);
	else
		memset(comm, 0, TASK_COMM_LEN);
	return nr;
}

/**
 * clockwatch_steps_tasks() - CLOCKWATCH_IOC_TASKS
 * @cw:		the device
 * @utasks:	the caller's struct clockwatch_tasks
 *
 * Names the sync daemon and the last step's caller as the caller's pid
 * namespace sees them.  No privilege: the caller learns of processes it
 * could see in /proc anyway.
 *
 * Return: 0; -EFAULT; -EINVAL for a size other than the structure's or a
 * reserved field that is not zero.
 *
 * Context: process context.
 */
long clockwatch_steps_tasks(struct clockwatch_dev *cw,
			    struct clockwatch_tasks __user *utasks)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_task_id daemon, step;
	struct clockwatch_tasks tasks;
	unsigned long flags;
	size_t i;

	BUILD_BUG_ON(sizeof(tasks.daemon_comm) != TASK_COMM_LEN ||
		     sizeof(tasks.last_step_comm) != TASK_COMM_LEN);

	if (copy_from_user(&tasks, utasks, sizeof(tasks)))
		return -EFAULT;
	if (tasks.size != sizeof(tasks) || tasks.__reserved0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(tasks.__reserved); i++)
		if (tasks.__reserved[i])
			return -EINVAL;

	memset(&tasks, 0, sizeof(tasks));
	tasks.size = sizeof(tasks);
	raw_spin_lock_irqsave(&trk->lock, flags);
	daemon = trk->daemon;
	step = trk->last_step;
	tasks.daemon_count = trk->pub.daemon_count;
	tasks.step_seq = trk->pub.step_seq;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	tasks.daemon_pid = cw_task_id_ns(&daemon, ns, tasks.daemon_comm);
	tasks.last_step_pid = cw_task_id_ns(&step, ns, tasks.last_step_comm);
	if (copy_to_user(utasks, &tasks, sizeof(tasks)))
		return -EFAULT;
	return 0;
}

/**
 * clockwatch_steps_ntp() - an adjtimex call returned
 * @cw:		the device
 * @modes:	its modes
 * @ret:	its return: time_state, or a negative errno
 * @new:	the NTP state after it (valid when @ret >= 0)
 * @written:	unused by callers: 0 (computed from @modes)
 *
 * Records the state for the next call's "old", emits an NTP_ADJUST event
 * for a call that writes, and LEAP and DISRUPTION events as they follow.
 *
 * Context: the kretprobe on do_adjtimex(), task context.
 */
void clockwatch_steps_ntp(struct clockwatch_dev *cw, unsigned int modes,
			  int ret, const struct clockwatch_ntp *new,
			  u32 written)
{
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_page *x = &trk->pub;
	struct clockwatch_event ev;
	s64 mono = ktime_get_mono_fast_ns();
	s64 raw = ktime_get_raw_fast_ns();
	s32 old_state = 0, new_state = 0;
	u32 old_sync, new_sync, pending = 0;
	u32 reason = CLOCKWATCH_SYNC_R_MAXERROR;
	bool leap = false, writes, daemon, alive;
	unsigned long flags;

	written |= cw_ntp_written(modes);
	writes = written != 0;
	memset(&ev, 0, sizeof(ev));
	/* The record's times, for the LEAP and DISRUPTION records after it. */
	ev.mono_ns = mono;
	ev.raw_ns = raw;
	ev.real_ns = ktime_get_real_fast_ns();

	raw_spin_lock_irqsave(&trk->lock, flags);
	ev.ntp_adjust.before = trk->ntp_last;
	ev.ntp_adjust.before_mono_ns = trk->ntp_last_mono_ns;
	if (ret >= 0) {
		trk->ntp_last = *new;
		trk->ntp_last_mono_ns = mono;

		/* Slew: the offset left, from here on measured. */
		trk->slew_base_ns = new->offset_ns;
		trk->slew_base.raw_ns = raw;
		trk->slew_base.mono_ns = mono;
		trk->slew_rate_ppb = cw_ntp_rate_ppb(new);
		trk->slew_valid = true;
		x->slew_pending_ns = new->offset_ns;
		x->slew_mono_ns = mono;

		old_state = x->time_state;
		new_state = ret;
		pending = cw_leap_pending(new->status, new_state);
		/* The first time_state seen is no move: -1 is "not seen yet". */
		leap = old_state >= 0 &&
		       (old_state != new_state || pending != x->leap_pending);
		x->time_state = new_state;
		x->leap_pending = pending;

		daemon = cw_is_daemon(trk);
		alive = daemon || cw_daemon_alive(trk);
		if (!daemon && alive &&
		    cw_foreign_change(&ev.ntp_adjust.before, new, modes, written)) {
			cw_disrupt_locked(trk, CLOCKWATCH_SYNC_R_FOREIGN_ADJUST, raw);
			reason = CLOCKWATCH_SYNC_R_FOREIGN_ADJUST;
		}
		/* A PLL offset from the daemon is its measurement. */
		if (daemon && (written & CLOCKWATCH_NTPF_OFFSET) &&
		    !(modes & ADJ_ADJTIME) && (new->status & STA_PLL))
			cw_unseen_measured(trk, new->offset_ns);
		if (modes & ADJ_MAXERROR && !(modes & ADJ_ADJTIME) &&
		    (daemon || !alive)) {
			if (!daemon)
				cw_daemon_new(trk, mono);
			cw_daemon_write(trk, new, mono, raw);
		} else if (modes & ADJ_ESTERROR && !(modes & ADJ_ADJTIME) &&
			   daemon) {
			x->esterror_us = new->esterror_us;
		}
	}
	old_sync = cw_sync_update(trk, mono);
	new_sync = x->sync_state;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	if (writes) {
		ev.type = CLOCKWATCH_EV_NTP_ADJUST;
		ev.ntp_adjust.modes = modes;
		ev.ntp_adjust.ret = ret;
		ev.ntp_adjust.written = written;
		ev.ntp_adjust.after = ret >= 0 ? *new : ev.ntp_adjust.before;
		clockwatch_event_emit(cw, &ev);
		trace_ntp_adjust(&ev);
	}
	if (leap && (writes || old_state != new_state))
		cw_leap_report(cw, old_state, new_state, new->status, pending,
			       &ev);
	cw_sync_report(cw, old_sync, new_sync, reason, &ev);
}

/*
 * @a * @b / @c, rounded toward zero, for @c > 0 and @a, @b > S64_MIN,
 * without the product overflowing: it does for a 500 ppm rate (5e5 ppb)
 * times a window of 5 h, and for a tick rate of 10 % (1e8 ppb) after
 * 92 s.  A quotient beyond S64_MAX saturates: mul_u64_u64_div_u64()
 * must not be asked for one beyond U64_MAX (x86's divq traps).
 */
static s64 cw_mul_div(s64 a, s64 b, s64 c)
{
	u64 ua = a < 0 ? -(u64)a : a, ub = b < 0 ? -(u64)b : b;
	u64 q;

	if (!ua || !ub)
		return 0;
	/*
	 * With ua / c < S64_MAX / ub, (ua / c + 1) * ub <= S64_MAX bounds
	 * the quotient, which then fits.
	 */
	if (div64_u64(ua, c) >= div64_u64(S64_MAX, ub))
		q = S64_MAX;
	else
		q = mul_u64_u64_div_u64(ua, ub, c);
	return (a < 0) != (b < 0) ? -(s64)q : (s64)q;
}

/* Rate of a clock against MONOTONIC_RAW, ppb: (d_clock - d_raw) / d_raw. */
static s64 cw_rate_ppb(s64 d_clock, s64 d_raw)
{
	if (d_raw <= 0)
		return 0;
	return cw_mul_div(d_clock - d_raw, NSEC_PER_SEC, d_raw);
}

/* Caller holds trk->lock: the rates over the windows ending at @cur. */
static void cw_freq_update(struct clockwatch_tracker *trk,
			   const struct clockwatch_freq_sample *cur)
{
	struct clockwatch_page *x = &trk->pub;
	const struct clockwatch_freq_sample *s, *l;
	unsigned int n = trk->nsamples, back;
	s64 d_raw;

	if (n < 1)
		return;
	/* The previous sample: about 1 s ago. */
	s = &trk->samples[(trk->sample_head + CW_FREQ_SAMPLES - 1) % CW_FREQ_SAMPLES];
	back = min_t(unsigned int, n, CW_FREQ_LONG_S);
	l = &trk->samples[(trk->sample_head + CW_FREQ_SAMPLES - back) % CW_FREQ_SAMPLES];

	/*
	 * MONOTONIC's rate; REALTIME runs at the same between steps (they
	 * differ by tk->offs_real only), so it is not measured apart.
	 */
	d_raw = cur->raw_ns - s->raw_ns;
	x->freq_short_ppb = cw_rate_ppb(cur->mono_ns - s->mono_ns, d_raw);
	x->freq_short_window_raw_ns = d_raw;

	d_raw = cur->raw_ns - l->raw_ns;
	x->freq_long_ppb = cw_rate_ppb(cur->mono_ns - l->mono_ns, d_raw);
	x->freq_long_window_raw_ns = d_raw;
}

/*
 * Caller holds trk->lock: what of the last reported offset is still to
 * be slewed, from how much MONOTONIC gained on the rate the NTP state
 * sets since.
 */
static void cw_slew_update(struct clockwatch_tracker *trk,
			   const struct clockwatch_freq_sample *cur)
{
	struct clockwatch_page *x = &trk->pub;
	s64 d_raw, gained, pending;

	if (!trk->slew_valid || !trk->slew_base_ns)
		return;
	d_raw = cur->raw_ns - trk->slew_base.raw_ns;
	if (d_raw <= 0)
		return;
	gained = (cur->mono_ns - trk->slew_base.mono_ns) - d_raw -
		 cw_mul_div(d_raw, trk->slew_rate_ppb, NSEC_PER_SEC);
	pending = trk->slew_base_ns - gained;
	/* Done once it crossed zero. */
	if ((trk->slew_base_ns > 0 && pending < 0) ||
	    (trk->slew_base_ns < 0 && pending > 0))
		pending = 0;
	x->slew_pending_ns = pending;
	x->slew_mono_ns = cur->mono_ns;
}

/**
 * clockwatch_steps_sample() - the refresh timer read the clocks
 * @cw:		the device
 * @clocks:	what it read, at one instant
 *
 * Once a second of MONOTONIC_RAW, keeps a sample and updates the measured
 * rates, the slew still pending and the sync state's ageing.
 *
 * Context: hard irq or the clock-set irq_work; caller holds cw->lock.
 */
void clockwatch_steps_sample(struct clockwatch_dev *cw,
			     const struct clockwatch_clocks *clocks)
{
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_freq_sample cur = {
		.raw_ns = clocks->monotonic_raw_ns,
		.mono_ns = clocks->monotonic_ns,
		.real_ns = clocks->realtime_ns,
	};
	const struct clockwatch_freq_sample *last;
	u32 old_sync, new_sync;
	unsigned long flags;

	raw_spin_lock_irqsave(&trk->lock, flags);
	if (trk->nsamples) {
		last = &trk->samples[(trk->sample_head + CW_FREQ_SAMPLES - 1) %
				     CW_FREQ_SAMPLES];
		if (cur.raw_ns - last->raw_ns < CW_FREQ_SHORT_NS) {
			raw_spin_unlock_irqrestore(&trk->lock, flags);
			return;
		}
	}
	cw_freq_update(trk, &cur);
	cw_slew_update(trk, &cur);
	trk->samples[trk->sample_head] = cur;
	trk->sample_head = (trk->sample_head + 1) % CW_FREQ_SAMPLES;
	if (trk->nsamples < CW_FREQ_SAMPLES)
		trk->nsamples++;
	old_sync = cw_sync_update(trk, cur.mono_ns);
	new_sync = trk->pub.sync_state;
	raw_spin_unlock_irqrestore(&trk->lock, flags);

	cw_sync_report(cw, old_sync, new_sync, CLOCKWATCH_SYNC_R_DAEMON_SILENT,
		       NULL);
}

/**
 * clockwatch_steps_publish() - copy the tracker's state to the page
 * @cw: the device; caller holds cw->lock with the page open for writing
 *
 * The tracker owns page->disruption_count and every field from
 * page->step_seq to the end.
 */
void clockwatch_steps_publish(struct clockwatch_dev *cw)
{
	struct clockwatch_tracker *trk = &cw->trk;
	struct clockwatch_page *x = cw->page;
	unsigned long flags;
	u64 dropped;

	lockdep_assert_held(&cw->lock);

	raw_spin_lock_irqsave(&trk->lock, flags);
	x->disruption_count = trk->pub.disruption_count;
	memcpy((u8 *)x + CW_PUB_FIRST, (const u8 *)&trk->pub + CW_PUB_FIRST,
	       sizeof(*x) - CW_PUB_FIRST);
	raw_spin_unlock_irqrestore(&trk->lock, flags);
	x->event_seq = clockwatch_events_head(cw, &dropped);
	x->events_dropped = dropped;
	x->ntp_missed = cw->adjtimex_rp.nmissed;
}

/*
 * Without CONFIG_VMGENID, register_random_vmfork_notifier() is a stub that
 * succeeds and never calls: no VM fork can be seen then.
 */
#if defined(CW_HAVE_VMFORK_NOTIFIER) && IS_ENABLED(CONFIG_VMGENID)
/* The VM was forked or restored from a snapshot: process context. */
static int cw_vmfork_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct clockwatch_dev *cw = container_of(nb, struct clockwatch_dev,
						 steps.vmfork_nb);

	clockwatch_sync_disrupt(cw, CLOCKWATCH_SYNC_R_VMFORK);
	return NOTIFY_DONE;
}

static void cw_vmfork_start(struct clockwatch_dev *cw)
{
	struct clockwatch_step_hooks *h = &cw->steps;

	h->vmfork_nb.notifier_call = cw_vmfork_notify;
	if (register_random_vmfork_notifier(&h->vmfork_nb)) {
		pr_info("no VM fork notifier: VM snapshots not seen\n");
		return;
	}
	h->vmfork_registered = true;
	cw->page->features |= CLOCKWATCH_FEAT_VMFORK;
}

static void cw_vmfork_stop(struct clockwatch_dev *cw)
{
	if (cw->steps.vmfork_registered)
		unregister_random_vmfork_notifier(&cw->steps.vmfork_nb);
	cw->steps.vmfork_registered = false;
}
#else /* CW_HAVE_VMFORK_NOTIFIER && CONFIG_VMGENID */
static void cw_vmfork_start(struct clockwatch_dev *cw)
{
	pr_info("kernel without a VM fork notifier (vmgenid): VM snapshots not seen\n");
}

static void cw_vmfork_stop(struct clockwatch_dev *cw)
{
}
#endif /* CW_HAVE_VMFORK_NOTIFIER && CONFIG_VMGENID */

static bool cw_mark_probe(struct kretprobe *rp, const char *symbol,
			  kretprobe_handler_t entry)
{
	int ret;

	rp->kp.symbol_name = symbol;
	rp->entry_handler = entry;
	rp->handler = cw_mark_return;
	rp->data_size = sizeof(struct cw_mark_call);
	rp->maxactive = CW_STEP_MAXACTIVE;
	ret = register_kretprobe(rp);
	if (ret) {
		pr_info("no kretprobe on %s (%d): its steps have cause unknown\n",
			symbol, ret);
		rp->kp.addr = NULL;
		return false;
	}
	return true;
}

/**
 * clockwatch_steps_start() - start tracking steps and the sync state
 * @cw: the device, with its page and ring; before clockwatch_clocks_start()
 *
 * Each hook that cannot be set up clears its feature bit and nothing
 * else: the module loads without it.
 */
void clockwatch_steps_start(struct clockwatch_dev *cw)
{
	struct clockwatch_step_hooks *h = &cw->steps;
	struct clockwatch_page *page = cw->page;

	raw_spin_lock_init(&cw->trk.lock);
	/* Not seen yet: the first adjtimex() call tells. */
	cw->trk.pub.time_state = -1;

	if (cw_mark_probe(&h->settime_rp, "do_settimeofday64", cw_settime_entry))
		page->features |= CLOCKWATCH_FEAT_CAUSE_SETTIME;
	if (cw_mark_probe(&h->setoffset_rp, "timekeeping_inject_offset",
			  cw_setoffset_entry))
		page->features |= CLOCKWATCH_FEAT_CAUSE_SETOFFSET;
	if (cw_mark_probe(&h->resume_rp, "timekeeping_resume", cw_resume_entry))
		page->features |= CLOCKWATCH_FEAT_CAUSE_RESUME;
	cw_vmfork_start(cw);
	page->features |= CLOCKWATCH_FEAT_TRACEPOINTS | CLOCKWATCH_FEAT_FREQ |
			  CLOCKWATCH_FEAT_SYNC_STATE;
}

/**
 * clockwatch_steps_stop() - stop the step hooks
 * @cw: the device; after clockwatch_clocks_stop() (no more notifier calls)
 */
void clockwatch_steps_stop(struct clockwatch_dev *cw)
{
	struct clockwatch_step_hooks *h = &cw->steps;
	struct kretprobe *rps[] = {
		&h->settime_rp, &h->setoffset_rp, &h->resume_rp,
	};
	size_t i;

	cw_vmfork_stop(cw);
	for (i = 0; i < ARRAY_SIZE(rps); i++)
		if (rps[i]->kp.addr)
			unregister_kretprobe(rps[i]);
	cw->page->features &= ~(CLOCKWATCH_FEAT_CAUSE_SETTIME |
				CLOCKWATCH_FEAT_CAUSE_SETOFFSET |
				CLOCKWATCH_FEAT_CAUSE_RESUME |
				CLOCKWATCH_FEAT_VMFORK);
}
