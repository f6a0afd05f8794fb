/*
 * CSV writer: RFC 4180 quoting, the atomic and stream modes as seen on
 * disk, and rows from many threads.  Each test works in its own temporary
 * directory; files are read back and parsed by a small strict RFC 4180
 * reader below, so a malformed file fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/csv.h"
#include "base/units.h"
#include "base/xalloc.h"
#include "support/files.h"

#define FILE_MAX (64u * 1024 * 1024)
#define THREADS 8
#define ROWS_PER_THREAD 3000

struct fixture {
    char dir[256];
    char path[512];
    char tmp_path[520];
};

/* A parsed file: rows of fields, all owned. */
struct table {
    size_t nrows;
    size_t cap;
    struct trow {
        size_t nfields;
        char **fields;
    } * rows;
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    if (files_mkdtemp(fx->dir, sizeof(fx->dir), "rt-test-csv")) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/out.csv", fx->dir);
    snprintf(fx->tmp_path, sizeof(fx->tmp_path), "%s.tmp", fx->path);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    files_remove_tree(fx->dir);
    free(fx);
    return 0;
}

static void table_add_field(struct trow *row, struct buf *field)
{
    row->fields =
        xreallocarray(row->fields, row->nfields + 1, sizeof(*row->fields));
    row->fields[row->nfields++] = buf_detach(field, NULL);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->rows[i].nfields; j++)
            free(t->rows[i].fields[j]);
        free(t->rows[i].fields);
    }
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

/*
 * Strict RFC 4180 with "\n" line ends: every record ends with a newline,
 * quotes only around whole fields, "" inside them.  Returns 0, or -1 with
 * the byte offset of the first error in *bad_at.
 */
static int parse_csv(const char *s, size_t len, struct table *t, size_t *bad_at)
{
    struct buf field;
    struct trow *row = NULL;
    size_t i = 0;

    memset(t, 0, sizeof(*t));
    buf_init(&field, FILE_MAX);
    while (i < len) {
        if (!row) {
            if (t->nrows == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 64;
                t->rows = xreallocarray(t->rows, t->cap, sizeof(*t->rows));
            }
            row = &t->rows[t->nrows++];
            row->nfields = 0;
            row->fields = NULL;
        }
        if (s[i] == '"') {
            for (i++;; i++) {
                if (i >= len)
                    goto bad; /* unterminated quote */
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        buf_putc(&field, '"');
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                buf_putc(&field, s[i]);
            }
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n') {
                if (s[i] == '"' || s[i] == '\r')
                    goto bad;
                buf_putc(&field, s[i++]);
            }
        }
        if (i >= len)
            goto bad; /* the last record has no newline */
        table_add_field(row, &field);
        if (s[i] == '\n')
            row = NULL;
        else if (s[i] != ',')
            goto bad; /* text after a closing quote */
        i++;
    }
    buf_release(&field);
    return 0;
bad:
    *bad_at = i;
    buf_release(&field);
    return -1;
}

/* Read and parse @path; fails the test on a malformed file. */
static void load_table(const char *path, struct table *t)
{
    struct buf text;
    size_t bad_at = 0;

    files_read_buf(path, &text);
    if (parse_csv(buf_str(&text), text.len, t, &bad_at)) {
        table_free(t);
        fail_msg("'%s' is not well-formed CSV at byte %zu", path, bad_at);
    }
    buf_release(&text);
}

static const char *const cols3[] = {"id", "name", "note"};

static void write3(struct csv *w, int64_t id, const char *name,
                   const char *note)
{
    struct csv_row row;

    csv_row_init(&row);
    csv_row_i64(&row, id);
    csv_row_str(&row, name);
    csv_row_str(&row, note);
    assert_int_equal(csv_write_row(w, &row), RT_OK);
    csv_row_release(&row);
}

