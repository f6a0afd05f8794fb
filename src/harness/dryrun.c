/*
 * The dry run's list of writes (see include/harness/dryrun.h).  Lines go to
 * a stdio stream under one lock, so lines from different workers never
 * interleave; a failed write is remembered and reported at the close
 * rather than by every worker.
 */
#include "harness/dryrun.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

struct dryrun {
    pthread_mutex_t lock;
    FILE *f;
    char path[4096];
    char tmp[4096 + 8];
    int64_t count;
    int failed; /* errno of the first failed write, 0 when none */
};

enum rt_err dryrun_open(struct dryrun **out, const char *run_dir)
{
    struct dryrun *self = xcalloc(1, sizeof(*self));

    *out = NULL;
    if ((size_t)snprintf(self->path, sizeof(self->path), "%s/%s", run_dir,
                         DRYRUN_FILE) >= sizeof(self->path)) {
        free(self);
        return rt_fail(RT_EINVAL, "run directory path too long: '%s'", run_dir);
    }
    snprintf(self->tmp, sizeof(self->tmp), "%s.tmp", self->path);
    if (!(self->f = fopen(self->tmp, "w"))) {
        enum rt_err err = rt_fail(RT_EIO, "cannot create '%s': %s", self->tmp,
                                  strerror(errno));
        free(self);
        return err;
    }
    pthread_mutex_init(&self->lock, NULL);
    *out = self;
    return RT_OK;
}

void dryrun_write(struct dryrun *self, const char *method, const char *path,
                  const char *body)
{
    pthread_mutex_lock(&self->lock);
    if (fputs(method, self->f) == EOF || fputc(' ', self->f) == EOF ||
        fputs(path, self->f) == EOF)
        self->failed = self->failed ? self->failed : errno;
    if (body) {
        /* Compact JSON escapes line breaks inside strings; a raw one can
         * only be whitespace between tokens, so a space keeps the JSON. */
        if (fputc(' ', self->f) == EOF)
            self->failed = self->failed ? self->failed : errno;
        for (const char *p = body; *p; p++)
            if (fputc(*p == '\n' || *p == '\r' ? ' ' : *p, self->f) == EOF)
                self->failed = self->failed ? self->failed : errno;
    }
    if (fputc('\n', self->f) == EOF)
        self->failed = self->failed ? self->failed : errno;
    self->count++;
    pthread_mutex_unlock(&self->lock);
}

int64_t dryrun_count(struct dryrun *self)
{
    int64_t n;

    pthread_mutex_lock(&self->lock);
    n = self->count;
    pthread_mutex_unlock(&self->lock);
    return n;
}

enum rt_err dryrun_close(struct dryrun *self)
{
    enum rt_err err = RT_OK;
    int bad;

    if (!self)
        return RT_OK;
    bad = fclose(self->f) != 0;
    if (bad && !self->failed)
        self->failed = errno ? errno : EIO;
    if (self->failed) {
        err = rt_fail(RT_EIO, "cannot write '%s': %s", self->tmp,
                      strerror(self->failed));
        remove(self->tmp);
    } else if (rename(self->tmp, self->path)) {
        err = rt_fail(RT_EIO, "cannot rename '%s': %s", self->tmp,
                      strerror(errno));
        remove(self->tmp);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    return err;
}
