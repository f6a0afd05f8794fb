/*
 * The harness's one door to the target.  Every HTTP exchange of a run goes
 * through session_call() (API calls) and the token cache's exchange hook
 * (token requests), which together guarantee the accounting the analysis
 * relies on: each exchange takes a permit from the shared rate limiter,
 * carries the cached bearer token (renewed once on a 401), is classified
 * by status and body, counted, and written to requests.csv; a 429 backs
 * every thread off for its Retry-After.
 *
 * struct harness is the run's shared context, built by the run before any
 * thread starts and read-only afterwards except for its atomics.  A struct
 * session belongs to one thread (its own curl handle, response buffer and
 * RNG): sessions are not thread-safe, the harness is.
 */
#ifndef RT_HARNESS_SESSION_H
#define RT_HARNESS_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/classify.h"
#include "api/http.h"
#include "api/oauth.h"
#include "api/ratelimit.h"
#include "base/err.h"
#include "base/rng.h"
#include "harness/history.h"
#include "harness/progress.h"
#include "harness/scenario.h"
#include "harness/tracker.h"

#define HARNESS_URL_MAX 512

struct dryrun;

struct harness {
    const struct scenario *scn;    /* resolved scenario, borrowed */
    char api_url[HARNESS_URL_MAX]; /* "https://api.usw2.pure.cloud" or sim */
    int is_sim;                    /* target is the embedded simulator */
    struct oauth_cache *auth;
    struct ratelimit *limiter;
    struct history *history;
    struct tracker *tracker; /* NULL until agents are known */
    /* Presence and routing status come from the notifications stream, so
     * the observers poll versions only.  Set before observers start. */
    int presence_streamed;
    struct run_counters counters;
    atomic_bool stop; /* set on Ctrl-C, SIGTERM or the end */
    /* Set by a second Ctrl-C: ends the late calls too (see struct
     * session_call). */
    atomic_bool late_stop;
    /* Set by a third Ctrl-C: ends the late calls that finish their unit
     * of work too (must_finish, the restore of one agent). */
    atomic_bool late_abort;
    /* Non-NULL in a dry run (--dry-run): the replayer lists every write
     * it would make there and sends none (harness/dryrun.h). */
    struct dryrun *dry_run;
    int64_t start_mono_ns;
    int64_t start_wall_ns;
    char **agent_ids; /* owned, the agents of the run */
    size_t n_agents;
    atomic_int next_thread_id;
    pthread_mutex_t wait_lock; /* with wait_cond: harness_wait_until */
    pthread_cond_t wait_cond;
};

/* Zero @h and set up its lock and condition (CLOCK_MONOTONIC).  The caller
 * fills in the rest before starting threads. */
void harness_init(struct harness *h);
/* Free the agent list and the lock; the parts the run created (auth,
 * limiter, history, tracker) are the run's to free. */
void harness_release(struct harness *h);

/* A call to make. */
struct session_call {
    const char *method;
    const char *route; /* template for the history, "/api/v2/users/{id}" */
    const char *path;  /* path and query after the base URL */
    const char *agent; /* user id, or NULL for bulk calls */
    int64_t op_id;     /* -1 when not part of an operation */
    const char *body;  /* JSON text or NULL */
    size_t body_len;
    int64_t version_sent;      /* -1 unless a versioned write */
    int64_t agents_in_request; /* -1 unless a bulk read */
    int64_t intended_wall_ns;  /* 0 = now */
    int is_create;
    /* A late call is made after the run has stopped (evidence collection):
     * h->stop does not refuse it, h->late_stop does, and it still takes a
     * permit from the limiter, but gives up with RT_ETIMEOUT rather than
     * wait for one past @deadline_mono_ns (0 = no limit). */
    int late;
    int64_t deadline_mono_ns;
    /* With @late: one call of a unit of work that must finish once begun
     * (the restore of one agent, harness/restore.h): h->late_stop does
     * not refuse it, only h->late_abort does.  The caller checks
     * h->late_stop between units. */
    int must_finish;
};

/* What came back; valid until the session's next call. */
struct session_result {
    const struct http_response *resp;
    struct classify_result cls;
    int64_t seq;   /* requests.csv row of the (last) exchange */
    int exchanges; /* HTTP exchanges made (2 after a 401 renewal) */
};

struct session;

/* A session for the calling thread, recording under @role ("observe",
 * "replay", "agents", ...).  Caller frees with session_free(). */
enum rt_err session_new(struct session **out, struct harness *h,
                        const char *role);
void session_free(struct session *self); /* NULL-safe */

/* The session's own RNG (seeded from the scenario seed and thread id). */
struct rng *session_rng(struct session *self);
int session_thread_id(const struct session *self);

/*
 * Make @call.  RT_OK whenever an exchange happened, whatever its status
 * (read res->cls.kind); RT_EINTR when the run is stopping (late calls:
 * when h->late_stop is set; must_finish calls: when h->late_abort is
 * set); RT_ETIMEOUT when a late call's permit would
 * come after its deadline; the token errors of oauth_cache_perform
 * otherwise.
 */
enum rt_err session_call(struct session *self, const struct session_call *call,
                         struct session_result *res);

/* The exchange hook to install in the oauth cache config: records token
 * requests made from inside session_call() under the calling session. */
void session_oauth_hook(void *ctx, enum oauth_exchange kind,
                        const struct http_request *req,
                        const struct http_response *resp);

/* Sleep until @deadline_mono_ns or until the run stops; returns 1 when
 * stopping.  Threads wait with this, never with a bare sleep. */
int harness_wait_until(struct harness *h, int64_t deadline_mono_ns);
/* Ask every thread to stop and wake every waiter. */
void harness_stop(struct harness *h);

/* harness_wait_until() for code that runs after the stop (late calls):
 * returns 1, at once or on waking, when h->late_stop is set. */
int harness_wait_late(struct harness *h, int64_t deadline_mono_ns);
/* End the late calls too and wake their waiters.  Thread-safe. */
void harness_stop_late(struct harness *h);
/* harness_wait_late() for the must_finish calls' waits: returns 1 when
 * h->late_abort is set. */
int harness_wait_finish(struct harness *h, int64_t deadline_mono_ns);
/* One Ctrl-C or SIGTERM: the first stops the run (harness_stop); one that
 * comes once the run has already stopped ends the late calls too
 * (harness_stop_late) and returns 1; one after that ends the must_finish
 * calls as well (sets h->late_abort) and returns 2.  Thread-safe. */
int harness_interrupt(struct harness *h);

#endif
