/*
 * Scriptable test HTTP server (see mockhttp.h).  The full request URI comes
 * from libmicrohttpd's URI log callback, which runs before the handler and
 * whose return value becomes the request's context: that is where each
 * record starts.  Records are published under the lock and never change
 * afterwards, so a test may read them without further locking.
 */
#include "mockhttp.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define BODY_MAX (16u << 20)

struct script {
    char *method, *path;
    int times_left; /* -1 = forever */
    int status;
    char *headers[MOCKHTTP_HEADERS_MAX];
    char *body;
    size_t body_len;
    int chunked;
    enum mockhttp_behaviour behaviour;
};

struct mockhttp {
    struct MHD_Daemon *daemon;
    unsigned port;
    char url[64];
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a request was recorded, or stalls released */
    int released;
    struct script *script;
    size_t n_script, cap_script;
    struct mockhttp_request **reqs;
    size_t n_reqs, cap_reqs;
};

/* Per-request context while it is being received. */
struct pending {
    char *uri;
    int started;
    struct buf body;
    int recorded;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void mockhttp_script(struct mockhttp *self, const struct mockhttp_response *r)
{
    struct script *s;

    pthread_mutex_lock(&self->lock);
    if (self->n_script == self->cap_script) {
        self->cap_script = self->cap_script ? self->cap_script * 2 : 8;
        self->script = xreallocarray(self->script, self->cap_script,
                                     sizeof(*self->script));
    }
    s = &self->script[self->n_script++];
    memset(s, 0, sizeof(*s));
    s->method = dup_or_null(r->method);
    s->path = dup_or_null(r->path);
    s->times_left = r->times < 0 ? -1 : r->times == 0 ? 1 : r->times;
    s->status = r->status ? r->status : 200;
    for (size_t i = 0; i < MOCKHTTP_HEADERS_MAX; i++)
        s->headers[i] = dup_or_null(r->headers[i]);
    s->body_len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    s->body = xmalloc(s->body_len + 1);
    if (s->body_len)
        memcpy(s->body, r->body, s->body_len);
    s->body[s->body_len] = '\0';
    s->chunked = r->chunked;
    s->behaviour = r->behaviour;
    pthread_mutex_unlock(&self->lock);
}

static int path_matches(const char *pattern, const char *url)
{
    size_t n = strcspn(url, "?");

    return !pattern || (strlen(pattern) == n && !strncmp(pattern, url, n));
}

/* Pick and consume a script entry; returns a private copy of what to send
 * (so the script may grow meanwhile), or NULL for the default 404. */
static int pick(struct mockhttp *self, const char *method, const char *url,
                struct script *out)
{
    int found = 0;

    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_script; i++) {
        struct script *s = &self->script[i];
        if (s->times_left == 0 || (s->method && strcmp(s->method, method)) ||
            !path_matches(s->path, url))
            continue;
        if (s->times_left > 0)
            s->times_left--;
        *out = *s;
        for (size_t h = 0; h < MOCKHTTP_HEADERS_MAX; h++)
            out->headers[h] = dup_or_null(s->headers[h]);
        out->body = xmalloc(s->body_len + 1);
        memcpy(out->body, s->body, s->body_len + 1);
        out->method = out->path = NULL;
        found = 1;
        break;
    }
    pthread_mutex_unlock(&self->lock);
    return found;
}

static void script_release(struct script *s)
{
    free(s->method);
    free(s->path);
    for (size_t h = 0; h < MOCKHTTP_HEADERS_MAX; h++)
        free(s->headers[h]);
    free(s->body);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct buf *b = cls;

    (void)kind;
    buf_printf(b, "%s: %s\n", key, value ? value : "");
    return MHD_YES;
}

static void record(struct mockhttp *self, struct MHD_Connection *conn,
                   const char *method, struct pending *p)
{
    struct mockhttp_request *r = xcalloc(1, sizeof(*r));
    const union MHD_ConnectionInfo *ci;
    const char *v;
    struct buf headers;
    size_t len;

    r->method = xstrdup(method);
    r->url = xstrdup(p->uri ? p->uri : "");
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_AUTHORIZATION);
    r->authorization = xstrdup(v ? v : "");
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_CONTENT_TYPE);
    r->content_type = xstrdup(v ? v : "");
    buf_init(&headers, 1u << 20);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
    r->headers = buf_detach(&headers, NULL);
    r->body = buf_detach(&p->body, &len);
    r->body_len = len;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        r->client_port =
            ntohs(((const struct sockaddr_in *)(const void *)ci->client_addr)
                      ->sin_port);

    pthread_mutex_lock(&self->lock);
    if (self->n_reqs == self->cap_reqs) {
        self->cap_reqs = self->cap_reqs ? self->cap_reqs * 2 : 16;
        self->reqs =
            xreallocarray(self->reqs, self->cap_reqs, sizeof(*self->reqs));
    }
    self->reqs[self->n_reqs++] = r;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

struct chunk_src {
    char *body;
    size_t len;
};

static ssize_t chunk_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct chunk_src *c = cls;
    size_t n;

    if (pos >= c->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = c->len - (size_t)pos;
    /* Small pieces, so the client sees several writes. */
    if (n > 1000)
        n = 1000;
    if (n > max)
        n = max;
    memcpy(out, c->body + pos, n);
    return (ssize_t)n;
}

