/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: read the clockwatch page.
 *
 * The page (struct clockwatch_page, include/uapi/linux/clockwatch.h) is
 * what /dev/clockwatch maps read-only into every reader: the system
 * clocks read at one instant, and the kernel NTP state after the most
 * recent adjtimex() call.  A cw_reader maps the page once and copies a
 * consistent snapshot of it on every cw_reader__read(), without a system
 * call.
 *
 * Functions that return int return 0 or a negative errno value and also
 * set errno; constructors return NULL and set errno.
 *
 * Threads: every object (struct cw_reader, cw_clock, cw_guard) may be
 * used by any number of threads at once, except that its close must come
 * after every other call on it has returned.  None of the functions keeps
 * state outside the object and the caller's arguments, and none takes a
 * lock: a copy goes to the caller's memory, which no two threads should
 * share for one call.  The strings of cw_strerror(), cw_status_str() and
 * cw_reason_str() are constant.
 *
 * Time namespaces: the page holds CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW
 * and CLOCK_BOOTTIME as the initial time namespace sees them.  Every
 * object reads the calling process's offsets (cw_timens__offsets()) when
 * it is opened and gives every time of those clocks as the process's own
 * clock_gettime() does; CLOCK_REALTIME and CLOCK_TAI have no offsets.
 *
 * Structures: struct cw_clock_opts carries its size (@sz), as libbpf's
 * opts do; the structures the library fills (struct cw_now, cw_lease,
 * cw_lease_report) have a fixed size and end in reserved room, which
 * later versions fill with new fields and this one zeroes.
 */
#ifndef __CLOCKWATCH_H
#define __CLOCKWATCH_H

#include <stdint.h>
/*
 * The ABI header, installed beside this one (clockwatch/linux/), so that
 * it is found next to this file before any other include directory.
 */
#include "linux/clockwatch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CW_API
#define CW_API __attribute__((visibility("default")))
#endif

/* Retries of a torn or in-progress read before cw_reader__read() gives up. */
#define CW_READ_MAX_RETRIES	1000000

/*
 * The smallest page this library reads: the clocks and the NTP state.
 * A module of ABI version 1 fills every field up to unseen_step_ns; the
 * clock bound needs them (CW_REASON_PAGE_OLD without).  Fields after the
 * minimum are present when the page's size covers them
 * (CLOCKWATCH_FIELD_PRESENT on the copy).
 */
#define CW_PAGE_MIN_SIZE						\
	(__builtin_offsetof(struct clockwatch_page, ntp_writes) +	\
	 sizeof(((struct clockwatch_page *)0)->ntp_writes))

struct cw_reader;

/**
 * @brief **cw_reader__open()** maps the clockwatch page of a device or
 * of a regular file that holds one.
 * @param path the device, usually CLOCKWATCH_DEVICE ("/dev/clockwatch"),
 * or a regular file at least CLOCKWATCH_PAGE_SIZE bytes long laid out as
 * the page; NULL means CLOCKWATCH_DEVICE
 * @return a reader, or NULL with errno set (ENOENT when the device does
 * not exist, i.e. the module is not loaded; EINVAL for a file too short
 * to hold a page; ENOMEM; EBUSY or EPROTO as cw_timens__offsets(); or
 * what open() and mmap() report)
 *
 * Both kinds of path go through the same code: the first
 * CLOCKWATCH_PAGE_SIZE bytes are mapped PROT_READ, MAP_SHARED, so a file
 * that a test rewrites under the sequence counter behaves like the
 * device.  The page's contents are checked by cw_reader__read().  The
 * calling process's time-namespace offsets are read here, once.
 */
CW_API struct cw_reader *cw_reader__open(const char *path);

