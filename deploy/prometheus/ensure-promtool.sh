#!/usr/bin/env bash
# Makes sure `promtool` and `prometheus` are on PATH: the deploy tests run `promtool check
# config|rules`, `promtool test rules` and a real Prometheus (tests/deploy/test_deploy_prometheus.py,
# tests/e2e/test_prometheus_scrape.py). Both come from Debian's `prometheus` package, installed
# here with apt-get when missing (as root; the package's service is not started).
#
#   deploy/prometheus/ensure-promtool.sh      # `make tools` runs it; `make test` depends on it
#
# Exit status: 0 when both are available (afterwards), 1 with a message saying what to do.
set -euo pipefail

have_tools() { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; }
die() { echo "ensure-promtool.sh: $*" >&2; exit 1; }

if have_tools; then
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || die "promtool/prometheus are missing and apt-get is not available: install Prometheus (promtool and prometheus on PATH) by hand"
[[ "$(id -u)" == 0 ]] \
  || die "promtool/prometheus are missing: run 'sudo apt-get install --no-install-recommends prometheus' (or this script as root)"

# Never start the Debian service from a package install: deny service starts for the duration
# of this script unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  created_policy=1
fi
cleanup() { if ((created_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
install_pkg() { apt-get install -y -q --no-install-recommends prometheus >/tmp/ensure-promtool.$$.log 2>&1; }
echo "ensure-promtool.sh: installing Debian's prometheus package (promtool, prometheus)..." >&2
if ! install_pkg; then
  # A fresh machine has no package lists yet.
  apt-get update -q >/tmp/ensure-promtool.$$.log 2>&1 || true
  install_pkg || { tail -n 20 /tmp/ensure-promtool.$$.log >&2; rm -f /tmp/ensure-promtool.$$.log; die "apt-get install prometheus failed"; }
fi
rm -f /tmp/ensure-promtool.$$.log

# The package must not leave a Prometheus server running on :9090 behind the tests' backs.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

have_tools || die "the prometheus package is installed but promtool/prometheus are still not on PATH"
echo "ensure-promtool.sh: $(promtool --version 2>&1 | head -n 1)" >&2
