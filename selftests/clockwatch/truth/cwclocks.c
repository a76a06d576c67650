// SPDX-License-Identifier: GPL-2.0
/*
 * cwclocks: what the guest's clocks do across a host pause, a snapshot
 * restore or a migration, sampled from inside the test VM.
 *
 * Every --interval-ms (100) it writes one line
 *
 *   S <seq> <raw_ns> <real_ns> <rtc_s> <ref_T_ns|-> <ref_rtt_ns|->
 *
 * raw_ns is the midpoint of two MONOTONIC_RAW reads around the REALTIME
 * read; rtc_s is /sys/class/rtc/rtc0/since_epoch; with --ref TTY, the
 * host's time from one exchange with the truth harness's reference
 * (ref_host.py: "Q <seq>" answered "A <seq> <T_ns> <leap_ns> <announce>
 * <check>", the check verified) and its round trip on MONOTONIC_RAW ("-" when no answer came within
 * --ref-timeout-ms, e.g. while the VM is being migrated).
 *
 * The RTC counts whole seconds; its value alone places it no better than
 * a second.  So it is also read every --rtc-poll-ms (10), and each change
 * of its value is written as
 *
 *   E <raw_before_ns> <raw_after_ns> <real_after_ns> <rtc_s>
 *
 * the seconds edge lies between the last read of the old value
 * (raw_before) and the first read of the new one (raw_after).
 *
 * Kernel log records that mention a VM fork (the vmgenid driver's
 * "crng reseeded due to virtual machine fork") or clockwatch are copied
 * as "K <raw_ns> <text>", stamped when read.  "I" lines start and end
 * the run.  The program stops after --duration seconds of MONOTONIC_RAW
 * (which a snapshot restore rewinds with everything else).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL

struct opts {
	const char *out;
	const char *ref;
	const char *rtc;
	long long interval_ns;
	long long rtc_poll_ns;
	long long ref_timeout_ns;
	long long duration_ns;
};

static long long clk(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static FILE *out;

static void emit(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* One write a line: lines of other writers on the port stay whole. */
	fwrite(buf, 1, (size_t)n, out);
	fflush(out);
}

/* since_epoch, or -1; the file is reopened each time (sysfs). */
static long long read_rtc(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static int open_tty(const char *path)
{
	struct termios t;
	int fd;

	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cwclocks: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		cfsetispeed(&t, B115200);
		cfsetospeed(&t, B115200);
		tcsetattr(fd, TCSANOW, &t);
	}
	tcflush(fd, TCIOFLUSH);
	return fd;
}

/*
 * One exchange with the reference: the host's T_ns, or -1 when no answer
 * to this request came in time.  Stale answers (to earlier requests that
 * timed out) are skipped by their sequence number.
 */
/* A whole answer whose check word matches (ref_host.py). */
static int answer_ok(const char *line, unsigned long long *seq, long long *T)
{
	unsigned long long check;
	long long leap;
	int announce, end = 0;

	if (sscanf(line, "A %llu %lld %lld %d %llu%n", seq, T, &leap, &announce,
		   &check, &end) != 5 || line[end] != '\0')
		return 0;
	return ((*seq ^ (uint64_t)*T ^ (uint64_t)leap ^ (uint64_t)(int64_t)announce) &
		0xffffffffULL) == check;
}

static long long ref_exchange(int fd, unsigned long long seq,
			      long long timeout_ns, long long *rtt_ns)
{
	static char line[256];
	static size_t len;
	long long t1, deadline;
	char req[48];
	int n;

	n = snprintf(req, sizeof(req), "Q %llu\n", seq);
	t1 = clk(CLOCK_MONOTONIC_RAW);
	if (write(fd, req, (size_t)n) != n)
		return -1;
	deadline = t1 + timeout_ns;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long now = clk(CLOCK_MONOTONIC_RAW);
		char c;

		if (now >= deadline)
			return -1;
		if (poll(&p, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) <= 0)
			continue;
		while (read(fd, &c, 1) == 1) {
			unsigned long long aseq;
			long long T;

			if (c != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = c;
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (answer_ok(line, &aseq, &T) && aseq == seq) {
				*rtt_ns = clk(CLOCK_MONOTONIC_RAW) - t1;
				return T;
			}
		}
	}
}

/* Copy new kernel log records about VM forks or clockwatch. */
static void scan_kmsg(int fd)
{
	char rec[2048];
	ssize_t n;

	if (fd < 0)
		return;
	for (;;) {
		char *text;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			return;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = '\0';
		if (strstr(text, "fork") || strstr(text, "clockwatch") ||
		    strstr(text, "vmgenid") || strstr(text, "VMGENID"))
			emit("K %lld %s\n", clk(CLOCK_MONOTONIC_RAW), text);
	}
}

static void sleep_until_raw(long long t)
{
	long long now = clk(CLOCK_MONOTONIC_RAW);
	struct timespec ts;

	if (t <= now)
		return;
	ts.tv_sec = (t - now) / NSEC_PER_SEC;
	ts.tv_nsec = (t - now) % NSEC_PER_SEC;
	nanosleep(&ts, NULL);
}

