// SPDX-License-Identifier: GPL-2.0
/*
 * The clockwatch tool against file-backed pages whose contents the test
 * knows: the JSON of `status --json` parsed back by python3 and compared
 * value by value, the decoded human output, the rate measured by the
 * live view against a page whose REALTIME runs 100 ppm fast, and the
 * error paths.
 *
 * The tool is $CLOCKWATCH_CLI (make test sets it), else ../clockwatch
 * beside this program's folder.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "cli_path.h"
#include "page_writer.h"

/* The JSON writer itself, tested directly. */
#include "../cli/json.c"

#define NSEC_PER_SEC	1000000000LL

/* The known page: 2024-11-26 19:40:00.123456789 UTC, and so on. */
#define KNOWN_REALTIME		1732650000123456789LL
#define KNOWN_MONOTONIC		123456789012LL
#define KNOWN_RAW		123450000000LL
#define KNOWN_SLEPT		5000000000LL	/* BOOTTIME - MONOTONIC */
#define KNOWN_TAI_S		37
#define KNOWN_STATUS		(STA_PLL | STA_UNSYNC | STA_NANO)
#define KNOWN_FREQ		(100LL << 16)	/* +100 ppm */
#define KNOWN_NTP_AGE		5000000000LL	/* captured 5 s before the run */

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

struct run {
	char out[65536];	/* stdout */
	char err[4096];		/* stderr */
	int status;		/* exit code, or -1 */
};

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Run a shell command line, capturing its output and exit code. */
static void run(struct run *r, const char *fmt, ...)
{
	char out[] = "/tmp/cw-out.XXXXXX", err[] = "/tmp/cw-err.XXXXXX";
	char cmd[4096];
	char line[4200];
	va_list ap;
	int fd, status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);

	fd = mkstemp(out);
	close(fd);
	fd = mkstemp(err);
	close(fd);
	snprintf(line, sizeof(line), "%s >%s 2>%s", cmd, out, err);
	status = system(line);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	read_file(out, r->out, sizeof(r->out));
	read_file(err, r->err, sizeof(r->err));
	unlink(out);
	unlink(err);
}

/*
 * Flatten a JSON document (one object per line when lines is set) to
 * "LINE KEY TYPE VALUE" rows, nested keys joined with '.', so the test
 * can compare exact values and check that integers are integers.
 */
static const char flatten_py[] =
	"import json, sys\n"
	"def walk(n, key, v):\n"
	"    if isinstance(v, dict):\n"
	"        for k, x in v.items(): walk(n, key + '.' + k if key else k, x)\n"
	"    else:\n"
	"        print(n, key, type(v).__name__, json.dumps(v, separators=(',', ':')))\n"
	"text = open(sys.argv[1]).read()\n"
	"docs = [json.loads(l) for l in text.splitlines()] if sys.argv[2] == 'lines' \\\n"
	"       else [json.load(open(sys.argv[1]))]\n"
	"for n, d in enumerate(docs): walk(n, '', d)\n";

static void flatten_json(struct run *r, const char *json, int lines)
{
	char in[] = "/tmp/cw-json.XXXXXX", py[] = "/tmp/cw-flat.XXXXXX";
	FILE *f;

	f = fdopen(mkstemp(in), "w");
	fputs(json, f);
	fclose(f);
	f = fdopen(mkstemp(py), "w");
	fputs(flatten_py, f);
	fclose(f);
	run(r, "python3 %s %s %s", py, in, lines ? "lines" : "object");
	unlink(in);
	unlink(py);
}

