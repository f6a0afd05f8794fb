/* The tests' CSV reader: quoting, header lookup, and refusal of broken
 * files, so integration tests never read a wrong column silently. */
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
#include "support/csvread.h"

static struct csvread *parse(const char *text)
{
    return csvread_parse(text, strlen(text));
}

static void quoted_fields_come_back_unquoted(void **state)
{
    struct csvread *r = parse("a,b,c\n"
                              "1,\"x,y\",\"say \"\"hi\"\"\"\n"
                              "2,\"two\nlines\",\n");

    (void)state;
    assert_non_null(r);
    assert_int_equal(csvread_rows(r), 2);
    assert_int_equal(csvread_cols(r), 3);
    assert_int_equal(csvread_col(r, "b"), 1);
    assert_int_equal(csvread_col(r, "nope"), -1);
    assert_string_equal(csvread_field(r, 0, 1), "x,y");
    assert_string_equal(csvread_field(r, 0, 2), "say \"hi\"");
    assert_string_equal(csvread_field(r, 1, 1), "two\nlines");
    assert_string_equal(csvread_field(r, 1, 2), "");
    assert_int_equal(csvread_i64(r, 1, 0, -1), 2);
    assert_int_equal(csvread_i64(r, 1, 2, -7), -7);
    assert_string_equal(csvread_field(r, 2, 0), "");
    csvread_free(r);
}

static void broken_files_are_refused(void **state)
{
    (void)state;
    assert_null(parse("a,b\n1\n"));
    assert_null(parse("a,b\n1,\"open\n"));
    assert_null(parse("a,b\n\"x\"y,2\n"));
    assert_null(parse(""));
}

/* What base/csv writes, csvread reads back field for field. */
static void reads_what_the_writer_wrote(void **state)
{
    char dir[] = "/tmp/rt-csvread-XXXXXX", path[300];
    const char *cols[] = {"id", "text"};
    const char *values[] = {"plain", "com,ma", "quo\"te", "new\nline", ""};
    struct csv *w;
    struct csv_row row;
    struct csvread *r;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.csv", dir);
    assert_int_equal(csv_open(&w, path, cols, 2, CSV_STREAM), RT_OK);
    csv_row_init(&row);
    for (int i = 0; i < 5; i++) {
        csv_row_reset(&row);
        csv_row_i64(&row, i);
        csv_row_str(&row, values[i]);
        assert_int_equal(csv_write_row(w, &row), RT_OK);
    }
    csv_row_release(&row);
    assert_int_equal(csv_close(w), RT_OK);
    assert_non_null(r = csvread_load(path));
    assert_int_equal(csvread_rows(r), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(csvread_i64(r, (size_t)i, csvread_col(r, "id"), -1),
                         i);
        assert_string_equal(csvread_field(r, (size_t)i, csvread_col(r, "text")),
                            values[i]);
    }
    csvread_free(r);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoted_fields_come_back_unquoted),
        cmocka_unit_test(broken_files_are_refused),
        cmocka_unit_test(reads_what_the_writer_wrote),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
