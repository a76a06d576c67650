// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the bucket bounds of the module's latency histograms,
 * by the formula in the ABI header (struct clockwatch_hist).
 */
#include "internal.h"

__u64 cw_hist_bucket_lo(unsigned int bucket)
{
	if (bucket >= CLOCKWATCH_HIST_BUCKETS)
		return UINT64_MAX;
	/* 0 .. 7: one value each; from 8 on, log2 with 8 linear steps */
	if (bucket < 8)
		return bucket;
	return (__u64)(8 + (bucket & 7)) << ((bucket >> 3) - 1);
}
