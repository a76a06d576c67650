// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: what works without the module, and what does not.
 *
 * `clockwatch status` prints this when /dev/clockwatch is absent: why the
 * module is not there (as far as the system tells), which features the
 * BPF trackers still give, and which ones only the module can.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clockwatch.h"
#include "json.h"
#include "modless.h"

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Why there is no /dev/clockwatch, as far as the system tells. */
static const char *module_reason(void)
{
	char buf[256] = "";
	FILE *f;

	if (!exists("/proc/modules"))
		return "this kernel cannot load modules (CONFIG_MODULES is off)";
	f = fopen("/sys/kernel/security/lockdown", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		if (strstr(buf, "[integrity]") || strstr(buf, "[confidentiality]"))
			return "kernel lockdown (Secure Boot) refuses modules that are not signed";
	}
	return "the module is not loaded (insmod clockwatch.ko)";
}

/* -1: cannot tell (tracefs not mounted), 0: no, 1: yes */
static int syscall_tracepoints(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing/events",
		"/sys/kernel/debug/tracing/events",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!exists(dirs[i]))
			continue;
		snprintf(path, sizeof(path), "%s/syscalls/sys_enter_clock_settime", dirs[i]);
		return exists(path);
	}
	return -1;
}

/* Features only the module gives, and why. */
static const struct missing {
	const char *feature;
	const char *why;
} missing[] = {
	{ "page", "no lock-free page of the clocks and NTP state: readers make system calls" },
	{ "kernel_steps", "steps the kernel makes itself (leap second, resume) are seen by adjtimex polling only, up to a poll late, without cause" },
	{ "ntp_old_values", "NTP writes show the values asked for and the result, not the values before" },
	{ "cpu_stalls", "no per-CPU stall probe (hrtimer), stall events or per-CPU histograms" },
	{ "event_ring", "no event history with sequence numbers and exact overrun counts" },
	{ "bound", "a looser bound only (clockwatch now, from adjtimex()): the kernel's maxerror, grown 500 ppm, a system call a read; chronyd's correction, foreign rate changes and the daemon's first update after a step are not seen" },
};

void print_modless_status(FILE *out, bool json)
{
	bool btf = exists("/sys/kernel/btf/vmlinux");
	bool root = geteuid() == 0;
	char path[128];
	bool guard;
	int tp = syscall_tracepoints();
	unsigned int i;

	snprintf(path, sizeof(path), "%s/pauses_guard", CW_GUARD_PIN_DIR);
	guard = exists(path);

	if (json) {
		struct json j;

		json_init(&j, out);
		json_object_begin(&j, NULL);
		json_string(&j, "type", "modless");
		json_bool(&j, "module", false);
		json_string(&j, "module_missing_reason", module_reason());
		json_object_begin(&j, "bpf");
		json_bool(&j, "btf", btf);
		json_bool(&j, "root", root);
		json_bool(&j, "pauses", btf);
		if (tp < 0)
			json_null(&j, "syscall_tracepoints");
		else
			json_bool(&j, "syscall_tracepoints", tp);
		json_bool(&j, "clock_changes", tp != 0);
		json_bool(&j, "guard_pinned", guard);
		json_object_end(&j);
		json_array_begin(&j, "missing");
		for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
			json_object_begin(&j, NULL);
			json_string(&j, "feature", missing[i].feature);
			json_string(&j, "why", missing[i].why);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		fputc('\n', out);
		return;
	}

	fprintf(out, "module-less mode: %s is absent: %s\n", CLOCKWATCH_DEVICE, module_reason());
	fprintf(out, "still available, through BPF%s:\n", root ? "" : " (as root)");
	fprintf(out, "  %-28s %s\n", "per-process pauses",
		btf ? "yes: clockwatch stalls (CO-RE on /sys/kernel/btf/vmlinux)" :
		      "no: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
	fprintf(out, "  %-28s %s\n", "clock steps, NTP writes",
		tp > 0 ? "yes, with the caller: syscall tracepoints, and adjtimex polling" :
		tp == 0 ? "polling only: no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)" :
			  "yes, with the caller, if the syscall tracepoints exist (tracefs is not mounted; clockwatch mounts it)");
	fprintf(out, "  %-28s %s\n", "lease guard",
		guard ? "yes: pinned under " CW_GUARD_PIN_DIR :
			"not pinned: clockwatch guard --pin");
	fprintf(out, "missing without the module:\n");
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		fprintf(out, "  %-28s %s\n", missing[i].feature, missing[i].why);
}
