/*
 * The stream's transport rules (harness/stream): a plain ws:// connectUri
 * is refused unless its host is a loopback one, and wss:// is verified
 * against the system CA store (OpenSSL's, so SSL_CERT_FILE names it here)
 * for both the chain and the host name, with no way around it.
 *
 * The REST side is a scripted HTTP server (support/mockhttp) handing out
 * channels with the connectUri under test; the WebSocket side is a TLS
 * libwebsockets server in this program that answers pings, with a
 * certificate made here: one naming 127.0.0.1, one naming another host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/xalloc.h"
#include "harness/history.h"
#include "harness/scenario.h"
#include "harness/session.h"
#include "harness/stream.h"
#include "harness/tracker.h"
#include "support/files.h"
#include "support/mockhttp.h"

#if defined(__SANITIZE_ADDRESS__)
/*
 * libwebsockets 4.1.6 on OpenSSL 3 never frees the SSL_CTX of a server
 * vhost that has served a TLS connection, with what it holds (the keys,
 * certificates and CA store of this test's server).  Only what the test's
 * own server allocates (wss_start) is excused; the stream's client side
 * is checked like everything else.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:wss_start\n";
}

/* OpenSSL has no frame pointers: whole stacks, so the suppressions above
 * can see who allocated. */
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}
#endif

/* ------------------------------------------------------------------ */
/* Certificates                                                        */

/* A self-signed certificate for @san ("IP:127.0.0.1", "DNS:x") and its
 * key, as PEM files.  The subject names the SAN too: two certificates with
 * one subject would look like issuers of each other. */
static void make_cert(const char *san, const char *cert_path,
                      const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    FILE *f;

    assert_non_null(key);
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"racetrace test", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)san, -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                              "critical,CA:TRUE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    assert_non_null(f = fopen(cert_path, "w"));
    assert_int_equal(PEM_write_X509(f, x), 1);
    assert_int_equal(fclose(f), 0);
    assert_non_null(f = fopen(key_path, "w"));
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL),
                     1);
    assert_int_equal(fclose(f), 0);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------ */
/* A TLS WebSocket server that answers {"message":"ping"}              */

struct wss {
    struct lws_context *ctx;
    pthread_t thread;
    atomic_bool quit;
    atomic_int opened; /* handshakes completed */
    int port;
};

struct wss_session {
    int pong_due;
};

