// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of the clock bound: a stand-in for the module's clock
 * tracker, writing the sync facts into a file-backed page.
 */
#include <sys/timex.h>
#include <time.h>

#include "page_writer.h"
#include "sync_writer.h"

long long clock_ns(int clockid)
{
	struct timespec ts;

	clock_gettime(clockid, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * REALTIME between two MONOTONIC_RAW reads: the snapshot at one instant,
 * from the narrowest of a few tries (a preempted try is microseconds wide).
 */
static void snapshot(struct clockwatch_page *page)
{
	long long raw0, real, raw1, best = -1;
	int i;

	for (i = 0; i < 8; i++) {
		raw0 = clock_ns(CLOCK_MONOTONIC_RAW);
		real = clock_ns(CLOCK_REALTIME);
		raw1 = clock_ns(CLOCK_MONOTONIC_RAW);
		if (best < 0 || raw1 - raw0 < best) {
			best = raw1 - raw0;
			page->clocks.realtime_ns = real;
			page->clocks.monotonic_raw_ns = raw0 + (raw1 - raw0) / 2;
		}
		if (best < 1000)
			break;
	}
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
	/* A daemon that leaves its offsets to the kernel's PLL (none left). */
	page->ntp.status = status | STA_PLL;
	page->ntp.offset_ns = 0;
	page->ntp.time_state = time_state;
	page->maxerror_us = maxerror_us;
	page->maxerror_raw_ns = anchor_raw_ns;
	page->daemon_count = anchor_raw_ns ? 1 : 0;
	page->time_state = time_state;
	page->sync_state = state;
	page->sync_reason = state == CLOCKWATCH_SYNC_SYNCHRONIZED ?
				CLOCKWATCH_SYNC_R_MAXERROR : CLOCKWATCH_SYNC_R_NO_DAEMON;
	page_write_end(page);
}

void page_set_state(struct clockwatch_page *page, unsigned int state,
		    unsigned int reason)
{
	page_write_begin(page);
	snapshot(page);
	page->sync_state = state;
	page->sync_reason = reason;
	page_write_end(page);
}

/* One update: fresh clocks, and facts that all follow from update_count. */
static void derived_update(struct clockwatch_page *page)
{
	unsigned long long n;

	page_write_begin(page);
	snapshot(page);
	n = page->update_count;
	page->step_seq = n;
	page->maxerror_us = DERIVED_MAXERROR_US(n);
	page->esterror_us = DERIVED_ESTERROR_US(n);
	page->maxerror_raw_ns = page->clocks.monotonic_raw_ns -
				    page->maxerror_us;
	page->sync_state = CLOCKWATCH_SYNC_SYNCHRONIZED;
	page->daemon_count = 1;
	/* A PLL daemon with nothing left to slew: the bound is known. */
	page->ntp.status = STA_PLL;
	page->ntp.offset_ns = 0;
	page_write_end(page);
}

static void *rate_writer_main(void *arg)
{
	struct rate_writer *w = arg;
	long long period = 1000000000LL / w->rate_hz;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		derived_update(w->page);
		w->updates++;
		next.tv_nsec += period;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

int rate_writer_start(struct rate_writer *w)
{
	w->stop = 0;
	w->updates = 0;
	derived_update(w->page);
	return -pthread_create(&w->thread, NULL, rate_writer_main, w);
}

double rate_writer_stop(struct rate_writer *w, long long elapsed_ns)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	pthread_join(w->thread, NULL);
	return elapsed_ns > 0 ? w->updates * 1e9 / elapsed_ns : 0;
}
