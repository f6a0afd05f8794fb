/*
 * Evidence from the target's own records, fetched once the run has stopped
 * (DESIGN §8.2, genesys-api.md §5–§6):
 *
 *   audit      who wrote each agent's user record: one asynchronous audit
 *              query (Directory / EntityType=User) over the run's interval
 *              widened by a minute on each side, polled until it is done,
 *              its results read page by page into RUN/audit.csv (only the
 *              records of the run's agents);
 *   analytics  each agent's presence and routing-status intervals over the
 *              run (users/details/query, up to 100 agents a query, paged),
 *              turned into transitions and written to observations.csv
 *              with source "analytics", so the analysis sees the changes
 *              that fell between two polls.
 *
 * Both go through session_call() as late calls (roles "audit" and
 * "analytics"): they are budgeted, recorded in requests.csv and renew
 * tokens like every other call, and they still go out after the run's stop,
 * Ctrl-C included.  A second Ctrl-C (harness_stop_late) or the time limit
 * ends them; what was fetched by then is kept.  Nothing here is fatal to
 * the run: a 403 (a permission the OAuth client lacks), an error answer or
 * a hostile body ends that part, and the report says which and why.
 */
#ifndef RT_HARNESS_EVIDENCE_H
#define RT_HARNESS_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/clock.h"
#include "base/err.h"
#include "harness/session.h"

/* The whole collection, whatever the scenario. */
#define EVIDENCE_TIME_LIMIT_NS (60 * NS_PER_S)
/* Polling the audit query's status gives up after this. */
#define EVIDENCE_AUDIT_POLL_LIMIT_NS (30 * NS_PER_S)
/* The audit interval is widened by this on each side: a write recorded
 * just before the run started or after it ended may still explain a bump
 * seen inside it. */
#define EVIDENCE_AUDIT_MARGIN_NS (60 * NS_PER_S)
#define EVIDENCE_AUDIT_PAGE_MAX 500
#define EVIDENCE_ANALYTICS_PAGE_MAX 100
#define EVIDENCE_ANALYTICS_USERS_MAX 100

#define EVIDENCE_AUDIT_PERMISSION "audits:audit:view"
#define EVIDENCE_ANALYTICS_PERMISSION "analytics:userDetail:view"

/* Limits of one collection; evidence_options_default() gives the ones
 * above.  Tests shrink the pages to read several. */
struct evidence_options {
    int64_t time_limit_ns;       /* whole collection, > 0 */
    int64_t audit_poll_limit_ns; /* status polling, > 0 */
    int audit_page_size;         /* 1 .. EVIDENCE_AUDIT_PAGE_MAX */
    int analytics_page_size;     /* 1 .. EVIDENCE_ANALYTICS_PAGE_MAX */
    int analytics_users;         /* agents a query, 1 .. _USERS_MAX */
};

void evidence_options_default(struct evidence_options *opt);

/*
 * Collect the audit trail and the analytics history of [@from_wall_ns,
 * @to_wall_ns] for h->agent_ids into @run_dir: RUN/audit.csv (written, at
 * least its header, in every case) and observations in h->history.  Call
 * from the run's thread once the observers and the replayer have been
 * joined and before the history is closed; h->stop may be set (it always
 * is by then).  *@report_out gets a new object for run.json's "evidence"
 * (caller frees with cJSON_Delete):
 *   {"audit": {"status": "ok|forbidden|failed|interrupted", "message",
 *              "records", "pages", "skipped", "permission"},
 *    "analytics": {"status", "message", "users", "transitions", "pages",
 *                  "skipped", "permission"}}
 * "records" are audit.csv's rows, "users" the run's agents analytics had
 * intervals for, "transitions" the observations written, "pages" the 2xx
 * pages read, "skipped" the records, intervals and fields of those pages
 * that could not be used, and "permission" the one the part needs (named
 * in "message" when it was refused).
 * Returns RT_OK, whatever the target answered; RT_EIO when audit.csv could
 * not be written (logged; the report is filled all the same); RT_EINVAL
 * for a bad argument (nothing done, *@report_out NULL).  Not thread-safe:
 * one collection per harness at a time.
 */
enum rt_err evidence_collect(struct harness *h, int64_t from_wall_ns,
                             int64_t to_wall_ns, const char *run_dir,
                             cJSON **report_out);
/* The same with limits of the caller's (@opt borrowed; NULL = default). */
enum rt_err evidence_collect_with(struct harness *h, int64_t from_wall_ns,
                                  int64_t to_wall_ns, const char *run_dir,
                                  const struct evidence_options *opt,
                                  cJSON **report_out);

/* RUN/audit.csv's columns, in order: the contract with the analysis.
 * Read-only. */
extern const char *const evidence_audit_cols[];
extern const size_t evidence_n_audit_cols;

