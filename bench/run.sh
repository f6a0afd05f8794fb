#!/bin/sh
# The report shows some URLs with literal $NAMES in them, on purpose.
# shellcheck disable=SC2016
# Benchmark: the simulator against nginx serving static files of the same
# byte size, so the comparison isolates what the simulator adds (routing,
# token check, JSON rendering, server.csv logging) on top of plain HTTP.
#
# Run through `make bench`, which installs wrk and nginx-light first.  Both
# servers listen on 127.0.0.1 only, on free ports, and every server started
# here is stopped on exit, error or Ctrl-C.  The "Simulator vs nginx"
# section of BENCHMARKS.md is rewritten in place (other sections are kept).
#
# Environment overrides:
#   BENCH_BIN          simulator binary (default ./racetrace)
#   BENCH_SECONDS      wrk duration per run in seconds (default 10)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 50)
#   BENCH_POOL         simulator --threads for the thread-pool row (default 2)
#   BENCH_OUT          output file (default BENCHMARKS.md)
set -eu

BIN=${BENCH_BIN:-./racetrace}
SECONDS_=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-50}
POOL=${BENCH_POOL:-2}
OUT=${BENCH_OUT:-BENCHMARKS.md}
AGENTS=150
SECTION="Simulator vs nginx"

die() {
    echo "bench: $*" >&2
    exit 1
}

for v in "$SECONDS_" "$THREADS" "$CONNS" "$POOL"; do
    case "$v" in
        '' | *[!0-9]*) die "expected a whole number, got '$v'" ;;
    esac
done
[ -x "$BIN" ] || die "cannot run '$BIN'; build it with 'make' first"
for tool in wrk nginx curl python3 awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run 'make bench'"
done

# Other work on the machine skews every number; the report says how busy
# it was when the runs began.
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/racetrace-bench.XXXXXX")
SIM_PIDS=""
NGINX_PID=""
WRK_PID=""

# Stop what we started, by pid, then remove the scratch directory.
cleanup() {
    for p in $WRK_PID $SIM_PIDS $NGINX_PID; do
        kill "$p" 2>/dev/null || true
    done
    for p in $WRK_PID $SIM_PIDS $NGINX_PID; do
        wait "$p" 2>/dev/null || true
    done
    # Forget them, so a second call (the EXIT trap after an explicit one)
    # cannot signal a recycled pid.
    WRK_PID=""
    SIM_PIDS=""
    NGINX_PID=""
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# start_sim NAME [extra flags]: start a simulator, wait for its three
# stdout lines, and set SIM_URL, SIM_ID, SIM_SECRET.
start_sim() {
    name=$1
    shift
    # Created here, not by the background redirection, so the polling loop
    # below never races the child for the file.
    : >"$TMP/sim-$name.out"
    "$BIN" sim --port 0 --agents "$AGENTS" -q --log-dir "$TMP/logs-$name" \
        "$@" >"$TMP/sim-$name.out" 2>"$TMP/sim-$name.err" &
    pid=$!
    SIM_PIDS="$SIM_PIDS $pid"
    i=0
    while [ "$(wc -l <"$TMP/sim-$name.out")" -lt 3 ]; do
        kill -0 "$pid" 2>/dev/null ||
            die "simulator '$name' exited: $(cat "$TMP/sim-$name.err")"
        i=$((i + 1))
        [ "$i" -le 200 ] || die "simulator '$name' printed no URL within 10s"
        sleep 0.05
    done
    SIM_URL=$(sed -n 1p "$TMP/sim-$name.out")
    SIM_ID=$(sed -n 2p "$TMP/sim-$name.out" | sed 's/^client_id=//')
    SIM_SECRET=$(sed -n 3p "$TMP/sim-$name.out" | sed 's/^client_secret=//')
    case "$SIM_URL" in
        http://127.0.0.1:*) ;;
        *) die "simulator '$name' printed '$SIM_URL', not a 127.0.0.1 URL" ;;
    esac
}

# token URL ID SECRET: print an access token.
token() {
    curl -sS --fail -u "$2:$3" -d grant_type=client_credentials \
        "$1/oauth/token" >"$TMP/token.json" || die "cannot log in to '$1'"
    python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/token.json"
}

