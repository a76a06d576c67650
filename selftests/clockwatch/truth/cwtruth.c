// SPDX-License-Identifier: GPL-2.0
/*
 * cwtruth: the guest side of the truth harness.
 *
 * The host serves its CLOCK_REALTIME on the guest's second UART
 * (ref_host.py behind scripts/vm --ref).  This program, in the test VM:
 *
 *  - exchanges a request and an answer with it every 10 ms and logs both
 *    ends on the guest's MONOTONIC_RAW: the answer's host time happened
 *    after the request left and before the answer came back, whatever
 *    the latency;
 *  - feeds each exchange with a short round trip to a real chronyd as a
 *    SOCK refclock sample (chronyd then keeps the guest's clock on the
 *    host's);
 *  - samples libclockwatch's bound (cw_clock__now() every 10 ms, the CLI's
 *    "clockwatch now --json" every second instead) between two
 *    MONOTONIC_RAW reads;
 *  - runs "chronyc -c tracking" every 200 ms, for ClockBound's bound.
 *
 * truth_report.py puts the records together: each sample of the bound
 * against the host's time from the exchanges around it.
 *
 * The chrony feed and the error of a sample.  chronyd takes a SOCK sample
 * as (system time, offset to the true time) and assumes nothing about
 * how it was measured.  The sample is the midpoint of the exchange; the
 * host stamped its clock somewhere between the request and the answer,
 * so the sample is off by at most half the round trip.  Only exchanges of
 * at most --max-rtt-us go to chronyd, and the refclock line carries
 * "delay" = that maximum: chronyd adds half its root delay to the error
 * it claims (maxerror), which then covers the sample's own error.
 *
 * The ntpd feed (--ntp-shm UNIT): the same exchanges, written to ntpd's
 * shared memory refclock (driver 28, "refclock shm unit UNIT"), the
 * System V segment with key 0x4e545030 + UNIT, in mode 1: the writer
 * bumps count before and after the fields and sets valid last; ntpd,
 * once a second, takes the fields if valid is set, clears valid, and
 * drops them if count moved meanwhile.  The clock time is the host's
 * time, the receive time the guest's REALTIME, both at the exchange's
 * midpoint (ns fields, with the µs fields their truncation, as ntpd
 * checks).  ntpd has no refclock option that adds delay, and its
 * maxerror for a refclock is root dispersion alone (root delay 0), so
 * the sample's error of up to half the round trip is accounted for by
 * the configuration instead ("tos mindist", see run_truth.sh); the
 * segment's precision says the same, 2^precision >= half the longest
 * round trip fed, which ntpd uses in its selection's root distance.
 *
 * The sampler reads the bound through the module, or with
 * --adjtimex without it (cw_clock_opts.flags = CW_CLOCK_ADJTIMEX); each
 * S record also carries the kernel's NTP status and PLL offset that the
 * bound was made from: the module's page's ntp.status and
 * ntp.offset_ns, or adjtimex()'s right after the sample.
 *
 * Other modes, for the scenario scripts: --now-raw prints MONOTONIC_RAW
 * (phase marks on the same clock as the log); --adj-offset, --adj-freq
 * and --adj-tick change the clock as a foreign process would;
 * --adj-unsync sets STA_UNSYNC, as a process that steps the clock and
 * says so; --kstatus prints adjtimex()'s status, maxerror and offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clockwatch.h"
#include "../cw_test.h"

#define NSEC_PER_SEC	1000000000LL

/* The chrony SOCK refclock's sample (chrony's refclock_sock.c). */
#define SOCK_MAGIC	0x534f434b
struct sock_sample {
	struct timeval tv;	/* system time of the measurement */
	double offset;		/* true time - system time, s */
	int pulse;		/* 0: the sample carries whole seconds */
	int leap;		/* 0 none, 1 insert, 2 delete */
	int _pad;
	int magic;		/* SOCK_MAGIC */
};

/*
 * ntpd's shared memory refclock segment (ntpsec's refclock_shm.c, the
 * SHM driver's documentation): key NTP_SHM_KEY + unit.
 */
