/*
 * The simulated org's state: agents (users with an integer version,
 * presence, routing status, utilization, skills, queue memberships),
 * queues, skills and the system presence definitions.
 *
 * Locking: the set of agents, queues and skills is fixed at org_new(); each
 * agent has its own mutex, so writes to one agent are atomic (the version
 * compare-and-increment) while different agents proceed in parallel.  Every
 * change goes through an org_* function, which logs it to truth.csv with
 * its cause, records it in the audit trail (org_audit) and, for presence
 * and routing status, in the analytics history (org_history), and calls
 * the transition hook.  All functions are thread-safe unless noted.
 */
#ifndef RT_SIM_ORG_H
#define RT_SIM_ORG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "api/presence.h"
#include "base/err.h"
#include "sim/audit.h"
#include "sim/config.h"
#include "sim/log.h"

/* System presences, in the order of genesys-api.md §2.3. */
enum sim_presence {
    SIM_PRESENCE_AVAILABLE,
    SIM_PRESENCE_AWAY,
    SIM_PRESENCE_BUSY,
    SIM_PRESENCE_OFFLINE,
    SIM_PRESENCE_IDLE,
    SIM_PRESENCE_ON_QUEUE,
    SIM_PRESENCE_MEAL,
    SIM_PRESENCE_TRAINING,
    SIM_PRESENCE_MEETING,
    SIM_PRESENCE_BREAK,
    SIM_PRESENCE_COUNT
};

/* Their ids and spellings: the client's table (api/presence.h), in the
 * same order, so the simulator and the client can never disagree. */
#define sim_presence_defs presence_system
_Static_assert(SIM_PRESENCE_COUNT == PRESENCE_SYSTEM_COUNT,
               "enum sim_presence follows api/presence.h");

enum sim_routing {
    SIM_ROUTING_OFF_QUEUE,
    SIM_ROUTING_IDLE,
    SIM_ROUTING_INTERACTING,
    SIM_ROUTING_NOT_RESPONDING,
    SIM_ROUTING_COMMUNICATING,
    SIM_ROUTING_COUNT
};
extern const char *const sim_routing_names[SIM_ROUTING_COUNT];

/* Presence by REST name, analytics name or id; case-insensitive, spaces and
 * underscores ignored ("On Queue" = "ON_QUEUE" = "OnQueue").  -1 if none. */
int sim_presence_lookup(const char *name);
/* Routing status by name (case-insensitive).  -1 if none. */
int sim_routing_lookup(const char *name);

/* Who makes a change: a client (through HTTP) or a world actor. */
struct sim_writer {
    const char *cause;          /* "client:<id>", "world", actor name */
    const char *client_id;      /* OAuth client, or NULL */
    const char *correlation_id; /* request or actor-made id, or NULL */
};

enum sim_prop { SIM_PROP_PRESENCE, SIM_PROP_ROUTING };

/* Called after each presence or routing change, outside every lock. */
typedef void (*sim_transition_fn)(void *ctx, size_t agent, enum sim_prop prop,
                                  int old_value, int new_value, int64_t wall_ns,
                                  const struct sim_writer *who);

#define SIM_ID_LEN 37 /* UUID text plus NUL */

struct sim_org;

enum sim_expand {
    SIM_EXPAND_PRESENCE = 1u << 0,
    SIM_EXPAND_ROUTING = 1u << 1,
};

/* Whether agent @i starts On Queue and IDLE (else Available and
 * OFF_QUEUE): a pure function of cfg->seed and on_queue_share, so the
 * world's plan knows the initial state without building an org. */
int org_starts_on_queue(const struct sim_config *cfg, size_t i);

/* Build the org for @cfg (agents, queues, skills from cfg->seed).  @log is
 * borrowed and may be NULL. */
struct sim_org *org_new(const struct sim_config *cfg, struct sim_log *log);
void org_free(struct sim_org *self); /* NULL-safe */

#define ORG_HOOKS_MAX 4

/* Add a transition listener; they run in the order added, on the thread
 * that made the change.  Install and remove only while no other thread
 * touches the org (before the world and the server start, after they
 * stop).  RT_EBUSY beyond ORG_HOOKS_MAX. */
enum rt_err org_add_hook(struct sim_org *self, sim_transition_fn fn, void *ctx);
/* Remove the listener added with exactly @fn and @ctx (no-op if absent). */
void org_remove_hook(struct sim_org *self, sim_transition_fn fn, void *ctx);

size_t org_agent_count(const struct sim_org *self);
/* Agent index for a user id, or -1.  Lock-free (immutable index). */
long org_find_agent(const struct sim_org *self, const char *id);
/* Borrowed id of agent @i, valid for the org's lifetime. */
const char *org_agent_id(const struct sim_org *self, size_t i);

