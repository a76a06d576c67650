/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch report: a record of `clockwatch record` (JSON Lines) read
 * into memory (report_parse.c) and drawn as one HTML page (report_svg.c).
 *
 * Every time here is seconds since the start of the run, on
 * CLOCK_MONOTONIC: the header's start.monotonic_ns is 0 s.
 */
#ifndef __CLOCKWATCH_REPORT_H
#define __CLOCKWATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct run_sample {
	double t;			/* s */
	int64_t offset_ns;		/* REALTIME - MONOTONIC */
	bool has_bound;
	uint64_t bound_ns;		/* half the interval's width */
	char status[24];		/* "synchronized", ... */
};

/* A step of CLOCK_REALTIME, or a disruption (a mark on the time line). */
struct run_mark {
	double t;			/* s */
	int64_t delta_ns;		/* the step's size; 0 for a disruption */
	char cause[32];			/* "clock_settime", "host_pause", ... */
	bool step;			/* a step, else a disruption */
};

/* A CPU stall (who = the CPU) or a process pause (who = the pid). */
struct run_bar {
	double t;			/* s, its start */
	uint64_t duration_ns;
	unsigned int who;
	char comm[17];			/* pauses: the thread's comm */
	char kind[24];			/* pauses: the pause's kind */
};

struct run {
	/* the header */
	int format;
	char cli_version[32];
	char kernel[256];
	char host[128];
	char command[512];		/* the words, joined by spaces */
	int64_t start_mono_ns;
	int64_t start_real_ns;
	unsigned int nr_cpus;
	uint64_t interval_ns;
	uint64_t pause_threshold_ns;
	char missing[256];		/* sources the record had not, and why */

	/* the end; has_end false for a record cut short */
	bool has_end;
	double end_t;			/* s */
	int exit_status;		/* or -1 */
	int signal;			/* or 0 */

	/* the records, in the order of the file */
	struct run_sample *samples;
	size_t nr_samples;
	struct run_mark *marks;
	size_t nr_marks;
	struct run_bar *stalls;
	size_t nr_stalls;
	struct run_bar *pauses;
	size_t nr_pauses;
	uint64_t ntp_writes;
	uint64_t lost;			/* records the ring overwrote */
	double last_t;			/* s, the latest time of any record */
};

/*
 * run_read() - read a record
 * @f: the record, JSON Lines
 * @name: its name, for messages
 * @r: filled in; run_free() it, also after a failure
 * @err: a message for a person on failure ("FILE:LINE: what")
 *
 * Return: 0, or a negative errno: -EINVAL for a line that is not a JSON
 * object or a first line that is not a header, -EPROTO for a format
 * newer than this reader, -ENOMEM.
 */
int run_read(FILE *f, const char *name, struct run *r, char *err, size_t errlen);
void run_free(struct run *r);

/*
 * The page's geometry, fixed so that a reader of the picture can find
 * things: the SVG is at the top left of the page (no margin), 1 px a
 * unit; the time axis maps t (s) to x = PLOT_X0 + t / t_max * PLOT_W,
 * t_max being the svg's data-t-max-s.  Each lane and panel also carries
 * its own data-y0/data-y1.
 */
#define REPORT_WIDTH		1240
#define REPORT_PLOT_X0		150
#define REPORT_PLOT_W		700
#define REPORT_HIST_X0		920
#define REPORT_HIST_W		280
#define REPORT_MAX_PAUSE_LANES	16

/* The documented colours (clockwatch(8), REPORT). */
#define REPORT_COLOUR_OFFSET	"#1f3a93"	/* REALTIME - MONOTONIC */
#define REPORT_COLOUR_STEP	"#d7191c"	/* a step's marker */
#define REPORT_COLOUR_DISRUPT	"#7b3294"	/* a disruption's marker */
#define REPORT_COLOUR_SYNCED	"#a6d96a"	/* bound: synchronized */
#define REPORT_COLOUR_FREE	"#fdd49e"	/* bound: free_running */
#define REPORT_COLOUR_NOBOUND	"#c8c8c8"	/* no bound: any other status */
#define REPORT_COLOUR_STALL	"#e7298a"	/* a CPU stall's bar */
#define REPORT_COLOUR_PAUSE	"#1b9e77"	/* a process pause's bar */

/* The page, HTML with inline SVG and CSS; 0 or a negative errno. */
int report_html(FILE *out, const struct run *r);

#endif /* __CLOCKWATCH_REPORT_H */
