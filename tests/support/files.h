/*
 * File helpers shared by the tests: a fresh temporary directory and its
 * recursive removal, a whole file read into memory, a file written or
 * appended in one call.  The reading and writing helpers fail the current
 * cmocka test (with the path and the cause) rather than return an error,
 * so they are for use inside a test body only.  Not thread-safe in the
 * sense that they report through cmocka, which belongs to one thread.
 */
#ifndef RT_TESTS_FILES_H
#define RT_TESTS_FILES_H

#include <stddef.h>

struct buf;

/* Create "$TMPDIR/<@prefix>-XXXXXX" (TMPDIR unset or empty: /tmp) and put
 * its path in @out (@len bytes); 0, or -1 when it cannot be made. */
int files_mkdtemp(char *out, size_t len, const char *prefix);
/* Remove @path and everything below it, never following links; 0, or -1
 * when anything could not be removed. */
int files_remove_tree(const char *path);
/* One scratch directory per test program, made by files_scratch_begin()
 * (files_mkdtemp() with @prefix) in the group setup and removed with all
 * below it by files_scratch_end() in the group teardown; each test takes
 * a fresh "<scratch>/run-<n>" from files_scratch_dir() (@out, @len bytes).
 * All return 0, or -1 on failure. */
int files_scratch_begin(const char *prefix);
int files_scratch_end(void);
int files_scratch_dir(char *out, size_t len);

/* 1 when @path exists (any type), else 0. */
int files_exists(const char *path);

/* The whole file into @out, initialized here with a 64 MiB cap
 * (NUL-terminated; caller releases); fails the test if unreadable. */
void files_read_buf(const char *path, struct buf *out);
/* The whole file, NUL-terminated, its length in *@len when @len is not
 * NULL; NULL when it cannot be opened, the test failed on a read error.
 * Caller frees. */
char *files_slurp(const char *path, size_t *len);
/* files_slurp() that fails the test when @path cannot be opened. */
char *files_read(const char *path, size_t *len);

/* Replace @path with @len bytes of @data; fails the test on any error. */
void files_write(const char *path, const void *data, size_t len);
/* Replace @path with @text. */
void files_write_text(const char *path, const char *text);
/* Append @text to @path, creating it when missing. */
void files_append_text(const char *path, const char *text);

/* Write @rgb (@w x @h pixels, 3 bytes each, rows top down) as the PNG
 * @path; fails the test when libpng cannot write it. */
void files_write_png(const char *path, const unsigned char *rgb, unsigned w,
                     unsigned h);

#endif
