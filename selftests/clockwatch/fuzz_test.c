// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: a fuzzer of /dev/clockwatch that holds every result against
 * the documented one.
 *
 * Four threads make random calls against the device: ioctl() with commands
 * in and around CLOCKWATCH_IOC_MAGIC, sizes and directions that do not
 * match, NULL, unmapped, read-only, straddling and kernel pointers, and
 * non-zero reserved fields; read() and pread() with odd sizes, offsets and
 * buffers; write(); mmap() with bad protections, flags, lengths and
 * offsets, then mprotect(), mremap() and madvise() of a good mapping;
 * poll(), ppoll(), select(); lseek(); open() with odd flags.  Each thread
 * has files of its own and shares others with the rest.  Meanwhile a fifth
 * thread steps the clock (clock_settime() and back), writes adjtimex()
 * (frequency, maxerror, status) and injects stalls through the test
 * injector's debugfs file (module loaded with inject=1).  The injector's
 * commands are not the device's: /dev/clockwatch answers them ENOTTY.
 *
 * DAEMON_REPORT needs a sync daemon to report for: the root run writes
 * maxerror before it starts, which makes this process the daemon (its
 * perturbing thread goes on writing maxerror as the daemon), so reports
 * with its pid and the anchor and step_seq just read from the page are
 * taken, unless the perturbing thread wrote or stepped in between (then
 * EAGAIN is right too; without such a race, only 0 is).
 *
 * The oracle is the contract, not the module: the errno list in
 * Documentation/ABI/testing/dev-clockwatch for what the module decides,
 * and the system calls' own rules (their man pages, fs/ and mm/) for what
 * the kernel decides before the module is asked, in the kernel's order.
 * A result is right when the oracle allows it; where a race makes more
 * than one result right (a record may or may not be waiting on a shared
 * file), the oracle allows each, and a file only one thread reads gets the
 * strict one.  Successful calls have their output checked as well: event
 * records gap-free per file, INFO's cursor where the reads left it, stall
 * records whose parts add up.
 *
 * The inputs come from CW_FUZZ_SEED (printed; fixed by default), the
 * number of calls of the four threads from CW_FUZZ_CALLS (default 10^6).
 * Then the fuzzer runs again, as nobody without capabilities and as
 * nobody with CAP_PERFMON alone, for CW_FUZZ_SLICE calls each (default a
 * twentieth), against the privilege policy.  Clock changes need root and
 * CLOCKWATCH_DESTRUCTIVE=1 (run_vm.sh); without them the fuzzer runs
 * without the perturbing thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/clockwatch.h>
/* The injector's header: a test header, not the uapi (never installed). */
#include <clockwatch/inject.h>

#include "kselftest_harness.h"
#include "cw_test.h"

#define NSEC_PER_SEC		1000000000LL
#define DEFAULT_SEED		0x5eedc10cULL
#define DEFAULT_CALLS		1000000ULL
#define THREADS			4
#define MAX_PRINTED		40
#define CPUS_MAX		1024

#ifndef CAP_PERFMON
#define CAP_PERFMON		38
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << 26)
#define MAP_HUGE_1GB		(30 << 26)
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED	0x4000000
#endif

/* mm/mmap.c: the flags MAP_SHARED_VALIDATE accepts from every file. */
#define LEGACY_MAP_MASK	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | \
			 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | \
			 MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			 MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | \
			 MAP_HUGE_2MB | MAP_HUGE_1GB)

/*
 * The highest user address on x86-64 with 4-level page tables.  With
 * 5-level ones user space goes higher; the fuzzer makes no call whose
 * result depends on which (user buffers stay far below this).
 */
#define USER_TOP_47		0x00007ffffffff000ULL

#define PG			4096UL
#define EVSZ			CLOCKWATCH_EVENT_SIZE
#define CS_SIZE			sizeof(struct clockwatch_cpu_stats)
#define STALL_SIZE		sizeof(struct clockwatch_stall)
#define DREP_SIZE		sizeof(struct clockwatch_daemon_report)
#define TASKS_SIZE		sizeof(struct clockwatch_tasks)
/* The largest correction a daemon report may carry (1000 s), ns. */
#define DREP_MAX_NS		(1000LL * NSEC_PER_SEC)

/* ---- the arena: every pointer a thread passes points into it ----------- */

/*
 * [rw: RW_PAGES][guard][ro: RO_PAGES][guard].  Buffers the kernel may
 * write more into than asked for (read(), STALL_LOG's records) end at the
 * first guard page, so a result the oracle did not expect can only fault,
 * never scribble over the test.
 */
#define RW_PAGES		4
#define RO_PAGES		6
#define RW_SIZE			(RW_PAGES * PG)
#define A_GUARD1		RW_SIZE
#define A_RO			(A_GUARD1 + PG)
#define A_GUARD2		(A_RO + RO_PAGES * PG)
#define A_SIZE			(A_GUARD2 + PG)

/* Prepared structures in the read-only pages, one valid, one not. */
#define RO_CS_OK		0
#define RO_CS_BAD		(RO_CS_OK + CS_SIZE)
#define RO_INFO_OK		(RO_CS_BAD + CS_SIZE)
#define RO_INFO_BAD		(RO_INFO_OK + 64)
#define RO_LOG_OK		(RO_INFO_BAD + 64)
#define RO_LOG_BAD		(RO_LOG_OK + 64)
#define RO_INJ_OK		(RO_LOG_BAD + 64)
#define RO_INJ_BAD		(RO_INJ_OK + 64)
#define RO_IEV_OK		(RO_INJ_BAD + 64)
#define RO_IEV_BAD		(RO_IEV_OK + 64)
#define RO_DREP_OK		(RO_IEV_BAD + 64)
#define RO_DREP_BAD		(RO_DREP_OK + DREP_SIZE)
#define RO_TASKS_OK		(RO_DREP_BAD + DREP_SIZE)
#define RO_TASKS_BAD		(RO_TASKS_OK + TASKS_SIZE)
#define RO_END			(RO_TASKS_BAD + TASKS_SIZE)
_Static_assert(RO_END <= RO_PAGES * PG, "the prepared structures fit");

/* ---- what the oracle knows about this system --------------------------- */

static struct {
	unsigned int nr_cpu_ids;	/* highest possible CPU + 1 */
	bool possible[CPUS_MAX];
	bool online[CPUS_MAX];
	bool probed[CPUS_MAX];		/* the probe must run there (see env_init()) */
	unsigned int online_list[CPUS_MAX];
	unsigned int n_online;
	__u64 features;
	bool stalls;			/* CLOCKWATCH_FEAT_STALLS */
	bool inject;			/* the injector's debugfs file exists */
	__u32 ring_entries;
	bool sys_admin;			/* effective capabilities of this process */
	bool sys_time;
	bool perfmon;			/* CAP_PERFMON or CAP_SYS_ADMIN */
	bool dac_override;
	bool fowner;
	bool ipc_lock;
	bool dev_noexec;		/* /dev mounted noexec */
	unsigned long long memlock;	/* RLIMIT_MEMLOCK, bytes */
	unsigned long long nofile;	/* RLIMIT_NOFILE */
	long long start_mono_ns;	/* when this run began */
	uint64_t seed;
	pid_t pid;			/* getpid() */
	bool daemon;			/* this process is the sync daemon (see below) */
	const struct clockwatch_page *page;
	int fd;				/* the device, for CLOCKWATCH_IOC_TASKS */
} env;

/*
 * Odd while the perturbing thread of this process steps the clock or
 * writes adjtimex(), bumped before and after: a DAEMON_REPORT call that
 * sees it even and unchanged around its page read and its call raced
 * with no new anchor and no step.
 */
static atomic_ulong perturb_gen;
/* Reports with the values just read: without a race, and with one (and EAGAIN). */
static atomic_ulong drep_quiet, drep_raced, drep_raced_eagain;

/* The highest stall seq known to exist (STALL_LOG answers raise it). */
static _Atomic unsigned long long stall_lo;
static _Atomic unsigned int n_printed;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- random numbers ---------------------------------------------------- */

static inline uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned int rndn(uint64_t *s, unsigned int n)
{
	return (unsigned int)(rnd(s) % n);
}

static inline bool chance(uint64_t *s, unsigned int pct)
{
	return rndn(s, 100) < pct;
}

#define PICK(s, arr) ((arr)[rndn((s), ARRAY_SIZE(arr))])

/* ---- allowed results --------------------------------------------------- */

/* A set of results: bit 0 success, bit e the errno e. */
struct want {
	uint64_t m[2];
};

static inline void w_add(struct want *w, int e)
{
	w->m[e / 64] |= 1ULL << (e % 64);
}

static inline struct want w1(int e)
{
	struct want w = { { 0, 0 } };

	w_add(&w, e);
	return w;
}

static inline bool w_has(const struct want *w, int e)
{
	return e >= 0 && e < 128 && ((w->m[e / 64] >> (e % 64)) & 1);
}

static const char *res_name(int e)
{
	const char *s;

	if (!e)
		return "ok";
	s = strerrorname_np(e);
	return s ? s : "E?";
}

static void w_str(const struct want *w, char *buf, size_t len)
{
	size_t n = 0;
	int e;

	buf[0] = 0;
	for (e = 0; e < 128 && n < len; e++)
		if (w_has(w, e))
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
				      res_name(e));
}

/* ---- per-thread state -------------------------------------------------- */

enum op {
	OP_IOC_INFO, OP_IOC_CPU_STATS, OP_IOC_STALL_RESET, OP_IOC_STALL_LOG,
	OP_IOC_INJECT, OP_IOC_INJECT_EVENTS, OP_IOC_DAEMON_REPORT, OP_IOC_TASKS,
	OP_IOC_OTHER,
	OP_READ, OP_PREAD,
	OP_WRITE, OP_PWRITE, OP_MMAP, OP_MPROTECT, OP_MREMAP, OP_MADVISE,
	OP_MUNMAP, OP_POLL, OP_PPOLL, OP_SELECT, OP_LSEEK, OP_OPEN, OP_CLOSE,
	OP_NR,
};

static const char *const op_name[OP_NR] = {
	"ioctl(INFO)", "ioctl(CPU_STATS)", "ioctl(STALL_RESET)",
	"ioctl(STALL_LOG)", "ioctl(INJECT)", "ioctl(INJECT_EVENTS)",
	"ioctl(DAEMON_REPORT)", "ioctl(TASKS)",
	"ioctl(other cmd)", "read", "pread", "write", "pwrite", "mmap",
	"mprotect", "mremap", "madvise", "munmap", "poll", "ppoll", "select",
	"lseek", "open", "close",
};

/* How a file was opened: O_ACCMODE, or one of these. */
#define ACC_PATH		(-1)	/* O_PATH */
#define ACC_BAD			(-2)	/* not an open file at all */

struct fzfd {
	int fd;
	int acc;
	bool nonblock;
	bool may_read;		/* its opener had CAP_PERFMON or CAP_SYS_ADMIN */
	bool own;		/* only this thread reads it: strict oracle */
	bool avail;		/* own: a record is known to wait */
	bool synced;		/* own: next_seq was learnt from INFO */
	__u64 next_seq;		/* own: the seq its next record has */
	const char *name;
};

enum { FD_OWN, FD_OWN_BLOCK, FD_SCRATCH, FD_OWN_NR };

struct fz {
	int id;
	uint64_t rng;
	char *arena;
	struct fzfd fds[FD_OWN_NR];
	struct fzfd badfd;
	unsigned long long calls, target, mismatches;
	unsigned long long tab[OP_NR][128];
	unsigned long long ns[OP_NR];	/* time since the call before, per op */
	long long last_ns;
	pthread_t th;
};

/* Files all threads use: never closed while they run. */
static struct fzfd shared_fds[3];
static unsigned int n_shared;

/*
 * /dev, held open: open() goes through openat() from it, the same open of
 * the device without a walk from the root, which in the test VM asks the
 * host (9p) every time.
 */
static int dev_dirfd = -1;

static inline bool acc_file(int acc)
{
	return acc >= 0;
}

static inline bool acc_reads(int acc)
{
	return acc == O_RDONLY || acc == O_RDWR;
}

static inline bool acc_writes(int acc)
{
	return acc == O_WRONLY || acc == O_RDWR;
}

static void vreport(struct fz *t, const char *what, int op, const char *got,
		    const char *want, const char *fmt, va_list ap)
{
	char in[600];

	t->mismatches++;
	if (atomic_fetch_add(&n_printed, 1) >= MAX_PRINTED)
		return;
	vsnprintf(in, sizeof(in), fmt, ap);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "# %s: uid %d thread %d call %llu %s: %s: got %s, want %s\n",
		what, (int)getuid(), t->id, t->calls, op_name[op], in, got, want);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

/*
 * Count one call and hold its result (0 or an errno) against @w.
 * Returns true when the result is allowed.
 */
static bool __attribute__((format(printf, 5, 6)))
record(struct fz *t, int op, int res, const struct want *w, const char *fmt, ...)
{
	struct timespec ts;
	char want[160];
	long long now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (t->last_ns)
		t->ns[op] += now - t->last_ns;
	t->last_ns = now;
	t->calls++;
	t->tab[op][res < 128 ? res : 127]++;
	if (w_has(w, res))
		return true;
	w_str(w, want, sizeof(want));
	va_start(ap, fmt);
	vreport(t, "MISMATCH", op, res_name(res), want, fmt, ap);
	va_end(ap);
	return false;
}

/* A call that succeeded as allowed but whose output breaks the contract. */
static void __attribute__((format(printf, 3, 4)))
bad_output(struct fz *t, int op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(t, "BAD OUTPUT", op, "ok", "a valid output", fmt, ap);
	va_end(ap);
}

/* ---- pointers ---------------------------------------------------------- */

/*
 * The CPUs the probe must run on, from outside the module:
 * CW_EXPECT_PROBE_CPUS (the list the module was loaded with, probe_cpus=)
 * or every CPU neither isolcpus= nor nohz_full= isolated.
 */
