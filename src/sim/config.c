/*
 * Simulator configuration.  Every default lives in sim_config_defaults();
 * the scenario parser only overrides what the file names, and rejects keys
 * it does not know (with their JSON path) so a typo never changes a test.
 */
#include "sim/config.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/units.h"
#include "sim/org.h"

const char *const sim_actor_kind_names[] = {
    "routing-engine", "presence-sync", "wfm-publish", "idp-sync",
    "station",        "admin",         "integration", NULL};

void sim_config_defaults(struct sim_config *cfg)
{
    struct sim_world_config *w = &cfg->world;

    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 0;
    cfg->agents = 150;
    cfg->queues = 4;
    cfg->skills = 8;
    cfg->seed = 42;
    snprintf(cfg->client_id, sizeof(cfg->client_id), "racetrace-sim-client");
    snprintf(cfg->client_secret, sizeof(cfg->client_secret),
             "racetrace-sim-secret");
    cfg->token_lifetime_ns = 86399 * NS_PER_S; /* as real orgs issue */
    w->presence_enabled = 1;
    w->on_queue_share = 0.8;
    w->mean_idle_ns = 15 * NS_PER_S;
    w->mean_handle_ns = 40 * NS_PER_S;
    w->mean_break_every_ns = 0;
    w->break_len_ns = 5 * 60 * NS_PER_S;
    w->not_responding_p = 0.0;
    w->not_responding_ns = 10 * NS_PER_S;
    w->mean_away_every_ns = 5 * 60 * NS_PER_S;
    w->stream.heartbeat_ns = 30 * NS_PER_S;
    /* Real sockets close about a minute after the warning. */
    w->stream.closing_grace_ns = 60 * NS_PER_S;
}

static const char *const actor_keys[SIM_ACTOR_KIND_COUNT][12] = {
    [SIM_ACTOR_ROUTING_ENGINE] = {"kind", "name", "on", "p", "lag", NULL},
    [SIM_ACTOR_PRESENCE_SYNC] = {"kind", "name", "on", "p", "lag", NULL},
    [SIM_ACTOR_WFM_PUBLISH] = {"kind", "name", "at", "spread", "share", NULL},
    [SIM_ACTOR_IDP_SYNC] = {"kind", "name", "every", "share", "at", NULL},
    [SIM_ACTOR_STATION] = {"kind", "name", "every", "share", NULL},
    [SIM_ACTOR_ADMIN] = {"kind", "name", "every", NULL},
    [SIM_ACTOR_INTEGRATION] = {"kind", "name", "every", "share", "gap",
                               "client_id", NULL},
};

/* Triggers are "routing:<STATUS>", "presence:<Presence>" (any spelling
 * sim_presence_lookup accepts), or "<kind>:*". */
static int trigger_valid(const char *s)
{
    if (!strncmp(s, "routing:", 8))
        return !strcmp(s + 8, "*") || sim_routing_lookup(s + 8) >= 0;
    if (!strncmp(s, "presence:", 9))
        return !strcmp(s + 9, "*") || sim_presence_lookup(s + 9) >= 0;
    return 0;
}

static enum rt_err parse_on(struct jread *jr, const cJSON *actor,
                            const char *path, struct sim_actor_config *a)
{
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(actor, "on");
    char sub[JREAD_PATH_MAX], item_path[JREAD_PATH_MAX];
    const cJSON *item;
    int i = 0;

    jread_path(sub, sizeof(sub), path, "on");
    if (!on)
        return jread_fail(jr, sub,
                          "missing; name the transitions that trigger this "
                          "actor, e.g. \"routing:INTERACTING\"");
    if (cJSON_IsString(on)) {
        if (!trigger_valid(on->valuestring))
            return jread_fail(jr, sub,
                              "expected \"routing:<STATUS>\" or "
                              "\"presence:<Presence>\" with a known status "
                              "or presence, or \"routing:*\"");
        snprintf(a->on[0], sizeof(a->on[0]), "%s", on->valuestring);
        a->n_on = 1;
        return RT_OK;
    }
    if (!cJSON_IsArray(on) || cJSON_GetArraySize(on) == 0)
        return jread_fail(jr, sub, "expected a string or a non-empty array");
    cJSON_ArrayForEach(item, on)
    {
        jread_path_index(item_path, sizeof(item_path), sub, i);
        if (i >= SIM_ON_MAX)
            return jread_fail(jr, item_path, "at most %d triggers", SIM_ON_MAX);
        if (!cJSON_IsString(item) || !trigger_valid(item->valuestring) ||
            strlen(item->valuestring) >= SIM_NAME_MAX)
            return jread_fail(jr, item_path,
                              "expected \"routing:<STATUS>\" or "
                              "\"presence:<Presence>\" with a known status "
                              "or presence, or \"routing:*\"");
        snprintf(a->on[i], sizeof(a->on[i]), "%s", item->valuestring);
        i++;
    }
    a->n_on = (size_t)i;
    return RT_OK;
}