static int wss_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len)
{
    static const char pong[] =
        "{\"topicName\":\"channel.metadata\",\"eventBody\":"
        "{\"message\":\"pong\"}}";
    struct wss *s = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
    struct wss_session *pss = user;
    unsigned char frame[LWS_PRE + sizeof(pong)];

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        atomic_fetch_add(&s->opened, 1);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (len >= 4 && memmem(in, len, "ping", 4)) {
            pss->pong_due = 1;
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!pss->pong_due)
            return 0;
        pss->pong_due = 0;
        memcpy(frame + LWS_PRE, pong, sizeof(pong) - 1);
        return lws_write(wsi, frame + LWS_PRE, sizeof(pong) - 1,
                         LWS_WRITE_TEXT) < (int)sizeof(pong) - 1
                   ? -1
                   : 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols wss_protocols[] = {
    {"test-notifications", wss_callback, sizeof(struct wss_session), 0, 0, NULL,
     0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *wss_main(void *arg)
{
    struct wss *s = arg;

    while (!atomic_load(&s->quit))
        if (lws_service(s->ctx, 0) < 0)
            break;
    return NULL;
}

static void wss_start(struct wss *s, const char *cert_path,
                      const char *key_path)
{
    struct lws_context_creation_info info;
    struct lws_vhost *vh;

    memset(s, 0, sizeof(*s));
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
                   LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = wss_protocols;
    info.ssl_cert_filepath = cert_path;
    info.ssl_private_key_filepath = key_path;
    info.fd_limit_per_thread = 64;
    info.user = s;
    assert_non_null(s->ctx = lws_create_context(&info));
    assert_non_null(vh = lws_get_vhost_by_name(s->ctx, "default"));
    s->port = lws_get_vhost_listen_port(vh);
    assert_true(s->port > 0);
    assert_int_equal(pthread_create(&s->thread, NULL, wss_main, s), 0);
}

static void wss_stop(struct wss *s)
{
    atomic_store(&s->quit, true);
    lws_cancel_service(s->ctx);
    pthread_join(s->thread, NULL);
    lws_context_destroy(s->ctx);
}

/* ------------------------------------------------------------------ */
/* The run around the stream                                           */

struct rig {
    char dir[512];
    struct mockhttp *api;
    struct scenario scn;
    struct harness h;
};

/* A harness over agents u1 and u2 of a scripted API whose channels have
 * @connect_uri. */
static void rig_start(struct rig *r, const char *connect_uri)
{
    static const char listing[] =
        "{\"entities\":[{\"id\":\"u1\",\"version\":1,\"presence\":{"
        "\"presenceDefinition\":{\"systemPresence\":\"Available\"},"
        "\"modifiedDate\":\"2026-01-01T00:00:00.000Z\"},\"routingStatus\":{"
        "\"status\":\"OFF_QUEUE\",\"startTime\":\"2026-01-01T00:00:00.000Z\"}},"
        "{\"id\":\"u2\",\"version\":1}],\"pageSize\":100,\"pageNumber\":1}";
    struct mockhttp_response m;
    struct oauth_cache_config ac;
    struct harness *h = &r->h;
    char channel[600];

    memset(r, 0, sizeof(*r));
    assert_int_equal(files_scratch_dir(r->dir, sizeof(r->dir)), 0);
    assert_non_null(r->api = mockhttp_start());
    snprintf(channel, sizeof(channel),
             "{\"id\":\"c1\",\"connectUri\":\"%s\",\"expires\":"
             "\"2099-01-01T00:00:00.000Z\"}",
             connect_uri);
    memset(&m, 0, sizeof(m));
    m.method = "POST";
    m.path = "/api/v2/notifications/channels";
    m.times = MOCKHTTP_FOREVER;
    m.headers[0] = "Content-Type: application/json";
    m.body = channel;
    mockhttp_script(r->api, &m);
    m.method = "PUT";
    m.path = "/api/v2/notifications/channels/c1/subscriptions";
    m.body = "{\"entities\":[]}";
    mockhttp_script(r->api, &m);
    m.method = "GET";
    m.path = "/api/v2/users";
    m.body = listing;
    mockhttp_script(r->api, &m);

    scenario_defaults(&r->scn);
    r->scn.observe.presence_via = SCN_VIA_STREAM;
    harness_init(h);
    h->scn = &r->scn;
    snprintf(h->api_url, sizeof(h->api_url), "%s", mockhttp_url(r->api));
    memset(&ac, 0, sizeof(ac));
    ac.login_url = mockhttp_url(r->api);
    ac.access_token = "test-token";
    ac.on_exchange = session_oauth_hook;
    assert_int_equal(oauth_cache_new(&h->auth, &ac), RT_OK);
    h->limiter = ratelimit_new(0, 0);
    assert_int_equal(history_open(&h->history, r->dir), RT_OK);
    h->n_agents = 2;
    h->agent_ids = xcalloc(2, sizeof(char *));
    h->agent_ids[0] = xstrdup("u1");
    h->agent_ids[1] = xstrdup("u2");
}

static void rig_stop(struct rig *r)
{
    struct harness *h = &r->h;

    harness_stop(h);
    assert_int_equal(history_close(h->history), RT_OK);
    ratelimit_free(h->limiter);
    oauth_cache_free(h->auth);
    harness_release(h);
    mockhttp_free(r->api);
}

/* Certificate and key paths in a fresh directory @dir. */
static void paths(char *dir, char *cert, char *key, char *other_cert,
                  char *other_key, size_t len)
{
    assert_int_equal(files_scratch_dir(dir, len), 0);
    snprintf(cert, len, "%s/ip.pem", dir);
    snprintf(key, len, "%s/ip.key", dir);
    snprintf(other_cert, len, "%s/dns.pem", dir);
    snprintf(other_key, len, "%s/dns.key", dir);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void plain_ws_is_refused_for_a_remote_host(void **state)
{
    static const char *const uris[] = {
        "ws://streaming.example.com/channels/c1",
        "ws://192.0.2.1:8080/channels/c1",
        "http://127.0.0.1:1/channels/c1",
    };
    struct stream *st = NULL;
    struct rig r;

    (void)state;
    for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        rig_start(&r, uris[i]);
        assert_int_equal(stream_start(&st, &r.h), RT_EINVAL);
        assert_null(st);
        /* Refused before anything was subscribed or connected. */
        assert_int_equal(mockhttp_count_matching(
                             r.api, "POST", "/api/v2/notifications/channels"),
                         1);
        assert_int_equal(mockhttp_count_matching(r.api, "PUT", NULL), 0);
        rig_stop(&r);
    }
}

static void untrusted_certificate_is_refused(void **state)
{
    char dir[600], cert[600], key[600], other_cert[600], other_key[600];
    char uri[128];
    struct stream *st = NULL;
    struct rig r;
    struct wss s;

    (void)state;
    unsetenv("SSL_CERT_FILE");
    paths(dir, cert, key, other_cert, other_key, sizeof(cert));
    make_cert("IP:127.0.0.1", cert, key);
    wss_start(&s, cert, key);
    snprintf(uri, sizeof(uri), "wss://127.0.0.1:%d/channels/c1", s.port);
    rig_start(&r, uri);
    /* The system store does not know the test's certificate. */
    assert_int_equal(stream_start(&st, &r.h), RT_EHTTP);
    assert_null(st);
    assert_int_equal(atomic_load(&s.opened), 0);
    rig_stop(&r);
    wss_stop(&s);
}

static void trusted_certificate_is_accepted_for_its_host_only(void **state)
{
    char dir[600], cert[600], key[600], other_cert[600], other_key[600];
    char uri[128], both[700];
    struct stream_stats stats;
    struct stream *st = NULL;
    struct rig r;
    struct wss s;
    FILE *out, *in;
    int ch;

    (void)state;
    paths(dir, cert, key, other_cert, other_key, sizeof(cert));
    make_cert("IP:127.0.0.1", cert, key);
    make_cert("DNS:racetrace.invalid", other_cert, other_key);
    /* Both certificates trusted, through OpenSSL's own variable. */
    snprintf(both, sizeof(both), "%s/trusted.pem", dir);
    assert_non_null(out = fopen(both, "w"));
    for (int k = 0; k < 2; k++) {
        assert_non_null(in = fopen(k ? other_cert : cert, "r"));
        while ((ch = fgetc(in)) != EOF)
            fputc(ch, out);
        fclose(in);
    }
    assert_int_equal(fclose(out), 0);
    setenv("SSL_CERT_FILE", both, 1);

    /* A trusted certificate naming another host: refused. */
    wss_start(&s, other_cert, other_key);
    snprintf(uri, sizeof(uri), "wss://127.0.0.1:%d/channels/c1", s.port);
    rig_start(&r, uri);
    assert_int_equal(stream_start(&st, &r.h), RT_EHTTP);
    assert_int_equal(atomic_load(&s.opened), 0);
    rig_stop(&r);
    wss_stop(&s);

    /* A trusted certificate naming 127.0.0.1: the stream opens, reads
     * its agents and is ready. */
    wss_start(&s, cert, key);
    snprintf(uri, sizeof(uri), "wss://127.0.0.1:%d/channels/c1", s.port);
    rig_start(&r, uri);
    assert_int_equal(stream_start(&st, &r.h), RT_OK);
    assert_true(atomic_load(&s.opened) >= 1);
    harness_stop(&r.h);
    stream_join(st);
    stream_stats(st, &stats);
    stream_stop(st);
    assert_int_equal(stats.channels_created, 1);
    assert_true(stats.pongs >= 1);
    assert_int_equal(stats.rereads, 1);
    assert_int_equal(mockhttp_count_matching(r.api, "GET", "/api/v2/users"), 1);
    rig_stop(&r);
    wss_stop(&s);
    unsetenv("SSL_CERT_FILE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_ws_is_refused_for_a_remote_host),
        cmocka_unit_test(untrusted_certificate_is_refused),
        cmocka_unit_test(trusted_certificate_is_accepted_for_its_host_only),
    };
    int rc;

    /* Errors only, set before any lws thread exists. */
    lws_set_log_level(LLL_ERR, NULL);
    if (files_scratch_begin("rt-stream-tls"))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    files_scratch_end();
    return rc;
}
