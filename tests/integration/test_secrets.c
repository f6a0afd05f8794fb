/*
 * No secret leaves the process: the real racetrace binary records a run
 * against the in-process simulator used as a remote target (--target
 * http://127.0.0.1:PORT --allow-writes), once with the client secret in a
 * mode-600 file (GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE) and once in
 * GENESYSCLOUD_OAUTHCLIENT_SECRET, with 2-second tokens so several are
 * issued per run.  Then every file of both run directories (recursively,
 * and evidence.tar.gz decompressed), and the runs' stdout and stderr, are
 * searched for the secret, its Basic encoding and every token the
 * simulator issued.  The search is shown to find a token planted in a
 * copy of a real output, plain and gzipped, so it cannot pass by missing.
 * A wrong secret gives one error line without it, and a secret file open
 * to others is refused with exit 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "api/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "sim/sim.h"
#include "sim/tokens.h"
#include "support/files.h"
#include "support/spawn.h"

extern char **environ;

#define SECRET "rt-e2e-S3cr3t-7f3a9c"
#define WRONG_SECRET "rt-e2e-Wr0ng-51e0b2"
#define GUNZIP_MAX ((size_t)256 << 20)

static char binary[PATH_MAX];
static char dir[PATH_MAX];
static char scenario[PATH_MAX + 32];
static struct sim *sim;

/* ------------------------------------------------------------------ */
/* Searching outputs                                                   */

struct needles {
    char **text; /* owned */
    const char **kind;
    size_t n, cap;
};

static void needles_add(struct needles *nd, const char *text, const char *kind)
{
    if (nd->n == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 16;
        nd->text = realloc(nd->text, nd->cap * sizeof(*nd->text));
        nd->kind = realloc(nd->kind, nd->cap * sizeof(*nd->kind));
        assert_non_null(nd->text);
        assert_non_null(nd->kind);
    }
    nd->text[nd->n] = strdup(text);
    nd->kind[nd->n] = kind;
    nd->n++;
}

static void needles_free(struct needles *nd)
{
    for (size_t i = 0; i < nd->n; i++)
        free(nd->text[i]);
    free(nd->text);
    free(nd->kind);
    memset(nd, 0, sizeof(*nd));
}

static void add_token(void *ctx, const char *token,
                      const struct sim_token_info *info)
{
    (void)info;
    needles_add(ctx, token, "an access token");
}

/* The secret, its Basic encoding and every token issued so far. */
static void collect_needles(struct needles *nd, const char *secret)
{
    const struct sim_config *cfg = sim_config(sim);
    struct buf plain, enc;

    needles_add(nd, secret, "the client secret");
    buf_init(&plain, 256);
    buf_init(&enc, 512);
    buf_printf(&plain, "%s:%s", cfg->client_id, secret);
    base64_encode(&enc, plain.data, plain.len);
    needles_add(nd, buf_str(&enc), "the Basic credentials");
    buf_release(&plain);
    buf_release(&enc);
    sim_tokens_each(sim_tokens(sim), add_token, nd);
}

static size_t count_tokens(void)
{
    struct needles nd = {0};
    size_t n;

    sim_tokens_each(sim_tokens(sim), add_token, &nd);
    n = nd.n;
    needles_free(&nd);
    return n;
}

/* Occurrences of any needle in @data, each printed with where it was. */
static int scan_bytes(const struct needles *nd, const char *where,
                      const char *data, size_t len)
{
    int hits = 0;

    for (size_t i = 0; i < nd->n; i++) {
        size_t nl = strlen(nd->text[i]);
        const char *p = data, *end = data + len;
        while (nl && (p = memmem(p, (size_t)(end - p), nd->text[i], nl))) {
            fprintf(stderr, "%s found in '%s' at byte %zu\n", nd->kind[i],
                    where, (size_t)(p - data));
            hits++;
            p += nl;
        }
    }
    return hits;
}

