// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of the clock bound: a stand-in for the module's clock
 * tracker, writing the sync facts into a file-backed page.
 */
#include <time.h>

#include "page_writer.h"
#include "sync_writer.h"

long long clock_ns(int clockid)
{
	struct timespec ts;

	clock_gettime(clockid, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* REALTIME between two MONOTONIC_RAW reads: the snapshot at one instant. */
static void snapshot(struct clockwatch_page *page)
{
	long long raw0 = clock_ns(CLOCK_MONOTONIC_RAW);
	long long real = clock_ns(CLOCK_REALTIME);
	long long raw1 = clock_ns(CLOCK_MONOTONIC_RAW);

	page->clocks.realtime_ns = real;
	page->clocks.monotonic_raw_ns = raw0 + (raw1 - raw0) / 2;
	page->update_count++;
}

void page_refresh_clocks(struct clockwatch_page *page)
{
	page_write_begin(page);
	snapshot(page);
	page_write_end(page);
}

void page_set_sync(struct clockwatch_page *page, long long maxerror_us,
		   long long anchor_raw_ns, unsigned int state, int status,
		   int time_state)
{
	page_write_begin(page);
	snapshot(page);
	page->ntp.maxerror_us = maxerror_us;
	page->ntp.status = status;
	page->ntp.time_state = time_state;
	page->ext.maxerror_us = maxerror_us;
	page->ext.maxerror_raw_ns = anchor_raw_ns;
	page->ext.daemon_pid = anchor_raw_ns ? 1 : 0;
	page->ext.time_state = time_state;
	page->ext.sync_state = state;
	page->ext.sync_reason = state == CLOCKWATCH_SYNC_SYNCHRONIZED ?
				CLOCKWATCH_SYNC_R_MAXERROR : CLOCKWATCH_SYNC_R_NO_DAEMON;
	page_write_end(page);
}

void page_set_state(struct clockwatch_page *page, unsigned int state,
		    unsigned int reason)
{
	page_write_begin(page);
	snapshot(page);
	page->ext.sync_state = state;
	page->ext.sync_reason = reason;
	page_write_end(page);
}