static int parse_cpulist_str(const char *s, bool *set)
{
	char *end;
	unsigned long a, b;

	while (*s && *s != '\n') {
		a = strtoul(s, &end, 10);
		if (end == s)
			return -1;
		b = a;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		for (; a <= b && a < CPUS_MAX; a++)
			set[a] = true;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int probed_cpus(bool *set)
{
	static const char *const iso[] = {
		"/sys/devices/system/cpu/isolated", "/sys/devices/system/cpu/nohz_full",
	};
	const char *list = getenv("CW_EXPECT_PROBE_CPUS");
	bool out[CPUS_MAX] = { false };
	char buf[4096];
	unsigned int i, k;

	memset(set, 0, CPUS_MAX * sizeof(*set));
	if (list)
		return parse_cpulist_str(list, set);
	for (k = 0; k < 2; k++) {
		FILE *f = fopen(iso[k], "r");

		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		/* nohz_full reads "(null)" on a kernel booted without it */
		if (strncmp(buf, "(null)", 6) && parse_cpulist_str(buf, out))
			return -1;
	}
	for (i = 0; i < CPUS_MAX; i++)
		set[i] = !out[i];
	return 0;
}

enum pk {
	PK_GOOD, PK_ODD, PK_NULL, PK_LOW, PK_GUARD, PK_STRADDLE, PK_KERNEL,
	PK_NONCANON, PK_RO_OK, PK_RO_BAD, PK_NR,
};

static const char *const pk_name[PK_NR] = {
	"good", "misaligned", "NULL", "low-unmapped", "guard-page",
	"straddling", "kernel", "non-canonical", "read-only(valid)",
	"read-only(invalid)",
};

/* Per 100: how often each kind of pointer is passed. */
static const unsigned char pk_weight[PK_NR] = { 55, 10, 5, 4, 4, 8, 5, 3, 4, 2 };

static const uint64_t kernel_ptrs[] = {
	0xffff888000000000ULL,	/* the direct map, without KASLR */
	0xffffffff81000000ULL,	/* kernel text, without KASLR */
	0xffffc90000000000ULL,	/* vmalloc */
	0xffffffffff600000ULL,	/* the vsyscall page */
	0xfffffffffffff000ULL,
	0xffffffffffffffffULL,
};

static const uint64_t noncanon_ptrs[] = {
	0x8000000000000000ULL,
	0xdead000000000000ULL,
	0x7fffffffffffffffULL,
};

static enum pk pick_pk(struct fz *t)
{
	unsigned int r = rndn(&t->rng, 100), k;

	for (k = 0; k < PK_NR; k++) {
		if (r < pk_weight[k])
			return k;
		r -= pk_weight[k];
	}
	return PK_GOOD;
}

/*
 * A pointer as passed: the address, how many bytes from it the kernel can
 * read (0 for none) and whether it can write @n bytes there, and the
 * contents it will read.
 */
struct parg {
	enum pk kind;
	uint64_t p;
	size_t rd;
	bool wr;
	const void *seen;
};

/*
 * Put a structure of @n bytes where @kind says, its first @init bytes
 * from @content (the rest is what the arena held: output fields, not
 * looked at).  Good pointers land in the first @span bytes of the
 * read-write pages; the read-only ones at the prepared structures @ro_ok
 * and @ro_bad.
 */
static void place_part(struct fz *t, struct parg *a, enum pk kind, const void *content,
		       size_t n, size_t init, size_t span, size_t ro_ok, size_t ro_bad)
{
	char *rw = t->arena, *guard = t->arena + A_GUARD1, *ro = t->arena + A_RO;
	size_t off, s;

	a->kind = kind;
	a->rd = 0;
	a->wr = false;
	a->seen = NULL;
	switch (kind) {
	case PK_GOOD:
	case PK_ODD:
		off = rndn(&t->rng, (unsigned int)(span - n) / 8 + 1) * 8;
		if (kind == PK_ODD)
			off += off + n < span ? 1 + rndn(&t->rng, 7) : 0;
		if (off + n > span)
			off = span - n;
		memcpy(rw + off, content, init);
		a->p = (uintptr_t)(rw + off);
		a->rd = n;
		a->wr = true;
		a->seen = content;
		break;
	case PK_NULL:
		a->p = 0;
		break;
	case PK_LOW:
		/* below vm.mmap_min_addr: nothing is ever mapped there */
		a->p = 0x1000 + rndn(&t->rng, 0xe000);
		break;
	case PK_GUARD:
		a->p = (uintptr_t)(guard + rndn(&t->rng, PG));
		break;
	case PK_STRADDLE:
		s = n > 1 ? 1 + rndn(&t->rng, (unsigned int)n - 1) : 1;
		memcpy(guard - s, content, s < init ? s : init);
		a->p = (uintptr_t)(guard - s);
		a->rd = s;
		a->seen = content;
		break;
	case PK_KERNEL:
		a->p = PICK(&t->rng, kernel_ptrs);
		break;
	case PK_NONCANON:
		a->p = PICK(&t->rng, noncanon_ptrs);
		break;
	case PK_RO_OK:
	case PK_RO_BAD:
		a->p = (uintptr_t)(ro + (kind == PK_RO_OK ? ro_ok : ro_bad));
		a->rd = n;
		a->seen = (const void *)(uintptr_t)a->p;
		break;
	default:
		break;
	}
}

static void place(struct fz *t, struct parg *a, enum pk kind, const void *content,
		  size_t n, size_t span, size_t ro_ok, size_t ro_bad)
{
	place_part(t, a, kind, content, n, n, span, ro_ok, ro_bad);
}

static struct fzfd *pick_fd(struct fz *t)
{
	static const int bad[] = { -1, -100, 1 << 20, INT_MAX };
	unsigned int r = rndn(&t->rng, 100);

	if (r < 30)
		return &t->fds[FD_OWN];
	if (r < 40)
		return &t->fds[FD_OWN_BLOCK];
	if (r < 55)
		return &t->fds[FD_SCRATCH];
	if (r < 91 && n_shared)
		return &shared_fds[rndn(&t->rng, n_shared)];
	t->badfd.fd = PICK(&t->rng, bad);
	return &t->badfd;
}

static unsigned int pick_online_cpu(struct fz *t)
{
	return env.online_list[rndn(&t->rng, env.n_online)];
}

/* ---- output checks ----------------------------------------------------- */

/*
 * Records read from @f: whole, well-formed, and gap-free: each has the
 * seq after the one before, or is an OVERRUN record that says how many
 * were skipped.  On a file only this thread reads, the first one has the
 * seq the file's cursor was at.
 */
static void check_events(struct fz *t, int op, struct fzfd *f, const char *buf,
			 size_t n)
{
	struct clockwatch_event ev;
	__u64 expect = f->next_seq;
	bool have = f->own && f->synced;
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&ev, buf + i * EVSZ, sizeof(ev));
		/* types 1 .. 8; 7 is the test injector's, made by the perturber */
		if (ev.size != EVSZ || ev.__reserved0 ||
		    ev.type < CLOCKWATCH_EV_OVERRUN || ev.type > CLOCKWATCH_EV_PAUSE ||
		    ev.__reserved1 || (ev.flags & ~CLOCKWATCH_EVF_TASK) ||
		    ev.cpu >= env.nr_cpu_ids) {
			bad_output(t, op, "fd %s record %zu of %zu: size %u reserved %u type %u flags %#x cpu %u reserved %u",
				   f->name, i, n, ev.size, ev.__reserved0, ev.type,
				   ev.flags, ev.cpu, ev.__reserved1);
			return;
		}
		if (!have) {
			expect = ev.seq;
			have = true;
		}
		if (ev.seq != expect) {
			bad_output(t, op, "fd %s record %zu of %zu: seq %llu, want %llu (type %u)",
				   f->name, i, n, (unsigned long long)ev.seq,
				   (unsigned long long)expect, ev.type);
		}
		/*
		 * A disruption: its reserved fields zero, a known reference,
		 * and no measurement without one.
		 */
		if (ev.type == CLOCKWATCH_EV_DISRUPTION &&
		    (ev.disruption.__reserved || ev.disruption.__reserved1 ||
		     ev.disruption.ref_source > CLOCKWATCH_REF_RTC ||
		     (ev.disruption.ref_source == CLOCKWATCH_REF_NONE &&
		      (ev.disruption.ref_offset_change_ns || ev.disruption.ref_err_ns ||
		       ev.disruption.ref_before_raw_ns || ev.disruption.ref_after_raw_ns))))
			bad_output(t, op, "fd %s disruption record: reserved %u %u source %u change %lld err %lld",
				   f->name, ev.disruption.__reserved,
				   ev.disruption.__reserved1, ev.disruption.ref_source,
				   (long long)ev.disruption.ref_offset_change_ns,
				   (long long)ev.disruption.ref_err_ns);
		if (ev.type == CLOCKWATCH_EV_OVERRUN) {
			if (ev.overrun.first_lost_seq != ev.seq || !ev.overrun.lost)
				bad_output(t, op, "fd %s overrun record: seq %llu first_lost %llu lost %llu",
					   f->name, (unsigned long long)ev.seq,
					   (unsigned long long)ev.overrun.first_lost_seq,
					   (unsigned long long)ev.overrun.lost);
			expect = ev.seq + ev.overrun.lost;
		} else {
			expect = ev.seq + 1;
		}
	}
	if (f->own)
		f->next_seq = expect;
}

static void check_info(struct fz *t, struct fzfd *f, const struct clockwatch_info *o)
{
	if (o->size != sizeof(*o) || o->version != CLOCKWATCH_ABI_VERSION ||
	    o->event_size != EVSZ || o->ring_entries != env.ring_entries ||
	    o->features != env.features || o->cursor > o->event_head ||
	    o->__reserved[0] || o->__reserved[1])
		bad_output(t, OP_IOC_INFO, "fd %s: size %u version %u event_size %u ring %u features %#llx cursor %llu head %llu",
			   f->name, o->size, o->version, o->event_size,
			   o->ring_entries, (unsigned long long)o->features,
			   (unsigned long long)o->cursor,
			   (unsigned long long)o->event_head);
	if (!f->own)
		return;
	if (f->synced && o->cursor != f->next_seq)
		bad_output(t, OP_IOC_INFO, "fd %s: cursor %llu, but the reads left it at %llu",
			   f->name, (unsigned long long)o->cursor,
			   (unsigned long long)f->next_seq);
	f->next_seq = o->cursor;
	f->synced = true;
	f->avail = o->event_head != o->cursor;
}

static void check_cpu_stats(struct fz *t, const struct clockwatch_cpu_stats *in,
			    const struct clockwatch_cpu_stats *o)
{
	unsigned int h, b;
	__u64 sum;

	if (o->size != CS_SIZE || o->cpu != in->cpu ||
	    (o->flags & ~(CLOCKWATCH_CPU_ACTIVE | CLOCKWATCH_CPU_THREAD)) ||
	    !!(o->flags & CLOCKWATCH_CPU_ACTIVE) !=
	    (env.online[in->cpu] && env.probed[in->cpu]) ||
	    o->__reserved0 || !o->threshold_ns) {
		bad_output(t, OP_IOC_CPU_STATS, "cpu %u: size %u cpu %u flags %#x reserved %u threshold %llu",
			   in->cpu, o->size, o->cpu, o->flags, o->__reserved0,
			   (unsigned long long)o->threshold_ns);
		return;
	}
	for (h = 0; h < CLOCKWATCH_HIST_NR; h++) {
		const struct clockwatch_hist *hi = &o->hist[h];

		for (sum = 0, b = 0; b < CLOCKWATCH_HIST_BUCKETS; b++)
			sum += hi->buckets[b];
		if (sum != hi->count || (hi->count && hi->min_ns > hi->max_ns))
			bad_output(t, OP_IOC_CPU_STATS, "cpu %u hist %u: buckets add up to %llu, count %llu, min %llu max %llu",
				   in->cpu, h, (unsigned long long)sum,
				   (unsigned long long)hi->count,
				   (unsigned long long)hi->min_ns,
				   (unsigned long long)hi->max_ns);
	}
	/*
	 * The header's identity, while the period did not change: it did
	 * not since this run began, so check it after a reset made then.
	 */
	if ((o->flags & CLOCKWATCH_CPU_ACTIVE) && o->first_due_ns &&
	    o->since_ns > env.start_mono_ns && o->period_ns &&
	    o->hist[CLOCKWATCH_HIST_IRQ_FILLED].count !=
	    (__u64)(o->next_due_ns - o->first_due_ns) / o->period_ns)
		bad_output(t, OP_IOC_CPU_STATS, "cpu %u: irq_filled count %llu != (next_due %lld - first_due %lld) / period %llu",
			   in->cpu,
			   (unsigned long long)o->hist[CLOCKWATCH_HIST_IRQ_FILLED].count,
			   (long long)o->next_due_ns, (long long)o->first_due_ns,
			   (unsigned long long)o->period_ns);
}

static void raise_stall_lo(unsigned long long seq)
{
	unsigned long long cur = atomic_load(&stall_lo);

	while (seq > cur && !atomic_compare_exchange_weak(&stall_lo, &cur, seq))
		;
}

static void check_stall_log(struct fz *t, __u64 from, const struct clockwatch_stall_log *o,
			    const char *recs)
{
	struct clockwatch_stall st;
	__u64 want_seq = from, prev = 0;
	__u32 i;

	if (o->next_seq < from || (o->count && o->next_seq < o->count)) {
		bad_output(t, OP_IOC_STALL_LOG, "from %llu: count %u next_seq %llu lost %llu",
			   (unsigned long long)from, o->count,
			   (unsigned long long)o->next_seq,
			   (unsigned long long)o->lost);
		return;
	}
	for (i = 0; i < o->count; i++) {
		memcpy(&st, recs + i * STALL_SIZE, sizeof(st));
		if ((o->lost == 0 && st.seq != want_seq) || st.seq <= prev ||
		    (i + 1 == o->count && st.seq != o->next_seq - 1) ||
		    st.seq < from || st.cpu >= env.nr_cpu_ids ||
		    st.context > CLOCKWATCH_STALL_THREAD ||
		    (st.attr_flags & ~(CLOCKWATCH_ATTR_STEAL | CLOCKWATCH_ATTR_IRQTIME)) ||
		    !st.period_ns ||
		    st.steal_ns + st.irq_ns + st.softirq_ns +
		    st.unexplained_ns != st.duration_ns) {
			bad_output(t, OP_IOC_STALL_LOG, "from %llu: record %u of %u: seq %llu (want %llu, next_seq %llu, lost %llu) cpu %u context %u flags %#x period %llu parts %llu+%llu+%llu+%llu duration %llu",
				   (unsigned long long)from, i, o->count,
				   (unsigned long long)st.seq,
				   (unsigned long long)want_seq,
				   (unsigned long long)o->next_seq,
				   (unsigned long long)o->lost, st.cpu,
				   st.context, st.attr_flags,
				   (unsigned long long)st.period_ns,
				   (unsigned long long)st.steal_ns,
				   (unsigned long long)st.irq_ns,
				   (unsigned long long)st.softirq_ns,
				   (unsigned long long)st.unexplained_ns,
				   (unsigned long long)st.duration_ns);
			return;
		}
		prev = st.seq;
		want_seq = st.seq + 1;
	}
	if (o->count)
		raise_stall_lo(o->next_seq - 1);
}

/* ---- ioctl ------------------------------------------------------------- */

/*
 * The commands of the header the test is built with; a newer module's
 * commands it does not know are ENOTTY to it, so build the test with the
 * module's header.  The injector's two commands (its debugfs file's, not
 * the device's) are among them, to hold the device to ENOTTY for them.
 */
