/*
 * Fuzz target for the notification frame parser
 * (include/harness/stream.h): any bytes as one WebSocket message.  A
 * well-formed frame has a kind other than MALFORMED; only user events
 * carry an agent, and every event carries the value its server time
 * dates; strings are always terminated within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stream_frame f;
    enum rt_err err = stream_parse_frame((const char *)data, size, &f);
    int event;

    if (!terminated(f.agent, sizeof(f.agent)) ||
        !terminated(f.presence, sizeof(f.presence)) ||
        !terminated(f.routing, sizeof(f.routing)))
        abort();
    if (err != RT_OK) {
        if (err != RT_EPARSE || f.kind != STREAM_FRAME_MALFORMED ||
            f.agent[0] || f.presence[0] || f.routing[0])
            abort();
        return 0;
    }
    event = f.kind == STREAM_FRAME_PRESENCE || f.kind == STREAM_FRAME_ROUTING ||
            f.kind == STREAM_FRAME_ACTIVITY;
    if (f.kind == STREAM_FRAME_MALFORMED || (event && !f.agent[0]) ||
        (!event && (f.agent[0] || f.presence[0] || f.routing[0])) ||
        (f.kind == STREAM_FRAME_PRESENCE && !f.presence[0]) ||
        (f.kind == STREAM_FRAME_ROUTING && !f.routing[0]) ||
        (event && !f.presence[0] && !f.routing[0]) ||
        (!f.presence[0] && f.presence_server_ns) ||
        (!f.routing[0] && f.routing_server_ns))
        abort();
    return 0;
}