# fetch URL TOKEN FILE: GET with the token into FILE; fail unless 200.
fetch() {
    code=$(curl -sS -o "$3" -w '%{http_code}' \
        -H "Authorization: Bearer $2" "$1") || die "cannot GET '$1'"
    [ "$code" = 200 ] || die "GET '$1' answered $code: $(head -c 300 "$3")"
}

# ---- simulator, default mode (one thread per connection) -----------------
start_sim tpc
URL_TPC=$SIM_URL
TOKEN_TPC=$(token "$SIM_URL" "$SIM_ID" "$SIM_SECRET")

fetch "$URL_TPC/api/v2/users?pageSize=$AGENTS" "$TOKEN_TPC" "$TMP/all.json"
python3 -c 'import json, sys
ids = [u["id"] for u in json.load(open(sys.argv[1]))["entities"]]
if len(ids) < 100:
    sys.exit("only %d users listed" % len(ids))
print(ids[0])
print(",".join(ids[:100]))' "$TMP/all.json" >"$TMP/ids" ||
    die "cannot read user ids from '$URL_TPC/api/v2/users'"
ONE_ID=$(sed -n 1p "$TMP/ids")
BULK_IDS=$(sed -n 2p "$TMP/ids")
SINGLE_PATH="/api/v2/users/$ONE_ID"
BULK_PATH="/api/v2/users?id=$BULK_IDS&pageSize=100&expand=presence,routingStatus"

mkdir -p "$TMP/nginx/www"
fetch "$URL_TPC$SINGLE_PATH" "$TOKEN_TPC" "$TMP/single.json"
fetch "$URL_TPC$BULK_PATH" "$TOKEN_TPC" "$TMP/bulk.json"
python3 -c 'import json, sys
n = len(json.load(open(sys.argv[1]))["entities"])
if n != 100:
    sys.exit("bulk GET returned %d users, not 100" % n)' "$TMP/bulk.json" ||
    die "bulk GET did not return 100 users"
SINGLE_BYTES=$(wc -c <"$TMP/single.json" | tr -d ' ')
BULK_BYTES=$(wc -c <"$TMP/bulk.json" | tr -d ' ')
cp "$TMP/single.json" "$TMP/nginx/www/single.json"
cp "$TMP/bulk.json" "$TMP/nginx/www/bulk.json"

# ---- simulator, thread pool (--threads) -----------------------------------
start_sim pool --threads "$POOL"
URL_POOL=$SIM_URL
TOKEN_POOL=$(token "$SIM_URL" "$SIM_ID" "$SIM_SECRET")
fetch "$URL_POOL$SINGLE_PATH" "$TOKEN_POOL" "$TMP/single-pool.json"

# ---- nginx -----------------------------------------------------------------
# When run as root, nginx workers drop to 'nobody', who must be able to read
# the files; the scratch directory is private by default.
chmod 755 "$TMP" "$TMP/nginx" "$TMP/nginx/www"
chmod 644 "$TMP/nginx/www/single.json" "$TMP/nginx/www/bulk.json"
CORES=$(nproc)
attempt=0
while :; do
    attempt=$((attempt + 1))
    NGINX_PORT=$(free_port)
    cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $CORES;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/json;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/nginx/www;
    }
}
EOF
    nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
        -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/stdout" 2>&1 &
    NGINX_PID=$!
    NGINX_URL="http://127.0.0.1:$NGINX_PORT"
    i=0
    ok=0
    while kill -0 "$NGINX_PID" 2>/dev/null && [ "$i" -lt 200 ]; do
        if curl -s -o /dev/null "$NGINX_URL/single.json"; then
            ok=1
            break
        fi
        i=$((i + 1))
        sleep 0.05
    done
    [ "$ok" = 1 ] && break
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
    [ "$attempt" -lt 3 ] ||
        die "nginx did not start: $(cat "$TMP/nginx/error.log" "$TMP/nginx/stdout" 2>/dev/null)"
done
fetch "$NGINX_URL/single.json" none "$TMP/check-single"
fetch "$NGINX_URL/bulk.json" none "$TMP/check-bulk"
cmp -s "$TMP/check-single" "$TMP/single.json" || die "nginx serves a different single file"
cmp -s "$TMP/check-bulk" "$TMP/bulk.json" || die "nginx serves a different bulk file"

