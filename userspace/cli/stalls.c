// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch stalls: how long processes were kept from running, and why.
 *
 * The report is made of sections, each collecting during the run and
 * printing at the end.  The per-process section comes from the BPF pause
 * tracker (pauses.bpf.c): per process and kind of pause (runqueue,
 * preempted, throttled, stopped), a histogram with p50 .. p99.9 and max,
 * and the worst pauses.  A per-CPU section, from the module's stall
 * probe, and a host section, from its RTC audit (a pause of the whole
 * VM, which no clock inside it sees), go into the same table (see struct
 * section).
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_events.h"
#include "commands.h"
#include "cwbpf.h"
#include "json.h"
#include "stalls_cpu.h"
#include "stalls_host.h"
#include "util.h"

#define WORST_PER_PROCESS	5
#define DEFAULT_THRESHOLD_NS	(10 * NSEC_PER_MSEC)
#define DEFAULT_TOP		10

static struct stalls_env {
	pid_t pid;
	const char *cgroup;
	const char *comm;
	double duration;	/* s; 0: until interrupted */
	uint64_t threshold_ns;
	long top;
	bool json;
	bool verbose;
	bool quiet;		/* no live events */
} env = {
	.threshold_ns = DEFAULT_THRESHOLD_NS,
	.top = DEFAULT_TOP,
};

static const char doc[] =
"Show how long processes were kept from running, and why.\n"
"\n"
"A pause is time a task wanted to run, or was stopped, and did not run:\n"
"  runqueue   woken, waiting for a CPU\n"
"  preempted  switched out while runnable, waiting to run again\n"
"  throttled  its cgroup ran out of cpu.max quota\n"
"  stopped    SIGSTOP or a ptrace stop, until it ran again\n"
"Voluntary sleep is not a pause. Per process, stalls prints a histogram\n"
"summary of each kind (p50, p90, p99, p99.9, max) and the worst pauses;\n"
"pauses at or above the threshold are also printed as they happen.\n"
"Loads BPF programs: needs CAP_BPF and CAP_PERFMON (root has both); works\n"
"without the clockwatch module, whose per-CPU stalls and host pauses (the\n"
"whole VM stopped, seen by its RTC audit) it adds when loaded.\n"
"\n"
"USAGE: clockwatch stalls [--pid PID | --cgroup PATH | --comm NAME]\n"
"                         [--duration SEC] [--threshold MS] [--top N] [--json]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch stalls -D 10              # every process for 10 s, top 10\n"
"    clockwatch stalls -p 1234            # one process until Ctrl-C\n"
"    clockwatch stalls -C /sys/fs/cgroup/db -t 50   # a cgroup, events >= 50 ms\n"
"    clockwatch stalls --comm java --json # JSON Lines: events, then a summary";

