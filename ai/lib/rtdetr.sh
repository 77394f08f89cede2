# shellcheck shell=bash
# The RT-DETRv2 detector's identity and defaults, shared by start_detector.sh and stop_detector.sh.
# shellcheck disable=SC2034  # read by common.sh
SVC_PREFIX=RTDETR
SVC_NAME=rtdetr
SVC_TITLE="RT-DETRv2 detector"
SVC_DEFAULT_PORT=8090
# Loads its model for 60-90 s before it binds the port; Warden's default restartTimeout is 150.
SVC_DEFAULT_STARTUP_TIMEOUT=120
# Its /health answers 200 even when the model failed to load: healthy needs status "healthy".
SVC_STRICT_STATUS=1
