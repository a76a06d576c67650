// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch watch: print clock events as they happen: steps, NTP writes,
 * leap seconds, disruptions, from the module's event ring, and the events
 * of any other source listed in watch_extra_sources[].
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "clockwatch.h"
#include "commands.h"
#include "json.h"
#include "names.h"
#include "util.h"
#include "watch.h"
#include "bpf_watch.h"
#include "stalls_cpu.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_SOURCES	8

/*
 * Sources besides the module's ring.  Each opener returns 0 with the
 * source filled in, or a negative errno to be left out.
 */
static const watch_source_open_t watch_extra_sources[] = {
	bpf_watch_source_open,
};

static struct env {
	const char *device;
	bool device_set;
	bool json;
	bool verbose;
	long count;		/* clock events; 0: no limit */
	double duration;	/* s; 0: none */
} env = {
	.device = CLOCKWATCH_DEVICE,
};

/*
 * The module's records carry MONOTONIC and MONOTONIC_RAW times as the
 * initial time namespace sees them: this process's offsets make them
 * its own clocks' (cw_timens__offsets()).
 */
static struct cw_timens timens;

static volatile sig_atomic_t exiting;

static const char doc[] =
"Print clock events as they happen: every step of CLOCK_REALTIME with its\n"
"size, cause and caller, every adjtimex() write with the fields it changed,\n"
"leap seconds and disruptions of the sync state, CPU stalls of the module's\n"
"probe, and (as root, through BPF) pauses of processes. Without the module\n"
"the clock events come from BPF and adjtimex() polling instead.\n"
"\n"
"--count counts clock events: pauses are printed but not counted.\n"
"\n"
"USAGE: clockwatch watch [--device PATH] [--json] [--count N] [--duration SEC]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch watch                  # one line per event, until ^C\n"
"    clockwatch watch --json           # JSON Lines, one object per event\n"
"    clockwatch watch -c 1 -D 10       # the next clock event, or give up after 10 s";