/* The value of KEY in document N of flattened rows, with its type. */
static const char *lookup(const char *rows, int n, const char *key,
			  char *type, size_t type_len)
{
	static char value[1024];
	char prefix[256];
	const char *p = rows;
	int len = snprintf(prefix, sizeof(prefix), "%d %s ", n, key);

	while (p && *p) {
		if (strncmp(p, prefix, len) == 0) {
			const char *t = p + len;
			const char *sp = strchr(t, ' ');
			const char *nl = strchr(t, '\n');

			if (!sp || !nl || sp > nl)
				return NULL;
			snprintf(type, type_len, "%.*s", (int)(sp - t), t);
			snprintf(value, sizeof(value), "%.*s", (int)(nl - sp - 1), sp + 1);
			return value;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Expect an integer JSON value, exactly. */
#define EXPECT_JSON_INT(rows, n, key, want) do {				\
	char _type[16] = "";						\
	const char *_v = lookup(rows, n, key, _type, sizeof(_type));	\
	EXPECT_NE(NULL, _v) TH_LOG("no key %s", key);			\
	if (_v) {							\
		EXPECT_STREQ("int", _type) TH_LOG("%s: %s", key, _v);	\
		EXPECT_EQ((long long)(want), strtoll(_v, NULL, 10))	\
			TH_LOG("%s", key);				\
	}								\
} while (0)

#define EXPECT_JSON_STR(rows, n, key, want) do {				\
	char _type[16] = "";						\
	const char *_v = lookup(rows, n, key, _type, sizeof(_type));	\
	EXPECT_NE(NULL, _v) TH_LOG("no key %s", key);			\
	if (_v)								\
		EXPECT_STREQ(want, _v) TH_LOG("%s", key);		\
} while (0)

static double json_number(const char *rows, int n, const char *key)
{
	char type[16];
	const char *v = lookup(rows, n, key, type, sizeof(type));

	if (!v || (strcmp(type, "int") && strcmp(type, "float")))
		return -1e300;
	return strtod(v, NULL);
}

/* Fill the page with the known values, under the seqcount. */
static void write_known_page(struct clockwatch_page *page)
{
	page_write_begin(page);
	page->update_count = 4242;
	page->clocks.realtime_ns = KNOWN_REALTIME;
	page->clocks.monotonic_ns = KNOWN_MONOTONIC;
	page->clocks.monotonic_raw_ns = KNOWN_RAW;
	page->clocks.boottime_ns = KNOWN_MONOTONIC + KNOWN_SLEPT;
	page->clocks.tai_ns = KNOWN_REALTIME + KNOWN_TAI_S * NSEC_PER_SEC;
	page->ntp.offset_ns = -12345;
	page->ntp.freq_scaled_ppm = KNOWN_FREQ;
	page->ntp.maxerror_us = 16000000;
	page->ntp.esterror_us = 1500;
	page->ntp.constant = 2;
	page->ntp.tick_us = 10000;
	page->ntp.status = KNOWN_STATUS;
	page->ntp.time_state = TIME_ERROR;
	page->ntp.tai_s = KNOWN_TAI_S;
	page->ntp_mono_ns = clock_ns(CLOCK_MONOTONIC) - KNOWN_NTP_AGE;
	page->ntp_raw_ns = 99;
	page->ntp_calls = 12;
	page->ntp_writes = 3;
	page_write_end(page);
}

FIXTURE(cli) {
	struct page_file pf;
	const char *cli;
	struct run r;
	struct run flat;
};

FIXTURE_SETUP(cli)
{
	ASSERT_EQ(0, page_file_create(&self->pf));
	write_known_page(self->pf.page);
	self->cli = cli_path();
	ASSERT_EQ(0, access(self->cli, X_OK)) TH_LOG("no tool at %s", self->cli);
}

FIXTURE_TEARDOWN(cli)
{
	page_file_destroy(&self->pf);
}

TEST_F(cli, status_json)
{
	const char *rows = self->flat.out;
	long long age;

	run(&self->r, "%s status --no-refresh --json --device %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);
	/* One object on one line. */
	ASSERT_EQ(self->r.out + strlen(self->r.out) - 1, strchr(self->r.out, '\n'));

	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);

	EXPECT_JSON_INT(rows, 0, "realtime_ns", KNOWN_REALTIME);
	EXPECT_JSON_INT(rows, 0, "monotonic_ns", KNOWN_MONOTONIC);
	EXPECT_JSON_INT(rows, 0, "monotonic_raw_ns", KNOWN_RAW);
	EXPECT_JSON_INT(rows, 0, "boottime_ns", KNOWN_MONOTONIC + KNOWN_SLEPT);
	EXPECT_JSON_INT(rows, 0, "tai_ns", KNOWN_REALTIME + KNOWN_TAI_S * NSEC_PER_SEC);
	EXPECT_JSON_INT(rows, 0, "realtime_minus_monotonic_ns", KNOWN_REALTIME - KNOWN_MONOTONIC);
	EXPECT_JSON_INT(rows, 0, "realtime_minus_monotonic_raw_ns", KNOWN_REALTIME - KNOWN_RAW);
	EXPECT_JSON_INT(rows, 0, "seq", self->pf.page->seq);
	EXPECT_JSON_INT(rows, 0, "update_count", 4242);
	EXPECT_JSON_INT(rows, 0, "version", CLOCKWATCH_ABI_VERSION);
	EXPECT_JSON_INT(rows, 0, "size", sizeof(struct clockwatch_page));
	EXPECT_JSON_STR(rows, 0, "features", "[\"clocks\",\"ntp\"]");

	EXPECT_JSON_INT(rows, 0, "ntp.status", KNOWN_STATUS);
	EXPECT_JSON_STR(rows, 0, "ntp.status_names", "[\"PLL\",\"UNSYNC\",\"NANO\"]");
	EXPECT_JSON_INT(rows, 0, "ntp.maxerror_us", 16000000);
	EXPECT_JSON_INT(rows, 0, "ntp.esterror_us", 1500);
	EXPECT_JSON_INT(rows, 0, "ntp.offset_ns", -12345);
	EXPECT_JSON_INT(rows, 0, "ntp.freq_scaled_ppm", KNOWN_FREQ);
	EXPECT_EQ(100000.0, json_number(rows, 0, "ntp.freq_ppb"));
	EXPECT_EQ(100.0, json_number(rows, 0, "ntp.freq_ppm"));
	EXPECT_JSON_INT(rows, 0, "ntp.tick_us", 10000);
	EXPECT_JSON_INT(rows, 0, "ntp.tai_s", KNOWN_TAI_S);
	EXPECT_JSON_INT(rows, 0, "ntp.time_state", TIME_ERROR);
	EXPECT_JSON_STR(rows, 0, "ntp.time_state_name", "\"TIME_ERROR\"");
	EXPECT_JSON_INT(rows, 0, "ntp.constant", 2);
	EXPECT_JSON_INT(rows, 0, "ntp.calls", 12);
	EXPECT_JSON_INT(rows, 0, "ntp.writes", 3);

	/* Captured 5 s before the run; the run itself takes far less than 5 s. */
	age = (long long)json_number(rows, 0, "ntp.age_ns");
	EXPECT_GE(age, KNOWN_NTP_AGE);
	EXPECT_LT(age, 2 * KNOWN_NTP_AGE);
}

/* Negative and unknown values are written exactly, and unknown bits by value. */
TEST_F(cli, status_json_odd_values)
{
	const char *rows = self->flat.out;

	page_write_begin(self->pf.page);
	self->pf.page->clocks.realtime_ns = -1;
	self->pf.page->clocks.monotonic_ns = INT64_MAX;
	self->pf.page->ntp.status = STA_INS | 0x40000;
	self->pf.page->ntp.time_state = 9;
	self->pf.page->ntp.freq_scaled_ppm = -(500LL << 16);
	self->pf.page->features |= 1ULL << 40;
	page_write_end(self->pf.page);

	run(&self->r, "%s status --no-refresh --json --device %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);
	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);

	EXPECT_JSON_INT(rows, 0, "realtime_ns", -1);
	EXPECT_JSON_INT(rows, 0, "monotonic_ns", INT64_MAX);
	EXPECT_JSON_INT(rows, 0, "realtime_minus_monotonic_ns", INT64_MIN);
	EXPECT_JSON_STR(rows, 0, "ntp.status_names", "[\"INS\",\"0x40000\"]");
	EXPECT_JSON_STR(rows, 0, "ntp.time_state_name", "\"unknown\"");
	EXPECT_EQ(-500000.0, json_number(rows, 0, "ntp.freq_ppb"));
	EXPECT_JSON_STR(rows, 0, "features", "[\"clocks\",\"ntp\",\"0x10000000000\"]");
}

/* A page whose NTP block was never captured has "ntp": null. */
TEST_F(cli, status_json_no_ntp)
{
	const char *rows = self->flat.out;

	page_write_begin(self->pf.page);
	self->pf.page->ntp_mono_ns = 0;
	page_write_end(self->pf.page);

	run(&self->r, "%s status --no-refresh --json --device %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);
	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);
	EXPECT_JSON_STR(rows, 0, "ntp", "null");
	EXPECT_JSON_INT(rows, 0, "realtime_ns", KNOWN_REALTIME);
}

TEST_F(cli, status_human)
{
	static const char *const want[] = {
		"seq ",
		"features: clocks,ntp",
		"1732650000.123456789 s  2024-11-26 19:40:00.123456789 UTC",
		"123.456789012 s",
		"REALTIME - MONOTONIC",
		"1732649876666667777 ns = 1732649876.666667777 s",
		"REALTIME - MONOTONIC_RAW",
		"0x2041 PLL,UNSYNC,NANO",
		"5 TIME_ERROR",
		"16000000 us",
		"-12345 ns",
		"+100.000000 ppm = +100000.000 ppb (6553600 scaled ppm)",
		"10000 us",
		"37 s",
		"12 calls, 3 writes",
	};
	int missing = 0;
	size_t i;

	run(&self->r, "%s status --no-refresh --device %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(self->r.out, want[i])) {
			ksft_print_msg("missing \"%s\"\n", want[i]);
			missing++;
		}
	}
	EXPECT_EQ(0, missing) TH_LOG("output:\n%s", self->r.out);
}

