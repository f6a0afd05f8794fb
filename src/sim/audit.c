/*
 * The audit store (see include/sim/audit.h).  Invariants, all under
 * self->lock:
 *  - ring[] holds the last `len` records in append order from `head`; it
 *    grows by doubling up to max_records and wraps only when full, so
 *    before the first drop head is 0;
 *  - every string id a record (in the ring or in a transaction) holds owns
 *    one reference in the pool; a pool entry is freed at its last
 *    reference, so the pool is bounded by the records alive;
 *  - a record's identity, entity and subject are interned tuples (a tag
 *    byte per field, 0 = absent, 1 = present followed by the text and a
 *    NUL), so one id stands for several fields.  Tuples always end in a
 *    zero byte and plain strings never hold one: the two kinds never
 *    collide in the pool.
 */
#include "sim/audit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/units.h"
#include "base/xalloc.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *const audit_service_names[AUDIT_SERVICE_COUNT] = {
    "Directory", "Presence", "Routing"};
const char *const audit_entity_type_names[AUDIT_ENTITY_COUNT] = {
    "User", "UserPresence", "AgentRoutingInfo", "Queue"};
const char *const audit_action_names[AUDIT_ACTION_COUNT] = {
    "Update", "MemberAdd", "MemberRemove"};
const char *const audit_level_names[AUDIT_LEVEL_COUNT] = {"USER", "SYSTEM"};
const char *const audit_filter_names[AUDIT_FILTER_COUNT + 1] = {
    "UserId",     "TrusteeOrganizationId",
    "ClientId",   "Action",
    "EntityType", "EntityId",
    NULL};

/*
 * Service names a query may name: the SDK's enum (PY-model
 * AuditQueryRequest.service_name) plus the ones genesys-api.md §5 lists.
 * Only Directory, Presence and Routing ever hold simulator records; the
 * others are valid and match nothing.
 */
static const char *const known_services[] = {
    "AgentConfig",
    "AnalyticsReporting",
    "Architect",
    "ContactCenter",
    "ContentManagement",
    "Directory",
    "Groups",
    "Integrations",
    "LanguageUnderstanding",
    "Limits",
    "Messaging",
    "Outbound",
    "PeoplePermissions",
    "Performance",
    "PredictiveEngagement",
    "Presence",
    "Quality",
    "ResponseManagement",
    "Routing",
    "SCIM",
    "SpeechAndTextAnalytics",
    "Telephony",
    "TopicsDefinitions",
    "Triggers",
    "WebDeployments",
    "Webhooks",
    "WorkforceManagement",
    NULL,
};

/* Identity tuple fields. */
enum { WHO_USER_ID, WHO_USER_NAME, WHO_CLIENT_ID, WHO_APP, WHO_IP, WHO_N };
/* Entity and subject tuple fields. */
enum { REF_ID, REF_NAME, REF_N };

/* ---- interned strings ------------------------------------------------- */

struct istr {
    uint32_t refs;
    uint32_t next; /* next id in the bucket chain; 0 ends it */
    uint32_t hash;
    uint32_t len; /* bytes in s, not counting the final NUL */
    char s[];
};

struct pool {
    struct istr **items; /* by id; items[0] unused; NULL = free slot */
    uint32_t n_items;    /* ids handed out so far, plus one */
    uint32_t cap_items;
    uint32_t *free_ids;
    uint32_t n_free, cap_free;
    uint32_t *buckets; /* heads; power-of-two count */
    uint32_t n_buckets;
    uint32_t live;
    size_t bytes;
};

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t k = 0; k < len; k++)
        h = (h ^ (unsigned char)s[k]) * 16777619u;
    return h;
}

static void pool_init(struct pool *p)
{
    memset(p, 0, sizeof(*p));
    p->n_items = 1;
    p->cap_items = 64;
    p->items = xcalloc(p->cap_items, sizeof(*p->items));
    p->n_buckets = 64;
    p->buckets = xcalloc(p->n_buckets, sizeof(*p->buckets));
}

static void pool_release(struct pool *p)
{
    for (uint32_t id = 1; id < p->n_items; id++)
        free(p->items[id]);
    free(p->items);
    free(p->free_ids);
    free(p->buckets);
}

static void pool_rehash(struct pool *p)
{
    uint32_t n = p->n_buckets * 2;

    free(p->buckets);
    p->buckets = xcalloc(n, sizeof(*p->buckets));
    p->n_buckets = n;
    for (uint32_t id = 1; id < p->n_items; id++) {
        struct istr *e = p->items[id];
        if (!e)
            continue;
        e->next = p->buckets[e->hash & (n - 1)];
        p->buckets[e->hash & (n - 1)] = id;
    }
}

