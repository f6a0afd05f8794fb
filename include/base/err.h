/*
 * One project-wide error enum.  Functions that can fail return enum rt_err
 * (RT_OK = 0) and hand results back through out-parameters; on failure there
 * is nothing for the caller to clean up.  The detail (errno, curl code, JSON
 * path) is logged once where it is known; only the code travels upward.
 */
#ifndef RT_BASE_ERR_H
#define RT_BASE_ERR_H

#define RT_ERRORS(X)                                                           \
    X(RT_OK, "success")                                                        \
    X(RT_EINVAL, "invalid input")                                              \
    X(RT_ENOENT, "not found")                                                  \
    X(RT_EIO, "input/output error")                                            \
    X(RT_ERANGE, "value out of range")                                         \
    X(RT_ETRUNC, "buffer limit reached")                                       \
    X(RT_EPARSE, "parse error")                                                \
    X(RT_ESYS, "system call failed")                                           \
    X(RT_EHTTP, "HTTP error")                                                  \
    X(RT_ETIMEOUT, "timed out")                                                \
    X(RT_EAUTH, "not authorized")                                              \
    X(RT_ECONFLICT, "version conflict")                                        \
    X(RT_ETHROTTLED, "rate limited")                                           \
    X(RT_EINTR, "interrupted")                                                 \
    X(RT_EBUSY, "resource busy")

enum rt_err {
#define RT_ERR_ENUM(name, text) name,
    RT_ERRORS(RT_ERR_ENUM)
#undef RT_ERR_ENUM
        RT_ERR_COUNT
};

/* Static text for an error code; never NULL.  Thread-safe. */
const char *rt_strerror(enum rt_err err);

#endif