enum {
	K_INFO, K_CPU_STATS, K_STALL_RESET, K_STALL_LOG, K_INJECT,
	K_INJECT_EVENTS, K_DAEMON_REPORT, K_TASKS,
	K_NR
};

static const unsigned int known_cmd[K_NR] = {
	CLOCKWATCH_IOC_INFO, CLOCKWATCH_IOC_CPU_STATS,
	CLOCKWATCH_IOC_STALL_RESET, CLOCKWATCH_IOC_STALL_LOG,
	CLOCKWATCH_IOC_INJECT, CLOCKWATCH_IOC_INJECT_EVENTS,
	CLOCKWATCH_IOC_DAEMON_REPORT, CLOCKWATCH_IOC_TASKS,
};

static int known_index(unsigned int cmd)
{
	int k;

	for (k = 0; k < K_NR; k++)
		if (known_cmd[k] == cmd)
			return k;
	return -1;
}

/*
 * Commands the VFS answers itself before the driver sees them
 * (fs/ioctl.c do_vfs_ioctl(): FIOCLEX .. FIONREAD, FIFREEZE, FS_IOC_*,
 * FICLONE, FIBMAP, FIGETBSZ, FS_IOC_GETFSUUID): not the device's
 * contract, and some of them act on the file system.  Random commands
 * avoid their types.
 */
static bool vfs_type(unsigned int type)
{
	return type == 'T' || type == 'f' || type == 'X' || type == 0x94 ||
	       type == 0x15 || type == 0;
}

static unsigned long gen_cmd(struct fz *t)
{
	static const unsigned int near_types[] = {
		0xc6, 0xc8, 0x47, 0x87, 0xe7, 0xd7, 0xc5, 0xcf, 0xc3, 0xf7, 0xc0,
	};
	/*
	 * Per 20: INFO 5, TASKS 3, CPU_STATS 2, STALL_RESET 1, STALL_LOG 5,
	 * INJECT 1, INJECT_EVENTS 1 (both ENOTTY), DAEMON_REPORT 2: the
	 * dear ones (10 KB copies) less often.
	 */
	static const unsigned char kmix[20] = {
		K_INFO, K_INFO, K_INFO, K_INFO, K_INFO, K_TASKS, K_TASKS,
		K_TASKS, K_INJECT_EVENTS,
		K_CPU_STATS, K_CPU_STATS, K_STALL_RESET, K_STALL_LOG,
		K_STALL_LOG, K_STALL_LOG, K_STALL_LOG, K_STALL_LOG, K_INJECT,
		K_DAEMON_REPORT, K_DAEMON_REPORT,
	};
	unsigned int r = rndn(&t->rng, 100), k = PICK(&t->rng, kmix);
	unsigned int c = known_cmd[k], dir = _IOC_DIR(c), size = _IOC_SIZE(c);

	if (r < 55)
		return c;
	if (r < 70) {
		/* the known number, another direction or size */
		if (chance(&t->rng, 50))
			dir = rndn(&t->rng, 4);
		if (chance(&t->rng, 70)) {
			static const int d[] = { -1, 1, -8, 8, 64 };

			size = chance(&t->rng, 30) ? rndn(&t->rng, 1 << _IOC_SIZEBITS) :
			       (size + PICK(&t->rng, d)) & ((1 << _IOC_SIZEBITS) - 1);
		}
		return _IOC(dir, CLOCKWATCH_IOC_MAGIC, _IOC_NR(c), size);
	}
	if (r < 80)
		return _IOC(rndn(&t->rng, 4), CLOCKWATCH_IOC_MAGIC,
			    rndn(&t->rng, 256),
			    chance(&t->rng, 50) ? size : rndn(&t->rng, 1 << _IOC_SIZEBITS));
	if (r < 90)
		return _IOC(dir, PICK(&t->rng, near_types), _IOC_NR(c), size);
	if (r < 97) {
		unsigned long cmd;

		do
			cmd = (unsigned int)rnd(&t->rng);
		while (vfs_type(_IOC_TYPE(cmd)));
		return cmd;
	}
	/* ioctl()'s cmd is an unsigned int: the upper half is not looked at */
	return c | (rnd(&t->rng) << 32 | 1ULL << 32);
}

static void mutate_info(struct fz *t, struct clockwatch_info *in)
{
	static const __u32 small[] = { 0, 1, 8, 56, 60, 63 };
	static const __u32 big[] = { 65, 72, 128, 4096, 0xffffffff };
	unsigned int n = 1 + (chance(&t->rng, 25) ? 1 : 0);

	while (n--) {
		switch (rndn(&t->rng, 6)) {
		case 0:
			in->size = PICK(&t->rng, small);
			break;
		case 1:
			in->size = PICK(&t->rng, big);
			break;
		case 2:
			in->event_head = rnd(&t->rng) | 1;
			break;
		case 3:
			in->cursor = rnd(&t->rng) | 1;
			break;
		case 4:
			in->__reserved[rndn(&t->rng, 2)] = rnd(&t->rng) | 1;
			break;
		default:
			/* fields the module only writes: not looked at */
			in->version = (__u32)rnd(&t->rng);
			in->event_size = (__u32)rnd(&t->rng);
			in->ring_entries = (__u32)rnd(&t->rng);
			in->features = rnd(&t->rng);
			break;
		}
	}
}

/* The ABI: CLOCKWATCH_IOC_INFO. */
static struct want want_info(const struct parg *a)
{
	const struct clockwatch_info *in = a->seen;

	if (a->rd < sizeof(*in))
		return w1(EFAULT);
	if (in->size < sizeof(*in) || in->event_head || in->cursor ||
	    in->__reserved[0] || in->__reserved[1])
		return w1(EINVAL);
	if (!a->wr)
		return w1(EFAULT);
	return w1(0);
}

static void mutate_cpu_stats(struct fz *t, struct clockwatch_cpu_stats *in)
{
	static const __u32 sizes[] = { 0, 1, 64, CS_SIZE - 1, CS_SIZE + 1,
				       CS_SIZE - 8, 0xffffffff };

	switch (rndn(&t->rng, 5)) {
	case 0:
		in->size = chance(&t->rng, 20) ? (__u32)rnd(&t->rng) : PICK(&t->rng, sizes);
		break;
	case 1:
		in->flags = (__u32)rnd(&t->rng) | (1U << rndn(&t->rng, 32));
		break;
	case 2:
		in->__reserved0 = (__u32)rnd(&t->rng) | 1;
		break;
	default:
		/* output fields: not looked at (nor the histograms, left as they were) */
		in->period_ns = rnd(&t->rng);
		in->read_ns = (__s64)rnd(&t->rng);
		in->expiries = rnd(&t->rng);
		break;
	}
}

static __u32 gen_cpu(struct fz *t)
{
	unsigned int r = rndn(&t->rng, 100);

	if (r < 80)
		return pick_online_cpu(t);
	if (r < 85)
		return rndn(&t->rng, env.nr_cpu_ids);
	if (r < 92)
		return env.nr_cpu_ids + (r & 1 ? 0 : rndn(&t->rng, 4096));
	if (r < 96)
		return 0xffffffff;
	return (__u32)rnd(&t->rng);
}

static bool cpu_possible(__u32 cpu)
{
	return cpu < env.nr_cpu_ids && env.possible[cpu];
}

/* The ABI: CLOCKWATCH_IOC_CPU_STATS. */
static struct want want_cpu_stats(const struct parg *a)
{
	const struct clockwatch_cpu_stats *in = a->seen;

	if (a->rd < 2 * sizeof(__u32))		/* size and cpu */
		return w1(EFAULT);
	if (in->size != sizeof(*in))
		return w1(EINVAL);
	if (a->rd < sizeof(*in))
		return w1(EFAULT);
	if (in->__reserved0 || in->flags)
		return w1(EINVAL);
	if (!env.stalls)
		return w1(ENODEV);
	if (!cpu_possible(in->cpu))
		return w1(EINVAL);
	if (!a->wr)
		return w1(EFAULT);
	return w1(0);
}

/*
 * The ABI: CLOCKWATCH_IOC_STALL_LOG.  @room: whole records the kernel
 * can write at .stalls; @lo: the highest stall seq known to exist.  How
 * many stalls the log holds is only known from below, so when the
 * request could go past @room only if more stalls exist than known,
 * both answers are right.
 */
static struct want want_stall_log(const struct parg *a, unsigned int room,
				  unsigned long long lo)
{
	const struct clockwatch_stall_log *in = a->seen;
	unsigned long long seq, have_min, have_max, get_min, get_max;
	struct want w = { { 0, 0 } };

	if (a->rd < sizeof(*in))
		return w1(EFAULT);
	if (in->size != sizeof(*in) || in->__reserved0)
		return w1(EINVAL);
	seq = in->from_seq > 1 ? in->from_seq : 1;
	have_min = seq <= lo ? lo - seq + 1 : 0;
	if (have_min > CLOCKWATCH_STALL_LOG_LEN)
		have_min = CLOCKWATCH_STALL_LOG_LEN;
	/* no module makes 2^62 stalls */
	have_max = seq > (1ULL << 62) ? 0 : CLOCKWATCH_STALL_LOG_LEN;
	get_min = in->max < have_min ? in->max : have_min;
	get_max = in->max < have_max ? in->max : have_max;
	if (get_min > room)
		return w1(EFAULT);
	if (get_max > room)
		w_add(&w, EFAULT);
	w_add(&w, a->wr ? 0 : EFAULT);
	return w;
}

/*
 * The injector's commands: not the device's since they left the uapi
 * (include/clockwatch/inject.h); /dev/clockwatch answers ENOTTY before it
 * looks at the argument, whoever asks and whether or not the module was
 * loaded with inject=1.
 */
static struct want want_injector_cmd(void)
{
	return w1(ENOTTY);
}

static void mutate_tasks(struct fz *t, struct clockwatch_tasks *in)
{
	static const __u32 sizes[] = { 0, 1, TASKS_SIZE - 8, TASKS_SIZE - 1,
				       TASKS_SIZE + 1, TASKS_SIZE + 8, 0xffffffff };

	switch (rndn(&t->rng, 4)) {
	case 0:
		in->size = chance(&t->rng, 20) ? (__u32)rnd(&t->rng) : PICK(&t->rng, sizes);
		break;
	case 1:
		in->__reserved0 = (__u32)rnd(&t->rng) | 1;
		break;
	case 2:
		in->__reserved[rndn(&t->rng, 2)] = rnd(&t->rng) | 1;
		break;
	default:
		/* output fields: not looked at */
		in->daemon_pid = (__s32)rnd(&t->rng);
		in->last_step_pid = (__s32)rnd(&t->rng);
		in->daemon_count = rnd(&t->rng);
		in->step_seq = rnd(&t->rng);
		memset(in->daemon_comm, 'x', sizeof(in->daemon_comm));
		break;
	}
}

/* The ABI: CLOCKWATCH_IOC_TASKS (no privilege). */
static struct want want_tasks(const struct parg *a)
{
	const struct clockwatch_tasks *in = a->seen;

	if (a->rd < sizeof(*in))
		return w1(EFAULT);
	if (in->size != sizeof(*in) || in->__reserved0 ||
	    in->__reserved[0] || in->__reserved[1])
		return w1(EINVAL);
	if (!a->wr)
		return w1(EFAULT);
	return w1(0);
}

/* A comm field: NUL-terminated, NUL-padded, and all zero when @empty. */
static bool comm_ok(const char *c, bool empty)
{
	size_t i, len = strnlen(c, 16);

	if (len == 16 || (empty && len))
		return false;
	for (i = len; i < 16; i++)
		if (c[i])
			return false;
	return true;
}

/*
 * TASKS' answer, against what the test knows: the counters never go
 * back, so they are at least the page's @dc and @ss read before the call
 * (the answer may be ahead of the page: the module publishes the page
 * after its tracker moved); when this process is the sync daemon, it is
 * named, with its own pid (the fuzzer's processes share the module's pid
 * namespace).
 */
static void check_tasks(struct fz *t, const struct clockwatch_tasks *o,
			__u64 dc, __u64 ss)
{
	if (o->size != sizeof(*o) || o->__reserved0 || o->__reserved[0] ||
	    o->__reserved[1] || o->daemon_pid < 0 || o->last_step_pid < 0 ||
	    !comm_ok(o->daemon_comm, !o->daemon_pid) ||
	    !comm_ok(o->last_step_comm, !o->last_step_pid) ||
	    o->daemon_count < dc || o->step_seq < ss ||
	    (o->daemon_pid && !o->daemon_count) ||
	    (env.daemon && (o->daemon_pid != env.pid || !o->daemon_count)))
		bad_output(t, OP_IOC_TASKS, "size %u daemon %d (%.16s) count %llu (page before %llu) last step %d (%.16s) step_seq %llu (page before %llu); this process %d, the daemon %d",
			   o->size, o->daemon_pid, o->daemon_comm,
			   (unsigned long long)o->daemon_count, (unsigned long long)dc,
			   o->last_step_pid, o->last_step_comm,
			   (unsigned long long)o->step_seq, (unsigned long long)ss,
			   env.pid, env.daemon);
}

/*
 * What a daemon report is checked against: the page, read under its seq,
 * and the daemon's pid as CLOCKWATCH_IOC_TASKS gives it (0 when unknown).
 */
struct page_daemon {
	__s64 anchor;		/* maxerror_raw_ns */
	__u64 step_seq;		/* step_seq */
	__s32 daemon_pid;	/* TASKS' daemon_pid */
};