/* The id of @len bytes at @s with one more reference; 0 never. */
static uint32_t pool_intern(struct pool *p, const char *s, size_t len)
{
    uint32_t h = hash_bytes(s, len), id;
    struct istr *e;

    for (id = p->buckets[h & (p->n_buckets - 1)]; id; id = e->next) {
        e = p->items[id];
        if (e->hash == h && e->len == len && !memcmp(e->s, s, len)) {
            e->refs++;
            return id;
        }
    }
    if (p->live + 1 > p->n_buckets)
        pool_rehash(p);
    if (p->n_free) {
        id = p->free_ids[--p->n_free];
    } else {
        if (p->n_items == p->cap_items) {
            p->cap_items *= 2;
            p->items = xreallocarray(p->items, p->cap_items, sizeof(*p->items));
        }
        id = p->n_items++;
    }
    e = xmalloc(sizeof(*e) + len + 1);
    e->refs = 1;
    e->hash = h;
    e->len = (uint32_t)len;
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    e->next = p->buckets[h & (p->n_buckets - 1)];
    p->buckets[h & (p->n_buckets - 1)] = id;
    p->items[id] = e;
    p->live++;
    p->bytes += sizeof(*e) + len + 1;
    return id;
}

static void pool_ref(struct pool *p, uint32_t id)
{
    if (id)
        p->items[id]->refs++;
}

static void pool_unref(struct pool *p, uint32_t id)
{
    struct istr *e;
    uint32_t *link;

    if (!id)
        return;
    e = p->items[id];
    if (--e->refs)
        return;
    for (link = &p->buckets[e->hash & (p->n_buckets - 1)]; *link != id;
         link = &p->items[*link]->next)
        ;
    *link = e->next;
    p->bytes -= sizeof(*e) + e->len + 1;
    free(e);
    p->items[id] = NULL;
    p->live--;
    if (p->n_free == p->cap_free) {
        p->cap_free = p->cap_free ? p->cap_free * 2 : 64;
        p->free_ids =
            xreallocarray(p->free_ids, p->cap_free, sizeof(*p->free_ids));
    }
    p->free_ids[p->n_free++] = id;
}

static size_t clip_len(const char *s)
{
    return strnlen(s, AUDIT_STRING_MAX);
}

/* A plain string, or 0 for NULL. */
static uint32_t intern_str(struct pool *p, const char *s)
{
    return s ? pool_intern(p, s, clip_len(s)) : 0;
}

/* A tuple of @n fields (NULL = absent); 0 when every field is absent. */
static uint32_t intern_tuple(struct pool *p, const char *const *f, size_t n)
{
    char small[512], *tmp;
    size_t len = 0, at = 0;
    int any = 0;
    uint32_t id;

    for (size_t k = 0; k < n; k++) {
        len += 1 + (f[k] ? clip_len(f[k]) + 1 : 0);
        any |= f[k] != NULL;
    }
    if (!any)
        return 0;
    tmp = len <= sizeof(small) ? small : xmalloc(len);
    for (size_t k = 0; k < n; k++) {
        size_t l;
        if (!f[k]) {
            tmp[at++] = 0;
            continue;
        }
        l = clip_len(f[k]);
        tmp[at++] = 1;
        memcpy(tmp + at, f[k], l);
        at += l;
        tmp[at++] = '\0';
    }
    id = pool_intern(p, tmp, len);
    if (tmp != small)
        free(tmp);
    return id;
}

/* Split tuple @id into @n borrowed fields (NULL when absent). */
static void tuple_fields(const struct pool *p, uint32_t id, const char **out,
                         size_t n)
{
    const char *s = id ? p->items[id]->s : NULL;

    for (size_t k = 0; k < n; k++) {
        out[k] = NULL;
        if (!s)
            continue;
        if (*s++ == 0)
            continue;
        out[k] = s;
        s += strlen(s) + 1;
    }
}

static const char *pool_str(const struct pool *p, uint32_t id)
{
    return id ? p->items[id]->s : NULL;
}

/* ---- records ---------------------------------------------------------- */

struct arec {
    int64_t wall_ns;
    uint64_t seq;
    uint32_t who, entity, subject; /* tuples */
    uint8_t service, entity_type, action, level;
    uint32_t n_changes;
    union {
        uint32_t one[3]; /* n_changes <= 1: property, old, new */
        uint32_t *many;  /* n_changes > 1: 3 ids per change */
    } ch;
};

/* The size include/sim/audit.h promises (and the README quotes). */
_Static_assert(sizeof(struct arec) <= 56, "an audit record grew");

static uint32_t *rec_changes(struct arec *r)
{
    return r->n_changes <= 1 ? r->ch.one : r->ch.many;
}

static const uint32_t *rec_changes_c(const struct arec *r)
{
    return r->n_changes <= 1 ? r->ch.one : r->ch.many;
}

