import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DemoGpu, freeMiBFromState } from '../../../src-main/demo/demo-gpu.js';
import { killGroup, waitUntil } from '../../helpers/process-tree.js';

// The demo's simulated GPU: real processes are its "GPU processes", time is injected, and what
// Warden would read is asked of the real simulator script through the wrapper the demo writes.
const SIMULATOR = fileURLToPath(new URL('../../../resources/demo/nvidia-smi', import.meta.url));
let dir: string;
let now = 0;
const started: number[] = [];
const gpus: DemoGpu[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-demo-gpu-'));
  now = 1_000_000;
});
afterEach(() => {
  for (const g of gpus.splice(0)) g.stop();
  for (const pid of started.splice(0)) killGroup(pid);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A "model server": a real process in its own group, named in a pidfile. */
function server(name: string): { pid: number; pidfile: string; exited: Promise<void> } {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  started.push(child.pid!);
  const pidfile = path.join(dir, `${name}.pid`);
  fs.writeFileSync(pidfile, `${child.pid}\n`);
  return { pid: child.pid!, pidfile, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

function gpu(services: { name: string; pidfile: string; usedMiB: number }[]) {
  const g = new DemoGpu({ dir, simulator: SIMULATOR, services, totalMiB: 24000, lingerMs: 1000, releaseMs: 2000, tickMs: 60_000, now: () => now });
  gpus.push(g);
  g.start();
  return g;
}
/** What Warden reads: the simulator's answers, through the wrapper. */
const smi = (g: DemoGpu, query: string) => execFileSync(g.smiPath, [query, '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim();

describe('the demo GPU', () => {
  it("lists each running server with its memory, answering Warden's queries through the simulator", () => {
    const llm = server('nemotron');
    const g = gpu([{ name: 'nemotron', pidfile: llm.pidfile, usedMiB: 17000 }]);
    expect(g.freeMiB()).toBe(24000 - 350 - 17000);
    expect(smi(g, '--query-compute-apps=gpu_uuid,pid,used_memory')).toBe(`GPU-5eed0000-demo-4090-0000-000000000000, ${llm.pid}, 17000`);
    expect(smi(g, '--query-gpu=memory.free')).toBe(String(24000 - 350 - 17000));
    expect(freeMiBFromState(g.statePath)).toBe(24000 - 350 - 17000);
  });

  it('a server that dies stays listed while the driver cleans up, then its memory comes back gradually', async () => {
    const llm = server('nemotron');
    const g = gpu([{ name: 'nemotron', pidfile: llm.pidfile, usedMiB: 17000 }]);
    killGroup(llm.pid);
    await llm.exited;
    g.tick();
    expect(smi(g, '--query-compute-apps=gpu_uuid,pid,used_memory')).toContain(`${llm.pid}, 17000`);
    now += 1000 + 1000; // linger over, half released
    g.tick();
    expect(smi(g, '--query-compute-apps=gpu_uuid,pid,used_memory')).toBe('');
    expect(g.freeMiB()).toBe(24000 - 350 - 8500);
    now += 1000;
    g.tick();
    expect(g.freeMiB()).toBe(24000 - 350);
  });

  it('a hog takes what is free and grows into what a dead server frees; its memory is back the moment it exits', async () => {
    const llm = server('nemotron');
    const g = gpu([{ name: 'nemotron', pidfile: llm.pidfile, usedMiB: 17000 }]);
    const hog = g.hog(9000, 1000);
    started.push(hog);
    expect(smi(g, '--query-compute-apps=gpu_uuid,pid,used_memory').split('\n')).toEqual([
      `GPU-5eed0000-demo-4090-0000-000000000000, ${llm.pid}, 17000`,
      `GPU-5eed0000-demo-4090-0000-000000000000, ${hog}, ${24000 - 350 - 17000}`,
    ]);
    killGroup(llm.pid);
    await llm.exited;
    g.tick();
    now += 3000;
    g.tick();
    expect(g.freeMiB()).toBe(24000 - 350 - 9000);
    killGroup(hog);
    await waitUntil(() => {
      g.tick();
      return g.freeMiB() === 24000 - 350;
    });
    expect(smi(g, '--query-compute-apps=gpu_uuid,pid,used_memory')).toBe('');
  });

  it('the launcher reads free memory from the state; without a usable state nothing is simulated', () => {
    expect(freeMiBFromState(path.join(dir, 'absent'))).toBeNull();
    fs.writeFileSync(path.join(dir, 'junk'), 'mode=ok\n');
    expect(freeMiBFromState(path.join(dir, 'junk'))).toBeNull();
  });
});