static void page_daemon(const struct clockwatch_page *p, struct page_daemon *d)
{
	struct clockwatch_tasks tasks = { .size = sizeof(tasks) };
	unsigned int seq;

	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		d->anchor = __atomic_load_n(&p->maxerror_raw_ns, __ATOMIC_RELAXED);
		d->step_seq = __atomic_load_n(&p->step_seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
	d->daemon_pid = ioctl(env.fd, CLOCKWATCH_IOC_TASKS, &tasks) ? 0 : tasks.daemon_pid;
}

/*
 * A report that would be taken (this process as the daemon, the anchor
 * and step_seq just read), then one field made wrong.
 */
static void mutate_daemon_report(struct fz *t, struct clockwatch_daemon_report *in,
				 const struct page_daemon *pd)
{
	static const __u32 sizes[] = { 0, 1, DREP_SIZE - 8, DREP_SIZE - 1,
				       DREP_SIZE + 1, DREP_SIZE + 8, 0xffffffff };
	static const __u32 sources[] = { 0, CLOCKWATCH_DREP_CHRONY + 1, 3,
					 0x80000001, 0xffffffff };
	static const __s32 pids[] = { 0, -1, INT_MIN };
	static const __s64 corrs[] = { DREP_MAX_NS + 1, -DREP_MAX_NS - 1,
				       INT64_MAX, INT64_MIN,
				       DREP_MAX_NS, -DREP_MAX_NS };	/* the last two: allowed */
	static const __s64 negs[] = { -1, -NSEC_PER_SEC, INT64_MIN };

	switch (rndn(&t->rng, 11)) {
	case 0:
		in->size = PICK(&t->rng, sizes);
		break;
	case 1:
		in->source = PICK(&t->rng, sources);
		break;
	case 2:
		in->flags = (__u32)rnd(&t->rng) | (2U << rndn(&t->rng, 31));
		break;
	case 3:
		in->daemon_pid = chance(&t->rng, 20) ? -env.pid : PICK(&t->rng, pids);
		break;
	case 4:
		in->correction_ns = PICK(&t->rng, corrs);
		break;
	case 5:
		if (chance(&t->rng, 50))
			in->root_delay_ns = PICK(&t->rng, negs);
		else
			in->root_dispersion_ns = PICK(&t->rng, negs);
		break;
	case 6:
		in->__reserved[rndn(&t->rng, 2)] = rnd(&t->rng) | 1;
		break;
	case 7:
		/*
		 * Not the daemon: a thread of it (a tid is not a tgid), init
		 * (unless the page names it), no process at all.
		 */
		switch (rndn(&t->rng, 3)) {
		case 0:
			in->daemon_pid = (__s32)syscall(SYS_gettid);
			break;
		case 1:
			in->daemon_pid = pd->daemon_pid == 1 ? INT_MAX : 1;
			break;
		default:
			in->daemon_pid = INT_MAX;	/* above any pid_max */
			break;
		}
		break;
	case 8:
		/* anchors only grow: one below the page's never matches again */
		if (chance(&t->rng, 70))
			in->anchor_raw_ns = pd->anchor - 1 - rndn(&t->rng, 1000000000);
		else
			in->anchor_raw_ns = pd->anchor + (1LL << 50);
		break;
	case 9:
		in->step_seq = pd->step_seq && chance(&t->rng, 70) ?
			       pd->step_seq - 1 : ~0ULL;
		break;
	default:
		/* not looked at: any value */
		in->ref_real_ns = (__s64)rnd(&t->rng);
		in->flags = chance(&t->rng, 50) ? CLOCKWATCH_DREPF_SYNCED : 0;
		break;
	}
}

/*
 * The ABI: CLOCKWATCH_IOC_DAEMON_REPORT.  @pd: the page read before the
 * call; @quiet: the perturbing thread neither stepped the clock nor wrote
 * adjtimex() from that read to the call's return.
 *
 * Which process is the sync daemon: the root run writes maxerror before
 * it starts (become_daemon()), so unless another daemon lives this
 * process is the daemon for the whole run and stays it (the daemon stays
 * the daemon while it lives).  Only its pid is ever passed as one that
 * may be the daemon; the others are a tid, init and no process.
 *
 * The anchor and step_seq: the perturbing thread writes maxerror (a new
 * anchor) and steps the clock (step_seq) at any moment.  Both only grow,
 * so a value below the one read is EAGAIN whatever happens; the values
 * read are 0 when the perturbing thread kept still, else 0 or EAGAIN (a
 * write or a step between the page read and the module's check; which
 * cannot be told from outside).
 */
static struct want want_daemon_report(const struct parg *a,
				      const struct page_daemon *pd, bool quiet)
{
	const struct clockwatch_daemon_report *in = a->seen;
	struct want w = { { 0, 0 } };
	bool match;

	if (a->rd < sizeof(*in))
		return w1(EFAULT);
	if (in->size != sizeof(*in) || in->source != CLOCKWATCH_DREP_CHRONY ||
	    (in->flags & ~CLOCKWATCH_DREPF_SYNCED) || in->daemon_pid <= 0 ||
	    in->correction_ns > DREP_MAX_NS || in->correction_ns < -DREP_MAX_NS ||
	    in->root_delay_ns < 0 || in->root_dispersion_ns < 0 ||
	    in->__reserved[0] || in->__reserved[1])
		return w1(EINVAL);
	if (!env.sys_time)
		return w1(EPERM);
	if (!env.daemon || in->daemon_pid != env.pid)
		return w1(ESRCH);
	if (in->anchor_raw_ns < pd->anchor || in->step_seq < pd->step_seq)
		return w1(EAGAIN);
	match = in->anchor_raw_ns == pd->anchor && in->step_seq == pd->step_seq;
	if (quiet)
		return w1(match ? 0 : EAGAIN);
	/* above the values read: current only if a write or step made them */
	w_add(&w, 0);
	w_add(&w, EAGAIN);
	return w;
}

static void op_ioctl(struct fz *t)
{
	static __thread union {
		struct clockwatch_info info;
		struct clockwatch_cpu_stats cs;
		struct clockwatch_stall_log lg;
		struct clockwatch_inject inj;
		struct clockwatch_inject_events iev;
		struct clockwatch_daemon_report drep;
		struct clockwatch_tasks tasks;
	} u;
	struct fzfd *f = pick_fd(t);
	unsigned long cmd = gen_cmd(t);
	int k = known_index((unsigned int)cmd), res, op;
	struct parg a = { 0 };
	struct want w;
	unsigned int room = 0;
	unsigned long long lo = 0;
	__u64 from = 0;
	char *recs = NULL;
	struct page_daemon pd = { 0 };
	unsigned long gen0 = 0;
	long long raw0 = 0;
	__u64 tasks_dc = 0, tasks_ss = 0;
	long r;

	switch (k) {
	case K_INFO:
		op = OP_IOC_INFO;
		memset(&u.info, 0, sizeof(u.info));
		u.info.size = sizeof(u.info);
		if (chance(&t->rng, 45))
			mutate_info(t, &u.info);
		place(t, &a, pick_pk(t), &u.info, sizeof(u.info), RW_SIZE,
		      RO_INFO_OK, RO_INFO_BAD);
		w = want_info(&a);
		break;
	case K_CPU_STATS:
		op = OP_IOC_CPU_STATS;
		/* 10 KB: only the part before the histograms is written here */
		memset(&u.cs, 0, offsetof(struct clockwatch_cpu_stats, hist));
		u.cs.size = CS_SIZE;
		u.cs.cpu = gen_cpu(t);
		if (chance(&t->rng, 35))
			mutate_cpu_stats(t, &u.cs);
		place_part(t, &a, pick_pk(t), &u.cs, CS_SIZE,
			   offsetof(struct clockwatch_cpu_stats, hist), RW_SIZE,
			   RO_CS_OK, RO_CS_BAD);
		w = want_cpu_stats(&a);
		break;
	case K_STALL_RESET:
		op = OP_IOC_STALL_RESET;
		/* _IO: the argument is not looked at */
		a.p = chance(&t->rng, 50) ? 0 : rnd(&t->rng);
		w = w1(!env.sys_admin ? EPERM : !env.stalls ? ENODEV : 0);
		break;
	case K_STALL_LOG: {
		static const __u32 sizes[] = { 0, 47, 49, 96, 0xffffffff };
		char *guard = t->arena + A_GUARD1;
		unsigned int r2 = rndn(&t->rng, 100), stalls_kind;

		op = OP_IOC_STALL_LOG;
		memset(&u.lg, 0, sizeof(u.lg));
		lo = atomic_load(&stall_lo);
		u.lg.size = sizeof(u.lg);
		/* where the records go: @room of them fit before a guard page */
		room = rndn(&t->rng, 17);
		stalls_kind = r2 < 70 ? PK_GOOD : r2 < 78 ? PK_STRADDLE :
			      r2 < 82 ? PK_NULL : r2 < 86 ? PK_GUARD :
			      r2 < 92 ? PK_KERNEL : r2 < 96 ? PK_RO_OK : PK_NONCANON;
		switch (stalls_kind) {
		case PK_GOOD:
			recs = guard - room * STALL_SIZE;
			u.lg.stalls = (uintptr_t)recs;
			break;
		case PK_STRADDLE:
			recs = guard - room * STALL_SIZE - 1 - rndn(&t->rng, STALL_SIZE - 1);
			u.lg.stalls = (uintptr_t)recs;
			break;
		case PK_NULL:
			room = 0;
			break;
		case PK_GUARD:
			room = 0;
			u.lg.stalls = (uintptr_t)guard + rndn(&t->rng, PG);
			break;
		case PK_KERNEL:
			room = 0;
			u.lg.stalls = PICK(&t->rng, kernel_ptrs);
			break;
		case PK_RO_OK:
			room = 0;
			u.lg.stalls = (uintptr_t)t->arena + A_RO + rndn(&t->rng, PG);
			break;
		default:
			room = 0;
			u.lg.stalls = PICK(&t->rng, noncanon_ptrs);
			break;
		}
		{
			const __u32 maxes[] = { 0, 1, 2, room, room + 1, room + 5,
						CLOCKWATCH_STALL_LOG_LEN, 0xffffffff };
			const __u64 froms[] = { 0, 1, lo, lo + 1, lo > 5 ? lo - 5 : 0,
						lo + 1000, 1ULL << 63, ~0ULL };

			u.lg.max = PICK(&t->rng, maxes);
			u.lg.from_seq = chance(&t->rng, 5) ? rnd(&t->rng) : PICK(&t->rng, froms);
		}
		if (chance(&t->rng, 30)) {
			switch (rndn(&t->rng, 3)) {
			case 0:
				u.lg.size = PICK(&t->rng, sizes);
				break;
			case 1:
				u.lg.__reserved0 = (__u32)rnd(&t->rng) | 1;
				break;
			default:	/* output fields: not looked at */
				u.lg.count = (__u32)rnd(&t->rng);
				u.lg.next_seq = rnd(&t->rng);
				u.lg.lost = rnd(&t->rng);
				break;
			}
		}
		from = u.lg.from_seq > 1 ? u.lg.from_seq : 1;
		place(t, &a, pick_pk(t), &u.lg, sizeof(u.lg), RW_SIZE - PG,
		      RO_LOG_OK, RO_LOG_BAD);
		w = want_stall_log(&a, room, lo);
		break;
	}
	case K_INJECT:
		op = OP_IOC_INJECT;
		memset(&u.inj, 0, sizeof(u.inj));
		u.inj.size = sizeof(u.inj);
		u.inj.cpu = pick_online_cpu(t);
		u.inj.mode = 1 + rndn(&t->rng, 3);
		u.inj.duration_ns = 1 + rndn(&t->rng, 2000);
		/* a good one costs a cross-CPU call: mostly bad ones */
		if (chance(&t->rng, 95)) {
			static const __u32 sizes[] = { 0, 39, 41, 48, 0xffffffff };
			static const __u64 durs[] = { 0, CLOCKWATCH_INJECT_MAX_NS + 1,
						      1ULL << 63, ~0ULL };
			static const __u32 modes[] = { 0, 4, 5, 0x80000001, 0xffffffff };

			switch (rndn(&t->rng, 5) + (chance(&t->rng, 10) ? 1 : 0)) {
			case 0:
				u.inj.size = PICK(&t->rng, sizes);
				break;
			case 1:
				u.inj.__reserved0 = (__u32)rnd(&t->rng) | 1;
				break;
			case 2:
				u.inj.duration_ns = PICK(&t->rng, durs);
				break;
			case 3:
				u.inj.cpu = gen_cpu(t);
				break;
			case 4:
				u.inj.mode = PICK(&t->rng, modes);
				break;
			default:	/* output fields: not looked at */
				u.inj.start_ns = (__s64)rnd(&t->rng);
				u.inj.end_ns = (__s64)rnd(&t->rng);
				break;
			}
		}
		place(t, &a, pick_pk(t), &u.inj, sizeof(u.inj), RW_SIZE,
		      RO_INJ_OK, RO_INJ_BAD);
		w = want_injector_cmd();
		break;
	case K_INJECT_EVENTS:
		op = OP_IOC_INJECT_EVENTS;
		memset(&u.iev, 0, sizeof(u.iev));
		u.iev.size = sizeof(u.iev);
		u.iev.count = 1 + rndn(&t->rng, 8);	/* a flood is not this test's */
		if (chance(&t->rng, 80)) {
			static const __u32 sizes[] = { 0, 39, 41, 48, 0xffffffff };
			static const __u32 counts[] = { 0, CLOCKWATCH_INJECT_MAX_EVENTS + 1,
							0x80000000, 0xffffffff };

			switch (rndn(&t->rng, 4)) {
			case 0:
				u.iev.size = PICK(&t->rng, sizes);
				break;
			case 1:
				u.iev.count = PICK(&t->rng, counts);
				break;
			case 2:
				u.iev.__reserved[rndn(&t->rng, 2)] = rnd(&t->rng) | 1;
				break;
			default:	/* output fields: not looked at */
				u.iev.first_seq = rnd(&t->rng);
				u.iev.last_seq = rnd(&t->rng);
				break;
			}
		}
		place(t, &a, pick_pk(t), &u.iev, sizeof(u.iev), RW_SIZE,
		      RO_IEV_OK, RO_IEV_BAD);
		w = want_injector_cmd();
		break;
	case K_TASKS:
		op = OP_IOC_TASKS;
		memset(&u.tasks, 0, sizeof(u.tasks));
		u.tasks.size = TASKS_SIZE;
		if (chance(&t->rng, 40))
			mutate_tasks(t, &u.tasks);
		place(t, &a, pick_pk(t), &u.tasks, TASKS_SIZE, RW_SIZE,
		      RO_TASKS_OK, RO_TASKS_BAD);
		w = want_tasks(&a);
		tasks_dc = __atomic_load_n(&env.page->daemon_count, __ATOMIC_ACQUIRE);
		tasks_ss = __atomic_load_n(&env.page->step_seq, __ATOMIC_ACQUIRE);
		break;
	case K_DAEMON_REPORT:
		op = OP_IOC_DAEMON_REPORT;
		gen0 = atomic_load(&perturb_gen);
		page_daemon(env.page, &pd);
		memset(&u.drep, 0, sizeof(u.drep));
		u.drep.size = DREP_SIZE;
		u.drep.source = CLOCKWATCH_DREP_CHRONY;
		u.drep.flags = chance(&t->rng, 50) ? CLOCKWATCH_DREPF_SYNCED : 0;
		u.drep.daemon_pid = env.pid;
		u.drep.anchor_raw_ns = pd.anchor;
		u.drep.step_seq = pd.step_seq;
		u.drep.correction_ns = (__s64)rndn(&t->rng, 2000001) - 1000000;
		u.drep.root_delay_ns = rndn(&t->rng, 100000000);
		u.drep.root_dispersion_ns = rndn(&t->rng, 10000000);
		u.drep.ref_real_ns = (__s64)(rnd(&t->rng) >> 2);
		if (chance(&t->rng, 60))
			mutate_daemon_report(t, &u.drep, &pd);
		place(t, &a, pick_pk(t), &u.drep, DREP_SIZE, RW_SIZE,
		      RO_DREP_OK, RO_DREP_BAD);
		/* the page and the race are known after the call: see there */
		w = w1(0);
		raw0 = cw_clock_ns(CLOCK_MONOTONIC_RAW);
		break;
	default:
		op = OP_IOC_OTHER;
		memset(&u.info, 0, sizeof(u.info));
		place(t, &a, pick_pk(t), &u, 64, RW_SIZE, RO_INFO_OK, RO_INFO_BAD);
		w = w1(ENOTTY);
		break;
	}
	if (!acc_file(f->acc))
		w = w1(EBADF);

	r = syscall(SYS_ioctl, f->fd, cmd, (unsigned long)a.p);
	res = r < 0 ? errno : 0;
	if (k == K_DAEMON_REPORT && acc_file(f->acc)) {
		unsigned long gen1 = atomic_load(&perturb_gen);

		bool quiet = gen1 == gen0 && !(gen0 & 1);

		w = want_daemon_report(&a, &pd, quiet);
		if (w_has(&w, 0) && quiet)
			atomic_fetch_add(&drep_quiet, 1);
		else if (w_has(&w, 0)) {
			atomic_fetch_add(&drep_raced, 1);
			if (res == EAGAIN)
				atomic_fetch_add(&drep_raced_eagain, 1);
		}
	}
	if (!record(t, op, res, &w, "fd %s(%d) cmd %#lx arg %s %#llx rd %zu wr %d first words %#llx %#llx room %u lo %llu",
		    f->name, f->fd, cmd, pk_name[a.kind], (unsigned long long)a.p,
		    a.rd, a.wr,
		    a.seen && a.rd >= 8 ? (unsigned long long)((const __u64 *)a.seen)[0] : 0ULL,
		    a.seen && a.rd >= 16 ? (unsigned long long)((const __u64 *)a.seen)[1] : 0ULL,
		    room, lo) || res)
		return;

	/* Success: what came back. */
	switch (k) {
	case K_INFO:
		if (a.kind == PK_GOOD || a.kind == PK_ODD) {
			struct clockwatch_info o;

			memcpy(&o, (void *)(uintptr_t)a.p, sizeof(o));
			check_info(t, f, &o);
		}
		break;
	case K_CPU_STATS:
		/* in place, 8-byte aligned: a copy of 10 KB is dear under emulation */
		if (a.kind == PK_GOOD)
			check_cpu_stats(t, &u.cs, (const void *)(uintptr_t)a.p);
		break;
	case K_STALL_LOG:
		if (a.kind == PK_GOOD || a.kind == PK_ODD) {
			struct clockwatch_stall_log o;

			memcpy(&o, (void *)(uintptr_t)a.p, sizeof(o));
			if (o.count > room || o.count > u.lg.max)
				bad_output(t, op, "count %u with max %u and room for %u",
					   o.count, u.lg.max, room);
			else
				check_stall_log(t, from, &o, recs);
		}
		break;
	case K_TASKS:
		if (a.kind == PK_GOOD || a.kind == PK_ODD) {
			struct clockwatch_tasks o;

			memcpy(&o, (void *)(uintptr_t)a.p, sizeof(o));
			check_tasks(t, &o, tasks_dc, tasks_ss);
		}
		break;
	case K_DAEMON_REPORT: {
		/*
		 * On the page now: this report or a later one (the other
		 * threads report too), never an earlier one.
		 */
		const struct clockwatch_daemon_report *in = a.seen;
		const struct clockwatch_page *x = env.page;
		long long rraw = __atomic_load_n(&x->report_raw_ns, __ATOMIC_RELAXED);
		long long ranchor = __atomic_load_n(&x->report_anchor_raw_ns,
						    __ATOMIC_RELAXED);
		__u64 rseq = __atomic_load_n(&x->report_step_seq, __ATOMIC_RELAXED);

		if (rraw < raw0 || ranchor < in->anchor_raw_ns || rseq < in->step_seq)
			bad_output(t, op, "page report_raw_ns %lld (call at >= %lld) anchor %lld (%lld) step_seq %llu (%llu)",
				   rraw, raw0, ranchor, (long long)in->anchor_raw_ns,
				   (unsigned long long)rseq,
				   (unsigned long long)in->step_seq);
		break;
	}
	default:
		break;
	}
}

/* INFO on one of this thread's files: where its cursor is, and if a record waits. */
static void info_probe(struct fz *t, struct fzfd *f)
{
	struct clockwatch_info info = { .size = sizeof(info) };
	struct want w = w1(0);
	long r;

	r = ioctl(f->fd, CLOCKWATCH_IOC_INFO, &info);
	if (record(t, OP_IOC_INFO, r < 0 ? errno : 0, &w, "probe of fd %s(%d)",
		   f->name, f->fd) && !r)
		check_info(t, f, &info);
}

/* ---- read, pread, write ------------------------------------------------ */

/*
 * The contract of read() on the device, after the VFS's own checks
 * (fs/read_write.c ksys_pread64(), vfs_read(), rw_verify_area()).
 * @room: bytes the kernel can write at the buffer; @aok: the buffer passes
 * access_ok() for @count bytes.
 */
static struct want want_read(const struct fzfd *f, bool pos_given, long long pos,
			     size_t count, bool aok, size_t room)
{
	struct want w = { { 0, 0 } };
	size_t fit;

	if (pos_given && pos < 0)
		return w1(EINVAL);
	if (!acc_file(f->acc))
		return w1(EBADF);
	/*
	 * fs/read_write.c ksys_pread64(): a stream (stream_open(), no
	 * FMODE_PREAD) is ESPIPE before anything else is looked at.
	 */
	if (pos_given)
		return w1(ESPIPE);
	if (!acc_reads(f->acc))
		return w1(EBADF);
	if (!aok)
		return w1(EFAULT);
	/* the device's own */
	if (!f->may_read)
		return w1(EPERM);
	if (count < EVSZ)
		return w1(EINVAL);
	fit = (count < room ? count : room) / EVSZ;
	w_add(&w, fit ? 0 : EFAULT);
	if (!(f->own && f->avail) && f->nonblock)
		w_add(&w, EAGAIN);
	return w;
}

static void op_read(struct fz *t, bool use_pread)
{
	static const size_t rooms[] = { 256, 257, 300, 511, 512, 513, 768, 1024,
					1280, 2048, 4096, 256, 512, RW_SIZE };
	static const long long poss[] = { 0, 1, 255, 4096, 1LL << 40, LLONG_MAX,
					  -1, LLONG_MIN, -4096 };
	struct fzfd *f = pick_fd(t);
	char *guard = t->arena + A_GUARD1;
	unsigned int r = rndn(&t->rng, 100);
	uint64_t buf;
	size_t room = 0, count;
	bool user = true, aok;
	long long pos = 0;
	const char *bk;
	struct want w;
	ssize_t n;
	int res;

	if (r < 60) {
		room = PICK(&t->rng, rooms);
		buf = (uintptr_t)(guard - room);
		bk = "good";
	} else if (r < 68) {
		/* not even one record fits before the guard page */
		room = 1 + rndn(&t->rng, EVSZ - 1);
		buf = (uintptr_t)(guard - room);
		bk = "straddling";
	} else if (r < 72) {
		buf = 0;
		bk = "NULL";
	} else if (r < 75) {
		buf = 0x1000 + rndn(&t->rng, 0xe000);
		bk = "low-unmapped";
	} else if (r < 79) {
		buf = (uintptr_t)guard + rndn(&t->rng, PG);
		bk = "guard-page";
	} else if (r < 84) {
		buf = (uintptr_t)t->arena + A_RO + rndn(&t->rng, PG);
		bk = "read-only";
	} else if (r < 93) {
		buf = PICK(&t->rng, kernel_ptrs);
		user = false;
		bk = "kernel";
	} else {
		buf = PICK(&t->rng, noncanon_ptrs);
		user = false;
		bk = "non-canonical";
	}

	r = rndn(&t->rng, 100);
	if (r < 30) {
		count = room ? room : EVSZ;
	} else if (r < 40) {
		count = room + rndn(&t->rng, 600);
	} else if (r < 85) {
		static const size_t counts[] = { 0, 1, 2, 128, 255, 256, 257, 511, 512,
						 1000, 1024, 4096, 65536 };

		count = PICK(&t->rng, counts);
	} else if (r < 90) {
		/* large, but within user space: the buffer's end still counts */
		count = 1UL << 30;
	} else {
		static const size_t huge[] = { SIZE_MAX, 1ULL << 63, (size_t)-EVSZ,
					       SIZE_MAX / 2 + 1, (1ULL << 62) };

		count = PICK(&t->rng, huge);
	}
	/* access_ok(): the whole of [buf, buf + count) is user space */
	aok = user && buf + count >= buf && buf + count <= USER_TOP_47;
	if (user && !aok && buf + count >= buf && buf + count < (1ULL << 57)) {
		/* user space may end higher than the oracle knows: stay clear */
		count = 1UL << 20;
		aok = buf + count <= USER_TOP_47;
	}
	if (use_pread)
		pos = chance(&t->rng, 60) ? 0 : chance(&t->rng, 85) ? PICK(&t->rng, poss) :
		      (long long)rnd(&t->rng);

	/*
	 * A blocking file with nothing known to wait would block: learn
	 * first, and if nothing waits, make only calls that fail before
	 * they would wait.
	 */
	if (acc_file(f->acc) && acc_reads(f->acc) && !f->nonblock && f->may_read &&
	    !(f->own && f->avail)) {
		if (f->own)
			info_probe(t, f);
		if (!(f->own && f->avail) && aok && count >= EVSZ) {
			if (chance(&t->rng, 50))
				count = rndn(&t->rng, EVSZ);
			else
				buf = PICK(&t->rng, kernel_ptrs), aok = false, bk = "kernel";
		}
	}

	w = want_read(f, use_pread, pos, count, aok, room);
	n = use_pread ? pread(f->fd, (void *)(uintptr_t)buf, count, pos) :
			read(f->fd, (void *)(uintptr_t)buf, count);
	res = n < 0 ? errno : 0;
	if (!record(t, use_pread ? OP_PREAD : OP_READ, res, &w,
		    "fd %s(%d) %s buf %#llx room %zu count %zu pos %lld (own %d avail %d nonblock %d may_read %d)",
		    f->name, f->fd, bk, (unsigned long long)buf, room, count, pos,
		    f->own, f->avail, f->nonblock, f->may_read))
		return;
	if (res == EAGAIN && f->own)
		f->avail = false;
	if (res)
		return;
	if (n % EVSZ || n < EVSZ || (size_t)n > (count < room ? count : room)) {
		bad_output(t, use_pread ? OP_PREAD : OP_READ,
			   "fd %s: %zd bytes for count %zu and room %zu", f->name, n,
			   count, room);
		return;
	}
	check_events(t, use_pread ? OP_PREAD : OP_READ, f, (const char *)(uintptr_t)buf,
		     (size_t)n / EVSZ);
	if (f->own)
		f->avail = false;
}

/* INFO, then a read that must get what INFO said waits. */
static void op_drain_own(struct fz *t)
{
	struct fzfd *f = &t->fds[chance(&t->rng, 70) ? FD_OWN : FD_OWN_BLOCK];
	size_t room = chance(&t->rng, 50) ? 4096 : EVSZ * (1 + rndn(&t->rng, 16));
	char *buf = t->arena + A_GUARD1 - room;
	struct want w;
	ssize_t n;
	int res;

	info_probe(t, f);
	if (!f->avail && !f->nonblock)
		return;
	w = want_read(f, false, 0, room, true, room);
	n = read(f->fd, buf, room);
	res = n < 0 ? errno : 0;
	if (!record(t, OP_READ, res, &w, "drain of fd %s(%d), %zu bytes, avail %d may_read %d",
		    f->name, f->fd, room, f->avail, f->may_read) || res) {
		if (res == EAGAIN)
			f->avail = false;
		return;
	}
	if (n % EVSZ || (size_t)n > room)
		bad_output(t, OP_READ, "drain of fd %s: %zd bytes for %zu", f->name, n, room);
	else
		check_events(t, OP_READ, f, buf, (size_t)n / EVSZ);
	f->avail = false;
}

static void op_write(struct fz *t, bool use_pwrite)
{
	static const size_t counts[] = { 0, 1, 255, 256, 4096, 1UL << 30, SIZE_MAX };
	static const long long poss[] = { 0, 1, 4096, LLONG_MAX, -1, LLONG_MIN };
	struct fzfd *f = pick_fd(t);
	struct parg a;
	size_t count = PICK(&t->rng, counts);
	long long pos = use_pwrite ? PICK(&t->rng, poss) : 0;
	struct want w;
	ssize_t n;
	int res;

	place(t, &a, pick_pk(t), t->arena + A_RO, 256, RW_SIZE, RO_INFO_OK, RO_INFO_BAD);
	/*
	 * fs/read_write.c: ksys_pwrite64() (ESPIPE on a stream, no
	 * FMODE_PWRITE), then vfs_write(); no .write here
	 */
	if (use_pwrite && pos < 0)
		w = w1(EINVAL);
	else if (!acc_file(f->acc))
		w = w1(EBADF);
	else if (use_pwrite)
		w = w1(ESPIPE);
	else if (!acc_writes(f->acc))
		w = w1(EBADF);
	else
		w = w1(EINVAL);
	n = use_pwrite ? pwrite(f->fd, (void *)(uintptr_t)a.p, count, pos) :
			 write(f->fd, (void *)(uintptr_t)a.p, count);
	res = n < 0 ? errno : 0;
	record(t, use_pwrite ? OP_PWRITE : OP_WRITE, res, &w,
	       "fd %s(%d) buf %s %#llx count %zu pos %lld", f->name, f->fd,
	       pk_name[a.kind], (unsigned long long)a.p, count, pos);
}

/* ---- mmap and the mapping ---------------------------------------------- */

/*
 * The contract of mmap() of the device, after the kernel's own checks in
 * their order (arch/x86/kernel/sys_x86_64.c, mm/mmap.c ksys_mmap_pgoff(),
 * do_mmap(), get_unmapped_area(), file_mmap_ok()).
 */
static struct want want_mmap(const struct fzfd *f, size_t len, int prot, int flags,
			     unsigned long long off, bool noreplace_hits)
{
	unsigned long long alen, pgoff = off >> 12;
	int type = flags & MAP_TYPE;

	if (off & (PG - 1))
		return w1(EINVAL);
	if (!acc_file(f->acc))
		return w1(EBADF);
	if (flags & MAP_HUGETLB)
		return w1(EINVAL);
	if (!len)
		return w1(EINVAL);
	alen = (len + PG - 1) & ~(PG - 1);
	if (!alen)
		return w1(ENOMEM);
	if (pgoff + (alen >> 12) < pgoff)
		return w1(EOVERFLOW);
	if (alen > USER_TOP_47)
		return w1(ENOMEM);
	if ((flags & MAP_FIXED_NOREPLACE) && noreplace_hits)
		return w1(EEXIST);
	if (flags & MAP_LOCKED) {
		if (!env.memlock && !env.ipc_lock)
			return w1(EPERM);
		if ((alen >> 12) > env.memlock >> 12 && !env.ipc_lock)
			return w1(EAGAIN);
	}
	if (pgoff > (ULONG_MAX - alen) >> 12)
		return w1(EOVERFLOW);
	if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) {
		if (type == MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK))
			return w1(EOPNOTSUPP);
		if ((prot & PROT_WRITE) && !acc_writes(f->acc))
			return w1(EACCES);
	} else if (type != MAP_PRIVATE) {
		return w1(EINVAL);
	}
	if (!acc_reads(f->acc))
		return w1(EACCES);
	if ((prot & PROT_EXEC) && env.dev_noexec)
		return w1(EPERM);
	if (flags & MAP_GROWSDOWN)
		return w1(EINVAL);
	/* the device's own */
	if ((prot & (PROT_READ | PROT_WRITE)) != PROT_READ)
		return w1(EROFS);
	if (alen != PG || pgoff)
		return w1(EINVAL);
	return w1(0);
}

