// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch stalls: the per-CPU section, from the module's stall probe.
 *
 * The module keeps per-CPU latency histograms of its probe and a log of
 * recent stalls.  Reading them resets nothing, so the section reads the
 * histograms at the start and at the end of the run and shows the
 * difference, and reads the stalls logged in between: other readers are
 * not disturbed.  Without the module (or without its probe) the section
 * says so and the rest of the report goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "bpf_events.h"
#include "clockwatch.h"
#include "json.h"
#include "stalls_cpu.h"
#include "util.h"

#define WORST_STALLS	10
#define LOG_BATCH	64

static struct {
	int fd;
	const char *why;		/* not available: why */
	unsigned int nr_cpus;
	struct clockwatch_cpu_stats *begin, *end;	/* [nr_cpus] */
	uint64_t from_seq;
	struct clockwatch_stall worst[WORST_STALLS];
	unsigned int nr_worst;
	uint64_t nr_stalls, lost;
} s = { .fd = -1 };

static int read_cpu(unsigned int cpu, struct clockwatch_cpu_stats *cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->size = sizeof(*cs);
	cs->cpu = cpu;
	return ioctl(s.fd, CLOCKWATCH_IOC_CPU_STATS, cs) ? -errno : 0;
}

/* The seq the next stall will get, and the stalls from @from on. */
static int read_log(uint64_t from, struct clockwatch_stall *out, unsigned int max,
		    uint64_t *next, uint64_t *lost)
{
	struct clockwatch_stall_log lg = {
		.size = sizeof(lg),
		.max = max,
		.from_seq = from,
		.stalls = (uintptr_t)out,
	};

	if (ioctl(s.fd, CLOCKWATCH_IOC_STALL_LOG, &lg))
		return -errno;
	*next = lg.next_seq;
	if (lost)
		*lost += lg.lost;
	return (int)lg.count;
}

/* Read every CPU's stats into @to; a CPU that is not there reads as zero. */
static void read_all(struct clockwatch_cpu_stats *to)
{
	unsigned int cpu;

	for (cpu = 0; cpu < s.nr_cpus; cpu++)
		if (read_cpu(cpu, &to[cpu]))
			memset(&to[cpu], 0, sizeof(to[cpu]));
}

/**
 * stalls_cpu_start() - open the device and note where the run starts
 *
 * Return: 0; a missing module is not an error, the section says so.
 */
int stalls_cpu_start(void)
{
	struct clockwatch_stall st;
	uint64_t next = 0;
	long n;

	s.fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0) {
		s.why = "the clockwatch module is not loaded";
		return 0;
	}
	n = sysconf(_SC_NPROCESSORS_CONF);
	s.nr_cpus = n > 0 ? (unsigned int)n : 1;
	s.begin = calloc(s.nr_cpus, sizeof(*s.begin));
	s.end = calloc(s.nr_cpus, sizeof(*s.end));
	if (!s.begin || !s.end)
		return -ENOMEM;
	if (read_cpu(0, &s.begin[0])) {
		s.why = errno == ENOTTY || errno == ENODEV ?
			"the module runs no stall probe" : "cannot read the stall probe";
		close(s.fd);
		s.fd = -1;
		return 0;
	}
	read_all(s.begin);
	/* Skip to the end of the log: only this run's stalls count. */
	s.from_seq = 0;
	while (read_log(s.from_seq, &st, 1, &next, NULL) > 0)
		s.from_seq = next;
	s.from_seq = next;
	return 0;
}

/* Keep the WORST_STALLS longest stalls, longest first. */
static void keep_worst(const struct clockwatch_stall *st)
{
	unsigned int i;

	for (i = s.nr_worst; i > 0; i--)
		if (s.worst[i - 1].duration_ns >= st->duration_ns)
			break;
	if (i >= WORST_STALLS)
		return;
	if (s.nr_worst < WORST_STALLS)
		s.nr_worst++;
	memmove(&s.worst[i + 1], &s.worst[i], (s.nr_worst - 1 - i) * sizeof(s.worst[0]));
	s.worst[i] = *st;
}

