/*
 * The simulator's notifications (genesys-api.md §4) end to end: channels
 * and subscriptions over HTTP through the real api client, the stream
 * through a libwebsockets client (tests/support/wsclient).  Waits are for
 * a message with a generous deadline; no assertion depends on timing.
 * Fault times (world.notifications) count from the simulator's start and
 * are set well after the connection the test makes right away.
 *
 *  - channels: id and connectUri shape, 24 h expiry, listing, HEAD, one
 *    client cannot see another's channel;
 *  - subscriptions: combined topics expand, add/replace/list/remove,
 *    rejected topics, the 1,000-topic limit;
 *  - the 21st channel evicts the least recently used unconnected one;
 *  - events for subscribed agents only, in the real envelope, saying what
 *    REST says; the running world's transitions reach the stream;
 *  - heartbeat, ping/pong, a second connection kicking the first, unknown
 *    channels refused, socket_closing then close, drop, silence, and
 *    stream.csv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/oauth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "sim/notify.h"
#include "sim/sim.h"
#include "support/files.h"
#include "support/wsclient.h"

#define WAIT_NS (10 * NS_PER_S)
#define QUIET_NS (1 * NS_PER_S)
#define OTHER_CLIENT "other-client"
#define AWAY_ID "5e5c5c66-ea97-4e7f-ac41-6424784829f2"
#define BUSY_ID "31fe3bac-dea6-44b7-bed7-47f91660a1a0"

struct t {
    struct sim *sim;
    struct http_client *http;
    struct http_response resp;
    char bearer[OAUTH_HEADER_MAX];
    char other[OAUTH_HEADER_MAX]; /* a second OAuth client */
};

static void get_token(struct t *t, const char *client_id, char *out,
                      size_t out_len)
{
    const struct sim_config *cfg = sim_config(t->sim);
    struct oauth_token tok;

    assert_int_equal(oauth_request_token(t->http, sim_url(t->sim), client_id,
                                         cfg->client_secret, &t->resp, &tok),
                     RT_OK);
    snprintf(out, out_len, "Authorization: Bearer %s", tok.access_token);
}

/* A still world (unless @moving) with every agent On Queue and IDLE, and
 * a second OAuth client through an integration actor that practically
 * never acts. */
static void config(struct sim_config *cfg, int64_t agents, int moving)
{
    struct sim_actor_config *a;

    sim_config_defaults(cfg);
    cfg->port = 0;
    cfg->agents = agents;
    cfg->world.presence_enabled = moving;
    cfg->world.on_queue_share = 1.0;
    cfg->world.mean_idle_ns = 20 * NS_PER_MS;
    cfg->world.mean_handle_ns = 30 * NS_PER_MS;
    a = &cfg->world.actors[cfg->world.n_actors++];
    memset(a, 0, sizeof(*a));
    a->kind = SIM_ACTOR_INTEGRATION;
    snprintf(a->name, sizeof(a->name), "integration");
    snprintf(a->client_id, sizeof(a->client_id), OTHER_CLIENT);
    a->p = 1.0;
    a->share = 1.0 / (double)agents;
    a->period_ns = 24 * 3600 * NS_PER_S;
    a->gap_lo_ns = NS_PER_MS;
    a->gap_hi_ns = NS_PER_MS;
    a->at_ns = -1;
}

static void start(struct t *t, struct sim_config *cfg)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(sim_start(&t->sim, cfg), RT_OK);
    assert_int_equal(http_client_new(&t->http, NULL), RT_OK);
    http_response_init(&t->resp);
    get_token(t, cfg->client_id, t->bearer, sizeof(t->bearer));
    get_token(t, OTHER_CLIENT, t->other, sizeof(t->other));
}

static void stop(struct t *t)
{
    http_response_release(&t->resp);
    http_client_free(t->http);
    sim_stop(t->sim);
}

/* One request as @bearer; returns the status. */
static long call(struct t *t, const char *bearer, const char *method,
                 const char *path, const char *body)
{
    struct http_request req;
    char url[512];

    memset(&req, 0, sizeof(req));
    snprintf(url, sizeof(url), "%s%s", sim_url(t->sim), path);
    req.method = method;
    req.url = url;
    req.headers[req.n_headers++] = bearer;
    if (body) {
        req.headers[req.n_headers++] = "Content-Type: application/json";
        req.body = body;
        req.body_len = strlen(body);
    }
    assert_int_equal(http_client_perform(t->http, &req, &t->resp), RT_OK);
    return t->resp.status;
}

