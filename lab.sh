#!/usr/bin/env bash
# Start JupyterLab in this course directory (sets up .venv the first time). Extra arguments go to
# `jupyter lab`, e.g. ./lab.sh --no-browser --port 8890.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-env.sh
exec jupyter lab "$@"
