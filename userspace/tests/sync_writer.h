/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side tests of the clock bound: the parts of the page the module's
 * clock tracker writes (clocks snapshot, the sync daemon's maxerror write,
 * the sync state), written under the sequence counter as the module does.
 */
#ifndef __CLOCKWATCH_SYNC_WRITER_H
#define __CLOCKWATCH_SYNC_WRITER_H

#include <pthread.h>

#include <linux/clockwatch.h>

long long clock_ns(int clockid);

/* Snapshot REALTIME and MONOTONIC_RAW now into the page, as the refresh does. */
void page_refresh_clocks(struct clockwatch_page *page);

/*
 * The daemon wrote maxerror_us at MONOTONIC_RAW anchor_raw_ns; the sync
 * state becomes state (CLOCKWATCH_SYNC_*), adjtimex status and time_state
 * the given ones.  Also refreshes the clocks.
 */
void page_set_sync(struct clockwatch_page *page, long long maxerror_us,
		   long long anchor_raw_ns, unsigned int state, int status,
		   int time_state);

/* Only the sync state and its reason change (a step, silence). */
void page_set_state(struct clockwatch_page *page, unsigned int state,
		    unsigned int reason);

/* The facts the rate writer derives from its counter n. */
#define DERIVED_MAXERROR_US(n)	((long long)((n) % 1000000) + 1)
#define DERIVED_ESTERROR_US(n)	(3 * DERIVED_MAXERROR_US(n))


/*
 * A writer thread that rewrites the clock snapshot and the sync facts
 * rate_hz times a second, every fact derived from one counter so a torn
 * copy shows (facts_torn() in the tests that see struct cw_facts).
 */
struct rate_writer {
	struct clockwatch_page *page;
	long rate_hz;
	int stop;			/* set to end the thread */
	unsigned long long updates;	/* done by the thread */
	pthread_t thread;
};

int rate_writer_start(struct rate_writer *w);
/* Stops the thread; returns updates per second achieved. */
double rate_writer_stop(struct rate_writer *w, long long elapsed_ns);

#endif /* __CLOCKWATCH_SYNC_WRITER_H */
