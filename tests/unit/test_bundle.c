/*
 * Evidence bundle: SHA-256 against published digests, archives checked by
 * the system's own tar and sha256sum, determinism, the ustar header fields
 * read back byte by byte, and the refusals (forbidden strings, also across
 * a 64 KiB read boundary; missing files; bad or overlong names), which must
 * leave neither the bundle nor its temporary file behind.  Each test works
 * in its own mkdtemp directory; the shell commands only ever see paths
 * created there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "report/bundle.h"
#include "support/capture.h"
#include "support/files.h"

#define FILE_MAX (64u * 1024 * 1024)
#define BLOCK (64u * 1024)
#define PREFIX "racetrace-evidence-predictive-bump-20261124T165927Z"
/* 2026-11-24T16:59:27Z */
#define MTIME 1795539567
#define SECRET "sk-live-7f3c9a1e55d2b8c4"

struct fixture {
    char root[256];
    char src[300];
    char out[300];
    char tmp[310];
    char xdir[300];
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    if (files_mkdtemp(fx->root, sizeof(fx->root), "rt-test-bundle")) {
        free(fx);
        return -1;
    }
    snprintf(fx->src, sizeof(fx->src), "%s/run", fx->root);
    snprintf(fx->out, sizeof(fx->out), "%s/evidence.tar.gz", fx->root);
    snprintf(fx->tmp, sizeof(fx->tmp), "%s.tmp", fx->out);
    snprintf(fx->xdir, sizeof(fx->xdir), "%s/extract", fx->root);
    if (mkdir(fx->src, 0755) || mkdir(fx->xdir, 0755)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    files_remove_tree(fx->root);
    free(fx);
    return 0;
}

/* Write @len bytes to "<src>/<rel>", creating its subdirectory. */
static void put_file(const struct fixture *fx, const char *rel,
                     const void *data, size_t len)
{
    char path[1024];
    const char *slash = strchr(rel, '/');

    if (slash) {
        snprintf(path, sizeof(path), "%s/%.*s", fx->src, (int)(slash - rel),
                 rel);
        if (mkdir(path, 0755) && errno != EEXIST)
            fail_msg("cannot create '%s': %s", path, strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/%s", fx->src, rel);
    files_write(path, data, len);
}

static void put_text(const struct fixture *fx, const char *rel,
                     const char *text)
{
    put_file(fx, rel, text, strlen(text));
}

/* Deterministic binary content with NULs and every byte value. */
static unsigned char *noise(size_t len, uint32_t seed)
{
    unsigned char *p = xmalloc(len);
    uint32_t x = seed ? seed : 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

/* Exit status of a shell command, -1 when it did not exit normally. */
static int run(const char *cmd)
{
    int rc = system(cmd);

    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

/* Standard output of a shell command (caller releases). */
static void run_capture(const char *cmd, struct buf *out)
{
    FILE *p = popen(cmd, "r");
    char chunk[4096];
    size_t n;

    if (!p)
        fail_msg("cannot run '%s': %s", cmd, strerror(errno));
    buf_init(out, FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        assert_int_equal(buf_append(out, chunk, n), RT_OK);
    assert_int_equal(pclose(p), 0);
}

static void assert_files_equal(const char *a, const char *b)
{
    struct buf x, y;

    files_read_buf(a, &x);
    files_read_buf(b, &y);
    if (x.len != y.len || memcmp(buf_str(&x), buf_str(&y), x.len))
        fail_msg("'%s' (%zu bytes) differs from '%s' (%zu bytes)", a, x.len, b,
                 y.len);
    buf_release(&x);
    buf_release(&y);
}

/* Nothing under the real name and no temporary file either. */
static void assert_nothing_written(const struct fixture *fx)
{
    if (files_exists(fx->out))
        fail_msg("'%s' exists after a refused bundle", fx->out);
    if (files_exists(fx->tmp))
        fail_msg("'%s' left behind", fx->tmp);
}

/* The usual run directory: text, CSV, a binary plot over one block. */
static const char *const run_files[] = {
    "summary.md",    "plots/swimlane.png", "conflicts.csv",
    "plots/lag.svg", "scenario.json",      "VERSION",
};
#define N_RUN_FILES (sizeof(run_files) / sizeof(run_files[0]))

static void make_run(const struct fixture *fx)
{
    unsigned char *png = noise(3 * BLOCK + 123, 42);

    put_text(fx, "summary.md", "# racetrace summary\n\n3 conflicts.\n");
    put_file(fx, "plots/swimlane.png", png, 3 * BLOCK + 123);
    put_text(fx, "conflicts.csv",
             "wall_time,agent,correlation_id\n"
             "2026-11-24T16:59:30.123Z,a1,6b1f2c3d-0000-4000-8000-00000000abcd"
             "\n");
    put_text(fx, "plots/lag.svg",
             "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    put_text(fx, "scenario.json", "{\"name\": \"predictive-bump\"}\n");
    put_file(fx, "VERSION", "", 0);
    free(png);
}

static enum rt_err write_run(const struct fixture *fx, const char *out)
{
    static const char *const forbidden[] = {SECRET, "Bearer "};

    return bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX, MTIME,
                        forbidden, 2, out);
}

static void sha256_file_matches_known_digests(void **state)
{
    struct fixture *fx = *state;
    char path[512], hex[BUNDLE_SHA256_HEX];
    char *million = xmalloc(1000000);

    put_file(fx, "empty", "", 0);
    snprintf(path, sizeof(path), "%s/empty", fx->src);
    assert_int_equal(bundle_sha256_file(path, hex), RT_OK);
    assert_string_equal(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    put_text(fx, "abc", "abc");
    snprintf(path, sizeof(path), "%s/abc", fx->src);
    assert_int_equal(bundle_sha256_file(path, hex), RT_OK);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* FIPS 180-2's one million 'a': many 64 KiB blocks and a partial one. */
    memset(million, 'a', 1000000);
    put_file(fx, "million", million, 1000000);
    snprintf(path, sizeof(path), "%s/million", fx->src);
    assert_int_equal(bundle_sha256_file(path, hex), RT_OK);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void sha256_file_missing_is_enoent_and_names_it(void **state)
{
    struct fixture *fx = *state;
    char path[512], hex[BUNDLE_SHA256_HEX] = "untouched";
    char *log;
    enum rt_err err;

    snprintf(path, sizeof(path), "%s/no-such-file", fx->src);
    capture_stderr_begin();
    err = bundle_sha256_file(path, hex);
    log = capture_stderr_end();
    assert_int_equal(err, RT_ENOENT);
    assert_non_null(strstr(log, path));
    assert_string_equal(hex, "untouched");
    free(log);

    /* A directory opens but is not a file to hash. */
    capture_stderr_begin();
    err = bundle_sha256_file(fx->src, hex);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EIO);
    assert_non_null(strstr(log, fx->src));
    free(log);
}

static void bundle_extracts_with_tar_and_manifest_checks(void **state)
{
    struct fixture *fx = *state;
    char cmd[2048], a[1024], b[1024];
    struct buf listing;

    make_run(fx);
    assert_int_equal(write_run(fx, fx->out), RT_OK);
    assert_false(files_exists(fx->tmp));

    snprintf(cmd, sizeof(cmd), "tar -xzf '%s' -C '%s'", fx->out, fx->xdir);
    assert_int_equal(run(cmd), 0);
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        snprintf(a, sizeof(a), "%s/%s", fx->src, run_files[i]);
        snprintf(b, sizeof(b), "%s/" PREFIX "/%s", fx->xdir, run_files[i]);
        assert_files_equal(a, b);
    }
    snprintf(cmd, sizeof(cmd),
             "cd '%s/" PREFIX "' && sha256sum --quiet -c MANIFEST.sha256",
             fx->xdir);
    assert_int_equal(run(cmd), 0);

    /* Members in the given order, each subdirectory before its first file,
     * the manifest last. */
    snprintf(cmd, sizeof(cmd), "tar -tzf '%s'", fx->out);
    run_capture(cmd, &listing);
    assert_string_equal(buf_str(&listing), PREFIX
                        "/\n" PREFIX "/summary.md\n" PREFIX "/plots/\n" PREFIX
                        "/plots/swimlane.png\n" PREFIX "/conflicts.csv\n" PREFIX
                        "/plots/lag.svg\n" PREFIX "/scenario.json\n" PREFIX
                        "/VERSION\n" PREFIX "/MANIFEST.sha256\n");
    buf_release(&listing);
}

static void bundle_manifest_lists_each_file_hash(void **state)
{
    struct fixture *fx = *state;
    char path[1024], hex[BUNDLE_SHA256_HEX], cmd[2048];
    struct buf manifest, expect;

    make_run(fx);
    assert_int_equal(write_run(fx, fx->out), RT_OK);
    snprintf(cmd, sizeof(cmd), "tar -xzf '%s' -C '%s'", fx->out, fx->xdir);
    assert_int_equal(run(cmd), 0);
    buf_init(&expect, FILE_MAX);
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        snprintf(path, sizeof(path), "%s/%s", fx->src, run_files[i]);
        assert_int_equal(bundle_sha256_file(path, hex), RT_OK);
        assert_int_equal(buf_printf(&expect, "%s  %s\n", hex, run_files[i]),
                         RT_OK);
    }
    snprintf(path, sizeof(path), "%s/" PREFIX "/MANIFEST.sha256", fx->xdir);
    files_read_buf(path, &manifest);
    assert_string_equal(buf_str(&manifest), buf_str(&expect));
    buf_release(&manifest);
    buf_release(&expect);
}

static void bundle_is_byte_identical_across_writes(void **state)
{
    struct fixture *fx = *state;
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    char second[512], path[1024];
    struct buf x;

    make_run(fx);
    assert_int_equal(write_run(fx, fx->out), RT_OK);
    /* Different file times and modes must not leak into the archive. */
    for (size_t i = 0; i < N_RUN_FILES; i++) {
        snprintf(path, sizeof(path), "%s/%s", fx->src, run_files[i]);
        assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
        assert_int_equal(chmod(path, 0600), 0);
    }
    snprintf(second, sizeof(second), "%s/second.tar.gz", fx->root);
    assert_int_equal(write_run(fx, second), RT_OK);
    assert_files_equal(fx->out, second);

    /* gzip header: magic, deflate, no flags (so no name), time 0. */
    files_read_buf(fx->out, &x);
    assert_true(x.len > 10);
    assert_int_equal((unsigned char)x.data[0], 0x1f);
    assert_int_equal((unsigned char)x.data[1], 0x8b);
    assert_int_equal((unsigned char)x.data[2], 8);
    assert_int_equal((unsigned char)x.data[3], 0);
    assert_memory_equal(x.data + 4, "\0\0\0\0", 4);
    buf_release(&x);
}

/* The archive decompressed in memory (caller releases). */
static void gunzip(const char *path, struct buf *tar)
{
    struct buf gz;
    z_stream z;
    unsigned char chunk[65536];
    int rc;

    files_read_buf(path, &gz);
    buf_init(tar, FILE_MAX);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (unsigned char *)gz.data;
    z.avail_in = (unsigned)gz.len;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        assert_int_equal(buf_append(tar, chunk, sizeof(chunk) - z.avail_out),
                         RT_OK);
    } while (rc != Z_STREAM_END);
    /* One gzip member, nothing after it. */
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
    buf_release(&gz);
}

static uint64_t octal(const unsigned char *field, size_t width)
{
    uint64_t v = 0;

    for (size_t i = 0; i < width && field[i] >= '0' && field[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(field[i] - '0');
    return v;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void bundle_headers_carry_fixed_metadata(void **state)
{
    struct fixture *fx = *state;
    struct buf tar, listing;
    const unsigned char *t;
    char cmd[2048];
    size_t off = 0, members = 0, lines = 0;

    make_run(fx);
    assert_int_equal(write_run(fx, fx->out), RT_OK);
    gunzip(fx->out, &tar);
    t = (const unsigned char *)tar.data;
    assert_int_equal(tar.len % 10240, 0);
    while (off + 512 <= tar.len && !all_zero(t + off, 512)) {
        const unsigned char *h = t + off;
        int is_dir = h[156] == '5';
        unsigned sum = 0;
        uint64_t size = octal(h + 124, 12);

        for (size_t i = 0; i < 512; i++)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        assert_int_equal(octal(h + 148, 8), sum);
        assert_memory_equal(h + 257,
                            "ustar\0"
                            "00",
                            8);
        assert_int_equal(octal(h + 136, 12), MTIME);
        assert_string_equal((const char *)h + 136, "15301341157");
        assert_string_equal((const char *)h + 108, "0000000");
        assert_string_equal((const char *)h + 116, "0000000");
        assert_string_equal((const char *)h + 100,
                            is_dir ? "0000755" : "0000644");
        assert_true(h[156] == '0' || is_dir);
        assert_string_equal((const char *)h + 265, "root");
        assert_string_equal((const char *)h + 297, "root");
        if (is_dir)
            assert_int_equal(size, 0);
        off += 512 + (size + 511) / 512 * 512;
        members++;
    }
    /* Six files, two directories, the manifest; then two zero blocks. */
    assert_int_equal(members, N_RUN_FILES + 3);
    assert_true(off + 1024 <= tar.len);
    assert_true(all_zero(t + off, tar.len - off));
    buf_release(&tar);

    /* And as tar itself shows it. */
    snprintf(cmd, sizeof(cmd), "TZ=UTC tar -tvzf '%s'", fx->out);
    run_capture(cmd, &listing);
    for (const char *p = buf_str(&listing); *p; p = strchr(p, '\n') + 1) {
        const char *nl = strchr(p, '\n');

        assert_non_null(nl);
        assert_non_null(strstr(p, " 2026-11-24 16:59"));
        assert_true((size_t)(strstr(p, " 2026-11-24 16:59") - p) <
                    (size_t)(nl - p));
        assert_non_null(strstr(p, "root/root"));
        lines++;
    }
    assert_int_equal(lines, N_RUN_FILES + 3);
    buf_release(&listing);
}

static void bundle_refuses_forbidden_string(void **state)
{
    struct fixture *fx = *state;
    const char *const forbidden[] = {NULL, "", "absent", SECRET};
    char keep[512];
    char *log;
    enum rt_err err;

    make_run(fx);
    put_text(fx, "plots/lag.svg",
             "<svg><!-- Authorization: Bearer " SECRET " --></svg>");
    capture_stderr_begin();
    err = bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX, MTIME,
                       forbidden, 4, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EINVAL);
    assert_nothing_written(fx);
    assert_non_null(strstr(log, "plots/lag.svg"));
    assert_non_null(strstr(log, "forbidden string 3"));
    assert_null(strstr(log, SECRET));
    assert_null(strstr(log, "sk-live"));
    free(log);

    /* An earlier bundle under the real name stays as it was: keep a second
     * link to it and compare after a refused write. */
    put_text(fx, "plots/lag.svg", "<svg/>");
    assert_int_equal(bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX,
                                  MTIME, forbidden, 4, fx->out),
                     RT_OK);
    snprintf(keep, sizeof(keep), "%s/keep.tar.gz", fx->root);
    assert_int_equal(link(fx->out, keep), 0);
    put_text(fx, "summary.md", "token " SECRET "\n");
    capture_stderr_begin();
    err = bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX, MTIME,
                       forbidden, 4, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EINVAL);
    assert_false(files_exists(fx->tmp));
    assert_files_equal(fx->out, keep);
    assert_non_null(strstr(log, "summary.md"));
    assert_null(strstr(log, SECRET));
    free(log);
}

static void bundle_refuses_secret_across_block_boundary(void **state)
{
    struct fixture *fx = *state;
    const size_t len = 3 * BLOCK;
    const size_t slen = strlen(SECRET);
    const char *const files[] = {"big.csv"};
    const char *const forbidden[] = {"Bearer ", SECRET};
    char *data = xmalloc(len);
    char *log;

    /* Every way the secret can straddle the first and the second block
     * boundary, and flush against the start and the end of the file. */
    for (size_t b = 1; b <= 2; b++) {
        for (size_t k = 1; k < slen; k++) {
            size_t at = b * BLOCK - k;

            memset(data, 'x', len);
            memcpy(data + at, SECRET, slen);
            put_file(fx, "big.csv", data, len);
            capture_stderr_begin();
            assert_int_equal(bundle_write(fx->src, files, 1, PREFIX, MTIME,
                                          forbidden, 2, fx->out),
                             RT_EINVAL);
            log = capture_stderr_end();
            assert_nothing_written(fx);
            assert_non_null(strstr(log, "forbidden string 1"));
            assert_null(strstr(log, SECRET));
            free(log);
        }
    }
    for (size_t at = 0; at <= 1; at++) {
        memset(data, 'x', len);
        memcpy(at ? data + len - slen : data, SECRET, slen);
        put_file(fx, "big.csv", data, len);
        capture_stderr_begin();
        assert_int_equal(bundle_write(fx->src, files, 1, PREFIX, MTIME,
                                      forbidden, 2, fx->out),
                         RT_EINVAL);
        free(capture_stderr_end());
        assert_nothing_written(fx);
    }

    /* All but the last byte of the secret at the boundary: not a match. */
    memset(data, 'x', len);
    memcpy(data + BLOCK - 5, SECRET, slen - 1);
    put_file(fx, "big.csv", data, len);
    assert_int_equal(
        bundle_write(fx->src, files, 1, PREFIX, MTIME, forbidden, 2, fx->out),
        RT_OK);
    assert_true(files_exists(fx->out));
    free(data);
}

static void bundle_refuses_secret_in_a_name(void **state)
{
    struct fixture *fx = *state;
    const char *const files[] = {"summary.md", "plots/" SECRET ".png"};
    const char *const forbidden[] = {SECRET};
    char *log;
    enum rt_err err;

    put_text(fx, "summary.md", "ok\n");
    put_text(fx, files[1], "png\n");
    capture_stderr_begin();
    err = bundle_write(fx->src, files, 2, PREFIX, MTIME, forbidden, 1, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EINVAL);
    assert_nothing_written(fx);
    assert_null(strstr(log, SECRET));
    assert_non_null(strstr(log, "name of file 1"));
    assert_non_null(strstr(log, "forbidden string 0"));
    free(log);

    capture_stderr_begin();
    err = bundle_write(fx->src, files, 1, "evidence-" SECRET, MTIME, forbidden,
                       1, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EINVAL);
    assert_nothing_written(fx);
    assert_null(strstr(log, SECRET));
    free(log);
}

static void bundle_ignores_null_and_empty_forbidden(void **state)
{
    struct fixture *fx = *state;
    const char *const forbidden[] = {NULL, ""};

    make_run(fx);
    assert_int_equal(bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX,
                                  MTIME, forbidden, 2, fx->out),
                     RT_OK);
    assert_true(files_exists(fx->out));
    assert_false(files_exists(fx->tmp));
    assert_int_equal(bundle_write(fx->src, run_files, N_RUN_FILES, PREFIX,
                                  MTIME, NULL, 0, fx->out),
                     RT_OK);
}

static void bundle_missing_file_is_enoent(void **state)
{
    struct fixture *fx = *state;
    const char *const files[] = {"summary.md", "plots/missing.png"};
    char *log;
    enum rt_err err;

    put_text(fx, "summary.md", "ok\n");
    capture_stderr_begin();
    err = bundle_write(fx->src, files, 2, PREFIX, MTIME, NULL, 0, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_ENOENT);
    assert_nothing_written(fx);
    assert_non_null(strstr(log, "plots/missing.png"));
    free(log);
}

static void bundle_failed_rename_removes_tmp(void **state)
{
    struct fixture *fx = *state;
    char inside[512];
    char *log;
    enum rt_err err;
    FILE *f;

    /* A non-empty directory under the bundle's name: everything up to the
     * rename succeeds, the rename fails. */
    make_run(fx);
    assert_int_equal(mkdir(fx->out, 0755), 0);
    snprintf(inside, sizeof(inside), "%s/occupied", fx->out);
    f = fopen(inside, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    capture_stderr_begin();
    err = write_run(fx, fx->out);
    log = capture_stderr_end();
    assert_int_equal(err, RT_EIO);
    assert_false(files_exists(fx->tmp));
    assert_true(files_exists(inside));
    assert_non_null(strstr(log, "cannot rename"));
    free(log);
}

struct writer {
    const struct fixture *fx;
    char out[512];
    enum rt_err err;
};

static void *write_thread(void *arg)
{
    struct writer *w = arg;

    w->err = write_run(w->fx, w->out);
    return NULL;
}

static void bundle_writes_concurrently_to_different_paths(void **state)
{
    struct fixture *fx = *state;
    struct writer w[4];
    pthread_t th[4];

    make_run(fx);
    for (size_t i = 0; i < 4; i++) {
        w[i].fx = fx;
        w[i].err = RT_EIO;
        snprintf(w[i].out, sizeof(w[i].out), "%s/e%zu.tar.gz", fx->root, i);
        assert_int_equal(pthread_create(&th[i], NULL, write_thread, &w[i]), 0);
    }
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(w[i].err, RT_OK);
        assert_files_equal(w[0].out, w[i].out);
    }
}

static void bundle_long_names_use_ustar_prefix(void **state)
{
    struct fixture *fx = *state;
    char top[61], sub[61], file[91], rel[200], cmd[2048], a[1024], b[1024];
    const char *files[1] = {rel};
    char *log;

    memset(top, 't', 60);
    top[60] = '\0';
    memset(sub, 's', 60);
    sub[60] = '\0';
    memset(file, 'f', 90);
    file[90] = '\0';
    /* "<top>/<sub>/<file>" is 212 bytes: prefix "<top>/<sub>", name
     * "<file>". */
    snprintf(rel, sizeof(rel), "%s/%s", sub, file);
    put_text(fx, rel, "long\n");
    assert_int_equal(
        bundle_write(fx->src, files, 1, top, MTIME, NULL, 0, fx->out), RT_OK);
    snprintf(cmd, sizeof(cmd), "tar -xzf '%s' -C '%s'", fx->out, fx->xdir);
    assert_int_equal(run(cmd), 0);
    snprintf(a, sizeof(a), "%s/%s", fx->src, rel);
    snprintf(b, sizeof(b), "%s/%s/%s", fx->xdir, top, rel);
    assert_files_equal(a, b);
    snprintf(cmd, sizeof(cmd), "cd '%s/%s' && sha256sum --quiet -c %s",
             fx->xdir, top, "MANIFEST.sha256");
    assert_int_equal(run(cmd), 0);
    assert_int_equal(unlink(fx->out), 0);

    /* A 101-byte last component fits neither field. */
    memset(rel, 'n', 101);
    rel[101] = '\0';
    put_text(fx, rel, "too long\n");
    capture_stderr_begin();
    assert_int_equal(
        bundle_write(fx->src, files, 1, PREFIX, MTIME, NULL, 0, fx->out),
        RT_EINVAL);
    log = capture_stderr_end();
    assert_nothing_written(fx);
    assert_non_null(strstr(log, "too long"));
    free(log);
}

static void bundle_rejects_bad_paths(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {
        "../summary.md", "/etc/hostname", "a/b/c",
        "./summary.md",  "plots/",        "MANIFEST.sha256",
        "with\nnewline", "back\\slash",   "",
    };
    const char *files[2];

    put_text(fx, "summary.md", "ok\n");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        files[0] = bad[i];
        capture_stderr_begin();
        assert_int_equal(
            bundle_write(fx->src, files, 1, PREFIX, MTIME, NULL, 0, fx->out),
            RT_EINVAL);
        free(capture_stderr_end());
        assert_nothing_written(fx);
    }
    files[0] = files[1] = "summary.md";
    capture_stderr_begin();
    assert_int_equal(
        bundle_write(fx->src, files, 2, PREFIX, MTIME, NULL, 0, fx->out),
        RT_EINVAL);
    assert_int_equal(
        bundle_write(fx->src, files, 1, "a/b", MTIME, NULL, 0, fx->out),
        RT_EINVAL);
    assert_int_equal(
        bundle_write(fx->src, files, 1, "..", MTIME, NULL, 0, fx->out),
        RT_EINVAL);
    assert_int_equal(
        bundle_write(fx->src, files, 1, PREFIX, -1, NULL, 0, fx->out),
        RT_EINVAL);
    free(capture_stderr_end());
    assert_nothing_written(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sha256_file_matches_known_digests,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            sha256_file_missing_is_enoent_and_names_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            bundle_extracts_with_tar_and_manifest_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_manifest_lists_each_file_hash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_is_byte_identical_across_writes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_headers_carry_fixed_metadata,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_refuses_forbidden_string, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            bundle_refuses_secret_across_block_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_refuses_secret_in_a_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bundle_ignores_null_and_empty_forbidden,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_missing_file_is_enoent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bundle_failed_rename_removes_tmp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            bundle_writes_concurrently_to_different_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_long_names_use_ustar_prefix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bundle_rejects_bad_paths, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
