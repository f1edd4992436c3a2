#!/bin/sh
# Install what tests/distributed/test_distributed.py needs on a fresh Debian machine: the distribution's
# redis-server (the tests start their own instance on an ephemeral loopback port; the
# package's system service is not needed and is not started here).
#
# Idempotent, prints one line saying what it did, and never fails the build: without
# redis-server the distributed tests skip themselves with a reason, so every path exits 0.
# `apt-get update` runs only when a plain install fails (a fresh machine's package lists
# may be missing or stale), so the common case costs nothing.
set -u

say() { echo "install-redis: $*"; }

found=$(command -v redis-server 2>/dev/null || true)
[ -z "$found" ] && [ -x /usr/bin/redis-server ] && found=/usr/bin/redis-server
if [ -n "$found" ]; then
    say "redis-server already installed ($found), nothing to do"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "redis-server missing and no apt-get here, installed nothing: the distributed tests will be skipped"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "redis-server missing and not root, installed nothing: the distributed tests will be skipped"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Install without starting the packaged service: the tests run their own instance, and a
# system redis on 6379 would only be one more thing listening on this machine.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" 2>/dev/null && chmod +x "$policy" 2>/dev/null || policy=""
fi
log=$(mktemp 2>/dev/null || echo /tmp/install-redis.$$.log)
if apt-get install -y -q --no-install-recommends redis-server >"$log" 2>&1; then
    say "installed redis-server with apt-get"
elif apt-get update -q >>"$log" 2>&1 &&
    apt-get install -y -q --no-install-recommends redis-server >>"$log" 2>&1; then
    say "installed redis-server with apt-get (after apt-get update)"
else
    say "could not install redis-server ($(tail -n 1 "$log")): the distributed tests will be skipped"
fi
[ -n "$policy" ] && rm -f "$policy"
rm -f "$log"
exit 0
