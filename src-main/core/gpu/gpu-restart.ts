import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { RestartResult, ServiceManager } from '../managers/service-manager.js';
import type { Diagnosis } from '../monitor/machine.js';
import type { GpuMonitor } from './gpu-monitor.js';
import { releaseGate } from './release-gate.js';

/** Whether a service's restart goes through the release gate: a GPU service whose strategy can stop and start apart. */
export function usesReleaseGate(svc: ResolvedService, manager: ServiceManager): boolean {
  return svc.gpu !== undefined && manager.canStopAndStart?.(svc) === true && manager.stopService !== undefined && manager.startService !== undefined;
}

/**
 * A GPU service's restart (CONTRACT §11): note what its old instance holds, stop it, wait at the
 * release gate until that memory is back, then start. The wait is part of the attempt and costs
 * none. `hint` is what the gate learnt: a zombie-held GPU, or memory another process keeps.
 */
export async function restartThroughGate(
  svc: ResolvedService,
  manager: ServiceManager,
  gpu: GpuMonitor,
  signal: AbortSignal,
  /** Word for the card; `remainingMs`: the gate's wait gives up in so long (null: the wait is over). */
  progress: (message: string, announce: boolean, remainingMs?: number | null) => void,
): Promise<{ result: RestartResult; hint?: Diagnosis }> {
  const index = svc.gpu!.index;
  const held = await gpu.held(svc.name, index);
  const stopped = await manager.stopService!(svc, signal);
  if (!stopped.ok) return { result: { ...stopped, reason: `stop failed: ${stopped.reason}` } };
  let waited = false;
  const gate = await releaseGate({
    gpu,
    index,
    held,
    minFreeMiB: svc.gpu!.minFreeMiB,
    releaseRatio: gpu.settings.releaseRatio,
    releaseTimeoutMs: gpu.settings.releaseTimeout * 1000,
    onWait: (message, first, remainingMs) => {
      waited = true;
      progress(message, first, remainingMs);
    },
    signal,
  });
  if (gate.outcome === 'aborted') {
    // Stopped mid-gate (Warden is stopping): a container is not left stopped, where the next
    // Warden would take Warden's own stop for the owner's (docker start returns at once).
    if (manager.type === 'docker') await manager.startService!(svc);
    return { result: failure('aborted') };
  }
  if (gate.outcome === 'stuck') {
    const reason = `the old instance still holds GPU memory after its stop (pid ${gate.pid}${gate.process ? ` ${gate.process}` : ''}, ${gpu.settings.releaseTimeout} s): not started next to it`;
    return { result: failure(reason), hint: { cause: 'vram_busy', line: null } };
  }
  if (gate.outcome === 'zombie') {
    const reason = `GPU memory held by a dead process (pid ${gate.pid}): a driver reset or reboot may be needed`;
    return { result: failure(reason), hint: { cause: 'gpu_zombie', line: null } };
  }
  let hint: Diagnosis | undefined;
  if (gate.outcome === 'busy') {
    const who = gate.pid === null ? 'another process' : `pid ${gate.pid}${gate.process ? ` (${gate.process})` : ''}`;
    hint = { cause: 'vram_busy', line: `GPU ${index} memory is still held by ${who} after ${gpu.settings.releaseTimeout} s` };
    progress(`${hint.line}: starting anyway`, true, null);
  } else if (waited) progress(`GPU memory released after ${(gate.waitedMs / 1000).toFixed(1)} s: starting ${svc.name}`, true, null);
  const started = await manager.startService!(svc, signal);
  return { result: started, ...(hint ? { hint } : {}) };
}

function failure(reason: string): RestartResult {
  return { ok: false, reason, output: '', exitCode: null, signal: null, timedOut: false };
}