static enum rt_err parse_actor(struct jread *jr, const cJSON *node,
                               const char *path, struct sim_actor_config *a)
{
    int kind = -1;
    const char *name = NULL, *client = NULL;
    char sub[JREAD_PATH_MAX];

    if (jread_object(jr, node, path, NULL) ||
        jread_enum(jr, node, path, "kind", sim_actor_kind_names, &kind))
        return RT_EINVAL;
    if (kind < 0) {
        jread_path(sub, sizeof(sub), path, "kind");
        return jread_fail(jr, sub,
                          "missing; one of routing-engine, "
                          "presence-sync, wfm-publish, idp-sync, "
                          "station, admin, integration");
    }
    memset(a, 0, sizeof(*a));
    a->kind = (enum sim_actor_kind)kind;
    a->p = 1.0;
    a->share = 1.0;
    a->lag_lo_ns = 50 * NS_PER_MS;
    a->lag_hi_ns = 400 * NS_PER_MS;
    a->period_ns = 60 * NS_PER_S;
    a->gap_lo_ns = 100 * NS_PER_MS;
    a->gap_hi_ns = 1500 * NS_PER_MS;
    a->spread_ns = 20 * NS_PER_S;
    a->at_ns = -1;
    snprintf(a->name, sizeof(a->name), "%s", sim_actor_kind_names[kind]);
    if (a->kind == SIM_ACTOR_INTEGRATION)
        snprintf(a->client_id, sizeof(a->client_id), "integration-client-%s",
                 "1");
    if (jread_object(jr, node, path, actor_keys[kind]) ||
        jread_string(jr, node, path, "name", &name) ||
        jread_number(jr, node, path, "p", 0.0, 1.0, &a->p) ||
        jread_duration_range(jr, node, path, "lag", &a->lag_lo_ns,
                             &a->lag_hi_ns) ||
        jread_duration(jr, node, path, "at", &a->at_ns) ||
        jread_duration(jr, node, path, "spread", &a->spread_ns) ||
        jread_duration(jr, node, path, "every", &a->period_ns) ||
        jread_number(jr, node, path, "share", 0.0, 1.0, &a->share) ||
        jread_duration_range(jr, node, path, "gap", &a->gap_lo_ns,
                             &a->gap_hi_ns) ||
        jread_string(jr, node, path, "client_id", &client))
        return RT_EINVAL;
    if (name) {
        jread_path(sub, sizeof(sub), path, "name");
        if (!*name || strlen(name) >= SIM_NAME_MAX)
            return jread_fail(jr, sub, "expected 1 to %d characters",
                              SIM_NAME_MAX - 1);
        snprintf(a->name, sizeof(a->name), "%s", name);
    }
    if (client) {
        jread_path(sub, sizeof(sub), path, "client_id");
        if (!*client || strlen(client) >= SIM_NAME_MAX)
            return jread_fail(jr, sub, "expected 1 to %d characters",
                              SIM_NAME_MAX - 1);
        snprintf(a->client_id, sizeof(a->client_id), "%s", client);
    }
    if ((a->kind == SIM_ACTOR_ROUTING_ENGINE ||
         a->kind == SIM_ACTOR_PRESENCE_SYNC) &&
        parse_on(jr, node, path, a))
        return RT_EINVAL;
    if (a->kind == SIM_ACTOR_WFM_PUBLISH && a->at_ns < 0) {
        jread_path(sub, sizeof(sub), path, "at");
        return jread_fail(jr, sub,
                          "missing; when the publish happens, "
                          "e.g. \"30s\" after the start");
    }
    if (a->period_ns <= 0) {
        jread_path(sub, sizeof(sub), path, "every");
        return jread_fail(jr, sub, "must be greater than 0");
    }
    return RT_OK;
}

