/*
 * Scenario parsing.  The world section is the simulator's own
 * (sim_config_from_json); everything else is read here.  Validation that
 * spans keys (replay time inside the run, one way of naming agents) is
 * done after the keys are read, still naming the path at fault.
 */
#include "harness/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/units.h"
#include "base/xalloc.h"

const char *const scn_operation_names[] = {
    "user-patch", "utilization-put", "skills-bulk-patch",
    "queue-join", "template",        NULL};
const char *const scn_strategy_names[] = {"bulk-stale", "read-modify-write",
                                          "retry", "blind", NULL};
const char *const scn_backoff_names[] = {"none", "fixed", "exponential", NULL};
const char *const scn_jitter_names[] = {"none", "full", "equal", "decorrelated",
                                        NULL};
static const char *const observe_mode_names[] = {"bulk", "agent", NULL};
/* "stream" (the notifications WebSocket) is not built yet: refusing it is
 * better than silently polling when a scenario asks for it. */
static const char *const via_names[] = {"poll", "stream", NULL};

void scenario_defaults(struct scenario *self)
{
    memset(self, 0, sizeof(*self));
    snprintf(self->name, sizeof(self->name), "scenario");
    self->duration_ns = 90 * NS_PER_S;
    snprintf(self->target, sizeof(self->target), "sim");
    sim_config_defaults(&self->sim);
    self->seed = self->sim.seed;
    self->agent_count = self->sim.agents;
    self->observe.mode = SCN_OBSERVE_BULK;
    self->observe.interval_ns = 200 * NS_PER_MS;
    self->observe.jitter = 0.2;
    self->observe.threads = 2;
    self->observe.presence_via = SCN_VIA_POLL;
    /* 2.5 heartbeats of the real service (one every 30 s): one late
     * heartbeat is not yet silence. */
    self->observe.presence_silence_ns = 75 * NS_PER_S;
    self->replay.at_ns = 10 * NS_PER_S;
    self->replay.operation = SCN_OP_USER_PATCH;
    self->replay.strategies[0] = SCN_STRATEGY_RETRY;
    self->replay.n_strategies = 1;
    self->replay.retry.max_attempts = 5;
    self->replay.retry.backoff = SCN_BACKOFF_EXPONENTIAL;
    self->replay.retry.jitter = SCN_JITTER_FULL;
    self->replay.retry.base_ns = 100 * NS_PER_MS;
    self->replay.retry.cap_ns = 5 * NS_PER_S;
    self->replay.retry.give_up_retry_after_ns = 180 * NS_PER_S;
    self->replay.workers = 4;
    self->replay.per_agent = 1;
    self->replay.pace_ns = 0;
    self->replay.repeat_times = 1;
    snprintf(self->replay.tmpl.version_field,
             sizeof(self->replay.tmpl.version_field), "version");
    self->thresholds.conflict_rate_max = -1;
    self->thresholds.throttled_rate_max = -1;
    self->thresholds.gave_up_rate_max = -1;
    self->report.window_ns = 2 * NS_PER_S;
}

void scenario_release(struct scenario *self)
{
    for (size_t i = 0; i < self->n_agent_ids; i++)
        free(self->agent_ids[i]);
    free(self->agent_ids);
    self->agent_ids = NULL;
    self->n_agent_ids = 0;
    cJSON_Delete(self->replay.tmpl.write_body);
    self->replay.tmpl.write_body = NULL;
}

