/*
 * libcurl client.  The easy handle is reset and fully reconfigured before
 * each request (curl_easy_reset keeps the connection cache, so keep-alive
 * survives), which makes every request independent of the one before, and
 * sets TLS peer and host verification on every time: no option, field or
 * environment variable of ours turns them off.  Nothing here logs a header
 * or a body, and every text that may quote a URL or the server (curl's
 * error, the URL itself) goes through redaction before it leaves.
 * Headers are captured in the header callback; a new status line restarts
 * the capture so only the final response's headers count.
 */
#include "api/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/redact.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/units.h"
#include "base/xalloc.h"

#ifndef RT_VERSION
#define RT_VERSION "0.0.0"
#endif

struct http_client {
    CURL *curl;
    struct http_options opt;
    char errbuf[CURL_ERROR_SIZE];
    /* Per-transfer state the callbacks write to. */
    struct http_response *resp;
    int too_large;
};

enum rt_err http_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (rc != CURLE_OK)
        return rt_fail(RT_EIO, "cannot initialise libcurl: %s",
                       curl_easy_strerror(rc));
    return RT_OK;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

void http_options_default(struct http_options *opt)
{
    opt->connect_timeout_ns = HTTP_CONNECT_TIMEOUT_NS_DEFAULT;
    opt->timeout_ns = HTTP_TIMEOUT_NS_DEFAULT;
    opt->body_max_bytes = HTTP_BODY_MAX_BYTES_DEFAULT;
}

enum rt_err http_client_new(struct http_client **out,
                            const struct http_options *opt)
{
    struct http_client *self;
    struct http_options o;

    http_options_default(&o);
    if (opt) {
        if (opt->connect_timeout_ns < 0 || opt->timeout_ns < 0)
            return rt_fail(RT_EINVAL, "negative HTTP timeout");
        if (opt->connect_timeout_ns)
            o.connect_timeout_ns = opt->connect_timeout_ns;
        if (opt->timeout_ns)
            o.timeout_ns = opt->timeout_ns;
        if (opt->body_max_bytes)
            o.body_max_bytes = opt->body_max_bytes;
    }
    self = xcalloc(1, sizeof(*self));
    self->opt = o;
    self->curl = curl_easy_init();
    if (!self->curl) {
        free(self);
        return rt_fail(RT_EIO, "cannot create a libcurl handle");
    }
    *out = self;
    return RT_OK;
}

void http_client_free(struct http_client *self)
{
    if (!self)
        return;
    curl_easy_cleanup(self->curl);
    free(self);
}

static void response_clear_headers(struct http_response *resp)
{
    resp->correlation_id[0] = '\0';
    resp->content_type[0] = '\0';
    resp->retry_after_s = -1;
    resp->ratelimit_count = -1;
    resp->ratelimit_allowed = -1;
    resp->ratelimit_reset_s = -1;
}

static void response_reset(struct http_response *resp, size_t body_max)
{
    resp->result = HTTP_RESULT_TRANSPORT;
    resp->status = 0;
    buf_reset(&resp->body);
    /* The cap is the client's; the buffer keeps its allocation. */
    resp->body.max = body_max;
    resp->curl_code = 0;
    resp->error[0] = '\0';
    resp->request_sent = 0;
    resp->num_connects = 0;
    response_clear_headers(resp);
    resp->send_wall_ns = resp->send_mono_ns = 0;
    resp->recv_wall_ns = resp->recv_mono_ns = 0;
    resp->latency_ns = 0;
}

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, HTTP_BODY_MAX_BYTES_DEFAULT);
    response_reset(resp, HTTP_BODY_MAX_BYTES_DEFAULT);
}

void http_response_release(struct http_response *resp)
{
    buf_release(&resp->body);
}

void http_response_reset(struct http_response *resp)
{
    response_reset(resp, resp->body.max);
}

