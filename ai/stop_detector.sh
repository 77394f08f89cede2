#!/usr/bin/env bash
# Stops the RT-DETRv2 detector started by start_detector.sh (or whatever holds its port), as
# whole process groups. For the tray's Stop action and the tests. See ai/README.md.
set -euo pipefail

SVC_PREFIX=RTDETR
SVC_NAME=rtdetr
SVC_TITLE="RT-DETRv2 detector"
SVC_DEFAULT_PORT=8090
SVC_DEFAULT_STARTUP_TIMEOUT=120

# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc_help() { :; }

warden_stop "$@"
