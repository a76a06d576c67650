/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: the module's internal state, shared by its files.
 *
 * main.c	/dev/clockwatch: the misc device, mmap(), module init and exit
 * page.c	the shared page and the writer side of its sequence counter
 * clocks.c	the clocks snapshot: periodic hrtimer and clock-set notifier
 * ntp.c	the NTP state: a kretprobe on do_adjtimex()
 */
#ifndef _CLOCKWATCH_H
#define _CLOCKWATCH_H

#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/miscdevice.h>
#include <linux/notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <uapi/linux/clockwatch.h>

/**
 * struct clockwatch_dev - the state of the one /dev/clockwatch
 * @misc:		the misc device; file->private_data points here
 * @page:		the page mapped by readers; its header is written
 *			once before @misc is registered, the rest under
 *			@lock with the page->seq protocol (page.c)
 * @lock:		serialises the writers of @page
 * @refresh_timer:	periodic refresh of page->clocks (hard irq)
 * @clock_set_work:	refresh of page->clocks right after the clock was
 *			set, queued by @gtod_nb (hard irq)
 * @gtod_nb:		timekeeping update notifier
 * @gtod_registered:	@gtod_nb is registered
 * @adjtimex_rp:	kretprobe on do_adjtimex(); registered when
 *			page->features has CLOCKWATCH_FEAT_NTP
 *
 * Writers of @page run in hard irq (@refresh_timer, @clock_set_work) and
 * in kretprobe handlers; all of them take @lock with interrupts disabled.
 * Readers are lock-free (userspace, through the mapping).
 */
struct clockwatch_dev {
	struct miscdevice misc;
	struct clockwatch_page *page;
	raw_spinlock_t lock;		/* protects page->seq and the fields it covers */
	struct hrtimer refresh_timer;
	struct irq_work clock_set_work;
	struct notifier_block gtod_nb;
	bool gtod_registered;
	struct kretprobe adjtimex_rp;
};

int clockwatch_page_alloc(struct clockwatch_dev *cw);
void clockwatch_page_free(struct clockwatch_dev *cw);
void clockwatch_page_write_begin(struct clockwatch_dev *cw);
void clockwatch_page_write_end(struct clockwatch_dev *cw);

void clockwatch_clocks_start(struct clockwatch_dev *cw);
void clockwatch_clocks_stop(struct clockwatch_dev *cw);

void clockwatch_ntp_start(struct clockwatch_dev *cw);
void clockwatch_ntp_stop(struct clockwatch_dev *cw);

#endif /* _CLOCKWATCH_H */
