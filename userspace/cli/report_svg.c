// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch report: a record drawn as one HTML page, SVG and CSS inline,
 * nothing fetched from anywhere.
 *
 * One SVG at the top left of the page holds the summary (text), then on
 * one time axis (s since the start of the run): REALTIME - MONOTONIC with
 * a marker for every step and disruption, the bound's width coloured by
 * its status, a lane a CPU with its stalls and a lane a process with its
 * pauses; on the right, histograms of the stall and pause durations in
 * log2 buckets.  The geometry is fixed (report.h) and written into data-
 * attributes, so that what is drawn where can be checked on a picture.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_events.h"
#include "report.h"
#include "util.h"

#define SUMMARY_Y	24	/* first line of the summary */
#define LINE_H		18
#define OFFSET_Y0	150	/* the REALTIME - MONOTONIC panel */
#define OFFSET_H	170
#define BOUND_Y0	(OFFSET_Y0 + OFFSET_H + 40)
#define BOUND_H		80
#define LANES_Y0	(BOUND_Y0 + BOUND_H + 40)
#define LANE_H		26
#define BAR_H		18
#define HIST_H		140
#define HIST_BUCKETS	64	/* log2 buckets of ns */

struct layout {
	const struct run *r;
	FILE *out;
	double t_max;		/* s at the right end of the axis */
	int64_t off_lo, off_hi;	/* ns, the offset panel's range */
	uint64_t bound_max;	/* ns, the bound panel's half height */
	unsigned int cpu_lane[64];	/* the CPUs that get a lane */
	unsigned int nr_cpu_lanes;
	unsigned int pid_lane[REPORT_MAX_PAUSE_LANES];
	unsigned int nr_pid_lanes, pids_left_out;
	int pause_y0;		/* the first pause lane */
	int axis_y;		/* the time axis */
};

/* Text for an SVG or HTML text node or attribute. */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
			break;
		}
	}
}

/* The x of time @t, s; times outside the run are drawn at its ends. */
static int tx(const struct layout *l, double t)
{
	t = t < 0 ? 0 : t > l->t_max ? l->t_max : t;
	return REPORT_PLOT_X0 + (int)lround(t / l->t_max * REPORT_PLOT_W);
}

static int offset_y(const struct layout *l, int64_t v)
{
	double f = (double)(v - l->off_lo) / (double)(l->off_hi - l->off_lo);

	return OFFSET_Y0 + OFFSET_H - (int)lround(f * OFFSET_H);
}

/* "+2.000 s", "-812.0 us": a signed duration with its unit. */
static void format_signed(char *buf, size_t len, int64_t ns)
{
	char d[32];

	format_duration(d, sizeof(d), (uint64_t)(ns < 0 ? -ns : ns));
	snprintf(buf, len, "%c%s", ns < 0 ? '-' : '+', d);
}

