/*
 * The plots: for each plot data file the diagnosis left in RUN/plots/
 * (notes/analysis-contract.md, "Plot data files") a gnuplot script
 * RUN/plots/<name>.gp that reads its data by relative path, rendered by the
 * external program gnuplot to <name>.png and <name>.svg next to it.
 *
 * The six plots, in this order (names fixed):
 *   swimlane        per-agent timeline: routing and presence bands, version
 *                   bumps, read->write windows, conflicts
 *                   (swimlane_lanes.dat; swimlane_states.dat,
 *                   swimlane_bumps.dat, swimlane_windows.dat when present)
 *   lag             lag from the verdict's transition to the bump (lag.dat)
 *   outcomes        requests per second by outcome, replay windows shaded
 *                   (outcomes.dat; replay_windows.dat when present)
 *   latency         latency percentiles by HTTP status (latency.dat)
 *   conflict_state  conflict rate by routing state at write
 *                   (conflict_state.dat)
 *   strategies      strategy comparison (strategies.dat)
 *
 * Invariants:
 *   - a script works by hand: `cd RUN/plots && gnuplot swimlane.gp` writes
 *     swimlane.png and swimlane.svg;
 *   - the same data gives byte-identical scripts and images (nothing
 *     time-dependent, no interactive SVG: the HTML report runs no script);
 *   - labels from the data (agent ids, states, strategies, the run name,
 *     the signal) are quoted so no character can break a script or make
 *     gnuplot run a command;
 *   - after plots_render(), <name>.png and <name>.svg exist exactly when
 *     the item says rendered: stale images of a skipped or failed plot are
 *     removed, and a render appears under its real name only when complete
 *     (gnuplot writes "<name>.tmp.png"/".svg", renamed into place).
 */
#ifndef RT_REPORT_PLOTS_H
#define RT_REPORT_PLOTS_H

#include <stddef.h>

#include "base/err.h"

#define PLOTS_MAX 8

/* Text for the plot titles; all borrowed for the call, each may be NULL. */
struct plots_labels {
    const char *run_name; /* scenario name, shown in every title */
    const char *signal;   /* verdict signal for the lag plot title */
};

struct plots_item {
    char name[32];   /* "swimlane", ...: <name>.gp/.png/.svg in plots_dir */
    char title[160]; /* human title, for captions; label text truncated */
    int rendered;    /* <name>.png and <name>.svg both written */
};

struct plots_result {
    int gnuplot_found; /* the program could be started (0 when no plot
                          had a data file, so none was tried) */
    size_t n_items;    /* plots whose .gp was written (data file present) */
    struct plots_item items[PLOTS_MAX]; /* in the order above */
    char note[512]; /* "" or one line for the report: how to render later,
                       which plots failed or had no data file */
};

/*
 * Write the scripts into @plots_dir and render them.  @labels may be NULL.
 * @gnuplot is the program to run: NULL means "gnuplot" looked up on PATH,
 * a name with a '/' is used as a path.  gnuplot runs with @plots_dir as
 * its working directory, stdin from /dev/null, stdout and stderr appended
 * to @plots_dir/gnuplot.log (truncated before the first plot); never
 * through a shell.  All arguments are borrowed for the call; *@out is the
 * caller's and holds no pointer.
 *
 * A plot whose data file is missing (or unreadable, logged) is skipped: no
 * item, and its old script and images are removed.  A data file with no
 * data rows still gets a plot (empty axes labelled "no data") so the
 * report layout is stable.  Without gnuplot the scripts are still written,
 * every item has rendered = 0 and the note says how to render later (the
 * caller shows the note; it is not logged here).  A
 * gnuplot failure on one plot is logged as one line naming the plot and
 * the log file and leaves rendered = 0 for it.  All of these return RT_OK:
 * the run must still succeed.
 *
 * Returns RT_EIO (logged) only when a script cannot be written (that plot
 * has no item; the others are still written and rendered); RT_EINVAL for
 * a NULL or empty @plots_dir or a NULL @out.  *@out, when not NULL, is
 * filled in every case.  Blocks until each gnuplot exits.  Thread-safe for
 * different @plots_dir values.
 */
enum rt_err plots_render(const char *plots_dir,
                         const struct plots_labels *labels, const char *gnuplot,
                         struct plots_result *out);

#endif
