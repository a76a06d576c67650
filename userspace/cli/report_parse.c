// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch report: reading a record of `clockwatch record`.
 *
 * A record is JSON Lines: one object a line, its "type" first among its
 * members in practice but looked up by name here.  Only what the report
 * draws is kept; members and record types it does not know are passed
 * over, so that a newer record of the same format still reads.  The JSON
 * reader is small: it finds a member of an object by its key and reads
 * numbers and strings; nested objects and arrays are skipped as spans.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define RECORD_FORMAT_MAX	1

enum jtype { J_NONE, J_NULL, J_BOOL, J_NUM, J_STR, J_OBJ, J_ARR };

/* A value: where it starts in the line and how long it is. */
struct jval {
	enum jtype type;
	const char *p;
	size_t len;
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static const char *skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && !*++p)
			return NULL;
	return *p == '"' ? p + 1 : NULL;
}

/* The value at @p into @v: the end of it, or NULL when it is not JSON. */
static const char *scan_value(const char *p, struct jval *v)
{
	const char *s = skip_ws(p);
	const char *e = s;
	int depth = 0;

	v->p = s;
	switch (*s) {
	case '"':
		v->type = J_STR;
		e = skip_string(s);
		break;
	case '{':
	case '[':
		v->type = *s == '{' ? J_OBJ : J_ARR;
		for (; *e; ) {
			if (*e == '"') {
				e = skip_string(e);
				if (!e)
					return NULL;
				continue;
			}
			if (*e == '{' || *e == '[')
				depth++;
			else if ((*e == '}' || *e == ']') && --depth == 0)
				break;
			e++;
		}
		e = *e ? e + 1 : NULL;
		break;
	case 't':
	case 'f':
	case 'n':
		v->type = *s == 'n' ? J_NULL : J_BOOL;
		if (!strncmp(s, "true", 4))
			e = s + 4;
		else if (!strncmp(s, "false", 5))
			e = s + 5;
		else if (!strncmp(s, "null", 4))
			e = s + 4;
		else
			e = NULL;
		break;
	default:
		v->type = J_NUM;
		while (*e && strchr("-+0123456789.eE", *e))
			e++;
		if (e == s)
			e = NULL;
		break;
	}
	if (e)
		v->len = (size_t)(e - s);
	return e;
}

/*
 * The member @key of the object @obj into @v: 0, -ENOENT when there is
 * none, -EINVAL when the object is not well formed.
 */
static int obj_get(const struct jval *obj, const char *key, struct jval *v)
{
	const char *p = obj->p + 1, *end = obj->p + obj->len - 1;
	size_t klen = strlen(key);
	struct jval k;

	if (obj->type != J_OBJ)
		return -EINVAL;
	for (p = skip_ws(p); p < end; p = skip_ws(p)) {
		p = scan_value(p, &k);
		if (!p || k.type != J_STR)
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = scan_value(p, v);
		if (!p)
			return -EINVAL;
		if (k.len == klen + 2 && !memcmp(k.p + 1, key, klen))
			return 0;
		p = skip_ws(p);
		if (*p == ',')
			p++;
	}
	return -ENOENT;
}

static bool num_of(const struct jval *v, int64_t *out)
{
	char buf[32], *end;

	if (v->type != J_NUM || v->len >= sizeof(buf))
		return false;
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno == ERANGE && buf[0] != '-')
		*out = (int64_t)strtoull(buf, &end, 10);
	return end != buf && !*end;
}

