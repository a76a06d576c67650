/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Is a copy of the facts torn?  For pages written by the rate writer
 * (sync_writer.h), whose facts all follow from one counter.
 */
#ifndef __CLOCKWATCH_TORN_H
#define __CLOCKWATCH_TORN_H

#include "facts.h"
#include "sync_writer.h"

static inline int facts_torn(const struct cw_facts *f)
{
	return f->maxerror_us != DERIVED_MAXERROR_US(f->step_seq) ||
	       f->esterror_us != DERIVED_ESTERROR_US(f->step_seq) ||
	       f->anchor_raw_ns != f->page_raw_ns - f->maxerror_us;
}

#endif /* __CLOCKWATCH_TORN_H */
