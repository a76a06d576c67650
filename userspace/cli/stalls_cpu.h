/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch stalls: the per-CPU section (the module's stall probe), one
 * entry of the report's sections[] in stalls.c; and the printer of one
 * stall record, shared with `clockwatch watch`.
 */
#ifndef __CLOCKWATCH_STALLS_CPU_H
#define __CLOCKWATCH_STALLS_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/clockwatch.h>

struct json;

int stalls_cpu_start(void);
int stalls_cpu_finish(void);
void stalls_cpu_print(struct json *j);
void stalls_cpu_stop(void);

uint64_t cw_hist_value_at(const struct clockwatch_hist *h, double q);
void print_stall_event(FILE *f, const struct clockwatch_stall *st, bool json);
void stall_json_fields(struct json *j, const struct clockwatch_stall *st,
		       int64_t mono_offset_ns, bool with_cpu);
void stall_text(FILE *f, const struct clockwatch_stall *st, int64_t mono_offset_ns);

#endif /* __CLOCKWATCH_STALLS_CPU_H */
