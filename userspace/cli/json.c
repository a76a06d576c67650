// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: a small JSON writer for one-line objects (JSON Lines).
 */
#include <inttypes.h>
#include <math.h>

#include "json.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->need_comma = false;
}

static void write_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* The separator and the key that precede every value. */
static void begin_value(struct json *j, const char *key)
{
	if (j->need_comma)
		fputc(',', j->out);
	if (key) {
		write_string(j->out, key);
		fputc(':', j->out);
	}
	j->need_comma = true;
}

void json_object_begin(struct json *j, const char *key)
{
	begin_value(j, key);
	fputc('{', j->out);
	j->need_comma = false;
}

void json_object_end(struct json *j)
{
	fputc('}', j->out);
	j->need_comma = true;
}

void json_array_begin(struct json *j, const char *key)
{
	begin_value(j, key);
	fputc('[', j->out);
	j->need_comma = false;
}

void json_array_end(struct json *j)
{
	fputc(']', j->out);
	j->need_comma = true;
}

void json_int(struct json *j, const char *key, int64_t v)
{
	begin_value(j, key);
	fprintf(j->out, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	begin_value(j, key);
	fprintf(j->out, "%" PRIu64, v);
}

void json_double(struct json *j, const char *key, double v, int decimals)
{
	begin_value(j, key);
	if (isfinite(v))
		fprintf(j->out, "%.*f", decimals, v);
	else
		fputs("null", j->out);
}

void json_string(struct json *j, const char *key, const char *s)
{
	begin_value(j, key);
	write_string(j->out, s);
}

void json_bool(struct json *j, const char *key, bool v)
{
	begin_value(j, key);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j, const char *key)
{
	begin_value(j, key);
	fputs("null", j->out);
}
