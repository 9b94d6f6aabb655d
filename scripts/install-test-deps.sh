#!/usr/bin/env bash
# Installs what the tests need beyond npm packages: Debian's Chromium (the
# Playwright download cannot run here), Debian's Firefox ESR (a page written
# for GWE is also checked in Gecko, over WebDriver BiDi), fonts for stable screenshots, and
# redis-server (the Redis store's tests start their own, on a free port, and
# stop it by PID; the package itself starts nothing here), redis-sentinel
# (the failover tests and `npm run cluster -- --ha` start their own sentinels
# beside a primary and its replicas, each with a config in a temp folder,
# stopped by PID), and nginx (the cluster test and `npm run cluster` run their
# own in front of the nodes, with a config in a temp folder, stopped by PID).
# Safe to run again; skips what is already installed.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
echo "test dependencies ready: $(chromium --version 2>/dev/null | head -1); $(firefox-esr --version 2>/dev/null | head -1); $(redis-server --version | cut -d' ' -f1-3); $(redis-sentinel --version | cut -d' ' -f3 | sed 's/^v=/redis-sentinel /'); $(PATH="$PATH:/usr/sbin" nginx -v 2>&1)"
