/*
 * POST /oauth/token — client-credentials grant, as login.<env> serves it:
 * Basic auth with the client id and secret, a form body
 * grant_type=client_credentials, and an OAuth-style error body (not an
 * ErrorBody) on failure.  Whether a real org answers a wrong secret with 400
 * or 401 is unknown (genesys-api.md §1.2); we answer 400 as the captured
 * examples do.  The integration actor's client id is accepted with the same
 * secret so a second client can be exercised.
 *
 * Token requests are limited per known client id
 * (world.rate_limit.token_per_minute, sim_tokens_login): beyond it the
 * answer is the normalized 429 of genesys-api.md §3, an ErrorBody with
 * Retry-After.  Whether login answers 429 in that shape is not documented;
 * it is the platform's shape, and the client must cope with it either way.
 * The limit is checked before the secret, as a front door would.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sim/routes.h"

static void oauth_error(struct sim_req *req, int status, const char *error,
                        const char *description)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "description", description);
    cJSON_AddStringToObject(o, "error_description", description);
    sim_reply_json(req, status, o);
}

/* Find grant_type in a form body; returns 1 when it is client_credentials. */
static int grant_is_client_credentials(const char *body, size_t len)
{
    static const char key[] = "grant_type=";
    static const char want[] = "client_credentials";
    const char *p = body, *end = body + len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *field_end = amp ? amp : end;
        size_t flen = (size_t)(field_end - p);

        if (flen > sizeof(key) - 1 && !memcmp(p, key, sizeof(key) - 1)) {
            size_t vlen = flen - (sizeof(key) - 1);
            return vlen == sizeof(want) - 1 &&
                   !memcmp(p + sizeof(key) - 1, want, vlen);
        }
        p = field_end + 1;
    }
    return 0;
}

static int client_known(const struct sim_config *cfg, const char *id)
{
    if (!strcmp(id, cfg->client_id))
        return 1;
    for (size_t i = 0; i < cfg->world.n_actors; i++)
        if (cfg->world.actors[i].kind == SIM_ACTOR_INTEGRATION &&
            !strcmp(id, cfg->world.actors[i].client_id))
            return 1;
    return 0;
}

void route_oauth_token(struct sim_req *req)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(req->conn, &pass);
    char token[SIM_TOKEN_LEN];
    int64_t expires_in;
    cJSON *o;

    if (!user || !pass) {
        oauth_error(req, 400, "invalid_client", "client not found");
        goto out;
    }
    if (client_known(req->cfg, user)) {
        int64_t wait = sim_tokens_login(
            req->tokens, user, req->cfg->world.token_rate_limit_per_min,
            clock_mono_ns());
        if (wait) {
            req->retry_after_s = wait;
            sim_reply_error(req, 429, "too.many.requests.retry.after",
                            "Rate limit exceeded the maximum. Retry the "
                            "request in [%lld] seconds",
                            (long long)wait);
            goto out;
        }
    }
    if (!client_known(req->cfg, user) ||
        strcmp(pass, req->cfg->client_secret)) {
        oauth_error(req, 400, "invalid_client", "authentication failed");
        goto out;
    }
    if (!grant_is_client_credentials(req->body, req->body_len)) {
        oauth_error(req, 400, "unsupported_grant_type",
                    "grant_type must be client_credentials");
        goto out;
    }
    sim_tokens_issue(req->tokens, user, token, &expires_in);
    req->client_id = "";
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", token);
    cJSON_AddStringToObject(o, "token_type", "bearer");
    cJSON_AddNumberToObject(o, "expires_in", (double)expires_in);
    sim_reply_json(req, 200, o);
out:
    /* libmicrohttpd allocates both with malloc. */
    if (pass)
        memset(pass, 0, strlen(pass));
    MHD_free(user);
    MHD_free(pass);
}
