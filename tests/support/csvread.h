/*
 * A small RFC 4180 reader for tests: loads a whole CSV file written by
 * base/csv (header row first, fields quoted when they hold a comma, quote,
 * CR or LF, doubled quotes inside) and gives fields by row and column
 * name.  Test-only: the analysis has its own reader.  Not thread-safe.
 */
#ifndef RT_TESTS_CSVREAD_H
#define RT_TESTS_CSVREAD_H

#include <stddef.h>
#include <stdint.h>

struct csvread;

/* Read @path (header plus rows); NULL after printing the cause when the
 * file cannot be read or is not valid CSV (unterminated quote, a row with
 * a different field count than the header).  Caller frees. */
struct csvread *csvread_load(const char *path);
/* The same from text in memory (copied). */
struct csvread *csvread_parse(const char *text, size_t len);
void csvread_free(struct csvread *self); /* NULL-safe */

/* Data rows, the header excluded. */
size_t csvread_rows(const struct csvread *self);
size_t csvread_cols(const struct csvread *self);
/* Column of header @name, or -1. */
int csvread_col(const struct csvread *self, const char *name);
/* Field @col of data row @row, borrowed until csvread_free(); "" when out
 * of range. */
const char *csvread_field(const struct csvread *self, size_t row, int col);
/* The field as a signed integer; @dflt when empty or not a number. */
int64_t csvread_i64(const struct csvread *self, size_t row, int col,
                    int64_t dflt);

#endif
