#!/bin/sh
# Benchmark: the observer against wrk, and the observer's memory over a long
# run.  Called at the end of bench/run.sh (so by `make bench`); runs on its
# own too once bench_observer is built:
#
#   make build/release/bench/bench_observer && sh bench/observer.sh
#
# 1. Observer vs wrk.  bench_observer --serve starts the simulator in its
#    own process and prints the URL, a token and the bulk path of the
#    observers' first chunk (100 agents, expand=presence,routingStatus).
#    Against that one server, for each connection count C, wrk
#    (-t C -c C) and the observer (C threads, one connection each, full
#    speed, every answer parsed into the tracker and every request written
#    to requests.csv) each run for the same time, in alternating order, for
#    several rounds.  Ratio = observer requests/s / wrk requests/s.
# 2. Memory.  bench_observer --soak runs the observers at full speed for
#    BENCH_SOAK and prints VmRSS and VmHWM every BENCH_SOAK_EVERY.
#
# Everything listens on and talks to 127.0.0.1 only.  The sections
# "Observer vs wrk" and "Observer memory over a 10-minute run" of
# BENCHMARKS.md are rewritten in place; other sections are kept.
#
# Environment overrides:
#   BENCH_OBSERVER              the program (default
#                               build/release/bench/bench_observer)
#   BENCH_OBSERVER_SECONDS      seconds per wrk or observer run (default 10)
#   BENCH_OBSERVER_CONNECTIONS  connection counts (default "2 8")
#   BENCH_OBSERVER_ROUNDS       rounds per connection count (default 3)
#   BENCH_OBSERVER_AGENTS       simulated agents (default 1000: 10 chunks)
#   BENCH_SOAK                  soak length (default 10m; 0 skips the soak
#                               and keeps the memory section as it is)
#   BENCH_SOAK_EVERY            memory sample period (default 1m)
#   BENCH_OUT                   output file (default BENCHMARKS.md)
set -eu

OBS=${BENCH_OBSERVER:-build/release/bench/bench_observer}
SECS=${BENCH_OBSERVER_SECONDS:-10}
CONNS=${BENCH_OBSERVER_CONNECTIONS:-2 8}
ROUNDS=${BENCH_OBSERVER_ROUNDS:-3}
AGENTS=${BENCH_OBSERVER_AGENTS:-1000}
SOAK=${BENCH_SOAK:-10m}
EVERY=${BENCH_SOAK_EVERY:-1m}
OUT=${BENCH_OUT:-BENCHMARKS.md}
SEC_WRK="Observer vs wrk"
SEC_MEM="Observer memory over a 10-minute run"

die() {
    echo "bench: $*" >&2
    exit 1
}

for v in "$SECS" "$ROUNDS" "$AGENTS" $CONNS; do
    case "$v" in
        '' | *[!0-9]*) die "expected a whole number, got '$v'" ;;
    esac
done
[ -n "$CONNS" ] || die "BENCH_OBSERVER_CONNECTIONS is empty"
[ -x "$OBS" ] || die "cannot run '$OBS'; build it with 'make $OBS'"
for tool in wrk awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make bench'"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/racetrace-bench-observer.XXXXXX")
SERVE_PID=""
SOAK_PID=""

# Stop what we started, by pid, then remove the scratch directory.
cleanup() {
    exec 3>&- 2>/dev/null || true
    for p in $SERVE_PID $SOAK_PID; do
        kill "$p" 2>/dev/null || true
    done
    for p in $SERVE_PID $SOAK_PID; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_lines FILE PATTERN COUNT PID SECONDS: wait until FILE has COUNT lines
# matching PATTERN while PID lives, for at most SECONDS.
wait_lines() {
    i=0
    while [ "$(grep -c -e "$2" "$1" || true)" -lt "$3" ]; do
        kill -0 "$4" 2>/dev/null ||
            die "bench_observer exited: $(cat "$TMP/serve.err" "$TMP/soak.err" 2>/dev/null)"
        i=$((i + 1))
        [ "$i" -le $(($5 * 10)) ] || die "bench_observer gave no '$2' within $5 s"
        sleep 0.1
    done
}

# value KEY LINE: the value of KEY=... in a "k=v k=v" line.
value() {
    printf '%s\n' "$2" | awk -v k="$1" '{
        for (i = 1; i <= NF; i++)
            if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit }
    }'
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- observer vs wrk --------------------------------------------------------
mkfifo "$TMP/ctl"
: >"$TMP/serve.out"
"$OBS" --serve --agents "$AGENTS" <"$TMP/ctl" >"$TMP/serve.out" \
    2>"$TMP/serve.err" &
