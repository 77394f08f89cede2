import { readFile } from 'node:fs/promises';
import { pidAlive } from '../signals/pid-watch.js';
import type { ComputeApp } from './smi-parse.js';

/** How often the gate looks (CONTRACT §11: every 0.25 s). */
export const GATE_POLL_MS = 250;

/** What the gate reads from the GPU, fresh each time (nvidia-smi on demand). */
export interface GateGpu {
  computeApps(): Promise<ComputeApp[] | null>;
  /** Free and total MiB of one GPU now (and its uuid, to tell its processes from other GPUs'); null when it cannot be read. */
  memory(index: number): Promise<{ freeMiB: number; totalMiB: number; uuid?: string } | null>;
}

export interface GateOptions {
  gpu: GateGpu;
  index: number;
  /** The old instance: its GPU processes and the memory they held, taken before it was stopped. */
  held: { pids: number[]; usedMiB: number };
  minFreeMiB: number;
  releaseRatio: number;
  releaseTimeoutMs: number;
  /** Called when the wait begins (first = true) and as the free memory changes; `remainingMs`: until it gives up. */
  onWait(message: string, first: boolean, remainingMs: number): void;
  signal: AbortSignal;
}

/** The gate's verdict: released; held by a dead process (no restart can fix it); or by another live one (start anyway). */
export type GateResult =
  | { outcome: 'released'; waitedMs: number }
  | { outcome: 'zombie'; pid: number }
  /** A process of the old instance still runs and holds memory: its stop did not work. */
  | { outcome: 'stuck'; pid: number; process: string | null }
  | { outcome: 'busy'; pid: number | null; process: string | null }
  | { outcome: 'aborted' };

/**
 * The release gate (CONTRACT §11): after a GPU service's old instance was stopped, wait until none
 * of its pids is listed in compute-apps any more and its GPU has max(minFreeMiB, releaseRatio ×
 * what it held) free — relaunching earlier is the classic cause of "CUDA out of memory" right
 * after a restart. After releaseTimeout: a listed pid that is dead or a zombie holds the memory
 * for good (a driver reset or reboot); memory held by another live process does not stop the start.
 */
export async function releaseGate(o: GateOptions): Promise<GateResult> {
  const started = Date.now();
  const need = Math.max(o.minFreeMiB, o.releaseRatio * o.held.usedMiB);
  let announced = false;
  let lastSaid = '';
  for (;;) {
    if (o.signal.aborted) return { outcome: 'aborted' };
    const [apps, mem] = await Promise.all([o.gpu.computeApps(), o.gpu.memory(o.index)]);
    const lingering = (apps ?? []).filter((a) => o.held.pids.includes(a.pid));
    const free = mem?.freeMiB ?? null;
    // Without nvidia-smi answering there is nothing to wait for.
    if (apps === null && mem === null) return { outcome: 'released', waitedMs: Date.now() - started };
    if (lingering.length === 0 && (free === null || free >= need)) return { outcome: 'released', waitedMs: Date.now() - started };
    const said = `Waiting for GPU memory to be released (${free === null ? '?' : Math.round(free)} of ${Math.round(need)} MiB free)`;
    if (said !== lastSaid) {
      o.onWait(said, !announced, Math.max(0, o.releaseTimeoutMs - (Date.now() - started)));
      announced = true;
      lastSaid = said;
    }
    if (Date.now() - started >= o.releaseTimeoutMs) {
      for (const a of lingering) if (!(await pidAlive(a.pid))) return { outcome: 'zombie', pid: a.pid };
      // Still running after the stop (a child the stop missed, a process stuck in the driver).
      const stuck = lingering[0];
      if (stuck) return { outcome: 'stuck', pid: stuck.pid, process: await processName(stuck.pid) };
      // Name the likeliest culprit: the other process on this GPU holding the most memory.
      const onGpu = (apps ?? []).filter((a) => !o.held.pids.includes(a.pid) && (mem?.uuid === undefined || a.gpuUuid === mem.uuid));
      const other = onGpu.sort((a, b) => (b.usedMiB ?? 0) - (a.usedMiB ?? 0))[0] ?? null;
      return { outcome: 'busy', pid: other?.pid ?? null, process: other ? await processName(other.pid) : null };
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, GATE_POLL_MS);
      o.signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        o.signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}

async function processName(pid: number): Promise<string | null> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() || null;
}
