/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clockwatch: compatibility with the older kernels the module supports.
 *
 * kmod/Kbuild force-includes this header ahead of every file, so the .c
 * files are written against the newest kernel API and read like upstream
 * code.  Each block below supplies one API that an older kernel lacks,
 * under a __cw_compat_* name.  Whether the kernel has the API is decided
 * by kmod/Kbuild, which looks for it in the kernel's headers (CW_HAVE_*);
 * the kernel version named in each comment is where it first appeared.
 */
#ifndef _CLOCKWATCH_COMPAT_H
#define _CLOCKWATCH_COMPAT_H

#include <linux/version.h>

/*
 * 6.1 (Debian 12) is the oldest kernel supported: kretprobes on rethook,
 * IRQ_WORK_INIT_HARD() and regs_get_kernel_argument() are all older.
 */
#if KERNEL_VERSION(6, 1, 0) > LINUX_VERSION_CODE
#error "clockwatch needs Linux 6.1 or later"
#endif

/*
 * vm_flags_clear(): 6.3, commit bc292ab00f6c ("mm: introduce vma->vm_flags
 * wrapper functions"), which also made vma->vm_flags const.  Before it,
 * vm_flags was changed in place under the mmap lock, which ->mmap() holds.
 */
#ifndef CW_HAVE_VM_FLAGS_CLEAR
#include <linux/mm_types.h>

static inline void __cw_compat_vm_flags_clear(struct vm_area_struct *vma,
					      vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}

#define vm_flags_clear __cw_compat_vm_flags_clear
#endif /* CW_HAVE_VM_FLAGS_CLEAR */

/*
 * hrtimer_setup(): 6.13, commit 908a1d775422 ("hrtimers: Introduce
 * hrtimer_setup() to replace hrtimer_init()"); hrtimer_init() went away in
 * 6.15.  Before 6.13, the callback was assigned after hrtimer_init().
 */
#ifndef CW_HAVE_HRTIMER_SETUP
#include <linux/hrtimer.h>

static inline void
__cw_compat_hrtimer_setup(struct hrtimer *timer,
			  enum hrtimer_restart (*function)(struct hrtimer *),
			  clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}

#define hrtimer_setup __cw_compat_hrtimer_setup
#endif /* CW_HAVE_HRTIMER_SETUP */

/*
 * mc146818_get_time(time, timeout): the timeout, in ms, for an update in
 * progress came with the series that made the function's failures
 * negative errnos; Debian's 6.1 has it from the stable backports.  A
 * kernel without it waits on its own and takes only the time.
 */
#if IS_ENABLED(CONFIG_X86) && IS_ENABLED(CONFIG_RTC_MC146818_LIB) && \
	!defined(CW_HAVE_MC146818_GET_TIME_TIMEOUT)
#include <linux/mc146818rtc.h>

static inline int __cw_compat_mc146818_get_time(struct rtc_time *time,
						int timeout)
{
	return mc146818_get_time(time);
}

#define mc146818_get_time __cw_compat_mc146818_get_time
#endif /* CW_HAVE_MC146818_GET_TIME_TIMEOUT */

#endif /* _CLOCKWATCH_COMPAT_H */
