// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libclockwatch: map the clockwatch page and copy consistent snapshots.
 *
 * The module rewrites the page under a sequence counter: odd while it
 * writes, even and changed once it is done.  A copy is consistent when
 * the counter was even before it and unchanged after it; this file is
 * the reader side of that protocol, as the ABI header spells it out.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct cw_reader {
	const struct clockwatch_page *page;	/* PROT_READ, MAP_SHARED */
	int fd;
	struct cw_timens timens;		/* the opener's offsets */
};

struct cw_reader *cw_reader__open(const char *path)
{
	struct cw_reader *reader;
	struct stat st;
	void *map;
	int err;

	if (!path)
		path = CLOCKWATCH_DEVICE;

	reader = calloc(1, sizeof(*reader));
	if (!reader)
		return NULL;	/* errno is ENOMEM */

	err = cw_timens__offsets(&reader->timens);
	if (err) {
		err = -err;
		goto err_free_reader;
	}

	reader->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (reader->fd < 0) {
		err = errno;
		goto err_free_reader;
	}

	/*
	 * A file shorter than the page would fault (SIGBUS) on the first
	 * access past its end; a device has no size to check.
	 */
	if (fstat(reader->fd, &st) < 0) {
		err = errno;
		goto err_close_fd;
	}
	if (S_ISREG(st.st_mode) && st.st_size < CLOCKWATCH_PAGE_SIZE) {
		err = EINVAL;
		goto err_close_fd;
	}

	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED,
		   reader->fd, 0);
	if (map == MAP_FAILED) {
		err = errno;
		goto err_close_fd;
	}
	reader->page = map;
	return reader;

err_close_fd:
	close(reader->fd);
err_free_reader:
	free(reader);
	errno = err;
	return NULL;
}

/* The constant fields, checked before every copy: they are cheap to read. */
static int check_header(const struct clockwatch_page *page, __u32 *size)
{
	if (__atomic_load_n(&page->magic, __ATOMIC_RELAXED) != CLOCKWATCH_MAGIC)
		return -EPROTO;
	if (__atomic_load_n(&page->version, __ATOMIC_RELAXED) !=
	    CLOCKWATCH_ABI_VERSION)
		return -EPROTO;

	*size = __atomic_load_n(&page->size, __ATOMIC_RELAXED);
	if (*size < CW_PAGE_MIN_SIZE || *size > CLOCKWATCH_PAGE_SIZE)
		return -EPROTO;
	return 0;
}

int cw_reader__read(struct cw_reader *reader, struct clockwatch_page *out)
{
	const struct clockwatch_page *page;
	size_t len;
	__u32 size;
	__u32 seq;
	long tries;
	int err;

	if (!reader || !out)
		return cw_err(-EINVAL);
	page = reader->page;

	err = check_header(page, &size);
	if (err)
		return cw_err(err);

	/* A newer module publishes more than we know; an older one less. */
	len = size < sizeof(*out) ? size : sizeof(*out);

	for (tries = 0; tries < CW_READ_MAX_RETRIES; tries++) {
		/* Pairs with the writer's barrier after its closing increment. */
		seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			cw_cpu_relax();	/* writer active */
			continue;
		}

		memcpy(out, page, len);

		/*
		 * Order the copy before the second look at the counter; pairs
		 * with the writer's barrier after its opening increment.
		 */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&page->seq, __ATOMIC_RELAXED) == seq)
			goto consistent;
	}
	return cw_err(-EAGAIN);

consistent:
	/* The copy was made while the writer was idle: it has seq, even. */
	out->seq = seq;
	if (len < sizeof(*out))
		memset((char *)out + len, 0, sizeof(*out) - len);
	cw_page_to_timens(out, &reader->timens);
	return 0;
}

/* A time of the initial namespace in the reader's; 0 stays "never". */
static void shift(__s64 *t, __s64 offset)
{
	if (*t)
		*t += offset;
}

void cw_page_to_timens(struct clockwatch_page *p, const struct cw_timens *ns)
{
	__s64 mono = ns->monotonic_ns;

	if (!mono && !ns->boottime_ns)
		return;
	shift(&p->clocks.monotonic_ns, mono);
	shift(&p->clocks.monotonic_raw_ns, mono);
	shift(&p->clocks.boottime_ns, ns->boottime_ns);
	shift(&p->ntp_mono_ns, mono);
	shift(&p->ntp_raw_ns, mono);
	shift(&p->last_step_mono_ns, mono);
	shift(&p->sync_mono_ns, mono);
	shift(&p->maxerror_mono_ns, mono);
	shift(&p->maxerror_raw_ns, mono);
	shift(&p->slew_mono_ns, mono);
	shift(&p->disrupt_raw_ns, mono);
	shift(&p->report_raw_ns, mono);
	shift(&p->report_anchor_raw_ns, mono);
	shift(&p->audit_rtc_raw_ns, mono);
	shift(&p->audit_rtc_jump_raw_ns, mono);
}

const struct clockwatch_page *cw_reader_page(const struct cw_reader *reader)
{
	return reader->page;
}

const struct cw_timens *cw_reader_timens(const struct cw_reader *reader)
{
	return &reader->timens;
}

int cw_reader__tasks(struct cw_reader *reader, struct clockwatch_tasks *out)
{
	if (!reader || !out)
		return cw_err(-EINVAL);
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	if (ioctl(reader->fd, CLOCKWATCH_IOC_TASKS, out) < 0)
		return cw_err(-errno);
	return 0;
}

void cw_reader__close(struct cw_reader *reader)
{
	int saved = errno;

	if (!reader)
		return;
	munmap((void *)reader->page, CLOCKWATCH_PAGE_SIZE);
	close(reader->fd);
	free(reader);
	errno = saved;
}
