#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/integration/test_browser.py), when it
# is missing and this machine can: Debian or Ubuntu with apt-get, as root or with sudo.
# Anywhere else it says so and succeeds: the browser tests then skip, naming this script.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-browser: no apt-get here; install Chromium to run the browser tests" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run="sudo"
else
  echo "install-test-browser: not root; install the chromium package to run the browser tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq >/dev/null
$run apt-get install -y -qq chromium >/dev/null || echo "install-test-browser: apt-get could not install chromium" >&2
exit 0