static int name_valid(const char *s)
{
    if (!*s || strlen(s) >= SCN_NAME_MAX)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static enum rt_err copy_string(struct jread *jr, const char *path,
                               const char *value, char *dst, size_t cap)
{
    if (!*value || strlen(value) >= cap)
        return jread_fail(jr, path, "expected 1 to %zu characters", cap - 1);
    snprintf(dst, cap, "%s", value);
    return RT_OK;
}

static enum rt_err parse_agents(struct scenario *self, struct jread *jr,
                                const cJSON *node)
{
    static const char *const keys[] = {"count", "ids", "queue", NULL};
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(node, "ids");
    const char *queue = NULL;
    int given = 0;

    if (jread_object(jr, node, "agents", keys) ||
        jread_int(jr, node, "agents", "count", 1, 100000, &self->agent_count) ||
        jread_string(jr, node, "agents", "queue", &queue))
        return RT_EINVAL;
    given = (cJSON_GetObjectItemCaseSensitive(node, "count") != NULL) +
            (ids != NULL) + (queue != NULL);
    if (given > 1)
        return jread_fail(jr, "agents",
                          "give one of count, ids or queue, not several");
    if (queue && copy_string(jr, "agents.queue", queue, self->agent_queue,
                             sizeof(self->agent_queue)))
        return RT_EINVAL;
    if (ids) {
        const cJSON *item;
        char sub[JREAD_PATH_MAX];
        int i = 0;

        if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0 ||
            cJSON_GetArraySize(ids) > SCN_IDS_MAX)
            return jread_fail(jr, "agents.ids",
                              "expected an array of 1 to %d user ids",
                              SCN_IDS_MAX);
        self->agent_ids =
            xcalloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof(char *));
        cJSON_ArrayForEach(item, ids)
        {
            jread_path_index(sub, sizeof(sub), "agents.ids", i);
            if (!cJSON_IsString(item) || !*item->valuestring ||
                strlen(item->valuestring) > 64 ||
                strpbrk(item->valuestring, "/?#&, "))
                return jread_fail(jr, sub, "expected a user id");
            for (int k = 0; k < i; k++)
                if (!strcmp(self->agent_ids[k], item->valuestring))
                    return jread_fail(jr, sub, "duplicate id \"%s\"",
                                      item->valuestring);
            self->agent_ids[i++] = xstrdup(item->valuestring);
            self->n_agent_ids = (size_t)i;
        }
    }
    return RT_OK;
}

static enum rt_err parse_observe(struct scenario *self, struct jread *jr,
                                 const cJSON *node)
{
    static const char *const keys[] = {"versions", "presence", NULL};
    static const char *const vkeys[] = {"mode", "interval", "jitter", "threads",
                                        NULL};
    static const char *const pkeys[] = {"via", "silence", NULL};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, "versions");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(node, "presence");
    int mode = (int)self->observe.mode, via = (int)self->observe.presence_via;
    int64_t threads = self->observe.threads;

    if (jread_object(jr, node, "observe", keys))
        return RT_EINVAL;
    if (v && (jread_object(jr, v, "observe.versions", vkeys) ||
              jread_enum(jr, v, "observe.versions", "mode", observe_mode_names,
                         &mode) ||
              jread_duration(jr, v, "observe.versions", "interval",
                             &self->observe.interval_ns) ||
              jread_number(jr, v, "observe.versions", "jitter", 0.0, 1.0,
                           &self->observe.jitter) ||
              jread_int(jr, v, "observe.versions", "threads", 1, 64, &threads)))
        return RT_EINVAL;
    if (p && (jread_object(jr, p, "observe.presence", pkeys) ||
              jread_enum(jr, p, "observe.presence", "via", via_names, &via) ||
              jread_duration(jr, p, "observe.presence", "silence",
                             &self->observe.presence_silence_ns)))
        return RT_EINVAL;
    if (self->observe.presence_silence_ns <= 0)
        return jread_fail(jr, "observe.presence.silence",
                          "must be greater than 0");
    if (self->observe.interval_ns < 10 * NS_PER_MS)
        return jread_fail(jr, "observe.versions.interval",
                          "must be at least 10ms");
    self->observe.mode = (enum scn_observe_mode)mode;
    self->observe.presence_via = (enum scn_presence_via)via;
    self->observe.threads = (int)threads;
    return RT_OK;
}

static enum rt_err parse_http_call(struct jread *jr, const cJSON *node,
                                   const char *path, char *method,
                                   size_t method_cap, char *url_path,
                                   size_t path_cap, int is_write)
{
    static const char *const read_keys[] = {"method", "path", NULL};
    static const char *const write_keys[] = {"method", "path", "body", NULL};
    static const char *const read_methods[] = {"GET", NULL};
    static const char *const write_methods[] = {"PUT", "PATCH", "POST", NULL};
    const char *p = NULL;
    int m = 0;
    char sub[JREAD_PATH_MAX];

    if (jread_object(jr, node, path, is_write ? write_keys : read_keys) ||
        jread_enum(jr, node, path, "method",
                   is_write ? write_methods : read_methods, &m) ||
        jread_string(jr, node, path, "path", &p))
        return RT_EINVAL;
    jread_path(sub, sizeof(sub), path, "path");
    if (!p || p[0] != '/' || !strstr(p, "{id}") || strlen(p) >= path_cap)
        return jread_fail(jr, sub,
                          "expected an API path starting with '/' that "
                          "contains {id}, e.g. \"/api/v2/users/{id}\"");
    snprintf(url_path, path_cap, "%s", p);
    snprintf(method, method_cap, "%s",
             (is_write ? write_methods : read_methods)[m]);
    return RT_OK;
}

