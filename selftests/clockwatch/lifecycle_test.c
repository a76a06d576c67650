// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: load and unload the module again and again while it is in
 * use, and check that nothing is lost or leaked.
 *
 * Each cycle loads the module (finit_module), then holds it the ways a
 * user can: two reader processes blocked in read() and in poll() on the
 * event stream with the page mapped, a mapping whose file was closed,
 * and two BPF programs attached to the module's tracepoints (one through
 * perf, one raw).  It makes an adjtimex() write and checks that both
 * readers got its record.  Every unload attempt while something holds
 * the module must fail with EWOULDBLOCK and leave the module working;
 * once the last holder is gone, the unload must succeed and the device
 * node must go.  After the cycles, no slab cache may have grown by an
 * object a cycle (in both halves of the run: see slab_grown()), nor the
 * per-CPU or vmalloc totals by a page a cycle.
 *
 * The module file comes from CW_KO, its parameters from CW_KO_PARAMS;
 * CW_CYCLES sets the count (default 200).  Run as root, in the test VM
 * (run_vm.sh does, after the rest of the suite has unloaded the module).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/clockwatch.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"

#define DEV		"/dev/clockwatch"
#define TRACEFS		"/sys/kernel/tracing"
#define MAX_CACHES	512

static int load_module(int kofd, const char *params)
{
	return syscall(SYS_finit_module, kofd, params, 0) ? -errno : 0;
}

static int unload_module(void)
{
	return syscall(SYS_delete_module, "clockwatch", O_NONBLOCK) ? -errno : 0;
}

/* The device node appears as the misc device registers; wait for it. */
static int open_dev(void)
{
	int i, fd = -1;

	for (i = 0; i < 200 && fd < 0; i++) {
		fd = open(DEV, O_RDONLY);
		if (fd < 0 && errno != ENOENT)
			return -errno;
		if (fd < 0)
			usleep(10000);
	}
	return fd < 0 ? -ENOENT : fd;
}

static bool dev_exists(void)
{
	return access(DEV, F_OK) == 0;
}

/* r0 = 0; exit: the smallest program a tracepoint can run. */
static int load_prog(enum bpf_prog_type type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr = {
		.prog_type = type,
		.insns = (unsigned long)insns,
		.insn_cnt = 2,
		.license = (unsigned long)"GPL",
	};
	int fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

/* A program on clockwatch:clock_step through a perf event: its fd. */
static int attach_perf(void)
{
	struct perf_event_attr pa = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(pa),
		.sample_period = 1,
		.wakeup_events = 1,
	};
	char buf[32] = "";
	int prog, pfd, fd;
	ssize_t n;

	fd = open(TRACEFS "/events/clockwatch/clock_step/id", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	pa.config = strtoull(buf, NULL, 10);
	prog = load_prog(BPF_PROG_TYPE_TRACEPOINT);
	if (prog < 0)
		return prog;
	pfd = syscall(SYS_perf_event_open, &pa, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		pfd = -errno;
		close(prog);
		return pfd;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) ||
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0)) {
		close(pfd);
		pfd = -errno;
	}
	close(prog);	/* the perf event holds the program */
	return pfd;
}

/* A raw tracepoint program on clockwatch's ntp_adjust: the link's fd. */
static int attach_raw(void)
{
	union bpf_attr attr = {};
	int prog, fd;

	prog = load_prog(BPF_PROG_TYPE_RAW_TRACEPOINT);
	if (prog < 0)
		return prog;
	attr.raw_tracepoint.name = (unsigned long)"ntp_adjust";
	attr.raw_tracepoint.prog_fd = prog;
	fd = syscall(SYS_bpf, BPF_RAW_TRACEPOINT_OPEN, &attr, sizeof(attr));
	if (fd < 0)
		fd = -errno;
	close(prog);
	return fd;
}

/*
 * A reader in a child: open, map, tell the parent it is ready, then wait
 * for a record in read() (@use_poll false) or poll() and read().  Exits
 * 0 when the record is the NTP write of @writer; is killed otherwise.
 */