static cJSON *body_json(struct t *t)
{
    cJSON *o = cJSON_Parse(buf_str(&t->resp.body));

    if (!o)
        fail_msg("not JSON: '%s'", buf_str(&t->resp.body));
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *item(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void assert_error(struct t *t, long status)
{
    cJSON *o;

    assert_int_equal(t->resp.status, status);
    o = body_json(t);
    assert_int_equal((long)item(o, "status")->valuedouble, status);
    assert_string_equal(str(o, "contextId"), t->resp.correlation_id);
    assert_true(strlen(str(o, "message")) > 0);
    cJSON_Delete(o);
}

/* POST a channel as @bearer; its id into @id. */
static void create_channel(struct t *t, const char *bearer,
                           char id[SIM_NOTIFY_CHANNEL_ID_LEN], char *uri,
                           size_t uri_len)
{
    cJSON *o;

    assert_int_equal(
        call(t, bearer, "POST", "/api/v2/notifications/channels", NULL), 200);
    o = body_json(t);
    assert_true(strlen(str(o, "id")) < SIM_NOTIFY_CHANNEL_ID_LEN);
    snprintf(id, SIM_NOTIFY_CHANNEL_ID_LEN, "%s", str(o, "id"));
    if (uri)
        snprintf(uri, uri_len, "%s", str(o, "connectUri"));
    cJSON_Delete(o);
}

/* @method (POST/PUT) @body on the channel's subscriptions; the status. */
static long subscribe(struct t *t, const char *bearer, const char *method,
                      const char *channel, const char *body)
{
    char path[160];

    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/subscriptions", channel);
    return call(t, bearer, method, path, body);
}

static const char *agent(struct t *t, size_t i)
{
    return org_agent_id(sim_org(t->sim), i);
}

static void set_presence(struct t *t, size_t i, const char *definition_id)
{
    char path[128], body[128];

    snprintf(path, sizeof(path), "/api/v2/users/%s/presences/purecloud",
             agent(t, i));
    snprintf(body, sizeof(body), "{\"presenceDefinition\":{\"id\":\"%s\"}}",
             definition_id);
    assert_int_equal(call(t, t->bearer, "PATCH", path, body), 200);
}

/* The next message that is not a heartbeat, parsed; NULL when the
 * connection ended or nothing came within WAIT_NS. */
static cJSON *next_json(struct wsclient *ws, int64_t timeout_ns)
{
    for (;;) {
        char *text;
        cJSON *o;
        if (wsclient_next(ws, timeout_ns, &text) != WSCLIENT_MESSAGE)
            return NULL;
        o = cJSON_Parse(text);
        if (!o)
            fail_msg("stream message is not JSON: '%s'", text);
        free(text);
        if (!strcmp(str(o, "topicName"), "channel.metadata") &&
            !strcmp(str(item(o, "eventBody"), "message"),
                    "WebSocket Heartbeat")) {
            cJSON_Delete(o);
            continue;
        }
        return o;
    }
}

static struct wsclient *connect_ws(const char *uri)
{
    struct wsclient *ws = NULL;
    int status;

    if (wsclient_connect(&ws, uri, WAIT_NS, &status))
        fail_msg("cannot connect to '%s' (HTTP %d)", uri, status);
    return ws;
}

/* Drain @ws until it ends; the messages that were not heartbeats are
 * counted into *n_other. */
static void assert_closes(struct wsclient *ws, int *n_other)
{
    char *text;
    enum wsclient_next r;

    *n_other = 0;
    while ((r = wsclient_next(ws, WAIT_NS, &text)) == WSCLIENT_MESSAGE) {
        if (!strstr(text, "WebSocket Heartbeat"))
            (*n_other)++;
        free(text);
    }
    assert_int_equal(r, WSCLIENT_CLOSED);
}

/* ------------------------------------------------------------------ */

static void channels_have_ids_uris_expiry_and_owners(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160], want[160], path[160];
    int64_t expires, before;
    cJSON *o;

    (void)state;
    config(&cfg, 2, 0);
    start(&t, &cfg);
    before = clock_wall_ns();
    assert_int_equal(
        call(&t, t.bearer, "POST", "/api/v2/notifications/channels", NULL),
        200);
    o = body_json(&t);
    snprintf(id, sizeof(id), "%s", str(o, "id"));
    snprintf(uri, sizeof(uri), "%s", str(o, "connectUri"));
    assert_int_equal(strlen(id), strlen("streaming-0-") + 26);
    assert_memory_equal(id, "streaming-0-", strlen("streaming-0-"));
    for (const char *p = id + strlen("streaming-0-"); *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
    snprintf(want, sizeof(want), "ws://127.0.0.1:%u/channels/%s",
             (unsigned)sim_stream_port(t.sim), id);
    assert_string_equal(uri, want);
    assert_true(sim_stream_port(t.sim) > 0);
    assert_int_equal(iso8601_parse(str(o, "expires"), &expires), RT_OK);
    /* 24 h from creation, to the millisecond the server printed. */
    assert_true(expires >= before - NS_PER_MS + 24 * 3600 * NS_PER_S);
    assert_true(expires <= clock_wall_ns() + 24 * 3600 * NS_PER_S);
    cJSON_Delete(o);

    assert_int_equal(
        call(&t, t.bearer, "GET", "/api/v2/notifications/channels", NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1);
    assert_string_equal(str(cJSON_GetArrayItem(item(o, "entities"), 0), "id"),
                        id);
    assert_string_equal(
        str(cJSON_GetArrayItem(item(o, "entities"), 0), "connectUri"), uri);
    cJSON_Delete(o);
    assert_int_equal(call(&t, t.bearer, "GET",
                          "/api/v2/notifications/"
                          "channels?includechannels=oauthclient",
                          NULL),
                     200);
    assert_int_equal(call(&t, t.bearer, "GET",
                          "/api/v2/notifications/channels?includechannels=x",
                          NULL),
                     400);
    assert_error(&t, 400);

    snprintf(path, sizeof(path), "/api/v2/notifications/channels/%s", id);
    assert_int_equal(call(&t, t.bearer, "HEAD", path, NULL), 200);
    assert_int_equal(call(&t, t.bearer, "HEAD",
                          "/api/v2/notifications/channels/"
                          "streaming-0-doesnotexist",
                          NULL),
                     404);

    /* Another client sees nothing of it. */
    assert_int_equal(call(&t, t.other, "HEAD", path, NULL), 404);
    assert_int_equal(subscribe(&t, t.other, "PUT", id, "[]"), 404);
    assert_error(&t, 404);
    assert_int_equal(
        call(&t, t.other, "GET", "/api/v2/notifications/channels", NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 0);
    cJSON_Delete(o);
    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/subscriptions", id);
    assert_int_equal(call(&t, t.other, "GET", path, NULL), 404);
    assert_error(&t, 404);
    assert_int_equal(call(&t, t.other, "DELETE", path, NULL), 404);
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    stop(&t);
}

/* The entity with @id in a ChannelTopicEntityListing, or NULL. */
static const cJSON *find_topic(const cJSON *listing, const char *id)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, item(listing, "entities"))
    {
        if (!strcmp(str(e, "id"), id))
            return e;
    }
    return NULL;
}

static void assert_permitted(const cJSON *listing, const char *id)
{
    const cJSON *e = find_topic(listing, id);

    if (!e)
        fail_msg("topic '%s' missing", id);
    assert_string_equal(str(e, "state"), "Permitted");
}

static void assert_rejected(const cJSON *listing, const char *id)
{
    const cJSON *e = find_topic(listing, id);

    if (!e)
        fail_msg("topic '%s' missing", id);
    assert_string_equal(str(e, "state"), "Rejected");
    assert_true(strlen(str(e, "rejectionReason")) > 0);
    assert_true(cJSON_IsArray(item(e, "missingPermissions")));
}

static void subscriptions_expand_add_replace_reject_and_limit(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], topic[160], body[512], path[160];
    struct buf big;
    cJSON *o;

    (void)state;
    config(&cfg, 340, 0);
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, NULL, 0);

    snprintf(body, sizeof(body),
             "[{\"id\":\"v2.users.%s?presence&routingStatus&activity\"}]",
             agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "POST", id, body), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 3);
    snprintf(topic, sizeof(topic), "v2.users.%s.presence", agent(&t, 0));
    assert_permitted(o, topic);
    snprintf(topic, sizeof(topic), "v2.users.%s.routingStatus", agent(&t, 0));
    assert_permitted(o, topic);
    snprintf(topic, sizeof(topic), "v2.users.%s.activity", agent(&t, 0));
    assert_permitted(o, topic);
    cJSON_Delete(o);

    /* POST adds, without duplicates; bad topics come back Rejected. */
    snprintf(body, sizeof(body),
             "[{\"id\":\"v2.users.%s.presence\"},"
             "{\"id\":\"v2.users.%s.presence\"},"
             "{\"id\":\"v2.users.00000000-0000-4000-8000-000000000000."
             "presence\"},"
             "{\"id\":\"v2.users.%s.conversations\"},"
             "{\"id\":\"v2.users.%s.routingstatus\"},"
             "{\"id\":\"v2.routing.queues.q1.users\"}]",
             agent(&t, 1), agent(&t, 0), agent(&t, 0), agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "POST", id, body), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 4 + 4);
    snprintf(topic, sizeof(topic), "v2.users.%s.presence", agent(&t, 1));
    assert_permitted(o, topic);
    assert_rejected(o, "v2.users.00000000-0000-4000-8000-000000000000."
                       "presence");
    snprintf(topic, sizeof(topic), "v2.users.%s.conversations", agent(&t, 0));
    assert_rejected(o, topic);
    snprintf(topic, sizeof(topic), "v2.users.%s.routingstatus", agent(&t, 0));
    assert_rejected(o, topic);
    assert_rejected(o, "v2.routing.queues.q1.users");
    cJSON_Delete(o);

    /* GET lists what the channel carries, nothing rejected. */
    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/subscriptions", id);
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 4);
    cJSON_Delete(o);

    /* PUT replaces; DELETE removes all. */
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.activity\"}]",
             agent(&t, 2));
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, body), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1);
    snprintf(topic, sizeof(topic), "v2.users.%s.activity", agent(&t, 2));
    assert_permitted(o, topic);
    cJSON_Delete(o);
    assert_int_equal(call(&t, t.bearer, "DELETE", path, NULL), 204);
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 0);
    cJSON_Delete(o);

    /* A combined topic over 200 characters is refused. */
    {
        char longer[400];
        int n = snprintf(longer, sizeof(longer), "v2.users.%s?presence",
                         agent(&t, 0));
        while (n < 200)
            n += snprintf(longer + n, sizeof(longer) - (size_t)n, "&presence");
        snprintf(body, sizeof(body), "[{\"id\":\"%s\"}]", longer);
        assert_int_equal(subscribe(&t, t.bearer, "PUT", id, body), 200);
        o = body_json(&t);
        assert_rejected(o, longer);
        assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1);
        cJSON_Delete(o);
    }

    /* Malformed bodies and flags. */
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, "{\"id\":\"x\"}"), 400);
    assert_error(&t, 400);
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, "[{\"name\":\"x\"}]"),
                     400);
    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/"
             "subscriptions?ignoreErrors=perhaps",
             id);
    assert_int_equal(call(&t, t.bearer, "PUT", path, "[]"), 400);
    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/"
             "subscriptions?ignoreErrors=true",
             id);
    assert_int_equal(call(&t, t.bearer, "PUT", path, "[]"), 200);

    /* 1,000 topics fit; the 1,001st is a 400 and changes nothing. */
    buf_init(&big, 1 << 20);
    assert_int_equal(buf_putc(&big, '['), RT_OK);
    for (size_t k = 0; k < 1000; k++) {
        static const char *const kinds[] = {"presence", "routingStatus",
                                            "activity"};
        assert_int_equal(buf_printf(&big, "%s{\"id\":\"v2.users.%s.%s\"}",
                                    k ? "," : "", agent(&t, k / 3),
                                    kinds[k % 3]),
                         RT_OK);
    }
    assert_int_equal(buf_putc(&big, ']'), RT_OK);
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, buf_str(&big)), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1000);
    cJSON_Delete(o);
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.routingStatus\"}]",
             agent(&t, 339));
    assert_int_equal(subscribe(&t, t.bearer, "POST", id, body), 400);
    assert_error(&t, 400);
    /* A duplicate adds nothing, so it still fits. */
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.presence\"}]",
             agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "POST", id, body), 200);
    snprintf(path, sizeof(path),
             "/api/v2/notifications/channels/%s/subscriptions", id);
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 1000);
    cJSON_Delete(o);
    big.len--; /* drop ']' and add a 1,001st topic to one PUT */
    assert_int_equal(
        buf_printf(&big, ",{\"id\":\"v2.users.%s.presence\"}]", agent(&t, 339)),
        RT_OK);
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, buf_str(&big)), 400);
    assert_error(&t, 400);
    buf_release(&big);
    stop(&t);
}

