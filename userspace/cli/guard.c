// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch guard: the lease guard, for a person to try and for a system
 * to set up.
 *
 *   guard --pin      load the pause and clock trackers and pin their maps
 *                    and links under /sys/fs/bpf/clockwatch, where
 *                    libclockwatch's cw_guard__*() find them; they stay
 *                    loaded after this command exits, until --unpin
 *   guard --unpin    remove them
 *   guard --status   say whether they are pinned
 *   guard -- CMD     run CMD and report every pause of it (and of the
 *                    processes it forks) above the threshold, and every
 *                    change of the system clock made while it ran
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_events.h"
#include "clock_poll.h"
#include "clockwatch.h"
#include "commands.h"
#include "cwbpf.h"
#include "json.h"
#include "util.h"

#define DEFAULT_THRESHOLD_NS	(10 * NSEC_PER_MSEC)
#define DEFAULT_MIN_PAUSE_NS	(5 * NSEC_PER_MSEC)
#define POLL_MS			200

enum guard_mode { MODE_RUN, MODE_PIN, MODE_UNPIN, MODE_STATUS };

static struct guard_env {
	enum guard_mode mode;
	uint64_t threshold_ns;
	uint64_t min_pause_ns;
	const char *output;
	bool json;
	bool verbose;
	int first;		/* argv index of the command */
} env = {
	.threshold_ns = DEFAULT_THRESHOLD_NS,
	.min_pause_ns = DEFAULT_MIN_PAUSE_NS,
};

enum {
	OPT_PIN = 0x100,
	OPT_UNPIN,
	OPT_STATUS,
	OPT_MIN_PAUSE,
};

static const char doc[] =
"Guard a lease: see whether a command was paused, or the clock stepped,\n"
"while it ran; or set up the guard that libclockwatch's cw_guard__*() use.\n"
"\n"
"With a command, guard runs it, and reports (on stderr, or in --output)\n"
"each pause of the command's processes of at least the threshold, each\n"
"step and NTP write of the system clock made meanwhile, with the caller,\n"
"and a summary. It exits with the command's status. Loads BPF programs:\n"
"needs CAP_BPF and CAP_PERFMON (root has both).\n"
"\n"
"--pin loads the trackers for good (until --unpin or reboot) and pins them\n"
"under " CW_GUARD_PIN_DIR ": every process can then take lease tokens\n"
"with cw_guard__take() and check them with cw_guard__check().\n"
"\n"
"USAGE: clockwatch guard [--threshold MS] [--json] [--output FILE] -- CMD...\n"
"       clockwatch guard --pin [--min-pause MS] | --unpin | --status\n"
"\n"
"EXAMPLES:\n"
"    clockwatch guard -- ./renew-lease          # pauses >= 10 ms, steps\n"
"    clockwatch guard -t 50 --json -- make      # as JSON Lines\n"
"    clockwatch guard --pin                     # for libclockwatch users";

