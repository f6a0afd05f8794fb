/*
 * The simulator under 200 concurrent keep-alive connections, in both
 * server modes (one thread per connection, and an epoll thread pool).
 *
 * One libcurl multi handle drives 200 easy handles at once; each does
 * ROUNDS sequential GET /api/v2/users/{id}.  The first request of every
 * handle forces a fresh connection, so exactly 200 connections are opened
 * however the transfers interleave; every later request must find an idle
 * connection in the multi handle's pool (which holds all 200).  The summed
 * CURLINFO_NUM_CONNECTS is therefore exactly 200 only if the simulator
 * accepts all 200 connections and keeps every one of them alive: a refused,
 * reset or closed connection shows up as a failed transfer or as an extra
 * connect.  Every response must be a 200 whose body is the user asked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/config.h"
#include "sim/org.h"
#include "sim/sim.h"

#define CONNS 200
#define ROUNDS 5
#define AGENTS 20
#define BODY_MAX (64 * 1024)
#define FAILURES_SHOWN 5

struct conn {
    CURL *easy;
    struct buf body;
    size_t index;
    int round;     /* requests finished so far */
    long connects; /* CURLINFO_NUM_CONNECTS summed over this handle */
    char url[256];
};

struct load {
    struct sim *sim;
    struct curl_slist *headers; /* Authorization, shared read-only */
    struct conn conns[CONNS];
    long connects;
    int ok;            /* responses that passed every check */
    int failed;        /* responses that did not */
    int late_connects; /* requests after the first that connected anew */
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct buf *body = userdata;

    /* A short count makes libcurl fail the transfer with
     * CURLE_WRITE_ERROR, which the checks below report. */
    return buf_append(body, data, size * n) ? 0 : size * n;
}

static void set_common(CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
}

/* Client-credentials login; fills @bearer with "Authorization: Bearer ...". */
static void login(struct sim *sim, char *bearer, size_t cap)
{
    const struct sim_config *cfg = sim_config(sim);
    CURL *easy = curl_easy_init();
    struct buf body;
    char url[128], userpwd[160];
    const char *end = NULL;
    const cJSON *tok;
    cJSON *root;
    long status = 0;

    assert_non_null(easy);
    buf_init(&body, BODY_MAX);
    snprintf(url, sizeof(url), "%s/oauth/token", sim_url(sim));
    snprintf(userpwd, sizeof(userpwd), "%s:%s", cfg->client_id,
             cfg->client_secret);
    set_common(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "grant_type=client_credentials");
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    root = cJSON_ParseWithLengthOpts(buf_str(&body), body.len, &end, 0);
    assert_non_null(root);
    tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    assert_true(cJSON_IsString(tok) && tok->valuestring[0]);
    snprintf(bearer, cap, "Authorization: Bearer %s", tok->valuestring);
    cJSON_Delete(root);
    buf_release(&body);
    curl_easy_cleanup(easy);
}

/* The agent handle @c asks for in its current round: rounds walk through
 * the agents so neighbouring handles read different users. */
static size_t agent_of(const struct conn *c)
{
    return (c->index + (size_t)c->round) % AGENTS;
}

static void prepare(struct load *ld, struct conn *c)
{
    buf_reset(&c->body);
    snprintf(c->url, sizeof(c->url), "%s/api/v2/users/%s", sim_url(ld->sim),
             org_agent_id(sim_org(ld->sim), agent_of(c)));
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    /* Only the first request must open its own connection; the rest must
     * reuse one. */
    curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, c->round == 0 ? 1L : 0L);
}

static void record_failure(struct load *ld, const struct conn *c,
                           const char *what, const char *detail)
{
    if (ld->failed++ < FAILURES_SHOWN)
        print_error("handle %zu request %d ('%s'): %s%s%s\n", c->index,
                    c->round + 1, c->url, what, detail ? ": " : "",
                    detail ? detail : "");
}

/* Check one finished request of @c. */
static void check(struct load *ld, struct conn *c, CURLcode result)
{
    const char *want = org_agent_id(sim_org(ld->sim), agent_of(c));
    const char *end = NULL;
    const cJSON *id;
    cJSON *root;
    long status = 0, connects = 0;
    char text[32];

    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
    c->connects += connects;
    ld->connects += connects;
    if (c->round > 0 && connects)
        ld->late_connects++;
    if (result != CURLE_OK) {
        record_failure(ld, c, "transfer failed", curl_easy_strerror(result));
        return;
    }
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(text, sizeof(text), "%ld", status);
        record_failure(ld, c, "status is not 200", text);
        return;
    }
    root = cJSON_ParseWithLengthOpts(buf_str(&c->body), c->body.len, &end, 0);
    if (!root) {
        record_failure(ld, c, "body is not JSON", buf_str(&c->body));
        return;
    }
    id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsString(id) || strcmp(id->valuestring, want))
        record_failure(ld, c, "body carries the wrong user", buf_str(&c->body));
    else
        ld->ok++;
    cJSON_Delete(root);
}

