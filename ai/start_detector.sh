#!/usr/bin/env bash
# Starts the RT-DETRv2 object detector (FastAPI/uvicorn, port 8090) unless it is already healthy,
# and waits until it is. Warden's default restart command for "rtdetr". See ai/README.md.
set -euo pipefail

# shellcheck source=ai/lib/rtdetr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/rtdetr.sh"
# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

svc_default_cmd() {
  local python=${RTDETR_PYTHON:-python3} module=${RTDETR_MODULE:-ai.rtdetr.model}
  command -v "$python" >/dev/null 2>&1 || die_config "Python not found: RTDETR_PYTHON=$python"
  # The module is looked up from the repo root, wherever the script is called from.
  export PYTHONPATH="$REPO_DIR${PYTHONPATH:+:$PYTHONPATH}"
  "$python" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 3)' "$module" >/dev/null 2>&1 ||
    die_config "Python module not found: RTDETR_MODULE=$module (with RTDETR_PYTHON=$python)"
  printf -v CMD '%q -m %q' "$python" "$module"
}

svc_help() {
  help_var RTDETR_PYTHON "Python of the detector [default: python3]"
  help_var RTDETR_MODULE "module run with -m, found from the repo root; it reads RTDETR_HOST" \
    "and RTDETR_PORT and serves GET /health [default: ai.rtdetr.model]"
  # shellcheck disable=SC2016 # printed as written
  help_var "Built-in command:" '$RTDETR_PYTHON -m $RTDETR_MODULE'
}

svc_before_start() { :; }

warden_start "$@"
