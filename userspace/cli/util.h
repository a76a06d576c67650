/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: helpers shared by the subcommands: number parsing, time
 * formatting, error messages.
 */
#ifndef __CLOCKWATCH_UTIL_H
#define __CLOCKWATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

struct clockwatch_page;

#define NSEC_PER_SEC	INT64_C(1000000000)
#define NSEC_PER_MSEC	INT64_C(1000000)

/* Exit codes of every subcommand. */
enum {
	EXIT_OK		= 0,
	EXIT_ERROR	= 1,	/* the device, the page, the system */
	EXIT_USAGE	= 2,	/* bad options or arguments */
};

int parse_long(const char *s, long min, long max, long *out);
int parse_seconds(const char *s, double min, double max, double *out);

int64_t now_ns(clockid_t clock);
/*
 * REALTIME - MONOTONIC now: a REALTIME read bracketed by two MONOTONIC
 * reads, the tightest of @tries.  @mono gets the bracket's middle,
 * @error half its width (how far off the offset can be).
 */
int64_t real_minus_mono(int tries, int64_t *mono, int64_t *error);

/* "-1.000000001": ns as seconds with all nine decimals. */
void format_seconds(char *buf, size_t len, int64_t ns);
/* "2024-11-26 19:40:00.123456789 UTC": ns since the epoch as a UTC date. */
void format_utc(char *buf, size_t len, int64_t ns);

/* Report a failed cw_reader__open() or cw_reader__read() of path. */
void report_page_error(const char *path, int err);

/* The module runs the RTC audit, and @p is big enough for its fields. */
bool page_has_audit(const struct clockwatch_page *p);

/*
 * After a BPF tracker failed to load with err (a negative errno): say
 * which privileges loading it takes, when that is why.
 */
void report_bpf_privilege(const char *cmd, int err);

/*
 * Run a command in a child that waits for spawn_release(), so that a
 * tracker can follow it from the start (guard, record).
 */
pid_t spawn_held(char **cmd, int *release);
int spawn_release(int release);

#endif /* __CLOCKWATCH_UTIL_H */
