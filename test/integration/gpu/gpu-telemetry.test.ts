// GPU telemetry against the fixture nvidia-smi (there is no GPU here; it answers the exact query
// formats from a state file the test rewrites) and real processes standing for GPU processes, so
// attribution by process group is real: the stream, its failure modes, /api/gpus, the WebSocket
// `gpu` message and the /metrics gauges.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { GpuMessage } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { GpuMonitor } from '../../../src-main/core/gpu/gpu-monitor.js';
import { SmiStream, type GpuReading } from '../../../src-main/core/gpu/smi-stream.js';
import { killGroup } from '../../helpers/process-tree.js';
import { openWs, request, startTestServer, type TestServer } from '../../helpers/server-harness.js';

const FAKE_SMI = fileURLToPath(new URL('../../fixtures/ai/bin/nvidia-smi', import.meta.url));
// The fixture's state file: gpu= lines are what it prints for --query-gpu, app= lines for compute-apps.
const GPU0 = 'gpu=0, GPU-aaaa-1111, NVIDIA GeForce RTX 4090, 18640, 24564, 97, 71, 312.50';
const GPU1 = 'gpu=1, GPU-bbbb-2222, NVIDIA RTX A2000, [N/A], 12288, [Not Supported], 40, [N/A]';

let dir: string;
let state: string;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-gpu-'));
  state = path.join(dir, 'smi.state');
  process.env.FAKE_SMI_STATE = state;
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  delete process.env.FAKE_SMI_STATE;
  await fs.rm(dir, { recursive: true, force: true });
});

const writeState = (...lines: string[]) => fs.writeFile(state, `${lines.join('\n')}\n`);

/** A stream, and its samples and reasons as they come. */
function stream(smi = FAKE_SMI, pollInterval = 0.1) {
  const samples: GpuReading[][] = [];
  const reasons: string[] = [];
  const waiters: (() => void)[] = [];
  const s = new SmiStream({
    smi,
    pollInterval,
    onSample: (g) => {
      samples.push(g);
      waiters.splice(0).forEach((w) => w());
    },
    onUnavailable: (r) => {
      reasons.push(r);
      waiters.splice(0).forEach((w) => w());
    },
  });
  cleanup.push(() => s.stop());
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  s.start();
  return { s, samples, reasons, until };
}