# ---- wrk -------------------------------------------------------------------
WRK_FLAGS="-t$THREADS -c$CONNS -d${SECONDS_}s --latency"
ROWS=""

# run_wrk LABEL URL SHOWN [TOKEN]: run wrk on URL, check that every response
# was 2xx and no socket errors occurred, and append "label|cmd|rps|p50|p99"
# to ROWS, where cmd shows the URL as SHOWN (with the shell variables the
# report defines, since ports, ids and tokens change from run to run).
run_wrk() {
    label=$1
    url=$2
    shown_url=$3
    log="$TMP/wrk-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-').txt"
    if [ $# -ge 4 ]; then
        shown="wrk $WRK_FLAGS -H \"Authorization: Bearer \$TOKEN\" \"$shown_url\""
        echo "bench: $label" >&2
        # shellcheck disable=SC2086
        wrk $WRK_FLAGS -H "Authorization: Bearer $4" "$url" >"$log" 2>&1 &
    else
        shown="wrk $WRK_FLAGS \"$shown_url\""
        echo "bench: $label" >&2
        # shellcheck disable=SC2086
        wrk $WRK_FLAGS "$url" >"$log" 2>&1 &
    fi
    # In the background and waited for, so a signal runs the trap (and
    # stops everything) at once instead of after the whole wrk run.
    WRK_PID=$!
    wait "$WRK_PID" || die "wrk failed for '$label': $(cat "$log")"
    WRK_PID=""
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$log"; then
        die "wrk saw errors for '$label': $(cat "$log")"
    fi
    # Latency values carry their unit (us, ms, s); normalise to ms.
    vals=$(awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /m$/)  return substr(v, 1, length(v) - 1) * 60000
            if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
            return v + 0
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        END {
            if (rps == "" || p50 == "" || p99 == "") exit 1
            printf "%.0f|%.3f|%.3f", rps, p50, p99
        }' "$log") || die "cannot parse wrk output for '$label': $(cat "$log")"
    ROWS="$ROWS$label|$shown|$vals
"
}

SHOWN_SINGLE='/api/v2/users/$ID'
SHOWN_BULK='/api/v2/users?id=$IDS&pageSize=100&expand=presence,routingStatus'
run_wrk "single GET, simulator (thread per connection)" \
    "$URL_TPC$SINGLE_PATH" "\$SIM$SHOWN_SINGLE" "$TOKEN_TPC"
run_wrk "single GET, simulator (--threads $POOL, thread pool)" \
    "$URL_POOL$SINGLE_PATH" "\$SIM_POOL$SHOWN_SINGLE" "$TOKEN_POOL"
run_wrk "single GET, nginx static ($SINGLE_BYTES bytes)" \
    "$NGINX_URL/single.json" '$NGINX/single.json'
run_wrk "bulk GET, simulator (thread per connection)" \
    "$URL_TPC$BULK_PATH" "\$SIM$SHOWN_BULK" "$TOKEN_TPC"
run_wrk "bulk GET, simulator (--threads $POOL, thread pool)" \
    "$URL_POOL$BULK_PATH" "\$SIM_POOL$SHOWN_BULK" "$TOKEN_POOL"
run_wrk "bulk GET, nginx static ($BULK_BYTES bytes)" \
    "$NGINX_URL/bulk.json" '$NGINX/bulk.json'

# ---- report ----------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[ -n "$CPU" ] || CPU=unknown
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
NEW="$TMP/section.md"

printf '%s' "$ROWS" | awk -F'|' \
    -v date="$DATE" -v cores="$CORES" -v cpu="$CPU" -v secs="$SECONDS_" \
    -v bulk_bytes="$BULK_BYTES" \
    -v one_id="$ONE_ID" -v load="$LOAD" \
    -v single_bytes="$SINGLE_BYTES" -v pool="$POOL" -v section="$SECTION" '
    { label[NR] = $1; cmd[NR] = $2; rps[NR] = $3; p50[NR] = $4; p99[NR] = $5 }
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    END {
        print "## " section
        print ""
        print "- Date: " date
        print "- Machine: " cores " cores (nproc), " cpu
        print "- Load average (1, 5, 15 min) before the runs: " load
        print "- Command: `make bench` (script: `bench/run.sh`)"
        print "- Simulator: `racetrace sim --port 0 --agents 150 -q --log-dir <tmp>`" \
              " (thread per connection, the default) and the same with" \
              " `--threads " pool "` (libmicrohttpd thread pool, poll());" \
              " server.csv logging on, as in normal use."
        print "- nginx: Debian nginx-light, `worker_processes " cores \
              "`, `access_log off`, serving static files of exactly the" \
              " simulator response sizes: " single_bytes " bytes (GET " \
              "`/api/v2/users/$ID`) and " bulk_bytes " bytes (GET" \
              " `/api/v2/users?id=$IDS&pageSize=100&expand=presence,routingStatus`)."
        print "- wrk and both servers share the same " cores \
              " cores on 127.0.0.1, so absolute numbers are a floor;" \
              " the ratios are the point."
        print ""
        print "wrk command lines (" secs " s each, same threads and" \
              " connections for every run):"
        print ""
        print "```"
        for (i = 1; i <= NR; i++) print cmd[i]
        print "```"
        print ""
        print "where `$SIM` and `$SIM_POOL` are the base URLs of the two" \
              " simulators (`http://127.0.0.1:<port>`, ports picked at" \
              " random), `$NGINX` the base URL of nginx, `$TOKEN` a" \
              " client-credentials token from that simulator" \
              " (`/oauth/token`), `$ID` the id of the first agent (`" \
              one_id "`, seed 42) and `$IDS` the ids of the first 100" \
              " agents joined with commas.  Every run had no socket" \
              " errors and no non-2xx responses (the script fails" \
              " otherwise)."
        print ""
        print "| Run | Requests/s | p50 latency (ms) | p99 latency (ms) |"
        print "|---|---:|---:|---:|"
        for (i = 1; i <= NR; i++)
            printf "| %s | %d | %.2f | %.2f |\n", label[i], rps[i], \
                   p50[i], p99[i]
        print ""
        print "Ratios (simulator requests/s divided by nginx requests/s):"
        print ""
        printf "- single GET: %.2f (thread per connection), %.2f" \
               " (--threads %s)\n", ratio(rps[1], rps[3]), \
               ratio(rps[2], rps[3]), pool
        printf "- bulk GET: %.2f (thread per connection), %.2f" \
               " (--threads %s)\n", ratio(rps[4], rps[6]), \
               ratio(rps[5], rps[6]), pool
        print ""
        r1 = ratio(rps[1], rps[3])
        r2 = ratio(rps[2], rps[3])
        # Computed apart: ">" inside printf arguments is a redirection.
        m1 = (r1 >= 0.25) ? "met" : "not met"
        m2 = (r2 >= 0.25) ? "met" : "not met"
        printf "Goal: at least a quarter of nginx'"'"'s rate on the" \
               " single-user GET — **%s** in the default thread-per-" \
               "connection mode (%.2f), **%s** with --threads %s (%.2f).\n", \
               m1, r1, m2, pool, r2
    }' >"$NEW" || die "cannot write the report section"

# Replace our section (from its heading to the next "## " heading) and keep
# everything else; append the section if it is not there yet.
if [ -f "$OUT" ]; then
    awk -v section="## $SECTION" -v newfile="$NEW" '
        function emit(   line) {
            while ((getline line < newfile) > 0) print line
            close(newfile)
            done = 1
        }
        $0 == section { emit(); skip = 1; next }
        skip && /^## / { skip = 0; print "" }
        !skip { print }
        END {
            if (!done) { print ""; emit() }
        }' "$OUT" >"$OUT.tmp" || die "cannot write '$OUT.tmp'"
else
    {
        echo "# Benchmarks"
        echo ""
        cat "$NEW"
    } >"$OUT.tmp" || die "cannot write '$OUT.tmp'"
fi
mv "$OUT.tmp" "$OUT" || die "cannot rename '$OUT.tmp' to '$OUT'"
echo "bench: wrote '$OUT'" >&2
sed -n '/^| Run/,/^Goal/p' "$NEW"

# ---- observer vs wrk, observer memory (bench/observer.sh) ------------------
# Stop the servers above first so they take no CPU, then run the observer
# benchmark, which rewrites its own two sections of the same file.
cleanup
BENCH_OUT="$OUT" sh bench/observer.sh || die "observer benchmark failed"