static pid_t start_reader(bool use_poll, pid_t writer, int ready_fd)
{
	pid_t pid = fork();
	struct clockwatch_event ev;
	struct pollfd pfd;
	const struct clockwatch_page *page;
	int fd;

	if (pid)
		return pid;
	fd = open(DEV, O_RDONLY);
	if (fd < 0)
		_exit(10);
	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED || page->magic != CLOCKWATCH_MAGIC)
		_exit(11);
	if (write(ready_fd, "r", 1) != 1)
		_exit(12);
	if (use_poll) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 30000) != 1 || !(pfd.revents & POLLIN))
			_exit(13);
	}
	for (;;) {
		if (read(fd, &ev, sizeof(ev)) != sizeof(ev))
			_exit(14);
		if (ev.type == CLOCKWATCH_EV_NTP_ADJUST && ev.pid == writer)
			break;
	}
	/* Still mapped: the page must still be the module's. */
	_exit(page->magic == CLOCKWATCH_MAGIC ? 0 : 15);
}

static int write_maxerror(long us)
{
	struct timex tx = { .modes = ADJ_MAXERROR, .maxerror = us };

	return adjtimex(&tx) < 0 ? -errno : 0;
}

struct slab_counts {
	char name[MAX_CACHES][64];
	long objs[MAX_CACHES];
	int n;
	long percpu_kb, vmalloc_kb;
};

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0 && errno != EINVAL)
		perror(path);
	close(fd);
}

/*
 * Flush every cache's per-CPU slabs and free its empty ones: otherwise
 * the objects counted active include those slabs' free ones, a few
 * dozen a cache, up and down from one reading to the next.
 */
static void slab_shrink(void)
{
	char path[512];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");

	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.' || d->d_type == DT_LNK)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		write_file(path, "1");
	}
	if (dir)
		closedir(dir);
}

/* Active objects of each slab cache, after the caches were shrunk. */
static int slab_read(struct slab_counts *sc)
{
	char line[512], name[64];
	long active;
	FILE *f;

	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	usleep(200000);	/* RCU-freed objects */
	slab_shrink();
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -errno;
	sc->n = 0;
	while (fgets(line, sizeof(line), f) && sc->n < MAX_CACHES) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %ld", name, &active) != 2)
			continue;
		strcpy(sc->name[sc->n], name);
		sc->objs[sc->n++] = active;
	}
	fclose(f);
	sc->percpu_kb = meminfo_kb("Percpu");
	sc->vmalloc_kb = meminfo_kb("VmallocUsed");
	return 0;
}

static long slab_objs(const struct slab_counts *sc, const char *name)
{
	int i;

	for (i = 0; i < sc->n; i++)
		if (!strcmp(sc->name[i], name))
			return sc->objs[i];
	return -1;
}

/*
 * Caches that grew by at least @limit objects in each half, from @a to
 * @m and from @m to @b, are printed and counted.  A leak of one object
 * a cycle grows a cache in both halves; a cache settling once (a slab
 * more after the first cycles) in one only.
 */
static int slab_grown(const struct slab_counts *a, const struct slab_counts *m,
		      const struct slab_counts *b, long limit)
{
	long oa, om, ob;
	int i, grown = 0;

	for (i = 0; i < b->n; i++) {
		/*
		 * The debug kernel's own bookkeeping: debugobjects refills a
		 * pool of trackers in batches and trims it lazily, kmemleak
		 * keeps one object per allocation until a grace period ends.
		 * kmemleak itself judges leaks there.
		 */
		if (!strcmp(b->name[i], "debug_objects_cache") ||
		    !strcmp(b->name[i], "kmemleak_object"))
			continue;
		oa = slab_objs(a, b->name[i]);
		om = slab_objs(m, b->name[i]);
		ob = b->objs[i];
		if (oa < 0 || om < 0)
			continue;
		if (ob - oa >= limit)
			printf("# slab %s: %ld -> %ld -> %ld active objects\n",
			       b->name[i], oa, om, ob);
		if (om - oa >= limit && ob - om >= limit)
			grown++;
	}
	return grown;
}

