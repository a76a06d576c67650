/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: the module's internal state, shared by its files.
 *
 * main.c	/dev/clockwatch: the misc device, mmap(), module init and exit
 * page.c	the shared page and the writer side of its sequence counter
 * clocks.c	the clocks snapshot: periodic hrtimer and clock-set notifier
 * ntp.c	the NTP state: a kretprobe on do_adjtimex()
 * events.c	the event ring behind read() and poll()
 * steps.c	the clock tracker: steps, their causes, sync state, the
 *		measured frequency; tracepoints
 * stall*.c	the per-CPU stall probe (stall.h)
 * audit.c	the reference audit: CLOCK_REALTIME against the RTC
 *
 * Locks and sequence counters, outermost first; a lock is only taken
 * while none of those below it is held:
 *
 *	clockwatch_file.read_lock	mutex; one reader's cursor
 *	cpus_read_lock()		the kernel's; the injector (inject.c)
 *	rtc_lock			the kernel's CMOS lock, taken by
 *					mc146818_avoid_UIP() and
 *					mc146818_get_time() around the audit's
 *					RTC reads (audit.c); nothing of the
 *					module's is taken under it
 *	timekeeper lock			the kernel's; held around the
 *					pvclock_gtod notifier (steps.c)
 *	clockwatch_dev.lock		raw; the page's writers
 *	  page->seq			seqcount of the page, written under
 *					clockwatch_dev.lock (page.c)
 *	cw_stall_cpu.lock (stall.c)	raw, per CPU; the probe's writers
 *	  cw_stall_cpu.seq		seqcount_raw_spinlock of the probe's
 *					counts, written under that lock
 *	cw_log_lock (stall.c)		raw; the stall log
 *	clockwatch_tracker.lock		raw; the clock tracker (steps.c)
 *	cw_marks_lock (steps.c)		raw; the step cause marks
 *	clockwatch_dev.ev_lock		raw; the event ring's emitters
 *	  clockwatch_dev.ev_claim	the ring's claim, read by lockless
 *					readers as a seqcount (events.c)
 *
 * Every raw lock is taken with interrupts disabled.  Held together in
 * practice: clockwatch_dev.lock around the tracker's lock and ev_lock
 * (clockwatch_steps_publish()), the probe's lock around the log's, and
 * the timekeeper lock around the tracker's, the marks' and ev_lock (the
 * gtod notifier).  Nothing is emitted into the ring and nobody is woken
 * under the tracker's lock.  The page and the ring are read without any
 * lock.  Nothing that reads a clock with a retry loop (ktime_get*() but
 * the *_fast_ns() ones) may run under the timekeeper lock, nor take
 * clockwatch_dev.lock there: its holders read the clocks.
 */
#ifndef _CLOCKWATCH_H
#define _CLOCKWATCH_H

#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <uapi/linux/clockwatch.h>

/* Frequency samples kept: one a second, for the long window. */
#define CW_FREQ_SAMPLES		64

/**
 * struct clockwatch_freq_sample - the clocks at one instant, for rates
 * @raw_ns:	CLOCK_MONOTONIC_RAW
 * @mono_ns:	CLOCK_MONOTONIC
 * @real_ns:	CLOCK_REALTIME
 */
struct clockwatch_freq_sample {
	s64 raw_ns;
	s64 mono_ns;
	s64 real_ns;
};

/**
 * struct clockwatch_task_id - a process the page speaks of, kept in the
 *	module: the page carries no pid (a reader's pid namespace decides
 *	what it may see, see clockwatch_task_nr_ns())
 * @tgid:	its tgid in the initial pid namespace; 0 = none
 * @mono_ns:	when the module saw it, CLOCK_MONOTONIC: a process that
 *		started later and got the same tgid is another one
 * @comm:	its comm then
 */
struct clockwatch_task_id {
	pid_t tgid;
	s64 mono_ns;
	char comm[TASK_COMM_LEN];
};

