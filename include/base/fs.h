/* Small filesystem helpers.  Thread-safe. */
#ifndef RT_BASE_FS_H
#define RT_BASE_FS_H

#include "base/err.h"

/* Create @path and its missing parents (mode 0755); logs the cause. */
enum rt_err fs_mkdir_p(const char *path);

#endif
