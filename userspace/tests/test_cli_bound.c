// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch now and clockwatch export against a file-backed page whose
 * facts the test wrote: the numbers printed are the numbers written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "clockwatch.h"
#include "page_writer.h"
#include "sync_writer.h"

#define SEC	1000000000LL

static const char *cli(void)
{
	const char *env = getenv("CLOCKWATCH_CLI");

	return env ? env : "build/clockwatch";
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

/* The textfile appears whole under its name, with the page's numbers. */
TEST_F(cli, export_textfile)
{
	char path[128], cmd[256];
	struct stat st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s.prom", self->pf.path);
	page_write_begin(self->pf.page);
	self->pf.page->ntp_mono_ns = 1;
	self->pf.page->ntp.maxerror_us = 250000;
	self->pf.page->ntp.freq = 65536 * 10;	/* 10 ppm */
	self->pf.page->ntp.tick_us = 10000;
	self->pf.page->ext.step_seq = 7;
	page_write_end(self->pf.page);
	page_refresh_clocks(self->pf.page);
	snprintf(cmd, sizeof(cmd), "%s export -d %s --textfile %s", cli(), self->pf.path, path);
	ASSERT_EQ(0, system(cmd));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	n = fread(self->out, 1, sizeof(self->out) - 1, f);
	self->out[n] = '\0';
	fclose(f);
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_maxerror_seconds 0.25\n"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_frequency_adjustment_ratio 1.00001\n"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_tick_seconds 0.01\n"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_steps_total 7\n"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_clock_status{status=\"synchronized\"} 1\n"));
	EXPECT_NE(NULL, strstr(self->out, "# TYPE clockwatch_bound_seconds gauge\n"));
	EXPECT_NE(NULL, strstr(self->out, "clockwatch_up 1\n"));
	/* No temporary file left beside it. */
	snprintf(cmd, sizeof(cmd), "%s.tmp.", path);
	EXPECT_EQ(NULL, strstr(self->out, cmd));
	EXPECT_EQ(0, stat(path, &st));
	unlink(path);
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
