/*
 * Sessions (see include/harness/session.h).
 *
 * The oauth cache calls its exchange hook from inside oauth_cache_perform()
 * on the calling thread, so the hook finds the call being made through a
 * thread-local pointer set around that call; token requests are then
 * recorded with role "auth" and API exchanges with the session's role and
 * the call's details.  Each exchange is recorded once, here and nowhere
 * else.
 */
#include "harness/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

struct session {
    struct harness *h;
    const char *role;
    int thread_id;
    struct http_client *http;
    struct http_response resp;
    struct rng rng;
    /* The call in flight, for the exchange hook. */
    const struct session_call *call;
    struct session_result *res;
    int64_t intended_wall_ns;
};

static _Thread_local struct session *current;

void harness_init(struct harness *h)
{
    pthread_condattr_t attr;

    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->wait_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wait_cond, &attr);
    pthread_condattr_destroy(&attr);
}

void harness_release(struct harness *h)
{
    for (size_t i = 0; i < h->n_agents; i++)
        free(h->agent_ids[i]);
    free(h->agent_ids);
    h->agent_ids = NULL;
    h->n_agents = 0;
    pthread_cond_destroy(&h->wait_cond);
    pthread_mutex_destroy(&h->wait_lock);
}

static int wait_flag(struct harness *h, atomic_bool *flag,
                     int64_t deadline_mono_ns)
{
    struct timespec ts = clock_mono_timespec(deadline_mono_ns);
    int stopping;

    pthread_mutex_lock(&h->wait_lock);
    while (!(stopping = atomic_load(flag)) &&
           clock_mono_ns() < deadline_mono_ns)
        pthread_cond_timedwait(&h->wait_cond, &h->wait_lock, &ts);
    pthread_mutex_unlock(&h->wait_lock);
    return stopping;
}

int harness_wait_until(struct harness *h, int64_t deadline_mono_ns)
{
    return wait_flag(h, &h->stop, deadline_mono_ns);
}

int harness_wait_late(struct harness *h, int64_t deadline_mono_ns)
{
    return wait_flag(h, &h->late_stop, deadline_mono_ns);
}

int harness_wait_finish(struct harness *h, int64_t deadline_mono_ns)
{
    return wait_flag(h, &h->late_abort, deadline_mono_ns);
}

void harness_stop(struct harness *h)
{
    pthread_mutex_lock(&h->wait_lock);
    atomic_store(&h->stop, true);
    pthread_cond_broadcast(&h->wait_cond);
    pthread_mutex_unlock(&h->wait_lock);
    if (h->limiter)
        ratelimit_stop(h->limiter);
}

void harness_stop_late(struct harness *h)
{
    pthread_mutex_lock(&h->wait_lock);
    atomic_store(&h->late_stop, true);
    pthread_cond_broadcast(&h->wait_cond);
    pthread_mutex_unlock(&h->wait_lock);
    /* The late calls (restore, evidence) may still need a token; only
     * from the second Ctrl-C on is a throttled token endpoint not waited
     * for. */
    if (h->auth)
        oauth_cache_stop(h->auth);
}

int harness_interrupt(struct harness *h)
{
    if (!atomic_load(&h->stop)) {
        harness_stop(h);
        return 0;
    }
    if (!atomic_load(&h->late_stop)) {
        harness_stop_late(h);
        return 1;
    }
    pthread_mutex_lock(&h->wait_lock);
    atomic_store(&h->late_abort, true);
    pthread_cond_broadcast(&h->wait_cond);
    pthread_mutex_unlock(&h->wait_lock);
    return 2;
}

/*
 * A permit for a late call.  The limiter refuses every acquire once the
 * run has stopped, but its bucket and any 429 backoff still say what the
 * target allows, so late calls take permits from it directly, waiting on
 * the harness's condition where harness_stop_late() wakes them.
 */
static enum rt_err acquire_late(struct harness *h, atomic_bool *halt,
                                int64_t deadline_mono_ns)
{
    int64_t now, wait;

    for (;;) {
        if (atomic_load(halt))
            return RT_EINTR;
        now = clock_mono_ns();
        if (ratelimit_try_acquire(h->limiter, now, &wait))
            return RT_OK;
        if (deadline_mono_ns && now + wait > deadline_mono_ns)
            return RT_ETIMEOUT;
        if (wait_flag(h, halt, now + wait))
            return RT_EINTR;
    }
}

enum rt_err session_new(struct session **out, struct harness *h,
                        const char *role)
{
    struct session *self = xcalloc(1, sizeof(*self));
    enum rt_err err;

    self->h = h;
    self->role = role;
    self->thread_id = atomic_fetch_add(&h->next_thread_id, 1) + 1;
    if ((err = http_client_new(&self->http, NULL))) {
        free(self);
        return err;
    }
    http_response_init(&self->resp);
    rng_seed(&self->rng, h->scn ? h->scn->seed : 0,
             UINT64_C(0x5e55) << 32 | (uint64_t)self->thread_id);
    *out = self;
    return RT_OK;
}

