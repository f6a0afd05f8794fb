#!/bin/sh
# Run every test program of one build variant and add up the results.
#
#   BUILD=build/<variant> sh tests/run.sh        (what `make test` does)
#
# Programs: $BUILD/tests/unit/*, $BUILD/tests/integration/* (cmocka) and
# $BUILD/fuzz-replay/* (corpus replayers), each run from the repository root.
# cmocka's own summary lines give the counts; a program that dies or exits
# non-zero without saying which tests failed counts as one failure under its
# own name, so a crash can never pass silently.  The last line is always
# "N passed, N failed"; the exit status is non-zero on any failure or when
# nothing ran.
#
# Environment:
#   TEST_FILTER   run only programs whose name contains this string
#   TEST_VERBOSE  1 = show the output of passing programs too
#   TEST_TIMEOUT  seconds per program before it is killed (default 600)
#   TEST_JOBS     programs run at once (default: twice the CPUs, at least
#                 4; most integration programs wait on a simulated clock,
#                 not on a CPU).  Results are reported in a fixed order.
set -u

cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build/release}
FILTER=${TEST_FILTER:-}
VERBOSE=${TEST_VERBOSE:-0}
LIMIT=${TEST_TIMEOUT:-600}
export CMOCKA_MESSAGE_OUTPUT=stdout

passed=0
failed=0
programs=0
failures=""
work=$(mktemp -d "${TMPDIR:-/tmp}/racetrace-test.XXXXXX") || exit 2
out=$work/sdk.out
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
JOBS=${TEST_JOBS:-$((cpus * 2))}
[ "$JOBS" -ge 4 ] || JOBS=${TEST_JOBS:-4}

if command -v timeout >/dev/null 2>&1; then
    TIMEOUT="timeout --foreground -k 10 $LIMIT"
else
    TIMEOUT=""
fi

# note_failure NAME WHY: remember a failed program for the summary.
note_failure() {
    failures="$failures
  $1: $2"
}

# count PATTERN FILE: the number in the last line matching a sed pattern.
count() {
    sed -n "s/$1/\\1/p" "$2" | tail -n 1
}

# The programs to run, in report order.
list=$work/list
: >"$list"
for dir in "$BUILD/tests/unit" "$BUILD/tests/integration" \
           "$BUILD/fuzz-replay"; do
    [ -d "$dir" ] || continue
    for prog in "$dir"/*; do
        if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
            continue
        fi
        name=$(basename "$prog")
        case $name in *.d | *.o) continue ;; esac
        if [ -n "$FILTER" ]; then
            case $name in *"$FILTER"*) ;; *) continue ;; esac
        fi
        echo "$prog" >>"$list"
    done
done

# Run them, JOBS at a time: each one's output and exit status land in
# $work/<n>.out and $work/<n>.rc (n = its line in the list).
# shellcheck disable=SC2016
awk '{ print NR " " $0 }' "$list" |
    TIMEOUT=$TIMEOUT WORK=$work xargs -P "$JOBS" -L 1 sh -c '
        rc=0
        $TIMEOUT "$1" >"$WORK/$0.out" 2>&1 || rc=$?
        echo "$rc" >"$WORK/$0.rc"' 

n=0
while IFS= read -r prog; do
    n=$((n + 1))
    name=$(basename "$prog")
    dir=$(dirname "$prog")
    programs=$((programs + 1))
    o=$work/$n.out
    rc=$(cat "$work/$n.rc" 2>/dev/null || echo 1)

    p=$(count '^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*' "$o")
    f=$(count '^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*' \
        "$o")
    r=$(count "^fuzz-replay: .*: \\([0-9][0-9]*\\) inputs ok\$" "$o")
    p=${p:-0}
    f=${f:-0}
    [ -n "$r" ] && p=$((p + r))

    why=""
    if [ "$f" -gt 0 ]; then
        why="$f test(s) failed"
    elif [ "$rc" -ne 0 ]; then
        # Died or gave up without cmocka's failure list: one failure.
        f=1
        if [ -n "$TIMEOUT" ] && [ "$rc" -eq 124 ]; then
            why="timed out after ${LIMIT}s"
        elif [ "$rc" -gt 128 ]; then
            why="killed by signal $((rc - 128))"
        else
            why="exited with status $rc"
        fi
    elif [ -z "$r" ] && ! grep -q '^\[  PASSED  \]' "$o"; then
        f=1
        why="reported no results"
    fi

    passed=$((passed + p))
    failed=$((failed + f))
    if [ -n "$why" ]; then
        echo "=== $dir/$name"
        cat "$o"
        echo "FAIL $name: $why"
        note_failure "$name" "$why"
    else
        [ "$VERBOSE" = 1 ] && cat "$o"
        echo "ok   $name: $p passed"
    fi
done <"$list"

# SDK conformance: the official Genesys JavaScript SDK against
# $BUILD/racetrace (tests/sdk/run.sh; skips itself without node).
sdk=sdk-conformance
case $sdk in *"$FILTER"*)
    rc=0
    # shellcheck disable=SC2086
    BUILD=$BUILD $TIMEOUT sh tests/sdk/run.sh >"$out" 2>&1 || rc=$?
    if grep -q '^sdk: skipped' "$out"; then
        cat "$out"
    else
        programs=$((programs + 1))
        p=$(count '^\([0-9][0-9]*\) passed, [0-9][0-9]* failed$' "$out")
        f=$(count '^[0-9][0-9]* passed, \([0-9][0-9]*\) failed$' "$out")
        p=${p:-0}
        f=${f:-0}
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -gt 0 ]; then
            echo "=== tests/sdk"
            cat "$out"
            echo "FAIL $sdk: $f check(s) failed (exit $rc)"
            note_failure "$sdk" "$f check(s) failed (exit $rc)"
        else
            [ "$VERBOSE" = 1 ] && cat "$out"
            echo "ok   $sdk: $p passed"
        fi
    fi
    ;;
esac

if [ -n "$failures" ]; then
    echo "failed programs:$failures"
fi
if [ "$programs" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
    where="'$BUILD'"
    [ -n "$FILTER" ] && where="$where matching '$FILTER'"
    echo "no tests ran under $where"
    echo "$passed passed, $failed failed"
    exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
