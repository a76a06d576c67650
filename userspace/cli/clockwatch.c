// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: show what the clockwatch module sees of the system clocks
 * and the kernel NTP state.  One program, subcommands dispatched by name.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util.h"

#ifndef CLOCKWATCH_VERSION
#define CLOCKWATCH_VERSION "unknown"
#endif
#ifndef CLOCKWATCH_BUG_ADDRESS
#define CLOCKWATCH_BUG_ADDRESS "the clockwatch issue tracker"
#endif

const char *argp_program_version = "clockwatch " CLOCKWATCH_VERSION;
const char *argp_program_bug_address = CLOCKWATCH_BUG_ADDRESS;

/* One line per subcommand, so each addition is a one-line diff. */
static const struct command commands[] = {
	{ "status", "show the clocks and the NTP state the module publishes", cmd_status },
	{ "now", "the time as [earliest, latest] with its error bound and status", cmd_now },
	{ "export", "metrics in the Prometheus text format: textfile or /metrics", cmd_export },
	{ "watch", "print clock steps, NTP writes and other events as they happen", cmd_watch },
	{ "stalls", "show how long processes were kept from running, and why (BPF)", cmd_stalls },
	{ "guard", "run a command, report its pauses and clock steps (BPF)", cmd_guard },
	{ "chrony-report", "pass chronyd's remaining correction to the module (a helper)",
	  cmd_chrony_report },
	{ "record", "run a command, record what clockwatch sees meanwhile", cmd_record },
	{ "report", "draw a record as one HTML page: timelines and histograms", cmd_report },
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const char doc[] =
"Show the system clocks and the kernel NTP state as the clockwatch module\n"
"publishes them in /dev/clockwatch.\n"
"\n"
"USAGE: clockwatch [--help] [--version] COMMAND [OPTION...]\n"
"\n"
"EXAMPLES:\n"
"    clockwatch status                 # the clocks and the NTP state\n"
"    clockwatch status --json          # the same as one JSON object\n"
"    clockwatch status -i 1 -c 10      # REALTIME's rate, once a second\n"
"    clockwatch status --help          # the options of one command"
"\v"
"Run 'clockwatch COMMAND --help' for the options of a command.";

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

struct main_args {
	const struct command *command;
	int first;		/* argv index of the command's name */
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct main_args *args = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		args->command = find_command(arg);
		if (!args->command)
			argp_error(state, "unknown command '%s'", arg);
		/* What follows belongs to the command: stop here. */
		args->first = state->next - 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no command given");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* List the commands from the table after the options in --help. */
static char *help_filter(int key, const char *text, void *input)
{
	char *list = NULL;
	size_t len = 0;
	FILE *f;
	size_t i;

	(void)input;
	if (key != ARGP_KEY_HELP_POST_DOC)
		return (char *)text;

	f = open_memstream(&list, &len);
	if (!f)
		return (char *)text;
	fprintf(f, "COMMANDS:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n%s", text);
	fclose(f);
	return list;
}

int main(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{},
	};
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "COMMAND [OPTION...]",
		.doc = doc,
		.help_filter = help_filter,
	};
	struct main_args args = {};
	char *name;
	int err;

	argp_err_exit_status = EXIT_USAGE;

	err = argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &args);
	if (err)
		return EXIT_USAGE;

	/* The command sees "clockwatch NAME" as its program name. */
	if (asprintf(&name, "clockwatch %s", args.command->name) < 0) {
		perror("clockwatch");
		return EXIT_ERROR;
	}
	argv[args.first] = name;
	err = args.command->run(argc - args.first, argv + args.first);
	free(name);
	return err;
}