/**
 * @brief **cw_reader__read()** copies a consistent snapshot of the page.
 * @param reader a reader from cw_reader__open()
 * @param out where the snapshot goes; bytes of *out beyond the size the
 * page publishes are zeroed, so CLOCKWATCH_FIELD_PRESENT(out, field)
 * tells which optional fields are valid
 * @return 0 on success; -EPROTO when the page's magic or version is not
 * one this library knows, or its size is smaller than CW_PAGE_MIN_SIZE or
 * larger than CLOCKWATCH_PAGE_SIZE; -EAGAIN when no consistent copy
 * could be made in CW_READ_MAX_RETRIES tries (the writer holds the
 * sequence counter odd, or changes the page faster than it can be
 * copied); -EINVAL when reader or out is NULL
 *
 * The copy follows the sequence counter protocol of the ABI header: the
 * counter is even and unchanged around a consistent copy, and out->seq
 * holds that even value.
 *
 * In a time namespace, the copy is as the reader's clocks see it: the
 * namespace's monotonic offset (cw_timens__offsets(), read when the
 * reader was opened) is added to every CLOCK_MONOTONIC and
 * CLOCK_MONOTONIC_RAW time of the page (the *_mono_ns and *_raw_ns
 * fields and clocks.monotonic_ns and clocks.monotonic_raw_ns, each where
 * it is not 0, the page's "never"), and the boottime offset to
 * clocks.boottime_ns.  Durations (*_window_raw_ns,
 * maxerror_interval_raw_ns) and CLOCK_REALTIME times are left as they
 * are.
 */
CW_API int cw_reader__read(struct cw_reader *reader,
			   struct clockwatch_page *out);

/**
 * @brief **cw_reader__tasks()** names the processes the page speaks of:
 * the sync daemon and the caller of the last step
 * (CLOCKWATCH_IOC_TASKS on the reader's device).
 * @param reader a reader from cw_reader__open()
 * @param out filled: the library zeroes it and sets out->size; the pids
 * are as the calling process's pid namespace sees them, 0 where the
 * process is not visible from it or has exited
 * @return 0; -ENOTTY when the reader maps a regular file or the module
 * does not have the ioctl; -EINVAL when reader or out is NULL; or what
 * the ioctl reports
 *
 * out->daemon_count and out->step_seq say which page state the answer
 * goes with: compare them with a page copy's.
 */
CW_API int cw_reader__tasks(struct cw_reader *reader,
			    struct clockwatch_tasks *out);

/**
 * @brief **cw_reader__close()** unmaps the page and frees the reader.
 * @param reader a reader from cw_reader__open(), or NULL
 */
CW_API void cw_reader__close(struct cw_reader *reader);

/**
 * struct cw_timens - the offsets of a time namespace
 * @monotonic_ns:	added to CLOCK_MONOTONIC (and CLOCK_MONOTONIC_RAW,
 *			_COARSE) of the initial time namespace, ns
 * @boottime_ns:	added to CLOCK_BOOTTIME (and _ALARM), ns
 */
struct cw_timens {
	__s64 monotonic_ns;
	__s64 boottime_ns;
};

/**
 * @brief **cw_timens__offsets()** reads the calling process's
 * time-namespace offsets from /proc/self/timens_offsets.
 * @param out filled; both 0 when the file does not exist (a kernel
 * without time namespaces, or /proc not mounted)
 * @return 0; -EINVAL when out is NULL; -EBUSY when the process has
 * unshared its time namespace for its children (the file then describes
 * theirs, not the process's own); -EPROTO for a file this library cannot
 * parse; or what open() and read() report
 */
CW_API int cw_timens__offsets(struct cw_timens *out);

/**
 * @brief **cw_hist_bucket_lo()** gives the lowest value of a histogram
 * bucket of struct clockwatch_hist, by the formula of the ABI header.
 * @param bucket 0 .. CLOCKWATCH_HIST_BUCKETS - 1
 * @return the lowest value bucket counts, ns: bucket i counts the values
 * v with cw_hist_bucket_lo(i) <= v < cw_hist_bucket_lo(i + 1);
 * UINT64_MAX for bucket CLOCKWATCH_HIST_BUCKETS (the end of the last
 * bucket) and above
 */
