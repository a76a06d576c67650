// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * clockwatch: open, configure, load and attach the BPF programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cwbpf.h"
#include "pauses.skel.h"
#include "clocks.skel.h"

static bool verbose;
static bool quiet_load;		/* a first attempt that may fail */

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (quiet_load && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void cw_bpf_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_libbpf);
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

int cw_bpf_mount_fs(bool bpffs, bool tracefs)
{
	if (bpffs && !is_fs("/sys/fs/bpf", BPF_FS_MAGIC)) {
		mkdir("/sys/fs/bpf", 0700);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			fprintf(stderr, "clockwatch: cannot mount bpffs on /sys/fs/bpf: %s\n",
				strerror(errno));
			return -errno;
		}
	}
	/* libbpf looks for tracepoint ids in tracefs, then in debugfs */
	if (tracefs && !is_fs("/sys/kernel/tracing", TRACEFS_MAGIC) &&
	    access("/sys/kernel/debug/tracing/events", F_OK) != 0) {
		if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
			fprintf(stderr, "clockwatch: cannot mount tracefs on /sys/kernel/tracing: %s\n",
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* sched_switch gained its prev_state argument in 5.18. */
bool cw_bpf_switch_has_prev_state(void)
{
	const struct btf_type *t;
	struct btf *btf;
	bool has = true;	/* every kernel this tool supports */
	__s32 id;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return has;
	id = btf__find_by_name_kind(btf, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		t = btf__type_by_id(btf, t->type);		/* pointer */
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);	/* func proto */
		/* void *__data, preempt, prev, next[, prev_state] */
		if (t && btf_is_func_proto(t))
			has = btf_vlen(t) >= 5;
	}
	btf__free(btf);
	return has;
}

const char *cw_pause_kind_name(unsigned int kind)
{
	static const char *const names[CW_PAUSE_NR_KINDS] = {
		[CW_PAUSE_NONE]		= "none",
		[CW_PAUSE_RUNQUEUE]	= "runqueue",
		[CW_PAUSE_PREEMPTED]	= "preempted",
		[CW_PAUSE_THROTTLED]	= "throttled",
		[CW_PAUSE_STOPPED]	= "stopped",
	};

	return kind < CW_PAUSE_NR_KINDS ? names[kind] : "unknown";
}

/*
 * The upper end of the bucket holding the q-quantile, but never more than
 * the exact maximum: an estimate that errs long by at most 1/8.
 */
uint64_t cw_hist_percentile(const struct cw_hist *h, double q)
{
	uint64_t total = 0, rank, seen = 0, v;
	unsigned int i;

	for (i = 0; i < CW_HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (i = 0; i < CW_HIST_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= rank)
			break;
	}
	v = i + 1 < CW_HIST_SLOTS ? cw_hist_slot_low(i + 1) - 1 : h->max_ns;
	return v < h->max_ns ? v : h->max_ns;
}

/* Find the cgroup2 mount: 0 and its path in buf, or -ENOENT. */
static int cgroup2_mount(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		/* id parent major:minor root mountpoint ... - fstype ... */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			snprintf(buf, len, "%s", mnt);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int cw_cgroup_lookup(const char *path, uint64_t *id, uint32_t *level)
{
	char root[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t n;
	const char *p;
	uint32_t depth = 0;
	int err;

	err = cgroup2_mount(root, sizeof(root));
	if (err) {
		fprintf(stderr, "clockwatch: no cgroup2 file system is mounted\n");
		return err;
	}
	if (path[0] == '/' && strncmp(path, root, strlen(root)) == 0)
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", root, path);
	if (!realpath(full, real) || stat(real, &st)) {
		fprintf(stderr, "clockwatch: cgroup %s: %s\n", full, strerror(errno));
		return -errno;
	}
	n = strlen(root);
	if (strncmp(real, root, n) != 0 || (real[n] != '/' && real[n] != '\0') ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "clockwatch: %s is not a cgroup under %s\n", real, root);
		return -EINVAL;
	}
	for (p = real + n; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			depth++;
	/* On cgroup2 the inode number is the cgroup id (kernfs node id). */
	*id = st.st_ino;
	*level = depth;
	return 0;
}

/* ---- attach type ------------------------------------------------------ */

static const char *forced_attach(void)
{
	const char *a = getenv("CW_BPF_ATTACH");

	if (a && (strcmp(a, "tp_btf") == 0 || strcmp(a, "raw_tp") == 0))
		return a;
	return NULL;
}

/* Leave autoload on for the programs whose section starts with prefix. */
static void select_programs(struct bpf_object *obj, const char *prefix)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);

		bpf_program__set_autoload(prog, strncmp(sec, prefix, strlen(prefix)) == 0);
	}
}

