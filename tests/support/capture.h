/*
 * Capture what a test's code writes to stderr (file descriptor 2), so a
 * test can assert on log lines, or on what must never appear in them (a
 * secret).  Not thread-safe: one capture at a time, begun and ended on the
 * test's thread; other threads' writes in between are captured too.
 */
#ifndef RT_TESTS_CAPTURE_H
#define RT_TESTS_CAPTURE_H

/* Redirect fd 2 to a temporary file; aborts the test program on failure. */
void capture_stderr_begin(void);
/* Restore fd 2 and return everything written meanwhile (caller frees). */
char *capture_stderr_end(void);

#endif
