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
    {"GET", "/api/v2/routing/queues/{id}/members", route_queue_members_get, 0},
    {"POST", "/api/v2/routing/queues/{id}/members", route_queue_members_post,
     W},
    {"PATCH", "/api/v2/routing/queues/{id}/members", route_queue_members_patch,
     W},
    {"GET", "/api/v2/users/{id}/queues", route_user_queues_get, 0},
    {"PATCH", "/api/v2/users/{id}/queues", route_user_queues_patch, W},
};

const struct sim_route *sim_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
