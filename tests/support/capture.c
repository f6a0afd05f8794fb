/*
 * stderr capture through dup2 onto an unlinked temporary file.  stderr is
 * flushed on both sides of the switch so no buffered text crosses it.
 */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/buf.h"

static int saved_fd = -1;
static FILE *capture_file;

void capture_stderr_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    saved_fd = dup(2);
    if (!capture_file || saved_fd < 0 || dup2(fileno(capture_file), 2) < 0) {
        perror("capture: cannot redirect stderr");
        abort();
    }
}

char *capture_stderr_end(void)
{
    struct buf text;
    char chunk[4096];
    size_t n;

    fflush(stderr);
    if (dup2(saved_fd, 2) < 0) {
        perror("capture: cannot restore stderr");
        abort();
    }
    close(saved_fd);
    saved_fd = -1;
    buf_init(&text, 16u << 20);
    rewind(capture_file);
    while ((n = fread(chunk, 1, sizeof(chunk), capture_file)) > 0)
        buf_append(&text, chunk, n);
    fclose(capture_file);
    capture_file = NULL;
    return buf_detach(&text, NULL);
}
