/*
 * Audit queries (genesys-api.md §5) over the org's audit trail
 * (include/sim/audit.h has the store, the identity mapping and the query
 * semantics).  Every call needs audits:audit:view; without it (world.forbid)
 * it is a 403 before anything else is looked at.
 *
 * Results of an asynchronous query that has not Succeeded yet are a 400
 * bad.request naming the state.  The real server's answer is not
 * documented; a request that is well formed but premature is what Genesys
 * APIs usually answer with 400, and 409 is kept for version conflicts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jread.h"
#include "base/xalloc.h"
#include "sim/audit.h"
#include "sim/routes.h"

#define AUDIT_PERMISSION "audits:audit:view"
#define PAGE_DEFAULT 25

/* expand=user (repeated or comma-joined); other values are ignored, as
 * expands are best effort. */
static int expand_user(struct sim_req *req)
{
    char **values;
    size_t n = sim_req_query_list(req, "expand", &values);
    int user = 0;

    for (size_t k = 0; k < n; k++)
        user |= !strcmp(values[k], "user");
    free(values);
    return user;
}

/* Parse the AuditQueryRequest body into *q (allocated, caller frees) and
 * hand back the body too; NULL after a 400 reply. */
static cJSON *read_query(struct sim_req *req, struct audit_query **q)
{
    struct jread jr;
    cJSON *body = sim_req_json(req);

    *q = NULL;
    if (!body)
        return NULL;
    *q = xmalloc(sizeof(**q));
    jread_init(&jr, "request body");
    if (audit_query_parse(&jr, body, *q)) {
        sim_reply_error(req, 400, "bad.request", "%s", jr.error);
        cJSON_Delete(body);
        free(*q);
        *q = NULL;
        return NULL;
    }
    return body;
}

void route_audits_query(struct sim_req *req)
{
    struct audit_query *q;
    cJSON *body;

    if (sim_req_require(req, AUDIT_PERMISSION) || !(body = read_query(req, &q)))
        return;
    sim_reply_json(req, 200, audit_tx_start(org_audit(req->org), q));
    cJSON_Delete(body);
    free(q);
}

void route_audits_query_status(struct sim_req *req)
{
    cJSON *status;

    if (sim_req_require(req, AUDIT_PERMISSION))
        return;
    status = audit_tx_status(org_audit(req->org), req->params[0]);
    if (!status)
        sim_reply_error(req, 404, "not.found",
                        "The audit query %s could not be found.",
                        req->params[0]);
    else
        sim_reply_json(req, 200, status);
}

void route_audits_query_results(struct sim_req *req)
{
    int64_t size;
    int redirect;
    cJSON *page = NULL;
    const char *id = req->params[0];
    enum rt_err err;

    if (sim_req_require(req, AUDIT_PERMISSION) ||
        sim_req_query_int(req, "pageSize", PAGE_DEFAULT, 1, AUDIT_PAGE_MAX,
                          &size) ||
        sim_req_query_bool(req, "allowRedirect", 0, &redirect))
        return;
    /* allowRedirect asks for a download URL on large result sets; the
     * simulator always answers inline, which the API permits. */
    err =
        audit_tx_results(org_audit(req->org), id, sim_req_query(req, "cursor"),
                         size, expand_user(req), &page);
    switch (err) {
    case RT_OK:
        sim_reply_json(req, 200, page);
        break;
    case RT_ENOENT:
        sim_reply_error(req, 404, "not.found",
                        "The audit query %s could not be found.", id);
        break;
    case RT_EBUSY:
        sim_reply_error(req, 400, "bad.request",
                        "The audit query %s has not completed (state "
                        "Running); poll /api/v2/audits/query/%s until its "
                        "state is Succeeded.",
                        id, id);
        break;
    default:
        sim_reply_error(req, 400, "bad.request",
                        "Invalid value for cursor: not a cursor of audit "
                        "query %s.",
                        id);
        break;
    }
}

void route_audits_realtime(struct sim_req *req)
{
    struct audit_query *q;
    struct jread jr;
    int64_t number = 1, size = PAGE_DEFAULT;
    cJSON *body;

    if (sim_req_require(req, AUDIT_PERMISSION) || !(body = read_query(req, &q)))
        return;
    jread_init(&jr, "request body");
    if (jread_int(&jr, body, "", "pageNumber", 1, INT32_MAX, &number) ||
        jread_int(&jr, body, "", "pageSize", 1, AUDIT_PAGE_MAX, &size))
        sim_reply_error(req, 400, "bad.request", "%s", jr.error);
    else
        sim_reply_json(req, 200,
                       audit_realtime(org_audit(req->org), q, number, size,
                                      expand_user(req)));
    cJSON_Delete(body);
    free(q);
}

void route_audits_servicemapping(struct sim_req *req)
{
    if (!sim_req_require(req, AUDIT_PERMISSION))
        sim_reply_json(req, 200, audit_service_mapping());
}