CW_API __u64 cw_hist_bucket_lo(unsigned int bucket);

/*
 * The lease guard: did this thread or process stop running, or did the
 * clock step, while it held a lease?
 *
 * A process takes a lease token before its work, and checks it after:
 * the report says the longest pause of the calling thread, and of any
 * thread of its process, that overlapped the lease (clipped to it), of
 * which kind, and how many times CLOCK_REALTIME was set meanwhile.
 *
 * The pauses come from the BPF pause tracker, pinned with `clockwatch
 * guard --pin` under CW_GUARD_PIN_DIR (root, once per boot); only pauses
 * of at least the pinned minimum (report.min_recorded_ns) are kept, the
 * last 16 per thread and per process.  Steps come from the module's page
 * when /dev/clockwatch publishes them, else from the BPF clock tracker
 * pinned beside the pause tracker.  Reading makes no system call but
 * bpf() map lookups; it needs read access to the pinned files, and
 * CAP_BPF where kernel.unprivileged_bpf_disabled is set.
 */
#define CW_GUARD_PIN_DIR	"/sys/fs/bpf/clockwatch"

/* Kinds of pause (struct cw_lease_report). */
enum {
	CW_LEASE_PAUSE_NONE		= 0,
	CW_LEASE_PAUSE_RUNQUEUE		= 1,	/* woken, waited for a CPU */
	CW_LEASE_PAUSE_PREEMPTED	= 2,	/* preempted, waited for a CPU */
	CW_LEASE_PAUSE_THROTTLED	= 3,	/* its cgroup's cpu.max quota ran out */
	CW_LEASE_PAUSE_STOPPED		= 4,	/* SIGSTOP or a ptrace stop */
};

/* Where the step count comes from (cw_lease.step_source). */
enum {
	CW_LEASE_STEPS_NONE	= 0,	/* nothing counts steps: stepped is unknown */
	CW_LEASE_STEPS_MODULE	= 1,	/* the module's page (step_seq) */
	CW_LEASE_STEPS_BPF	= 2,	/* the BPF syscall-tracepoint tracker */
};

/* cw_lease_report.flags */
#define CW_LEASE_LOST		(1U << 0) /* more pauses than the guard keeps
					   * happened: the longest may be missing */
#define CW_LEASE_STEPPED	(1U << 1) /* CLOCK_REALTIME was set */
#define CW_LEASE_STEPS_UNKNOWN	(1U << 2) /* no step counter to ask */

/*
 * A lease token: fill it with cw_guard__take(), keep it, check it.  The
 * reserved fields are zero (cw_guard__check() fails with -EINVAL
 * otherwise); later versions may use them.
 */
struct cw_lease {
	__u64 start_ns;		/* CLOCK_MONOTONIC when taken (the caller's
				 * time namespace) */
	__u32 pid;
	__u32 tid;
	__u64 thread_seq;	/* the guard's records of the thread, then */
	__u64 process_seq;	/* ... and of the process */
	__u64 step_seq;		/* steps counted by step_source, then */
	__u32 step_source;	/* CW_LEASE_STEPS_* */
	__u32 __reserved;
	__u64 __reserved1[4];
};

struct cw_lease_report {
	__u64 elapsed_ns;		/* CLOCK_MONOTONIC since the token */
	__u64 thread_pause_ns;		/* longest pause of the token's thread */
	__u32 thread_pause_kind;	/* CW_LEASE_PAUSE_* */
	__u32 process_pause_tid;	/* thread of the longest process pause */
	__u64 process_pause_ns;		/* longest pause of any of its threads */
	__u32 process_pause_kind;
	__u32 flags;			/* CW_LEASE_* */
	__u64 steps;			/* clock steps since the token */
	__u64 min_recorded_ns;		/* shorter pauses are not recorded;
					 * 0 when the guard's minimum
					 * cannot be read */
	__u64 __reserved[6];		/* zero */
};

