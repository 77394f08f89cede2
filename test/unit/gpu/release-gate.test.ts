import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GATE_POLL_MS, releaseGate, type GateGpu, type GateOptions } from '../../../src-main/core/gpu/release-gate.js';
import type { ComputeApp } from '../../../src-main/core/gpu/smi-parse.js';

// The release gate (CONTRACT §11) on a scripted GPU and fake timers: what it waits for, what it
// says, and its verdicts after releaseTimeout. Pids are real: this process stands for a live one,
// a reaped child for one that is gone.
const UUID = 'GPU-aaaa';
const app = (pid: number, usedMiB: number): ComputeApp => ({ gpuUuid: UUID, pid, usedMiB });
/** A pid that surely is not running: a child that has exited and been reaped. */
const deadPid = () => spawnSync('true').pid;

/** A GPU whose answers the test changes between polls. */
function scriptedGpu(apps: ComputeApp[] | null, freeMiB: number | null) {
  const gpu: GateGpu & { apps: ComputeApp[] | null; free: number | null; polls: number } = {
    apps,
    free: freeMiB,
    polls: 0,
    computeApps: async () => {
      gpu.polls++;
      return gpu.apps;
    },
    memory: async () => (gpu.free === null ? null : { freeMiB: gpu.free, totalMiB: 24564 }),
  };
  return gpu;
}

function gate(gpu: GateGpu, o: Partial<GateOptions> = {}) {
  const said: { message: string; first: boolean; remainingMs: number }[] = [];
  const controller = new AbortController();
  const result = releaseGate({
    gpu,
    index: 0,
    held: { pids: [4242], usedMiB: 18000 },
    minFreeMiB: 0,
    releaseRatio: 0.75,
    releaseTimeoutMs: 30_000,
    onWait: (message, first, remainingMs) => said.push({ message, first, remainingMs }),
    signal: controller.signal,
    ...o,
  });
  return { result, said, abort: () => controller.abort() };
}

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe('the release gate', () => {
  it('opens at once when the old instance is gone and its memory is back', async () => {
    const g = gate(scriptedGpu([], 20000));
    await expect(g.result).resolves.toEqual({ outcome: 'released', waitedMs: 0 });
    expect(g.said).toEqual([]);
  });

  it('waits, polling every 0.25 s, until no old pid is listed and 0.75 × what it held is free; says so once per change', async () => {
    const gpu = scriptedGpu([app(4242, 18000)], 2000);
    const g = gate(gpu);
    await vi.advanceTimersByTimeAsync(0);
    expect(g.said).toEqual([{ message: 'Waiting for GPU memory to be released (2000 of 13500 MiB free)', first: true, remainingMs: 30_000 }]);
    await vi.advanceTimersByTimeAsync(GATE_POLL_MS * 3);
    expect(gpu.polls).toBe(4);
    expect(g.said).toHaveLength(1); // nothing changed: nothing more said
    gpu.apps = []; // the driver let go of the process, its memory follows
    gpu.free = 9000;
    await vi.advanceTimersByTimeAsync(GATE_POLL_MS);
    expect(g.said.slice(1)).toEqual([{ message: 'Waiting for GPU memory to be released (9000 of 13500 MiB free)', first: false, remainingMs: 30_000 - 4 * GATE_POLL_MS }]);
    gpu.free = 13500;
    await vi.advanceTimersByTimeAsync(GATE_POLL_MS);
    await expect(g.result).resolves.toEqual({ outcome: 'released', waitedMs: 5 * GATE_POLL_MS });
  });

  it('needs minFreeMiB when that is more than the share of what the old instance held', async () => {
    const gpu = scriptedGpu([], 14000);
    const g = gate(gpu, { minFreeMiB: 20000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(g.said[0]?.message).toBe('Waiting for GPU memory to be released (14000 of 20000 MiB free)');
    gpu.free = 20000;
    await vi.advanceTimersByTimeAsync(GATE_POLL_MS);
    await expect(g.result).resolves.toMatchObject({ outcome: 'released' });
  });

  it('a pid still listed after releaseTimeout that is gone holds the memory for good: zombie', async () => {
    const dead = deadPid();
    const g = gate(scriptedGpu([app(dead, 18000)], 1000), { held: { pids: [dead], usedMiB: 18000 }, releaseTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    await expect(g.result).resolves.toEqual({ outcome: 'zombie', pid: dead });
  });

  it('memory another live process holds after releaseTimeout: busy, naming it (the start goes ahead)', async () => {
    const g = gate(scriptedGpu([app(process.pid, 20000)], 1000), { releaseTimeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    const name = spawnSync('cat', [`/proc/${process.pid}/comm`], { encoding: 'utf8' }).stdout.trim();
    await expect(g.result).resolves.toEqual({ outcome: 'busy', pid: process.pid, process: name });
  });

  it('busy names the other process holding the most memory (the likeliest culprit)', async () => {
    const g = gate(scriptedGpu([app(process.ppid, 500), app(process.pid, 20000)], 1000), { releaseTimeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    await expect(g.result).resolves.toMatchObject({ outcome: 'busy', pid: process.pid });
  });

  it('busy with nobody listed (memory used outside compute-apps): no pid to name', async () => {
    const g = gate(scriptedGpu([], 1000), { releaseTimeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    await expect(g.result).resolves.toEqual({ outcome: 'busy', pid: null, process: null });
  });

  it('a live old pid that lingers past the timeout is stuck (its stop did not work), not a zombie', async () => {
    const g = gate(scriptedGpu([app(process.pid, 18000)], 20000), { held: { pids: [process.pid], usedMiB: 18000 }, releaseTimeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    await expect(g.result).resolves.toMatchObject({ outcome: 'stuck', pid: process.pid });
  });

  it('busy names a process on this GPU only, not one on another GPU', async () => {
    const gpu = scriptedGpu([{ gpuUuid: 'GPU-other', pid: process.pid, usedMiB: 30000 }, app(process.ppid, 900)], 1000);
    const g = gate({ computeApps: gpu.computeApps, memory: async () => ({ freeMiB: 1000, totalMiB: 24564, uuid: UUID }) }, { releaseTimeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    await expect(g.result).resolves.toMatchObject({ outcome: 'busy', pid: process.ppid });
  });

  it('without nvidia-smi answering there is nothing to wait for; free memory unknown counts as enough', async () => {
    await expect(gate(scriptedGpu(null, null)).result).resolves.toMatchObject({ outcome: 'released' });
    await expect(gate(scriptedGpu([], null)).result).resolves.toMatchObject({ outcome: 'released' });
    const listed = gate(scriptedGpu([app(4242, 100)], null));
    await vi.advanceTimersByTimeAsync(0);
    expect(listed.said[0]?.message).toBe('Waiting for GPU memory to be released (? of 13500 MiB free)');
    listed.abort();
    await expect(listed.result).resolves.toEqual({ outcome: 'aborted' });
  });

  it('stops waiting at once when aborted (stop, pause, removal)', async () => {
    const g = gate(scriptedGpu([app(4242, 18000)], 0));
    await vi.advanceTimersByTimeAsync(GATE_POLL_MS / 2);
    g.abort();
    await expect(g.result).resolves.toEqual({ outcome: 'aborted' });
  });
});