/* ------------------------------------------------------------------ */
/* Response parsing, exposed for tests and the fuzz target              */
/*                                                                      */
/* Every parser takes @body of @len bytes (need not be NUL-terminated) */
/* and returns RT_EPARSE when it is not one JSON object (only white    */
/* space may follow it), with *@error_offset (may be NULL) set to the  */
/* byte where parsing stopped, 0 for a shape error.  Inside the object */
/* a missing field is empty and a field of the wrong type is counted   */
/* and treated as missing.  Pure and thread-safe.                      */

enum evidence_audit_state {
    EVIDENCE_AUDIT_QUEUED,
    EVIDENCE_AUDIT_RUNNING,
    EVIDENCE_AUDIT_SUCCEEDED,
    EVIDENCE_AUDIT_FAILED,
    EVIDENCE_AUDIT_CANCELLED,
    EVIDENCE_AUDIT_UNKNOWN, /* absent or not one of the above */
};

#define EVIDENCE_QUERY_ID_MAX 128

/* AuditQueryExecutionStatusResponse: the query's id (copied into @id,
 * "" when absent or too long) and state. */
enum rt_err evidence_parse_audit_status(const char *body, size_t len,
                                        char id[EVIDENCE_QUERY_ID_MAX],
                                        enum evidence_audit_state *state,
                                        size_t *error_offset);

/* One AuditLogMessage.  Strings are borrowed and valid only during the
 * callback; absent ones are "" (never NULL). */
struct evidence_audit_record {
    const char *audit_id;
    int64_t event_wall_ns; /* eventDate, 0 when absent or unreadable */
    const char *entity_id; /* entity.id: the agent for a User record */
    const char *service;
    const char *entity_type;
    const char *action;
    const char *level;
    const char *status;
    const char *user_id;
    const char *user_name;
    const char *client_id;
    const char *application;
    const char *properties;   /* propertyChanges[].property, ";"-joined */
    const char *changes_json; /* propertyChanges as compact JSON, or "" */
};

typedef void (*evidence_audit_fn)(void *ctx,
                                  const struct evidence_audit_record *r);

/* The results of an audit query ({id, pageSize, cursor, entities}): @fn
 * for every entity that is an object; *@cursor gets a copy of the next
 * page's cursor (caller frees) or NULL on the last page; *@skipped (may be
 * NULL) the entities that were not objects plus the fields of a wrong
 * type.  RT_EPARSE also when "entities" is absent or not an array (the
 * callback was then never called and *@cursor is NULL). */
enum rt_err evidence_parse_audit_page(const char *body, size_t len,
                                      evidence_audit_fn fn, void *ctx,
                                      char **cursor, size_t *skipped,
                                      size_t *error_offset);

/*
 * Presence and routing-status intervals gathered over any number of
 * analytics pages, for turning into transitions once they are all in.
 * Not thread-safe.
 */
struct evidence_timeline;

struct evidence_timeline *evidence_timeline_new(void);
void evidence_timeline_free(struct evidence_timeline *self); /* NULL-safe */

/* What one page held. */
struct evidence_page_info {
    int64_t total_hits; /* totalHits, -1 when absent */
    size_t entries;     /* userDetails entries, for paging */
    size_t users;       /* entries with a userId */
    size_t intervals;   /* intervals taken */
    size_t skipped;     /* entries, intervals or fields that were unusable */
};

/*
 * Add one users/details/query answer ({"userDetails":[...],
 * "totalHits":N}); @request_seq (the requests.csv row that fetched it) is
 * kept with each interval.  Presence values are stored by their REST names
 * (api/presence.h), routing statuses as given.  An interval without a
 * readable startTime or value is skipped.  A body without "userDetails"
 * is a page without users (the API leaves it out when nothing matched);
 * one that is not an array is RT_EPARSE, and nothing is added.
 */
enum rt_err evidence_timeline_add_page(struct evidence_timeline *self,
                                       const char *body, size_t len,
                                       int64_t request_seq,
                                       struct evidence_page_info *info,
                                       size_t *error_offset);

/* Distinct users with at least one interval, of those @keep (may be
 * NULL for all) returns non-zero for. */
size_t evidence_timeline_users(struct evidence_timeline *self,
                               int (*keep)(void *ctx, const char *user),
                               void *ctx);

/* One change of one agent's presence ("presence") or routing status
 * ("routing_status").  Borrowed, valid during the callback. */
struct evidence_transition {
    const char *agent;
    const char *property;
    const char *old_value;
    const char *new_value;
    int64_t at_wall_ns;  /* the new interval's startTime */
    int64_t request_seq; /* of the page holding the new interval */
};

typedef void (*evidence_transition_fn)(void *ctx,
                                       const struct evidence_transition *t);

/*
 * Call @fn for every transition at a time in [@from_wall_ns, @to_wall_ns]:
 * for each user and property, the intervals in startTime order (a repeat
 * of the same start and value, as overlapping pages give, counts once),
 * and a transition wherever a value differs from the one before.  In
 * order of user, property, time.  Returns the number of calls.
 */
size_t evidence_timeline_transitions(struct evidence_timeline *self,
                                     int64_t from_wall_ns, int64_t to_wall_ns,
                                     evidence_transition_fn fn, void *ctx);

#endif
