#!/usr/bin/env bash
# The main job on a fresh machine: sets up .venv when needed, regenerates release/ from source/,
# checks the course, then builds a demo class from the release (demo/), grades it and prints the table.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-env.sh
scripts/system-packages.sh sandbox  # bubblewrap, so that the demo class is graded sandboxed
autograder release assignment2
autograder demo assignment2 --into demo
