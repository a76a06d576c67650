// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: make clock steps, NTP adjustments and the clocks' relation
 * visible to userspace as they happen.
 *
 * /dev/clockwatch maps one read-only page, struct clockwatch_page (see
 * include/uapi/linux/clockwatch.h), that the module keeps current: the
 * system clocks read at one instant, refreshed periodically and right
 * after every clock step, and the kernel's NTP state after the latest
 * adjtimex() call.  Userspace reads it without a system call:
 *
 *	fd = open("/dev/clockwatch", O_RDONLY);
 *	page = mmap(NULL, CLOCKWATCH_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
 *	then copy it under page->seq, as the uapi header shows.
 *
 * Copyright (C) 2025 clockwatch developers
 */

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "clockwatch.h"
#include "stall.h"

/* Every open file has its own struct clockwatch_file in private_data. */
static struct clockwatch_file *to_clockwatch_file(struct file *file)
{
	return file->private_data;
}

static struct clockwatch_dev *to_clockwatch_dev(struct file *file)
{
	return to_clockwatch_file(file)->cw;
}

/*
 * open(): a reader of its own, whose event cursor starts at the next
 * record.  misc_open() left the miscdevice in private_data.
 *
 * Anyone may open the device and map the page: it says no more than
 * adjtimex(modes = 0), which anyone may call, and names no process.
 * The event stream also says which process stepped or adjusted the
 * clock (as the reader's pid namespace sees it), so reading it takes the
 * right to observe other processes: CAP_PERFMON (or CAP_SYS_ADMIN),
 * checked here, against the opener, as perf_event_open() does.
 */
static int clockwatch_open(struct inode *inode, struct file *file)
{
	struct clockwatch_dev *cw = container_of(file->private_data,
						 struct clockwatch_dev, misc);
	struct clockwatch_file *cf;
	int ret;

	/* A stream: no lseek(), pread() or pwrite() (-ESPIPE). */
	ret = stream_open(inode, file);
	if (ret)
		return ret;
	cf = kzalloc(sizeof(*cf), GFP_KERNEL);
	if (!cf)
		return -ENOMEM;
	clockwatch_events_open(cw, cf);
	cf->may_read_events = perfmon_capable();
	file->private_data = cf;
	return 0;
}

static int clockwatch_release(struct inode *inode, struct file *file)
{
	kfree(to_clockwatch_file(file));
	return 0;
}

/* read(): whole event records, see struct clockwatch_event. */
static ssize_t clockwatch_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	return clockwatch_events_read(to_clockwatch_file(file), buf, count,
				      file->f_flags & O_NONBLOCK);
}

static __poll_t clockwatch_poll(struct file *file, struct poll_table_struct *wait)
{
	return clockwatch_events_poll(to_clockwatch_file(file), file, wait);
}

/* CLOCKWATCH_IOC_INFO: sizes and features, for a reader to check. */
static long clockwatch_ioctl_info(struct clockwatch_file *cf,
				  struct clockwatch_info __user *uinfo)
{
	struct clockwatch_dev *cw = cf->cw;
	struct clockwatch_info info;
	u64 dropped;
	size_t i;

	if (copy_from_user(&info, uinfo, sizeof(info)))
		return -EFAULT;
	if (info.size < sizeof(info) || info.event_head || info.cursor)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(info.__reserved); i++)
		if (info.__reserved[i])
			return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.version = CLOCKWATCH_ABI_VERSION;
	info.event_size = CLOCKWATCH_EVENT_SIZE;
	info.ring_entries = cw->ev_entries;
	info.features = READ_ONCE(cw->page->features);
	if (mutex_lock_interruptible(&cf->read_lock))
		return -ERESTARTSYS;
	info.cursor = cf->cursor;
	mutex_unlock(&cf->read_lock);
	info.event_head = clockwatch_events_head(cw, &dropped);
	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long clockwatch_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct clockwatch_dev *cw = to_clockwatch_dev(file);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CLOCKWATCH_IOC_INFO:
		return clockwatch_ioctl_info(to_clockwatch_file(file), uarg);
	case CLOCKWATCH_IOC_DAEMON_REPORT:
		return clockwatch_steps_report(cw, uarg);
	case CLOCKWATCH_IOC_TASKS:
		return clockwatch_steps_tasks(cw, uarg);
	default:
		return clockwatch_stall_ioctl(cw, cmd, arg);
	}
}

