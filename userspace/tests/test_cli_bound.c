// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch now and clockwatch export against a file-backed page whose
 * facts the test wrote: the numbers printed are the numbers written; the
 * node_timex_* metrics against the test's own adjtimex(); the histogram
 * writer against histograms whose samples the test placed; the output
 * against promtool; --listen against a client that sends one byte every
 * 1.5 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "page_writer.h"
#include "sync_writer.h"

/*
 * The exporter's own writers, tested directly: its histogram and state
 * functions are static.  sync_reason_name() lives with `watch`.
 */
#include "../cli/util.c"
#include "../cli/export.c"

const char *sync_reason_name(unsigned int reason)
{
	return reason == CLOCKWATCH_SYNC_R_MAXERROR ? "maxerror_written" : "other";
}

#define SEC	1000000000LL

static const char *cli(void)
{
	const char *path = getenv("CLOCKWATCH_CLI");

	return path ? path : "build/clockwatch";
}

/* Run a command line, its stdout into buf; the exit status. */
static int run(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t got;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	got = fread(buf, 1, len - 1, f);
	buf[got] = '\0';
	return WEXITSTATUS(pclose(f));
}

FIXTURE(cli) {
	struct page_file pf;
	char out[65536];
};

FIXTURE_SETUP(cli)
{
	ASSERT_EQ(0, page_file_create(&self->pf));
	/* maxerror 3 ms written 2 s ago */
	page_set_sync(self->pf.page, 3000, clock_ns(CLOCK_MONOTONIC_RAW) - 2 * SEC,
		      CLOCKWATCH_SYNC_SYNCHRONIZED, 0, 0);
}

FIXTURE_TEARDOWN(cli)
{
	page_file_destroy(&self->pf);
}

static long long json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

TEST_F(cli, now_json)
{
	long long e, l, b;

	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s now --json -d %s", cli(),
			 self->pf.path));
	EXPECT_NE(NULL, strstr(self->out, "\"status\":\"synchronized\""));
	e = json_num(self->out, "earliest_ns");
	l = json_num(self->out, "latest_ns");
	b = json_num(self->out, "bound_ns");
	/* 3 ms + 50 ppm x ~2 s = 3.1 ms */
	EXPECT_GE(b, 3100000);
	EXPECT_LE(b, 3100000 + 50000);
	EXPECT_EQ(l - e, 2 * b);
	EXPECT_GT(e, 0);
}

TEST_F(cli, now_disrupted_exit_1)
{
	page_set_state(self->pf.page, CLOCKWATCH_SYNC_DISRUPTED,
		       CLOCKWATCH_SYNC_R_FOREIGN_STEP);
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "%s now --json -d %s", cli(),
			 self->pf.path));
	EXPECT_NE(NULL, strstr(self->out, "\"status\":\"disrupted\""));
	EXPECT_NE(NULL, strstr(self->out, "\"bound_ns\":null"));
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "%s now -d %s", cli(), self->pf.path));
	EXPECT_NE(NULL, strstr(self->out, "bound     none"));
}

TEST_F(cli, now_human_units)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s now -d %s --max-drift 10",
			 cli(), self->pf.path));
	EXPECT_NE(NULL, strstr(self->out, "status    synchronized"));
	EXPECT_NE(NULL, strstr(self->out, "3.000000 ms"));	/* maxerror */
	EXPECT_NE(NULL, strstr(self->out, "10 ppm x"));
	EXPECT_EQ(2, run(self->out, sizeof(self->out), "%s now --max-drift 0 2>/dev/null", cli()));
}