static void rec_release(struct pool *p, struct arec *r)
{
    uint32_t *c = rec_changes(r);

    pool_unref(p, r->who);
    pool_unref(p, r->entity);
    pool_unref(p, r->subject);
    for (size_t k = 0; k < (size_t)r->n_changes * 3; k++)
        pool_unref(p, c[k]);
    if (r->n_changes > 1)
        free(r->ch.many);
}

/* A copy holding its own references. */
static void rec_copy(struct pool *p, struct arec *dst, const struct arec *src)
{
    const uint32_t *c;

    *dst = *src;
    if (src->n_changes > 1) {
        dst->ch.many = xmalloc((size_t)src->n_changes * 3 * sizeof(uint32_t));
        memcpy(dst->ch.many, src->ch.many,
               (size_t)src->n_changes * 3 * sizeof(uint32_t));
    }
    pool_ref(p, dst->who);
    pool_ref(p, dst->entity);
    pool_ref(p, dst->subject);
    c = rec_changes_c(dst);
    for (size_t k = 0; k < (size_t)dst->n_changes * 3; k++)
        pool_ref(p, c[k]);
}

static size_t rec_bytes(const struct arec *r)
{
    return r->n_changes > 1 ? (size_t)r->n_changes * 3 * sizeof(uint32_t) : 0;
}

/* ---- the store -------------------------------------------------------- */

struct audit_tx {
    char id[AUDIT_ID_LEN];
    int64_t created_mono_ns;
    int64_t created_wall_ns;
    struct audit_query *query;
    struct arec *results;
    size_t n_results;
};

struct audit {
    pthread_mutex_t lock;
    struct pool pool;
    struct arec *ring;
    size_t cap, max, head, len;
    uint64_t next_seq, dropped;
    size_t change_bytes; /* many[] arrays of ring records */
    int64_t ready_after_ns;
    uint64_t salt;
    uint64_t next_tx;
    struct audit_tx *txs[AUDIT_TX_MAX]; /* oldest first */
    size_t n_tx, tx_records;
};

/* A UUID-shaped id unique per (@salt, @n). */
static void make_id(uint64_t salt, uint64_t n, char out[AUDIT_ID_LEN])
{
    snprintf(out, AUDIT_ID_LEN, "%08x-%04x-4%03x-8%03x-%012llx",
             (unsigned)(salt >> 32), (unsigned)((salt >> 16) & 0xffff),
             (unsigned)(salt & 0xfff), (unsigned)((n >> 48) & 0xfff),
             (unsigned long long)(n & UINT64_C(0xffffffffffff)));
}

struct audit *audit_new(size_t max_records, int64_t ready_after_ns)
{
    struct audit *self = xcalloc(1, sizeof(*self));

    pthread_mutex_init(&self->lock, NULL);
    pool_init(&self->pool);
    self->max = max_records ? max_records : 1;
    self->ready_after_ns = ready_after_ns;
    /* Ids must differ between simulator runs, as real ones do. */
    while (getrandom(&self->salt, sizeof(self->salt), 0) !=
           (ssize_t)sizeof(self->salt))
        ;
    return self;
}

static void tx_free(struct audit *self, struct audit_tx *tx)
{
    for (size_t k = 0; k < tx->n_results; k++)
        rec_release(&self->pool, &tx->results[k]);
    self->tx_records -= tx->n_results;
    free(tx->results);
    free(tx->query);
    free(tx);
}

