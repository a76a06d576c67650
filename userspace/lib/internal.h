/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: helpers shared by the library's files, not exported.
 */
#ifndef __CLOCKWATCH_INTERNAL_H
#define __CLOCKWATCH_INTERNAL_H

#include <errno.h>

#include "clockwatch.h"

/* Return a negative errno value and set errno to match it. */
static inline int cw_err(int err)
{
	if (err < 0)
		errno = -err;
	return err;
}

/* The page a reader maps, and its opener's time-namespace offsets (page.c). */
const struct clockwatch_page *cw_reader_page(const struct cw_reader *reader);
const struct cw_timens *cw_reader_timens(const struct cw_reader *reader);

/*
 * A page copy's MONOTONIC, MONOTONIC_RAW and BOOTTIME times, of the
 * initial time namespace, as the namespace of @ns sees them.
 */
void cw_page_to_timens(struct clockwatch_page *p, const struct cw_timens *ns);

/* Tell the CPU that this is a spin-wait loop. */
static inline void cw_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* __CLOCKWATCH_INTERNAL_H */
