/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * clockwatch: the ABI of /dev/clockwatch, version 1.
 *
 * /dev/clockwatch has two ways out, for two kinds of reader:
 *
 *  - mmap() of one read-only page, struct clockwatch_page: the state now.
 *    The module rewrites it under a sequence counter in the same code
 *    path as the change it reports, so a reader needs no system call to
 *    learn the clocks' relation and the kernel's NTP state.
 *
 *  - read() of fixed-size event records, struct clockwatch_event: the
 *    history.  Every open file has its own cursor over a ring of the most
 *    recent records, starting at the next record after open(); a reader
 *    that falls behind by more than the ring gets one
 *    CLOCKWATCH_EV_OVERRUN record with the exact number it missed.
 *    poll() and select() report POLLIN while a record is waiting.
 *
 * Versioning, one scheme for every structure here: a structure carries
 * its size (the page and the ioctl arguments in a @size field, event
 * records in theirs), fields are only ever added at the end, and a field
 * is present when the size covers it (CLOCKWATCH_FIELD_PRESENT for the
 * page).  What the module does is said by feature bits
 * (clockwatch_page.features, clockwatch_info.features), never by a
 * version number.  @version is CLOCKWATCH_ABI_VERSION and would change
 * only if an existing field changed its meaning, which version 1 never
 * does.  Reserved fields are zero.
 *
 * Times are nanoseconds, each field's clock and unit in its name and
 * comment: *_mono_ns CLOCK_MONOTONIC, *_raw_ns CLOCK_MONOTONIC_RAW,
 * *_real_ns CLOCK_REALTIME, as the initial time namespace sees them.  A
 * reader in another time namespace adds its own offsets
 * (/proc/self/timens_offsets: "monotonic" to MONOTONIC and MONOTONIC_RAW,
 * "boottime" to BOOTTIME); libclockwatch does.
 *
 * Process ids: the page carries none.  Event records name the process
 * as the reader's pid namespace sees it when it reads the record, 0 (and
 * no comm) where that process is not visible from there;
 * CLOCKWATCH_IOC_TASKS does the same for the sync daemon and the last
 * step's caller.
 *
 * Reading the page (userspace):
 *
 *	const struct clockwatch_page *p = mmap(NULL, CLOCKWATCH_PAGE_SIZE,
 *					       PROT_READ, MAP_SHARED, fd, 0);
 *	struct clockwatch_page copy;
 *	__u32 seq;
 *
 *	do {
 *		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
 *		memcpy(&copy, p, sizeof(copy));
 *		__atomic_thread_fence(__ATOMIC_ACQUIRE);
 *	} while ((seq & 1) ||
 *		 __atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
 *
 * The loop ends only after a copy made while @seq was even and did not
 * change.  A writer never holds the counter odd for longer than a few
 * hundred nanoseconds; bound the loop all the same (libclockwatch gives
 * up with -EAGAIN after one million tries).
 */
#ifndef _UAPI_LINUX_CLOCKWATCH_H
#define _UAPI_LINUX_CLOCKWATCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CLOCKWATCH_DEVICE		"/dev/clockwatch"
#define CLOCKWATCH_MAGIC		0x48435743	/* "CWCH" little endian */
#define CLOCKWATCH_ABI_VERSION		1
#define CLOCKWATCH_PAGE_SIZE		4096

/*
 * The ioctl type byte: 0xC7, unassigned in
 * Documentation/userspace-api/ioctl/ioctl-number.rst; numbers 0x00-0x4F.
 */
#define CLOCKWATCH_IOC_MAGIC		0xC7

/* Feature bits (clockwatch_page.features): what this module instance does. */
#define CLOCKWATCH_FEAT_CLOCKS		(1ULL << 0) /* clocks snapshot kept current */
#define CLOCKWATCH_FEAT_NTP		(1ULL << 1) /* adjtimex calls captured */
#define CLOCKWATCH_FEAT_EVENTS		(1ULL << 2) /* read() gives event records */
#define CLOCKWATCH_FEAT_STEPS		(1ULL << 3) /* every step seen */
#define CLOCKWATCH_FEAT_CAUSE_SETTIME	(1ULL << 4) /* steps by settimeofday/clock_settime named */
#define CLOCKWATCH_FEAT_CAUSE_SETOFFSET	(1ULL << 5) /* steps by ADJ_SETOFFSET named */
#define CLOCKWATCH_FEAT_CAUSE_RESUME	(1ULL << 6) /* steps by resume from suspend named */
#define CLOCKWATCH_FEAT_VMFORK		(1ULL << 7) /* VM fork/restore seen (vmgenid) */
#define CLOCKWATCH_FEAT_TRACEPOINTS	(1ULL << 8) /* clockwatch:* tracepoints */
#define CLOCKWATCH_FEAT_FREQ		(1ULL << 9) /* freq_* and slew_pending_ns measured */
#define CLOCKWATCH_FEAT_SYNC_STATE	(1ULL << 10) /* sync_state derived */
#define CLOCKWATCH_FEAT_STALLS		(1ULL << 16) /* the per-CPU stall probe runs */
/* Bits 24..31: the reference audit (the fields after unseen_step_ns). */
#define CLOCKWATCH_FEAT_AUDIT_RTC	(1ULL << 24) /* REALTIME audited against the RTC */
#define CLOCKWATCH_FEAT_AUDIT_RTC_WRITES (1ULL << 25) /* the kernel's RTC writes seen */

/**
 * struct clockwatch_clocks - the system clocks read at one instant
 * @realtime_ns:	CLOCK_REALTIME
 * @monotonic_ns:	CLOCK_MONOTONIC
 * @monotonic_raw_ns:	CLOCK_MONOTONIC_RAW
 * @boottime_ns:	CLOCK_BOOTTIME
 * @tai_ns:		CLOCK_TAI
 *
 * REALTIME, BOOTTIME and TAI are MONOTONIC plus the timekeeper's offsets
 * at the same instant, so their differences are exact; MONOTONIC_RAW comes
 * from the same clocksource read.
 */
struct clockwatch_clocks {
	__s64 realtime_ns;
	__s64 monotonic_ns;
	__s64 monotonic_raw_ns;
	__s64 boottime_ns;
	__s64 tai_ns;
};

/**
 * struct clockwatch_ntp - the kernel NTP state, as adjtimex() returns it
 * @offset_ns:		time offset still to be slewed, ns (timex.offset,
 *			converted from µs when STA_NANO is clear)
 * @freq_scaled_ppm:	frequency offset, ppm * 2^16 (timex.freq)
 * @maxerror_us:	maximum error, µs (timex.maxerror)
 * @esterror_us:	estimated error, µs (timex.esterror)
 * @constant:		PLL time constant, a log2 shift (timex.constant)
 * @tick_us:		µs between clock ticks (timex.tick)
 * @status:		STA_* bits (timex.status)
 * @time_state:		TIME_OK .. TIME_ERROR, adjtimex()'s return value
 * @tai_s:		TAI - UTC offset, seconds (timex.tai)
 * @__reserved:		zero
 */
struct clockwatch_ntp {
	__s64 offset_ns;
	__s64 freq_scaled_ppm;
	__s64 maxerror_us;
	__s64 esterror_us;
	__s64 constant;
	__s64 tick_us;
	__s32 status;
	__s32 time_state;
	__s32 tai_s;
	__u32 __reserved;
};

/*
 * Sync state (clockwatch_page.sync_state), derived from what the module
 * saw, never from what a daemon says about itself:
 *
 * SYNCHRONIZED		the sync daemon's last update wrote maxerror < 16 s,
 *			recently (within the module's free-run time, a
 *			module parameter), and nothing disrupted the
 *			clock since
 * FREE_RUNNING		it did, but longer ago: the clock runs on its last
 *			frequency; the bound still holds, growing with drift
 * UNSYNCHRONIZED	no sync daemon seen, it wrote maxerror = 16 s (the
 *			kernel's "unsynchronised" limit), or it has made one
 *			update only: some daemons write a placeholder as they
 *			start (ntpsec 1.2.2: maxerror 16 µs before measuring)
 * DISRUPTED		the clock was stepped or its rate changed by another
 *			process than the sync daemon, the VM was forked or
 *			restored, the machine resumed, or the reference audit
 *			saw the guest stopped while the host ran: do not trust it
 *			until the daemon has updated twice after it
 */
#define CLOCKWATCH_SYNC_UNSYNCHRONIZED	0
#define CLOCKWATCH_SYNC_SYNCHRONIZED	1
#define CLOCKWATCH_SYNC_FREE_RUNNING	2
#define CLOCKWATCH_SYNC_DISRUPTED	3

/* Why (clockwatch_page.sync_reason, clockwatch_disruption.reason). */
#define CLOCKWATCH_SYNC_R_NO_DAEMON	0 /* no maxerror write seen yet */
#define CLOCKWATCH_SYNC_R_MAXERROR	1 /* the daemon wrote maxerror < 16 s */
#define CLOCKWATCH_SYNC_R_MAXERROR_LIMIT 2 /* the daemon wrote maxerror = 16 s */
#define CLOCKWATCH_SYNC_R_DAEMON_SILENT	3 /* no update for the free-run time */
#define CLOCKWATCH_SYNC_R_FOREIGN_STEP	4 /* a step not made by the sync daemon */
#define CLOCKWATCH_SYNC_R_VMFORK	5 /* VM forked or restored from a snapshot */
#define CLOCKWATCH_SYNC_R_RESUME	6 /* resumed from suspend */
/*
 * The reference audit saw the RTC run ahead of every guest clock: the
 * guest stopped while the host's clock did not (a host pause, a snapshot
 * restore, a migration; or the host's own clock stepped forward)
 */
#define CLOCKWATCH_SYNC_R_HOST_PAUSE	7
#define CLOCKWATCH_SYNC_R_FOREIGN_ADJUST 8 /* another process changed the clock's rate or offset */
#define CLOCKWATCH_SYNC_R_DAEMON_FIRST	9 /* the daemon's first update: not trusted yet */

/* Leap second armed (clockwatch_page.leap_pending). */
#define CLOCKWATCH_LEAP_NONE		0
#define CLOCKWATCH_LEAP_INSERT		1 /* STA_INS: 23:59:60 at the next midnight UTC */
#define CLOCKWATCH_LEAP_DELETE		2 /* STA_DEL: 23:59:59 skipped */

/**
 * struct clockwatch_page - the read-only page behind mmap() of /dev/clockwatch
 *
 * CONSTANT FIELDS, set once when the module loads:
 * @magic:	CLOCKWATCH_MAGIC
 * @size:	bytes of this structure the module fills
 * @version:	CLOCKWATCH_ABI_VERSION
 * @__reserved0: zero
 * @__reserved1: zero
 * @features:	CLOCKWATCH_FEAT_* bits: hooks that are in place
 *
 * NON-CONSTANT FIELDS, PROTECTED BY @seq:
 * @seq:	sequence counter: odd while the module writes; a copy is
 *		consistent when @seq was even and unchanged around it
 * @__pad1:	zero
 * @disruption_count: disruptions seen since the module loaded: changes on
 *		every foreign step, foreign rate change, VM fork or restore,
 *		resume and reference audit jump, whether or not the state
 *		was already DISRUPTED.  A reader that remembers it can tell that
 *		something happened since it last looked without reading the
 *		event stream
 * @update_count: completed updates of this page
 * @clocks:	the clocks, read at one instant when the page was last
 *		updated (at least every refresh period of the module)
 * @ntp:	the NTP state after the most recent adjtimex() call by any
 *		process (reads included), valid when @ntp_mono_ns != 0
 * @ntp_mono_ns: when @ntp was captured, CLOCK_MONOTONIC; 0 = never
 * @ntp_raw_ns:	the same instant, CLOCK_MONOTONIC_RAW
 * @ntp_calls:	adjtimex() calls seen since the module loaded
 * @ntp_writes:	of those, calls that asked to change something
 *		(modes != 0) and succeeded
 * @step_seq:	steps seen since the module loaded; bumped before the
 *		stepping call returns to its caller
 * @event_seq:	seq the next event record will carry (= records emitted
 *		since load)
 * @last_step_delta_ns: size of the last step: REALTIME - MONOTONIC after
 *		minus before, ns
 * @last_step_mono_ns: when it happened, CLOCK_MONOTONIC
 * @last_step_real_ns: when it happened, CLOCK_REALTIME after the step
 * @last_step_cause: CLOCKWATCH_STEP_* of the last step
 * @last_step_flags: CLOCKWATCH_STEPF_* of the last step
 * @sync_state:	CLOCKWATCH_SYNC_*
 * @sync_reason: CLOCKWATCH_SYNC_R_*
 * @sync_mono_ns: when @sync_state last changed, CLOCK_MONOTONIC
 * @maxerror_mono_ns: when the sync daemon's last update wrote maxerror,
 *		CLOCK_MONOTONIC; 0 = never
 * @maxerror_raw_ns: the same instant, CLOCK_MONOTONIC_RAW: the anchor of
 *		the error bound, bound(now) = @maxerror_us + drift *
 *		(raw(now) - @maxerror_raw_ns)
 * @maxerror_us: the maxerror written then, µs
 * @esterror_us: the esterror in force after that write, µs
 * @daemon_count: sync daemons seen since load: changes when another
 *		process becomes the sync daemon (CLOCKWATCH_IOC_TASKS says
 *		which); 0 = none seen
 * @__pad2:	zero
 * @freq_short_ppb: rate of CLOCK_MONOTONIC against CLOCK_MONOTONIC_RAW
 *		minus 1, ppb, over the last @freq_short_window_raw_ns.
 *		CLOCK_REALTIME runs at the same rate between steps
 * @freq_long_ppb: the same over @freq_long_window_raw_ns
 * @freq_short_window_raw_ns: the short window actually measured (about
 *		1 s), MONOTONIC_RAW ns; 0 = no measurement yet
 * @freq_long_window_raw_ns: the long window actually measured (up to 60 s)
 * @slew_pending_ns: offset the kernel has still to slew in, ns: the PLL or
 *		adjtime() offset last reported by adjtimex, less what the
 *		clock was measured to have gained on its set frequency since
 * @slew_mono_ns: when @slew_pending_ns was computed, CLOCK_MONOTONIC
 * @leap_pending: CLOCKWATCH_LEAP_*
 * @time_state:	TIME_OK .. TIME_ERROR last seen (adjtimex return or a leap
 *		second); -1 until the module has seen one
 * @ntp_missed:	adjtimex() calls the probe could not capture (too many at
 *		once): their events are missing
 * @events_dropped: events the module could not record at all
 * @maxerror_interval_raw_ns: the sync daemon's update interval:
 *		MONOTONIC_RAW from its previous update to its last one
 *		(@maxerror_raw_ns); 0 = fewer than two updates seen from the
 *		same daemon.  Readers call the clock free running once the
 *		daemon has been silent for 8 such intervals
 * @step_inflight: steps entered (settimeofday, clock_settime,
 *		ADJ_SETOFFSET, resume) whose result the page does not show
 *		yet: while non-zero, CLOCK_REALTIME may already hold a value
 *		the rest of the page does not describe
 * @__pad3:	zero
 * @disrupt_raw_ns: when the last disruption happened, MONOTONIC_RAW; 0 =
 *		none since load.  A DISRUPTED state ends at an update of the
 *		daemon whose previous update also came after this instant
 * @report_raw_ns: when the last daemon report was accepted
 *		(CLOCKWATCH_IOC_DAEMON_REPORT), MONOTONIC_RAW; 0 = none
 * @report_correction_ns: the offset the daemon said it had still to
 *		correct then, ns (positive: the clock is behind)
 * @report_anchor_raw_ns: the update the report goes with: its
 *		@maxerror_raw_ns ...
 * @report_maxerror_us: ... and its @maxerror_us
 * @report_step_seq: @step_seq when the report was made
 * @report_source: CLOCKWATCH_DREP_* of the report
 * @report_flags: CLOCKWATCH_DREPF_* of the report
 * @report_root_delay_ns: the daemon's root delay then, ns
 * @report_root_dispersion_ns: the daemon's root dispersion then, ns
 * @report_ref_real_ns: the daemon's last clock update as it reports it,
 *		CLOCK_REALTIME
 * @unseen_step_ns: the sum of the REALTIME steps other processes made,
 *		and of the host pauses the reference audit measured (a
 *		pause leaves REALTIME behind as a step would), that the
 *		daemon has not yet been seen to measure, ns: the
 *		clock may be off by this much more than the daemon says.
 *		Back to 0 when the daemon steps the clock, when the
 *		correction it reports (daemon report, or the PLL offset it
 *		writes) has moved since the sum began by enough to undo it
 *		to within half of it, or when a daemon started after the
 *		step updates
 *
 * THE REFERENCE AUDIT (CLOCKWATCH_FEAT_AUDIT_RTC; all 0 without it):
 * CLOCK_REALTIME against the RTC, at the RTC's seconds edges, about once
 * every audit_interval_ms (a module parameter).  An edge is the instant
 * the RTC's seconds counter moved on, found between two reads of it:
 * @audit_rtc_offset_ns: REALTIME at the last edge minus the RTC's time
 *		then (the second that began there), ns.  The RTC may keep
 *		local time: only its changes matter
 * @audit_rtc_err_ns: its error bar, ns: half the interval that brackets
 *		the edge, the REALTIME read's own bracket, and the RTC's
 *		resolution (1/32768 s)
 * @audit_rtc_rate_ppb: the RTC's rate against CLOCK_MONOTONIC_RAW minus
 *		1, ppb, learned over up to the last 10 minutes without a
 *		jump or an RTC write; 0 until learned
 * @audit_rtc_rate_err_ppb: its uncertainty, ppb; 100 ppm (an RTC
 *		crystal's bound) until learned better
 * @audit_rtc_raw_ns: the last edge, CLOCK_MONOTONIC_RAW; 0 = none yet
 * @audit_rtc_edges: edges measured since load
 * @audit_rtc_misses: samples that found no edge or could not read the RTC
 * @audit_rtc_jumps: jumps seen: the RTC ran ahead of CLOCK_MONOTONIC_RAW
 *		by more than the error bar (both edges' bars, the rate's
 *		uncertainty over the interval, and audit_margin_us) between
 *		two edges.  Each one is a disruption (reason
 *		CLOCKWATCH_SYNC_R_HOST_PAUSE) and a DISRUPTION record that
 *		carries its size
 * @audit_rtc_unexplained: changes beyond the error bar the audit does not
 *		call a jump: the RTC ran slower than the guest's clocks, its
 *		rate left the bounds of a crystal, or (without
 *		CLOCKWATCH_FEAT_AUDIT_RTC_WRITES) a change an unseen RTC
 *		write could explain.  Counted, never a disruption
 * @audit_rtc_writes: RTC writes seen (the kernel's 11-minute mode,
 *		hwclock through /dev/rtc): each starts a new baseline
 * @audit_rtc_jump_ns: the last jump's size: the change of REALTIME - RTC
 *		that steps and rates do not explain, ns; negative when
 *		REALTIME fell behind (a host pause); 0 = none
 * @audit_rtc_jump_raw_ns: when the audit saw it, CLOCK_MONOTONIC_RAW
 * @audit_rtc_jump_sum_ns: every jump's size added up since load, ns:
 *		minus the time the host stopped the VM in all.  A pause
 *		the audit saw as two jumps (one began while it read around
 *		an edge) is whole here, where audit_rtc_jump_ns holds only
 *		its second part
 *
 * The structure is well under half of the page: fields added later go
 * after @audit_rtc_jump_sum_ns.
 */
struct clockwatch_page {
	__u32 magic;
	__u32 size;
	__u16 version;
	__u16 __reserved0;
	__u32 __reserved1;
	__u64 features;

	__u32 seq;
	__u32 __pad1;
	__u64 disruption_count;
	__u64 update_count;
	struct clockwatch_clocks clocks;
	struct clockwatch_ntp ntp;
	__s64 ntp_mono_ns;
	__s64 ntp_raw_ns;
	__u64 ntp_calls;
	__u64 ntp_writes;

	__u64 step_seq;
	__u64 event_seq;
	__s64 last_step_delta_ns;
	__s64 last_step_mono_ns;
	__s64 last_step_real_ns;
	__u32 last_step_cause;
	__u32 last_step_flags;

	__u32 sync_state;
	__u32 sync_reason;
	__s64 sync_mono_ns;
	__s64 maxerror_mono_ns;
	__s64 maxerror_raw_ns;
	__s64 maxerror_us;
	__s64 esterror_us;
	__u32 daemon_count;
	__u32 __pad2;

	__s64 freq_short_ppb;
	__s64 freq_long_ppb;
	__s64 freq_short_window_raw_ns;
	__s64 freq_long_window_raw_ns;
	__s64 slew_pending_ns;
	__s64 slew_mono_ns;
	__u32 leap_pending;
	__s32 time_state;
	__u64 ntp_missed;
	__u64 events_dropped;
	__s64 maxerror_interval_raw_ns;
	__u32 step_inflight;
	__u32 __pad3;
	__s64 disrupt_raw_ns;

	__s64 report_raw_ns;
	__s64 report_correction_ns;
	__s64 report_anchor_raw_ns;
	__s64 report_maxerror_us;
	__u64 report_step_seq;
	__u32 report_source;
	__u32 report_flags;
	__s64 report_root_delay_ns;
	__s64 report_root_dispersion_ns;
	__s64 report_ref_real_ns;
	__s64 unseen_step_ns;

	__s64 audit_rtc_offset_ns;
	__s64 audit_rtc_err_ns;
	__s64 audit_rtc_rate_ppb;
	__s64 audit_rtc_rate_err_ppb;
	__s64 audit_rtc_raw_ns;
	__u64 audit_rtc_edges;
	__u64 audit_rtc_misses;
	__u64 audit_rtc_jumps;
	__u64 audit_rtc_unexplained;
	__u64 audit_rtc_writes;
	__s64 audit_rtc_jump_ns;
	__s64 audit_rtc_jump_raw_ns;
	__s64 audit_rtc_jump_sum_ns;
};

/* Is @field covered by the size the module published in @page? */
#define CLOCKWATCH_FIELD_PRESENT(page, field)				\
	((page)->size >= __builtin_offsetof(struct clockwatch_page, field) + \
			 sizeof((page)->field))

/*
 * Per-CPU stalls: a probe, histograms and stall records.
 *
 * On each probed CPU (by default the housekeeping CPUs: those not isolated
 * with isolcpus= or nohz_full=) the module runs an absolute, pinned,
 * hard-irq hrtimer with a fixed period and measures how late each expiry
 * runs: its latency, now - the time it was due (CLOCK_MONOTONIC).
 * Optionally the expiry wakes a per-CPU SCHED_FIFO kernel thread, whose
 * latency is measured from the same due time.  The period, the threshold,
 * the CPUs and the thread are module parameters; CLOCKWATCH_IOC_CPU_STATS
 * reports the period and threshold in force.
 *
 * No coordinated omission.  When an expiry runs L ns late at period P,
 * floor(L / P) later expiries were due meanwhile and never ran on their
 * own ("missed").  The probe records the one late expiry once, counts the
 * missed ones, and adds them to the *_FILLED histograms with the latency
 * each would have had, L - k * P for k = 1 .. floor(L / P).  So a plain
 * histogram has one sample per expiry that ran; a filled histogram has one
 * sample per period that passed.
 *
 * A latency at or above the stall threshold is a stall: one
 * struct clockwatch_stall, however many periods it covers.
 */
/*
 * Histogram buckets, in ns: log2 with 8 linear sub-buckets.  Values below
 * 16 ns have a bucket each; a value v >= 8 with e = floor(log2(v)) goes to
 * bucket (e - 2) * 8 + ((v >> (e - 3)) & 7), of width 2^(e - 3), at most
 * 1/8 of the values it holds; bucket i >= 8 starts at
 * (8 + (i & 7)) << ((i >> 3) - 1) ns.  The last bucket starts at
 * 15 * 2^36 ns (about 1031 s) and also holds everything above it.  Every
 * bucket counts the values v with lo(i) <= v < lo(i + 1).
 */
#define CLOCKWATCH_HIST_BUCKETS		304

/**
 * struct clockwatch_hist - a latency histogram
 * @count:	samples
 * @sum_ns:	their sum, ns; U64_MAX once it would overflow (a filled
 *		histogram reaches it after about an hour of stall at a
 *		100 µs period)
 * @min_ns:	smallest sample, ns (0 when @count is 0)
 * @max_ns:	largest sample, ns
 * @buckets:	samples per bucket, see CLOCKWATCH_HIST_BUCKETS
 */
struct clockwatch_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 min_ns;
	__u64 max_ns;
	__u64 buckets[CLOCKWATCH_HIST_BUCKETS];
};

