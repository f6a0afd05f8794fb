/*
 * Test file helpers.  Removal goes through nftw() depth-first with
 * FTW_PHYS, so a link inside a test directory is removed, never followed
 * out of it.  Reads go through base/buf so a runaway file hits its cap
 * instead of exhausting memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "files.h"

#include <errno.h>
#include <ftw.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

#define FILE_MAX (64u * 1024 * 1024)

int files_mkdtemp(char *out, size_t len, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    int n =
        snprintf(out, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);

    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int files_remove_tree(const char *path)
{
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

static char scratch[512];
static int scratch_seq;

int files_scratch_begin(const char *prefix)
{
    scratch_seq = 0;
    return files_mkdtemp(scratch, sizeof(scratch), prefix);
}

int files_scratch_end(void)
{
    return files_remove_tree(scratch);
}

int files_scratch_dir(char *out, size_t len)
{
    int n = snprintf(out, len, "%s/run-%d", scratch, ++scratch_seq);

    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdir(out, 0755) ? -1 : 0;
}

int files_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Read the open @f to its end into @out; the test fails on a read error. */
static void read_stream(FILE *f, const char *path, struct buf *out)
{
    char chunk[65536];
    size_t n;

    buf_init(out, FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(out, chunk, n), RT_OK);
    if (ferror(f))
        fail_msg("cannot read '%s': %s", path, strerror(errno));
    fclose(f);
}

void files_read_buf(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");

    if (!f)
        fail_msg("cannot open '%s': %s", path, strerror(errno));
    read_stream(f, path, out);
}

char *files_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;

    if (!f)
        return NULL;
    read_stream(f, path, &b);
    return buf_detach(&b, len);
}

char *files_read(const char *path, size_t *len)
{
    char *data = files_slurp(path, len);

    if (!data)
        fail_msg("cannot open '%s': %s", path, strerror(errno));
    return data;
}

/* Write @len bytes to @path opened with @mode; the test fails on error. */
static void put(const char *path, const char *mode, const void *data,
                size_t len)
{
    FILE *f = fopen(path, mode);

    if (!f)
        fail_msg("cannot create '%s': %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void files_write(const char *path, const void *data, size_t len)
{
    put(path, "wb", data, len);
}

void files_write_text(const char *path, const char *text)
{
    put(path, "w", text, strlen(text));
}

void files_append_text(const char *path, const char *text)
{
    put(path, "a", text, strlen(text));
}

void files_write_png(const char *path, const unsigned char *rgb, unsigned w,
                     unsigned h)
{
    png_image img;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGB;
    assert_true(png_image_write_to_file(&img, path, 0, rgb, 0, NULL));
}
