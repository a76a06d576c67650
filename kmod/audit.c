// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the reference audit: CLOCK_REALTIME against the RTC.
 *
 * Every guest clock, MONOTONIC_RAW included, stops while the host stops
 * the VM (a pause, a snapshot, a migration), and nothing in the guest
 * jumps when it runs again: the guest cannot see the pause on its own
 * clocks.  The RTC of a PC (an MC146818 or its emulation) keeps running:
 * QEMU drives it from the host's clock.  Once a second or so the audit
 * measures REALTIME against the RTC; when the RTC ran ahead of
 * MONOTONIC_RAW between two measurements by more than their error bar,
 * the guest stopped while the host did not, and that is a disruption.
 *
 * Sub-second resolution from a one-second counter.  The RTC says only
 * which second it is, but the instant its seconds register moves on (the
 * edge) is the start of that second, exactly.  The audit reads the
 * register between two MONOTONIC_RAW reads until it sees it change: the
 * edge lies between the last read of the old second and the first read of
 * the new one, and its error bar is half that interval.  The next edge is
 * due one RTC second (at the learned rate) after this one, so a sample
 * sleeps until just before it and polls only in a window of a few ms
 * around it (CW_LEAD_NS each side).  Without a prediction (at start, after
 * a jump, after a wake-up too late for the window) it acquires the edge
 * with reads about a millisecond apart, sleeping in between, for at most
 * a second and a bit: cheap, and precise to a millisecond.  While it
 * sleeps towards the next edge, it reads the seconds register every
 * CW_CHECK_NS (one read, tens of µs): when the RTC shows another second
 * than the last edge predicts, the guest was stopped (or the RTC was
 * written), and it acquires the next edge at once: a pause of a second
 * or more is seen about a second after the resume rather than two (one
 * shorter than a second shows only during its fraction of each second).
 *
 * A pause that falls inside the few ms between the two reads around an
 * edge makes that edge late by what the pause took of the second; the
 * jump is then measured short by that much, and the next interval shows
 * it back as an unexplained change.
 *
 * Reading the RTC.  Through the kernel's own code for it, under its lock:
 * mc146818_avoid_UIP() takes rtc_lock, reads the seconds register, makes
 * sure no update cycle is in progress or happened meanwhile, and calls
 * back the audit, which reads the clocks there, under the same lock that
 * rtc-cmos and the kernel's 11-minute mode (mach_set_cmos_time() or
 * rtc_set_ntp_time(), both through mc146818_set_time()) hold while they
 * write.  mc146818_get_time() reads the whole date right after the edge.
 * All of it from a kernel thread: the RTC is a slow ISA device, and
 * mc146818_avoid_UIP() may udelay() while an update is in progress.
 *
 * Offset and rate.  The offset is REALTIME at the edge minus the RTC's
 * second.  The RTC's crystal runs off by tens of ppm, so its rate against
 * MONOTONIC_RAW is learned from the edges since the last discontinuity,
 * over a window of up to CW_RATE_WINDOW_NS; until that has CW_RATE_SPAN_NS
 * behind it, the rate is taken as 0 ± CW_RATE_PRIOR_PPB.
 *
 * A jump.  Between two edges A and B, the RTC advanced by a whole number
 * of seconds, and MONOTONIC_RAW by d_raw; had the guest run all along,
 * the RTC would have advanced d_raw * (1 + rate).  The excess P is the
 * time the RTC ran while the guest's clocks did not.  REALTIME - RTC
 * changed by exactly -P beyond the steps of REALTIME (which move neither
 * MONOTONIC_RAW nor the RTC, so they are out of the comparison by
 * construction, and no race with a step between a clock read and the
 * step's record can put one in) and REALTIME's own rate against
 * MONOTONIC_RAW over the interval (a daemon's slew is no jump either).  P above the error bar (both
 * edges', the rate's uncertainty over d_raw, and audit_margin_us) is a
 * jump: a DISRUPTION with reason HOST_PAUSE, its size -P.  P below minus
 * the error bar (the RTC ran slower than the guest: not a pause) is
 * counted as unexplained and starts a new baseline; so is a rate beyond a
 * crystal's bounds.  Nothing the audit cannot explain is a disruption.
 *
 * RTC writes.  A write moves the RTC, and so the offset, by design: a
 * kretprobe on mc146818_set_time() counts writes on entry, before the RTC
 * changes, and the audit starts a new baseline after an interval in
 * which one began.  Where the probe cannot be placed, an offset that
 * moved to within a second of REALTIME, as a write of REALTIME into the
 * RTC leaves it, could be such a write: it counts as unexplained, not as
 * a jump.  A write straight to the I/O ports from userspace (hwclock
 * --directisa) is not seen.
 *
 * Resumes.  A resume from suspend steps REALTIME by the time asleep,
 * which the RTC ran too, while MONOTONIC_RAW did not: the audit starts a
 * new baseline after one (the resume is a disruption of its own).
 */

#include <linux/atomic.h>
#include <linux/bcd.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/rtc.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>

#if IS_ENABLED(CONFIG_X86) && IS_ENABLED(CONFIG_RTC_MC146818_LIB)
#include <linux/mc146818rtc.h>
#define CW_HAVE_CMOS_RTC	1
#else
#define CW_HAVE_CMOS_RTC	0
#endif

#include "clockwatch.h"

enum {
	CW_INTERVAL_MS_DEFAULT	= 1000,
	CW_INTERVAL_MS_MIN	= 1000,
	CW_INTERVAL_MS_MAX	= 60000,
	CW_MARGIN_US_DEFAULT	= 2000,
	CW_MARGIN_US_MAX	= 1000000,
	/*
	 * mc146818_avoid_UIP()'s timeout, "ms": it counts udelay(100)s,
	 * which an emulated CPU may run much faster than calibrated, so
	 * the audit retries on its own clock (CW_UIP_WAIT_NS)
	 */
	CW_UIP_TIMEOUT_MS	= 1,
	CW_DATE_TRIES		= 8,
	/* acquisition: between reads, sleep this long (µs) */
	CW_ACQ_SLEEP_MIN_US	= 500,
	CW_ACQ_SLEEP_MAX_US	= 1000,
	/* a sleep's slack, ns */
	CW_SLACK_NS		= 50000,
	/* kretprobe instances: RTC writes are rare and serialised */
	CW_WRITE_MAXACTIVE	= 4,
};

/* An update cycle lasts < 2 ms: the RTC is not answering after, ns. */
#define CW_UIP_WAIT_NS		(10 * NSEC_PER_MSEC)
/* Half the fine window around a predicted edge, at the least, ns. */
#define CW_LEAD_NS		(1 * NSEC_PER_MSEC)
/* A fine window wider than this each side: acquire instead, ns. */
#define CW_LEAD_MAX_NS		(3 * NSEC_PER_MSEC)
/* Between edges, a read of the RTC this often, ns. */
#define CW_CHECK_NS		(100 * NSEC_PER_MSEC)
/* Acquisition gives up after, ns: one second and a bit. */
#define CW_ACQ_MAX_NS		(1200 * NSEC_PER_MSEC)
/* An edge less sure than this is not used at all, ns. */
#define CW_EDGE_ERR_MAX_NS	(250 * NSEC_PER_MSEC)
/* The whole date must be read this soon after the edge, ns. */
#define CW_DATE_LATE_NS		(500 * NSEC_PER_MSEC)
/* Edges further apart than this are not compared, MONOTONIC_RAW ns. */
#define CW_JUDGE_MAX_NS		(3600LL * NSEC_PER_SEC)
/* The RTC's resolution: its divider's 32768 Hz tick, ns. */
#define CW_RTC_RES_NS		30518
/* The RTC's rate before it is learned: 0 ± this, ppb (100 ppm). */
#define CW_RATE_PRIOR_PPB	100000
/* A rate beyond this is no crystal's, ppb (500 ppm). */
#define CW_RATE_MAX_PPB		500000
/* The rate is learned over at least this ... */
#define CW_RATE_SPAN_NS		(20LL * NSEC_PER_SEC)
/* ... and at most about this, MONOTONIC_RAW ns. */
#define CW_RATE_WINDOW_NS	(600LL * NSEC_PER_SEC)

static bool audit_rtc = true;
module_param(audit_rtc, bool, 0444);
MODULE_PARM_DESC(audit_rtc, "Audit CLOCK_REALTIME against the RTC (default on)");

static unsigned int audit_interval_ms = CW_INTERVAL_MS_DEFAULT;
static unsigned int audit_margin_us = CW_MARGIN_US_DEFAULT;

static int cw_param_range_set(const char *val, const struct kernel_param *kp,
			      unsigned int min, unsigned int max)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < min || v > max)
		return -EINVAL;
	/* Paired with the READ_ONCE()s of the audit thread. */
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}

