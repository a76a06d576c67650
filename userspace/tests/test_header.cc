// SPDX-License-Identifier: GPL-2.0
/*
 * The public headers as a C++ program sees them: clockwatch.h (and the
 * ABI header it includes) compile with g++ -Wall -Wextra -Werror, and the
 * functions link with C names.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "clockwatch.h"

static int failed;

static void check(int n, bool ok, const char *what)
{
	std::printf("%sok %d %s\n", ok ? "" : "not ", n, what);
	if (!ok)
		failed = 1;
}

int main()
{
	struct clockwatch_page page;
	struct clockwatch_event ev;
	struct cw_clock_opts opts;
	struct cw_timens ns;
	struct cw_now now;

	std::memset(&page, 0, sizeof(page));
	std::memset(&ev, 0, sizeof(ev));
	std::memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	page.size = sizeof(page);
	ev.ntp_adjust.after.status = 1;

	std::printf("TAP version 13\n1..5\n");
	check(1, sizeof(ev) == CLOCKWATCH_EVENT_SIZE, "event record size");
	check(2, CLOCKWATCH_FIELD_PRESENT(&page, unseen_step_ns), "FIELD_PRESENT");
	check(3, cw_hist_bucket_lo(CLOCKWATCH_HIST_BUCKETS) == UINT64_MAX,
	      "cw_hist_bucket_lo links");
	check(4, cw_timens__offsets(&ns) == 0 || ns.monotonic_ns == 0,
	      "cw_timens__offsets links");
	check(5, cw_clock__now(NULL, &now) == -EINVAL && now.status == CW_STATUS_UNKNOWN,
	      "cw_clock__now links");
	return failed;
}