static const struct argp_option opts[] = {
	{ "threshold", 't', "MS", 0, "Report pauses of at least MS ms (default 10)", 0 },
	{ "json", 'j', NULL, 0, "JSON Lines: one object per event, then a summary", 0 },
	{ "output", 'o', "FILE", 0, "Write the report to FILE, not to stderr", 0 },
	{ "pin", OPT_PIN, NULL, 0, "Load and pin the guard's trackers", 0 },
	{ "min-pause", OPT_MIN_PAUSE, "MS", 0, "With --pin: record pauses of at least MS ms (default 5)", 0 },
	{ "unpin", OPT_UNPIN, NULL, 0, "Remove the pinned trackers", 0 },
	{ "status", OPT_STATUS, NULL, 0, "Say whether the trackers are pinned", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's debug messages", 0 },
	{},
};

static void set_mode(struct argp_state *state, enum guard_mode m)
{
	if (env.mode != MODE_RUN)
		argp_error(state, "--pin, --unpin and --status exclude each other");
	env.mode = m;
}

static uint64_t parse_ms(struct argp_state *state, const char *arg)
{
	double ms;

	if (parse_seconds(arg, 0, 3.6e6, &ms))
		argp_error(state, "invalid duration '%s': ms expected", arg);
	return (uint64_t)(ms * 1e6);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 't':
		env.threshold_ns = parse_ms(state, arg);
		break;
	case 'j':
		env.json = true;
		break;
	case 'o':
		env.output = arg;
		break;
	case 'v':
		env.verbose = true;
		break;
	case OPT_PIN:
		set_mode(state, MODE_PIN);
		break;
	case OPT_MIN_PAUSE:
		env.min_pause_ns = parse_ms(state, arg);
		if (!env.min_pause_ns)
			argp_error(state, "--min-pause must be more than 0");
		break;
	case OPT_UNPIN:
		set_mode(state, MODE_UNPIN);
		break;
	case OPT_STATUS:
		set_mode(state, MODE_STATUS);
		break;
	case ARGP_KEY_ARG:
		if (env.mode != MODE_RUN)
			argp_error(state, "a command goes with no --pin, --unpin or --status");
		/* the command and all that follows are the command's */
		env.first = state->next - 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_NO_ARGS:
		if (env.mode == MODE_RUN)
			argp_error(state, "no command given (clockwatch guard -- CMD...)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- --pin, --unpin, --status ----------------------------------------- */

static bool pinned(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/pauses_guard", CW_GUARD_PIN_DIR);
	return access(path, F_OK) == 0;
}

static int unpin(void)
{
	struct dirent *d;
	char path[512];
	DIR *dir;
	int ret = EXIT_OK;

	dir = opendir(CW_GUARD_PIN_DIR);
	if (!dir) {
		if (errno == ENOENT)
			return EXIT_OK;
		fprintf(stderr, "clockwatch: %s: %s\n", CW_GUARD_PIN_DIR, strerror(errno));
		return EXIT_ERROR;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CW_GUARD_PIN_DIR, d->d_name);
		if (unlink(path)) {
			fprintf(stderr, "clockwatch: %s: %s\n", path, strerror(errno));
			ret = EXIT_ERROR;
		}
	}
	closedir(dir);
	if (rmdir(CW_GUARD_PIN_DIR) && errno != ENOENT) {
		fprintf(stderr, "clockwatch: %s: %s\n", CW_GUARD_PIN_DIR, strerror(errno));
		ret = EXIT_ERROR;
	}
	return ret;
}

static int pin(void)
{
	struct cw_pauses_opts o = { .guard_min_ns = env.min_pause_ns };
	struct cw_pauses *p = NULL;
	struct cw_clocks *c = NULL;
	char d[32];
	int ret = EXIT_ERROR, err;

	if (cw_bpf_mount_fs(true, false))
		return EXIT_ERROR;
	if (pinned()) {
		fprintf(stderr, "clockwatch: the guard is pinned already (clockwatch guard --unpin first)\n");
		return EXIT_ERROR;
	}
	if (mkdir(CW_GUARD_PIN_DIR, 0755) && errno != EEXIST) {
		fprintf(stderr, "clockwatch: %s: %s\n", CW_GUARD_PIN_DIR, strerror(errno));
		return EXIT_ERROR;
	}
	err = cw_pauses__open(&p, &o);
	if (err) {
		report_bpf_privilege("guard", err);
		goto err_unpin;
	}
	if (cw_clocks__open(&c) == 0) {
		if (cw_clocks__pin(c, CW_GUARD_PIN_DIR))
			goto err_unpin;
	} else {
		fprintf(stderr, "clockwatch: clock steps will come from the module's page only\n");
	}
	if (cw_pauses__pin(p, CW_GUARD_PIN_DIR))
		goto err_unpin;
	format_duration(d, sizeof(d), env.min_pause_ns);
	printf("guard pinned under %s (%s programs): pauses of at least %s, clock %s\n",
	       CW_GUARD_PIN_DIR, cw_pauses__attach_type(p), d,
	       c ? "steps from the syscall tracepoints" : "steps from the module only");
	ret = EXIT_OK;
	goto out;

err_unpin:
	unpin();
out:
	/* the pinned links keep the programs attached after this */
	cw_clocks__close(c);
	cw_pauses__close(p);
	return ret;
}

static int guard_status(void)
{
	struct cw_guard *g = cw_guard__open(NULL);
	struct cw_lease lease;
	struct cw_lease_report rep;

	if (!g) {
		printf("guard: not pinned (%s)%s\n", strerror(errno),
		       errno == ENOENT ? ": run clockwatch guard --pin" : "");
		return EXIT_ERROR;
	}
	if (cw_guard__take(g, &lease) || cw_guard__check(g, &lease, &rep)) {
		printf("guard: pinned, but cannot be read: %s\n", strerror(errno));
		cw_guard__close(g);
		return EXIT_ERROR;
	}
	printf("guard: pinned under %s; records pauses of at least %.3f ms; clock steps from %s\n",
	       CW_GUARD_PIN_DIR, rep.min_recorded_ns / 1e6,
	       lease.step_source == CW_LEASE_STEPS_MODULE ? "the module's page" :
	       lease.step_source == CW_LEASE_STEPS_BPF ? "the syscall tracepoints" : "nowhere");
	cw_guard__close(g);
	return EXIT_OK;
}

/* ---- guard -- CMD ------------------------------------------------------ */

static struct run {
	FILE *out;
	uint64_t pauses;		/* at or above the threshold */
	struct cw_pause_event longest;
	uint64_t steps, writes, failed, unexplained;
} run;

static int on_pause(void *ctx, const struct cw_pause_event *e)
{
	(void)ctx;
	run.pauses++;
	if (e->end_ns - e->start_ns > run.longest.end_ns - run.longest.start_ns)
		run.longest = *e;
	print_pause_event(run.out, e, env.json);
	return 0;
}

static int on_clock(void *ctx, const struct cw_clock_event *e)
{
	(void)ctx;
	if (e->ret < 0)
		run.failed++;
	else if (e->flags & CW_CLOCK_EV_STEP)
		run.steps++;
	else
		run.writes++;
	print_clock_event(run.out, e, env.json);
	return 0;
}

static void print_summary(char **cmd, int status, int64_t elapsed)
{
	uint64_t longest = run.longest.end_ns - run.longest.start_ns;
	char d[32], l[32], t[32], comm[17] = "";
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	memcpy(comm, run.longest.comm, 16);
	if (env.json) {
		struct json j;

		json_init(&j, run.out);
		json_object_begin(&j, NULL);
		json_string(&j, "type", "guard");
		json_string(&j, "command", cmd[0]);
		json_int(&j, "exit_status", code);
		json_int(&j, "elapsed_ns", elapsed);
		json_uint(&j, "threshold_ns", env.threshold_ns);
		json_uint(&j, "pauses", run.pauses);
		json_uint(&j, "longest_pause_ns", longest);
		if (run.pauses) {
			json_string(&j, "longest_pause_kind", cw_pause_kind_name(run.longest.kind));
			json_uint(&j, "longest_pause_pid", run.longest.pid);
			json_uint(&j, "longest_pause_tid", run.longest.tid);
			json_string(&j, "longest_pause_comm", comm);
		}
		json_uint(&j, "steps", run.steps);
		json_uint(&j, "unexplained_steps", run.unexplained);
		json_uint(&j, "ntp_writes", run.writes);
		json_uint(&j, "failed_calls", run.failed);
		json_object_end(&j);
		fputc('\n', run.out);
		return;
	}
	format_duration(d, sizeof(d), (uint64_t)elapsed);
	format_duration(t, sizeof(t), env.threshold_ns);
	fprintf(run.out, "guard: %s %s %d after %s\n", cmd[0],
		WIFEXITED(status) ? "exited with status" : "was killed by signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), d);
	if (run.pauses) {
		format_duration(l, sizeof(l), longest);
		fprintf(run.out, "guard: %" PRIu64 " pauses of at least %s; the longest %s (%s, pid %u tid %u %s)\n",
			run.pauses, t, l, cw_pause_kind_name(run.longest.kind),
			run.longest.pid, run.longest.tid, comm);
	} else {
		fprintf(run.out, "guard: no pause of at least %s\n", t);
	}
	fprintf(run.out, "guard: %" PRIu64 " clock steps, %" PRIu64 " NTP writes%s\n",
		run.steps + run.unexplained, run.writes,
		run.unexplained ? " (some seen by polling only)" : "");
}

static int run_command(char **cmd)
{
	struct cw_pauses_opts o = { .event_min_ns = env.threshold_ns ?: 1, .tracked = true };
	struct cw_pauses *p = NULL;
	struct cw_clocks *c = NULL;
	struct clock_poll poll;
	struct clock_poll_result pr;
	int go, status = 0, ret = EXIT_ERROR, err;
	int64_t t0, next_poll;
	pid_t child;

	run.out = stderr;
	if (env.output) {
		run.out = fopen(env.output, "we");
		if (!run.out) {
			fprintf(stderr, "clockwatch: %s: %s\n", env.output, strerror(errno));
			return EXIT_ERROR;
		}
	}
	/* the child waits until the trackers follow it */
	child = spawn_held(cmd, &go);
	if (child < 0) {
		perror("clockwatch: fork");
		return EXIT_ERROR;
	}
	signal(SIGINT, SIG_IGN);	/* the command gets it and ends */
	signal(SIGQUIT, SIG_IGN);

	err = cw_pauses__open(&p, &o);
	if (err || cw_pauses__track(p, child)) {
		report_bpf_privilege("guard", err);
		close(go);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		goto cleanup;
	}
	cw_pauses__set_callback(p, on_pause, NULL);
	if (cw_clocks__open(&c) == 0)
		cw_clocks__set_callback(c, on_clock, NULL);
	else
		fprintf(stderr, "clockwatch: clock changes are seen by polling only\n");
	clock_poll_init(&poll, c ? cw_clocks__step_seq(c) : 0);

	if (!env.json)
		print_pause_header(run.out);
	t0 = now_ns(CLOCK_MONOTONIC);
	next_poll = t0 + POLL_MS * NSEC_PER_MSEC;
	if (spawn_release(go)) {
		perror("clockwatch: starting the command");
		goto cleanup;
	}

	for (;;) {
		pid_t w = waitpid(child, &status, WNOHANG);

		cw_pauses__poll(p, w ? 0 : 50);
		if (c) {
			/* ensure a step's event arrives before polling explains it */
			cw_clocks__poll(c, 0);
		}
		if (w || now_ns(CLOCK_MONOTONIC) >= next_poll) {
			if (clock_poll_check(&poll, c ? cw_clocks__step_seq(c) : 0, &pr)) {
				if (pr.jumped)
					run.unexplained++;
				print_clock_poll(run.out, &pr, env.json);
			}
			next_poll += POLL_MS * NSEC_PER_MSEC;
		}
		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			perror("clockwatch: waitpid");
			goto cleanup;
		}
	}
	print_summary(cmd, status, now_ns(CLOCK_MONOTONIC) - t0);
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

cleanup:
	cw_clocks__close(c);
	cw_pauses__close(p);
	if (run.out != stderr)
		fclose(run.out);
	return ret;
}

int cmd_guard(int argc, char **argv)
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

	switch (env.mode) {
	case MODE_PIN:
		return pin();
	case MODE_UNPIN:
		return unpin();
	case MODE_STATUS:
		return guard_status();
	case MODE_RUN:
		break;
	}
	return run_command(argv + env.first);
}
