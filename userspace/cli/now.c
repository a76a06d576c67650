// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch now: the time as an interval [earliest, latest] that holds
 * the true time, its bound term by term, and whether to trust it.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include "clockwatch.h"
#include "commands.h"
#include "json.h"
#include "util.h"

#define MAX_DRIFT_PPM_MAX	999999L
/* Without the module the kernel's maxerror growth is the drift term. */
#define KERNEL_GROWTH_PPM	500L

static struct now_env {
	const char *device;
	bool device_set;
	bool json;
	bool bracketed;
	bool adjtimex;		/* source: adjtimex(), no module */
	bool verbose;
	long max_drift_ppm;
} env = {
	.device = CLOCKWATCH_DEVICE,
	.max_drift_ppm = CW_MAX_DRIFT_PPB_DEFAULT / 1000,
};

static const char doc[] =
"Show the time as an interval that contains the true time, and its status.\n"
"\n"
"bound = maxerror as the sync daemon last wrote it + max drift x the time\n"
"since that write (MONOTONIC_RAW) + the read window (+ 1 s across a leap\n"
"second). The interval is [REALTIME - bound, REALTIME + bound]; it holds\n"
"only while the status is synchronized or free_running.\n"
"\n"
"Without " CLOCKWATCH_DEVICE " (or with --adjtimex) the facts come from\n"
"adjtimex() instead: bound = maxerror as the kernel holds it + 500 us + the\n"
"PLL's offset (+ 1 s across a leap second); a step by another process\n"
"shows there only until the sync daemon next writes to the kernel.\n"
"\n"
"Exit status: 0 with a bound, 1 without one (unsynchronized, disrupted,\n"
"unknown) or on error, 2 for bad usage.\n"
"\n"
"USAGE: clockwatch now [--device PATH | --adjtimex] [--json] [--max-drift PPM]\n"
"                      [--bracketed]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch now                    # interval, bound and its terms\n"
"    clockwatch now --json             # earliest_ns, latest_ns, bound_ns, status\n"
"    clockwatch now --max-drift 10     # a clock known to drift 10 ppm at most\n"
"    clockwatch now --adjtimex         # the bound without the module";

static const struct argp_option opts[] = {
	{ "device", 'd', "PATH", 0, "Page to read (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "json", 'j', NULL, 0, "One JSON object", 0 },
	{ "max-drift", 'm', "PPM", 0, "Worst frequency error between daemon updates, ppm (default 50)", 0 },
	{ "bracketed", 'b', NULL, 0, "Read MONOTONIC_RAW around REALTIME (3 clock reads)", 0 },
	{ "verbose", 'v', NULL, 0, "Say where the facts come from and why, on stderr", 0 },
	{ "adjtimex", 'a', NULL, 0, "Facts from adjtimex(), not the module (default without "
	  CLOCKWATCH_DEVICE ")", 0 },
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
	case 'a':
		env.adjtimex = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'j':
		env.json = true;
		break;
	case 'b':
		env.bracketed = true;
		break;
	case 'm':
		if (parse_long(arg, 1, MAX_DRIFT_PPM_MAX, &env.max_drift_ppm))
			argp_error(state, "invalid max drift '%s': whole ppm from 1 to %ld expected",
				   arg, MAX_DRIFT_PPM_MAX);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (env.adjtimex && env.device_set)
			argp_error(state, "--adjtimex reads no device: drop --device");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static bool has_bound(const struct cw_now *n)
{
	return n->status == CW_STATUS_SYNCHRONIZED ||
	       n->status == CW_STATUS_FREE_RUNNING;
}

static bool from_adjtimex(const struct cw_now *n)
{
	return n->flags & CW_NOW_ADJTIMEX;
}

static void print_json(const struct cw_now *n)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "source", from_adjtimex(n) ? "adjtimex" : "module");
	if (has_bound(n)) {
		json_int(&j, "earliest_ns", n->earliest_ns);
		json_int(&j, "latest_ns", n->latest_ns);
		json_uint(&j, "bound_ns", n->bound_ns);
	} else {
		json_null(&j, "earliest_ns");
		json_null(&j, "latest_ns");
		json_null(&j, "bound_ns");
	}
	json_string(&j, "status", cw_status_str(n->status));
	json_string(&j, "reason", cw_reason_str(n->reason));
	json_int(&j, "real_ns", n->real_ns);
	if (has_bound(n)) {
		json_object_begin(&j, "terms_ns");
		json_uint(&j, "maxerror", n->maxerror_ns);
		json_uint(&j, "correction", n->correction_ns);
		json_uint(&j, "drift", n->drift_ns);
		json_uint(&j, "window", n->window_ns);
		json_uint(&j, "leap", n->leap_ns);
		json_object_end(&j);
		json_int(&j, "since_write_ns", n->since_write_ns);
		json_int(&j, "correction_age_ns", n->correction_age_ns);
	}
	/* Without the module the kernel's growth is the drift that applies. */
	json_uint(&j, "max_drift_ppb", (uint64_t)(from_adjtimex(n) ? KERNEL_GROWTH_PPM :
							env.max_drift_ppm) * 1000);
	json_object_end(&j);
	fputc('\n', stdout);
}

/* "1.500000 ms" style: ns with the unit that reads best. */
static void format_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 1000000000ULL)
		snprintf(buf, len, "%.6f s", ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, len, "%.6f ms", ns / 1e6);
	else if (ns >= 1000ULL)
		snprintf(buf, len, "%.3f us", ns / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 " ns", ns);
}