/* Index into clockwatch_cpu_stats.hist[]. */
enum clockwatch_hist_kind {
	CLOCKWATCH_HIST_IRQ = 0,	/* timer expiries that ran */
	CLOCKWATCH_HIST_IRQ_FILLED,	/* ... and the missed periods */
	CLOCKWATCH_HIST_THREAD,		/* thread wake-ups that ran */
	CLOCKWATCH_HIST_THREAD_FILLED,	/* ... and the missed periods */
	CLOCKWATCH_HIST_NR,
};

/* Bits of clockwatch_cpu_stats.flags. */
#define CLOCKWATCH_CPU_ACTIVE		(1U << 0) /* the probe runs on this CPU */
#define CLOCKWATCH_CPU_THREAD		(1U << 1) /* the thread probe is on */

/**
 * struct clockwatch_cpu_stats - CLOCKWATCH_IOC_CPU_STATS: one CPU's probe
 * @size:		in: sizeof(struct clockwatch_cpu_stats)
 * @cpu:		in: the CPU
 * @flags:		in: zero; out: CLOCKWATCH_CPU_* bits
 * @__reserved0:	in: zero
 * @period_ns:		out: the probe period now, ns
 * @threshold_ns:	out: the stall threshold now, ns
 * @read_ns:		out: when this copy was taken, CLOCK_MONOTONIC
 * @since_ns:		out: last reset (or start of the probe on this CPU),
 *			CLOCK_MONOTONIC
 * @first_due_ns:	out: due time of the first expiry counted since then,
 *			CLOCK_MONOTONIC; 0 = none yet
 * @next_due_ns:	out: due time of the next expiry, CLOCK_MONOTONIC.
 *			While the period did not change,
 *			hist[CLOCKWATCH_HIST_IRQ_FILLED].count ==
 *			(@next_due_ns - @first_due_ns) / @period_ns
 * @expiries:		out: expiries that ran since @since_ns
 * @missed:		out: periods missed since @since_ns
 * @stalls:		out: stalls since @since_ns (both contexts)
 * @thread_missed:	out: expiries that found the thread's previous
 *			wake-up still pending
 * @hist:		out: histograms, indexed by enum clockwatch_hist_kind
 *
 * Reading does not reset anything; CLOCKWATCH_IOC_STALL_RESET does.  The
 * copy is taken without stopping the probe and is consistent; -EAGAIN
 * when the probe changed the counters during each of many tries (a
 * period shorter than a copy), -EINVAL for a CPU that is not possible.
 * A CPU the probe does not run on answers without CLOCKWATCH_CPU_ACTIVE.
 */
