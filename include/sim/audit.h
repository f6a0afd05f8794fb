/*
 * The simulated org's audit trail (genesys-api.md §5): one AuditLogMessage
 * per org write, kept in memory, append-only, and the query logic behind
 * POST /api/v2/audits/query (asynchronous: status, then cursor-paged
 * results) and POST /api/v2/audits/query/realtime (page numbers).
 *
 * Who wrote it.  The org (src/sim/org.c) turns each change's struct
 * sim_writer into the identity fields, one record per org_* write call,
 * with every property it changed:
 *   cause "client:<id>"  an HTTP client (client credentials: no person):
 *                        client{id}, level SYSTEM, remoteIp 127.0.0.1
 *                        (the simulator listens on loopback only);
 *   cause "world"        the agent itself (its own presence): user = the
 *                        agent, level USER; routing-status changes the
 *                        world makes are the ACD's, and are not audited;
 *   an `admin` actor     a person: user{id, name} with name = the actor's
 *                        name and a fixed id derived from it, level USER,
 *                        remoteIp 198.51.100.7 (a documentation address);
 *   any other actor      an internal service or integration: application
 *                        = the actor's name, client{id} = its client_id
 *                        when it has one (integration: remoteIp
 *                        203.0.113.7, a documentation address), level
 *                        SYSTEM.
 * Service / entity type / action per change:
 *   user PATCH and user state       Directory / User / Update, one
 *                                   propertyChange per changed field (old
 *                                   and new value as strings; a
 *                                   version-only write has none)
 *   presence                        Presence / UserPresence / Update
 *                                   (systemPresence, message)
 *   routing status (client, actor)  Routing / User / Update
 *                                   (routingStatus); a presence PATCH
 *                                   that moves routing status too makes
 *                                   two records, both the client's
 *   utilization, skills             Routing / AgentRoutingInfo / Update
 *                                   (utilization, skill.<skillId>)
 *   queue membership                Routing / Queue / MemberAdd or
 *                                   MemberRemove; entity = the queue,
 *                                   context.userId and entityChanges[]
 *                                   name the user
 *   queue joined                    Routing / Queue / Update (joined)
 * The mapping is ours: the real one is unverified (genesys-api.md §5 says
 * to call servicemapping), so audit_service_mapping() lists exactly these.
 *
 * Memory.  Records live in a ring of at most max_records (the oldest is
 * dropped and counted); each is 56 bytes plus, for records with more than
 * one property change, 12 bytes per change (and the allocator's overhead
 * for that array).  Every string (ids, names, values, identity tuples)
 * is interned once with a reference count and freed with its last
 * record, so repeated values cost nothing per record.
 * Strings longer than AUDIT_STRING_MAX bytes are cut there.
 *
 * Query semantics (AuditQueryRequest): interval "<ISO>/<ISO>" is
 * half-open [start, end); filters with the same property are ORed, with
 * different properties ANDed; TrusteeOrganizationId matches nothing (the
 * simulator has no trustee organizations); sort is by eventDate
 * ("Timestamp"), ascending unless asked otherwise (the real default is
 * not documented).  An asynchronous query's result set is fixed when it is
 * created; its state is "Running" until ready_after_ns has passed, then
 * "Succeeded".  At most AUDIT_TX_MAX transactions are kept, holding at
 * most max_records copied records between them; the oldest go first.
 *
 * Thread-safety: every function is thread-safe (one mutex per store); the
 * org appends while holding an agent's lock, and the store never calls
 * back into the org, so there is no lock-order cycle.
 */
#ifndef RT_SIM_AUDIT_H
#define RT_SIM_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "base/err.h"
#include "base/jread.h"

#define AUDIT_ID_LEN 37 /* UUID text plus NUL */
#define AUDIT_DEFAULT_MAX_RECORDS 2000000
#define AUDIT_STRING_MAX 65536
#define AUDIT_TX_MAX 64
#define AUDIT_FILTERS_MAX 256
#define AUDIT_VALUE_MAX 128
#define AUDIT_INTERVAL_MAX 128
#define AUDIT_SERVICE_MAX 64
#define AUDIT_PAGE_MAX 500

enum audit_service {
    AUDIT_SERVICE_DIRECTORY,
    AUDIT_SERVICE_PRESENCE,
    AUDIT_SERVICE_ROUTING,
    AUDIT_SERVICE_COUNT
};

enum audit_entity_type {
    AUDIT_ENTITY_USER,
    AUDIT_ENTITY_USER_PRESENCE,
    AUDIT_ENTITY_AGENT_ROUTING_INFO,
    AUDIT_ENTITY_QUEUE,
    AUDIT_ENTITY_COUNT
};

enum audit_action {
    AUDIT_ACTION_UPDATE,
    AUDIT_ACTION_MEMBER_ADD,
    AUDIT_ACTION_MEMBER_REMOVE,
    AUDIT_ACTION_COUNT
};

enum audit_level { AUDIT_LEVEL_USER, AUDIT_LEVEL_SYSTEM, AUDIT_LEVEL_COUNT };

/* Wire spellings, indexed by the enums above.  Read-only. */
extern const char *const audit_service_names[AUDIT_SERVICE_COUNT];
extern const char *const audit_entity_type_names[AUDIT_ENTITY_COUNT];
extern const char *const audit_action_names[AUDIT_ACTION_COUNT];
extern const char *const audit_level_names[AUDIT_LEVEL_COUNT];

