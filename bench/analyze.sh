#!/bin/sh
# Benchmark: `racetrace analyze` on a large synthetic run directory (the
# goal, DESIGN §11: a run of hours analysed in seconds, memory in
# proportion to the agents, not the requests; in numbers, under 30 s and
# under 2 GB for 10M requests and 1M observations).
#
# Called at the end of `make bench`, which builds racetrace and
# gen_history; this script builds nothing.  Runs on its own too:
#
#   make build/release/bench/gen_history && sh bench/analyze.sh
#
# 1. History.  bench/gen_history writes a complete run directory (see the
#    comment at the top of bench/gen_history.c) into
#    build/bench-history/<parameters>/, once: it is generated into
#    "<dir>.tmp", moved into place, and the marker file "complete" is
#    written last, holding the generator's arguments and the checksum of
#    its source.  A directory whose marker matches is reused; any other is
#    generated again.
# 2. Analysis.  `racetrace analyze <dir>` runs BENCH_ANALYZE_RUNS times,
#    each under GNU time (Debian's `time` package, installed when missing)
#    for wall time and peak resident memory.  The script prints a table,
#    the median of each, and whether the goal was met.  It writes nothing
#    to BENCHMARKS.md.
#
# Environment overrides:
#   BENCH_BIN                    racetrace binary (default ./racetrace)
#   GEN_HISTORY                  the generator (default
#                                build/release/bench/gen_history)
#   BENCH_HISTORY_DIR            where histories are kept (default
#                                build/bench-history)
#   BENCH_ANALYZE_REQUESTS       requests.csv rows (default 10000000)
#   BENCH_ANALYZE_OBSERVATIONS   observations.csv rows (default 1000000)
#   BENCH_ANALYZE_AGENTS         agents (default 2000)
#   BENCH_ANALYZE_SEED           generator seed (default 1)
#   BENCH_ANALYZE_DURATION       run length (default 3h)
#   BENCH_ANALYZE_RUNS           timed runs (default 3)
set -eu

BIN=${BENCH_BIN:-./racetrace}
GEN=${GEN_HISTORY:-build/release/bench/gen_history}
HIST=${BENCH_HISTORY_DIR:-build/bench-history}
REQUESTS=${BENCH_ANALYZE_REQUESTS:-10000000}
OBSERVATIONS=${BENCH_ANALYZE_OBSERVATIONS:-1000000}
AGENTS=${BENCH_ANALYZE_AGENTS:-2000}
SEED=${BENCH_ANALYZE_SEED:-1}
DURATION=${BENCH_ANALYZE_DURATION:-3h}
RUNS=${BENCH_ANALYZE_RUNS:-3}
GOAL_SECONDS=30
GOAL_MIB=2048
TIME=/usr/bin/time

die() {
    echo "bench: $*" >&2
    exit 1
}

for v in "$REQUESTS" "$OBSERVATIONS" "$AGENTS" "$SEED" "$RUNS"; do
    case "$v" in
        '' | *[!0-9]*) die "expected a whole number, got '$v'" ;;
    esac
done
[ "$RUNS" -ge 1 ] || die "BENCH_ANALYZE_RUNS must be at least 1"
case "$DURATION" in
    '' | *[!0-9a-z.]*) die "expected a duration such as '3h', got '$DURATION'" ;;
esac
[ -x "$BIN" ] || die "cannot run '$BIN'; build it with 'make' first"
[ -x "$GEN" ] || die "cannot run '$GEN'; build it with 'make $GEN'"
sh tools/deps.sh time
[ -x "$TIME" ] || die "'$TIME' not found; install Debian's 'time' package"

# The analysis command is being written; until it is there, say so rather
# than time an error message.
if "$BIN" analyze 2>&1 | grep -q "unknown command 'analyze'"; then
    die "'$BIN analyze' does not exist yet; nothing to time"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/racetrace-bench-analyze.XXXXXX")
RUN_PID=""