const char *http_result_name(enum http_result result)
{
    switch (result) {
    case HTTP_RESULT_RESPONSE:
        return "response";
    case HTTP_RESULT_TRANSPORT:
        return "transport";
    case HTTP_RESULT_TIMEOUT:
        return "timeout";
    case HTTP_RESULT_TOO_LARGE:
        return "too_large";
    }
    return "unknown";
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_client *self = userp;
    size_t n = size * nmemb;

    if (buf_append(&self->resp->body, data, n)) {
        self->too_large = 1;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Copy a header value, cut to the field's size. */
static void copy_value(char *dst, size_t dst_len, const char *v, size_t len)
{
    if (len >= dst_len)
        len = dst_len - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

/* A non-negative integer header; -1 when absent or malformed. */
static int64_t int_value(const char *v, size_t len)
{
    char tmp[32];
    int64_t n;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    if (units_parse_i64(tmp, &n) || n < 0)
        return -1;
    return n;
}

/* Retry-After is delta-seconds, or an HTTP-date (RFC 9110 §10.2.3). */
static int64_t retry_after_value(const char *v, size_t len)
{
    char tmp[64];
    int64_t n = int_value(v, len);
    time_t when;

    if (n >= 0 || len == 0 || len >= sizeof(tmp))
        return n;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    when = curl_getdate(tmp, NULL);
    if (when < 0)
        return -1;
    n = (int64_t)when - clock_wall_ns() / NS_PER_S;
    return n > 0 ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_client *self = userp;
    struct http_response *resp = self->resp;
    size_t n = size * nmemb, name_len, vlen;
    const char *colon, *v;

    if (n >= 5 && !strncasecmp(data, "HTTP/", 5)) {
        /* An interim (1xx) response came before; start over. */
        response_clear_headers(resp);
        return n;
    }
    colon = memchr(data, ':', n);
    if (!colon)
        return n;
    name_len = (size_t)(colon - data);
    v = colon + 1;
    vlen = n - name_len - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                        v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
#define IS(name)                                                               \
    (name_len == sizeof(name) - 1 && !strncasecmp(data, name, name_len))
    if (IS("ININ-Correlation-Id"))
        copy_value(resp->correlation_id, sizeof(resp->correlation_id), v, vlen);
    else if (IS("Content-Type"))
        copy_value(resp->content_type, sizeof(resp->content_type), v, vlen);
    else if (IS("Retry-After"))
        resp->retry_after_s = retry_after_value(v, vlen);
    else if (IS("inin-ratelimit-count"))
        resp->ratelimit_count = int_value(v, vlen);
    else if (IS("inin-ratelimit-allowed"))
        resp->ratelimit_allowed = int_value(v, vlen);
    else if (IS("inin-ratelimit-reset"))
        resp->ratelimit_reset_s = int_value(v, vlen);
#undef IS
    return n;
}

static long ms_of(int64_t ns)
{
    int64_t ms = (ns + NS_PER_MS - 1) / NS_PER_MS;

    return ms < 1 ? 1 : (long)ms;
}

/* Set the method and body; RT_EINVAL for an unknown method or a body on a
 * method that cannot carry one. */
static enum rt_err set_method(CURL *c, const struct http_request *req)
{
    const char *m = req->method;
    int has_body = req->body != NULL;

    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        if (has_body)
            return RT_EINVAL;
        if (!strcmp(m, "HEAD"))
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return RT_OK;
    }
    if (strcmp(m, "POST") && strcmp(m, "PUT") && strcmp(m, "PATCH") &&
        strcmp(m, "DELETE"))
        return RT_EINVAL;
    if (strcmp(m, "POST"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    /* POST, PUT and PATCH always carry a body (maybe empty, so that
     * Content-Length: 0 is sent); DELETE only when given one. */
    if (has_body || strcmp(m, "DELETE")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(has_body ? req->body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, has_body ? req->body : "");
    }
    return RT_OK;
}

static enum rt_err setup(struct http_client *self,
                         const struct http_request *req,
                         struct curl_slist **headers)
{
    CURL *c = self->curl;
    struct curl_slist *h = NULL, *tmp;
    enum rt_err err;

    if (!req->method || !req->url || req->n_headers > HTTP_HEADERS_MAX ||
        (strncasecmp(req->url, "http://", 7) &&
         strncasecmp(req->url, "https://", 8)))
        return RT_EINVAL;
    curl_easy_reset(c);
    if ((err = set_method(c, req)))
        return err;
    /* Disable "Expect: 100-continue": one round trip less, and the
     * latency measured is the request's own. */
    for (size_t i = 0; i <= req->n_headers; i++) {
        const char *line = i == 0 ? "Expect:" : req->headers[i - 1];
        if (!line)
            continue;
        tmp = curl_slist_append(h, line);
        if (!tmp) {
            /* Allocation failure aborts, as xmalloc does. */
            log_error("cannot build HTTP headers: out of memory");
            abort();
        }
        h = tmp;
    }
    *headers = h;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     ms_of(self->opt.connect_timeout_ns));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms_of(self->opt.timeout_ns));
    /* Verification is libcurl's default; set it anyway so no future
     * default or environment can weaken it. */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "racetrace/" RT_VERSION);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)self->opt.body_max_bytes);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, self);
    return RT_OK;
}

