#!/usr/bin/env bash
# Stops the RT-DETRv2 detector started by start_detector.sh (or whatever holds its port), as
# whole process groups. For the tray's Stop action and the tests. See ai/README.md.
set -euo pipefail

# shellcheck source=ai/lib/rtdetr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/rtdetr.sh"
# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc_help() { :; }

warden_stop "$@"