/* Stand-in for the module's clock: REALTIME runs RATE_PPM fast of RAW. */
#define RATE_PPM	100

struct ticker {
	struct clockwatch_page *page;
	int stop;		/* set by the test, __atomic */
};

static void *ticker_main(void *arg)
{
	struct ticker *t = arg;
	long long raw0 = clock_ns(CLOCK_MONOTONIC_RAW);
	struct timespec ms = { .tv_nsec = 1000000 };

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		long long d = clock_ns(CLOCK_MONOTONIC_RAW) - raw0;
		struct clockwatch_page *p = t->page;

		page_write_begin(p);
		p->update_count++;
		p->clocks.monotonic_raw_ns = KNOWN_RAW + d;
		p->clocks.monotonic_ns = KNOWN_MONOTONIC + d;
		p->clocks.realtime_ns = KNOWN_REALTIME + d + d * RATE_PPM / 1000000;
		page_write_end(p);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

/*
 * The live view's rate is REALTIME against MONOTONIC_RAW between two
 * snapshots: a page running 100 ppm fast must show 100000 ppb, and
 * REALTIME - MONOTONIC must grow by 100 us per second.
 */
TEST_F(cli, live_view_rate)
{
	struct ticker t = { .page = self->pf.page };
	const char *rows = self->flat.out;
	double rate, change, raw, tolerance;
	pthread_t thread;
	int n;

	ASSERT_EQ(0, pthread_create(&thread, NULL, ticker_main, &t));
	run(&self->r, "%s status --no-refresh --json --device %s --interval 0.1 --count 3",
	    self->cli, self->pf.path);
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);

	flatten_json(&self->flat, self->r.out, 1);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);
	ASSERT_NE(NULL, strstr(rows, "2 rate_ppb")) TH_LOG("%s", self->r.out);
	EXPECT_EQ(NULL, strstr(rows, "3 rate_ppb"));

	for (n = 0; n < 3; n++) {
		rate = json_number(rows, n, "rate_ppb");
		raw = json_number(rows, n, "interval_raw_ns");
		change = json_number(rows, n, "realtime_minus_monotonic_change_ns");
		/*
		 * The ticker's integer division rounds each REALTIME down by
		 * less than 1 ns: 2 ns over the interval at most.
		 */
		tolerance = 2.0 * 1e9 / raw;
		EXPECT_LT(fabs(rate - RATE_PPM * 1000.0), tolerance)
			TH_LOG("sample %d: %.3f ppb over %.0f ns", n, rate, raw);
		/*
		 * How far the ticker got between two samples depends on the
		 * scheduler (a loaded machine starves it), not on the tool:
		 * only that the page moved on is the tool's business.
		 */
		EXPECT_GT(raw, 0);
		EXPECT_GT(change, 0);
		EXPECT_JSON_INT(rows, n, "maxerror_us", 16000000);
		EXPECT_JSON_STR(rows, n, "time_state_name", "\"TIME_ERROR\"");
	}
}