static void read_whole(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* The value of the sample line that starts with "name{labels} " or "name ". */
static double sample_value(const char *text, const char *series)
{
	char pat[256];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", series);
	p = strstr(text, pat);
	return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* The textfile appears whole under its name, with the page's numbers. */
TEST_F(cli, export_textfile)
{
	char path[128], cmd[256];
	struct timex tx = { .modes = 0 };
	struct stat st;
	int state;

	snprintf(path, sizeof(path), "%s.prom", self->pf.path);
	page_write_begin(self->pf.page);
	self->pf.page->features |= CLOCKWATCH_FEAT_SYNC_STATE | CLOCKWATCH_FEAT_FREQ;
	self->pf.page->step_seq = 7;
	self->pf.page->disruption_count = 3;
	self->pf.page->daemon_count = 2;
	self->pf.page->leap_pending = CLOCKWATCH_LEAP_INSERT;
	self->pf.page->freq_short_ppb = -2500;		/* -2.5 ppm */
	self->pf.page->freq_short_window_raw_ns = SEC;
	self->pf.page->ntp_calls = 12;
	page_write_end(self->pf.page);
	page_refresh_clocks(self->pf.page);
	snprintf(cmd, sizeof(cmd), "%s export -d %s --textfile %s", cli(), self->pf.path, path);
	ASSERT_EQ(0, system(cmd));
	state = adjtimex(&tx);
	read_whole(path, self->out, sizeof(self->out));

	/* From the page */
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_up 1\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_steps_total 7\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_disruptions_total 3\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_sync_daemons_total 2\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_adjtimex_calls_total 12\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_sync_state{state=\"synchronized\"} 1\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_sync_state{state=\"disrupted\"} 0\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_leap_pending{leap=\"insert\"} 1\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_leap_pending{leap=\"none\"} 0\n"));
	EXPECT_NE(NULL, strstr(self->out,
			       "\nclockwatch_monotonic_rate_deviation_ratio{window=\"short\"} -2.5e-06\n"));
	/* No long window measured: no sample, not a made-up 0. */
	EXPECT_EQ(NULL, strstr(self->out, "ratio{window=\"long\"}"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_clock_status{status=\"synchronized\"} 1\n"));
	EXPECT_NE(NULL, strstr(self->out, "# TYPE clockwatch_bound_seconds gauge\n"));
	/* No ppb anywhere: ratios in base units */
	EXPECT_EQ(NULL, strstr(self->out, "ppb"));
	/* No RTC audit on this page: no host pause series, not a made-up 0. */
	EXPECT_EQ(NULL, strstr(self->out, "host_pause"));

	/* node_timex_* parity: what adjtimex() says, as node_exporter computes it */
	EXPECT_EQ(tx.tick / 1e6, sample_value(self->out, "clockwatch_tick_seconds"));
	EXPECT_EQ((double)tx.tai, sample_value(self->out, "clockwatch_tai_offset_seconds"));
	EXPECT_EQ((double)tx.status, sample_value(self->out, "clockwatch_status"));
	EXPECT_EQ((double)tx.constant, sample_value(self->out, "clockwatch_loop_time_constant"));
	EXPECT_EQ((double)(state != TIME_ERROR), sample_value(self->out, "clockwatch_sync_status"));
	EXPECT_GT(1e-9, fabs(1.0 + tx.freq / 65536.0 / 1e6 -
			     sample_value(self->out, "clockwatch_frequency_adjustment_ratio")));

	/* No temporary file left beside it. */
	snprintf(cmd, sizeof(cmd), "%s.tmp.", path);
	EXPECT_EQ(NULL, strstr(self->out, cmd));
	EXPECT_EQ(0, stat(path, &st));
	unlink(path);
}

/*
 * Host pauses from the RTC audit: the count, the last one's size and
 * their sum as the page holds them (the jumps are minus the pauses), and
 * each again after another pause.
 */
TEST_F(cli, export_host_pauses)
{
	char path[128], cmd[256];

	snprintf(path, sizeof(path), "%s.prom", self->pf.path);
	snprintf(cmd, sizeof(cmd), "%s export -d %s --textfile %s", cli(), self->pf.path, path);
	page_write_begin(self->pf.page);
	self->pf.page->features |= CLOCKWATCH_FEAT_AUDIT_RTC;
	page_write_end(self->pf.page);
	page_refresh_clocks(self->pf.page);
	ASSERT_EQ(0, system(cmd));
	read_whole(path, self->out, sizeof(self->out));
	EXPECT_NE(NULL, strstr(self->out, "# TYPE clockwatch_host_pauses_total counter\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_host_pauses_total 0\n"));
	EXPECT_NE(NULL, strstr(self->out, "# TYPE clockwatch_last_host_pause_seconds gauge\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_last_host_pause_seconds 0\n"))
		TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "# TYPE clockwatch_host_pause_seconds_total counter\n"));
	EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_host_pause_seconds_total 0\n"));

	page_write_begin(self->pf.page);
	self->pf.page->audit_rtc_jumps = 1;
	self->pf.page->audit_rtc_jump_ns = -1002300000;	/* a 1.0023 s pause */
	self->pf.page->audit_rtc_jump_sum_ns = -1002300000;
	page_write_end(self->pf.page);
	ASSERT_EQ(0, system(cmd));
	read_whole(path, self->out, sizeof(self->out));
	EXPECT_EQ(1.0, sample_value(self->out, "clockwatch_host_pauses_total"));
	EXPECT_EQ(1.0023, sample_value(self->out, "clockwatch_last_host_pause_seconds"));
	EXPECT_EQ(1.0023, sample_value(self->out, "clockwatch_host_pause_seconds_total"));

	page_write_begin(self->pf.page);
	self->pf.page->audit_rtc_jumps = 2;
	self->pf.page->audit_rtc_jump_ns = -301600000;	/* then 0.3016 s */
	self->pf.page->audit_rtc_jump_sum_ns = -1303900000;
	page_write_end(self->pf.page);
	ASSERT_EQ(0, system(cmd));
	read_whole(path, self->out, sizeof(self->out));
	EXPECT_EQ(2.0, sample_value(self->out, "clockwatch_host_pauses_total"));
	EXPECT_EQ(0.3016, sample_value(self->out, "clockwatch_last_host_pause_seconds"));
	EXPECT_EQ(1.3039, sample_value(self->out, "clockwatch_host_pause_seconds_total"));

	/* A module from before the sum: the count and the last one only. */
	page_write_begin(self->pf.page);
	self->pf.page->size = offsetof(struct clockwatch_page, audit_rtc_jump_sum_ns);
	page_write_end(self->pf.page);
	ASSERT_EQ(0, system(cmd));
	read_whole(path, self->out, sizeof(self->out));
	EXPECT_EQ(2.0, sample_value(self->out, "clockwatch_host_pauses_total"));
	EXPECT_EQ(NULL, strstr(self->out, "host_pause_seconds_total"));
	unlink(path);
}