static enum rt_err parse_presence(struct jread *jr, const cJSON *node,
                                  const char *path, struct sim_world_config *w)
{
    static const char *const keys[] = {"enabled",        "on_queue_share",
                                       "mean_idle",      "mean_handle",
                                       "break_every",    "break_length",
                                       "not_responding", "not_responding_for",
                                       "away_every",     NULL};

    if (jread_object(jr, node, path, keys) ||
        jread_bool(jr, node, path, "enabled", &w->presence_enabled) ||
        jread_number(jr, node, path, "on_queue_share", 0.0, 1.0,
                     &w->on_queue_share) ||
        jread_duration(jr, node, path, "mean_idle", &w->mean_idle_ns) ||
        jread_duration(jr, node, path, "mean_handle", &w->mean_handle_ns) ||
        jread_duration(jr, node, path, "break_every",
                       &w->mean_break_every_ns) ||
        jread_duration(jr, node, path, "break_length", &w->break_len_ns) ||
        jread_number(jr, node, path, "not_responding", 0.0, 1.0,
                     &w->not_responding_p) ||
        jread_duration(jr, node, path, "not_responding_for",
                       &w->not_responding_ns) ||
        jread_duration(jr, node, path, "away_every", &w->mean_away_every_ns))
        return RT_EINVAL;
    if (w->mean_idle_ns <= 0 || w->mean_handle_ns <= 0) {
        char sub[JREAD_PATH_MAX];
        jread_path(sub, sizeof(sub), path,
                   w->mean_idle_ns <= 0 ? "mean_idle" : "mean_handle");
        return jread_fail(jr, sub, "must be greater than 0");
    }
    return RT_OK;
}

/* A member of @node holding an array of at most @max durations. */
static enum rt_err parse_times(struct jread *jr, const cJSON *node,
                               const char *path, const char *key, int64_t *out,
                               size_t max, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(node, key), *item;
    char sub[JREAD_PATH_MAX], at[JREAD_PATH_MAX];
    int i = 0;

    if (!arr)
        return RT_OK;
    jread_path(sub, sizeof(sub), path, key);
    if (!cJSON_IsArray(arr))
        return jread_fail(jr, sub,
                          "expected an array of times such as "
                          "[\"20s\", \"1m\"]");
    cJSON_ArrayForEach(item, arr)
    {
        int64_t v;
        jread_path_index(at, sizeof(at), sub, i);
        if ((size_t)i >= max)
            return jread_fail(jr, at, "at most %zu times", max);
        if (!cJSON_IsString(item) ||
            units_parse_duration(item->valuestring, &v) || v < 0)
            return jread_fail(jr, at,
                              "expected a time from the start such as "
                              "\"20s\"");
        out[i++] = v;
    }
    *n = (size_t)i;
    return RT_OK;
}

static enum rt_err parse_notifications(struct jread *jr, const cJSON *node,
                                       struct sim_world_config *w)
{
    static const char *const keys[] = {"heartbeat",         "closing_grace",
                                       "socket_closing_at", "drop_at",
                                       "silent_at",         NULL};
    const char *path = "world.notifications";

    if (jread_object(jr, node, path, keys) ||
        jread_duration(jr, node, path, "heartbeat", &w->stream.heartbeat_ns) ||
        jread_duration(jr, node, path, "closing_grace",
                       &w->stream.closing_grace_ns) ||
        parse_times(jr, node, path, "socket_closing_at",
                    w->stream.closing_at_ns, SIM_STREAM_FAULTS_MAX,
                    &w->stream.n_closing) ||
        parse_times(jr, node, path, "drop_at", w->stream.drop_at_ns,
                    SIM_STREAM_FAULTS_MAX, &w->stream.n_drop) ||
        parse_times(jr, node, path, "silent_at", w->stream.silent_at_ns,
                    SIM_STREAM_FAULTS_MAX, &w->stream.n_silent))
        return RT_EINVAL;
    if (w->stream.heartbeat_ns <= 0)
        return jread_fail(jr, "world.notifications.heartbeat",
                          "must be greater than 0");
    return RT_OK;
}

static enum rt_err parse_forbid(struct jread *jr, const cJSON *arr,
                                struct sim_world_config *w)
{
    const cJSON *item;
    char at[JREAD_PATH_MAX];
    int i = 0;

    if (!cJSON_IsArray(arr))
        return jread_fail(jr, "world.forbid",
                          "expected an array of permissions such as "
                          "[\"audits:audit:view\"]");
    cJSON_ArrayForEach(item, arr)
    {
        jread_path_index(at, sizeof(at), "world.forbid", i);
        if (i >= SIM_FORBID_MAX)
            return jread_fail(jr, at, "at most %d permissions", SIM_FORBID_MAX);
        if (!cJSON_IsString(item) || !*item->valuestring ||
            strlen(item->valuestring) >= SIM_NAME_MAX ||
            !strchr(item->valuestring, ':'))
            return jread_fail(jr, at,
                              "expected a permission such as "
                              "\"audits:audit:view\"");
        snprintf(w->forbid[i], sizeof(w->forbid[i]), "%s", item->valuestring);
        i++;
    }
    w->n_forbid = (size_t)i;
    return RT_OK;
}