struct clockwatch_cpu_stats {
	__u32 size;
	__u32 cpu;
	__u32 flags;
	__u32 __reserved0;
	__u64 period_ns;
	__u64 threshold_ns;
	__s64 read_ns;
	__s64 since_ns;
	__s64 first_due_ns;
	__s64 next_due_ns;
	__u64 expiries;
	__u64 missed;
	__u64 stalls;
	__u64 thread_missed;
	struct clockwatch_hist hist[CLOCKWATCH_HIST_NR];
};

/* clockwatch_stall.context */
#define CLOCKWATCH_STALL_IRQ		0 /* the timer expiry ran late */
#define CLOCKWATCH_STALL_THREAD		1 /* the expiry was on time, the thread was late */

/* Bits of clockwatch_stall.attr_flags: which sources were visible. */
#define CLOCKWATCH_ATTR_STEAL		(1U << 0) /* steal time is accounted (CONFIG_PARAVIRT) */
/* irq times are exact (IRQ_TIME_ACCOUNTING); without it, sampled by the tick */
#define CLOCKWATCH_ATTR_IRQTIME		(1U << 1)
/*
 * A host pause does not show here: every guest clock stops with the
 * guest, so the probe's latency does not include it.
 */

/**
 * struct clockwatch_stall - one stall: a probe latency over the threshold
 * @seq:		stall number since the module loaded, from 1
 * @start_ns:		when the late expiry was due, CLOCK_MONOTONIC
 * @duration_ns:	its latency, ns: the CPU did not serve the probe from
 *			@start_ns to @start_ns + @duration_ns
 * @period_ns:		the probe period, ns
 * @missed:		periods that were due during the stall and never ran
 * @steal_ns:		time the hypervisor ran something else (paravirt
 *			steal clock), ns
 * @irq_ns:		time in hard irq handlers, ns
 * @softirq_ns:		time in softirqs, ns
 * @unexplained_ns:	the rest, ns
 * @irq_count:		hard interrupts that ran on the CPU, the probe's own
 *			excluded
 * @softirq_count:	softirqs that ran on the CPU
 * @cpu:		the CPU
 * @context:		CLOCKWATCH_STALL_IRQ or CLOCKWATCH_STALL_THREAD
 * @attr_flags:		CLOCKWATCH_ATTR_* bits
 *
 * The counters are read at the expiry before the stall and at the late
 * one, and each part is capped so that @steal_ns + @irq_ns + @softirq_ns
 * + @unexplained_ns == @duration_ns, in that order of precedence.
 */