static void the_21st_channel_evicts_the_oldest_unconnected(void **state)
{
    struct sim_config cfg;
    struct t t;
    char ids[21][SIM_NOTIFY_CHANNEL_ID_LEN], uri[160], path[1024];
    struct sim_notify_stats st;
    struct wsclient *ws;
    cJSON *o;

    (void)state;
    config(&cfg, 2, 0);
    start(&t, &cfg);
    create_channel(&t, t.bearer, ids[0], uri, sizeof(uri));
    for (int k = 1; k < 20; k++)
        create_channel(&t, t.bearer, ids[k], NULL, 0);
    /* The other client's channels count separately. */
    for (int k = 0; k < 3; k++) {
        char other[SIM_NOTIFY_CHANNEL_ID_LEN];
        create_channel(&t, t.other, other, NULL, 0);
    }
    /* The first channel is connected, then the others are used in order,
     * so the first is the least recently used: being connected spares it
     * and the second goes. */
    ws = connect_ws(uri);
    for (int k = 1; k < 20; k++) {
        snprintf(path, sizeof(path),
                 "/api/v2/notifications/channels/%s/subscriptions", ids[k]);
        assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    }
    create_channel(&t, t.bearer, ids[20], NULL, 0);
    for (int k = 0; k < 21; k++) {
        snprintf(path, sizeof(path), "/api/v2/notifications/channels/%s",
                 ids[k]);
        assert_int_equal(call(&t, t.bearer, "HEAD", path, NULL),
                         k == 1 ? 404 : 200);
    }
    assert_int_equal(
        call(&t, t.bearer, "GET", "/api/v2/notifications/channels", NULL), 200);
    o = body_json(&t);
    assert_int_equal(cJSON_GetArraySize(item(o, "entities")), 20);
    cJSON_Delete(o);
    sim_notify_stats(sim_notify(t.sim), &st);
    assert_int_equal(st.channels_evicted, 1);
    assert_int_equal(st.channels_created, 24);
    wsclient_free(ws);
    stop(&t);
}

