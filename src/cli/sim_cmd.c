/*
 * racetrace sim: serve the simulated org on 127.0.0.1 until Ctrl-C,
 * SIGTERM or --duration.  The first line on stdout is the base URL, then
 * the credentials it accepts, flushed as soon as it listens, so scripts can
 * read them; diagnostics go to stderr.
 *
 * Signals are blocked in every thread and taken synchronously with
 * sigtimedwait() in the main thread, so no handler runs at all.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/jread.h"
#include "base/log.h"
#include "base/units.h"
#include "cli/cli.h"
#include "sim/sim.h"

static const char usage[] =
    "usage: racetrace sim [--port <n>] [--agents <n>] [--seed <n>]\n"
    "                     [--scenario <file>] [--client-id <id>]\n"
    "                     [--client-secret <secret>] [--rate-limit <per-min>]\n"
    "                     [--token-lifetime <time>] [--duration <time>]\n"
    "                     [--log-dir <dir>] [--threads <n>] [-q]\n"
    "\n"
    "Serve a simulated Genesys Cloud org on 127.0.0.1 and print its base URL\n"
    "and the credentials it accepts.  Runs until Ctrl-C or --duration.\n"
    "\n"
    "    --port <n>              port to listen on (default 0: any free port)\n"
    "    --agents <n>            number of agents (default 150)\n"
    "    --seed <n>              world seed (default 42)\n"
    "    --scenario <file>       take seed, agents and world from a scenario\n"
    "    --client-id <id>        OAuth client id accepted\n"
    "    --client-secret <s>     OAuth client secret accepted\n"
    "    --rate-limit <n>        requests per minute per token (0: none)\n"
    "    --token-lifetime <time> access token lifetime (default 86399s)\n"
    "    --duration <time>       stop after this long (default: never)\n"
    "    --log-dir <dir>         where truth.csv and server.csv go\n"
    "                            (default reports/sim-<UTC time>)\n"
    "    --threads <n>           worker threads (default 0: one per\n"
    "                            connection, needed for injected latency)\n"
    "    -q, --quiet             no status line on stderr\n";

enum {
    OPT_PORT = 256,
    OPT_AGENTS,
    OPT_SEED,
    OPT_SCENARIO,
    OPT_CLIENT_ID,
    OPT_CLIENT_SECRET,
    OPT_RATE,
    OPT_LIFETIME,
    OPT_DURATION,
    OPT_LOG_DIR,
    OPT_THREADS,
    OPT_HELP
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"agents", required_argument, NULL, OPT_AGENTS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"client-secret", required_argument, NULL, OPT_CLIENT_SECRET},
    {"rate-limit", required_argument, NULL, OPT_RATE},
    {"token-lifetime", required_argument, NULL, OPT_LIFETIME},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"log-dir", required_argument, NULL, OPT_LOG_DIR},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

static int bad_arg(const char *flag, const char *value, const char *want)
{
    log_error("invalid value '%s' for --%s: %s", value, flag, want);
    return CLI_USAGE;
}

static int set_string(char *dst, size_t cap, const char *flag,
                      const char *value)
{
    if (!*value || strlen(value) >= cap)
        return bad_arg(flag, value, "expected 1 to 63 characters");
    snprintf(dst, cap, "%s", value);
    return 0;
}

/* Flags are applied after the scenario so they win over it. */
struct flags {
    const char *scenario;
    const char *port, *agents, *seed, *client_id, *client_secret, *rate,
        *lifetime, *duration, *log_dir, *threads;
    int quiet;
};

static int apply_flags(struct sim_config *cfg, const struct flags *f)
{
    int64_t v;

    if (f->port) {
        if (units_parse_i64(f->port, &v) || v < 0 || v > 65535)
            return bad_arg("port", f->port, "expected 0 to 65535");
        cfg->port = (uint16_t)v;
    }
    if (f->agents) {
        if (units_parse_count(f->agents, &v) || v < 1 || v > 100000)
            return bad_arg("agents", f->agents, "expected 1 to 100000");
        cfg->agents = v;
    }
    if (f->seed) {
        if (units_parse_i64(f->seed, &v) || v < 0)
            return bad_arg("seed", f->seed, "expected a whole number >= 0");
        cfg->seed = (uint64_t)v;
    }
    if (f->client_id && set_string(cfg->client_id, sizeof(cfg->client_id),
                                   "client-id", f->client_id))
        return CLI_USAGE;
    if (f->client_secret &&
        set_string(cfg->client_secret, sizeof(cfg->client_secret),
                   "client-secret", f->client_secret))
        return CLI_USAGE;
    if (f->rate) {
        if (units_parse_count(f->rate, &v) || v > 1000000000)
            return bad_arg("rate-limit", f->rate,
                           "expected requests per minute, 0 for none");
        cfg->world.rate_limit_per_min = v;
    }
    if (f->lifetime) {
        if (units_parse_duration(f->lifetime, &v) || v < NS_PER_S)
            return bad_arg("token-lifetime", f->lifetime,
                           "expected a duration of at least 1s, e.g. 10m");
        cfg->token_lifetime_ns = v;
    }
    if (f->duration) {
        if (units_parse_duration(f->duration, &v))
            return bad_arg("duration", f->duration,
                           "expected a duration such as 90s or 10m");
        cfg->duration_ns = v;
    }
    if (f->threads) {
        if (units_parse_i64(f->threads, &v) || v < 0 || v > 256)
            return bad_arg("threads", f->threads, "expected 0 to 256");
        cfg->threads = (int)v;
    }
    if (f->log_dir) {
        if (!*f->log_dir || strlen(f->log_dir) >= sizeof(cfg->log_dir))
            return bad_arg("log-dir", f->log_dir, "path empty or too long");
        snprintf(cfg->log_dir, sizeof(cfg->log_dir), "%s", f->log_dir);
    }
    return 0;
}

