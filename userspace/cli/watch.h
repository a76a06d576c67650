/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch watch: event sources.
 *
 * "clockwatch watch" polls a list of event sources and prints what each
 * has, as lines for a person or as JSON Lines.  The module's event ring
 * (/dev/clockwatch) is one source; another tracker (the BPF pause
 * tracker) adds itself with an opener in watch_extra_sources[] (watch.c):
 *
 *	int my_source_open(struct watch_source *src);
 *
 * fills in @fd, @drain, @close and @priv and returns 0, or returns a
 * negative errno, and watch goes on without it.
 */
#ifndef __CLOCKWATCH_WATCH_H
#define __CLOCKWATCH_WATCH_H

#include <stdbool.h>
#include <stdio.h>

struct watch_output {
	FILE *out;
	bool json;
};

/**
 * struct watch_source - one place events come from
 * @name:	for messages ("module", "bpf")
 * @fd:		polled for POLLIN
 * @drain:	read what is waiting on @fd without blocking, print at most
 *		@max clock events (@max > 0) and every pause event waiting,
 *		and return how many clock events were printed (pauses do
 *		not count toward --count), or a negative errno
 * @close:	release the source; may be NULL
 * @priv:	the source's own state
 */
struct watch_source {
	const char *name;
	int fd;
	int (*drain)(struct watch_source *src, const struct watch_output *o,
		     long max);
	void (*close)(struct watch_source *src);
	void *priv;
};

typedef int (*watch_source_open_t)(struct watch_source *src);

/* Names of the ABI's values, "unknown" for one this tool does not know. */
const char *event_type_name(unsigned int type);
const char *step_cause_name(unsigned int cause);
const char *sync_state_name(unsigned int state);
const char *sync_reason_name(unsigned int reason);

struct clockwatch_event;

/* The module's ring, shared with `clockwatch record`: see watch.c. */
int module_events_open(const char *device);
int watch_timens_init(void);
void print_module_event_json(FILE *out, const struct clockwatch_event *ev);

#endif /* __CLOCKWATCH_WATCH_H */
