/* Small filesystem helpers.  Thread-safe. */
#ifndef RT_BASE_FS_H
#define RT_BASE_FS_H

#include <stddef.h>

#include "base/err.h"

/* Create @path and its missing parents (mode 0755); logs the cause. */
enum rt_err fs_mkdir_p(const char *path);

/* Replace @path with @len bytes of @data: written to "<path>.tmp" and
 * renamed, so readers see the old file or the new one, never a part.
 * RT_EIO (logged, tmp removed) on failure. */
enum rt_err fs_write_atomic(const char *path, const char *data, size_t len);

#endif