static enum rt_err parse_template(struct scenario *self, struct jread *jr,
                                  const cJSON *node)
{
    static const char *const keys[] = {"read", "write", "version_field", NULL};
    struct scn_template *t = &self->replay.tmpl;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(node, "read");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(node, "write");
    const char *vf = NULL;
    const cJSON *body;

    if (jread_object(jr, node, "replay.operation", keys) ||
        jread_string(jr, node, "replay.operation", "version_field", &vf))
        return RT_EINVAL;
    if (!r)
        return jread_fail(jr, "replay.operation.read",
                          "missing; the GET that reads the resource");
    if (!w)
        return jread_fail(jr, "replay.operation.write",
                          "missing; the versioned write");
    if (parse_http_call(jr, r, "replay.operation.read", t->read_method,
                        sizeof(t->read_method), t->read_path,
                        sizeof(t->read_path), 0) ||
        parse_http_call(jr, w, "replay.operation.write", t->write_method,
                        sizeof(t->write_method), t->write_path,
                        sizeof(t->write_path), 1))
        return RT_EINVAL;
    if (vf && copy_string(jr, "replay.operation.version_field", vf,
                          t->version_field, sizeof(t->version_field)))
        return RT_EINVAL;
    body = cJSON_GetObjectItemCaseSensitive(w, "body");
    if (!cJSON_IsObject(body))
        return jread_fail(jr, "replay.operation.write.body",
                          "expected the JSON object to write");
    t->write_body = cJSON_Duplicate(body, 1);
    self->replay.operation = SCN_OP_TEMPLATE;
    return RT_OK;
}

static enum rt_err parse_retry(struct scenario *self, struct jread *jr,
                               const cJSON *node)
{
    static const char *const keys[] = {
        "max_attempts", "backoff",       "base", "cap",
        "jitter",       "give_up_after", NULL};
    struct scn_retry *r = &self->replay.retry;
    int64_t attempts = r->max_attempts;
    int backoff = (int)r->backoff, jitter = (int)r->jitter;

    if (jread_object(jr, node, "replay.retry", keys) ||
        jread_int(jr, node, "replay.retry", "max_attempts", 1, 100,
                  &attempts) ||
        jread_enum(jr, node, "replay.retry", "backoff", scn_backoff_names,
                   &backoff) ||
        jread_enum(jr, node, "replay.retry", "jitter", scn_jitter_names,
                   &jitter) ||
        jread_duration(jr, node, "replay.retry", "base", &r->base_ns) ||
        jread_duration(jr, node, "replay.retry", "cap", &r->cap_ns) ||
        jread_duration(jr, node, "replay.retry", "give_up_after",
                       &r->give_up_retry_after_ns))
        return RT_EINVAL;
    if (r->cap_ns < r->base_ns)
        return jread_fail(jr, "replay.retry.cap",
                          "must not be less than replay.retry.base");
    r->max_attempts = (int)attempts;
    r->backoff = (enum scn_backoff)backoff;
    r->jitter = (enum scn_jitter)jitter;
    return RT_OK;
}