/* A good mapping: what the kernel lets be done to it. */
static void mapping_calls(struct fz *t, void *p)
{
	const struct clockwatch_page *page = p;
	struct want w;
	void *q;
	int r, res;

	if (page->magic != CLOCKWATCH_MAGIC || page->version != CLOCKWATCH_ABI_VERSION ||
	    page->features != env.features || page->size < sizeof(*page))
		bad_output(t, OP_MMAP, "page: magic %#x version %u features %#llx size %u",
			   page->magic, page->version,
			   (unsigned long long)page->features, page->size);

	switch (rndn(&t->rng, 6)) {
	case 0:
		/* never writable: the mapping has no VM_MAYWRITE */
		w = w1(EACCES);
		r = mprotect(p, PG, PROT_READ | PROT_WRITE);
		record(t, OP_MPROTECT, r ? errno : 0, &w, "PROT_READ|PROT_WRITE");
		break;
	case 1:
		w = w1(env.dev_noexec ? EACCES : 0);
		r = mprotect(p, PG, PROT_READ | PROT_EXEC);
		record(t, OP_MPROTECT, r ? errno : 0, &w, "PROT_READ|PROT_EXEC");
		break;
	case 2:
		/* remap_pfn_range() made it VM_DONTEXPAND | VM_PFNMAP */
		w = w1(EFAULT);
		q = mremap(p, PG, 2 * PG, chance(&t->rng, 50) ? MREMAP_MAYMOVE : 0);
		if (!record(t, OP_MREMAP, q == MAP_FAILED ? errno : 0, &w, "grow to 2 pages") &&
		    q != MAP_FAILED)
			p = q;
		break;
	case 3:
		w = w1(EINVAL);
		r = madvise(p, PG, MADV_DONTNEED);
		record(t, OP_MADVISE, r ? errno : 0, &w, "MADV_DONTNEED");
		break;
	default:
		break;
	}
	w = w1(0);
	r = munmap(p, PG);
	res = r ? errno : 0;
	record(t, OP_MUNMAP, res, &w, "the page at %p", p);
}

