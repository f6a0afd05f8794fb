/*
 * OAuth access tokens issued by the simulator, with each token's expiry and
 * its per-minute request window (the per-token rate limit of real orgs:
 * fixed 60 s windows, reported in the inin-ratelimit-* headers).
 * Tokens are random 32-byte values from getrandom(), printed as hex; they
 * are never logged (server.csv names the token by its sequence number).
 * Thread-safe.
 */
#ifndef RT_SIM_TOKENS_H
#define RT_SIM_TOKENS_H

#include <stdint.h>

#include "base/err.h"

#define SIM_TOKEN_LEN 65 /* 64 hex digits plus NUL */

struct sim_tokens;

struct sim_token_info {
    char client_id[64];
    int64_t seq; /* 1, 2, ... in issue order */
    int64_t expires_mono_ns;
};

/* Rate-limit verdict for one request. */
struct sim_rate {
    int64_t count;   /* requests in the current window, this one included */
    int64_t allowed; /* per-minute budget (a large number when unlimited) */
    int64_t reset_s; /* whole seconds until the window resets, >= 1 */
    int limited;     /* 1: answer 429 with Retry-After = reset_s */
};

struct sim_tokens *sim_tokens_new(int64_t lifetime_ns, int64_t per_minute);
void sim_tokens_free(struct sim_tokens *self); /* NULL-safe */

/* Issue a token for @client_id into @token_out. */
void sim_tokens_issue(struct sim_tokens *self, const char *client_id,
                      char token_out[SIM_TOKEN_LEN], int64_t *expires_in_s);

/* Look up a presented token: RT_OK with *info filled, RT_ENOENT when
 * unknown, RT_EAUTH when expired (info still filled). */
enum rt_err sim_tokens_check(struct sim_tokens *self, const char *token,
                             struct sim_token_info *info);

/* Count one request against @seq's window at @now_mono_ns. */
void sim_tokens_rate(struct sim_tokens *self, int64_t seq, int64_t now_mono_ns,
                     struct sim_rate *out);

/* What the headers say when no token is involved. */
void sim_tokens_rate_none(struct sim_tokens *self, struct sim_rate *out);

/* Clients whose token requests are counted; requests from more clients
 * than this are not limited. */
#define SIM_TOKENS_CLIENTS_MAX 64

/*
 * Count one token request of @client_id at @now_mono_ns against
 * @per_minute (0: no limit) and say whether to refuse it.  Each client's
 * budget is a bucket of @per_minute requests refilled evenly over a minute
 * (GCRA): a burst of @per_minute goes through, then one request every
 * 60/@per_minute s; a refused request costs nothing.  Returns 0 when the
 * request may go on, else the whole seconds (>= 1) after which it would be
 * accepted, for Retry-After.  Thread-safe.
 */
int64_t sim_tokens_login(struct sim_tokens *self, const char *client_id,
                         int64_t per_minute, int64_t now_mono_ns);

/* Called by sim_tokens_each() for every token issued, in issue order. */
typedef void (*sim_token_fn)(void *ctx, const char *token,
                             const struct sim_token_info *info);

/*
 * Call @fn for every token issued so far (expired ones included), with the
 * table locked: @fn must not call back into @self.  For tests that prove
 * no token reached an output.  Thread-safe.
 */
void sim_tokens_each(struct sim_tokens *self, sim_token_fn fn, void *ctx);

#endif