static void chunk_free(void *cls)
{
    struct chunk_src *c = cls;

    free(c->body);
    free(c);
}

static enum MHD_Result reply(struct mockhttp *self, struct MHD_Connection *conn,
                             const char *method, const char *url)
{
    static const char none[] = "{\"message\":\"no scripted response\"}";
    struct MHD_Response *resp;
    struct script s;
    enum MHD_Result ret;

    if (!pick(self, method, url, &s)) {
        resp = MHD_create_response_from_buffer(
            sizeof(none) - 1, (void *)(uintptr_t)none, MHD_RESPMEM_PERSISTENT);
        ret = MHD_queue_response(conn, 404, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (s.behaviour == MOCKHTTP_STALL) {
        pthread_mutex_lock(&self->lock);
        while (!self->released)
            pthread_cond_wait(&self->cond, &self->lock);
        pthread_mutex_unlock(&self->lock);
    }
    if (s.behaviour == MOCKHTTP_CLOSE) {
        script_release(&s);
        return MHD_NO;
    }
    if (s.chunked) {
        struct chunk_src *c = xmalloc(sizeof(*c));
        c->body = s.body;
        c->len = s.body_len;
        s.body = NULL;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                 chunk_read, c, chunk_free);
    } else {
        resp = MHD_create_response_from_buffer(s.body_len, s.body,
                                               MHD_RESPMEM_MUST_FREE);
        s.body = NULL;
    }
    for (size_t h = 0; h < MOCKHTTP_HEADERS_MAX && s.headers[h]; h++) {
        char *line = s.headers[h], *colon = strchr(line, ':');
        const char *v;
        if (!colon)
            continue;
        *colon = '\0';
        v = colon + 1 + strspn(colon + 1, " \t");
        MHD_add_response_header(resp, line, v);
    }
    ret = MHD_queue_response(conn, (unsigned)s.status, resp);
    MHD_destroy_response(resp);
    script_release(&s);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct mockhttp *self = cls;
    struct pending *p = *con_cls;

    (void)url;
    (void)version;
    if (!p->started) {
        p->started = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(&p->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!p->recorded) {
        p->recorded = 1;
        record(self, conn, method, p);
    }
    return reply(self, conn, method, p->uri ? p->uri : url);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct pending *p = xcalloc(1, sizeof(*p));

    (void)cls;
    (void)conn;
    p->uri = xstrdup(uri);
    buf_init(&p->body, BODY_MAX);
    return p;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct pending *p = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!p)
        return;
    free(p->uri);
    buf_release(&p->body);
    free(p);
    *con_cls = NULL;
}

struct mockhttp *mockhttp_start(void)
{
    struct mockhttp *self = xcalloc(1, sizeof(*self));
    const union MHD_DaemonInfo *info;
    struct sockaddr_in addr;

    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri, self,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, self, MHD_OPTION_END);
    if (!self->daemon) {
        fprintf(stderr, "mockhttp: cannot listen on 127.0.0.1\n");
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    snprintf(self->url, sizeof(self->url), "http://127.0.0.1:%u", self->port);
    return self;
}

void mockhttp_free(struct mockhttp *self)
{
    if (!self)
        return;
    mockhttp_release(self);
    MHD_stop_daemon(self->daemon);
    for (size_t i = 0; i < self->n_script; i++)
        script_release(&self->script[i]);
    free(self->script);
    for (size_t i = 0; i < self->n_reqs; i++) {
        struct mockhttp_request *r = self->reqs[i];
        free(r->method);
        free(r->url);
        free(r->authorization);
        free(r->content_type);
        free(r->headers);
        free(r->body);
        free(r);
    }
    free(self->reqs);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

unsigned mockhttp_port(const struct mockhttp *self)
{
    return self->port;
}

const char *mockhttp_url(const struct mockhttp *self)
{
    return self->url;
}

void mockhttp_release(struct mockhttp *self)
{
    pthread_mutex_lock(&self->lock);
    self->released = 1;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

size_t mockhttp_count(struct mockhttp *self)
{
    size_t n;

    pthread_mutex_lock(&self->lock);
    n = self->n_reqs;
    pthread_mutex_unlock(&self->lock);
    return n;
}

const struct mockhttp_request *mockhttp_request(struct mockhttp *self, size_t i)
{
    const struct mockhttp_request *r = NULL;

    pthread_mutex_lock(&self->lock);
    if (i < self->n_reqs)
        r = self->reqs[i];
    pthread_mutex_unlock(&self->lock);
    return r;
}

size_t mockhttp_count_matching(struct mockhttp *self, const char *method,
                               const char *path)
{
    size_t n = 0;

    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_reqs; i++) {
        const struct mockhttp_request *r = self->reqs[i];
        if ((!method || !strcmp(method, r->method)) &&
            path_matches(path, r->url))
            n++;
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

void mockhttp_wait_count(struct mockhttp *self, size_t n)
{
    pthread_mutex_lock(&self->lock);
    while (self->n_reqs < n)
        pthread_cond_wait(&self->cond, &self->lock);
    pthread_mutex_unlock(&self->lock);
}
