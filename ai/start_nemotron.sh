#!/usr/bin/env bash
# Starts Nemotron on llama.cpp's llama-server (port 8091) unless it is already healthy, and waits
# until it is. Warden's default restart command for "nemotron". See ai/README.md.
set -euo pipefail

# shellcheck source=ai/lib/nemotron.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/nemotron.sh"
# shellcheck source=ai/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Where a model is looked for when NEMOTRON_MODEL is not set (the first *nemotron*.gguf, by name).
default_model_dirs() {
  printf '%s' "$AI_DIR/models:${XDG_DATA_HOME:-${HOME:-}/.local/share}/warden/models:${HOME:-}/models"
}

# find_model — MODEL = NEMOTRON_MODEL, or the first *nemotron*.gguf in NEMOTRON_MODEL_DIRS.
find_model() {
  local dirs dir file
  if [[ -n ${NEMOTRON_MODEL:-} ]]; then
    [[ -f $NEMOTRON_MODEL ]] || die_config "model file not found: NEMOTRON_MODEL=$NEMOTRON_MODEL"
    MODEL=$NEMOTRON_MODEL
    return 0
  fi
  dirs=${NEMOTRON_MODEL_DIRS:-$(default_model_dirs)}
  IFS=: read -r -a dirs <<<"$dirs"
  for dir in "${dirs[@]}"; do
    for file in "$dir"/*[Nn]emotron*.gguf; do
      if [[ -f $file ]]; then
        MODEL=$file
        return 0
      fi
    done
  done
  die_config "no Nemotron model: set NEMOTRON_MODEL or put a *nemotron*.gguf in one of ${dirs[*]}"
}

svc_default_cmd() {
  local server=${LLAMA_SERVER:-llama-server} layers=${NEMOTRON_GPU_LAYERS:-35} ctx=${NEMOTRON_CTX:-12288}
  command -v "$server" >/dev/null 2>&1 ||
    die_config "llama-server not found: set LLAMA_SERVER or put llama-server on PATH (tried '$server')"
  [[ $layers =~ ^[0-9]+$ ]] || die_config "NEMOTRON_GPU_LAYERS must be a whole number (got '$layers')"
  [[ $ctx =~ ^[0-9]+$ ]] || die_config "NEMOTRON_CTX must be a whole number (got '$ctx')"
  find_model
  printf -v CMD '%q -m %q --host %q --port %q -ngl %q -c %q --parallel 2 --cont-batching' \
    "$server" "$MODEL" "$HOST" "$PORT" "$layers" "$ctx"
}

# Logs the free VRAM; refuses (exit 2) when NEMOTRON_MIN_FREE_VRAM_MB is set and there is less.
# A model that does not fit aborts at load ("failed to fit params to free device memory"):
# restarting cannot fix that, so it is a configuration problem, not a crash.
svc_before_start() {
  local min=${NEMOTRON_MIN_FREE_VRAM_MB:-} out line free=0
  [[ -z $min || $min =~ ^[0-9]+$ ]] || die_config "NEMOTRON_MIN_FREE_VRAM_MB must be a whole number (got '$min')"
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    [[ -z $min ]] || say "nvidia-smi not found: cannot check NEMOTRON_MIN_FREE_VRAM_MB"
    return 0
  fi
  if ! out=$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits 2>&1); then
    say "nvidia-smi failed, free VRAM unknown: ${out//$'\n'/ }"
    return 0
  fi
  # llama.cpp splits layers over every visible GPU: count them all.
  while read -r line; do
    line=${line//[^0-9]/}
    [[ -n $line ]] && free=$((free + line))
  done <<<"$out"
  say "free VRAM before start: $free MiB (nvidia-smi)"
  if [[ -n $min ]] && ((free < min)); then
    die_config "not enough free VRAM: $free MiB < NEMOTRON_MIN_FREE_VRAM_MB=$min"
  fi
}

svc_help() {
  help_var NEMOTRON_MODEL "GGUF model file [default: the first *nemotron*.gguf, by name, in" "NEMOTRON_MODEL_DIRS]"
  help_var NEMOTRON_MODEL_DIRS "colon-separated folders searched for the model" "[default: $(default_model_dirs)]"
  help_var LLAMA_SERVER "llama.cpp server binary [default: llama-server on PATH]"
  help_var NEMOTRON_GPU_LAYERS "layers offloaded to the GPU, -ngl [default: 35]"
  help_var NEMOTRON_CTX "context size, -c [default: 12288]"
  help_var NEMOTRON_MIN_FREE_VRAM_MB "refuse to start (exit 2) with less free VRAM (nvidia-smi, all GPUs)" \
    "[default: unset, no check; free VRAM is logged anyway]"
  # shellcheck disable=SC2016 # printed as written
  help_var "Built-in command:" '$LLAMA_SERVER -m $NEMOTRON_MODEL --host $NEMOTRON_HOST' \
    '--port $NEMOTRON_PORT -ngl $NEMOTRON_GPU_LAYERS -c $NEMOTRON_CTX' '--parallel 2 --cont-batching'
}

warden_start "$@"
