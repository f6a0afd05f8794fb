/*
 * Blocking WebSocket client for tests (see wsclient.h).  The service
 * thread owns every lws call after the connect; the test thread talks to
 * it through the queues under self->lock and wakes it with
 * lws_cancel_service(), the one lws call that is safe from another thread.
 */
#include "wsclient.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"

#define WSCLIENT_MESSAGE_MAX (4 * 1024 * 1024)
#define WSCLIENT_CLOSE_WAIT_NS (5 * NS_PER_S)

enum state { CONNECTING, OPEN, OVER };

struct wsmsg {
    struct wsmsg *next;
    char *text;
};

struct wsclient {
    struct lws_context *ctx;
    struct lws *wsi;
    pthread_t thread;
    atomic_int quit;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum state state;
    int http_status;
    int close_code;
    struct wsmsg *in_head, *in_tail;   /* received */
    struct wsmsg *out_head, *out_tail; /* to send */
    int want_close;

    struct buf rx; /* service thread only */
};

static void push(struct wsmsg **head, struct wsmsg **tail, char *text)
{
    struct wsmsg *m = xmalloc(sizeof(*m));

    m->next = NULL;
    m->text = text;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

static char *pop(struct wsmsg **head, struct wsmsg **tail)
{
    struct wsmsg *m = *head;
    char *text;

    if (!m)
        return NULL;
    *head = m->next;
    if (!*head)
        *tail = NULL;
    text = m->text;
    free(m);
    return text;
}

static void set_state(struct wsclient *self, enum state s)
{
    pthread_mutex_lock(&self->lock);
    self->state = s;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

static int on_writable(struct wsclient *self, struct lws *wsi)
{
    unsigned char reason[] = "bye";
    char *text;
    int close, more, n;
    size_t len;
    unsigned char *frame;

    pthread_mutex_lock(&self->lock);
    close = self->want_close;
    text = close ? NULL : pop(&self->out_head, &self->out_tail);
    more = self->out_head != NULL;
    pthread_mutex_unlock(&self->lock);
    if (close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, reason,
                         sizeof(reason) - 1);
        return -1;
    }
    if (!text)
        return 0;
    len = strlen(text);
    frame = xmalloc(LWS_PRE + len);
    memcpy(frame + LWS_PRE, text, len);
    n = lws_write(wsi, frame + LWS_PRE, len, LWS_WRITE_TEXT);
    free(frame);
    free(text);
    if (n < (int)len)
        return -1;
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct wsclient *self = lws_context_user(lws_get_context(wsi));

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        set_state(self, OPEN);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        pthread_mutex_lock(&self->lock);
        self->http_status = (int)lws_http_client_http_response(wsi);
        pthread_mutex_unlock(&self->lock);
        set_state(self, OVER);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (buf_append(&self->rx, in, len))
            return -1; /* larger than any test message */
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            size_t n;
            char *text = buf_detach(&self->rx, &n);
            pthread_mutex_lock(&self->lock);
            push(&self->in_head, &self->in_tail, text ? text : xstrdup(""));
            pthread_cond_broadcast(&self->cond);
            pthread_mutex_unlock(&self->lock);
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        pthread_mutex_lock(&self->lock);
        self->close_code = len >= 2 ? (((const unsigned char *)in)[0] << 8) |
                                          ((const unsigned char *)in)[1]
                                    : LWS_CLOSE_STATUS_NO_STATUS;
        pthread_mutex_unlock(&self->lock);
        return 0; /* lws echoes the close */
    case LWS_CALLBACK_CLIENT_CLOSED:
        set_state(self, OVER);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writable(self, wsi);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        int wanted;
        if (!self)
            return 0;
        pthread_mutex_lock(&self->lock);
        wanted = self->state == OPEN && (self->out_head || self->want_close);
        pthread_mutex_unlock(&self->lock);
        if (wanted)
            lws_callback_on_writable(self->wsi);
        return 0;
    }
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"wsclient", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    struct wsclient *self = arg;

    while (!atomic_load(&self->quit))
        if (lws_service(self->ctx, 0) < 0)
            break;
    return NULL;
}

static void log_line(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "wsclient: %s", line);
}

static void log_init(void)
{
    lws_set_log_level(LLL_ERR, log_line);
}