struct clockwatch_stall {
	__u64 seq;
	__s64 start_ns;
	__u64 duration_ns;
	__u64 period_ns;
	__u64 missed;
	__u64 steal_ns;
	__u64 irq_ns;
	__u64 softirq_ns;
	__u64 unexplained_ns;
	__u32 irq_count;
	__u32 softirq_count;
	__u32 cpu;
	__u16 context;
	__u16 attr_flags;
};

/**
 * struct clockwatch_stall_log - CLOCKWATCH_IOC_STALL_LOG: recent stalls
 * @size:	in: sizeof(struct clockwatch_stall_log)
 * @max:	in: room at @stalls, in records
 * @from_seq:	in: the first stall wanted; stalls are numbered from 1,
 *		and 0 asks for the same as 1
 * @stalls:	in: user pointer to @max struct clockwatch_stall
 * @count:	out: records copied, oldest first
 * @__reserved0: in: zero
 * @next_seq:	out: pass as @from_seq to read on: the stall after the
 *		last one copied; with none copied, the oldest one kept from
 *		@from_seq on (or the next to come)
 * @lost:	out: stalls from @from_seq on (from 1 for 0) that the log
 *		no longer held, also when @max is 0.  With @from_seq 0 or 1
 *		that is every stall since the module loaded but the latest
 *		CLOCKWATCH_STALL_LOG_LEN: not 0 once more stalls than that
 *		happened
 *
 * The module keeps the latest CLOCKWATCH_STALL_LOG_LEN stalls of all CPUs.
 * A reader that passes @next_seq back each time has @lost say exactly
 * how many stalls it missed.
 */