struct cw_guard;

/**
 * @brief **cw_guard__open()** opens the pinned guard maps, and the
 * module's page when there is one.
 * @param pin_dir where `clockwatch guard --pin` pinned them; NULL means
 * CW_GUARD_PIN_DIR
 * @return a guard, or NULL with errno set (ENOENT: nothing pinned there;
 * EACCES/EPERM: no access to the pinned maps; EBUSY or EPROTO as
 * cw_timens__offsets(); EOPNOTSUPP: the caller is not in the initial pid
 * namespace)
 *
 * The tracker names threads by their ids in the initial pid namespace,
 * which a process in another one cannot learn: it would find no records
 * of its own and be told that every lease held, so the guard refuses it.
 */
CW_API struct cw_guard *cw_guard__open(const char *pin_dir);

/**
 * @brief **cw_guard__take()** starts a lease for the calling thread.
 * @param guard from cw_guard__open()
 * @param lease the token to fill
 * @return 0, or a negative errno
 */
CW_API int cw_guard__take(struct cw_guard *guard, struct cw_lease *lease);

/**
 * @brief **cw_guard__check()** tells what happened since the token.
 * @param guard from cw_guard__open()
 * @param lease a token from cw_guard__take(), by any thread of the process
 * @param report filled with the longest pauses, steps and flags
 * @return 0, or a negative errno
 *
 * A pause still in progress of another thread is not seen; the calling
 * thread is running, so its own pauses are all complete.
 */
CW_API int cw_guard__check(struct cw_guard *guard, const struct cw_lease *lease,
			   struct cw_lease_report *report);

/**
 * @brief **cw_guard__held()** is the whole question in one call.
 * @param guard from cw_guard__open()
 * @param lease a token from cw_guard__take() by the calling thread
 * @param max_pause_ns the longest pause the lease tolerates
 * @return 1 when no pause of the thread longer than max_pause_ns happened
 * since the token, the clock did not step, and nothing was lost; 0 when
 * one of those happened or cannot be known; a negative errno on failure
 *
 * Pauses shorter than the guard's minimum (report.min_recorded_ns) are not
 * recorded, so a pause longer than max_pause_ns cannot be ruled out when
 * max_pause_ns is below that minimum, or the minimum cannot be read: the
 * answer is then 0 (whatever was recorded), never 1.
 */
CW_API int cw_guard__held(struct cw_guard *guard, const struct cw_lease *lease,
			  __u64 max_pause_ns);

/** @brief **cw_guard__close()** closes the maps; guard may be NULL. */
CW_API void cw_guard__close(struct cw_guard *guard);

/*
 * The clock error bound: what time is it, and how wrong could that be?
 *
 * cw_clock__now() gives an interval [earliest_ns, latest_ns] of
 * CLOCK_REALTIME that contains the true time (UTC, as the sync daemon's
 * sources keep it) whenever the status is CW_STATUS_SYNCHRONIZED or
 * CW_STATUS_FREE_RUNNING.  Its half-width is the bound:
 *
 *	bound = maxerror, as the sync daemon last wrote it with adjtimex()
 *	      + max_drift * (MONOTONIC_RAW now - MONOTONIC_RAW of that write)
 *	      + the read window
 *	      (+ 1 s across a pending leap second)
 *
 * Documentation/bound.rst explains each term and where it comes from.
 * The facts come from the module's page; reading them takes no system
 * call, and the interval costs one CLOCK_REALTIME read.
 *
 * The status says whether to trust the interval:
 */
enum cw_status {
	CW_STATUS_UNKNOWN		= 0, /* no module, stale or torn page */
	CW_STATUS_SYNCHRONIZED		= 1, /* the daemon keeps the clock; bound valid */
	CW_STATUS_FREE_RUNNING		= 2, /* daemon silent; bound valid, growing */
	CW_STATUS_DISRUPTED		= 3, /* stepped by another, VM fork, resume:
					      * no bound until the daemon writes again */
	CW_STATUS_UNSYNCHRONIZED	= 4, /* STA_UNSYNC, TIME_ERROR or maxerror 16 s */
};