#define NTP_SHM_KEY	0x4e545030
struct ntp_shm {
	int mode;			/* 1: count/valid protocol */
	volatile int count;		/* bumped around each write */
	time_t clock_sec;		/* the reference's time ... */
	int clock_usec;
	time_t receive_sec;		/* ... and the system's, at one instant */
	int receive_usec;
	int leap;			/* 0 none, 1 insert, 2 delete, 3 unsynced */
	int precision;			/* log2 s */
	int nsamples;
	volatile int valid;		/* set by the writer, cleared by ntpd */
	unsigned int clock_nsec;	/* the µs fields' ns, µs = trunc(ns / 1000) */
	unsigned int receive_nsec;
	int dummy[8];
};

static struct {
	const char *log;
	const char *tty;
	const char *chrony_sock;
	const char *ctl;
	const char *cli;
	const char *chronyc;
	int ntp_shm_unit;
	bool adjtimex;
	long long max_rtt_ns;
	long long interval_ns;
	long long timeout_ns;
	double duration_s;
	bool no_sampler;
	bool no_tracking;
} opt = {
	.tty		= "/dev/ttyS1",
	.chronyc	= "chronyc",
	.ntp_shm_unit	= -1,
	.max_rtt_ns	= 4000000,
	.interval_ns	= 10000000,
	.timeout_ns	= 200000000,
};

static volatile sig_atomic_t stopping;
static int log_fd = -1;

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t raw_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_RAW);
}

/* One record, one write(): the threads' lines never interleave. */
static void record(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(log_fd, buf, len) != len)
		fprintf(stderr, "cwtruth: log write: %s\n", strerror(errno));
}

