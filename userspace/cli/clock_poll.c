// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: adjtimex() polling, for module-less mode.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <time.h>

#include "clock_poll.h"
#include "json.h"
#include "names.h"
#include "util.h"

/* The fastest the kernel slews: 500 ppm of offset correction, plus 500
 * ppm of frequency; plus the tick's deviation from nominal. */
#define MAX_SLEW_PPM		1000
#define JUMP_MARGIN_NS		(NSEC_PER_MSEC / 2)
#define WATCHED_STATUS		(STA_INS | STA_DEL | STA_UNSYNC)

#define SAMPLE_TRIES		5

static int read_ntp(struct timex *tx)
{
	tx->modes = 0;
	return adjtimex(tx);
}

void clock_poll_init(struct clock_poll *p, uint64_t traced)
{
	struct timex tx = {};

	p->time_state = read_ntp(&tx);
	p->status = tx.status;
	p->freq = tx.freq;
	p->tick = tx.tick;
	p->traced = traced;
	p->offset_ns = real_minus_mono(SAMPLE_TRIES, &p->mono_ns, &p->error_ns);
}

bool clock_poll_check(struct clock_poll *p, uint64_t traced, struct clock_poll_result *r)
{
	struct timex tx = {};
	int64_t mono, offset, error, change, allowed;
	int state;

	state = read_ntp(&tx);
	offset = real_minus_mono(SAMPLE_TRIES, &mono, &error);
	*r = (struct clock_poll_result){ .mono_ns = mono, .real_ns = mono + offset };

	change = offset - p->offset_ns;
	allowed = (int64_t)((double)(mono - p->mono_ns) *
			    (MAX_SLEW_PPM + labs(tx.tick - 10000) * 100) / 1e6) +
		  JUMP_MARGIN_NS + p->error_ns + error;
	if (llabs(change) > allowed && traced == p->traced) {
		r->jumped = true;
		r->jump_ns = change;
	}
	if (state != p->time_state || ((tx.status ^ p->status) & WATCHED_STATUS)) {
		r->state_changed = true;
		r->old_state = p->time_state;
		r->new_state = state;
		r->old_status = p->status;
		r->new_status = tx.status;
	}
	p->mono_ns = mono;
	p->offset_ns = offset;
	p->error_ns = error;
	p->traced = traced;
	p->time_state = state;
	p->status = tx.status;
	p->freq = tx.freq;
	p->tick = tx.tick;
	return r->jumped || r->state_changed;
}

void print_clock_poll(FILE *out, const struct clock_poll_result *r, bool json)
{
	const char *os = time_state_name(r->old_state), *ns = time_state_name(r->new_state);
	char bits[128];

	if (json) {
		struct json j;

		if (r->jumped) {
			json_init(&j, out);
			json_object_begin(&j, NULL);
			json_string(&j, "type", "step");
			json_string(&j, "source", "poll");
			json_int(&j, "mono_ns", r->mono_ns);
			json_int(&j, "real_ns", r->real_ns);
			json_string(&j, "cause", "unknown");
			json_int(&j, "delta_ns", r->jump_ns);
			json_object_end(&j);
			fputc('\n', out);
		}
		if (r->state_changed) {
			json_init(&j, out);
			json_object_begin(&j, NULL);
			json_string(&j, "type", "ntp_state");
			json_string(&j, "source", "poll");
			json_int(&j, "mono_ns", r->mono_ns);
			json_int(&j, "old_time_state", r->old_state);
			json_int(&j, "new_time_state", r->new_state);
			json_int(&j, "old_status", r->old_status);
			json_int(&j, "new_status", r->new_status);
			json_object_end(&j);
			fputc('\n', out);
		}
	} else {
		if (r->jumped)
			fprintf(out, "step       REALTIME moved by %+" PRId64
				" ns between two polls, with no clock-setting call seen (kernel step: leap second, resume?)\n",
				r->jump_ns);
		if (r->state_changed) {
			format_bits(bits, sizeof(bits), (uint32_t)r->new_status, ",",
				    ntp_status_bit_name);
			fprintf(out, "ntp_state  clock state %s -> %s, status now %s\n",
				os ? os : "?", ns ? ns : "?", bits);
		}
	}
	fflush(out);
}