static int audit_interval_ms_set(const char *val, const struct kernel_param *kp)
{
	return cw_param_range_set(val, kp, CW_INTERVAL_MS_MIN, CW_INTERVAL_MS_MAX);
}

static int audit_margin_us_set(const char *val, const struct kernel_param *kp)
{
	return cw_param_range_set(val, kp, 0, CW_MARGIN_US_MAX);
}

static const struct kernel_param_ops audit_interval_ms_ops = {
	.set = audit_interval_ms_set,
	.get = param_get_uint,
};

static const struct kernel_param_ops audit_margin_us_ops = {
	.set = audit_margin_us_set,
	.get = param_get_uint,
};

module_param_cb(audit_interval_ms, &audit_interval_ms_ops, &audit_interval_ms, 0644);
MODULE_PARM_DESC(audit_interval_ms,
		 "Time between RTC samples, ms (1000..60000, default 1000)");
module_param_cb(audit_margin_us, &audit_margin_us_ops, &audit_margin_us, 0644);
MODULE_PARM_DESC(audit_margin_us,
		 "Margin over the error bar before an RTC offset change is a jump, us (0..1000000, default 2000)");

#if CW_HAVE_CMOS_RTC

/**
 * struct cw_poll - one read of the RTC's seconds register
 * @raw_a:	MONOTONIC_RAW before the clocks were read
 * @real:	REALTIME, between
 * @raw_b:	MONOTONIC_RAW after
 * @sec:	the seconds register, as the RTC holds it (BCD or binary)
 * @ctrl:	the control register, which says which
 *
 * mc146818_avoid_UIP() calls back only with the register read before the
 * callback and found the same, with no update in progress, after it: the
 * RTC held @sec during the whole of [@raw_a, @raw_b].
 */