/**
 * struct clockwatch_tracker - what the clock tracker knows, under its lock
 * @lock:		protects every field; a leaf (see the lock order
 *			above), taken with interrupts disabled, also under
 *			the timekeeper lock
 * @pub:		the page fields the tracker owns, as they will be
 *			published: @pub.disruption_count, and @pub.step_seq
 *			to the end (clockwatch_steps_publish())
 * @ntp_last:		NTP state after the last adjtimex call seen
 * @ntp_last_mono_ns:	when, CLOCK_MONOTONIC; 0 = none yet
 * @disrupted:		a disruption is in force until the daemon writes
 *			maxerror (reason in @disrupt_reason)
 * @disrupt_reason:	CLOCKWATCH_SYNC_R_* of the disruption
 * @samples:		clocks once a second, @nsamples of them, the latest
 *			at @sample_head - 1 (mod CW_FREQ_SAMPLES)
 * @nsamples:		valid entries in @samples
 * @sample_head:	next slot in @samples
 * @slew_base_ns:	offset reported by the last adjtimex call, ns
 * @slew_base:		the clocks when it was reported
 * @slew_rate_ppb:	the rate the kernel was set to then (freq and tick),
 *			against MONOTONIC_RAW, ppb
 * @slew_valid:		@slew_base_ns and @slew_base are set
 * @daemon:		the sync daemon's process; .tgid 0 = none seen
 * @daemon_start:	start time of the sync daemon's process (its
 *			leader's start_boottime): with @daemon.tgid, tells
 *			the daemon from a later process that got its pid
 * @last_step:		the process whose call made the last step; .tgid 0
 *			= none (the kernel's own, or no step yet)
 * @burst_raw_ns:	first maxerror write of the daemon's latest update,
 *			MONOTONIC_RAW; writes less than CW_UPDATE_GAP_NS
 *			apart belong to one update; 0 = none yet
 * @prev_burst_raw_ns:	the same of the update before it; 0 = none
 * @disrupt_boot_ns:	when the last disruption happened, CLOCK_BOOTTIME
 *			(the clock of start_boottime)
 * @unseen_boot_ns:	when the last step went into @pub.unseen_step_ns,
 *			CLOCK_BOOTTIME
 * @last_correction_ns:	the daemon's latest correction, reported or
 *			written as its PLL offset (positive: the clock is
 *			behind)
 * @unseen_base_ns:	@last_correction_ns when @pub.unseen_step_ns last
 *			left 0: the daemon has measured the unseen steps
 *			when its correction moved from there by them
 * @audit_resumes:	resumes from suspend seen since load: the audit
 *			starts a new baseline after one (REALTIME and the RTC
 *			both ran while MONOTONIC_RAW did not)
 */
struct clockwatch_tracker {
	raw_spinlock_t lock;	/* protects all of the fields below */
	struct clockwatch_page pub;
	struct clockwatch_ntp ntp_last;
	s64 ntp_last_mono_ns;
	bool disrupted;
	u32 disrupt_reason;
	struct clockwatch_freq_sample samples[CW_FREQ_SAMPLES];
	unsigned int nsamples;
	unsigned int sample_head;
	s64 slew_base_ns;
	struct clockwatch_freq_sample slew_base;
	s64 slew_rate_ppb;
	bool slew_valid;
	struct clockwatch_task_id daemon;
	u64 daemon_start;
	struct clockwatch_task_id last_step;
	s64 burst_raw_ns;
	s64 prev_burst_raw_ns;
	u64 disrupt_boot_ns;
	u64 unseen_boot_ns;
	s64 last_correction_ns;
	s64 unseen_base_ns;
	u64 audit_resumes;
};

/**
 * struct clockwatch_step_hooks - the step tracker's hooks
 * @prev_offs_real:	REALTIME - MONOTONIC at the last timekeeper
 *			update; only the gtod notifier touches it, under
 *			the timekeeper lock
 * @prev_tai_offset:	TAI - UTC, s, at the last update; likewise
 * @prev_valid:		the two above are set
 * @settime_rp:		kretprobe on do_settimeofday64()
 * @setoffset_rp:	kretprobe on timekeeping_inject_offset()
 * @resume_rp:		kretprobe on timekeeping_resume()
 * @vmfork_nb:		VM fork notifier
 * @vmfork_registered:	@vmfork_nb is registered
 */
struct clockwatch_step_hooks {
	ktime_t prev_offs_real;
	s32 prev_tai_offset;
	bool prev_valid;
	struct kretprobe settime_rp;
	struct kretprobe setoffset_rp;
	struct kretprobe resume_rp;
	struct notifier_block vmfork_nb;
	bool vmfork_registered;
};

/**
 * struct clockwatch_audit - the reference audit's hooks (audit.c)
 * @thread:	the sampling thread; NULL when the audit does not run.  Its
 *		measurements are its own (no lock): it publishes them
 *		through the tracker (@trk.pub under @trk.lock)
 * @write_rp:	kretprobe on mc146818_set_time(): every kernel write of the
 *		RTC (the 11-minute mode, rtc-cmos for /dev/rtc) goes there
 * @write_probe: @write_rp is registered
 * @writes:	RTC writes entered since load, counted on entry, before
 *		the RTC changes
 * @writing:	RTC writes entered and not returned yet
 */