void session_free(struct session *self)
{
    if (!self)
        return;
    http_response_release(&self->resp);
    http_client_free(self->http);
    free(self);
}

struct rng *session_rng(struct session *self)
{
    return &self->rng;
}

int session_thread_id(const struct session *self)
{
    return self->thread_id;
}

/* Record one exchange; the API ones fill self->res. */
static void record(struct session *self, enum oauth_exchange kind,
                   const struct http_request *req,
                   const struct http_response *resp)
{
    struct harness *h = self->h;
    const struct session_call *call = self->call;
    struct classify_result cls;
    struct history_request row;
    int api = kind == OAUTH_EXCHANGE_API;
    int64_t intended;

    classify_response(resp,
                      resp->result == HTTP_RESULT_RESPONSE  ? RT_OK
                      : resp->result == HTTP_RESULT_TIMEOUT ? RT_ETIMEOUT
                                                            : RT_EHTTP,
                      api && call->is_create, &cls);
    intended = api && self->intended_wall_ns ? self->intended_wall_ns
                                             : resp->send_wall_ns;
    memset(&row, 0, sizeof(row));
    row.thread = self->thread_id;
    row.role = api ? self->role : "auth";
    row.op_id = api ? call->op_id : -1;
    row.agent = api && call->agent ? call->agent : "";
    row.method = req->method;
    row.route = api ? call->route : "/oauth/token";
    row.intended_wall_ns = intended;
    row.send_wall_ns = resp->send_wall_ns;
    row.recv_wall_ns = resp->recv_wall_ns;
    row.send_mono_ns = resp->send_mono_ns;
    row.latency_ns = resp->latency_ns;
    row.latency_intended_ns = resp->recv_wall_ns - intended;
    /* A status line followed by a broken body is no response: the client
     * cannot know what happened, so it is recorded as status 0. */
    row.status = resp->result == HTTP_RESULT_RESPONSE ? (int)resp->status : 0;
    row.transport_error = resp->error;
    row.error_code = cls.code;
    row.kind = classify_kind_name(cls.kind);
    row.retry_after_s = cls.retry_after_s;
    row.ratelimit_count = resp->ratelimit_count;
    row.ratelimit_allowed = resp->ratelimit_allowed;
    row.ratelimit_reset = resp->ratelimit_reset_s;
    row.correlation_id = resp->correlation_id;
    row.version_sent = api ? call->version_sent : -1;
    row.agents_in_request = api ? call->agents_in_request : -1;
    run_counters_status(&h->counters, row.status);
    {
        int64_t seq = h->history ? history_request(h->history, &row) : -1;
        if (api && self->res) {
            self->res->seq = seq;
            self->res->exchanges++;
            self->res->cls = cls;
        }
    }
    /* A 429 tells every thread to wait, not only this one.  The token
     * endpoint's own limit is the oauth cache's to wait out: it says
     * nothing about the API budget. */
    if (api && cls.kind == CLASSIFY_THROTTLED && h->limiter) {
        int64_t wait_s = cls.retry_after_s > 0 ? cls.retry_after_s : 1;
        ratelimit_backoff(h->limiter, clock_mono_ns() + wait_s * NS_PER_S);
    }
}

void session_oauth_hook(void *ctx, enum oauth_exchange kind,
                        const struct http_request *req,
                        const struct http_response *resp)
{
    (void)ctx;
    /* Exchanges outside a session (none in a run) are not recorded. */
    if (current)
        record(current, kind, req, resp);
}

enum rt_err session_call(struct session *self, const struct session_call *call,
                         struct session_result *res)
{
    struct harness *h = self->h;
    struct http_request req;
    char url[HARNESS_URL_MAX + 4096];
    enum rt_err err;

    atomic_bool *halt = !call->late         ? &h->stop
                        : call->must_finish ? &h->late_abort
                                            : &h->late_stop;

    memset(res, 0, sizeof(*res));
    res->seq = -1;
    if (atomic_load(halt))
        return RT_EINTR;
    if ((size_t)snprintf(url, sizeof(url), "%s%s", h->api_url, call->path) >=
        sizeof(url))
        return rt_fail(RT_EINVAL, "request path too long for route '%s'",
                       call->route);
    if (h->limiter &&
        (err = call->late ? acquire_late(h, halt, call->deadline_mono_ns)
                          : ratelimit_acquire(h->limiter, &h->stop)))
        return err;
    memset(&req, 0, sizeof(req));
    req.method = call->method;
    req.url = url;
    if (call->body) {
        req.headers[req.n_headers++] = "Content-Type: application/json";
        req.body = call->body;
        req.body_len = call->body_len;
    }
    req.headers[req.n_headers++] = "Accept: application/json";
    self->call = call;
    self->res = res;
    self->intended_wall_ns = call->intended_wall_ns;
    current = self;
    err = oauth_cache_perform(h->auth, self->http, &req, &self->resp);
    current = NULL;
    self->call = NULL;
    self->res = NULL;
    res->resp = &self->resp;
    if (err && res->exchanges > 0)
        err = RT_OK; /* the exchange happened; its kind tells the rest */
    return err;
}
