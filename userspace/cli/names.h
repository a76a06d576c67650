/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: names of the bits and states found in the page.
 */
#ifndef __CLOCKWATCH_NAMES_H
#define __CLOCKWATCH_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "PLL" for STA_PLL, ...; NULL for a bit the kernel does not define. */
const char *ntp_status_bit_name(unsigned int bit);
/* "TIME_OK" .. "TIME_ERROR"; NULL for another value. */
const char *time_state_name(int state);
/* "clocks" for CLOCKWATCH_FEAT_CLOCKS, ...; NULL for an unknown bit. */
const char *feature_bit_name(unsigned int bit);

/*
 * The set bits of mask as names joined by sep ("PLL,UNSYNC,NANO"), an
 * unnamed bit as its hex value, "-" when none is set.
 */
void format_bits(char *buf, size_t len, uint64_t mask, const char *sep,
		 const char *(*name)(unsigned int bit));

/* The name of one bit, or its hex value when it has none. */
const char *bit_name(char *buf, size_t len, unsigned int bit,
		     const char *(*name)(unsigned int bit));

#endif /* __CLOCKWATCH_NAMES_H */
