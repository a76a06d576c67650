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

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf) {
		len = 2;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		len = 3;
		if (*p == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (*p == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		len = 4;
		if (*p == 0xf0)
			lo = 0x90;	/* overlong */
		else if (*p == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	/* The NUL that ends the string fails this test: no read past it. */
	for (i = 1; i < len; i++) {
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/*
 * A JSON string, valid UTF-8 whatever s holds: a byte that does not begin
 * a well-formed UTF-8 sequence (a comm is any 15 bytes) is written as
 * U+FFFD, the replacement character, one per byte.
 */
static void write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	fputc('"', out);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p);
			p++;
		} else if ((len = utf8_len(p)) == 0) {
			fputs("\\ufffd", out);
			p++;
		} else {
			fwrite(p, 1, len, out);
			p += len;
		}
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