struct clockwatch_audit {
	struct task_struct *thread;
	struct kretprobe write_rp;
	bool write_probe;
	atomic64_t writes;
	atomic_t writing;
};

/**
 * struct clockwatch_dev - the state of the one /dev/clockwatch
 * @misc:		the misc device; file->private_data points here
 * @page:		the page mapped by readers; its header is written
 *			once before @misc is registered, the rest under
 *			@lock with the page->seq protocol (page.c)
 * @lock:		serialises the writers of @page
 * @refresh_timer:	periodic refresh of page->clocks (hard irq)
 * @clock_set_work:	refresh of page->clocks right after the clock was
 *			set, queued by @gtod_nb (hard irq)
 * @gtod_nb:		timekeeping update notifier
 * @gtod_registered:	@gtod_nb is registered
 * @adjtimex_rp:	kretprobe on do_adjtimex(); registered when
 *			page->features has CLOCKWATCH_FEAT_NTP
 * @ev_lock:		serialises the emitters: protects @ev_ring, @ev_head,
 *			@ev_claim and @ev_dropped against each other (readers
 *			copy from @ev_ring without it); a leaf lock, taken
 *			with interrupts disabled, also under the timekeeper
 *			lock (never spin on a clock while holding it)
 * @ev_ring:		the last @ev_entries event records, record seq in
 *			slot seq & (@ev_entries - 1)
 * @ev_entries:		records in @ev_ring, a power of two
 * @ev_head:		seq of the next record to emit; written under @ev_lock
 *			after the record (release), read locklessly
 * @ev_claim:		seq + 1 of the last record an emitter began to write,
 *			whose slot held record seq - @ev_entries; written
 *			under @ev_lock before the slot, so a lockless reader
 *			that checks it after copying knows what it may have
 *			seen half-written
 * @ev_dropped:		records not emitted (no ring); under @ev_lock
 * @ev_wq:		readers waiting for a record
 * @trk:		the clock tracker's state (steps.c)
 * @steps:		the step tracker's hooks (steps.c)
 * @audit:		the reference audit (audit.c)
 * @ev_wake_work:	wakes @ev_wq; queued by clockwatch_event_emit(),
 *			runs outside the emitter's context (a plain
 *			irq_work: a thread on PREEMPT_RT, where wake_up()
 *			may not be called from hard irq)
 * @ev_tick_work:	wakes @ev_wq on the next tick (a lazy irq_work); for
 *			records after a wake-up in the same tick
 * @ev_woke:		jiffies of the last wake-up of @ev_wq; lockless,
 *			only chooses between @ev_wake_work and @ev_tick_work
 *
 * Writers of @page run in hard irq (@refresh_timer, @clock_set_work) and
 * in kretprobe handlers; all of them take @lock with interrupts disabled.
 * Readers are lock-free (userspace, through the mapping).
 */
struct clockwatch_dev {
	struct miscdevice misc;
	struct clockwatch_page *page;
	raw_spinlock_t lock;		/* protects page->seq and the fields it covers */
	struct hrtimer refresh_timer;
	struct irq_work clock_set_work;
	struct notifier_block gtod_nb;
	bool gtod_registered;
	struct kretprobe adjtimex_rp;

	raw_spinlock_t ev_lock;		/* protects ev_ring, ev_head, ev_claim, ev_dropped */
	struct clockwatch_event *ev_ring;
	u32 ev_entries;
	u64 ev_head;
	u64 ev_claim;
	u64 ev_dropped;
	wait_queue_head_t ev_wq;
	struct irq_work ev_wake_work;
	struct irq_work ev_tick_work;
	unsigned long ev_woke;

	struct clockwatch_tracker trk;
	struct clockwatch_step_hooks steps;
	struct clockwatch_audit audit;
};

/**
 * struct clockwatch_file - one open file of /dev/clockwatch
 * @cw:		the device
 * @cursor:	seq of the next record this reader gets
 * @read_lock:	serialises read() calls on this file; protects @cursor
 * @may_read_events: the opener had CAP_PERFMON or CAP_SYS_ADMIN: the
 *		event stream names processes (pid, comm), so only such a
 *		file may read it.  Set at open(), never changed: a file
 *		handed to another process keeps its opener's right.
 */