static enum rt_err parse_strategies(struct scenario *self, struct jread *jr,
                                    const cJSON *node)
{
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(node, "strategy");
    const cJSON *many = cJSON_GetObjectItemCaseSensitive(node, "strategies");
    const cJSON *item;
    char sub[JREAD_PATH_MAX];
    int i = 0, s;

    if (one && many)
        return jread_fail(jr, "replay",
                          "give strategy or strategies, not both");
    if (one) {
        s = 0;
        if (jread_enum(jr, node, "replay", "strategy", scn_strategy_names, &s))
            return RT_EINVAL;
        self->replay.strategies[0] = (enum scn_strategy)s;
        self->replay.n_strategies = 1;
        return RT_OK;
    }
    if (!many)
        return RT_OK;
    if (!cJSON_IsArray(many) || cJSON_GetArraySize(many) == 0)
        return jread_fail(jr, "replay.strategies",
                          "expected a non-empty array of strategy names");
    cJSON_ArrayForEach(item, many)
    {
        jread_path_index(sub, sizeof(sub), "replay.strategies", i);
        if (i >= SCN_STRATEGIES_MAX)
            return jread_fail(jr, sub, "at most %d strategies",
                              SCN_STRATEGIES_MAX);
        s = -1;
        for (int k = 0; cJSON_IsString(item) && scn_strategy_names[k]; k++)
            if (!strcmp(item->valuestring, scn_strategy_names[k]))
                s = k;
        if (s < 0)
            return jread_fail(jr, sub,
                              "expected one of: bulk-stale, "
                              "read-modify-write, retry, blind");
        for (int k = 0; k < i; k++)
            if ((int)self->replay.strategies[k] == s)
                return jread_fail(jr, sub, "strategy listed twice");
        self->replay.strategies[i++] = (enum scn_strategy)s;
    }
    self->replay.n_strategies = (size_t)i;
    return RT_OK;
}

static enum rt_err parse_replay(struct scenario *self, struct jread *jr,
                                const cJSON *node)
{
    static const char *const keys[] = {
        "at",      "operation", "strategy", "strategies", "retry",
        "workers", "per_agent", "pace",     "repeat",     NULL};
    static const char *const repeat_keys[] = {"every", "times", NULL};
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(node, "at");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(node, "operation");
    const cJSON *m;
    int64_t workers = self->replay.workers, times = 1;
    int64_t per_agent = self->replay.per_agent;

    if (jread_object(jr, node, "replay", keys))
        return RT_EINVAL;
    self->replay.enabled = 1;
    if (at) {
        int64_t v;
        if (cJSON_IsString(at) && !units_parse_duration(at->valuestring, &v)) {
            self->replay.at_ns = v;
        } else if (cJSON_IsString(at) && !iso8601_parse(at->valuestring, &v)) {
            self->replay.at_absolute = 1;
            self->replay.at_wall_ns = v;
        } else {
            return jread_fail(jr, "replay.at",
                              "expected a time from the start such as "
                              "\"10s\", or an absolute time with zone such "
                              "as \"2026-12-01T09:00:00-06:00\"");
        }
    }
    if (op && cJSON_IsObject(op)) {
        if (parse_template(self, jr, op))
            return RT_EINVAL;
    } else if (op) {
        int o = 0;
        if (jread_enum(jr, node, "replay", "operation", scn_operation_names,
                       &o))
            return RT_EINVAL;
        if (o == SCN_OP_TEMPLATE)
            return jread_fail(jr, "replay.operation",
                              "a template is given as an object with read, "
                              "write and version_field");
        self->replay.operation = (enum scn_operation)o;
    }
    if (parse_strategies(self, jr, node))
        return RT_EINVAL;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "retry")) &&
        parse_retry(self, jr, m))
        return RT_EINVAL;
    if (jread_int(jr, node, "replay", "workers", 1, 256, &workers) ||
        jread_int(jr, node, "replay", "per_agent", 1, SCN_PER_AGENT_MAX,
                  &per_agent) ||
        jread_duration(jr, node, "replay", "pace", &self->replay.pace_ns))
        return RT_EINVAL;
    self->replay.workers = (int)workers;
    self->replay.per_agent = (int)per_agent;
    if ((m = cJSON_GetObjectItemCaseSensitive(node, "repeat"))) {
        if (jread_object(jr, m, "replay.repeat", repeat_keys) ||
            jread_duration(jr, m, "replay.repeat", "every",
                           &self->replay.repeat_every_ns) ||
            jread_int(jr, m, "replay.repeat", "times", 1, 1000, &times))
            return RT_EINVAL;
        if (times > 1 && self->replay.repeat_every_ns <= 0)
            return jread_fail(jr, "replay.repeat.every",
                              "missing or zero; rounds need a spacing");
        self->replay.repeat_times = (int)times;
    }
    return RT_OK;
}