struct clockwatch_stall_log {
	__u32 size;
	__u32 max;
	__u64 from_seq;
	__u64 stalls;
	__u32 count;
	__u32 __reserved0;
	__u64 next_seq;
	__u64 lost;
};

#define CLOCKWATCH_STALL_LOG_LEN	1024

/*
 * Event records: read() of /dev/clockwatch.
 *
 * Every record is CLOCKWATCH_EVENT_SIZE bytes: a common header and a
 * payload chosen by @type.  read() returns whole records only: a buffer
 * smaller than one record gets -EINVAL, a larger one as many whole records
 * as are waiting and fit.  With nothing waiting, read() blocks, or fails
 * with -EAGAIN under O_NONBLOCK.  Records of a type a reader does not know
 * are skipped by their @size.
 */
#define CLOCKWATCH_EVENT_SIZE		256

#define CLOCKWATCH_EV_OVERRUN		1 /* this reader missed records */
#define CLOCKWATCH_EV_STEP		2 /* CLOCK_REALTIME (or TAI) was stepped */
#define CLOCKWATCH_EV_NTP_ADJUST	3 /* an adjtimex-family call wrote NTP state */
#define CLOCKWATCH_EV_LEAP		4 /* time_state moved (leap second armed, done) */
#define CLOCKWATCH_EV_DISRUPTION	5 /* DISRUPTED entered or left; a reference jump */
#define CLOCKWATCH_EV_STALL		6 /* a CPU stall: the probe ran late */
/* 7: records of the module's test injector (debugfs), loaded with inject=1 */
/* a task pause: libclockwatch's BPF tracker's records, never read() here */
#define CLOCKWATCH_EV_PAUSE		8