struct clockwatch_file {
	struct clockwatch_dev *cw;
	u64 cursor;
	struct mutex read_lock;		/* protects cursor */
	bool may_read_events;
};

int clockwatch_page_alloc(struct clockwatch_dev *cw);
void clockwatch_page_free(struct clockwatch_dev *cw);
void clockwatch_page_write_begin(struct clockwatch_dev *cw);
void clockwatch_page_write_end(struct clockwatch_dev *cw);

void clockwatch_clocks_start(struct clockwatch_dev *cw);
void clockwatch_clocks_refresh(struct clockwatch_dev *cw);
void clockwatch_clocks_stop(struct clockwatch_dev *cw);

void clockwatch_ntp_start(struct clockwatch_dev *cw);
void clockwatch_ntp_stop(struct clockwatch_dev *cw);

void clockwatch_steps_start(struct clockwatch_dev *cw);
void clockwatch_steps_stop(struct clockwatch_dev *cw);
void clockwatch_steps_gtod(struct clockwatch_dev *cw, unsigned long was_set,
			   void *priv);
void clockwatch_steps_sample(struct clockwatch_dev *cw,
			     const struct clockwatch_clocks *clocks);
void clockwatch_steps_publish(struct clockwatch_dev *cw);
void clockwatch_steps_ntp(struct clockwatch_dev *cw, unsigned int modes,
			  int ret, const struct clockwatch_ntp *new,
			  u32 written);
void clockwatch_sync_disrupt(struct clockwatch_dev *cw, u32 reason);
void clockwatch_sync_disrupt_ref(struct clockwatch_dev *cw, u32 reason,
				 const struct clockwatch_disruption *ref);

void clockwatch_audit_start(struct clockwatch_dev *cw);
void clockwatch_audit_stop(struct clockwatch_dev *cw);
long clockwatch_steps_report(struct clockwatch_dev *cw,
			     struct clockwatch_daemon_report __user *urep);
long clockwatch_steps_tasks(struct clockwatch_dev *cw,
			    struct clockwatch_tasks __user *utasks);

int clockwatch_events_init(struct clockwatch_dev *cw);
void clockwatch_events_exit(struct clockwatch_dev *cw);
void clockwatch_events_open(struct clockwatch_dev *cw, struct clockwatch_file *cf);
ssize_t clockwatch_events_read(struct clockwatch_file *cf, char __user *buf,
			       size_t count, bool nonblock);
__poll_t clockwatch_events_poll(struct clockwatch_file *cf, struct file *file,
				struct poll_table_struct *wait);
u64 clockwatch_events_head(struct clockwatch_dev *cw, u64 *dropped);
struct task_struct *clockwatch_task_at(pid_t nr, enum pid_type type,
				       s64 mono_ns);

/**
 * clockwatch_event_emit() - record an event for every reader
 * @cw:	the device
 * @ev:	the record: the caller fills @ev->type, the payload, and may fill
 *	the rest of the header as described below; the ring gets a copy
 *
 * The caller zeroes the whole record (memset(), union and padding
 * included: the ring's copy goes to userspace as it is) before it fills
 * it.  Fills in @ev->size, @ev->cpu and @ev->seq (the next sequence
 * number).  When @ev->mono_ns is 0, also @ev->mono_ns,
 * @ev->real_ns and @ev->raw_ns with the NMI-safe clock reads of now (a
 * caller that knows better, such as a step seen inside the timekeeper,
 * fills all three itself).  Unless the caller set CLOCKWATCH_EVF_TASK
 * with its own @ev->pid, @ev->tid and @ev->comm, names the current task
 * there when called in task context (in_task()), and leaves them zero in
 * interrupt context.  Pids are kept as the initial pid namespace sees
 * them; read() translates them for each reader.  @ev is updated too, so the caller can use the seq.
 *
 * Context: any but NMI: task, softirq, hard irq, hrtimer and kprobe
 * handlers, also under raw spinlocks and the timekeeper lock.  Takes
 * @cw->ev_lock with interrupts disabled; readers are woken directly when
 * the caller is preemptible, else through an irq_work, and on the next
 * tick when they were woken in this one.  Never sleeps, never fails: with
 * no ring, the event is counted as dropped (page events_dropped).
 */
void clockwatch_event_emit(struct clockwatch_dev *cw, struct clockwatch_event *ev);

#endif /* _CLOCKWATCH_H */