static void escape_quotes_only_when_needed(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},           {"", ""},
        {"a,b", "\"a,b\""},           {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},           {"line\nbreak", "\"line\nbreak\""},
        {"cr\rhere", "\"cr\rhere\""}, {" spaced ", " spaced "},
    };
    struct buf b;

    (void)state;
    buf_init(&b, 256);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&b);
        assert_int_equal(csv_escape(&b, cases[i].in), RT_OK);
        assert_string_equal(buf_str(&b), cases[i].out);
    }
    buf_reset(&b);
    assert_int_equal(csv_escape(&b, NULL), RT_OK);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void escape_that_does_not_fit_leaves_buffer_unchanged(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    buf_puts(&b, "ab,");
    /* Quoted, x,y,z" is 9 bytes; after "ab," that is 12 of 10. */
    assert_int_equal(csv_escape(&b, "x,y,z\""), RT_ETRUNC);
    assert_string_equal(buf_str(&b), "ab,");
    assert_int_equal(csv_escape(&b, "x,y"), RT_OK);
    assert_string_equal(buf_str(&b), "ab,\"x,y\"");
    buf_release(&b);
}

static void row_fields_format_each_type(void **state)
{
    struct csv_row row;

    (void)state;
    csv_row_init(&row);
    csv_row_i64(&row, -42);
    csv_row_u64(&row, UINT64_MAX);
    csv_row_double(&row, 0.125, 6);
    csv_row_double(&row, 2.0 / 3.0, 3);
    csv_row_double(&row, NAN, 6);
    csv_row_time(&row, 0);
    csv_row_time(&row, INT64_C(1795536055123000000));
    csv_row_str(&row, NULL);
    csv_row_str(&row, "a,b");
    assert_int_equal(row.nfields, 9);
    assert_string_equal(buf_str(&row.text),
                        "-42,18446744073709551615,0.125,0.667,,,"
                        "2026-11-24T16:00:55.123Z,,\"a,b\"");
    csv_row_reset(&row);
    assert_int_equal(row.nfields, 0);
    assert_string_equal(buf_str(&row.text), "");
    csv_row_release(&row);
}

static void atomic_mode_shows_only_tmp_until_close(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct table t;

    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_ATOMIC), RT_OK);
    write3(w, 1, "alice", "x,y");
    write3(w, 2, "bob", "say \"hi\"\nbye");
    assert_int_equal(csv_flush(w), RT_OK);
    assert_int_equal(csv_rows(w), 2);
    assert_false(files_exists(fx->path));
    assert_true(files_exists(fx->tmp_path));

    assert_int_equal(csv_close(w), RT_OK);
    assert_true(files_exists(fx->path));
    assert_false(files_exists(fx->tmp_path));
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 3);
    assert_string_equal(t.rows[0].fields[0], "id");
    assert_string_equal(t.rows[0].fields[2], "note");
    assert_int_equal(t.rows[1].nfields, 3);
    assert_string_equal(t.rows[1].fields[2], "x,y");
    assert_string_equal(t.rows[2].fields[1], "bob");
    assert_string_equal(t.rows[2].fields[2], "say \"hi\"\nbye");
    table_free(&t);
}

static void atomic_close_replaces_an_existing_file(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct buf text;
    FILE *f = fopen(fx->path, "w");

    assert_non_null(f);
    fputs("old report\n", f);
    fclose(f);
    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_ATOMIC), RT_OK);
    write3(w, 9, "new", "");
    /* Until close the old report stays whole. */
    files_read_buf(fx->path, &text);
    assert_string_equal(buf_str(&text), "old report\n");
    buf_release(&text);
    assert_int_equal(csv_close(w), RT_OK);
    files_read_buf(fx->path, &text);
    assert_string_equal(buf_str(&text), "id,name,note\n9,new,\n");
    buf_release(&text);
}

static void atomic_abort_removes_tmp(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;

    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_ATOMIC), RT_OK);
    write3(w, 1, "a", "b");
    assert_true(files_exists(fx->tmp_path));
    csv_abort(w);
    assert_false(files_exists(fx->tmp_path));
    assert_false(files_exists(fx->path));
    csv_abort(NULL);
    assert_int_equal(csv_close(NULL), RT_OK);
}

