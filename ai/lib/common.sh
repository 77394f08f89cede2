# shellcheck shell=bash
# What ai/start_*.sh and ai/stop_*.sh share: find an instance of one model server (pidfile and
# port), stop it as a whole process group, start it detached with an appended log, and wait until
# it answers healthy. The earlier scripts ran servers in the foreground, truncated their logs,
# started second copies next to loading ones and waited longer than their kill window: see
# ai/README.md. Not executable on its own; a service script sets these before sourcing it:
#
#   SVC_PREFIX                   env prefix: RTDETR or NEMOTRON
#   SVC_NAME, SVC_TITLE          short name (file names) and the name people read
#   SVC_DEFAULT_PORT             default port
#   SVC_DEFAULT_STARTUP_TIMEOUT  default seconds to wait for readiness (must fit the monitor's
#                                restartTimeout: see "Timing" in ai/README.md)
#   SVC_STRICT_STATUS            1: healthy needs a JSON "status" field saying so (the detector's
#                                /health answers 200 even when its model failed to load)
# and defines:
#   svc_default_cmd   sets CMD to the built-in command line, or calls die_config
#   svc_help          prints the service's own variables for --help
#   svc_before_start  runs just before a start (e.g. the VRAM check); may call die_config

# Fixed waits, part of the worst case printed by --help: after SIGKILL, and for the port to close.
readonly WARDEN_KILL_WAIT=3 WARDEN_PORT_WAIT=3
readonly WARDEN_POLL=0.25
# The most one nvidia-smi call may take (a hung driver), and the release gate's defaults
# (CONTRACT §11: releaseTimeout 30 s, releaseRatio 0.75 = 3/4).
readonly WARDEN_SMI_TIMEOUT=5 WARDEN_RELEASE_TIMEOUT=30 WARDEN_RELEASE_RATIO_NUM=3 WARDEN_RELEASE_RATIO_DEN=4
SCRIPT=${0##*/}
AI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the service scripts
REPO_DIR=$(dirname "$AI_DIR")

say() { printf '%s: %s\n' "$SCRIPT" "$*"; }
warn() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; }
# Misconfiguration: one line, exit 2 (restarting cannot fix it).
die_config() {
  printf '%s: error: %s\n' "$SCRIPT" "$*" >&2
  exit 2
}
fail() {
  printf '%s: %s\n' "$SCRIPT" "$*" >&2
  exit 1
}

# setting VAR SUFFIX DEFAULT — VAR = $<PREFIX>_<SUFFIX>, or DEFAULT when unset or empty.
setting() {
  local name="${SVC_PREFIX}_$2"
  printf -v "$1" '%s' "${!name:-$3}"
}

