/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clockwatch tool the host tests run: $CLOCKWATCH_CLI (make test sets
 * it), else ../clockwatch beside the test program's folder.
 */
#ifndef __CLOCKWATCH_TESTS_CLI_PATH_H
#define __CLOCKWATCH_TESTS_CLI_PATH_H

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *cli_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("CLOCKWATCH_CLI");
	char *slash;
	ssize_t n;

	if (env)
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		return "clockwatch";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash : path, "/../clockwatch");
	return path;
}

#endif /* __CLOCKWATCH_TESTS_CLI_PATH_H */