SERVE_PID=$!
exec 3>"$TMP/ctl"
wait_lines "$TMP/serve.out" '^ready$' 1 "$SERVE_PID" 30
URL=$(sed -n 's/^url=//p' "$TMP/serve.out")
TOKEN=$(sed -n 's/^token=//p' "$TMP/serve.out")
BULK_PATH=$(sed -n 's/^path=//p' "$TMP/serve.out")
BYTES=$(sed -n 's/^bytes=//p' "$TMP/serve.out")
case "$URL" in
    http://127.0.0.1:*) ;;
    *) die "bench_observer printed '$URL', not a 127.0.0.1 URL" ;;
esac

# Command lines as shown in the report: the 100 ids as $IDS.
# shellcheck disable=SC2016 # $IDS is meant literally.
SHOWN_PATH=$(printf '%s' "$BULK_PATH" | sed 's/id=[^&]*/id=$IDS/')
FIRST_ID=$(printf '%s' "$BULK_PATH" | sed 's/^[^=]*=//; s/,.*//')
WRK_SHOWN=""
OBS_SHOWN=""
ROWS=""
n_obs=0
for c in $CONNS; do
    WRK_SHOWN="${WRK_SHOWN}wrk -t$c -c$c -d${SECS}s -H \"Authorization: Bearer \$TOKEN\" \"\$URL$SHOWN_PATH\"
"
    OBS_SHOWN="${OBS_SHOWN}echo 'observe $c ${SECS}s' >&3   # to bench_observer --serve
"
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        # Alternate who goes first, so a drift in the machine's load does
        # not always favour the same side.
        for side in $([ $((r % 2)) = 1 ] && echo "wrk obs" || echo "obs wrk"); do
            if [ "$side" = wrk ]; then
                echo "bench: wrk, $c connections, round $r" >&2
                log="$TMP/wrk-$c-$r.txt"
                wrk -t"$c" -c"$c" -d"${SECS}s" -H "Authorization: Bearer $TOKEN" \
                    "$URL$BULK_PATH" >"$log" 2>&1 ||
                    die "wrk failed: $(cat "$log")"
                if grep -q -e 'Non-2xx' -e 'Socket errors' "$log"; then
                    die "wrk saw errors: $(cat "$log")"
                fi
                wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$log")
                [ -n "$wrk_rps" ] || die "cannot parse wrk output: $(cat "$log")"
            else
                echo "bench: observer, $c threads, round $r" >&2
                n_obs=$((n_obs + 1))
                echo "observe $c ${SECS}s" >&3
                wait_lines "$TMP/serve.out" '^observe ' "$n_obs" "$SERVE_PID" \
                    $((SECS + 60))
                line=$(grep '^observe ' "$TMP/serve.out" | sed -n "${n_obs}p")
                obs_rps=$(value rps "$line")
                obs_req=$(value requests "$line")
                obs_rows=$(value rows_on_disk "$line")
                obs_obsrows=$(value observation_rows "$line")
                obs_failed=$(value failed "$line")
            fi
        done
        ROWS="$ROWS$c|$r|$wrk_rps|$obs_rps|$obs_req|$obs_rows|$obs_obsrows|$obs_failed
"
        r=$((r + 1))
    done
done
exec 3>&-
wait "$SERVE_PID" || die "bench_observer --serve failed: $(cat "$TMP/serve.err")"
SERVE_PID=""

CORES=$(nproc)
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[ -n "$CPU" ] || CPU=unknown
MEM_TOTAL=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
WRK_VERSION=$(wrk -v 2>&1 | awk 'NR == 1 { print $1, $2 }')
MACHINE="$CORES cores (nproc), $CPU, $MEM_TOTAL RAM"

