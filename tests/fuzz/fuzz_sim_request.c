/*
 * Fuzz target: arbitrary requests against an in-process simulator, over
 * real HTTP, so libmicrohttpd's parsing, our routing, query handling and
 * every handler's body validation run on hostile input.
 *
 * Input format: the first line is "<METHOD> <path-and-query>", where the
 * token "{u}" in the path stands for a real agent id and "{q}" for a real
 * queue id (so deep handlers are reached); everything after the first
 * newline is the body.  The simulator must answer every request with a
 * well-formed status and never crash; an answer below 100 or a dropped
 * connection (no faults are configured) aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "sim/sim.h"

static struct sim *sim;
static CURL *curl;
static char auth_header[128];
static char agent_id[SIM_ID_LEN];
static char queue_id[SIM_ID_LEN];

static size_t sink(char *data, size_t size, size_t n, void *userdata)
{
    struct buf *b = userdata;

    if (b)
        buf_append(b, data, size * n);
    return size * n;
}

static void setup(void)
{
    struct sim_config cfg;
    struct buf body;
    cJSON *root, *tok;
    char url[256];
    long status = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    sim_config_defaults(&cfg);
    cfg.agents = 3;
    cfg.world.presence_enabled = 0;
    if (sim_start(&sim, &cfg))
        abort();
    snprintf(agent_id, sizeof(agent_id), "%s", org_agent_id(sim_org(sim), 0));
    {
        cJSON *q = org_queue_json(sim_org(sim), 0);
        snprintf(queue_id, sizeof(queue_id), "%s",
                 cJSON_GetObjectItemCaseSensitive(q, "id")->valuestring);
        cJSON_Delete(q);
    }
    curl = curl_easy_init();
    buf_init(&body, 1 << 20);
    snprintf(url, sizeof(url), "%s/oauth/token", sim_url(sim));
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_USERPWD,
                     "racetrace-sim-client:racetrace-sim-secret");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "grant_type=client_credentials");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(curl) ||
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) ||
        status != 200)
        abort();
    root = cJSON_Parse(buf_str(&body));
    tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    if (!cJSON_IsString(tok))
        abort();
    snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s",
             tok->valuestring);
    cJSON_Delete(root);
    buf_release(&body);
    curl_easy_reset(curl);
}

/* Replace {u} and {q} in @path; keep only printable non-space bytes, which
 * is all a request line can carry. */
static void expand_path(const char *in, size_t len, struct buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && in[i] == '{' && in[i + 2] == '}' &&
            (in[i + 1] == 'u' || in[i + 1] == 'q')) {
            buf_puts(out, in[i + 1] == 'u' ? agent_id : queue_id);
            i += 2;
        } else if (in[i] > ' ' && in[i] < 127) {
            buf_putc(out, in[i]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t line_len = nl ? (size_t)(nl - text) : size;
    const char *sp = memchr(text, ' ', line_len);
    struct buf method, url;
    struct curl_slist *headers = NULL;
    long status = 0;
    CURLcode rc;

    if (!sim)
        setup();
    if (!sp || sp == text || (size_t)(sp - text) > 16)
        return 0;
    buf_init(&method, 64);
    buf_init(&url, 8192);
    for (const char *p = text; p < sp; p++)
        if (*p >= 'A' && *p <= 'Z')
            buf_putc(&method, *p);
    buf_puts(&url, sim_url(sim));
    expand_path(sp + 1, line_len - (size_t)(sp + 1 - text), &url);
    if (!method.len || url.len > 4000 ||
        buf_str(&url)[strlen(sim_url(sim))] != '/')
        goto out;
    headers = curl_slist_append(headers, auth_header);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, buf_str(&method));
    /* A HEAD answer has headers only; without NOBODY curl would wait for
     * the Content-Length it announces. */
    if (!strcmp(buf_str(&method), "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    if (nl) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nl + 1);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                         (long)(size - line_len - 1));
    }
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    /* curl refuses some URLs itself; those never reach the server. */
    if (rc == CURLE_URL_MALFORMAT)
        goto out;
    if (rc != CURLE_OK || status < 100 || status > 599) {
        fprintf(stderr, "fuzz_sim_request: %s %s -> curl %d, status %ld\n",
                buf_str(&method), buf_str(&url), (int)rc, status);
        abort();
    }
out:
    curl_easy_reset(curl);
    curl_slist_free_all(headers);
    buf_release(&method);
    buf_release(&url);
    return 0;
}
