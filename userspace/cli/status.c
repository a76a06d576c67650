// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch status: the clocks and the kernel NTP state as the module
 * publishes them in its page, once or as a short live view.
 *
 * The kernel exports no function to read its NTP state, so the module
 * captures that state on every adjtimex() call, reads included.  status
 * therefore calls adjtimex() with modes = 0 itself first (unprivileged,
 * changes nothing), which makes the module capture the current state,
 * and only then reads the page.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "clockwatch.h"
#include "commands.h"
#include "json.h"
#include "modless.h"
#include "names.h"
#include "util.h"
#include "watch.h"

#define MAX_INTERVAL_S	86400.0
#define MIN_INTERVAL_S	0.001

static struct status_env {
	const char *device;
	bool device_set;
	bool json;
	bool verbose;
	bool refresh;		/* adjtimex(modes = 0) before each read */
	double interval;	/* s between samples of the live view; 0: none */
	long count;		/* samples of the live view; 0: until stopped */
	int positional;		/* positional arguments seen */
} env = {
	.device = CLOCKWATCH_DEVICE,
	.refresh = true,
};

enum {
	OPT_NO_REFRESH = 0x100,
};

static const char doc[] =
"Show the system clocks and the kernel NTP state from the clockwatch page.\n"
"Without the module (" CLOCKWATCH_DEVICE " absent), say why, what still\n"
"works through BPF and adjtimex(), and what does not.\n"
"\n"
"The kernel has no interface to read its NTP state from a module, so the\n"
"module records it on every adjtimex() call, reads included. status calls\n"
"adjtimex() with modes = 0 first (unprivileged; it changes nothing) so the\n"
"NTP block it shows is current; --no-refresh skips that call.\n"
"\n"
"With an interval, status prints one line per interval: the time, how far\n"
"REALTIME - MONOTONIC has moved since the start (steps), the rate of\n"
"REALTIME against MONOTONIC_RAW over the interval (slew and frequency\n"
"correction), the NTP maximum error and the clock state.\n"
"\n"
"USAGE: clockwatch status [--device PATH] [--json] [--no-refresh]\n"
"                         [--interval SEC [--count N]] [interval] [count]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch status                 # the page, decoded, with units\n"
"    clockwatch status --json          # one JSON object\n"
"    clockwatch status -i 1 -c 10      # ten 1 s samples of the live view\n"
"    clockwatch status 0.5             # a sample every 0.5 s until Ctrl-C\n"
"    clockwatch status -i 1 --json     # the live view as JSON Lines";

