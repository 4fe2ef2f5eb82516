#!/usr/bin/env bash
# Makes sure Debian's Chromium (/usr/bin/chromium) and chromedriver are installed: the console's
# browser tests (tests/browser/) drive /usr/bin/chromium through Playwright for Python. Never
# `playwright install`: that downloads a browser from a CDN; the distribution's package is used.
#
#   deploy/browser/ensure-chromium.sh      # `make tools` runs it; `make test` depends on it
#
# Exit status: 0 when /usr/bin/chromium runs (afterwards), 1 with a message saying what to do.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
have_chromium() { [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; }
die() { echo "ensure-chromium.sh: $*" >&2; exit 1; }

if have_chromium; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || die "$CHROMIUM is missing and apt-get is not available: install Chromium by hand"
[[ "$(id -u)" == 0 ]] \
  || die "$CHROMIUM is missing: run 'sudo apt-get install chromium chromium-driver' (or this script as root)"

export DEBIAN_FRONTEND=noninteractive
log=/tmp/ensure-chromium.$$.log
install_pkg() { apt-get install -y -q --no-install-recommends chromium chromium-driver >"$log" 2>&1; }
echo "ensure-chromium.sh: installing Debian's chromium and chromium-driver..." >&2
if ! install_pkg; then
  # A fresh machine has no package lists yet.
  apt-get update -q >"$log" 2>&1 || true
  install_pkg || { tail -n 20 "$log" >&2; rm -f "$log"; die "apt-get install chromium failed"; }
fi
rm -f "$log"

have_chromium || die "the chromium package is installed but $CHROMIUM does not run"
echo "ensure-chromium.sh: $("$CHROMIUM" --headless --no-sandbox --version 2>/dev/null | head -n 1)" >&2