/* clockwatch_event.flags */
#define CLOCKWATCH_EVF_TASK		(1U << 0) /* pid, tid, comm name the caller */

/* Step causes (clockwatch_step.cause). */
#define CLOCKWATCH_STEP_UNKNOWN		0
#define CLOCKWATCH_STEP_SETTIMEOFDAY	1 /* settimeofday() */
#define CLOCKWATCH_STEP_CLOCK_SETTIME	2 /* clock_settime(CLOCK_REALTIME) */
#define CLOCKWATCH_STEP_ADJ_SETOFFSET	3 /* adjtimex()/clock_adjtime() ADJ_SETOFFSET */
#define CLOCKWATCH_STEP_LEAP_INSERT	4 /* 23:59:60 inserted: REALTIME went back 1 s */
#define CLOCKWATCH_STEP_LEAP_DELETE	5 /* 23:59:59 deleted: REALTIME went on 1 s */
#define CLOCKWATCH_STEP_TAI		6 /* ADJ_TAI: TAI - UTC changed, REALTIME did not */
#define CLOCKWATCH_STEP_RESUME		7 /* resume from suspend: the time asleep */
#define CLOCKWATCH_STEP_SETTIME_KERNEL	8 /* do_settimeofday64() by the kernel (RTC, ...) */

/* clockwatch_step.flags */
#define CLOCKWATCH_STEPF_DAEMON		(1U << 0) /* made by the sync daemon */

/**
 * struct clockwatch_step - payload of CLOCKWATCH_EV_STEP
 * @delta_ns:		REALTIME - MONOTONIC after minus before, ns: the step
 * @real_before_ns:	CLOCK_REALTIME just before the step
 * @real_after_ns:	CLOCK_REALTIME just after it (= the header's real_ns)
 * @tai_delta_ns:	change of TAI - REALTIME, ns (ADJ_TAI); a leap second
 *			leaves TAI alone, so this is -@delta_ns then
 * @step_seq:		clockwatch_page.step_seq after this step
 * @cause:		CLOCKWATCH_STEP_*
 * @flags:		CLOCKWATCH_STEPF_*
 */
struct clockwatch_step {
	__s64 delta_ns;
	__s64 real_before_ns;
	__s64 real_after_ns;
	__s64 tai_delta_ns;
	__u64 step_seq;
	__u32 cause;
	__u32 flags;
};

/* Fields an adjtimex call wrote (clockwatch_ntp_adjust.written). */
#define CLOCKWATCH_NTPF_OFFSET		(1U << 0)
#define CLOCKWATCH_NTPF_FREQ		(1U << 1)
#define CLOCKWATCH_NTPF_MAXERROR	(1U << 2)
#define CLOCKWATCH_NTPF_ESTERROR	(1U << 3)
#define CLOCKWATCH_NTPF_STATUS		(1U << 4)
#define CLOCKWATCH_NTPF_CONSTANT	(1U << 5)
#define CLOCKWATCH_NTPF_TICK		(1U << 6)
#define CLOCKWATCH_NTPF_TAI		(1U << 7)
#define CLOCKWATCH_NTPF_SETOFFSET	(1U << 8) /* a step: see the STEP record */

