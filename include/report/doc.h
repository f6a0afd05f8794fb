/*
 * The documents for people: RUN/summary.md (plain Markdown) and
 * RUN/report.html (one self-contained page: inline CSS, no script, no
 * external URL, plots embedded as data: URIs).  Both are built from the
 * parsed summary.json (notes/analysis-contract.md) and carry the same
 * content in the same order: the verdict first, then "more data" advice,
 * secondary causes and confounds, what the run could and could not see
 * (audit, analytics, the notifications stream, in plain words), the
 * evidence tables, the simulator's truth score when present, the plots
 * and the list of files.
 *
 * Any member of the summary may be missing, null or of the wrong type (a
 * summary from an older or interrupted run): it prints as "n/a" or its
 * section says it was not recorded.  Strings from the summary are escaped
 * for the target format.  Plot images are read from
 * @run_dir/plots/<name>.png, where <name> must be a plain file name; a
 * missing image shows its title and the plots note instead.
 *
 * Each document is written to "<out_path>.tmp" and renamed into place, so
 * a crash never leaves half a report.
 */
#ifndef RT_REPORT_DOC_H
#define RT_REPORT_DOC_H

#include <cJSON.h>

#include "base/err.h"

/*
 * Write the Markdown summary to @out_path.  @summary is borrowed (NULL
 * reads as an empty object); @run_dir (may be NULL) is where plots/ is
 * looked up.  Returns RT_EIO when the file cannot be written, RT_ETRUNC
 * when the document would exceed its size cap; the cause is logged and no
 * file is left behind.  Thread-safe (no shared state).
 */
enum rt_err doc_write_markdown(const cJSON *summary, const char *run_dir,
                               const char *out_path);

/*
 * Write the self-contained HTML report to @out_path, embedding every plot
 * PNG found under @run_dir/plots/ (each at most 32 MiB).  Ownership,
 * errors and thread-safety as doc_write_markdown().
 */
enum rt_err doc_write_html(const cJSON *summary, const char *run_dir,
                           const char *out_path);

#endif
