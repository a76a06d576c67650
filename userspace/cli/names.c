// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: names of the bits and states found in the page.
 */
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include <linux/clockwatch.h>

#include "names.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct bit_name {
	uint64_t mask;
	const char *name;
};

/* timex.status, in bit order; names as in <sys/timex.h> less "STA_". */
static const struct bit_name ntp_status_bits[] = {
	{ STA_PLL,		"PLL" },
	{ STA_PPSFREQ,		"PPSFREQ" },
	{ STA_PPSTIME,		"PPSTIME" },
	{ STA_FLL,		"FLL" },
	{ STA_INS,		"INS" },
	{ STA_DEL,		"DEL" },
	{ STA_UNSYNC,		"UNSYNC" },
	{ STA_FREQHOLD,		"FREQHOLD" },
	{ STA_PPSSIGNAL,	"PPSSIGNAL" },
	{ STA_PPSJITTER,	"PPSJITTER" },
	{ STA_PPSWANDER,	"PPSWANDER" },
	{ STA_PPSERROR,		"PPSERROR" },
	{ STA_CLOCKERR,		"CLOCKERR" },
	{ STA_NANO,		"NANO" },
	{ STA_MODE,		"MODE" },
	{ STA_CLK,		"CLK" },
};

static const struct bit_name feature_bits[] = {
	{ CLOCKWATCH_FEAT_CLOCKS,	"clocks" },
	{ CLOCKWATCH_FEAT_NTP,		"ntp" },
	{ CLOCKWATCH_FEAT_EVENTS,	"events" },
	{ CLOCKWATCH_FEAT_STEPS,	"steps" },
	{ CLOCKWATCH_FEAT_CAUSE_SETTIME, "cause_settime" },
	{ CLOCKWATCH_FEAT_CAUSE_SETOFFSET, "cause_setoffset" },
	{ CLOCKWATCH_FEAT_CAUSE_RESUME,	"cause_resume" },
	{ CLOCKWATCH_FEAT_VMFORK,	"vmfork" },
	{ CLOCKWATCH_FEAT_TRACEPOINTS,	"tracepoints" },
	{ CLOCKWATCH_FEAT_FREQ,		"freq" },
	{ CLOCKWATCH_FEAT_SYNC_STATE,	"sync_state" },
	{ CLOCKWATCH_FEAT_STALLS,	"stalls" },
	{ CLOCKWATCH_FEAT_AUDIT_RTC,	"audit_rtc" },
	{ CLOCKWATCH_FEAT_AUDIT_RTC_WRITES, "audit_rtc_writes" },
};

/* adjtimex()'s return value. */
static const char *const time_states[] = {
	[TIME_OK]	= "TIME_OK",
	[TIME_INS]	= "TIME_INS",
	[TIME_DEL]	= "TIME_DEL",
	[TIME_OOP]	= "TIME_OOP",
	[TIME_WAIT]	= "TIME_WAIT",
	[TIME_ERROR]	= "TIME_ERROR",
};

static const char *lookup_bit(const struct bit_name *table, size_t n,
			      unsigned int bit)
{
	size_t i;

	if (bit >= 64)
		return NULL;
	for (i = 0; i < n; i++)
		if (table[i].mask == 1ULL << bit)
			return table[i].name;
	return NULL;
}

const char *ntp_status_bit_name(unsigned int bit)
{
	return lookup_bit(ntp_status_bits, ARRAY_SIZE(ntp_status_bits), bit);
}

const char *feature_bit_name(unsigned int bit)
{
	return lookup_bit(feature_bits, ARRAY_SIZE(feature_bits), bit);
}

const char *time_state_name(int state)
{
	if (state < 0 || (size_t)state >= ARRAY_SIZE(time_states))
		return NULL;
	return time_states[state];
}

const char *bit_name(char *buf, size_t len, unsigned int bit,
		     const char *(*name)(unsigned int bit))
{
	const char *s = name(bit);

	if (s)
		return s;
	snprintf(buf, len, "0x%llx", 1ULL << bit);
	return buf;
}

void format_bits(char *buf, size_t len, uint64_t mask, const char *sep,
		 const char *(*name)(unsigned int bit))
{
	char unnamed[24];
	size_t used = 0;
	unsigned int bit;

	buf[0] = '\0';
	for (bit = 0; bit < 64 && used < len; bit++) {
		if (!(mask & (1ULL << bit)))
			continue;
		used += snprintf(buf + used, len - used, "%s%s",
				 used ? sep : "",
				 bit_name(unnamed, sizeof(unnamed), bit, name));
	}
	if (!used)
		snprintf(buf, len, "-");
}
