#!/bin/sh
# The whole test suite: zdtm-style dump/restore tests and bad-input tests.
# The runner prints a line per test and ends with "N passed, N failed".
set -e
cd "$(dirname "$0")/.."
exec python3 test/zdtm/run.py --snap "$PWD/snap/snap" "$@"
