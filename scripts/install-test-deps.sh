#!/usr/bin/env bash
# Installs what the tests need beyond npm packages: Debian's Chromium (the
# Playwright download cannot run here) and fonts for stable screenshots.
# Safe to run again; skips what is already installed.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
echo "test dependencies ready: $(chromium --version 2>/dev/null | head -1)"
