/*
 * Simulator lifecycle: logs → org → notification hub (its org hook goes in
 * before any other thread touches the org) → tokens → world → HTTP on
 * start.  On stop the notification sockets close first, so no client is
 * left reading a stream from a simulator that no longer changes; then the
 * HTTP server, the world, and only then the hub's org hook and memory, so
 * no request or world event can touch freed state; the logs are flushed
 * last.
 */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "sim/http.h"
#include "sim/log.h"
#include "sim/notify.h"
#include "sim/routes.h"
#include "sim/tokens.h"
#include "sim/world.h"

struct sim {
    struct sim_config cfg;
    struct sim_log *log;
    struct sim_org *org;
    struct sim_notify *notify;
    struct sim_tokens *tokens;
    struct world *world;
    struct sim_http *http;
    char url[64];
};

enum rt_err sim_start(struct sim **out, const struct sim_config *cfg)
{
    struct sim *self = xcalloc(1, sizeof(*self));
    const struct sim_route *routes;
    size_t n_routes;
    enum rt_err err;

    self->cfg = *cfg;
    if ((err = sim_log_open(&self->log, self->cfg.log_dir)))
        goto fail;
    self->org = org_new(&self->cfg, self->log);
    if ((err = sim_notify_new(&self->notify, &self->cfg, self->org)) ||
        (err = sim_notify_start(self->notify)))
        goto fail;
    self->tokens = sim_tokens_new(self->cfg.token_lifetime_ns,
                                  self->cfg.world.rate_limit_per_min);
    self->world = world_new(&self->cfg, self->org);
    if ((err = world_start(self->world)))
        goto fail;
    routes = sim_routes(&n_routes);
    if ((err =
             sim_http_start(&self->http, &self->cfg, routes, n_routes,
                            self->org, self->tokens, self->notify, self->log)))
        goto fail;
    snprintf(self->url, sizeof(self->url), "http://127.0.0.1:%u",
             (unsigned)sim_http_port(self->http));
    *out = self;
    return RT_OK;
fail:
    sim_stop(self);
    return err;
}

uint16_t sim_port(const struct sim *self)
{
    return sim_http_port(self->http);
}

const char *sim_url(const struct sim *self)
{
    return self->url;
}

struct sim_org *sim_org(struct sim *self)
{
    return self->org;
}

struct sim_tokens *sim_tokens(struct sim *self)
{
    return self->tokens;
}

const struct sim_config *sim_config(const struct sim *self)
{
    return &self->cfg;
}

uint16_t sim_stream_port(const struct sim *self)
{
    return sim_notify_port(self->notify);
}

struct sim_notify *sim_notify(struct sim *self)
{
    return self->notify;
}

void sim_stop(struct sim *self)
{
    if (!self)
        return;
    /* The notification sockets close first; the HTTP server next so no
     * handler runs against a stopped world; the world next so no actor
     * writes after the org is gone; the hub's hook comes out once nothing
     * else touches the org. */
    sim_notify_stop(self->notify);
    sim_http_stop(self->http);
    world_free(self->world);
    sim_notify_free(self->notify);
    sim_tokens_free(self->tokens);
    org_free(self->org);
    sim_log_close(self->log);
    free(self);
}
