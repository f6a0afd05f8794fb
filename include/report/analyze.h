/*
 * racetrace analyze: a run directory in, every output of the diagnosis
 * out (DESIGN §8, §9).  Reads only the run directory: requests.csv,
 * observations.csv, operations.csv, run.json, audit.csv when the run read
 * the audit trail, and truth.csv for scoring.
 *
 * Writes, each atomically: bumps.csv, conflicts.csv, association.csv,
 * strategies.csv, plots/ (data, gnuplot scripts, PNG and SVG when gnuplot
 * is installed), summary.json, summary.md, report.html and
 * evidence.tar.gz.  Two analyses of one run write the same bytes except
 * for summary.json's analysis.generated (and the documents and bundle
 * that carry it).
 */
#ifndef RT_REPORT_ANALYZE_H
#define RT_REPORT_ANALYZE_H

#include <stdint.h>

#include "analysis/diagnose.h"
#include "base/err.h"

struct analyze_opts {
    /* Overrides; 0 takes the run's scenario (report.window, seed) or the
     * defaults of diagnose_params_default(). */
    int64_t window_ns;
    uint32_t permutations;
    const char *gnuplot; /* program; NULL = "gnuplot" on PATH */
    int quiet;           /* no verdict on stderr */
};

struct analyze_result {
    enum diag_cause cause;
    char headline[400]; /* diag_verdict.headline */
    int plots_rendered;
    int truth_scored, verdict_correct;
};

/*
 * Analyse the run in @dir.  RT_ENOENT / RT_EPARSE when the history is
 * missing or malformed (logged with file and line), RT_EIO when an output
 * cannot be written, RT_EINVAL when the bundle would carry a secret the
 * process knows (redact registry).  Not thread-safe (gnuplot runs in the
 * run directory's plots/ as a child process).
 */
enum rt_err analyze_run(const char *dir, const struct analyze_opts *opts,
                        struct analyze_result *out);

#endif
