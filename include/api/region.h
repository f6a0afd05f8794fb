/*
 * Genesys Cloud regions and targets.  A region is a key ("us_west_2") and an
 * environment domain ("usw2.pure.cloud"); its API base URL is
 * "https://api.<env>" and its login URL "https://login.<env>", as the
 * official SDKs' setEnvironment() builds them.  A custom base URL
 * ("http://127.0.0.1:9000") sends both login and API calls to that one URL:
 * the simulator, proxies and test servers are reached that way.
 * The region table is static; everything here is pure and thread-safe.
 */
#ifndef RT_API_REGION_H
#define RT_API_REGION_H

#include <stddef.h>

#include "base/err.h"

#define REGION_URL_MAX 256

struct region {
    const char *key; /* "us_west_2" */
    const char *env; /* "usw2.pure.cloud" */
};

/* A resolved target: where to log in and where to call the API. */
struct region_target {
    char api_url[REGION_URL_MAX];   /* no trailing '/' */
    char login_url[REGION_URL_MAX]; /* no trailing '/' */
    /* The region key, or "" for a custom URL. */
    char key[32];
    int custom; /* 1 for a custom base URL */
};

/* Number of known regions, and the i-th (0 <= i < region_count()).  The
 * returned pointer is static.  Thread-safe. */
size_t region_count(void);
const struct region *region_at(size_t i);

/*
 * Find a region by key ("us_west_2", case-insensitive) or by domain
 * ("usw2.pure.cloud"), tolerating what setEnvironment() tolerates: an
 * "https://" or "http://" scheme, an "api." or "login." host prefix and a
 * trailing '/'.  *out points into the static table.  RT_ENOENT, without
 * logging, when nothing matches.  Thread-safe.
 */
enum rt_err region_lookup(const char *name, const struct region **out);

/*
 * Resolve a target string (a region key, a region domain, or an http(s)://
 * base URL) into @out.  "sim" is the caller's business and is not accepted
 * here.  A URL whose host is a known region domain resolves to that region;
 * any other http:// or https:// URL becomes a custom target.  Anything else
 * logs "unknown region '<s>'" with the list of valid keys and returns
 * RT_EINVAL.  Thread-safe.
 */
enum rt_err region_resolve(const char *target, struct region_target *out);

#endif
