// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch chrony-report: hand chronyd's tracking report to the module
 * after every clock update chronyd makes, so that the bound can count the
 * offset chronyd is still slewing out, which maxerror leaves out.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "chrony.h"
#include "clockwatch.h"
#include "commands.h"
#include "json.h"
#include "util.h"

#define PAGE_POLL_NS		(5 * NSEC_PER_MSEC)	/* without the event stream */
#define QUERY_TIMEOUT_MS	500
#define MAX_TRIES		5	/* the daemon wrote again meanwhile */

static struct chrony_env {
	const char *socket;
	const char *device;
	double interval;	/* s */
	bool once;
	bool verbose;
} env = {
	.socket = CW_CHRONY_SOCKET,
	.device = CLOCKWATCH_DEVICE,
	.interval = 1.0,
};

static volatile sig_atomic_t exiting;

static const char doc[] =
"Tell the clockwatch module what chronyd knows and the kernel does not:\n"
"the offset chronyd is still slewing out of the clock, its root delay and\n"
"dispersion. After every maxerror write by the sync daemon, and at least\n"
"every --interval, it asks chronyd for its tracking report (its command\n"
"socket, as chronyc does) and passes it on with CLOCKWATCH_IOC_DAEMON_REPORT.\n"
"Without it the bound of a clock that chronyd disciplines is unknown.\n"
"\n"
"Needs CAP_SYS_TIME and access to chronyd's socket (root or chronyd's user);\n"
"with CAP_PERFMON it waits on the event stream instead of polling the page.\n"
"\n"
"USAGE: clockwatch chrony-report [--socket PATH] [--device PATH] [--interval S]\n"
"                                [--once] [--verbose]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch chrony-report             # run until SIGTERM or ^C\n"
"    clockwatch chrony-report --once      # one report, printed as JSON";

