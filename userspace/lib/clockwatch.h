/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libclockwatch: read the clockwatch page.
 *
 * The page (struct clockwatch_page, include/uapi/linux/clockwatch.h) is
 * what /dev/clockwatch maps read-only into every reader: the system
 * clocks read at one instant, and the kernel NTP state after the most
 * recent adjtimex() call.  A cw_reader maps the page once and copies a
 * consistent snapshot of it on every cw_reader__read(), without a system
 * call.
 *
 * Functions that return int return 0 or a negative errno value and also
 * set errno; constructors return NULL and set errno.
 */
#ifndef __CLOCKWATCH_H
#define __CLOCKWATCH_H

#include <linux/clockwatch.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CW_API
#define CW_API __attribute__((visibility("default")))
#endif

/* Retries of a torn or in-progress read before cw_reader__read() gives up. */
#define CW_READ_MAX_RETRIES	1000000

/*
 * The smallest page this library can use: every field of page version 1.
 * Fields after it are optional and present when the page's size covers
 * them (CLOCKWATCH_FIELD_PRESENT on the copy).
 */
#define CW_PAGE_MIN_SIZE						\
	(__builtin_offsetof(struct clockwatch_page, ntp_writes) +	\
	 sizeof(((struct clockwatch_page *)0)->ntp_writes))

struct cw_reader;

/**
 * @brief **cw_reader__open()** maps the clockwatch page of a device or
 * of a regular file that holds one.
 * @param path the device, usually CLOCKWATCH_DEVICE ("/dev/clockwatch"),
 * or a regular file at least CLOCKWATCH_PAGE_SIZE bytes long laid out as
 * the page; NULL means CLOCKWATCH_DEVICE
 * @return a reader, or NULL with errno set (ENOENT when the device does
 * not exist, i.e. the module is not loaded; EINVAL for a file too short
 * to hold a page; ENOMEM; or what open() and mmap() report)
 *
 * Both kinds of path go through the same code: the first
 * CLOCKWATCH_PAGE_SIZE bytes are mapped PROT_READ, MAP_SHARED, so a file
 * that a test rewrites under the sequence counter behaves like the
 * device.  The page's contents are checked by cw_reader__read().
 */
CW_API struct cw_reader *cw_reader__open(const char *path);

/**
 * @brief **cw_reader__read()** copies a consistent snapshot of the page.
 * @param reader a reader from cw_reader__open()
 * @param out where the snapshot goes; bytes of *out beyond the size the
 * page publishes are zeroed, so CLOCKWATCH_FIELD_PRESENT(out, field)
 * tells which optional fields are valid
 * @return 0 on success; -EPROTO when the page's magic or version is not
 * one this library knows, or its size is smaller than CW_PAGE_MIN_SIZE or
 * larger than CLOCKWATCH_PAGE_SIZE; -EAGAIN when no consistent copy
 * could be made in CW_READ_MAX_RETRIES tries (the writer holds the
 * sequence counter odd, or changes the page faster than it can be
 * copied); -EINVAL when reader or out is NULL
 *
 * The copy follows the sequence counter protocol of the ABI header: the
 * counter is even and unchanged around a consistent copy, and out->seq
 * holds that even value.
 */
CW_API int cw_reader__read(struct cw_reader *reader,
			   struct clockwatch_page *out);

/**
 * @brief **cw_reader__close()** unmaps the page and frees the reader.
 * @param reader a reader from cw_reader__open(), or NULL
 */
CW_API void cw_reader__close(struct cw_reader *reader);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* __CLOCKWATCH_H */