printf '%s' "$ROWS" | awk -F'|' \
    -v date="$DATE" -v machine="$MACHINE" -v cores="$CORES" -v secs="$SECS" \
    -v agents="$AGENTS" -v bytes="$BYTES" -v rounds="$ROUNDS" \
    -v load="$LOAD_BEFORE" -v wrkv="$WRK_VERSION" -v path="$BULK_PATH" \
    -v wrk_cmds="$WRK_SHOWN" -v obs_cmds="$OBS_SHOWN" -v section="$SEC_WRK" \
    -v obs_bin="$OBS" -v first_id="$FIRST_ID" '
    function median(a, n,   i, j, t, b) {
        for (i = 1; i <= n; i++) b[i] = a[i]
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
                t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
            }
        return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    {
        c = $1
        if (!(c in seen)) { seen[c] = 1; order[++nc] = c }
        k = ++cnt[c]
        wrk[c, k] = $3; obs[c, k] = $4; req[c, k] = $5; rows[c, k] = $6
        orows[c, k] = $7; failed[c, k] = $8; rnd[c, k] = $2
    }
    END {
        short = path
        sub(/id=[^&]*/, "id=<100 ids>", short)
        print "## " section
        print ""
        print "- Date: " date
        print "- Machine: " machine "; load average before the run: " load
        print "- Command: `make bench` (this part: `sh bench/observer.sh`," \
              " program `bench/bench_observer.c`)"
        print "- Server: one simulator, started in-process by" \
              " `bench_observer --serve --agents " agents "` (default" \
              " world: agents change presence and routing status on" \
              " their own; no actors; thread per connection; no server" \
              " logs, so the disk cost is the observer'"'"'s own)."
        print "- Endpoint: `GET " short "`, " bytes " bytes per answer." \
              " wrk asks for the observers'"'"' first chunk; the observers" \
              " poll all " agents / 100 " chunks of 100 agents round-robin" \
              " (same size, same server work per request)."
        print "- Observer: the real observer threads in bulk mode, one" \
              " thread and one keep-alive connection each, poll interval" \
              " 1 ns with no jitter (every chunk always due: full speed)," \
              " shared token cache and (unlimited) rate limiter; every" \
              " answer parsed with cJSON and fed to the tracker, every" \
              " request written to requests.csv and every change to" \
              " observations.csv, as in a real run."
        print "- Same server, same connections (C), same endpoint, same" \
              " duration (" secs " s), one after the other in alternating" \
              " order, " rounds " rounds per C; the ratio is taken per" \
              " round and the median reported."
        print "- The machine has " cores " cores, shared by the server and" \
              " the client (wrk or the observer): every CPU cycle the" \
              " client spends is one the server cannot use, so the ratio" \
              " measures the client'"'"'s cost per request as much as its" \
              " speed."
        print ""
        print "Command lines (" wrkv "), in the order the script runs" \
              " them in round 1 (round 2 runs the observer first):"
        print ""
        print "```"
        print "mkfifo ctl"
        print obs_bin " --serve --agents " agents " <ctl >serve.out &" \
              "   # prints url=, token=, path=, ready"
        print "exec 3>ctl"
        nw = split(wrk_cmds, wl, "\n")
        split(obs_cmds, ol, "\n")
        for (i = 1; i < nw; i++) { print wl[i]; print ol[i] }
        print "exec 3>&-   # bench_observer stops the simulator and exits"
        print "```"
        print ""
        print "where `$URL` and `$TOKEN` are the `url=` and `token=` lines" \
              " and `$IDS` the ids of the first 100 agents (seed 42, the" \
              " first is `" first_id "`) joined with commas.  wrk must" \
              " see no socket errors and no non-2xx answers, and every" \
              " observer run must have no failed, unparsable or missing" \
              " answers and exactly one requests.csv row per request," \
              " or the script fails."
        print ""
        print "| C | Round | wrk req/s | observer req/s | ratio |" \
              " observer requests | requests.csv rows | observations.csv" \
              " rows | failed |"
        print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= nc; i++) {
            c = order[i]
            for (k = 1; k <= cnt[c]; k++) {
                ratio[k] = wrk[c, k] > 0 ? obs[c, k] / wrk[c, k] : 0
                printf "| %s | %s | %.0f | %.0f | %.2f | %s | %s | %s | %s |\n", \
                       c, rnd[c, k], wrk[c, k], obs[c, k], ratio[k], \
                       req[c, k], rows[c, k], orows[c, k], failed[c, k]
            }
        }
        print ""
        all_met = 1
        summary = ""
        for (i = 1; i <= nc; i++) {
            c = order[i]
            for (k = 1; k <= cnt[c]; k++) {
                w[k] = wrk[c, k]; o[k] = obs[c, k]
                ratio[k] = wrk[c, k] > 0 ? obs[c, k] / wrk[c, k] : 0
            }
            mr = median(ratio, cnt[c])
            met[c] = mr >= 0.5
            if (!met[c]) all_met = 0
            printf "- C = %s: wrk %.0f req/s, observer %.0f req/s (medians);" \
                   " ratio %.2f (median of rounds) — %s\n", c, \
                   median(w, cnt[c]), median(o, cnt[c]), mr, \
                   met[c] ? "aim met" : "aim not met"
        }
        print ""
        printf "Aim (at least half of wrk'"'"'s rate while parsing every" \
               " response): **%s**.\n", all_met ? "met" : "not met"
    }' >"$TMP/section-wrk.md" || die "cannot write the observer section"