/*
 * Histograms: Prometheus's le is an inclusive upper bound, in seconds.
 * A module bucket counts lo(i) <= v < lo(i + 1) (the ABI header); the
 * test puts one sample of 1023 ns and one of 1024 ns (lo(64) = 1024 ns,
 * by the header's formula (8 + (i & 7)) << ((i >> 3) - 1)), so le =
 * 1.023e-06 counts one and le = 2.047e-06 both.  Two CPUs are summed
 * into one series per kind unless --per-cpu asks for a series per CPU.
 */
TEST(export_histogram_le)
{
	static struct clockwatch_cpu_stats st[2];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ASSERT_EQ(1024, cw_hist_bucket_lo(64));
	memset(st, 0, sizeof(st));
	st[0].cpu = 0;
	st[1].cpu = 3;
	st[0].flags = st[1].flags = CLOCKWATCH_CPU_ACTIVE;
	st[0].hist[CLOCKWATCH_HIST_IRQ].buckets[63] = 1;	/* 1023 ns: [960, 1024) */
	st[0].hist[CLOCKWATCH_HIST_IRQ].count = 1;
	st[0].hist[CLOCKWATCH_HIST_IRQ].sum_ns = 1023;
	st[1].hist[CLOCKWATCH_HIST_IRQ].buckets[64] = 1;	/* 1024 ns: [1024, 1152) */
	st[1].hist[CLOCKWATCH_HIST_IRQ].count = 1;
	st[1].hist[CLOCKWATCH_HIST_IRQ].sum_ns = 1024;

	f = open_memstream(&text, &len);
	ASSERT_NE(NULL, f);
	write_histograms(f, st, 2, false);
	fclose(f);
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{kind=\"irq\",le=\"5.11e-07\"} 0\n"));
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{kind=\"irq\",le=\"1.023e-06\"} 1\n"))
		TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{kind=\"irq\",le=\"2.047e-06\"} 2\n"));
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{kind=\"irq\",le=\"+Inf\"} 2\n"));
	EXPECT_NE(NULL, strstr(text, "\nclockwatch_probe_latency_seconds_sum{kind=\"irq\"} 2.047e-06\n"));
	EXPECT_NE(NULL, strstr(text, "\nclockwatch_probe_latency_seconds_count{kind=\"irq\"} 2\n"));
	EXPECT_EQ(NULL, strstr(text, "cpu=")) TH_LOG("per-CPU series without --per-cpu");
	/* no thread probe on these CPUs: no thread series */
	EXPECT_EQ(NULL, strstr(text, "kind=\"thread\""));
	free(text);

	text = NULL;
	f = open_memstream(&text, &len);
	ASSERT_NE(NULL, f);
	write_histograms(f, st, 2, true);
	fclose(f);
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{cpu=\"0\",kind=\"irq\",le=\"1.023e-06\"} 1\n"));
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_bucket{cpu=\"3\",kind=\"irq\",le=\"1.023e-06\"} 0\n"));
	EXPECT_NE(NULL, strstr(text,
		"\nclockwatch_probe_latency_seconds_count{cpu=\"3\",kind=\"irq\"} 1\n"));
	free(text);
}