/* Events in the envelope, for subscribed agents and topics only, saying
 * what REST says. */
static void events_match_rest_for_subscribed_agents_only(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160], body[512], path[160];
    char t_presence[128], t_routing[128], t_activity[128], t_other[128];
    int seen_presence = 0, seen_routing = 0, seen_activity = 0;
    struct wsclient *ws;
    cJSON *rest_p, *rest_r, *o;

    (void)state;
    config(&cfg, 3, 0);
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    snprintf(body, sizeof(body),
             "[{\"id\":\"v2.users.%s?presence&routingStatus&activity\"},"
             "{\"id\":\"v2.users.%s.presence\"}]",
             agent(&t, 0), agent(&t, 1));
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, body), 200);
    ws = connect_ws(uri);
    snprintf(t_presence, sizeof(t_presence), "v2.users.%s.presence",
             agent(&t, 0));
    snprintf(t_routing, sizeof(t_routing), "v2.users.%s.routingStatus",
             agent(&t, 0));
    snprintf(t_activity, sizeof(t_activity), "v2.users.%s.activity",
             agent(&t, 0));
    snprintf(t_other, sizeof(t_other), "v2.users.%s.presence", agent(&t, 1));

    /* Agent 0: On Queue/IDLE → Away/OFF_QUEUE gives one presence, one
     * routingStatus and two activity events.  Agent 2 is not subscribed;
     * agent 1 only for presence, and it changes last, so its event closes
     * the sequence. */
    set_presence(&t, 0, AWAY_ID);
    set_presence(&t, 2, AWAY_ID);
    set_presence(&t, 1, BUSY_ID);
    snprintf(path, sizeof(path), "/api/v2/users/%s/presences/purecloud",
             agent(&t, 0));
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    rest_p = body_json(&t);
    snprintf(path, sizeof(path), "/api/v2/users/%s/routingstatus",
             agent(&t, 0));
    assert_int_equal(call(&t, t.bearer, "GET", path, NULL), 200);
    rest_r = body_json(&t);
    assert_string_equal(str(rest_r, "status"), "OFF_QUEUE");

    while ((o = next_json(ws, WAIT_NS))) {
        const char *topic = str(o, "topicName");
        const cJSON *b = item(o, "eventBody");
        const cJSON *def;
        int done = 0;

        assert_string_equal(str(o, "version"), "2");
        assert_int_equal(strlen(str(item(o, "metadata"), "CorrelationId")), 36);
        if (!strcmp(topic, t_presence)) {
            const cJSON *rest_def = item(rest_p, "presenceDefinition");
            seen_presence++;
            def = item(b, "presenceDefinition");
            assert_string_equal(str(def, "id"), AWAY_ID);
            assert_string_equal(str(def, "id"), str(rest_def, "id"));
            assert_string_equal(str(def, "systemPresence"),
                                str(rest_def, "systemPresence"));
            assert_string_equal(str(b, "modifiedDate"),
                                str(rest_p, "modifiedDate"));
            assert_string_equal(str(b, "source"), str(rest_p, "source"));
            assert_true(cJSON_IsTrue(item(b, "primary")));
        } else if (!strcmp(topic, t_routing)) {
            seen_routing++;
            assert_string_equal(str(b, "id"), agent(&t, 0));
            assert_string_equal(str(item(b, "routingStatus"), "status"),
                                "OFF_QUEUE");
            assert_string_equal(str(item(b, "routingStatus"), "startTime"),
                                str(rest_r, "startTime"));
        } else if (!strcmp(topic, t_activity)) {
            seen_activity++;
            assert_string_equal(str(b, "id"), agent(&t, 0));
            def = item(item(b, "presence"), "presenceDefinition");
            assert_string_equal(str(def, "id"), AWAY_ID);
            assert_string_equal(str(def, "systemPresence"), "AWAY");
            assert_string_equal(str(item(b, "presence"), "modifiedDate"),
                                str(rest_p, "modifiedDate"));
            assert_true(cJSON_IsArray(item(b, "activeQueueIds")));
            assert_true(cJSON_IsObject(item(b, "outOfOffice")));
            if (seen_activity == 2)
                assert_string_equal(str(item(b, "routingStatus"), "status"),
                                    "OFF_QUEUE");
        } else if (!strcmp(topic, t_other)) {
            assert_string_equal(
                str(item(b, "presenceDefinition"), "systemPresence"), "Busy");
            done = 1;
        } else {
            fail_msg("unexpected topic '%s'", topic);
        }
        cJSON_Delete(o);
        if (done)
            break;
    }
    assert_int_equal(seen_presence, 1);
    assert_int_equal(seen_routing, 1);
    assert_int_equal(seen_activity, 2);
    cJSON_Delete(rest_p);
    cJSON_Delete(rest_r);
    wsclient_free(ws);
    stop(&t);
}

