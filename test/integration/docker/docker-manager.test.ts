import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import Dockerode from 'dockerode';
import { pino } from 'pino';
import { DockerServiceManager } from '../../../src-main/core/managers/docker-service-manager.js';
import { ProbeRegistry } from '../../../src-main/core/probes/probe-registry.js';
import { defaultConfig, resolveService, type ResolvedService } from '../../../src-shared/config-schema.js';
import { buildBusyboxImage, createWebContainer, execIn, freePort, pollUntil, startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';

// One private dockerd for this file (notes/test-infrastructure.md): no bridge, host-network containers on 127.0.0.1.
let daemon: PrivateDockerd;
let docker: Dockerode;
let manager: DockerServiceManager;
const probes = new ProbeRegistry();

beforeAll(async () => {
  daemon = await startDockerd();
  docker = daemon.docker;
  await buildBusyboxImage(docker);
  manager = new DockerServiceManager({ probes, docker });
});

afterAll(async () => {
  await manager?.close();
  await probes.close();
  await daemon?.stop();
});

/** A resolved service as the monitor would pass it (defaults folded in), for container `name`. */
function service(name: string, over: Partial<ResolvedService> = {}): ResolvedService {
  return { ...resolveService(defaultConfig(), { name, healthUrl: `docker://${name}`, restartCmd: null }), dockerStopTimeout: 2, ...over };
}

async function healthBody(port: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return res.ok ? await res.text() : undefined;
}

describe('DockerServiceManager.restart', () => {
  it('restarts a running container, which then runs again and answers /health', async () => {
    const port = await freePort();
    const container = await createWebContainer(docker, { name: 'web-restart', port });
    await pollUntil(() => healthBody(port), '/health before restart');
    const before = (await container.inspect()).State.StartedAt;

    const result = await manager.restart(service('web-restart'));

    expect(result).toEqual({ ok: true, output: '' });
    const after = (await container.inspect()).State;
    expect(after.Running).toBe(true);
    expect(after.StartedAt).not.toBe(before);
    expect(await pollUntil(() => healthBody(port), '/health after restart')).toBe('{"status":"ok"}');
  });

  it('fails with "no such container" for a container that does not exist, and logs a warning', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const logged = new DockerServiceManager({ probes, docker, logger: pino({ level: 'warn' }, sink) });

    const result = await logged.restart(service('ghost'));

    expect(result).toMatchObject({ ok: false, reason: 'no such container: ghost', exitCode: null, signal: null, timedOut: false });
    if (!result.ok) expect(result.output).toMatch(/No such container: ghost/);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 40, msg: 'docker restart failed', service: 'ghost', container: 'ghost' }),
    ]);
  });

  it('reports the daemon\'s own message when the API refuses (a command that cannot start)', async () => {
    await createWebContainer(docker, { name: 'web-badcmd', port: await freePort(), cmd: ['/nonexistent'], start: false });
    const result = await manager.restart(service('web-badcmd'));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(/^Cannot restart container/);
      expect(result.reason.length).toBeLessThanOrEqual(200);
      expect(result.output).toMatch(/no such file or directory/);
      expect(result.timedOut).toBe(false);
    }
  });

  it('gives up after restartTimeout when the container will not stop, without waiting for Docker', async () => {
    // PID 1 ignores SIGTERM, so Docker waits the whole dockerStopTimeout (30 s) before SIGKILL.
    await createWebContainer(docker, { name: 'web-stubborn', port: await freePort(), cmd: ['/bin/sh', '-c', 'trap "" TERM; while true; do sleep 1; done'] });
    const result = await manager.restart(service('web-stubborn', { restartTimeout: 0.5, dockerStopTimeout: 30 }));
    expect(result).toEqual({ ok: false, reason: 'restart timed out after 0.5 s', output: '', exitCode: null, signal: null, timedOut: true });
  });

  it('stops at once when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await manager.restart(service('web-restart'), controller.signal);
    expect(result).toMatchObject({ ok: false, reason: 'restart aborted', output: '', timedOut: false });
  });
});

