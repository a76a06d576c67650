/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: the subcommands.  Each lives in its own file and parses its
 * own options with argp; argv[0] is "clockwatch NAME".
 */
#ifndef __CLOCKWATCH_COMMANDS_H
#define __CLOCKWATCH_COMMANDS_H

struct command {
	const char *name;
	const char *summary;	/* one line for "clockwatch --help" */
	int (*run)(int argc, char **argv);	/* returns an exit code */
};

int cmd_status(int argc, char **argv);
int cmd_now(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_stalls(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_guard(int argc, char **argv);
int cmd_chrony_report(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif /* __CLOCKWATCH_COMMANDS_H */
