/*
 * Simulator HTTP layer (see include/sim/http.h).
 *
 * Order of checks for every request, as a real gateway would: route match
 * (404), bearer token (401), per-token rate limit (429 + Retry-After),
 * injected faults (dropped connection, 503), then the handler between the
 * two halves of the injected latency, so a write commits in the middle of
 * its round trip.  A write may commit and still lose its response
 * (world.faults.lost_response): the client cannot know the outcome.
 */
#include "sim/http.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"

struct sim_http {
    struct MHD_Daemon *daemon;
    const struct sim_config *cfg;
    const struct sim_route *routes;
    size_t n_routes;
    struct sim_org *org;
    struct sim_tokens *tokens;
    struct sim_notify *notify;
    struct sim_log *log;
    uint16_t port;
    uint64_t boot_id;
    atomic_uint_fast64_t seq;
    atomic_uint_fast64_t rng_streams;
};

struct conn_ctx {
    struct buf body;
    int too_large;
    int64_t recv_mono_ns;
    int64_t recv_wall_ns;
};

static _Thread_local struct rng fault_rng;
static _Thread_local int fault_rng_ready;

static struct rng *thread_rng(struct sim_http *self)
{
    if (!fault_rng_ready) {
        rng_seed(&fault_rng, self->cfg->seed ^ self->boot_id,
                 0xfa017 + atomic_fetch_add(&self->rng_streams, 1));
        fault_rng_ready = 1;
    }
    return &fault_rng;
}

/* Unique per request: the boot id keeps ids distinct across restarts. */
static void correlation_id(struct sim_http *self, char out[SIM_ID_LEN])
{
    uint64_t n = atomic_fetch_add(&self->seq, 1) + 1;
    uint64_t b = self->boot_id;

    snprintf(out, SIM_ID_LEN, "%08x-%04x-4%03x-8%03x-%012llx",
             (unsigned)(b >> 32), (unsigned)((b >> 16) & 0xffff),
             (unsigned)(b & 0xfff), (unsigned)((n >> 48) & 0xfff),
             (unsigned long long)(n & UINT64_C(0xffffffffffff)));
}

/* Match @path against @pattern, capturing {x} segments into @params
 * (pointers into @scratch, which receives a copy of the path). */
