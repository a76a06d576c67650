// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: the offsets of the calling process's time namespace.
 *
 * The module publishes CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW and
 * CLOCK_BOOTTIME as the initial time namespace sees them; a process in
 * another one reads them through offsets it finds in
 * /proc/self/timens_offsets (time_namespaces(7)): "monotonic" for
 * MONOTONIC (MONOTONIC_RAW and _COARSE with it), "boottime" for BOOTTIME.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TIMENS_OFFSETS	"/proc/self/timens_offsets"

/* The largest file the kernel writes: two lines of a name and two numbers. */
#define TIMENS_BUF	256

/* Do /proc/self/ns/time and time_for_children name the same namespace? */
static int same_for_children(void)
{
	char own[64], children[64];
	ssize_t a, b;

	a = readlink("/proc/self/ns/time", own, sizeof(own) - 1);
	b = readlink("/proc/self/ns/time_for_children", children,
		     sizeof(children) - 1);
	if (a < 0 || b < 0)
		return 1;	/* no such links: nothing to tell apart */
	return a == b && !memcmp(own, children, (size_t)a);
}

/* One line, "<clock> <seconds> <nanoseconds>"; the clock by name or id. */
static int parse_line(const char *line, struct cw_timens *out, unsigned int *seen)
{
	char name[32], tail;
	long long sec;
	long nsec;
	int id;

	if (sscanf(line, "%31s %lld %ld %c", name, &sec, &nsec, &tail) != 3)
		return -EPROTO;
	if (nsec < 0 || nsec >= 1000000000L ||
	    sec > INT64_MAX / 1000000000LL - 1 || sec < INT64_MIN / 1000000000LL + 1)
		return -EPROTO;
	if (!strcmp(name, "monotonic"))
		id = CLOCK_MONOTONIC;
	else if (!strcmp(name, "boottime"))
		id = CLOCK_BOOTTIME;
	else if (sscanf(name, "%d%c", &id, &tail) != 1)
		return -EPROTO;

	switch (id) {
	case CLOCK_MONOTONIC:
		out->monotonic_ns = sec * 1000000000LL + nsec;
		*seen |= 1;
		return 0;
	case CLOCK_BOOTTIME:
		out->boottime_ns = sec * 1000000000LL + nsec;
		*seen |= 2;
		return 0;
	default:
		return -EPROTO;
	}
}

int cw_timens__offsets(struct cw_timens *out)
{
	char buf[TIMENS_BUF], *line, *save = NULL;
	unsigned int seen = 0;
	ssize_t len;
	int fd, err;

	if (!out)
		return cw_err(-EINVAL);
	memset(out, 0, sizeof(*out));

	fd = open(TIMENS_OFFSETS, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : cw_err(-errno);
	do {
		len = read(fd, buf, sizeof(buf) - 1);
	} while (len < 0 && errno == EINTR);
	err = len < 0 ? -errno : 0;
	close(fd);
	if (err)
		return cw_err(err);
	if (len == sizeof(buf) - 1)
		return cw_err(-EPROTO);
	buf[len] = '\0';

	/* The file is the namespace of the process's future children. */
	if (!same_for_children())
		return cw_err(-EBUSY);

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		err = parse_line(line, out, &seen);
		if (err) {
			memset(out, 0, sizeof(*out));
			return cw_err(err);
		}
	}
	if (seen != 3) {
		memset(out, 0, sizeof(*out));
		return cw_err(-EPROTO);
	}
	return 0;
}