/* The human live view: a header, then one line per sample. */
TEST_F(cli, live_view_human)
{
	char *line;
	int lines = 0;

	run(&self->r, "%s status --no-refresh --device %s -i 0.01 -c 2",
	    self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("stderr: %s", self->r.err);
	ASSERT_EQ(0, strncmp(self->r.out, "TIME ", 5)) TH_LOG("%s", self->r.out);
	for (line = strchr(self->r.out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		lines++;
		/* the page did not move: no rate, no change */
		EXPECT_NE(NULL, strstr(line, " -  ")) TH_LOG("%s", line);
		EXPECT_NE(NULL, strstr(line, "TIME_ERROR")) TH_LOG("%s", line);
	}
	EXPECT_EQ(2, lines);
}

TEST_F(cli, bad_magic)
{
	self->pf.page->magic = 0x12345678;
	run(&self->r, "%s status --no-refresh --device %s", self->cli, self->pf.path);
	EXPECT_EQ(1, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.err, "not a clockwatch page")) TH_LOG("%s", self->r.err);
	EXPECT_STREQ("", self->r.out);
}

/* Usage errors exit 2 with a message; nothing is read. */
TEST_F(cli, usage_errors)
{
	static const char *const bad[] = {
		"status --interval abc",
		"status --interval 1x",
		"status --interval -1",
		"status --interval 0",
		"status --interval nan",
		"status --count 0",
		"status --count 99999999999999999999",
		"status --count 2.5",
		"status -i 1 -c 1 7",
		"status --device ''",
		"status --bogus",
		"frobnicate",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run(&self->r, "%s %s", self->cli, bad[i]);
		EXPECT_EQ(2, self->r.status) TH_LOG("'%s'", bad[i]);
		EXPECT_NE(0, strlen(self->r.err)) TH_LOG("'%s'", bad[i]);
		EXPECT_STREQ("", self->r.out) TH_LOG("'%s'", bad[i]);
	}
}

/* A device named on the command line and absent is an error, in every command. */
TEST_F(cli, missing_device)
{
	static const char *const cmds[] = {
		"status", "status --json", "now", "now --json", "watch -D 0.2",
		"export -o /tmp/cw-never.prom", "chrony-report --once",
	};
	size_t i;

	run(&self->r, "%s status --device /dev/clockwatch-missing", self->cli);
	EXPECT_EQ(1, self->r.status);
	EXPECT_STREQ("clockwatch: /dev/clockwatch-missing not found\n", self->r.err);
	EXPECT_STREQ("", self->r.out);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run(&self->r, "%s %s -d /dev/clockwatch-missing", self->cli, cmds[i]);
		EXPECT_EQ(1, self->r.status) TH_LOG("%s", cmds[i]);
		EXPECT_NE(NULL, strstr(self->r.err, "/dev/clockwatch-missing"))
			TH_LOG("%s: %s", cmds[i], self->r.err);
	}
	EXPECT_NE(0, access("/tmp/cw-never.prom", F_OK));
}

