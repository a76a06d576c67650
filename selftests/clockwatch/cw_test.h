/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch selftests: helpers more than one test program uses.
 */
#ifndef CW_TEST_H
#define CW_TEST_H

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/clockwatch.h>

#define CW_NSEC_PER_SEC		1000000000LL
#define CW_NOBODY		65534

/* In a test of the kselftest harness: skip unless it may change the clocks. */
#define CW_REQUIRE_DESTRUCTIVE() do {					\
	if (getuid() != 0)						\
		SKIP(return, "changes the clocks: needs root");		\
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))				\
		SKIP(return, "changes the clocks: set CLOCKWATCH_DESTRUCTIVE=1"); \
} while (0)

/*
 * Copy the page under its sequence counter: again while the counter was
 * odd (a write in progress) or moved during the copy.
 */
static inline void cw_page_copy(const struct clockwatch_page *p,
				struct clockwatch_page *c)
{
	unsigned int seq;

	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		memcpy(c, p, sizeof(*c));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
}

/* CLOCKWATCH_IOC_TASKS on @fd into @t; 0 or -errno. */
static inline int cw_tasks(int fd, struct clockwatch_tasks *t)
{
	memset(t, 0, sizeof(*t));
	t->size = sizeof(*t);
	return ioctl(fd, CLOCKWATCH_IOC_TASKS, t) ? -errno : 0;
}

/* @clk now, ns. */
static inline long long cw_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * CW_NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * REALTIME - MONOTONIC now, ns: a REALTIME read bracketed by two
 * MONOTONIC reads, the tightest bracket of 20 (a preempted one is off by
 * half its width; two plain reads in a row can be a host preemption
 * apart in an emulated guest).
 */
static inline long long cw_real_minus_mono(void)
{
	long long best = -1, offs = 0;
	int i;

	for (i = 0; i < 20; i++) {
		long long m0 = cw_clock_ns(CLOCK_MONOTONIC);
		long long r = cw_clock_ns(CLOCK_REALTIME);
		long long m1 = cw_clock_ns(CLOCK_MONOTONIC);

		if (best < 0 || m1 - m0 < best) {
			best = m1 - m0;
			offs = r - (m0 + (m1 - m0) / 2);
		}
	}
	return offs;
}

/* Step CLOCK_REALTIME by exactly @ns with ADJ_SETOFFSET; 0 or -errno. */
static inline int cw_step_setoffset(long long ns)
{
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };
	long long s = ns / CW_NSEC_PER_SEC, rem = ns % CW_NSEC_PER_SEC;

	if (rem < 0) {
		rem += CW_NSEC_PER_SEC;
		s--;
	}
	tx.time.tv_sec = s;
	tx.time.tv_usec = rem;	/* ns, with ADJ_NANO */
	return adjtimex(&tx) < 0 ? -errno : 0;
}

/* Become nobody with only the capabilities in @keep; 0 or -errno. */
static inline int cw_drop_to_nobody(unsigned long long keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setgroups(0, NULL) || setgid(CW_NOBODY) || setuid(CW_NOBODY))
		return -errno;
	data[0].effective = data[0].permitted = (__u32)keep;
	data[1].effective = data[1].permitted = (__u32)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

#endif /* CW_TEST_H */
