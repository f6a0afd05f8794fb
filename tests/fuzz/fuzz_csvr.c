/*
 * Fuzz target for the history CSV reader (include/base/csvr.h): any bytes
 * as a CSV file.  Invariants:
 *   - the same bytes read through a 1 MiB read buffer and through one of
 *     1 to 13 bytes give the same rows, fields and outcome, so no row is
 *     parsed differently for being cut by a read;
 *   - every row has the header's width and no field holds a NUL;
 *   - every error message names the file and, past the header, a line;
 *   - the rows read, written again with base/csv's quoting and read
 *     back, are the same rows (a round trip through the writer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/csvr.h"

#define FUZZ_ROW_MAX 4096
#define FUZZ_TEXT_MAX (8u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_row(const struct csvr *a, const struct csvr *b)
{
    if (csvr_ncols(a) != csvr_ncols(b) || csvr_line(a) != csvr_line(b))
        return 0;
    for (size_t c = 0; c < csvr_ncols(a); c++) {
        size_t la, lb;
        const char *fa = csvr_str(a, c, &la), *fb = csvr_str(b, c, &lb);
        if (la != lb || memcmp(fa, fb, la) || strlen(fa) != la)
            return 0;
    }
    return 1;
}

static void check_error(const struct csvr *r)
{
    const char *e = csvr_error(r);

    if (strncmp(e, "'fuzz.csv'", 10) != 0 || strchr(e, '\n'))
        abort();
}

/* Append the current row (or header) of @r to @text in the writer's
 * quoting; 0 when it does not fit. */
static int encode(struct buf *text, const struct csvr *r, int header)
{
    for (size_t c = 0; c < csvr_ncols(r); c++) {
        const char *s = header ? csvr_header(r, c) : csvr_str(r, c, NULL);
        if ((c && buf_putc(text, ',')) || csv_escape(text, s))
            return 0;
    }
    return buf_putc(text, '\n') == RT_OK;
}

/* Read @data twice in lockstep with different read sizes; the rows read
 * are encoded again into @text.  Returns the rows read. */
static uint64_t lockstep(const uint8_t *data, size_t size, size_t small_read,
                         struct buf *text, int *text_ok)
{
    struct csvr_opts big = {.row_max_bytes = FUZZ_ROW_MAX, .quiet = 1};
    struct csvr_opts small = big;
    struct csvr *a = NULL, *b = NULL;
    enum rt_err ea, eb;
    int ha, hb;
    uint64_t rows = 0;

    small.read_bytes = small_read;
    ea = csvr_open_mem(&a, "fuzz.csv", data, size, &big);
    eb = csvr_open_mem(&b, "fuzz.csv", data, size, &small);
    if (ea != eb || (ea && (a || b)))
        abort();
    if (ea)
        return 0;
    if (csvr_ncols(a) != csvr_ncols(b) || csvr_ncols(a) == 0)
        abort();
    for (size_t c = 0; c < csvr_ncols(a); c++)
        if (strcmp(csvr_header(a, c), csvr_header(b, c)) || !*csvr_header(a, c))
            abort();
    *text_ok = encode(text, a, 1);
    for (;;) {
        ea = csvr_next(a, &ha);
        eb = csvr_next(b, &hb);
        if (ea != eb || ha != hb)
            abort();
        if (ea) {
            check_error(a);
            if (strcmp(csvr_error(a), csvr_error(b)) ||
                !strstr(csvr_error(a), ", line "))
                abort();
            break;
        }
        if (!ha)
            break;
        if (!same_row(a, b) || csvr_line(a) < 2)
            abort();
        if (*text_ok)
            *text_ok = encode(text, a, 0);
        rows++;
    }
    if (csvr_truncated_line(a) != csvr_truncated_line(b) ||
        csvr_rows(a) != rows)
        abort();
    csvr_close(a);
    csvr_close(b);
    return rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t small_read = 1 + (size ? data[size - 1] % 13 : 0);
    struct csvr_opts opts = {.row_max_bytes = FUZZ_ROW_MAX, .quiet = 1};
    struct csvr *orig = NULL, *again = NULL;
    struct buf text;
    uint64_t rows;
    int text_ok = 0, ho, hg;

    buf_init(&text, FUZZ_TEXT_MAX);
    rows = lockstep(data, size, small_read, &text, &text_ok);
    /* A header starting with a second byte-order mark would lose it when
     * read again: no round trip for that one. */
    if (!text_ok || (text.len >= 3 && !memcmp(text.data, "\xEF\xBB\xBF", 3)))
        goto out;
    /* The round trip.  A field that needs quotes was quoted in the input
     * too, so no re-encoded row is longer than the row it came from. */
    if (csvr_open_mem(&orig, "fuzz.csv", data, size, &opts) ||
        csvr_open_mem(&again, "fuzz.csv", text.data, text.len, &opts))
        abort();
    for (uint64_t i = 0; i < rows; i++) {
        if (csvr_next(orig, &ho) || csvr_next(again, &hg) || !ho || !hg)
            abort();
        for (size_t c = 0; c < csvr_ncols(orig); c++) {
            size_t lo, lg;
            const char *fo = csvr_str(orig, c, &lo);
            const char *fg = csvr_str(again, c, &lg);
            if (lo != lg || memcmp(fo, fg, lo))
                abort();
        }
    }
    if (csvr_next(again, &hg) || hg || csvr_truncated_line(again))
        abort();
out:
    csvr_close(again);
    csvr_close(orig);
    buf_release(&text);
    return 0;
}