/**
 * stalls_cpu_finish() - read the histograms and the stalls of the run
 *
 * Return: 0, or a negative errno.
 */
int stalls_cpu_finish(void)
{
	struct clockwatch_stall batch[LOG_BATCH];
	uint64_t next = 0;
	int n, i;

	if (s.fd < 0)
		return 0;
	read_all(s.end);
	for (;;) {
		n = read_log(s.from_seq, batch, LOG_BATCH, &next, &s.lost);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			s.nr_stalls++;
			keep_worst(&batch[i]);
		}
		s.from_seq = next;
		if (n < LOG_BATCH)
			break;
	}
	return 0;
}

/* @end - @begin, bucket by bucket; min and max from the buckets. */
static void hist_diff(struct clockwatch_hist *d, const struct clockwatch_hist *end,
		      const struct clockwatch_hist *begin, bool reset)
{
	unsigned int b;
	bool any = false;

	memset(d, 0, sizeof(*d));
	/* A reset in between: the end counts are all from the run. */
	if (reset)
		begin = d;
	d->count = end->count - begin->count;
	d->sum_ns = end->sum_ns - begin->sum_ns;
	for (b = 0; b < CLOCKWATCH_HIST_BUCKETS; b++) {
		d->buckets[b] = end->buckets[b] - begin->buckets[b];
		if (!d->buckets[b])
			continue;
		if (!any)
			d->min_ns = cw_hist_bucket_lo(b);
		any = true;
		d->max_ns = b + 1 < CLOCKWATCH_HIST_BUCKETS ?
			    cw_hist_bucket_lo(b + 1) - 1 : end->max_ns;
	}
	/* The exact extremes when they are known to be the run's. */
	if (any && d->max_ns > end->max_ns)
		d->max_ns = end->max_ns;
	if (any && (reset || !begin->count) && end->min_ns > d->min_ns)
		d->min_ns = end->min_ns;
}

/**
 * cw_hist_value_at() - the value at quantile @q of a histogram
 * @h: the histogram
 * @q: 0 .. 1
 *
 * Return: the top of the bucket holding it, capped at the maximum: an
 * upper bound, at most 1/8 above the true value; 0 when empty.
 */
uint64_t cw_hist_value_at(const struct clockwatch_hist *h, double q)
{
	uint64_t want, seen = 0, top;
	unsigned int b;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count + 0.999999);
	if (want < 1)
		want = 1;
	for (b = 0; b < CLOCKWATCH_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= want) {
			top = b + 1 < CLOCKWATCH_HIST_BUCKETS ?
			      cw_hist_bucket_lo(b + 1) - 1 : h->max_ns;
			return top < h->max_ns ? top : h->max_ns;
		}
	}
	return h->max_ns;
}

static const double quantiles[] = { 0.50, 0.90, 0.99, 0.999 };
static const char *const quantile_keys[] = { "p50_ns", "p90_ns", "p99_ns", "p999_ns" };
#define NR_QUANTILES	(sizeof(quantiles) / sizeof(quantiles[0]))

static const char *const kind_names[CLOCKWATCH_HIST_NR] = {
	[CLOCKWATCH_HIST_IRQ]		= "irq",
	[CLOCKWATCH_HIST_IRQ_FILLED]	= "irq_filled",
	[CLOCKWATCH_HIST_THREAD]	= "thread",
	[CLOCKWATCH_HIST_THREAD_FILLED]	= "thread_filled",
};

static void print_hist_row(const char *label, const struct clockwatch_hist *h)
{
	char v[32];
	unsigned int q;

	printf("  %-16s %9" PRIu64, label, (uint64_t)h->count);
	for (q = 0; q < NR_QUANTILES; q++) {
		format_duration(v, sizeof(v), cw_hist_value_at(h, quantiles[q]));
		printf(" %10s", v);
	}
	format_duration(v, sizeof(v), h->max_ns);
	printf(" %10s\n", v);
}

