/*
 * Notification channels and subscriptions (genesys-api.md §4), over the
 * hub in sim/notify.c.  Channels belong to the OAuth client that created
 * them: another client gets the same 404 as for an unknown id.  The fact
 * sheet documents no permission for these calls, so none is checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "sim/notify.h"
#include "sim/routes.h"

/* The hub, or a 404 reply and NULL when the server runs without one. */
static struct sim_notify *hub(struct sim_req *req)
{
    if (!req->notify)
        sim_reply_error(req, 404, "not.found", "HTTP %s %s not found.",
                        req->method, req->path);
    return req->notify;
}

static void channel_not_found(struct sim_req *req)
{
    sim_reply_error(req, 404, "not.found", "The channel %s could not be found.",
                    req->params[0]);
}

void route_notifications_channel_create(struct sim_req *req)
{
    struct sim_notify *n = hub(req);

    if (n)
        sim_reply_json(req, 200, sim_notify_channel_create(n, req->client_id));
}

void route_notifications_channels_list(struct sim_req *req)
{
    struct sim_notify *n = hub(req);
    const char *which = sim_req_query(req, "includechannels");

    if (!n)
        return;
    /* Tokens are not told apart: "token" lists the client's channels as
     * "oauthclient" does. */
    if (which && strcasecmp(which, "token") &&
        strcasecmp(which, "oauthclient")) {
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for includechannels: must be token "
                        "or oauthclient");
        return;
    }
    sim_reply_json(req, 200, sim_notify_channel_list(n, req->client_id));
}

void route_notifications_channel_head(struct sim_req *req)
{
    struct sim_notify *n = hub(req);

    if (!n)
        return;
    if (sim_notify_channel_exists(n, req->client_id, req->params[0]))
        sim_reply_raw(req, 200, NULL, 0);
    else
        channel_not_found(req);
}

void route_notifications_subscriptions_get(struct sim_req *req)
{
    struct sim_notify *n = hub(req);
    cJSON *out = NULL;

    if (!n)
        return;
    if (sim_notify_subscriptions(n, req->client_id, req->params[0], &out))
        channel_not_found(req);
    else
        sim_reply_json(req, 200, out);
}

/* POST and PUT: a body of [ChannelTopic{id}]. */
static void subscribe(struct sim_req *req, enum sim_notify_sub_op op)
{
    struct sim_notify *n = hub(req);
    const char **topics = NULL;
    const cJSON *item;
    cJSON *body = NULL, *out = NULL;
    size_t count = 0;
    int ignore_errors;
    enum rt_err err;

    /* ignoreErrors skips failed permission checks on the real service;
     * the simulator checks none, so it is only validated. */
    if (!n || sim_req_query_bool(req, "ignoreErrors", 0, &ignore_errors) ||
        !(body = sim_req_json(req)))
        return;
    if (!cJSON_IsArray(body))
        goto bad;
    topics = xcalloc((size_t)cJSON_GetArraySize(body) + 1, sizeof(*topics));
    cJSON_ArrayForEach(item, body)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (!cJSON_IsObject(item) || !cJSON_IsString(id) || !*id->valuestring)
            goto bad;
        topics[count++] = id->valuestring;
    }
    err = sim_notify_subscribe(n, req->client_id, req->params[0], topics, count,
                               op, &out);
    if (err == RT_ENOENT)
        channel_not_found(req);
    else if (err == RT_ERANGE)
        sim_reply_error(req, 400, "bad.request",
                        "The channel %s would exceed the limit of %d "
                        "topics per channel.",
                        req->params[0], SIM_NOTIFY_TOPICS_MAX);
    else
        sim_reply_json(req, 200, out);
    goto out;
bad:
    sim_reply_error(req, 400, "bad.request",
                    "The request could not be understood by the server due "
                    "to malformed syntax: expected an array of topics "
                    "[{\"id\": \"v2.users.<id>.presence\"}]");
out:
    free(topics);
    cJSON_Delete(body);
}

void route_notifications_subscriptions_post(struct sim_req *req)
{
    subscribe(req, SIM_NOTIFY_SUB_ADD);
}

void route_notifications_subscriptions_put(struct sim_req *req)
{
    subscribe(req, SIM_NOTIFY_SUB_REPLACE);
}

void route_notifications_subscriptions_delete(struct sim_req *req)
{
    struct sim_notify *n = hub(req);

    if (!n)
        return;
    if (sim_notify_unsubscribe_all(n, req->client_id, req->params[0]))
        channel_not_found(req);
    else
        sim_reply_json(req, 204, NULL);
}