static void op_mmap(struct fz *t)
{
	static const int prots[] = { PROT_NONE, PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_EXEC, PROT_READ | PROT_EXEC,
				     PROT_WRITE | PROT_EXEC,
				     PROT_READ | PROT_WRITE | PROT_EXEC,
				     PROT_READ | 0x8 /* PROT_SEM */ };
	static const int bad_types[] = { 0, 0x04, 0x0f };
	static const int extras[] = { MAP_POPULATE, MAP_NORESERVE, MAP_LOCKED,
				      MAP_GROWSDOWN, MAP_SYNC, MAP_32BIT, MAP_HUGETLB,
				      MAP_FIXED_NOREPLACE, MAP_STACK, MAP_NONBLOCK };
	static const size_t lens[] = { 0, 1, 100, 4095, 4097, 8192, 1UL << 20,
				       1UL << 30, 1ULL << 62, SIZE_MAX, SIZE_MAX - 4095 };
	static const unsigned long long offs[] = { 1, 2048, 4095, 4096, 8192, 1ULL << 40,
						   0xfffffffffffff000ULL,
						   0x7ffffffffffff000ULL, ~0ULL };
	struct fzfd *f = pick_fd(t);
	unsigned int r = rndn(&t->rng, 100);
	int prot, flags, res;
	size_t len;
	unsigned long long off;
	void *addr = NULL, *p;
	struct want w;

	prot = chance(&t->rng, 40) ? PROT_READ : PICK(&t->rng, prots);
	flags = r < 55 ? MAP_SHARED : r < 80 ? MAP_PRIVATE : r < 92 ? MAP_SHARED_VALIDATE :
		PICK(&t->rng, bad_types);
	if (chance(&t->rng, 35))
		flags |= PICK(&t->rng, extras);
	if (flags & MAP_FIXED_NOREPLACE)
		addr = t->arena;	/* mapped: never replaced */
	len = chance(&t->rng, 55) ? PG : PICK(&t->rng, lens);
	/* MAP_32BIT has a 1 GiB window, less its random start: no room to ask for */
	if ((flags & MAP_32BIT) && len > (1UL << 20) && len < (1ULL << 62))
		len = PG;
	off = chance(&t->rng, 60) ? 0 : chance(&t->rng, 90) ? PICK(&t->rng, offs) :
	      rnd(&t->rng) & ~(PG - 1);

	w = want_mmap(f, len, prot, flags, off, true);
	/* the system call itself: no library check of its own in between */
	p = (void *)syscall(SYS_mmap, addr, len, prot, flags, f->fd, off);
	res = p == MAP_FAILED ? errno : 0;
	if (!record(t, OP_MMAP, res, &w, "fd %s(%d) len %#zx prot %#x flags %#x off %#llx",
		    f->name, f->fd, len, prot, flags, off)) {
		/* not the page, or not only: let it go, whatever it is */
		if (!res)
			munmap(p, (len + PG - 1) & ~(PG - 1));
		return;
	}
	if (!res)
		mapping_calls(t, p);
}

/* ---- poll, ppoll, select ----------------------------------------------- */

/* Is @got a right revents for @f, passed as @fd, polled for @events? */
static bool revents_ok(const struct fzfd *f, int fd, short events, short got)
{
	short in = (POLLIN | POLLRDNORM) & events;

	if (fd < 0)
		return got == 0;
	if (!acc_file(f->acc))
		return got == POLLNVAL;
	/* the device: EPOLLERR without the right to read, else POLLIN if a record waits */
	if (!f->may_read)
		return got == POLLERR;
	if (f->own && f->avail)
		return got == in;
	return got == 0 || got == in;
}

static void poll_learned(struct fzfd *f, short events, short got)
{
	if (f->own && f->may_read && acc_file(f->acc) && (events & POLLIN) && (got & POLLIN))
		f->avail = true;
}

static void op_poll(struct fz *t)
{
	static const short evs[] = { POLLIN, POLLIN | POLLRDNORM, POLLRDNORM, POLLOUT,
				     POLLPRI, 0, POLLIN | POLLOUT | POLLPRI, -1 };
	unsigned int r = rndn(&t->rng, 100), i, nfds, ready;
	struct pollfd *pfd = (struct pollfd *)(t->arena + RW_SIZE - 8 * sizeof(*pfd));
	struct fzfd *fs[4];
	struct want w;
	int op = OP_POLL, res, n;
	char desc[200];

	if (r < 12) {
		/* the array itself is bad */
		static const uint64_t lows[] = { 0, 0x1000, 0x10000 - 8 };
		uint64_t bad;
		const char *bk;

		nfds = 1 + rndn(&t->rng, 3);
		switch (rndn(&t->rng, 4)) {
		case 0:
			bad = PICK(&t->rng, lows);
			bk = "unmapped";
			break;
		case 1:
			bad = PICK(&t->rng, kernel_ptrs);
			bk = "kernel";
			break;
		case 2:
			/* readable, but revents cannot be written back */
			bad = (uintptr_t)t->arena + A_RO + RO_INFO_OK;
			bk = "read-only";
			break;
		default:
			bad = (uintptr_t)t->arena + A_GUARD1 - sizeof(*pfd) * nfds + 4;
			bk = "straddling";
			break;
		}
		w = w1(EFAULT);
		n = poll((struct pollfd *)(uintptr_t)bad, nfds, 0);
		record(t, OP_POLL, n < 0 ? errno : 0, &w, "%s array %#llx, %u fds", bk,
		       (unsigned long long)bad, nfds);
		return;
	}
	if (r < 16) {
		nfds = (unsigned int)env.nofile + 1 + rndn(&t->rng, 8);
		w = w1(EINVAL);
		n = poll(pfd, nfds, 0);
		record(t, OP_POLL, n < 0 ? errno : 0, &w, "%u fds, over RLIMIT_NOFILE %llu",
		       nfds, env.nofile);
		return;
	}
	if (r < 19) {
		w = w1(0);
		n = poll(NULL, 0, 0);
		record(t, OP_POLL, n < 0 ? errno : 0, &w, "no fds");
		return;
	}

	nfds = r < 70 ? 1 : 2 + rndn(&t->rng, 3);
	for (i = 0; i < nfds; i++) {
		fs[i] = i == 0 && nfds > 1 ? &t->fds[FD_OWN] : pick_fd(t);
		pfd[i].fd = fs[i]->fd;
		pfd[i].events = chance(&t->rng, 60) ? POLLIN : PICK(&t->rng, evs);
		pfd[i].revents = (short)rnd(&t->rng);
	}
	if (r >= 90) {
		static const size_t bad_sizes[] = { 0, 4, 7, 16, 128 };
		struct timespec ts = { 0, 0 };
		sigset_t set;
		size_t ss = chance(&t->rng, 40) ? 8 : PICK(&t->rng, bad_sizes);

		op = OP_PPOLL;
		sigemptyset(&set);
		w = w1(ss == 8 ? 0 : EINVAL);
		n = (int)syscall(SYS_ppoll, pfd, nfds, &ts, &set, ss);
		snprintf(desc, sizeof(desc), "sigsetsize %zu", ss);
	} else {
		/* now and then a real wait: poll_wait() and the wake-up */
		int timeout = chance(&t->rng, 3) ? 1 : 0;

		w = w1(0);
		n = poll(pfd, nfds, timeout);
		snprintf(desc, sizeof(desc), "timeout %d", timeout);
	}
	res = n < 0 ? errno : 0;
	if (!record(t, op, res, &w, "%u fds (first %s(%d) events %#x), %s", nfds,
		    fs[0]->name, pfd[0].fd, (unsigned short)pfd[0].events, desc) || res)
		return;
	for (ready = 0, i = 0; i < nfds; i++) {
		if (pfd[i].revents)
			ready++;
		if (!revents_ok(fs[i], pfd[i].fd, pfd[i].events, pfd[i].revents))
			bad_output(t, op, "fd %s(%d) events %#x: revents %#x (may_read %d own %d avail %d)",
				   fs[i]->name, pfd[i].fd, (unsigned short)pfd[i].events,
				   (unsigned short)pfd[i].revents, fs[i]->may_read,
				   fs[i]->own, fs[i]->avail);
		poll_learned(fs[i], pfd[i].events, pfd[i].revents);
	}
	if ((unsigned int)n != ready)
		bad_output(t, op, "returned %d with %u fds ready", n, ready);
}

static void op_select(struct fz *t)
{
	fd_set rs, ws, es;
	struct fzfd *fs[3];
	bool inr[3], inw[3], ine[3];
	struct timeval tv = { 0, 0 };
	unsigned int i, nf = 1 + rndn(&t->rng, 3), ready = 0;
	int maxfd = -1, n, res;
	struct want w = w1(0);

	if (chance(&t->rng, 6)) {
		/* a set the kernel cannot read */
		struct fzfd *f = &t->fds[FD_OWN];

		w = w1(EFAULT);
		n = select(f->fd + 1, (fd_set *)(uintptr_t)PICK(&t->rng, kernel_ptrs),
			   NULL, NULL, &tv);
		record(t, OP_SELECT, n < 0 ? errno : 0, &w, "readfds at a kernel address");
		return;
	}
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	for (i = 0; i < nf; i++) {
		/* open files only: select() fails on a bad one as a whole */
		do
			fs[i] = pick_fd(t);
		while (!acc_file(fs[i]->acc));
		inr[i] = chance(&t->rng, 80);
		inw[i] = chance(&t->rng, 30);
		ine[i] = chance(&t->rng, 20);
		if (inr[i])
			FD_SET(fs[i]->fd, &rs);
		if (inw[i])
			FD_SET(fs[i]->fd, &ws);
		if (ine[i])
			FD_SET(fs[i]->fd, &es);
		if (fs[i]->fd > maxfd)
			maxfd = fs[i]->fd;
	}
	n = select(maxfd + 1, &rs, &ws, &es, &tv);
	res = n < 0 ? errno : 0;
	if (!record(t, OP_SELECT, res, &w, "%u fds, first %s(%d)", nf, fs[0]->name,
		    fs[0]->fd) || res)
		return;
	for (i = 0; i < nf; i++) {
		struct fzfd *f = fs[i];
		bool dup = false;
		unsigned int j;

		for (j = 0; j < i; j++)
			dup |= fs[j]->fd == f->fd;
		/*
		 * fs/select.c: EPOLLERR counts as readable and writable; the
		 * device never says POLLOUT or POLLPRI.
		 */
		if (inr[i] && !dup) {
			bool got = FD_ISSET(f->fd, &rs);

			if (!f->may_read ? !got : (f->own && f->avail && !got))
				bad_output(t, OP_SELECT, "fd %s(%d) readable %d (may_read %d own %d avail %d)",
					   f->name, f->fd, got, f->may_read, f->own, f->avail);
			if (got && f->own && f->may_read)
				f->avail = true;
		}
		if (inw[i] && !dup && !!FD_ISSET(f->fd, &ws) != !f->may_read)
			bad_output(t, OP_SELECT, "fd %s(%d) writable %d (may_read %d)",
				   f->name, f->fd, !!FD_ISSET(f->fd, &ws), f->may_read);
		if (ine[i] && FD_ISSET(f->fd, &es))
			bad_output(t, OP_SELECT, "fd %s(%d) has an exception", f->name, f->fd);
	}
	for (i = 0; i < (unsigned int)maxfd + 1; i++)
		ready += !!FD_ISSET(i, &rs) + !!FD_ISSET(i, &ws) + !!FD_ISSET(i, &es);
	if ((unsigned int)n != ready)
		bad_output(t, OP_SELECT, "returned %d with %u bits set", n, ready);
}