struct cw_poll {
	s64 raw_a;
	s64 real;
	s64 raw_b;
	u8 sec;
	u8 ctrl;
};

/**
 * struct cw_edge - an RTC seconds edge, measured
 * @raw_ns:	MONOTONIC_RAW at the edge (the middle of its bracket)
 * @err_ns:	half the bracket: the edge is within @raw_ns ± @err_ns
 * @real_ns:	REALTIME at @raw_ns
 * @real_err_ns: the REALTIME read's own uncertainty
 * @rtc_s:	the RTC's second that began at the edge
 * @sec:	its seconds field (0..59), as the edge's reads saw it
 * @resumes:	clockwatch_tracker.audit_resumes just after
 * @writes:	clockwatch_audit.writes (plus the probe's misses) just after
 */
struct cw_edge {
	s64 raw_ns;
	s64 err_ns;
	s64 real_ns;
	s64 real_err_ns;
	time64_t rtc_s;
	int sec;
	u64 resumes;
	u64 writes;
};

/**
 * struct cw_audit_state - the audit thread's own state (no lock: only the
 *	thread touches it)
 * @last:	the last edge measured
 * @have_last:	@last is set
 * @predict:	@last may predict the next edge
 * @seg0:	the oldest edge the rate is learned from
 * @seg1:	a younger one, to move @seg0 to once the window is full
 * @have_seg1:	@seg1 is set
 * @rate_ppb:	the RTC's rate against MONOTONIC_RAW minus 1, ppb
 * @rate_err_ppb: its uncertainty, ppb
 * @prior_ppb:	the rate learned before the last discontinuity, ...
 * @prior_err_ppb: ... and its uncertainty: the crystal did not change
 */
struct cw_audit_state {
	struct cw_edge last;
	bool have_last;
	bool predict;
	struct cw_edge seg0;
	struct cw_edge seg1;
	bool have_seg1;
	s64 rate_ppb;
	s64 rate_err_ppb;
	s64 prior_ppb;
	s64 prior_err_ppb;
};

/* Outcomes of judging an interval between two edges. */
enum cw_verdict {
	CW_OK,		/* the RTC and the guest's clocks agree */
	CW_BASELINE,	/* an RTC write or a resume: a new baseline */
	CW_JUMP,	/* the RTC ran ahead: the guest stopped */
	CW_UNEXPLAINED,	/* beyond the error bar, not a pause */
};

static s64 cw_abs64(s64 v)
{
	return v < 0 ? -v : v;
}

/* Called by mc146818_avoid_UIP() under rtc_lock, maybe more than once. */
static void cw_poll_cb(unsigned char seconds, void *param)
{
	struct cw_poll *p = param;

	p->sec = seconds;
	/* rtc_lock is held: the kernel's CMOS accessor may be used. */
	p->ctrl = CMOS_READ(RTC_CONTROL);
	p->raw_a = ktime_get_raw_fast_ns();
	p->real = ktime_get_real_fast_ns();
	p->raw_b = ktime_get_raw_fast_ns();
}

