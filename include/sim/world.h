/*
 * The simulated world: agents moving through presence and routing states on
 * their own, and the background actors (routing-engine, presence-sync,
 * wfm-publish, idp-sync, station, admin, integration) that write to users
 * through the same versioned path a client uses (org_user_patch), each
 * under its own identity.  Same seed and scenario, same schedule: the
 * world's own transitions and the actors' decisions are drawn from seeded
 * streams keyed by agent and actor, never from timing.
 *
 * One world thread runs the schedule against the wall of CLOCK_MONOTONIC
 * from world_start().  Thread-safety: world_start/stop/free from one
 * thread; the org hook it installs runs on any thread.
 */
#ifndef RT_SIM_WORLD_H
#define RT_SIM_WORLD_H

#include "base/err.h"
#include "sim/config.h"
#include "sim/org.h"

struct world;

/* Create the world for @org (borrowed; must outlive the world) and install
 * its transition hook on the org. */
struct world *world_new(const struct sim_config *cfg, struct sim_org *org);
/* Start the world thread; time zero is now. */
enum rt_err world_start(struct world *self);
/* Stop and join the world thread.  Idempotent. */
void world_stop(struct world *self);
void world_free(struct world *self); /* NULL-safe; stops first */

#endif