/*
 * Without the module status is a complete report, and no error: exit 0,
 * why the module is missing (no insmod advice where the kernel has no
 * modules at all), and what works instead; --json is one object.
 */
TEST_F(cli, status_without_module)
{
	const char *rows = self->flat.out;

	if (access("/dev/clockwatch", F_OK) == 0)
		SKIP(return, "the module is loaded");
	run(&self->r, "%s status", self->cli);
	EXPECT_EQ(0, self->r.status) TH_LOG("%s", self->r.err);
	EXPECT_STREQ("", self->r.err);
	EXPECT_NE(NULL, strstr(self->r.out, "module-less mode"));
	if (access("/proc/modules", F_OK) != 0) {
		EXPECT_EQ(NULL, strstr(self->r.out, "insmod"));
		EXPECT_NE(NULL, strstr(self->r.out, "cannot load modules"));
	}
	run(&self->r, "%s status --json", self->cli);
	EXPECT_EQ(0, self->r.status);
	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);
	EXPECT_JSON_STR(rows, 0, "type", "\"modless\"");
	EXPECT_JSON_STR(rows, 0, "module", "false");

	/* now --json answers in JSON: no bound, and why */
	run(&self->r, "%s now --json", self->cli);
	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s (%s)", self->flat.err, self->r.out);
	EXPECT_JSON_STR(rows, 0, "source", "\"adjtimex\"");
	EXPECT_NE(NULL, lookup(rows, 0, "reason", (char[16]){ 0 }, 16));
}