static enum rt_err parse_thresholds(struct scenario *self, struct jread *jr,
                                    const cJSON *node)
{
    static const char *const keys[] = {
        "conflict_rate_max", "throttled_rate_max", "gave_up_rate_max", NULL};

    return jread_object(jr, node, "thresholds", keys) ||
                   jread_number(jr, node, "thresholds", "conflict_rate_max",
                                0.0, 1.0,
                                &self->thresholds.conflict_rate_max) ||
                   jread_number(jr, node, "thresholds", "throttled_rate_max",
                                0.0, 1.0,
                                &self->thresholds.throttled_rate_max) ||
                   jread_number(jr, node, "thresholds", "gave_up_rate_max", 0.0,
                                1.0, &self->thresholds.gave_up_rate_max)
               ? RT_EINVAL
               : RT_OK;
}

int64_t scenario_last_round_ns(const struct scenario *self)
{
    return self->replay.at_ns + (int64_t)(self->replay.repeat_times - 1) *
                                    self->replay.repeat_every_ns;
}

/* Checks that involve several keys, after every key is read. */
static enum rt_err cross_check(struct scenario *self, struct jread *jr)
{
    char a[32], b[32];

    if (self->replay.enabled && !self->replay.at_absolute) {
        int64_t last = scenario_last_round_ns(self);
        if (self->replay.at_ns >= self->duration_ns)
            return jread_fail(
                jr, "replay.at", "%s is not before the end of the run (%s)",
                units_format_duration(self->replay.at_ns, a, sizeof(a)),
                units_format_duration(self->duration_ns, b, sizeof(b)));
        if (last >= self->duration_ns)
            return jread_fail(
                jr, "replay.repeat",
                "the last round would start at %s, after the run ends (%s)",
                units_format_duration(last, a, sizeof(a)),
                units_format_duration(self->duration_ns, b, sizeof(b)));
    }
    for (size_t i = 0; self->replay.enabled && i < self->replay.n_strategies;
         i++) {
        if (self->replay.strategies[i] == SCN_STRATEGY_BLIND &&
            (self->replay.operation == SCN_OP_USER_PATCH ||
             self->replay.operation == SCN_OP_TEMPLATE)) {
            char sub[JREAD_PATH_MAX];
            if (self->replay.n_strategies > 1)
                jread_path_index(sub, sizeof(sub), "replay.strategies", (int)i);
            else
                snprintf(sub, sizeof(sub), "replay.strategy");
            return jread_fail(jr, sub,
                              "blind needs an unversioned operation "
                              "(utilization-put, skills-bulk-patch or "
                              "queue-join), not %s",
                              scn_operation_names[self->replay.operation]);
        }
    }
    if (self->replay.operation == SCN_OP_TEMPLATE &&
        strcmp(self->target, "sim") == 0 &&
        strncmp(self->replay.tmpl.read_path, "/api/v2/users/{id}", 18))
        return jread_fail(jr, "replay.operation.read.path",
                          "the simulator serves versioned reads only under "
                          "/api/v2/users/{id}");
    return RT_OK;
}

enum rt_err scenario_from_json(struct scenario *self, struct jread *jr,
                               const cJSON *root)
{
    static const char *const keys[] = {
        "name",    "seed",   "duration", "target",     "agents", "world",
        "observe", "budget", "replay",   "thresholds", "report", NULL};
    static const char *const budget_keys[] = {"per_minute", NULL};
    static const char *const report_keys[] = {"window", NULL};
    const char *name = NULL, *target = NULL;
    const cJSON *m;

    if (jread_object(jr, root, "", keys) ||
        jread_string(jr, root, "", "name", &name) ||
        jread_duration(jr, root, "", "duration", &self->duration_ns) ||
        jread_string(jr, root, "", "target", &target))
        goto fail;
    if (name && !name_valid(name)) {
        jread_fail(jr, "name",
                   "expected 1 to %d letters, digits, '-', '_' or '.'",
                   SCN_NAME_MAX - 1);
        goto fail;
    }
    if (name)
        snprintf(self->name, sizeof(self->name), "%s", name);
    if (self->duration_ns < NS_PER_S) {
        jread_fail(jr, "duration", "must be at least 1s");
        goto fail;
    }
    if (target &&
        copy_string(jr, "target", target, self->target, sizeof(self->target)))
        goto fail;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "agents"))) {
        if (!cJSON_IsObject(m)) {
            jread_fail(jr, "agents",
                       "expected an object with count, ids or queue");
            goto fail;
        }
        if (parse_agents(self, jr, m))
            goto fail;
    }
    if (sim_config_from_json(&self->sim, jr, root))
        goto fail;
    self->seed = self->sim.seed;
    self->sim.agents = self->agent_count;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "observe")) &&
        parse_observe(self, jr, m))
        goto fail;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "budget")) &&
        (jread_object(jr, m, "budget", budget_keys) ||
         jread_int(jr, m, "budget", "per_minute", 1, 1000000000,
                   &self->budget_per_minute)))
        goto fail;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "replay")) &&
        parse_replay(self, jr, m))
        goto fail;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "thresholds")) &&
        parse_thresholds(self, jr, m))
        goto fail;
    if ((m = cJSON_GetObjectItemCaseSensitive(root, "report")) &&
        (jread_object(jr, m, "report", report_keys) ||
         jread_duration(jr, m, "report", "window", &self->report.window_ns)))
        goto fail;
    if (cross_check(self, jr))
        goto fail;
    return RT_OK;