/* Run every handle through ROUNDS requests, all in flight together.
 * Returns the first multi-interface error, or CURLM_OK. */
static CURLMcode drive(struct load *ld)
{
    CURLM *multi = curl_multi_init();
    CURLMcode mc = CURLM_OK;
    int active = 0, running = 0, left;
    CURLMsg *msg;

    assert_non_null(multi);
    /* No per-host cap, and a pool big enough to keep all 200 idle
     * connections between requests. */
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)CONNS);
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = &ld->conns[i];

        prepare(ld, c);
        if ((mc = curl_multi_add_handle(multi, c->easy)))
            goto out;
        active++;
    }
    while (active > 0) {
        if ((mc = curl_multi_perform(multi, &running)))
            goto out;
        while ((msg = curl_multi_info_read(multi, &left))) {
            struct conn *c = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            check(ld, c, msg->data.result);
            if ((mc = curl_multi_remove_handle(multi, c->easy)))
                goto out;
            active--;
            if (++c->round < ROUNDS) {
                prepare(ld, c);
                if ((mc = curl_multi_add_handle(multi, c->easy)))
                    goto out;
                active++;
            }
        }
        /* Waits for socket activity or libcurl's own timers; the 1s cap
         * only bounds one wait, the transfer timeouts bound the test. */
        if (active > 0 && (mc = curl_multi_poll(multi, NULL, 0, 1000, NULL)))
            goto out;
    }
out:
    for (size_t i = 0; i < CONNS; i++)
        curl_multi_remove_handle(multi, ld->conns[i].easy);
    curl_multi_cleanup(multi);
    return mc;
}

static void two_hundred_keepalive_connections(int server_threads)
{
    struct sim_config cfg;
    struct load *ld = xcalloc(1, sizeof(*ld));
    char bearer[256];
    CURLMcode mc;

    sim_config_defaults(&cfg);
    cfg.port = 0;
    cfg.agents = AGENTS;
    cfg.log_dir[0] = '\0';
    cfg.threads = server_threads;
    assert_int_equal(sim_start(&ld->sim, &cfg), RT_OK);
    login(ld->sim, bearer, sizeof(bearer));
    ld->headers = curl_slist_append(NULL, bearer);
    assert_non_null(ld->headers);
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = &ld->conns[i];

        c->index = i;
        buf_init(&c->body, BODY_MAX);
        c->easy = curl_easy_init();
        assert_non_null(c->easy);
        set_common(c->easy);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, ld->headers);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->body);
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (char *)c);
        curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 0L);
    }

    mc = drive(ld);

    for (size_t i = 0; i < CONNS; i++) {
        curl_easy_cleanup(ld->conns[i].easy);
        buf_release(&ld->conns[i].body);
    }
    curl_slist_free_all(ld->headers);
    sim_stop(ld->sim);
    if (mc)
        print_error("multi interface: %s\n", curl_multi_strerror(mc));
    if (ld->late_connects)
        print_error("%d requests after the first opened a new connection\n",
                    ld->late_connects);
    assert_int_equal(mc, CURLM_OK);
    assert_int_equal(ld->failed, 0);
    assert_int_equal(ld->ok, CONNS * ROUNDS);
    assert_int_equal(ld->connects, CONNS);
    for (size_t i = 0; i < CONNS; i++)
        assert_int_equal(ld->conns[i].connects, 1);
    free(ld);
}

static void thread_per_connection_serves_200_keepalive_connections(void **state)
{
    (void)state;
    two_hundred_keepalive_connections(0);
}

static void thread_pool_serves_200_keepalive_connections(void **state)
{
    (void)state;
    two_hundred_keepalive_connections(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            thread_per_connection_serves_200_keepalive_connections),
        cmocka_unit_test(thread_pool_serves_200_keepalive_connections),
    };
    int rc;

    /* Before any thread exists: libcurl's global state is not
     * thread-safe to set up. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fputs("curl_global_init failed\n", stderr);
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
