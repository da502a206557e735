#!/usr/bin/env bash
# Installs a Prometheus server for the integration test of tracker/promexport
# (TestPrometheusServer), when none is on PATH: Debian's "prometheus" package,
# without its recommends (prometheus-node-exporter).
#
# The package ships a service (systemd unit and /etc/init.d script) that its
# maintainer scripts would start, listening on every interface on :9090. The
# test starts its own server on loopback, so this script keeps the service
# from starting (a policy-rc.d that denies starts, as Docker images have,
# for the time of the install) and stops it if it runs anyway. It leaves
# nothing running.
#
# Usage: .ci/prometheus.sh   (root, or sudo without a password)
set -euo pipefail

found() {
  command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]
}

if found; then
  echo "prometheus.sh: already installed: $( (command -v prometheus || echo /usr/bin/prometheus) | head -n1)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    echo "prometheus.sh: run as root (or install sudo) to apt-get install prometheus" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "prometheus.sh: no apt-get here; install a Prometheus server (2.x or 3.x) on PATH by hand" >&2
  exit 1
fi

# Deny service starts during the install unless a policy already exists.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# Temporary, from carbontrack .ci/prometheus.sh: no service starts.\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 0755 "$policy"
  made_policy=1
fi
cleanup() {
  if [ "$made_policy" = 1 ]; then
    "${sudo[@]}" rm -f "$policy"
  fi
}
trap cleanup EXIT

"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus

# If a service started anyway (a machine booted with systemd may ignore
# policy-rc.d), stop it, and keep it from starting at boot: this machine runs
# tests, not a monitoring server. "systemctl disable" works without a running
# systemd too (it removes the unit's symlink).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  "${sudo[@]}" systemctl stop prometheus.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  "${sudo[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null 2>&1; then
  "${sudo[@]}" systemctl disable prometheus.service >/dev/null 2>&1 || true
fi
if command -v pgrep >/dev/null 2>&1 && pgrep -x prometheus >/dev/null 2>&1; then
  echo "prometheus.sh: warning: a prometheus process is running (pid $(pgrep -x prometheus | tr '\n' ' ')); not started by this script's install?" >&2
fi

if ! found; then
  echo "prometheus.sh: apt-get installed prometheus but no prometheus binary was found" >&2
  exit 1
fi
prometheus --version 2>&1 | head -n1 || /usr/bin/prometheus --version 2>&1 | head -n1