static const struct argp_option opts[] = {
	{ "socket", 's', "PATH", 0, "chronyd's command socket (default " CW_CHRONY_SOCKET ")", 0 },
	{ "device", 'd', "PATH", 0, "The clockwatch device (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "interval", 'i', "SECONDS", 0, "Report at least this often (default 1)", 0 },
	{ "once", '1', NULL, 0, "One report; print what was sent as JSON", 0 },
	{ "verbose", 'v', NULL, 0, "Say what each report sent", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 's':
		if (!*arg)
			argp_error(state, "empty socket path");
		env.socket = arg;
		break;
	case 'd':
		if (!*arg)
			argp_error(state, "empty device path");
		env.device = arg;
		break;
	case 'i':
		if (parse_seconds(arg, 0.01, 3600, &env.interval))
			argp_error(state, "invalid interval '%s': seconds from 0.01 to 3600 expected",
				   arg);
		break;
	case '1':
		env.once = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

struct helper {
	struct cw_reader *reader;
	int fd;			/* the device: ioctls, and events when allowed */
	bool events;		/* read() of events works (CAP_PERFMON) */
	int64_t last_anchor;	/* maxerror_raw_ns of the last report tried */
	/*
	 * The reader gives the page's times in this process's time
	 * namespace; the module takes the anchor in the initial one.
	 */
	struct cw_timens timens;
	int last_err;		/* of the last report, to say each error once */
};

/* One attempt's inputs and what the module said. */
struct attempt {
	struct clockwatch_daemon_report rep;
	struct cw_chrony_tracking t;
	struct clockwatch_page page;
	int tries;
	int err;		/* 0 or a negative errno */
	bool query_failed;	/* the error is chronyd's, not the module's */
	bool tasks_known;	/* tasks holds the module's sync daemon */
	struct clockwatch_tasks tasks;
};

static int read_page(struct helper *h, struct clockwatch_page *page)
{
	int err = cw_reader__read(h->reader, page);

	if (err)
		return err;
	if (!CLOCKWATCH_FIELD_PRESENT(page, maxerror_raw_ns))
		return -EPROTO;
	return 0;
}

/*
 * Read the anchor, then ask chronyd, then hand both to the module: the
 * module refuses (EAGAIN) when the daemon wrote maxerror in between, and
 * the three steps run again.
 */
/*
 * chronyd's wire floats carry 24 bits of coefficient, and the reader
 * rounds them to the nearest ns: a magnitude the bound adds is rounded
 * away from zero by more than both, so that it is never too small.
 */
static int64_t away_from_zero(int64_t ns)
{
	int64_t pad = (ns < 0 ? -(ns / 4194304) : ns / 4194304) + 1;

	return ns < 0 ? ns - pad : ns + pad;
}

static void report(struct helper *h, struct attempt *a)
{
	memset(a, 0, sizeof(*a));
	for (a->tries = 1; a->tries <= MAX_TRIES; a->tries++) {
		struct clockwatch_daemon_report *r = &a->rep;

		a->query_failed = false;
		a->err = read_page(h, &a->page);
		if (a->err)
			return;
		h->last_anchor = a->page.maxerror_raw_ns;
		if (!a->page.maxerror_raw_ns) {
			a->err = -ESRCH;	/* no sync daemon yet */
			return;
		}
		a->err = cw_chrony_tracking(env.socket, QUERY_TIMEOUT_MS, &a->t);
		if (a->err) {
			a->query_failed = true;
			return;
		}

		memset(r, 0, sizeof(*r));
		r->size = sizeof(*r);
		r->source = CLOCKWATCH_DREP_CHRONY;
		r->flags = a->t.leap_status != CW_CHRONY_LEAP_UNSYNC ? CLOCKWATCH_DREPF_SYNCED : 0;
		r->daemon_pid = a->t.daemon_pid;
		r->anchor_raw_ns = a->page.maxerror_raw_ns - h->timens.monotonic_ns;
		r->step_seq = a->page.step_seq;
		r->correction_ns = away_from_zero(a->t.correction_ns);
		r->root_delay_ns = away_from_zero(a->t.root_delay_ns);
		r->root_dispersion_ns = away_from_zero(a->t.root_dispersion_ns);
		r->ref_real_ns = a->t.ref_time_ns;

		a->err = ioctl(h->fd, CLOCKWATCH_IOC_DAEMON_REPORT, r) < 0 ? -errno : 0;
		if (a->err == -ESRCH)	/* for explain(): which daemon the module follows */
			a->tasks_known = cw_reader__tasks(h->reader, &a->tasks) == 0;
		if (a->err != -EAGAIN)
			break;
	}
	if (a->tries > MAX_TRIES)
		a->tries = MAX_TRIES;
}

static void explain(const struct attempt *a)
{
	int err = -a->err;

	if (a->query_failed) {
		switch (err) {
		case ENOENT:
			fprintf(stderr, "clockwatch: %s: no such socket: is chronyd running?\n",
				env.socket);
			break;
		case ECONNREFUSED:
			fprintf(stderr, "clockwatch: %s: nobody answers: chronyd is not running\n",
				env.socket);
			break;
		case EACCES:
			fprintf(stderr, "clockwatch: %s: permission denied: run as root or chronyd's user\n",
				env.socket);
			break;
		case ETIMEDOUT:
			fprintf(stderr, "clockwatch: %s: chronyd did not answer\n", env.socket);
			break;
		case EPROTO:
			fprintf(stderr, "clockwatch: %s: a reply this tool does not understand\n",
				env.socket);
			break;
		default:
			fprintf(stderr, "clockwatch: %s: %s\n", env.socket, strerror(err));
			break;
		}
		return;
	}
	switch (err) {
	case ESRCH:
		if (!a->page.maxerror_raw_ns)
			fprintf(stderr, "clockwatch: no sync daemon has written maxerror yet\n");
		else if (a->tasks_known && a->tasks.daemon_pid)
			fprintf(stderr, "clockwatch: chronyd (pid %d) is not the sync daemon the module follows (pid %d, %.16s)\n",
				(int)a->t.daemon_pid, (int)a->tasks.daemon_pid,
				a->tasks.daemon_comm);
		else
			fprintf(stderr, "clockwatch: chronyd (pid %d) is not the sync daemon the module follows (%s)\n",
				(int)a->t.daemon_pid, a->tasks_known ?
				"a process this pid namespace does not see" : "which one is not known");
		break;
	case EPERM:
		fprintf(stderr, "clockwatch: %s: a daemon report needs CAP_SYS_TIME\n", env.device);
		break;
	case ENOTTY:
		fprintf(stderr, "clockwatch: %s: this module takes no daemon reports\n",
			env.device);
		break;
	case EAGAIN:
		fprintf(stderr, "clockwatch: the daemon kept writing maxerror: no report in %d tries\n",
			MAX_TRIES);
		break;
	case EINVAL:
		fprintf(stderr, "clockwatch: %s: the module refused the report (correction %" PRId64 " ns out of range?)\n",
			env.device, (int64_t)a->rep.correction_ns);
		break;
	default:
		report_page_error(env.device, err);
		break;
	}
}

static void print_json(const struct attempt *a)
{
	const struct clockwatch_daemon_report *r = &a->rep;
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_string(&j, "result", a->err ? strerrorname_np(-a->err) : "ok");
	json_string(&j, "source", "chrony");
	json_int(&j, "daemon_pid", r->daemon_pid);
	json_bool(&j, "synced", r->flags & CLOCKWATCH_DREPF_SYNCED);
	json_int(&j, "anchor_raw_ns", r->anchor_raw_ns);
	json_uint(&j, "step_seq", r->step_seq);
	json_int(&j, "correction_ns", r->correction_ns);
	json_int(&j, "root_delay_ns", r->root_delay_ns);
	json_int(&j, "root_dispersion_ns", r->root_dispersion_ns);
	json_int(&j, "ref_real_ns", r->ref_real_ns);
	json_int(&j, "maxerror_us", a->page.maxerror_us);
	json_int(&j, "tries", a->tries);
	json_object_begin(&j, "tracking");
	json_uint(&j, "ref_id", a->t.ref_id);
	json_uint(&j, "stratum", a->t.stratum);
	json_uint(&j, "leap_status", a->t.leap_status);
	json_int(&j, "last_offset_ns", a->t.last_offset_ns);
	json_int(&j, "rms_offset_ns", a->t.rms_offset_ns);
	json_double(&j, "freq_ppm", a->t.freq_ppm, 3);
	json_double(&j, "resid_freq_ppm", a->t.resid_freq_ppm, 3);
	json_double(&j, "skew_ppm", a->t.skew_ppm, 3);
	json_int(&j, "update_interval_ns", a->t.update_interval_ns);
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', stdout);
}

static void print_verbose(const struct attempt *a)
{
	printf("report: correction %" PRId64 " ns, root delay %" PRId64 " ns, root dispersion %" PRId64 " ns, %s, chronyd pid %d, anchor %" PRId64 " ns, %d tr%s\n",
	       (int64_t)a->rep.correction_ns, (int64_t)a->rep.root_delay_ns,
	       (int64_t)a->rep.root_dispersion_ns,
	       a->rep.flags & CLOCKWATCH_DREPF_SYNCED ? "synced" : "not synced",
	       (int)a->rep.daemon_pid, (int64_t)a->rep.anchor_raw_ns, a->tries,
	       a->tries == 1 ? "y" : "ies");
	fflush(stdout);
}

/* Report, and say each error once: again only after it changed. */
static void report_and_tell(struct helper *h)
{
	struct attempt a;

	report(h, &a);
	if (a.err && a.err != h->last_err)
		explain(&a);
	if (!a.err && h->last_err && env.verbose)
		printf("reports accepted again\n");
	if (!a.err && env.verbose)
		print_verbose(&a);
	h->last_err = a.err;
}

/* Did a record say that the sync daemon wrote maxerror? */
static bool drain_events(struct helper *h)
{
	struct clockwatch_event evs[16];
	bool wrote = false;
	ssize_t n;

	while ((n = read(h->fd, evs, sizeof(evs))) > 0) {
		ssize_t i;

		for (i = 0; i < n / (ssize_t)sizeof(evs[0]); i++) {
			const struct clockwatch_event *e = &evs[i];

			if (e->type == CLOCKWATCH_EV_OVERRUN ||
			    (e->type == CLOCKWATCH_EV_NTP_ADJUST &&
			     (e->ntp_adjust.written & CLOCKWATCH_NTPF_MAXERROR)))
				wrote = true;
		}
	}
	return wrote;
}

/*
 * Wait for the next maxerror write, at most until @deadline (MONOTONIC):
 * on the event stream when this process may read it, else by looking at
 * the page every 5 ms.  Returns true when there was one.
 */
static bool wait_for_write(struct helper *h, int64_t deadline)
{
	struct clockwatch_page page;

	while (!exiting) {
		int64_t left = deadline - now_ns(CLOCK_MONOTONIC);

		if (left <= 0)
			return false;
		if (h->events) {
			struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
			int ms = (int)((left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);

			if (poll(&pfd, 1, ms) > 0 && drain_events(h))
				return true;
		} else {
			struct timespec ts = { .tv_nsec = left < PAGE_POLL_NS ? left : PAGE_POLL_NS };

			nanosleep(&ts, NULL);
		}
		/* The page is the truth either way: an event may be another's. */
		if (read_page(h, &page) == 0 && page.maxerror_raw_ns &&
		    page.maxerror_raw_ns != h->last_anchor)
			return true;
	}
	return false;
}

static int helper_open(struct helper *h)
{
	struct clockwatch_event ev;
	int err;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->reader = cw_reader__open(env.device);
	if (!h->reader) {
		err = errno;
		report_page_error(env.device, err);
		return -err;
	}
	err = cw_timens__offsets(&h->timens);
	if (err) {
		fprintf(stderr, "clockwatch: time namespace offsets: %s\n", strerror(-err));
		return err;
	}
	h->fd = open(env.device, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (h->fd < 0) {
		err = errno;
		fprintf(stderr, "clockwatch: %s: %s\n", env.device, strerror(err));
		return -err;
	}
	/* EAGAIN: allowed, nothing waiting yet; EPERM: no CAP_PERFMON. */
	h->events = read(h->fd, &ev, sizeof(ev)) >= 0 || errno == EAGAIN;
	if (env.verbose && !env.once)
		printf("waiting for maxerror writes %s\n",
		       h->events ? "on the event stream" : "by reading the page every 5 ms");
	return 0;
}

static void helper_close(struct helper *h)
{
	if (h->fd >= 0)
		close(h->fd);
	cw_reader__close(h->reader);
}

int cmd_chrony_report(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	struct sigaction sa = { .sa_handler = sig_handler };
	int64_t interval_ns, deadline;
	struct helper h;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;
	if (helper_open(&h)) {
		helper_close(&h);
		return EXIT_ERROR;
	}

	if (env.once) {
		struct attempt a;

		report(&h, &a);
		print_json(&a);
		if (a.err)
			explain(&a);
		helper_close(&h);
		return a.err ? EXIT_ERROR : EXIT_OK;
	}

	/* No SA_RESTART: a signal ends the wait at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	interval_ns = (int64_t)(env.interval * 1e9);
	while (!exiting) {
		report_and_tell(&h);
		if (h.last_err == -ENOTTY)
			break;		/* no module will take it: nothing to do */
		deadline = now_ns(CLOCK_MONOTONIC) + interval_ns;
		wait_for_write(&h, deadline);
	}
	err = h.last_err == -ENOTTY ? EXIT_ERROR : EXIT_OK;
	helper_close(&h);
	return err;
}