/* The running world's own transitions reach the stream, each a change. */
static void world_transitions_stream_as_they_happen(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160];
    char last[4][32];
    struct buf body;
    struct wsclient *ws;
    cJSON *o;
    int n = 0;

    (void)state;
    config(&cfg, 4, 1);
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    buf_init(&body, 4096);
    assert_int_equal(buf_putc(&body, '['), RT_OK);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(buf_printf(&body,
                                    "%s{\"id\":\"v2.users.%s?routingStatus\"}",
                                    i ? "," : "", agent(&t, i)),
                         RT_OK);
    assert_int_equal(buf_putc(&body, ']'), RT_OK);
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, buf_str(&body)), 200);
    buf_release(&body);
    memset(last, 0, sizeof(last));
    ws = connect_ws(uri);
    while (n < 40 && (o = next_json(ws, WAIT_NS))) {
        const char *topic = str(o, "topicName");
        const cJSON *b = item(o, "eventBody");
        const char *status = str(item(b, "routingStatus"), "status");
        size_t i;
        char want[128];

        for (i = 0; i < 4; i++) {
            snprintf(want, sizeof(want), "v2.users.%s.routingStatus",
                     agent(&t, i));
            if (!strcmp(topic, want))
                break;
        }
        if (i == 4)
            fail_msg("unexpected topic '%s'", topic);
        assert_string_equal(str(b, "id"), agent(&t, i));
        assert_true(sim_routing_lookup(status) >= 0);
        /* Only changes are events: never the same status twice. */
        assert_string_not_equal(status, last[i]);
        snprintf(last[i], sizeof(last[i]), "%s", status);
        cJSON_Delete(o);
        n++;
    }
    assert_int_equal(n, 40);
    wsclient_free(ws);
    stop(&t);
}

