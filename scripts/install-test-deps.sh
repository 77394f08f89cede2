#!/usr/bin/env bash
# Installs the Debian packages Warden's integration suites use. Idempotent: packages already
# present are skipped, and apt is asked only when something is missing.
set -euo pipefail

# command-or-file : package
wanted=(
  "redis-server:redis-server"
  "dockerd:docker.io"
  "busybox:busybox-static"
  "chromium:chromium"
  "shellcheck:shellcheck"
  "setsid:util-linux"
  "ss:iproute2"
  "curl:curl"
  "Xvfb:xvfb"
  "7za:p7zip-full"
  # Alerts (issue 15): a real SMTP server, the Apprise CLI, promtool for the alerting rules.
  "python3-aiosmtpd:python3-aiosmtpd"
  "apprise:apprise"
  "promtool:prometheus"
  # systemd strategy (issue 13): the rootfs of a real systemd container is built with mmdebstrap.
  "mmdebstrap:mmdebstrap"
)

missing=()
for pair in "${wanted[@]}"; do
  cmd=${pair%%:*} pkg=${pair##*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && ! dpkg -s "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: everything is installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: need root to install: ${missing[*]} (run with sudo)" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Only promtool is wanted from the prometheus package: its server must not start (it would listen
# on every address). policy-rc.d tells Debian's maintainer scripts not to start any service.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -n "$made_policy" ] && rm -f "$policy"
echo "install-test-deps: done"
