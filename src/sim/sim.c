/*
 * Simulator lifecycle: logs → org → tokens → world → HTTP on start, and the
 * reverse on stop, so no request or world event can touch freed state and
 * the logs are flushed last.
 */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "sim/http.h"
#include "sim/log.h"
#include "sim/routes.h"
#include "sim/tokens.h"
#include "sim/world.h"

struct sim {
    struct sim_config cfg;
    struct sim_log *log;
    struct sim_org *org;
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
    self->tokens = sim_tokens_new(self->cfg.token_lifetime_ns,
                                  self->cfg.world.rate_limit_per_min);
    self->world = world_new(&self->cfg, self->org);
    if ((err = world_start(self->world)))
        goto fail;
    routes = sim_routes(&n_routes);
    if ((err = sim_http_start(&self->http, &self->cfg, routes, n_routes,
                              self->org, self->tokens, self->log)))
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

const struct sim_config *sim_config(const struct sim *self)
{
    return &self->cfg;
}

void sim_stop(struct sim *self)
{
    if (!self)
        return;
    /* The HTTP server goes first so no handler runs against a stopped
     * world; the world next so no actor writes after the org is gone. */
    sim_http_stop(self->http);
    world_free(self->world);
    sim_tokens_free(self->tokens);
    org_free(self->org);
    sim_log_close(self->log);
    free(self);
}
