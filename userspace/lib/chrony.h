/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: chronyd's tracking report, read over its command socket.
 *
 * chronyd writes maxerror = root delay / 2 + root dispersion into the
 * kernel, but not the offset it is still slewing out (its "current
 * correction"): it slews by frequency, so the kernel never learns it.
 * The tracking report of chronyd's monitoring protocol (cmdmon, the one
 * chronyc speaks) has it.  This reader asks for that report once, over
 * the Unix datagram socket that only root and chronyd's user may use.
 *
 * Internal to the library and the clockwatch tool: not installed, not
 * exported from the shared library.  It never runs on cw_clock__now()'s
 * path; `clockwatch chrony-report` hands its result to the module.
 */
#ifndef __CLOCKWATCH_CHRONY_H
#define __CLOCKWATCH_CHRONY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CW_CHRONY_SOCKET	"/run/chrony/chronyd.sock"
#define CW_CHRONY_TIMEOUT_MS	1000	/* chronyc's own first timeout */

/* cw_chrony_tracking.leap_status: the NTP leap indicator chronyd reports. */
enum {
	CW_CHRONY_LEAP_NORMAL		= 0,
	CW_CHRONY_LEAP_INSERT		= 1,
	CW_CHRONY_LEAP_DELETE		= 2,
	CW_CHRONY_LEAP_UNSYNC		= 3,	/* "Not synchronised" */
};

/*
 * One tracking report.  Times are ns; chronyd sends each value as a
 * 32-bit float with a 25-bit coefficient, so a value is exact to about
 * 1 part in 2^24 of itself before it is rounded to the ns here.
 */
struct cw_chrony_tracking {
	uint32_t ref_id;		/* reference ID (an IPv4 address, or
					 * a refclock's name, as 4 bytes) */
	uint16_t stratum;		/* 0 when not synchronised */
	uint16_t leap_status;		/* CW_CHRONY_LEAP_* */
	int64_t ref_time_ns;		/* last clock update, CLOCK_REALTIME;
					 * 0 = none yet */
	int64_t correction_ns;		/* offset chronyd has still to correct
					 * ("System time"): positive when the
					 * system clock is slow (behind) */
	int64_t last_offset_ns;		/* offset at the last clock update */
	int64_t rms_offset_ns;		/* long-term average offset */
	double freq_ppm;		/* frequency error chronyd corrects,
					 * ppm: positive when the clock
					 * would run fast uncorrected */
	double resid_freq_ppm;		/* residual frequency, ppm */
	double skew_ppm;		/* error bound on the frequency, ppm */
	int64_t root_delay_ns;		/* to the stratum-1 source, round trip */
	int64_t root_dispersion_ns;	/* error accumulated to the source */
	int64_t update_interval_ns;	/* between the last two clock updates */
	pid_t daemon_pid;		/* the process that sent the reply, as
					 * the kernel names it (SCM_CREDENTIALS);
					 * 0 when it could not say */
	int32_t __pad;
};

/**
 * @brief **cw_chrony_tracking()** asks chronyd for its tracking report.
 * @param sock_path chronyd's command socket; NULL means CW_CHRONY_SOCKET
 * @param timeout_ms how long to wait for the reply in all, over three
 * attempts; <= 0 means CW_CHRONY_TIMEOUT_MS
 * @param out the report, on success
 * @return 0, or a negative errno (also in errno): -ENOENT no socket at
 * sock_path; -ECONNREFUSED a socket nobody serves (chronyd is not
 * running); -EACCES no permission on the socket or its directory (not
 * root or chronyd's user); -ETIMEDOUT no reply; -EPROTO a reply this
 * reader does not understand or a refusal by chronyd; -ENAMETOOLONG a
 * path too long for a socket address; other errnos of socket calls
 *
 * The reader binds a socket of its own beside sock_path, as chronyc does
 * (chronyd answers to a named address), and removes it before returning.
 * It is safe to call from several threads at once.
 */
int cw_chrony_tracking(const char *sock_path, int timeout_ms,
		       struct cw_chrony_tracking *out);

/* The wire format, for tests: exposed so that they need no chronyd. */

/* Request and reply of REQ_TRACKING, bytes (protocol version 6). */
#define CW_CHRONY_TRACKING_REQ_LEN	104
#define CW_CHRONY_TRACKING_RPY_LEN	104

/* A 32-bit chrony float, in host byte order, as a double. */
double cw_chrony_float(uint32_t word);

/* Fill @buf (CW_CHRONY_TRACKING_REQ_LEN bytes) with a request. */
void cw_chrony_tracking_request(void *buf, uint32_t sequence, uint16_t attempt);

/*
 * Check and decode a reply of @len bytes to the request with @sequence.
 * Returns 0 with @out filled (daemon_pid left alone), -EAGAIN for a
 * datagram that is not the reply to this request (to be ignored), or
 * -EPROTO.
 */
int cw_chrony_tracking_parse(const void *buf, size_t len, uint32_t sequence,
			     struct cw_chrony_tracking *out);

#endif /* __CLOCKWATCH_CHRONY_H */