enum {
	OPT_QUIET = 0x100,
};

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Only this process", 0 },
	{ "cgroup", 'C', "PATH", 0, "Only processes in this cgroup (v2) or below it", 0 },
	{ "comm", 'n', "NAME", 0, "Only processes or threads with this comm", 0 },
	{ "duration", 'D', "SEC", 0, "Stop after SEC seconds (default: at Ctrl-C)", 0 },
	{ "threshold", 't', "MS", 0, "Print pauses of at least MS ms as they happen (default 10)", 0 },
	{ "top", 'N', "N", 0, "Show the N processes paused longest (default 10, 0: all)", 0 },
	{ "json", 'j', NULL, 0, "JSON Lines: one object per event, then the summary", 0 },
	{ "quiet", OPT_QUIET, NULL, 0, "Do not print events as they happen", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's debug messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	double ms;
	long v;

	switch (key) {
	case 'p':
		if (parse_long(arg, 1, INT32_MAX, &v))
			argp_error(state, "invalid pid '%s'", arg);
		env.pid = (pid_t)v;
		break;
	case 'C':
		env.cgroup = arg;
		break;
	case 'n':
		if (!*arg || strlen(arg) > 15)
			argp_error(state, "a comm has 1 to 15 characters");
		env.comm = arg;
		break;
	case 'D':
		if (parse_seconds(arg, 0.001, 86400 * 365, &env.duration))
			argp_error(state, "invalid duration '%s'", arg);
		break;
	case 't':
		if (parse_seconds(arg, 0, 3.6e6, &ms))
			argp_error(state, "invalid threshold '%s': ms expected", arg);
		env.threshold_ns = (uint64_t)(ms * 1e6);
		break;
	case 'N':
		if (parse_long(arg, 0, INT32_MAX, &env.top))
			argp_error(state, "invalid count '%s'", arg);
		break;
	case 'j':
		env.json = true;
		break;
	case OPT_QUIET:
		env.quiet = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!!env.pid + !!env.cgroup + !!env.comm > 1)
			argp_error(state, "--pid, --cgroup and --comm exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

/* ---- the per-process section ------------------------------------------ */

struct proc {
	uint32_t pid;
	char comm[17];
	uint64_t total_ns;
	uint64_t count;
	struct cw_hist hist[CW_PAUSE_NR_KINDS];
	bool has[CW_PAUSE_NR_KINDS];
	struct cw_pause_event worst[WORST_PER_PROCESS];
	unsigned int nr_worst;
};

static struct proc_table {
	struct proc *procs;
	size_t nr, cap;
	uint64_t events;	/* events received */
} table;

static struct proc *proc_get(uint32_t pid)
{
	struct proc *p;
	size_t i;

	for (i = 0; i < table.nr; i++)
		if (table.procs[i].pid == pid)
			return &table.procs[i];
	if (table.nr == table.cap) {
		size_t cap = table.cap ? table.cap * 2 : 64;

		p = realloc(table.procs, cap * sizeof(*p));
		if (!p)
			return NULL;
		table.procs = p;
		table.cap = cap;
	}
	p = &table.procs[table.nr++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

static bool comm_matches(const char *comm)
{
	return !env.comm || strncmp(comm, env.comm, 16) == 0;
}

/* Keep the WORST_PER_PROCESS longest, longest first. */
static void keep_worst(struct proc *p, const struct cw_pause_event *e)
{
	uint64_t dur = e->end_ns - e->start_ns;
	unsigned int i;

	for (i = p->nr_worst; i > 0; i--) {
		const struct cw_pause_event *w = &p->worst[i - 1];

		if (w->end_ns - w->start_ns >= dur)
			break;
	}
	if (i >= WORST_PER_PROCESS)
		return;
	if (p->nr_worst < WORST_PER_PROCESS)
		p->nr_worst++;
	memmove(&p->worst[i + 1], &p->worst[i],
		(p->nr_worst - 1 - i) * sizeof(p->worst[0]));
	p->worst[i] = *e;
}

static int on_pause(void *ctx, const struct cw_pause_event *e)
{
	char comm[17] = "";
	struct proc *p;

	(void)ctx;
	memcpy(comm, e->comm, 16);
	if (!comm_matches(comm))
		return 0;
	table.events++;
	if (!env.quiet)
		print_pause_event(stdout, e, env.json);
	p = proc_get(e->pid);
	if (p)
		keep_worst(p, e);
	return 0;
}

/* Read every histogram of the run into the table. */
static int collect_hists(int fd)
{
	struct cw_hist_key key, next;
	struct cw_hist h;
	struct proc *p;
	bool first = true;
	char comm[17];

	while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &h) || key.kind >= CW_PAUSE_NR_KINDS)
			continue;
		memcpy(comm, h.comm, 16);
		comm[16] = '\0';
		p = proc_get(key.tgid);
		if (!p)
			return -ENOMEM;
		if (!p->comm[0] || key.kind == CW_PAUSE_RUNQUEUE)
			memcpy(p->comm, comm, sizeof(comm));
		p->hist[key.kind] = h;
		p->has[key.kind] = true;
		p->total_ns += h.total_ns;
		p->count += h.count;
	}
	return 0;
}

static bool proc_matches(const struct proc *p)
{
	unsigned int i;

	if (!p->count)
		return false;
	if (comm_matches(p->comm))
		return true;
	for (i = 0; i < p->nr_worst; i++)
		if (comm_matches(p->worst[i].comm))
			return true;
	return false;
}

static int by_total_desc(const void *a, const void *b)
{
	const struct proc *pa = a, *pb = b;

	return pa->total_ns < pb->total_ns ? 1 : pa->total_ns > pb->total_ns ? -1 : 0;
}

static const double quantiles[] = { 0.50, 0.90, 0.99, 0.999 };
static const char *const quantile_keys[] = { "p50_ns", "p90_ns", "p99_ns", "p999_ns" };
#define NR_QUANTILES	(sizeof(quantiles) / sizeof(quantiles[0]))

static void print_proc_human(const struct proc *p)
{
	char total[32], v[32];
	unsigned int k, q, i;

	format_duration(total, sizeof(total), p->total_ns);
	printf("\nPID %u (%s): %" PRIu64 " pauses, %s in all\n", p->pid, p->comm,
	       p->count, total);
	printf("  %-10s %8s %12s %12s %12s %12s %12s %12s\n", "KIND", "COUNT", "TOTAL",
	       "P50", "P90", "P99", "P99.9", "MAX");
	for (k = 1; k < CW_PAUSE_NR_KINDS; k++) {
		const struct cw_hist *h = &p->hist[k];

		if (!p->has[k])
			continue;
		format_duration(total, sizeof(total), h->total_ns);
		printf("  %-10s %8" PRIu64 " %12s", cw_pause_kind_name(k), (uint64_t)h->count, total);
		for (q = 0; q < NR_QUANTILES; q++) {
			format_duration(v, sizeof(v), cw_hist_percentile(h, quantiles[q]));
			printf(" %12s", v);
		}
		format_duration(v, sizeof(v), h->max_ns);
		printf(" %12s\n", v);
	}
	for (i = 0; i < p->nr_worst; i++) {
		const struct cw_pause_event *e = &p->worst[i];
		char comm[17] = "";

		memcpy(comm, e->comm, 16);
		format_duration(v, sizeof(v), e->end_ns - e->start_ns);
		printf("  %s %-10s %s, tid %u (%s)\n", i ? "     " : "worst",
		       cw_pause_kind_name(e->kind), v, e->tid, comm);
	}
}

static void json_proc(struct json *j, const struct proc *p)
{
	unsigned int k, q, i;

	json_object_begin(j, NULL);
	json_uint(j, "pid", p->pid);
	json_string(j, "comm", p->comm);
	json_uint(j, "pauses", p->count);
	json_uint(j, "total_ns", p->total_ns);
	json_object_begin(j, "kinds");
	for (k = 1; k < CW_PAUSE_NR_KINDS; k++) {
		const struct cw_hist *h = &p->hist[k];

		if (!p->has[k])
			continue;
		json_object_begin(j, cw_pause_kind_name(k));
		json_uint(j, "count", h->count);
		json_uint(j, "total_ns", h->total_ns);
		for (q = 0; q < NR_QUANTILES; q++)
			json_uint(j, quantile_keys[q], cw_hist_percentile(h, quantiles[q]));
		json_uint(j, "max_ns", h->max_ns);
		json_uint(j, "max_tid", h->max_tid);
		json_object_end(j);
	}
	json_object_end(j);
	json_array_begin(j, "worst");
	for (i = 0; i < p->nr_worst; i++) {
		const struct cw_pause_event *e = &p->worst[i];
		char comm[17] = "";

		memcpy(comm, e->comm, 16);
		json_object_begin(j, NULL);
		json_uint(j, "tid", e->tid);
		json_string(j, "comm", comm);
		json_string(j, "kind", cw_pause_kind_name(e->kind));
		json_uint(j, "duration_ns", e->end_ns - e->start_ns);
		json_uint(j, "start_ns", e->start_ns);
		json_uint(j, "end_ns", e->end_ns);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

/* ---- sections --------------------------------------------------------- */

/*
 * One part of the report.  start() sets up what the section measures,
 * finish() collects it when the run ends, print() writes it: in human
 * form, or as members of the summary object.  The module's per-CPU
 * histograms are meant to be one more entry of sections[].
 */
struct section {
	const char *name;
	int (*start)(void);
	int (*finish)(void);
	void (*print)(struct json *j);	/* j: NULL for the human form */
	void (*stop)(void);
};

static struct cw_pauses *pauses;

static int procs_start(void)
{
	struct cw_pauses_opts o = {
		.tgid = env.pid,
		.event_min_ns = env.threshold_ns ? env.threshold_ns : 1,
	};
	int err;

	if (env.cgroup) {
		err = cw_cgroup_lookup(env.cgroup, &o.cgroup_id, &o.cgroup_level);
		if (err)
			return err;
	}
	err = cw_pauses__open(&pauses, &o);
	if (err)
		return err;
	cw_pauses__set_callback(pauses, on_pause, NULL);
	return 0;
}

static int procs_finish(void)
{
	/* drain the events that are still queued */
	cw_pauses__poll(pauses, 0);
	return collect_hists(cw_pauses__hists_fd(pauses));
}

static void procs_print(struct json *j)
{
	uint64_t lost_ev, lost_h, lost_t;
	size_t i, n = 0, shown = 0;

	for (i = 0; i < table.nr; i++)
		if (proc_matches(&table.procs[i]))
			table.procs[n++] = table.procs[i];
	table.nr = n;
	qsort(table.procs, table.nr, sizeof(table.procs[0]), by_total_desc);
	cw_pauses__lost(pauses, &lost_ev, &lost_h, &lost_t);

	if (j) {
		json_string(j, "attach", cw_pauses__attach_type(pauses));
		json_uint(j, "events", table.events);
		json_object_begin(j, "lost");
		json_uint(j, "events", lost_ev);
		json_uint(j, "histograms", lost_h);
		json_uint(j, "tasks", lost_t);
		json_object_end(j);
		json_uint(j, "nr_processes", table.nr);
		json_array_begin(j, "processes");
		for (i = 0; i < table.nr && (!env.top || shown < (size_t)env.top); i++, shown++)
			json_proc(j, &table.procs[i]);
		json_array_end(j);
		return;
	}

	printf("\nPauses per process (%zu paused, %s programs)%s\n", table.nr,
	       cw_pauses__attach_type(pauses),
	       env.top && table.nr > (size_t)env.top ? ", longest in all first:" : ":");
	for (i = 0; i < table.nr && (!env.top || shown < (size_t)env.top); i++, shown++)
		print_proc_human(&table.procs[i]);
	if (!table.nr)
		printf("  none\n");
	if (lost_ev || lost_h || lost_t)
		printf("\nNot recorded: %" PRIu64 " events (ring buffer full), %" PRIu64
		       " pauses (histogram table full), %" PRIu64 " tasks (task table full)\n",
		       lost_ev, lost_h, lost_t);
}

static void procs_stop(void)
{
	cw_pauses__close(pauses);
	pauses = NULL;
	free(table.procs);
	memset(&table, 0, sizeof(table));
}

static const struct section sections[] = {
	{ "processes", procs_start, procs_finish, procs_print, procs_stop },
	{ "cpus", stalls_cpu_start, stalls_cpu_finish, stalls_cpu_print, stalls_cpu_stop },
	{ "host", stalls_host_start, stalls_host_finish, stalls_host_print, stalls_host_stop },
};

#define NR_SECTIONS	(sizeof(sections) / sizeof(sections[0]))

/* Poll the pause events until the duration is over or a signal came. */
static int run(void)
{
	int64_t end = env.duration > 0 ?
		now_ns(CLOCK_MONOTONIC) + (int64_t)(env.duration * 1e9) : INT64_MAX;
	int err;

	while (!exiting) {
		int64_t left = end - now_ns(CLOCK_MONOTONIC);

		if (left <= 0)
			break;
		err = cw_pauses__poll(pauses, left > 100 * NSEC_PER_MSEC ? 100 :
				      (int)(left / NSEC_PER_MSEC) + 1);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "clockwatch: polling events: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

int cmd_stalls(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = doc,
	};
	int64_t t0, t1;
	size_t started = 0, i;
	int ret = EXIT_ERROR;
	char d[32];

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	cw_bpf_set_verbose(env.verbose);

	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);

	for (; started < NR_SECTIONS; started++) {
		int err = sections[started].start();

		if (err) {
			fprintf(stderr, "clockwatch: stalls: no %s section\n",
				sections[started].name);
			report_bpf_privilege("stalls", err);
			goto cleanup;
		}
	}

	/* on stderr in every mode: scripts wait for it to know tracing began */
	fprintf(stderr, "Tracing pauses%s...%s\n", env.duration > 0 ? "" : " until Ctrl-C",
		env.quiet || env.json ? "" : " pauses at or above the threshold as they happen:");
	if (!env.json && !env.quiet)
		print_pause_header(stdout);
	t0 = now_ns(CLOCK_MONOTONIC);
	if (run())
		goto cleanup;
	t1 = now_ns(CLOCK_MONOTONIC);

	for (i = 0; i < NR_SECTIONS; i++)
		if (sections[i].finish())
			goto cleanup;

	if (env.json) {
		struct json j;

		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_string(&j, "type", "stalls");
		json_uint(&j, "duration_ns", (uint64_t)(t1 - t0));
		json_uint(&j, "threshold_ns", env.threshold_ns);
		for (i = 0; i < NR_SECTIONS; i++)
			sections[i].print(&j);
		json_object_end(&j);
		fputc('\n', stdout);
	} else {
		format_duration(d, sizeof(d), (uint64_t)(t1 - t0));
		printf("\nTraced for %s.\n", d);
		for (i = 0; i < NR_SECTIONS; i++)
			sections[i].print(NULL);
	}
	ret = EXIT_OK;

cleanup:
	while (started > 0)
		sections[--started].stop();
	return ret;
}
