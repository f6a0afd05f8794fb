/*
 * A blocking WebSocket client for tests (libwebsockets).  Each struct
 * wsclient is one connection with its own lws context and service thread;
 * the test thread connects, waits for the next text message with a
 * timeout, sends text and closes, never touching lws itself.  Text
 * messages are queued in arrival order, so none is lost between two
 * waits; after the connection ends, the queued ones are still handed out
 * before WSCLIENT_CLOSED.  The close code of the server's close frame is
 * kept, so a test can tell a clean close from a cut connection.
 *
 * Thread-safety: one struct wsclient belongs to one test thread; different
 * clients may be used from different threads.
 */
#ifndef RT_TESTS_WSCLIENT_H
#define RT_TESTS_WSCLIENT_H

#include <stdint.h>

struct wsclient;

enum wsclient_next {
    WSCLIENT_MESSAGE, /* *text holds the next message (caller frees) */
    WSCLIENT_CLOSED,  /* the connection ended and no message is left */
    WSCLIENT_TIMEOUT, /* nothing within the timeout */
};

/*
 * Connect to @url ("ws://127.0.0.1:PORT/path"), waiting at most
 * @timeout_ns for the handshake.  0 with *out set on success; -1 when the
 * handshake failed or was refused, with the HTTP status of the refusal in
 * *http_status when the server sent one (else 0; @http_status may be
 * NULL).
 */
int wsclient_connect(struct wsclient **out, const char *url, int64_t timeout_ns,
                     int *http_status);
/* The next text message, or the end of the connection, or a timeout. */
enum wsclient_next wsclient_next(struct wsclient *self, int64_t timeout_ns,
                                 char **text);
/* Queue @text as one text frame; 0, or -1 when the connection is over. */
int wsclient_send_text(struct wsclient *self, const char *text);
/* The status code of the server's close frame once the connection is
 * over, or -1 when it ended without one (a cut connection). */
int wsclient_close_code(struct wsclient *self);
/* Close cleanly (if still open), stop the thread and free.  NULL-safe. */
void wsclient_free(struct wsclient *self);

#endif