static enum rt_err parse_world(struct jread *jr, const cJSON *node,
                               struct sim_config *cfg)
{
    static const char *const keys[] = {
        "presence",       "actors",   "rate_limit",    "latency",
        "faults",         "read_lag", "queues",        "skills",
        "token_lifetime", "forbid",   "notifications", NULL};
    static const char *const rl_keys[] = {"per_minute", "token_per_minute",
                                          NULL};
    static const char *const lat_keys[] = {"read", "write", NULL};
    static const char *const fault_keys[] = {"http_5xx", "drop",
                                             "lost_response", NULL};
    struct sim_world_config *w = &cfg->world;
    const cJSON *m;
    char sub[JREAD_PATH_MAX];

    if (jread_object(jr, node, "world", keys) ||
        jread_duration(jr, node, "world", "read_lag", &w->read_lag_ns) ||
        jread_int(jr, node, "world", "queues", 1, 1000, &cfg->queues) ||
        jread_int(jr, node, "world", "skills", 1, 1000, &cfg->skills) ||
        jread_duration(jr, node, "world", "token_lifetime",
                       &cfg->token_lifetime_ns))
        return RT_EINVAL;
    if (cfg->token_lifetime_ns <= 0)
        return jread_fail(jr, "world.token_lifetime", "must be greater than 0");
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "presence")) &&
        parse_presence(jr, m, "world.presence", w))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "rate_limit")) &&
        (jread_object(jr, m, "world.rate_limit", rl_keys) ||
         jread_int(jr, m, "world.rate_limit", "per_minute", 0, 1000000000,
                   &w->rate_limit_per_min) ||
         jread_int(jr, m, "world.rate_limit", "token_per_minute", 0, 1000000000,
                   &w->token_rate_limit_per_min)))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "forbid")) &&
        parse_forbid(jr, m, w))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "notifications")) &&
        parse_notifications(jr, m, w))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "latency")) &&
        (jread_object(jr, m, "world.latency", lat_keys) ||
         jread_duration_range(jr, m, "world.latency", "read",
                              &w->read_latency_lo_ns, &w->read_latency_hi_ns) ||
         jread_duration_range(jr, m, "world.latency", "write",
                              &w->write_latency_lo_ns,
                              &w->write_latency_hi_ns)))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "faults")) &&
        (jread_object(jr, m, "world.faults", fault_keys) ||
         jread_number(jr, m, "world.faults", "http_5xx", 0.0, 1.0,
                      &w->fault_5xx) ||
         jread_number(jr, m, "world.faults", "drop", 0.0, 1.0,
                      &w->fault_drop) ||
         jread_number(jr, m, "world.faults", "lost_response", 0.0, 1.0,
                      &w->fault_lost_response)))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "actors"))) {
        const cJSON *item;
        int i = 0;

        if (!cJSON_IsArray(m))
            return jread_fail(jr, "world.actors", "expected an array");
        cJSON_ArrayForEach(item, m)
        {
            jread_path_index(sub, sizeof(sub), "world.actors", i);
            if (i >= SIM_ACTORS_MAX)
                return jread_fail(jr, sub, "at most %d actors", SIM_ACTORS_MAX);
            if (parse_actor(jr, item, sub, &w->actors[i]))
                return RT_EINVAL;
            i++;
        }
        w->n_actors = (size_t)i;
    }
    return RT_OK;
}

enum rt_err sim_config_from_json(struct sim_config *cfg, struct jread *jr,
                                 const cJSON *root)
{
    const cJSON *m;
    int64_t seed = (int64_t)cfg->seed;

    if (jread_object(jr, root, "", NULL) ||
        jread_int(jr, root, "", "seed", 0, INT64_MAX, &seed))
        return RT_EINVAL;
    cfg->seed = (uint64_t)seed;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "agents")) &&
        cJSON_IsObject(m) &&
        jread_int(jr, m, "agents", "count", 1, 100000, &cfg->agents))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "world")) &&
        parse_world(jr, m, cfg))
        return RT_EINVAL;
    return RT_OK;
}