void audit_free(struct audit *self)
{
    if (!self)
        return;
    for (size_t k = 0; k < self->n_tx; k++)
        tx_free(self, self->txs[k]);
    for (size_t k = 0; k < self->len; k++)
        rec_release(&self->pool, &self->ring[(self->head + k) % self->cap]);
    free(self->ring);
    pool_release(&self->pool);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

void audit_append(struct audit *self, const struct audit_entry *e)
{
    const char *who[WHO_N] = {e->user_id, e->user_name, e->client_id,
                              e->application, e->remote_ip};
    const char *ent[REF_N] = {e->entity_id, e->entity_name};
    const char *sub[REF_N] = {e->subject_id, e->subject_name};
    struct arec *r;
    uint32_t *c;

    pthread_mutex_lock(&self->lock);
    if (self->len == self->cap && self->cap < self->max) {
        /* Not wrapped yet (head is 0), so a plain realloc keeps order. */
        size_t cap = self->cap ? self->cap * 2 : 1024;
        self->cap = cap < self->max ? cap : self->max;
        self->ring = xreallocarray(self->ring, self->cap, sizeof(*self->ring));
    }
    if (self->len == self->max) {
        r = &self->ring[self->head];
        self->change_bytes -= rec_bytes(r);
        rec_release(&self->pool, r);
        self->head = (self->head + 1) % self->cap;
        self->len--;
        self->dropped++;
    }
    r = &self->ring[(self->head + self->len) % self->cap];
    self->len++;
    memset(r, 0, sizeof(*r));
    r->wall_ns = e->wall_ns;
    r->seq = self->next_seq++;
    r->who = intern_tuple(&self->pool, who, WHO_N);
    r->entity = intern_tuple(&self->pool, ent, REF_N);
    r->subject = intern_tuple(&self->pool, sub, REF_N);
    r->service = (uint8_t)e->service;
    r->entity_type = (uint8_t)e->entity_type;
    r->action = (uint8_t)e->action;
    r->level = (uint8_t)e->level;
    r->n_changes = (uint32_t)e->n_changes;
    if (r->n_changes > 1)
        r->ch.many = xmalloc(e->n_changes * 3 * sizeof(uint32_t));
    c = rec_changes(r);
    for (size_t k = 0; k < e->n_changes; k++) {
        c[3 * k] = intern_str(&self->pool, e->changes[k].property);
        c[3 * k + 1] = intern_str(&self->pool, e->changes[k].old_value);
        c[3 * k + 2] = intern_str(&self->pool, e->changes[k].new_value);
    }
    self->change_bytes += rec_bytes(r);
    pthread_mutex_unlock(&self->lock);
}

void audit_stats(struct audit *self, struct audit_stats *out)
{
    pthread_mutex_lock(&self->lock);
    out->appended = self->next_seq;
    out->dropped = self->dropped;
    out->records = self->len;
    out->record_bytes = self->cap * sizeof(struct arec) + self->change_bytes;
    out->strings = self->pool.live;
    out->string_bytes = self->pool.bytes;
    out->transactions = self->n_tx;
    out->tx_records = self->tx_records;
    pthread_mutex_unlock(&self->lock);
}

/* ---- query parsing ---------------------------------------------------- */

/* One side of an interval; without a zone designator it is UTC. */
static enum rt_err parse_instant(const char *s, size_t len, int64_t *out)
{
    char text[64];
    const char *t;

    if (len == 0 || len + 2 > sizeof(text))
        return RT_EINVAL;
    memcpy(text, s, len);
    text[len] = '\0';
    if (iso8601_parse(text, out) == RT_OK)
        return RT_OK;
    t = strchr(text, 'T');
    if (!t || strpbrk(t, "Zz+-"))
        return RT_EINVAL;
    text[len] = 'Z';
    text[len + 1] = '\0';
    return iso8601_parse(text, out);
}

enum rt_err audit_interval_parse(const char *s, int64_t *from_wall_ns,
                                 int64_t *to_wall_ns)
{
    const char *slash = strchr(s, '/');
    int64_t from, to;

    if (!slash || strchr(slash + 1, '/') ||
        parse_instant(s, (size_t)(slash - s), &from) ||
        parse_instant(slash + 1, strlen(slash + 1), &to) || from >= to)
        return RT_EINVAL;
    *from_wall_ns = from;
    *to_wall_ns = to;
    return RT_OK;
}

static enum rt_err parse_service(struct jread *jr, const cJSON *body,
                                 struct audit_query *q)
{
    const char *s = NULL;

    if (jread_string(jr, body, "", "serviceName", &s))
        return RT_EINVAL;
    if (!s)
        return RT_OK;
    for (size_t k = 0; known_services[k]; k++) {
        if (!strcasecmp(s, known_services[k])) {
            snprintf(q->service, sizeof(q->service), "%s", known_services[k]);
            return RT_OK;
        }
    }
    return jread_fail(jr, "serviceName",
                      "unknown service \"%.64s\" (see "
                      "/api/v2/audits/query/servicemapping)",
                      s);
}

static enum rt_err parse_filters(struct jread *jr, const cJSON *body,
                                 struct audit_query *q)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "filters");
    const cJSON *f;
    char path[JREAD_PATH_MAX];
    int k = 0;

    if (!arr || cJSON_IsNull(arr))
        return RT_OK;
    if (!cJSON_IsArray(arr))
        return jread_fail(jr, "filters", "expected an array");
    if (cJSON_GetArraySize(arr) > AUDIT_FILTERS_MAX)
        return jread_fail(jr, "filters", "at most %d filters",
                          AUDIT_FILTERS_MAX);
    cJSON_ArrayForEach(f, arr)
    {
        struct audit_filter *out = &q->filters[q->n_filters];
        const char *value = NULL;
        int prop = -1;

        jread_path_index(path, sizeof(path), "filters", k++);
        if (!cJSON_IsObject(f))
            return jread_fail(jr, path, "expected an object");
        if (jread_enum(jr, f, path, "property", audit_filter_names, &prop) ||
            jread_string(jr, f, path, "value", &value))
            return RT_EINVAL;
        if (prop < 0)
            return jread_fail(jr, path, "property is required");
        if (!value)
            return jread_fail(jr, path, "value is required");
        if (strlen(value) >= AUDIT_VALUE_MAX)
            return jread_fail(jr, path, "value longer than %d bytes",
                              AUDIT_VALUE_MAX - 1);
        out->property = (enum audit_filter_property)prop;
        snprintf(out->value, sizeof(out->value), "%s", value);
        q->n_filters++;
    }
    return RT_OK;
}

