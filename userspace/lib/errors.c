// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: what the errors, statuses and reasons mean, in words.
 */
#include <string.h>

#include "internal.h"

const char *cw_strerror(int err)
{
	const char *desc;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case ENOENT:
		return "no clockwatch page: the module is not loaded (no /dev/clockwatch)";
	case EACCES:
	case EPERM:
		return "no permission to open the clockwatch page";
	case EPROTO:
		return "the page has a magic, version or size this library does not know";
	case EAGAIN:
		return "torn page: no consistent copy (its writer never finished an update)";
	case ESTALE:
		return "stale page: the module stopped refreshing it";
	case ETIMEDOUT:
		return "the wait timed out";
	case EINTR:
		return "a signal interrupted the wait";
	case EINVAL:
		return "invalid argument";
	case ENOMEM:
		return "out of memory";
	}
	desc = strerrordesc_np(err);
	return desc ? desc : "unknown error";
}

const char *cw_status_str(__u32 status)
{
	switch (status) {
	case CW_STATUS_SYNCHRONIZED:
		return "synchronized";
	case CW_STATUS_FREE_RUNNING:
		return "free_running";
	case CW_STATUS_DISRUPTED:
		return "disrupted";
	case CW_STATUS_UNSYNCHRONIZED:
		return "unsynchronized";
	default:
		return "unknown";
	}
}

static const char *const reasons[] = {
	[CW_REASON_SYNCED]		= "the sync daemon wrote maxerror recently",
	[CW_REASON_PAGE_TORN]		= "no consistent copy of the page",
	[CW_REASON_PAGE_STALE]		= "the module stopped refreshing the page",
	[CW_REASON_PAGE_OLD]		= "the module publishes no sync facts",
	[CW_REASON_CLOCKS_DISAGREE]	= "REALTIME moved unlike the page says (a step in flight)",
	[CW_REASON_NO_DAEMON]		= "no sync daemon seen (no maxerror write)",
	[CW_REASON_STA_UNSYNC]		= "STA_UNSYNC is set",
	[CW_REASON_TIME_ERROR]		= "adjtimex() returns TIME_ERROR",
	[CW_REASON_MAXERROR_LIMIT]	= "the sync daemon wrote maxerror of 16 s",
	[CW_REASON_KERNEL_LIMIT]	= "the kernel's maxerror grew to 16 s",
	[CW_REASON_DAEMON_SILENT]	= "the sync daemon has been silent too long",
	[CW_REASON_FOREIGN_STEP]	= "stepped by another process than the sync daemon",
	[CW_REASON_VMFORK]		= "VM forked or restored from a snapshot",
	[CW_REASON_RESUME]		= "resumed from suspend",
	[CW_REASON_HOST_PAUSE]		= "the host paused the VM",
	[CW_REASON_MODULE]		= "the module's sync state",
	[CW_REASON_STEP_INFLIGHT]	= "a clock step is under way",
	[CW_REASON_CORRECTION_UNKNOWN]	= "the daemon's remaining correction is not known",
	[CW_REASON_MAXERROR_ZERO]	= "the daemon wrote maxerror 0, which is no error estimate",
	[CW_REASON_DAEMON_UNSYNC]	= "the daemon says it is not synchronised",
	[CW_REASON_FOREIGN_ADJUST]	= "another process changed the clock's rate or offset",
	[CW_REASON_DAEMON_FIRST]	= "the sync daemon has made one update only",
};

const char *cw_reason_str(__u32 reason)
{
	if (reason >= sizeof(reasons) / sizeof(reasons[0]) || !reasons[reason])
		return "unknown reason";
	return reasons[reason];
}
