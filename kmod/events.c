// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the event ring behind read() and poll() of /dev/clockwatch.
 *
 * Every event the module sees (a step, an NTP write, a leap second, a
 * disruption, and the stall tracker's events) becomes one fixed-size
 * struct clockwatch_event with the next sequence number, written into a
 * ring of the latest ring_entries records.  Each open file keeps its own
 * cursor, the seq of the next record it wants, so every reader sees every
 * record; one that falls more than a ring behind gets a synthetic OVERRUN
 * record saying exactly how many it missed, and goes on with the oldest
 * record still kept.
 *
 * Emitters run in any context but NMI, including hard irq and under the
 * timekeeper lock, so the ring is guarded by a raw spinlock that is a leaf
 * and readers are woken from an irq_work, or directly by an emitter that
 * may sleep.  The first record after a quiet tick wakes them at once;
 * later records in the same tick leave the wake-up to the next tick (a
 * lazy irq_work), so a flood wakes each reader about once a tick instead
 * of once a record.
 */

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "clockwatch.h"

enum {
	CW_RING_ENTRIES_MIN	= 16,
	CW_RING_ENTRIES_MAX	= 1 << 20,	/* 256 MiB of records */
	CW_RING_ENTRIES_DEFAULT	= 4096,		/* 1 MiB */
	CW_COPY_RECORDS		= 64,		/* most a reader copies at once */
	CW_NS_COPY_RECORDS	= 16,		/* ... in another pid namespace */
};

/* Records in the ring; read once, at module load. */
static unsigned int ring_entries = CW_RING_ENTRIES_DEFAULT;
module_param(ring_entries, uint, 0444);
MODULE_PARM_DESC(ring_entries,
		 "Event records kept for readers, a power of two (16..1048576, default 4096)");

/* Wake the readers, and note the tick it happened in. */
static void clockwatch_events_wake(struct clockwatch_dev *cw)
{
	WRITE_ONCE(cw->ev_woke, jiffies);
	wake_up_interruptible_poll(&cw->ev_wq, EPOLLIN | EPOLLRDNORM);
}

/* irq_work context (a thread on PREEMPT_RT): a prompt wake-up. */
static void clockwatch_events_wake_work(struct irq_work *work)
{
	clockwatch_events_wake(container_of(work, struct clockwatch_dev,
					    ev_wake_work));
}

/* irq_work context, from the tick: a wake-up held back for the tick. */
static void clockwatch_events_tick_work(struct irq_work *work)
{
	clockwatch_events_wake(container_of(work, struct clockwatch_dev,
					    ev_tick_work));
}

/**
 * clockwatch_events_init() - allocate the ring
 * @cw: the device
 *
 * Return: 0, -EINVAL for a ring_entries that is not a power of two in
 * range, or -ENOMEM.
 */
int clockwatch_events_init(struct clockwatch_dev *cw)
{
	BUILD_BUG_ON(sizeof(struct clockwatch_event) != CLOCKWATCH_EVENT_SIZE);
	BUILD_BUG_ON(offsetof(struct clockwatch_event, step) !=
		     CLOCKWATCH_EVENT_HEADER_SIZE);

	raw_spin_lock_init(&cw->ev_lock);
	init_waitqueue_head(&cw->ev_wq);
	init_irq_work(&cw->ev_wake_work, clockwatch_events_wake_work);
	cw->ev_tick_work = IRQ_WORK_INIT_LAZY(clockwatch_events_tick_work);
	cw->ev_woke = jiffies - 1;

	if (ring_entries < CW_RING_ENTRIES_MIN ||
	    ring_entries > CW_RING_ENTRIES_MAX ||
	    !is_power_of_2(ring_entries)) {
		pr_err("ring_entries=%u: not a power of two in %u..%u\n",
		       ring_entries, CW_RING_ENTRIES_MIN, CW_RING_ENTRIES_MAX);
		return -EINVAL;
	}
	cw->ev_ring = vzalloc(array_size(ring_entries, sizeof(*cw->ev_ring)));
	if (!cw->ev_ring)
		return -ENOMEM;
	cw->ev_entries = ring_entries;
	cw->page->features |= CLOCKWATCH_FEAT_EVENTS;
	return 0;
}

/**
 * clockwatch_events_exit() - free the ring
 * @cw: the device
 *
 * Every emitter is stopped and no file is open.
 */
void clockwatch_events_exit(struct clockwatch_dev *cw)
{
	irq_work_sync(&cw->ev_wake_work);
	irq_work_sync(&cw->ev_tick_work);
	vfree(cw->ev_ring);
	cw->ev_ring = NULL;
	cw->page->features &= ~CLOCKWATCH_FEAT_EVENTS;
}

void clockwatch_event_emit(struct clockwatch_dev *cw, struct clockwatch_event *ev)
{
	unsigned long flags;

	ev->size = CLOCKWATCH_EVENT_SIZE;
	ev->cpu = raw_smp_processor_id();
	if (!ev->mono_ns) {
		/* NMI-safe reads: the caller may be inside the timekeeper. */
		ev->mono_ns = ktime_get_mono_fast_ns();
		ev->real_ns = ktime_get_real_fast_ns();
		ev->raw_ns = ktime_get_raw_fast_ns();
	}
	if (!(ev->flags & CLOCKWATCH_EVF_TASK) && in_task()) {
		ev->flags |= CLOCKWATCH_EVF_TASK;
		ev->pid = task_tgid_nr(current);
		ev->tid = task_pid_nr(current);
		/* The caller's comm; a torn read of a racing rename is harmless. */
		strscpy_pad(ev->comm, current->comm, sizeof(ev->comm));
	}

	raw_spin_lock_irqsave(&cw->ev_lock, flags);
	if (!cw->ev_ring) {
		cw->ev_dropped++;
		raw_spin_unlock_irqrestore(&cw->ev_lock, flags);
		return;
	}
	ev->seq = cw->ev_head;
	/*
	 * Claim the slot before writing it: a reader that copied the slot
	 * while it changed sees the claim when it checks afterwards
	 * (clockwatch_events_copy()).
	 */
	WRITE_ONCE(cw->ev_claim, ev->seq + 1);
	/* The claim before the slot: pairs with clockwatch_events_copy()'s smp_rmb(). */
	smp_wmb();
	cw->ev_ring[ev->seq & (cw->ev_entries - 1)] = *ev;
	/* The record before its seq: pairs with the readers' acquire. */
	smp_store_release(&cw->ev_head, ev->seq + 1);
	raw_spin_unlock_irqrestore(&cw->ev_lock, flags);

	/*
	 * Wake only when someone waits.  wq_has_sleeper()'s full barrier
	 * orders the head's store before the look at the queue; it pairs
	 * with the barrier of set_current_state() in
	 * wait_event_interruptible() (and of poll_wait()'s enqueue) before
	 * the waiter reads the head.
	 */
	if (!wq_has_sleeper(&cw->ev_wq))
		return;
	/*
	 * Readers were woken this tick already: the lazy irq_work wakes
	 * them on the next tick, with whatever came meanwhile, instead of
	 * once a record (a woken reader would take one record and sleep
	 * again).  Queueing it twice is harmless; a racy ev_woke only
	 * chooses between two wake-ups that both come.
	 */
	if (!time_after(jiffies, READ_ONCE(cw->ev_woke))) {
		irq_work_queue(&cw->ev_tick_work);
		return;
	}
	/*
	 * A preemptible caller holds no spinning lock (runqueue,
	 * wait-queue and timekeeper locks all spin with interrupts off):
	 * wake the readers here.  Any other (hard irq, a kretprobe, under
	 * the timekeeper lock) leaves it to the irq_work, a self-IPI.
	 */
	if (preemptible())
		clockwatch_events_wake(cw);
	else
		irq_work_queue(&cw->ev_wake_work);
}

/**
 * clockwatch_events_head() - the seq the next record will carry
 * @cw:		the device
 * @dropped:	out: records dropped so far
 *
 * Return: the seq of the next record.
 */
u64 clockwatch_events_head(struct clockwatch_dev *cw, u64 *dropped)
{
	unsigned long flags;
	u64 head;

	raw_spin_lock_irqsave(&cw->ev_lock, flags);
	head = cw->ev_head;
	*dropped = cw->ev_dropped;
	raw_spin_unlock_irqrestore(&cw->ev_lock, flags);
	return head;
}

/**
 * clockwatch_events_open() - start a new reader at the next record
 * @cw: the device
 * @cf: the file's state
 */
void clockwatch_events_open(struct clockwatch_dev *cw, struct clockwatch_file *cf)
{
	u64 dropped;

	cf->cw = cw;
	mutex_init(&cf->read_lock);
	cf->cursor = clockwatch_events_head(cw, &dropped);
}

/* Tell the reader it missed records up to the oldest one kept. */
static int clockwatch_events_overrun(struct clockwatch_file *cf,
				     char __user *buf, u64 lost)
{
	struct clockwatch_event ev;

	/* Zeroed whole: it goes to userspace, padding and all. */
	memset(&ev, 0, sizeof(ev));
	ev.type = CLOCKWATCH_EV_OVERRUN;
	ev.size = CLOCKWATCH_EVENT_SIZE;
	ev.cpu = raw_smp_processor_id();
	ev.seq = cf->cursor;
	ev.overrun.lost = lost;
	ev.overrun.first_lost_seq = cf->cursor;
	ev.mono_ns = ktime_get_mono_fast_ns();
	ev.real_ns = ktime_get_real_fast_ns();
	ev.raw_ns = ktime_get_raw_fast_ns();
	if (copy_to_user(buf, &ev, sizeof(ev)))
		return -EFAULT;
	cf->cursor += lost;
	return 1;
}

/**
 * clockwatch_task_at() - the task that had an id at a time, if it still runs
 * @nr:		its id in the initial pid namespace
 * @type:	PIDTYPE_PID (@nr is a thread's) or PIDTYPE_TGID (a process's)
 * @mono_ns:	when it had it, CLOCK_MONOTONIC
 *
 * A task that started after @mono_ns got @nr after the one meant had
 * exited, and is not it.
 *
 * Context: any but NMI; caller holds rcu_read_lock().
 * Return: the task (a thread, or the process's leader), or NULL when the
 * one meant has exited (or @nr <= 0).
 */
struct task_struct *clockwatch_task_at(pid_t nr, enum pid_type type,
				       s64 mono_ns)
{
	struct task_struct *t;

	if (nr <= 0)
		return NULL;
	t = pid_task(find_pid_ns(nr, &init_pid_ns), type);
	/* start_time: CLOCK_MONOTONIC at fork, kept by exec's de_thread(). */
	if (!t || (s64)t->start_time > mono_ns)
		return NULL;
	return t;
}

/*
 * The caller a record names, as pid namespace @ns sees it: its process's
 * pid and its thread's tid there.  Each is 0 when not visible from @ns or
 * gone (a thread that has exited in a process that lives: tid 0); with
 * the process's pid 0, no comm and no CLOCKWATCH_EVF_TASK either.
 */
static void clockwatch_event_to_ns(struct clockwatch_event *ev,
				   struct pid_namespace *ns)
{
	struct task_struct *t;
	pid_t pid = 0, tid = 0;

	if (!(ev->flags & CLOCKWATCH_EVF_TASK))
		return;
	rcu_read_lock();
	t = clockwatch_task_at(ev->pid, PIDTYPE_TGID, ev->mono_ns);
	if (t)
		pid = task_tgid_nr_ns(t, ns);
	t = pid ? clockwatch_task_at(ev->tid, PIDTYPE_PID, ev->mono_ns) : NULL;
	if (t && task_tgid_nr_ns(t, ns) == pid)
		tid = task_pid_nr_ns(t, ns);
	rcu_read_unlock();
	if (!pid) {
		ev->flags &= ~CLOCKWATCH_EVF_TASK;
		memset(ev->comm, 0, sizeof(ev->comm));
	}
	ev->pid = pid;
	ev->tid = tid;
}

/*
 * Copy up to @room of the reader's next records to @buf, straight from
 * the ring and without ev_lock, or one OVERRUN record when the next was
 * overwritten already.  A slot copied while an emitter rewrote it is
 * caught afterwards by the emitter's claim, as a seqcount would catch it:
 * the copy is then dropped and the records it held count as lost.
 *
 * The ring holds pids as the initial pid namespace sees them.  A reader
 * there gets the records as they are; any other gets them through
 * @bounce (CW_NS_COPY_RECORDS records), translated into @ns once they
 * are known to be whole.
 *
 * Return: records copied, 0 when none waits, or -EFAULT.  Caller holds
 * cf->read_lock.
 */
static int clockwatch_events_copy(struct clockwatch_file *cf,
				  char __user *buf, size_t room,
				  struct pid_namespace *ns,
				  struct clockwatch_event *bounce)
{
	struct clockwatch_dev *cw = cf->cw;
	u64 head, claim, slot, n, i;
	unsigned long left;

	lockdep_assert_held(&cf->read_lock);

	for (;;) {
		/* Pairs with smp_store_release() in clockwatch_event_emit(). */
		head = smp_load_acquire(&cw->ev_head);
		/* Claimed before head moved: claim >= head. */
		claim = READ_ONCE(cw->ev_claim);
		/* Records before claim - entries are overwritten, or being. */
		if (claim - cf->cursor > cw->ev_entries)
			return clockwatch_events_overrun(cf, buf,
					claim - cw->ev_entries - cf->cursor);
		if (cf->cursor == head)
			return 0;

		slot = cf->cursor & (cw->ev_entries - 1);
		n = min3(head - cf->cursor, (u64)room, cw->ev_entries - slot);
		/* A short copy: a torn one costs little to do again. */
		n = min_t(u64, n, bounce ? CW_NS_COPY_RECORDS : CW_COPY_RECORDS);
		if (bounce) {
			/* Races with emitters by design: the claim catches it. */
			data_race(memcpy(bounce, &cw->ev_ring[slot],
					 n * CLOCKWATCH_EVENT_SIZE));
		} else {
			/* Races with emitters by design: the claim catches it. */
			left = data_race(copy_to_user(buf, &cw->ev_ring[slot],
						      n * CLOCKWATCH_EVENT_SIZE));
			n -= DIV_ROUND_UP(left, CLOCKWATCH_EVENT_SIZE);
			if (!n)
				return -EFAULT;
		}

		/* The copy before the claim: pairs with smp_wmb() in the emitter. */
		smp_rmb();
		claim = READ_ONCE(cw->ev_claim);
		if (claim - cf->cursor > cw->ev_entries)
			continue;	/* torn: the next round reports the loss */
		if (bounce) {
			for (i = 0; i < n; i++)
				clockwatch_event_to_ns(&bounce[i], ns);
			left = copy_to_user(buf, bounce, n * CLOCKWATCH_EVENT_SIZE);
			n -= DIV_ROUND_UP(left, CLOCKWATCH_EVENT_SIZE);
			if (!n)
				return -EFAULT;
		}
		cf->cursor += n;
		return n;
	}
}

/* Is a record waiting for this reader? */
static bool clockwatch_events_ready(struct clockwatch_file *cf)
{
	/* Paired with smp_store_release() in clockwatch_event_emit(). */
	return READ_ONCE(cf->cw->ev_head) != READ_ONCE(cf->cursor);
}

/**
 * clockwatch_events_read() - read() of whole records
 * @cf:		the file's state
 * @buf:	user buffer
 * @count:	its size
 * @nonblock:	O_NONBLOCK: do not wait for a first record
 *
 * Records name processes as the caller's pid namespace sees them now
 * (clockwatch_events_copy()).
 *
 * Return: bytes copied (a multiple of CLOCKWATCH_EVENT_SIZE), -EPERM when
 * the file's opener may not read events (see clockwatch_open()), -EINVAL
 * for a buffer smaller than one record, -EAGAIN (nonblock) or
 * -ERESTARTSYS when waiting for the first one, -ENOMEM, -EFAULT.
 */
ssize_t clockwatch_events_read(struct clockwatch_file *cf, char __user *buf,
			       size_t count, bool nonblock)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct clockwatch_event *bounce = NULL;
	struct clockwatch_dev *cw = cf->cw;
	size_t done = 0, room;
	ssize_t ret;

	if (!cf->may_read_events)
		return -EPERM;
	if (count < CLOCKWATCH_EVENT_SIZE)
		return -EINVAL;
	if (ns != &init_pid_ns) {
		bounce = kmalloc_array(CW_NS_COPY_RECORDS, sizeof(*bounce),
				       GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	}

	for (;;) {
		ret = mutex_lock_interruptible(&cf->read_lock);
		if (ret)
			goto out;
		while (count - done >= CLOCKWATCH_EVENT_SIZE) {
			room = (count - done) / CLOCKWATCH_EVENT_SIZE;
			ret = clockwatch_events_copy(cf, buf + done, room, ns,
						     bounce);
			if (ret <= 0)
				break;
			done += (size_t)ret * CLOCKWATCH_EVENT_SIZE;
		}
		mutex_unlock(&cf->read_lock);

		/* A fault after some records: those are what was read. */
		if (done) {
			ret = done;
			goto out;
		}
		if (ret < 0)
			goto out;
		if (nonblock) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(cw->ev_wq,
					       clockwatch_events_ready(cf));
		if (ret)
			goto out;
	}
out:
	kfree(bounce);
	return ret;
}

/**
 * clockwatch_events_poll() - poll() and select(): POLLIN when a record waits
 * @cf:		the file's state
 * @file:	the file
 * @wait:	the poll table
 *
 * Return: EPOLLIN | EPOLLRDNORM when read() would not block, EPOLLERR
 * when it would fail with -EPERM, else 0.
 */
__poll_t clockwatch_events_poll(struct clockwatch_file *cf, struct file *file,
				struct poll_table_struct *wait)
{
	if (!cf->may_read_events)
		return EPOLLERR;
	poll_wait(file, &cf->cw->ev_wq, wait);
	/*
	 * Queued before the head is read: pairs with wq_has_sleeper() in
	 * clockwatch_event_emit(), or a record could come unannounced.
	 */
	smp_mb();
	return clockwatch_events_ready(cf) ? EPOLLIN | EPOLLRDNORM : 0;
}