/* ---- pauses ----------------------------------------------------------- */

struct cw_pauses {
	struct cw_pauses_bpf *skel;
	struct ring_buffer *rb;
	cw_pause_cb cb;
	void *cb_ctx;
	const char *attach;
	uint64_t guard_min_ns;
};

static int pauses_try(struct cw_pauses *p, const struct cw_pauses_opts *opts,
		      const char *attach, bool quiet)
{
	struct cw_pauses_bpf *skel;
	int err;

	skel = cw_pauses_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->has_prev_state_arg = cw_bpf_switch_has_prev_state();
	skel->rodata->targ_tgid = opts->tgid;
	skel->rodata->targ_tracked = opts->tracked;
	skel->rodata->targ_cgroup = opts->cgroup_id;
	skel->rodata->targ_cgroup_level = opts->cgroup_level;
	skel->rodata->event_min_ns = opts->event_min_ns ? opts->event_min_ns : ~0ULL;
	skel->rodata->guard_min_ns = opts->guard_min_ns;
	select_programs(skel->obj, strcmp(attach, "tp_btf") == 0 ? "tp_btf/" : "raw_tp/");

	quiet_load = quiet;
	err = cw_pauses_bpf__load(skel);
	if (!err)
		err = cw_pauses_bpf__attach(skel);
	quiet_load = false;
	if (err) {
		cw_pauses_bpf__destroy(skel);
		return err;
	}
	p->skel = skel;
	p->attach = attach;
	p->guard_min_ns = opts->guard_min_ns;
	return 0;
}

static int pause_event(void *ctx, void *data, size_t size)
{
	struct cw_pauses *p = ctx;

	if (size < sizeof(struct cw_pause_event) || !p->cb)
		return 0;
	return p->cb(p->cb_ctx, data);
}

int cw_pauses__open(struct cw_pauses **out, const struct cw_pauses_opts *opts)
{
	const char *forced = forced_attach();
	struct cw_pauses *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (forced) {
		err = pauses_try(p, opts, forced, false);
	} else {
		/* tp_btf first; raw_tp where tracing programs cannot load */
		err = pauses_try(p, opts, "tp_btf", true);
		if (err)
			err = pauses_try(p, opts, "raw_tp", false);
	}
	if (err) {
		fprintf(stderr, "clockwatch: cannot load the pause tracker: %s\n", strerror(-err));
		free(p);
		return err;
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), pause_event, p, NULL);
	if (!p->rb) {
		err = -errno;
		fprintf(stderr, "clockwatch: ring buffer: %s\n", strerror(-err));
		cw_pauses__close(p);
		return err;
	}
	*out = p;
	return 0;
}

const char *cw_pauses__attach_type(const struct cw_pauses *p)
{
	return p->attach;
}

int cw_pauses__set_callback(struct cw_pauses *p, cw_pause_cb cb, void *ctx)
{
	p->cb = cb;
	p->cb_ctx = ctx;
	return 0;
}

int cw_pauses__poll(struct cw_pauses *p, int timeout_ms)
{
	return ring_buffer__poll(p->rb, timeout_ms);
}