fail:
    scenario_release(self);
    return RT_EINVAL;
}

enum rt_err scenario_load(struct scenario *self, struct jread *jr,
                          const char *path)
{
    cJSON *root = NULL;
    const char *base = strrchr(path, '/');
    enum rt_err err;

    snprintf(self->file, sizeof(self->file), "%s", path);
    /* The file name (without .json) is the default name. */
    base = base ? base + 1 : path;
    snprintf(self->name, sizeof(self->name), "%.*s",
             (int)(strlen(base) > 5 && !strcmp(base + strlen(base) - 5, ".json")
                       ? strlen(base) - 5
                       : strlen(base)),
             base);
    if (!name_valid(self->name))
        snprintf(self->name, sizeof(self->name), "scenario");
    if ((err = jread_load_file(jr, path, &root)))
        return err;
    err = scenario_from_json(self, jr, root);
    cJSON_Delete(root);
    return err;
}

static void add_duration(cJSON *o, const char *key, int64_t ns)
{
    char text[32];

    cJSON_AddStringToObject(o, key,
                            units_format_duration(ns, text, sizeof(text)));
}

static void add_times(cJSON *o, const char *key, const int64_t *ns, size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    char text[32];

    for (size_t k = 0; k < n; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(units_format_duration(
                                      ns[k], text, sizeof(text))));
}

