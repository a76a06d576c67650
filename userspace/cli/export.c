// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch export: the page, the clock bound and the stall histograms
 * in the Prometheus text format, as a node_exporter textfile (written
 * atomically) or served over HTTP at /metrics.
 *
 * Names are clockwatch_*; where node_exporter's timex collector has the
 * same quantity (node_timex_*), the name after the prefix and the meaning
 * are the same, so dashboards and alerts carry over.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "clockwatch.h"
#include "commands.h"
#include "util.h"
#include "watch.h"

#define REQUEST_MAX		4096	/* bytes of an HTTP request we read */
#define REQUEST_TIMEOUT_MS	2000	/* a whole request head, from accept */
#define RESPONSE_TIMEOUT_MS	5000	/* the whole answer, once it is ready */
#define MAX_CLIENTS		64	/* connections served at once */
#define MAX_CPUS		1024
#define DEFAULT_LISTEN_HOST	"127.0.0.1"

static struct export_env {
	const char *device;
	bool device_set;
	const char *textfile;
	const char *listen;
	double interval;	/* s between textfile writes; 0: once */
	long count;		/* writes or requests, then exit; 0: no limit */
	bool per_cpu;		/* a histogram per CPU, not one per kind */
	bool verbose;
} env = {
	.device = CLOCKWATCH_DEVICE,
};

enum {
	OPT_PER_CPU = 0x100,
};

static const char doc[] =
"Export the clocks, the NTP state, the clock error bound and the stall\n"
"histograms in the Prometheus text format.\n"
"\n"
"--output (or --textfile) writes PATH for node_exporter's textfile\n"
"collector: to a temporary file in the same directory, then renamed over\n"
"PATH, so a scrape never sees half a file. --listen serves GET /metrics\n"
"over HTTP, on loopback (127.0.0.1) unless ADDR names another address.\n"
"\n"
"The node_timex_* quantities (clockwatch_offset_seconds, ...) come from\n"
"adjtimex() and are exported with or without the module.\n"
"\n"
"USAGE: clockwatch export [--device PATH] (--output PATH [--interval SEC]\n"
"                         | --listen [ADDR:]PORT) [--count N] [--per-cpu]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch export --textfile /var/lib/node_exporter/clockwatch.prom\n"
"    clockwatch export -o out.prom --interval 15\n"
"    clockwatch export --listen 9817          # http://127.0.0.1:9817/metrics\n"
"    clockwatch export --listen 0.0.0.0:9817  # every IPv4 address\n"
"    clockwatch export --listen [::1]:9817";

