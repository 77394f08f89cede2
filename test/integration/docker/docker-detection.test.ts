import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { buildBusyboxImage, createWebContainer, execIn, freePort, pollUntil, startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';
import { UnixSocketProxy } from '../../helpers/unix-socket-proxy.js';

// The monitor, the docker strategy and the event stream together, against a private dockerd.
// healthCheckInterval is an hour: anything seen within a test came from an event, not a poll.
let daemon: PrivateDockerd;
let dir: string;
const running: Warden[] = [];

beforeAll(async () => {
  daemon = await startDockerd();
  await buildBusyboxImage(daemon.docker);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-dockdet-'));
});
afterEach(async () => {
  for (const w of running.splice(0)) await w.stop();
});
afterAll(async () => {
  await daemon?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function watch(name: string, over: Record<string, unknown> = {}, docker: Dockerode = daemon.docker) {
  const config = configSchema.parse({
    serviceManagerType: 'docker',
    healthCheckInterval: 3600,
    serviceBackoffBase: 0.1,
    dockerStopTimeout: 1,
    services: [{ name, healthUrl: `docker://${name}`, restartCmd: 'docker restart (unused by the docker strategy)', ...over }],
  });
  const warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: path.join(dir, name), docker });
  running.push(warden);
  const events: ServiceStatusEvent[] = [];
  warden.monitor.subscribe((e) => void events.push(e));
  warden.start();
  await pollUntil(async () => (events.some((e) => e.status === 'healthy') ? true : undefined), `${name} healthy`);
  // What follows must be seen through the event stream.
  await warden.signals.dockerConnected();
  return { warden, events, statuses: () => events.map((e) => e.status) };
}

const pid1 = async (c: Dockerode.Container) => (await c.inspect()).State.Pid;

describe('docker strategy with event-driven detection', () => {
  it('sees a SIGKILLed container through the die event, restarts it through the API, and reports healthy', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-kill', port });
    const w = await watch('det-kill');
    const before = await pid1(container);
    process.kill(before, 'SIGKILL'); // a crash: the process dies without Docker being asked
    await pollUntil(async () => (w.statuses().at(-1) === 'healthy' && w.statuses().length >= 4 ? true : undefined), 'recovered');
    expect(w.statuses()).toEqual(['healthy', 'unhealthy', 'restarting', 'healthy']);
    expect(w.events[1]?.message).toContain('container exited (code 137)');
    const after = (await container.inspect()).State;
    expect(after.Running).toBe(true);
    expect(after.Pid).not.toBe(before);
  });

  it("Warden's own restart of a running container is never taken for a deliberate stop, also while the new one does not answer yet", async () => {
    const port = await freePort();
    // Each start serves /health only after 0.8 s: the first looks after a restart are refused, and
    // each reads the daemon's recent events — the restart's own kill, die, stop, start, restart.
    const cmd = ['/bin/sh', '-c', 'sleep 0.8; echo ok > /www/health; exec /start.sh'];
    const container = await createWebContainer(daemon.docker, { name: 'det-own', port, cmd });
    await pollUntil(async () => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok ? true : undefined), 'container up');
    const w = await watch('det-own', { healthUrl: `http://127.0.0.1:${port}/health` });
    for (let round = 1; round <= 2; round++) {
      const from = w.events.length;
      await execIn(container, ['rm', '/www/health']); // 404 while the process runs: Warden restarts it
      w.warden.monitor.trigger('det-own');
      await pollUntil(async () => (w.statuses().slice(from).includes('healthy') ? true : undefined), `recovered (round ${round}: ${w.statuses().slice(from).join(', ')})`);
      expect(w.statuses().slice(from)).toEqual(['unhealthy', 'restarting', 'healthy']);
    }
  });

  it('restarts a container whose HEALTHCHECK turns unhealthy', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-health', port, healthcheck: true });
    await pollUntil(async () => ((await container.inspect()).State.Health?.Status === 'healthy' ? true : undefined), 'container healthy');
    const w = await watch('det-health');
    await execIn(container, ['rm', '/www/health']);
    await pollUntil(async () => (w.statuses().includes('restarting') ? true : undefined), 'restart after unhealthy');
    expect(w.events.find((e) => e.status === 'unhealthy')?.message).toMatch(/unhealthy/);
  });

  it('treats docker kill as deliberate too', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-dkill', port });
    const w = await watch('det-dkill');
    await container.kill({ signal: 'SIGKILL' });
    await pollUntil(async () => (w.statuses().at(-1) === 'paused' ? true : undefined), 'paused');
    expect(w.statuses()).not.toContain('restarting');
  });

  it('respects a deliberate docker stop: reported as paused, never restarted, and healthy again on start', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-stop', port });
    const w = await watch('det-stop');
    await container.stop({ t: 1 });
    await pollUntil(async () => (w.statuses().at(-1) === 'paused' ? true : undefined), 'paused');
    expect(w.events.at(-1)?.message).toContain('stopped on purpose');
    expect((await container.inspect()).State.Running).toBe(false);
    expect(w.statuses()).not.toContain('restarting');
    await container.start();
    await pollUntil(async () => (w.statuses().at(-1) === 'healthy' ? true : undefined), 'healthy after start');
  });

  it('a deliberate docker stop goes to paused directly, with no unhealthy before it (§9.6)', async () => {
    for (let round = 0; round < 6; round++) {
      const port = await freePort();
      const name = `det-stop-direct${round}`;
      const container = await createWebContainer(daemon.docker, { name, port });
      // docker:// health races the stream's kill/die/stop; http health also the watch connection.
      const w = await watch(name, round % 2 ? { healthUrl: `http://127.0.0.1:${port}/health` } : {});
      const from = w.events.length;
      await container.stop({ t: 1 });
      await pollUntil(async () => (w.statuses().at(-1) === 'paused' ? true : undefined), `paused (round ${round}: ${w.events.map((e) => `${e.status} ${e.message}`).join('; ')})`);
      expect(w.statuses().slice(from)).toEqual(['paused']);
    }
  });

  it('restarts a stopped container when the service says restartWhenStopped', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-stop2', port });
    const w = await watch('det-stop2', { restartWhenStopped: true });
    await container.stop({ t: 1 });
    await pollUntil(async () => (w.statuses().at(-1) === 'healthy' && w.statuses().includes('restarting') ? true : undefined), 'restarted');
    expect((await container.inspect()).State.Running).toBe(true);
  });

  it('reports restart_failed with the reason while the daemon is unreachable, and recovers once it is back', async () => {
    const port = await freePort();
    const container = await createWebContainer(daemon.docker, { name: 'det-daemon', port });
    const proxy = new UnixSocketProxy(path.join(dir, 'proxy.sock'), daemon.socketPath);
    await proxy.up();
    try {
      const viaProxy = new Dockerode({ socketPath: proxy.path });
      const w = await watch('det-daemon', { serviceMaxRetries: 5, serviceBackoffBase: 0.5 }, viaProxy);
      await proxy.down();
      process.kill(await pid1(container), 'SIGKILL'); // a crash Warden cannot see: its daemon link is down
      // Its event stream is cut too, so stand in for the next poll.
      w.warden.monitor.trigger('det-daemon');
      await pollUntil(async () => (w.events.some((e) => e.status === 'restart_failed') ? true : undefined), 'restart_failed');
      expect(w.events.find((e) => e.status === 'restart_failed')?.reason).toMatch(/Docker daemon not reachable/);
      await proxy.up();
      await pollUntil(async () => (w.statuses().at(-1) === 'healthy' ? true : undefined), 'recovered after the daemon came back', 30_000);
      expect((await container.inspect()).State.Running).toBe(true);
    } finally {
      await proxy.down();
    }
  });
});
