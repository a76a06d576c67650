// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch report: draw a record of `clockwatch record` as one HTML
 * page (report_parse.c reads it, report_svg.c draws it).
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "report.h"
#include "util.h"

static struct report_env {
	const char *input;
	const char *output;
} env;

static const char doc[] =
"Draw a record of `clockwatch record` as one self-contained HTML page (SVG\n"
"and CSS inline, nothing fetched): a summary; on one time axis, seconds\n"
"since the start of the run, REALTIME - MONOTONIC with a marker for each\n"
"step (its size and cause) and disruption, the bound's width coloured by\n"
"its status, a lane a CPU with its stalls and a lane a process with its\n"
"pauses; beside them histograms of the stall and pause durations. The\n"
"colours are listed in clockwatch(8).\n"
"\n"
"USAGE: clockwatch report FILE -o HTML\n"
"\n"
"EXAMPLES:\n"
"    clockwatch record -o run.jsonl -- ./renew-lease\n"
"    clockwatch report run.jsonl -o run.html     # then open run.html";

static const struct argp_option opts[] = {
	{ "output", 'o', "HTML", 0, "Write the page to HTML (required; - for stdout)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'o':
		if (!*arg)
			argp_error(state, "empty output file name");
		env.output = arg;
		break;
	case ARGP_KEY_ARG:
		if (env.input)
			argp_error(state, "unexpected argument '%s': one record at a time", arg);
		if (!*arg)
			argp_error(state, "empty record file name");
		env.input = arg;
		break;
	case ARGP_KEY_END:
		if (!env.input)
			argp_error(state, "no record given (clockwatch report FILE -o HTML)");
		if (!env.output)
			argp_error(state, "no output file given (-o HTML)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "FILE",
		.doc = doc,
	};
	bool to_stdout;
	char err[512];
	struct run r;
	FILE *in, *out;
	int ret;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	in = fopen(env.input, "re");
	if (!in) {
		fprintf(stderr, "clockwatch report: %s: %s\n", env.input, strerror(errno));
		return EXIT_ERROR;
	}
	ret = run_read(in, env.input, &r, err, sizeof(err));
	fclose(in);
	if (ret) {
		fprintf(stderr, "clockwatch report: %s\n", err);
		run_free(&r);
		return EXIT_ERROR;
	}

	to_stdout = !strcmp(env.output, "-");
	out = to_stdout ? stdout : fopen(env.output, "we");
	if (!out) {
		fprintf(stderr, "clockwatch report: %s: %s\n", env.output, strerror(errno));
		run_free(&r);
		return EXIT_ERROR;
	}
	ret = report_html(out, &r);
	if ((to_stdout ? fflush(out) : fclose(out)) && !ret)
		ret = -errno;
	run_free(&r);
	if (ret) {
		fprintf(stderr, "clockwatch report: %s: %s\n", env.output, strerror(-ret));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}