struct cycle_stats {
	int refused_reader, refused_mapping, refused_bpf;
	int retries;
};

/* One load, use, refused unloads, release and unload; 0 or a step number. */
static int one_cycle(int kofd, const char *params, struct cycle_stats *st)
{
	int pipefd[2], fd, perf_fd, raw_fd, i, status, err;
	const struct clockwatch_page *page;
	pid_t readers[2];
	char c;

	if (load_module(kofd, params))
		return 1;
	fd = open_dev();
	if (fd < 0)
		return 2;
	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		return 3;
	perf_fd = attach_perf();
	raw_fd = attach_raw();
	if (perf_fd < 0 || raw_fd < 0) {
		printf("# attach: perf %d, raw %d\n", perf_fd, raw_fd);
		return 4;
	}

	if (pipe(pipefd))
		return 5;
	for (i = 0; i < 2; i++)
		readers[i] = start_reader(i == 1, getpid(), pipefd[1]);
	for (i = 0; i < 2; i++)
		if (read(pipefd[0], &c, 1) != 1)
			return 6;
	close(pipefd[0]);
	close(pipefd[1]);

	/* In use by readers, a mapping and BPF: the unload must fail. */
	err = unload_module();
	if (err != -EWOULDBLOCK)
		return 7;
	st->refused_reader++;

	/* The readers are blocked; the record must reach both. */
	if (write_maxerror(100000 + st->refused_reader))
		return 8;
	for (i = 0; i < 2; i++)
		if (waitpid(readers[i], &status, 0) != readers[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("# reader %d: status %#x\n", i, status);
			return 9;
		}

	/* The file closed, its mapping alive: still in use. */
	close(fd);
	if (unload_module() != -EWOULDBLOCK)
		return 10;
	if (page->magic != CLOCKWATCH_MAGIC)
		return 11;
	munmap((void *)page, CLOCKWATCH_PAGE_SIZE);
	st->refused_mapping++;

	/* Only the BPF programs left: still in use. */
	if (unload_module() != -EWOULDBLOCK)
		return 12;
	st->refused_bpf++;
	close(perf_fd);
	close(raw_fd);

	/* Nothing left: it goes (releases may finish a moment later). */
	for (i = 0; i < 100; i++) {
		err = unload_module();
		if (err != -EWOULDBLOCK)
			break;
		st->retries++;
		usleep(10000);
	}
	if (err)
		return 13;
	if (dev_exists())
		return 14;
	return 0;
}

/* No state: a fixture only for the harness's timeout. */
FIXTURE(lifecycle) {};
FIXTURE_SETUP(lifecycle) {}
FIXTURE_TEARDOWN(lifecycle) {}

/*
 * The module does not know the kernel's time_state until it sees an
 * adjtimex() call (the page says -1 until then), and that first look is
 * no move: a load followed by a read makes no LEAP record.  The kernel is
 * made to be in TIME_OK first (maxerror well below the limit, STA_UNSYNC
 * clear), where a module that assumed TIME_ERROR would report a move.
 */
TEST_F(lifecycle, no_leap_record_at_load)
{
	const char *ko = getenv("CW_KO");
	const char *params = getenv("CW_KO_PARAMS");
	struct timex saved = {}, tx = {};
	struct clockwatch_event ev;
	const struct clockwatch_page *page;
	int kofd, fd, state, leaps = 0, steps = 0;
	ssize_t n;

	if (getuid() != 0)
		SKIP(return, "loads modules: needs root");
	if (!ko)
		SKIP(return, "CW_KO names no module file");
	if (!getenv("CLOCKWATCH_DESTRUCTIVE"))
		SKIP(return, "changes the NTP state: set CLOCKWATCH_DESTRUCTIVE=1");
	ASSERT_FALSE(dev_exists()) TH_LOG("the module is loaded already");
	ASSERT_LE(0, adjtimex(&saved));
	tx.modes = ADJ_STATUS | ADJ_MAXERROR;
	tx.status = 0;
	tx.maxerror = 100000;
	ASSERT_EQ(TIME_OK, adjtimex(&tx));

	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd) TH_LOG("%s: %s", ko, strerror(errno));
	ASSERT_EQ(0, load_module(kofd, params ? params : ""));
	close(kofd);
	fd = open_dev();
	ASSERT_LE(0, fd);
	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, page);
	if (!page->ntp_calls) {
		EXPECT_EQ(-1, page->time_state);
	}
	memset(&tx, 0, sizeof(tx));
	state = adjtimex(&tx);
	EXPECT_EQ(TIME_OK, state);
	EXPECT_EQ(state, page->time_state);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	while ((n = read(fd, &ev, sizeof(ev))) == sizeof(ev)) {
		leaps += ev.type == CLOCKWATCH_EV_LEAP;
		steps += ev.type == CLOCKWATCH_EV_STEP;
	}
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, leaps);
	EXPECT_EQ(0, steps);

	munmap((void *)page, CLOCKWATCH_PAGE_SIZE);
	close(fd);
	saved.modes = ADJ_STATUS | ADJ_MAXERROR;
	adjtimex(&saved);
	for (n = 0; n < 100 && unload_module() == -EWOULDBLOCK; n++)
		usleep(10000);
	ASSERT_FALSE(dev_exists());
}