# ---- memory over a long run -----------------------------------------------
if [ "$SOAK" != 0 ]; then
    echo "bench: observer soak for $SOAK (memory sampled every $EVERY)" >&2
    "$OBS" --soak "$SOAK" --every "$EVERY" --threads 2 --agents "$AGENTS" \
        --history-dir "$TMP/soak-history" >"$TMP/soak.out" &
    SOAK_PID=$!
    wait "$SOAK_PID" || die "bench_observer --soak failed"
    SOAK_PID=""
    SOAK_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    awk -v date="$SOAK_DATE" -v machine="$MACHINE" \
        -v soak="$SOAK" -v every="$EVERY" -v agents="$AGENTS" \
        -v section="$SEC_MEM" '
        function v(key,   i) {
            for (i = 1; i <= NF; i++)
                if (index($i, key "=") == 1)
                    return substr($i, length(key) + 2)
            return ""
        }
        $1 == "soak" && v("elapsed_s") != "" {
            n++
            # "+ 0": substr() gives strings, which compare as strings.
            t[n] = v("elapsed_s") + 0; req[n] = v("requests") + 0
            rows[n] = v("rows") + 0; rps[n] = v("rps") + 0
            rss[n] = v("vmrss_kib") + 0; hwm[n] = v("vmhwm_kib") + 0
        }
        $1 == "soak-done" { done = $0; dreq = v("requests"); drps = v("rps")
                            dbytes = v("requests_csv_bytes")
                            disk = v("rows_on_disk"); orows = v("observation_rows") }
        $1 == "soak-end" { end_rss = v("vmrss_kib"); end_hwm = v("vmhwm_kib") }
        END {
            if (n < 2 || done == "") exit 1
            # The early point: the sample at 2 minutes, or for a shorter
            # soak the first sample after the start.
            e = 2
            for (i = 2; i <= n; i++) if (t[i] == 120) e = i
            growth = hwm[n] - hwm[e]
            per_req = req[n] > req[e] ? growth * 1024 / (req[n] - req[e]) : 0
            print "## " section
            print ""
            print "- Date: " date " (run ended)"
            print "- Machine: " machine ".  The soak does not control other" \
                  " processes on the machine: a dip in the req/s column is" \
                  " other load taking CPU, which does not change what the" \
                  " memory columns show."
            print "- Command: `make bench` runs" \
                  " `bench_observer --soak " soak " --every " every \
                  " --threads 2 --agents " agents " --history-dir <tmp>`" \
                  " (length from `BENCH_SOAK`, default 10m)."
            print "- What runs: the simulator and the observers in one" \
                  " process (so the figures are an upper bound on the" \
                  " observer'"'"'s own memory), 2 observer threads at full" \
                  " speed (1 ns interval) over " agents " agents in" \
                  " bulk mode, history on: requests.csv and" \
                  " observations.csv written and flushed throughout."
            print "- VmRSS is the resident set at the sample; VmHWM the" \
                  " peak resident set since the process started, both from" \
                  " /proc/self/status.  The first row is taken after the" \
                  " simulator started and before the observers did."
            print ""
            print "| Elapsed | Requests | Req/s (last period) |" \
                  " requests.csv rows | VmRSS (KiB) | VmHWM (KiB) |"
            print "|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= n; i++) {
                # Computed apart: ">" inside printf arguments redirects.
                r = (i > 1) ? rps[i] : "-"
                printf "| %d s | %s | %s | %s | %s | %s |\n", t[i], req[i], \
                       r, rows[i], rss[i], hwm[i]
            }
            print ""
            printf "- Total: %s requests (%s req/s over the run), %s rows" \
                   " in requests.csv (%.0f MB), %s rows in" \
                   " observations.csv, none failed.\n", dreq, drps, disk, \
                   dbytes / 1e6, orows
            printf "- Peak RSS (VmHWM): %s KiB at %d s, %s KiB at %d s:" \
                   " %+d KiB over %d further requests (%.2f bytes per" \
                   " request).\n", hwm[e], t[e], hwm[n], t[n], growth, \
                   req[n] - req[e], per_req
            printf "- Current RSS (VmRSS): %s KiB at %d s, %s KiB at %d s;" \
                   " %s KiB after the observers were joined.\n", rss[e], \
                   t[e], rss[n], t[n], end_rss
            print ""
            # A leak of even 4 bytes per request would add about 1 MiB
            # over the 200 000-odd requests between 2 and 10 minutes.
            ok = growth <= 1024
            printf "Aim (memory does not grow with run length: peak at the" \
                   " end within 1 MiB of the peak at %d s): **%s**.\n", \
                   t[e], ok ? "met" : "not met"
        }' "$TMP/soak.out" >"$TMP/section-mem.md" ||
        die "cannot read the soak output: $(cat "$TMP/soak.out")"
