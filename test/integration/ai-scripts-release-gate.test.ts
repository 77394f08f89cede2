// The release gate in ai/start_*.sh and ai/stop_*.sh (CONTRACT §11): after an old instance is
// stopped, nothing new starts until nvidia-smi lists none of its pids and its GPU has 3/4 of what
// it held free again. The fixture nvidia-smi answers from a state file the tests rewrite while a
// script runs; the "GPU processes" it lists are real processes (the old servers' real pids).
import { describe, expect, it } from 'vitest';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  FIXTURE_BIN,
  REPO,
  ScriptOutput,
  healthOf,
  isAlive,
  liveGroupMembers,
  sandboxesPerTest,
  type Sandbox,
  type Service,
} from '../helpers/ai-scripts-sandbox.js';

const sandbox = sandboxesPerTest();

const withFixtureBin = (): string => `${FIXTURE_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`;
/** PATH with no nvidia-smi on it, also on a machine that has one. */
const withoutSmi = (): string =>
  (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .filter((dir) => dir && !existsSync(join(dir, 'nvidia-smi')))
    .join(':');

const startHeaders = (log: string): number => log.split('\n').filter((l) => / start_\w+\.sh: starting: /.test(l)).length;
const TOTAL_MIB = 24000;
const uuidOf = (index: number): string => `GPU-5e1f0000-0000-4000-8000-00000000000${index}`;

interface SmiState {
  mode?: string;
  /** memory.used per GPU index (two GPUs, 24000 MiB each). */
  used: [number, number];
  /** Compute processes: [gpu index, pid, used MiB]. */
  apps?: [number, number, number][];
}

/** Replace the fixture's state at once (write, then rename): nvidia-smi never reads half a file. */
async function setSmi(sb: Sandbox, state: SmiState): Promise<void> {
  const lines = [
    `mode=${state.mode ?? 'ok'}`,
    ...state.used.map((used, i) => `gpu=${i}, ${uuidOf(i)}, NVIDIA Fake 24GB, ${used}, ${TOTAL_MIB}, 3, 41, 72.10`),
    ...(state.apps ?? []).map(([gpu, pid, mib]) => `app=${uuidOf(gpu)}, ${pid}, ${mib}`),
  ];
  const file = smiStateFile(sb);
  await writeFile(`${file}.tmp`, `${lines.join('\n')}\n`);
  await rename(`${file}.tmp`, file);
}

const smiStateFile = (sb: Sandbox): string => join(sb.dir, 'smi-state');

/** The environment of a script run that sees the fixture nvidia-smi and its state file. */
const withSmi = (sb: Sandbox, extra: Record<string, string> = {}): Record<string, string> => ({
  ...sb.fakeCmd(),
  PATH: withFixtureBin(),
  FAKE_SMI_STATE: smiStateFile(sb),
  ...extra,
});

/** A healthy old instance, started without any nvidia-smi in sight; its pid. */
async function oldInstance(sb: Sandbox): Promise<number> {
  const r = await sb.script('start', { ...sb.fakeCmd(), PATH: withoutSmi() });
  expect(r.exitCode, r.stderr).toBe(0);
  return (await sb.pidfilePid())!;
}

describe('start: the old instance is stopped, then the gate', () => {
  it.each([
    ['nemotron', 0, {}],
    // The GPU comes from CUDA_VISIBLE_DEVICES when no _GPU_INDEX is set; GPU 0 is all free.
    ['detector', 1, { CUDA_VISIBLE_DEVICES: '1' }],
  ] as const)('%s on GPU %d: the new instance starts only once the old pid is gone from nvidia-smi and 3/4 of its memory is free', async (service, gpu, env) => {
    const sb = await sandbox(service as Service);
    const p = sb.prefix;
    const old = await oldInstance(sb);
    const used: [number, number] = [0, 0];
    used[gpu] = 20000; // 4000 free; the old instance holds 16000, so 12000 must be free
    await setSmi(sb, { used, apps: [[gpu, old, 16000]] });

    const run = sb.spawnScript('start', withSmi(sb, { [`${p}_RELEASE_TIMEOUT`]: '25', ...env }), ['--force']);
    const out = new ScriptOutput(run);
    await out.next(new RegExp(`GPU memory of the old instance: 16000 MiB on GPU ${gpu} \\(pid\\(s\\) ${old}\\)`));
    const listed = await out.next(/waiting for GPU memory to be released/);
    expect(listed).toContain(`(4000 of 12000 MiB free; old pid(s) ${old} still listed by nvidia-smi)`);
    // The gate waits after the stop: the old group is already gone.
    expect(liveGroupMembers(old)).toEqual([]);

    // The driver drops the process, the memory is not back yet.
    await setSmi(sb, { used });
    expect(await out.next(/waiting for GPU memory to be released/)).toContain('(4000 of 12000 MiB free)');
    expect(startHeaders(await sb.readLog())).toBe(1);
    expect(await healthOf(sb.port)).toBe('refused');

    used[gpu] = 3000;
    await setSmi(sb, { used });
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(0);
    const released = r.stdout.indexOf('GPU memory released (21000 of 12000 MiB free)');
    expect(released).toBeGreaterThan(-1);
    expect(r.stdout.indexOf(`started `)).toBeGreaterThan(released);
    // Said once per change, not once per poll.
    expect(r.stdout.match(/waiting for GPU memory/g)).toHaveLength(2);
    expect(startHeaders(await sb.readLog())).toBe(2);
    expect(await sb.pidfilePid()).not.toBe(old);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('an old pid still listed after it died: exit 2 with the gpu_zombie line after _RELEASE_TIMEOUT, nothing started', async () => {
    const sb = await sandbox('nemotron');
    const old = await oldInstance(sb);
    await setSmi(sb, { used: [20000, 0], apps: [[0, old, 16000]] });
    const r = await sb.script('start', withSmi(sb, { NEMOTRON_RELEASE_TIMEOUT: '1' }), ['--force']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toContain(`waiting for GPU memory to be released (4000 of 12000 MiB free; old pid(s) ${old} still listed by nvidia-smi)`);
    expect(r.stderr.trim().split('\n')).toEqual([
      `start_nemotron.sh: error: GPU memory held by a dead process (pid ${old}): a driver reset or reboot may be needed`,
    ]);
    expect(isAlive(old)).toBe(false);
    expect(startHeaders(await sb.readLog())).toBe(1);
    expect(await healthOf(sb.port)).toBe('refused');
  });

  it('a crashed server (dead pid in the pidfile) whose memory nvidia-smi still lists: the same exit 2', async () => {
    const sb = await sandbox('detector');
    // A reaped child: its pid exists no more.
    const dead = await sb.spawnOwn(['-e', ''], false);
    await new Promise((r) => dead.once('exit', r));
    await writeFile(sb.pidfile, `${dead.pid}\n`);
    await setSmi(sb, { used: [9000, 0], apps: [[0, dead.pid!, 8000]] });
    const r = await sb.script('start', withSmi(sb, { RTDETR_RELEASE_TIMEOUT: '1' }));
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toMatch(/removing stale pidfile/);
    expect(r.stdout).toContain(`waiting for GPU memory to be released (15000 of 6000 MiB free; old pid(s) ${dead.pid} still listed by nvidia-smi)`);
    expect(r.stderr.trim().split('\n')).toEqual([
      `start_detector.sh: error: GPU memory held by a dead process (pid ${dead.pid}): a driver reset or reboot may be needed`,
    ]);
    expect(existsSync(sb.log) ? startHeaders(await sb.readLog()) : 0).toBe(0);
  });

  it('memory another live process holds: after _RELEASE_TIMEOUT it says who, and starts anyway', async () => {
    const sb = await sandbox('nemotron');
    await oldInstance(sb);
    const other = await sb.spawnOwn(['-e', 'setInterval(() => {}, 1 << 30); console.log("up")'], true, /up/);
    const name = (await readFile(`/proc/${other.pid}/comm`, 'utf8')).trim();
    // The old instance holds nothing; the floor asks for 12000 MiB free, the other process leaves 9000.
    await setSmi(sb, { used: [15000, 0], apps: [[0, other.pid!, 15000]] });
    const r = await sb.script('start', withSmi(sb, { NEMOTRON_RELEASE_TIMEOUT: '1', NEMOTRON_GPU_MIN_FREE_MIB: '12000' }), ['--force']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('waiting for GPU memory to be released (9000 of 12000 MiB free)');
    const busy = r.stdout.indexOf(`GPU 0 memory is still held by pid ${other.pid} (${name}): starting anyway`);
    expect(busy).toBeGreaterThan(-1);
    expect(r.stdout.indexOf('started ')).toBeGreaterThan(busy);
    expect(isAlive(other.pid!)).toBe(true);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('without nvidia-smi there is nothing to wait for: it says so once and starts as before', async () => {
    const sb = await sandbox('nemotron');
    const old = await oldInstance(sb);
    const r = await sb.script('start', { ...sb.fakeCmd(), PATH: withoutSmi() }, ['--force']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.match(/nvidia-smi not found: not waiting for GPU memory to be released/g)).toHaveLength(1);
    expect(r.stdout).not.toMatch(/waiting for GPU memory to be released \(/);
    expect(liveGroupMembers(old)).toEqual([]);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('with an nvidia-smi that fails (driver not loaded) it says why once and starts', async () => {
    const sb = await sandbox('detector');
    await oldInstance(sb);
    await setSmi(sb, { mode: 'nvml-error', used: [0, 0] });
    const r = await sb.script('start', withSmi(sb), ['--force']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.match(/nvidia-smi failed \(exit 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.*\): not waiting for GPU memory/g)).toHaveLength(1);
    expect(await healthOf(sb.port)).toBe(200);
  });

  it('a fresh start (nothing to stop) asks nvidia-smi nothing and waits for nothing', async () => {
    const sb = await sandbox('nemotron');
    await setSmi(sb, { used: [24000, 0] });
    const r = await sb.script('start', withSmi(sb, { NEMOTRON_GPU_MIN_FREE_MIB: '12000' }));
    expect(r.exitCode, r.stderr).toBe(0);
    // Only Nemotron's own free-VRAM line, as before the gate existed.
    expect(r.stdout).not.toMatch(/GPU memory/);
    expect(r.stdout.match(/nvidia-smi/g)).toEqual(['nvidia-smi']);
    expect(r.stdout).toMatch(/free VRAM before start: 24000 MiB \(nvidia-smi\)/);
  });
});

describe('stop: the gate before it returns', () => {
  it('waits until the memory is back, so a start right after finds it', async () => {
    const sb = await sandbox('nemotron');
    const old = await oldInstance(sb);
    await setSmi(sb, { used: [20000, 0], apps: [[0, old, 16000]] });
    const run = sb.spawnScript('stop', { PATH: withFixtureBin(), FAKE_SMI_STATE: smiStateFile(sb), NEMOTRON_RELEASE_TIMEOUT: '25' });
    const out = new ScriptOutput(run);
    await out.next(/stopped Nemotron/);
    await out.next(/waiting for GPU memory to be released \(4000 of 12000 MiB free; old pid\(s\) \d+ still listed/);
    expect(existsSync(sb.pidfile)).toBe(false);
    await setSmi(sb, { used: [500, 0] });
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('GPU memory released (23500 of 12000 MiB free)');
    expect(liveGroupMembers(old)).toEqual([]);
  });

  it('exits 2 with the gpu_zombie line when the dead server stays listed', async () => {
    const sb = await sandbox('detector');
    const old = await oldInstance(sb);
    await setSmi(sb, { used: [0, 8000], apps: [[1, old, 8000]] });
    const r = await sb.script('stop', { PATH: withFixtureBin(), FAKE_SMI_STATE: smiStateFile(sb), RTDETR_RELEASE_TIMEOUT: '0', RTDETR_GPU_INDEX: '1' });
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`stop_detector.sh: error: GPU memory held by a dead process (pid ${old}): a driver reset or reboot may be needed`);
    expect(existsSync(sb.pidfile)).toBe(false);
  });
});

describe('--help', () => {
  it.each(['start_detector.sh', 'start_nemotron.sh', 'stop_detector.sh', 'stop_nemotron.sh'])('%s documents the gate variables and their defaults', async (script) => {
    const r = await execa(join(REPO, 'ai', script), ['--help'], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' }, extendEnv: false });
    const p = script.includes('detector') ? 'RTDETR' : 'NEMOTRON';
    expect(r.stdout).toMatch(new RegExp(`^  ${p}_GPU_INDEX\\s.*\\n.*\\[default: the first of CUDA_VISIBLE_DEVICES if a number, else 0\\]`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^  ${p}_RELEASE_TIMEOUT\\s[\\s\\S]*?\\[default: 30\\]`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^  ${p}_GPU_MIN_FREE_MIB\\s.*\\[default: 0\\]`, 'm'));
  });
});
