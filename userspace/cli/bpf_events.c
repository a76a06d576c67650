// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: printing the events of the BPF trackers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf_events.h"
#include "cwbpf.h"
#include "json.h"
#include "names.h"
#include "util.h"

void format_duration(char *buf, size_t len, uint64_t ns)
{
	if (ns >= (uint64_t)NSEC_PER_SEC)
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	else if (ns >= (uint64_t)NSEC_PER_MSEC)
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
}

/* CLOCK_REALTIME of a CLOCK_MONOTONIC instant, with today's offset. */
static int64_t mono_to_real(uint64_t mono)
{
	return (int64_t)mono + real_minus_mono(3, NULL, NULL);
}

static void print_time_of(FILE *out, uint64_t mono)
{
	int64_t real = mono_to_real(mono);
	time_t t = (time_t)(real / NSEC_PER_SEC);
	char when[16] = "-";
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out, "%s.%03d", when, (int)(real % NSEC_PER_SEC / NSEC_PER_MSEC));
}

void print_pause_header(FILE *out)
{
	fprintf(out, "%-12s  %-9s  %7s  %7s  %-16s  %12s  %s\n",
		"TIME", "TYPE", "PID", "TID", "COMM", "DURATION", "KIND");
}

void print_pause_event(FILE *out, const struct cw_pause_event *e, bool json)
{
	char comm[sizeof(e->comm) + 1] = "";
	uint64_t dur = e->end_ns - e->start_ns;
	char d[32];

	memcpy(comm, e->comm, sizeof(e->comm));
	if (json) {
		struct json j;

		json_init(&j, out);
		json_object_begin(&j, NULL);
		json_string(&j, "type", "pause");
		json_string(&j, "source", "bpf");
		json_uint(&j, "mono_ns", e->end_ns);
		json_int(&j, "real_ns", mono_to_real(e->end_ns));
		json_uint(&j, "start_ns", e->start_ns);
		json_uint(&j, "pid", e->pid);
		json_uint(&j, "tid", e->tid);
		json_string(&j, "comm", comm);
		json_uint(&j, "duration_ns", dur);
		json_string(&j, "kind", cw_pause_kind_name(e->kind));
		json_uint(&j, "runq_ns", e->runq_ns);
		json_uint(&j, "cpu", e->cpu);
		json_uint(&j, "cgroup_id", e->cgroup_id);
		json_object_end(&j);
		fputc('\n', out);
	} else {
		format_duration(d, sizeof(d), dur);
		print_time_of(out, e->end_ns);
		fprintf(out, "  %-9s  %7u  %7u  %-16s  %12s  %s", "pause", e->pid, e->tid,
			comm, d, cw_pause_kind_name(e->kind));
		if (e->kind == CW_PAUSE_STOPPED && e->runq_ns) {
			format_duration(d, sizeof(d), e->runq_ns);
			fprintf(out, " (then %s waiting for a CPU)", d);
		}
		fputc('\n', out);
	}
	fflush(out);
}

const char *clock_call_name(unsigned int call)
{
	switch (call) {
	case CW_CALL_CLOCK_SETTIME:	return "clock_settime";
	case CW_CALL_SETTIMEOFDAY:	return "settimeofday";
	case CW_CALL_ADJTIMEX:		return "adjtimex";
	case CW_CALL_CLOCK_ADJTIME:	return "clock_adjtime";
	}
	return "unknown";
}

static void json_timex(struct json *j, const char *key, const struct cw_timex_fields *f)
{
	json_object_begin(j, key);
	json_int(j, "offset", f->offset);
	json_int(j, "freq", f->freq);
	json_int(j, "maxerror", f->maxerror);
	json_int(j, "esterror", f->esterror);
	json_int(j, "status", f->status);
	json_int(j, "constant", f->constant);
	json_int(j, "tick", f->tick);
	json_int(j, "tai", f->tai);
	json_object_end(j);
}

void print_clock_event(FILE *out, const struct cw_clock_event *e, bool json)
{
	bool step = e->flags & CW_CLOCK_EV_STEP;
	char comm[sizeof(e->comm) + 1] = "";
	char bits[128];

	memcpy(comm, e->comm, sizeof(e->comm));
	if (json) {
		struct json j;

		json_init(&j, out);
		json_object_begin(&j, NULL);
		json_uint(&j, "seq", e->seq);
		json_string(&j, "type", step ? "step" : "ntp_adjust");
		json_string(&j, "source", "bpf");
		json_uint(&j, "mono_ns", e->mono_ns);
		json_int(&j, "real_ns", mono_to_real(e->mono_ns));
		json_uint(&j, "pid", e->pid);
		json_uint(&j, "tid", e->tid);
		json_string(&j, "comm", comm);
		json_string(&j, "cause", clock_call_name(e->call));
		json_int(&j, "ret", e->ret);
		json_int(&j, "delta_ns", e->delta_ns);
		if (e->flags & CW_CLOCK_EV_WRITE) {
			json_uint(&j, "modes", e->modes);
			json_timex(&j, "requested", &e->req);
			json_timex(&j, "new", &e->res);
		}
		json_object_end(&j);
		fputc('\n', out);
	} else {
		print_time_of(out, e->mono_ns);
		fprintf(out, "  %-10s %7u  %-16s  %s", step ? "step" : "ntp_adjust",
			e->pid, comm, clock_call_name(e->call));
		if (e->ret < 0)
			fprintf(out, " failed (%s)", strerror((int)-e->ret));
		else if (step)
			fprintf(out, " stepped REALTIME by %+" PRId64 " ns", (int64_t)e->delta_ns);
		if (e->flags & CW_CLOCK_EV_WRITE) {
			format_bits(bits, sizeof(bits), (uint32_t)e->res.status, ",",
				    ntp_status_bit_name);
			fprintf(out, " modes 0x%04x: freq %+.3f ppm, maxerror %" PRId64
				" us, status %s", e->modes, (double)e->res.freq / 65536.0,
				(int64_t)e->res.maxerror, bits);
		}
		fputc('\n', out);
	}
	fflush(out);
}