/* About half a second a cycle in the TCG VM: 200 take 100 s. */
TEST_F_TIMEOUT(lifecycle, load_unload_while_in_use, 1200)
{
	const char *ko = getenv("CW_KO");
	const char *params = getenv("CW_KO_PARAMS");
	int cycles = getenv("CW_CYCLES") ? atoi(getenv("CW_CYCLES")) : 200;
	int warmup = cycles / 10, half, kofd, i, step;
	struct slab_counts *before, *mid, *after;
	struct cycle_stats st = {};
	struct timespec t0, t1;

	if (getuid() != 0)
		SKIP(return, "loads modules: needs root");
	if (!ko)
		SKIP(return, "CW_KO names no module file");
	if (access(TRACEFS "/events", F_OK))
		SKIP(return, "no tracefs at " TRACEFS);
	ASSERT_FALSE(dev_exists()) TH_LOG("the module is loaded already");
	ASSERT_LT(9, cycles);
	half = warmup + (cycles - warmup) / 2;
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd) TH_LOG("%s: %s", ko, strerror(errno));
	before = calloc(1, sizeof(*before));
	mid = calloc(1, sizeof(*mid));
	after = calloc(1, sizeof(*after));
	ASSERT_NE(NULL, before);
	ASSERT_NE(NULL, mid);
	ASSERT_NE(NULL, after);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < cycles; i++) {
		if (i == warmup)
			ASSERT_EQ(0, slab_read(before));
		if (i == half)
			ASSERT_EQ(0, slab_read(mid));
		step = one_cycle(kofd, params ? params : "", &st);
		ASSERT_EQ(0, step) TH_LOG("cycle %d failed at step %d (%s)",
					  i, step, strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, slab_read(after));

	printf("# %d cycles in %.1f s; unloads refused: %d with readers, %d with a mapping, %d with BPF; %d retries after release\n",
	       cycles, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       st.refused_reader, st.refused_mapping, st.refused_bpf, st.retries);
	printf("# Percpu %ld -> %ld kB, VmallocUsed %ld -> %ld kB over %d cycles\n",
	       before->percpu_kb, after->percpu_kb, before->vmalloc_kb,
	       after->vmalloc_kb, cycles - warmup);
	/* A leak of one object a cycle: 0.9 object a cycle in each half. */
	EXPECT_EQ(0, slab_grown(before, mid, after, (cycles - half) * 9 / 10));
	/* The module's per-CPU state and ring: one page a cycle is 4 kB. */
	EXPECT_GT(4L * (cycles - warmup), after->percpu_kb - before->percpu_kb);
	EXPECT_GT(4L * (cycles - warmup), after->vmalloc_kb - before->vmalloc_kb);
	close(kofd);
	free(before);
	free(mid);
	free(after);
}

TEST_HARNESS_MAIN