# need_int VAR MIN — the setting VAR must be a whole number >= MIN.
need_int() {
  local value=${!1}
  if ! [[ $value =~ ^[0-9]+$ ]] || ((10#$value < $2)); then
    die_config "${SVC_PREFIX}_$1 must be a whole number >= $2 (got '$value')"
  fi
  printf -v "$1" '%d' "$((10#$value))"
}

# Reads the environment into PORT, HOST, HEALTH_URL, PIDFILE, LOG, the timings and CMD.
load_settings() {
  local state_dir=${XDG_STATE_HOME:-${HOME:-}/.local/state}/warden probe_host
  [[ -n ${XDG_STATE_HOME:-}${HOME:-} ]] || die_config "neither HOME nor XDG_STATE_HOME is set"
  setting PORT PORT "$SVC_DEFAULT_PORT"
  setting HOST HOST 127.0.0.1
  # A server bound to every address is probed on loopback.
  probe_host=$HOST
  [[ $HOST == 0.0.0.0 || $HOST == :: ]] && probe_host=127.0.0.1
  [[ $probe_host == *:* ]] && probe_host="[$probe_host]"
  setting HEALTH_URL HEALTH_URL "http://$probe_host:$PORT/health"
  setting PIDFILE PIDFILE "$state_dir/$SVC_NAME.pid"
  setting LOG LOG "$state_dir/$SVC_NAME.log"
  setting STARTUP_TIMEOUT STARTUP_TIMEOUT "$SVC_DEFAULT_STARTUP_TIMEOUT"
  setting STOP_GRACE STOP_GRACE 10
  setting HEALTH_TIMEOUT HEALTH_TIMEOUT 5
  setting LOG_MAX_BYTES LOG_MAX_BYTES 10485760
  setting LOG_KEEP LOG_KEEP 3
  setting CMD CMD ""
  setting GPU_INDEX GPU_INDEX "$(default_gpu_index)"
  setting RELEASE_TIMEOUT RELEASE_TIMEOUT "$WARDEN_RELEASE_TIMEOUT"
  setting GPU_MIN_FREE_MIB GPU_MIN_FREE_MIB 0
  need_int PORT 1
  ((PORT <= 65535)) || die_config "${SVC_PREFIX}_PORT must be 1-65535 (got '$PORT')"
  need_int STARTUP_TIMEOUT 1
  need_int STOP_GRACE 0
  need_int HEALTH_TIMEOUT 1
  need_int LOG_MAX_BYTES 1
  need_int LOG_KEEP 1
  need_int GPU_INDEX 0
  need_int RELEASE_TIMEOUT 0
  need_int GPU_MIN_FREE_MIB 0
  # The server (and a _CMD line) sees the resolved host and port.
  export "${SVC_PREFIX}_PORT=$PORT" "${SVC_PREFIX}_HOST=$HOST"
}

# The GPU the server runs on, as nvidia-smi numbers it: the first of CUDA_VISIBLE_DEVICES when that
# is a number (CUDA's order matches nvidia-smi's on most machines; set _GPU_INDEX where not), else 0.
default_gpu_index() {
  local first=${CUDA_VISIBLE_DEVICES:-}
  first=${first%%,*}
  [[ $first =~ ^[0-9]+$ ]] && printf '%s' "$first" || printf '0'
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die_config "'$tool' is not installed (run: sudo ./scripts/install-test-deps.sh)"
  done
}

# now_ms — NOW_MS = wall-clock milliseconds (no fork).
now_ms() {
  local us=${EPOCHREALTIME/[.,]/}
  NOW_MS=$((us / 1000))
}

# ---- processes -------------------------------------------------------------------------------

# proc_stat PID — PROC_STAT = the fields of /proc/PID/stat from "state" on
# ([0] state, [2] process group, [3] session, [19] start time in clock ticks).
proc_stat() {
  local line
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a PROC_STAT <<<"${line##*) }"
}

# A zombie is dead: its parent (often PID 1, which may reap late) just has not collected it.
pid_alive() {
  [[ $1 =~ ^[0-9]+$ ]] && proc_stat "$1" && [[ ${PROC_STAT[0]} != Z ]]
}

# group_alive PGID — some non-zombie process is still in the group.
group_alive() {
  local f line fields
  kill -0 -- "-$1" 2>/dev/null || return 1
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    read -r -a fields <<<"${line##*) }"
    [[ ${fields[2]} == "$1" && ${fields[0]} != Z ]] && return 0
  done
  return 1
}

# proc_age PID — AGE = seconds since PID started.
proc_age() {
  local up
  proc_stat "$1" || return 1
  [[ -n ${CLK_TCK:-} ]] || CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
  read -r up _ </proc/uptime
  AGE=$((${up%.*} - PROC_STAT[19] / CLK_TCK))
}

# port_holders — HOLDERS = pids listening on PORT on any address (ss sees every user's as root).
port_holders() {
  local out rest re='pid=([0-9]+)'
  HOLDERS=()
  out=$(ss -Hltnp "sport = :$PORT" 2>/dev/null) || return 0
  rest=$out
  while [[ $rest =~ $re ]]; do
    HOLDERS+=("${BASH_REMATCH[1]}")
    rest=${rest#*"${BASH_REMATCH[0]}"}
  done
}

port_in_use() {
  [[ -n $(ss -Hltn "sport = :$PORT" 2>/dev/null) ]]
}

# find_instance — INSTANCE_PIDS = the pidfile's live pid first, then whatever listens on PORT.
# DEAD_PID = the pidfile's pid when that process is gone (a crash): its GPU memory may not be back yet.
find_instance() {
  local pid
  INSTANCE_PIDS=() DEAD_PID=()
  if [[ -f $PIDFILE ]]; then
    pid=
    read -r pid <"$PIDFILE" || true
    # Servers are started as session leaders: a live pid that is not one was reused by the system.
    if pid_alive "$pid" && [[ ${PROC_STAT[3]} == "$pid" ]]; then
      INSTANCE_PIDS+=("$pid")
    else
      [[ $pid =~ ^[0-9]+$ ]] && ! pid_alive "$pid" && DEAD_PID=("$pid")
      say "removing stale pidfile $PIDFILE (pid ${pid:-?} is not running)"
      rm -f "$PIDFILE"
    fi
  fi
  port_holders
  for pid in "${HOLDERS[@]}"; do
    [[ " ${INSTANCE_PIDS[*]} " == *" $pid "* ]] || INSTANCE_PIDS+=("$pid")
  done
}

# signal_targets SIGNAL — to every process group in STOP_GROUPS and every pid in STOP_PIDS.
signal_targets() {
  local t
  for t in "${STOP_GROUPS[@]}"; do kill "-$1" -- "-$t" 2>/dev/null || true; done
  for t in "${STOP_PIDS[@]}"; do kill "-$1" "$t" 2>/dev/null || true; done
}

targets_alive() {
  local t
  for t in "${STOP_GROUPS[@]}"; do group_alive "$t" && return 0; done
  for t in "${STOP_PIDS[@]}"; do pid_alive "$t" && return 0; done
  return 1
}

# wait_targets_gone SECONDS — 0 once nothing in STOP_GROUPS/STOP_PIDS is alive.
wait_targets_gone() {
  local deadline
  now_ms
  deadline=$((NOW_MS + $1 * 1000))
  while targets_alive; do
    now_ms
    ((NOW_MS < deadline)) || return 1
    sleep "$WARDEN_POLL"
  done
}

# stop_pids PID… — stop each pid's whole process group: SIGTERM, STOP_GRACE seconds, SIGKILL.
# A process in this script's own group (never the case for servers started here) is signalled
# alone, so the caller is never hit.
stop_pids() {
  local pid own
  STOP_GROUPS=() STOP_PIDS=()
  proc_stat $$
  own=${PROC_STAT[2]}
  for pid in "$@"; do
    proc_stat "$pid" || continue
    if [[ ${PROC_STAT[2]} == "$own" ]] || ((PROC_STAT[2] <= 1)); then
      STOP_PIDS+=("$pid")
    elif [[ " ${STOP_GROUPS[*]} " != *" ${PROC_STAT[2]} "* ]]; then
      STOP_GROUPS+=("${PROC_STAT[2]}")
    fi
  done
  ((${#STOP_GROUPS[@]} + ${#STOP_PIDS[@]})) || return 0
  say "stopping $SVC_TITLE: SIGTERM to process group(s) ${STOP_GROUPS[*]:-none}${STOP_PIDS[*]:+, pid(s) ${STOP_PIDS[*]}}"
  signal_targets TERM
  signal_targets CONT # a stopped (SIGSTOP) process acts on SIGTERM only once continued
  wait_targets_gone "$STOP_GRACE" && return 0
  say "still running after ${STOP_GRACE} s: sending SIGKILL"
  signal_targets KILL
  wait_targets_gone "$WARDEN_KILL_WAIT" && return 0
  warn "could not stop $SVC_TITLE (process group(s) ${STOP_GROUPS[*]:-none} ${STOP_PIDS[*]}): permission?"
  return 1
}

# wait_port_free — 0 once nothing listens on PORT (after WARDEN_PORT_WAIT seconds at most).
wait_port_free() {
  local deadline
  now_ms
  deadline=$((NOW_MS + WARDEN_PORT_WAIT * 1000))
  while port_in_use; do
    now_ms
    ((NOW_MS < deadline)) || return 1
    sleep "$WARDEN_POLL"
  done
}

# stop_instance — stop whatever INSTANCE_PIDS holds and make sure the port is free; 1 if not.
stop_instance() {
  stop_pids "${INSTANCE_PIDS[@]}" || return 1
  wait_port_free && return 0
  # Something else took or kept the port (a child that left the group): stop that too, once.
  port_holders
  ((${#HOLDERS[@]})) && stop_pids "${HOLDERS[@]}" && wait_port_free && return 0
  warn "port $PORT is still in use${HOLDERS[*]:+ by pid(s) ${HOLDERS[*]}} (ss -ltnp 'sport = :$PORT')"
  return 1
}

# ---- GPU: the release gate (CONTRACT §11) ----------------------------------------------------
# A model server's VRAM comes back some 0.5-1.5 s after it died; starting the next one earlier is
# the classic cause of "CUDA out of memory" right after a restart. So once an old instance is
# stopped: note what it held (gpu_held, before the stop), then wait (release_gate, after it).

# smi QUERY — SMI_OUT = nvidia-smi's answer to QUERY (csv, no header, no units); 1 with SMI_WHY
# when it is not installed, fails (no devices, driver not loaded) or hangs. Runs in this script's
# process group (--foreground), so a kill of the caller's group reaches it too.
smi() {
  local rc=0
  SMI_OUT='' SMI_WHY=''
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    SMI_WHY="nvidia-smi not found"
    return 1
  fi
  SMI_OUT=$(timeout --foreground -k 1 "$WARDEN_SMI_TIMEOUT" nvidia-smi "$1" --format=csv,noheader,nounits 2>&1) || rc=$?
  ((rc == 0)) && return 0
  if ((rc == 124 || rc == 137)); then
    SMI_WHY="nvidia-smi did not answer within $WARDEN_SMI_TIMEOUT s"
  else
    SMI_WHY="nvidia-smi failed (exit $rc${SMI_OUT:+: ${SMI_OUT%%$'\n'*}})"
  fi
  return 1
}

# smi_apps — APP_UUID, APP_PID, APP_MIB = the compute processes on every GPU, with the MiB each uses.
smi_apps() {
  local uuid pid mib
  APP_UUID=() APP_PID=() APP_MIB=()
  smi --query-compute-apps=gpu_uuid,pid,used_memory || return 1
  while IFS=, read -r uuid pid mib; do
    uuid=${uuid//[[:space:]]/} pid=${pid//[[:space:]]/} mib=${mib//[[:space:]]/}
    [[ $pid =~ ^[0-9]+$ ]] || continue # "No running processes found", [N/A]
    [[ $mib =~ ^[0-9]+$ ]] || mib=0
    APP_UUID+=("$uuid") APP_PID+=("$pid") APP_MIB+=("$((10#$mib))")
  done <<<"$SMI_OUT"
}

# smi_gpu INDEX — GPU_UUID and GPU_FREE (MiB free now; '' when nvidia-smi says [N/A]) of that GPU.
smi_gpu() {
  local index uuid free
  GPU_UUID='' GPU_FREE=''
  smi --query-gpu=index,uuid,memory.free || return 1
  while IFS=, read -r index uuid free; do
    [[ ${index//[[:space:]]/} == "$1" ]] || continue
    GPU_UUID=${uuid//[[:space:]]/} free=${free//[[:space:]]/}
    [[ $GPU_UUID == GPU-* || $GPU_UUID == MIG-* ]] || GPU_UUID=
    [[ $free =~ ^[0-9]+$ ]] && GPU_FREE=$((10#$free))
    return 0
  done <<<"$SMI_OUT"
  SMI_WHY="nvidia-smi lists no GPU $1 (${SVC_PREFIX}_GPU_INDEX)"
  return 1
}

# listed PID LIST… — 0 if PID is one of LIST.
listed() {
  local want=$1
  shift
  [[ " $* " == *" $want "* ]]
}

# gpu_held INDEX PID… — before an instance is stopped: HELD_PIDS = its GPU processes (on any GPU):
# one of these pids, or a process in one of their process groups (as Warden attributes them);
# HELD_MIB = the memory they use on GPU INDEX. GATE_ON=0 when nvidia-smi cannot tell (said once):
# then there is nothing to wait for.
gpu_held() {
  local index=$1 pid own i groups=()
  shift
  HELD_PIDS=() HELD_MIB=0 GATE_ON=0
  if ! smi_apps || ! smi_gpu "$index"; then
    say "$SMI_WHY: not waiting for GPU memory to be released"
    return 0
  fi
  GATE_ON=1
  proc_stat $$
  own=${PROC_STAT[2]}
  for pid in "$@"; do
    proc_stat "$pid" || continue
    ((PROC_STAT[2] > 1)) && [[ ${PROC_STAT[2]} != "$own" ]] && groups+=("${PROC_STAT[2]}")
  done
  for i in "${!APP_PID[@]}"; do
    pid=${APP_PID[i]}
    if ! listed "$pid" "$@"; then
      proc_stat "$pid" || continue
      listed "${PROC_STAT[2]}" "${groups[@]}" || continue
    fi
    listed "$pid" "${HELD_PIDS[@]}" || HELD_PIDS+=("$pid")
    # Where the GPU's uuid is unknown, count all of it (the "GPU" is then all of them).
    [[ -z $GPU_UUID || ${APP_UUID[i]} == "$GPU_UUID" ]] && HELD_MIB=$((HELD_MIB + APP_MIB[i]))
  done
  ((${#HELD_PIDS[@]} == 0)) || say "GPU memory of the old instance: ${HELD_MIB} MiB on GPU $index (pid(s) ${HELD_PIDS[*]})"
}

# release_gate INDEX NEED_MIB TIMEOUT PID… — wait, polling every WARDEN_POLL s, until none of PID…
# is listed by nvidia-smi and GPU INDEX has NEED_MIB free. After TIMEOUT seconds: a listed PID that
# is dead or a zombie holds the memory for good (the driver does): exit 2; memory another live
# process holds: say so and return (GATE_NEXT says what follows: "starting anyway").
# GATE_WAITED = whole seconds it waited. A poll nvidia-smi cannot answer at all ends the wait.
release_gate() {
  local index=$1 need=$2 timeout=$3 start deadline said last='' apps_ok gpu_ok i pid free
  local lingering other name
  shift 3
  now_ms
  start=$NOW_MS deadline=$((NOW_MS + timeout * 1000)) GATE_WAITED=0
  while :; do
    apps_ok=1 gpu_ok=1
    smi_apps || apps_ok=0
    smi_gpu "$index" || gpu_ok=0
    if ((apps_ok + gpu_ok == 0)); then
      say "$SMI_WHY: not waiting any longer for GPU memory"
      break
    fi
    lingering=()
    for pid in "${APP_PID[@]}"; do
      listed "$pid" "$@" && ! listed "$pid" "${lingering[@]}" && lingering+=("$pid")
    done
    free=$GPU_FREE
    # What cannot be read does not hold the start up.
    if ((${#lingering[@]} == 0)) && { [[ -z $free ]] || ((free >= need)); }; then
      [[ -z $last ]] || say "GPU memory released (${free:-?} of $need MiB free)"
      break
    fi
    said="waiting for GPU memory to be released (${free:-?} of $need MiB free${lingering[*]:+; old pid(s) ${lingering[*]} still listed by nvidia-smi})"
    [[ $said == "$last" ]] || say "$said"
    last=$said
    now_ms
    if ((NOW_MS >= deadline)); then
      for pid in "${lingering[@]}"; do
        pid_alive "$pid" || die_config "GPU memory held by a dead process (pid $pid): a driver reset or reboot may be needed"
      done
      # Someone else's: the first live process on that GPU, else an old one still running.
      other=
      for i in "${!APP_PID[@]}"; do
        pid=${APP_PID[i]}
        listed "$pid" "$@" && continue
        [[ -z $GPU_UUID || ${APP_UUID[i]} == "$GPU_UUID" ]] && pid_alive "$pid" && other=$pid && break
      done
      [[ -n $other ]] || other=${lingering[0]:-}
      if [[ -n $other ]]; then
        name=
        { read -r name <"/proc/$other/comm"; } 2>/dev/null || true
        say "GPU $index memory is still held by pid $other (${name:-?}): ${GATE_NEXT:-starting anyway}"
      else
        say "GPU $index memory is still held by another process (${free:-?} of $need MiB free after $timeout s): ${GATE_NEXT:-starting anyway}"
      fi
      break
    fi
    sleep "$WARDEN_POLL"
  done
  now_ms
  GATE_WAITED=$(((NOW_MS - start) / 1000))
}

# release_after_stop — the gate for what gpu_held noted: need max(_GPU_MIN_FREE_MIB, 3/4 of what
# the old instance held) free. Nothing to wait for without nvidia-smi, or when the old instance
# held nothing and no floor is set.
release_after_stop() {
  local need
  GATE_WAITED=0
  [[ ${GATE_ON:-0} == 1 ]] || return 0
  need=$(((HELD_MIB * WARDEN_RELEASE_RATIO_NUM + WARDEN_RELEASE_RATIO_DEN - 1) / WARDEN_RELEASE_RATIO_DEN))
  ((need >= GPU_MIN_FREE_MIB)) || need=$GPU_MIN_FREE_MIB
  ((${#HELD_PIDS[@]} || need)) || return 0
  release_gate "$GPU_INDEX" "$need" "$RELEASE_TIMEOUT" "${HELD_PIDS[@]}"
}

# ---- health ----------------------------------------------------------------------------------

# probe MAX_SECONDS — PROBE_STATE = healthy | loading | refused | timeout | unhealthy, and
# PROBE_DETAIL says why. Rules as Warden's HTTP probe (CONTRACT §2).
probe() {
  local out rc=0 code body status re_status='"status"[[:space:]]*:[[:space:]]*"([^"]*)"'
  out=$(curl -sS --noproxy '*' --max-time "$1" -w '\n%{http_code}' "$HEALTH_URL" 2>&1) || rc=$?
  case $rc in
    0) ;;
    7) PROBE_STATE=refused PROBE_DETAIL="connection refused" && return 0 ;;
    28) PROBE_STATE=timeout PROBE_DETAIL="no answer within $1 s" && return 0 ;;
    *) PROBE_STATE=unhealthy PROBE_DETAIL="curl exit $rc: ${out##*curl: }" && return 0 ;;
  esac
  code=${out##*$'\n'} body=${out%$'\n'*} status=
  [[ $body =~ $re_status ]] && status=${BASH_REMATCH[1],,}
  PROBE_DETAIL="HTTP $code${status:+, status \"$status\"}"
  if [[ $code == 503 || $status == loading || $status == starting ]]; then
    PROBE_STATE=loading
  elif [[ $code != 2?? ]]; then
    PROBE_STATE=unhealthy
  elif [[ $body =~ \"model_loaded\"[[:space:]]*:[[:space:]]*false ]]; then
    PROBE_STATE=unhealthy PROBE_DETAIL+=", model_loaded false"
  elif [[ -n $status ]]; then
    case $status in
      ok | healthy | up | ready | pass) PROBE_STATE=healthy ;;
      *) PROBE_STATE=unhealthy ;;
    esac
  elif [[ ${SVC_STRICT_STATUS:-0} == 1 ]]; then
    PROBE_STATE=unhealthy PROBE_DETAIL+=", no JSON status"
  else
    PROBE_STATE=healthy
  fi
}

# ---- log -------------------------------------------------------------------------------------

# Rotate LOG to LOG.1 (… LOG.<LOG_KEEP>) when larger than LOG_MAX_BYTES. Never truncated.
rotate_log() {
  local size i
  size=$(stat -c %s "$LOG" 2>/dev/null) || return 0
  ((size > LOG_MAX_BYTES)) || return 0
  for ((i = LOG_KEEP - 1; i >= 1; i--)); do
    if [[ -e $LOG.$i ]]; then mv -f "$LOG.$i" "$LOG.$((i + 1))"; fi
  done
  mv -f "$LOG" "$LOG.1"
  say "rotated $LOG ($size bytes) to $LOG.1"
}

# print_log_tail FROM_BYTE — the last lines the server wrote since FROM_BYTE, to stderr.
print_log_tail() {
  [[ -f $LOG ]] || return 0
  {
    printf -- '--- last lines of %s ---\n' "$LOG"
    tail -c "+$(($1 + 1))" "$LOG" | tail -n 20
    printf -- '--- end of log ---\n'
  } >&2
}

# ---- start and stop --------------------------------------------------------------------------

# take_lock — serialise starts and stops of this service. LOCK_CONTENDED=1 if we had to wait.
take_lock() {
  LOCK_CONTENDED=0
  exec 9>>"$PIDFILE.lock"
  flock -n 9 && return 0
  LOCK_CONTENDED=1
  say "another start or stop of $SVC_TITLE is running: waiting for it"
  flock -w $((HEALTH_TIMEOUT + STOP_GRACE + WARDEN_KILL_WAIT + WARDEN_PORT_WAIT + RELEASE_TIMEOUT + 5)) 9 ||
    fail "gave up waiting for the other start/stop of $SVC_TITLE (lock $PIDFILE.lock)"
}

release_lock() {
  exec 9>&-
}

# check_cmd — CMD set (from _CMD or the built-in default) and its program exists; else exit 2.
check_cmd() {
  local words program
  if [[ -z $CMD ]]; then
    svc_default_cmd
    return 0
  fi
  read -r -a words <<<"$CMD"
  program=${words[0]:-}
  program=${program//[\"\']/}
  [[ -n $program ]] || die_config "${SVC_PREFIX}_CMD is blank"
  case $program in
    \~/*) program=${HOME:-}/${program#\~/} ;;
    *'$'* | env) return 0 ;; # known only once the line runs
  esac
  command -v "$program" >/dev/null 2>&1 || die_config "${SVC_PREFIX}_CMD: command not found: $program"
}

# await_ready PID SECONDS OWN LOG_FROM — exit 0 once healthy; exit 1 if PID dies or time runs out.
# OWN=1 for an instance this call started (its exit status is known, its leftovers are ours).
await_ready() {
  local pid=$1 own=$3 from=$4 deadline left rc=0
  now_ms
  deadline=$((NOW_MS + $2 * 1000))
  while :; do
    now_ms
    left=$(((deadline - NOW_MS + 999) / 1000))
    probe $((left < 1 ? 1 : left < HEALTH_TIMEOUT ? left : HEALTH_TIMEOUT))
    if [[ $PROBE_STATE == healthy ]]; then
      say "$SVC_TITLE is ready (pid $pid, $HEALTH_URL)"
      exit 0
    fi
    if ! pid_alive "$pid"; then
      if [[ $own == 1 ]]; then
        wait "$pid" || rc=$?
        kill -KILL -- "-$pid" 2>/dev/null || true # anything it forked
        rm -f "$PIDFILE"
        warn "$SVC_TITLE exited with status $rc before it was ready"
      else
        warn "$SVC_TITLE (pid $pid) exited before it was ready"
      fi
      print_log_tail "$from"
      exit 1
    fi
    # The detector's way of saying its model failed to load (CUDA out of memory, missing file):
    # it will not get better by waiting.
    if [[ $PROBE_DETAIL == *"model_loaded false"* ]]; then
      warn "$SVC_TITLE (pid $pid) answers but its model did not load ($PROBE_DETAIL); left running, the next start replaces it"
      print_log_tail "$from"
      exit 1
    fi
    now_ms
    if ((NOW_MS >= deadline)); then
      warn "$SVC_TITLE (pid $pid) not ready after $2 s (last check: $PROBE_DETAIL); left running, the next start replaces it if it stays unready"
      print_log_tail "$from"
      exit 1
    fi
    sleep "$WARDEN_POLL"
  done
}

# spawn — start CMD in its own session (setsid): not a child of the caller's process group, so
# the monitor's timeout never kills it and it never holds the caller's pipes. Sets PID.
spawn() {
  mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
  rotate_log
  LOG_FROM=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
  printf '=== %s %s: starting: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT" "$CMD" >>"$LOG"
  # CMD is the user's own configuration (or our built-in line): a shell command line, exec'd.
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  setsid bash -c 'eval "exec $1"' "$SVC_NAME" "$CMD" </dev/null >>"$LOG" 2>&1 9>&- &
  PID=$!
  printf '%s\n' "$PID" >"$PIDFILE.tmp"
  mv -f "$PIDFILE.tmp" "$PIDFILE"
  say "started $SVC_TITLE: pid $PID, log $LOG; waiting up to $READY_TIMEOUT s for $HEALTH_URL"
}

# help_var NAME TEXT [MORE_LINES…] — one variable of --help, aligned.
help_var() {
  printf '  %-26s %s\n' "$1" "$2"
  shift 2
  local more
  for more in "$@"; do printf '  %-26s %s\n' "" "$more"; done
}

# print_help start|stop — usage, the variables with their defaults, exit codes.
print_help() {
  # shellcheck disable=SC2016 # printed as written
  local p=$SVC_PREFIX state='${XDG_STATE_HOME:-~/.local/state}/warden'
  if [[ $1 == start ]]; then
    cat <<EOF
Usage: $SCRIPT [--force] [--help]

Starts $SVC_TITLE unless it already answers healthy at its health URL, and waits until
it does. Safe as Warden's restart command: an instance that is still loading is waited for,
never duplicated; a hung or unhealthy one (or whatever holds the port) is stopped first, as a
whole process group (SIGTERM, then SIGKILL after ${p}_STOP_GRACE), and its GPU memory is
waited for (the release gate, below). The server runs detached (setsid), its output appended
to the log (rotated when large, never truncated).

  --force   replace a running instance even when it is healthy or still loading (a manual
            restart: stop it as above, then start and wait)
EOF
  else
    cat <<EOF
Usage: $SCRIPT [--help]

Stops $SVC_TITLE (the pidfile's process and whatever listens on its port) as whole
process groups: SIGTERM, then SIGKILL after ${p}_STOP_GRACE; removes the pidfile; then waits
for its GPU memory to be released (the release gate, below), so a start right after finds it.
EOF
  fi
  printf '\nEnvironment:\n'
  help_var "${p}_PORT" "port [default: $SVC_DEFAULT_PORT]"
  help_var "${p}_HOST" "address the server binds [default: 127.0.0.1]"
  help_var "${p}_PIDFILE" "pidfile [default: $state/$SVC_NAME.pid]"
  help_var "${p}_STOP_GRACE" "seconds from SIGTERM to SIGKILL [default: 10]"
  help_var "${p}_GPU_INDEX" "GPU (nvidia-smi's index) whose memory the release gate watches" \
    "[default: the first of CUDA_VISIBLE_DEVICES if a number, else 0]"
  help_var "${p}_RELEASE_TIMEOUT" "release gate: after stopping an old instance, wait up to this many" \
    "seconds until nvidia-smi lists none of its pids and the GPU has" \
    "free MiB >= max(${p}_GPU_MIN_FREE_MIB, 3/4 of what it held)." \
    "Then: an old pid still listed but dead is exit 2; memory another" \
    "live process holds is logged and ignored [default: $WARDEN_RELEASE_TIMEOUT]"
  help_var "${p}_GPU_MIN_FREE_MIB" "release gate: MiB free it waits for at least, on that GPU [default: 0]"
  if [[ $1 == start ]]; then
    help_var "${p}_HEALTH_URL" "health URL [default: http://<host>:<port>/health]"
    help_var "${p}_HEALTH_TIMEOUT" "seconds one health check may take [default: 5]"
    help_var "${p}_STARTUP_TIMEOUT" "seconds to wait for readiness [default: $SVC_DEFAULT_STARTUP_TIMEOUT]"
    help_var "${p}_LOG" "log, appended [default: $state/$SVC_NAME.log]"
    help_var "${p}_LOG_MAX_BYTES" "at start, rotate a larger log to .1 [default: 10485760]"
    help_var "${p}_LOG_KEEP" "rotated logs kept [default: 3]"
    help_var "${p}_CMD" "full command line that starts the server, run by bash as" \
      "'exec <line>' (your own configuration; \$${p}_HOST and" "\$${p}_PORT are set) [default: built in, below]"
    svc_help
    cat <<EOF

Fixed waits: $WARDEN_KILL_WAIT s after SIGKILL, $WARDEN_PORT_WAIT s for the port to be released.
Worst case of one call: _HEALTH_TIMEOUT + _STOP_GRACE + $WARDEN_KILL_WAIT + $WARDEN_PORT_WAIT + _STARTUP_TIMEOUT seconds
(the release gate's wait is counted in _STARTUP_TIMEOUT); keep it below the service's
restartTimeout in Warden's config.

Exit codes: 0 healthy, 1 not ready (the log's last lines are printed), 2 misconfiguration, or
GPU memory held by a dead process (a driver reset or reboot may be needed).
EOF
  else
    printf '\nExit codes: 0 stopped or not running, 1 could not stop it, 2 misconfiguration, or GPU\nmemory held by a dead process (a driver reset or reboot may be needed).\n'
  fi
}

# parse_args start|stop ARGS… — --help, --force (start only), or nothing. Sets FORCE=0|1.
parse_args() {
  local mode=$1
  shift
  FORCE=0
  while (($#)); do
    case $1 in
      -h | --help)
        print_help "$mode"
        exit 0
        ;;
      --force)
        [[ $mode == start ]] || die_config "unknown argument '$1' (see $SCRIPT --help)"
        FORCE=1
        ;;
      *) die_config "unknown argument '$1' (see $SCRIPT --help)" ;;
    esac
    shift
  done
}

# warden_start ARGS… — the whole start script.
warden_start() {
  local pid
  parse_args start "$@"
  load_settings
  need_tools curl setsid flock ss
  mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")"

  probe "$HEALTH_TIMEOUT"
  if [[ $PROBE_STATE == healthy && $FORCE == 0 ]]; then
    say "$SVC_TITLE is already healthy ($HEALTH_URL): nothing to do"
    exit 0
  fi
  take_lock
  if [[ $LOCK_CONTENDED == 1 && $FORCE == 0 ]]; then
    probe "$HEALTH_TIMEOUT"
    [[ $PROBE_STATE == healthy ]] && say "$SVC_TITLE is healthy now ($HEALTH_URL)" && exit 0
  fi
  find_instance

  # --force (a person asked for a restart): whatever runs is replaced, healthy or loading.
  if [[ $FORCE == 1 ]] && ((${#INSTANCE_PIDS[@]})); then
    say "$SVC_TITLE: --force: replacing the running instance ($PROBE_DETAIL)"
  # Loading (503), or the detector not listening yet while it loads its model: wait for it, as
  # long as it is younger than the startup timeout. A second copy would double the VRAM load.
  elif [[ $PROBE_STATE == loading || $PROBE_STATE == refused ]] && ((${#INSTANCE_PIDS[@]})); then
    pid=${INSTANCE_PIDS[0]}
    if proc_age "$pid" && ((AGE < STARTUP_TIMEOUT)); then
      release_lock
      say "$SVC_TITLE (pid $pid) is still starting ($PROBE_DETAIL, ${AGE} s old): waiting up to $((STARTUP_TIMEOUT - AGE)) s for it"
      await_ready "$pid" $((STARTUP_TIMEOUT - AGE)) 0 0
    fi
    say "$SVC_TITLE (pid $pid) has been starting for ${AGE:-?} s, longer than ${SVC_PREFIX}_STARTUP_TIMEOUT: replacing it"
  elif ((${#INSTANCE_PIDS[@]})); then
    say "$SVC_TITLE is not healthy ($PROBE_DETAIL): replacing it"
  fi

  check_cmd
  # What the old instance (or a crashed one's leftover) holds on the GPU, before it is stopped.
  GATE_ON=0
  ((${#INSTANCE_PIDS[@]} + ${#DEAD_PID[@]} == 0)) || gpu_held "$GPU_INDEX" "${INSTANCE_PIDS[@]}" "${DEAD_PID[@]}"
  if ((${#INSTANCE_PIDS[@]})); then
    stop_instance || exit 1
  elif port_in_use; then
    fail "port $PORT is in use by a process this user cannot see or stop (ss -ltnp 'sport = :$PORT')"
  fi
  # Wait for its memory to come back. The wait counts in _STARTUP_TIMEOUT, so one call still
  # fits Warden's restartTimeout.
  GATE_NEXT="starting anyway"
  release_after_stop
  READY_TIMEOUT=$((STARTUP_TIMEOUT - GATE_WAITED))
  ((READY_TIMEOUT >= 1)) || READY_TIMEOUT=1
  svc_before_start
  spawn
  release_lock
  await_ready "$PID" "$READY_TIMEOUT" 1 "$LOG_FROM"
}

# warden_stop ARGS… — the whole stop script.
warden_stop() {
  parse_args stop "$@"
  load_settings
  need_tools flock ss
  mkdir -p "$(dirname "$PIDFILE")"
  take_lock
  find_instance
  if ((${#INSTANCE_PIDS[@]} == 0)); then
    rm -f "$PIDFILE"
    say "$SVC_TITLE is not running"
    exit 0
  fi
  gpu_held "$GPU_INDEX" "${INSTANCE_PIDS[@]}" "${DEAD_PID[@]}"
  stop_instance || exit 1
  rm -f "$PIDFILE"
  say "stopped $SVC_TITLE"
  # A start right after this one (Warden's stopCmd, then restartCmd) finds the memory back.
  GATE_NEXT="not waiting any longer"
  release_after_stop
}