int cw_pauses__events_fd(const struct cw_pauses *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int cw_pauses__hists_fd(const struct cw_pauses *p)
{
	return bpf_map__fd(p->skel->maps.hists);
}

int cw_pauses__track(struct cw_pauses *p, pid_t tgid)
{
	__u32 key = tgid, val = tgid;

	return bpf_map__update_elem(p->skel->maps.tracked, &key, sizeof(key), &val,
				    sizeof(val), BPF_ANY);
}

int cw_pauses__sched_switch_prog_fd(const struct cw_pauses *p)
{
	if (strcmp(p->attach, "tp_btf") == 0)
		return bpf_program__fd(p->skel->progs.btf_sched_switch);
	return bpf_program__fd(p->skel->progs.raw_sched_switch);
}

void cw_pauses__lost(const struct cw_pauses *p, uint64_t *events,
		     uint64_t *hists, uint64_t *tasks)
{
	*events = __atomic_load_n(&p->skel->bss->events_lost, __ATOMIC_RELAXED);
	*hists = __atomic_load_n(&p->skel->bss->hists_full, __ATOMIC_RELAXED);
	*tasks = __atomic_load_n(&p->skel->bss->tasks_full, __ATOMIC_RELAXED);
}

/* Pin every map and every link of obj under dir. */
static int pin_all(struct bpf_object *obj, struct bpf_link **links, size_t nr_links,
		   const char *dir, const char *prefix)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	size_t i;
	int err;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		/* .rodata and .bss: name them after the object */
		if (name[0] == '.' || strchr(name, '.'))
			snprintf(path, sizeof(path), "%s/%s_%s", dir, prefix,
				 strrchr(name, '.') + 1);
		else
			snprintf(path, sizeof(path), "%s/%s_%s", dir, prefix, name);
		err = bpf_map__pin(map, path);
		if (err) {
			fprintf(stderr, "clockwatch: pin %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	for (i = 0; i < nr_links; i++) {
		if (!links[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s_link%zu", dir, prefix, i);
		err = bpf_link__pin(links[i], path);
		if (err) {
			fprintf(stderr, "clockwatch: pin %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

int cw_pauses__pin(struct cw_pauses *p, const char *dir)
{
	struct bpf_link *links[] = {
		p->skel->links.btf_sched_switch,
		p->skel->links.btf_sched_wakeup,
		p->skel->links.btf_sched_wakeup_new,
		p->skel->links.btf_sched_process_fork,
		p->skel->links.raw_sched_switch,
		p->skel->links.raw_sched_wakeup,
		p->skel->links.raw_sched_wakeup_new,
		p->skel->links.raw_sched_process_fork,
	};

	struct cw_guard_info info = { .min_ns = p->guard_min_ns };
	struct timespec ts;
	__u32 zero = 0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	info.loaded_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	err = bpf_map__update_elem(p->skel->maps.guard_info, &zero, sizeof(zero), &info,
				   sizeof(info), BPF_ANY);
	if (err)
		return err;
	return pin_all(p->skel->obj, links, sizeof(links) / sizeof(links[0]), dir, "pauses");
}

void cw_pauses__close(struct cw_pauses *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	cw_pauses_bpf__destroy(p->skel);
	free(p);
}

/* ---- clock changes ---------------------------------------------------- */

struct cw_clocks {
	struct cw_clocks_bpf *skel;
	struct ring_buffer *rb;
	cw_clock_cb cb;
	void *cb_ctx;
};

static int clock_event(void *ctx, void *data, size_t size)
{
	struct cw_clocks *c = ctx;

	if (size < sizeof(struct cw_clock_event) || !c->cb)
		return 0;
	return c->cb(c->cb_ctx, data);
}

int cw_clocks__open(struct cw_clocks **out)
{
	struct cw_clocks *c;
	int err;

	err = cw_bpf_mount_fs(false, true);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->skel = cw_clocks_bpf__open_and_load();
	if (!c->skel) {
		err = -errno;
		goto err_free;
	}
	err = cw_clocks_bpf__attach(c->skel);
	if (err)
		goto err_destroy;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), clock_event, c, NULL);
	if (!c->rb) {
		err = -errno;
		goto err_destroy;
	}
	*out = c;
	return 0;

err_destroy:
	cw_clocks_bpf__destroy(c->skel);
err_free:
	free(c);
	fprintf(stderr, "clockwatch: cannot load the clock-change tracker: %s\n", strerror(-err));
	return err;
}

int cw_clocks__set_callback(struct cw_clocks *c, cw_clock_cb cb, void *ctx)
{
	c->cb = cb;
	c->cb_ctx = ctx;
	return 0;
}

int cw_clocks__poll(struct cw_clocks *c, int timeout_ms)
{
	return ring_buffer__poll(c->rb, timeout_ms);
}

int cw_clocks__events_fd(const struct cw_clocks *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

static struct cw_clock_counters clock_counters(const struct cw_clocks *c)
{
	struct cw_clock_counters v = {};
	__u32 zero = 0;

	bpf_map__lookup_elem(c->skel->maps.counters, &zero, sizeof(zero), &v, sizeof(v), 0);
	return v;
}

uint64_t cw_clocks__step_seq(const struct cw_clocks *c)
{
	return clock_counters(c).step_seq;
}

uint64_t cw_clocks__lost(const struct cw_clocks *c)
{
	return clock_counters(c).events_lost;
}

int cw_clocks__pin(struct cw_clocks *c, const char *dir)
{
	struct bpf_link *links[] = {
		c->skel->links.enter_clock_settime,
		c->skel->links.exit_clock_settime,
		c->skel->links.enter_settimeofday,
		c->skel->links.exit_settimeofday,
		c->skel->links.enter_adjtimex,
		c->skel->links.exit_adjtimex,
		c->skel->links.enter_clock_adjtime,
		c->skel->links.exit_clock_adjtime,
	};

	return pin_all(c->skel->obj, links, sizeof(links) / sizeof(links[0]), dir, "clocks");
}

void cw_clocks__close(struct cw_clocks *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	cw_clocks_bpf__destroy(c->skel);
	free(c);
}