static const struct argp_option opts[] = {
	{ "device", 'd', "PATH", 0, "Page to read (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "output", 'o', "PATH", 0, "Write the metrics to PATH, atomically (a textfile)", 0 },
	{ "textfile", 0, NULL, OPTION_ALIAS, NULL, 0 },
	{ "interval", 'i', "SEC", 0, "With --output: rewrite every SEC seconds", 0 },
	{ "listen", 'l', "[ADDR:]PORT", 0, "Serve /metrics on PORT (of ADDR; default 127.0.0.1)", 0 },
	{ "count", 'c', "N", 0, "Stop after N writes or N requests", 0 },
	{ "per-cpu", OPT_PER_CPU, NULL, 0, "Probe latency histograms per CPU (a series per CPU)", 0 },
	{ "verbose", 'v', NULL, 0, "Say what is written and served, on stderr", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'd':
		if (!*arg)
			argp_error(state, "empty device path");
		env.device = arg;
		env.device_set = true;
		break;
	case 'o':
		if (!*arg)
			argp_error(state, "empty textfile path");
		env.textfile = arg;
		break;
	case 'l':
		env.listen = arg;
		break;
	case 'i':
		if (parse_seconds(arg, 0.01, 86400.0, &env.interval))
			argp_error(state, "invalid interval '%s': seconds from 0.01 to 86400 expected",
				   arg);
		break;
	case 'c':
		if (parse_long(arg, 1, INT32_MAX, &env.count))
			argp_error(state, "invalid count '%s': a whole number from 1 expected", arg);
		break;
	case OPT_PER_CPU:
		env.per_cpu = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!env.textfile == !env.listen)
			argp_error(state, "give one of --output (--textfile) and --listen");
		if (env.interval > 0 && !env.textfile)
			argp_error(state, "--interval goes with --output (--textfile)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The shortest decimal that reads back as v, as Prometheus clients write. */
static void print_value(FILE *f, double v)
{
	char buf[32];
	int prec;

	if (isnan(v)) {
		fputs("NaN", f);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*g", prec, v);
	fputs(buf, f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP clockwatch_%s %s\n# TYPE clockwatch_%s %s\n", name, help, name, type);
}

/* One sample; labels is "" or `key="value",...` without the braces. */
static void sample(FILE *f, const char *name, const char *labels, double v)
{
	fprintf(f, *labels ? "clockwatch_%s{%s} " : "clockwatch_%s%s ", name, labels);
	print_value(f, v);
	fputc('\n', f);
}

static void metric(FILE *f, const char *name, const char *type,
		   const char *help, double v)
{
	family(f, name, type, help);
	sample(f, name, "", v);
}

/*
 * A state as one series per possible value, 1 for the value now and 0
 * for the others (node_exporter's style): names[] lists every value.
 */
static void state_set(FILE *f, const char *name, const char *help, const char *label,
		      const char *const *names, size_t n, const char *now)
{
	char labels[96];
	size_t i;

	family(f, name, "gauge", help);
	for (i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "%s=\"%s\"", label, names[i]);
		sample(f, name, labels, now && strcmp(now, names[i]) == 0);
	}
}

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static const char *const time_states[] = {
	"TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR",
};

/*
 * The node_timex_* quantities, from adjtimex() as node_exporter's timex
 * collector computes them: the name after the prefix, the unit and the
 * value are the same, so dashboards and alerts carry over.
 */
static void timex_metrics(FILE *f)
{
	struct timex tx = { .modes = 0 };
	double unit, ppm16 = 65536.0 * 1e6;
	int state;

	state = adjtimex(&tx);
	if (state < 0) {
		fprintf(stderr, "clockwatch: adjtimex: %s\n", strerror(errno));
		return;
	}
	/* offset and jitter are ns with STA_NANO, else us */
	unit = (tx.status & STA_NANO) ? 1e-9 : 1e-6;
	metric(f, "sync_status", "gauge",
	       "Is the clock synchronized to a reliable server (1 = yes, 0 = no): adjtimex() does not return TIME_ERROR.",
	       state != TIME_ERROR);
	metric(f, "offset_seconds", "gauge", "Time offset still to be slewed, s.",
	       (double)tx.offset * unit);
	metric(f, "frequency_adjustment_ratio", "gauge", "Local clock frequency adjustment (1 + freq).",
	       1.0 + (double)tx.freq / ppm16);
	metric(f, "maxerror_seconds", "gauge", "Kernel maximum error, s.", tx.maxerror / 1e6);
	metric(f, "estimated_error_seconds", "gauge", "Kernel estimated error, s.",
	       tx.esterror / 1e6);
	metric(f, "status", "gauge", "Kernel clock status bits (STA_*).", tx.status);
	metric(f, "loop_time_constant", "gauge", "Phase-locked loop time constant.",
	       (double)tx.constant);
	metric(f, "tick_seconds", "gauge", "Seconds between clock ticks.", tx.tick / 1e6);
	metric(f, "pps_frequency_hertz", "gauge", "Pulse-per-second frequency, as a ratio.",
	       (double)tx.ppsfreq / ppm16);
	metric(f, "pps_jitter_seconds", "gauge", "Pulse-per-second jitter, s.",
	       (double)tx.jitter * unit);
	metric(f, "pps_shift_seconds", "gauge", "Pulse-per-second interval duration, log2 s.",
	       (double)tx.shift);
	metric(f, "pps_stability_hertz", "gauge",
	       "Pulse-per-second stability, average of relative frequency changes.",
	       (double)tx.stabil / ppm16);
	metric(f, "pps_jitter_total", "counter", "Pulse-per-second jitter limit exceeded events.",
	       (double)tx.jitcnt);
	metric(f, "pps_calibration_total", "counter", "Pulse-per-second calibration intervals.",
	       (double)tx.calcnt);
	metric(f, "pps_error_total", "counter", "Pulse-per-second calibration errors.",
	       (double)tx.errcnt);
	metric(f, "pps_stability_exceeded_total", "counter",
	       "Pulse-per-second stability limit exceeded events.", (double)tx.stbcnt);
	metric(f, "tai_offset_seconds", "gauge", "TAI - UTC, s.", tx.tai);
	state_set(f, "time_state", "1 for the state adjtimex() returns (TIME_*), 0 for the others.",
		  "state", time_states, ARRAY_SIZE(time_states),
		  state < (int)ARRAY_SIZE(time_states) ? time_states[state] : NULL);
}

static const char *const sync_states[] = {
	"unsynchronized", "synchronized", "free_running", "disrupted",
};

static const char *const leap_states[] = { "none", "insert", "delete" };

/* What the module's clock tracker counted and concluded. */
static void tracker_metrics(FILE *f, const struct clockwatch_page *p)
{
	const char *now;

	metric(f, "adjtimex_calls_total", "counter", "adjtimex() calls seen by the module.",
	       (double)p->ntp_calls);
	metric(f, "adjtimex_writes_total", "counter", "adjtimex() calls that changed the NTP state.",
	       (double)p->ntp_writes);
	metric(f, "adjtimex_missed_total", "counter", "adjtimex() calls the module could not capture.",
	       (double)p->ntp_missed);
	metric(f, "steps_total", "counter", "Steps of CLOCK_REALTIME seen by the module.",
	       (double)p->step_seq);
	metric(f, "last_step_seconds", "gauge", "Size of the last step, s (0: none since load).",
	       p->last_step_delta_ns / 1e9);
	metric(f, "events_dropped_total", "counter", "Events the module could not record.",
	       (double)p->events_dropped);
	metric(f, "disruptions_total", "counter",
	       "Disruptions of the clock seen by the module: foreign steps and rate changes, VM fork or restore, resume.",
	       (double)p->disruption_count);
	metric(f, "sync_daemons_total", "counter",
	       "Processes seen becoming the sync daemon since the module loaded.",
	       (double)p->daemon_count);
	if (p->features & CLOCKWATCH_FEAT_SYNC_STATE) {
		now = p->sync_state < ARRAY_SIZE(sync_states) ? sync_states[p->sync_state] : NULL;
		state_set(f, "sync_state", "1 for the module's sync state now, 0 for the others.",
			  "state", sync_states, ARRAY_SIZE(sync_states), now);
		family(f, "sync_reason_info", "gauge", "Why the sync state is what it is: 1, the reason as a label.");
		fprintf(f, "clockwatch_sync_reason_info{reason=\"%s\"} 1\n",
			sync_reason_name(p->sync_reason));
	}
	if (p->features & CLOCKWATCH_FEAT_FREQ) {
		family(f, "monotonic_rate_deviation_ratio", "gauge",
		       "Rate of MONOTONIC (and REALTIME between steps) against MONOTONIC_RAW, minus 1, over a window.");
		if (p->freq_short_window_raw_ns)
			sample(f, "monotonic_rate_deviation_ratio", "window=\"short\"",
			       p->freq_short_ppb / 1e9);
		if (p->freq_long_window_raw_ns)
			sample(f, "monotonic_rate_deviation_ratio", "window=\"long\"",
			       p->freq_long_ppb / 1e9);
		family(f, "monotonic_rate_window_seconds", "gauge",
		       "The window the rate was measured over, MONOTONIC_RAW s (0: no measurement yet).");
		sample(f, "monotonic_rate_window_seconds", "window=\"short\"",
		       p->freq_short_window_raw_ns / 1e9);
		sample(f, "monotonic_rate_window_seconds", "window=\"long\"",
		       p->freq_long_window_raw_ns / 1e9);
		metric(f, "slew_pending_seconds", "gauge", "Offset the kernel still has to slew in, s.",
		       p->slew_pending_ns / 1e9);
	}
	metric(f, "unseen_step_seconds", "gauge",
	       "Steps by other processes the sync daemon has not been seen to measure, s.",
	       p->unseen_step_ns / 1e9);
	now = p->leap_pending < ARRAY_SIZE(leap_states) ? leap_states[p->leap_pending] : NULL;
	state_set(f, "leap_pending", "1 for the leap second armed now (none, insert, delete), 0 for the others.",
		  "leap", leap_states, ARRAY_SIZE(leap_states), now);
	/*
	 * Host pauses (the whole VM stopped) only the RTC audit sees: no
	 * series where it does not run, rather than a made-up 0.  The page
	 * holds a count, the last one's size and their sum (minus the
	 * jumps); the sum only from modules that publish it.
	 */
	if (page_has_audit(p)) {
		metric(f, "host_pauses_total", "counter",
		       "Host pauses (the whole VM stopped) seen by the module's RTC audit.",
		       (double)p->audit_rtc_jumps);
		metric(f, "last_host_pause_seconds", "gauge",
		       "Size of the last host pause, s (0: none since load).",
		       p->audit_rtc_jump_ns ? -p->audit_rtc_jump_ns / 1e9 : 0.0);
	}
	if (page_has_audit(p) && CLOCKWATCH_FIELD_PRESENT(p, audit_rtc_jump_sum_ns))
		metric(f, "host_pause_seconds_total", "counter",
		       "Time the host stopped the VM, s: every host pause the RTC audit saw, added up.",
		       p->audit_rtc_jump_sum_ns ? -p->audit_rtc_jump_sum_ns / 1e9 : 0.0);
}

static void bound_metrics(FILE *f, const struct cw_now *n)
{
	static const __u32 statuses[] = {
		CW_STATUS_UNKNOWN, CW_STATUS_SYNCHRONIZED, CW_STATUS_FREE_RUNNING,
		CW_STATUS_DISRUPTED, CW_STATUS_UNSYNCHRONIZED,
	};
	static const char *const terms[] = { "maxerror", "correction", "drift", "window", "leap" };
	const __u64 term_ns[] = {
		n->maxerror_ns, n->correction_ns, n->drift_ns, n->window_ns, n->leap_ns,
	};
	bool bounded = n->status == CW_STATUS_SYNCHRONIZED ||
		       n->status == CW_STATUS_FREE_RUNNING;
	char labels[64];
	size_t i;

	metric(f, "bound_seconds", "gauge",
	       "Clock error bound: the true time is within REALTIME +/- this (+Inf: none).",
	       bounded ? n->bound_ns / 1e9 : INFINITY);
	family(f, "bound_term_seconds", "gauge", "The bound's terms, s.");
	for (i = 0; i < ARRAY_SIZE(terms); i++) {
		snprintf(labels, sizeof(labels), "term=\"%s\"", terms[i]);
		sample(f, "bound_term_seconds", labels, term_ns[i] / 1e9);
	}
	family(f, "clock_status", "gauge", "1 for the clock's status now, 0 for the others.");
	for (i = 0; i < ARRAY_SIZE(statuses); i++) {
		snprintf(labels, sizeof(labels), "status=\"%s\"", cw_status_str(statuses[i]));
		sample(f, "clock_status", labels, n->status == statuses[i]);
	}
	if (bounded)
		metric(f, "since_maxerror_write_seconds", "gauge",
		       "MONOTONIC_RAW since the sync daemon last wrote maxerror, s.",
		       n->since_write_ns / 1e9);
}

static const char *const hist_kinds[CLOCKWATCH_HIST_NR] = {
	[CLOCKWATCH_HIST_IRQ]		= "irq",
	[CLOCKWATCH_HIST_IRQ_FILLED]	= "irq_filled",
	[CLOCKWATCH_HIST_THREAD]	= "thread",
	[CLOCKWATCH_HIST_THREAD_FILLED]	= "thread_filled",
};

/*
 * One histogram as Prometheus buckets.  A module bucket i counts the
 * latencies v (whole ns) with lo(i) <= v < lo(i + 1); Prometheus's le is
 * inclusive, so the bucket that ends before lo(i + 1) has le = lo(i + 1)
 * - 1 ns.  The log2/8 buckets are merged at the powers of two, 32 series
 * where 304 would do little more.  labels: "" or `key="value",`.
 */
static void hist_lines(FILE *f, const char *labels, const struct clockwatch_hist *h)
{
	__u64 cum = 0, sum_ns = h->sum_ns;
	unsigned int i;

	for (i = 0; i < CLOCKWATCH_HIST_BUCKETS; i++) {
		cum += h->buckets[i];
		if ((i + 1) % 8 || i + 1 >= CLOCKWATCH_HIST_BUCKETS)
			continue;
		fprintf(f, "clockwatch_probe_latency_seconds_bucket{%sle=\"", labels);
		print_value(f, (double)(cw_hist_bucket_lo(i + 1) - 1) / 1e9);
		fprintf(f, "\"} %" PRIu64 "\n", (uint64_t)cum);
	}
	/* +Inf and _count from the buckets: one copy, counts that agree. */
	fprintf(f, "clockwatch_probe_latency_seconds_bucket{%sle=\"+Inf\"} %" PRIu64 "\n",
		labels, (uint64_t)cum);
	fprintf(f, "clockwatch_probe_latency_seconds_sum%s%.*s%s ",
		*labels ? "{" : "", *labels ? (int)strlen(labels) - 1 : 0, labels,
		*labels ? "}" : "");
	print_value(f, sum_ns / 1e9);
	fprintf(f, "\nclockwatch_probe_latency_seconds_count%s%.*s%s %" PRIu64 "\n",
		*labels ? "{" : "", *labels ? (int)strlen(labels) - 1 : 0, labels,
		*labels ? "}" : "", (uint64_t)cum);
}

static void hist_add(struct clockwatch_hist *to, const struct clockwatch_hist *h)
{
	unsigned int i;

	to->count += h->count;
	to->sum_ns += h->sum_ns;
	for (i = 0; i < CLOCKWATCH_HIST_BUCKETS; i++)
		to->buckets[i] += h->buckets[i];
}

/*
 * The probe latency histograms of the CPUs in stats[0..n), one per kind
 * (all CPUs added up), or one per kind and CPU with --per-cpu.
 */
static void write_histograms(FILE *f, const struct clockwatch_cpu_stats *stats, size_t n,
			     bool per_cpu)
{
	struct clockwatch_hist *sum;
	char labels[64];
	bool kind_seen;
	size_t c;
	int k;

	sum = calloc(1, sizeof(*sum));
	if (!sum)
		return;
	family(f, "probe_latency_seconds", "histogram",
	       "How late the per-CPU probe ran after it was due, s; kind: irq (the timer), thread (the probe thread), *_filled with the periods a stall covered.");
	for (k = 0; k < CLOCKWATCH_HIST_NR; k++) {
		memset(sum, 0, sizeof(*sum));
		kind_seen = false;
		for (c = 0; c < n; c++) {
			if (k >= CLOCKWATCH_HIST_THREAD && !(stats[c].flags & CLOCKWATCH_CPU_THREAD))
				continue;
			kind_seen = true;
			if (per_cpu) {
				snprintf(labels, sizeof(labels), "cpu=\"%u\",kind=\"%s\",",
					 stats[c].cpu, hist_kinds[k]);
				hist_lines(f, labels, &stats[c].hist[k]);
			} else {
				hist_add(sum, &stats[c].hist[k]);
			}
		}
		if (kind_seen && !per_cpu) {
			snprintf(labels, sizeof(labels), "kind=\"%s\",", hist_kinds[k]);
			hist_lines(f, labels, sum);
		}
	}
	free(sum);
}

/*
 * The stall probe's latency histograms (CLOCKWATCH_IOC_CPU_STATS), when
 * the module runs the probe.
 */
static void stall_metrics(FILE *f, const struct clockwatch_page *p)
{
	struct clockwatch_cpu_stats *stats = NULL, *st;
	size_t n = 0;
	__u64 stalls = 0;
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	__u32 cpu;
	int fd;

	if (!(p->features & CLOCKWATCH_FEAT_STALLS))
		return;
	fd = open(env.device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ncpus <= 0 || ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	for (cpu = 0; cpu < (__u32)ncpus; cpu++) {
		if (!stats || (n & (n - 1)) == 0) {
			/* room for 1, 2, 4, ... */
			st = realloc(stats, (n ? 2 * n : 1) * sizeof(*st));
			if (!st)
				break;
			stats = st;
		}
		st = &stats[n];
		memset(st, 0, sizeof(*st));
		st->size = sizeof(*st);
		st->cpu = cpu;
		if (ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, st) < 0) {
			if (errno == ENOTTY || errno == ENODEV)
				break;	/* no probe */
			continue;	/* a CPU that is not possible */
		}
		if (!(st->flags & CLOCKWATCH_CPU_ACTIVE))
			continue;
		stalls += st->stalls;
		n++;
	}
	close(fd);
	if (n) {
		metric(f, "probe_cpus", "gauge", "CPUs the stall probe runs on.", (double)n);
		metric(f, "stalls_total", "counter", "Stalls the probe saw, all CPUs.", (double)stalls);
		write_histograms(f, stats, n, env.per_cpu);
	}
	free(stats);
}

/*
 * Every metric, into f; 0 or -errno (the page cannot be read: the
 * node_timex_* metrics are there all the same).
 */
static int write_metrics(FILE *f)
{
	struct clockwatch_page page;
	struct cw_reader *reader;
	struct cw_clock *clock = NULL;
	struct cw_now now;
	int err = 0;

	/* This adjtimex() call also makes the module capture the NTP state. */
	timex_metrics(f);
	reader = cw_reader__open(env.device);
	if (!reader)
		err = -errno;
	else
		err = cw_reader__read(reader, &page);
	if (!err) {
		clock = cw_clock__open(env.device, NULL);
		if (!clock)
			err = -errno;
	}
	metric(f, "up", "gauge", "1 when the clockwatch page could be read.", !err);
	if (err)
		goto out;
	tracker_metrics(f, &page);
	cw_clock__now(clock, &now);	/* filled in every case */
	bound_metrics(f, &now);
	stall_metrics(f, &page);
out:
	cw_clock__close(clock);
	cw_reader__close(reader);
	return err;
}

/* PATH.tmp.PID beside PATH, then rename(): readers see old or new. */
static int write_textfile(void)
{
	char tmp[4096];
	FILE *f;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", env.textfile, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "clockwatch: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	err = write_metrics(f);
	/* Without the module "up 0" says it; a named device is expected. */
	if (err && (env.device_set || env.verbose))
		fprintf(stderr, "clockwatch: %s: %s (exported clockwatch_up 0)\n", env.device,
			cw_strerror(err));
	if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
		fprintf(stderr, "clockwatch: %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, env.textfile)) {
		fprintf(stderr, "clockwatch: rename to %s: %s\n", env.textfile, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (env.verbose)
		fprintf(stderr, "clockwatch: wrote %s\n", env.textfile);
	return 0;
}

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

static int run_textfile(void)
{
	struct timespec ts;
	long n;

	for (n = 0; !exiting; n++) {
		if (write_textfile())
			return EXIT_ERROR;
		if (env.interval <= 0 || (env.count && n + 1 >= env.count))
			break;
		ts.tv_sec = (time_t)env.interval;
		ts.tv_nsec = (long)((env.interval - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return EXIT_OK;
}

/*
 * [ADDR:]PORT, ADDR an IPv4 address or an IPv6 one in brackets; no ADDR
 * (PORT or :PORT) is loopback.  A listening socket, or -1.
 */
static int listen_on(const char *spec)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	};
	struct addrinfo *ai = NULL;
	const char *colon = strrchr(spec, ':');
	const char *port_str = colon ? colon + 1 : spec;
	char host[64] = DEFAULT_LISTEN_HOST;
	size_t hlen = colon ? (size_t)(colon - spec) : 0;
	long port;
	int fd, one = 1, err;

	if (parse_long(port_str, 1, 65535, &port)) {
		fprintf(stderr, "clockwatch: --listen %s: [ADDR:]PORT expected, PORT from 1 to 65535\n",
			spec);
		return -1;
	}
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		fprintf(stderr, "clockwatch: --listen %s: address too long\n", spec);
		return -1;
	}
	if (hlen) {
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
	}
	err = getaddrinfo(host, port_str, &hints, &ai);
	if (err) {
		fprintf(stderr, "clockwatch: --listen %s: not a numeric IPv4 or [IPv6] address: %s\n",
			host, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, MAX_CLIENTS)) {
		fprintf(stderr, "clockwatch: --listen %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * One connection.  Nothing blocks on a client: every socket is
 * non-blocking and served from one poll() loop, and each connection has
 * a deadline (the request head within REQUEST_TIMEOUT_MS of accept, the
 * answer within RESPONSE_TIMEOUT_MS), so a slow or silent client only
 * ever holds its own slot.
 */
struct client {
	int fd;				/* -1: slot free */
	int64_t deadline_ns;		/* CLOCK_MONOTONIC */
	char req[REQUEST_MAX];
	size_t got;
	char *out;			/* the whole answer, once ready */
	size_t out_len, sent;
	char peer[64];
};

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
}

/* The answer as one buffer: head and body. */
static void client_answer(struct client *c, const char *status, const char *type,
			  const char *body, size_t len)
{
	FILE *f = open_memstream(&c->out, &c->out_len);

	if (!f) {
		c->out = NULL;
		c->out_len = 0;
		return;
	}
	fprintf(f, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n", status, type, len);
	fwrite(body, 1, len, f);
	fclose(f);
	c->sent = 0;
	c->deadline_ns = now_ns(CLOCK_MONOTONIC) + RESPONSE_TIMEOUT_MS * NSEC_PER_MSEC;
	if (env.verbose)
		fprintf(stderr, "clockwatch: %s: %.*s\n", c->peer, (int)strcspn(status, "\r\n"),
			status);
}

/* The request head is complete (or cannot be): answer it. */
static void client_request(struct client *c)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	c->req[c->got] = '\0';
	if (strncmp(c->req, "GET ", 4) != 0) {
		client_answer(c, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	if (strncmp(c->req + 4, "/metrics ", 9) != 0 && strncmp(c->req + 4, "/metrics?", 9) != 0) {
		client_answer(c, "404 Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		client_answer(c, "500 Internal Server Error", "text/plain", "", 0);
		return;
	}
	write_metrics(f);
	fclose(f);
	client_answer(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
	free(body);
}

/* POLLIN on a client: read what is there; answer once the head is whole. */
static void client_read(struct client *c)
{
	ssize_t r;

	while (c->got < sizeof(c->req) - 1) {
		r = recv(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			client_close(c);	/* gone before it asked */
			return;
		}
		c->got += r;
		c->req[c->got] = '\0';
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
			break;
	}
	client_request(c);
}

/* POLLOUT on a client with an answer: send what the socket takes. Done? */
static bool client_write(struct client *c)
{
	ssize_t w;

	while (c->sent < c->out_len) {
		w = send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w <= 0)
			return true;	/* the client went away */
		c->sent += w;
	}
	return true;
}

static void client_accept(struct client *clients, int lfd)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	char host[48] = "?", port[8] = "?";
	struct client *c = NULL;
	int fd, i;

	fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;	/* EAGAIN, or the client gave up already */
	for (i = 0; i < MAX_CLIENTS && !c; i++)
		if (clients[i].fd < 0)
			c = &clients[i];
	if (!c) {	/* not reached while poll() waits for a free slot */
		close(fd);
		return;
	}
	getnameinfo((struct sockaddr *)&sa, salen, host, sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof(c->peer), "%s port %s", host, port);
	c->fd = fd;
	c->got = 0;
	c->out = NULL;
	c->out_len = c->sent = 0;
	c->deadline_ns = now_ns(CLOCK_MONOTONIC) + REQUEST_TIMEOUT_MS * NSEC_PER_MSEC;
}

static int run_listen(void)
{
	static struct client clients[MAX_CLIENTS];
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	int lfd = listen_on(env.listen);
	long served = 0;
	int64_t now, next;
	int i, n, busy, timeout_ms;

	if (lfd < 0)
		return EXIT_ERROR;
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	fprintf(stderr, "clockwatch: serving /metrics on %s\n", env.listen);
	while (!exiting && (!env.count || served < env.count)) {
		now = now_ns(CLOCK_MONOTONIC);
		next = INT64_MAX;
		n = busy = 0;
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ns) {
				if (env.verbose)
					fprintf(stderr, "clockwatch: %s: timed out\n", c->peer);
				/* an answer it was too slow to take still counts */
				if (c->out)
					served++;
				client_close(c);
				continue;
			}
			busy++;
			if (c->deadline_ns < next)
				next = c->deadline_ns;
			pfds[n] = (struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
			map[n++] = i;
		}
		if (env.count && served >= env.count)
			break;
		/* Accept only into a free slot, and no more than --count asks. */
		if (busy < MAX_CLIENTS && (!env.count || served + busy < env.count)) {
			pfds[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			map[n++] = -1;
		}
		timeout_ms = next == INT64_MAX ? -1 :
			     (int)((next - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
		if (poll(pfds, n, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "clockwatch: poll: %s\n", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct client *c;

			if (!pfds[i].revents)
				continue;
			if (map[i] < 0) {
				client_accept(clients, lfd);
				continue;
			}
			c = &clients[map[i]];
			if (!c->out) {
				client_read(c);
				if (c->fd < 0 || !c->out)
					continue;
			}
			if (client_write(c)) {
				client_close(c);
				served++;
			}
		}
	}
	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	close(lfd);
	return EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	struct sigaction sa = { .sa_handler = sig_handler };

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	/*
	 * A device named on the command line must be there: a typo would
	 * otherwise export "up 0" forever.  The default device may come and
	 * go with the module.
	 */
	if (env.device_set && access(env.device, F_OK)) {
		fprintf(stderr, "clockwatch: %s: %s\n", env.device, strerror(errno));
		return EXIT_ERROR;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return env.textfile ? run_textfile() : run_listen();
}
