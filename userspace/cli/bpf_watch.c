// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch watch: the BPF event source.
 *
 * Pause events always (pauses of at least CLOCKWATCH_PAUSE_MS ms, default
 * 10, of every process); and, when the module is not there, the clock
 * changes it would have reported: steps and NTP writes with their caller
 * from the syscall tracepoints, and kernel-made steps and clock state
 * changes from adjtimex polling.  One epoll fd stands for the two ring
 * buffers and the polling timer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bpf_events.h"
#include "bpf_watch.h"
#include "clock_poll.h"
#include "cwbpf.h"
#include "util.h"

#include <linux/clockwatch.h>

#define DEFAULT_PAUSE_MS	10
#define POLL_INTERVAL_MS	200

struct bpf_watch {
	struct cw_pauses *pauses;
	struct cw_clocks *clocks;	/* NULL with the module */
	int timer_fd;
	struct clock_poll poll;
	const struct watch_output *o;	/* during a drain */
	long left;			/* events the drain may still print */
	long printed;
};

static int on_pause(void *ctx, const struct cw_pause_event *e)
{
	struct bpf_watch *w = ctx;

	/* Printed, never counted: --count counts clock events. */
	print_pause_event(w->o->out, e, w->o->json);
	return 0;
}

static int on_clock(void *ctx, const struct cw_clock_event *e)
{
	struct bpf_watch *w = ctx;

	if (w->left <= 0)
		return -E2BIG;		/* stop: the rest waits for the next drain */
	print_clock_event(w->o->out, e, w->o->json);
	w->left--;
	w->printed++;
	return 0;
}

static int drain(struct watch_source *src, const struct watch_output *o, long max)
{
	struct bpf_watch *w = src->priv;
	struct clock_poll_result r;
	uint64_t ticks;

	w->o = o;
	w->left = max > 0 ? max : LONG_MAX;
	w->printed = 0;
	if (w->clocks)
		cw_clocks__poll(w->clocks, 0);
	cw_pauses__poll(w->pauses, 0);
	if (w->timer_fd >= 0 && read(w->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks) &&
	    w->left > 0 && clock_poll_check(&w->poll, cw_clocks__step_seq(w->clocks), &r)) {
		print_clock_poll(o->out, &r, o->json);
		w->printed++;
	}
	fflush(o->out);
	return (int)w->printed;
}

static void close_source(struct watch_source *src)
{
	struct bpf_watch *w = src->priv;

	if (!w)
		return;
	if (src->fd >= 0)
		close(src->fd);
	if (w->timer_fd >= 0)
		close(w->timer_fd);
	cw_clocks__close(w->clocks);
	cw_pauses__close(w->pauses);
	free(w);
	src->priv = NULL;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int bpf_watch_source_open(struct watch_source *src)
{
	struct cw_pauses_opts opts = { .event_min_ns = DEFAULT_PAUSE_MS * NSEC_PER_MSEC };
	struct itimerspec its = {
		.it_interval.tv_nsec = POLL_INTERVAL_MS * NSEC_PER_MSEC,
		.it_value.tv_nsec = POLL_INTERVAL_MS * NSEC_PER_MSEC,
	};
	const char *ms = getenv("CLOCKWATCH_PAUSE_MS");
	struct bpf_watch *w;
	long v;
	int err;

	if (ms && parse_long(ms, 0, 3600 * 1000, &v) == 0)
		opts.event_min_ns = v ? (uint64_t)v * NSEC_PER_MSEC : 1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->timer_fd = -1;
	src->name = "bpf";
	src->priv = w;
	src->drain = drain;
	src->close = close_source;
	src->fd = epoll_create1(EPOLL_CLOEXEC);
	if (src->fd < 0) {
		err = -errno;
		goto err_close;
	}
	err = cw_pauses__open(&w->pauses, &opts);
	if (err)
		goto err_close;
	cw_pauses__set_callback(w->pauses, on_pause, w);
	err = add_fd(src->fd, cw_pauses__events_fd(w->pauses));
	if (err)
		goto err_close;

	/* without the module, the clock changes come from here */
	if (access(CLOCKWATCH_DEVICE, F_OK) != 0 &&
	    cw_clocks__open(&w->clocks) == 0) {
		cw_clocks__set_callback(w->clocks, on_clock, w);
		err = add_fd(src->fd, cw_clocks__events_fd(w->clocks));
		if (err)
			goto err_close;
		clock_poll_init(&w->poll, cw_clocks__step_seq(w->clocks));
		w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->timer_fd < 0 || timerfd_settime(w->timer_fd, 0, &its, NULL) ||
		    add_fd(src->fd, w->timer_fd)) {
			err = -errno;
			goto err_close;
		}
	}
	return 0;

err_close:
	close_source(src);
	src->fd = -1;
	return err;
}