/*
 * One bracketed read of the seconds register, outside an update cycle;
 * false: the RTC did not answer within CW_UIP_WAIT_NS.
 */
static bool cw_poll(struct cw_poll *p)
{
	s64 end = ktime_get_raw_fast_ns() + CW_UIP_WAIT_NS;

	do {
		if (mc146818_avoid_UIP(cw_poll_cb, CW_UIP_TIMEOUT_MS, p))
			return true;
	} while (ktime_get_raw_fast_ns() < end);
	return false;
}

/* The RTC's date, as cw_poll() retries; 0 or a negative errno. */
static int cw_read_date(struct rtc_time *tm)
{
	int i, ret = -EIO;

	for (i = 0; i < CW_DATE_TRIES && ret; i++) {
		memset(tm, 0, sizeof(*tm));
		ret = mc146818_get_time(tm, CW_UIP_TIMEOUT_MS);
	}
	return ret ? ret : rtc_valid_tm(tm);
}

/* The writes the probe saw, and those it missed: both are writes. */
static u64 cw_writes(struct clockwatch_dev *cw)
{
	struct clockwatch_audit *a = &cw->audit;
	u64 w = atomic64_read(&a->writes);

	if (a->write_probe)
		w += READ_ONCE(a->write_rp.nmissed);
	return w;
}

/* The tracker's resume count, for @e. */
static void cw_edge_resumes(struct clockwatch_dev *cw, struct cw_edge *e)
{
	struct clockwatch_tracker *trk = &cw->trk;
	unsigned long flags;

	raw_spin_lock_irqsave(&trk->lock, flags);
	e->resumes = trk->audit_resumes;
	raw_spin_unlock_irqrestore(&trk->lock, flags);
}

/* Sleep until MONOTONIC_RAW reaches @raw (hrtimers run on MONOTONIC). */
static void cw_sleep_until_raw(s64 raw)
{
	s64 delta = raw - ktime_get_raw_fast_ns();
	ktime_t expires;

	if (delta <= 0)
		return;
	/* Over a few seconds, MONOTONIC and MONOTONIC_RAW differ by ppm: µs. */
	expires = ktime_add_ns(ktime_get(), delta);
	set_current_state(TASK_INTERRUPTIBLE);
	/* kthread_stop() wakes the thread: a stop ends the sleep at once. */
	if (!kthread_should_stop())
		schedule_hrtimeout_range(&expires, CW_SLACK_NS, HRTIMER_MODE_ABS);
	__set_current_state(TASK_RUNNING);
}

/* The seconds a read saw, 0..59. */
static int cw_poll_sec(const struct cw_poll *p)
{
	return (p->ctrl & RTC_DM_BINARY) ? p->sec : bcd2bin(p->sec);
}

/*
 * Did the seconds counter move on by one from @before to @after?  A
 * counter that moved by more went on while the guest was stopped (or was
 * written): not an edge, as the second began while nobody looked.
 */
static bool cw_is_edge(const struct cw_poll *before, const struct cw_poll *after)
{
	return cw_poll_sec(after) == (cw_poll_sec(before) + 1) % 60;
}

/*
 * The edge between @before (the old second) and @after (the new one):
 * after the read of @before began, before the read of @after ended.
 */
static void cw_edge_from(struct cw_edge *e, const struct cw_poll *before,
			 const struct cw_poll *after)
{
	s64 mid_after = after->raw_a + (after->raw_b - after->raw_a) / 2;

	e->raw_ns = before->raw_a + (after->raw_b - before->raw_a) / 2;
	e->err_ns = (after->raw_b - before->raw_a + 1) / 2;
	/* REALTIME runs at MONOTONIC_RAW's rate to ppm over a few ms. */
	e->real_ns = after->real - (mid_after - e->raw_ns);
	e->real_err_ns = (after->raw_b - after->raw_a + 1) / 2;
	e->sec = cw_poll_sec(after);
}

/*
 * Poll busily from now until @deadline (MONOTONIC_RAW) for the seconds
 * register to move on.  Returns 1 with the edge in @e, 0 when it did not
 * move, -EIO when the RTC did not answer.
 */
