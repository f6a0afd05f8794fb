/*
 * Test CSV reader (see csvread.h).  The file is copied once and fields
 * are unquoted in place into a second buffer, so every field is one
 * NUL-terminated string and rows are arrays of pointers into it.
 */
#include "csvread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/units.h"
#include "base/xalloc.h"

#define CSVREAD_FILE_MAX ((size_t)256 << 20)

struct csvread {
    char *text;    /* unquoted fields, each NUL-terminated */
    char **fields; /* every field, row after row */
    size_t n_fields, cap_fields;
    size_t cols; /* fields per row (the header's count) */
    size_t rows; /* data rows */
};

static void push_field(struct csvread *self, char *f)
{
    if (self->n_fields == self->cap_fields) {
        self->cap_fields = self->cap_fields ? 2 * self->cap_fields : 256;
        self->fields =
            xreallocarray(self->fields, self->cap_fields, sizeof(char *));
    }
    self->fields[self->n_fields++] = f;
}

struct csvread *csvread_parse(const char *in, size_t len)
{
    struct csvread *self = xcalloc(1, sizeof(*self));
    char *out;
    size_t i = 0, row_fields = 0, row_no = 0;

    /* Unquoting never grows a field, so the copy fits in len + 1 bytes
     * plus one terminator per field (at most one per input byte). */
    self->text = out = xmalloc(2 * len + 2);
    while (i < len) {
        char *start = out;

        if (in[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    fprintf(stderr, "csvread: unterminated quote in row %zu\n",
                            row_no + 1);
                    goto fail;
                }
                if (in[i] == '"') {
                    if (i + 1 < len && in[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *out++ = in[i++];
            }
        } else {
            while (i < len && in[i] != ',' && in[i] != '\n' && in[i] != '\r')
                *out++ = in[i++];
        }
        *out++ = '\0';
        push_field(self, start);
        row_fields++;
        if (i < len && in[i] == ',') {
            i++;
            /* A trailing comma ends the line with an empty field. */
            if (i >= len || in[i] == '\n' || in[i] == '\r') {
                *out++ = '\0';
                push_field(self, out - 1);
                row_fields++;
            } else {
                continue;
            }
        }
        if (i < len && in[i] != '\n' && in[i] != '\r') {
            fprintf(stderr, "csvread: junk after a quoted field in row %zu\n",
                    row_no + 1);
            goto fail;
        }
        if (i < len && in[i] == '\r')
            i++;
        if (i < len && in[i] == '\n')
            i++;
        if (row_no == 0)
            self->cols = row_fields;
        else if (row_fields != self->cols) {
            fprintf(stderr, "csvread: row %zu has %zu fields, header %zu\n",
                    row_no + 1, row_fields, self->cols);
            goto fail;
        }
        row_no++;
        row_fields = 0;
    }
    if (row_no == 0) {
        fprintf(stderr, "csvread: no header row\n");
        goto fail;
    }
    self->rows = row_no - 1;
    return self;

fail:
    csvread_free(self);
    return NULL;
}

struct csvread *csvread_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct buf text;
    char chunk[65536];
    size_t n;
    struct csvread *self = NULL;

    if (!f) {
        perror(path);
        return NULL;
    }
    buf_init(&text, CSVREAD_FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&text, chunk, n)) {
            fprintf(stderr, "csvread: '%s' is too large\n", path);
            goto out;
        }
    if (ferror(f)) {
        perror(path);
        goto out;
    }
    self = csvread_parse(buf_str(&text), text.len);
    if (!self)
        fprintf(stderr, "csvread: in '%s'\n", path);
out:
    fclose(f);
    buf_release(&text);
    return self;
}

void csvread_free(struct csvread *self)
{
    if (!self)
        return;
    free(self->fields);
    free(self->text);
    free(self);
}

size_t csvread_rows(const struct csvread *self)
{
    return self->rows;
}

size_t csvread_cols(const struct csvread *self)
{
    return self->cols;
}

int csvread_col(const struct csvread *self, const char *name)
{
    for (size_t c = 0; c < self->cols; c++)
        if (!strcmp(self->fields[c], name))
            return (int)c;
    return -1;
}

const char *csvread_field(const struct csvread *self, size_t row, int col)
{
    if (row >= self->rows || col < 0 || (size_t)col >= self->cols)
        return "";
    return self->fields[(row + 1) * self->cols + (size_t)col];
}

int64_t csvread_i64(const struct csvread *self, size_t row, int col,
                    int64_t dflt)
{
    int64_t v;

    return units_parse_i64(csvread_field(self, row, col), &v) == RT_OK ? v
                                                                       : dflt;
}