describe('DockerServiceManager without a docker client given', () => {
  it('talks to the daemon named by DOCKER_HOST, as the docker CLI does', async () => {
    await createWebContainer(docker, { name: 'web-env', port: await freePort() });
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${daemon.socketPath}`;
    try {
      const fromEnv = new DockerServiceManager({ probes });
      expect(fromEnv.type).toBe('docker');
      expect(await fromEnv.checkHealth(service('web-env'))).toMatchObject({ state: 'up', reason: 'container running' });
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});

describe('DockerServiceManager with the daemon unreachable', () => {
  const socketPath = '/tmp/warden-no-such-dir/docker.sock';
  const offline = new DockerServiceManager({ probes, docker: new Dockerode({ socketPath }) });

  it('restart resolves ok:false "Docker daemon not reachable" instead of throwing', async () => {
    const result = await offline.restart(service('web'));
    expect(result).toMatchObject({ ok: false, reason: `Docker daemon not reachable: connect ENOENT ${socketPath}`, timedOut: false });
  });

  it('checkHealth of docker:// is down "not reachable"', async () => {
    const result = await offline.checkHealth(service('web'));
    expect(result.state).toBe('down');
    expect(result.reason).toMatch(/^Docker daemon not reachable/);
  });

  it('inspectState rejects, since a stop cannot be told from a crash', async () => {
    await expect(offline.inspectState('web')).rejects.toThrow(/not reachable/);
  });
});

describe('DockerServiceManager.checkHealth', () => {
  it('a running container without a HEALTHCHECK is up', async () => {
    await createWebContainer(docker, { name: 'web-plain', port: await freePort() });
    expect(await manager.checkHealth(service('web-plain'))).toMatchObject({ state: 'up', reason: 'container running' });
  });

  it('a HEALTHCHECK still starting is loading, then up once it passes', async () => {
    // Without /www/health the check fails, but within the start period Docker keeps it "starting".
    const container = await createWebContainer(docker, { name: 'web-warmup', port: await freePort(), healthcheck: true, startPeriodSeconds: 60, ready: false });
    expect(await manager.checkHealth(service('web-warmup'))).toMatchObject({ state: 'loading', reason: 'container health starting' });

    expect(await execIn(container, ['sh', '-c', 'echo \'{"status":"ok"}\' > /www/health'])).toBe(0);
    const up = await pollUntil(async () => {
      const r = await manager.checkHealth(service('web-warmup'));
      return r.state === 'up' ? r : undefined;
    }, 'healthy');
    expect(up.reason).toBe('container running (healthy)');
  });

  it('turns down "container health unhealthy" when /health starts failing inside the container', async () => {
    const container = await createWebContainer(docker, { name: 'web-sick', port: await freePort(), healthcheck: true });
    await pollUntil(async () => ((await manager.checkHealth(service('web-sick'))).state === 'up' ? true : undefined), 'healthy first');

    expect(await execIn(container, ['rm', '/www/health'])).toBe(0);
    const down = await pollUntil(async () => {
      const r = await manager.checkHealth(service('web-sick'));
      return r.state === 'down' ? r : undefined;
    }, 'unhealthy');
    expect(down.reason).toMatch(/^container health unhealthy: wget: server returned error: HTTP\/1.1 404/);
  });

  it('a stopped container is down with its exit code', async () => {
    const container = await createWebContainer(docker, { name: 'web-stopped', port: await freePort() });
    await container.stop({ t: 5 });
    expect(await manager.checkHealth(service('web-stopped'))).toMatchObject({ state: 'down', reason: 'container exited (code 0)' });
  });

  it('a paused container is down', async () => {
    const container = await createWebContainer(docker, { name: 'web-paused', port: await freePort() });
    await container.pause();
    expect(await manager.checkHealth(service('web-paused'))).toMatchObject({ state: 'down', reason: 'container paused' });
    await container.unpause();
  });

  it('a container that could not start is down with Docker\'s error', async () => {
    await createWebContainer(docker, { name: 'web-nostart', port: await freePort(), cmd: ['/nonexistent'], start: false });
    await manager.restart(service('web-nostart'));
    const result = await manager.checkHealth(service('web-nostart'));
    expect(result.state).toBe('down');
    expect(result.reason).toMatch(/^container created: failed to create shim task/);
  });

  it('a missing container is down "no such container"', async () => {
    expect(await manager.checkHealth(service('nobody'))).toMatchObject({ state: 'down', reason: 'no such container: nobody' });
  });

  it('an aborted check is down "aborted"', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await manager.checkHealth(service('web-plain'), controller.signal)).toMatchObject({ state: 'down', reason: 'aborted' });
  });

  it('any other URL goes to the service\'s own probe', async () => {
    const port = await freePort();
    await createWebContainer(docker, { name: 'web-http', port });
    await pollUntil(() => healthBody(port), '/health');
    const result = await manager.checkHealth(service('web-http', { healthUrl: `http://127.0.0.1:${port}/health` }));
    expect(result.state).toBe('up');
  });
});

describe('DockerServiceManager.inspectState', () => {
  it('tells a deliberate docker stop (exit 0, the start script traps TERM) from a SIGKILL (exit 137)', async () => {
    const container = await createWebContainer(docker, { name: 'web-states', port: await freePort(), healthcheck: true });
    const running = await manager.inspectState('web-states');
    expect(running).toMatchObject({ running: true, status: 'running', exitCode: null, finishedAt: null, oomKilled: false });
    expect(['starting', 'healthy']).toContain(running?.health);

    await container.stop({ t: 5 });
    const stopped = await manager.inspectState('web-states');
    expect(stopped).toMatchObject({ running: false, status: 'exited', exitCode: 0, oomKilled: false });
    expect(Date.parse(stopped?.finishedAt ?? '')).not.toBeNaN();

    await container.start();
    await container.kill({ signal: 'SIGKILL' });
    const killed = await pollUntil(async () => {
      const s = await manager.inspectState('web-states');
      return s && !s.running ? s : undefined;
    }, 'killed');
    expect(killed).toMatchObject({ running: false, status: 'exited', exitCode: 137 });
    expect(Date.parse(killed.finishedAt ?? '') > Date.parse(stopped?.finishedAt ?? '')).toBe(true);
  });

  it('a created but never started container has no exit code yet', async () => {
    await createWebContainer(docker, { name: 'web-created', port: await freePort(), start: false });
    expect(await manager.inspectState('web-created')).toEqual({ running: false, status: 'created', exitCode: null, health: null, finishedAt: null, oomKilled: false });
  });

  it('is null for a container that does not exist', async () => {
    expect(await manager.inspectState('nobody')).toBeNull();
  });
});
