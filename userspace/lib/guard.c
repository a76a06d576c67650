// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the lease guard, over the BPF maps that `clockwatch
 * guard --pin` leaves under /sys/fs/bpf/clockwatch (see clockwatch.h).
 *
 * The library talks to the maps with the bpf() system call directly, so
 * it needs no libbpf: BPF_OBJ_GET on the pinned paths, then
 * BPF_MAP_LOOKUP_ELEM.  The layouts are those of ../bpf/pauses.h and
 * ../bpf/clocks.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "internal.h"
#include "pauses.h"
#include "clocks.h"

/* The public kinds are the tracker's. */
_Static_assert((int)CW_LEASE_PAUSE_RUNQUEUE == (int)CW_PAUSE_RUNQUEUE &&
	       (int)CW_LEASE_PAUSE_PREEMPTED == (int)CW_PAUSE_PREEMPTED &&
	       (int)CW_LEASE_PAUSE_THROTTLED == (int)CW_PAUSE_THROTTLED &&
	       (int)CW_LEASE_PAUSE_STOPPED == (int)CW_PAUSE_STOPPED, "pause kinds differ");

struct cw_guard {
	int guard_fd;		/* pauses_guard: the rings */
	int info_fd;		/* pauses_guard_info: guard_min_ns */
	int counters_fd;	/* clocks_counters: step_seq; -1 if absent */
	struct cw_reader *page;	/* the module's page; NULL if absent */
	__s64 mono_offset_ns;	/* the opener's time namespace's offset */
};

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int obj_get(const char *dir, const char *name)
{
	union bpf_attr attr;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (__u64)(unsigned long)path;
	attr.file_flags = BPF_F_RDONLY;
	return sys_bpf(BPF_OBJ_GET, &attr);
}

static int lookup(int fd, const void *key, void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (__u64)(unsigned long)key;
	attr.value = (__u64)(unsigned long)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
}

static __u64 mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/*
 * Is the caller in the initial pid namespace?  Its nsfs inode has a fixed
 * number (PROC_PID_INIT_INO).  Without /proc the answer is not known, and
 * the caller is taken to be there.
 */
static bool in_initial_pid_ns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return true;
	return st.st_ino == 0xEFFFFFFCU;
}

struct cw_guard *cw_guard__open(const char *pin_dir)
{
	struct cw_timens ns;
	struct cw_guard *g;
	int err;

	if (!pin_dir)
		pin_dir = CW_GUARD_PIN_DIR;
	/*
	 * The pause tracker keys threads by their initial-namespace ids,
	 * which a process in another pid namespace cannot learn: it would
	 * find no pauses of its own and be told its leases held.
	 */
	if (!in_initial_pid_ns()) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	g->info_fd = -1;
	g->counters_fd = -1;
	err = cw_timens__offsets(&ns);
	if (err) {
		free(g);
		errno = -err;
		return NULL;
	}
	/* The tracker's times are the initial namespace's MONOTONIC. */
	g->mono_offset_ns = ns.monotonic_ns;
	g->guard_fd = obj_get(pin_dir, "pauses_guard");
	if (g->guard_fd < 0) {
		err = errno;
		free(g);
		errno = err;
		return NULL;
	}
	g->info_fd = obj_get(pin_dir, "pauses_guard_info");
	g->counters_fd = obj_get(pin_dir, "clocks_counters");
	g->page = cw_reader__open(CLOCKWATCH_DEVICE);
	return g;
}

/* The step counter to use, and its value now. */
static __u32 step_count(struct cw_guard *g, __u64 *seq)
{
#ifdef CLOCKWATCH_FEAT_STEPS	/* an ABI header whose page counts steps */
	struct clockwatch_page page;

	if (g->page && cw_reader__read(g->page, &page) == 0 &&
	    (page.features & CLOCKWATCH_FEAT_STEPS) &&
	    CLOCKWATCH_FIELD_PRESENT(&page, step_seq)) {
		*seq = page.step_seq;
		return CW_LEASE_STEPS_MODULE;
	}
#endif /* CLOCKWATCH_FEAT_STEPS */
	if (g->counters_fd >= 0) {
		struct cw_clock_counters c;
		__u32 zero = 0;

		if (lookup(g->counters_fd, &zero, &c) == 0) {
			*seq = c.step_seq;
			return CW_LEASE_STEPS_BPF;
		}
	}
	*seq = 0;
	return CW_LEASE_STEPS_NONE;
}

/* seq of the ring of a thread or a process; 0 when it has none yet. */
static int ring_read(struct cw_guard *g, __u32 id, __u32 is_process,
		     struct cw_guard_ring *ring)
{
	struct cw_guard_key key = { .id = id, .is_process = is_process };

	if (lookup(g->guard_fd, &key, ring) == 0)
		return 0;
	if (errno == ENOENT) {
		memset(ring, 0, sizeof(*ring));
		return 0;
	}
	return -errno;
}

int cw_guard__take(struct cw_guard *g, struct cw_lease *lease)
{
	struct cw_guard_ring ring;
	int err;

	if (!g || !lease)
		return cw_err(-EINVAL);
	memset(lease, 0, sizeof(*lease));
	lease->pid = (__u32)getpid();
	lease->tid = (__u32)gettid();
	err = ring_read(g, lease->tid, 0, &ring);
	if (err)
		return cw_err(err);
	lease->thread_seq = ring.seq;
	err = ring_read(g, lease->pid, 1, &ring);
	if (err)
		return cw_err(err);
	lease->process_seq = ring.seq;
	lease->step_source = step_count(g, &lease->step_seq);
	/* last: a pause after this instant is inside the lease */
	lease->start_ns = mono_now();
	return 0;
}

/*
 * The longest record of ring written since seq0 that overlaps the lease,
 * clipped to it.  Sets *lost when more were written than the ring holds.
 */
static __u64 ring_longest(const struct cw_guard_ring *ring, __u64 seq0, __u64 start,
			  __u32 *kind, __u32 *tid, bool *lost)
{
	__u64 n, i, best = 0;

	if (ring->seq < seq0) {		/* the entry was evicted and made anew */
		*lost = true;
		n = ring->seq;
	} else {
		n = ring->seq - seq0;
	}
	if (n > CW_GUARD_RING) {
		*lost = true;
		n = CW_GUARD_RING;
	}
	for (i = 0; i < n; i++) {
		const struct cw_guard_rec *r = &ring->rec[(ring->seq - 1 - i) % CW_GUARD_RING];
		__u64 from = r->start_ns > start ? r->start_ns : start;

		if (r->end_ns <= from)
			continue;
		if (r->end_ns - from > best) {
			best = r->end_ns - from;
			*kind = r->kind;
			*tid = r->tid;
		}
	}
	return best;
}

/* A token cw_guard__take() made: what it leaves zero is zero. */
static bool lease_valid(const struct cw_lease *lease)
{
	size_t i;

	if (lease->__reserved)
		return false;
	for (i = 0; i < sizeof(lease->__reserved1) / sizeof(lease->__reserved1[0]); i++)
		if (lease->__reserved1[i])
			return false;
	return true;
}

int cw_guard__check(struct cw_guard *g, const struct cw_lease *lease,
		    struct cw_lease_report *rep)
{
	struct cw_guard_ring ring;
	bool lost = false;
	__u32 tid, zero = 0;
	__u64 seq, start;
	int err;

	if (!g || !lease || !rep || !lease_valid(lease))
		return cw_err(-EINVAL);
	memset(rep, 0, sizeof(*rep));
	rep->elapsed_ns = mono_now() - lease->start_ns;
	/* The lease's start as the tracker's clock has it. */
	start = lease->start_ns - (__u64)g->mono_offset_ns;

	err = ring_read(g, lease->tid, 0, &ring);
	if (err)
		return cw_err(err);
	rep->thread_pause_ns = ring_longest(&ring, lease->thread_seq, start,
					    &rep->thread_pause_kind, &tid, &lost);
	err = ring_read(g, lease->pid, 1, &ring);
	if (err)
		return cw_err(err);
	rep->process_pause_ns = ring_longest(&ring, lease->process_seq, start,
					     &rep->process_pause_kind,
					     &rep->process_pause_tid, &lost);
	if (lost)
		rep->flags |= CW_LEASE_LOST;

	if (g->info_fd >= 0) {
		struct cw_guard_info info;

		if (lookup(g->info_fd, &zero, &info) == 0)
			rep->min_recorded_ns = info.min_ns;
	}

	if (step_count(g, &seq) != lease->step_source ||
	    lease->step_source == CW_LEASE_STEPS_NONE) {
		rep->flags |= CW_LEASE_STEPS_UNKNOWN;
	} else {
		rep->steps = seq - lease->step_seq;
		if (rep->steps)
			rep->flags |= CW_LEASE_STEPPED;
	}
	return 0;
}

int cw_guard__held(struct cw_guard *g, const struct cw_lease *lease, __u64 max_pause_ns)
{
	struct cw_lease_report rep;
	int err;

	err = cw_guard__check(g, lease, &rep);
	if (err)
		return err;
	if (rep.flags & (CW_LEASE_LOST | CW_LEASE_STEPPED | CW_LEASE_STEPS_UNKNOWN))
		return 0;
	/*
	 * A pause longer than max_pause_ns but shorter than the tracker's
	 * minimum leaves no record: with no minimum known, or one above
	 * max_pause_ns, the absence of records proves nothing.
	 */
	if (!rep.min_recorded_ns || rep.min_recorded_ns > max_pause_ns)
		return 0;
	return rep.thread_pause_ns <= max_pause_ns;
}

void cw_guard__close(struct cw_guard *g)
{
	if (!g)
		return;
	close(g->guard_fd);
	if (g->info_fd >= 0)
		close(g->info_fd);
	if (g->counters_fd >= 0)
		close(g->counters_fd);
	cw_reader__close(g->page);
	free(g);
}