/* The whole gzip stream @data into a new buffer (caller frees). */
static char *gunzip(const char *data, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    int rc;

    assert_non_null(out);
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    do {
        if (n == cap) {
            assert_true(cap < GUNZIP_MAX);
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        zs.next_out = (Bytef *)out + n;
        zs.avail_out = (uInt)(cap - n);
        rc = inflate(&zs, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        n = cap - zs.avail_out;
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    *out_len = n;
    return out;
}

/* What scan_tree() saw: nftw() takes no context pointer. */
static struct {
    const struct needles *nd;
    int hits;
    int files;
    size_t gunzipped_bytes;
} scan;

static int scan_entry(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    size_t len, glen;
    char *data, *plain;

    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    data = files_read(path, &len);
    scan.files++;
    scan.hits += scan_bytes(scan.nd, path, data, len);
    if (len > 4 && !strcmp(path + strlen(path) - 3, ".gz")) {
        /* A tar stores its members' bytes as they are, so the
         * decompressed stream holds every file of the bundle. */
        plain = gunzip(data, len, &glen);
        scan.gunzipped_bytes += glen;
        scan.hits += scan_bytes(scan.nd, path, plain, glen);
        free(plain);
    }
    free(data);
    return 0;
}

/* Every regular file under @root (links not followed); the hit count. */
static int scan_tree(const char *root, const struct needles *nd)
{
    scan.nd = nd;
    scan.hits = 0;
    scan.files = 0;
    scan.gunzipped_bytes = 0;
    assert_int_equal(nftw(root, scan_entry, 16, FTW_PHYS), 0);
    return scan.hits;
}

static int scan_file(const char *path, const struct needles *nd)
{
    size_t len;
    char *data = files_read(path, &len);
    int hits = scan_bytes(nd, path, data, len);

    free(data);
    return hits;
}

/* ------------------------------------------------------------------ */
/* Running the binary                                                  */

/* This process's environment without any GENESYSCLOUD_* variable, plus
 * @extra (NULL-terminated "NAME=value" strings).  Caller frees the array
 * (the strings are borrowed). */
static char **child_env(const char *const *extra)
{
    size_t n = 0, k = 0, n_extra = 0;
    char **env;

    while (environ[n])
        n++;
    while (extra[n_extra])
        n_extra++;
    env = calloc(n + n_extra + 1, sizeof(*env));
    assert_non_null(env);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "GENESYSCLOUD_", 13))
            env[k++] = environ[i];
    for (size_t i = 0; i < n_extra; i++)
        env[k++] = (char *)(uintptr_t)extra[i];
    env[k] = NULL;
    return env;
}

/* racetrace run <scenario> --target <sim> --allow-writes --out @out -q,
 * stdout and stderr into @out_path / @err_path; the exit code. */
static int run_binary(const char *out, const char *const *extra,
                      const char *out_path, const char *err_path)
{
    char *argv[] = {binary,
                    "run",
                    scenario,
                    "--target",
                    (char *)(uintptr_t)sim_url(sim),
                    "--allow-writes",
                    "--out",
                    (char *)(uintptr_t)out,
                    "-q",
                    NULL};
    posix_spawn_file_actions_t fa;
    char **env = child_env(extra);
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawn(&pid, binary, &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void print_file(const char *path)
{
    char *text = files_slurp(path, NULL);

    fprintf(stderr, "--- %s:\n%s", path, text ? text : "(missing)\n");
    free(text);
}

static void write_secret_file(const char *path, const char *secret, mode_t mode)
{
    char text[128];

    snprintf(text, sizeof(text), "%s\n", secret);
    files_write_text(path, text);
    assert_int_equal(chmod(path, mode), 0);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void no_output_holds_the_secret_or_any_token(void **state)
{
    char id_env[128], file_env[PATH_MAX + 64], out[2][PATH_MAX + 16];
    char std_out[2][PATH_MAX + 32], std_err[2][PATH_MAX + 32];
    /* Sized for the whole of out[]: gcc does not see k < 2. */
    char secret_path[PATH_MAX + 16], path[sizeof(out) + 64];
    const char *extra[2][3];
    struct needles nd = {0};
    size_t before, issued[2];
    int rc, hits = 0;

    (void)state;
    snprintf(id_env, sizeof(id_env), "GENESYSCLOUD_OAUTHCLIENT_ID=%s",
             sim_config(sim)->client_id);
    snprintf(secret_path, sizeof(secret_path), "%s/client-secret", dir);
    write_secret_file(secret_path, SECRET, 0600);
    snprintf(file_env, sizeof(file_env),
             "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE=%s", secret_path);
    extra[0][0] = id_env;
    extra[0][1] = file_env;
    extra[0][2] = NULL;
    extra[1][0] = id_env;
    extra[1][1] = "GENESYSCLOUD_OAUTHCLIENT_SECRET=" SECRET;
    extra[1][2] = NULL;

    for (int k = 0; k < 2; k++) {
        const char *how = k == 0 ? "file" : "env";
        snprintf(out[k], sizeof(out[k]), "%s/run-%s", dir, how);
        snprintf(std_out[k], sizeof(std_out[k]), "%s/stdout-%s", dir, how);
        snprintf(std_err[k], sizeof(std_err[k]), "%s/stderr-%s", dir, how);
        before = count_tokens();
        rc = run_binary(out[k], extra[k], std_out[k], std_err[k]);
        if (rc != 0)
            print_file(std_err[k]);
        assert_int_equal(rc, 0);
        issued[k] = count_tokens() - before;
        /* Short tokens: the run renewed them, so old ones count too. */
        if (issued[k] < 2)
            print_error("run with the secret from %s got %zu tokens\n", how,
                        issued[k]);
        assert_true(issued[k] >= 2);
    }

    collect_needles(&nd, SECRET);
    assert_int_equal(nd.n, 2 + issued[0] + issued[1]);
    for (int k = 0; k < 2; k++) {
        hits += scan_tree(out[k], &nd);
        /* The run really produced what is searched. */
        assert_true(scan.files >= 8);
        assert_true(scan.gunzipped_bytes > 0);
        snprintf(path, sizeof(path), "%s/requests.csv", out[k]);
        assert_true(files_exists(path));
        hits += scan_file(std_out[k], &nd);
        hits += scan_file(std_err[k], &nd);
    }
    assert_int_equal(hits, 0);

    /* The search finds a token written into a copy of a real output,
     * plain and compressed, so a clean result above means clean. */
    {
        char planted[PATH_MAX + 16], copy[PATH_MAX + 64];
        const char *token = nd.text[nd.n - 1];
        size_t len, half;
        char *csv, *text;
        gzFile gz;

        fprintf(stderr, "planting a token in copies of requests.csv, "
                        "plain and gzipped; both must be found:\n");
        snprintf(planted, sizeof(planted), "%s/planted", dir);
        assert_int_equal(mkdir(planted, 0700), 0);
        snprintf(path, sizeof(path), "%s/requests.csv", out[1]);
        csv = files_read(path, &len);
        half = len / 2;
        text = malloc(len + strlen(token) + 1);
        assert_non_null(text);
        memcpy(text, csv, half);
        memcpy(text + half, token, strlen(token));
        memcpy(text + half + strlen(token), csv + half, len - half);
        snprintf(copy, sizeof(copy), "%s/requests.csv", planted);
        files_write(copy, text, len + strlen(token));
        assert_int_equal(scan_tree(planted, &nd), 1);
        assert_int_equal(unlink(copy), 0);
        snprintf(copy, sizeof(copy), "%s/bundle.tar.gz", planted);
        gz = gzopen(copy, "wb");
        assert_non_null(gz);
        assert_int_equal(gzwrite(gz, text, (unsigned)(len + strlen(token))),
                         (int)(len + strlen(token)));
        assert_int_equal(gzclose(gz), Z_OK);
        assert_int_equal(scan_tree(planted, &nd), 1);
        free(text);
        free(csv);
    }
    needles_free(&nd);
}

static void wrong_secret_fails_without_showing_it(void **state)
{
    char id_env[128], out[PATH_MAX + 16], std_out[PATH_MAX + 32];
    char std_err[PATH_MAX + 32], first[512];
    const char *extra[3];
    struct needles nd = {0};
    char *text;
    FILE *f;
    int rc;

    (void)state;
    snprintf(id_env, sizeof(id_env), "GENESYSCLOUD_OAUTHCLIENT_ID=%s",
             sim_config(sim)->client_id);
    extra[0] = id_env;
    extra[1] = "GENESYSCLOUD_OAUTHCLIENT_SECRET=" WRONG_SECRET;
    extra[2] = NULL;
    snprintf(out, sizeof(out), "%s/run-wrong", dir);
    snprintf(std_out, sizeof(std_out), "%s/stdout-wrong", dir);
    snprintf(std_err, sizeof(std_err), "%s/stderr-wrong", dir);
    rc = run_binary(out, extra, std_out, std_err);
    if (rc != 1)
        print_file(std_err);
    assert_int_equal(rc, 1);
    /* The first line is the cause, with the server's words. */
    f = fopen(std_err, "r");
    assert_non_null(f);
    assert_non_null(fgets(first, sizeof(first), f));
    fclose(f);
    assert_non_null(strstr(first, "cannot get an access token"));
    assert_non_null(strstr(first, "HTTP 400: invalid_client"));
    text = files_read(std_err, NULL);
    assert_null(strstr(text, WRONG_SECRET));
    assert_null(strstr(text, SECRET));
    free(text);
    needles_add(&nd, WRONG_SECRET, "the wrong secret");
    assert_int_equal(scan_tree(out, &nd), 0);
    assert_int_equal(scan_file(std_out, &nd), 0);
    needles_free(&nd);
}

static void secret_file_open_to_others_is_refused_with_exit_2(void **state)
{
    char id_env[128], file_env[PATH_MAX + 64], secret_path[PATH_MAX + 16];
    char out[PATH_MAX + 16], std_out[PATH_MAX + 32], std_err[PATH_MAX + 32];
    char want[PATH_MAX + 64], first[PATH_MAX + 256];
    const char *extra[4];
    char *text;
    FILE *f;

    (void)state;
    snprintf(id_env, sizeof(id_env), "GENESYSCLOUD_OAUTHCLIENT_ID=%s",
             sim_config(sim)->client_id);
    snprintf(secret_path, sizeof(secret_path), "%s/open-secret", dir);
    write_secret_file(secret_path, SECRET, 0644);
    snprintf(file_env, sizeof(file_env),
             "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE=%s", secret_path);
    extra[0] = id_env;
    extra[1] = file_env;
    extra[2] = NULL;
    snprintf(out, sizeof(out), "%s/run-open", dir);
    snprintf(std_out, sizeof(std_out), "%s/stdout-open", dir);
    snprintf(std_err, sizeof(std_err), "%s/stderr-open", dir);
    assert_int_equal(run_binary(out, extra, std_out, std_err), 2);
    f = fopen(std_err, "r");
    assert_non_null(f);
    assert_non_null(fgets(first, sizeof(first), f));
    fclose(f);
    snprintf(want, sizeof(want), "run: chmod 600 '%s'", secret_path);
    assert_non_null(strstr(first, want));
    text = files_read(std_err, NULL);
    assert_null(strstr(text, SECRET));
    free(text);
    /* Refused before anything was recorded. */
    assert_false(files_exists(out));

    /* Both sources set: ambiguous, refused the same way. */
    assert_int_equal(chmod(secret_path, 0600), 0);
    extra[2] = "GENESYSCLOUD_OAUTHCLIENT_SECRET=" SECRET;
    extra[3] = NULL;
    assert_int_equal(run_binary(out, extra, std_out, std_err), 2);
    f = fopen(std_err, "r");
    assert_non_null(f);
    assert_non_null(fgets(first, sizeof(first), f));
    fclose(f);
    assert_non_null(strstr(first, "unset one of them"));
    assert_false(files_exists(out));
}

static int setup(void **state)
{
    struct sim_config cfg;

    (void)state;
    spawn_find_binary(binary, sizeof(binary));
    if (files_mkdtemp(dir, sizeof(dir), "rt-secrets"))
        return -1;
    snprintf(scenario, sizeof(scenario), "%s/scenario.json", dir);
    files_write_text(scenario, "{\"name\": \"secrets\", \"duration\": \"6s\","
                               " \"agents\": {\"count\": 4},"
                               " \"replay\": {\"at\": \"2s\"}}\n");
    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = 10;
    snprintf(cfg.client_secret, sizeof(cfg.client_secret), "%s", SECRET);
    /* Renewed at 90% of 2 s: several tokens in a 6 s run. */
    cfg.token_lifetime_ns = 2 * NS_PER_S;
    return sim_start(&sim, &cfg) == RT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sim_stop(sim);
    return files_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_output_holds_the_secret_or_any_token),
        cmocka_unit_test(wrong_secret_fails_without_showing_it),
        cmocka_unit_test(secret_file_open_to_others_is_refused_with_exit_2),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
