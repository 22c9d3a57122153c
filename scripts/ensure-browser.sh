#!/usr/bin/env bash
# Make sure headless Chromium and its driver are here, for the browser tests of the viewer.
# If either is missing and we run as root on Debian, install Debian's chromium and chromium-driver
# (never a downloaded browser). With CI=true a missing browser is an error; elsewhere browser tests
# are skipped with a reason.
set -u

have_browser() {
  { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } &&
    command -v chromedriver >/dev/null 2>&1
}

if have_browser; then
  echo "browser: chromium and chromedriver found"
  exit 0
fi

if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  echo "browser: installing chromium and chromium-driver from Debian"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
  if have_browser; then
    echo "browser: installed"
    exit 0
  fi
fi

if [ "${CI:-}" = "true" ]; then
  echo "browser: ERROR no chromium + chromedriver and none could be installed; CI requires them." >&2
  exit 1
fi
echo "browser: no chromium + chromedriver; browser tests will be skipped (run as root on Debian)."
exit 0