static int load_scenario(struct sim_config *cfg, const char *path)
{
    struct jread jr;
    cJSON *root = NULL;
    int rc = 0;

    jread_init(&jr, path);
    if (jread_load_file(&jr, path, &root) ||
        sim_config_from_json(cfg, &jr, root)) {
        log_error("%s", jr.error);
        rc = CLI_USAGE;
    }
    cJSON_Delete(root);
    return rc;
}

static void default_log_dir(struct sim_config *cfg)
{
    char stamp[ISO8601_LEN];

    iso8601_format_ms(clock_wall_ns(), stamp, sizeof(stamp));
    /* Colons and dots are awkward in file names on some systems. */
    for (char *p = stamp; *p; p++)
        if (*p == ':' || *p == '.')
            *p = '-';
    snprintf(cfg->log_dir, sizeof(cfg->log_dir), "reports/sim-%s", stamp);
}

int cmd_sim(int argc, char **argv)
{
    struct sim_config cfg;
    struct flags f = {0};
    struct sim *sim = NULL;
    sigset_t set;
    int opt, rc;
    int64_t deadline = 0;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "q", options, NULL)) != -1) {
        switch (opt) {
        case OPT_PORT:
            f.port = optarg;
            break;
        case OPT_AGENTS:
            f.agents = optarg;
            break;
        case OPT_SEED:
            f.seed = optarg;
            break;
        case OPT_SCENARIO:
            f.scenario = optarg;
            break;
        case OPT_CLIENT_ID:
            f.client_id = optarg;
            break;
        case OPT_CLIENT_SECRET:
            f.client_secret = optarg;
            break;
        case OPT_RATE:
            f.rate = optarg;
            break;
        case OPT_LIFETIME:
            f.lifetime = optarg;
            break;
        case OPT_DURATION:
            f.duration = optarg;
            break;
        case OPT_LOG_DIR:
            f.log_dir = optarg;
            break;
        case OPT_THREADS:
            f.threads = optarg;
            break;
        case 'q':
            f.quiet = 1;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return CLI_OK;
        default:
            if (optopt)
                log_error("unknown option '-%c' for 'racetrace sim'", optopt);
            else
                log_error("unknown option '%s' for 'racetrace sim'",
                          argv[optind - 1]);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' for 'racetrace sim'", argv[optind]);
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    sim_config_defaults(&cfg);
    if (f.scenario && (rc = load_scenario(&cfg, f.scenario)))
        return rc;
    if ((rc = apply_flags(&cfg, &f)))
        return rc;
    if (!cfg.log_dir[0])
        default_log_dir(&cfg);
    if (fs_mkdir_p(cfg.log_dir))
        return CLI_FAILED;

    /* Block the stop signals before any thread exists so every thread
     * inherits the mask and only sigtimedwait() below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sim_start(&sim, &cfg))
        return CLI_FAILED;
    printf("%s\nclient_id=%s\nclient_secret=%s\n", sim_url(sim), cfg.client_id,
           cfg.client_secret);
    fflush(stdout);
    if (!f.quiet)
        log_info("simulated org: %lld agents, seed %llu, logs in '%s'; "
                 "Ctrl-C stops it",
                 (long long)cfg.agents, (unsigned long long)cfg.seed,
                 cfg.log_dir);
    if (cfg.duration_ns > 0)
        deadline = clock_mono_ns() + cfg.duration_ns;
    for (;;) {
        struct timespec ts;
        int64_t left = deadline ? deadline - clock_mono_ns() : 3600 * NS_PER_S;
        int sig;

        if (deadline && left <= 0)
            break;
        ts.tv_sec = (time_t)(left / NS_PER_S);
        ts.tv_nsec = (long)(left % NS_PER_S);
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            break;
    }
    sim_stop(sim);
    if (!f.quiet)
        log_info("simulator stopped; logs in '%s'", cfg.log_dir);
    return CLI_OK;
}
