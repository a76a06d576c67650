/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: printing the events of the BPF trackers, for every command
 * that shows them (stalls, guard, and watch where it takes BPF events):
 *
 *   pause       a task did not run: pid, tid, comm, duration_ns, kind
 *   step        CLOCK_REALTIME was set (module-less: syscall tracepoints)
 *   ntp_adjust  an adjtimex-family call wrote NTP state (module-less)
 *
 * JSON Lines objects carry "type", "mono_ns" (CLOCK_MONOTONIC) and
 * "real_ns" (CLOCK_REALTIME, converted with the offset at print time), as
 * the module's events do, and "source": "bpf".
 */
#ifndef __CLOCKWATCH_BPF_EVENTS_H
#define __CLOCKWATCH_BPF_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "pauses.h"
#include "clocks.h"

/* "1.234 ms", "812 us", "3.000 s": ns for a person, units always shown. */
void format_duration(char *buf, size_t len, uint64_t ns);

/* A one-line header for the human form of print_pause_event(). */
void print_pause_header(FILE *out);
void print_pause_event(FILE *out, const struct cw_pause_event *e, bool json);

/* "clock_settime", "settimeofday", "adjtimex", "clock_adjtime" */
const char *clock_call_name(unsigned int call);
/* A step ("type": "step") or an NTP write ("type": "ntp_adjust"). */
void print_clock_event(FILE *out, const struct cw_clock_event *e, bool json);

#endif /* __CLOCKWATCH_BPF_EVENTS_H */