static int cw_find_edge_fine(struct cw_edge *e, s64 deadline)
{
	struct cw_poll prev, cur;

	if (!cw_poll(&prev))
		return -EIO;
	for (;;) {
		if (!cw_poll(&cur))
			return -EIO;
		if (cur.sec != prev.sec && cw_is_edge(&prev, &cur)) {
			cw_edge_from(e, &prev, &cur);
			return 1;
		}
		if (cur.raw_b > deadline)
			return 0;
		prev = cur;
		cpu_relax();
	}
}

/*
 * Acquire an edge without a prediction: reads about a millisecond apart,
 * sleeping in between, for at most CW_ACQ_MAX_NS.  Returns as
 * cw_find_edge_fine(); also 0 when the thread is asked to stop.
 */
static int cw_find_edge_acquire(struct cw_edge *e)
{
	struct cw_poll prev, cur;
	s64 deadline;

	if (!cw_poll(&prev))
		return -EIO;
	deadline = prev.raw_b + CW_ACQ_MAX_NS;
	for (;;) {
		usleep_range(CW_ACQ_SLEEP_MIN_US, CW_ACQ_SLEEP_MAX_US);
		if (kthread_should_stop())
			return 0;
		if (!cw_poll(&cur))
			return -EIO;
		if (cur.sec != prev.sec && cw_is_edge(&prev, &cur)) {
			cw_edge_from(e, &prev, &cur);
			return 1;
		}
		if (cur.raw_b > deadline)
			return 0;
		prev = cur;
	}
}

/*
 * Sleep until @until (MONOTONIC_RAW), reading the seconds register every
 * CW_CHECK_NS: does the RTC still show the second the last edge predicts
 * (one RTC second is @period)?  After a host pause it shows a later one
 * (at once, or once the pause's fraction of a second has passed), and
 * the audit acquires the next edge then rather than at the predicted
 * one.  Returns false when the RTC showed another second.
 */
static bool cw_sleep_checking(const struct cw_audit_state *st, s64 period,
			      s64 until)
{
	struct cw_poll p;
	s64 next, since, n, into;

	for (;;) {
		next = min_t(s64, until, ktime_get_raw_fast_ns() + CW_CHECK_NS);
		cw_sleep_until_raw(next);
		if (next == until || kthread_should_stop())
			return true;
		if (!cw_poll(&p))
			return true;
		since = p.raw_a - st->last.raw_ns;
		n = div64_s64(since, period);
		into = since - n * period;
		/* Too near an edge to say which second it should be. */
		if (into < CW_LEAD_MAX_NS ||
		    period - into < CW_LEAD_MAX_NS + (p.raw_b - p.raw_a))
			continue;
		if (cw_poll_sec(&p) != (st->last.sec + n) % 60)
			return false;
	}
}

/* The rate and its uncertainty that the audit uses now, ppb. */
static void cw_rate_now(const struct cw_audit_state *st, s64 *rate, s64 *err)
{
	if (st->rate_err_ppb && st->rate_err_ppb < st->prior_err_ppb) {
		*rate = st->rate_ppb;
		*err = st->rate_err_ppb;
	} else {
		*rate = st->prior_ppb;
		*err = st->prior_err_ppb;
	}
}

/* A new segment for the rate from @e: the old one's rate becomes the prior. */
static void cw_rate_restart(struct cw_audit_state *st, const struct cw_edge *e)
{
	if (st->rate_err_ppb && st->rate_err_ppb < st->prior_err_ppb) {
		st->prior_ppb = st->rate_ppb;
		st->prior_err_ppb = st->rate_err_ppb;
	}
	st->rate_ppb = 0;
	st->rate_err_ppb = 0;
	st->seg0 = *e;
	st->have_seg1 = false;
}

/*
 * Learn the rate from the segment's oldest edge to @e.  Returns false
 * when it is beyond a crystal's bounds (then the segment restarts).
 */
static bool cw_rate_learn(struct cw_audit_state *st, const struct cw_edge *e)
{
	s64 d_raw = e->raw_ns - st->seg0.raw_ns;
	s64 d_rtc, rate, err;

	if (d_raw >= CW_RATE_WINDOW_NS / 2 && !st->have_seg1) {
		st->seg1 = *e;
		st->have_seg1 = true;
	}
	if (d_raw >= CW_RATE_WINDOW_NS && st->have_seg1) {
		st->seg0 = st->seg1;
		st->seg1 = *e;
		d_raw = e->raw_ns - st->seg0.raw_ns;
	}
	if (d_raw < CW_RATE_SPAN_NS)
		return true;
	d_rtc = (e->rtc_s - st->seg0.rtc_s) * NSEC_PER_SEC;
	/* Both within the window: the products fit in an s64. */
	rate = div64_s64((d_rtc - d_raw) * NSEC_PER_SEC, d_raw);
	err = div64_s64((st->seg0.err_ns + e->err_ns + 2 * CW_RTC_RES_NS) *
			NSEC_PER_SEC, d_raw) + 1;
	if (cw_abs64(rate) > CW_RATE_MAX_PPB + err)
		return false;
	st->rate_ppb = rate;
	st->rate_err_ppb = err;
	return true;
}

