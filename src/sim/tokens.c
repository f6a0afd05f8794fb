/*
 * Token table.  Lookups compare the full token text; the table is small
 * (one entry per login) and guarded by one mutex, held only for the scan.
 */
#include "sim/tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/xalloc.h"

#define WINDOW_NS (60 * NS_PER_S)
#define UNLIMITED_ALLOWED INT64_C(1000000000)

struct token {
    char text[SIM_TOKEN_LEN];
    struct sim_token_info info;
    int64_t window_start_mono_ns;
    int64_t window_count;
};

/* One client's token-request budget: the theoretical arrival time of its
 * next request (GCRA). */
struct login_budget {
    char client_id[64];
    int64_t tat_mono_ns;
};

struct sim_tokens {
    pthread_mutex_t lock;
    struct token *tokens;
    size_t n, cap;
    int64_t lifetime_ns;
    int64_t per_minute;
    struct login_budget logins[SIM_TOKENS_CLIENTS_MAX];
    size_t n_logins;
};

struct sim_tokens *sim_tokens_new(int64_t lifetime_ns, int64_t per_minute)
{
    struct sim_tokens *self = xcalloc(1, sizeof(*self));

    pthread_mutex_init(&self->lock, NULL);
    self->lifetime_ns = lifetime_ns;
    self->per_minute = per_minute;
    return self;
}

void sim_tokens_free(struct sim_tokens *self)
{
    if (!self)
        return;
    pthread_mutex_destroy(&self->lock);
    free(self->tokens);
    free(self);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char raw[32];
    size_t got = 0;

    while (got < nbytes) {
        ssize_t n = getrandom(raw + got, nbytes - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

void sim_tokens_issue(struct sim_tokens *self, const char *client_id,
                      char token_out[SIM_TOKEN_LEN], int64_t *expires_in_s)
{
    struct token *t;

    pthread_mutex_lock(&self->lock);
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->tokens = xreallocarray(self->tokens, self->cap, sizeof(*t));
    }
    t = &self->tokens[self->n++];
    memset(t, 0, sizeof(*t));
    random_hex(t->text, 32);
    snprintf(t->info.client_id, sizeof(t->info.client_id), "%s", client_id);
    t->info.seq = (int64_t)self->n;
    t->info.expires_mono_ns = clock_mono_ns() + self->lifetime_ns;
    memcpy(token_out, t->text, SIM_TOKEN_LEN);
    pthread_mutex_unlock(&self->lock);
    *expires_in_s = self->lifetime_ns / NS_PER_S;
}

enum rt_err sim_tokens_check(struct sim_tokens *self, const char *token,
                             struct sim_token_info *info)
{
    enum rt_err err = RT_ENOENT;

    if (!token || strlen(token) != SIM_TOKEN_LEN - 1)
        return RT_ENOENT;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n; i++) {
        if (!memcmp(self->tokens[i].text, token, SIM_TOKEN_LEN - 1)) {
            *info = self->tokens[i].info;
            err = clock_mono_ns() >= info->expires_mono_ns ? RT_EAUTH : RT_OK;
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return err;
}

void sim_tokens_rate(struct sim_tokens *self, int64_t seq, int64_t now_mono_ns,
                     struct sim_rate *out)
{
    struct token *t;

    pthread_mutex_lock(&self->lock);
    t = &self->tokens[seq - 1];
    if (t->window_count == 0 ||
        now_mono_ns - t->window_start_mono_ns >= WINDOW_NS) {
        t->window_start_mono_ns = now_mono_ns;
        t->window_count = 0;
    }
    t->window_count++;
    out->count = t->window_count;
    out->allowed = self->per_minute > 0 ? self->per_minute : UNLIMITED_ALLOWED;
    /* Round up: a client that waits reset_s whole seconds is in the next
     * window. */
    out->reset_s =
        (t->window_start_mono_ns + WINDOW_NS - now_mono_ns + NS_PER_S - 1) /
        NS_PER_S;
    if (out->reset_s < 1)
        out->reset_s = 1;
    out->limited = self->per_minute > 0 && out->count > self->per_minute;
    pthread_mutex_unlock(&self->lock);
}

void sim_tokens_rate_none(struct sim_tokens *self, struct sim_rate *out)
{
    out->count = 0;
    out->allowed = self->per_minute > 0 ? self->per_minute : UNLIMITED_ALLOWED;
    out->reset_s = 60;
    out->limited = 0;
}

int64_t sim_tokens_login(struct sim_tokens *self, const char *client_id,
                         int64_t per_minute, int64_t now_mono_ns)
{
    struct login_budget *b = NULL;
    int64_t interval, burst, tat, wait = 0;

    if (per_minute <= 0)
        return 0;
    interval = WINDOW_NS / per_minute;
    /* The bucket holds per_minute requests: the one being made plus
     * per_minute - 1 earlier ones may be ahead of the steady rate. */
    burst = interval * (per_minute - 1);
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_logins && !b; i++)
        if (!strcmp(self->logins[i].client_id, client_id))
            b = &self->logins[i];
    if (!b && self->n_logins < SIM_TOKENS_CLIENTS_MAX) {
        b = &self->logins[self->n_logins++];
        snprintf(b->client_id, sizeof(b->client_id), "%s", client_id);
        b->tat_mono_ns = now_mono_ns;
    }
    if (b) {
        tat = b->tat_mono_ns > now_mono_ns ? b->tat_mono_ns : now_mono_ns;
        if (tat - now_mono_ns > burst) {
            /* Round up: a client that waits this long is accepted. */
            wait = (tat - burst - now_mono_ns + NS_PER_S - 1) / NS_PER_S;
            if (wait < 1)
                wait = 1;
        } else {
            b->tat_mono_ns = tat + interval;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return wait;
}

void sim_tokens_each(struct sim_tokens *self, sim_token_fn fn, void *ctx)
{
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n; i++)
        fn(ctx, self->tokens[i].text, &self->tokens[i].info);
    pthread_mutex_unlock(&self->lock);
}
