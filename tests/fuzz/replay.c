/*
 * Corpus replayer: a main() for fuzz targets built without libFuzzer (the
 * cJSON fuzzing/ idea), so `make test` runs every saved input through the
 * target under the same sanitizers as the unit tests.
 *
 *   fuzz-replay/fuzz_X [corpus-dir]
 *
 * The corpus is argv[1], else $RT_FUZZ_CORPUS, else tests/fuzz/corpus/<name>
 * relative to the working directory (the repository root under
 * tests/run.sh), where <name> is the program's basename.  Inputs run in name
 * order; each is copied into a buffer of exactly its size so an over-read is
 * caught by AddressSanitizer.  $RT_FUZZ_VERBOSE=1 names each input first, to
 * find the one that crashes.  A missing or empty corpus is a failure: a
 * replayer that runs nothing would pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define REPLAY_INPUT_MAX (4u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read @path into a fresh buffer of exactly its size (caller frees). */
static int read_input(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    struct buf text;
    char chunk[8192];
    size_t n;
    int ret = -1;

    if (!f) {
        fprintf(stderr, "fuzz-replay: cannot open '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    buf_init(&text, REPLAY_INPUT_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n)) {
            fprintf(stderr, "fuzz-replay: '%s' is larger than %u bytes\n", path,
                    REPLAY_INPUT_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "fuzz-replay: cannot read '%s'\n", path);
        goto out;
    }
    *out = xmalloc(text.len ? text.len : 1);
    if (text.len)
        memcpy(*out, text.data, text.len);
    *out_len = text.len;
    ret = 0;
out:
    buf_release(&text);
    fclose(f);
    return ret;
}

int main(int argc, char **argv)
{
    const char *name =
        strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *dir = argc > 1 ? argv[1] : getenv("RT_FUZZ_CORPUS");
    const char *verbose = getenv("RT_FUZZ_VERBOSE");
    struct dirent **list = NULL;
    struct buf path, dflt;
    int n = 0, ran = 0, ret = 1;

    buf_init(&path, 4096);
    buf_init(&dflt, 4096);
    if (!dir || !*dir) {
        if (buf_printf(&dflt, "tests/fuzz/corpus/%s", name)) {
            fprintf(stderr, "fuzz-replay: name too long: '%s'\n", name);
            goto out;
        }
        dir = buf_str(&dflt);
    }
    n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "fuzz-replay: %s: cannot read corpus '%s': %s\n", name,
                dir, strerror(errno));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        uint8_t *data;
        size_t len;

        buf_reset(&path);
        if (buf_printf(&path, "%s/%s", dir, list[i]->d_name)) {
            fprintf(stderr, "fuzz-replay: path too long in '%s'\n", dir);
            goto out;
        }
        if (stat(buf_str(&path), &st) || !S_ISREG(st.st_mode))
            continue;
        if (read_input(buf_str(&path), &data, &len))
            goto out;
        if (verbose && strcmp(verbose, "1") == 0)
            fprintf(stderr, "fuzz-replay: %s: %s (%zu bytes)\n", name,
                    buf_str(&path), len);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "fuzz-replay: %s: no inputs in '%s'\n", name, dir);
        goto out;
    }
    printf("fuzz-replay: %s: %d inputs ok\n", name, ran);
    ret = 0;
out:
    if (list) {
        for (int i = 0; i < n; i++)
            free(list[i]);
        free(list);
    }
    buf_release(&dflt);
    buf_release(&path);
    return ret;
}