static const struct argp_option opts[] = {
	{ "device", 'd', "PATH", 0, "The clockwatch device (default " CLOCKWATCH_DEVICE ")", 0 },
	{ "json", 'j', NULL, 0, "JSON Lines: one object per event", 0 },
	{ "count", 'c', "N", 0, "Exit after N clock events (pauses do not count)", 0 },
	{ "duration", 'D', "SEC", 0, "Exit after SEC seconds, events or not", 0 },
	{ "timeout", 0, NULL, OPTION_ALIAS, NULL, 0 },
	{ "verbose", 'v', NULL, 0, "Say which event sources are used, on stderr", 0 },
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
	case 'j':
		env.json = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'c':
		if (parse_long(arg, 1, LONG_MAX, &env.count))
			argp_error(state, "invalid count '%s': a whole number from 1 expected",
				   arg);
		break;
	case 'D':
		if (parse_seconds(arg, 0.001, 1e9, &env.duration))
			argp_error(state, "invalid duration '%s': seconds from 0.001 expected", arg);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static const char *const event_types[] = {
	[CLOCKWATCH_EV_OVERRUN]		= "overrun",
	[CLOCKWATCH_EV_STEP]		= "step",
	[CLOCKWATCH_EV_NTP_ADJUST]	= "ntp_adjust",
	[CLOCKWATCH_EV_LEAP]		= "leap",
	[CLOCKWATCH_EV_DISRUPTION]	= "disruption",
	[CLOCKWATCH_EV_STALL]		= "stall",
	[7]				= "test",	/* the module's test injector */
	[CLOCKWATCH_EV_PAUSE]		= "pause",
};

static const char *const step_causes[] = {
	[CLOCKWATCH_STEP_UNKNOWN]	= "unknown",
	[CLOCKWATCH_STEP_SETTIMEOFDAY]	= "settimeofday",
	[CLOCKWATCH_STEP_CLOCK_SETTIME]	= "clock_settime",
	[CLOCKWATCH_STEP_ADJ_SETOFFSET]	= "adj_setoffset",
	[CLOCKWATCH_STEP_LEAP_INSERT]	= "leap_insert",
	[CLOCKWATCH_STEP_LEAP_DELETE]	= "leap_delete",
	[CLOCKWATCH_STEP_TAI]		= "tai",
	[CLOCKWATCH_STEP_RESUME]	= "resume",
	[CLOCKWATCH_STEP_SETTIME_KERNEL] = "settime_kernel",
};

static const char *const sync_states[] = {
	[CLOCKWATCH_SYNC_UNSYNCHRONIZED]	= "unsynchronized",
	[CLOCKWATCH_SYNC_SYNCHRONIZED]		= "synchronized",
	[CLOCKWATCH_SYNC_FREE_RUNNING]		= "free_running",
	[CLOCKWATCH_SYNC_DISRUPTED]		= "disrupted",
};

static const char *const sync_reasons[] = {
	[CLOCKWATCH_SYNC_R_NO_DAEMON]		= "no_daemon",
	[CLOCKWATCH_SYNC_R_MAXERROR]		= "maxerror_written",
	[CLOCKWATCH_SYNC_R_MAXERROR_LIMIT]	= "maxerror_at_limit",
	[CLOCKWATCH_SYNC_R_DAEMON_SILENT]	= "daemon_silent",
	[CLOCKWATCH_SYNC_R_FOREIGN_STEP]	= "foreign_step",
	[CLOCKWATCH_SYNC_R_VMFORK]		= "vmfork",
	[CLOCKWATCH_SYNC_R_RESUME]		= "resume",
	[CLOCKWATCH_SYNC_R_HOST_PAUSE]		= "host_pause",
	[CLOCKWATCH_SYNC_R_FOREIGN_ADJUST]	= "foreign_adjust",
	[CLOCKWATCH_SYNC_R_DAEMON_FIRST]	= "daemon_first_update",
};

static const char *const ntp_fields[] = {
	"offset", "freq", "maxerror", "esterror", "status", "constant",
	"tick", "tai", "setoffset",
};

#define NAME_OF(table, i) \
	((size_t)(i) < ARRAY_SIZE(table) && (table)[i] ? (table)[i] : "unknown")

const char *event_type_name(unsigned int type)
{
	return NAME_OF(event_types, type);
}

const char *step_cause_name(unsigned int cause)
{
	return NAME_OF(step_causes, cause);
}

const char *sync_state_name(unsigned int state)
{
	return NAME_OF(sync_states, state);
}

const char *sync_reason_name(unsigned int reason)
{
	return NAME_OF(sync_reasons, reason);
}

static void json_ntp(struct json *j, const char *key, const struct clockwatch_ntp *n)
{
	json_object_begin(j, key);
	json_int(j, "offset_ns", n->offset_ns);
	json_int(j, "freq_scaled_ppm", n->freq_scaled_ppm);
	json_int(j, "maxerror_us", n->maxerror_us);
	json_int(j, "esterror_us", n->esterror_us);
	json_int(j, "status", n->status);
	json_int(j, "constant", n->constant);
	json_int(j, "tick_us", n->tick_us);
	json_int(j, "tai_s", n->tai_s);
	json_int(j, "time_state", n->time_state);
	json_object_end(j);
}

static const char *leap_name(__u32 leap)
{
	return leap == CLOCKWATCH_LEAP_INSERT ? "insert" :
	       leap == CLOCKWATCH_LEAP_DELETE ? "delete" : "none";
}

static const char *time_state_str(int state)
{
	const char *name = time_state_name(state);

	return name ? name : "unknown";
}

/* A MONOTONIC or MONOTONIC_RAW time of a record in this process's clocks. */
static int64_t mono_here(int64_t ns)
{
	return ns ? ns + timens.monotonic_ns : 0;
}

/**
 * print_module_event_json() - one record of the module's ring as a JSON line
 * @out: where to
 * @ev: the record; its MONOTONIC times come out in this process's clocks
 *	once watch_timens_init() has run
 */
void print_module_event_json(FILE *out, const struct clockwatch_event *ev)
{
	char comm[sizeof(ev->comm) + 1] = "";
	struct json j;
	size_t i;

	memcpy(comm, ev->comm, sizeof(ev->comm));
	json_init(&j, out);
	json_object_begin(&j, NULL);
	json_uint(&j, "seq", ev->seq);
	json_string(&j, "type", event_type_name(ev->type));
	json_string(&j, "source", "module");
	json_int(&j, "mono_ns", mono_here(ev->mono_ns));
	json_int(&j, "real_ns", ev->real_ns);
	json_int(&j, "raw_ns", mono_here(ev->raw_ns));
	json_uint(&j, "cpu", ev->cpu);
	json_int(&j, "pid", ev->pid);
	json_int(&j, "tid", ev->tid);
	json_string(&j, "comm", comm);

	switch (ev->type) {
	case CLOCKWATCH_EV_STEP:
		json_int(&j, "delta_ns", ev->step.delta_ns);
		json_string(&j, "cause", step_cause_name(ev->step.cause));
		json_int(&j, "real_before_ns", ev->step.real_before_ns);
		json_int(&j, "real_after_ns", ev->step.real_after_ns);
		json_int(&j, "tai_delta_ns", ev->step.tai_delta_ns);
		json_uint(&j, "step_seq", ev->step.step_seq);
		json_bool(&j, "by_daemon", ev->step.flags & CLOCKWATCH_STEPF_DAEMON);
		break;
	case CLOCKWATCH_EV_NTP_ADJUST:
		json_uint(&j, "modes", ev->ntp_adjust.modes);
		json_int(&j, "ret", ev->ntp_adjust.ret);
		json_array_begin(&j, "written");
		for (i = 0; i < ARRAY_SIZE(ntp_fields); i++)
			if (ev->ntp_adjust.written & (1U << i))
				json_string(&j, NULL, ntp_fields[i]);
		json_array_end(&j);
		json_int(&j, "before_mono_ns", mono_here(ev->ntp_adjust.before_mono_ns));
		json_ntp(&j, "before", &ev->ntp_adjust.before);
		json_ntp(&j, "after", &ev->ntp_adjust.after);
		break;
	case CLOCKWATCH_EV_LEAP:
		json_int(&j, "old_state", ev->leap.old_state);
		json_string(&j, "old_state_name", time_state_str(ev->leap.old_state));
		json_int(&j, "new_state", ev->leap.new_state);
		json_string(&j, "new_state_name", time_state_str(ev->leap.new_state));
		json_int(&j, "status", ev->leap.status);
		json_string(&j, "leap_pending", leap_name(ev->leap.leap_pending));
		break;
	case CLOCKWATCH_EV_DISRUPTION:
		json_string(&j, "reason", sync_reason_name(ev->disruption.reason));
		json_string(&j, "old_state", sync_state_name(ev->disruption.old_state));
		json_string(&j, "new_state", sync_state_name(ev->disruption.new_state));
		if (ev->disruption.ref_source == CLOCKWATCH_REF_RTC) {
			json_string(&j, "ref_source", "rtc");
			json_int(&j, "ref_offset_change_ns", ev->disruption.ref_offset_change_ns);
			json_int(&j, "ref_err_ns", ev->disruption.ref_err_ns);
			json_int(&j, "ref_before_raw_ns",
				 mono_here(ev->disruption.ref_before_raw_ns));
			json_int(&j, "ref_after_raw_ns",
				 mono_here(ev->disruption.ref_after_raw_ns));
		}
		break;
	case CLOCKWATCH_EV_OVERRUN:
		json_uint(&j, "lost", ev->overrun.lost);
		json_uint(&j, "first_lost_seq", ev->overrun.first_lost_seq);
		break;
	case CLOCKWATCH_EV_STALL:
		json_uint(&j, "stall_seq", ev->stall.seq);
		stall_json_fields(&j, &ev->stall, timens.monotonic_ns, false);
		break;
	default:
		break;
	}
	json_object_end(&j);
	fputc('\n', out);
}

/* One NTP field, old -> new, when the call wrote it. */
static void print_field(FILE *out, const char *name, int64_t before, int64_t after,
			const char *unit)
{
	fprintf(out, " %s %" PRId64 "->%" PRId64 "%s", name, before, after, unit);
}

static void print_event_human(FILE *out, const struct clockwatch_event *ev)
{
	const struct clockwatch_ntp_adjust *a = &ev->ntp_adjust;
	char comm[sizeof(ev->comm) + 1] = "";
	char when[64], secs[32];
	char who[48] = "-";

	memcpy(comm, ev->comm, sizeof(ev->comm));
	if ((ev->flags & CLOCKWATCH_EVF_TASK) && ev->pid)
		snprintf(who, sizeof(who), "%s[%d]", comm, ev->pid);
	else if (ev->flags & CLOCKWATCH_EVF_TASK)
		snprintf(who, sizeof(who), "(not visible)");
	format_utc(when, sizeof(when), ev->real_ns);
	fprintf(out, "%s  #%-6" PRIu64 " %-10s %-22s", when, (uint64_t)ev->seq,
		event_type_name(ev->type), who);

	switch (ev->type) {
	case CLOCKWATCH_EV_STEP:
		format_seconds(secs, sizeof(secs), ev->step.delta_ns);
		fprintf(out, " %s s by %s%s", secs, step_cause_name(ev->step.cause),
			ev->step.flags & CLOCKWATCH_STEPF_DAEMON ? " (sync daemon)" : "");
		if (ev->step.tai_delta_ns)
			fprintf(out, ", TAI-UTC %+" PRId64 " ns",
				(int64_t)ev->step.tai_delta_ns);
		break;
	case CLOCKWATCH_EV_NTP_ADJUST:
		fprintf(out, " modes 0x%04x ret %d", a->modes, a->ret);
		if (a->written & CLOCKWATCH_NTPF_OFFSET)
			print_field(out, "offset", a->before.offset_ns, a->after.offset_ns, " ns");
		if (a->written & CLOCKWATCH_NTPF_FREQ)
			print_field(out, "freq", a->before.freq_scaled_ppm, a->after.freq_scaled_ppm,
				    " ppm*2^16");
		if (a->written & CLOCKWATCH_NTPF_MAXERROR)
			print_field(out, "maxerror", a->before.maxerror_us, a->after.maxerror_us, " us");
		if (a->written & CLOCKWATCH_NTPF_ESTERROR)
			print_field(out, "esterror", a->before.esterror_us, a->after.esterror_us, " us");
		if (a->written & CLOCKWATCH_NTPF_STATUS)
			fprintf(out, " status 0x%x->0x%x", (unsigned int)a->before.status,
				(unsigned int)a->after.status);
		if (a->written & CLOCKWATCH_NTPF_CONSTANT)
			print_field(out, "constant", a->before.constant, a->after.constant, "");
		if (a->written & CLOCKWATCH_NTPF_TICK)
			print_field(out, "tick", a->before.tick_us, a->after.tick_us, " us");
		if (a->written & CLOCKWATCH_NTPF_TAI)
			print_field(out, "tai", a->before.tai_s, a->after.tai_s, " s");
		break;
	case CLOCKWATCH_EV_LEAP:
		fprintf(out, " time_state %s->%s, status 0x%x, leap %s",
			time_state_str(ev->leap.old_state), time_state_str(ev->leap.new_state),
			(unsigned int)ev->leap.status,
			ev->leap.leap_pending == CLOCKWATCH_LEAP_INSERT ? "insert pending" :
			ev->leap.leap_pending == CLOCKWATCH_LEAP_DELETE ? "delete pending" :
			"none pending");
		break;
	case CLOCKWATCH_EV_DISRUPTION:
		fprintf(out, " %s -> %s (%s)",
			sync_state_name(ev->disruption.old_state),
			sync_state_name(ev->disruption.new_state),
			sync_reason_name(ev->disruption.reason));
		if (ev->disruption.ref_source == CLOCKWATCH_REF_RTC)
			fprintf(out, ", REALTIME %+.6f s against the RTC (±%.6f s)",
				ev->disruption.ref_offset_change_ns / 1e9,
				ev->disruption.ref_err_ns / 1e9);
		break;
	case CLOCKWATCH_EV_OVERRUN:
		fprintf(out, " missed %" PRIu64 " events from #%" PRIu64,
			(uint64_t)ev->overrun.lost, (uint64_t)ev->overrun.first_lost_seq);
		break;
	case CLOCKWATCH_EV_STALL:
		fprintf(out, " #%" PRIu64 " ", (uint64_t)ev->stall.seq);
		stall_text(out, &ev->stall, timens.monotonic_ns);
		break;
	default:
		break;
	}
	fputc('\n', out);
}

/* The module's ring: read whole records, print them. */
static int module_drain(struct watch_source *src, const struct watch_output *o,
			long max)
{
	struct clockwatch_event evs[16];
	int printed = 0;
	ssize_t n;
	long want;
	ssize_t i;

	while (printed < max) {
		want = max - printed < (long)ARRAY_SIZE(evs) ? max - printed :
			(long)ARRAY_SIZE(evs);
		n = read(src->fd, evs, (size_t)want * sizeof(evs[0]));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		for (i = 0; i < n / (ssize_t)sizeof(evs[0]); i++) {
			if (o->json)
				print_module_event_json(o->out, &evs[i]);
			else
				print_event_human(o->out, &evs[i]);
			printed++;
		}
		if (n < want * (ssize_t)sizeof(evs[0]))
			break;
	}
	fflush(o->out);
	return printed;
}

static void module_close(struct watch_source *src)
{
	close(src->fd);
}

/**
 * module_events_open() - open the module's event stream for reading
 * @device: the device, CLOCKWATCH_DEVICE unless told otherwise
 *
 * Return: a non-blocking fd whose read() gives whole records from now on;
 * or a negative errno, -EPERM when this file may not read events.
 */
int module_events_open(const char *device)
{
	int fd = open(device, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return -errno;
	/* POLLERR: this file may not read events (no CAP_PERFMON). */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/** watch_timens_init() - this process's time namespace offsets, for the records */
int watch_timens_init(void)
{
	return cw_timens__offsets(&timens);
}

static int module_open(struct watch_source *src)
{
	int fd = module_events_open(env.device);

	if (fd < 0)
		return fd;
	src->name = "module";
	src->fd = fd;
	src->drain = module_drain;
	src->close = module_close;
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	struct watch_output o = { .out = stdout };
	struct watch_source srcs[MAX_SOURCES] = {};
	struct pollfd pfds[MAX_SOURCES];
	long printed = 0, max;
	int64_t deadline = 0;
	int nsrc = 0, i, err, ret = EXIT_OK;
	struct sigaction sa = { .sa_handler = on_signal };
	size_t k;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	o.json = env.json;

	err = watch_timens_init();
	if (err)
		fprintf(stderr, "clockwatch watch: time namespace offsets: %s (times as the host's)\n",
			strerror(-err));

	/*
	 * The module's ring when its device is there.  Without the module
	 * (the default device absent) the BPF source reports the clock
	 * changes instead; a device named with --device must be there.
	 */
	err = module_open(&srcs[nsrc]);
	if (!err) {
		nsrc++;
		if (env.verbose)
			fprintf(stderr, "clockwatch watch: clock events and stalls from %s\n",
				env.device);
	} else if (err == -ENOENT && !env.device_set) {
		if (env.verbose)
			fprintf(stderr, "clockwatch watch: %s is absent: clock events from BPF and adjtimex() polling\n",
				env.device);
	} else {
		fprintf(stderr, "clockwatch watch: %s: %s%s\n", env.device, strerror(-err),
			err == -EPERM ? " (the event stream needs CAP_PERFMON or CAP_SYS_ADMIN)" : "");
		return EXIT_ERROR;
	}
	for (k = 0; k < ARRAY_SIZE(watch_extra_sources) && nsrc < MAX_SOURCES; k++) {
		if (!watch_extra_sources[k])
			continue;
		err = watch_extra_sources[k](&srcs[nsrc]);
		if (!err) {
			if (env.verbose)
				fprintf(stderr, "clockwatch watch: %s source: pauses%s\n",
					srcs[nsrc].name, nsrc ? "" : ", clock events");
			nsrc++;
		} else if (!nsrc) {
			fprintf(stderr, "clockwatch watch: no event source: %s is absent (module not loaded), and BPF: %s%s\n",
				env.device, strerror(-err),
				err == -EPERM || err == -EACCES ?
				" (loading BPF programs needs root: CAP_BPF and CAP_PERFMON)" : "");
			return EXIT_ERROR;
		} else if (env.verbose) {
			fprintf(stderr, "clockwatch watch: no pause events: BPF: %s\n",
				strerror(-err));
		}
	}
	if (!nsrc) {
		fprintf(stderr, "clockwatch watch: no event source\n");
		return EXIT_ERROR;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (env.duration > 0)
		deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)(env.duration * 1e9);

	while (!exiting && (!env.count || printed < env.count)) {
		int timeout_ms = -1;

		if (deadline) {
			int64_t left = deadline - now_ns(CLOCK_MONOTONIC);

			if (left <= 0)
				break;
			timeout_ms = (int)((left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
		}
		for (i = 0; i < nsrc; i++)
			pfds[i] = (struct pollfd){ .fd = srcs[i].fd, .events = POLLIN };
		err = poll(pfds, nsrc, timeout_ms);
		if (err < 0) {
			if (errno == EINTR)
				continue;
			perror("clockwatch watch: poll");
			ret = EXIT_ERROR;
			break;
		}
		for (i = 0; i < nsrc && (!env.count || printed < env.count); i++) {
			if (!(pfds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			max = env.count ? env.count - printed : LONG_MAX;
			err = srcs[i].drain(&srcs[i], &o, max);
			if (err < 0) {
				fprintf(stderr, "clockwatch watch: %s: %s\n",
					srcs[i].name, strerror(-err));
				ret = EXIT_ERROR;
				exiting = 1;
				break;
			}
			printed += err;
		}
	}

	for (i = 0; i < nsrc; i++)
		if (srcs[i].close)
			srcs[i].close(&srcs[i]);
	return ret;
}