static const struct argp_option opts[] = {
	{ "device", 'd', "PATH", 0, "Page to read (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "json", 'j', NULL, 0, "One JSON object; JSON Lines with an interval", 0 },
	{ "interval", 'i', "SEC", 0, "Live view: one sample every SEC seconds", 0 },
	{ "count", 'c', "N", 0, "Live view: stop after N samples (interval 1 s unless given)", 0 },
	{ "no-refresh", OPT_NO_REFRESH, NULL, 0, "Do not call adjtimex() first: the NTP block may be old", 0 },
	{ "verbose", 'v', NULL, 0, "Say what could not be read, on stderr", 0 },
	{},
};

static void parse_interval(struct argp_state *state, const char *arg)
{
	if (env.interval > 0)
		argp_error(state, "interval given twice");
	if (parse_seconds(arg, MIN_INTERVAL_S, MAX_INTERVAL_S, &env.interval))
		argp_error(state, "invalid interval '%s': seconds from %g to %g expected",
			   arg, MIN_INTERVAL_S, MAX_INTERVAL_S);
}

static void parse_count(struct argp_state *state, const char *arg)
{
	if (env.count > 0)
		argp_error(state, "count given twice");
	if (parse_long(arg, 1, INT32_MAX, &env.count))
		argp_error(state, "invalid count '%s': a whole number from 1 expected",
			   arg);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'd':
		if (!*arg)
			argp_error(state, "empty device path");
		env.device = arg;
		env.device_set = true;
		break;
	case 'j':
		env.json = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'i':
		parse_interval(state, arg);
		break;
	case 'c':
		parse_count(state, arg);
		break;
	case OPT_NO_REFRESH:
		env.refresh = false;
		break;
	case ARGP_KEY_ARG:
		/* [interval] [count], as the libbpf tools take them */
		if (env.positional == 0)
			parse_interval(state, arg);
		else if (env.positional == 1)
			parse_count(state, arg);
		else
			argp_error(state, "unexpected argument '%s'", arg);
		env.positional++;
		break;
	case ARGP_KEY_END:
		if (env.count && env.interval == 0)
			env.interval = 1.0;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Make the module capture the kernel NTP state now (see the top). */
static void refresh_ntp(void)
{
	struct timex tx = { .modes = 0 };

	if (env.refresh && adjtimex(&tx) < 0)
		fprintf(stderr, "clockwatch: adjtimex: %s (the NTP block may be old)\n",
			strerror(errno));
}

static int read_page(struct cw_reader *reader, struct clockwatch_page *page)
{
	int err;

	refresh_ntp();
	err = cw_reader__read(reader, page);
	if (err)
		report_page_error(env.device, -err);
	return err;
}

static bool ntp_captured(const struct clockwatch_page *p)
{
	return (p->features & CLOCKWATCH_FEAT_NTP) && p->ntp_mono_ns != 0;
}

/* timex.freq is ppm scaled by 2^16. */
static double freq_ppm(int64_t freq)
{
	return (double)freq / 65536.0;
}

static const char *state_name(int state)
{
	const char *name = time_state_name(state);

	return name ? name : "unknown";
}

static void json_bits(struct json *j, const char *key, uint64_t mask,
		      const char *(*name)(unsigned int bit))
{
	char unnamed[24];
	unsigned int bit;

	json_array_begin(j, key);
	for (bit = 0; bit < 64; bit++)
		if (mask & (1ULL << bit))
			json_string(j, NULL, bit_name(unnamed, sizeof(unnamed), bit, name));
	json_array_end(j);
}

/* The clock tracker's fields, when the module publishes them. */
static bool tracker_present(const struct clockwatch_page *p)
{
	return CLOCKWATCH_FIELD_PRESENT(p, unseen_step_ns) &&
	       (p->features & CLOCKWATCH_FEAT_SYNC_STATE);
}

/*
 * The processes the page speaks of, from CLOCKWATCH_IOC_TASKS: the page
 * carries no pid.  known is false where the reader cannot ask (a page in
 * a plain file, a module without the ioctl).
 */
struct tasks {
	bool known;
	struct clockwatch_tasks t;
};

static void json_task(struct json *j, const struct tasks *tk, __s32 pid, const char *comm16)
{
	char comm[17] = "";

	if (!tk->known) {
		json_null(j, "pid");
		json_null(j, "comm");
		return;
	}
	memcpy(comm, comm16, 16);
	/* 0: none, or not visible from this pid namespace */
	json_int(j, "pid", pid);
	if (pid)
		json_string(j, "comm", comm);
	else
		json_null(j, "comm");
}

/* "chronyd[812]", "pid not visible here" or "" (unknown). */
static void format_task(char *buf, size_t len, const struct tasks *tk, __s32 pid,
			const char *comm16)
{
	if (!tk->known)
		snprintf(buf, len, "%s", "");
	else if (pid)
		snprintf(buf, len, "%.16s[%d]", comm16, pid);
	else
		snprintf(buf, len, "%s", "a process not visible here");
}

static void print_tracker_json(struct json *j, const struct clockwatch_page *p,
			       const struct tasks *tk)
{
	if (!tracker_present(p)) {
		json_null(j, "sync_state");
		return;
	}
	json_string(j, "sync_state", sync_state_name(p->sync_state));
	json_string(j, "sync_reason", sync_reason_name(p->sync_reason));
	json_int(j, "sync_mono_ns", p->sync_mono_ns);
	json_uint(j, "disruption_count", p->disruption_count);
	json_uint(j, "step_seq", p->step_seq);
	json_uint(j, "event_seq", p->event_seq);
	if (p->time_state < 0) {
		json_null(j, "time_state");
		json_null(j, "time_state_name");
	} else {
		json_int(j, "time_state", p->time_state);
		json_string(j, "time_state_name", state_name(p->time_state));
	}
	json_object_begin(j, "last_step");
	json_int(j, "delta_ns", p->last_step_delta_ns);
	json_string(j, "cause", step_cause_name(p->last_step_cause));
	json_bool(j, "by_daemon", p->last_step_flags & CLOCKWATCH_STEPF_DAEMON);
	json_int(j, "mono_ns", p->last_step_mono_ns);
	json_int(j, "real_ns", p->last_step_real_ns);
	json_task(j, tk, tk->t.last_step_pid, tk->t.last_step_comm);
	json_object_end(j);
	json_object_begin(j, "freq_measured_ppb");
	json_int(j, "short", p->freq_short_ppb);
	json_int(j, "short_window_raw_ns", p->freq_short_window_raw_ns);
	json_int(j, "long", p->freq_long_ppb);
	json_int(j, "long_window_raw_ns", p->freq_long_window_raw_ns);
	json_object_end(j);
	json_int(j, "slew_pending_ns", p->slew_pending_ns);
	json_string(j, "leap_pending",
		    p->leap_pending == CLOCKWATCH_LEAP_INSERT ? "insert" :
		    p->leap_pending == CLOCKWATCH_LEAP_DELETE ? "delete" : "none");
	json_object_begin(j, "daemon");
	json_uint(j, "count", p->daemon_count);
	json_task(j, tk, tk->t.daemon_pid, tk->t.daemon_comm);
	json_int(j, "maxerror_us", p->maxerror_us);
	json_int(j, "esterror_us", p->esterror_us);
	json_int(j, "maxerror_mono_ns", p->maxerror_mono_ns);
	json_int(j, "maxerror_raw_ns", p->maxerror_raw_ns);
	json_int(j, "interval_raw_ns", p->maxerror_interval_raw_ns);
	json_object_end(j);
	json_int(j, "unseen_step_ns", p->unseen_step_ns);
	json_uint(j, "ntp_missed", p->ntp_missed);
	json_uint(j, "events_dropped", p->events_dropped);
}

static void print_tracker_human(const struct clockwatch_page *p, const struct tasks *tk)
{
	char who[64];
	char secs[32];

	if (!tracker_present(p))
		return;
	printf("sync: %s (%s); %" PRIu64 " disruptions since the module loaded\n",
	       sync_state_name(p->sync_state), sync_reason_name(p->sync_reason),
	       (uint64_t)p->disruption_count);
	if (p->daemon_count) {
		format_task(who, sizeof(who), tk, tk->t.daemon_pid, tk->t.daemon_comm);
		printf("daemon: %s%smaxerror %" PRId64 " us as written; %u daemons seen since load\n",
		       who, *who ? ", " : "", (int64_t)p->maxerror_us, p->daemon_count);
	} else {
		printf("daemon: none seen since the module loaded\n");
	}
	if (p->step_seq) {
		format_task(who, sizeof(who), tk, tk->t.last_step_pid, tk->t.last_step_comm);
		format_seconds(secs, sizeof(secs), p->last_step_delta_ns);
		printf("steps: %" PRIu64 ", the last %s s by %s%s%s%s\n",
		       (uint64_t)p->step_seq, secs, step_cause_name(p->last_step_cause),
		       p->last_step_flags & CLOCKWATCH_STEPF_DAEMON ? " (sync daemon)" : "",
		       *who ? ", " : "", who);
	} else {
		printf("steps: none since the module loaded\n");
	}
	printf("rate vs MONOTONIC_RAW: %+.3f ppm over %.1f s, %+.3f ppm over %.1f s\n",
	       p->freq_short_ppb / 1000.0, p->freq_short_window_raw_ns / 1e9,
	       p->freq_long_ppb / 1000.0, p->freq_long_window_raw_ns / 1e9);
	printf("slew pending: %" PRId64 " ns; leap second: %s; time_state: %s\n",
	       (int64_t)p->slew_pending_ns,
	       p->leap_pending == CLOCKWATCH_LEAP_INSERT ? "insert pending" :
	       p->leap_pending == CLOCKWATCH_LEAP_DELETE ? "delete pending" : "none",
	       p->time_state < 0 ? "none seen yet" : state_name(p->time_state));
}

static void print_audit_json(struct json *j, const struct clockwatch_page *p)
{
	if (!page_has_audit(p)) {
		json_null(j, "audit_rtc");
		return;
	}
	json_object_begin(j, "audit_rtc");
	json_int(j, "offset_ns", p->audit_rtc_offset_ns);
	json_int(j, "err_ns", p->audit_rtc_err_ns);
	json_int(j, "rate_ppb", p->audit_rtc_rate_ppb);
	json_int(j, "rate_err_ppb", p->audit_rtc_rate_err_ppb);
	json_int(j, "raw_ns", p->audit_rtc_raw_ns);
	json_uint(j, "edges", p->audit_rtc_edges);
	json_uint(j, "misses", p->audit_rtc_misses);
	json_uint(j, "jumps", p->audit_rtc_jumps);
	json_uint(j, "unexplained", p->audit_rtc_unexplained);
	json_uint(j, "writes", p->audit_rtc_writes);
	json_int(j, "last_jump_ns", p->audit_rtc_jump_ns);
	json_int(j, "last_jump_raw_ns", p->audit_rtc_jump_raw_ns);
	if (CLOCKWATCH_FIELD_PRESENT(p, audit_rtc_jump_sum_ns))
		json_int(j, "jump_sum_ns", p->audit_rtc_jump_sum_ns);
	json_object_end(j);
}

/*
 * The RTC audit: a host pause shows as a jump, REALTIME fallen behind
 * the RTC by the pause (audit_rtc_jump_ns is minus the pause).
 */
static void print_audit_human(const struct clockwatch_page *p, int64_t raw_now)
{
	char secs[32], ago[32];

	if (!page_has_audit(p)) {
		printf("RTC audit: not running (no CMOS RTC, or audit_rtc=0)\n");
		return;
	}
	if (!p->audit_rtc_raw_ns) {
		printf("RTC audit: no seconds edge measured yet\n");
	} else {
		format_seconds(secs, sizeof(secs), p->audit_rtc_offset_ns);
		printf("RTC audit: REALTIME - RTC %s s +- %.3f ms, RTC rate %+.3f +- %.3f ppm;"
		       " %" PRIu64 " edges, %" PRIu64 " misses, %" PRIu64 " RTC writes,"
		       " %" PRIu64 " unexplained\n",
		       secs, p->audit_rtc_err_ns / 1e6, p->audit_rtc_rate_ppb / 1e3,
		       p->audit_rtc_rate_err_ppb / 1e3, (uint64_t)p->audit_rtc_edges,
		       (uint64_t)p->audit_rtc_misses, (uint64_t)p->audit_rtc_writes,
		       (uint64_t)p->audit_rtc_unexplained);
	}
	if (!p->audit_rtc_jumps) {
		printf("host pauses: none seen since the module loaded\n");
		return;
	}
	format_seconds(secs, sizeof(secs), -p->audit_rtc_jump_ns);
	format_seconds(ago, sizeof(ago), raw_now - p->audit_rtc_jump_raw_ns);
	printf("host pauses: %" PRIu64 " seen; the last %s s, seen %s s ago"
	       " (MONOTONIC_RAW)\n", (uint64_t)p->audit_rtc_jumps, secs, ago);
}

static void print_json(const struct clockwatch_page *p, const struct tasks *tk,
		       int64_t mono_now)
{
	const struct clockwatch_clocks *c = &p->clocks;
	const struct clockwatch_ntp *n = &p->ntp;
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "device", env.device);
	json_uint(&j, "version", p->version);
	json_uint(&j, "size", p->size);
	json_uint(&j, "features_mask", p->features);
	json_bits(&j, "features", p->features, feature_bit_name);
	json_uint(&j, "seq", p->seq);
	json_uint(&j, "update_count", p->update_count);
	json_int(&j, "realtime_ns", c->realtime_ns);
	json_int(&j, "monotonic_ns", c->monotonic_ns);
	json_int(&j, "monotonic_raw_ns", c->monotonic_raw_ns);
	json_int(&j, "boottime_ns", c->boottime_ns);
	json_int(&j, "tai_ns", c->tai_ns);
	json_int(&j, "realtime_minus_monotonic_ns", c->realtime_ns - c->monotonic_ns);
	json_int(&j, "realtime_minus_monotonic_raw_ns",
		 c->realtime_ns - c->monotonic_raw_ns);

	if (!ntp_captured(p)) {
		json_null(&j, "ntp");
	} else {
		json_object_begin(&j, "ntp");
		json_int(&j, "status", n->status);
		json_bits(&j, "status_names", (uint32_t)n->status, ntp_status_bit_name);
		json_int(&j, "time_state", n->time_state);
		json_string(&j, "time_state_name", state_name(n->time_state));
		json_int(&j, "maxerror_us", n->maxerror_us);
		json_int(&j, "esterror_us", n->esterror_us);
		json_int(&j, "offset_ns", n->offset_ns);
		json_int(&j, "freq_scaled_ppm", n->freq_scaled_ppm);
		json_double(&j, "freq_ppm", freq_ppm(n->freq_scaled_ppm), 6);
		json_double(&j, "freq_ppb", freq_ppm(n->freq_scaled_ppm) * 1000.0, 3);
		json_int(&j, "tick_us", n->tick_us);
		json_int(&j, "tai_s", n->tai_s);
		json_int(&j, "constant", (int64_t)n->constant);
		json_int(&j, "mono_ns", p->ntp_mono_ns);
		json_int(&j, "raw_ns", p->ntp_raw_ns);
		json_int(&j, "age_ns", mono_now - p->ntp_mono_ns);
		json_uint(&j, "calls", p->ntp_calls);
		json_uint(&j, "writes", p->ntp_writes);
		json_object_end(&j);
	}
	print_tracker_json(&j, p, tk);
	print_audit_json(&j, p);
	json_object_end(&j);
	fputc('\n', stdout);
}

static void print_clock(const char *name, int64_t ns, bool date)
{
	char secs[32];
	char utc[64];

	format_seconds(secs, sizeof(secs), ns);
	if (date) {
		format_utc(utc, sizeof(utc), ns);
		printf("  %-26s %22s s  %s\n", name, secs, utc);
	} else {
		printf("  %-26s %22s s\n", name, secs);
	}
}

/* A difference of two clocks: ns, and the instant it names as a date. */
static void print_offset(const char *name, int64_t ns)
{
	char secs[32];
	char utc[64];

	format_seconds(secs, sizeof(secs), ns);
	format_utc(utc, sizeof(utc), ns);
	printf("  %-26s %22" PRId64 " ns = %s s (%s)\n", name, ns, secs, utc);
}

static void print_ntp(const struct clockwatch_page *p, int64_t mono_now)
{
	const struct clockwatch_ntp *n = &p->ntp;
	char bits[256];
	char age[32];

	if (!(p->features & CLOCKWATCH_FEAT_NTP)) {
		printf("ntp: not captured by this module (no adjtimex hook)\n");
		return;
	}
	if (!p->ntp_mono_ns) {
		printf("ntp: not captured yet (no adjtimex() call since the module loaded)\n");
		return;
	}

	format_seconds(age, sizeof(age), mono_now - p->ntp_mono_ns);
	printf("ntp (as of the last adjtimex() call, %s s ago):\n", age);
	format_bits(bits, sizeof(bits), (uint32_t)n->status, ",", ntp_status_bit_name);
	printf("  %-14s 0x%04x %s\n", "status", (uint32_t)n->status, bits);
	printf("  %-14s %d %s\n", "time_state", n->time_state, state_name(n->time_state));
	printf("  %-14s %" PRId64 " us\n", "maxerror", (int64_t)n->maxerror_us);
	printf("  %-14s %" PRId64 " us\n", "esterror", (int64_t)n->esterror_us);
	printf("  %-14s %" PRId64 " ns\n", "offset", (int64_t)n->offset_ns);
	printf("  %-14s %+.6f ppm = %+.3f ppb (%" PRId64 " scaled ppm)\n", "freq",
	       freq_ppm(n->freq_scaled_ppm), freq_ppm(n->freq_scaled_ppm) * 1000.0,
	       (int64_t)n->freq_scaled_ppm);
	printf("  %-14s %" PRId64 " us\n", "tick", (int64_t)n->tick_us);
	printf("  %-14s %d s\n", "tai", n->tai_s);
	printf("  %-14s %" PRId64 "\n", "constant", (int64_t)n->constant);
	printf("  %-14s %" PRIu64 " calls, %" PRIu64 " writes since the module loaded\n",
	       "adjtimex", (uint64_t)p->ntp_calls, (uint64_t)p->ntp_writes);
}

static void print_human(const struct clockwatch_page *p, const struct tasks *tk,
			int64_t mono_now)
{
	const struct clockwatch_clocks *c = &p->clocks;
	char features[128];
	char age[32];

	format_bits(features, sizeof(features), p->features, ",", feature_bit_name);
	format_seconds(age, sizeof(age), mono_now - c->monotonic_ns);
	printf("page: %s, version %u, %u bytes, seq %u, %" PRIu64 " updates\n",
	       env.device, p->version, p->size, p->seq, (uint64_t)p->update_count);
	printf("features: %s\n", features);
	printf("clocks (read at one instant, %s s ago):\n", age);
	print_clock("REALTIME", c->realtime_ns, true);
	print_clock("MONOTONIC", c->monotonic_ns, false);
	print_clock("MONOTONIC_RAW", c->monotonic_raw_ns, false);
	print_clock("BOOTTIME", c->boottime_ns, false);
	print_clock("TAI", c->tai_ns, true);
	print_offset("REALTIME - MONOTONIC", c->realtime_ns - c->monotonic_ns);
	print_offset("REALTIME - MONOTONIC_RAW", c->realtime_ns - c->monotonic_raw_ns);
	print_ntp(p, mono_now);
	print_tracker_human(p, tk);
	print_audit_human(p, now_ns(CLOCK_MONOTONIC_RAW));
}

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

/* One line of the live view: cur against the first and the previous sample. */
static void print_sample(const struct clockwatch_page *first,
			 const struct clockwatch_page *prev,
			 const struct clockwatch_page *cur)
{
	const struct clockwatch_clocks *c = &cur->clocks;
	int64_t change = (c->realtime_ns - c->monotonic_ns) -
			 (first->clocks.realtime_ns - first->clocks.monotonic_ns);
	int64_t d_raw = c->monotonic_raw_ns - prev->clocks.monotonic_raw_ns;
	int64_t d_real = c->realtime_ns - prev->clocks.realtime_ns;
	double rate = NAN;	/* no new snapshot of the clocks */
	bool ntp = ntp_captured(cur);
	char when[16] = "-";
	char rate_str[32];
	time_t t;
	struct tm tm;

	/* ppb of REALTIME against MONOTONIC_RAW, both read at one instant */
	if (d_raw > 0)
		rate = (double)(d_real - d_raw) * 1e9 / (double)d_raw;

	if (env.json) {
		struct json j;

		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_int(&j, "realtime_ns", c->realtime_ns);
		json_int(&j, "monotonic_raw_ns", c->monotonic_raw_ns);
		json_int(&j, "interval_raw_ns", d_raw);
		json_int(&j, "realtime_minus_monotonic_change_ns", change);
		json_double(&j, "rate_ppb", rate, 3);
		if (ntp) {
			json_int(&j, "maxerror_us", cur->ntp.maxerror_us);
			json_int(&j, "time_state", cur->ntp.time_state);
			json_string(&j, "time_state_name", state_name(cur->ntp.time_state));
		} else {
			json_null(&j, "maxerror_us");
			json_null(&j, "time_state");
			json_null(&j, "time_state_name");
		}
		json_uint(&j, "update_count", cur->update_count);
		json_object_end(&j);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}

	t = (time_t)(c->realtime_ns / NSEC_PER_SEC);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (isfinite(rate))
		snprintf(rate_str, sizeof(rate_str), "%+.1f", rate);
	else
		snprintf(rate_str, sizeof(rate_str), "-");
	if (ntp)
		printf("%-8s  %+20" PRId64 "  %14s  %12" PRId64 "  %s\n", when, change,
		       rate_str, (int64_t)cur->ntp.maxerror_us, state_name(cur->ntp.time_state));
	else
		printf("%-8s  %+20" PRId64 "  %14s  %12s  %s\n", when, change,
		       rate_str, "-", "-");
	fflush(stdout);
}

static void add_ns(struct timespec *ts, int64_t ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / NSEC_PER_SEC;
	ts->tv_nsec = ns % NSEC_PER_SEC;
}

static int live_view(struct cw_reader *reader)
{
	struct clockwatch_page first, prev, cur;
	int64_t step = (int64_t)llround(env.interval * 1e9);
	struct timespec next;
	long n;
	int err;

	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);

	if (read_page(reader, &first))
		return EXIT_ERROR;
	prev = first;

	if (!env.json)
		printf("%-8s  %20s  %14s  %12s  %s\n", "TIME", "R-M CHANGE(ns)",
		       "RATE(ppb)", "MAXERROR(us)", "STATE");

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (n = 0; !env.count || n < env.count; n++) {
		add_ns(&next, step);
		/* Absolute deadlines: the samples do not drift apart. */
		do {
			err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		} while (err == EINTR && !exiting);
		if (exiting)
			break;

		if (read_page(reader, &cur))
			return EXIT_ERROR;
		print_sample(&first, &prev, &cur);
		prev = cur;
	}
	return EXIT_OK;
}