static void heartbeat_and_ping_pong(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160];
    struct wsclient *ws;
    struct sim_notify_stats st;
    char *text;
    cJSON *o;
    int heartbeats = 0;

    (void)state;
    config(&cfg, 2, 0);
    cfg.world.stream.heartbeat_ns = 200 * NS_PER_MS;
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    ws = connect_ws(uri);
    while (heartbeats < 2) {
        assert_int_equal(wsclient_next(ws, WAIT_NS, &text), WSCLIENT_MESSAGE);
        assert_string_equal(text, "{\"topicName\":\"channel.metadata\","
                                  "\"eventBody\":{\"message\":"
                                  "\"WebSocket Heartbeat\"}}");
        free(text);
        heartbeats++;
    }
    assert_int_equal(wsclient_send_text(ws, "{\"message\":\"ping\"}"), 0);
    o = next_json(ws, WAIT_NS);
    assert_non_null(o);
    assert_string_equal(str(o, "topicName"), "channel.metadata");
    assert_string_equal(str(item(o, "eventBody"), "message"), "pong");
    cJSON_Delete(o);
    /* Anything else from the client is ignored. */
    assert_int_equal(wsclient_send_text(ws, "not json"), 0);
    assert_int_equal(wsclient_send_text(ws, "{\"message\":\"ping\"}"), 0);
    o = next_json(ws, WAIT_NS);
    assert_non_null(o);
    assert_string_equal(str(item(o, "eventBody"), "message"), "pong");
    cJSON_Delete(o);
    sim_notify_stats(sim_notify(t.sim), &st);
    assert_true(st.heartbeats >= 2);
    assert_int_equal(st.pongs, 2);
    wsclient_free(ws);
    stop(&t);
}

