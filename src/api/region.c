/*
 * Region map (genesys-api.md §1.1, from the JS SDK's PureCloudRegionHosts)
 * and target resolution.  A domain given as a URL is still a region: users
 * paste "https://api.usw2.pure.cloud" from the developer tools, and sending
 * login calls to "https://api..." would fail in a confusing way.
 */
#include "api/region.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/log.h"

static const struct region regions[] = {
    {"us_east_1", "mypurecloud.com"},
    {"eu_west_1", "mypurecloud.ie"},
    {"ap_southeast_2", "mypurecloud.com.au"},
    {"ap_northeast_1", "mypurecloud.jp"},
    {"eu_central_1", "mypurecloud.de"},
    {"us_west_2", "usw2.pure.cloud"},
    {"ca_central_1", "cac1.pure.cloud"},
    {"eu_central_2", "euc2.pure.cloud"},
    {"ap_southeast_1", "apse1.pure.cloud"},
    {"ap_northeast_2", "apne2.pure.cloud"},
    {"eu_west_2", "euw2.pure.cloud"},
    {"ap_south_1", "aps1.pure.cloud"},
    {"us_east_2", "use2.us-gov-pure.cloud"},
    {"sa_east_1", "sae1.pure.cloud"},
    {"me_central_1", "mec1.pure.cloud"},
    {"ap_northeast_3", "apne3.pure.cloud"},
    {"mx_central_1", "mxc1.pure.cloud"},
    {"eusc_de_east_1", "edee1.eusc-pure.cloud"},
};

#define N_REGIONS (sizeof(regions) / sizeof(regions[0]))

size_t region_count(void)
{
    return N_REGIONS;
}

const struct region *region_at(size_t i)
{
    return i < N_REGIONS ? &regions[i] : NULL;
}

/* Length of a case-insensitive prefix @p of @s, or 0 when absent. */
static size_t skip_prefix(const char *s, const char *p)
{
    size_t n = strlen(p);

    return strncasecmp(s, p, n) == 0 ? n : 0;
}

enum rt_err region_lookup(const char *name, const struct region **out)
{
    const char *host;
    size_t len, n;

    if (!name || !*name)
        return RT_ENOENT;
    for (size_t i = 0; i < N_REGIONS; i++) {
        if (!strcasecmp(name, regions[i].key)) {
            *out = &regions[i];
            return RT_OK;
        }
    }
    host = name;
    if ((n = skip_prefix(host, "https://")) ||
        (n = skip_prefix(host, "http://")))
        host += n;
    if ((n = skip_prefix(host, "api.")) || (n = skip_prefix(host, "login.")))
        host += n;
    len = strlen(host);
    while (len > 0 && host[len - 1] == '/')
        len--;
    for (size_t i = 0; i < N_REGIONS; i++) {
        if (strlen(regions[i].env) == len &&
            !strncasecmp(host, regions[i].env, len)) {
            *out = &regions[i];
            return RT_OK;
        }
    }
    return RT_ENOENT;
}

/*
 * A custom base URL: scheme, a non-empty host, an optional port and path.
 * User info ("user:pass@") is refused, and the URL is then not echoed,
 * because URLs are printed in logs and reports; queries and fragments make
 * no sense for a base URL.  Logs the reason.
 */
static enum rt_err custom_url(const char *target, struct region_target *out)
{
    const char *p = target;
    size_t n, len, host_len;

    n = skip_prefix(p, "https://");
    if (!n)
        n = skip_prefix(p, "http://");
    p += n;
    host_len = strcspn(p, "/");
    if (memchr(p, '@', host_len))
        return rt_fail(RT_EINVAL, "invalid target URL: user info "
                                  "('user:password@') is not allowed");
    if (host_len == 0)
        return rt_fail(RT_EINVAL, "invalid target URL '%s': no host", target);
    for (const char *c = target; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= ' ' || u >= 0x7f || *c == '?' || *c == '#')
            return rt_fail(RT_EINVAL,
                           "invalid target URL '%s': spaces, control "
                           "characters, '?' and '#' are not allowed",
                           target);
    }
    len = strlen(target);
    while (len > 0 && target[len - 1] == '/')
        len--;
    if (len >= REGION_URL_MAX)
        return rt_fail(RT_EINVAL, "invalid target URL: longer than %d bytes",
                       REGION_URL_MAX - 1);
    memcpy(out->api_url, target, len);
    out->api_url[len] = '\0';
    memcpy(out->login_url, target, len);
    out->login_url[len] = '\0';
    out->key[0] = '\0';
    out->custom = 1;
    return RT_OK;
}

static void log_unknown(const char *target)
{
    struct buf keys;

    buf_init(&keys, 1024);
    for (size_t i = 0; i < N_REGIONS; i++)
        buf_printf(&keys, "%s%s", i ? ", " : "", regions[i].key);
    log_error("unknown region '%s'; valid regions: %s (or a domain such as "
              "'usw2.pure.cloud', or an http:// or https:// base URL)",
              target, buf_str(&keys));
    buf_release(&keys);
}

enum rt_err region_resolve(const char *target, struct region_target *out)
{
    const struct region *r;
    enum rt_err err;

    memset(out, 0, sizeof(*out));
    if (!target)
        target = "";
    if (region_lookup(target, &r) == RT_OK) {
        snprintf(out->api_url, sizeof(out->api_url), "https://api.%s", r->env);
        snprintf(out->login_url, sizeof(out->login_url), "https://login.%s",
                 r->env);
        snprintf(out->key, sizeof(out->key), "%s", r->key);
        return RT_OK;
    }
    if (skip_prefix(target, "http://") || skip_prefix(target, "https://")) {
        err = custom_url(target, out);
        if (err)
            memset(out, 0, sizeof(*out));
        return err;
    }
    log_unknown(target);
    return RT_EINVAL;
}
