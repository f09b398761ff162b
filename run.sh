#!/usr/bin/env bash
# The main job on a fresh machine: sets up .venv when needed, regenerates release/ from source/ and
# checks the course (clean sources, sound NO LOOPS declarations, a current and leak-free release).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-env.sh
autograder release assignment2
