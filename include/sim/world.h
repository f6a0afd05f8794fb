/*
 * The simulated world: agents moving through presence and routing states on
 * their own, and the background actors (routing-engine, presence-sync,
 * wfm-publish, idp-sync, station, admin, integration) that write to users
 * through the same versioned path a client uses (org_user_patch), each
 * under its own identity.  Same seed and scenario, same schedule: the
 * world's own transitions and the actors' decisions are drawn from seeded
 * streams keyed by agent, actor and counter, never from timing.
 *
 * world_plan() runs the very code the world thread runs, against a virtual
 * org and a virtual clock, so the schedule it returns is the one a running
 * world follows as long as no client touches presence, routing status or
 * versions.  notes/world.md describes each actor's write.
 *
 * One world thread runs the schedule against CLOCK_MONOTONIC from
 * world_start().  Thread-safety: world_new/start/stop/free and
 * world_set_observer from one thread; world_stats from any thread; the org
 * hook it installs runs on any thread.
 */
#ifndef RT_SIM_WORLD_H
#define RT_SIM_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sim/config.h"
#include "sim/org.h"

enum world_event_kind {
    WORLD_EV_PRESENCE, /* presence changed; values are enum sim_presence */
    WORLD_EV_ROUTING,  /* routing status changed; enum sim_routing */
    WORLD_EV_READ,     /* integration read the version (old = new) */
    WORLD_EV_WRITE,    /* actor write committed; old/new are versions */
    WORLD_EV_CONFLICT  /* actor write was stale; old sent, new current */
};

struct world_event {
    int64_t t_ns; /* scheduled time from world start */
    size_t agent;
    enum world_event_kind kind;
    int64_t old_value, new_value;
    int actor;        /* index in cfg->world.actors; -1 = the agent itself */
    unsigned attempt; /* writes: 0 first, 1.. retries */
};

/* Receives one event; a nonzero return ends world_plan() early (ignored
 * by a running world).  @ev is borrowed for the call. */
typedef int (*world_event_fn)(void *ctx, const struct world_event *ev);

/* Validate the world part of @cfg (trigger names, periods, agent count);
 * logs the first problem.  Thread-safe. */
enum rt_err world_check(const struct sim_config *cfg);

/*
 * The world's schedule for @cfg from time 0 to @horizon_ns inclusive, with
 * no client: every event in order, handed to @fn.  Pure: no thread, no
 * org, no clock; memory bounded by agents and actors, not by the horizon.
 * Thread-safe.
 */
enum rt_err world_plan(const struct sim_config *cfg, int64_t horizon_ns,
                       world_event_fn fn, void *ctx);

struct world;

/* Create the world for @org (borrowed; must outlive the world) and install
 * its transition hook on the org.  @cfg is copied. */
struct world *world_new(const struct sim_config *cfg, struct sim_org *org);
/* Call @fn on the world thread for every event the running world applies
 * (transitions it made, reads and writes of its actors).  Before
 * world_start(). */
void world_set_observer(struct world *self, world_event_fn fn, void *ctx);
/* Check the configuration and start the world thread; time zero is now.
 * A world runs once: after world_stop() this fails with RT_EBUSY. */
enum rt_err world_start(struct world *self);
/* Stop and join the world thread.  Idempotent. */
void world_stop(struct world *self);
/* Stops first, removes the hook.  No other thread may call into the org
 * while this runs.  NULL-safe. */
void world_free(struct world *self);

struct world_stats {
    uint64_t transitions;      /* presence/routing changes the world made */
    uint64_t writes;           /* actor writes committed */
    uint64_t conflicts;        /* actor writes rejected as stale */
    uint64_t triggers;         /* transitions (any source) seen by actors */
    uint64_t triggers_dropped; /* over the queue bound; should stay 0 */
};

/* Counters so far.  Thread-safe. */
void world_stats(struct world *self, struct world_stats *out);

#endif
