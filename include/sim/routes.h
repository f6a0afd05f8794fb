/*
 * The simulator's route table: every path of genesys-api.md that the
 * simulator serves, with its handler.  Handlers live in routes_*.c by area.
 */
#ifndef RT_SIM_ROUTES_H
#define RT_SIM_ROUTES_H

#include <stddef.h>

#include "sim/http.h"

/* The full table (static storage). */
const struct sim_route *sim_routes(size_t *n);

/* Handlers, by area (routes_auth.c, routes_users.c, routes_routing.c). */
void route_oauth_token(struct sim_req *req);
void route_users_list(struct sim_req *req);
void route_user_get(struct sim_req *req);
void route_user_patch(struct sim_req *req);
void route_user_state_put(struct sim_req *req);
void route_routingstatus_get(struct sim_req *req);
void route_routingstatus_put(struct sim_req *req);
void route_presence_get(struct sim_req *req);
void route_presence_patch(struct sim_req *req);
void route_presencedefinitions_list(struct sim_req *req);
void route_presencedefinition_get(struct sim_req *req);
void route_utilization_get(struct sim_req *req);
void route_utilization_put(struct sim_req *req);
void route_utilization_delete(struct sim_req *req);
void route_skills_list(struct sim_req *req);
void route_user_skills_get(struct sim_req *req);
void route_user_skills_patch_bulk(struct sim_req *req);
void route_user_skills_put_bulk(struct sim_req *req);
void route_queues_list(struct sim_req *req);
void route_queue_members_get(struct sim_req *req);
void route_queue_members_post(struct sim_req *req);
void route_queue_members_patch(struct sim_req *req);
void route_user_queues_get(struct sim_req *req);
void route_user_queues_patch(struct sim_req *req);
/* Notifications (routes_notifications.c). */
void route_notifications_channel_create(struct sim_req *req);
void route_notifications_channels_list(struct sim_req *req);
void route_notifications_channel_head(struct sim_req *req);
void route_notifications_subscriptions_get(struct sim_req *req);
void route_notifications_subscriptions_post(struct sim_req *req);
void route_notifications_subscriptions_put(struct sim_req *req);
void route_notifications_subscriptions_delete(struct sim_req *req);

/* Audit queries (routes_audit.c) and analytics user details
 * (routes_analytics.c). */
void route_audits_query(struct sim_req *req);
void route_audits_query_status(struct sim_req *req);
void route_audits_query_results(struct sim_req *req);
void route_audits_realtime(struct sim_req *req);
void route_audits_servicemapping(struct sim_req *req);
void route_analytics_user_details(struct sim_req *req);

/* Shared by handlers: the agent named by path parameter 0, or a 404 reply
 * and -1.  Sets req->agent. */
long route_agent(struct sim_req *req);

#endif