static void second_connection_kicks_the_first(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160], body[160];
    struct wsclient *a, *b;
    struct sim_notify_stats st;
    cJSON *o;
    int other;

    (void)state;
    config(&cfg, 2, 0);
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.presence\"}]",
             agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, body), 200);
    a = connect_ws(uri);
    b = connect_ws(uri);
    assert_closes(a, &other);
    assert_int_equal(other, 0);
    assert_int_equal(wsclient_close_code(a), 1000);
    set_presence(&t, 0, AWAY_ID);
    o = next_json(b, WAIT_NS);
    assert_non_null(o);
    assert_string_equal(
        str(item(item(o, "eventBody"), "presenceDefinition"), "id"), AWAY_ID);
    cJSON_Delete(o);
    sim_notify_stats(sim_notify(t.sim), &st);
    assert_int_equal(st.kicks, 1);
    assert_int_equal(st.connections, 2);
    wsclient_free(a);
    wsclient_free(b);
    stop(&t);
}

static void unknown_channels_are_refused(void **state)
{
    struct sim_config cfg;
    struct t t;
    struct wsclient *ws = NULL;
    char uri[160];
    int status = -1;

    (void)state;
    config(&cfg, 1, 0);
    start(&t, &cfg);
    snprintf(uri, sizeof(uri),
             "ws://127.0.0.1:%u/channels/streaming-0-doesnotexist",
             (unsigned)sim_stream_port(t.sim));
    assert_int_equal(wsclient_connect(&ws, uri, WAIT_NS, &status), -1);
    assert_int_equal(status, 404);
    snprintf(uri, sizeof(uri), "ws://127.0.0.1:%u/elsewhere",
             (unsigned)sim_stream_port(t.sim));
    assert_int_equal(wsclient_connect(&ws, uri, WAIT_NS, &status), -1);
    assert_int_equal(status, 404);
    stop(&t);
}

/* The socket_closing warning, then a clean close after the grace; a new
 * connection works; stream.csv has the story. */
static void socket_closing_warns_then_closes(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160], body[160], dir[512];
    char csv_path[600];
    struct wsclient *ws;
    const cJSON *b;
    cJSON *o;
    char *text;
    int other;

    (void)state;
    assert_int_equal(files_scratch_dir(dir, sizeof(dir)), 0);
    config(&cfg, 2, 0);
    snprintf(cfg.log_dir, sizeof(cfg.log_dir), "%s", dir);
    cfg.world.stream.closing_at_ns[cfg.world.stream.n_closing++] = 2 * NS_PER_S;
    cfg.world.stream.closing_grace_ns = 300 * NS_PER_MS;
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.presence\"}]",
             agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id, body), 200);
    ws = connect_ws(uri);
    o = next_json(ws, WAIT_NS);
    assert_non_null(o);
    assert_string_equal(str(o, "topicName"), "v2.system.socket_closing");
    b = item(o, "eventBody");
    assert_string_equal(str(b, "channelId"), id);
    assert_string_equal(str(b, "systemTopicType"), "socket_closing");
    assert_true(strlen(str(b, "reason")) > 0);
    assert_true(strlen(str(b, "message")) > 0);
    cJSON_Delete(o);
    assert_closes(ws, &other);
    assert_int_equal(other, 0);
    assert_int_equal(wsclient_close_code(ws), 1001);
    wsclient_free(ws);

    ws = connect_ws(uri);
    set_presence(&t, 0, AWAY_ID);
    o = next_json(ws, WAIT_NS);
    assert_non_null(o);
    assert_true(strstr(str(o, "topicName"), ".presence") != NULL);
    cJSON_Delete(o);
    wsclient_free(ws);
    stop(&t);

    snprintf(csv_path, sizeof(csv_path), "%s/stream.csv", dir);
    text = files_slurp(csv_path, NULL);
    assert_non_null(text);
    assert_memory_equal(text, "time_wall_ns,time,channel_id,client_id,what\n",
                        strlen("time_wall_ns,time,channel_id,client_id,"
                               "what\n"));
    {
        /* open, socket_closing, close; open, close. */
        static const char *const want[] = {"open", "socket_closing", "close",
                                           "open", "close"};
        const char *p = strchr(text, '\n') + 1;
        for (size_t k = 0; k < 5; k++) {
            const char *eol = strchr(p, '\n');
            const char *comma;
            assert_non_null(eol);
            comma = eol;
            while (comma > p && comma[-1] != ',')
                comma--;
            assert_int_equal((size_t)(eol - comma), strlen(want[k]));
            assert_memory_equal(comma, want[k], strlen(want[k]));
            assert_non_null(strstr(p, id));
            p = eol + 1;
        }
        assert_string_equal(p, "");
    }
    free(text);
}

