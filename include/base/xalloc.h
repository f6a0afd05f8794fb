/*
 * Allocation that aborts with a message on failure, so callers never handle
 * out-of-memory.  Thread-safe.
 */
#ifndef RT_BASE_XALLOC_H
#define RT_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Reallocate an array of @n elements of @size, checking the product. */
void *xreallocarray(void *ptr, size_t n, size_t size);
/* Copy of @s (caller frees); NULL stays NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
