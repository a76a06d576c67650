// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch stalls: the host section, from the module's RTC audit.
 *
 * A host pause stops the whole VM, every guest clock with it: no process
 * and no CPU probe inside the guest sees it as a pause of its own.  The
 * module's RTC audit does (the RTC runs on the host's clock) and counts
 * each jump on the page.  The section reads the page at the start and at
 * the end of the run: how many host pauses came in between, and the last
 * one's size.  Without the module or its audit the section says why.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/clockwatch.h>

#include "clockwatch.h"
#include "json.h"
#include "stalls_host.h"
#include "util.h"

static struct {
	struct cw_reader *reader;
	const char *why;		/* not available: why */
	struct clockwatch_page begin, end;
} h;

/** stalls_host_start() - the audit's counts before the run; 0 */
int stalls_host_start(void)
{
	h.reader = cw_reader__open(NULL);
	if (!h.reader) {
		h.why = errno == ENOENT ? "the clockwatch module is not loaded" :
			"cannot read /dev/clockwatch";
		return 0;
	}
	if (cw_reader__read(h.reader, &h.begin)) {
		h.why = "cannot read the clockwatch page";
	} else if (!page_has_audit(&h.begin)) {
		h.why = "the module runs no RTC audit (no CMOS RTC, or audit_rtc=0)";
	} else {
		return 0;
	}
	cw_reader__close(h.reader);
	h.reader = NULL;
	return 0;
}

/** stalls_host_finish() - the audit's counts after the run; 0 or -errno */
int stalls_host_finish(void)
{
	if (!h.reader)
		return 0;
	return cw_reader__read(h.reader, &h.end);
}

void stalls_host_print(struct json *j)
{
	uint64_t n;
	char size[32], ago[32];

	if (!h.reader) {
		if (j) {
			json_null(j, "host_pauses");
			json_string(j, "host_pauses_unavailable", h.why ? h.why : "");
		} else {
			printf("\nHost pauses: not measured: %s.\n", h.why ? h.why : "");
		}
		return;
	}
	n = h.end.audit_rtc_jumps - h.begin.audit_rtc_jumps;
	if (j) {
		json_uint(j, "host_pauses", n);
		if (n) {
			json_int(j, "host_pause_last_ns", -h.end.audit_rtc_jump_ns);
			json_int(j, "host_pause_last_raw_ns", h.end.audit_rtc_jump_raw_ns);
		}
		return;
	}
	printf("\nHost pauses (the whole VM stopped while the host's clock ran on;"
	       " seen by the RTC audit): ");
	if (!n) {
		printf("none\n");
		return;
	}
	format_seconds(size, sizeof(size), -h.end.audit_rtc_jump_ns);
	format_seconds(ago, sizeof(ago),
		       now_ns(CLOCK_MONOTONIC_RAW) - h.end.audit_rtc_jump_raw_ns);
	printf("%" PRIu64 ", the last %s s, seen %s s ago\n", n, size, ago);
}

/** stalls_host_stop() - release what stalls_host_start() took */
void stalls_host_stop(void)
{
	cw_reader__close(h.reader);
	memset(&h, 0, sizeof(h));
}
