/* Aborting allocators (see include/base/xalloc.h). */
#include "base/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xalloc_die(size_t size)
{
    fprintf(stderr, "racetrace: fatal: out of memory allocating %zu bytes\n",
            size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        xalloc_die(size);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        xalloc_die(n * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        xalloc_die(size);
    return p;
}

void *xreallocarray(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        xalloc_die(SIZE_MAX);
    return xrealloc(ptr, n * size);
}

char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
    char *p;
    size_t len;

    if (!s)
        return NULL;
    len = strnlen(s, n);
    p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
