/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: the module-less section of `clockwatch status`: why there
 * is no /dev/clockwatch, what the BPF trackers still give, what is missing.
 */
#ifndef __CLOCKWATCH_MODLESS_H
#define __CLOCKWATCH_MODLESS_H

#include <stdbool.h>
#include <stdio.h>

/* Human form, or one JSON object ("type": "modless"). */
void print_modless_status(FILE *out, bool json);

#endif /* __CLOCKWATCH_MODLESS_H */
