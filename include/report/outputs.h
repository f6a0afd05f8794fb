/*
 * The machine-readable outputs of a diagnosis (DESIGN §9): summary.json's
 * content (its "evidence" part says what the audit, analytics and the
 * stream returned), bumps.csv, conflicts.csv (both with the audit's
 * writer), association.csv, strategies.csv, and the plot data files under
 * plots/ (notes on their columns in docs/analysis.md).  Everything written here
 * is a pure function of the diagnosis, so two analyses of one run write the
 * same bytes.
 */
#ifndef RT_REPORT_OUTPUTS_H
#define RT_REPORT_OUTPUTS_H

#include <cJSON.h>

#include "analysis/diagnose.h"
#include "base/err.h"

/*
 * Write the four CSVs into @dir and the plot data files into @dir/plots
 * (created), each atomically, and build the summary document (without its
 * "plots", "files" and "analysis.generated" parts, which the caller adds).
 * On RT_OK *summary is the caller's (cJSON_Delete).  Errors are logged
 * with the file; RT_EIO when a file cannot be written.  Thread-safe for
 * different directories.
 */
enum rt_err outputs_write(const struct diagnosis *d, const char *dir,
                          cJSON **summary);

/* The CSVs outputs_write() writes, in the order a bundle lists them. */
extern const char *const outputs_csv_files[];
#define OUTPUTS_N_CSV 4

#endif