static int route_match(const char *pattern, const char *path, char *scratch,
                       size_t scratch_len, const char **params)
{
    const char *p = pattern, *s = path;
    size_t used = 0;
    int np = 0;

    while (*p && *s) {
        if (*p == '{') {
            const char *seg_end = strchr(s, '/');
            size_t len = seg_end ? (size_t)(seg_end - s) : strlen(s);
            if (len == 0 || np >= SIM_PATH_PARAMS ||
                used + len + 1 > scratch_len)
                return 0;
            memcpy(scratch + used, s, len);
            scratch[used + len] = '\0';
            params[np++] = scratch + used;
            used += len + 1;
            s += len;
            p = strchr(p, '}');
            if (!p)
                return 0;
            p++;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *p == '\0' && (*s == '\0' || (s[0] == '/' && s[1] == '\0'));
}

struct query_walk {
    const char *key;
    const char *first;
    struct buf joined; /* values joined with ',' */
    int count;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    struct query_walk *w = cls;

    (void)kind;
    if (!key || strcmp(key, w->key))
        return MHD_YES;
    if (!w->first)
        w->first = value ? value : "";
    if (value && *value) {
        if (w->joined.len)
            buf_putc(&w->joined, ',');
        buf_puts(&w->joined, value);
    }
    w->count++;
    return MHD_YES;
}

const char *sim_req_query(struct sim_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

size_t sim_req_query_list(struct sim_req *req, const char *key, char ***out)
{
    struct query_walk w = {.key = key};
    size_t n = 0, i = 0;
    char **arr, *text;
    const char *s;

    buf_init(&w.joined, 256 * 1024);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter, &w);
    s = buf_str(&w.joined);
    if (*s) {
        n = 1;
        for (const char *p = s; *p; p++)
            n += *p == ',';
    }
    /* One block: the pointer array followed by the text it points into. */
    arr = xmalloc((n + 1) * sizeof(char *) + w.joined.len + 1);
    text = (char *)(arr + n + 1);
    memcpy(text, s, w.joined.len + 1);
    if (n) {
        char *tok = text;
        for (char *p = text;; p++) {
            if (*p == ',' || *p == '\0') {
                int end = *p == '\0';
                *p = '\0';
                if (*tok)
                    arr[i++] = tok;
                if (end)
                    break;
                tok = p + 1;
            }
        }
    }
    arr[i] = NULL;
    buf_release(&w.joined);
    *out = arr;
    return i;
}

int sim_req_query_int(struct sim_req *req, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out)
{
    const char *v = sim_req_query(req, key);
    char *end;
    long long n;

    if (!v) {
        *out = def;
        return 0;
    }
    n = strtoll(v, &end, 10);
    if (!*v || *end || n < min || n > max) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for %s: must be an integer from %lld "
                        "to %lld",
                        key, (long long)min, (long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

int sim_req_query_bool(struct sim_req *req, const char *key, int def, int *out)
{
    const char *v = sim_req_query(req, key);

    if (!v) {
        *out = def;
        return 0;
    }
    if (!strcasecmp(v, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false")) {
        *out = 0;
        return 0;
    }
    sim_reply_error(req, 400, "bad.request",
                    "Invalid value for %s: must be true or false", key);
    return -1;
}

const char *sim_req_header(struct sim_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

cJSON *sim_req_json(struct sim_req *req)
{
    const char *end = NULL;
    cJSON *root;

    if (!req->body_len) {
        sim_reply_error(req, 400, "bad.request",
                        "The request could not be understood by the server "
                        "due to malformed syntax: empty body");
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (!root) {
        size_t off = end && end >= req->body ? (size_t)(end - req->body) : 0;
        sim_reply_error(req, 400, "bad.request",
                        "The request could not be understood by the server "
                        "due to malformed syntax: invalid JSON at byte %zu",
                        off);
    }
    return root;
}

void sim_reply_raw(struct sim_req *req, int status, const char *body,
                   size_t len)
{
    if (req->replied)
        return;
    req->replied = 1;
    req->status = status;
    req->resp_body = body ? xstrndup(body, len) : NULL;
    req->resp_len = body ? len : 0;
}

void sim_reply_json(struct sim_req *req, int status, cJSON *body)
{
    char *text;

    if (req->replied) {
        cJSON_Delete(body);
        return;
    }
    req->replied = 1;
    req->status = status;
    if (!body)
        return;
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text)
        abort(); /* cJSON allocation failure */
    req->resp_body = text;
    req->resp_len = strlen(text);
}

void sim_reply_error(struct sim_req *req, int status, const char *code,
                     const char *fmt, ...)
{
    char message[512];
    cJSON *o;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddStringToObject(o, "messageWithParams", message);
    cJSON_AddObjectToObject(o, "messageParams");
    cJSON_AddStringToObject(o, "contextId", req->correlation_id);
    cJSON_AddArrayToObject(o, "details");
    cJSON_AddArrayToObject(o, "errors");
    sim_reply_json(req, status, o);
}

int sim_req_require(struct sim_req *req, const char *permission)
{
    const struct sim_world_config *w = &req->cfg->world;

    for (size_t k = 0; k < w->n_forbid; k++) {
        if (strcmp(w->forbid[k], permission))
            continue;
        sim_reply_error(req, 403, "missing.permissions",
                        "Unable to perform the requested action. You are "
                        "missing the following permission(s): [%s]",
                        permission);
        return -1;
    }
    return 0;
}

int sim_req_paging(struct sim_req *req, int64_t def_size, int64_t max_size,
                   int64_t *page_size, int64_t *page_number)
{
    if (sim_req_query_int(req, "pageSize", def_size, 1, max_size, page_size) ||
        sim_req_query_int(req, "pageNumber", 1, 1, INT32_MAX, page_number))
        return -1;
    return 0;
}

static void add_uri(cJSON *o, const char *name, const char *path, int64_t size,
                    int64_t number)
{
    char uri[512];

    snprintf(uri, sizeof(uri), "%s?pageSize=%lld&pageNumber=%lld", path,
             (long long)size, (long long)number);
    cJSON_AddStringToObject(o, name, uri);
}

cJSON *sim_listing(struct sim_req *req, cJSON *entities, int64_t page_size,
                   int64_t page_number, int64_t total)
{
    cJSON *o = cJSON_CreateObject();
    int64_t pages = (total + page_size - 1) / page_size;

    cJSON_AddItemToObject(o, "entities", entities);
    cJSON_AddNumberToObject(o, "pageSize", (double)page_size);
    cJSON_AddNumberToObject(o, "pageNumber", (double)page_number);
    cJSON_AddNumberToObject(o, "total", (double)total);
    add_uri(o, "firstUri", req->path, page_size, 1);
    add_uri(o, "selfUri", req->path, page_size, page_number);
    if (page_number < pages)
        add_uri(o, "nextUri", req->path, page_size, page_number + 1);
    if (page_number > 1)
        add_uri(o, "previousUri", req->path, page_size, page_number - 1);
    add_uri(o, "lastUri", req->path, page_size, pages > 0 ? pages : 1);
    cJSON_AddNumberToObject(o, "pageCount", (double)pages);
    return o;
}

static int64_t sample_range(struct rng *rng, int64_t lo, int64_t hi)
{
    return hi > lo ? rng_range(rng, lo, hi) : lo;
}

/* Bearer token check; replies 401 and returns -1 on failure. */
static int authenticate(struct sim_http *self, struct sim_req *req,
                        struct sim_token_info *info)
{
    const char *h = sim_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    enum rt_err err;

    if (!h || strncasecmp(h, "Bearer ", 7) || !h[7]) {
        sim_reply_error(req, 401, "authentication.required",
                        "No authentication bearer token specified in "
                        "authorization header.");
        return -1;
    }
    err = sim_tokens_check(self->tokens, h + 7, info);
    if (err == RT_EAUTH) {
        sim_reply_error(req, 401, "credentials.expired",
                        "The provided credentials have expired.");
        return -1;
    }
    if (err) {
        sim_reply_error(req, 401, "bad.credentials",
                        "Invalid login credentials.");
        return -1;
    }
    return 0;
}

/* Body reader of a cut response: fails at once, so libmicrohttpd closes the
 * connection after the headers. */
static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void add_number_header(struct MHD_Response *r, const char *name,
                              int64_t v)
{
    char text[32];

    snprintf(text, sizeof(text), "%lld", (long long)v);
    MHD_add_response_header(r, name, text);
}

static enum MHD_Result dispatch(struct sim_http *self,
                                struct MHD_Connection *conn, const char *url,
                                const char *method, struct conn_ctx *ctx)
{
    struct sim_req req;
    struct sim_rate rate;
    struct sim_token_info info;
    char scratch[512];
    const char *fault = "";
    int authed = 0, drop = 0;
    int64_t lat_lo = 0, lat_hi = 0, latency = 0;
    struct rng *rng = thread_rng(self);
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;

    memset(&req, 0, sizeof(req));
    req.org = self->org;
    req.cfg = self->cfg;
    req.tokens = self->tokens;
    req.notify = self->notify;
    req.conn = conn;
    req.method = method;
    req.path = url;
    req.body = buf_str(&ctx->body);
    req.body_len = ctx->body.len;
    req.client_id = "";
    req.agent = "";
    req.version_sent = -1;
    req.version_current = -1;
    correlation_id(self, req.correlation_id);
    sim_tokens_rate_none(self->tokens, &rate);

    for (size_t i = 0; i < self->n_routes; i++) {
        if (strcmp(self->routes[i].method, method))
            continue;
        if (route_match(self->routes[i].pattern, url, scratch, sizeof(scratch),
                        req.params)) {
            req.route = &self->routes[i];
            break;
        }
    }
    if (!req.route) {
        sim_reply_error(&req, 404, "not.found", "HTTP %s %s not found.", method,
                        url);
        goto respond;
    }
    if (ctx->too_large) {
        sim_reply_error(&req, 413, "request.entity.too.large",
                        "The request body exceeds %d bytes.", SIM_BODY_MAX);
        goto respond;
    }
    if (!(req.route->flags & SIM_ROUTE_PUBLIC)) {
        if (authenticate(self, &req, &info))
            goto respond;
        authed = 1;
        req.client_id = info.client_id;
        snprintf(req.cause, sizeof(req.cause), "client:%s", info.client_id);
        req.writer.cause = req.cause;
        req.writer.client_id = info.client_id;
        req.writer.correlation_id = req.correlation_id;
        sim_tokens_rate(self->tokens, info.seq, clock_mono_ns(), &rate);
        if (rate.limited) {
            sim_reply_error(&req, 429, "too.many.requests.retry.after",
                            "Rate limit exceeded the maximum. Retry the "
                            "request in [%lld] seconds",
                            (long long)rate.reset_s);
            goto respond;
        }
        if (self->cfg->world.fault_drop > 0 &&
            rng_chance(rng, self->cfg->world.fault_drop)) {
            drop = 1;
            fault = "drop";
            goto respond;
        }
        if (self->cfg->world.fault_5xx > 0 &&
            rng_chance(rng, self->cfg->world.fault_5xx)) {
            fault = "5xx";
            sim_reply_error(&req, 503, "service.unavailable",
                            "Service Unavailable");
            goto respond;
        }
    }
    if (req.route->flags & SIM_ROUTE_WRITE) {
        lat_lo = self->cfg->world.write_latency_lo_ns;
        lat_hi = self->cfg->world.write_latency_hi_ns;
    } else {
        lat_lo = self->cfg->world.read_latency_lo_ns;
        lat_hi = self->cfg->world.read_latency_hi_ns;
    }
    latency = sample_range(rng, lat_lo, lat_hi);
    clock_sleep_ns(latency / 2);
    req.route->handler(&req);
    if (!req.replied)
        sim_reply_error(&req, 500, "internal.server.error",
                        "The handler produced no response.");
    if ((req.route->flags & SIM_ROUTE_WRITE) && req.status < 300 &&
        self->cfg->world.fault_lost_response > 0 &&
        rng_chance(rng, self->cfg->world.fault_lost_response)) {
        drop = 1;
        fault = "lost_response";
    }
    clock_sleep_ns(latency - latency / 2);

respond:
    if (drop) {
        /*
         * The connection breaks after the status line and headers, in the
         * middle of the body.  Closing before any byte would make HTTP
         * clients (libcurl among them) silently resend the request on a
         * fresh connection, a second write nobody asked for; a cut body is
         * never resent, so the client sees the failure and cannot tell
         * whether the request took effect, as with a real lost response.
         */
        resp = MHD_create_response_from_callback(4096, 4096, cut_reader, NULL,
                                                 NULL);
        MHD_add_response_header(resp, "ININ-Correlation-Id",
                                req.correlation_id);
        ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
    } else {
        resp = MHD_create_response_from_buffer(
            req.resp_len, req.resp_body ? req.resp_body : (char *)"",
            req.resp_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        req.resp_body = NULL; /* owned by the response now */
        if (req.resp_len)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "application/json");
        MHD_add_response_header(resp, "ININ-Correlation-Id",
                                req.correlation_id);
        add_number_header(resp, "inin-ratelimit-count", rate.count);
        add_number_header(resp, "inin-ratelimit-allowed", rate.allowed);
        add_number_header(resp, "inin-ratelimit-reset", rate.reset_s);
        if (req.status == 429)
            add_number_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                              req.retry_after_s > 0 ? req.retry_after_s
                                                    : rate.reset_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-cache, no-store, must-revalidate");
        ret = MHD_queue_response(conn, (unsigned)req.status, resp);
        MHD_destroy_response(resp);
    }
    free(req.resp_body);
    {
        struct sim_log_request row = {
            .recv_wall_ns = ctx->recv_wall_ns,
            .latency_ns = clock_mono_ns() - ctx->recv_mono_ns,
            .client_id = req.client_id,
            .token_seq = authed ? info.seq : 0,
            .method = method,
            .path = url,
            .route = req.route ? req.route->pattern : "",
            .agent = req.agent ? req.agent : "",
            .status = drop ? 0 : req.status,
            .correlation_id = req.correlation_id,
            .version_sent = req.version_sent,
            .version_current = req.version_current,
            .fault = fault,
        };
        sim_log_request(self->log, &row);
    }
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct sim_http *self = cls;
    struct conn_ctx *ctx = *con_cls;

    (void)version;
    if (!ctx) {
        ctx = xcalloc(1, sizeof(*ctx));
        buf_init(&ctx->body, SIM_BODY_MAX);
        ctx->recv_mono_ns = clock_mono_ns();
        ctx->recv_wall_ns = clock_wall_ns();
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!ctx->too_large &&
            buf_append(&ctx->body, upload_data, *upload_size))
            ctx->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(self, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *ctx = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!ctx)
        return;
    buf_release(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("sim http: %s", line);
}

enum rt_err sim_http_start(struct sim_http **out, const struct sim_config *cfg,
                           const struct sim_route *routes, size_t n_routes,
                           struct sim_org *org, struct sim_tokens *tokens,
                           struct sim_notify *notify, struct sim_log *log)
{
    struct sim_http *self = xcalloc(1, sizeof(*self));
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    unsigned flags;

    self->cfg = cfg;
    self->routes = routes;
    self->n_routes = n_routes;
    self->org = org;
    self->tokens = tokens;
    self->notify = notify;
    self->log = log;
    while (getrandom(&self->boot_id, sizeof(self->boot_id), 0) !=
           (ssize_t)sizeof(self->boot_id))
        ;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(cfg->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /*
     * The thread pool polls with poll(), not epoll: libmicrohttpd 0.9.75
     * (Debian 12) drains epoll by calling epoll_wait() again, with the full
     * blocking timeout, whenever a call returned a full batch of 128
     * events, so after a burst of 128 ready connections the worker sleeps
     * (up to the connection timeout) on requests it has already seen.
     * tests/integration/test_sim_connections.c catches it.
     */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (cfg->threads <= 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    self->daemon = MHD_start_daemon(
        flags, cfg->port, NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        self, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, self,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        cfg->threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
        (unsigned)cfg->threads, MHD_OPTION_END);
    if (!self->daemon) {
        free(self);
        return rt_fail(RT_ESYS, "cannot listen on 127.0.0.1:%u",
                       (unsigned)cfg->port);
    }
    info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    *out = self;
    return RT_OK;
}

uint16_t sim_http_port(const struct sim_http *self)
{
    return self->port;
}

void sim_http_stop(struct sim_http *self)
{
    if (!self)
        return;
    MHD_stop_daemon(self->daemon);
    free(self);
}
