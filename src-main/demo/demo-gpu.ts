import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pidAliveSync as alive } from '../core/signals/pid-watch.js';
import { shQuote } from './shell-words.js';

/** A GPU service of the demo: its pidfile names its server, which "uses" this much VRAM while it runs. */
export interface DemoGpuService {
  name: string;
  pidfile: string;
  usedMiB: number;
}

export interface DemoGpuOptions {
  /** Where the state file and the nvidia-smi wrapper go. */
  dir: string;
  /** The nvidia-smi simulator (resources/demo/nvidia-smi): it answers the real query formats from a state file. */
  simulator: string;
  services: DemoGpuService[];
  totalMiB?: number;
  /** How long a dead server stays listed by "nvidia-smi" (the driver cleaning up), then how long its memory takes to come back. */
  lingerMs?: number;
  releaseMs?: number;
  tickMs?: number;
  now?: () => number;
}

/** Memory in use that belongs to no service (a desktop's X server and compositor). */
const BASELINE_MIB = 350;
const UUID = 'GPU-5eed0000-demo-4090-0000-000000000000';

/** A process the simulated GPU lists: alive, or dead since `diedAt` while the driver frees its memory. */
interface Holder {
  mib: number;
  diedAt: number | null;
  /** A hog (another GPU job) frees its memory the moment it exits. */
  hog: boolean;
}

/**
 * The demo's simulated GPU (`warden serve --demo`, no GPU needed): one RTX 4090 whose memory is
 * held by the demo's stand-in servers while they run. A server that dies stays listed in
 * compute-apps for a while and its memory comes back gradually, as on a real driver — so the
 * release gate has something to wait for. `hog()` starts a stand-in for another GPU job (a real
 * `sleep` the simulated GPU says holds memory), which is how the demo shows CUDA out of memory.
 * It writes the state file the simulator reads; Warden runs the simulator as its nvidia-smi.
 */
export class DemoGpu {
  readonly statePath: string;
  /** What Warden runs as nvidia-smi: the simulator, pointed at this GPU's state. */
  readonly smiPath: string;
  private readonly holders = new Map<number, Holder>();
  private timer: NodeJS.Timeout | null = null;
  private readonly o: Required<Omit<DemoGpuOptions, 'now'>> & { now: () => number };

  constructor(opts: DemoGpuOptions) {
    this.o = { totalMiB: 24564, lingerMs: 1500, releaseMs: 1500, tickMs: 250, now: Date.now, ...opts };
    this.statePath = path.join(opts.dir, 'gpu.state');
    this.smiPath = path.join(opts.dir, 'nvidia-smi');
  }

  start(): void {
    fs.writeFileSync(this.smiPath, `#!/bin/sh\n# The demo's simulated GPU (see src-main/demo/demo-gpu.ts).\nFAKE_SMI_STATE=${shQuote(this.statePath)} exec ${shQuote(this.o.simulator)} "$@"\n`, { mode: 0o755 });
    this.tick();
    this.timer = setInterval(() => this.tick(), this.o.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const [pid, h] of this.holders) if (h.hog && h.diedAt === null) signal(pid);
  }

  /** Another GPU job takes `mib` for `seconds` (a real process, so the release gate can name it). */
  hog(mib: number, seconds: number): number {
    const child = spawn('sleep', [String(seconds)], { detached: true, stdio: 'ignore' });
    child.unref();
    const pid = child.pid!;
    this.holders.set(pid, { mib, diedAt: null, hog: true });
    this.tick();
    return pid;
  }

  /** Memory free now, as nvidia-smi would say. */
  freeMiB(): number {
    return this.o.totalMiB - this.usage().used;
  }

  /** Look at the servers and write what nvidia-smi says now (atomically: the simulator never reads half a file). */
  tick(): void {
    const now = this.o.now();
    for (const s of this.o.services) {
      const pid = readPid(s.pidfile);
      if (pid !== null && alive(pid) && !this.holders.has(pid)) this.holders.set(pid, { mib: s.usedMiB, diedAt: null, hog: false });
    }
    for (const [pid, h] of this.holders) {
      if (h.diedAt === null && !alive(pid)) h.diedAt = now;
      if (h.diedAt !== null && (h.hog || now - h.diedAt >= this.o.lingerMs + this.o.releaseMs)) this.holders.delete(pid);
    }
    const listed = [...this.holders].filter(([, h]) => h.diedAt === null || now - h.diedAt < this.o.lingerMs);
    const { used, hogs } = this.usage();
    const lines = [
      'mode=ok',
      `gpu=0, ${UUID}, NVIDIA GeForce RTX 4090 (simulated), ${Math.round(used)}, ${this.o.totalMiB}, ${listed.length === 0 ? 0 : 38 + 9 * listed.length}, ${40 + Math.round(used / 1000)}, ${(45 + used / 100).toFixed(2)}`,
      ...listed.map(([pid, h]) => `app=${UUID}, ${pid}, ${Math.round(h.hog ? (hogs.get(pid) ?? 0) : h.mib)}`),
    ];
    const tmp = `${this.statePath}.tmp`;
    fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
    fs.renameSync(tmp, this.statePath);
  }

  /**
   * Memory in use: the servers' (a dead one's coming back gradually), then each hog takes what it
   * wants of what is left — a job that grabs memory as it is freed, which is how a model that
   * crashed of OOM finds no room when it starts again.
   */
  private usage(): { used: number; hogs: Map<number, number> } {
    const now = this.o.now();
    let used = BASELINE_MIB;
    const hogs = new Map<number, number>();
    for (const h of this.holders.values()) {
      if (h.hog) continue;
      const released = h.diedAt === null ? 0 : Math.min(1, Math.max(0, now - h.diedAt - this.o.lingerMs) / this.o.releaseMs);
      used += h.mib * (1 - released);
    }
    for (const [pid, h] of this.holders) {
      if (!h.hog || h.diedAt !== null) continue;
      const take = Math.max(0, Math.min(h.mib, this.o.totalMiB - used));
      hogs.set(pid, take);
      used += take;
    }
    return { used, hogs };
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Free memory on GPU 0 from a simulator state file, for the demo's launcher: a model that needs
 * more than that fails to start the way PyTorch says it, so the demo's causes are the real ones.
 * Null when the file cannot be read (nothing is simulated: start as usual).
 */
export function freeMiBFromState(stateFile: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(stateFile, 'utf8');
  } catch {
    return null;
  }
  const line = /^gpu=(.*)$/m.exec(text)?.[1];
  const [, , , used, total] = (line ?? '').split(/,\s*/);
  const u = Number(used);
  const t = Number(total);
  return line && Number.isFinite(u) && Number.isFinite(t) ? t - u : null;
}