size_t org_queue_count(const struct sim_org *self);
long org_find_queue(const struct sim_org *self, const char *id);
cJSON *org_queue_json(const struct sim_org *self, size_t q); /* caller frees */
size_t org_skill_count(const struct sim_org *self);
long org_find_skill(const struct sim_org *self, const char *id);
cJSON *org_skill_json(const struct sim_org *self, size_t s); /* caller frees */

/* The User JSON of agent @i as a read at this moment would see it: with
 * world.read_lag set, possibly an older version.  Caller frees. */
cJSON *org_user_json(struct sim_org *self, size_t i, unsigned expand);
/* Current version (not lagged). */
int64_t org_user_version(struct sim_org *self, size_t i);
/* The stored user fields of agent @i now (never lagged, no id, version or
 * expands) and, in *version_out, the version they belong to, read
 * together: for internal writers that must never resend stale values.
 * Caller frees. */
cJSON *org_user_fields(struct sim_org *self, size_t i, int64_t *version_out);

/*
 * The versioned write: under the agent's lock, if the stored version equals
 * @expected, apply @fields (an UpdateUser object already validated by the
 * caller; "version", "id" and "selfUri" are ignored), increment the version
 * by one and log.  RT_ECONFLICT when stale.  *version_out is the version
 * after the write, or the current one on conflict.
 */
enum rt_err org_user_patch(struct sim_org *self, size_t i, int64_t expected,
                           const cJSON *fields, const struct sim_writer *who,
                           int64_t *version_out);

void org_set_presence(struct sim_org *self, size_t i, enum sim_presence p,
                      const char *message, const struct sim_writer *who);
void org_set_routing(struct sim_org *self, size_t i, enum sim_routing r,
                     const struct sim_writer *who);
/* Current presence / routing status of agent @i. */
enum sim_presence org_presence(struct sim_org *self, size_t i);
enum sim_routing org_routing(struct sim_org *self, size_t i);
cJSON *org_presence_json(struct sim_org *self, size_t i); /* caller frees */
cJSON *org_routing_json(struct sim_org *self, size_t i);  /* caller frees */

/* Utilization: AgentMaxUtilizationResponse; @util NULL reverts to the org
 * default.  @util is copied. */
cJSON *org_utilization_json(struct sim_org *self, size_t i);
void org_set_utilization(struct sim_org *self, size_t i, const cJSON *util,
                         const struct sim_writer *who);

/* Skills: entities[] of UserRoutingSkill.  @replace drops the skills not
 * in @ids.  Arrays are parallel, @n entries. */
cJSON *org_user_skills_json(struct sim_org *self, size_t i);
size_t org_user_skill_total(struct sim_org *self, size_t i);
void org_set_skills(struct sim_org *self, size_t i, const size_t *skills,
                    const double *proficiency, size_t n, int replace,
                    const struct sim_writer *who);

/* Queue membership of agent @i in queue @q. */
int org_is_member(struct sim_org *self, size_t i, size_t q, int *joined);
/* Add (@member 1) or remove (0) membership; returns 1 if it changed. */
int org_set_member(struct sim_org *self, size_t i, size_t q, int member,
                   const struct sim_writer *who);
/* Set joined for an existing member; 0 (ignored) when not a member. */
int org_set_joined(struct sim_org *self, size_t i, size_t q, int joined,
                   const struct sim_writer *who);

/* The org's audit trail (borrowed for the org's lifetime): every write
 * above records one AuditLogMessage there, with the identity mapping and
 * service/entity mapping of include/sim/audit.h. */
struct audit *org_audit(struct sim_org *self);

/*
 * Analytics history.  The org keeps, per agent, the last ORG_HISTORY_MAX
 * presence and routing-status transitions (wall time, value) from the
 * state at org_new() on; older ones are dropped and counted.  9 bytes per
 * transition.
 */
#define ORG_HISTORY_MAX 20000

struct org_interval {
    int64_t start_wall_ns;
    int64_t end_wall_ns; /* -1 while the interval is still open */
    int value;           /* enum sim_presence or enum sim_routing */
};

/* Agent @i's @prop intervals overlapping [@from_wall_ns, @to_wall_ns),
 * oldest first, whole (not clipped to the window).  *out gets an array
 * the caller frees (NULL when none); returns the count. */
size_t org_history(struct sim_org *self, size_t i, enum sim_prop prop,
                   int64_t from_wall_ns, int64_t to_wall_ns,
                   struct org_interval **out);
/* Transitions dropped at the per-agent bound, over all agents. */
uint64_t org_history_dropped(struct sim_org *self);

#endif
