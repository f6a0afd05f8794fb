/*
 * The embedded simulated org: one call starts the HTTP server on
 * 127.0.0.1, the world and the logs; another stops them in reverse order.
 * The harness reaches it only over HTTP, through the same client code as a
 * real org.  Thread-safety: sim_start/sim_stop from one thread.
 */
#ifndef RT_SIM_SIM_H
#define RT_SIM_SIM_H

#include <stdint.h>

#include "base/err.h"
#include "sim/config.h"
#include "sim/org.h"

struct sim_notify;

struct sim;
struct sim_tokens;

/* Start serving @cfg (copied).  On success *out is running and listening. */
enum rt_err sim_start(struct sim **out, const struct sim_config *cfg);
uint16_t sim_port(const struct sim *self);
/* "http://127.0.0.1:PORT", borrowed for the simulator's lifetime. */
const char *sim_url(const struct sim *self);
/* The org, for tests and the harness's own bookkeeping (borrowed). */
struct sim_org *sim_org(struct sim *self);
/* The issued tokens, for tests that look for them in outputs (borrowed;
 * see sim/tokens.h). */
struct sim_tokens *sim_tokens(struct sim *self);
/* The configuration in use (borrowed). */
const struct sim_config *sim_config(const struct sim *self);
/* The notification WebSocket server's port (channels' connectUri is
 * ws://127.0.0.1:PORT/channels/<id>). */
uint16_t sim_stream_port(const struct sim *self);
/* The notification hub, for tests and statistics (borrowed). */
struct sim_notify *sim_notify(struct sim *self);
/* Stop the world, the server and the logs (flushed); free.  NULL-safe. */
void sim_stop(struct sim *self);

#endif