/* promtool, from scripts/deps (.cache/prometheus), $PROMTOOL or PATH. */
static const char *promtool(void)
{
	static const char *const paths[] = {
		"../.cache/prometheus/usr/bin/promtool",
		".cache/prometheus/usr/bin/promtool",
		"/usr/bin/promtool",
	};
	const char *path = getenv("PROMTOOL");
	size_t i;

	if (path)
		return path;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* `promtool check metrics`: exit 0 and nothing said (lint warnings included). */
static void check_promtool(struct __test_metadata *_metadata, const char *tool,
			   const char *path)
{
	char cmd[512], msg[4096];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", tool, path);
	rc = run(msg, sizeof(msg), "%s", cmd);
	EXPECT_EQ(0, rc) TH_LOG("%s", msg);
	EXPECT_STREQ("", msg);
}

/*
 * The whole output passes promtool: with a page (and the histograms),
 * and without the module (clockwatch_up 0 and the node_timex_* metrics).
 */
TEST_F(cli, export_promtool)
{
	static struct clockwatch_cpu_stats st[1];
	const char *tool = promtool();
	char path[128], cmd[256];
	FILE *f;

	if (!tool)
		SKIP(return, "no promtool: run scripts/deps (or set PROMTOOL)");
	snprintf(path, sizeof(path), "%s.prom", self->pf.path);
	page_write_begin(self->pf.page);
	self->pf.page->features |= CLOCKWATCH_FEAT_SYNC_STATE | CLOCKWATCH_FEAT_FREQ |
				   CLOCKWATCH_FEAT_AUDIT_RTC;
	self->pf.page->audit_rtc_jumps = 1;
	self->pf.page->audit_rtc_jump_ns = -1002300000;
	self->pf.page->freq_short_window_raw_ns = SEC;
	self->pf.page->freq_long_window_raw_ns = 60 * SEC;
	page_write_end(self->pf.page);
	page_refresh_clocks(self->pf.page);
	snprintf(cmd, sizeof(cmd), "%s export -d %s -o %s", cli(), self->pf.path, path);
	ASSERT_EQ(0, system(cmd));
	/* and the histograms the device would add */
	f = fopen(path, "a");
	ASSERT_NE(NULL, f);
	st[0].flags = CLOCKWATCH_CPU_ACTIVE | CLOCKWATCH_CPU_THREAD;
	st[0].hist[CLOCKWATCH_HIST_THREAD].buckets[100] = 5;
	write_histograms(f, st, 1, true);
	fclose(f);
	check_promtool(_metadata, tool, path);

	if (access(CLOCKWATCH_DEVICE, F_OK) != 0) {
		snprintf(cmd, sizeof(cmd), "%s export -o %s", cli(), path);
		ASSERT_EQ(0, system(cmd));
		read_whole(path, self->out, sizeof(self->out));
		EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_up 0\n"));
		EXPECT_NE(NULL, strstr(self->out, "\nclockwatch_maxerror_seconds "));
		check_promtool(_metadata, tool, path);
	}
	unlink(path);
}

/* Bad --listen and --device values: exit status and a message. */
TEST_F(cli, export_usage)
{
	static const char *const bad[] = {
		"--listen abc", "--listen 0", "--listen 70000", "--listen 1.2.3:80",
		"--listen [::1:80", "--listen 999.0.0.1:80",
	};
	char cmd[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_NE(0, run(self->out, sizeof(self->out), "%s export -d %s %s -c 1 2>&1",
				 cli(), self->pf.path, bad[i]));
		EXPECT_NE(NULL, strstr(self->out, "--listen")) TH_LOG("%s: %s", bad[i], self->out);
	}
	EXPECT_EQ(2, run(self->out, sizeof(self->out), "%s export -d %s 2>&1", cli(),
			 self->pf.path));
	EXPECT_EQ(2, run(self->out, sizeof(self->out), "%s export -o x -l 1 2>&1", cli()));
	/* a mistyped device is an error, not clockwatch_up 0 forever */
	snprintf(cmd, sizeof(cmd), "%s.prom", self->pf.path);
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "%s export -d %s.missing -o %s 2>&1",
			 cli(), self->pf.path, cmd));
	EXPECT_NE(NULL, strstr(self->out, "No such file")) TH_LOG("%s", self->out);
	EXPECT_NE(0, access(cmd, F_OK));
}

