// The release gate with the docker strategy (CONTRACT §11: stop → gate → start) against a private
// dockerd: the container's real process stands for the GPU process, attributed by its cgroup, and
// the fixture nvidia-smi lists it from a state file the test rewrites (there is no GPU here).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { buildBusyboxImage, createWebContainer, freePort, pollUntil, startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';

const FAKE_SMI = fileURLToPath(new URL('../../fixtures/ai/bin/nvidia-smi', import.meta.url));
const UUID = 'GPU-aaaa-1111';
const gpuLine = (usedMiB: number) => `gpu=0, ${UUID}, NVIDIA GeForce RTX 4090, ${usedMiB}, 24564, 0, 40, 30.00`;

let daemon: PrivateDockerd;
let dir: string;
let state: string;
let warden: Warden | null = null;
beforeAll(async () => {
  daemon = await startDockerd();
  await buildBusyboxImage(daemon.docker);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-dockgate-'));
  state = path.join(dir, 'smi.state');
  process.env.FAKE_SMI_STATE = state;
});
afterAll(async () => {
  await warden?.stop();
  delete process.env.FAKE_SMI_STATE;
  await daemon?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const writeState = async (...lines: string[]) => {
  await fs.writeFile(`${state}.tmp`, `${['mode=ok', ...lines].join('\n')}\n`);
  await fs.rename(`${state}.tmp`, state);
};

describe('docker strategy: the release gate', () => {
  it('a crashed GPU container is started again only once its memory is back; its own stop is never taken for a deliberate one', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'nemotron', port });
    const pid = (await container.inspect()).State.Pid;
    await writeState(gpuLine(20000), `app=${UUID}, ${pid}, 18000`);
    const config = configSchema.parse({
      serviceManagerType: 'docker',
      healthCheckInterval: 3600,
      serviceBackoffBase: 0.1,
      dockerStopTimeout: 1,
      gpu: { smi: FAKE_SMI, pollInterval: 0.2 },
      services: [{ name: 'nemotron', healthUrl: 'docker://nemotron', restartCmd: 'unused by the docker strategy', gpu: { index: 0 } }],
    });
    warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: path.join(dir, 'state'), docker: daemon.docker });
    const events: ServiceStatusEvent[] = [];
    warden.monitor.subscribe((e) => void events.push(e));
    warden.start();
    await pollUntil(async () => (events.some((e) => e.status === 'healthy') ? true : undefined), 'healthy');
    await warden.signals.dockerConnected();
    // Its process, by the container's cgroup, is the service's.
    const snap = await pollUntil(async () => {
      const s = await warden!.gpu.snapshot();
      return s.gpus[0]?.processes[0]?.service === 'nemotron' ? s : undefined;
    }, 'attributed');
    expect(snap.gpus[0]?.processes).toEqual([{ pid, usedMiB: 18000, service: 'nemotron' }]);

    process.kill(pid, 'SIGKILL'); // a crash; nvidia-smi still lists the dead pid
    const waiting = await pollUntil(async () => events.find((e) => e.message.startsWith('Waiting for GPU memory')), 'waiting at the gate');
    expect(waiting).toMatchObject({ status: 'restarting', message: 'Waiting for GPU memory to be released (4564 of 13500 MiB free)' });
    expect((await container.inspect()).State.Running).toBe(false); // not started into the old memory

    await writeState(gpuLine(1000));
    await pollUntil(async () => (events.at(-1)?.status === 'healthy' && events.length > 2 ? true : undefined), 'recovered');
    expect(events.map((e) => e.status)).toEqual(['healthy', 'unhealthy', 'restarting', 'restarting', 'restarting', 'healthy']);
    expect(events[4]?.message).toMatch(/^GPU memory released after \d+\.\d s: starting nemotron$/);
    const after = (await container.inspect()).State;
    expect(after.Running).toBe(true);
    expect(after.Pid).not.toBe(pid);
  });
});