/* The terms of a bound from adjtimex(): no maxerror write to count from. */
static void print_adjtimex_terms(const struct cw_now *n)
{
	char a[64];

	format_ns(a, sizeof(a), n->maxerror_ns);
	printf("  maxerror  %14s  as the kernel holds it (the daemon's, +500 us/s)\n", a);
	format_ns(a, sizeof(a), n->correction_ns);
	printf("  correct.  %14s  the PLL's offset, read with the time\n", a);
	format_ns(a, sizeof(a), n->drift_ns);
	printf("  drift     %14s  the kernel's growth owed for this second\n", a);
	format_ns(a, sizeof(a), n->window_ns);
	printf("  window    %14s  %s\n", a, n->window_ns ?
	       "the time came in us with the facts" : "the time came with the facts");
	format_ns(a, sizeof(a), n->leap_ns);
	printf("  leap      %14s  %s\n", a, n->leap_ns ? "a leap second is in reach" :
	       "no leap second in reach");
}

static void print_human(const struct cw_now *n)
{
	char a[64], b[64];

	printf("status    %s (%s)\n", cw_status_str(n->status), cw_reason_str(n->reason));
	printf("source    %s\n", from_adjtimex(n) ?
	       "adjtimex (no module: a step by another process shows only until the\n"
	       "          daemon next writes; see clockwatch(8))" :
	       "module (" CLOCKWATCH_DEVICE " page)");
	format_utc(a, sizeof(a), n->real_ns);
	printf("REALTIME  %s  (%" PRId64 " ns)\n", a, (int64_t)n->real_ns);
	if (!has_bound(n)) {
		printf("bound     none: do not trust the clock\n");
		return;
	}
	format_utc(a, sizeof(a), n->earliest_ns);
	printf("earliest  %s  (%" PRId64 " ns)\n", a, (int64_t)n->earliest_ns);
	format_utc(a, sizeof(a), n->latest_ns);
	printf("latest    %s  (%" PRId64 " ns)\n", a, (int64_t)n->latest_ns);
	format_ns(a, sizeof(a), n->bound_ns);
	printf("bound     +/- %s (%" PRIu64 " ns) =\n", a, (uint64_t)n->bound_ns);
	if (from_adjtimex(n)) {
		print_adjtimex_terms(n);
		return;
	}
	format_ns(a, sizeof(a), n->maxerror_ns);
	printf("  maxerror  %14s  as the sync daemon wrote it\n", a);
	format_ns(a, sizeof(a), n->correction_ns);
	format_ns(b, sizeof(b), (uint64_t)(n->correction_age_ns > 0 ?
					   n->correction_age_ns : 0));
	printf("  correct.  %14s  still to be corrected, as read %s ago\n", a, b);
	format_ns(a, sizeof(a), n->drift_ns);
	format_ns(b, sizeof(b), (uint64_t)(n->since_write_ns > 0 ? n->since_write_ns : 0));
	printf("  drift     %14s  %ld ppm x %s since that write\n", a, env.max_drift_ppm, b);
	format_ns(a, sizeof(a), n->window_ns);
	printf("  window    %14s  %s\n", a, n->flags & CW_NOW_BRACKETED ?
	       "MONOTONIC_RAW around the REALTIME read" : "one clock read");
	format_ns(a, sizeof(a), n->leap_ns);
	printf("  leap      %14s  %s\n", a, n->leap_ns ? "a leap second is in reach" :
	       "no leap second in reach");
}

int cmd_now(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	struct cw_clock_opts copts = { .sz = sizeof(copts) };
	struct timex tx = { .modes = 0 };
	struct cw_clock *clock;
	struct cw_now n;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	copts.max_drift_ppb = (__u64)env.max_drift_ppm * 1000;
	copts.flags = env.bracketed ? CW_CLOCK_BRACKETED : 0;
	/* The module when its device is there, else adjtimex(). */
	if (!env.device_set && !env.adjtimex && access(CLOCKWATCH_DEVICE, F_OK)) {
		env.adjtimex = true;
		if (env.verbose)
			fprintf(stderr, "clockwatch: %s is absent: the facts come from adjtimex()\n",
				CLOCKWATCH_DEVICE);
	} else if (env.verbose) {
		fprintf(stderr, "clockwatch: the facts come from %s\n",
			env.adjtimex ? "adjtimex() (--adjtimex)" : env.device);
	}
	if (env.adjtimex) {
		if (env.max_drift_ppm > KERNEL_GROWTH_PPM) {
			fprintf(stderr, "clockwatch: --max-drift above %ld ppm needs the module: "
				"without it the kernel's maxerror growth is the drift term\n",
				KERNEL_GROWTH_PPM);
			return EXIT_ERROR;
		}
		copts.flags = CW_CLOCK_ADJTIMEX;
	}

	clock = cw_clock__open(env.device, &copts);
	if (!clock) {
		report_page_error(env.device, errno);
		return EXIT_ERROR;
	}
	/* Make the module capture the NTP state now (as status does). */
	if (!env.adjtimex)
		adjtimex(&tx);
	err = cw_clock__now(clock, &n);
	cw_clock__close(clock);
	if (err && err != -EAGAIN && err != -ESTALE && err != -EPROTO) {
		fprintf(stderr, "clockwatch: %s: %s\n",
			env.adjtimex ? "adjtimex" : env.device, cw_strerror(err));
		/* n says "unknown" and why: --json answers in JSON all the same */
		if (env.json)
			print_json(&n);
		return EXIT_ERROR;
	}
	if (env.json)
		print_json(&n);
	else
		print_human(&n);
	return has_bound(&n) ? EXIT_OK : EXIT_ERROR;
}