# Stop what we started, by pid, then remove the scratch directory.
cleanup() {
    if [ -n "$RUN_PID" ]; then
        kill "$RUN_PID" 2>/dev/null || true
        wait "$RUN_PID" 2>/dev/null || true
        RUN_PID=""
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_bg LOG CMD...: run CMD in the background with its output in LOG and
# wait for it, so a signal runs the trap (and stops it) at once; returns
# its exit status.
run_bg() {
    log=$1
    shift
    "$@" >"$log" 2>&1 &
    RUN_PID=$!
    st=0
    wait "$RUN_PID" || st=$?
    RUN_PID=""
    return "$st"
}

# ---- history ----------------------------------------------------------------
NAME="r$REQUESTS-o$OBSERVATIONS-a$AGENTS-s$SEED-d$DURATION"
DIR="$HIST/$NAME"
ARGS="--requests $REQUESTS --observations $OBSERVATIONS --agents $AGENTS --seed $SEED --duration $DURATION"
SUM=$(sha256sum bench/gen_history.c 2>/dev/null | cut -d' ' -f1) ||
    die "cannot read bench/gen_history.c"
MARK="gen_history $ARGS
source sha256 $SUM"

if [ -f "$DIR/complete" ] && [ "$(cat "$DIR/complete")" = "$MARK" ]; then
    echo "bench: reusing the history in '$DIR'" >&2
else
    echo "bench: generating the history in '$DIR' ($REQUESTS requests," \
        "$OBSERVATIONS observations, $AGENTS agents)" >&2
    mkdir -p "$HIST" || die "cannot create '$HIST'"
    # Only directories this script made: the named one and its .tmp.
    rm -rf "$DIR" "$DIR.tmp"
    # shellcheck disable=SC2086
    run_bg "$TMP/gen.log" "$TIME" -f '%e %M' -o "$TMP/gen.time" \
        "$GEN" --out "$DIR.tmp" $ARGS ||
        die "gen_history failed: $(cat "$TMP/gen.log")"
    mv "$DIR.tmp" "$DIR" || die "cannot rename '$DIR.tmp' to '$DIR'"
    if ! printf '%s\n' "$MARK" >"$DIR/complete.tmp" ||
        ! mv "$DIR/complete.tmp" "$DIR/complete"; then
        die "cannot write '$DIR/complete'"
    fi
    read -r gen_s gen_kib <"$TMP/gen.time"
    echo "bench: generated in $gen_s s (peak RSS $((gen_kib / 1024)) MiB):" \
        "$(grep '^gen_history: wrote' "$TMP/gen.log" || true)" >&2
fi
SIZE=$(du -sh "$DIR" | cut -f1)

# ---- analysis -----------------------------------------------------------------
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
i=1
: >"$TMP/results"
while [ "$i" -le "$RUNS" ]; do
    echo "bench: racetrace analyze, run $i of $RUNS" >&2
    run_bg "$TMP/analyze-$i.log" "$TIME" -f '%e %M' -o "$TMP/time-$i" \
        "$BIN" analyze "$DIR" ||
        die "'$BIN analyze $DIR' failed (run $i): $(tail -40 "$TMP/analyze-$i.log")"
    read -r secs kib <"$TMP/time-$i" ||
        die "cannot read the time of run $i: $(cat "$TMP/time-$i")"
    echo "$i $secs $kib" >>"$TMP/results"
    i=$((i + 1))
done

CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[ -n "$CPU" ] || CPU=unknown
echo ""
echo "racetrace analyze on '$DIR' ($SIZE; $REQUESTS requests, $OBSERVATIONS" \
    "observations, $AGENTS agents, seed $SEED, $DURATION)"
echo "Machine: $(nproc) cores (nproc), $CPU; load average before: $LOAD"
echo ""
awk -v goal_s="$GOAL_SECONDS" -v goal_mib="$GOAL_MIB" '
    { run[NR] = $1; s[NR] = $2; mib[NR] = $3 / 1024 }
    # The median: the middle value, or the mean of the two middle ones.
    function median(a, n,   b, i, j, t) {
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
                t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
            }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    END {
        print "| Run | Wall time (s) | Peak RSS (MiB) |"
        print "|---:|---:|---:|"
        for (i = 1; i <= NR; i++)
            printf "| %d | %.2f | %.0f |\n", run[i], s[i], mib[i]
        ms = median(s, NR)
        mm = median(mib, NR)
        printf "| median | %.2f | %.0f |\n", ms, mm
        # Computed apart: ">" inside printf arguments is a redirection.
        met = (ms < goal_s && mm < goal_mib) ? "met" : "not met"
        printf "\nGoal (under %d s and under %d MiB): %s\n", goal_s, \
               goal_mib, met
    }' "$TMP/results"