static void sleep_until(int64_t mono_ns)
{
	struct timespec ts = {
		.tv_sec = mono_ns / NSEC_PER_SEC,
		.tv_nsec = mono_ns % NSEC_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* The exchange */

struct line_reader {
	int fd;
	char buf[512];
	size_t len;
};

/*
 * An answer line "A seq T leap announce check", whole and with its check
 * (ref_host.py): a guest restored from a snapshot can hold the start of
 * an answer from before in its buffers, and the digits of the next one
 * appended to it still read as numbers.
 */
static bool parse_answer(const char *ans, unsigned long long *seq,
			 long long *T, long long *leap, int *announce)
{
	unsigned long long check;
	int end = 0;

	if (sscanf(ans, "A %llu %lld %lld %d %llu%n", seq, T, leap, announce,
		   &check, &end) != 5 || ans[end] != '\0')
		return false;
	if (*T == LLONG_MAX || *T == LLONG_MIN)
		return false;	/* out of range: strtoll() saturated */
	return ((*seq ^ (uint64_t)*T ^ (uint64_t)*leap ^ (uint64_t)(int64_t)*announce) &
		0xffffffffULL) == check;
}

/*
 * The next line from the reference, waiting until @deadline_raw at most;
 * 1 with the line in @out, 0 on time-out, -errno on error.
 */
static int read_line(struct line_reader *lr, char *out, size_t outlen, int64_t deadline_raw)
{
	for (;;) {
		char *nl = memchr(lr->buf, '\n', lr->len);
		struct pollfd pfd = { .fd = lr->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;

		if (nl) {
			size_t l = nl - lr->buf;

			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, lr->buf, l);
			out[l] = '\0';
			lr->len -= nl + 1 - lr->buf;
			memmove(lr->buf, nl + 1, lr->len);
			return 1;
		}
		if (lr->len == sizeof(lr->buf))
			lr->len = 0;	/* garbage without a newline: drop it */
		left = deadline_raw - raw_ns();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(lr->fd, lr->buf + lr->len, sizeof(lr->buf) - lr->len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			lr->len += n;
	}
}

static int open_tty(const char *path)
{
	struct termios t;
	int fd;

	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cwtruth: %s: %s (was the VM started with --ref?)\n",
			path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, TIOCEXCL) < 0 || tcgetattr(fd, &t) < 0) {
		fprintf(stderr, "cwtruth: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	cfmakeraw(&t);
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		fprintf(stderr, "cwtruth: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	tcflush(fd, TCIOFLUSH);
	return fd;
}

/* MONOTONIC_RAW, REALTIME, MONOTONIC_RAW */
struct bracket {
	int64_t raw0;
	int64_t real;
	int64_t raw1;
};

static void read_bracket(struct bracket *b)
{
	b->raw0 = raw_ns();
	b->real = clock_ns(CLOCK_REALTIME);
	b->raw1 = raw_ns();
}

struct exchange_stats {
	uint64_t done;
	uint64_t lost;
	uint64_t stale;		/* answers to an earlier request */
	uint64_t garbled;	/* lines that are no answer, or fail the check */
	uint64_t fed;
	uint64_t feed_errors;
};

static int chrony_fd = -1;

static void feed_chrony(struct exchange_stats *st, int64_t mid_real, int64_t truth, int leap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sock_sample s = {
		.offset = (double)(truth - mid_real) / 1e9,
		.leap = leap,
		.magic = SOCK_MAGIC,
	};

	s.tv.tv_sec = mid_real / NSEC_PER_SEC;
	s.tv.tv_usec = (mid_real % NSEC_PER_SEC) / 1000;
	if (mid_real % NSEC_PER_SEC < 0) {
		s.tv.tv_sec--;
		s.tv.tv_usec += 1000000;
	}
	/* tv has µs only: the offset is to that µs, not to mid_real */
	s.offset += (double)(mid_real - ((int64_t)s.tv.tv_sec * NSEC_PER_SEC +
					 (int64_t)s.tv.tv_usec * 1000)) / 1e9;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.chrony_sock);
	/* chronyd not (yet) running is normal: count it, go on */
	if (sendto(chrony_fd, &s, sizeof(s), MSG_DONTWAIT, (struct sockaddr *)&sa,
		   sizeof(sa)) == sizeof(s))
		st->fed++;
	else
		st->feed_errors++;
}

static struct ntp_shm *ntp_shm;

static int open_ntp_shm(int unit)
{
	int id = shmget(NTP_SHM_KEY + unit, sizeof(struct ntp_shm), IPC_CREAT | 0600);
	void *p;

	if (id < 0) {
		fprintf(stderr, "cwtruth: shmget(ntpd SHM unit %d): %s\n", unit, strerror(errno));
		return -1;
	}
	p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		fprintf(stderr, "cwtruth: shmat(ntpd SHM unit %d): %s\n", unit, strerror(errno));
		return -1;
	}
	ntp_shm = p;
	return 0;
}

/* The smallest p with 2^p s >= half the longest round trip fed. */
static int shm_precision(void)
{
	double half = opt.max_rtt_ns / 2e9;
	int p = -30;

	while (p < 0 && 1.0 / (double)(1LL << -p) < half)
		p++;
	return p;
}

static void split_ns(int64_t ns, time_t *sec, int *usec, unsigned int *nsec)
{
	int64_t s = ns / NSEC_PER_SEC, r = ns % NSEC_PER_SEC;

	if (r < 0) {
		r += NSEC_PER_SEC;
		s--;
	}
	*sec = (time_t)s;
	*nsec = (unsigned int)r;
	*usec = (int)(r / 1000);
}

static void feed_ntp_shm(struct exchange_stats *st, int64_t mid_real, int64_t truth, int leap)
{
	struct ntp_shm *m = ntp_shm;

	/* count odd while the fields change: ntpd drops a copy that straddles */
	m->valid = 0;
	m->count++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	m->mode = 1;
	split_ns(truth, &m->clock_sec, &m->clock_usec, &m->clock_nsec);
	split_ns(mid_real, &m->receive_sec, &m->receive_usec, &m->receive_nsec);
	m->leap = leap;
	m->precision = shm_precision();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	m->count++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	m->valid = 1;
	st->fed++;
}

/* A control line from the fifo, to the host; its answer goes to the log. */
static void control(int tty, struct line_reader *lr, const char *line)
{
	char req[300], ans[512];
	int64_t sent, deadline;
	int r;

	snprintf(req, sizeof(req), "C %s\n", line);
	sent = raw_ns();
	if (write(tty, req, strlen(req)) != (ssize_t)strlen(req)) {
		record("C\t%" PRId64 "\t-\t%s\twrite failed: %s", sent, line, strerror(errno));
		return;
	}
	deadline = sent + NSEC_PER_SEC;
	for (;;) {
		r = read_line(lr, ans, sizeof(ans), deadline);
		if (r <= 0) {
			record("C\t%" PRId64 "\t-\t%s\tno answer", sent, line);
			return;
		}
		if (!strncmp(ans, "OK", 2) || !strncmp(ans, "ERR", 3))
			break;
		/* a late answer to an exchange: not ours */
	}
	record("C\t%" PRId64 "\t%" PRId64 "\t%s\t%s", sent, raw_ns(), line, ans);
}

static void poll_control(int tty, struct line_reader *lr, int ctl, char *cbuf, size_t *clen)
{
	ssize_t n;
	char *nl;

	n = read(ctl, cbuf + *clen, 255 - *clen);
	if (n > 0)
		*clen += n;
	while ((nl = memchr(cbuf, '\n', *clen))) {
		*nl = '\0';
		if (*cbuf)
			control(tty, lr, cbuf);
		*clen -= nl + 1 - cbuf;
		memmove(cbuf, nl + 1, *clen);
	}
	if (*clen == 255)
		*clen = 0;
}

static struct exchange_stats xstats;

static void *exchange_thread(void *arg)
{
	struct line_reader lr = { .fd = (int)(intptr_t)arg };
	struct exchange_stats *st = &xstats;
	int tty = lr.fd;
	int ctl = -1;
	char cbuf[256];
	size_t clen = 0;
	int64_t next = clock_ns(CLOCK_MONOTONIC);
	uint64_t seq = 0;

	if (opt.ctl) {
		/* O_RDWR: the fifo never reads EOF between writers */
		ctl = open(opt.ctl, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (ctl < 0)
			fprintf(stderr, "cwtruth: %s: %s\n", opt.ctl, strerror(errno));
	}

	while (!stopping) {
		struct bracket t1, t2;
		char req[64], ans[512];
		long long T, leap;
		unsigned long long aseq;
		int announce, r, fed = 0;
		int64_t deadline;

		seq++;
		snprintf(req, sizeof(req), "Q %" PRIu64 "\n", seq);
		read_bracket(&t1);
		if (write(tty, req, strlen(req)) != (ssize_t)strlen(req)) {
			record("L\t%" PRIu64 "\t%" PRId64 "\t-\twrite: %s", seq, t1.raw0,
			       strerror(errno));
			st->lost++;
			goto next;
		}
		deadline = t1.raw0 + opt.timeout_ns;
		for (;;) {
			r = read_line(&lr, ans, sizeof(ans), deadline);
			if (r <= 0)
				break;
			if (!parse_answer(ans, &aseq, &T, &leap, &announce)) {
				st->garbled++;
				continue;
			}
			if (aseq == seq)
				break;
			st->stale++;
		}
		read_bracket(&t2);
		if (r <= 0) {
			record("L\t%" PRIu64 "\t%" PRId64 "\t%" PRId64 "\t%s", seq, t1.raw0,
			       t2.raw1, r ? strerror(-r) : "timeout");
			st->lost++;
			goto next;
		}
		st->done++;
		/* t1 as early and t2 as late as the brackets allow */
		if (t2.raw1 - t1.raw0 <= opt.max_rtt_ns &&
		    ((chrony_fd >= 0 && opt.chrony_sock) || ntp_shm)) {
			/* REALTIME at the raw midpoint, from t1's own read */
			int64_t mid = t1.real + (t2.raw1 - t1.raw1) / 2;

			if (chrony_fd >= 0 && opt.chrony_sock)
				feed_chrony(st, mid, T + leap, announce);
			if (ntp_shm)
				feed_ntp_shm(st, mid, T + leap, announce);
			fed = 1;
		}
		record("X\t%" PRIu64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64
		       "\t%lld\t%lld\t%d\t%d",
		       seq, t1.raw0, t1.real, t2.raw1, t2.real, T, leap, announce, fed);
next:
		if (ctl >= 0)
			poll_control(tty, &lr, ctl, cbuf, &clen);
		next += opt.interval_ns;
		if (next < clock_ns(CLOCK_MONOTONIC))
			next = clock_ns(CLOCK_MONOTONIC);	/* late: no burst */
		sleep_until(next);
	}
	if (ctl >= 0)
		close(ctl);
	return NULL;
}

/* Child processes: the CLI and chronyc */

/* Run argv, its stdout into @out; the exit status or -errno. */
static int run_capture(char *const argv[], char *out, size_t outlen)
{
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (len < outlen - 1 && (n = read(p[0], out + len, outlen - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += n;
	}
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The sampler */

/* The kernel's NTP state the bound was made from; status -1: unknown */
struct kntp {
	int status;
	long long offset_ns;
};

static void record_now(const char *src, int rc, int64_t before, int64_t after,
		       const struct cw_now *n, const char *reason, const struct kntp *k)
{
	bool bound = n->status == CW_STATUS_SYNCHRONIZED ||
		     n->status == CW_STATUS_FREE_RUNNING;
	char e[24] = "-", l[24] = "-", b[24] = "-";

	if (bound) {
		snprintf(e, sizeof(e), "%lld", (long long)n->earliest_ns);
		snprintf(l, sizeof(l), "%lld", (long long)n->latest_ns);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)n->bound_ns);
	}
	record("S\t%s\t%d\t%" PRId64 "\t%" PRId64 "\t%lld\t%s\t%s\t%s\t%s\t%s\t%u"
	       "\t%llu\t%llu\t%llu\t%llu\t%lld\t%d\t%lld",
	       src, rc, before, after, (long long)n->real_ns, e, l, b,
	       cw_status_str(n->status), reason ? reason : cw_reason_str(n->reason), n->flags,
	       (unsigned long long)n->maxerror_ns, (unsigned long long)n->drift_ns,
	       (unsigned long long)n->window_ns, (unsigned long long)n->leap_ns,
	       (long long)n->since_write_ns, k ? k->status : -1, k ? k->offset_ns : 0LL);
}

/* A number after "key": in the CLI's JSON; false for null or missing. */
static bool json_num(const char *js, const char *key, long long *v)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(js, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (!strncmp(p, "null", 4))
		return false;
	errno = 0;
	*v = strtoll(p, NULL, 10);
	return !errno;
}

static void sample_cli(void)
{
	char *argv[] = { (char *)opt.cli, "now", "--json", NULL };
	struct cw_now n = { .status = CW_STATUS_UNKNOWN };
	char out[2048], st[32] = "", reason[80] = "?";
	const char *p;
	int64_t before, after;
	long long v;
	int rc, s;

	before = raw_ns();
	rc = run_capture(argv, out, sizeof(out));
	after = raw_ns();
	p = strstr(out, "\"status\":\"");
	if (p)
		sscanf(p + 10, "%31[a-z_]", st);
	n.status = CW_STATUS_UNKNOWN;
	for (s = CW_STATUS_UNSYNCHRONIZED; s >= 0; s--)
		if (!strcmp(st, cw_status_str(s)))
			n.status = s;
	if (json_num(out, "earliest_ns", &v))
		n.earliest_ns = v;
	if (json_num(out, "latest_ns", &v))
		n.latest_ns = v;
	if (json_num(out, "bound_ns", &v))
		n.bound_ns = v;
	if (json_num(out, "real_ns", &v))
		n.real_ns = v;
	if (json_num(out, "since_write_ns", &v))
		n.since_write_ns = v;
	/* the CLI names the reason in words; the terms are in terms_ns */
	p = strstr(out, "\"reason\":\"");
	if (p)
		sscanf(p + 10, "%79[^\"]", reason);
	if (json_num(out, "maxerror", &v))
		n.maxerror_ns = v;
	if (json_num(out, "drift", &v))
		n.drift_ns = v;
	if (json_num(out, "window", &v))
		n.window_ns = v;
	if (json_num(out, "leap", &v))
		n.leap_ns = v;
	if (!*st)
		n.status = CW_STATUS_UNKNOWN;
	record_now("cli", rc, before, after, &n, reason, NULL);
}

/* adjtimex(modes = 0): its status and PLL offset */
static void kernel_ntp(struct kntp *k)
{
	struct timex tx = { .modes = 0 };

	k->status = -1;
	k->offset_ns = 0;
	if (adjtimex(&tx) < 0)
		return;
	k->status = tx.status;
	k->offset_ns = tx.offset * ((tx.status & STA_NANO) ? 1LL : 1000LL);
}

static void *sampler_thread(void *arg)
{
	struct cw_clock_opts copts = {
		.sz = sizeof(copts),
		.flags = opt.adjtimex ? CW_CLOCK_ADJTIMEX : 0,
	};
	struct clockwatch_page *page = NULL;
	struct cw_reader *rd = NULL;
	struct cw_clock *clk = NULL;
	int64_t next = clock_ns(CLOCK_MONOTONIC);
	unsigned int i = 0;

	(void)arg;
	while (!stopping) {
		struct cw_now n;
		int64_t before, after;
		int rc;

		struct kntp k;

		if (!clk) {
			clk = cw_clock__open(NULL, &copts);
			if (!clk) {
				memset(&n, 0, sizeof(n));
				n.status = CW_STATUS_UNKNOWN;
				before = after = raw_ns();
				record_now("lib", -errno, before, after, &n, NULL, NULL);
				next += NSEC_PER_SEC;
				sleep_until(next);
				continue;
			}
		}
		/* the module's page, for the NTP state the bound saw */
		if (!opt.adjtimex && !rd) {
			rd = cw_reader__open(NULL);
			if (rd && !page)
				page = malloc(sizeof(*page));
		}
		if (opt.cli && ++i % 100 == 0) {
			sample_cli();
		} else {
			before = raw_ns();
			rc = cw_clock__now(clk, &n);
			after = raw_ns();
			k.status = -1;
			k.offset_ns = 0;
			if (opt.adjtimex) {
				kernel_ntp(&k);
			} else if (rd && page && cw_reader__read(rd, page) == 0) {
				k.status = page->ntp.status;
				k.offset_ns = page->ntp.offset_ns;
			}
			record_now("lib", rc, before, after, &n, NULL, &k);
		}
		next += opt.interval_ns;
		if (next < clock_ns(CLOCK_MONOTONIC))
			next = clock_ns(CLOCK_MONOTONIC);
		sleep_until(next);
	}
	if (clk)
		cw_clock__close(clk);
	cw_reader__close(rd);
	free(page);
	return NULL;
}

/* chronyd's own claim */

static void *tracking_thread(void *arg)
{
	char *argv[] = { (char *)opt.chronyc, "-c", "-n", "tracking", NULL };
	int64_t next = clock_ns(CLOCK_MONOTONIC);

	(void)arg;
	while (!stopping) {
		char out[1024], *nl;
		int64_t before, after, real;
		int rc;

		before = raw_ns();
		real = clock_ns(CLOCK_REALTIME);
		rc = run_capture(argv, out, sizeof(out));
		after = raw_ns();
		nl = strchr(out, '\n');
		if (nl)
			*nl = '\0';
		record("K\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\t%s", before, after, real,
		       rc, rc == 0 ? out : "-");
		next += 200000000;
		if (next < clock_ns(CLOCK_MONOTONIC))
			next = clock_ns(CLOCK_MONOTONIC);
		sleep_until(next);
	}
	return NULL;
}

/* The helper modes */

static int adj(int modes, long value, const char *what)
{
	struct timex tx = { .modes = modes };

	if (modes & ADJ_FREQUENCY)
		tx.freq = value;
	if (modes & ADJ_TICK)
		tx.tick = value;
	if (adjtimex(&tx) < 0) {
		fprintf(stderr, "cwtruth: adjtimex(%s): %s\n", what, strerror(errno));
		return 1;
	}
	return 0;
}

static int adj_offset(long long ns)
{
	int err = cw_step_setoffset(ns);

	if (err) {
		fprintf(stderr, "cwtruth: adjtimex(ADJ_SETOFFSET): %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static int adj_unsync(void)
{
	struct timex tx = { .modes = 0 };

	if (adjtimex(&tx) < 0 ||
	    (tx.modes = ADJ_STATUS, tx.status |= STA_UNSYNC, adjtimex(&tx) < 0)) {
		fprintf(stderr, "cwtruth: adjtimex(ADJ_STATUS): %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int kstatus(void)
{
	struct timex tx = { .modes = 0 };
	int state = adjtimex(&tx);

	if (state < 0) {
		fprintf(stderr, "cwtruth: adjtimex: %s\n", strerror(errno));
		return 1;
	}
	printf("state=%d status=0x%x maxerror_us=%ld offset_ns=%lld constant=%ld\n", state,
	       tx.status, tx.maxerror,
	       (long long)tx.offset * ((tx.status & STA_NANO) ? 1 : 1000), tx.constant);
	return 0;
}

static const char usage_text[] =
"usage: cwtruth --log FILE [options]     exchange, feed chronyd, sample the bound\n"
"       cwtruth --now-raw                 print CLOCK_MONOTONIC_RAW, ns\n"
"       cwtruth --adj-offset NS           step REALTIME by NS (ADJ_SETOFFSET)\n"
"       cwtruth --adj-freq PPM            set the NTP frequency (ADJ_FREQUENCY)\n"
"       cwtruth --adj-tick USEC           set the tick (ADJ_TICK)\n"
"       cwtruth --adj-unsync              set STA_UNSYNC (ADJ_STATUS)\n"
"       cwtruth --kstatus                 print adjtimex()'s state, status, maxerror,\n"
"                                         offset\n"
"\n"
"  --log FILE          the records (TSV, first column the type; see below)\n"
"  --tty DEV           the reference's serial line (/dev/ttyS1)\n"
"  --chrony-sock PATH  feed chronyd's SOCK refclock at PATH\n"
"  --ntp-shm UNIT      feed ntpd's SHM refclock UNIT (key 0x4e545030 + UNIT)\n"
"  --max-rtt-us N      feed only exchanges of at most N us (4000); give\n"
"                      chronyd's refclock the same as 'delay'\n"
"  --adjtimex          sample without the module (CW_CLOCK_ADJTIMEX)\n"
"  --interval-ms N     one exchange and one sample every N ms (10)\n"
"  --ctl FIFO          control lines for the host (shift_ns=, shift_to=,\n"
"                      leap=ins|del at=), one a line\n"
"  --cli PATH          also run 'PATH now --json' every 100th sample\n"
"  --chronyc PATH      chronyc for the tracking records (chronyc)\n"
"  --no-sampler, --no-tracking\n"
"  --duration S        stop after S seconds (default: at SIGTERM or SIGINT)\n"
"\n"
"Records: X exchange, L lost exchange, S bound sample, K chronyc tracking,\n"
"C control line, I information; their fields are in the log's header.\n";

static void usage(int rc)
{
	fputs(usage_text, rc ? stderr : stdout);
	exit(rc);
}

static long long parse_ll(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "cwtruth: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { O_LOG = 256, O_TTY, O_CSOCK, O_MAXRTT, O_INTERVAL, O_CTL, O_CLI,
	       O_CHRONYC, O_NOSAMPLER, O_NOTRACKING, O_DURATION, O_NOWRAW,
	       O_ADJOFF, O_ADJFREQ, O_ADJTICK, O_NTPSHM, O_ADJTIMEX, O_UNSYNC,
	       O_KSTATUS };
	static const struct option longopts[] = {
		{ "log",	 required_argument, NULL, O_LOG },
		{ "tty",	 required_argument, NULL, O_TTY },
		{ "chrony-sock", required_argument, NULL, O_CSOCK },
		{ "max-rtt-us",	 required_argument, NULL, O_MAXRTT },
		{ "interval-ms", required_argument, NULL, O_INTERVAL },
		{ "ctl",	 required_argument, NULL, O_CTL },
		{ "cli",	 required_argument, NULL, O_CLI },
		{ "chronyc",	 required_argument, NULL, O_CHRONYC },
		{ "no-sampler",	 no_argument,	    NULL, O_NOSAMPLER },
		{ "no-tracking", no_argument,	    NULL, O_NOTRACKING },
		{ "duration",	 required_argument, NULL, O_DURATION },
		{ "now-raw",	 no_argument,	    NULL, O_NOWRAW },
		{ "adj-offset",	 required_argument, NULL, O_ADJOFF },
		{ "adj-freq",	 required_argument, NULL, O_ADJFREQ },
		{ "adj-tick",	 required_argument, NULL, O_ADJTICK },
		{ "ntp-shm",	 required_argument, NULL, O_NTPSHM },
		{ "adjtimex",	 no_argument,	    NULL, O_ADJTIMEX },
		{ "adj-unsync",	 no_argument,	    NULL, O_UNSYNC },
		{ "kstatus",	 no_argument,	    NULL, O_KSTATUS },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ }
	};
	pthread_t xt, st, kt;
	struct sched_param sp = { .sched_priority = 10 };
	sigset_t sigs;
	int64_t start, end_raw = 0;
	int c, tty;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_LOG:	  opt.log = optarg; break;
		case O_TTY:	  opt.tty = optarg; break;
		case O_CSOCK:	  opt.chrony_sock = optarg; break;
		case O_MAXRTT:	  opt.max_rtt_ns = parse_ll(optarg, "--max-rtt-us") * 1000; break;
		case O_INTERVAL:  opt.interval_ns = parse_ll(optarg, "--interval-ms") * 1000000; break;
		case O_CTL:	  opt.ctl = optarg; break;
		case O_CLI:	  opt.cli = optarg; break;
		case O_CHRONYC:	  opt.chronyc = optarg; break;
		case O_NOSAMPLER: opt.no_sampler = true; break;
		case O_NOTRACKING: opt.no_tracking = true; break;
		case O_DURATION:  opt.duration_s = parse_ll(optarg, "--duration"); break;
		case O_NOWRAW:
			printf("%" PRId64 "\n", raw_ns());
			return 0;
		case O_ADJOFF:
			return adj_offset(parse_ll(optarg, "--adj-offset"));
		case O_ADJFREQ:
			/* the kernel's freq is ppm with a 16-bit fraction */
			return adj(ADJ_FREQUENCY, (long)(parse_ll(optarg, "--adj-freq") * 65536),
				   "ADJ_FREQUENCY");
		case O_ADJTICK:
			return adj(ADJ_TICK, (long)parse_ll(optarg, "--adj-tick"), "ADJ_TICK");
		case O_UNSYNC:
			return adj_unsync();
		case O_KSTATUS:
			return kstatus();
		case O_NTPSHM:
			opt.ntp_shm_unit = (int)parse_ll(optarg, "--ntp-shm");
			break;
		case O_ADJTIMEX:
			opt.adjtimex = true;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc || !opt.log)
		usage(2);
	if (opt.max_rtt_ns <= 0 || opt.interval_ns <= 0 || opt.duration_s < 0) {
		fprintf(stderr, "cwtruth: --max-rtt-us, --interval-ms, --duration must be positive\n");
		return 2;
	}

	log_fd = open(opt.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "cwtruth: %s: %s\n", opt.log, strerror(errno));
		return 1;
	}
	tty = open_tty(opt.tty);
	if (tty < 0)
		return 1;
	if (opt.ntp_shm_unit >= 0 && open_ntp_shm(opt.ntp_shm_unit) < 0)
		return 1;
	if (opt.chrony_sock) {
		chrony_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (chrony_fd < 0) {
			fprintf(stderr, "cwtruth: socket: %s\n", strerror(errno));
			return 1;
		}
	}

	record("#X\tseq\tt1_raw\tt1_real\tt2_raw\tt2_real\tT_ns\tleap_ns\tannounce\tfed");
	record("#L\tseq\tt1_raw\tt2_raw\twhy");
	record("#S\tsrc\trc\traw_before\traw_after\treal_ns\tearliest_ns\tlatest_ns"
	       "\tbound_ns\tstatus\treason\tflags\tmaxerror_ns\tdrift_ns\twindow_ns"
	       "\tleap_ns\tsince_write_ns\tntp_status\tntp_offset_ns");
	record("#K\traw_before\traw_after\treal_before\trc\tchronyc_csv");
	record("#C\traw_sent\traw_answer\tline\tanswer");
	record("I\tstart\t%" PRId64 "\tmax_rtt_ns=%lld interval_ns=%lld ntp_shm=%d%s", raw_ns(),
	       opt.max_rtt_ns, opt.interval_ns, opt.ntp_shm_unit,
	       opt.adjtimex ? " adjtimex" : "");

	/* Signals go to the main thread only: block them before the threads. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	start = raw_ns();
	if (opt.duration_s > 0)
		end_raw = start + (int64_t)(opt.duration_s * 1e9);

	if (pthread_create(&xt, NULL, exchange_thread, (void *)(intptr_t)tty)) {
		fprintf(stderr, "cwtruth: pthread_create failed\n");
		return 1;
	}
	/* The exchange's latency is the truth's width: first on the CPU. */
	if (pthread_setschedparam(xt, SCHED_FIFO, &sp))
		record("I\tnote\t%" PRId64 "\tno SCHED_FIFO for the exchange", raw_ns());
	if (!opt.no_sampler)
		pthread_create(&st, NULL, sampler_thread, NULL);
	if (!opt.no_tracking)
		pthread_create(&kt, NULL, tracking_thread, NULL);

	for (;;) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };
		int sig = sigtimedwait(&sigs, NULL, &ts);

		if (sig == SIGUSR1) {
			record("I\tusr1\t%" PRId64 "\t", raw_ns());
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (end_raw && raw_ns() >= end_raw)
			break;
	}
	stopping = 1;
	pthread_join(xt, NULL);
	if (!opt.no_sampler)
		pthread_join(st, NULL);
	if (!opt.no_tracking)
		pthread_join(kt, NULL);
	record("I\tstats\t%" PRId64 "\tdone=%" PRIu64 " lost=%" PRIu64 " stale=%" PRIu64
	       " garbled=%" PRIu64 " fed=%" PRIu64 " feed_errors=%" PRIu64,
	       raw_ns(), xstats.done, xstats.lost, xstats.stale, xstats.garbled,
	       xstats.fed, xstats.feed_errors);
	close(tty);
	close(log_fd);
	return 0;
}
