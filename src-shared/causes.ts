/**
 * Why a restart failed (CONTRACT §12): one word on every `restart_failed` and `failed` event and
 * on `lastFailure`, and what a person should read and do about it. Browser-safe: the dashboard
 * and the tray show these words.
 */
export const CAUSES = [
  'exit',
  'timeout',
  'not_ready',
  'not_found',
  'daemon_down',
  'cuda_oom',
  'model_missing',
  'port_in_use',
  'gpu_lost',
  'gpu_zombie',
  'vram_busy',
  'dependency_down',
  'deep_check_failed',
  'config',
] as const;

export type FailureCause = (typeof CAUSES)[number];

/** Narrow an untrusted value (from the wire) to a cause, else null. */
export function toCause(value: unknown): FailureCause | null {
  return (CAUSES as readonly unknown[]).includes(value) ? (value as FailureCause) : null;
}

/** What the failure means, in words a person understands, and what to do about it. */
export const CAUSE_TEXT: Readonly<Record<FailureCause, { title: string; action: string }>> = {
  exit: { title: 'The restart command failed', action: 'Read its output (on the dashboard card); fix what it says, then Restart now.' },
  timeout: { title: 'The restart command did not finish in time', action: 'It was stopped (its whole process group). Raise restartTimeout if the service needs longer to start.' },
  not_ready: { title: 'It restarted but did not become healthy in time', action: 'Check the service’s own log; raise startupTimeout if it needs longer to load.' },
  not_found: { title: 'The restart command or unit was not found', action: 'Check the path in restartCmd (it runs in workingDir) and that the file is executable; for systemd, the unit name (systemctl list-unit-files).' },
  daemon_down: { title: 'Docker or systemd is not reachable', action: 'Start the Docker daemon (or check that Warden may use its socket: the docker group); for systemd, that the D-Bus socket is there.' },
  cuda_oom: { title: 'The model does not fit in free GPU memory', action: 'Free GPU memory (stop other GPU jobs), or use a smaller model or fewer GPU layers; Warden retries once the memory is released.' },
  model_missing: { title: 'The model file is missing', action: 'Check the model path (e.g. NEMOTRON_MODEL) and that the file exists; then Reset. Restarting again cannot fix it.' },
  port_in_use: { title: 'Another process holds the service’s port', action: 'Stop whatever listens on that port (ss -ltnp), or change the port; then Reset.' },
  gpu_lost: { title: 'The GPU is gone (driver error)', action: 'The driver lost the GPU (e.g. Xid 79, fallen off the bus): a driver reload or a reboot is needed; then Reset.' },
  gpu_zombie: { title: 'GPU memory is held by a dead process', action: 'No restart can free it: a driver reset or a reboot is needed; then Reset.' },
  vram_busy: { title: 'Another process holds GPU memory', action: 'It was restarted anyway; stop the other GPU job if the model does not fit.' },
  dependency_down: { title: 'A service it depends on is down', action: 'It waits for that service; fix the root cause first.' },
  deep_check_failed: { title: 'It answers its health check, but the real request failed', action: 'The model itself is broken or hung; Warden restarts it as usual.' },
  config: { title: 'The service is misconfigured', action: 'The start script said so (a missing binary, model or too little VRAM), or systemd refused Warden (a polkit rule is needed): read the output, fix the setting, then Reset.' },
};

/** Causes that restarting cannot fix: such a failure ends the round at once, and no new round starts by itself. */
export const PERMANENT_CAUSES: ReadonlySet<FailureCause> = new Set(['model_missing', 'config', 'gpu_lost', 'gpu_zombie']);