/* ---- lseek, open ------------------------------------------------------- */

static void op_lseek(struct fz *t)
{
	static const long long offs[] = { 0, 1, -1, 256, 4096, LLONG_MAX, LLONG_MIN };
	struct fzfd *f = pick_fd(t);
	long long off = chance(&t->rng, 80) ? PICK(&t->rng, offs) : (long long)rnd(&t->rng);
	int whence = chance(&t->rng, 85) ? (int)rndn(&t->rng, 5) : (int)rndn(&t->rng, 64);
	struct want w;
	off_t r;

	/*
	 * fs/read_write.c ksys_lseek(), then vfs_llseek(): the device is a
	 * stream (stream_open(), no FMODE_LSEEK), so ESPIPE for every whence
	 * up to SEEK_MAX.
	 */
	if (!acc_file(f->acc))
		w = w1(EBADF);
	else if (whence > SEEK_HOLE)
		w = w1(EINVAL);
	else
		w = w1(ESPIPE);
	r = lseek(f->fd, off, whence);
	if (record(t, OP_LSEEK, r < 0 ? errno : 0, &w, "fd %s(%d) offset %lld whence %d",
		   f->name, f->fd, off, whence) && r > 0)
		bad_output(t, OP_LSEEK, "fd %s: position %lld", f->name, (long long)r);
}

/*
 * open() of the node, mode 0444: for writing only with CAP_DAC_OVERRIDE
 * (O_TRUNC asks for write permission too); O_NOATIME only for the owner
 * (root) or CAP_FOWNER.  The device itself refuses no open().
 */
static struct want want_open(int flags)
{
	int acc = flags & O_ACCMODE;

	if (flags & O_PATH)
		return w1(0);
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return w1(EEXIST);
	if (flags & O_DIRECTORY)
		return w1(ENOTDIR);
	if ((acc_writes(acc) || (flags & O_TRUNC)) && !env.dac_override)
		return w1(EACCES);
	if ((flags & O_NOATIME) && getuid() != 0 && !env.fowner)
		return w1(EPERM);
	return w1(0);
}

/* Open @f with @flags; counted, and checked against want_open(). */
static bool fz_open(struct fz *t, struct fzfd *f, int flags, const char *name, bool own)
{
	struct want w = want_open(flags);
	int fd = openat(dev_dirfd, "clockwatch", flags);

	if (!record(t, OP_OPEN, fd < 0 ? errno : 0, &w, "%s flags %#x", name, flags) ||
	    fd < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	f->fd = fd;
	f->acc = (flags & O_PATH) ? ACC_PATH : (flags & O_ACCMODE);
	f->nonblock = flags & O_NONBLOCK;
	f->may_read = env.perfmon;
	f->own = own;
	f->avail = false;
	f->synced = false;
	f->next_seq = 0;
	f->name = name;
	if (acc_file(f->acc))
		info_probe(t, f);
	return true;
}

static void op_reopen(struct fz *t)
{
	static const int flagss[] = {
		O_RDONLY | O_NONBLOCK, O_RDONLY, O_WRONLY | O_NONBLOCK, O_RDWR | O_NONBLOCK,
		O_RDWR, O_RDONLY | O_TRUNC | O_NONBLOCK, O_PATH, O_RDONLY | O_CREAT | O_EXCL,
		O_RDONLY | O_DIRECTORY, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME,
		O_RDONLY | O_NONBLOCK | O_CREAT, O_WRONLY | O_TRUNC,
	};
	struct fzfd *f = &t->fds[FD_SCRATCH], n;
	struct want w = w1(0);

	if (!fz_open(t, &n, PICK(&t->rng, flagss), "scratch", true))
		return;
	record(t, OP_CLOSE, close(f->fd) ? errno : 0, &w, "scratch(%d)", f->fd);
	*f = n;
}

/* ---- the threads -------------------------------------------------------- */

static void arena_init(struct fz *t)
{
	char *ro;
	struct clockwatch_cpu_stats *cs;
	struct clockwatch_info *info;
	struct clockwatch_stall_log *lg;
	struct clockwatch_inject *inj;
	struct clockwatch_inject_events *iev;
	struct clockwatch_daemon_report *drep;
	struct clockwatch_tasks *tasks;

	t->arena = mmap(NULL, A_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->arena == MAP_FAILED) {
		perror("arena");
		abort();
	}
	ro = t->arena + A_RO;
	cs = (void *)(ro + RO_CS_OK);
	cs->size = CS_SIZE;
	cs->cpu = env.online_list[0];
	cs = (void *)(ro + RO_CS_BAD);
	cs->size = CS_SIZE;
	cs->cpu = env.online_list[0];
	cs->flags = 1;
	info = (void *)(ro + RO_INFO_OK);
	info->size = sizeof(*info);
	info = (void *)(ro + RO_INFO_BAD);
	info->size = sizeof(*info);
	info->__reserved[1] = 1;
	lg = (void *)(ro + RO_LOG_OK);
	lg->size = sizeof(*lg);
	lg = (void *)(ro + RO_LOG_BAD);
	lg->size = sizeof(*lg);
	lg->__reserved0 = 7;
	inj = (void *)(ro + RO_INJ_OK);
	inj->size = sizeof(*inj);
	inj->cpu = env.online_list[0];
	inj->mode = CLOCKWATCH_INJECT_IRQ;
	inj->duration_ns = 1000;
	inj = (void *)(ro + RO_INJ_BAD);
	inj->size = sizeof(*inj);
	inj->mode = 9;
	inj->duration_ns = 1000;
	iev = (void *)(ro + RO_IEV_OK);
	iev->size = sizeof(*iev);
	iev->count = 1;
	iev = (void *)(ro + RO_IEV_BAD);
	iev->size = sizeof(*iev);
	iev->count = CLOCKWATCH_INJECT_MAX_EVENTS + 1;
	tasks = (void *)(ro + RO_TASKS_OK);
	tasks->size = sizeof(*tasks);
	tasks = (void *)(ro + RO_TASKS_BAD);
	tasks->size = sizeof(*tasks);
	tasks->__reserved[0] = 1;
	/* a report from this process with an anchor never made: ESRCH or EAGAIN */
	drep = (void *)(ro + RO_DREP_OK);
	drep->size = sizeof(*drep);
	drep->source = CLOCKWATCH_DREP_CHRONY;
	drep->daemon_pid = getpid();
	drep = (void *)(ro + RO_DREP_BAD);
	drep->size = sizeof(*drep);
	drep->source = CLOCKWATCH_DREP_CHRONY;
	drep->daemon_pid = getpid();
	drep->root_dispersion_ns = -1;
	if (mprotect(t->arena + A_GUARD1, PG, PROT_NONE) ||
	    mprotect(ro, RO_PAGES * PG, PROT_READ) ||
	    mprotect(t->arena + A_GUARD2, PG, PROT_NONE)) {
		perror("arena mprotect");
		abort();
	}
}

static void *fuzz_thread(void *arg)
{
	struct fz *t = arg;

	arena_init(t);
	if (!fz_open(t, &t->fds[FD_OWN], O_RDONLY | O_NONBLOCK, "own", true) ||
	    !fz_open(t, &t->fds[FD_OWN_BLOCK], O_RDONLY, "own-blocking", true) ||
	    !fz_open(t, &t->fds[FD_SCRATCH], O_RDONLY | O_NONBLOCK, "scratch", true)) {
		t->mismatches++;
		return NULL;
	}
	t->badfd.acc = ACC_BAD;
	t->badfd.name = "bad";

	while (t->calls < t->target) {
		unsigned int r = rndn(&t->rng, 1000);

		if (r < 470)
			op_ioctl(t);
		else if (r < 590)
			op_read(t, false);
		else if (r < 640)
			op_read(t, true);
		else if (r < 665)
			op_write(t, false);
		else if (r < 680)
			op_write(t, true);
		else if (r < 725)
			op_mmap(t);
		else if (r < 815)
			op_poll(t);
		else if (r < 855)
			op_select(t);
		else if (r < 930)
			op_lseek(t);
		else if (r < 940)
			op_reopen(t);
		else
			op_drain_own(t);
	}
	close(t->fds[FD_OWN].fd);
	close(t->fds[FD_OWN_BLOCK].fd);
	close(t->fds[FD_SCRATCH].fd);
	munmap(t->arena, A_SIZE);
	return NULL;
}

/* ---- the perturbing thread --------------------------------------------- */

/* last_step_delta_ns of the page, read under its seq. */
static long long step_made(const struct clockwatch_page *page)
{
	unsigned int seq;
	long long d;

	do {
		seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
		d = __atomic_load_n(&page->last_step_delta_ns, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&page->seq, __ATOMIC_RELAXED) != seq);
	return d;
}

struct perturber {
	pthread_t th;
	atomic_bool stop;
	bool running;
	int fd;
	const struct clockwatch_page *page;
	int injfd;		/* the injector's debugfs file, or -1 */
	uint64_t rng;
	unsigned long steps, writes, injects, failed;
	int first_err;
	const char *first_what;
	struct timex saved;
	long long offs0;
};

static void perturb_fail(struct perturber *p, const char *what)
{
	if (!p->failed++) {
		p->first_err = errno;
		p->first_what = what;
	}
}

static void *perturb_fn(void *arg)
{
	struct perturber *p = arg;

	while (!atomic_load(&p->stop)) {
		unsigned int r = rndn(&p->rng, 100);
		struct timespec nap = { 0, 1500000 + rndn(&p->rng, 4500000) };

		if (r < 85)
			atomic_fetch_add(&perturb_gen, 1);
		if (r < 35) {
			/* a step of up to 10 ms either way with clock_settime(), and back */
			long long d = 1000 + rndn(&p->rng, 10000000), t, m0;
			struct timespec ts;

			if (r & 1)
				d = -d;
			m0 = cw_clock_ns(CLOCK_MONOTONIC);
			t = cw_clock_ns(CLOCK_REALTIME) + d;
			ts.tv_sec = t / NSEC_PER_SEC;
			ts.tv_nsec = t % NSEC_PER_SEC;
			if (clock_settime(CLOCK_REALTIME, &ts)) {
				perturb_fail(p, "clock_settime");
			} else {
				/*
				 * The step made is d less the time from the read
				 * to the set, which the module measured: take
				 * back that, after holding it against the bracket.
				 */
				long long made = step_made(p->page);
				long long m1 = cw_clock_ns(CLOCK_MONOTONIC);

				if (made > d + 1000 || made < d - (m1 - m0) - 1000) {
					errno = ERANGE;
					perturb_fail(p, "step size on the page");
					made = d - (m1 - m0) / 2;
				}
				if (cw_step_setoffset(-made))
					perturb_fail(p, "ADJ_SETOFFSET");
				else
					p->steps += 2;
			}
		} else if (r < 85) {
			struct timex tx = { 0 };

			if (r < 55) {
				/* within 100 ppm of where it was */
				tx.modes = ADJ_FREQUENCY;
				tx.freq = p->saved.freq + ((long)rndn(&p->rng, 201) - 100) * 65536;
			} else if (r < 72) {
				tx.modes = ADJ_MAXERROR | ADJ_ESTERROR;
				tx.maxerror = rndn(&p->rng, 16000000);
				tx.esterror = rndn(&p->rng, 1000000);
			} else {
				/* no STA_INS, STA_DEL or STA_PLL: no leap second, no PLL */
				tx.modes = ADJ_STATUS;
				tx.status = (p->saved.status & ~(STA_INS | STA_DEL | STA_PLL)) ^
					    (r & 1 ? STA_UNSYNC : STA_FREQHOLD);
			}
			if (adjtimex(&tx) < 0)
				perturb_fail(p, "adjtimex");
			else
				p->writes++;
		} else if (p->injfd >= 0) {
			struct clockwatch_inject inj = {
				.size = sizeof(inj),
				.cpu = env.online_list[rndn(&p->rng, env.n_online)],
				.mode = 1 + rndn(&p->rng, 3),
				.duration_ns = 50000 + rndn(&p->rng, 950000),
			};

			if (ioctl(p->injfd, CLOCKWATCH_IOC_INJECT, &inj))
				perturb_fail(p, "CLOCKWATCH_IOC_INJECT");
			else
				p->injects++;
		}
		if (r < 85)
			atomic_fetch_add(&perturb_gen, 1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void perturb_start(struct perturber *p, int fd, const struct clockwatch_page *page)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->page = page;
	p->injfd = env.inject ? open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC) : -1;
	if (env.inject && p->injfd < 0)
		perturb_fail(p, "open " CLOCKWATCH_INJECT_PATH);
	p->rng = env.seed ^ 0x7e57ab1e;
	p->saved.modes = 0;
	adjtimex(&p->saved);
	p->offs0 = cw_real_minus_mono();
	atomic_store(&p->stop, false);
	p->running = !pthread_create(&p->th, NULL, perturb_fn, p);
}

/*
 * Write maxerror as it stands, so that this process is the sync daemon
 * for the run (unless another process is and lives): DAEMON_REPORT calls
 * with this process's pid can then succeed.  The daemon is the daemon
 * until its process exits, and this one is the test's own child.
 */
static void become_daemon(void)
{
	struct timex tx = { 0 };

	if (adjtimex(&tx) < 0)
		return;
	tx.modes = ADJ_MAXERROR;
	adjtimex(&tx);
}

/* Stop, and put the NTP state and REALTIME - MONOTONIC back as they were. */
static void perturb_stop(struct perturber *p)
{
	struct timex tx = {
		.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR,
		.freq = p->saved.freq,
		.status = p->saved.status,
		.maxerror = p->saved.maxerror,
		.esterror = p->saved.esterror,
	};
	long long drift;

	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->th, NULL);
	p->running = false;
	if (p->injfd >= 0)
		close(p->injfd);
	adjtimex(&tx);
	drift = cw_real_minus_mono() - p->offs0;
	if (drift > 1000 || drift < -1000)
		cw_step_setoffset(-drift);
	printf("# perturbing thread: %lu steps, %lu adjtimex writes, %lu injected stalls, %lu failed; REALTIME put back by %lld ns\n",
	       p->steps, p->writes, p->injects, p->failed, -drift);
	if (p->failed)
		printf("# perturbing thread: first failure %s: %s\n", p->first_what,
		       strerror(p->first_err));
}

/* ---- one run ------------------------------------------------------------ */

static int parse_cpus(const char *path, bool *set, unsigned int *highest)
{
	char buf[4096], *s, *end;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	*highest = 0;
	for (s = buf; *s && *s != '\n';) {
		unsigned long a = strtoul(s, &end, 10), b = a, i;

		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		for (i = a; i <= b && i < CPUS_MAX; i++) {
			set[i] = true;
			if (i > *highest)
				*highest = i;
		}
		s = *end == ',' ? end + 1 : end;
		if (s == end && *s != '\n' && *s)
			break;
	}
	return 0;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

/* What the oracle needs to know; 0, or -1 with a reason in @why. */
static int env_init(int fd, const struct clockwatch_page *page, char *why, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = { { 0 } };
	struct clockwatch_info info = { .size = sizeof(info) };
	struct statvfs sv;
	struct rlimit rl;
	unsigned int hi, i;

	memset(env.possible, 0, sizeof(env.possible));
	memset(env.online, 0, sizeof(env.online));
	if (parse_cpus("/sys/devices/system/cpu/possible", env.possible, &hi)) {
		snprintf(why, len, "cannot read the possible CPUs");
		return -1;
	}
	env.nr_cpu_ids = hi + 1;
	if (parse_cpus("/sys/devices/system/cpu/online", env.online, &hi)) {
		snprintf(why, len, "cannot read the online CPUs");
		return -1;
	}
	for (env.n_online = 0, i = 0; i < env.nr_cpu_ids; i++)
		if (env.online[i])
			env.online_list[env.n_online++] = i;
	if (probed_cpus(env.probed)) {
		snprintf(why, len, "cannot read the isolated CPUs");
		return -1;
	}
	env.features = page->features;
	env.stalls = env.features & CLOCKWATCH_FEAT_STALLS;
	env.inject = !access(CLOCKWATCH_INJECT_PATH, F_OK);
	if (ioctl(fd, CLOCKWATCH_IOC_INFO, &info)) {
		snprintf(why, len, "CLOCKWATCH_IOC_INFO: %s", strerror(errno));
		return -1;
	}
	env.ring_entries = info.ring_entries;
	{
		FILE *pf = fopen("/sys/module/clockwatch/parameters/ring_entries", "r");
		unsigned int param;

		if (pf) {
			if (fscanf(pf, "%u", &param) == 1 && param != info.ring_entries) {
				snprintf(why, len, "INFO ring_entries %u, parameter %u",
					 info.ring_entries, param);
				fclose(pf);
				return -1;
			}
			fclose(pf);
		}
	}
	if (syscall(SYS_capget, &hdr, caps)) {
		snprintf(why, len, "capget: %s", strerror(errno));
		return -1;
	}
	env.sys_admin = has_cap(caps, CAP_SYS_ADMIN);
	env.sys_time = has_cap(caps, CAP_SYS_TIME);
	env.perfmon = env.sys_admin || has_cap(caps, CAP_PERFMON);
	env.dac_override = has_cap(caps, CAP_DAC_OVERRIDE);
	env.fowner = has_cap(caps, CAP_FOWNER);
	env.ipc_lock = has_cap(caps, CAP_IPC_LOCK);
	env.dev_noexec = !statvfs(CLOCKWATCH_DEVICE, &sv) && (sv.f_flag & ST_NOEXEC);
	getrlimit(RLIMIT_MEMLOCK, &rl);
	env.memlock = rl.rlim_cur;
	getrlimit(RLIMIT_NOFILE, &rl);
	env.nofile = rl.rlim_cur;
	env.start_mono_ns = cw_clock_ns(CLOCK_MONOTONIC);
	env.pid = getpid();
	env.page = page;
	env.fd = fd;
	{
		struct page_daemon pd;

		page_daemon(page, &pd);
		env.daemon = pd.daemon_pid == env.pid;
	}
	return 0;
}

/* The stalls the log holds now: the highest seq, a floor for the oracle. */
static void stall_lo_init(int fd)
{
	static struct clockwatch_stall recs[CLOCKWATCH_STALL_LOG_LEN];
	struct clockwatch_stall_log lg = {
		.size = sizeof(lg), .max = CLOCKWATCH_STALL_LOG_LEN,
		.stalls = (uintptr_t)recs,
	};

	atomic_store(&stall_lo, 0);
	if (!ioctl(fd, CLOCKWATCH_IOC_STALL_LOG, &lg) && lg.count)
		atomic_store(&stall_lo, lg.next_seq - 1);
}

static unsigned long long env_ull(const char *name, unsigned long long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static uint64_t fuzz_seed(void)
{
	return env_ull("CW_FUZZ_SEED", DEFAULT_SEED);
}

struct run_result {
	unsigned long long calls, mismatches;
	double secs;
};

static struct fz threads[THREADS];

/*
 * Fuzz /dev/clockwatch from THREADS threads for @calls calls in all.
 * @fd (opened before, by whoever) joins the shared files when @inherited.
 */
static int fuzz_run(const char *who, int fd, const struct clockwatch_page *page,
		    bool inherited, unsigned long long calls, struct run_result *rr)
{
	static unsigned long long tab[OP_NR][128], ns[OP_NR];
	struct fz setup = { .id = -1, .rng = 1 };
	long long t0, t1;
	char why[200];
	unsigned int i, op, e;
	unsigned long long per_op;

	memset(rr, 0, sizeof(*rr));
	env.seed = fuzz_seed();
	if (env_init(fd, page, why, sizeof(why))) {
		fprintf(stderr, "# %s: %s\n", who, why);
		return -1;
	}
	stall_lo_init(fd);
	if (dev_dirfd < 0)
		dev_dirfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	printf("# %s: seed %#llx (CW_FUZZ_SEED), %llu calls (CW_FUZZ_CALLS/CW_FUZZ_SLICE), %d threads;"
	       " caps: sys_admin %d perfmon %d sys_time %d dac_override %d; inject %d stalls %d; %u CPUs (nr_cpu_ids %u); /dev noexec %d; sync daemon %d\n",
	       who, (unsigned long long)env.seed, calls, THREADS, env.sys_admin,
	       env.perfmon, env.sys_time, env.dac_override, env.inject, env.stalls,
	       env.n_online, env.nr_cpu_ids, env.dev_noexec, env.daemon);
	fflush(stdout);

	/* the shared files, opened by this process */
	n_shared = 0;
	arena_init(&setup);
	if (!fz_open(&setup, &shared_fds[n_shared], O_RDONLY | O_NONBLOCK, "shared-ro", false))
		return -1;
	n_shared++;
	if (env.dac_override) {
		if (!fz_open(&setup, &shared_fds[n_shared], O_RDWR | O_NONBLOCK, "shared-rw", false))
			return -1;
		n_shared++;
	}
	if (inherited) {
		struct fzfd *f = &shared_fds[n_shared++];

		/* opened before this process gave up its capabilities */
		memset(f, 0, sizeof(*f));
		f->fd = fd;
		f->acc = O_RDONLY;
		f->nonblock = true;
		f->may_read = true;
		f->name = "inherited";
	}
	munmap(setup.arena, A_SIZE);
	if (setup.mismatches)
		return -1;

	t0 = cw_clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < THREADS; i++) {
		struct fz *t = &threads[i];

		memset(t, 0, sizeof(*t));
		t->id = i;
		t->rng = env.seed * (2 * i + 1) + i;
		t->target = calls / THREADS + (i < calls % THREADS ? 1 : 0);
		if (pthread_create(&t->th, NULL, fuzz_thread, t)) {
			fprintf(stderr, "# %s: pthread_create failed\n", who);
			return -1;
		}
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i].th, NULL);
	t1 = cw_clock_ns(CLOCK_MONOTONIC);

	memset(tab, 0, sizeof(tab));
	memset(ns, 0, sizeof(ns));
	for (i = 0; i < THREADS; i++) {
		rr->calls += threads[i].calls;
		rr->mismatches += threads[i].mismatches;
		for (op = 0; op < OP_NR; op++) {
			for (e = 0; e < 128; e++)
				tab[op][e] += threads[i].tab[op][e];
			ns[op] += threads[i].ns[op];
		}
	}
	rr->calls += setup.calls;
	for (op = 0; op < OP_NR; op++)
		for (e = 0; e < 128; e++)
			tab[op][e] += setup.tab[op][e];
	rr->secs = (t1 - t0) / 1e9;
	for (i = 0; i < n_shared; i++)
		if (strcmp(shared_fds[i].name, "inherited"))
			close(shared_fds[i].fd);

	printf("# %s: %llu calls in %.1f s: %.0f calls/s; %llu mismatches\n", who,
	       rr->calls, rr->secs, rr->calls / (rr->secs > 0 ? rr->secs : 1),
	       rr->mismatches);
	printf("# %s: DAEMON_REPORT that could be taken: %lu with no write or step around (0 only), %lu beside one (0 or EAGAIN; EAGAIN %lu)\n",
	       who, atomic_exchange(&drep_quiet, 0), atomic_exchange(&drep_raced, 0),
	       atomic_exchange(&drep_raced_eagain, 0));
	printf("#   %-20s %9s %10s  results\n", "call", "count", "us/call*");
	printf("#   (*a thread's time from its call before, waits for a CPU included)\n");
	for (op = 0; op < OP_NR; op++) {
		char line[1024];
		size_t n = 0;

		for (per_op = 0, e = 0; e < 128; e++)
			per_op += tab[op][e];
		if (!per_op)
			continue;
		for (e = 0; e < 128; e++)
			if (tab[op][e])
				n += snprintf(line + n, sizeof(line) - n, " %s %llu",
					      res_name(e), tab[op][e]);
		printf("#   %-20s %9llu %7.1f us:%s\n", op_name[op], per_op,
		       ns[op] / 1e3 / per_op, line);
	}
	fflush(stdout);
	return 0;
}

/* ---- privileges --------------------------------------------------------- */

static unsigned long tainted(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* ---- the tests ---------------------------------------------------------- */

FIXTURE(fuzz) {
	int fd;
	const struct clockwatch_page *page;
	bool destructive;
};

FIXTURE_SETUP(fuzz)
{
	self->page = MAP_FAILED;
	self->fd = open(CLOCKWATCH_DEVICE, O_RDONLY | O_NONBLOCK);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "%s missing: module not loaded", CLOCKWATCH_DEVICE);
	ASSERT_LE(0, self->fd);
	self->page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	if (!(self->page->features & CLOCKWATCH_FEAT_EVENTS))
		SKIP(return, "module without events");
	self->destructive = geteuid() == 0 && getenv("CLOCKWATCH_DESTRUCTIVE");
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->page != MAP_FAILED)
		munmap((void *)self->page, CLOCKWATCH_PAGE_SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

/* The 6.1 harness runs the body after a SKIP in the setup. */
#define REQUIRE_DEVICE() do {						\
	if (self->fd < 0 || self->page == MAP_FAILED)			\
		return;							\
} while (0)

/*
 * 10^6 calls (CW_FUZZ_CALLS) from four threads with this process's
 * rights (root in the VM), beside the perturbing thread.
 */
TEST_F_TIMEOUT(fuzz, four_threads, 1800)
{
	unsigned long long calls = env_ull("CW_FUZZ_CALLS", DEFAULT_CALLS);
	unsigned long taint0 = tainted(), taint1;
	struct perturber p = { 0 };
	struct run_result rr;
	int ret;

	REQUIRE_DEVICE();
	if (self->destructive) {
		char why[200];

		become_daemon();
		/* the perturbing thread needs the CPUs and the injector's bit */
		if (!env_init(self->fd, self->page, why, sizeof(why)))
			perturb_start(&p, self->fd, self->page);
	} else
		printf("# no perturbing thread, not the sync daemon: needs root and CLOCKWATCH_DESTRUCTIVE=1\n");
	ret = fuzz_run("four_threads", self->fd, self->page, false, calls, &rr);
	perturb_stop(&p);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0, rr.mismatches);
	EXPECT_LE(calls, rr.calls);
	EXPECT_EQ(0, p.failed);
	/* a new taint other than O (out of tree) and E (unsigned) */
	taint1 = tainted();
	EXPECT_EQ(0, (taint1 & ~taint0) & ~((1UL << 12) | (1UL << 13)));
}

