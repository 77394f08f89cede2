# shellcheck shell=bash
# Nemotron's identity and defaults, shared by start_nemotron.sh and stop_nemotron.sh.
# shellcheck disable=SC2034  # read by common.sh
SVC_PREFIX=NEMOTRON
SVC_NAME=nemotron
SVC_TITLE="Nemotron (llama-server)"
SVC_DEFAULT_PORT=8091
# A 30B model loads in 60-90 s, longer from a cold disk; Warden's default restartTimeout is 330.
SVC_DEFAULT_STARTUP_TIMEOUT=300
SVC_STRICT_STATUS=0
