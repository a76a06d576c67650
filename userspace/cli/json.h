/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: a small JSON writer for one-line objects (JSON Lines).
 *
 * Integers are written exactly (int64 and uint64, never through a
 * double); a NaN double is written as null.  Strings come out valid
 * UTF-8: a byte that does not begin a well-formed sequence is written as
 * U+FFFD.  A key of NULL writes an
 * array element.
 */
#ifndef __CLOCKWATCH_JSON_H
#define __CLOCKWATCH_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *out;
	bool need_comma;	/* a value precedes in the current container */
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_double(struct json *j, const char *key, double v, int decimals);
void json_string(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

#endif /* __CLOCKWATCH_JSON_H */
