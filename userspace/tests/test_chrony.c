// SPDX-License-Identifier: GPL-2.0
/*
 * The chronyd tracking reader (lib/chrony.c): its wire format against
 * packets built here by the protocol's rules, its errors against sockets
 * that misbehave on purpose, and every field it returns against what
 * chronyc itself prints (`chronyc -c tracking`) from a private chronyd
 * started with -x, which never touches this machine's clock.  That
 * chronyd follows a shared-memory refclock this test feeds with a clock
 * 5 ms ahead, so that the report holds real offsets, frequencies and
 * dispersions rather than zeros.  Skipped without chronyd and chronyc, or
 * when not root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "chrony.h"
#include "page_writer.h"

#define SHM_UNIT		7		/* refclock SHM 7: key "NTP0" + 7 */
#define SHM_KEY			(0x4e545030 + SHM_UNIT)
#define SHM_AHEAD_NS		5000000LL	/* the refclock's time - ours */

/* Build a chrony float from its exponent and coefficient. */
static uint32_t float_word(int exp, int coef)
{
	return ((uint32_t)exp & 0x7f) << 25 | ((uint32_t)coef & 0x1ffffff);
}

TEST(float_format)
{
	/* Words written out by hand from the format's definition. */
	EXPECT_EQ(0.0, cw_chrony_float(0));
	EXPECT_EQ(1.0, cw_chrony_float(0x04800000));	/* 2^23 * 2^(2-25) */
	EXPECT_EQ(-1.0, cw_chrony_float(0x03000000));	/* -2^24 * 2^(1-25) */
	EXPECT_EQ(0.5, cw_chrony_float(0x02800000));
	EXPECT_EQ(8589935.0 / 8589934592.0, cw_chrony_float(0xf083126f)); /* ~1 ms */
	/* The extremes of both fields. */
	EXPECT_EQ(ldexp(16777215, 63 - 25), cw_chrony_float(float_word(63, 16777215)));
	EXPECT_EQ(ldexp(-16777216, -64 - 25), cw_chrony_float(float_word(-64, -16777216)));
	EXPECT_EQ(ldexp(-3, -10 - 25), cw_chrony_float(float_word(-10, -3)));
}

TEST(request_layout)
{
	unsigned char req[CW_CHRONY_TRACKING_REQ_LEN];
	size_t i;

	memset(req, 0xaa, sizeof(req));
	cw_chrony_tracking_request(req, 0x01020304, 2);
	EXPECT_EQ(104, sizeof(req));
	EXPECT_EQ(6, req[0]);		/* protocol version */
	EXPECT_EQ(1, req[1]);		/* a request */
	EXPECT_EQ(0, req[2]);
	EXPECT_EQ(0, req[3]);
	EXPECT_EQ(0, req[4]);		/* command 33, big-endian */
	EXPECT_EQ(33, req[5]);
	EXPECT_EQ(0, req[6]);		/* attempt */
	EXPECT_EQ(2, req[7]);
	EXPECT_EQ(1, req[8]);		/* sequence */
	EXPECT_EQ(4, req[11]);
	for (i = 12; i < sizeof(req); i++)
		ASSERT_EQ(0, req[i]);	/* reserved words and padding */
}

static void put16(unsigned char *p, size_t off, unsigned int v)
{
	p[off] = (unsigned char)(v >> 8);
	p[off + 1] = (unsigned char)v;
}

static void put32(unsigned char *p, size_t off, uint32_t v)
{
	put16(p, off, v >> 16);
	put16(p, off + 2, v & 0xffff);
}

/* A tracking reply to @seq, as chronyd lays it out. */
static void make_reply(unsigned char *p, uint32_t seq)
{
	unsigned char *r = p + 28;

	memset(p, 0, CW_CHRONY_TRACKING_RPY_LEN);
	p[0] = 6;
	p[1] = 2;
	put16(p, 4, 33);
	put16(p, 6, 5);
	put16(p, 8, 0);
	put32(p, 16, seq);
	put32(r, 0, 0x47505300);		/* "GPS" */
	put16(r, 24, 1);			/* stratum */
	put16(r, 26, 0);			/* leap: normal */
	put32(r, 28, 0x7fffffff);		/* 32-bit seconds */
	put32(r, 32, 1700000000);
	put32(r, 36, 123456789);
	put32(r, 40, 0x04800000);		/* correction 1 s */
	put32(r, 44, 0x03000000);		/* last offset -1 s */
	put32(r, 48, 0x02800000);		/* rms 0.5 s */
	put32(r, 52, float_word(5, 10 << 20));	/* freq 10 * 2^20 * 2^-20 = 10 */
	put32(r, 56, float_word(5, -(1 << 20)));	/* -1 ppm */
	put32(r, 60, float_word(5, 1 << 19));	/* 0.5 ppm */
	put32(r, 64, 0xf083126f);		/* root delay ~1 ms */
	put32(r, 68, float_word(-8, 4294967));	/* ~0.5 ms */
	put32(r, 72, float_word(6, 8 << 20));	/* 8 * 2^20 * 2^(6-25) = 16 s */
}

