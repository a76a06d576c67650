// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch record and report against runs whose contents the test
 * knows: a synthetic record (steps, stalls, pauses and samples at times
 * the test chose) read back field by field and drawn, each mark and bar
 * found where the page's fixed axis puts the test's times; the reader's
 * errors for broken records; and a real `clockwatch record` of a command
 * with a known exit status, its REALTIME - MONOTONIC held against the
 * test's own reading.
 *
 * The tool is $CLOCKWATCH_CLI (make test sets it), else ../clockwatch
 * beside this program's folder.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "cli_path.h"

/* The reader itself, tested directly. */
#include "../cli/report_parse.c"

#define START_MONO	1000000000000LL		/* 1000 s */
#define SEC		1000000000LL
#define MS		1000000LL

/* The tool's stdout and stderr together into @out; its exit code. */
static int run_cli(char *out, size_t len, const char *fmt, ...)
{
	char args[2048], cmd[PATH_MAX + 2048 + 16];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", cli_path(), args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static int64_t at(double s)
{
	return START_MONO + (int64_t)llround(s * 1e9);
}

/*
 * The synthetic run, 10 s: a +2 s step at 4 s, a host pause at 6 s;
 * stalls of 250 ms on CPU 1 at 2 s and 60 ms on CPU 0 at 7.5 s; pauses
 * of pid 42 (120 ms at 3 s, 15 ms at 5 s) and pid 43 (40 ms at 8 s);
 * a sample every 0.5 s, bound 1 ms (synchronized) before the step and
 * none after it.
 */
static void write_synthetic(const char *path)
{
	FILE *f = fopen(path, "w");
	int i;

	fprintf(f, "{\"type\":\"header\",\"format\":1,\"cli_version\":\"0.1.0\","
		"\"kernel\":\"Linux 6.12.0 #1 x86_64\",\"host\":\"box\",\"nr_cpus\":2,"
		"\"command\":[\"sh\",\"-c\",\"a <b> & \\\"c\\\"\"],\"interval_ns\":500000000,"
		"\"pause_threshold_ns\":10000000,\"start\":{\"realtime_ns\":1700000000000000000,"
		"\"monotonic_ns\":%lld},\"sources\":{\"module\":true,\"bpf_pauses\":true,"
		"\"steps\":\"module\",\"bound\":\"module\"}}\n", START_MONO);
	for (i = 0; i <= 20; i++) {
		bool after = i * 0.5 > 4.0;

		fprintf(f, "{\"type\":\"sample\",\"mono_ns\":%" PRId64 ",\"real_minus_mono_ns\":%lld,"
			"\"status\":\"%s\",\"reason\":\"x\",\"bound_ns\":%s}\n", at(i * 0.5),
			1699999000000000000LL + (after ? 2 * SEC : 0),
			after ? "disrupted" : "synchronized", after ? "null" : "1000000");
	}
	fprintf(f, "{\"seq\":1,\"type\":\"step\",\"source\":\"module\",\"mono_ns\":%" PRId64
		",\"cpu\":0,\"delta_ns\":2000000000,\"cause\":\"clock_settime\"}\n", at(4.0));
	fprintf(f, "{\"seq\":2,\"type\":\"ntp_adjust\",\"mono_ns\":%" PRId64 ",\"before\":{\"offset_ns\":1}}\n",
		at(4.5));
	fprintf(f, "{\"seq\":3,\"type\":\"disruption\",\"mono_ns\":%" PRId64
		",\"reason\":\"host_pause\"}\n", at(6.0));
	fprintf(f, "{\"seq\":4,\"type\":\"stall\",\"mono_ns\":%" PRId64 ",\"cpu\":1,\"stall_seq\":0,"
		"\"context\":\"irq\",\"start_ns\":%" PRId64 ",\"duration_ns\":250000000,"
		"\"attribution\":{\"steal_ns\":0}}\n", at(2.3), at(2.0));
	fprintf(f, "{\"seq\":5,\"type\":\"stall\",\"mono_ns\":%" PRId64 ",\"cpu\":0,"
		"\"context\":\"irq\",\"start_ns\":%" PRId64 ",\"duration_ns\":60000000}\n",
		at(7.6), at(7.5));
	fprintf(f, "{\"type\":\"pause\",\"source\":\"bpf\",\"mono_ns\":%" PRId64 ",\"start_ns\":%" PRId64
		",\"pid\":42,\"tid\":42,\"comm\":\"worker\",\"duration_ns\":120000000,\"kind\":\"stopped\"}\n",
		at(3.12), at(3.0));
	fprintf(f, "{\"type\":\"pause\",\"mono_ns\":%" PRId64 ",\"start_ns\":%" PRId64
		",\"pid\":42,\"comm\":\"worker\",\"duration_ns\":15000000,\"kind\":\"runqueue\"}\n",
		at(5.015), at(5.0));
	fprintf(f, "{\"type\":\"pause\",\"mono_ns\":%" PRId64 ",\"start_ns\":%" PRId64
		",\"pid\":43,\"comm\":\"helper\",\"duration_ns\":40000000,\"kind\":\"preempted\"}\n",
		at(8.04), at(8.0));
	fprintf(f, "{\"type\":\"a_later_kind\",\"mono_ns\":1,\"x\":[1,{\"y\":\"]}\"}]}\n");
	fprintf(f, "{\"type\":\"end\",\"mono_ns\":%" PRId64 ",\"exit_status\":3}\n", at(10.0));
	fclose(f);
}

FIXTURE(report) {
	char dir[64];
	char rec[128];
	char html[128];
};

FIXTURE_SETUP(report)
{
	strcpy(self->dir, "/tmp/cw-report.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->rec, sizeof(self->rec), "%s/run.jsonl", self->dir);
	snprintf(self->html, sizeof(self->html), "%s/run.html", self->dir);
	write_synthetic(self->rec);
}

FIXTURE_TEARDOWN(report)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Every record the report draws, read back as the test wrote it. */
TEST_F(report, read_synthetic)
{
	char err[256];
	struct run r;
	FILE *f = fopen(self->rec, "r");

	ASSERT_EQ(0, run_read(f, "run.jsonl", &r, err, sizeof(err)));
	fclose(f);
	EXPECT_STREQ("sh -c a <b> & \"c\"", r.command);
	EXPECT_STREQ("box", r.host);
	EXPECT_EQ(START_MONO, r.start_mono_ns);
	EXPECT_EQ(2, r.nr_cpus);
	ASSERT_EQ(21, r.nr_samples);
	EXPECT_TRUE(r.samples[0].has_bound);
	EXPECT_EQ(1000000, r.samples[0].bound_ns);
	EXPECT_FALSE(r.samples[20].has_bound);
	EXPECT_STREQ("disrupted", r.samples[20].status);
	EXPECT_EQ(2 * SEC, r.samples[20].offset_ns - r.samples[0].offset_ns);
	ASSERT_EQ(2, r.nr_marks);
	EXPECT_TRUE(r.marks[0].step);
	EXPECT_EQ(2 * SEC, r.marks[0].delta_ns);
	EXPECT_STREQ("clock_settime", r.marks[0].cause);
	EXPECT_LT(fabs(r.marks[0].t - 4.0), 1e-9);
	EXPECT_FALSE(r.marks[1].step);
	EXPECT_STREQ("host_pause", r.marks[1].cause);
	ASSERT_EQ(2, r.nr_stalls);
	EXPECT_EQ(1, r.stalls[0].who);
	EXPECT_EQ(250 * MS, r.stalls[0].duration_ns);
	EXPECT_LT(fabs(r.stalls[0].t - 2.0), 1e-9);
	EXPECT_EQ(0, r.stalls[1].who);
	ASSERT_EQ(3, r.nr_pauses);
	EXPECT_EQ(42, r.pauses[0].who);
	EXPECT_STREQ("worker", r.pauses[0].comm);
	EXPECT_STREQ("stopped", r.pauses[0].kind);
	EXPECT_EQ(43, r.pauses[2].who);
	EXPECT_EQ(1, r.ntp_writes);
	EXPECT_TRUE(r.has_end);
	EXPECT_EQ(3, r.exit_status);
	EXPECT_LT(fabs(r.end_t - 10.0), 1e-9);
	run_free(&r);
}

static int read_text(const char *text, char *err, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct run r;
	int ret = run_read(f, "t", &r, err, len);

	fclose(f);
	run_free(&r);
	return ret;
}

#define HDR "{\"type\":\"header\",\"format\":1,\"start\":{\"monotonic_ns\":5}}\n"

/* Broken records: the errno, and the line named. */
TEST(read_errors)
{
	char err[256];

	EXPECT_EQ(-EINVAL, read_text("", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "empty"));
	EXPECT_EQ(-EINVAL, read_text("{\"type\":\"sample\",\"mono_ns\":1}\n", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "t:1: not a clockwatch record"));
	EXPECT_EQ(-EINVAL, read_text(HDR "{\"type\":\"step\",\"mono_ns\":1\n", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "t:2: not a JSON object (Invalid argument)"));
	EXPECT_EQ(-EINVAL, read_text(HDR "[1]\n", err, sizeof(err)));
	EXPECT_EQ(-EINVAL, read_text(HDR "{\"mono_ns\":1}\n", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "without a type"));
	EXPECT_EQ(-EINVAL, read_text(HDR "{\"type\":\"stall\",\"cpu\":1,\"start_ns\":9}\n",
				     err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "t:2: a stall without"));
	EXPECT_EQ(-EINVAL, read_text("{\"type\":\"header\",\"format\":1}\n", err, sizeof(err)));
	EXPECT_EQ(-EPROTO, read_text("{\"type\":\"header\",\"format\":2,\"start\":{\"monotonic_ns\":5}}\n",
				     err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "record format 2"));
	EXPECT_EQ(0, read_text(HDR "\n{\"type\":\"new\",\"v\":{\"w\":[\"}\"]}}\n", err, sizeof(err)));
}

/* What the header says the record lacks, and why, for the summary. */
TEST(read_missing_sources)
{
	static const char text[] =
		"{\"type\":\"header\",\"format\":1,\"start\":{\"monotonic_ns\":5},"
		"\"sources\":{\"module\":false,\"module_missing\":\"not loaded\","
		"\"bpf_pauses\":false,\"bpf_missing\":\"BPF: no\",\"steps\":\"none\"}}\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	char err[256];
	struct run r;

	ASSERT_EQ(0, run_read(f, "t", &r, err, sizeof(err)));
	fclose(f);
	EXPECT_STREQ("module: not loaded; pauses: BPF: no; steps: neither the module nor BPF",
		     r.missing);
	EXPECT_FALSE(r.has_end);
	run_free(&r);
}

/* The x of time @t on the page's axis, as clockwatch(8) gives it. */
static int axis_x(const char *html, double t)
{
	const char *p = strstr(html, "data-plot-x0=\"");
	int x0 = 0, w = 0;
	double t_max = 1;

	if (!p || sscanf(p, "data-plot-x0=\"%d\" data-plot-w=\"%d\" data-t-max-s=\"%lf\"",
			 &x0, &w, &t_max) != 3)
		return -1;
	return x0 + (int)lround(t / t_max * w);
}

/* A rect of class @cls with data-t near @t: its x and width, else -1. */
static int find_rect(const char *html, const char *cls, double t, int *width)
{
	char key[64];
	const char *p = html;
	double dt;
	int x, y, w, h;

	snprintf(key, sizeof(key), "<rect class=\"%s\"", cls);
	while ((p = strstr(p, key))) {
		p += strlen(key);
		if (sscanf(p, " x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"", &x, &y, &w, &h) != 4)
			continue;
		if (!strstr(p, "data-t=\"") || sscanf(strstr(p, "data-t=\"") + 8, "%lf", &dt) != 1)
			continue;
		if (fabs(dt - t) < 1e-6) {
			*width = w;
			return x;
		}
	}
	return -1;
}

/* The page: each mark and bar where the axis puts the test's times. */
TEST_F(report, draws_at_the_axis)
{
	char out[4096];
	char *html;
	int w = 0;

	ASSERT_EQ(0, run_cli(out, sizeof(out), "report %s -o %s", self->rec, self->html));
	html = slurp(self->html);
	ASSERT_NE(NULL, html);
	ASSERT_EQ(150 + 280, axis_x(html, 4.0));
	/* the step's marker: 3 px wide, centred on its time */
	EXPECT_EQ(axis_x(html, 4.0) - 1, find_rect(html, "step", 4.0, &w));
	EXPECT_EQ(3, w);
	EXPECT_EQ(axis_x(html, 6.0) - 1, find_rect(html, "disruption", 6.0, &w));
	/* the stall on CPU 1: from 2 s, 250 ms long */
	EXPECT_EQ(axis_x(html, 2.0), find_rect(html, "bar", 2.0, &w));
	EXPECT_EQ(axis_x(html, 2.25) - axis_x(html, 2.0), w);
	/* a pause shorter than 2 px still shows, 2 px wide */
	EXPECT_EQ(axis_x(html, 5.0), find_rect(html, "bar", 5.0, &w));
	EXPECT_EQ(2, w);
	/* lanes: both CPUs, and one for each of the two pids */
	EXPECT_NE(NULL, strstr(html, "<g class=\"lane cpu\" data-cpu=\"1\""));
	EXPECT_NE(NULL, strstr(html, "<g class=\"lane pid\" data-pid=\"42\""));
	EXPECT_NE(NULL, strstr(html, "<g class=\"lane pid\" data-pid=\"43\""));
	/* the summary, from the test's numbers */
	EXPECT_NE(NULL, strstr(html, "1 steps (largest +2.000 s by clock_settime at 4.000 s)"));
	EXPECT_NE(NULL, strstr(html, "1 NTP writes, 1 disruptions"));
	EXPECT_NE(NULL, strstr(html, "widest bound +/- 1.000 ms"));
	EXPECT_NE(NULL, strstr(html, "CPU stalls: 2 (longest 250.000 ms on CPU 1 at 2.000 s)"));
	EXPECT_NE(NULL, strstr(html, "3 in 2 processes (longest 120.000 ms, pid 42 worker, stopped"));
	EXPECT_NE(NULL, strstr(html, "exit status 3"));
	/* the command, escaped; nothing fetched */
	EXPECT_NE(NULL, strstr(html, "sh -c a &lt;b&gt; &amp; &quot;c&quot;"));
	EXPECT_EQ(NULL, strstr(html, "http"));
	EXPECT_EQ(NULL, strstr(html, "<script"));
	free(html);
}

/* The command's usage errors and bad files, each with its message. */
TEST_F(report, usage_errors)
{
	char out[4096];

	EXPECT_EQ(2, run_cli(out, sizeof(out), "report %s", self->rec));
	EXPECT_NE(NULL, strstr(out, "no output file given"));
	EXPECT_EQ(2, run_cli(out, sizeof(out), "report -o %s", self->html));
	EXPECT_NE(NULL, strstr(out, "no record given"));
	EXPECT_EQ(2, run_cli(out, sizeof(out), "report a b -o %s", self->html));
	EXPECT_EQ(1, run_cli(out, sizeof(out), "report %s/none -o %s", self->dir, self->html));
	EXPECT_NE(NULL, strstr(out, "No such file or directory"));
	EXPECT_EQ(1, run_cli(out, sizeof(out), "report %s -o %s/no/dir.html", self->rec,
			     self->dir));
	EXPECT_NE(NULL, strstr(out, "No such file or directory"));
	EXPECT_EQ(1, run_cli(out, sizeof(out), "report /etc/hostname -o %s", self->html));
	EXPECT_NE(NULL, strstr(out, "/etc/hostname:1: not a JSON object (Invalid argument)"));
	EXPECT_EQ(2, run_cli(out, sizeof(out), "record -- true"));
	EXPECT_NE(NULL, strstr(out, "no output file given"));
	EXPECT_EQ(2, run_cli(out, sizeof(out), "record -o %s", self->html));
	EXPECT_NE(NULL, strstr(out, "no command given"));
	EXPECT_EQ(2, run_cli(out, sizeof(out), "record -i 0 -o %s -- true", self->html));
	EXPECT_NE(NULL, strstr(out, "invalid interval '0'"));
	EXPECT_EQ(1, run_cli(out, sizeof(out), "record -o %s/no/r.jsonl -- true", self->dir));
	EXPECT_NE(NULL, strstr(out, "No such file or directory"));
}

static int64_t real_minus_mono_here(void)
{
	struct timespec m0, r, m1;

	clock_gettime(CLOCK_MONOTONIC, &m0);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m1);
	return r.tv_sec * SEC + r.tv_nsec -
	       ((m0.tv_sec + m1.tv_sec) * SEC + m0.tv_nsec + m1.tv_nsec) / 2;
}

/*
 * A real record of a command that sleeps 0.3 s and exits with 7: the
 * exit status passed on, a header first and an end last, a sample every
 * 50 ms, REALTIME - MONOTONIC as this test reads it.  With or without
 * the module and BPF: the header says which.
 */
TEST_F(report, record_a_run)
{
	char out[4096], err[256];
	int64_t offset = real_minus_mono_here();
	struct timespec t0, t1;
	struct run r;
	size_t i;
	FILE *f;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(7, run_cli(out, sizeof(out), "record -i 50 -o %s -- sh -c 'sleep 0.3; exit 7'",
			     self->rec));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f = fopen(self->rec, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, run_read(f, "run.jsonl", &r, err, sizeof(err))) TH_LOG("%s", err);
	fclose(f);
	EXPECT_TRUE(r.has_end);
	EXPECT_EQ(7, r.exit_status);
	EXPECT_STREQ("sh -c sleep 0.3; exit 7", r.command);
	EXPECT_GE(r.start_mono_ns, t0.tv_sec * SEC + t0.tv_nsec);
	EXPECT_GE(r.end_t, 0.3);
	EXPECT_LE(r.end_t, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* 0.3 s at one sample every 50 ms, the first and the last: 6 or more */
	EXPECT_GE(r.nr_samples, 6);
	for (i = 0; i < r.nr_samples; i++)
		EXPECT_LT(llabs(r.samples[i].offset_ns - offset), 1 * MS);
	run_free(&r);
}

TEST_HARNESS_MAIN
