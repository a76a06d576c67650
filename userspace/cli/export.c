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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

#define REQUEST_MAX		4096	/* bytes of an HTTP request we read */
#define REQUEST_TIMEOUT_S	2
#define MAX_CPUS		1024

static struct export_env {
	const char *device;
	const char *textfile;
	const char *listen;
	double interval;	/* s between textfile writes; 0: once */
	long count;		/* writes or requests, then exit; 0: no limit */
} env = {
	.device = CLOCKWATCH_DEVICE,
};

static const char doc[] =
"Export the clocks, the NTP state, the clock error bound and the stall\n"
"histograms in the Prometheus text format.\n"
"\n"
"--textfile writes PATH for node_exporter's textfile collector: to a\n"
"temporary file in the same directory, then renamed over PATH, so a\n"
"scrape never sees half a file. --listen serves GET /metrics over HTTP.\n"
"\n"
"USAGE: clockwatch export [--device PATH] (--textfile PATH [--interval SEC]\n"
"                         | --listen ADDR:PORT) [--count N]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch export --textfile /var/lib/node_exporter/clockwatch.prom\n"
"    clockwatch export --textfile out.prom --interval 15\n"
"    clockwatch export --listen 127.0.0.1:9817";

static const struct argp_option opts[] = {
	{ "device", 'd', "PATH", 0, "Page to read (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "textfile", 't', "PATH", 0, "Write the metrics to PATH, atomically", 0 },
	{ "interval", 'i', "SEC", 0, "With --textfile: rewrite every SEC seconds", 0 },
	{ "listen", 'l', "ADDR:PORT", 0, "Serve /metrics on this IPv4 address and port", 0 },
	{ "count", 'c', "N", 0, "Stop after N writes or N requests", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'd':
		env.device = arg;
		break;
	case 't':
		env.textfile = arg;
		break;
	case 'l':
		env.listen = arg;
		break;
	case 'i':
		if (parse_seconds(arg, 0.01, 86400.0, &env.interval))
			argp_error(state, "invalid interval '%s'", arg);
		break;
	case 'c':
		if (parse_long(arg, 1, INT32_MAX, &env.count))
			argp_error(state, "invalid count '%s'", arg);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!env.textfile == !env.listen)
			argp_error(state, "give one of --textfile and --listen");
		if (env.interval > 0 && !env.textfile)
			argp_error(state, "--interval goes with --textfile");
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

static void metric(FILE *f, const char *name, const char *type,
		   const char *help, double v)
{
	fprintf(f, "# HELP clockwatch_%s %s\n# TYPE clockwatch_%s %s\n", name, help, name, type);
	fprintf(f, "clockwatch_%s ", name);
	print_value(f, v);
	fputc('\n', f);
}

/* The node_timex_* quantities, from the page's NTP block. */
static void timex_metrics(FILE *f, const struct clockwatch_page *p)
{
	const struct clockwatch_ntp *n = &p->ntp;

	if (!p->ntp_mono_ns)
		return;		/* no adjtimex() captured yet */
	metric(f, "offset_seconds", "gauge", "Time offset still to be slewed, s.",
	       n->offset_ns / 1e9);
	metric(f, "frequency_adjustment_ratio", "gauge", "Local clock frequency adjustment (1 + freq).",
	       1.0 + (double)n->freq / 65536.0 / 1e6);
	metric(f, "maxerror_seconds", "gauge", "Kernel maximum error, s.", n->maxerror_us / 1e6);
	metric(f, "estimated_error_seconds", "gauge", "Kernel estimated error, s.",
	       n->esterror_us / 1e6);
	metric(f, "status", "gauge", "Kernel clock status bits (STA_*).", n->status);
	metric(f, "sync_status", "gauge", "1 unless adjtimex() returns TIME_ERROR.",
	       n->time_state != TIME_ERROR);
	metric(f, "tai_offset_seconds", "gauge", "TAI - UTC, s.", n->tai_s);
	metric(f, "tick_seconds", "gauge", "Seconds between clock ticks.", n->tick_us / 1e6);
	metric(f, "loop_time_constant", "gauge", "Phase-locked loop time constant.",
	       (double)n->constant);
	metric(f, "adjtimex_calls_total", "counter", "adjtimex() calls seen by the module.",
	       (double)p->ntp_calls);
	metric(f, "adjtimex_writes_total", "counter", "adjtimex() calls that changed the NTP state.",
	       (double)p->ntp_writes);
}

static void tracker_metrics(FILE *f, const struct clockwatch_page *p)
{
	const struct clockwatch_page_ext *x = &p->ext;

	if (!CLOCKWATCH_FIELD_PRESENT(p, ext.events_dropped))
		return;
	metric(f, "steps_total", "counter", "Steps of CLOCK_REALTIME seen by the module.",
	       (double)x->step_seq);
	metric(f, "last_step_seconds", "gauge", "Size of the last step, s.",
	       x->last_step_delta_ns / 1e9);
	metric(f, "events_dropped_total", "counter", "Events the module could not record.",
	       (double)x->events_dropped);
	metric(f, "adjtimex_missed_total", "counter", "adjtimex() calls the module could not capture.",
	       (double)x->ntp_missed);
	if (x->freq_short_window_ns)
		metric(f, "realtime_rate_ppb", "gauge",
		       "Rate of REALTIME against MONOTONIC_RAW minus 1 over about 1 s, ppb.",
		       (double)x->freq_real_short_ppb);
	metric(f, "slew_pending_seconds", "gauge", "Offset the kernel still has to slew in, s.",
	       x->slew_pending_ns / 1e9);
	metric(f, "leap_pending", "gauge", "Leap second armed: 0 none, 1 insert, 2 delete.",
	       x->leap_pending);
}

static void bound_metrics(FILE *f, const struct cw_now *n)
{
	static const __u32 statuses[] = {
		CW_STATUS_UNKNOWN, CW_STATUS_SYNCHRONIZED, CW_STATUS_FREE_RUNNING,
		CW_STATUS_DISRUPTED, CW_STATUS_UNSYNCHRONIZED,
	};
	bool bounded = n->status == CW_STATUS_SYNCHRONIZED ||
		       n->status == CW_STATUS_FREE_RUNNING;
	size_t i;

	metric(f, "bound_seconds", "gauge",
	       "Clock error bound: the true time is within REALTIME +/- this (+Inf: none).",
	       bounded ? n->bound_ns / 1e9 : INFINITY);
	fprintf(f, "# HELP clockwatch_bound_term_seconds The bound's terms.\n"
		"# TYPE clockwatch_bound_term_seconds gauge\n");
	fprintf(f, "clockwatch_bound_term_seconds{term=\"maxerror\"} %.9f\n", n->maxerror_ns / 1e9);
	fprintf(f, "clockwatch_bound_term_seconds{term=\"correction\"} %.9f\n",
		n->correction_ns / 1e9);
	fprintf(f, "clockwatch_bound_term_seconds{term=\"drift\"} %.9f\n", n->drift_ns / 1e9);
	fprintf(f, "clockwatch_bound_term_seconds{term=\"window\"} %.9f\n", n->window_ns / 1e9);
	fprintf(f, "clockwatch_bound_term_seconds{term=\"leap\"} %.9f\n", n->leap_ns / 1e9);
	fprintf(f, "# HELP clockwatch_clock_status 1 for the clock's status now.\n"
		"# TYPE clockwatch_clock_status gauge\n");
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		fprintf(f, "clockwatch_clock_status{status=\"%s\"} %d\n",
			cw_status_str(statuses[i]), n->status == statuses[i]);
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

/* One histogram, its log2/8 buckets merged at the powers of two. */
static void hist_lines(FILE *f, __u32 cpu, const char *kind,
		       const struct clockwatch_hist *h)
{
	__u64 cum = 0;
	unsigned int i;

	for (i = 0; i < CLOCKWATCH_HIST_BUCKETS; i++) {
		cum += h->buckets[i];
		if ((i + 1) % 8 || i + 1 >= CLOCKWATCH_HIST_BUCKETS)
			continue;
		fprintf(f, "clockwatch_probe_latency_seconds_bucket{cpu=\"%u\",kind=\"%s\",le=\"%.9g\"} %" PRIu64 "\n",
			cpu, kind, clockwatch_hist_bucket_lo(i + 1) / 1e9, (uint64_t)cum);
	}
	fprintf(f, "clockwatch_probe_latency_seconds_bucket{cpu=\"%u\",kind=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
		cpu, kind, (uint64_t)h->count);
	fprintf(f, "clockwatch_probe_latency_seconds_sum{cpu=\"%u\",kind=\"%s\"} %.9f\n",
		cpu, kind, h->sum_ns / 1e9);
	fprintf(f, "clockwatch_probe_latency_seconds_count{cpu=\"%u\",kind=\"%s\"} %" PRIu64 "\n",
		cpu, kind, (uint64_t)h->count);
}

/*
 * The stall probe's per-CPU latency histograms (CLOCKWATCH_IOC_CPU_STATS),
 * when the module runs the probe.
 */
static void stall_metrics(FILE *f, const struct clockwatch_page *p)
{
	struct clockwatch_cpu_stats *st;
	bool header = false;
	__u64 stalls = 0;
	__u32 cpu;
	int fd, k;

	if (!(p->features & CLOCKWATCH_FEAT_STALLS))
		return;
	fd = open(env.device, O_RDONLY | O_CLOEXEC);
	st = calloc(1, sizeof(*st));
	if (fd < 0 || !st)
		goto out;
	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		memset(st, 0, sizeof(*st));
		st->size = sizeof(*st);
		st->cpu = cpu;
		if (ioctl(fd, CLOCKWATCH_IOC_CPU_STATS, st) < 0)
			break;	/* past the last CPU, or no probe */
		if (!(st->flags & CLOCKWATCH_CPU_ACTIVE))
			continue;
		if (!header) {
			fprintf(f, "# HELP clockwatch_probe_latency_seconds How late the per-CPU probe timer ran.\n"
				"# TYPE clockwatch_probe_latency_seconds histogram\n");
			header = true;
		}
		for (k = 0; k < CLOCKWATCH_HIST_NR; k++) {
			if (k >= CLOCKWATCH_HIST_THREAD && !(st->flags & CLOCKWATCH_CPU_THREAD))
				break;
			hist_lines(f, cpu, hist_kinds[k], &st->hist[k]);
		}
		stalls += st->stalls;
	}
	if (header)
		metric(f, "stalls_total", "counter", "Stalls the probe saw, all CPUs.", (double)stalls);
out:
	free(st);
	if (fd >= 0)
		close(fd);
}

/* Every metric, into f; 0 or -errno (the page cannot be read). */
static int write_metrics(FILE *f)
{
	struct clockwatch_page page;
	struct timex tx = { .modes = 0 };
	struct cw_reader *reader;
	struct cw_clock *clock;
	struct cw_now now;
	int err;

	adjtimex(&tx);	/* the module captures the NTP state now */
	reader = cw_reader__open(env.device);
	clock = cw_clock__open(env.device, NULL);
	if (!reader || !clock) {
		err = -errno;
		metric(f, "up", "gauge", "1 when the clockwatch page could be read.", 0);
		goto out;
	}
	err = cw_reader__read(reader, &page);
	if (err) {
		metric(f, "up", "gauge", "1 when the clockwatch page could be read.", 0);
		goto out;
	}
	cw_clock__now(clock, &now);
	metric(f, "up", "gauge", "1 when the clockwatch page could be read.", 1);
	timex_metrics(f, &page);
	tracker_metrics(f, &page);
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
	if (err)
		fprintf(stderr, "clockwatch: %s: %s\n", env.device, cw_strerror(err));
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

static int listen_on(const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(spec, ':');
	long port;
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host) ||
	    parse_long(colon + 1, 1, 65535, &port)) {
		fprintf(stderr, "clockwatch: --listen %s: ADDR:PORT expected\n", spec);
		return -1;
	}
	memcpy(host, spec, colon - spec);
	host[colon - spec] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "clockwatch: --listen %s: an IPv4 address expected\n", spec);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		fprintf(stderr, "clockwatch: --listen %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void respond(int fd, const char *status, const char *type, const char *body,
		    size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", status, type, len);
	if (write(fd, head, n) != n || (len && write(fd, body, len) != (ssize_t)len))
		return;	/* the client went away */
}

/* One request: read its head (bounded in size and time), answer it. */
static void serve_one(int fd)
{
	struct timeval tv = { .tv_sec = REQUEST_TIMEOUT_S };
	char req[REQUEST_MAX];
	size_t got = 0, len = 0;
	char *body = NULL;
	ssize_t r;
	FILE *f;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		r = read(fd, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = '\0';
	if (strncmp(req, "GET ", 4) != 0) {
		respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
		return;
	}
	if (strncmp(req + 4, "/metrics ", 9) != 0 && strncmp(req + 4, "/metrics?", 9) != 0) {
		respond(fd, "404 Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		respond(fd, "500 Internal Server Error", "text/plain", "", 0);
		return;
	}
	write_metrics(f);
	fclose(f);
	respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
	free(body);
}

static int run_listen(void)
{
	int lfd = listen_on(env.listen);
	long served = 0;
	int cfd;

	if (lfd < 0)
		return EXIT_ERROR;
	fprintf(stderr, "clockwatch: serving http://%s/metrics\n", env.listen);
	while (!exiting && (!env.count || served < env.count)) {
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "clockwatch: accept: %s\n", strerror(errno));
			break;
		}
		serve_one(cfd);
		close(cfd);
		served++;
	}
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
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return env.textfile ? run_textfile() : run_listen();
}