static void json_hist(struct json *j, const char *key, const struct clockwatch_hist *h)
{
	unsigned int q;

	json_object_begin(j, key);
	json_uint(j, "count", h->count);
	json_uint(j, "sum_ns", h->sum_ns);
	for (q = 0; q < NR_QUANTILES; q++)
		json_uint(j, quantile_keys[q], cw_hist_value_at(h, quantiles[q]));
	json_uint(j, "max_ns", h->max_ns);
	json_object_end(j);
}

static const char *context_name(unsigned int context)
{
	return context == CLOCKWATCH_STALL_THREAD ? "thread" : "irq";
}

/**
 * stall_json_fields() - a stall's payload as members of the open object
 * @j: the object
 * @st: the stall
 * @mono_offset_ns: added to start_ns (a time namespace's MONOTONIC offset)
 * @with_cpu: also name the CPU; `clockwatch watch` does not, its record
 *	header's "cpu" is the same CPU (the probe records on the CPU it
 *	measures)
 *
 * Everything but the stall's seq, which the caller names: "seq" in a
 * stall report, "stall_seq" in `clockwatch watch`, whose "seq" is the
 * event record's.
 */
void stall_json_fields(struct json *j, const struct clockwatch_stall *st,
		       int64_t mono_offset_ns, bool with_cpu)
{
	if (with_cpu)
		json_uint(j, "cpu", st->cpu);
	json_string(j, "context", context_name(st->context));
	json_int(j, "start_ns", st->start_ns + mono_offset_ns);
	json_uint(j, "duration_ns", st->duration_ns);
	json_uint(j, "period_ns", st->period_ns);
	json_uint(j, "missed", st->missed);
	json_object_begin(j, "attribution");
	json_uint(j, "steal_ns", st->steal_ns);
	json_uint(j, "irq_ns", st->irq_ns);
	json_uint(j, "softirq_ns", st->softirq_ns);
	json_uint(j, "unexplained_ns", st->unexplained_ns);
	json_uint(j, "irq_count", st->irq_count);
	json_uint(j, "softirq_count", st->softirq_count);
	json_bool(j, "steal_visible", st->attr_flags & CLOCKWATCH_ATTR_STEAL);
	json_bool(j, "irq_time_exact", st->attr_flags & CLOCKWATCH_ATTR_IRQTIME);
	json_object_end(j);
}

/**
 * stall_text() - a stall's payload as text, without a newline
 * @f: where to
 * @st: the stall
 * @mono_offset_ns: added to start_ns (a time namespace's MONOTONIC offset)
 */
void stall_text(FILE *f, const struct clockwatch_stall *st, int64_t mono_offset_ns)
{
	char d[32], per[32], p[4][32];

	format_duration(d, sizeof(d), st->duration_ns);
	format_duration(per, sizeof(per), st->period_ns);
	format_duration(p[0], sizeof(p[0]), st->steal_ns);
	format_duration(p[1], sizeof(p[1]), st->irq_ns);
	format_duration(p[2], sizeof(p[2]), st->softirq_ns);
	format_duration(p[3], sizeof(p[3]), st->unexplained_ns);
	fprintf(f, "cpu %-3u %-6s %10s at %.6f s, %" PRIu64 " periods of %s missed: steal %s%s, "
		"irq %s (%u)%s, softirq %s (%u), unexplained %s",
		st->cpu, context_name(st->context), d,
		(st->start_ns + mono_offset_ns) / 1e9, (uint64_t)st->missed, per,
		p[0], st->attr_flags & CLOCKWATCH_ATTR_STEAL ? "" : " (not accounted)",
		p[1], st->irq_count,
		st->attr_flags & CLOCKWATCH_ATTR_IRQTIME ? "" : " (tick-sampled)",
		p[2], st->softirq_count, p[3]);
}

/**
 * print_stall_event() - one stall record, as a line or as JSON
 * @f: where to
 * @st: the stall
 * @json: one JSON object on a line (type "stall"); else a human line
 */