static enum rt_err parse_sort(struct jread *jr, const cJSON *body,
                              struct audit_query *q)
{
    static const char *const names[] = {"Timestamp", NULL};
    static const char *const orders[] = {"ascending", "descending", NULL};
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "sort");
    const cJSON *s;
    char path[JREAD_PATH_MAX];
    int k = 0;

    if (!arr || cJSON_IsNull(arr))
        return RT_OK;
    if (!cJSON_IsArray(arr))
        return jread_fail(jr, "sort", "expected an array");
    cJSON_ArrayForEach(s, arr)
    {
        int name = -1, order = -1;

        jread_path_index(path, sizeof(path), "sort", k);
        if (!cJSON_IsObject(s))
            return jread_fail(jr, path, "expected an object");
        if (jread_enum(jr, s, path, "name", names, &name) ||
            jread_enum(jr, s, path, "sortOrder", orders, &order))
            return RT_EINVAL;
        if (name < 0)
            return jread_fail(jr, path, "name is required");
        if (order < 0)
            return jread_fail(jr, path, "sortOrder is required");
        /* Only Timestamp exists, so the first entry decides. */
        if (k++ == 0) {
            q->has_sort = 1;
            q->descending = order == 1;
        }
    }
    return RT_OK;
}

enum rt_err audit_query_parse(struct jread *jr, const cJSON *body,
                              struct audit_query *q)
{
    const char *interval = NULL;

    memset(q, 0, sizeof(*q));
    if (!cJSON_IsObject(body))
        return jread_fail(jr, NULL, "expected an AuditQueryRequest object");
    if (jread_string(jr, body, "", "interval", &interval))
        return RT_EINVAL;
    if (!interval)
        return jread_fail(jr, "interval", "is required");
    if (strlen(interval) >= sizeof(q->interval) ||
        audit_interval_parse(interval, &q->from_wall_ns, &q->to_wall_ns))
        return jread_fail(jr, "interval",
                          "expected \"<ISO-8601>/<ISO-8601>\" with the "
                          "start before the end");
    snprintf(q->interval, sizeof(q->interval), "%s", interval);
    if (parse_service(jr, body, q) || parse_filters(jr, body, q) ||
        parse_sort(jr, body, q))
        return RT_EINVAL;
    return RT_OK;
}

void audit_query_echo(const struct audit_query *q, cJSON *obj)
{
    cJSON_AddStringToObject(obj, "interval", q->interval);
    if (q->service[0])
        cJSON_AddStringToObject(obj, "serviceName", q->service);
    if (q->n_filters) {
        cJSON *arr = cJSON_AddArrayToObject(obj, "filters");
        for (size_t k = 0; k < q->n_filters; k++) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "property",
                                    audit_filter_names[q->filters[k].property]);
            cJSON_AddStringToObject(f, "value", q->filters[k].value);
            cJSON_AddItemToArray(arr, f);
        }
    }
    if (q->has_sort) {
        cJSON *arr = cJSON_AddArrayToObject(obj, "sort");
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "name", "Timestamp");
        cJSON_AddStringToObject(s, "sortOrder",
                                q->descending ? "descending" : "ascending");
        cJSON_AddItemToArray(arr, s);
    }
}

/* ---- matching --------------------------------------------------------- */

/* Lock held. */
static int filter_hit(const struct audit *self, const struct arec *r,
                      const struct audit_filter *f)
{
    const char *who[WHO_N], *ent[REF_N];

    switch (f->property) {
    case AUDIT_FILTER_USER_ID:
        tuple_fields(&self->pool, r->who, who, WHO_N);
        return who[WHO_USER_ID] && !strcmp(who[WHO_USER_ID], f->value);
    case AUDIT_FILTER_CLIENT_ID:
        tuple_fields(&self->pool, r->who, who, WHO_N);
        return who[WHO_CLIENT_ID] && !strcmp(who[WHO_CLIENT_ID], f->value);
    case AUDIT_FILTER_ACTION:
        return !strcmp(audit_action_names[r->action], f->value);
    case AUDIT_FILTER_ENTITY_TYPE:
        return !strcmp(audit_entity_type_names[r->entity_type], f->value);
    case AUDIT_FILTER_ENTITY_ID:
        tuple_fields(&self->pool, r->entity, ent, REF_N);
        return ent[REF_ID] && !strcmp(ent[REF_ID], f->value);
    case AUDIT_FILTER_TRUSTEE_ORGANIZATION_ID:
    case AUDIT_FILTER_COUNT:
        break;
    }
    return 0;
}