describe('the nvidia-smi stream', () => {
  it('reads every GPU per sample, [N/A] and [Not Supported] as null, and follows changes', async () => {
    await writeState('mode=ok', GPU0, GPU1);
    const st = stream();
    await st.until(() => st.samples.length >= 1);
    expect(st.samples[0]).toEqual([
      { index: 0, uuid: 'GPU-aaaa-1111', name: 'NVIDIA GeForce RTX 4090', memoryUsedMiB: 18640, memoryTotalMiB: 24564, utilizationPct: 97, temperatureC: 71, powerW: 312.5 },
      { index: 1, uuid: 'GPU-bbbb-2222', name: 'NVIDIA RTX A2000', memoryUsedMiB: null, memoryTotalMiB: 12288, utilizationPct: null, temperatureC: 40, powerW: null },
    ]);
    // The old instance dies: its memory comes back over the next samples.
    await writeState('mode=ok', GPU0.replace('18640', '1024'), GPU1);
    await st.until(() => st.samples.at(-1)?.[0]?.memoryUsedMiB === 1024);
  });

  it('says why there is no usable GPU: not installed, no devices, a driver error; and is restarted when it dies', async () => {
    const missing = stream(path.join(dir, 'no-nvidia-smi'));
    await missing.until(() => missing.reasons.length > 0);
    expect(missing.reasons[0]).toMatch(/no-nvidia-smi not found/);

    await writeState('mode=no-devices');
    const none = stream();
    await none.until(() => none.reasons.length > 0);
    expect(none.reasons[0]).toBe('No devices were found (no NVIDIA GPU)');
    none.s.stop();

    await writeState('mode=nvml-error');
    const broken = stream();
    await broken.until(() => broken.reasons.length > 0);
    expect(broken.reasons[0]).toMatch(/^NVIDIA driver error: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    broken.s.stop();

    // It dies mid-stream after two samples, and comes back (at once: it had been running).
    await writeState('mode=die-after=2', GPU0);
    const dying = stream();
    await dying.until(() => dying.reasons.length > 0);
    expect(dying.reasons[0]).toMatch(/exited \(1\)/);
    await dying.until(() => dying.samples.length >= 3);
  });

  it('kills and restarts a child that stops answering (a hung driver)', async () => {
    await writeState('mode=ok', GPU0);
    const st = stream();
    await st.until(() => st.samples.length >= 1);
    await writeState('mode=hang');
    await st.until(() => st.reasons.length > 0);
    expect(st.reasons[0]).toMatch(/stopped answering/);
    await writeState('mode=ok', GPU0);
    const seen = st.samples.length;
    await st.until(() => st.samples.length > seen);
  });
});

describe('GPU state for the API, the WebSocket and /metrics', () => {
  let t: TestServer;

  /** A process standing for a model server: its own group, named in a pidfile. */
  async function gpuProcess(): Promise<number> {
    const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    child.unref();
    cleanup.push(() => killGroup(child.pid!));
    return child.pid!;
  }

  it('lists each GPU with its processes, attributed to services by process group', async () => {
    const detector = await gpuProcess();
    const other = await gpuProcess();
    const pidfile = path.join(dir, 'rtdetr.pid');
    await fs.writeFile(pidfile, `${detector}\n`);
    await writeState('mode=ok', GPU0, GPU1, `app=GPU-aaaa-1111, ${detector}, 17500`, `app=GPU-aaaa-1111, ${other}, 900`);
    t = await startTestServer({
      config: configSchema.parse({
        healthCheckInterval: 60,
        gpu: { smi: FAKE_SMI, pollInterval: 0.2 },
        services: [{ name: 'rtdetr', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null, pidfile, gpu: { index: 0 } }],
      }),
    });
    cleanup.push(() => t.close());
    const { ws, inbox } = await openWs(t.server.port);
    cleanup.push(() => ws.close());
    const message = await inbox.next<GpuMessage>((m) => m.type === 'gpu' && m.available);
    expect(message.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(message.gpus[0]?.processes).toEqual([
      { pid: detector, usedMiB: 17500, service: 'rtdetr' },
      { pid: other, usedMiB: 900, service: null },
    ]);
    expect(message.gpus[1]?.processes).toEqual([]);

    const api = await request(t.server.port, { path: '/api/gpus', headers: t.auth });
    expect(api.status).toBe(200);
    expect(api.json()).toMatchObject({ available: true, reason: null, gpus: [{ index: 0, memoryUsedMiB: 18640 }, { index: 1, memoryUsedMiB: null }] });

    const metrics = (await request(t.server.port, { path: '/metrics', headers: t.auth })).body;
    expect(metrics).toMatch(/^warden_gpu_memory_used_bytes\{gpu="0"\} 19545456640$/m);
    expect(metrics).not.toMatch(/warden_gpu_memory_used_bytes\{gpu="1"\}/); // [N/A]: no value, not 0
    expect(metrics).toMatch(/^warden_gpu_memory_total_bytes\{gpu="1"\} 12884901888$/m);
    expect(metrics).toMatch(/^warden_gpu_utilization_ratio\{gpu="0"\} 0\.97$/m);
    expect(metrics).toMatch(/^warden_gpu_temperature_celsius\{gpu="0"\} 71$/m);
    expect(metrics).toMatch(/^warden_service_gpu_memory_bytes\{service="rtdetr"\} 18350080000$/m);
  });

  it('without nvidia-smi: the API says why, the metrics have no GPU series, and everything else works', async () => {
    t = await startTestServer({ config: configSchema.parse({ healthCheckInterval: 0.2, gpu: { smi: path.join(dir, 'absent') }, services: [{ name: 'svc', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] }) });
    cleanup.push(() => t.close());
    const body = await (async () => {
      for (;;) {
        const b = (await request(t.server.port, { path: '/api/gpus', headers: t.auth })).json<{ available: boolean; reason: string }>();
        if (b.reason.includes('not found')) return b;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(body).toMatchObject({ available: false, gpus: [] });
    expect((await request(t.server.port, { path: '/metrics', headers: t.auth })).body).not.toMatch(/warden_gpu_memory_used_bytes\{/);
    expect((await request(t.server.port, { path: '/api/status', headers: t.auth })).status).toBe(200);
  });

  it('gpu.enabled false: no nvidia-smi is ever run', async () => {
    const monitor = new GpuMonitor({ config: configSchema.parse({ gpu: { enabled: false, smi: FAKE_SMI } }).gpu, owners: async () => [], logger: silentLogger() });
    monitor.start();
    expect(monitor.latest()).toEqual({ available: false, reason: 'GPU telemetry is off (gpu.enabled: false)', gpus: [] });
    expect(await monitor.computeApps()).toBeNull();
    expect((await monitor.snapshot()).available).toBe(false);
    monitor.stop();
  });
});
