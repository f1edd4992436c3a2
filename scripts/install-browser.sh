#!/bin/sh
# Install what tests/report/test_browser.py needs on a fresh Debian machine: the distribution's
# chromium package (Playwright drives it; Playwright's own browser download is never used).
#
# Idempotent, prints one line saying what it did, and never fails the build: without
# Chromium the browser tests skip themselves with a reason, so every path here exits 0.
# `apt-get update` runs only when a plain install fails (a fresh machine's package lists
# may be missing or stale), so the common case costs nothing.
set -u

CHROMIUM=/usr/bin/chromium
say() { echo "install-browser: $*"; }

if [ -x "$CHROMIUM" ]; then
    say "chromium already installed ($CHROMIUM), nothing to do"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "chromium missing and no apt-get here, installed nothing: the browser tests will be skipped"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "chromium missing and not root, installed nothing: the browser tests will be skipped"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp 2>/dev/null || echo /tmp/install-browser.$$.log)
if apt-get install -y -q chromium >"$log" 2>&1; then
    say "installed chromium with apt-get"
elif apt-get update -q >>"$log" 2>&1 && apt-get install -y -q chromium >>"$log" 2>&1; then
    say "installed chromium with apt-get (after apt-get update)"
else
    say "could not install chromium ($(tail -n 1 "$log")): the browser tests will be skipped"
fi
rm -f "$log"
exit 0
