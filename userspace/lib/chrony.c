// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: chronyd's tracking report over its command socket.
 *
 * The protocol (chrony's cmdmon, version 6, as chrony 4.x speaks it) is
 * one datagram each way, big-endian:
 *
 *   request, 20-byte header: version (6), packet type (1 = request), two
 *   zero bytes, command (u16, 33 = tracking), attempt (u16), sequence
 *   (u32, echoed), two zero u32; then zero padding up to the length of the
 *   reply, which chronyd checks per command so that it never answers with
 *   more bytes than it was sent: 104 bytes for tracking.
 *
 *   reply, 28-byte header: version, packet type (2 = reply), two zero
 *   bytes, command, reply code (u16, 5 = tracking), status (u16, 0 =
 *   success), three u16 and the sequence (u32), two u32; then the 76-byte
 *   tracking report laid out in parse_report() below.
 *
 * Over a Unix socket chronyd sends the reply to the address the request
 * came from, so the client binds one: a file beside chronyd's socket,
 * writable by chronyd's unprivileged user.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "chrony.h"
#include "internal.h"

#define PROTO_VERSION		6
#define PKT_REQUEST		1
#define PKT_REPLY		2
#define REQ_TRACKING		33
#define RPY_TRACKING		5
#define STT_SUCCESS		0
#define STT_UNAUTH		2

#define REQ_HEADER_LEN		20
#define RPY_HEADER_LEN		28
#define TRACKING_LEN		76	/* the report after the reply header */

/* tv_sec_high of a timespec that carries only 32 bits of seconds. */
#define TV_NOHIGHSEC		0x7fffffffU

#define ATTEMPTS		3	/* chronyc's: the first and two resends */

/* Big-endian fields at byte offsets of a packet. */
static uint16_t get16(const unsigned char *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return ntohs(v);
}

static uint32_t get32(const unsigned char *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return ntohl(v);
}

static void put16(unsigned char *p, size_t off, uint16_t v)
{
	v = htons(v);
	memcpy(p + off, &v, sizeof(v));
}

static void put32(unsigned char *p, size_t off, uint32_t v)
{
	v = htonl(v);
	memcpy(p + off, &v, sizeof(v));
}

/*
 * chrony's float: the top 7 bits are a signed exponent e, the low 25 bits
 * a signed coefficient c (both two's complement, no hidden bit); the value
 * is c * 2^(e - 25).
 */
double cw_chrony_float(uint32_t word)
{
	int32_t exp = (int32_t)(word >> 25);
	int32_t coef = (int32_t)(word & 0x1ffffffU);

	if (exp >= 64)
		exp -= 128;
	if (coef >= 1 << 24)
		coef -= 1 << 25;
	return ldexp((double)coef, exp - 25);
}

static double float_at(const unsigned char *p, size_t off)
{
	return cw_chrony_float(get32(p, off));
}

/* Seconds as ns, rounded; saturated far beyond anything chronyd reports. */
static int64_t sec_to_ns(double s)
{
	double ns = s * 1e9;

	if (isnan(ns))
		return 0;
	if (ns >= 9.2e18)
		return INT64_MAX;
	if (ns <= -9.2e18)
		return INT64_MIN;
	return (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5);
}

void cw_chrony_tracking_request(void *buf, uint32_t sequence, uint16_t attempt)
{
	unsigned char *p = buf;

	memset(p, 0, CW_CHRONY_TRACKING_REQ_LEN);
	p[0] = PROTO_VERSION;
	p[1] = PKT_REQUEST;
	put16(p, 4, REQ_TRACKING);
	put16(p, 6, attempt);
	put32(p, 8, sequence);
}

/*
 * The tracking report, offsets from its start:
 *   0  ref_id u32           4  IP address (16 bytes, family u16, pad u16)
 *  24  stratum u16         26  leap status u16
 *  28  ref time: seconds high u32, seconds low u32, ns u32
 *  40  floats, seconds unless named: current correction, last offset,
 *      rms offset, frequency ppm, residual frequency ppm, skew ppm,
 *      root delay, root dispersion, last update interval
 */
static void parse_report(const unsigned char *r, struct cw_chrony_tracking *out)
{
	uint32_t sec_high = get32(r, 28);
	uint32_t nsec = get32(r, 36);
	uint64_t sec;

	if (sec_high == TV_NOHIGHSEC)
		sec_high = 0;
	sec = (uint64_t)sec_high << 32 | get32(r, 32);
	if (nsec > 999999999U)
		nsec = 999999999U;

	out->ref_id = get32(r, 0);
	out->stratum = get16(r, 24);
	out->leap_status = get16(r, 26);
	out->ref_time_ns = sec >= (uint64_t)INT64_MAX / 1000000000U ? INT64_MAX :
			   (int64_t)(sec * 1000000000U + nsec);
	out->correction_ns = sec_to_ns(float_at(r, 40));
	out->last_offset_ns = sec_to_ns(float_at(r, 44));
	out->rms_offset_ns = sec_to_ns(float_at(r, 48));
	out->freq_ppm = float_at(r, 52);
	out->resid_freq_ppm = float_at(r, 56);
	out->skew_ppm = float_at(r, 60);
	out->root_delay_ns = sec_to_ns(float_at(r, 64));
	out->root_dispersion_ns = sec_to_ns(float_at(r, 68));
	out->update_interval_ns = sec_to_ns(float_at(r, 72));
}

int cw_chrony_tracking_parse(const void *buf, size_t len, uint32_t sequence,
			     struct cw_chrony_tracking *out)
{
	const unsigned char *p = buf;
	uint16_t status;

	/* Not a reply to this request: a stray or a late one, ignore it. */
	if (len < RPY_HEADER_LEN || p[1] != PKT_REPLY || p[2] || p[3] ||
	    get16(p, 4) != REQ_TRACKING)
		return -EAGAIN;
	if (get32(p, 16) != sequence)
		return -EAGAIN;

	status = get16(p, 8);
	if (p[0] != PROTO_VERSION)
		return -EPROTO;		/* a chronyd older than 2.2 */
	if (status == STT_UNAUTH)
		return -EACCES;
	if (status != STT_SUCCESS || get16(p, 6) != RPY_TRACKING ||
	    len < CW_CHRONY_TRACKING_RPY_LEN)
		return -EPROTO;
	parse_report(p + RPY_HEADER_LEN, out);
	return 0;
}

/* A client socket bound beside the server's, and connected to it. */
struct client {
	int fd;
	struct sockaddr_un local;
};

static int sun_set(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int client_open(struct client *c, const char *server)
{
	static atomic_uint counter;
	struct sockaddr_un remote;
	const char *slash;
	int dir_len;
	int one = 1;
	int err;

	c->fd = -1;
	c->local.sun_path[0] = '\0';
	err = sun_set(&remote, server);
	if (err)
		return err;

	/* <dir>/clockwatch.<pid>.<n>.sock: unique per process and call. */
	slash = strrchr(server, '/');
	dir_len = slash ? (int)(slash - server) : 1;
	if (snprintf(c->local.sun_path, sizeof(c->local.sun_path), "%.*s/clockwatch.%d.%u.sock",
		     dir_len, slash ? server : ".", (int)getpid(),
		     atomic_fetch_add(&counter, 1)) >= (int)sizeof(c->local.sun_path)) {
		c->local.sun_path[0] = '\0';
		return -ENAMETOOLONG;
	}
	c->local.sun_family = AF_UNIX;

	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* The kernel then names the sender of every datagram received. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	unlink(c->local.sun_path);	/* left by a killed process of our pid */
	if (bind(c->fd, (struct sockaddr *)&c->local, sizeof(c->local)) < 0) {
		err = -errno;
		c->local.sun_path[0] = '\0';
		return err;
	}
	/* chronyd drops root: it must be allowed to send to this socket. */
	if (chmod(c->local.sun_path, 0666) < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&remote, sizeof(remote)) < 0)
		return -errno;
	return 0;
}

static void client_close(struct client *c)
{
	if (c->local.sun_path[0])
		unlink(c->local.sun_path);
	if (c->fd >= 0)
		close(c->fd);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Receive one datagram; *pid gets its sender, or 0. */
static ssize_t recv_with_pid(int fd, void *buf, size_t len, pid_t *pid)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*pid = 0;
	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			*pid = cred.pid;
		}
	}
	return n;
}