static int connect_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, tries;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (tries = 0; tries < 200; tries++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		usleep(20000);
	}
	return -1;
}

/* One request; the answer into buf; its length, or -1. */
static ssize_t scrape(int port, const char *req, char *buf, size_t len)
{
	int fd = connect_port(port);
	ssize_t n = 0, r;

	if (fd < 0)
		return -1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
	return n;
}

static pid_t start_export(const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Is there a listening TCP socket on addr (hex, as /proc/net/tcp has it):port? */
static bool listening_on(const char *hex_addr, int port)
{
	char line[512], want[32];
	bool found = false;
	FILE *f = fopen("/proc/net/tcp", "r");

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%s:%04X", hex_addr, port);
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned int st;

		if (sscanf(line, "%*d: %63s %63s %x", local, remote, &st) == 3 &&
		    st == 0x0A && strcmp(local, want) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

/*
 * --listen PORT binds loopback only: the kernel's socket table (not the
 * tool) says which address listens.
 */
TEST_F(cli, export_listen_loopback_default)
{
	int port = 20000 + (getpid() + 7) % 20000;
	char cmd[256];
	pid_t pid;
	int st;

	snprintf(cmd, sizeof(cmd), "exec %s export -d %s --listen %d --count 1 2>/dev/null",
		 cli(), self->pf.path, port);
	pid = start_export(cmd);
	ASSERT_GT(pid, 0);
	ASSERT_LT(0, scrape(port, "GET /metrics HTTP/1.0\r\n\r\n", self->out, sizeof(self->out)));
	/* the answer came: the socket was there; --count 1 ends it now */
	EXPECT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, strncmp(self->out, "HTTP/1.1 200 OK", 15));

	pid = start_export(cmd);
	ASSERT_GT(pid, 0);
	ASSERT_LE(0, st = connect_port(port));
	close(st);
	EXPECT_TRUE(listening_on("0100007F", port));
	EXPECT_FALSE(listening_on("00000000", port));
	kill(pid, SIGTERM);
	EXPECT_EQ(pid, waitpid(pid, &st, 0));
}

struct slow_client {
	int port;
	int fd;
	double closed_after_s;	/* when the server closed it; -1: never */
};

/* A client that sends one byte of its request every 1.5 s. */
static void *slow_main(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct slow_client *c = arg;
	long long t0 = clock_ns(CLOCK_MONOTONIC);
	char buf[256];
	size_t i;

	c->closed_after_s = -1;
	for (i = 0; i < sizeof(req) - 1; i++) {
		if (send(c->fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		/* 1.5 s, or less when the server hangs up meanwhile */
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (poll(&pfd, 1, 1500) == 1) {
			while (read(c->fd, buf, sizeof(buf)) > 0)
				;
			break;
		}
	}
	c->closed_after_s = (clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	return NULL;
}

/*
 * A slow client holds its own connection only: scrapes made while it
 * dribbles its request in are answered at once, and the server drops it
 * at its deadline (2 s for the request head) instead of waiting on it.
 */
TEST_F(cli, export_listen_slow_client)
{
	struct slow_client slow = {};
	int port = 20000 + (getpid() + 13) % 20000;
	long long t0, worst = 0;
	pthread_t thread;
	char cmd[256];
	pid_t pid;
	int i, st;

	snprintf(cmd, sizeof(cmd), "exec %s export -d %s --listen 127.0.0.1:%d 2>/dev/null",
		 cli(), self->pf.path, port);
	pid = start_export(cmd);
	ASSERT_GT(pid, 0);
	slow.port = port;
	slow.fd = connect_port(port);
	ASSERT_LE(0, slow.fd);
	ASSERT_EQ(0, pthread_create(&thread, NULL, slow_main, &slow));
	usleep(100000);

	for (i = 0; i < 10; i++) {
		t0 = clock_ns(CLOCK_MONOTONIC);
		ASSERT_LT(0, scrape(port, "GET /metrics HTTP/1.0\r\n\r\n", self->out,
				    sizeof(self->out)));
		t0 = clock_ns(CLOCK_MONOTONIC) - t0;
		if (t0 > worst)
			worst = t0;
		EXPECT_EQ(0, strncmp(self->out, "HTTP/1.1 200 OK", 15));
		usleep(250000);
	}
	/* a serial server would hold each scrape up to the slow client's 2 s */
	EXPECT_LT(worst, 500 * 1000000LL) TH_LOG("slowest scrape %.3f s", worst / 1e9);
	pthread_join(thread, NULL);
	close(slow.fd);
	/* dropped at its 2 s deadline (1.5 s poll granularity: by 3 s) */
	EXPECT_GE(slow.closed_after_s, 1.9);
	EXPECT_LT(slow.closed_after_s, 3.2);
	kill(pid, SIGTERM);
	EXPECT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* --listen on loopback answers GET /metrics, 404 elsewhere. */
TEST_F(cli, export_listen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *reqs[] = { "GET /metrics HTTP/1.0\r\n\r\n", "GET /x HTTP/1.0\r\n\r\n" };
	char cmd[256];
	int port = 20000 + getpid() % 20000;
	pid_t pid;
	int i, fd, tries;
	ssize_t n;

	snprintf(cmd, sizeof(cmd), "exec %s export -d %s --listen 127.0.0.1:%d --count 2 2>/dev/null",
		 cli(), self->pf.path, port);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sa.sin_port = htons(port);
	for (i = 0; i < 2; i++) {
		for (tries = 0; tries < 100; tries++) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				break;
			close(fd);
			fd = -1;
			usleep(20000);
		}
		ASSERT_GE(fd, 0);
		ASSERT_EQ(strlen(reqs[i]), write(fd, reqs[i], strlen(reqs[i])));
		n = 0;
		for (;;) {
			ssize_t r = read(fd, self->out + n, sizeof(self->out) - 1 - n);

			if (r <= 0)
				break;
			n += r;
		}
		self->out[n] = '\0';
		close(fd);
		if (i == 0) {
			EXPECT_EQ(0, strncmp(self->out, "HTTP/1.1 200 OK", 15));
			EXPECT_NE(NULL, strstr(self->out, "text/plain; version=0.0.4"));
			EXPECT_NE(NULL, strstr(self->out, "clockwatch_bound_seconds 0.003"));
		} else {
			EXPECT_EQ(0, strncmp(self->out, "HTTP/1.1 404", 12));
		}
	}
	EXPECT_EQ(pid, waitpid(pid, &i, 0));
	EXPECT_TRUE(WIFEXITED(i) && WEXITSTATUS(i) == 0);
}

TEST_HARNESS_MAIN