/* Why the status is what it is (struct cw_now.reason). */
enum cw_reason {
	CW_REASON_SYNCED		= 0,  /* the daemon wrote maxerror recently */
	CW_REASON_PAGE_TORN		= 1,  /* no consistent copy of the page */
	CW_REASON_PAGE_STALE		= 2,  /* the module stopped refreshing the page */
	CW_REASON_PAGE_OLD		= 3,  /* the module publishes no sync facts */
	CW_REASON_CLOCKS_DISAGREE	= 4,  /* REALTIME moved unlike the page says */
	CW_REASON_NO_DAEMON		= 5,  /* no maxerror write seen yet */
	CW_REASON_STA_UNSYNC		= 6,  /* STA_UNSYNC is set */
	CW_REASON_TIME_ERROR		= 7,  /* adjtimex() returns TIME_ERROR */
	CW_REASON_MAXERROR_LIMIT	= 8,  /* the daemon wrote maxerror >= 16 s */
	CW_REASON_KERNEL_LIMIT		= 9,  /* the kernel's own maxerror reached 16 s */
	CW_REASON_DAEMON_SILENT		= 10, /* no maxerror write for too long */
	CW_REASON_FOREIGN_STEP		= 11, /* a step not made by the daemon */
	CW_REASON_VMFORK		= 12, /* VM forked or restored */
	CW_REASON_RESUME		= 13, /* resumed from suspend */
	CW_REASON_HOST_PAUSE		= 14, /* the host paused the guest: the
					       * module's audit saw the RTC jump */
	CW_REASON_MODULE		= 15, /* the module's state, for a reason it gave */
	CW_REASON_STEP_INFLIGHT		= 16, /* a step is under way */
	CW_REASON_CORRECTION_UNKNOWN	= 17, /* the daemon slews itself; what it
					       * has still to correct is not known */
	CW_REASON_MAXERROR_ZERO		= 18, /* the daemon wrote maxerror 0: no estimate */
	CW_REASON_DAEMON_UNSYNC		= 19, /* the daemon says it is not synchronised */
	CW_REASON_FOREIGN_ADJUST	= 20, /* another process changed the clock's rate */
	CW_REASON_DAEMON_FIRST		= 21, /* the daemon's first update: not trusted */
};

/* struct cw_now.flags */
#define CW_NOW_LEAP		(1U << 0) /* widened by 1 s across a leap second */
#define CW_NOW_BRACKETED	(1U << 1) /* REALTIME read between two MONOTONIC_RAW reads */
#define CW_NOW_ADJTIMEX		(1U << 2) /* from adjtimex(), no module (CW_CLOCK_ADJTIMEX) */

/* struct cw_now.bound_ns when there is no bound. */
#define CW_BOUND_INFINITE	UINT64_MAX

/**
 * struct cw_now - one answer of cw_clock__now()
 * @earliest_ns:	the true time is not before this, CLOCK_REALTIME ns
 * @latest_ns:		... and not after this
 * @bound_ns:		latest_ns - real_ns = real_ns - earliest_ns, ns;
 *			CW_BOUND_INFINITE (and earliest_ns = INT64_MIN,
 *			latest_ns = INT64_MAX) unless the status is
 *			SYNCHRONIZED or FREE_RUNNING
 * @status:		CW_STATUS_*
 * @reason:		CW_REASON_*
 * @flags:		CW_NOW_*
 * @__reserved:		zero
 * @real_ns:		the CLOCK_REALTIME read: the middle of the
 *			interval, not "the time"
 * @maxerror_ns:	bound term: maxerror as the daemon wrote it
 * @drift_ns:		bound term: max_drift times the time since
 * @window_ns:		bound term: the read window
 * @leap_ns:		bound term: 1 s across a leap second, else 0
 * @since_write_ns:	MONOTONIC_RAW since the daemon's maxerror write
 *			the bound is anchored to; -1 with CW_NOW_ADJTIMEX,
 *			where @drift_ns is the kernel's growth still owed
 * @correction_ns:	bound term: the offset still to be corrected, as
 *			the kernel's PLL or the daemon's report said it,
 *			plus steps by other processes that the daemon has
 *			not measured yet
 * @correction_age_ns:	how old that reading is, MONOTONIC_RAW ns; -1
 *			when the bound has no such term
 * @__reserved1:	zero; room for later fields (the size never changes)
 */
