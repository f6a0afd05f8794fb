/*
 * A scriptable HTTP server for tests (libmicrohttpd, 127.0.0.1, port 0).
 *
 * A test scripts responses, each optionally bound to a method and a path
 * and usable a number of times (or forever); every request is answered by
 * the first scripted response that matches and has uses left, else by a
 * 404 "no scripted response".  Every request is recorded (method, URL with
 * its query, Authorization, Content-Type, all headers, body, the client's
 * port so tests can tell connections apart) before it is answered.
 *
 * Behaviours beyond a plain reply: STALL blocks the answer until the test
 * calls mockhttp_release() (for client timeouts, without sleeping), CLOSE
 * drops the connection without answering, and a chunked body has no
 * Content-Length.  One thread per connection, so a stalled request never
 * blocks another.  All functions are thread-safe.
 */
#ifndef RT_TESTS_MOCKHTTP_H
#define RT_TESTS_MOCKHTTP_H

#include <stddef.h>

#define MOCKHTTP_HEADERS_MAX 8
#define MOCKHTTP_FOREVER (-1)

enum mockhttp_behaviour {
    MOCKHTTP_REPLY,
    MOCKHTTP_STALL, /* wait for mockhttp_release(), then reply */
    MOCKHTTP_CLOSE, /* close the connection without a response */
};

/* A scripted response; mockhttp_script() copies everything. */
struct mockhttp_response {
    const char *method; /* NULL: any method */
    const char *path;   /* NULL: any path; compared without the query */
    int times;          /* uses: 0 means 1; MOCKHTTP_FOREVER */
    int status;         /* default 200 */
    const char *headers[MOCKHTTP_HEADERS_MAX]; /* "Name: value" */
    const char *body;                          /* NULL: empty */
    size_t body_len;                           /* 0: strlen(body) */
    int chunked;                               /* send without Content-Length */
    enum mockhttp_behaviour behaviour;
};

/* A recorded request; owned by the server, valid until mockhttp_free(). */
struct mockhttp_request {
    char *method;
    char *url;           /* path and query as sent */
    char *authorization; /* "" when absent */
    char *content_type;  /* "" when absent */
    char *headers;       /* every header as "Name: value\n" lines */
    char *body;          /* NUL-terminated */
    size_t body_len;
    unsigned client_port; /* equal for requests on one connection */
};

struct mockhttp;

/* Start on 127.0.0.1 with a kernel-chosen port; NULL (after printing the
 * cause) when the server cannot start. */
struct mockhttp *mockhttp_start(void);
/* Release stalls, stop the server and free everything.  NULL-safe. */
void mockhttp_free(struct mockhttp *self);

unsigned mockhttp_port(const struct mockhttp *self);
/* "http://127.0.0.1:<port>", static to the server. */
const char *mockhttp_url(const struct mockhttp *self);

/* Add a response to the end of the script. */
void mockhttp_script(struct mockhttp *self, const struct mockhttp_response *r);

/* Let every stalled response (current and later ones) proceed. */
void mockhttp_release(struct mockhttp *self);

/* Requests recorded so far, and the i-th (NULL when out of range). */
size_t mockhttp_count(struct mockhttp *self);
const struct mockhttp_request *mockhttp_request(struct mockhttp *self,
                                                size_t i);
/* Requests whose method and path (without query) match; NULL matches any. */
size_t mockhttp_count_matching(struct mockhttp *self, const char *method,
                               const char *path);
/* Block until at least @n requests have been recorded. */
void mockhttp_wait_count(struct mockhttp *self, size_t n);

#endif