/*
 * Judge the interval from @a to @b.  @jump gets the change of REALTIME -
 * RTC that the steps and rates do not explain (-P), @err its error bar.
 */
static enum cw_verdict cw_judge(struct clockwatch_dev *cw,
				const struct cw_audit_state *st,
				const struct cw_edge *a, const struct cw_edge *b,
				s64 *jump, s64 *err)
{
	s64 d_raw = b->raw_ns - a->raw_ns;
	s64 d_rtc = (b->rtc_s - a->rtc_s) * NSEC_PER_SEC;
	s64 rate, rate_err, expect, excess, bar, off_b;

	if (b->writes != a->writes || atomic_read(&cw->audit.writing) ||
	    b->resumes != a->resumes)
		return CW_BASELINE;
	/* Too long ago to judge to the margin (and to compute without overflow). */
	if (d_raw > CW_JUDGE_MAX_NS)
		return CW_BASELINE;
	if (d_raw < 0)
		d_raw = 0;
	cw_rate_now(st, &rate, &rate_err);
	/* |rate| <= 500 ppm and d_raw <= 1 h: the products fit in an s64. */
	expect = d_raw + div64_s64(d_raw * rate, NSEC_PER_SEC);
	excess = d_rtc - expect;
	bar = a->err_ns + a->real_err_ns + b->err_ns + b->real_err_ns +
	      2 * CW_RTC_RES_NS + div64_s64(d_raw * rate_err, NSEC_PER_SEC) + 1;
	*jump = -excess;
	*err = bar;
	bar += (s64)READ_ONCE(audit_margin_us) * NSEC_PER_USEC;
	if (excess < -bar)
		return CW_UNEXPLAINED;
	if (excess <= bar)
		return CW_OK;
	/*
	 * Without the write probe, an offset that went to within a second
	 * of REALTIME may be a write of REALTIME into the RTC.
	 */
	off_b = b->real_ns - b->rtc_s * NSEC_PER_SEC;
	if (!cw->audit.write_probe &&
	    cw_abs64(off_b) < NSEC_PER_SEC + b->err_ns + b->real_err_ns)
		return CW_UNEXPLAINED;
	return CW_JUMP;
}

/* Counters to add to the page (struct clockwatch_page's audit_rtc_*). */
struct cw_audit_counts {
	u64 edges;
	u64 misses;
	u64 jumps;
	u64 unexplained;
	u64 writes;
};

/* Publish the audit's state: its fields in the tracker, then the page. */
static void cw_audit_publish(struct clockwatch_dev *cw,
			     const struct cw_audit_state *st,
			     const struct cw_audit_counts *c, s64 jump, s64 jump_raw)
{
	struct clockwatch_page *x = &cw->trk.pub;
	unsigned long flags;
	s64 rate, rate_err;

	cw_rate_now(st, &rate, &rate_err);
	raw_spin_lock_irqsave(&cw->trk.lock, flags);
	if (st->have_last) {
		x->audit_rtc_offset_ns = st->last.real_ns -
					 st->last.rtc_s * NSEC_PER_SEC;
		x->audit_rtc_err_ns = st->last.err_ns + st->last.real_err_ns +
				      CW_RTC_RES_NS;
		x->audit_rtc_raw_ns = st->last.raw_ns;
	}
	x->audit_rtc_rate_ppb = rate;
	x->audit_rtc_rate_err_ppb = rate_err;
	x->audit_rtc_edges += c->edges;
	x->audit_rtc_misses += c->misses;
	x->audit_rtc_jumps += c->jumps;
	x->audit_rtc_unexplained += c->unexplained;
	x->audit_rtc_writes += c->writes;
	if (jump_raw) {
		x->audit_rtc_jump_ns = jump;
		x->audit_rtc_jump_raw_ns = jump_raw;
		x->audit_rtc_jump_sum_ns += jump;
	}
	raw_spin_unlock_irqrestore(&cw->trk.lock, flags);
	clockwatch_clocks_refresh(cw);
}

