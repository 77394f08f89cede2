#!/usr/bin/env bash
# Stops Nemotron's llama-server started by start_nemotron.sh (or whatever holds its port), as
# whole process groups. For the tray's Stop action and the tests. See ai/README.md.
set -euo pipefail

# shellcheck source=ai/lib/nemotron.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/nemotron.sh"
# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc_help() { :; }

warden_stop "$@"
