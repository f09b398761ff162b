#!/usr/bin/env bash
# The whole test suite on a fresh machine: sets up .venv when needed, lints, then runs every test.
# Extra arguments go to pytest, e.g. ./test.sh -m "not slow" or ./test.sh tests/course.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-env.sh
scripts/system-packages.sh
ruff check .
python -m pytest "$@"