void print_stall_event(FILE *f, const struct clockwatch_stall *st, bool json)
{
	if (json) {
		struct json j;

		json_init(&j, f);
		json_object_begin(&j, NULL);
		json_string(&j, "type", "stall");
		json_uint(&j, "seq", st->seq);
		stall_json_fields(&j, st, 0, true);
		json_object_end(&j);
		fputc('\n', f);
		return;
	}
	fputs("  ", f);
	stall_text(f, st, 0);
	fputc('\n', f);
}

/**
 * stalls_cpu_print() - the per-CPU section of the report
 * @j: the summary object to add members to; NULL for the human form
 */
void stalls_cpu_print(struct json *j)
{
	struct clockwatch_hist h;
	unsigned int cpu, k, i;

	if (s.fd < 0) {
		if (j) {
			json_null(j, "cpus");
			json_string(j, "cpus_unavailable", s.why ? s.why : "");
		} else {
			printf("\nPer-CPU stalls: not measured: %s.\n", s.why ? s.why : "");
		}
		return;
	}

	if (j) {
		json_array_begin(j, "cpus");
	} else {
		printf("\nPer-CPU probe latency (clockwatch module), %" PRIu64
		       " us period, stalls from %" PRIu64 " us:\n",
		       (uint64_t)s.end[0].period_ns / 1000,
		       (uint64_t)s.end[0].threshold_ns / 1000);
		printf("  %-16s %9s %10s %10s %10s %10s %10s\n", "CPU/KIND", "SAMPLES",
		       "P50", "P90", "P99", "P99.9", "MAX");
	}
	for (cpu = 0; cpu < s.nr_cpus; cpu++) {
		const struct clockwatch_cpu_stats *b = &s.begin[cpu], *e = &s.end[cpu];
		bool reset = e->since_ns != b->since_ns;
		char label[32];

		if (!(e->flags & CLOCKWATCH_CPU_ACTIVE))
			continue;
		if (j) {
			json_object_begin(j, NULL);
			json_uint(j, "cpu", cpu);
			json_uint(j, "period_ns", e->period_ns);
			json_uint(j, "expiries", e->expiries - (reset ? 0 : b->expiries));
			json_uint(j, "missed", e->missed - (reset ? 0 : b->missed));
			json_uint(j, "stalls", e->stalls - (reset ? 0 : b->stalls));
		}
		for (k = 0; k < CLOCKWATCH_HIST_NR; k++) {
			hist_diff(&h, &e->hist[k], &b->hist[k], reset);
			if (k >= CLOCKWATCH_HIST_THREAD && !h.count)
				continue;
			if (j) {
				json_hist(j, kind_names[k], &h);
			} else {
				snprintf(label, sizeof(label), "%u %s", cpu, kind_names[k]);
				print_hist_row(label, &h);
			}
		}
		if (j)
			json_object_end(j);
	}
	if (j) {
		json_array_end(j);
		json_uint(j, "cpu_stalls_total", s.nr_stalls);
		json_uint(j, "cpu_stalls_lost", s.lost);
		json_array_begin(j, "cpu_stalls");
		for (i = 0; i < s.nr_worst; i++) {
			const struct clockwatch_stall *st = &s.worst[i];

			json_object_begin(j, NULL);
			json_string(j, "type", "stall");
			json_uint(j, "seq", st->seq);
			stall_json_fields(j, st, 0, true);
			json_object_end(j);
		}
		json_array_end(j);
		return;
	}
	printf("  (irq: expiries that ran; irq_filled: every period, missed ones filled in)\n");
	printf("\nCPU stalls: %" PRIu64 "%s", s.nr_stalls, s.nr_worst ? ", longest first:\n" : "\n");
	for (i = 0; i < s.nr_worst; i++)
		print_stall_event(stdout, &s.worst[i], false);
	if (s.lost)
		printf("  (%" PRIu64 " stalls no longer in the module's log)\n", s.lost);
}

/** stalls_cpu_stop() - release what stalls_cpu_start() took */
void stalls_cpu_stop(void)
{
	if (s.fd >= 0)
		close(s.fd);
	free(s.begin);
	free(s.end);
	memset(&s, 0, sizeof(s));
	s.fd = -1;
}
