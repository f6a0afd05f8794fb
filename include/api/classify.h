/*
 * Classification of one API exchange by its status AND its body, never by
 * status alone (DESIGN.md §8.4): a stale-version write comes back as 409,
 * or as 400 with "does not match the current version", and a 409 on a
 * create with code "general.conflict" is a duplicate, not a race.
 *
 * The ErrorBody fields that matter (message, code, status, contextId) are
 * read from the body when it is JSON; a non-JSON body is classified by
 * status.  The fields copied out are redacted (api/redact.h): a server
 * that echoes a token must not get it into requests.csv or a message.
 * Thread-safe.
 */
#ifndef RT_API_CLASSIFY_H
#define RT_API_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "api/http.h"

/* Retry-After above this means "give up" (the .NET SDK's rule). */
#define CLASSIFY_RETRY_AFTER_MAX_S 180

enum classify_kind {
    CLASSIFY_OK,           /* 2xx */
    CLASSIFY_CONFLICT,     /* stale version */
    CLASSIFY_DUPLICATE,    /* create collided with an existing object */
    CLASSIFY_THROTTLED,    /* 429 */
    CLASSIFY_AUTH,         /* 401: the token is missing, bad or expired */
    CLASSIFY_FORBIDDEN,    /* 403: the client lacks a permission; retrying
                              or renewing the token will not help */
    CLASSIFY_NOT_FOUND,    /* 404 */
    CLASSIFY_BAD_REQUEST,  /* any other 4xx, or an unexpected 1xx/3xx */
    CLASSIFY_SERVER_ERROR, /* 5xx, and 408 (the server gave up waiting) */
    CLASSIFY_TRANSPORT,    /* no response: connection or protocol error */
    CLASSIFY_TIMEOUT,      /* no response in time: outcome unknown */
    CLASSIFY_KIND_COUNT
};

/* What the exchange ended as, before any status was seen. */
enum classify_transport {
    CLASSIFY_GOT_RESPONSE,
    CLASSIFY_NO_RESPONSE, /* transport error, or a body over the cap */
    CLASSIFY_TIMED_OUT,
};

struct classify_input {
    enum classify_transport transport;
    long status;
    const char *body; /* may be NULL */
    size_t body_len;
    int64_t retry_after_s; /* Retry-After header, -1 when absent */
    int is_create;         /* the request created an object (POST) */
};

struct classify_result {
    enum classify_kind kind;
    /* Seconds to wait before retrying (429 only): the Retry-After header,
     * else the "[N] seconds" in the message, else -1. */
    int64_t retry_after_s;
    int give_up;         /* 429 with retry_after_s > 180 */
    char code[64];       /* ErrorBody code, "" when none */
    char message[256];   /* ErrorBody message (or SCIM detail), cut */
    char context_id[64]; /* ErrorBody contextId */
    /* 403 only: the permissions the message names, as the server lists
     * them ("audits:audit:view" or "a:b:c, d:e:f"); "" when it names none
     * (any other 403, e.g. not.authorized). */
    char permission[128];
};

/* Classify @in into @out.  Thread-safe. */
void classify(const struct classify_input *in, struct classify_result *out);

/*
 * Convenience: classify a response from http_client_perform(), whose return
 * value is @perform_err.  Thread-safe.
 */
void classify_response(const struct http_response *resp,
                       enum rt_err perform_err, int is_create,
                       struct classify_result *out);

/* Short name for CSVs: "ok", "conflict", "duplicate", "throttled", "auth",
 * "forbidden", "not_found", "bad_request", "server_error", "transport",
 * "timeout".  Thread-safe. */
const char *classify_kind_name(enum classify_kind kind);

#endif