TEST(reply_parse)
{
	unsigned char p[CW_CHRONY_TRACKING_RPY_LEN];
	struct cw_chrony_tracking t;

	make_reply(p, 77);
	ASSERT_EQ(0, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	EXPECT_EQ(0x47505300, t.ref_id);
	EXPECT_EQ(1, t.stratum);
	EXPECT_EQ(CW_CHRONY_LEAP_NORMAL, t.leap_status);
	EXPECT_EQ(1700000000123456789LL, t.ref_time_ns);
	EXPECT_EQ(1000000000, t.correction_ns);
	EXPECT_EQ(-1000000000, t.last_offset_ns);
	EXPECT_EQ(500000000, t.rms_offset_ns);
	EXPECT_EQ(10.0, t.freq_ppm);
	EXPECT_EQ(-1.0, t.resid_freq_ppm);
	EXPECT_EQ(0.5, t.skew_ppm);
	EXPECT_EQ(1000000, t.root_delay_ns);	/* 1.00000004 ms */
	EXPECT_EQ(500000, t.root_dispersion_ns);
	EXPECT_EQ(16000000000LL, t.update_interval_ns);

	/* 64-bit seconds. */
	put32(p + 28, 28, 1);
	ASSERT_EQ(0, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	EXPECT_EQ((((1LL << 32) + 1700000000LL) * 1000000000LL) + 123456789LL, t.ref_time_ns);

	/* Not ours: another sequence, a request, another command. */
	EXPECT_EQ(-EAGAIN, cw_chrony_tracking_parse(p, sizeof(p), 78, &t));
	make_reply(p, 77);
	p[1] = 1;
	EXPECT_EQ(-EAGAIN, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	make_reply(p, 77);
	put16(p, 4, 14);
	EXPECT_EQ(-EAGAIN, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	EXPECT_EQ(-EAGAIN, cw_chrony_tracking_parse(p, 27, 77, &t));

	/* Ours, but not a report. */
	make_reply(p, 77);
	EXPECT_EQ(-EPROTO, cw_chrony_tracking_parse(p, sizeof(p) - 1, 77, &t));
	put16(p, 8, 1);				/* STT_FAILED */
	EXPECT_EQ(-EPROTO, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	put16(p, 8, 2);				/* STT_UNAUTH */
	EXPECT_EQ(-EACCES, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	make_reply(p, 77);
	put16(p, 6, 1);				/* RPY_NULL */
	EXPECT_EQ(-EPROTO, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
	make_reply(p, 77);
	p[0] = 5;
	EXPECT_EQ(-EPROTO, cw_chrony_tracking_parse(p, sizeof(p), 77, &t));
}

/* A private directory under /tmp, 0700 as chronyd wants its socket's. */
static void make_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/cw-chrony.XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static void remove_dir(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (dir[0] && strncmp(dir, "/tmp/cw-chrony.", 15) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			ksft_print_msg("could not remove %s\n", dir);
	}
}

/* A fake chronyd: a bound datagram socket with a thread that answers. */
struct fake {
	char dir[64];
	char path[96];
	int fd;
	int mode;			/* FAKE_* */
	pthread_t thread;
};

enum { FAKE_SILENT, FAKE_GOOD, FAKE_FAILED, FAKE_STRAY_THEN_GOOD };

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	unsigned char req[512];
	unsigned char rpy[CW_CHRONY_TRACKING_RPY_LEN];
	struct sockaddr_un from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	uint32_t seq;

	n = recvfrom(f->fd, req, sizeof(req), 0, (struct sockaddr *)&from, &flen);
	if (n < 12 || f->mode == FAKE_SILENT)
		return NULL;
	seq = (uint32_t)req[8] << 24 | req[9] << 16 | req[10] << 8 | req[11];
	if (n != CW_CHRONY_TRACKING_REQ_LEN)
		seq ^= 1;			/* a wrong length gets no answer */
	if (f->mode == FAKE_STRAY_THEN_GOOD) {
		make_reply(rpy, seq + 1);
		sendto(f->fd, rpy, sizeof(rpy), 0, (struct sockaddr *)&from, flen);
	}
	make_reply(rpy, seq);
	if (f->mode == FAKE_FAILED)
		put16(rpy, 8, 1);
	sendto(f->fd, rpy, sizeof(rpy), 0, (struct sockaddr *)&from, flen);
	return NULL;
}

static int fake_start(struct fake *f, int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	make_dir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chronyd.sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->mode = mode;
	f->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return pthread_create(&f->thread, NULL, fake_serve, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->fd);
	remove_dir(f->dir);
}

/* Nothing of the client's own socket is left behind. */
static int dir_entries(const char *dir)
{
	char cmd[PATH_MAX + 32];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

TEST(fake_daemon)
{
	struct cw_chrony_tracking t;
	struct fake f;

	ASSERT_EQ(0, fake_start(&f, FAKE_GOOD));
	ASSERT_EQ(0, cw_chrony_tracking(f.path, 2000, &t));
	EXPECT_EQ(1000000000, t.correction_ns);
	EXPECT_EQ(getpid(), t.daemon_pid);	/* the thread's process sent it */
	fake_stop(&f);

	ASSERT_EQ(0, fake_start(&f, FAKE_STRAY_THEN_GOOD));
	ASSERT_EQ(0, cw_chrony_tracking(f.path, 2000, &t));
	EXPECT_EQ(0x47505300, t.ref_id);
	EXPECT_EQ(1, dir_entries(f.dir));
	fake_stop(&f);

	ASSERT_EQ(0, fake_start(&f, FAKE_FAILED));
	EXPECT_EQ(-EPROTO, cw_chrony_tracking(f.path, 2000, &t));
	EXPECT_EQ(EPROTO, errno);
	fake_stop(&f);
}

/* Bind a socket at @path and close it: the file stays, nobody serves it. */
static int bind_dead(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	strcpy(sa.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	close(fd);
	return 0;
}

TEST(errors)
{
	struct cw_chrony_tracking t;
	struct timespec a, b;
	struct fake f;
	char long_path[200];
	long ms;
	int fd;

	EXPECT_EQ(-ENOENT, cw_chrony_tracking("/nonexistent/chronyd.sock", 100, &t));
	EXPECT_EQ(ENOENT, errno);

	/* A socket file nobody serves any more. */
	make_dir(f.dir, sizeof(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/chronyd.sock", f.dir);
	fd = bind_dead(f.path);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ECONNREFUSED, cw_chrony_tracking(f.path, 100, &t));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(1, dir_entries(f.dir));
	remove_dir(f.dir);

	/* Silence: three attempts within the budget, then ETIMEDOUT. */
	ASSERT_EQ(0, fake_start(&f, FAKE_SILENT));
	clock_gettime(CLOCK_MONOTONIC, &a);
	EXPECT_EQ(-ETIMEDOUT, cw_chrony_tracking(f.path, 210, &t));
	EXPECT_EQ(ETIMEDOUT, errno);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	EXPECT_GE(ms, 200);
	EXPECT_LT(ms, 1000);
	EXPECT_EQ(1, dir_entries(f.dir));
	fake_stop(&f);

	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, cw_chrony_tracking(long_path, 100, &t));
	EXPECT_EQ(-EINVAL, cw_chrony_tracking(NULL, 100, NULL));
}

/*
 * NTP's shared-memory refclock segment (the layout ntpd and chronyd
 * share; time_t is 64-bit here).
 */
struct shm_time {
	int mode;
	volatile int count;
	time_t clock_sec;
	int clock_usec;
	time_t receive_sec;
	int receive_usec;
	int leap;
	int precision;
	int nsamples;
	volatile int valid;
	unsigned int clock_nsec;
	unsigned int receive_nsec;
	int dummy[8];
};

static volatile int feeding;

/*
 * Post a sample four times a second: the refclock is SHM_AHEAD_NS ahead,
 * give or take up to 50 us of noise, so that chronyd has offsets, a
 * frequency and a skew to report.
 */
static void *feed_shm(void *arg)
{
	struct shm_time *shm = arg;
	unsigned int noise = 12345;

	while (feeding) {
		struct timespec now, ref;
		long long ns;

		noise = noise * 1103515245U + 12345U;
		clock_gettime(CLOCK_REALTIME, &now);
		ns = now.tv_sec * 1000000000LL + now.tv_nsec + SHM_AHEAD_NS +
		     (long long)(noise >> 16) % 100001 - 50000;
		ref.tv_sec = ns / 1000000000LL;
		ref.tv_nsec = ns % 1000000000LL;
		shm->mode = 1;
		shm->count++;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		shm->clock_sec = ref.tv_sec;
		shm->clock_usec = (int)(ref.tv_nsec / 1000);
		shm->clock_nsec = (unsigned int)ref.tv_nsec;
		shm->receive_sec = now.tv_sec;
		shm->receive_usec = (int)(now.tv_nsec / 1000);
		shm->receive_nsec = (unsigned int)now.tv_nsec;
		shm->leap = 0;
		shm->precision = -20;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		shm->count++;
		shm->valid = 1;
		usleep(250000);
	}
	return NULL;
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/* chronyc's CSV tracking line, as chronyc parsed chronyd's reply. */
struct csv {
	unsigned int ref_id;
	int stratum;
	long long ref_sec;
	long ref_nsec;
	double correction, last_offset, rms_offset;
	double freq, resid_freq, skew;
	double root_delay, root_dispersion, interval;
	char leap[32];
};

static int chronyc_tracking(const char *sock, struct csv *c)
{
	char cmd[PATH_MAX + 64];
	char out[512];
	char *f[15];
	char *s = out;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "chronyc -h '%s' -c tracking 2>/dev/null", sock);
	if (run(cmd, out, sizeof(out)))
		return -1;
	out[strcspn(out, "\n")] = '\0';
	while (n < 15 && (f[n] = strsep(&s, ",")))
		n++;
	if (n != 14)
		return -1;
	c->ref_id = (unsigned int)strtoul(f[0], NULL, 16);
	c->stratum = atoi(f[2]);
	if (sscanf(f[3], "%lld.%ld", &c->ref_sec, &c->ref_nsec) != 2)
		return -1;
	c->correction = atof(f[4]);
	c->last_offset = atof(f[5]);
	c->rms_offset = atof(f[6]);
	c->freq = atof(f[7]);
	c->resid_freq = atof(f[8]);
	c->skew = atof(f[9]);
	c->root_delay = atof(f[10]);
	c->root_dispersion = atof(f[11]);
	c->interval = atof(f[12]);
	snprintf(c->leap, sizeof(c->leap), "%s", f[13]);
	return 0;
}

static const char *leap_word(int leap)
{
	static const char *const words[] = {
		"Normal", "Insert second", "Delete second", "Not synchronised",
	};

	return leap >= 0 && leap < 4 ? words[leap] : "Invalid";
}

/* Seconds with 9 decimals (chronyc) against ns: equal to the ns. */
static int same_ns(double csv_s, long long ns)
{
	return fabs(csv_s * 1e9 - (double)ns) <= 1.0;
}

/* ppm with 3 decimals against the full value. */
static int same_ppm(double csv_ppm, double ppm)
{
	return fabs(csv_ppm - ppm) <= 0.0005 + 1e-9;
}

static int between_ns(double a_s, double b_s, long long ns)
{
	double lo = fmin(a_s, b_s) * 1e9 - 1.0, hi = fmax(a_s, b_s) * 1e9 + 1.0;

	return (double)ns >= lo && (double)ns <= hi;
}

FIXTURE(chronyd) {
	char dir[64];
	char sock[96];
	pid_t pid;
	struct shm_time *shm;
	int shm_id;
	pthread_t feeder;
};

FIXTURE_SETUP(chronyd)
{
	char conf_path[128], log_path[128];
	FILE *conf;
	char out[64];

	self->pid = 0;
	self->shm = NULL;
	self->dir[0] = '\0';
	if (run("command -v chronyd && command -v chronyc", out, sizeof(out)))
		SKIP(return, "chronyd or chronyc not installed (scripts/deps installs chrony)");
	if (geteuid() != 0)
		SKIP(return, "chronyd -u root needs root");

	make_dir(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
	snprintf(self->sock, sizeof(self->sock), "%s/chronyd.sock", self->dir);
	snprintf(conf_path, sizeof(conf_path), "%s/chrony.conf", self->dir);
	snprintf(log_path, sizeof(log_path), "%s/chronyd.log", self->dir);

	/* A segment the refclock and the feeder share: ours, removed at the end. */
	self->shm_id = shmget(SHM_KEY, sizeof(struct shm_time), IPC_CREAT | 0600);
	ASSERT_LE(0, self->shm_id);
	self->shm = shmat(self->shm_id, NULL, 0);
	ASSERT_NE((void *)-1, self->shm);
	memset(self->shm, 0, sizeof(*self->shm));
	feeding = 1;
	ASSERT_EQ(0, pthread_create(&self->feeder, NULL, feed_shm, self->shm));

	conf = fopen(conf_path, "w");
	ASSERT_NE(NULL, conf);
	fprintf(conf,
		"bindcmdaddress %s\n"
		"cmdport 0\n"
		"port 0\n"
		"pidfile %s/chronyd.pid\n"
		"refclock SHM %d poll 0 dpoll -2 refid SHM precision 1e-6\n"
		"local stratum 10\n",
		self->sock, self->dir, SHM_UNIT);
	fclose(conf);

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (self->pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* -x: never adjust the clock; -d: stay in the foreground. */
		execlp("chronyd", "chronyd", "-x", "-d", "-u", "root", "-f", conf_path,
		       (char *)NULL);
		_exit(127);
	}
}

FIXTURE_TEARDOWN(chronyd)
{
	if (self->pid > 0) {
		kill(self->pid, SIGTERM);
		waitpid(self->pid, NULL, 0);
	}
	if (self->shm) {
		feeding = 0;
		pthread_join(self->feeder, NULL);
		shmdt(self->shm);
		shmctl(self->shm_id, IPC_RMID, NULL);
	}
	remove_dir(self->dir);
}

/*
 * Read chronyc, the reader, chronyc again, until chronyd made no clock
 * update in between (the same reference time and statistics on both
 * sides), then compare field by field.
 */
TEST_F_TIMEOUT(chronyd, against_chronyc, 90)
{
	struct cw_chrony_tracking t;
	struct csv a, b;
	int tries, synced = 0;
	int64_t last_ref = 0;
	int updates = 0;
	int i;

	/*
	 * Wait until chronyd follows the refclock and has made a few clock
	 * updates, so that no field is still zero: up to 40 s.
	 */
	for (i = 0; i < 160 && !synced; i++) {
		if (cw_chrony_tracking(self->sock, 500, &t) == 0 &&
		    t.ref_id == 0x53484d00 && t.leap_status != CW_CHRONY_LEAP_UNSYNC) {
			if (t.ref_time_ns != last_ref)
				updates++;
			last_ref = t.ref_time_ns;
			synced = updates >= 4 && t.last_offset_ns != 0 && t.rms_offset_ns != 0 &&
				 t.skew_ppm > 0;
		}
		usleep(250000);
	}
	if (!synced)
		ksft_print_msg("chronyd did not select the SHM refclock: comparing what it has\n");

	for (tries = 0; tries < 50; tries++) {
		ASSERT_EQ(0, chronyc_tracking(self->sock, &a));
		ASSERT_EQ(0, cw_chrony_tracking(self->sock, 1000, &t));
		ASSERT_EQ(0, chronyc_tracking(self->sock, &b));
		if (a.ref_sec == b.ref_sec && a.ref_nsec == b.ref_nsec &&
		    a.last_offset == b.last_offset && a.freq == b.freq)
			break;
	}
	ASSERT_LT(tries, 50);
	ksft_print_msg("chronyc: refid %08X stratum %d ref %lld.%09ld corr %.9f last %.9f rms %.9f freq %.3f resid %.3f skew %.3f delay %.9f disp %.9f int %.1f %s\n",
		       a.ref_id, a.stratum, a.ref_sec, a.ref_nsec, a.correction, a.last_offset,
		       a.rms_offset, a.freq, a.resid_freq, a.skew, a.root_delay,
		       a.root_dispersion, a.interval, a.leap);
	ksft_print_msg("reader:  refid %08X stratum %u ref %lld corr %lld last %lld rms %lld freq %.6f resid %.6f skew %.6f delay %lld disp %lld int %lld pid %d\n",
		       t.ref_id, t.stratum, (long long)t.ref_time_ns, (long long)t.correction_ns,
		       (long long)t.last_offset_ns, (long long)t.rms_offset_ns, t.freq_ppm,
		       t.resid_freq_ppm, t.skew_ppm, (long long)t.root_delay_ns,
		       (long long)t.root_dispersion_ns, (long long)t.update_interval_ns,
		       (int)t.daemon_pid);
	fflush(stdout);

	EXPECT_EQ(a.ref_id, t.ref_id);
	EXPECT_EQ(a.stratum, t.stratum);
	EXPECT_STREQ(a.leap, leap_word(t.leap_status));
	EXPECT_EQ(a.ref_sec * 1000000000LL + a.ref_nsec, t.ref_time_ns);
	/* The correction changes between reads (-x: it grows with freq). */
	EXPECT_TRUE(between_ns(a.correction, b.correction, t.correction_ns));
	EXPECT_TRUE(same_ns(a.last_offset, t.last_offset_ns));
	EXPECT_TRUE(same_ns(a.rms_offset, t.rms_offset_ns));
	EXPECT_TRUE(same_ppm(a.freq, t.freq_ppm));
	EXPECT_TRUE(same_ppm(a.resid_freq, t.resid_freq_ppm));
	EXPECT_TRUE(same_ppm(a.skew, t.skew_ppm));
	EXPECT_TRUE(same_ns(a.root_delay, t.root_delay_ns));
	EXPECT_TRUE(between_ns(a.root_dispersion, b.root_dispersion, t.root_dispersion_ns));
	EXPECT_LE(fabs(a.interval - t.update_interval_ns / 1e9), 0.05 + 1e-9);
	EXPECT_EQ(self->pid, t.daemon_pid);
	if (synced) {
		/* The refclock is 5 ms ahead: chronyd says the clock is slow. */
		EXPECT_GT(t.correction_ns, 0);
		EXPECT_NE(0, t.root_dispersion_ns);
	}
	/* chronyc's socket and ours are gone; chronyd's stays. */
	EXPECT_EQ(0, access(self->sock, F_OK));
}

/*
 * `clockwatch chrony-report --once` against a page in a file: the module's
 * ioctl is not there (ENOTTY), but what the helper would send is printed:
 * the page's anchor and step count, and chronyd's report and pid.
 */
TEST_F_TIMEOUT(chronyd, helper_once, 60)
{
	const char *cli = getenv("CLOCKWATCH_CLI");
	struct cw_chrony_tracking t;
	struct page_file pf = { .fd = -1 };
	char cmd[512], out[2048], want[128];
	int status, i;

	if (!cli)
		SKIP(return, "CLOCKWATCH_CLI not set (make test sets it)");
	ASSERT_EQ(0, page_file_create(&pf));
	page_write_begin(pf.page);
	pf.page->maxerror_raw_ns = 123456789;
	pf.page->maxerror_us = 1000;
	pf.page->step_seq = 7;
	pf.page->daemon_count = 1;
	page_write_end(pf.page);

	for (i = 0; i < 80; i++) {		/* chronyd's socket is up */
		if (cw_chrony_tracking(self->sock, 500, &t) == 0)
			break;
		usleep(250000);
	}
	snprintf(cmd, sizeof(cmd), "'%s' chrony-report --once --device '%s' --socket '%s' 2>&1",
		 cli, pf.path, self->sock);
	status = run(cmd, out, sizeof(out));
	ksft_print_msg("%s", out);
	fflush(stdout);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	EXPECT_NE(NULL, strstr(out, "\"result\":\"ENOTTY\""));
	EXPECT_NE(NULL, strstr(out, "\"source\":\"chrony\""));
	EXPECT_NE(NULL, strstr(out, "\"anchor_raw_ns\":123456789,"));
	EXPECT_NE(NULL, strstr(out, "\"step_seq\":7,"));
	snprintf(want, sizeof(want), "\"daemon_pid\":%d,", (int)self->pid);
	EXPECT_NE(NULL, strstr(out, want));
	EXPECT_NE(NULL, strstr(out, "takes no daemon reports"));
	page_file_destroy(&pf);
}

TEST_HARNESS_MAIN
