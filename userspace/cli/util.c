// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: helpers shared by the subcommands.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/clockwatch.h>

#include "util.h"

/* Parse a whole decimal integer in [min, max]; 0 or a negative errno. */
int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno)
		return -errno;
	if (end == s || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Parse a finite number of seconds in [min, max]; 0 or a negative errno. */
int parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno)
		return -errno;
	if (end == s || *end != '\0' || !isfinite(v))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int64_t real_minus_mono(int tries, int64_t *mono, int64_t *error)
{
	int64_t m0, r, m1, best = INT64_MAX, mid = 0, offset = 0;
	int i;

	/* An interrupt or a preempted vCPU widens one bracket, not all. */
	for (i = 0; i < tries; i++) {
		m0 = now_ns(CLOCK_MONOTONIC);
		r = now_ns(CLOCK_REALTIME);
		m1 = now_ns(CLOCK_MONOTONIC);
		if (m1 - m0 < best) {
			best = m1 - m0;
			mid = m0 + best / 2;
			offset = r - mid;
		}
	}
	if (mono)
		*mono = mid;
	if (error)
		*error = best / 2 + 1;
	return offset;
}

/* Split ns into whole seconds (rounded down) and 0..999999999 ns. */
static void split_ns(int64_t ns, int64_t *sec, int64_t *rem)
{
	*sec = ns / NSEC_PER_SEC;
	*rem = ns % NSEC_PER_SEC;
	if (*rem < 0) {
		*sec -= 1;
		*rem += NSEC_PER_SEC;
	}
}

void format_seconds(char *buf, size_t len, int64_t ns)
{
	/* Not split_ns(): -0.5 s reads better as "-0.500000000". */
	uint64_t mag = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	snprintf(buf, len, "%s%" PRIu64 ".%09" PRIu64, ns < 0 ? "-" : "",
		 mag / (uint64_t)NSEC_PER_SEC, mag % (uint64_t)NSEC_PER_SEC);
}

void format_utc(char *buf, size_t len, int64_t ns)
{
	int64_t sec, rem;
	struct tm tm;
	time_t t;

	split_ns(ns, &sec, &rem);
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "(out of range)");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%09" PRId64 " UTC",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
}

void report_page_error(const char *path, int err)
{
	switch (err) {
	case ENOENT:
		if (strcmp(path, CLOCKWATCH_DEVICE) != 0)
			fprintf(stderr, "clockwatch: %s not found\n", path);
		else if (access("/proc/modules", F_OK) == 0)
			fprintf(stderr, "clockwatch: %s not found: the clockwatch module is not loaded (modprobe clockwatch)\n",
				path);
		else
			fprintf(stderr, "clockwatch: %s not found: this kernel cannot load modules\n",
				path);
		break;
	case EPROTO:
		fprintf(stderr, "clockwatch: %s: not a clockwatch page this tool can read (magic, version %d or size)\n",
			path, CLOCKWATCH_ABI_VERSION);
		break;
	case EAGAIN:
		fprintf(stderr, "clockwatch: %s: no consistent copy of the page (its writer never finished an update)\n",
			path);
		break;
	default:
		fprintf(stderr, "clockwatch: %s: %s\n", path, strerror(err));
		break;
	}
}

void report_bpf_privilege(const char *cmd, int err)
{
	if (err != -EPERM && err != -EACCES)
		return;
	fprintf(stderr, "clockwatch %s: loading BPF programs takes CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, as root has)%s\n",
		cmd, geteuid() == 0 ? "; this root lacks them (a container?) or kernel.unprivileged_bpf_disabled / lockdown forbids it" : "");
}

bool page_has_audit(const struct clockwatch_page *p)
{
	return CLOCKWATCH_FIELD_PRESENT(p, audit_rtc_jump_raw_ns) &&
	       (p->features & CLOCKWATCH_FEAT_AUDIT_RTC);
}

/**
 * spawn_held() - fork a child that runs @cmd once released
 * @cmd: the command and its arguments, NULL-terminated (searched in PATH)
 * @release: gets the fd to give to spawn_release()
 *
 * The child waits, so that a tracker can follow it from its first
 * instruction; it exits with 127 when @cmd cannot run.
 *
 * Return: the child's pid, or -1 with errno set.
 */
pid_t spawn_held(char **cmd, int *release)
{
	int go[2];
	pid_t child;
	char x;

	if (pipe2(go, O_CLOEXEC))
		return -1;
	child = fork();
	if (child < 0) {
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (child == 0) {
		close(go[1]);
		if (read(go[0], &x, 1) != 1)
			_exit(127);
		close(go[0]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "clockwatch: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	*release = go[1];
	return child;
}

/* Let the child of spawn_held() run: 0, or -1 with errno set. */
int spawn_release(int release)
{
	char x = 0;
	int ret = write(release, &x, 1) == 1 ? 0 : -1;

	close(release);
	return ret;
}