/* Wait until the state leaves @from or @deadline passes; lock held. */
static void wait_state(struct wsclient *self, enum state from,
                       int64_t deadline_mono_ns)
{
    struct timespec ts = clock_mono_timespec(deadline_mono_ns);

    while (self->state == from)
        if (pthread_cond_timedwait(&self->cond, &self->lock, &ts))
            break;
}

int wsclient_connect(struct wsclient **out, const char *url, int64_t timeout_ns,
                     int *http_status)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct wsclient *self = xcalloc(1, sizeof(*self));
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    pthread_condattr_t attr;
    const char *prot, *host, *path;
    char copy[512], full_path[512];
    int port, ok;

    pthread_once(&once, log_init);
    if (http_status)
        *http_status = 0;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    buf_init(&self->rx, WSCLIENT_MESSAGE_MAX);
    self->close_code = -1;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = self;
    info.fd_limit_per_thread = 64;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    self->ctx = lws_create_context(&info);
    snprintf(copy, sizeof(copy), "%s", url);
    if (!self->ctx || lws_parse_uri(copy, &prot, &host, &port, &path) ||
        strcmp(prot, "ws"))
        goto fail;
    snprintf(full_path, sizeof(full_path), "/%s", path);

    memset(&ci, 0, sizeof(ci));
    ci.context = self->ctx;
    ci.address = host;
    ci.port = port;
    ci.path = full_path;
    ci.host = host;
    ci.origin = host;
    ci.ietf_version_or_minus_one = -1;
    ci.local_protocol_name = "wsclient";
    ci.pwsi = &self->wsi;
    /* Before the service thread starts: connecting is not thread-safe. */
    if (!lws_client_connect_via_info(&ci))
        goto fail;
    if (pthread_create(&self->thread, NULL, service_main, self))
        goto fail;

    pthread_mutex_lock(&self->lock);
    wait_state(self, CONNECTING, clock_mono_ns() + timeout_ns);
    ok = self->state == OPEN;
    if (!ok && http_status)
        *http_status = self->http_status;
    pthread_mutex_unlock(&self->lock);
    if (!ok) {
        wsclient_free(self);
        return -1;
    }
    *out = self;
    return 0;
fail:
    if (self->ctx)
        lws_context_destroy(self->ctx);
    buf_release(&self->rx);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return -1;
}

enum wsclient_next wsclient_next(struct wsclient *self, int64_t timeout_ns,
                                 char **text)
{
    struct timespec ts = clock_mono_timespec(clock_mono_ns() + timeout_ns);
    enum wsclient_next r;

    *text = NULL;
    pthread_mutex_lock(&self->lock);
    while (!self->in_head && self->state != OVER)
        if (pthread_cond_timedwait(&self->cond, &self->lock, &ts))
            break;
    if ((*text = pop(&self->in_head, &self->in_tail)))
        r = WSCLIENT_MESSAGE;
    else
        r = self->state == OVER ? WSCLIENT_CLOSED : WSCLIENT_TIMEOUT;
    pthread_mutex_unlock(&self->lock);
    return r;
}

int wsclient_send_text(struct wsclient *self, const char *text)
{
    int ok;

    pthread_mutex_lock(&self->lock);
    ok = self->state == OPEN;
    if (ok) {
        push(&self->out_head, &self->out_tail, xstrdup(text));
        lws_cancel_service(self->ctx);
    }
    pthread_mutex_unlock(&self->lock);
    return ok ? 0 : -1;
}

int wsclient_close_code(struct wsclient *self)
{
    int code;

    pthread_mutex_lock(&self->lock);
    code = self->close_code;
    pthread_mutex_unlock(&self->lock);
    return code;
}

void wsclient_free(struct wsclient *self)
{
    char *text;

    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    if (self->state == OPEN) {
        self->want_close = 1;
        lws_cancel_service(self->ctx);
        wait_state(self, OPEN, clock_mono_ns() + WSCLIENT_CLOSE_WAIT_NS);
    }
    pthread_mutex_unlock(&self->lock);
    atomic_store(&self->quit, 1);
    lws_cancel_service(self->ctx);
    pthread_join(self->thread, NULL);
    lws_context_destroy(self->ctx);
    while ((text = pop(&self->in_head, &self->in_tail)))
        free(text);
    while ((text = pop(&self->out_head, &self->out_tail)))
        free(text);
    buf_release(&self->rx);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
