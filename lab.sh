#!/usr/bin/env bash
# Start JupyterLab in this course directory (sets up .venv the first time). Extra arguments go to
# `jupyter lab`, e.g. ./lab.sh --no-browser --port 8890. A first argument that is a folder starts it
# in that course directory instead, e.g. ./lab.sh demo for the demo class `autograder demo` built.
set -euo pipefail
here="$(pwd)"
cd "$(dirname "$0")"
source scripts/ensure-env.sh
if [ $# -gt 0 ] && [ -d "$(cd "$here" && realpath -m -- "$1")" ]; then
    cd "$(cd "$here" && realpath -- "$1")"
    shift
fi
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)  # e.g. in a container, where everyone is root
exec jupyter lab "${extra[@]}" "$@"
