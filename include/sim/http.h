/*
 * The simulator's HTTP layer: libmicrohttpd on 127.0.0.1, one thread per
 * connection (so injected latency sleeps in that connection's own thread),
 * routing by method and path template, bearer-token authentication, the
 * per-token rate limit, the headers every response carries
 * (ININ-Correlation-Id, inin-ratelimit-*), ErrorBody errors, injected
 * faults, and one server.csv row per request.
 *
 * Route handlers receive a struct sim_req, read its inputs through the
 * sim_req_* helpers and answer exactly once with sim_reply_json() or
 * sim_reply_error().  Handlers run on libmicrohttpd's threads; everything
 * they touch in the org is locked there.
 */
#ifndef RT_SIM_HTTP_H
#define RT_SIM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "sim/config.h"
#include "sim/log.h"
#include "sim/org.h"
#include "sim/tokens.h"

#define SIM_PATH_PARAMS 2
#define SIM_BODY_MAX (1024 * 1024)

struct sim_http;
struct sim_notify;
struct sim_req;

typedef void (*sim_handler_fn)(struct sim_req *req);

enum sim_route_flags {
    SIM_ROUTE_WRITE = 1u << 0,  /* write latency; may lose its response */
    SIM_ROUTE_PUBLIC = 1u << 1, /* no bearer token needed (/oauth/token) */
};

struct sim_route {
    const char *method;
    const char *pattern; /* "/api/v2/users/{id}"; {x} matches one segment */
    sim_handler_fn handler;
    unsigned flags;
};

struct sim_req {
    /* Borrowed context. */
    struct sim_org *org;
    const struct sim_config *cfg;
    struct sim_tokens *tokens;
    struct sim_notify *notify; /* channels and subscriptions */
    const struct sim_route *route;
    void *conn; /* struct MHD_Connection * */
    const char *method;
    const char *path;
    const char *params[SIM_PATH_PARAMS]; /* path captures, NUL-terminated */
    const char *body;
    size_t body_len;
    const char *client_id; /* authenticated client, "" if none */
    char correlation_id[SIM_ID_LEN];
    /* Writer identity for org changes made by this request. */
    struct sim_writer writer;
    char cause[96];
    /* Retry-After of a 429 a handler answers for its own limit (the token
     * endpoint's); 0 = the per-token window's reset. */
    int64_t retry_after_s;
    /* Response, set by sim_reply_*. */
    int status;
    char *resp_body; /* owned */
    size_t resp_len;
    int replied;
    /* For server.csv: set by handlers when known. */
    const char *agent;
    int64_t version_sent;
    int64_t version_current;
};

/* Start serving @routes on 127.0.0.1:@cfg->port (0 = any).  Borrowed
 * pointers must outlive the server; @notify may be NULL (no
 * notification routes then). */
enum rt_err sim_http_start(struct sim_http **out, const struct sim_config *cfg,
                           const struct sim_route *routes, size_t n_routes,
                           struct sim_org *org, struct sim_tokens *tokens,
                           struct sim_notify *notify, struct sim_log *log);
uint16_t sim_http_port(const struct sim_http *self);
/* Stop accepting, finish the connections, free.  NULL-safe. */
void sim_http_stop(struct sim_http *self);

/* First value of query parameter @key, or NULL.  Borrowed. */
const char *sim_req_query(struct sim_req *req, const char *key);
/* Every value of @key, repeated or comma-joined ("id=a,b&id=c" -> a,b,c).
 * *out is a NULL-terminated array the caller frees with free() (one block).
 * Returns the count. */
size_t sim_req_query_list(struct sim_req *req, const char *key, char ***out);
/* Integer query parameter in [min, max] or @def when absent.  On a bad
 * value replies 400 and returns -1. */
int sim_req_query_int(struct sim_req *req, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out);
/* Boolean query parameter ("true"/"false"), @def when absent; -1 and a 400
 * reply on a bad value. */
int sim_req_query_bool(struct sim_req *req, const char *key, int def, int *out);
/* Request header value or NULL.  Borrowed. */
const char *sim_req_header(struct sim_req *req, const char *name);
/* Parse the JSON body; on failure replies 400 and returns NULL.  Caller
 * frees. */
cJSON *sim_req_json(struct sim_req *req);

/* Answer with @body (taken, may be NULL for no body). */
void sim_reply_json(struct sim_req *req, int status, cJSON *body);
/* Answer with raw bytes (copied) and a content type. */
void sim_reply_raw(struct sim_req *req, int status, const char *body,
                   size_t len);
/* Answer with a Genesys ErrorBody {message, code, status, contextId,
 * details, errors}. */
void sim_reply_error(struct sim_req *req, int status, const char *code,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 0 when the client holds @permission ("audits:audit:view"); otherwise
 * replies 403 missing.permissions (world.forbid lists what clients lack)
 * and returns -1. */
int sim_req_require(struct sim_req *req, const char *permission);

/* Paging helper for entity listings: reads pageSize (1..@max_size, default
 * @def_size) and pageNumber (>= 1); -1 after a 400 reply. */
int sim_req_paging(struct sim_req *req, int64_t def_size, int64_t max_size,
                   int64_t *page_size, int64_t *page_number);
/* Wrap @entities (taken) as {entities, pageSize, pageNumber, total,
 * pageCount, firstUri, lastUri, selfUri, nextUri?, previousUri?}. */
cJSON *sim_listing(struct sim_req *req, cJSON *entities, int64_t page_size,
                   int64_t page_number, int64_t total);

#endif