/*
 * Measure one edge into @e: in the window around the prediction from
 * st->last when there is one, else by acquisition.  Returns 1 with the
 * edge, 0 without (a miss), -EIO when the RTC did not answer.
 */
static int cw_measure(struct clockwatch_dev *cw, struct cw_audit_state *st,
		      struct cw_edge *e)
{
	s64 rate, rate_err, lead, period, pred, now;
	struct rtc_time tm;
	u64 w0, w1;
	int ret = 0;

	w0 = cw_writes(cw);
	cw_rate_now(st, &rate, &rate_err);
	if (st->predict) {
		/* One RTC second in MONOTONIC_RAW ns, at the learned rate. */
		period = NSEC_PER_SEC - div64_s64(NSEC_PER_SEC * rate,
						  NSEC_PER_SEC + rate);
		lead = CW_LEAD_NS + st->last.err_ns;
		pred = st->last.raw_ns;
		now = ktime_get_raw_fast_ns();
		do {
			pred += period;
			lead += div64_s64(period * rate_err, NSEC_PER_SEC);
		} while (pred - lead < now +
			 (s64)READ_ONCE(audit_interval_ms) * NSEC_PER_MSEC -
			 NSEC_PER_SEC);
		if (lead <= CW_LEAD_MAX_NS &&
		    cw_sleep_checking(st, period, pred - lead)) {
			if (kthread_should_stop())
				return 0;
			ret = cw_find_edge_fine(e, pred + lead);
		}
	} else {
		cw_sleep_until_raw(ktime_get_raw_fast_ns() +
				   (s64)READ_ONCE(audit_interval_ms) *
				   NSEC_PER_MSEC - NSEC_PER_SEC);
	}
	if (ret <= 0 && !kthread_should_stop()) {
		/* No prediction, or the edge was not where predicted. */
		st->predict = false;
		ret = cw_find_edge_acquire(e);
	}
	if (ret <= 0)
		return ret;
	if (e->err_ns > CW_EDGE_ERR_MAX_NS)
		return 0;
	/* The date, right after the edge: still the second it began. */
	if (cw_read_date(&tm))
		return -EIO;
	if (ktime_get_raw_fast_ns() - e->raw_ns > CW_DATE_LATE_NS ||
	    tm.tm_sec != e->sec)
		return 0;
	e->rtc_s = rtc_tm_to_time64(&tm);
	/*
	 * An RTC write during the measurement spoils it.  A step does not:
	 * the edge's REALTIME comes from one read.  The resumes are taken
	 * after the edge, so a resume during the measurement counts in
	 * this interval (a new baseline).
	 */
	w1 = cw_writes(cw);
	if (w1 != w0)
		return 0;
	e->writes = w1;
	cw_edge_resumes(cw, e);
	return 1;
}

/* The audit thread: a sample about every audit_interval_ms. */
static int cw_audit_thread(void *data)
{
	struct clockwatch_dev *cw = data;
	struct cw_audit_state st = {
		.prior_err_ppb = CW_RATE_PRIOR_PPB,
	};
	struct clockwatch_disruption ref;
	struct cw_audit_counts c;
	enum cw_verdict v;
	struct cw_edge e;
	s64 jump, err, jump_raw;
	int ret;

	while (!kthread_should_stop()) {
		memset(&c, 0, sizeof(c));
		memset(&e, 0, sizeof(e));
		jump_raw = 0;
		ret = cw_measure(cw, &st, &e);
		if (kthread_should_stop())
			break;
		if (ret <= 0) {
			c.misses++;
			st.predict = false;
			cw_audit_publish(cw, &st, &c, 0, 0);
			/* Acquisition failed too: wait before trying again. */
			cw_sleep_until_raw(ktime_get_raw_fast_ns() +
					   (s64)READ_ONCE(audit_interval_ms) *
					   NSEC_PER_MSEC);
			continue;
		}
		c.edges++;
		v = st.have_last ? cw_judge(cw, &st, &st.last, &e, &jump, &err) :
				   CW_BASELINE;
		switch (v) {
		case CW_OK:
			if (!cw_rate_learn(&st, &e)) {
				c.unexplained++;
				cw_rate_restart(&st, &e);
			}
			break;
		case CW_BASELINE:
			if (st.have_last && e.writes != st.last.writes)
				c.writes += e.writes - st.last.writes;
			cw_rate_restart(&st, &e);
			break;
		case CW_UNEXPLAINED:
			c.unexplained++;
			cw_rate_restart(&st, &e);
			break;
		case CW_JUMP:
			c.jumps++;
			jump_raw = ktime_get_raw_fast_ns();
			memset(&ref, 0, sizeof(ref));
			ref.ref_source = CLOCKWATCH_REF_RTC;
			ref.ref_offset_change_ns = jump;
			ref.ref_err_ns = err;
			ref.ref_before_raw_ns = st.last.raw_ns;
			ref.ref_after_raw_ns = e.raw_ns;
			cw_rate_restart(&st, &e);
			break;
		}
		st.last = e;
		st.have_last = true;
		st.predict = true;
		cw_audit_publish(cw, &st, &c, jump, jump_raw);
		if (v == CW_JUMP)
			clockwatch_sync_disrupt_ref(cw, CLOCKWATCH_SYNC_R_HOST_PAUSE,
						    &ref);
	}
	return 0;
}

