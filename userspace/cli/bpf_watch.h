/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch watch: the BPF event source (pauses; and, without the module,
 * steps and NTP writes from the syscall tracepoints and adjtimex polling).
 */
#ifndef __CLOCKWATCH_BPF_WATCH_H
#define __CLOCKWATCH_BPF_WATCH_H

#include "watch.h"

/* A watch_source_open_t: 0, or a negative errno (no root, no BPF). */
int bpf_watch_source_open(struct watch_source *src);

#endif /* __CLOCKWATCH_BPF_WATCH_H */
