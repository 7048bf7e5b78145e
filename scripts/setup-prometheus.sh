#!/usr/bin/env bash
# Install promtool, which tests/components/test_prometheus_rules.py uses to check and unit-test every
# PrometheusRule the generator emits (`promtool check rules`, `promtool test rules`). It comes
# from Debian's `prometheus` package. Idempotent: does nothing when promtool is already on PATH.
# Note: on a machine running systemd, the package also enables a local Prometheus service
# (`sudo systemctl disable --now prometheus` if you don't want it).
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-prometheus: promtool not found and apt-get is not available: install promtool" \
       "(Debian/Ubuntu package 'prometheus', or a Prometheus release tarball) and put it on PATH" >&2
  exit 1
fi
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup-prometheus: installing promtool needs root: run 'apt-get install -y --no-install-recommends" \
         "prometheus' as root, or install sudo" >&2
    exit 1
  fi
}
echo "setup-prometheus: installing promtool (apt-get install prometheus)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! as_root apt-get install -y --no-install-recommends prometheus; then
  # a fresh machine often has no package lists yet
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends prometheus
fi
if ! command -v promtool >/dev/null 2>&1; then
  echo "setup-prometheus: the prometheus package is installed but promtool is not on PATH" >&2
  exit 1
fi