/* The page's counters and the tasks a file page cannot name. */
TEST_F(cli, status_tracker)
{
	const char *rows = self->flat.out;

	page_write_begin(self->pf.page);
	self->pf.page->features |= CLOCKWATCH_FEAT_SYNC_STATE;
	self->pf.page->sync_state = CLOCKWATCH_SYNC_DISRUPTED;
	self->pf.page->sync_reason = CLOCKWATCH_SYNC_R_FOREIGN_STEP;
	self->pf.page->disruption_count = 4;
	self->pf.page->daemon_count = 2;
	self->pf.page->step_seq = 3;
	self->pf.page->last_step_delta_ns = -1500000000LL;
	self->pf.page->last_step_cause = CLOCKWATCH_STEP_CLOCK_SETTIME;
	self->pf.page->time_state = -1;
	self->pf.page->freq_short_ppb = 1234;
	self->pf.page->freq_short_window_raw_ns = 1000000000;
	page_write_end(self->pf.page);

	run(&self->r, "%s status --no-refresh --json -d %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status) TH_LOG("%s", self->r.err);
	flatten_json(&self->flat, self->r.out, 0);
	ASSERT_EQ(0, self->flat.status) TH_LOG("python3: %s", self->flat.err);
	EXPECT_JSON_STR(rows, 0, "sync_state", "\"disrupted\"");
	EXPECT_JSON_STR(rows, 0, "sync_reason", "\"foreign_step\"");
	EXPECT_JSON_INT(rows, 0, "disruption_count", 4);
	EXPECT_JSON_INT(rows, 0, "daemon.count", 2);
	EXPECT_JSON_INT(rows, 0, "step_seq", 3);
	EXPECT_JSON_INT(rows, 0, "last_step.delta_ns", -1500000000LL);
	EXPECT_JSON_STR(rows, 0, "last_step.cause", "\"clock_settime\"");
	EXPECT_JSON_INT(rows, 0, "freq_measured_ppb.short", 1234);
	EXPECT_JSON_INT(rows, 0, "freq_measured_ppb.short_window_raw_ns", 1000000000);
	/* time_state -1: none seen yet */
	EXPECT_JSON_STR(rows, 0, "time_state", "null");
	/* a page in a file has no CLOCKWATCH_IOC_TASKS: pids unknown, not 0 */
	EXPECT_JSON_STR(rows, 0, "daemon.pid", "null");
	EXPECT_JSON_STR(rows, 0, "last_step.pid", "null");
	EXPECT_STREQ("", self->r.err);

	run(&self->r, "%s status --no-refresh -d %s", self->cli, self->pf.path);
	ASSERT_EQ(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.out, "sync: disrupted (foreign_step); 4 disruptions"))
		TH_LOG("%s", self->r.out);
	EXPECT_NE(NULL, strstr(self->r.out, "2 daemons seen"));
	EXPECT_NE(NULL, strstr(self->r.out, "steps: 3, the last -1.500000000 s by clock_settime"));
	EXPECT_NE(NULL, strstr(self->r.out, "time_state: none seen yet"));
}