/*
 * Send the request and wait for its reply; resend on silence, with the
 * wait doubling each time (budget/7, 2/7, 4/7 of it).
 */
static int query(struct client *c, int timeout_ms, struct cw_chrony_tracking *out)
{
	unsigned char req[CW_CHRONY_TRACKING_REQ_LEN];
	unsigned char rpy[CW_CHRONY_TRACKING_RPY_LEN + 64];
	int slice = timeout_ms / 7 > 0 ? timeout_ms / 7 : 1;
	uint32_t sequence;
	int attempt;

	if (getrandom(&sequence, sizeof(sequence), GRND_NONBLOCK) != sizeof(sequence))
		sequence = (uint32_t)getpid() ^ (uint32_t)mono_ms();

	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		int64_t deadline = mono_ms() + ((int64_t)slice << attempt);
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left;

		sequence++;
		cw_chrony_tracking_request(req, sequence, (uint16_t)attempt);
		if (send(c->fd, req, sizeof(req), 0) < 0)
			return -errno;

		while ((left = deadline - mono_ms()) > 0) {
			pid_t pid;
			ssize_t n;
			int err;

			err = poll(&pfd, 1, (int)left);
			if (err < 0 && errno == EINTR)
				continue;
			if (err < 0)
				return -errno;
			if (err == 0)
				break;
			n = recv_with_pid(c->fd, rpy, sizeof(rpy), &pid);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				return -errno;
			}
			err = cw_chrony_tracking_parse(rpy, (size_t)n, sequence, out);
			if (err == -EAGAIN)
				continue;
			if (!err)
				out->daemon_pid = pid;
			return err;
		}
	}
	return -ETIMEDOUT;
}

int cw_chrony_tracking(const char *sock_path, int timeout_ms,
		       struct cw_chrony_tracking *out)
{
	struct client c;
	int err;

	if (!out)
		return cw_err(-EINVAL);
	if (!sock_path)
		sock_path = CW_CHRONY_SOCKET;
	if (timeout_ms <= 0)
		timeout_ms = CW_CHRONY_TIMEOUT_MS;

	memset(out, 0, sizeof(*out));
	err = client_open(&c, sock_path);
	if (!err)
		err = query(&c, timeout_ms, out);
	client_close(&c);
	/* A Unix datagram send to a socket nobody serves. */
	if (err == -ENOTCONN)
		err = -ECONNREFUSED;
	if (err == -EPERM)
		err = -EACCES;
	return cw_err(err);
}