/**
 * struct clockwatch_ntp_adjust - payload of CLOCKWATCH_EV_NTP_ADJUST
 * @modes:	timex.modes as the caller passed them (ADJ_*)
 * @ret:	the call's return: the time_state (TIME_OK..TIME_ERROR), or a
 *		negative errno (then @after is @before)
 * @written:	CLOCKWATCH_NTPF_* of the fields the call wrote
 * @__reserved:	zero
 * @before_mono_ns: when @before was captured, CLOCK_MONOTONIC: @before is the state
 *		after the previous adjtimex call of any process (reads
 *		included); the kernel's own per-second updates since (maxerror
 *		grows by 500 µs/s, the PLL offset shrinks) are not in it
 * @before:	NTP state before the call, as far as the module saw
 * @after:	NTP state after the call, exact
 */
struct clockwatch_ntp_adjust {
	__u32 modes;
	__s32 ret;
	__u32 written;
	__u32 __reserved;
	__s64 before_mono_ns;
	struct clockwatch_ntp before;
	struct clockwatch_ntp after;
};

/**
 * struct clockwatch_leap - payload of CLOCKWATCH_EV_LEAP
 * @old_state:	time_state before (TIME_OK..TIME_ERROR)
 * @new_state:	time_state after
 * @status:	STA_* bits then
 * @leap_pending: CLOCKWATCH_LEAP_* after
 */
struct clockwatch_leap {
	__s32 old_state;
	__s32 new_state;
	__s32 status;
	__u32 leap_pending;
};

/* The reference that measured a disruption (clockwatch_disruption.ref_source). */
#define CLOCKWATCH_REF_NONE		0 /* none: the ref_* fields are 0 */
#define CLOCKWATCH_REF_RTC		1 /* the RTC (CLOCKWATCH_FEAT_AUDIT_RTC) */

/**
 * struct clockwatch_disruption - payload of CLOCKWATCH_EV_DISRUPTION
 * @reason:	CLOCKWATCH_SYNC_R_* that moved the state
 * @old_state:	CLOCKWATCH_SYNC_* before
 * @new_state:	CLOCKWATCH_SYNC_* after
 * @__reserved:	zero
 * @ref_source:	CLOCKWATCH_REF_* of the reference that saw the disruption;
 *		0 when none did (a step, a VM fork, ...)
 * @__reserved1: zero
 * @ref_offset_change_ns: its size against the reference: the change of
 *		REALTIME - the reference between the readings around it,
 *		less the steps the module saw and the drift the rates
 *		explain, ns.  Negative when REALTIME fell behind: a host
 *		pause of P s gives -P s
 * @ref_err_ns:	its error bar, ns
 * @ref_before_raw_ns: the reference's last reading before the disruption,
 *		CLOCK_MONOTONIC_RAW
 * @ref_after_raw_ns: its first reading after it, CLOCK_MONOTONIC_RAW:
 *		the disruption happened in between
 */
struct clockwatch_disruption {
	__u32 reason;
	__u32 old_state;
	__u32 new_state;
	__u32 __reserved;
	__u32 ref_source;
	__u32 __reserved1;
	__s64 ref_offset_change_ns;
	__s64 ref_err_ns;
	__s64 ref_before_raw_ns;
	__s64 ref_after_raw_ns;
};

/**
 * struct clockwatch_overrun - payload of CLOCKWATCH_EV_OVERRUN
 * @lost:		records this reader missed, exactly
 * @first_lost_seq:	seq of the first of them; the next record this
 *			reader gets has seq @first_lost_seq + @lost
 */
struct clockwatch_overrun {
	__u64 lost;
	__u64 first_lost_seq;
};

#define CLOCKWATCH_EVENT_HEADER_SIZE	72
#define CLOCKWATCH_EVENT_PAYLOAD_SIZE	(CLOCKWATCH_EVENT_SIZE - CLOCKWATCH_EVENT_HEADER_SIZE)

/**
 * struct clockwatch_event - one record read() from /dev/clockwatch
 * @size:	CLOCKWATCH_EVENT_SIZE: skip this many bytes to the next record
 * @type:	CLOCKWATCH_EV_*
 * @__reserved0: zero
 * @flags:	CLOCKWATCH_EVF_*
 * @cpu:	CPU the event was recorded on
 * @__reserved1: zero
 * @seq:	sequence number, one per record emitted, from 0 at module
 *		load, gap-free: a reader sees every seq or is told with an
 *		OVERRUN record which it missed
 * @mono_ns:	when, CLOCK_MONOTONIC
 * @real_ns:	when, CLOCK_REALTIME (after the step, for a step)
 * @raw_ns:	when, CLOCK_MONOTONIC_RAW
 * @pid:	process (tgid) of the caller, with CLOCKWATCH_EVF_TASK.  A
 *		reader in the initial pid namespace gets it as recorded;
 *		another reader as its own pid namespace numbers the caller
 *		at read(), or 0 (and CLOCKWATCH_EVF_TASK clear) when the
 *		caller is not visible from there or has exited
 * @tid:	thread (pid) of the caller, the same way; 0 when the
 *		thread has exited but its process is still visible
 * @comm:	caller's comm, NUL-padded, when @pid is not 0
 * @step:	CLOCKWATCH_EV_STEP
 * @ntp_adjust:	CLOCKWATCH_EV_NTP_ADJUST
 * @leap:	CLOCKWATCH_EV_LEAP
 * @disruption:	CLOCKWATCH_EV_DISRUPTION
 * @overrun:	CLOCKWATCH_EV_OVERRUN
 * @stall:	CLOCKWATCH_EV_STALL
 * @__payload:	the payload's room
 */
struct clockwatch_event {
	__u16 size;
	__u16 type;
	__u16 __reserved0;
	__u16 flags;
	__u32 cpu;
	__u32 __reserved1;
	__u64 seq;
	__s64 mono_ns;
	__s64 real_ns;
	__s64 raw_ns;
	__s32 pid;
	__s32 tid;
	char comm[16];
	union {
		struct clockwatch_step step;
		struct clockwatch_ntp_adjust ntp_adjust;
		struct clockwatch_leap leap;
		struct clockwatch_disruption disruption;
		struct clockwatch_overrun overrun;
		struct clockwatch_stall stall;
		__u8 __payload[CLOCKWATCH_EVENT_PAYLOAD_SIZE];
	};
};