static cJSON *world_json(const struct sim_config *c)
{
    const struct sim_world_config *w = &c->world;
    cJSON *o = cJSON_CreateObject(), *p, *actors, *m;
    char range[80], lo[32], hi[32];

    p = cJSON_AddObjectToObject(o, "presence");
    cJSON_AddBoolToObject(p, "enabled", w->presence_enabled);
    cJSON_AddNumberToObject(p, "on_queue_share", w->on_queue_share);
    add_duration(p, "mean_idle", w->mean_idle_ns);
    add_duration(p, "mean_handle", w->mean_handle_ns);
    add_duration(p, "break_every", w->mean_break_every_ns);
    add_duration(p, "break_length", w->break_len_ns);
    cJSON_AddNumberToObject(p, "not_responding", w->not_responding_p);
    add_duration(p, "not_responding_for", w->not_responding_ns);
    add_duration(p, "away_every", w->mean_away_every_ns);
    actors = cJSON_AddArrayToObject(o, "actors");
    for (size_t i = 0; i < w->n_actors; i++) {
        const struct sim_actor_config *a = &w->actors[i];
        cJSON *ao = cJSON_CreateObject(), *on;

        cJSON_AddStringToObject(ao, "kind", sim_actor_kind_names[a->kind]);
        cJSON_AddStringToObject(ao, "name", a->name);
        switch (a->kind) {
        case SIM_ACTOR_ROUTING_ENGINE:
        case SIM_ACTOR_PRESENCE_SYNC:
            on = cJSON_AddArrayToObject(ao, "on");
            for (size_t k = 0; k < a->n_on; k++)
                cJSON_AddItemToArray(on, cJSON_CreateString(a->on[k]));
            cJSON_AddNumberToObject(ao, "p", a->p);
            snprintf(range, sizeof(range), "%s..%s",
                     units_format_duration(a->lag_lo_ns, lo, sizeof(lo)),
                     units_format_duration(a->lag_hi_ns, hi, sizeof(hi)));
            cJSON_AddStringToObject(ao, "lag", range);
            break;
        case SIM_ACTOR_WFM_PUBLISH:
            add_duration(ao, "at", a->at_ns);
            add_duration(ao, "spread", a->spread_ns);
            cJSON_AddNumberToObject(ao, "share", a->share);
            break;
        case SIM_ACTOR_IDP_SYNC:
            add_duration(ao, "every", a->period_ns);
            cJSON_AddNumberToObject(ao, "share", a->share);
            if (a->at_ns >= 0)
                add_duration(ao, "at", a->at_ns);
            break;
        case SIM_ACTOR_STATION:
            add_duration(ao, "every", a->period_ns);
            cJSON_AddNumberToObject(ao, "share", a->share);
            break;
        case SIM_ACTOR_ADMIN:
            add_duration(ao, "every", a->period_ns);
            break;
        case SIM_ACTOR_INTEGRATION:
            add_duration(ao, "every", a->period_ns);
            cJSON_AddNumberToObject(ao, "share", a->share);
            snprintf(range, sizeof(range), "%s..%s",
                     units_format_duration(a->gap_lo_ns, lo, sizeof(lo)),
                     units_format_duration(a->gap_hi_ns, hi, sizeof(hi)));
            cJSON_AddStringToObject(ao, "gap", range);
            cJSON_AddStringToObject(ao, "client_id", a->client_id);
            break;
        case SIM_ACTOR_KIND_COUNT:
            break;
        }
        cJSON_AddItemToArray(actors, ao);
    }
    m = cJSON_AddObjectToObject(o, "rate_limit");
    cJSON_AddNumberToObject(m, "per_minute", (double)w->rate_limit_per_min);
    cJSON_AddNumberToObject(m, "token_per_minute",
                            (double)w->token_rate_limit_per_min);
    m = cJSON_AddArrayToObject(o, "forbid");
    for (size_t k = 0; k < w->n_forbid; k++)
        cJSON_AddItemToArray(m, cJSON_CreateString(w->forbid[k]));
    m = cJSON_AddObjectToObject(o, "notifications");
    add_duration(m, "heartbeat", w->stream.heartbeat_ns);
    add_duration(m, "closing_grace", w->stream.closing_grace_ns);
    add_times(m, "socket_closing_at", w->stream.closing_at_ns,
              w->stream.n_closing);
    add_times(m, "drop_at", w->stream.drop_at_ns, w->stream.n_drop);
    add_times(m, "silent_at", w->stream.silent_at_ns, w->stream.n_silent);
    m = cJSON_AddObjectToObject(o, "latency");
    snprintf(range, sizeof(range), "%s..%s",
             units_format_duration(w->read_latency_lo_ns, lo, sizeof(lo)),
             units_format_duration(w->read_latency_hi_ns, hi, sizeof(hi)));
    cJSON_AddStringToObject(m, "read", range);
    snprintf(range, sizeof(range), "%s..%s",
             units_format_duration(w->write_latency_lo_ns, lo, sizeof(lo)),
             units_format_duration(w->write_latency_hi_ns, hi, sizeof(hi)));
    cJSON_AddStringToObject(m, "write", range);
    m = cJSON_AddObjectToObject(o, "faults");
    cJSON_AddNumberToObject(m, "http_5xx", w->fault_5xx);
    cJSON_AddNumberToObject(m, "drop", w->fault_drop);
    cJSON_AddNumberToObject(m, "lost_response", w->fault_lost_response);
    add_duration(o, "read_lag", w->read_lag_ns);
    cJSON_AddNumberToObject(o, "queues", (double)c->queues);
    cJSON_AddNumberToObject(o, "skills", (double)c->skills);
    add_duration(o, "token_lifetime", c->token_lifetime_ns);
    return o;
}

