/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: the bound without the module, from what adjtimex()
 * with modes = 0 tells any process (CW_CLOCK_ADJTIMEX).
 */
#ifndef __CLOCKWATCH_KERNEL_FACTS_H
#define __CLOCKWATCH_KERNEL_FACTS_H

#include <sys/timex.h>

#include "internal.h"

/* The kernel's limit on the PLL offset it takes (MAXPHASE), ns. */
#define CW_KERNEL_MAXPHASE_NS	500000000LL

/* The drift the kernel's maxerror growth covers (MAXFREQ), ppb. */
#define CW_KERNEL_GROWTH_PPB	500000ULL

/**
 * cw_bound_timex() - the interval and status of one adjtimex() call
 * @tx:		what adjtimex(modes = 0) filled: the NTP state and, in
 *		tx->time, CLOCK_REALTIME (ns with STA_NANO, else µs)
 * @state:	what it returned: TIME_OK .. TIME_ERROR
 * @out:	filled in every field; flags has CW_NOW_ADJTIMEX
 *
 * A pure function of its arguments: the unit tests give it constructed
 * struct timex values and expect exact results.
 */
void cw_bound_timex(const struct timex *tx, int state, struct cw_now *out);

#endif /* __CLOCKWATCH_KERNEL_FACTS_H */