fi

# ---- write BENCHMARKS.md ---------------------------------------------------
# Replace each of our sections (heading to the next "## " heading) in place
# and keep everything else; append those not there yet.
if [ "$SOAK" != 0 ]; then
    set -- "## $SEC_WRK" "$TMP/section-wrk.md" "## $SEC_MEM" "$TMP/section-mem.md"
else
    set -- "## $SEC_WRK" "$TMP/section-wrk.md"
fi
if [ -f "$OUT" ]; then
    cp "$OUT" "$OUT.tmp.base" || die "cannot copy '$OUT'"
else
    printf '# Benchmarks\n' >"$OUT.tmp.base" || die "cannot write '$OUT.tmp.base'"
fi
awk -v h1="${1:-}" -v f1="${2:-}" -v h2="${3:-}" -v f2="${4:-}" '
    function emit(f,   line) {
        while ((getline line < f) > 0) print line
        close(f)
    }
    function ours(s) { return (s == h1 && h1 != "") || (s == h2 && h2 != "") }
    skip && /^## / && !ours($0) { skip = 0; print "" }
    ours($0) {
        if (skip) print ""
        if ($0 == h1) { emit(f1); d1 = 1 } else { emit(f2); d2 = 1 }
        skip = 1
        next
    }
    !skip { print }
    END {
        if (h1 != "" && !d1) { print ""; emit(f1) }
        if (h2 != "" && !d2) { print ""; emit(f2) }
    }' "$OUT.tmp.base" >"$OUT.tmp" || die "cannot write '$OUT.tmp'"
rm -f "$OUT.tmp.base"
mv "$OUT.tmp" "$OUT" || die "cannot rename '$OUT.tmp' to '$OUT'"
echo "bench: wrote '$OUT'" >&2
sed -n '/^| C |/,/^Aim/p' "$TMP/section-wrk.md"
[ "$SOAK" = 0 ] || sed -n '/^- Total/,/^Aim/p' "$TMP/section-mem.md"
