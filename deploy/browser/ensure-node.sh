#!/usr/bin/env bash
# Makes sure `node` runs: the console's JavaScript tests (tests/browser/test_console_js.py) run
# its ES modules under node against a fake DOM. Installs Debian's nodejs when missing; no npm
# package is used.
#
#   deploy/browser/ensure-node.sh      # `make tools` runs it; `make test` depends on it
#
# Exit status: 0 when node runs (afterwards), 1 with a message saying what to do.
set -euo pipefail

have_node() { command -v node >/dev/null 2>&1 && node --version >/dev/null 2>&1; }
die() { echo "ensure-node.sh: $*" >&2; exit 1; }

if have_node; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || die "node is missing and apt-get is not available: install Node.js by hand"
[[ "$(id -u)" == 0 ]] \
  || die "node is missing: run 'sudo apt-get install nodejs' (or this script as root)"

export DEBIAN_FRONTEND=noninteractive
log=/tmp/ensure-node.$$.log
install_pkg() { apt-get install -y -q --no-install-recommends nodejs >"$log" 2>&1; }
echo "ensure-node.sh: installing Debian's nodejs..." >&2
if ! install_pkg; then
  # A fresh machine has no package lists yet.
  apt-get update -q >"$log" 2>&1 || true
  install_pkg || { tail -n 20 "$log" >&2; rm -f "$log"; die "apt-get install nodejs failed"; }
fi
rm -f "$log"

have_node || die "the nodejs package is installed but node does not run"
echo "ensure-node.sh: node $(node --version)" >&2