/* The audit a probe of mc146818_set_time() belongs to. */
static struct clockwatch_audit *cw_write_audit(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct clockwatch_audit,
			    write_rp);
}

/* Entry of mc146818_set_time(): before the RTC changes. */
static int cw_write_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct clockwatch_audit *a = cw_write_audit(ri);

	atomic_inc(&a->writing);
	atomic64_inc(&a->writes);
	return 0;
}

static int cw_write_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	atomic_dec(&cw_write_audit(ri)->writing);
	return 0;
}

/**
 * clockwatch_audit_start() - start the RTC audit
 * @cw: the device, with its page, ring and tracker
 *
 * Without a working CMOS RTC, or with audit_rtc=0, the audit does not run
 * and CLOCKWATCH_FEAT_AUDIT_RTC stays clear; the module loads all the
 * same.
 */
void clockwatch_audit_start(struct clockwatch_dev *cw)
{
	struct clockwatch_audit *a = &cw->audit;
	struct task_struct *t;

	atomic64_set(&a->writes, 0);
	atomic_set(&a->writing, 0);
	if (!audit_rtc)
		return;
	if (!mc146818_does_rtc_work()) {
		pr_info("no working CMOS RTC: the RTC audit does not run\n");
		return;
	}
	a->write_rp.kp.symbol_name = "mc146818_set_time";
	a->write_rp.entry_handler = cw_write_entry;
	a->write_rp.handler = cw_write_return;
	a->write_rp.maxactive = CW_WRITE_MAXACTIVE;
	if (register_kretprobe(&a->write_rp)) {
		pr_info("no kretprobe on mc146818_set_time: RTC writes not seen\n");
	} else {
		a->write_probe = true;
		cw->page->features |= CLOCKWATCH_FEAT_AUDIT_RTC_WRITES;
	}

	t = kthread_create(cw_audit_thread, cw, "clockwatch_rtc");
	if (IS_ERR(t)) {
		pr_info("no RTC audit thread (%ld)\n", PTR_ERR(t));
		goto err_thread;
	}
	/*
	 * SCHED_FIFO at the lowest priority: the fine window is a few ms
	 * wide, and under load a SCHED_NORMAL wake-up misses it.  The
	 * thread busy-polls at most 2 * CW_LEAD_MAX_NS a sample.
	 */
	sched_set_fifo_low(t);
	a->thread = t;
	cw->page->features |= CLOCKWATCH_FEAT_AUDIT_RTC;
	wake_up_process(t);
	return;

err_thread:
	if (a->write_probe)
		unregister_kretprobe(&a->write_rp);
	a->write_probe = false;
	cw->page->features &= ~CLOCKWATCH_FEAT_AUDIT_RTC_WRITES;
}

/**
 * clockwatch_audit_stop() - stop the RTC audit
 * @cw: the device; before clockwatch_steps_stop() and the ring's end
 */
void clockwatch_audit_stop(struct clockwatch_dev *cw)
{
	struct clockwatch_audit *a = &cw->audit;

	if (a->thread)
		kthread_stop(a->thread);
	a->thread = NULL;
	if (a->write_probe)
		unregister_kretprobe(&a->write_rp);
	a->write_probe = false;
	cw->page->features &= ~(CLOCKWATCH_FEAT_AUDIT_RTC |
				CLOCKWATCH_FEAT_AUDIT_RTC_WRITES);
}

#else /* CW_HAVE_CMOS_RTC */

void clockwatch_audit_start(struct clockwatch_dev *cw)
{
	if (audit_rtc)
		pr_info("no CMOS RTC on this architecture: the RTC audit does not run\n");
}

void clockwatch_audit_stop(struct clockwatch_dev *cw)
{
}

#endif /* CW_HAVE_CMOS_RTC */