/* Lock held.  Same property ORed, different properties ANDed. */
static int rec_matches(const struct audit *self, const struct arec *r,
                       const struct audit_query *q)
{
    if (r->wall_ns < q->from_wall_ns || r->wall_ns >= q->to_wall_ns)
        return 0;
    if (q->service[0] && strcmp(audit_service_names[r->service], q->service))
        return 0;
    for (int p = 0; p < AUDIT_FILTER_COUNT; p++) {
        int seen = 0, hit = 0;
        for (size_t k = 0; k < q->n_filters && !hit; k++) {
            if ((int)q->filters[k].property != p)
                continue;
            seen = 1;
            hit = filter_hit(self, r, &q->filters[k]);
        }
        if (seen && !hit)
            return 0;
    }
    return 1;
}

static int cmp_asc(const void *a, const void *b)
{
    const struct arec *x = *(const struct arec *const *)a;
    const struct arec *y = *(const struct arec *const *)b;

    if (x->wall_ns != y->wall_ns)
        return x->wall_ns < y->wall_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_desc(const void *a, const void *b)
{
    return cmp_asc(b, a);
}

/* Lock held.  The ring records matching @q, sorted; caller frees the
 * array (the records stay borrowed under the lock). */
static size_t collect(struct audit *self, const struct audit_query *q,
                      struct arec ***out)
{
    struct arec **hits = NULL;
    size_t n = 0, cap = 0;

    for (size_t k = 0; k < self->len; k++) {
        struct arec *r = &self->ring[(self->head + k) % self->cap];
        if (!rec_matches(self, r, q))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            hits = xreallocarray(hits, cap, sizeof(*hits));
        }
        hits[n++] = r;
    }
    if (n > 1)
        qsort(hits, n, sizeof(*hits), q->descending ? cmp_desc : cmp_asc);
    *out = hits;
    return n;
}

/* ---- rendering -------------------------------------------------------- */

static void add_ref(cJSON *obj, const char *key, const char *id,
                    const char *name, const char *uri_prefix)
{
    cJSON *o = cJSON_AddObjectToObject(obj, key);
    char uri[256];

    cJSON_AddStringToObject(o, "id", id);
    if (name)
        cJSON_AddStringToObject(o, "name", name);
    if (uri_prefix) {
        snprintf(uri, sizeof(uri), "%s%.128s", uri_prefix, id);
        cJSON_AddStringToObject(o, "selfUri", uri);
    }
}

static cJSON *values_json(const struct pool *p, uint32_t id)
{
    cJSON *arr = cJSON_CreateArray();

    if (id)
        cJSON_AddItemToArray(arr, cJSON_CreateString(pool_str(p, id)));
    return arr;
}

/* Lock held.  One AuditLogMessage. */
static cJSON *render(const struct audit *self, const struct arec *r,
                     int expand_user)
{
    const struct pool *p = &self->pool;
    const char *who[WHO_N], *ent[REF_N], *sub[REF_N];
    const uint32_t *c = rec_changes_c(r);
    cJSON *o = cJSON_CreateObject(), *arr;
    char id[AUDIT_ID_LEN], when[ISO8601_LEN];

    tuple_fields(p, r->who, who, WHO_N);
    tuple_fields(p, r->entity, ent, REF_N);
    tuple_fields(p, r->subject, sub, REF_N);
    make_id(self->salt, r->seq, id);
    cJSON_AddStringToObject(o, "id", id);
    if (who[WHO_USER_ID])
        add_ref(o, "user", who[WHO_USER_ID],
                expand_user ? who[WHO_USER_NAME] : NULL, "/api/v2/users/");
    if (who[WHO_CLIENT_ID])
        add_ref(o, "client", who[WHO_CLIENT_ID], NULL,
                "/api/v2/oauth/clients/");
    if (who[WHO_IP]) {
        arr = cJSON_AddArrayToObject(o, "remoteIp");
        cJSON_AddItemToArray(arr, cJSON_CreateString(who[WHO_IP]));
    }
    cJSON_AddStringToObject(o, "serviceName", audit_service_names[r->service]);
    cJSON_AddStringToObject(o, "level", audit_level_names[r->level]);
    cJSON_AddStringToObject(o, "eventDate",
                            iso8601_format_ms(r->wall_ns, when, sizeof(when)));
    cJSON_AddStringToObject(o, "action", audit_action_names[r->action]);
    if (ent[REF_ID])
        add_ref(o, "entity", ent[REF_ID], ent[REF_NAME],
                r->entity_type == AUDIT_ENTITY_QUEUE ? "/api/v2/routing/queues/"
                                                     : "/api/v2/users/");
    cJSON_AddStringToObject(o, "entityType",
                            audit_entity_type_names[r->entity_type]);
    cJSON_AddStringToObject(o, "status", "SUCCESS");
    if (who[WHO_APP])
        cJSON_AddStringToObject(o, "application", who[WHO_APP]);
    arr = cJSON_AddArrayToObject(o, "propertyChanges");
    for (size_t k = 0; k < r->n_changes; k++) {
        cJSON *pc = cJSON_CreateObject();
        cJSON_AddStringToObject(pc, "property", pool_str(p, c[3 * k]));
        cJSON_AddItemToObject(pc, "oldValues", values_json(p, c[3 * k + 1]));
        cJSON_AddItemToObject(pc, "newValues", values_json(p, c[3 * k + 2]));
        cJSON_AddItemToArray(arr, pc);
    }
    arr = cJSON_AddObjectToObject(o, "context");
    if (sub[REF_ID]) {
        cJSON *ec;
        cJSON_AddStringToObject(arr, "userId", sub[REF_ID]);
        arr = cJSON_AddArrayToObject(o, "entityChanges");
        ec = cJSON_CreateObject();
        cJSON_AddStringToObject(ec, "entityId", sub[REF_ID]);
        if (sub[REF_NAME])
            cJSON_AddStringToObject(ec, "entityName", sub[REF_NAME]);
        cJSON_AddStringToObject(ec, "entityType", "User");
        cJSON_AddItemToArray(arr, ec);
    }
    return o;
}

