// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch record: run a command and record, while it runs, what
 * clockwatch sees, as JSON Lines for `clockwatch report` (and for any
 * other reader; the format is in clockwatch(8)):
 *
 *   header      the kernel, the host, the command, the start on every
 *               clock, the sources that could be opened and why not
 *   sample      every --interval: REALTIME - MONOTONIC and the bound
 *               (libclockwatch's cw_clock__now(): earliest, latest, status)
 *   step, ntp_adjust, leap, disruption, stall, overrun, test
 *               the module's event ring, as `clockwatch watch --json`
 *   pause       a pause of one of the command's processes (BPF), as
 *               `clockwatch guard --json`
 *   cpu_stalls  at the end: the per-CPU probe's histograms for the run
 *               and its longest stalls, as `clockwatch stalls --json`
 *   end         the command's exit status and the counts
 *
 * Without the module the steps and NTP writes come from BPF (as in
 * watch), and the bound from adjtimex(); without BPF there are no pauses.
 * The header says what is missing and why.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "bpf_events.h"
#include "clockwatch.h"
#include "commands.h"
#include "cwbpf.h"
#include "json.h"
#include "stalls_cpu.h"
#include "util.h"
#include "watch.h"

#define RECORD_FORMAT		1
#define DEFAULT_INTERVAL_MS	100
#define DEFAULT_THRESHOLD_MS	10
#define MAX_WAIT_MS		50	/* the longest the loop sleeps */

static struct record_env {
	const char *output;
	long interval_ms;
	uint64_t threshold_ns;
	bool verbose;
	int first;		/* argv index of the command */
} env = {
	.interval_ms = DEFAULT_INTERVAL_MS,
	.threshold_ns = DEFAULT_THRESHOLD_MS * NSEC_PER_MSEC,
};

static const char doc[] =
"Run a command and record what clockwatch sees while it runs: clock steps,\n"
"NTP writes, disruptions and CPU stalls from the module's event stream;\n"
"REALTIME - MONOTONIC and the clock's error bound every --interval; the\n"
"pauses of the command's processes (BPF). The record is JSON Lines, one\n"
"object per record, times in ns with the clock in the name (mono_ns:\n"
"CLOCK_MONOTONIC, real_ns: CLOCK_REALTIME); `clockwatch report` draws it.\n"
"Exits with the command's status. Without the module or without BPF it\n"
"records what it can, and the header says what is missing.\n"
"\n"
"USAGE: clockwatch record -o FILE [--interval MS] [--threshold MS] -- CMD [ARG...]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch record -o run.jsonl -- ./renew-lease     # one run\n"
"    clockwatch record -o run.jsonl -i 20 -- make test   # a sample every 20 ms\n"
"    clockwatch report run.jsonl -o run.html             # and its picture";

static const struct argp_option opts[] = {
	{ "output", 'o', "FILE", 0, "Write the record to FILE (required)", 0 },
	{ "interval", 'i', "MS", 0, "Sample the clocks and the bound every MS ms (default 100)", 0 },
	{ "threshold", 't', "MS", 0, "Record pauses of at least MS ms (default 10)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's debug messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	double ms;

	switch (key) {
	case 'o':
		if (!*arg)
			argp_error(state, "empty output file name");
		env.output = arg;
		break;
	case 'i':
		if (parse_long(arg, 1, 60000, &env.interval_ms))
			argp_error(state, "invalid interval '%s': whole ms from 1 to 60000 expected",
				   arg);
		break;
	case 't':
		if (parse_seconds(arg, 0.001, 3.6e6, &ms))
			argp_error(state, "invalid threshold '%s': ms from 0.001 expected", arg);
		env.threshold_ns = (uint64_t)(ms * 1e6);
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		env.first = state->next - 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no command given (clockwatch record -o FILE -- CMD...)");
		break;
	case ARGP_KEY_END:
		if (!env.output)
			argp_error(state, "no output file given (-o FILE)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static struct recorder {
	FILE *out;
	int module_fd;			/* the event ring, or -1 */
	const char *module_note;	/* why not */
	struct cw_pauses *pauses;	/* or NULL */
	char bpf_note[128];
	struct cw_clocks *clocks;	/* steps without the module, or NULL */
	struct cw_clock *clock;		/* the bound */
	bool adjtimex;			/* the bound from adjtimex(), no module */
	uint64_t samples, events, pauses_seen, clock_events;
} rec = { .module_fd = -1 };

static int on_pause(void *ctx, const struct cw_pause_event *e)
{
	(void)ctx;
	print_pause_event(rec.out, e, true);
	rec.pauses_seen++;
	return 0;
}

static int on_clock(void *ctx, const struct cw_clock_event *e)
{
	(void)ctx;
	print_clock_event(rec.out, e, true);
	rec.clock_events++;
	return 0;
}

/* Every record waiting in the module's ring: 0, or a negative errno. */
static int drain_module(void)
{
	struct clockwatch_event evs[16];
	ssize_t n, i;

	if (rec.module_fd < 0)
		return 0;
	for (;;) {
		n = read(rec.module_fd, evs, sizeof(evs));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (i = 0; i < n / (ssize_t)sizeof(evs[0]); i++) {
			print_module_event_json(rec.out, &evs[i]);
			rec.events++;
		}
		if (n < (ssize_t)sizeof(evs))
			return 0;
	}
}

static bool has_bound(const struct cw_now *n)
{
	return n->status == CW_STATUS_SYNCHRONIZED || n->status == CW_STATUS_FREE_RUNNING;
}

/* One "sample" record: REALTIME - MONOTONIC, and the bound. */
static void sample(void)
{
	struct timex tx = { .modes = 0 };
	int64_t mono, error, offset;
	struct cw_now n;
	struct json j;

	/* Make the module capture the NTP state now (as `now` does). */
	if (!rec.adjtimex)
		adjtimex(&tx);
	cw_clock__now(rec.clock, &n);
	offset = real_minus_mono(3, &mono, &error);

	json_init(&j, rec.out);
	json_object_begin(&j, NULL);
	json_string(&j, "type", "sample");
	json_int(&j, "mono_ns", mono);
	json_int(&j, "real_minus_mono_ns", offset);
	json_int(&j, "offset_error_ns", error);
	json_string(&j, "status", cw_status_str(n.status));
	json_string(&j, "reason", cw_reason_str(n.reason));
	if (has_bound(&n)) {
		json_uint(&j, "bound_ns", n.bound_ns);
		json_int(&j, "earliest_ns", n.earliest_ns);
		json_int(&j, "latest_ns", n.latest_ns);
	} else {
		json_null(&j, "bound_ns");
		json_null(&j, "earliest_ns");
		json_null(&j, "latest_ns");
	}
	json_object_end(&j);
	fputc('\n', rec.out);
	rec.samples++;
}

static void header(char **cmd)
{
	struct utsname u = {};
	struct json j;
	char kernel[512];
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	uname(&u);
	snprintf(kernel, sizeof(kernel), "%s %s %s %s", u.sysname, u.release, u.version,
		 u.machine);
	json_init(&j, rec.out);
	json_object_begin(&j, NULL);
	json_string(&j, "type", "header");
	json_int(&j, "format", RECORD_FORMAT);
	json_string(&j, "cli_version", CLOCKWATCH_VERSION);
	json_string(&j, "kernel", kernel);
	json_string(&j, "kernel_release", u.release);
	json_string(&j, "host", u.nodename);
	json_int(&j, "nr_cpus", cpus > 0 ? cpus : 1);
	json_array_begin(&j, "command");
	for (; *cmd; cmd++)
		json_string(&j, NULL, *cmd);
	json_array_end(&j);
	json_int(&j, "interval_ns", env.interval_ms * NSEC_PER_MSEC);
	json_uint(&j, "pause_threshold_ns", env.threshold_ns);
	json_object_begin(&j, "start");
	json_int(&j, "realtime_ns", now_ns(CLOCK_REALTIME));
	json_int(&j, "monotonic_ns", now_ns(CLOCK_MONOTONIC));
	json_int(&j, "monotonic_raw_ns", now_ns(CLOCK_MONOTONIC_RAW));
	json_int(&j, "boottime_ns", now_ns(CLOCK_BOOTTIME));
	json_int(&j, "tai_ns", now_ns(CLOCK_TAI));
	json_object_end(&j);
	json_object_begin(&j, "sources");
	json_bool(&j, "module", rec.module_fd >= 0);
	if (rec.module_fd < 0)
		json_string(&j, "module_missing", rec.module_note);
	json_bool(&j, "bpf_pauses", rec.pauses);
	if (!rec.pauses)
		json_string(&j, "bpf_missing", rec.bpf_note);
	json_string(&j, "steps", rec.module_fd >= 0 ? "module" : rec.clocks ? "bpf" : "none");
	json_string(&j, "bound", rec.adjtimex ? "adjtimex" : "module");
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', rec.out);
}

static void footer(int status, int64_t elapsed_ns)
{
	uint64_t lost_events = 0, lost_hists = 0, lost_tasks = 0;
	struct json j;

	if (rec.pauses)
		cw_pauses__lost(rec.pauses, &lost_events, &lost_hists, &lost_tasks);
	json_init(&j, rec.out);
	json_object_begin(&j, NULL);
	json_string(&j, "type", "cpu_stalls");
	json_int(&j, "mono_ns", now_ns(CLOCK_MONOTONIC));
	stalls_cpu_print(&j);
	json_object_end(&j);
	fputc('\n', rec.out);

	json_init(&j, rec.out);
	json_object_begin(&j, NULL);
	json_string(&j, "type", "end");
	json_int(&j, "mono_ns", now_ns(CLOCK_MONOTONIC));
	json_int(&j, "real_ns", now_ns(CLOCK_REALTIME));
	json_int(&j, "elapsed_ns", elapsed_ns);
	if (WIFEXITED(status))
		json_int(&j, "exit_status", WEXITSTATUS(status));
	else
		json_int(&j, "signal", WTERMSIG(status));
	json_uint(&j, "samples", rec.samples);
	json_uint(&j, "module_events", rec.events);
	json_uint(&j, "bpf_clock_events", rec.clock_events);
	json_uint(&j, "pauses", rec.pauses_seen);
	json_uint(&j, "pauses_lost", lost_events);
	json_object_end(&j);
	fputc('\n', rec.out);
}

/* Open what can be opened; say on stderr what cannot. */
static void open_sources(pid_t child)
{
	struct cw_pauses_opts po = { .event_min_ns = env.threshold_ns, .tracked = true };
	struct cw_clock_opts co = { .sz = sizeof(co) };
	int err;

	err = module_events_open(CLOCKWATCH_DEVICE);
	if (err >= 0) {
		rec.module_fd = err;
		if (watch_timens_init())
			fprintf(stderr, "clockwatch record: time namespace offsets unknown: times as the host's\n");
	} else {
		rec.module_note = err == -ENOENT ? "the clockwatch module is not loaded" :
				  err == -EPERM ? "its event stream needs CAP_PERFMON" :
				  strerror(-err);
		fprintf(stderr, "clockwatch record: no module events: %s: %s\n",
			CLOCKWATCH_DEVICE, rec.module_note);
	}

	err = cw_pauses__open(&rec.pauses, &po);
	if (!err)
		err = cw_pauses__track(rec.pauses, child);
	if (err) {
		snprintf(rec.bpf_note, sizeof(rec.bpf_note), "BPF: %s%s", strerror(-err),
			 err == -EPERM || err == -EACCES ? " (needs CAP_BPF and CAP_PERFMON)" : "");
		fprintf(stderr, "clockwatch record: no pauses: %s\n", rec.bpf_note);
		cw_pauses__close(rec.pauses);
		rec.pauses = NULL;
	} else {
		cw_pauses__set_callback(rec.pauses, on_pause, NULL);
	}

	/* Without the module, steps and NTP writes from the syscalls. */
	if (rec.module_fd < 0 && cw_clocks__open(&rec.clocks) == 0)
		cw_clocks__set_callback(rec.clocks, on_clock, NULL);

	rec.adjtimex = rec.module_fd < 0 && access(CLOCKWATCH_DEVICE, F_OK) != 0;
	co.flags = rec.adjtimex ? CW_CLOCK_ADJTIMEX : 0;
	rec.clock = cw_clock__open(NULL, &co);
	if (!rec.clock && !rec.adjtimex) {
		rec.adjtimex = true;
		co.flags = CW_CLOCK_ADJTIMEX;
		rec.clock = cw_clock__open(NULL, &co);
	}
}

static void close_sources(void)
{
	if (rec.module_fd >= 0)
		close(rec.module_fd);
	cw_clocks__close(rec.clocks);
	cw_pauses__close(rec.pauses);
	cw_clock__close(rec.clock);
	stalls_cpu_stop();
}

/* Wait for events or the next sample, and write what came. */
static int poll_once(int timeout_ms)
{
	struct pollfd pfds[3];
	int n = 0, err;

	if (rec.module_fd >= 0)
		pfds[n++] = (struct pollfd){ .fd = rec.module_fd, .events = POLLIN };
	if (rec.pauses)
		pfds[n++] = (struct pollfd){ .fd = cw_pauses__events_fd(rec.pauses),
					     .events = POLLIN };
	if (rec.clocks)
		pfds[n++] = (struct pollfd){ .fd = cw_clocks__events_fd(rec.clocks),
					     .events = POLLIN };
	if (poll(pfds, n, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	err = drain_module();
	if (rec.pauses)
		cw_pauses__poll(rec.pauses, 0);
	if (rec.clocks)
		cw_clocks__poll(rec.clocks, 0);
	return err;
}

static int record(char **cmd)
{
	int64_t interval = env.interval_ms * NSEC_PER_MSEC, t0, next, left;
	int release, status = 0, err, ret = EXIT_ERROR;
	pid_t child, w = 0;

	rec.out = fopen(env.output, "we");
	if (!rec.out) {
		fprintf(stderr, "clockwatch record: %s: %s\n", env.output, strerror(errno));
		return EXIT_ERROR;
	}
	child = spawn_held(cmd, &release);
	if (child < 0) {
		perror("clockwatch record: fork");
		fclose(rec.out);
		return EXIT_ERROR;
	}
	signal(SIGINT, SIG_IGN);	/* the command gets it and ends */
	signal(SIGQUIT, SIG_IGN);

	open_sources(child);
	if (stalls_cpu_start())
		fprintf(stderr, "clockwatch record: no per-CPU stall summary: %s\n",
			strerror(ENOMEM));
	header(cmd);
	sample();
	fflush(rec.out);
	t0 = now_ns(CLOCK_MONOTONIC);
	next = t0 + interval;
	if (spawn_release(release)) {
		perror("clockwatch record: starting the command");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		goto out;
	}

	while (w != child) {
		w = waitpid(child, &status, WNOHANG);
		if (w < 0 && errno != EINTR) {
			perror("clockwatch record: waitpid");
			goto out;
		}
		left = next - now_ns(CLOCK_MONOTONIC);
		if (w != child && left > 0) {
			err = poll_once(left / NSEC_PER_MSEC < MAX_WAIT_MS ?
					(int)((left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC) :
					MAX_WAIT_MS);
			if (err) {
				fprintf(stderr, "clockwatch record: %s: %s\n", CLOCKWATCH_DEVICE,
					strerror(-err));
				close(rec.module_fd);
				rec.module_fd = -1;
			}
			continue;
		}
		/* a sample is due, or the command ended: what came first, then it */
		poll_once(0);
		sample();
		fflush(rec.out);
		next += interval;
		if (next <= now_ns(CLOCK_MONOTONIC))
			next = now_ns(CLOCK_MONOTONIC) + interval;
	}
	stalls_cpu_finish();
	footer(status, now_ns(CLOCK_MONOTONIC) - t0);
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	close_sources();
	if (fclose(rec.out)) {
		fprintf(stderr, "clockwatch record: %s: %s\n", env.output, strerror(errno));
		if (ret == EXIT_OK)
			ret = EXIT_ERROR;
	}
	return ret;
}

int cmd_record(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "-- CMD [ARG...]",
		.doc = doc,
	};

	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL))
		return EXIT_USAGE;
	cw_bpf_set_verbose(env.verbose);
	return record(argv + env.first);
}
