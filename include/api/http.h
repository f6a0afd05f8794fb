/*
 * HTTP client on libcurl.  One struct http_client per thread: it owns its
 * CURL easy handle, so connections are kept alive and reused between that
 * thread's requests, and nothing is shared on the hot path.  Every request
 * has a connect timeout and a total timeout, TLS peer and host verification
 * are always on (there is deliberately no way to turn them off), only
 * http:// and https:// URLs are accepted, redirects are not followed, and
 * the response body is capped.
 *
 * The response carries what the history needs: status, body, the headers
 * Genesys uses for evidence and throttling (ININ-Correlation-Id,
 * Retry-After, inin-ratelimit-*), send/receive times on both clocks, the
 * curl result and whether the request may have reached the server.
 *
 * http_global_init() must run once before any thread starts and
 * http_global_cleanup() once after they all stop (curl_global_init is not
 * thread-safe).
 */
#ifndef RT_API_HTTP_H
#define RT_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define HTTP_CONNECT_TIMEOUT_NS_DEFAULT (INT64_C(5) * 1000000000)
#define HTTP_TIMEOUT_NS_DEFAULT (INT64_C(30) * 1000000000)
#define HTTP_BODY_MAX_BYTES_DEFAULT ((size_t)8 << 20)
#define HTTP_HEADERS_MAX 16
#define HTTP_HEADER_VALUE_MAX 128
#define HTTP_ERROR_MAX 256

struct http_client;

struct http_options {
    int64_t connect_timeout_ns; /* > 0; default 5 s */
    int64_t timeout_ns;         /* > 0, whole exchange; default 30 s */
    size_t body_max_bytes;      /* response body cap; default 8 MiB */
};

/* A request.  Everything is borrowed for the duration of
 * http_client_perform(). */
struct http_request {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
    const char *url;    /* absolute http:// or https:// URL */
    /* Extra headers as "Name: value" lines, e.g. "Authorization: Bearer x",
     * "Content-Type: application/json". */
    const char *headers[HTTP_HEADERS_MAX];
    size_t n_headers;
    const void *body; /* NULL for none; sent as is */
    size_t body_len;
};

/* How the exchange ended. */
enum http_result {
    HTTP_RESULT_RESPONSE,  /* a status line and the whole body arrived */
    HTTP_RESULT_TRANSPORT, /* connection, TLS, protocol or read error */
    HTTP_RESULT_TIMEOUT,   /* connect or total timeout */
    HTTP_RESULT_TOO_LARGE, /* the body went over the cap */
};

/*
 * A response.  Caller-allocated, initialised once with http_response_init()
 * and reused across requests (http_client_perform() resets it).  Fields of
 * headers that did not come are "" or -1.
 */
struct http_response {
    enum http_result result;
    long status;                /* 0 when no status line arrived */
    struct buf body;            /* owned; NUL-terminated */
    int curl_code;              /* CURLcode, 0 = CURLE_OK */
    char error[HTTP_ERROR_MAX]; /* curl's message, "" on success */
    /*
     * 1 when bytes of the request left this host: after a timeout or a
     * transport error the server may have acted on it (a write's outcome
     * is unknown).  0 means it certainly did not.
     */
    int request_sent;
    long num_connects; /* new connections this exchange opened (0: reused) */

    char correlation_id[HTTP_HEADER_VALUE_MAX]; /* ININ-Correlation-Id */
    char content_type[HTTP_HEADER_VALUE_MAX];
    int64_t retry_after_s;     /* Retry-After in whole seconds, or -1 */
    int64_t ratelimit_count;   /* inin-ratelimit-count, or -1 */
    int64_t ratelimit_allowed; /* inin-ratelimit-allowed, or -1 */
    int64_t ratelimit_reset_s; /* inin-ratelimit-reset, or -1 */

    /* Read at the event site, just before the transfer starts and just
     * after it ends. */
    int64_t send_wall_ns, send_mono_ns;
    int64_t recv_wall_ns, recv_mono_ns;
    int64_t latency_ns; /* recv_mono_ns - send_mono_ns */
};

/* Call once before any thread uses the client; logs the cause on failure.
 * Not thread-safe. */
enum rt_err http_global_init(void);
/* Call once after every client is freed.  Not thread-safe. */
void http_global_cleanup(void);

/* The defaults (5 s connect, 30 s total, 8 MiB body). */
void http_options_default(struct http_options *opt);

/*
 * New client (caller frees with http_client_free()).  @opt may be NULL for
 * the defaults; zero fields also take their default.  Fails with RT_EINVAL
 * on negative values or RT_EIO when curl cannot make a handle.  The client
 * is not thread-safe: each thread owns its own.
 */
enum rt_err http_client_new(struct http_client **out,
                            const struct http_options *opt);
void http_client_free(struct http_client *self); /* NULL-safe */

/* Response lifecycle; the body is capped at HTTP_BODY_MAX_BYTES_DEFAULT or
 * the client's cap, whichever the client sets.  Not thread-safe. */
void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);
/* Back to "nothing happened yet" (no status, empty body, headers absent),
 * keeping the allocation and the cap.  Not thread-safe. */
void http_response_reset(struct http_response *resp);

/*
 * Perform @req and fill @resp.  Returns RT_OK when a response arrived,
 * whatever its status; RT_ETIMEOUT on a timeout, RT_EHTTP on a transport
 * error, RT_ETRUNC when the body exceeded the cap, RT_EINVAL for a bad
 * request (unknown method, non-http URL, too many headers).  @resp is
 * filled in every case (result, curl code, error text, times).  Transport
 * details are not logged here: they travel in @resp to the history.  Not
 * thread-safe (one client per thread).
 */
enum rt_err http_client_perform(struct http_client *self,
                                const struct http_request *req,
                                struct http_response *resp);

/* Short name of a result for CSVs: "response", "transport", "timeout",
 * "too_large".  Thread-safe. */
const char *http_result_name(enum http_result result);

#endif