struct cw_now {
	__s64 earliest_ns;
	__s64 latest_ns;
	__u64 bound_ns;
	__u32 status;
	__u32 reason;
	__u32 flags;
	__u32 __reserved;
	__s64 real_ns;
	__u64 maxerror_ns;
	__u64 drift_ns;
	__u64 window_ns;
	__u64 leap_ns;
	__s64 since_write_ns;
	__u64 correction_ns;
	__s64 correction_age_ns;
	__u64 __reserved1[8];
};

/* The drift rate when cw_clock_opts.max_drift_ppb is 0: 50 ppm. */
#define CW_MAX_DRIFT_PPB_DEFAULT	50000ULL

/* cw_clock_opts.flags */
#define CW_CLOCK_BRACKETED	(1U << 0) /* always read MONOTONIC_RAW, REALTIME,
					   * MONOTONIC_RAW (3 clock reads) */
#define CW_CLOCK_ADJTIMEX	(1U << 1) /* facts from adjtimex(), no module */

/*
 * Without the module (CW_CLOCK_ADJTIMEX): each now() makes one
 * adjtimex(modes = 0) call, which needs no privilege and returns the
 * kernel's NTP state and CLOCK_REALTIME together, and
 *
 *	bound = maxerror as the kernel holds it (the daemon's, grown by the
 *		kernel's 500 us a second) + 500 us + |PLL offset|
 *	      (+ 999 ns without STA_NANO) (+ 1 s across a leap second)
 *
 * The status is never FREE_RUNNING (the kernel's growth covers silence)
 * nor DISRUPTED: steps, VM forks and host pauses that the kernel does not
 * itself report through STA_UNSYNC are not seen.  A system call per
 * now(): several times the cost of clock_gettime().  The path is
 * ignored and BRACKETED has no effect; max_drift_ppb above the kernel's
 * 500 ppm cannot be honoured (EINVAL).  Documentation/bound.rst,
 * "Without the module".
 */

/**
 * struct cw_clock_opts - options of cw_clock__open()
 * @sz:			sizeof(struct cw_clock_opts) as the caller was built
 *			with.  As libbpf's opts: a smaller size (an older
 *			caller) is fine, the fields it does not cover take
 *			their defaults; a larger one (a newer caller) is fine
 *			when every byte this library does not know is zero;
 *			less than sizeof(sz) fails with EINVAL
 * @max_drift_ppb:	worst frequency error of the clock between the
 *			daemon's updates, ppb; 0 = CW_MAX_DRIFT_PPB_DEFAULT;
 *			below 1e9
 * @flags:		CW_CLOCK_*
 * @__reserved:		zero
 */
struct cw_clock_opts {
	__u64 sz;
	__u64 max_drift_ppb;
	__u32 flags;
	__u32 __reserved;
};

/* cw_clock__wait_*() timeout that never expires. */
#define CW_WAIT_FOREVER		(-1LL)

struct cw_clock;

/**
 * @brief **cw_clock__open()** maps the page for clock bounds.
 * @param path as for cw_reader__open(); NULL means CLOCKWATCH_DEVICE;
 * ignored with CW_CLOCK_ADJTIMEX, which opens nothing
 * @param opts options, or NULL for the defaults
 * @return a clock, or NULL with errno set: ENOENT when the module is not
 * loaded (a caller may then try again with CW_CLOCK_ADJTIMEX), EINVAL
 * for bad options, or as cw_reader__open()
 */
