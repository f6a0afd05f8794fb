/* Filesystem helpers (see include/base/fs.h). */
#include "base/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"

enum rt_err fs_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(tmp))
        return rt_fail(RT_EINVAL, "invalid directory path '%s'", path);
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return rt_fail(RT_EIO, "cannot create '%s': %s", tmp,
                           strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return rt_fail(RT_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    return RT_OK;
}
