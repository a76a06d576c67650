/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clockwatch: the loader of the BPF programs, shared by the clockwatch
 * tool and the selftests.
 *
 * Every loader picks the attach type at load time: tp_btf where the
 * kernel can load BPF_PROG_TYPE_TRACING programs, raw_tp otherwise (the
 * other set is switched off with bpf_program__set_autoload()).  The
 * environment variable CW_BPF_ATTACH=tp_btf|raw_tp forces one.
 *
 * Functions that return int return 0 or a negative errno value; on
 * failure they have also printed a message to stderr saying why.
 */
#ifndef __CLOCKWATCH_CWBPF_H
#define __CLOCKWATCH_CWBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "pauses.h"
#include "clocks.h"

/* Where `clockwatch guard --pin` leaves its maps and links. */
#define CW_BPF_PIN_DIR		"/sys/fs/bpf/clockwatch"

/* Route libbpf's messages: debug ones only when verbose. */
void cw_bpf_set_verbose(bool verbose);

/* Mount bpffs on /sys/fs/bpf and tracefs on /sys/kernel/tracing if absent. */
int cw_bpf_mount_fs(bool bpffs, bool tracefs);

/* Does the running kernel's sched_switch tracepoint pass prev_state? */
bool cw_bpf_switch_has_prev_state(void);

/* The ns value below which a fraction q of the histogram's pauses lie. */
uint64_t cw_hist_percentile(const struct cw_hist *h, double q);

const char *cw_pause_kind_name(unsigned int kind);

/* cgroup v2: the id and depth of a cgroup directory (absolute path, or a
 * path relative to the cgroup2 mount). */
int cw_cgroup_lookup(const char *path, uint64_t *id, uint32_t *level);

/* ---- pauses ---------------------------------------------------------- */

struct cw_pauses_opts {
	pid_t tgid;			/* only this process; 0: all */
	uint64_t cgroup_id;		/* only this cgroup and below; 0: any */
	uint32_t cgroup_level;
	uint64_t event_min_ns;		/* ring buffer threshold; 0: no events */
	uint64_t guard_min_ns;		/* guard records; 0: none */
	bool tracked;			/* only cw_pauses__track()ed processes
					 * and their descendants */
};

struct cw_pauses;

typedef int (*cw_pause_cb)(void *ctx, const struct cw_pause_event *e);

int cw_pauses__open(struct cw_pauses **out, const struct cw_pauses_opts *opts);
/* "tp_btf" or "raw_tp" */
const char *cw_pauses__attach_type(const struct cw_pauses *p);
/* Call cb for each pause event; cb returning non-zero stops the poll. */
int cw_pauses__set_callback(struct cw_pauses *p, cw_pause_cb cb, void *ctx);
/* Wait up to timeout_ms for events: their count, or a negative errno. */
int cw_pauses__poll(struct cw_pauses *p, int timeout_ms);
/* An fd that becomes readable when events wait (for epoll). */
int cw_pauses__events_fd(const struct cw_pauses *p);
int cw_pauses__hists_fd(const struct cw_pauses *p);
/* With opts->tracked: follow this process and the children it forks. */
int cw_pauses__track(struct cw_pauses *p, pid_t tgid);
int cw_pauses__sched_switch_prog_fd(const struct cw_pauses *p);
/* What the programs could not record: ring buffer, histograms, tasks. */
void cw_pauses__lost(const struct cw_pauses *p, uint64_t *events,
		     uint64_t *hists, uint64_t *tasks);
/* Pin the maps and links under dir so they outlive the process. */
int cw_pauses__pin(struct cw_pauses *p, const char *dir);
void cw_pauses__close(struct cw_pauses *p);

/* ---- clock changes --------------------------------------------------- */

struct cw_clocks;

typedef int (*cw_clock_cb)(void *ctx, const struct cw_clock_event *e);

int cw_clocks__open(struct cw_clocks **out);
int cw_clocks__set_callback(struct cw_clocks *c, cw_clock_cb cb, void *ctx);
int cw_clocks__poll(struct cw_clocks *c, int timeout_ms);
int cw_clocks__events_fd(const struct cw_clocks *c);
/* Clock-setting calls that succeeded, since load. */
uint64_t cw_clocks__step_seq(const struct cw_clocks *c);
uint64_t cw_clocks__lost(const struct cw_clocks *c);
int cw_clocks__pin(struct cw_clocks *c, const char *dir);
void cw_clocks__close(struct cw_clocks *c);

#endif /* __CLOCKWATCH_CWBPF_H */
