/*
 * CSV reader: the writer's dialect read back exactly (quotes, doubled
 * quotes, line breaks inside fields, CRLF), strict field counts with the
 * file and line in every error, the truncated tail a killed run leaves,
 * and random rows written by base/csv read back field for field, through
 * read buffers small enough that every row is cut by a read somewhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/csvr.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"
#include "support/capture.h"

static char tmpdir[] = "/tmp/rt-test-csvr-XXXXXX";

static const struct csvr_opts quiet = {.quiet = 1};

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write @len bytes to <tmpdir>/<name>; the path goes to @path. */
static void write_bytes(const char *name, const char *data, size_t len,
                        char *path, size_t path_len)
{
    FILE *f;

    snprintf(path, path_len, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Open text in memory quietly; the reader must open. */
static struct csvr *open_text(const char *text, const struct csvr_opts *opts)
{
    struct csvr *r = NULL;
    enum rt_err err =
        csvr_open_mem(&r, "t.csv", text, strlen(text), opts ? opts : &quiet);

    if (err)
        fprintf(stderr, "open failed: %s\n", rt_strerror(err));
    assert_int_equal(err, RT_OK);
    return r;
}

/* Next row must exist. */
static void next_row(struct csvr *r)
{
    int has = 0;

    assert_int_equal(csvr_next(r, &has), RT_OK);
    assert_int_equal(has, 1);
}

static void next_end(struct csvr *r)
{
    int has = 1;

    assert_int_equal(csvr_next(r, &has), RT_OK);
    assert_int_equal(has, 0);
}

static void plain_rows_and_columns_by_name(void **state)
{
    struct csvr *r = open_text("seq,agent,status\n1,a,200\n2,,409\n", NULL);
    size_t c_seq, c_agent, c_status, len;
    int64_t v;

    (void)state;
    assert_int_equal(csvr_ncols(r), 3);
    assert_string_equal(csvr_header(r, 1), "agent");
    assert_null(csvr_header(r, 3));
    assert_int_equal(csvr_col(r, "seq", &c_seq), RT_OK);
    assert_int_equal(csvr_col(r, "agent", &c_agent), RT_OK);
    assert_int_equal(csvr_col(r, "status", &c_status), RT_OK);
    assert_int_equal(c_status, 2);
    assert_int_equal(csvr_col(r, "nope", &len), RT_EPARSE);
    assert_non_null(strstr(csvr_error(r), "no column 'nope'"));
    assert_false(csvr_has_col(r, "nope", &len));
    /* No current row yet. */
    assert_string_equal(csvr_str(r, 0, &len), "");
    assert_int_equal(csvr_line(r), 0);

    next_row(r);
    assert_int_equal(csvr_line(r), 2);
    assert_string_equal(csvr_str(r, c_agent, &len), "a");
    assert_int_equal(len, 1);
    assert_int_equal(csvr_i64(r, c_status, -1, &v), RT_OK);
    assert_int_equal(v, 200);
    next_row(r);
    assert_int_equal(csvr_line(r), 3);
    assert_string_equal(csvr_str(r, c_agent, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(csvr_i64(r, c_seq, -1, &v), RT_OK);
    assert_int_equal(v, 2);
    /* Empty gives the default. */
    assert_int_equal(csvr_i64(r, c_agent, -7, &v), RT_OK);
    assert_int_equal(v, -7);
    assert_string_equal(csvr_str(r, 99, NULL), "");
    next_end(r);
    next_end(r);
    assert_int_equal(csvr_rows(r), 2);
    assert_int_equal(csvr_truncated_line(r), 0);
    csvr_close(r);
}

static void quoted_fields_unescape_doubled_quotes(void **state)
{
    struct csvr *r = open_text("a,b,c\n"
                               "\"x,y\",\"say \"\"hi\"\"\",\"\"\n"
                               "\"\"\"\",plain,\"\"\"a\"\"\"\n",
                               NULL);
    size_t len;

    (void)state;
    next_row(r);
    assert_string_equal(csvr_str(r, 0, NULL), "x,y");
    assert_string_equal(csvr_str(r, 1, &len), "say \"hi\"");
    assert_int_equal(len, 8);
    assert_string_equal(csvr_str(r, 2, &len), "");
    assert_int_equal(len, 0);
    next_row(r);
    assert_string_equal(csvr_str(r, 0, NULL), "\"");
    assert_string_equal(csvr_str(r, 1, NULL), "plain");
    assert_string_equal(csvr_str(r, 2, NULL), "\"a\"");
    next_end(r);
    csvr_close(r);
}

static void newlines_inside_fields_keep_line_numbers(void **state)
{
    struct csvr *r = open_text("id,note\n"
                               "1,\"two\nlines\"\n"
                               "2,\"three\r\nlines\nhere\"\n"
                               "3,x\n",
                               NULL);

    (void)state;
    next_row(r);
    assert_int_equal(csvr_line(r), 2);
    assert_string_equal(csvr_str(r, 1, NULL), "two\nlines");
    next_row(r);
    assert_int_equal(csvr_line(r), 4);
    assert_string_equal(csvr_str(r, 1, NULL), "three\r\nlines\nhere");
    next_row(r);
    assert_int_equal(csvr_line(r), 7);
    assert_string_equal(csvr_str(r, 0, NULL), "3");
    next_end(r);
    csvr_close(r);
}

static void crlf_line_ends_are_accepted(void **state)
{
    struct csvr *r = open_text("a,b\r\n1,\"q\"\r\n,2\r\n", NULL);

    (void)state;
    assert_string_equal(csvr_header(r, 1), "b");
    next_row(r);
    assert_string_equal(csvr_str(r, 0, NULL), "1");
    assert_string_equal(csvr_str(r, 1, NULL), "q");
    next_row(r);
    assert_string_equal(csvr_str(r, 0, NULL), "");
    assert_string_equal(csvr_str(r, 1, NULL), "2");
    assert_int_equal(csvr_line(r), 3);
    next_end(r);
    csvr_close(r);
}

/* @text must fail on csvr_next with @want in the message. */
static void row_error(const char *text, const char *want)
{
    struct csvr *r = open_text(text, NULL);
    int has = 1, rows = 0;
    enum rt_err err;

    while (!(err = csvr_next(r, &has)) && has)
        rows++;
    if (err != RT_EPARSE || !strstr(csvr_error(r), want)) {
        fprintf(stderr,
                "input \"%s\": %s after %d rows, message \"%s\", "
                "want \"%s\"\n",
                text, rt_strerror(err), rows, csvr_error(r), want);
        fail();
    }
    /* The reader stays failed. */
    assert_int_equal(csvr_next(r, &has), RT_EPARSE);
    assert_int_equal(has, 0);
    csvr_close(r);
}

static void malformed_rows_name_file_and_line(void **state)
{
    (void)state;
    row_error("a,b\n1,2\n1,2,3\n", "'t.csv', line 3: row has 3 fields, "
                                   "the header has 2");
    row_error("a,b\n1,2\n1\n", "'t.csv', line 3: row has 1 fields");
    row_error("a,b\n\n", "'t.csv', line 2: row has 1 fields");
    row_error("a,b\n1,\"x\ny\"\n1,2,3", "'t.csv', line 4: row has 3 fields");
    row_error("a,b\n1,x\"y\n", "'t.csv', line 2: quote inside an unquoted");
    row_error("a,b\n1,\"x\"y\n", "line 2: text after the closing quote");
    row_error("a,b\n1,2\r3\n", "line 2: carriage return without a line feed");
    row_error("a,b\n1,2\n3,\"a\n\nb\"c\n",
              "'t.csv', line 5: text after the closing quote");
}

static void nul_bytes_are_errors(void **state)
{
    static const char text[] = "a,b\n1,x\0y\n";
    struct csvr *r = NULL;
    int has;

    (void)state;
    assert_int_equal(csvr_open_mem(&r, "n.csv", text, sizeof(text) - 1, &quiet),
                     RT_OK);
    assert_int_equal(csvr_next(r, &has), RT_EPARSE);
    assert_non_null(strstr(csvr_error(r), "'n.csv', line 2: NUL byte"));
    csvr_close(r);
}

static void last_line_without_line_end_is_a_row(void **state)
{
    struct csvr *r = open_text("a,b\n1,2\n3,\"4\"", NULL);

    (void)state;
    next_row(r);
    next_row(r);
    assert_string_equal(csvr_str(r, 1, NULL), "4");
    next_end(r);
    assert_int_equal(csvr_truncated_line(r), 0);
    csvr_close(r);
    /* A trailing comma at the very end is an empty last field. */
    r = open_text("a,b\n1,", NULL);
    next_row(r);
    assert_string_equal(csvr_str(r, 0, NULL), "1");
    assert_string_equal(csvr_str(r, 1, NULL), "");
    next_end(r);
    csvr_close(r);
}

/* @text ends in a truncated row at @line: skipped with a warning by
 * default, an error with CSVR_TAIL_ERROR. */
static void truncated(const char *text, int whole_rows, uint64_t line)
{
    struct csvr_opts strict = {.tail = CSVR_TAIL_ERROR, .quiet = 1};
    struct csvr *r;
    char *err_text;
    int has = 1, rows = 0;
    enum rt_err err;

    capture_stderr_begin();
    r = open_text(text, &(struct csvr_opts){0});
    while (!(err = csvr_next(r, &has)) && has)
        rows++;
    err_text = capture_stderr_end();
    assert_int_equal(err, RT_OK);
    assert_int_equal(rows, whole_rows);
    assert_int_equal(csvr_truncated_line(r), line);
    if (!strstr(err_text, "warning: ") || !strstr(err_text, "'t.csv', line") ||
        !strstr(err_text, "truncated")) {
        fprintf(stderr, "warning was \"%s\"\n", err_text);
        fail();
    }
    free(err_text);
    next_end(r);
    csvr_close(r);

    r = open_text(text, &strict);
    rows = 0;
    while (!(err = csvr_next(r, &has)) && has)
        rows++;
    assert_int_equal(err, RT_EPARSE);
    assert_int_equal(rows, whole_rows);
    assert_non_null(strstr(csvr_error(r), "truncated"));
    csvr_close(r);
}

static void truncated_tail_is_skipped_with_a_warning(void **state)
{
    (void)state;
    /* Cut inside a quoted field, possibly spanning lines. */
    truncated("a,b\n1,2\n3,\"par", 1, 3);
    truncated("a,b\n1,2\n3,\"line one\nline", 1, 3);
    /* Cut between fields or inside the last-but-one. */
    truncated("a,b,c\n1,2,3\n4,5", 1, 3);
    truncated("a,b,c\n1,2,3\n4", 1, 3);
    truncated("a,b,c\n1,2,3\n\"4\"", 1, 3);
    /* The very first data row. */
    truncated("a,b,c\n4,5", 0, 2);
}

static void empty_file_and_header_only(void **state)
{
    struct csvr *r = NULL;
    char path[512];

    (void)state;
    write_bytes("empty.csv", "", 0, path, sizeof(path));
    assert_int_equal(csvr_open(&r, path, &quiet), RT_EPARSE);
    assert_null(r);
    write_bytes("header.csv", "a,b,c\n", 6, path, sizeof(path));
    assert_int_equal(csvr_open(&r, path, &quiet), RT_OK);
    assert_int_equal(csvr_ncols(r), 3);
    next_end(r);
    assert_int_equal(csvr_rows(r), 0);
    csvr_close(r);
    /* A header without its line end is still a header. */
    write_bytes("header2.csv", "a,b", 3, path, sizeof(path));
    assert_int_equal(csvr_open(&r, path, &quiet), RT_OK);
    assert_int_equal(csvr_ncols(r), 2);
    next_end(r);
    csvr_close(r);
    snprintf(path, sizeof(path), "%s/missing.csv", tmpdir);
    assert_int_equal(csvr_open(&r, path, &quiet), RT_ENOENT);
}

static void bad_headers_are_errors(void **state)
{
    const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"a,b,a\n", "'h.csv', line 1: column 'a' appears twice"},
        {"a,,b\n", "line 1: column 2 has no name"},
        {"\n1\n", "line 1: column 1 has no name"},
        {"a,\"b\n", "line 1: unterminated quote in the header"},
        {"a,b\"\n", "line 1: quote inside an unquoted field"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct csvr *r = NULL;
        char *err_text;
        enum rt_err err;

        capture_stderr_begin();
        err = csvr_open_mem(&r, "h.csv", cases[i].text, strlen(cases[i].text),
                            NULL);
        err_text = capture_stderr_end();
        if (err != RT_EPARSE || !strstr(err_text, cases[i].want)) {
            fprintf(stderr, "header \"%s\": %s, logged \"%s\", want \"%s\"\n",
                    cases[i].text, rt_strerror(err), err_text, cases[i].want);
            fail();
        }
        assert_null(r);
        free(err_text);
    }
}

static void byte_order_mark_is_not_part_of_the_header(void **state)
{
    struct csvr *r = open_text("\xEF\xBB\xBF"
                               "seq,b\n1,2\n",
                               NULL);
    size_t c;

    (void)state;
    assert_int_equal(csvr_col(r, "seq", &c), RT_OK);
    assert_int_equal(c, 0);
    csvr_close(r);
}

static void numbers_parse_or_name_the_column(void **state)
{
    struct csvr *r = open_text("n,x,big\n-12,2.5,99999999999999999999\n"
                               "1x,abc,9223372036854775807\n",
                               NULL);
    int64_t v = 0;
    double d = 0;

    (void)state;
    next_row(r);
    assert_int_equal(csvr_i64(r, 0, 0, &v), RT_OK);
    assert_int_equal(v, -12);
    assert_int_equal(csvr_double(r, 1, 0, &d), RT_OK);
    assert_true(d == 2.5);
    assert_int_equal(csvr_i64(r, 1, 0, &v), RT_EPARSE);
    assert_non_null(strstr(csvr_error(r), "'t.csv', line 2: column 'x': "
                                          "'2.5' is not a 64-bit integer"));
    v = 5;
    assert_int_equal(csvr_i64(r, 2, 0, &v), RT_EPARSE);
    assert_int_equal(v, 5);
    next_row(r);
    assert_int_equal(csvr_i64(r, 0, 0, &v), RT_EPARSE);
    assert_int_equal(csvr_double(r, 1, 0, &d), RT_EPARSE);
    assert_int_equal(csvr_i64(r, 2, 0, &v), RT_OK);
    assert_true(v == INT64_MAX);
    /* A semantic error from the caller reads the same. */
    assert_int_equal(csvr_fail(r, "status %d out of range", 1000), RT_EPARSE);
    csvr_close(r);
}

static void rows_longer_than_the_cap_are_errors(void **state)
{
    struct csvr_opts opts = {.row_max_bytes = 16, .read_bytes = 3, .quiet = 1};
    struct csvr *r;
    int has;

    (void)state;
    /* Exactly 16 bytes (CRLF end), then 17. */
    r = open_text("a,b\r\n0123456,89abcdef\r\n0123456,89abcdefg\r\n", &opts);
    next_row(r);
    assert_string_equal(csvr_str(r, 1, NULL), "89abcdef");
    assert_int_equal(csvr_next(r, &has), RT_EPARSE);
    assert_non_null(
        strstr(csvr_error(r), "'t.csv', line 3: row longer than 16 bytes"));
    csvr_close(r);
    /* A long quoted field with no end at all stops at the cap, not at the
     * end of the input. */
    r = open_text("a\n\"0123456789abcdef0123456789", &opts);
    assert_int_equal(csvr_next(r, &has), RT_EPARSE);
    assert_non_null(strstr(csvr_error(r), "row longer than 16 bytes"));
    csvr_close(r);
}

/* ---- Round trip against the writer ----------------------------------- */

#define RT_COLS 7
#define RT_ROWS 3000

static const char *const rt_cols[RT_COLS] = {"seq", "a", "b", "c",
                                             "d",   "e", "f"};

/* A random field: empty, plain, or with the characters that need quotes. */
static char *random_field(struct rng *rng)
{
    static const char alphabet[] = "abcXYZ019 ,\"\r\n;'-_.";
    size_t len;
    char *s;

    switch (rng_below(rng, 5)) {
    case 0:
        return xstrdup("");
    case 1:
        len = (size_t)rng_below(rng, 2000);
        break;
    default:
        len = (size_t)rng_below(rng, 24);
        break;
    }
    s = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = alphabet[rng_below(rng, sizeof(alphabet) - 1)];
    s[len] = '\0';
    return s;
}

static void read_back(const char *path, char ***fields,
                      const struct csvr_opts *opts)
{
    struct csvr *r = NULL;
    int has;
    size_t len;

    assert_int_equal(csvr_open(&r, path, opts), RT_OK);
    for (size_t c = 0; c < RT_COLS; c++)
        assert_string_equal(csvr_header(r, c), rt_cols[c]);
    for (size_t i = 0; i < RT_ROWS; i++) {
        int64_t seq;
        next_row(r);
        assert_int_equal(csvr_i64(r, 0, -1, &seq), RT_OK);
        assert_int_equal(seq, (int64_t)i);
        for (size_t c = 1; c < RT_COLS; c++) {
            const char *got = csvr_str(r, c, &len);
            const char *want = fields[i][c];
            if (len != strlen(want) || memcmp(got, want, len)) {
                fprintf(stderr, "row %zu column %zu: got \"%s\" want \"%s\"\n",
                        i, c, got, want);
                fail();
            }
        }
    }
    assert_int_equal(csvr_next(r, &has), RT_OK);
    assert_int_equal(has, 0);
    assert_int_equal(csvr_rows(r), RT_ROWS);
    csvr_close(r);
}

static void random_rows_round_trip_through_the_writer(void **state)
{
    const struct csvr_opts sizes[] = {
        {.quiet = 1},
        {.read_bytes = 1, .quiet = 1},
        {.read_bytes = 7, .row_max_bytes = 16384, .quiet = 1},
        {.read_bytes = 4096, .row_max_bytes = 16384, .quiet = 1},
    };
    char ***fields = xcalloc(RT_ROWS, sizeof(*fields));
    struct csv *w = NULL;
    struct csv_row row;
    struct rng rng;
    char path[512];

    (void)state;
    rng_seed(&rng, 20261124, 7);
    snprintf(path, sizeof(path), "%s/roundtrip.csv", tmpdir);
    assert_int_equal(csv_open(&w, path, rt_cols, RT_COLS, CSV_ATOMIC), RT_OK);
    csv_row_init(&row);
    for (size_t i = 0; i < RT_ROWS; i++) {
        fields[i] = xcalloc(RT_COLS, sizeof(char *));
        csv_row_reset(&row);
        csv_row_i64(&row, (int64_t)i);
        for (size_t c = 1; c < RT_COLS; c++) {
            fields[i][c] = random_field(&rng);
            csv_row_str(&row, fields[i][c]);
        }
        assert_int_equal(csv_write_row(w, &row), RT_OK);
    }
    csv_row_release(&row);
    assert_int_equal(csv_close(w), RT_OK);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
        read_back(path, fields, &sizes[k]);
    for (size_t i = 0; i < RT_ROWS; i++) {
        for (size_t c = 1; c < RT_COLS; c++)
            free(fields[i][c]);
        free(fields[i]);
    }
    free(fields);
}

/* Every way of cutting a valid file gives its whole rows and then either
 * a clean end or a skipped truncated row, never an error. */
static void every_cut_of_a_file_reads_its_whole_rows(void **state)
{
    static const char *const lines[] = {"a,b,c\n", "1,\"x,\"\"y\"\"\",\n",
                                        "2,\"multi\nline\",z\n", ",,\n",
                                        "4,last,\"q\"\n"};
    size_t ends[5], full = 0;
    char text[256] = "";

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        memcpy(text + full, lines[i], strlen(lines[i]) + 1);
        full += strlen(lines[i]);
        ends[i] = full;
    }
    for (size_t cut = ends[0]; cut <= full; cut++) {
        struct csvr_opts opts = {.read_bytes = 1 + cut % 5, .quiet = 1};
        struct csvr *r = NULL;
        int has, rows = 0, whole = 0;
        enum rt_err err;

        for (size_t i = 1; i < 5; i++)
            whole += ends[i] <= cut;
        assert_int_equal(csvr_open_mem(&r, "cut.csv", text, cut, &opts), RT_OK);
        while (!(err = csvr_next(r, &has)) && has)
            rows++;
        if (err != RT_OK || rows < whole || rows > whole + 1) {
            fprintf(stderr, "cut at %zu: %s, %d rows, %d whole: %s\n", cut,
                    rt_strerror(err), rows, whole, csvr_error(r));
            fail();
        }
        /* A cut row is returned only when the cut left all its fields
         * (right after its last comma, or a line end short). */
        if (rows == whole + 1)
            assert_int_equal(csvr_truncated_line(r), 0);
        else if (cut < full && cut != ends[whole])
            assert_true(csvr_truncated_line(r) > 0);
        csvr_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_rows_and_columns_by_name),
        cmocka_unit_test(quoted_fields_unescape_doubled_quotes),
        cmocka_unit_test(newlines_inside_fields_keep_line_numbers),
        cmocka_unit_test(crlf_line_ends_are_accepted),
        cmocka_unit_test(malformed_rows_name_file_and_line),
        cmocka_unit_test(nul_bytes_are_errors),
        cmocka_unit_test(last_line_without_line_end_is_a_row),
        cmocka_unit_test(truncated_tail_is_skipped_with_a_warning),
        cmocka_unit_test(empty_file_and_header_only),
        cmocka_unit_test(bad_headers_are_errors),
        cmocka_unit_test(byte_order_mark_is_not_part_of_the_header),
        cmocka_unit_test(numbers_parse_or_name_the_column),
        cmocka_unit_test(rows_longer_than_the_cap_are_errors),
        cmocka_unit_test(random_rows_round_trip_through_the_writer),
        cmocka_unit_test(every_cut_of_a_file_reads_its_whole_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
