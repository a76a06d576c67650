// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the module in host-side tests: a clockwatch page in a
 * regular file, rewritten under the sequence counter as the module does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "page_writer.h"

int page_file_create(struct page_file *pf)
{
	const char *tmp = getenv("TMPDIR");
	void *map;
	int err;

	snprintf(pf->path, sizeof(pf->path), "%s/cw-page.XXXXXX", tmp ? tmp : "/tmp");
	pf->fd = mkstemp(pf->path);
	if (pf->fd < 0)
		return -errno;
	if (ftruncate(pf->fd, CLOCKWATCH_PAGE_SIZE) < 0)
		goto err_unlink;

	map = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, pf->fd, 0);
	if (map == MAP_FAILED)
		goto err_unlink;
	pf->page = map;

	pf->page->magic = CLOCKWATCH_MAGIC;
	pf->page->size = sizeof(*pf->page);
	pf->page->version = CLOCKWATCH_ABI_VERSION;
	pf->page->features = CLOCKWATCH_FEAT_CLOCKS | CLOCKWATCH_FEAT_NTP;
	return 0;

err_unlink:
	err = -errno;
	close(pf->fd);
	unlink(pf->path);
	return err;
}

void page_file_destroy(struct page_file *pf)
{
	munmap(pf->page, CLOCKWATCH_PAGE_SIZE);
	close(pf->fd);
	unlink(pf->path);
}

void page_write_begin(struct clockwatch_page *page)
{
	__u32 seq = __atomic_load_n(&page->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&page->seq, seq + 1, __ATOMIC_RELAXED);
	/* Ensure the odd count is visible before the data changes. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void page_write_end(struct clockwatch_page *page)
{
	__u32 seq = __atomic_load_n(&page->seq, __ATOMIC_RELAXED);

	/* Ensure the data is visible before the count turns even. */
	__atomic_store_n(&page->seq, seq + 1, __ATOMIC_RELEASE);
}

/*
 * Distinct odd multipliers keep the fields apart; a copy mixing two
 * updates has fields that disagree on n.
 */
void page_fill_derived(struct clockwatch_page *page, __u64 n)
{
	struct clockwatch_clocks *c = &page->clocks;
	struct clockwatch_ntp *ntp = &page->ntp;

	page->update_count = n;
	c->realtime_ns = (__s64)(n * 3 + 1);
	c->monotonic_ns = (__s64)(n * 5 + 2);
	c->monotonic_raw_ns = (__s64)(n * 7 + 3);
	c->boottime_ns = (__s64)(n * 11 + 4);
	c->tai_ns = (__s64)(n * 13 + 5);
	ntp->offset_ns = (__s64)(n * 17 + 6);
	ntp->freq_scaled_ppm = (__s64)(n * 19 + 7);
	ntp->maxerror_us = (__s64)(n * 23 + 8);
	ntp->esterror_us = (__s64)(n * 29 + 9);
	ntp->constant = (__s64)(n * 31 + 10);
	ntp->tick_us = (__s64)(n * 37 + 11);
	ntp->status = (__s32)(n * 41 + 12);
	ntp->time_state = (__s32)(n * 43 + 13);
	ntp->tai_s = (__s32)(n * 47 + 14);
	page->ntp_mono_ns = (__s64)(n * 53 + 15);
	page->ntp_raw_ns = (__s64)(n * 59 + 16);
	page->ntp_calls = n * 61 + 17;
	page->ntp_writes = n * 67 + 18;
	/* the first and the last field after them: the copy is the whole page */
	page->disruption_count = n * 71 + 19;
	page->unseen_step_ns = (__s64)(n * 73 + 20);
}

int page_check_derived(const struct clockwatch_page *page)
{
	struct clockwatch_page want;

	memcpy(&want, page, sizeof(want));
	page_fill_derived(&want, page->update_count);
	return memcmp(&want, page, sizeof(want)) ? -1 : 0;
}