/*
 * JSON strings are valid UTF-8 whatever the bytes: every byte that does
 * not begin a well-formed sequence (RFC 3629) becomes U+FFFD; valid
 * sequences pass through; controls are escaped.  Python's strict UTF-8
 * decoder and JSON parser are the judges, and the exact text is known.
 */
TEST(json_utf8)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "\xff\xfe", "\"\\ufffd\\ufffd\"" },
		{ "ok", "\"ok\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },			/* é */
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },			/* € */
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },		/* U+1F600 */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },			/* overlong '/' */
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },	/* overlong */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
		{ "a\xc3", "\"a\\ufffd\"" },				/* cut short */
		{ "\xe2\x82x", "\"\\ufffd\\ufffdx\"" },
		{ "q\"b\\\n\x7f", "\"q\\\"b\\\\\\u000a\\u007f\"" },
	};
	char *buf = NULL;
	size_t len = 0, i;
	struct json j;
	FILE *f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = open_memstream(&buf, &len);
		ASSERT_NE(NULL, f);
		json_init(&j, f);
		json_string(&j, NULL, cases[i].in);
		fclose(f);
		EXPECT_STREQ(cases[i].out, buf) TH_LOG("case %zu", i);
		free(buf);
		buf = NULL;
	}

	/* All of them as one document, through python3's strict decoder. */
	{
		struct run r;
		char path[] = "/tmp/cw-utf8.XXXXXX";

		f = fdopen(mkstemp(path), "w");
		ASSERT_NE(NULL, f);
		json_init(&j, f);
		json_array_begin(&j, NULL);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			json_string(&j, NULL, cases[i].in);
		json_array_end(&j);
		fclose(f);
		run(&r, "python3 -c 'import json,sys; json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\", \"strict\"))' %s",
		    path);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		unlink(path);
	}
}

/*
 * One meaning per option letter across the subcommands, and -v in every
 * one: read from each command's --help.
 */
TEST_F(cli, option_letters)
{
	static const char *const cmds[] = {
		"status", "now", "export", "watch", "stalls", "guard", "chrony-report",
	};
	char longs[128][32] = {};
	const char *owner[128] = {};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *line;

		run(&self->r, "%s %s --help", self->cli, cmds[i]);
		ASSERT_EQ(0, self->r.status) TH_LOG("%s", cmds[i]);
		EXPECT_NE(NULL, strstr(self->r.out, "-v, --verbose")) TH_LOG("%s has no -v", cmds[i]);
		for (line = self->r.out; line; line = strchr(line + 1, '\n')) {
			char letter, name[32];

			if (sscanf(line, "\n -%c, --%31[a-z0-9-]", &letter, name) != 2)
				continue;
			if (letter == '?' || letter == 'V')
				continue;	/* argp's own --help and --version */
			if (owner[(unsigned char)letter])
				EXPECT_STREQ(longs[(unsigned char)letter], name)
					TH_LOG("-%c: --%s in %s, --%s in %s", letter,
					       longs[(unsigned char)letter],
					       owner[(unsigned char)letter], name, cmds[i]);
			owner[(unsigned char)letter] = cmds[i];
			snprintf(longs[(unsigned char)letter], sizeof(longs[0]), "%s", name);
		}
	}
	EXPECT_NE(NULL, owner['d']);
}

TEST_F(cli, help_and_version)
{
	run(&self->r, "%s --help", self->cli);
	EXPECT_EQ(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.out, "EXAMPLES:"));
	EXPECT_NE(NULL, strstr(self->r.out, "status "));
	run(&self->r, "%s status --help", self->cli);
	EXPECT_EQ(0, self->r.status);
	EXPECT_NE(NULL, strstr(self->r.out, "adjtimex()"));
	run(&self->r, "%s --version", self->cli);
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, "clockwatch ", 11));
}

TEST_HARNESS_MAIN