/* A step of 1, 2 or 5 x 10^k with about @n steps in @range. */
static double nice_step(double range, int n)
{
	double raw = range / n, p = pow(10, floor(log10(raw)));

	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* The unit that reads best for a range of ns: its name and size. */
static const char *unit_of(double range_ns, double *scale)
{
	if (range_ns >= 1e9) {
		*scale = 1e9;
		return "s";
	}
	if (range_ns >= 1e6) {
		*scale = 1e6;
		return "ms";
	}
	if (range_ns >= 1e3) {
		*scale = 1e3;
		return "us";
	}
	*scale = 1;
	return "ns";
}

static void rect(const struct layout *l, int x, int y, int w, int h, const char *fill,
		 const char *cls)
{
	fprintf(l->out, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"",
		cls, x, y, w < 1 ? 1 : w, h < 1 ? 1 : h, fill);
}

static void text(const struct layout *l, int x, int y, const char *anchor, const char *cls,
		 const char *s)
{
	fprintf(l->out, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" class=\"%s\">", x, y,
		anchor, cls);
	esc(l->out, s);
	fputs("</text>\n", l->out);
}

/* ---- summary ----------------------------------------------------------- */

static void summary(const struct layout *l)
{
	const struct run *r = l->r;
	const struct run_mark *big = NULL;
	const struct run_bar *ls = NULL, *lp = NULL;
	const struct run_sample *wide = NULL;
	unsigned int steps = 0, disruptions = 0;
	char line[1400], a[64], b[256], c[256], when[64];
	int y = SUMMARY_Y;
	size_t i;

	for (i = 0; i < r->nr_marks; i++) {
		if (!r->marks[i].step) {
			disruptions++;
			continue;
		}
		steps++;
		if (!big || llabs(r->marks[i].delta_ns) > llabs(big->delta_ns))
			big = &r->marks[i];
	}
	for (i = 0; i < r->nr_stalls; i++)
		if (!ls || r->stalls[i].duration_ns > ls->duration_ns)
			ls = &r->stalls[i];
	for (i = 0; i < r->nr_pauses; i++)
		if (!lp || r->pauses[i].duration_ns > lp->duration_ns)
			lp = &r->pauses[i];
	for (i = 0; i < r->nr_samples; i++)
		if (r->samples[i].has_bound && (!wide || r->samples[i].bound_ns > wide->bound_ns))
			wide = &r->samples[i];

	snprintf(line, sizeof(line), "clockwatch record of: %s", r->command);
	text(l, 10, y, "start", "title", line);
	y += LINE_H + 4;

	format_utc(when, sizeof(when), r->start_real_ns);
	format_duration(a, sizeof(a), (uint64_t)((r->has_end ? r->end_t : r->last_t) * 1e9));
	if (!r->has_end)
		snprintf(b, sizeof(b), "the record ends early (no end record)");
	else if (r->signal)
		snprintf(b, sizeof(b), "killed by signal %d", r->signal);
	else
		snprintf(b, sizeof(b), "exit status %d", r->exit_status);
	snprintf(line, sizeof(line), "host %s, kernel %s, clockwatch %s; started %s; ran %s, %s",
		 r->host, r->kernel, r->cli_version, when, a, b);
	text(l, 10, y, "start", "", line);
	y += LINE_H;

	if (big) {
		format_signed(a, sizeof(a), big->delta_ns);
		snprintf(b, sizeof(b), " (largest %s by %s at %.3f s)", a, big->cause, big->t);
	} else {
		b[0] = '\0';
	}
	if (wide) {
		format_duration(a, sizeof(a), wide->bound_ns);
		snprintf(c, sizeof(c), "+/- %s at %.3f s (%s)", a, wide->t, wide->status);
	} else {
		snprintf(c, sizeof(c), "none: no sample had a bound");
	}
	snprintf(line, sizeof(line),
		 "clock: %u steps%s, %" PRIu64 " NTP writes, %u disruptions; widest bound %s; %zu samples",
		 steps, b, r->ntp_writes, disruptions, c, r->nr_samples);
	text(l, 10, y, "start", "", line);
	y += LINE_H;

	if (ls) {
		format_duration(a, sizeof(a), ls->duration_ns);
		snprintf(b, sizeof(b), " (longest %s on CPU %u at %.3f s)", a, ls->who, ls->t);
	} else {
		b[0] = '\0';
	}
	snprintf(line, sizeof(line), "CPU stalls: %zu%s", r->nr_stalls, b);
	text(l, 10, y, "start", "", line);
	y += LINE_H;

	format_duration(c, sizeof(c), r->pause_threshold_ns);
	if (lp) {
		format_duration(a, sizeof(a), lp->duration_ns);
		snprintf(line, sizeof(line),
			 "process pauses of at least %s: %zu in %u processes (longest %s, pid %u %s, %s, at %.3f s)",
			 c, r->nr_pauses, l->nr_pid_lanes + l->pids_left_out, a, lp->who, lp->comm,
			 lp->kind, lp->t);
	} else {
		snprintf(line, sizeof(line), "process pauses of at least %s: 0", c);
	}
	text(l, 10, y, "start", "", line);
	y += LINE_H;

	if (r->missing[0] || r->lost) {
		snprintf(line, sizeof(line), "not recorded: %s%s%" PRIu64 " records lost to overruns",
			 r->missing, r->missing[0] ? "; " : "", r->lost);
		text(l, 10, y, "start", "warn", line);
	}
}

/* ---- the time axis and the panels ------------------------------------- */

static void time_grid(const struct layout *l)
{
	double step = nice_step(l->t_max, 8), t;
	char s[32];

	for (t = 0; t <= l->t_max + 1e-9; t += step) {
		fprintf(l->out, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
			tx(l, t), OFFSET_Y0, tx(l, t), l->axis_y);
		snprintf(s, sizeof(s), "%g", t);
		text(l, tx(l, t), l->axis_y + 16, "middle", "", s);
	}
	fprintf(l->out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		REPORT_PLOT_X0, l->axis_y, REPORT_PLOT_X0 + REPORT_PLOT_W, l->axis_y);
	text(l, REPORT_PLOT_X0 + REPORT_PLOT_W / 2, l->axis_y + 34, "middle", "",
	     "time since the start of the run, s (CLOCK_MONOTONIC)");
}

static void offset_panel(const struct layout *l)
{
	const struct run *r = l->r;
	double scale, step, v;
	const char *unit = unit_of((double)(l->off_hi - l->off_lo), &scale);
	char s[96];
	size_t i;
	int row = 0;

	fprintf(l->out, "<g id=\"offset\" data-y0=\"%d\" data-y1=\"%d\">\n", OFFSET_Y0,
		OFFSET_Y0 + OFFSET_H);
	snprintf(s, sizeof(s), "REALTIME - MONOTONIC, change since the start, %s", unit);
	text(l, REPORT_PLOT_X0, OFFSET_Y0 - 8, "start", "panel", s);
	rect(l, REPORT_PLOT_X0, OFFSET_Y0, REPORT_PLOT_W, OFFSET_H, "none", "frame");
	fputs("/>\n", l->out);
	step = nice_step((double)(l->off_hi - l->off_lo) / scale, 4);
	for (v = ceil(l->off_lo / scale / step) * step; v * scale <= l->off_hi; v += step) {
		snprintf(s, sizeof(s), "%g %s", fabs(v) < step / 1e6 ? 0 : v, unit);
		text(l, REPORT_PLOT_X0 - 6, offset_y(l, (int64_t)(v * scale)) + 4, "end", "", s);
	}
	if (r->nr_samples) {
		fprintf(l->out, "<polyline class=\"offset\" fill=\"none\" stroke=\"%s\" points=\"",
			REPORT_COLOUR_OFFSET);
		for (i = 0; i < r->nr_samples; i++)
			fprintf(l->out, "%d,%d ", tx(l, r->samples[i].t),
				offset_y(l, r->samples[i].offset_ns - r->samples[0].offset_ns));
		fputs("\"/>\n", l->out);
	}
	/*
	 * The markers over the line, each labelled with its size and cause;
	 * the steps last, over a disruption at the same time (a foreign step
	 * is both).
	 */
	for (i = 0; i < 2 * r->nr_marks; i++) {
		const struct run_mark *m = &r->marks[i % r->nr_marks];
		char d[40];

		if (m->step != (i >= r->nr_marks))
			continue;

		rect(l, tx(l, m->t) - 1, OFFSET_Y0, 3, OFFSET_H,
		     m->step ? REPORT_COLOUR_STEP : REPORT_COLOUR_DISRUPT,
		     m->step ? "step" : "disruption");
		fprintf(l->out, " data-t=\"%.9f\"><title>", m->t);
		format_signed(d, sizeof(d), m->delta_ns);
		if (m->step)
			snprintf(s, sizeof(s), "step %s by %s at %.3f s", d, m->cause, m->t);
		else
			snprintf(s, sizeof(s), "disruption (%s) at %.3f s", m->cause, m->t);
		esc(l->out, s);
		fputs("</title></rect>\n", l->out);
		if (m->step)
			snprintf(s, sizeof(s), "%s %s", d, m->cause);
		else
			snprintf(s, sizeof(s), "%s", m->cause);
		text(l, tx(l, m->t) + 5, OFFSET_Y0 + 14 + 14 * (row++ % 4), "start", "mark", s);
	}
	fputs("</g>\n", l->out);
}

static const char *status_colour(const struct run_sample *s)
{
	if (s->has_bound && !strcmp(s->status, "synchronized"))
		return REPORT_COLOUR_SYNCED;
	if (s->has_bound)
		return REPORT_COLOUR_FREE;
	return REPORT_COLOUR_NOBOUND;
}

/* Half the band's height, px: the bound's share of the panel's. */
static int band_h(const struct layout *l, const struct run_sample *s)
{
	if (!s->has_bound)
		return BOUND_H / 2;
	return (int)lround((double)s->bound_ns / (double)l->bound_max * (BOUND_H / 2));
}

static void bound_panel(const struct layout *l)
{
	const struct run *r = l->r;
	int mid = BOUND_Y0 + BOUND_H / 2, x0, x1, h;
	char s[96], d[32];
	size_t i, j;

	fprintf(l->out, "<g id=\"bound\" data-y0=\"%d\" data-y1=\"%d\">\n", BOUND_Y0,
		BOUND_Y0 + BOUND_H);
	text(l, REPORT_PLOT_X0, BOUND_Y0 - 8, "start", "panel",
	     "the bound: [earliest, latest] around REALTIME, coloured by its status");
	for (i = 0; i + 1 < r->nr_samples; i = j) {
		const struct run_sample *a = &r->samples[i];

		/* one rectangle for the samples that look the same */
		h = band_h(l, a);
		for (j = i + 1; j + 1 < r->nr_samples; j++)
			if (band_h(l, &r->samples[j]) != h ||
			    strcmp(status_colour(&r->samples[j]), status_colour(a)) ||
			    strcmp(r->samples[j].status, a->status))
				break;
		x0 = tx(l, a->t);
		x1 = tx(l, r->samples[j].t);
		rect(l, x0, mid - h, x1 - x0, 2 * h, status_colour(a), "band");
		if (a->has_bound) {
			format_duration(d, sizeof(d), a->bound_ns);
			snprintf(s, sizeof(s), "%.3f s: +/- %s, %s", a->t, d, a->status);
		} else {
			snprintf(s, sizeof(s), "%.3f s: no bound, %s", a->t, a->status);
		}
		fputs("><title>", l->out);
		esc(l->out, s);
		fputs("</title></rect>\n", l->out);
	}
	rect(l, REPORT_PLOT_X0, BOUND_Y0, REPORT_PLOT_W, BOUND_H, "none", "frame");
	fputs("/>\n", l->out);
	format_duration(d, sizeof(d), l->bound_max);
	snprintf(s, sizeof(s), "+%s", d);
	text(l, REPORT_PLOT_X0 - 6, BOUND_Y0 + 10, "end", "", s);
	text(l, REPORT_PLOT_X0 - 6, mid + 4, "end", "", "0 s");
	snprintf(s, sizeof(s), "-%s", d);
	text(l, REPORT_PLOT_X0 - 6, BOUND_Y0 + BOUND_H, "end", "", s);
	fputs("</g>\n", l->out);
}

/* One lane: its bars are @bars[i] with who == @who. */
static void lane(const struct layout *l, const char *cls, const char *key, unsigned int who,
		 int y0, const char *label, const struct run_bar *bars, size_t nr,
		 const char *colour)
{
	char s[160], d[32];
	int x0, x1;
	size_t i;

	fprintf(l->out, "<g class=\"lane %s\" data-%s=\"%u\" data-y0=\"%d\" data-y1=\"%d\">\n",
		cls, key, who, y0, y0 + LANE_H);
	text(l, REPORT_PLOT_X0 - 6, y0 + LANE_H / 2 + 4, "end", "", label);
	fprintf(l->out, "<line class=\"lanebase\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		REPORT_PLOT_X0, y0 + LANE_H, REPORT_PLOT_X0 + REPORT_PLOT_W, y0 + LANE_H);
	for (i = 0; i < nr; i++) {
		const struct run_bar *b = &bars[i];

		if (b->who != who)
			continue;
		x0 = tx(l, b->t);
		x1 = tx(l, b->t + (double)b->duration_ns / 1e9);
		rect(l, x0, y0 + (LANE_H - BAR_H) / 2, x1 - x0 < 2 ? 2 : x1 - x0, BAR_H, colour,
		     "bar");
		format_duration(d, sizeof(d), b->duration_ns);
		snprintf(s, sizeof(s), "%s at %.3f s%s%s", d, b->t, b->kind[0] ? ", " : "", b->kind);
		fprintf(l->out, " data-t=\"%.9f\" data-duration-ns=\"%" PRIu64 "\"><title>", b->t,
			b->duration_ns);
		esc(l->out, s);
		fputs("</title></rect>\n", l->out);
	}
	fputs("</g>\n", l->out);
}

static void lanes(const struct layout *l)
{
	const struct run *r = l->r;
	char label[64];
	unsigned int i;
	size_t k;

	text(l, REPORT_PLOT_X0, LANES_Y0 - 8, "start", "panel",
	     "CPU stalls (the module's probe): a lane a CPU, a bar a stall");
	for (i = 0; i < l->nr_cpu_lanes; i++) {
		snprintf(label, sizeof(label), "CPU %u", l->cpu_lane[i]);
		lane(l, "cpu", "cpu", l->cpu_lane[i], LANES_Y0 + (int)i * LANE_H, label,
		     r->stalls, r->nr_stalls, REPORT_COLOUR_STALL);
	}
	if (!l->nr_cpu_lanes)
		text(l, REPORT_PLOT_X0 + 10, LANES_Y0 + 16, "start", "", "no CPU stall");

	text(l, REPORT_PLOT_X0, l->pause_y0 - 8, "start", "panel",
	     "process pauses (BPF): a lane a process, a bar a pause");
	for (i = 0; i < l->nr_pid_lanes; i++) {
		const char *comm = "";

		/* the latest name: a process's comm changes when it execs */
		for (k = 0; k < r->nr_pauses; k++)
			if (r->pauses[k].who == l->pid_lane[i])
				comm = r->pauses[k].comm;
		snprintf(label, sizeof(label), "%u %.16s", l->pid_lane[i], comm);
		lane(l, "pid", "pid", l->pid_lane[i], l->pause_y0 + (int)i * LANE_H, label,
		     r->pauses, r->nr_pauses, REPORT_COLOUR_PAUSE);
	}
	if (!l->nr_pid_lanes)
		text(l, REPORT_PLOT_X0 + 10, l->pause_y0 + 16, "start", "", "no pause recorded");
	if (l->pids_left_out) {
		snprintf(label, sizeof(label), "(%u more processes paused, not drawn)",
			 l->pids_left_out);
		text(l, REPORT_PLOT_X0 + 10, l->axis_y - 4, "start", "", label);
	}
}

/* ---- histograms --------------------------------------------------------- */

static void histogram(const struct layout *l, int y0, const char *id, const char *title,
		      const struct run_bar *bars, size_t nr, const char *colour)
{
	static const uint64_t decades[] = { 1000, 10000, 100000, 1000000, 10000000,
					    100000000, 1000000000, 10000000000ULL };
	static const char *const decade_names[] = { "1 us", "10 us", "100 us", "1 ms", "10 ms",
						    "100 ms", "1 s", "10 s" };
	uint64_t count[HIST_BUCKETS] = {}, top = 0;
	int lo = HIST_BUCKETS, hi = -1, b, nb, x, w;
	char s[64];
	size_t i;

	for (i = 0; i < nr; i++) {
		b = bars[i].duration_ns ? 63 - __builtin_clzll(bars[i].duration_ns) : 0;
		count[b]++;
		lo = b < lo ? b : lo;
		hi = b > hi ? b : hi;
	}
	fprintf(l->out, "<g id=\"%s\" data-y0=\"%d\" data-y1=\"%d\">\n", id, y0, y0 + HIST_H);
	text(l, REPORT_HIST_X0, y0 - 8, "start", "panel", title);
	rect(l, REPORT_HIST_X0, y0, REPORT_HIST_W, HIST_H, "none", "frame");
	fputs("/>\n", l->out);
	if (hi < 0) {
		text(l, REPORT_HIST_X0 + REPORT_HIST_W / 2, y0 + HIST_H / 2, "middle", "", "none");
		fputs("</g>\n", l->out);
		return;
	}
	/* at least a decade wide, a bucket of margin each side */
	lo = lo > 0 ? lo - 1 : 0;
	hi = hi + 1 < HIST_BUCKETS ? hi + 1 : hi;
	while (hi - lo < 4) {
		lo = lo > 0 ? lo - 1 : lo;
		hi = hi + 1 < HIST_BUCKETS ? hi + 1 : hi;
	}
	nb = hi - lo + 1;
	for (b = lo; b <= hi; b++)
		top = count[b] > top ? count[b] : top;
	w = REPORT_HIST_W / nb;
	for (b = lo; b <= hi; b++) {
		int h = (int)lround((double)count[b] / (double)top * (HIST_H - 10));

		if (!count[b])
			continue;
		x = REPORT_HIST_X0 + (b - lo) * w;
		rect(l, x + 1, y0 + HIST_H - h, w - 2, h, colour, "hbar");
		fprintf(l->out, "><title>%" PRIu64 " from 2^%d to 2^%d ns</title></rect>\n",
			count[b], b, b + 1);
	}
	/* the duration axis: log2 buckets, labelled at the decades */
	for (i = 0; i < sizeof(decades) / sizeof(decades[0]); i++) {
		double pos = log2((double)decades[i]) - lo;

		if (pos < 0 || pos > nb)
			continue;
		x = REPORT_HIST_X0 + (int)lround(pos * w);
		fprintf(l->out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
			x, y0 + HIST_H, x, y0 + HIST_H + 4);
		text(l, x, y0 + HIST_H + 16, "middle", "", decade_names[i]);
	}
	text(l, REPORT_HIST_X0 + REPORT_HIST_W / 2, y0 + HIST_H + 32, "middle", "",
	     "duration (log2 buckets)");
	snprintf(s, sizeof(s), "%" PRIu64, top);
	text(l, REPORT_HIST_X0 - 4, y0 + 14, "end", "", s);
	text(l, REPORT_HIST_X0 - 4, y0 + HIST_H, "end", "", "0");
	text(l, REPORT_HIST_X0 - 4, y0 + HIST_H / 2, "end", "", "count");
	fputs("</g>\n", l->out);
}

/* ---- the page ----------------------------------------------------------- */

static void legend(const struct layout *l, int y)
{
	static const struct { const char *colour, *what; } keys[] = {
		{ REPORT_COLOUR_OFFSET, "REALTIME - MONOTONIC" },
		{ REPORT_COLOUR_STEP, "step of REALTIME" },
		{ REPORT_COLOUR_DISRUPT, "disruption" },
		{ REPORT_COLOUR_SYNCED, "bound, synchronized" },
		{ REPORT_COLOUR_FREE, "bound, free_running" },
		{ REPORT_COLOUR_NOBOUND, "no bound (other status)" },
		{ REPORT_COLOUR_STALL, "CPU stall" },
		{ REPORT_COLOUR_PAUSE, "process pause" },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int x = 10 + (int)(i % 4) * 300, yy = y + (int)(i / 4) * 20;

		rect(l, x, yy - 10, 12, 12, keys[i].colour, "key");
		fputs("/>\n", l->out);
		text(l, x + 18, yy, "start", "", keys[i].what);
	}
}

static void plan(struct layout *l)
{
	const struct run *r = l->r;
	unsigned int i, j;
	size_t k;

	l->t_max = r->has_end && r->end_t > r->last_t ? r->end_t : r->last_t;
	if (l->t_max < 0.001)
		l->t_max = 0.001;

	/* the offset panel: the samples' range, and each step's size */
	for (k = 0; k < r->nr_samples; k++) {
		int64_t v = r->samples[k].offset_ns - r->samples[0].offset_ns;

		l->off_lo = v < l->off_lo ? v : l->off_lo;
		l->off_hi = v > l->off_hi ? v : l->off_hi;
		if (r->samples[k].has_bound && r->samples[k].bound_ns > l->bound_max)
			l->bound_max = r->samples[k].bound_ns;
	}
	if (l->off_hi - l->off_lo < 1000) {
		l->off_lo -= 500;
		l->off_hi += 500;
	}
	l->off_lo -= (l->off_hi - l->off_lo) / 10;
	l->off_hi += (l->off_hi - l->off_lo) / 10;
	if (!l->bound_max)
		l->bound_max = 1000;

	/* every CPU up to 16, else those that stalled */
	for (i = 0; i < r->nr_cpus && l->nr_cpu_lanes < 64; i++) {
		bool stalled = r->nr_cpus <= 16;

		for (k = 0; k < r->nr_stalls && !stalled; k++)
			stalled = r->stalls[k].who == i;
		if (stalled)
			l->cpu_lane[l->nr_cpu_lanes++] = i;
	}
	/* the processes in the order they first paused */
	for (k = 0; k < r->nr_pauses; k++) {
		for (j = 0; j < l->nr_pid_lanes; j++)
			if (l->pid_lane[j] == r->pauses[k].who)
				break;
		if (j < l->nr_pid_lanes)
			continue;
		if (l->nr_pid_lanes < REPORT_MAX_PAUSE_LANES) {
			l->pid_lane[l->nr_pid_lanes++] = r->pauses[k].who;
			continue;
		}
		/* count each pid left out once: its first pause */
		for (j = 0; j < k && r->pauses[j].who != r->pauses[k].who; j++)
			;
		if (j == k)
			l->pids_left_out++;
	}
	l->pause_y0 = LANES_Y0 + (int)(l->nr_cpu_lanes ? l->nr_cpu_lanes : 1) * LANE_H + 40;
	l->axis_y = l->pause_y0 + (int)(l->nr_pid_lanes ? l->nr_pid_lanes : 1) * LANE_H +
		    (l->pids_left_out ? 20 : 6);
}

static const char style[] =
"html,body{margin:0;padding:0;background:#fff;color:#222;font-family:sans-serif}\n"
"svg{display:block}\n"
"text{font-family:sans-serif;font-size:12px;fill:#222}\n"
"text.title{font-size:15px;font-weight:bold}\n"
"text.panel{font-weight:bold}\n"
"text.mark{fill:#333}\n"
"text.warn{fill:#8a4b00}\n"
"rect{shape-rendering:crispEdges}\n"
".frame{stroke:#888;stroke-width:1}\n"
".grid{stroke:#ececec;stroke-width:1;shape-rendering:crispEdges}\n"
".axis,.lanebase{stroke:#888;stroke-width:1;shape-rendering:crispEdges}\n"
"polyline.offset{stroke-width:2}\n"
".notes{padding:0 10px 20px 10px;font-size:13px;max-width:1200px}\n";

int report_html(FILE *out, const struct run *r)
{
	struct layout l = { .r = r, .out = out };
	int height;

	plan(&l);
	height = l.axis_y + 100;
	if (height < 2 * (HIST_H + 60) + OFFSET_Y0 + 40)
		height = 2 * (HIST_H + 60) + OFFSET_Y0 + 40;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>clockwatch report: ",
	      out);
	esc(out, r->command);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
	fprintf(out, "<svg id=\"report\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" data-plot-x0=\"%d\" data-plot-w=\"%d\" data-t-max-s=\"%.9f\" "
		"data-start-mono-ns=\"%" PRId64 "\">\n",
		REPORT_WIDTH, height, REPORT_WIDTH, height, REPORT_PLOT_X0, REPORT_PLOT_W,
		l.t_max, r->start_mono_ns);
	summary(&l);
	time_grid(&l);
	offset_panel(&l);
	bound_panel(&l);
	lanes(&l);
	histogram(&l, OFFSET_Y0, "stall-hist", "CPU stall durations", r->stalls, r->nr_stalls,
		  REPORT_COLOUR_STALL);
	histogram(&l, OFFSET_Y0 + HIST_H + 80, "pause-hist", "process pause durations",
		  r->pauses, r->nr_pauses, REPORT_COLOUR_PAUSE);
	legend(&l, height - 40);
	fputs("</svg>\n", out);
	fputs("<div class=\"notes\"><p>Times are seconds since the start of the run on "
	      "CLOCK_MONOTONIC, which no step moves. A step of REALTIME shows as a jump of "
	      "REALTIME - MONOTONIC and a red marker with its size and cause; the bound's band "
	      "is as wide as the bound at each sample, grey where there was none. Hover over a "
	      "marker or a bar for its numbers. See clockwatch(8), REPORT.</p></div>\n", out);
	fputs("</body>\n</html>\n", out);
	return ferror(out) ? -EIO : 0;
}