/* One propertyChanges[] entry; a NULL value is an empty array. */
struct audit_change {
    const char *property;
    const char *old_value;
    const char *new_value;
};

/* What audit_append() records.  Every string is borrowed for the call and
 * may be NULL (the field is left out). */
struct audit_entry {
    int64_t wall_ns;
    enum audit_service service;
    enum audit_entity_type entity_type;
    enum audit_action action;
    enum audit_level level;
    const char *entity_id, *entity_name;
    const char *user_id, *user_name; /* the person who did it */
    const char *client_id;           /* the OAuth client */
    const char *application;
    const char *remote_ip;
    const char *subject_id, *subject_name; /* user a Queue change is about */
    const struct audit_change *changes;
    size_t n_changes;
};

enum audit_filter_property {
    AUDIT_FILTER_USER_ID,
    AUDIT_FILTER_TRUSTEE_ORGANIZATION_ID,
    AUDIT_FILTER_CLIENT_ID,
    AUDIT_FILTER_ACTION,
    AUDIT_FILTER_ENTITY_TYPE,
    AUDIT_FILTER_ENTITY_ID,
    AUDIT_FILTER_COUNT
};
/* NULL-terminated (a jread_enum choice list). */
extern const char *const audit_filter_names[AUDIT_FILTER_COUNT + 1];

struct audit_filter {
    enum audit_filter_property property;
    char value[AUDIT_VALUE_MAX];
};

/* A parsed AuditQueryRequest.  Plain data (about 34 KiB: allocate it). */
struct audit_query {
    char interval[AUDIT_INTERVAL_MAX]; /* as sent, echoed back */
    int64_t from_wall_ns, to_wall_ns;  /* [from, to) */
    char service[AUDIT_SERVICE_MAX];   /* canonical spelling, "" = any */
    struct audit_filter filters[AUDIT_FILTERS_MAX];
    size_t n_filters;
    int has_sort;   /* sort[] was sent (echoed back) */
    int descending; /* sortOrder "descending" */
};

struct audit_stats {
    uint64_t appended;   /* records ever appended */
    uint64_t dropped;    /* oldest records dropped at the bound */
    size_t records;      /* records held now */
    size_t record_bytes; /* ring plus change arrays */
    size_t strings;      /* distinct interned strings */
    size_t string_bytes;
    size_t transactions; /* asynchronous queries held */
    size_t tx_records;   /* records copied into them */
};

struct audit;

/* An empty store keeping at most @max_records (>= 1); asynchronous
 * queries succeed @ready_after_ns after they are created. */
struct audit *audit_new(size_t max_records, int64_t ready_after_ns);
void audit_free(struct audit *self); /* NULL-safe */

/* Record one change (strings copied). */
void audit_append(struct audit *self, const struct audit_entry *e);
void audit_stats(struct audit *self, struct audit_stats *out);

/*
 * Parse "<ISO-8601>/<ISO-8601>" into [*from, *to); a side without a zone
 * is UTC.  RT_EINVAL unless both parse and start < end.  Pure, used by
 * the analytics route too.
 */
enum rt_err audit_interval_parse(const char *s, int64_t *from_wall_ns,
                                 int64_t *to_wall_ns);

/*
 * Fill @q from an AuditQueryRequest body (interval required; serviceName,
 * filters, sort optional; other keys ignored, as pageNumber and pageSize
 * of the realtime variant are read by the caller).  The first problem
 * lands in @jr naming the field ("filters[2].property: ...").
 */
enum rt_err audit_query_parse(struct jread *jr, const cJSON *body,
                              struct audit_query *q);
/* Add interval, serviceName, filters and sort (when sent) to @obj. */
void audit_query_echo(const struct audit_query *q, cJSON *obj);

/* AuditRealtimeQueryResultsResponse {entities, pageSize, pageNumber,
 * total, pageCount} for one page (1-based) of @q's matches; @expand_user
 * fills user.name.  Caller frees. */
cJSON *audit_realtime(struct audit *self, const struct audit_query *q,
                      int64_t page_number, int64_t page_size, int expand_user);

/* Start an asynchronous query: its results are fixed now.  Returns its
 * AuditQueryExecutionStatusResponse (caller frees); the transaction id is
 * its "id". */
cJSON *audit_tx_start(struct audit *self, const struct audit_query *q);
/* The status of transaction @id, or NULL when unknown (or dropped). */
cJSON *audit_tx_status(struct audit *self, const char *id);
/*
 * One page of transaction @id's results: {id, pageSize, cursor (absent on
 * the last page), entities}.  @cursor NULL or "" starts at the beginning.
 * RT_ENOENT unknown transaction, RT_EBUSY not Succeeded yet, RT_EINVAL
 * a cursor this transaction did not hand out.
 */
enum rt_err audit_tx_results(struct audit *self, const char *id,
                             const char *cursor, int64_t page_size,
                             int expand_user, cJSON **out);

/* AuditQueryServiceMapping: the services, entity types and actions the
 * simulator audits.  Caller frees. */
cJSON *audit_service_mapping(void);

#endif