/* A string's text, unescaped (\uXXXX as UTF-8), cut to @len - 1 bytes. */
static void str_of(const struct jval *v, char *buf, size_t len)
{
	const char *p = v->p + 1, *end = v->p + v->len - 1;
	size_t n = 0;
	unsigned int u;

	buf[0] = '\0';
	if (v->type != J_STR || !len)
		return;
	while (p < end && n + 4 < len) {
		if (*p != '\\') {
			buf[n++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': buf[n++] = '\n'; break;
		case 't': buf[n++] = '\t'; break;
		case 'r': buf[n++] = '\r'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'u':
			if (end - p < 5 || sscanf(p + 1, "%4x", &u) != 1)
				u = 0xfffd;
			p += 4;
			if (u < 0x80) {
				buf[n++] = (char)u;
			} else if (u < 0x800) {
				buf[n++] = (char)(0xc0 | u >> 6);
				buf[n++] = (char)(0x80 | (u & 0x3f));
			} else {
				buf[n++] = (char)(0xe0 | u >> 12);
				buf[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
				buf[n++] = (char)(0x80 | (u & 0x3f));
			}
			break;
		default: buf[n++] = *p; break;
		}
		p++;
	}
	buf[n] = '\0';
}

/* Helpers that look a member up and read it; false when absent or wrong. */
static bool get_num(const struct jval *o, const char *key, int64_t *out)
{
	struct jval v;

	return !obj_get(o, key, &v) && num_of(&v, out);
}

static bool get_str(const struct jval *o, const char *key, char *buf, size_t len)
{
	struct jval v;

	buf[0] = '\0';
	if (obj_get(o, key, &v) || v.type != J_STR)
		return false;
	str_of(&v, buf, len);
	return true;
}

/* Append a zeroed element to an array that grows by doubling. */
static void *push(void *arr, size_t *nr, size_t size)
{
	char **a = arr;
	char *grown;

	if (!(*nr & (*nr - 1))) {
		grown = realloc(*a, (*nr ? *nr * 2 : 1) * size);
		if (!grown)
			return NULL;
		*a = grown;
	}
	memset(*a + *nr * size, 0, size);
	return *a + (*nr)++ * size;
}

struct line_ctx {
	const char *name;
	long line;
	char *err;
	size_t errlen;
};

static int fail(const struct line_ctx *c, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%ld: %s (%s)", c->name, c->line, what, strerror(-err));
	return err;
}

static void add_missing(struct run *r, const struct jval *sources, const char *key,
			const char *what)
{
	char why[128];
	size_t n = strlen(r->missing);

	if (!get_str(sources, key, why, sizeof(why)))
		return;
	snprintf(r->missing + n, sizeof(r->missing) - n, "%s%s: %s", n ? "; " : "", what, why);
}

static int read_header(struct run *r, const struct jval *o, const struct line_ctx *c)
{
	struct jval start, cmd, sources, w;
	char steps[16];
	const char *p;
	int64_t v;
	size_t n = 0;

	if (!get_num(o, "format", &v))
		return fail(c, -EINVAL, "a header without its format");
	if (v < 1 || v > RECORD_FORMAT_MAX)
		return fail(c, -EPROTO, "record format %" PRId64 ", this reader knows 1 to %d",
			    v, RECORD_FORMAT_MAX);
	r->format = (int)v;
	if (obj_get(o, "start", &start) || !get_num(&start, "monotonic_ns", &r->start_mono_ns))
		return fail(c, -EINVAL, "a header without start.monotonic_ns");
	get_num(&start, "realtime_ns", &r->start_real_ns);
	get_str(o, "cli_version", r->cli_version, sizeof(r->cli_version));
	get_str(o, "kernel", r->kernel, sizeof(r->kernel));
	get_str(o, "host", r->host, sizeof(r->host));
	r->nr_cpus = get_num(o, "nr_cpus", &v) && v > 0 && v < 4096 ? (unsigned int)v : 1;
	if (get_num(o, "interval_ns", &v) && v > 0)
		r->interval_ns = (uint64_t)v;
	if (get_num(o, "pause_threshold_ns", &v) && v > 0)
		r->pause_threshold_ns = (uint64_t)v;
	if (!obj_get(o, "command", &cmd) && cmd.type == J_ARR) {
		for (p = skip_ws(cmd.p + 1); *p && *p != ']'; p = skip_ws(p)) {
			p = scan_value(p, &w);
			if (!p)
				break;
			if (n && n + 1 < sizeof(r->command))
				r->command[n++] = ' ';
			str_of(&w, r->command + n, sizeof(r->command) - n);
			n = strlen(r->command);
			p = skip_ws(p);
			if (*p == ',')
				p++;
		}
	}
	if (!obj_get(o, "sources", &sources)) {
		add_missing(r, &sources, "module_missing", "module");
		add_missing(r, &sources, "bpf_missing", "pauses");
		if (get_str(&sources, "steps", steps, sizeof(steps)) && !strcmp(steps, "none")) {
			n = strlen(r->missing);
			snprintf(r->missing + n, sizeof(r->missing) - n, "%s%s", n ? "; " : "",
				 "steps: neither the module nor BPF");
		}
	}
	return 0;
}

/* Seconds since the start of the run of a CLOCK_MONOTONIC time. */
static double run_t(struct run *r, int64_t mono_ns)
{
	double t = (double)(mono_ns - r->start_mono_ns) / 1e9;

	if (t > r->last_t)
		r->last_t = t;
	return t;
}

static int read_record(struct run *r, const struct jval *o, const char *type,
		       const struct line_ctx *c)
{
	struct run_sample *s;
	struct run_mark *m;
	struct run_bar *b;
	int64_t mono, v, start, dur;
	struct jval jv;

	if (!strcmp(type, "end")) {
		r->has_end = true;
		if (get_num(o, "mono_ns", &mono))
			r->end_t = run_t(r, mono);
		r->exit_status = get_num(o, "exit_status", &v) ? (int)v : -1;
		r->signal = get_num(o, "signal", &v) ? (int)v : 0;
		return 0;
	}
	if (!strcmp(type, "ntp_adjust")) {
		r->ntp_writes++;
		return 0;
	}
	if (!strcmp(type, "overrun")) {
		if (get_num(o, "lost", &v))
			r->lost += (uint64_t)v;
		return 0;
	}
	if (!strcmp(type, "sample")) {
		if (!get_num(o, "mono_ns", &mono) || !get_num(o, "real_minus_mono_ns", &v))
			return fail(c, -EINVAL, "a sample without mono_ns or real_minus_mono_ns");
		s = push(&r->samples, &r->nr_samples, sizeof(*s));
		if (!s)
			return fail(c, -ENOMEM, "sample");
		s->t = run_t(r, mono);
		s->offset_ns = v;
		get_str(o, "status", s->status, sizeof(s->status));
		s->has_bound = get_num(o, "bound_ns", &v);
		s->bound_ns = s->has_bound ? (uint64_t)v : 0;
		return 0;
	}
	if (!strcmp(type, "step") || !strcmp(type, "disruption")) {
		bool step = type[0] == 's';

		if (!get_num(o, "mono_ns", &mono))
			return fail(c, -EINVAL, "a %s without mono_ns", type);
		/* a clock-setting call that failed (BPF records them) moved nothing */
		if (step && get_num(o, "ret", &v) && v < 0)
			return 0;
		m = push(&r->marks, &r->nr_marks, sizeof(*m));
		if (!m)
			return fail(c, -ENOMEM, "%s", type);
		m->t = run_t(r, mono);
		m->step = step;
		if (step)
			get_num(o, "delta_ns", &m->delta_ns);
		get_str(o, step ? "cause" : "reason", m->cause, sizeof(m->cause));
		return 0;
	}
	if (!strcmp(type, "stall") || !strcmp(type, "pause")) {
		bool stall = type[1] == 't';

		if (!get_num(o, "start_ns", &start) || !get_num(o, "duration_ns", &dur) ||
		    !get_num(o, stall ? "cpu" : "pid", &v) || dur < 0 || v < 0)
			return fail(c, -EINVAL, "a %s without start_ns, duration_ns or %s", type,
				    stall ? "cpu" : "pid");
		b = stall ? push(&r->stalls, &r->nr_stalls, sizeof(*b)) :
			    push(&r->pauses, &r->nr_pauses, sizeof(*b));
		if (!b)
			return fail(c, -ENOMEM, "%s", type);
		b->t = run_t(r, start);
		run_t(r, start + dur);
		b->duration_ns = (uint64_t)dur;
		b->who = (unsigned int)v;
		if (!stall) {
			get_str(o, "comm", b->comm, sizeof(b->comm));
			get_str(o, "kind", b->kind, sizeof(b->kind));
		} else if (!obj_get(o, "context", &jv)) {
			str_of(&jv, b->kind, sizeof(b->kind));
		}
		return 0;
	}
	return 0;	/* a record the report does not draw */
}

int run_read(FILE *f, const char *name, struct run *r, char *err, size_t errlen)
{
	struct line_ctx c = { .name = name, .err = err, .errlen = errlen };
	char *line = NULL, type[32];
	size_t cap = 0;
	struct jval o;
	const char *end;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	r->exit_status = -1;
	err[0] = '\0';
	while (getline(&line, &cap, f) >= 0) {
		c.line++;
		if (!*skip_ws(line))
			continue;
		end = scan_value(line, &o);
		if (!end || o.type != J_OBJ || *skip_ws(end)) {
			ret = fail(&c, -EINVAL, "not a JSON object");
			break;
		}
		if (!get_str(&o, "type", type, sizeof(type))) {
			ret = fail(&c, -EINVAL, "a record without a type");
			break;
		}
		if (!r->format) {
			ret = strcmp(type, "header") ?
			      fail(&c, -EINVAL, "not a clockwatch record: the first line is no header") :
			      read_header(r, &o, &c);
		} else {
			ret = read_record(r, &o, type, &c);
		}
		if (ret)
			break;
	}
	if (!ret && ferror(f))
		ret = fail(&c, -EIO, "reading");
	if (!ret && !r->format) {
		c.line = 1;
		ret = fail(&c, -EINVAL, "not a clockwatch record: empty");
	}
	free(line);
	return ret;
}

void run_free(struct run *r)
{
	free(r->samples);
	free(r->marks);
	free(r->stalls);
	free(r->pauses);
	memset(r, 0, sizeof(*r));
}
