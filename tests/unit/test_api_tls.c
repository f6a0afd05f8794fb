/*
 * TLS verification is on: against an HTTPS server on 127.0.0.1 whose
 * certificate is self-signed (made here with OpenSSL, served by
 * libmicrohttpd over GnuTLS), the client refuses the handshake and the
 * request never reaches the handler.  A plain libcurl handle with
 * verification switched off reaches the same server, so the refusal is
 * the verification and not a broken server.  libcurl has no getter for
 * CURLOPT_SSL_VERIFYPEER/VERIFYHOST, so this is the test of those options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/http.h"

struct tls_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    char key_pem[4096], cert_pem[4096];
    atomic_int requests;
};

/* A BIO's contents into @out (NUL-terminated); 0 on success. */
static int bio_text(BIO *bio, char *out, size_t len)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0 || (size_t)n >= len)
        return -1;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return 0;
}

/* A P-256 key and a self-signed certificate for CN=localhost, one day. */
static void make_self_signed(struct tls_server *s)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = X509_new();
    X509_NAME *name;
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());

    assert_non_null(key);
    assert_non_null(crt);
    X509_set_version(crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), -60);
    X509_gmtime_adj(X509_getm_notAfter(crt), 86400);
    X509_set_pubkey(crt, key);
    name = X509_get_subject_name(crt);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(crt, name);
    assert_true(X509_sign(crt, key, EVP_sha256()) > 0);
    assert_int_equal(
        PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(PEM_write_bio_X509(cb, crt), 1);
    assert_int_equal(bio_text(kb, s->key_pem, sizeof(s->key_pem)), 0);
    assert_int_equal(bio_text(cb, s->cert_pem, sizeof(s->cert_pem)), 0);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(crt);
    EVP_PKEY_free(key);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct tls_server *s = cls;
    static char body[] = "{\"ok\":true}";
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    atomic_fetch_add(&s->requests, 1);
    resp = MHD_create_response_from_buffer(sizeof(body) - 1, body,
                                           MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int setup(void **state)
{
    struct tls_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (!s)
        return -1;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        /* Not a pass: the test says it could not run. */
        fprintf(stderr, "libmicrohttpd was built without TLS\n");
        free(s);
        return -1;
    }
    make_self_signed(s);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
        on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_HTTPS_MEM_KEY, s->key_pem, MHD_OPTION_HTTPS_MEM_CERT,
        s->cert_pem, MHD_OPTION_END);
    if (!s->daemon) {
        fprintf(stderr, "cannot start the TLS server on 127.0.0.1\n");
        free(s);
        return -1;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct tls_server *s = *state;

    MHD_stop_daemon(s->daemon);
    free(s);
    return 0;
}

static void self_signed_certificate_is_refused(void **state)
{
    struct tls_server *s = *state;
    struct http_client *http;
    struct http_response resp;
    struct http_request req;
    char url[64];

    snprintf(url, sizeof(url), "https://127.0.0.1:%u/api/v2/users", s->port);
    assert_int_equal(http_client_new(&http, NULL), RT_OK);
    http_response_init(&resp);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers[req.n_headers++] = "Authorization: Bearer must-not-leave";
    assert_int_equal(http_client_perform(http, &req, &resp), RT_EHTTP);
    assert_int_equal(resp.result, HTTP_RESULT_TRANSPORT);
    assert_int_equal(resp.curl_code, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(resp.status, 0);
    assert_non_null(strstr(resp.error, "certificate"));
    /* The handshake failed: no request, so no token, left this host. */
    assert_int_equal(atomic_load(&s->requests), 0);
    assert_int_equal(resp.request_sent, 0);

    /* Twice: the second request on the same handle (after
     * curl_easy_reset) is verified as well. */
    assert_int_equal(http_client_perform(http, &req, &resp), RT_EHTTP);
    assert_int_equal(resp.curl_code, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(atomic_load(&s->requests), 0);
    http_response_release(&resp);
    http_client_free(http);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    (void)userp;
    return size * nmemb;
}

static void the_same_server_answers_without_verification(void **state)
{
    struct tls_server *s = *state;
    CURL *c = curl_easy_init();
    long status = 0;
    char url[64];

    /* The control: only verification stands between the client and this
     * server. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", s->port);
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    assert_int_equal(atomic_load(&s->requests), 1);
    curl_easy_cleanup(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(self_signed_certificate_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_same_server_answers_without_verification, setup, teardown),
    };
    int rc;

    if (http_global_init())
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
