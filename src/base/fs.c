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

enum rt_err fs_write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    FILE *f;
    int bad;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return rt_fail(RT_EINVAL, "path too long: '%s'", path);
    f = fopen(tmp, "w");
    if (!f)
        return rt_fail(RT_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    bad = fwrite(data, 1, len, f) != len;
    if (fclose(f) || bad) {
        remove(tmp);
        return rt_fail(RT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    }
    if (rename(tmp, path)) {
        enum rt_err err =
            rt_fail(RT_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
        remove(tmp);
        return err;
    }
    return RT_OK;
}
