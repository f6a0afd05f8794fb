#!/bin/sh
# SDK conformance: run the official Genesys Cloud JavaScript SDK, unchanged,
# against `racetrace sim` (tests/sdk/conformance.mjs).
#
# usage: tests/sdk/run.sh            (from the repository root)
#   BUILD  build directory holding the racetrace binary (default
#          build/release)
#
# Skips, exit 0, when node is not installed.  Installs the pinned SDK from
# package-lock.json with `npm ci` when node_modules is missing or older than
# the lock file.  Prints one line per check and `N passed, M failed` last;
# exits non-zero on any failure.
set -eu

if ! command -v node >/dev/null 2>&1; then
    echo "sdk: skipped (node not found)"
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build/release}

bin=$build/racetrace
if [ ! -x "$bin" ]; then
    echo "sdk: $bin not found; build it first (make)" >&2
    exit 1
fi
case $bin in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac

# npm ci rewrites node_modules/.package-lock.json, so it doubles as the
# stamp of the last install (find -newer: test -nt is not POSIX).
lock=$here/package-lock.json
stamp=$here/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ -n "$(find "$lock" -newer "$stamp")" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "sdk: npm not found; install npm to fetch the SDK" >&2
        exit 1
    fi
    (cd "$here" && npm ci --no-audit --no-fund --silent --ignore-scripts)
fi

exec node "$here/conformance.mjs" "$bin"