static void stream_rows_are_readable_after_flush_before_close(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct table t;
    struct buf text;

    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_STREAM), RT_OK);
    assert_false(files_exists(fx->tmp_path));
    /* Whatever is on disk at any moment is whole lines. */
    files_read_buf(fx->path, &text);
    assert_true(text.len == 0 || buf_str(&text)[text.len - 1] == '\n');
    buf_release(&text);

    write3(w, 1, "a", "multi\nline");
    write3(w, 2, "b", "");
    write3(w, 3, "c", "q\"");
    assert_int_equal(csv_flush(w), RT_OK);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 4);
    assert_string_equal(t.rows[1].fields[2], "multi\nline");
    assert_string_equal(t.rows[3].fields[0], "3");
    assert_string_equal(t.rows[3].fields[2], "q\"");
    table_free(&t);

    write3(w, 4, "d", "");
    assert_int_equal(csv_close(w), RT_OK);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 5);
    assert_string_equal(t.rows[4].fields[1], "d");
    table_free(&t);
}

static void stream_abort_keeps_rows_written(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct table t;

    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_STREAM), RT_OK);
    write3(w, 1, "a", "b");
    csv_abort(w);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[1], "a");
    table_free(&t);
}

static void wrong_field_count_is_rejected(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct csv_row row;
    struct table t;

    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_ATOMIC), RT_OK);
    csv_row_init(&row);
    csv_row_i64(&row, 1);
    csv_row_str(&row, "only two");
    assert_int_equal(csv_write_row(w, &row), RT_EINVAL);
    csv_row_str(&row, "three");
    csv_row_str(&row, "four");
    assert_int_equal(csv_write_row(w, &row), RT_EINVAL);
    assert_int_equal(csv_rows(w), 0);
    csv_row_release(&row);
    write3(w, 2, "ok", "");
    assert_int_equal(csv_close(w), RT_OK);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[0], "2");
    table_free(&t);
}

static void oversized_field_refuses_the_row(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    struct csv_row row;
    struct table t;
    size_t big_len = 1536 * 1024;
    char *big = xmalloc(big_len + 1);

    memset(big, ',', big_len);
    big[big_len] = '\0';
    assert_int_equal(csv_open(&w, fx->path, cols3, 3, CSV_STREAM), RT_OK);
    csv_row_init(&row);
    csv_row_i64(&row, 1);
    csv_row_str(&row, big);
    csv_row_str(&row, "end");
    assert_int_equal(csv_write_row(w, &row), RT_ETRUNC);
    csv_row_release(&row);
    write3(w, 2, "fits", "");
    assert_int_equal(csv_close(w), RT_OK);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[1], "fits");
    table_free(&t);
    free(big);
}

static void open_in_missing_directory_fails(void **state)
{
    struct fixture *fx = *state;
    struct csv *w = NULL;
    char path[600];

    snprintf(path, sizeof(path), "%s/no/such/dir.csv", fx->dir);
    assert_int_equal(csv_open(&w, path, cols3, 3, CSV_ATOMIC), RT_EIO);
    assert_null(w);
}

static void flusher_stop_flushes_every_writer(void **state)
{
    struct fixture *fx = *state;
    struct csv *w[2] = {NULL, NULL};
    struct csv_flusher *fl = NULL;
    char second[600];
    struct table t;

    snprintf(second, sizeof(second), "%s/second.csv", fx->dir);
    assert_int_equal(csv_open(&w[0], fx->path, cols3, 3, CSV_STREAM), RT_OK);
    assert_int_equal(csv_open(&w[1], second, cols3, 3, CSV_STREAM), RT_OK);
    /* An interval no test outlasts: only the final flush can run. */
    assert_int_equal(csv_flusher_start(&fl, w, 2, 3600 * NS_PER_S), RT_OK);
    write3(w[0], 1, "first", "");
    write3(w[1], 2, "second", "");
    csv_flusher_stop(fl);
    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[1], "first");
    table_free(&t);
    load_table(second, &t);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.rows[1].fields[1], "second");
    table_free(&t);
    assert_int_equal(csv_close(w[0]), RT_OK);
    assert_int_equal(csv_close(w[1]), RT_OK);
    csv_flusher_stop(NULL);
}

