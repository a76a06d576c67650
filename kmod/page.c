// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: the page behind mmap() of /dev/clockwatch.
 *
 * One zeroed kernel page holds struct clockwatch_page.  Its header (magic,
 * size, version, features) is written once, before the device exists; the
 * rest is rewritten under page->seq with the protocol of the vDSO data
 * page: seq odd, update, seq even.  Userspace copies the page and retries
 * while seq was odd or changed (see include/uapi/linux/clockwatch.h).
 */

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/spinlock.h>

#include "clockwatch.h"

/**
 * clockwatch_page_alloc() - allocate the page and write its header
 * @cw: the device
 *
 * Also initialises @cw->lock, which serialises the page's writers.
 *
 * Return: 0, or -ENOMEM.
 */
int clockwatch_page_alloc(struct clockwatch_dev *cw)
{
	struct clockwatch_page *page;

	BUILD_BUG_ON(sizeof(struct clockwatch_page) > PAGE_SIZE);
	BUILD_BUG_ON(CLOCKWATCH_PAGE_SIZE > PAGE_SIZE);

	page = (struct clockwatch_page *)get_zeroed_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;

	page->magic = CLOCKWATCH_MAGIC;
	page->size = sizeof(*page);
	page->version = CLOCKWATCH_ABI_VERSION;
	/* features: set by each hook once it is in place */

	raw_spin_lock_init(&cw->lock);
	cw->page = page;
	return 0;
}

/**
 * clockwatch_page_free() - free the page
 * @cw: the device
 *
 * Only once no mapping of the page can remain: every mapping holds its
 * file open, and an open file holds the module (fops.owner), so this runs
 * at module exit or on a failed init, never under a reader.
 */
void clockwatch_page_free(struct clockwatch_dev *cw)
{
	free_page((unsigned long)cw->page);
	cw->page = NULL;
}

/**
 * clockwatch_page_write_begin() - make readers retry: seq goes odd
 * @cw: the device; caller holds @cw->lock
 *
 * Every change to the fields after page->seq is bracketed by this and
 * clockwatch_page_write_end().
 */
void clockwatch_page_write_begin(struct clockwatch_dev *cw)
{
	struct clockwatch_page *page = cw->page;

	lockdep_assert_held(&cw->lock);

	/* One untorn store: a reader sees the old or the new count. */
	WRITE_ONCE(page->seq, page->seq + 1);
	/*
	 * Ensure the odd seq is visible before any field is changed; pairs
	 * with the reader's acquire fence between its copy and its second
	 * load of seq.
	 */
	smp_wmb();
}

/**
 * clockwatch_page_write_end() - count the update, seq goes even again
 * @cw: the device; caller holds @cw->lock
 */
void clockwatch_page_write_end(struct clockwatch_dev *cw)
{
	struct clockwatch_page *page = cw->page;

	lockdep_assert_held(&cw->lock);

	page->update_count++;
	/*
	 * Ensure every field change is visible before seq turns even; pairs
	 * with the reader's load-acquire of seq before its copy.
	 */
	smp_wmb();
	/* One untorn store: a reader sees the old or the new count. */
	WRITE_ONCE(page->seq, page->seq + 1);
}