/* ---- realtime --------------------------------------------------------- */

cJSON *audit_realtime(struct audit *self, const struct audit_query *q,
                      int64_t page_number, int64_t page_size, int expand_user)
{
    cJSON *o = cJSON_CreateObject(), *entities;
    struct arec **hits;
    size_t n, first;

    entities = cJSON_AddArrayToObject(o, "entities");
    pthread_mutex_lock(&self->lock);
    n = collect(self, q, &hits);
    first = (size_t)(page_number - 1) * (size_t)page_size;
    for (size_t k = first; k < n && k < first + (size_t)page_size; k++)
        cJSON_AddItemToArray(entities, render(self, hits[k], expand_user));
    pthread_mutex_unlock(&self->lock);
    free(hits);
    cJSON_AddNumberToObject(o, "pageSize", (double)page_size);
    cJSON_AddNumberToObject(o, "pageNumber", (double)page_number);
    cJSON_AddNumberToObject(o, "total", (double)n);
    cJSON_AddNumberToObject(
        o, "pageCount",
        (double)((n + (size_t)page_size - 1) / (size_t)page_size));
    return o;
}

/* ---- asynchronous transactions ---------------------------------------- */

/* Lock held. */
static struct audit_tx *tx_find(struct audit *self, const char *id)
{
    for (size_t k = 0; id && k < self->n_tx; k++)
        if (!strcmp(self->txs[k]->id, id))
            return self->txs[k];
    return NULL;
}

/* Lock held. */
static int tx_ready(const struct audit *self, const struct audit_tx *tx)
{
    return clock_mono_ns() - tx->created_mono_ns >= self->ready_after_ns;
}

/* Lock held. */
static cJSON *tx_status(const struct audit *self, const struct audit_tx *tx)
{
    cJSON *o = cJSON_CreateObject();
    char when[ISO8601_LEN];

    cJSON_AddStringToObject(o, "id", tx->id);
    cJSON_AddStringToObject(o, "state",
                            tx_ready(self, tx) ? "Succeeded" : "Running");
    cJSON_AddStringToObject(
        o, "startDate",
        iso8601_format_ms(tx->created_wall_ns, when, sizeof(when)));
    audit_query_echo(tx->query, o);
    return o;
}

/* Lock held: drop the oldest transaction. */
static void tx_drop_oldest(struct audit *self)
{
    tx_free(self, self->txs[0]);
    memmove(&self->txs[0], &self->txs[1],
            (self->n_tx - 1) * sizeof(self->txs[0]));
    self->n_tx--;
}