static void flusher_refuses_too_many_writers(void **state)
{
    struct csv *w[9] = {NULL};
    struct csv_flusher *fl = NULL;

    (void)state;
    assert_int_equal(csv_flusher_start(&fl, w, 9, 1000), RT_EINVAL);
    assert_null(fl);
}

struct writer_arg {
    struct csv *w;
    int id;
    enum rt_err err;
};

/* The third field needs quoting, so a torn row would break the parse. */
static void note_for(char *out, size_t len, int id, int seq)
{
    snprintf(out, len, "t%d, \"s%d\"\n%s", id, seq, seq % 2 ? "odd" : "even");
}

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    struct csv_row row;
    char note[64];

    csv_row_init(&row);
    for (int seq = 0; seq < ROWS_PER_THREAD && !a->err; seq++) {
        csv_row_reset(&row);
        csv_row_i64(&row, a->id);
        csv_row_i64(&row, seq);
        note_for(note, sizeof(note), a->id, seq);
        csv_row_str(&row, note);
        a->err = csv_write_row(a->w, &row);
        if (seq % 500 == 0 && !a->err)
            a->err = csv_flush(a->w);
    }
    csv_row_release(&row);
    return NULL;
}

static void concurrent_writers_produce_whole_rows(void **state)
{
    static const char *const cols[] = {"thread", "seq", "note"};
    struct fixture *fx = *state;
    struct writer_arg args[THREADS];
    pthread_t tid[THREADS];
    struct csv *w = NULL;
    struct table t;
    char *seen = xcalloc(THREADS * ROWS_PER_THREAD, 1);
    char note[64];

    assert_int_equal(csv_open(&w, fx->path, cols, 3, CSV_STREAM), RT_OK);
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct writer_arg){.w = w, .id = i, .err = RT_OK};
        assert_int_equal(pthread_create(&tid[i], NULL, writer_main, &args[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(args[i].err, RT_OK);
    }
    assert_int_equal(csv_rows(w), THREADS * ROWS_PER_THREAD);
    assert_int_equal(csv_close(w), RT_OK);

    load_table(fx->path, &t);
    assert_int_equal(t.nrows, 1 + THREADS * ROWS_PER_THREAD);
    for (size_t r = 1; r < t.nrows; r++) {
        struct trow *row = &t.rows[r];
        int64_t id, seq;

        assert_int_equal(row->nfields, 3);
        assert_int_equal(units_parse_i64(row->fields[0], &id), RT_OK);
        assert_int_equal(units_parse_i64(row->fields[1], &seq), RT_OK);
        assert_in_range(id, 0, THREADS - 1);
        assert_in_range(seq, 0, ROWS_PER_THREAD - 1);
        note_for(note, sizeof(note), (int)id, (int)seq);
        assert_string_equal(row->fields[2], note);
        if (seen[id * ROWS_PER_THREAD + seq]++)
            fail_msg("row %lld/%lld appears twice", (long long)id,
                     (long long)seq);
    }
    table_free(&t);
    free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escape_quotes_only_when_needed),
        cmocka_unit_test(escape_that_does_not_fit_leaves_buffer_unchanged),
        cmocka_unit_test(row_fields_format_each_type),
        cmocka_unit_test_setup_teardown(atomic_mode_shows_only_tmp_until_close,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_close_replaces_an_existing_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_abort_removes_tmp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            stream_rows_are_readable_after_flush_before_close, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_abort_keeps_rows_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(wrong_field_count_is_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(oversized_field_refuses_the_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(open_in_missing_directory_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(flusher_stop_flushes_every_writer,
                                        setup, teardown),
        cmocka_unit_test(flusher_refuses_too_many_writers),
        cmocka_unit_test_setup_teardown(concurrent_writers_produce_whole_rows,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