cJSON *scenario_resolved_json(const struct scenario *self)
{
    cJSON *o = cJSON_CreateObject(), *m, *v;
    char iso[ISO8601_LEN];

    cJSON_AddStringToObject(o, "name", self->name);
    cJSON_AddNumberToObject(o, "seed", (double)self->seed);
    add_duration(o, "duration", self->duration_ns);
    cJSON_AddStringToObject(o, "target", self->target);
    m = cJSON_AddObjectToObject(o, "agents");
    if (self->agent_ids) {
        v = cJSON_AddArrayToObject(m, "ids");
        for (size_t i = 0; i < self->n_agent_ids; i++)
            cJSON_AddItemToArray(v, cJSON_CreateString(self->agent_ids[i]));
    } else if (self->agent_queue[0]) {
        cJSON_AddStringToObject(m, "queue", self->agent_queue);
    } else {
        cJSON_AddNumberToObject(m, "count", (double)self->agent_count);
    }
    cJSON_AddItemToObject(o, "world", world_json(&self->sim));
    m = cJSON_AddObjectToObject(o, "observe");
    v = cJSON_AddObjectToObject(m, "versions");
    cJSON_AddStringToObject(v, "mode", observe_mode_names[self->observe.mode]);
    add_duration(v, "interval", self->observe.interval_ns);
    cJSON_AddNumberToObject(v, "jitter", self->observe.jitter);
    cJSON_AddNumberToObject(v, "threads", self->observe.threads);
    v = cJSON_AddObjectToObject(m, "presence");
    cJSON_AddStringToObject(v, "via", via_names[self->observe.presence_via]);
    add_duration(v, "silence", self->observe.presence_silence_ns);
    if (self->budget_per_minute) {
        m = cJSON_AddObjectToObject(o, "budget");
        cJSON_AddNumberToObject(m, "per_minute",
                                (double)self->budget_per_minute);
    }
    if (self->replay.enabled) {
        const struct scn_retry *r = &self->replay.retry;
        m = cJSON_AddObjectToObject(o, "replay");
        if (self->replay.at_absolute)
            cJSON_AddStringToObject(
                m, "at",
                iso8601_format_ms(self->replay.at_wall_ns, iso, sizeof(iso)));
        else
            add_duration(m, "at", self->replay.at_ns);
        if (self->replay.operation == SCN_OP_TEMPLATE) {
            const struct scn_template *t = &self->replay.tmpl;
            cJSON *op = cJSON_AddObjectToObject(m, "operation"), *call;
            call = cJSON_AddObjectToObject(op, "read");
            cJSON_AddStringToObject(call, "method", t->read_method);
            cJSON_AddStringToObject(call, "path", t->read_path);
            call = cJSON_AddObjectToObject(op, "write");
            cJSON_AddStringToObject(call, "method", t->write_method);
            cJSON_AddStringToObject(call, "path", t->write_path);
            cJSON_AddItemToObject(call, "body",
                                  cJSON_Duplicate(t->write_body, 1));
            cJSON_AddStringToObject(op, "version_field", t->version_field);
        } else {
            cJSON_AddStringToObject(
                m, "operation", scn_operation_names[self->replay.operation]);
        }
        v = cJSON_AddArrayToObject(m, "strategies");
        for (size_t i = 0; i < self->replay.n_strategies; i++)
            cJSON_AddItemToArray(
                v, cJSON_CreateString(
                       scn_strategy_names[self->replay.strategies[i]]));
        v = cJSON_AddObjectToObject(m, "retry");
        cJSON_AddNumberToObject(v, "max_attempts", r->max_attempts);
        cJSON_AddStringToObject(v, "backoff", scn_backoff_names[r->backoff]);
        add_duration(v, "base", r->base_ns);
        add_duration(v, "cap", r->cap_ns);
        cJSON_AddStringToObject(v, "jitter", scn_jitter_names[r->jitter]);
        add_duration(v, "give_up_after", r->give_up_retry_after_ns);
        cJSON_AddNumberToObject(m, "workers", self->replay.workers);
        cJSON_AddNumberToObject(m, "per_agent", self->replay.per_agent);
        add_duration(m, "pace", self->replay.pace_ns);
        v = cJSON_AddObjectToObject(m, "repeat");
        add_duration(v, "every", self->replay.repeat_every_ns);
        cJSON_AddNumberToObject(v, "times", self->replay.repeat_times);
    }
    m = cJSON_AddObjectToObject(o, "thresholds");
    if (self->thresholds.conflict_rate_max >= 0)
        cJSON_AddNumberToObject(m, "conflict_rate_max",
                                self->thresholds.conflict_rate_max);
    if (self->thresholds.throttled_rate_max >= 0)
        cJSON_AddNumberToObject(m, "throttled_rate_max",
                                self->thresholds.throttled_rate_max);
    if (self->thresholds.gave_up_rate_max >= 0)
        cJSON_AddNumberToObject(m, "gave_up_rate_max",
                                self->thresholds.gave_up_rate_max);
    m = cJSON_AddObjectToObject(o, "report");
    add_duration(m, "window", self->report.window_ns);
    return o;
}
