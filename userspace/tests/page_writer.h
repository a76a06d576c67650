/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stand-in for the module in host-side tests: a clockwatch page in a
 * regular file, rewritten under the sequence counter as the module does.
 */
#ifndef __CLOCKWATCH_PAGE_WRITER_H
#define __CLOCKWATCH_PAGE_WRITER_H

#include <linux/clockwatch.h>

struct page_file {
	char path[64];
	int fd;
	struct clockwatch_page *page;	/* PROT_READ | PROT_WRITE, MAP_SHARED */
};

/*
 * Create a file of CLOCKWATCH_PAGE_SIZE bytes holding a valid empty page
 * (magic, size, version; seq 0) and map it writable; 0 or -errno.
 */
int page_file_create(struct page_file *pf);
void page_file_destroy(struct page_file *pf);

/* The writer side of the seqcount protocol, around an update. */
void page_write_begin(struct clockwatch_page *page);
void page_write_end(struct clockwatch_page *page);

/*
 * Fill every non-constant field from one counter, so that a reader can
 * tell a torn copy from a consistent one (page_check_derived()).
 */
void page_fill_derived(struct clockwatch_page *page, __u64 n);
/* 0 when every field of a copy matches the counter in update_count. */
int page_check_derived(const struct clockwatch_page *page);

#endif /* __CLOCKWATCH_PAGE_WRITER_H */
