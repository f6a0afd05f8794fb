/*
 * Change tracker (see include/harness/tracker.h).  Per-agent state is
 * touched only by the thread that owns the agent; the totals are atomics so
 * the progress line can read them from another thread.
 */
#include "harness/tracker.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define VALUE_MAX 48

struct prop {
    int known;
    char value[VALUE_MAX];
    int64_t last_seen_send_ns; /* send time of the last request seeing it */
};

struct agent_state {
    char *id;
    int64_t version;
    int64_t version_last_seen_send_ns;
    struct prop presence;
    struct prop routing;
};

struct tracker {
    struct agent_state *agents;
    size_t n;
    struct history *history;
    const char *source;
    atomic_int_fast64_t samples, version_changes, hidden, presence_changes,
        routing_changes;
};

struct tracker *tracker_new(char *const *ids, size_t n, struct history *history,
                            const char *source)
{
    struct tracker *self = xcalloc(1, sizeof(*self));

    self->agents = xcalloc(n ? n : 1, sizeof(*self->agents));
    self->n = n;
    self->history = history;
    self->source = source;
    for (size_t i = 0; i < n; i++) {
        self->agents[i].id = xstrdup(ids[i]);
        self->agents[i].version = -1;
    }
    return self;
}

void tracker_free(struct tracker *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++)
        free(self->agents[i].id);
    free(self->agents);
    free(self);
}

static void observe(struct tracker *self, const struct agent_state *a,
                    const char *property, const char *old_value,
                    const char *new_value, int64_t bracket_start,
                    const struct tracker_sample *s, int64_t server_ns,
                    int64_t hidden)
{
    struct history_observation o = {
        .agent = a->id,
        .property = property,
        .old_value = old_value,
        .new_value = new_value,
        .bracket_start_wall_ns = bracket_start,
        .bracket_end_wall_ns = s->recv_wall_ns,
        .server_wall_ns = server_ns,
        .source = self->source,
        .request_seq = s->request_seq,
        .hidden = hidden,
    };

    if (self->history)
        history_observation(self->history, &o);
}

static void track_prop(struct tracker *self, const struct agent_state *a,
                       struct prop *p, const char *property, const char *value,
                       int64_t server_ns, const struct tracker_sample *s,
                       atomic_int_fast64_t *counter)
{
    if (!value)
        return; /* expands are best effort: absent is not a change */
    if (p->known && strncmp(p->value, value, VALUE_MAX - 1)) {
        observe(self, a, property, p->value, value, p->last_seen_send_ns, s,
                server_ns, 0);
        atomic_fetch_add(counter, 1);
    }
    snprintf(p->value, sizeof(p->value), "%s", value);
    p->known = 1;
    p->last_seen_send_ns = s->send_wall_ns;
}

void tracker_sample(struct tracker *self, size_t i,
                    const struct tracker_sample *s)
{
    struct agent_state *a = &self->agents[i];
    char old_v[24], new_v[24];

    atomic_fetch_add(&self->samples, 1);
    if (s->version >= 0) {
        /* A version going backwards is a stale replica (eventual
         * consistency), not a change: keep the newest seen. */
        if (a->version >= 0 && s->version > a->version) {
            int64_t hidden = s->version - a->version - 1;
            snprintf(old_v, sizeof(old_v), "%lld", (long long)a->version);
            snprintf(new_v, sizeof(new_v), "%lld", (long long)s->version);
            observe(self, a, "version", old_v, new_v,
                    a->version_last_seen_send_ns, s, 0, hidden);
            atomic_fetch_add(&self->version_changes, 1);
            atomic_fetch_add(&self->hidden, hidden);
        }
        if (s->version >= a->version) {
            a->version = s->version;
            a->version_last_seen_send_ns = s->send_wall_ns;
        }
    }
    track_prop(self, a, &a->presence, "presence", s->presence,
               s->presence_server_ns, s, &self->presence_changes);
    track_prop(self, a, &a->routing, "routing_status", s->routing,
               s->routing_server_ns, s, &self->routing_changes);
}

void tracker_stats(struct tracker *self, struct tracker_stats *out)
{
    out->samples = atomic_load(&self->samples);
    out->version_changes = atomic_load(&self->version_changes);
    out->hidden_bumps = atomic_load(&self->hidden);
    out->presence_changes = atomic_load(&self->presence_changes);
    out->routing_changes = atomic_load(&self->routing_changes);
}

int64_t tracker_version(struct tracker *self, size_t i)
{
    return self->agents[i].version;
}