CW_API struct cw_clock *cw_clock__open(const char *path,
				       const struct cw_clock_opts *opts);

/**
 * @brief **cw_clock__now()** reads the time as an interval.
 * @param clock from cw_clock__open()
 * @param now filled in every case; on failure with status
 * CW_STATUS_UNKNOWN and no bound
 * @return 0 when the page gave a status (look at now->status); -EAGAIN
 * for a torn page, -ESTALE for a stale one, -EPROTO for a page of
 * another layout (status UNKNOWN); -EINVAL for NULL arguments; with
 * CW_CLOCK_ADJTIMEX, what adjtimex() failed with (status UNKNOWN)
 */
CW_API int cw_clock__now(struct cw_clock *clock, struct cw_now *now);

/**
 * @brief **cw_clock__after()**: has t definitely passed?
 * @param clock from cw_clock__open()
 * @param t_ns a CLOCK_REALTIME time, ns
 * @return 1 when t_ns < earliest (as TrueTime's TT.after(t)); 0 when not
 * or when there is no bound; a negative errno from cw_clock__now()
 */
CW_API int cw_clock__after(struct cw_clock *clock, __s64 t_ns);

/**
 * @brief **cw_clock__before()**: has t definitely not arrived?
 * @param clock from cw_clock__open()
 * @param t_ns a CLOCK_REALTIME time, ns
 * @return 1 when t_ns > latest (as TrueTime's TT.before(t)); 0 when not
 * or when there is no bound; a negative errno from cw_clock__now()
 */
CW_API int cw_clock__before(struct cw_clock *clock, __s64 t_ns);

/**
 * @brief **cw_clock__wait_until()** sleeps until t has definitely passed
 * (commit wait).
 * @param clock from cw_clock__open()
 * @param t_ns a CLOCK_REALTIME time, ns, e.g. a commit timestamp taken
 * from now.latest_ns
 * @param timeout_ns give up after this long (CLOCK_MONOTONIC), or
 * CW_WAIT_FOREVER
 * @return 0 once cw_clock__after(t_ns) is true; -ETIMEDOUT; -EINVAL
 *
 * A signal does not end the wait: the sleep goes on to the deadline
 * after the handler has run.
 * While there is no bound (status neither SYNCHRONIZED nor FREE_RUNNING)
 * nothing has definitely passed, and the wait goes on.
 */
CW_API int cw_clock__wait_until(struct cw_clock *clock, __s64 t_ns,
				__s64 timeout_ns);

/**
 * @brief **cw_clock__wait_synced()** sleeps until the interval is valid.
 * @param clock from cw_clock__open()
 * @param timeout_ns give up after this long (CLOCK_MONOTONIC), or
 * CW_WAIT_FOREVER
 * @return 0 once the status is SYNCHRONIZED or FREE_RUNNING (both give a
 * valid bound); -ETIMEDOUT; -EINVAL
 *
 * As cw_clock__wait_until(), it sleeps on through signals.
 */
CW_API int cw_clock__wait_synced(struct cw_clock *clock, __s64 timeout_ns);

/**
 * @brief **cw_clock__close()** unmaps the page; clock may be NULL.
 */
CW_API void cw_clock__close(struct cw_clock *clock);

/**
 * @brief **cw_strerror()** says what an error of this library means.
 * @param err a negative errno returned by a cw_* function (a positive one
 * is taken as its negative)
 * @return a constant string, never NULL
 */
CW_API const char *cw_strerror(int err);

/**
 * @brief **cw_status_str()** names a status: "synchronized",
 * "free_running", "unsynchronized", "disrupted" or "unknown".
 */
CW_API const char *cw_status_str(__u32 status);

/** @brief **cw_reason_str()** describes a CW_REASON_* in a few words. */
CW_API const char *cw_reason_str(__u32 reason);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* __CLOCKWATCH_H */
