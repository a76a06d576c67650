/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * clockwatch: the ABI of /dev/clockwatch.
 *
 * /dev/clockwatch has two ways out, for two kinds of reader:
 *
 *  - mmap() of one read-only page, struct clockwatch_page: the state now.
 *    The module rewrites it under a sequence counter in the same code
 *    path as the change it reports, so a reader needs no system call to
 *    learn the clocks' relation and the kernel's NTP state.
 *
 *  - read() of fixed-size event records (added by a later version; see
 *    CLOCKWATCH_FEAT_* below): the history.
 *
 * Every structure starts with, or is described by, a size and a version.
 * A field added later goes at the end and is present when the published
 * size covers it (CLOCKWATCH_FIELD_PRESENT); the version changes only when
 * the meaning of an existing field does.  Reserved fields are zero.
 *
 * Times are __s64 nanoseconds on the clock named in the field's comment.
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
 *		if (seq & 1)
 *			continue;		// writer active, try again
 *		memcpy(&copy, p, sizeof(copy));
 *		__atomic_thread_fence(__ATOMIC_ACQUIRE);
 *	} while (__atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
 *
 * A writer never holds the counter odd for longer than a few hundred
 * nanoseconds; bound the loop all the same (the library gives up with
 * -EAGAIN after one million tries).
 */
#ifndef _UAPI_LINUX_CLOCKWATCH_H
#define _UAPI_LINUX_CLOCKWATCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CLOCKWATCH_DEVICE		"/dev/clockwatch"
#define CLOCKWATCH_MAGIC		0x48435743	/* "CWCH" little endian */
#define CLOCKWATCH_PAGE_VERSION		1
#define CLOCKWATCH_PAGE_SIZE		4096

/* Feature bits of clockwatch_page.features: what this module instance does. */
#define CLOCKWATCH_FEAT_CLOCKS		(1ULL << 0) /* clocks snapshot kept current */
#define CLOCKWATCH_FEAT_NTP		(1ULL << 1) /* adjtimex calls captured (kretprobe) */

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
 * @freq:		frequency offset, ppm scaled by 2^16 (timex.freq)
 * @maxerror_us:	maximum error, µs (timex.maxerror)
 * @esterror_us:	estimated error, µs (timex.esterror)
 * @constant:		PLL time constant (timex.constant)
 * @tick_us:		µs between clock ticks (timex.tick)
 * @status:		STA_* bits (timex.status)
 * @time_state:		TIME_OK .. TIME_ERROR, adjtimex()'s return value
 * @tai_s:		TAI - UTC offset, seconds (timex.tai)
 * @__reserved:		zero
 */
struct clockwatch_ntp {
	__s64 offset_ns;
	__s64 freq;
	__s64 maxerror_us;
	__s64 esterror_us;
	__s64 constant;
	__s64 tick_us;
	__s32 status;
	__s32 time_state;
	__s32 tai_s;
	__u32 __reserved;
};

/**
 * struct clockwatch_page - the read-only page behind mmap() of /dev/clockwatch
 *
 * CONSTANT FIELDS, set once when the module loads:
 * @magic:	CLOCKWATCH_MAGIC
 * @size:	bytes of this structure the module fills
 * @version:	CLOCKWATCH_PAGE_VERSION
 * @__pad0:	zero
 * @features:	CLOCKWATCH_FEAT_* bits: hooks that are in place
 *
 * NON-CONSTANT FIELDS, PROTECTED BY @seq:
 * @seq:	sequence counter: odd while the module writes; a copy is
 *		consistent when @seq was even and unchanged around it
 * @__pad1:	zero
 * @update_count:	number of completed updates of this page
 * @clocks:	the clocks, read at one instant when the page was last
 *		updated (at least every clockwatch.refresh_us)
 * @ntp:	the NTP state after the most recent adjtimex() call by any
 *		process (reads included), valid when @ntp_mono_ns != 0
 * @ntp_mono_ns:	when @ntp was captured, CLOCK_MONOTONIC; 0 = never
 * @ntp_raw_ns:		when @ntp was captured, CLOCK_MONOTONIC_RAW
 * @ntp_calls:		adjtimex() calls seen since the module loaded
 * @ntp_writes:		of those, calls that asked to change something
 *			(modes != 0) and succeeded
 */
struct clockwatch_page {
	__u32 magic;
	__u32 size;
	__u16 version;
	__u16 __pad0;
	__u32 __reserved0;
	__u64 features;

	__u32 seq;
	__u32 __pad1;
	__u64 update_count;
	struct clockwatch_clocks clocks;
	struct clockwatch_ntp ntp;
	__s64 ntp_mono_ns;
	__s64 ntp_raw_ns;
	__u64 ntp_calls;
	__u64 ntp_writes;
};

/* Is @field covered by the size the module published in @page? */
#define CLOCKWATCH_FIELD_PRESENT(page, field)				\
	((page)->size >= __builtin_offsetof(struct clockwatch_page, field) + \
			 sizeof((page)->field))

#endif /* _UAPI_LINUX_CLOCKWATCH_H */
