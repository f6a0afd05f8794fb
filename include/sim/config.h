/*
 * Simulator configuration: defaults in one place (sim_config_defaults), the
 * scenario's "world", "seed" and "agents" sections read strictly
 * (sim_config_from_json), command-line flags applied on top by the caller.
 * Plain data; not thread-safe while being filled, read-only afterwards.
 */
#ifndef RT_SIM_CONFIG_H
#define RT_SIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "base/jread.h"

#define SIM_NAME_MAX 64
#define SIM_ON_MAX 16
#define SIM_ACTORS_MAX 32
#define SIM_FORBID_MAX 8
#define SIM_STREAM_FAULTS_MAX 8

enum sim_actor_kind {
    SIM_ACTOR_ROUTING_ENGINE,
    SIM_ACTOR_PRESENCE_SYNC,
    SIM_ACTOR_WFM_PUBLISH,
    SIM_ACTOR_IDP_SYNC,
    SIM_ACTOR_STATION,
    SIM_ACTOR_ADMIN,
    SIM_ACTOR_INTEGRATION,
    SIM_ACTOR_KIND_COUNT
};

/* "routing-engine", ... ; NULL-terminated table indexed by the enum. */
extern const char *const sim_actor_kind_names[];

/*
 * One background writer.  Which fields apply depends on the kind: the
 * parser (sim_config_from_json) accepts only those keys, and world_check()
 * validates the values again for configurations built in code.
 */
struct sim_actor_config {
    enum sim_actor_kind kind;
    char name[SIM_NAME_MAX]; /* identity in truth/audit; default kind */
    char on[SIM_ON_MAX]
           [SIM_NAME_MAX]; /* triggers, e.g. "routing:INTERACTING" */
    size_t n_on;
    double p;                     /* probability of acting per trigger */
    int64_t lag_lo_ns, lag_hi_ns; /* delay from trigger to write */
    int64_t at_ns;                /* one-shot start, from world start */
    int64_t spread_ns;            /* one-shot spread window */
    int64_t period_ns;            /* periodic / mean interval */
    double share;                 /* share of agents touched */
    int64_t gap_lo_ns, gap_hi_ns; /* read-to-write gap (integration) */
    char client_id[SIM_NAME_MAX]; /* OAuth client of the actor */
};

struct sim_world_config {
    /* Agents' own presence/routing process. */
    double on_queue_share;       /* agents On Queue at start */
    int64_t mean_idle_ns;        /* IDLE before the next interaction */
    int64_t mean_handle_ns;      /* INTERACTING duration */
    int64_t mean_break_every_ns; /* time On Queue between breaks; 0 = none */
    int64_t break_len_ns;        /* mean Break length */
    double not_responding_p;     /* chance an alert goes unanswered */
    int64_t not_responding_ns;   /* NOT_RESPONDING duration */
    int64_t mean_away_every_ns;  /* off-queue agents: Available<->Busy/Away */
    int presence_enabled;        /* 0 = agents never move on their own */

    struct sim_actor_config actors[SIM_ACTORS_MAX];
    size_t n_actors;

    /* Imperfections, all off by default. */
    int64_t rate_limit_per_min; /* per token; 0 = unlimited */
    int64_t read_latency_lo_ns, read_latency_hi_ns;
    int64_t write_latency_lo_ns, write_latency_hi_ns;
    double fault_5xx;           /* chance a request gets a 503 */
    double fault_drop;          /* chance a connection drops, no effect */
    double fault_lost_response; /* chance a write commits, reply lost */
    int64_t read_lag_ns;        /* reads may see state up to this old */

    /* Permissions the simulated clients lack ("audits:audit:view",
     * "analytics:userDetail:view", ...): a call needing one answers 403
     * missing.permissions (sim_req_require). */
    char forbid[SIM_FORBID_MAX][SIM_NAME_MAX];
    size_t n_forbid;
    /* Token requests per minute per client at /oauth/token; 0 = no
     * limit.  Beyond it: 429 with Retry-After. */
    int64_t token_rate_limit_per_min;

    /* Notifications (world.notifications).  Fault times are from the
     * simulator's start and apply to every socket open at that moment. */
    struct {
        int64_t heartbeat_ns;     /* channel.metadata heartbeat, 30 s */
        int64_t closing_grace_ns; /* socket_closing warning to the drop */
        int64_t closing_at_ns[SIM_STREAM_FAULTS_MAX]; /* socket_closing */
        size_t n_closing;
        int64_t drop_at_ns[SIM_STREAM_FAULTS_MAX]; /* dropped, no warning */
        size_t n_drop;
        int64_t silent_at_ns[SIM_STREAM_FAULTS_MAX]; /* socket stays open
                                                        but sends nothing */
        size_t n_silent;
    } stream;
};

struct sim_config {
    uint16_t port;  /* 0 = any free port */
    int64_t agents; /* number of simulated agents */
    int64_t queues; /* number of queues */
    int64_t skills; /* number of routing skills */
    uint64_t seed;
    char client_id[SIM_NAME_MAX];
    char client_secret[SIM_NAME_MAX];
    int64_t token_lifetime_ns;
    int64_t duration_ns; /* 0 = until stopped */
    char log_dir[1024];  /* "" = no logs */
    int threads;         /* 0 = one thread per connection */
    struct sim_world_config world;
};

void sim_config_defaults(struct sim_config *cfg);

/*
 * Read "seed", "agents" and "world" from a scenario document; every other
 * top-level key is left to the harness.  Errors land in @jr with the JSON
 * path.  Unknown keys inside "world" are errors.
 */
enum rt_err sim_config_from_json(struct sim_config *cfg, struct jread *jr,
                                 const cJSON *root);

#endif