static long long parse_ll(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "cwclocks: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
"usage: cwclocks [--out FILE] [--ref TTY] [--interval-ms N] [--rtc-poll-ms N]\n"
"                [--ref-timeout-ms N] [--rtc PATH] [--duration SECONDS]\n"
"Sample REALTIME, MONOTONIC_RAW, the RTC (and the host's time) for the\n"
"snapshot and migration tests; see the comment at the top of cwclocks.c.\n");
	exit(rc);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "out",	    required_argument, NULL, 'o' },
		{ "ref",	    required_argument, NULL, 'r' },
		{ "rtc",	    required_argument, NULL, 'c' },
		{ "interval-ms",    required_argument, NULL, 'i' },
		{ "rtc-poll-ms",    required_argument, NULL, 'p' },
		{ "ref-timeout-ms", required_argument, NULL, 't' },
		{ "duration",	    required_argument, NULL, 'd' },
		{ "help",	    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = {
		.rtc = "/sys/class/rtc/rtc0/since_epoch",
		.interval_ns = 100 * NSEC_PER_MSEC,
		.rtc_poll_ns = 10 * NSEC_PER_MSEC,
		.ref_timeout_ns = 50 * NSEC_PER_MSEC,
		.duration_ns = 30 * NSEC_PER_SEC,
	};
	long long start, next_sample, rtc, rtc_raw, end;
	unsigned long long seq = 0;
	int c, ref_fd = -1, kmsg_fd;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'r': o.ref = optarg; break;
		case 'c': o.rtc = optarg; break;
		case 'i': o.interval_ns = parse_ll(optarg, "--interval-ms") * NSEC_PER_MSEC; break;
		case 'p': o.rtc_poll_ns = parse_ll(optarg, "--rtc-poll-ms") * NSEC_PER_MSEC; break;
		case 't': o.ref_timeout_ns = parse_ll(optarg, "--ref-timeout-ms") * NSEC_PER_MSEC; break;
		case 'd': o.duration_ns = parse_ll(optarg, "--duration") * NSEC_PER_SEC; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc || o.interval_ns <= 0 || o.rtc_poll_ns <= 0)
		usage(2);

	out = stdout;
	if (o.out) {
		int fd = o.out[0] == '/' && !strncmp(o.out, "/dev/tty", 8) ?
			 open_tty(o.out) : -1;

		if (fd >= 0) {
			/* Blocking writes: a full UART must not lose lines. */
			fcntl(fd, F_SETFL, 0);
			out = fdopen(fd, "w");
		} else {
			out = fopen(o.out, "w");
		}
		if (!out) {
			fprintf(stderr, "cwclocks: %s: %s\n", o.out, strerror(errno));
			return 1;
		}
	}
	if (o.ref) {
		ref_fd = open_tty(o.ref);
		if (ref_fd < 0)
			return 1;
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);

	start = clk(CLOCK_MONOTONIC_RAW);
	end = start + o.duration_ns;
	emit("I start raw_ns=%lld real_ns=%lld interval_ms=%lld rtc_poll_ms=%lld ref=%s\n",
	     start, clk(CLOCK_REALTIME), o.interval_ns / NSEC_PER_MSEC,
	     o.rtc_poll_ns / NSEC_PER_MSEC, o.ref ? o.ref : "-");
	rtc = read_rtc(o.rtc);
	rtc_raw = clk(CLOCK_MONOTONIC_RAW);
	next_sample = start;

	for (;;) {
		long long now = clk(CLOCK_MONOTONIC_RAW);
		long long r, raw_after;

		if (now >= end)
			break;
		r = read_rtc(o.rtc);
		raw_after = clk(CLOCK_MONOTONIC_RAW);
		if (r != rtc) {
			emit("E %lld %lld %lld %lld\n", rtc_raw, raw_after,
			     clk(CLOCK_REALTIME), r);
			rtc = r;
		}
		rtc_raw = raw_after;

		if (raw_after >= next_sample) {
			long long a = clk(CLOCK_MONOTONIC_RAW);
			long long real = clk(CLOCK_REALTIME);
			long long b = clk(CLOCK_MONOTONIC_RAW);
			long long T = -1, rtt = 0;

			if (ref_fd >= 0)
				T = ref_exchange(ref_fd, seq, o.ref_timeout_ns, &rtt);
			if (T >= 0)
				emit("S %llu %lld %lld %lld %lld %lld\n", seq,
				     a + (b - a) / 2, real, rtc, T, rtt);
			else
				emit("S %llu %lld %lld %lld - -\n", seq,
				     a + (b - a) / 2, real, rtc);
			seq++;
			next_sample += o.interval_ns;
			/*
			 * After a long gap (a rewind moves the raw clock
			 * back, never forward; a stall can), do not catch up
			 * with a burst of samples.
			 */
			if (next_sample < b)
				next_sample = b + o.interval_ns;
			scan_kmsg(kmsg_fd);
		}
		sleep_until_raw(raw_after + o.rtc_poll_ns);
	}
	scan_kmsg(kmsg_fd);
	emit("I end raw_ns=%lld real_ns=%lld samples=%llu\n",
	     clk(CLOCK_MONOTONIC_RAW), clk(CLOCK_REALTIME), seq);
	return 0;
}
