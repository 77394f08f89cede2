#!/usr/bin/env bash
# Stops Nemotron's llama-server started by start_nemotron.sh (or whatever holds its port), as
# whole process groups. For the tray's Stop action and the tests. See ai/README.md.
set -euo pipefail

SVC_PREFIX=NEMOTRON
SVC_NAME=nemotron
SVC_TITLE="Nemotron (llama-server)"
SVC_DEFAULT_PORT=8091
SVC_DEFAULT_STARTUP_TIMEOUT=300

# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc_help() { :; }

warden_stop "$@"