cJSON *audit_tx_start(struct audit *self, const struct audit_query *q)
{
    struct audit_tx *tx = xcalloc(1, sizeof(*tx));
    struct arec **hits;
    cJSON *status;

    tx->query = xmalloc(sizeof(*tx->query));
    *tx->query = *q;
    tx->created_wall_ns = clock_wall_ns();
    tx->created_mono_ns = clock_mono_ns();
    pthread_mutex_lock(&self->lock);
    make_id(self->salt ^ UINT64_C(0x5a5a5a5a00000000), self->next_tx++, tx->id);
    tx->n_results = collect(self, q, &hits);
    while (self->n_tx > 0 && (self->n_tx == AUDIT_TX_MAX ||
                              self->tx_records + tx->n_results > self->max))
        tx_drop_oldest(self);
    tx->results =
        xcalloc(tx->n_results ? tx->n_results : 1, sizeof(*tx->results));
    for (size_t k = 0; k < tx->n_results; k++)
        rec_copy(&self->pool, &tx->results[k], hits[k]);
    self->tx_records += tx->n_results;
    self->txs[self->n_tx++] = tx;
    status = tx_status(self, tx);
    pthread_mutex_unlock(&self->lock);
    free(hits);
    return status;
}

cJSON *audit_tx_status(struct audit *self, const char *id)
{
    struct audit_tx *tx;
    cJSON *o = NULL;

    pthread_mutex_lock(&self->lock);
    if ((tx = tx_find(self, id)))
        o = tx_status(self, tx);
    pthread_mutex_unlock(&self->lock);
    return o;
}

enum rt_err audit_tx_results(struct audit *self, const char *id,
                             const char *cursor, int64_t page_size,
                             int expand_user, cJSON **out)
{
    struct audit_tx *tx;
    int64_t first = 0;
    enum rt_err err = RT_OK;
    cJSON *o, *entities;

    pthread_mutex_lock(&self->lock);
    if (!(tx = tx_find(self, id))) {
        err = RT_ENOENT;
        goto out;
    }
    if (!tx_ready(self, tx)) {
        err = RT_EBUSY;
        goto out;
    }
    /* Cursors are offsets this transaction handed out: past the first
     * page and before its end. */
    if (cursor && *cursor &&
        (units_parse_i64(cursor, &first) || first <= 0 ||
         (uint64_t)first >= tx->n_results)) {
        err = RT_EINVAL;
        goto out;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", tx->id);
    cJSON_AddNumberToObject(o, "pageSize", (double)page_size);
    if ((uint64_t)(first + page_size) < tx->n_results) {
        char next[32];
        snprintf(next, sizeof(next), "%lld", (long long)(first + page_size));
        cJSON_AddStringToObject(o, "cursor", next);
    }
    entities = cJSON_AddArrayToObject(o, "entities");
    for (int64_t k = first;
         (uint64_t)k < tx->n_results && k < first + page_size; k++)
        cJSON_AddItemToArray(entities,
                             render(self, &tx->results[k], expand_user));
    *out = o;
out:
    pthread_mutex_unlock(&self->lock);
    return err;
}

/* ---- service mapping -------------------------------------------------- */

cJSON *audit_service_mapping(void)
{
    static const struct {
        enum audit_service service;
        enum audit_entity_type entity;
        unsigned actions; /* bit per enum audit_action */
    } rows[] = {
        {AUDIT_SERVICE_DIRECTORY, AUDIT_ENTITY_USER, 1u << AUDIT_ACTION_UPDATE},
        {AUDIT_SERVICE_PRESENCE, AUDIT_ENTITY_USER_PRESENCE,
         1u << AUDIT_ACTION_UPDATE},
        {AUDIT_SERVICE_ROUTING, AUDIT_ENTITY_USER, 1u << AUDIT_ACTION_UPDATE},
        {AUDIT_SERVICE_ROUTING, AUDIT_ENTITY_AGENT_ROUTING_INFO,
         1u << AUDIT_ACTION_UPDATE},
        {AUDIT_SERVICE_ROUTING, AUDIT_ENTITY_QUEUE,
         (1u << AUDIT_ACTION_MEMBER_ADD) | (1u << AUDIT_ACTION_MEMBER_REMOVE) |
             (1u << AUDIT_ACTION_UPDATE)},
    };
    cJSON *o = cJSON_CreateObject();
    cJSON *services = cJSON_AddArrayToObject(o, "services");

    for (int s = 0; s < AUDIT_SERVICE_COUNT; s++) {
        cJSON *svc = cJSON_CreateObject(), *ents;
        cJSON_AddStringToObject(svc, "name", audit_service_names[s]);
        ents = cJSON_AddArrayToObject(svc, "entities");
        for (size_t k = 0; k < COUNT(rows); k++) {
            cJSON *e, *acts;
            if ((int)rows[k].service != s)
                continue;
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name",
                                    audit_entity_type_names[rows[k].entity]);
            acts = cJSON_AddArrayToObject(e, "actions");
            for (int a = 0; a < AUDIT_ACTION_COUNT; a++)
                if (rows[k].actions & (1u << a))
                    cJSON_AddItemToArray(
                        acts, cJSON_CreateString(audit_action_names[a]));
            cJSON_AddItemToArray(ents, e);
        }
        cJSON_AddItemToArray(services, svc);
    }
    return o;
}
