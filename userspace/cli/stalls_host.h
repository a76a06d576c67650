/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch stalls: the host section (the module's RTC audit), one entry
 * of the report's sections[] in stalls.c.
 */
#ifndef __CLOCKWATCH_STALLS_HOST_H
#define __CLOCKWATCH_STALLS_HOST_H

struct json;

int stalls_host_start(void);
int stalls_host_finish(void);
void stalls_host_print(struct json *j);
void stalls_host_stop(void);

#endif /* __CLOCKWATCH_STALLS_HOST_H */