enum rt_err http_client_perform(struct http_client *self,
                                const struct http_request *req,
                                struct http_response *resp)
{
    struct curl_slist *headers = NULL;
    curl_off_t pretransfer_us = 0;
    long status = 0, request_size = 0, connects = 0;
    enum rt_err err;
    CURLcode rc;

    response_reset(resp, self->opt.body_max_bytes);
    if ((err = setup(self, req, &headers))) {
        /* A caller's bug, not a network event: say so loudly. */
        char url[512];
        snprintf(resp->error, sizeof(resp->error), "invalid request");
        log_error(
            "invalid HTTP request '%s %s': unknown method, non-http "
            "URL, a body on GET/HEAD or too many headers",
            req->method ? req->method : "(null)",
            req->url ? redact_line(url, sizeof(url), req->url, strlen(req->url))
                     : "(null)");
        goto out;
    }
    self->errbuf[0] = '\0';
    self->resp = resp;
    self->too_large = 0;

    resp->send_wall_ns = clock_wall_ns();
    resp->send_mono_ns = clock_mono_ns();
    rc = curl_easy_perform(self->curl);
    resp->recv_mono_ns = clock_mono_ns();
    resp->recv_wall_ns = clock_wall_ns();
    resp->latency_ns = resp->recv_mono_ns - resp->send_mono_ns;
    self->resp = NULL;

    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(self->curl, CURLINFO_REQUEST_SIZE, &request_size);
    curl_easy_getinfo(self->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    curl_easy_getinfo(self->curl, CURLINFO_NUM_CONNECTS, &connects);
    resp->status = status;
    resp->num_connects = connects;
    resp->curl_code = (int)rc;
    resp->request_sent =
        rc == CURLE_OK || request_size > 0 || pretransfer_us > 0;
    /* curl's text can quote the URL or what the server sent; it goes to
     * requests.csv and to messages, so it is redacted here, once. */
    if (rc != CURLE_OK) {
        const char *text =
            self->errbuf[0] ? self->errbuf : curl_easy_strerror(rc);
        redact_line(resp->error, sizeof(resp->error), text, strlen(text));
    }

    if (rc == CURLE_OK) {
        resp->result = HTTP_RESULT_RESPONSE;
        err = RT_OK;
    } else if (self->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        resp->result = HTTP_RESULT_TOO_LARGE;
        snprintf(resp->error, sizeof(resp->error),
                 "response body larger than %zu bytes",
                 self->opt.body_max_bytes);
        err = RT_ETRUNC;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        resp->result = HTTP_RESULT_TIMEOUT;
        err = RT_ETIMEOUT;
    } else {
        resp->result = HTTP_RESULT_TRANSPORT;
        err = RT_EHTTP;
    }
    if (err && log_get_level() >= LOG_DEBUG) {
        char url[512];
        log_debug("%s '%s': %s", req->method,
                  redact_line(url, sizeof(url), req->url, strlen(req->url)),
                  resp->error);
    }
out:
    curl_slist_free_all(headers);
    return err;
}
