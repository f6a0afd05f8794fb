/* The simulator's route table (see include/sim/routes.h). */
#include "sim/routes.h"

#define W SIM_ROUTE_WRITE

static const struct sim_route routes[] = {
    {"POST", "/oauth/token", route_oauth_token, SIM_ROUTE_PUBLIC},
    {"GET", "/api/v2/users", route_users_list, 0},
    {"GET", "/api/v2/users/{id}", route_user_get, 0},
    {"PATCH", "/api/v2/users/{id}", route_user_patch, W},
    {"PUT", "/api/v2/users/{id}/state", route_user_state_put, W},
    {"GET", "/api/v2/users/{id}/routingstatus", route_routingstatus_get, 0},
    {"PUT", "/api/v2/users/{id}/routingstatus", route_routingstatus_put, W},
    {"GET", "/api/v2/users/{id}/presences/purecloud", route_presence_get, 0},
    {"PATCH", "/api/v2/users/{id}/presences/purecloud", route_presence_patch,
     W},
    {"GET", "/api/v2/presencedefinitions", route_presencedefinitions_list, 0},
    {"GET", "/api/v2/presencedefinitions/{id}", route_presencedefinition_get,
     0},
    {"GET", "/api/v2/routing/users/{id}/utilization", route_utilization_get, 0},
    {"PUT", "/api/v2/routing/users/{id}/utilization", route_utilization_put, W},
    {"DELETE", "/api/v2/routing/users/{id}/utilization",
     route_utilization_delete, W},
    {"GET", "/api/v2/routing/skills", route_skills_list, 0},
    {"GET", "/api/v2/users/{id}/routingskills", route_user_skills_get, 0},
    {"PATCH", "/api/v2/users/{id}/routingskills/bulk",
     route_user_skills_patch_bulk, W},
    {"PUT", "/api/v2/users/{id}/routingskills/bulk", route_user_skills_put_bulk,
     W},
    {"GET", "/api/v2/routing/queues", route_queues_list, 0},
    /* Audit: the literal servicemapping path before {id}, which would
     * take it as a transaction id (first match wins). */
    {"GET", "/api/v2/audits/query/servicemapping", route_audits_servicemapping,
     0},
    {"GET", "/api/v2/audits/query/realtime/servicemapping",
     route_audits_servicemapping, 0},
    {"POST", "/api/v2/audits/query", route_audits_query, 0},
    {"POST", "/api/v2/audits/query/realtime", route_audits_realtime, 0},
    {"GET", "/api/v2/audits/query/{id}", route_audits_query_status, 0},
    {"GET", "/api/v2/audits/query/{id}/results", route_audits_query_results, 0},
    {"POST", "/api/v2/analytics/users/details/query",
     route_analytics_user_details, 0},
    {"GET", "/api/v2/routing/queues/{id}/members", route_queue_members_get, 0},
    {"POST", "/api/v2/routing/queues/{id}/members", route_queue_members_post,
     W},
    {"PATCH", "/api/v2/routing/queues/{id}/members", route_queue_members_patch,
     W},
    {"GET", "/api/v2/users/{id}/queues", route_user_queues_get, 0},
    {"PATCH", "/api/v2/users/{id}/queues", route_user_queues_patch, W},
    {"POST", "/api/v2/notifications/channels",
     route_notifications_channel_create, 0},
    {"GET", "/api/v2/notifications/channels", route_notifications_channels_list,
     0},
    {"HEAD", "/api/v2/notifications/channels/{id}",
     route_notifications_channel_head, 0},
    {"GET", "/api/v2/notifications/channels/{id}/subscriptions",
     route_notifications_subscriptions_get, 0},
    {"POST", "/api/v2/notifications/channels/{id}/subscriptions",
     route_notifications_subscriptions_post, 0},
    {"PUT", "/api/v2/notifications/channels/{id}/subscriptions",
     route_notifications_subscriptions_put, 0},
    {"DELETE", "/api/v2/notifications/channels/{id}/subscriptions",
     route_notifications_subscriptions_delete, 0},
};

const struct sim_route *sim_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
