#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the browser tests when they are missing (as root, or
# with sudo). Browser builds downloaded by Selenium or Playwright do not work here: the tests use these.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "==> installing chromium and chromium-driver (browser tests)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q chromium chromium-driver >/dev/null
