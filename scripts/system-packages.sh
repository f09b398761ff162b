#!/usr/bin/env bash
# System packages the tests use, from Debian: bubblewrap (the grading sandbox) and Chromium (browser
# tests). Installed when missing and apt-get can run as root; otherwise the tests that need them say
# so (the sandbox falls back to an unconfined run with a warning; browser tests skip with a reason).
# `system-packages.sh sandbox`: bubblewrap only (what grading needs; run.sh).
set -uo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# Any Chromium the browser tests can drive (tests/browser/lab.py looks for the same ones, or $CHROMIUM).
if [ "${1:-}" != "sandbox" ] && [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/lib/chromium/chromium ] \
    && ! command -v chromium chromium-browser google-chrome-stable google-chrome >/dev/null 2>&1; then
    missing+=(chromium)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[setup] not installing ${missing[*]} (needs root and apt-get); the tests that need them will say so"
    exit 0
fi
echo "[setup] installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } \
    || echo "[setup] could not install ${missing[*]}; the tests that need them will say so"