/*
 * A slice of the fuzzer in a child that became nobody with the
 * capabilities @keep, while this process, root, perturbs.
 */
static void slice(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self,
		  const char *who, unsigned long long keep)
{
	unsigned long long calls = env_ull("CW_FUZZ_SLICE",
					   env_ull("CW_FUZZ_CALLS", DEFAULT_CALLS) / 20);
	struct perturber p = { 0 };
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "drops privileges: needs root");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct run_result rr;

		if (cw_drop_to_nobody(keep)) {
			fprintf(stderr, "# %s: cannot drop to nobody: %s\n", who, strerror(errno));
			_exit(2);
		}
		if (fuzz_run(who, self->fd, self->page, true, calls, &rr))
			_exit(3);
		_exit(rr.mismatches || rr.calls < calls ? 1 : 0);
	}
	if (self->destructive) {
		char why[200];

		/* the perturbing thread needs the CPUs and the injector's bit */
		if (!env_init(self->fd, self->page, why, sizeof(why)))
			perturb_start(&p, self->fd, self->page);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	perturb_stop(&p);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, p.failed);
}

/*
 * The injector left the device's ABI: /dev/clockwatch answers its two
 * commands ENOTTY even for a valid request from root with inject=1, and
 * the injector's debugfs file answers the device's commands ENOTTY.
 */
TEST_F(fuzz, injector_not_on_the_device)
{
	struct clockwatch_inject inj = {
		.size = sizeof(inj), .cpu = 0, .mode = CLOCKWATCH_INJECT_PREEMPT,
		.duration_ns = 1000,
	};
	struct clockwatch_inject_events iev = { .size = sizeof(iev), .count = 1 };
	struct clockwatch_info info = { .size = sizeof(info) };
	int injfd;

	REQUIRE_DEVICE();
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_INJECT, &inj));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, CLOCKWATCH_IOC_INJECT_EVENTS, &iev));
	EXPECT_EQ(ENOTTY, errno);
	injfd = open(CLOCKWATCH_INJECT_PATH, O_RDONLY | O_CLOEXEC);
	if (injfd < 0)
		SKIP(return, "no injector here (%s): its side not checked",
		     strerror(errno));
	EXPECT_EQ(-1, ioctl(injfd, CLOCKWATCH_IOC_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	/* and it is the injector: a valid request is served there */
	EXPECT_EQ(0, ioctl(injfd, CLOCKWATCH_IOC_INJECT_EVENTS, &iev));
	EXPECT_EQ(iev.first_seq, iev.last_seq);
	close(injfd);
}

/* nobody, no capabilities: no events (EPERM, EPOLLERR), no reset, no injector */
TEST_F_TIMEOUT(fuzz, as_nobody, 900)
{
	REQUIRE_DEVICE();
	slice(_metadata, self, "as_nobody", 0);
}

/* nobody with CAP_PERFMON: events, but no reset and no injector */
TEST_F_TIMEOUT(fuzz, as_perfmon_only, 900)
{
	REQUIRE_DEVICE();
	slice(_metadata, self, "as_perfmon_only", 1ULL << CAP_PERFMON);
}

TEST_HARNESS_MAIN