/*
 * ioctls.  Reserved fields are zero on input, or the call fails with
 * -EINVAL; an unknown command fails with -ENOTTY.
 */
/**
 * struct clockwatch_info - CLOCKWATCH_IOC_INFO: what this module does
 * @size:	in: sizeof(struct clockwatch_info) as the caller knows it
 *		(at least up to @__reserved); out: as the module knows it
 * @version:	out: CLOCKWATCH_ABI_VERSION
 * @event_size:	out: CLOCKWATCH_EVENT_SIZE
 * @ring_entries: out: records the event ring holds
 * @features:	out: clockwatch_page.features
 * @event_head:	in: zero; out: seq the next event record will carry
 * @cursor:	in: zero; out: seq of the next record read() on this file
 *		returns (an OVERRUN record first when the ring no longer
 *		holds it)
 * @__reserved:	in: zero; out: zero
 */
struct clockwatch_info {
	__u32 size;
	__u32 version;
	__u32 event_size;
	__u32 ring_entries;
	__u64 features;
	__u64 event_head;
	__u64 cursor;
	__u64 __reserved[2];
};

#define CLOCKWATCH_IOC_INFO		_IOWR(CLOCKWATCH_IOC_MAGIC, 0x01, struct clockwatch_info)

/* clockwatch_daemon_report.source */
#define CLOCKWATCH_DREP_CHRONY		1 /* chronyd's tracking report */

/* clockwatch_daemon_report.flags */
#define CLOCKWATCH_DREPF_SYNCED		(1U << 0) /* the daemon says it is synchronised */

/**
 * struct clockwatch_daemon_report - CLOCKWATCH_IOC_DAEMON_REPORT: what the
 *	sync daemon knows about the clock that the kernel does not hold
 * @size:		in: sizeof(struct clockwatch_daemon_report)
 * @source:		in: CLOCKWATCH_DREP_*
 * @flags:		in: CLOCKWATCH_DREPF_*
 * @daemon_pid:		in: the daemon the report comes from, as the
 *			caller's pid namespace sees it: it must be the sync
 *			daemon the module knows, else -ESRCH
 * @anchor_raw_ns:	in: clockwatch_page.maxerror_raw_ns, as read
 *			before asking the daemon: the report goes with that
 *			maxerror write.  -EAGAIN when the daemon wrote since
 *			(ask it again)
 * @step_seq:		in: clockwatch_page.step_seq read then; -EAGAIN
 *			when the clock was stepped since
 * @correction_ns:	in: the offset the daemon has still to correct, ns;
 *			positive when the clock is behind (chrony's "System
 *			time ... slow of NTP time").  At most 1000 s either way
 * @root_delay_ns:	in: the daemon's root delay, ns, >= 0
 * @root_dispersion_ns: in: the daemon's root dispersion, ns, >= 0
 * @ref_real_ns:	in: the daemon's last clock update, CLOCK_REALTIME
 *			(chrony's reference time)
 * @__reserved:		in: zero
 *
 * Needs CAP_SYS_TIME: a report changes the bound every reader computes.
 * The module takes the time of the call and the maxerror it pairs with
 * from its own records, and publishes the report on the page
 * (clockwatch_page.report_*).  It never changes the clock.
 */
struct clockwatch_daemon_report {
	__u32 size;
	__u32 source;
	__u32 flags;
	__s32 daemon_pid;
	__s64 anchor_raw_ns;
	__u64 step_seq;
	__s64 correction_ns;
	__s64 root_delay_ns;
	__s64 root_dispersion_ns;
	__s64 ref_real_ns;
	__u64 __reserved[2];
};

#define CLOCKWATCH_IOC_DAEMON_REPORT	\
	_IOW(CLOCKWATCH_IOC_MAGIC, 0x02, struct clockwatch_daemon_report)

/**
 * struct clockwatch_tasks - CLOCKWATCH_IOC_TASKS: the processes the page
 *	speaks of, as the caller's pid namespace sees them
 * @size:		in: sizeof(struct clockwatch_tasks)
 * @__reserved0:	in: zero
 * @daemon_pid:		out: the sync daemon (tgid); 0 = none seen, or not
 *			visible from the caller's pid namespace
 * @last_step_pid:	out: the caller of the last step (tgid); 0 = no
 *			step with a caller, or not visible
 * @daemon_count:	out: clockwatch_page.daemon_count these answers go
 *			with
 * @step_seq:		out: clockwatch_page.step_seq these answers go with
 * @daemon_comm:	out: the daemon's comm when @daemon_pid is not 0
 * @last_step_comm:	out: the step's caller's comm when @last_step_pid
 *			is not 0
 * @__reserved:		in: zero; out: zero
 *
 * Needs no privilege: a process only learns of processes it could see in
 * /proc.  A process that has exited reads as 0.  The answer is the
 * module's latest, which the page may show a moment later: @daemon_count
 * and @step_seq are never behind the page read before the call, and a
 * reader that wants the two to match reads the page until they do.
 */
struct clockwatch_tasks {
	__u32 size;
	__u32 __reserved0;
	__s32 daemon_pid;
	__s32 last_step_pid;
	__u64 daemon_count;
	__u64 step_seq;
	char daemon_comm[16];
	char last_step_comm[16];
	__u64 __reserved[2];
};

#define CLOCKWATCH_IOC_TASKS		_IOWR(CLOCKWATCH_IOC_MAGIC, 0x03, struct clockwatch_tasks)

/* Per-CPU stalls (see struct clockwatch_cpu_stats, struct clockwatch_stall). */
#define CLOCKWATCH_IOC_CPU_STATS	\
	_IOWR(CLOCKWATCH_IOC_MAGIC, 0x40, struct clockwatch_cpu_stats)
#define CLOCKWATCH_IOC_STALL_RESET	_IO(CLOCKWATCH_IOC_MAGIC, 0x41)
#define CLOCKWATCH_IOC_STALL_LOG	\
	_IOWR(CLOCKWATCH_IOC_MAGIC, 0x42, struct clockwatch_stall_log)

#endif /* _UAPI_LINUX_CLOCKWATCH_H */