/*
 * mmap(): the one page, read-only, for good.  The page is written by the
 * module only, so a mapping that could ever write it is refused.
 */
static int clockwatch_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct clockwatch_dev *cw = to_clockwatch_dev(file);

	/* Exactly VM_READ: no PROT_WRITE, shared or private. */
	if ((vma->vm_flags & (VM_READ | VM_WRITE)) != VM_READ)
		return -EROFS;
	/* Exactly the one page, from its start. */
	if (vma->vm_end - vma->vm_start != PAGE_SIZE || vma->vm_pgoff != 0)
		return -EINVAL;
	/*
	 * Nor later: without VM_MAYWRITE, mprotect(PROT_WRITE) fails, also
	 * on a MAP_SHARED mapping of a file opened for writing, and a
	 * private mapping is not copy-on-write.
	 */
	vm_flags_clear(vma, VM_MAYWRITE);
	/*
	 * Map it.  The mapping holds no reference on the page; the page
	 * outlives it all the same, as the mapping holds the file and the
	 * file holds the module.  remap_pfn_range() also makes the mapping
	 * VM_DONTEXPAND (no mremap() growth) and refuses MADV_DONTNEED.
	 */
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(cw->page)),
			       PAGE_SIZE, vma->vm_page_prot);
}

static const struct file_operations clockwatch_fops = {
	.owner		= THIS_MODULE,
	.open		= clockwatch_open,
	.release	= clockwatch_release,
	.read		= clockwatch_read,
	.poll		= clockwatch_poll,
	.mmap		= clockwatch_mmap,
	.unlocked_ioctl	= clockwatch_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct clockwatch_dev clockwatch = {
	.misc = {
		.minor	= MISC_DYNAMIC_MINOR,
		.name	= "clockwatch",
		.fops	= &clockwatch_fops,
		.mode	= 0444,
	},
};

static int __init clockwatch_init(void)
{
	struct clockwatch_dev *cw = &clockwatch;
	int ret;

	ret = clockwatch_page_alloc(cw);
	if (ret)
		return ret;
	/* Before the hooks: they emit events. */
	ret = clockwatch_events_init(cw);
	if (ret)
		goto err_events_init;

	/* The hooks only set feature bits when they fail, never stop us. */
	clockwatch_steps_start(cw);
	clockwatch_clocks_start(cw);
	clockwatch_ntp_start(cw);
	/* Not fatal either: without an RTC, there is nothing to audit. */
	clockwatch_audit_start(cw);
	ret = clockwatch_stall_start(cw);
	if (ret)
		goto err_stall_start;
	/* With or without the probe: the injector does not need it. */
	ret = clockwatch_inject_init(cw);
	if (ret)
		goto err_inject_init;

	/* Last: the page is complete before anyone can open the device. */
	ret = misc_register(&cw->misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", cw->misc.name, ret);
		goto err_misc_register;
	}

	pr_info("/dev/%s ready, features %#llx\n", cw->misc.name,
		cw->page->features);
	return 0;

err_misc_register:
	clockwatch_inject_exit();
err_inject_init:
	clockwatch_stall_stop(cw);
err_stall_start:
	clockwatch_audit_stop(cw);
	clockwatch_ntp_stop(cw);
	clockwatch_clocks_stop(cw);
	clockwatch_steps_stop(cw);
	clockwatch_events_exit(cw);
err_events_init:
	clockwatch_page_free(cw);
	return ret;
}

/*
 * No file of the device is open here (fops.owner holds the module while
 * one is), so no mapping of the page remains either.
 */
static void __exit clockwatch_exit(void)
{
	struct clockwatch_dev *cw = &clockwatch;

	misc_deregister(&cw->misc);
	clockwatch_inject_exit();
	clockwatch_stall_stop(cw);
	clockwatch_audit_stop(cw);
	clockwatch_ntp_stop(cw);
	clockwatch_clocks_stop(cw);
	clockwatch_steps_stop(cw);
	clockwatch_events_exit(cw);
	clockwatch_page_free(cw);
}

module_init(clockwatch_init);
module_exit(clockwatch_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("clockwatch developers");
MODULE_DESCRIPTION("Clock steps and NTP state on a read-only page");
