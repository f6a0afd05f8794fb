/*
 * Scenario files: what world to simulate, what to observe, what to replay
 * and what to report.  Every default lives in scenario_defaults(); the
 * parser rejects unknown keys and names the file and JSON path of the first
 * error in one line.  scenario_resolved_json() gives back the complete
 * scenario with every default filled in (what `racetrace check` prints and
 * what run.json records).  Plain data: not thread-safe while being built,
 * read-only afterwards.
 */
#ifndef RT_HARNESS_SCENARIO_H
#define RT_HARNESS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "base/jread.h"
#include "sim/config.h"

#define SCN_NAME_MAX 64
#define SCN_TARGET_MAX 512
#define SCN_STRATEGIES_MAX 4
#define SCN_IDS_MAX 10000
#define SCN_PER_AGENT_MAX 4

enum scn_observe_mode { SCN_OBSERVE_BULK, SCN_OBSERVE_AGENT };
enum scn_presence_via { SCN_VIA_POLL, SCN_VIA_STREAM };

enum scn_operation {
    SCN_OP_USER_PATCH,
    SCN_OP_UTILIZATION_PUT,
    SCN_OP_SKILLS_BULK_PATCH,
    SCN_OP_QUEUE_JOIN,
    SCN_OP_TEMPLATE,
};
extern const char *const scn_operation_names[]; /* NULL-terminated */

enum scn_strategy {
    SCN_STRATEGY_BULK_STALE,
    SCN_STRATEGY_READ_MODIFY_WRITE,
    SCN_STRATEGY_RETRY,
    SCN_STRATEGY_BLIND,
};
extern const char *const scn_strategy_names[]; /* NULL-terminated */

enum scn_backoff {
    SCN_BACKOFF_NONE,
    SCN_BACKOFF_FIXED,
    SCN_BACKOFF_EXPONENTIAL
};
extern const char *const scn_backoff_names[];
enum scn_jitter {
    SCN_JITTER_NONE,
    SCN_JITTER_FULL,
    SCN_JITTER_EQUAL,
    SCN_JITTER_DECORRELATED,
};
extern const char *const scn_jitter_names[];

struct scn_template {
    char read_method[8];
    char read_path[256]; /* may contain {id} */
    char write_method[8];
    char write_path[256]; /* may contain {id} */
    cJSON *write_body;    /* owned; may contain "{version}" placeholders */
    char version_field[64];
};

struct scn_retry {
    int max_attempts;
    enum scn_backoff backoff;
    enum scn_jitter jitter;
    int64_t base_ns;
    int64_t cap_ns;
    int64_t give_up_retry_after_ns; /* Retry-After longer than this: give up */
};

struct scenario {
    char file[1024]; /* where it came from, for messages */
    char name[SCN_NAME_MAX];
    uint64_t seed;
    int64_t duration_ns;
    char target[SCN_TARGET_MAX]; /* "sim", a region, or a URL */

    /* Agents: a count, an explicit id list, or a queue's members. */
    int64_t agent_count;
    char **agent_ids; /* owned, NULL-terminated, or NULL */
    size_t n_agent_ids;
    char agent_queue[128];

    struct sim_config sim; /* world, used only against the simulator */

    struct {
        enum scn_observe_mode mode;
        int64_t interval_ns;
        double jitter; /* share of the interval, 0..1 */
        int threads;
        enum scn_presence_via presence_via;
        /* Stream only: no frame for this long declares a socket silent
         * (it is closed and reconnected). */
        int64_t presence_silence_ns;
    } observe;

    int64_t budget_per_minute; /* 0 = default for the target */

    struct {
        int enabled;
        int at_absolute; /* at_wall_ns is an absolute time */
        int64_t at_ns;   /* relative to the run's start */
        int64_t at_wall_ns;
        enum scn_operation operation;
        struct scn_template tmpl;
        enum scn_strategy strategies[SCN_STRATEGIES_MAX];
        size_t n_strategies;
        struct scn_retry retry;
        int workers;
        /* Updates of each agent per strategy pass (1..SCN_PER_AGENT_MAX),
         * each its own operation: the job that writes an agent twice. */
        int per_agent;
        int64_t pace_ns;
        int64_t repeat_every_ns;
        int repeat_times;
    } replay;

    struct {
        double conflict_rate_max;  /* < 0 = not set */
        double throttled_rate_max; /* < 0 = not set */
        double gave_up_rate_max;   /* < 0 = not set */
    } thresholds;

    struct {
        int64_t window_ns;
    } report;
};

void scenario_defaults(struct scenario *self);
/* Free what the scenario owns (ids, template body).  The struct itself is
 * the caller's. */
void scenario_release(struct scenario *self);

/* Load and validate @path.  On failure @jr->error holds the one-line
 * message and the scenario is released. */
enum rt_err scenario_load(struct scenario *self, struct jread *jr,
                          const char *path);
/* The same from a parsed document (tests). */
enum rt_err scenario_from_json(struct scenario *self, struct jread *jr,
                               const cJSON *root);

/* When the last replay round starts, from the run's start (a relative
 * replay.at; repeat.times rounds repeat.every apart). */
int64_t scenario_last_round_ns(const struct scenario *self);

/* Every key with its value after defaults.  Caller frees. */
cJSON *scenario_resolved_json(const struct scenario *self);

#endif