static void drop_at_cuts_without_a_close_frame(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id[SIM_NOTIFY_CHANNEL_ID_LEN], uri[160];
    struct wsclient *ws;
    struct sim_notify_stats st;
    int other;

    (void)state;
    config(&cfg, 1, 0);
    cfg.world.stream.drop_at_ns[cfg.world.stream.n_drop++] = 2 * NS_PER_S;
    start(&t, &cfg);
    create_channel(&t, t.bearer, id, uri, sizeof(uri));
    ws = connect_ws(uri);
    assert_closes(ws, &other);
    assert_int_equal(other, 0);
    assert_int_equal(wsclient_close_code(ws), -1);
    wsclient_free(ws);
    sim_notify_stats(sim_notify(t.sim), &st);
    assert_int_equal(st.faults_drop, 1);
    /* The channel itself survives. */
    ws = connect_ws(uri);
    assert_int_equal(wsclient_send_text(ws, "{\"message\":\"ping\"}"), 0);
    {
        cJSON *o = next_json(ws, WAIT_NS);
        assert_non_null(o);
        assert_string_equal(str(item(o, "eventBody"), "message"), "pong");
        cJSON_Delete(o);
    }
    wsclient_free(ws);
    stop(&t);
}

static void silent_at_silences_open_sockets(void **state)
{
    struct sim_config cfg;
    struct t t;
    char id_a[SIM_NOTIFY_CHANNEL_ID_LEN], id_b[SIM_NOTIFY_CHANNEL_ID_LEN];
    char uri_a[160], uri_b[160], body[160];
    struct wsclient *a, *b;
    enum wsclient_next r;
    char *text;
    cJSON *o;

    (void)state;
    config(&cfg, 1, 0);
    cfg.world.stream.heartbeat_ns = 100 * NS_PER_MS;
    cfg.world.stream.silent_at_ns[cfg.world.stream.n_silent++] = 2 * NS_PER_S;
    start(&t, &cfg);
    create_channel(&t, t.bearer, id_a, uri_a, sizeof(uri_a));
    create_channel(&t, t.bearer, id_b, uri_b, sizeof(uri_b));
    snprintf(body, sizeof(body), "[{\"id\":\"v2.users.%s.presence\"}]",
             agent(&t, 0));
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id_a, body), 200);
    assert_int_equal(subscribe(&t, t.bearer, "PUT", id_b, body), 200);
    a = connect_ws(uri_a);
    assert_int_equal(sim_notify_wait_faults(sim_notify(t.sim), 1, WAIT_NS), 1);

    /* A socket opened after the fault works; the silenced one gets
     * neither the event nor a pong, and stays open. */
    b = connect_ws(uri_b);
    assert_int_equal(wsclient_send_text(a, "{\"message\":\"ping\"}"), 0);
    set_presence(&t, 0, AWAY_ID);
    o = next_json(b, WAIT_NS);
    assert_non_null(o);
    assert_true(strstr(str(o, "topicName"), ".presence") != NULL);
    cJSON_Delete(o);
    while ((r = wsclient_next(a, QUIET_NS, &text)) == WSCLIENT_MESSAGE) {
        /* Only heartbeats sent before the fault may still be in flight. */
        assert_string_equal(text, "{\"topicName\":\"channel.metadata\","
                                  "\"eventBody\":{\"message\":"
                                  "\"WebSocket Heartbeat\"}}");
        free(text);
    }
    assert_int_equal(r, WSCLIENT_TIMEOUT);
    wsclient_free(a);
    wsclient_free(b);
    stop(&t);
}

static int setup(void **state)
{
    (void)state;
    if (files_scratch_begin("racetrace-notify"))
        return -1;
    return http_global_init() == RT_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_global_cleanup();
    return files_scratch_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(channels_have_ids_uris_expiry_and_owners),
        cmocka_unit_test(subscriptions_expand_add_replace_reject_and_limit),
        cmocka_unit_test(the_21st_channel_evicts_the_oldest_unconnected),
        cmocka_unit_test(events_match_rest_for_subscribed_agents_only),
        cmocka_unit_test(world_transitions_stream_as_they_happen),
        cmocka_unit_test(heartbeat_and_ping_pong),
        cmocka_unit_test(second_connection_kicks_the_first),
        cmocka_unit_test(unknown_channels_are_refused),
        cmocka_unit_test(socket_closing_warns_then_closes),
        cmocka_unit_test(drop_at_cuts_without_a_close_frame),
        cmocka_unit_test(silent_at_silences_open_sockets),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