/*
 * The page and the processes it speaks of, as one answer: the tasks are
 * asked for after the page, and the page read again while the answer
 * goes with another daemon or step than the copy (one changed between).
 */
static int read_page_tasks(struct cw_reader *reader, struct clockwatch_page *page,
			   struct tasks *tk)
{
	int tries, err;

	for (tries = 0; tries < 5; tries++) {
		if (read_page(reader, page))
			return -1;
		err = cw_reader__tasks(reader, &tk->t);
		tk->known = err == 0;
		if (err) {
			memset(&tk->t, 0, sizeof(tk->t));
			if (env.verbose || err != -ENOTTY)
				fprintf(stderr, "clockwatch: %s: the daemon's and the last step's pids: %s\n",
					env.device, strerror(-err));
			return 0;
		}
		if (tk->t.daemon_count == page->daemon_count && tk->t.step_seq == page->step_seq)
			return 0;
	}
	/* Steps or daemon changes faster than we can read: say nothing. */
	tk->known = false;
	memset(&tk->t, 0, sizeof(tk->t));
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "[interval] [count]",
		.doc = doc,
	};
	struct clockwatch_page page;
	struct cw_reader *reader;
	struct tasks tk = {};
	int ret = EXIT_ERROR;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;

	reader = cw_reader__open(env.device);
	if (!reader) {
		int err = errno;

		/*
		 * No module: what works without it is the complete answer,
		 * and no error.  A device named on the command line is one.
		 */
		if (err == ENOENT && !env.device_set && env.interval == 0) {
			print_modless_status(stdout, env.json);
			return EXIT_OK;
		}
		report_page_error(env.device, err);
		return EXIT_ERROR;
	}

	if (env.interval > 0) {
		ret = live_view(reader);
		goto cleanup;
	}

	if (read_page_tasks(reader, &page, &tk))
		goto cleanup;
	if (env.json)
		print_json(&page, &tk, now_ns(CLOCK_MONOTONIC));
	else
		print_human(&page, &tk, now_ns(CLOCK_MONOTONIC));
	ret = EXIT_OK;

cleanup:
	cw_reader__close(reader);
	return ret;
}
