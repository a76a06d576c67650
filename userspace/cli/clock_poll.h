/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: adjtimex() polling, for module-less mode.  The syscall
 * tracepoints see every step a process makes; the kernel's own steps (a
 * leap second, resume from suspend) and anything done where tracepoints
 * are off are seen only by watching REALTIME - MONOTONIC jump by more
 * than slewing can explain between two polls, and the clock state change.
 */
#ifndef __CLOCKWATCH_CLOCK_POLL_H
#define __CLOCKWATCH_CLOCK_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct clock_poll {
	int64_t mono_ns;	/* CLOCK_MONOTONIC of the last poll */
	int64_t offset_ns;	/* REALTIME - MONOTONIC then */
	int64_t error_ns;	/* how far off offset_ns can be: half its bracket */
	uint64_t traced;	/* steps the tracepoints had seen then */
	int time_state;		/* adjtimex()'s return value then */
	int status;		/* timex.status then */
	long freq;		/* timex.freq then (ppm << 16) */
	long tick;		/* timex.tick then */
};

/* What a poll found that the tracepoints did not report. */
struct clock_poll_result {
	bool jumped;		/* REALTIME - MONOTONIC jumped, no traced step */
	int64_t jump_ns;	/* by how much, beyond what slewing explains */
	int64_t mono_ns;	/* when it was noticed, CLOCK_MONOTONIC */
	int64_t real_ns;	/* the same instant, CLOCK_REALTIME */
	bool state_changed;	/* time_state or the STA_INS/DEL/UNSYNC bits */
	int old_state, new_state;
	int old_status, new_status;
};

void clock_poll_init(struct clock_poll *p, uint64_t traced_steps);
/* Poll once; true when r holds something to report. */
bool clock_poll_check(struct clock_poll *p, uint64_t traced_steps,
		      struct clock_poll_result *r);
void print_clock_poll(FILE *out, const struct clock_poll_result *r, bool json);

#endif /* __CLOCKWATCH_CLOCK_POLL_H */
