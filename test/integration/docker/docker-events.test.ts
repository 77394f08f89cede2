import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Dockerode from 'dockerode';
import { DockerEventWatcher, type ContainerEvent } from '../../../src-main/core/managers/docker-events.js';
import { buildBusyboxImage, createWebContainer, execIn, freePort, pollUntil, startDockerd, type PrivateDockerd } from '../../helpers/dockerd.js';
import { UnixSocketProxy } from '../../helpers/unix-socket-proxy.js';

// One private dockerd for this file (notes/test-infrastructure.md): no bridge, host-network containers on 127.0.0.1.
let daemon: PrivateDockerd;
let docker: Dockerode;
const watchers: DockerEventWatcher[] = [];
const proxies: UnixSocketProxy[] = [];

beforeAll(async () => {
  daemon = await startDockerd();
  docker = daemon.docker;
  await buildBusyboxImage(docker);
});

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.stop()));
  await Promise.all(proxies.splice(0).map((p) => p.down()));
});

afterAll(async () => {
  await daemon?.stop();
});

interface Watched {
  watcher: DockerEventWatcher;
  events: ContainerEvent[];
  connects: number;
  disconnects: Array<Error | undefined>;
}

/** A started watcher recording everything it emits. */
function watch(client: Dockerode): Watched {
  const watcher = new DockerEventWatcher({ docker: client, minBackoffMs: 50, maxBackoffMs: 400 });
  watchers.push(watcher);
  const watched: Watched = { watcher, events: [], connects: 0, disconnects: [] };
  watcher.on('event', (e) => watched.events.push(e));
  watcher.on('connected', () => watched.connects++);
  watcher.on('disconnected', (err) => watched.disconnects.push(err));
  watcher.start();
  return watched;
}

function connected(w: Watched, count = 1): Promise<true> {
  return pollUntil(async () => (w.connects >= count && w.watcher.connected ? true : undefined), `connection #${count}`);
}

function eventFor(w: Watched, container: string, match: (e: ContainerEvent) => boolean, what: string): Promise<ContainerEvent> {
  return pollUntil(async () => w.events.find((e) => e.container === container && match(e)), `${what} of ${container}`, 20_000, 10);
}

/** A proxy in front of the daemon socket, so the daemon can "go away" while it keeps running. */
async function proxy(): Promise<UnixSocketProxy> {
  const p = new UnixSocketProxy(join(daemon.socketPath, '..', `proxy-${proxies.length}.sock`), daemon.socketPath);
  proxies.push(p);
  return p;
}

describe('DockerEventWatcher', () => {
  it('reports a SIGKILLed container as kill (signal 9) then die with exit code 137', async () => {
    const w = watch(docker);
    await connected(w);
    const container = await createWebContainer(docker, { name: 'ev-kill', port: await freePort() });
    await eventFor(w, 'ev-kill', (e) => e.kind === 'start', 'start');

    await container.kill({ signal: 'SIGKILL' });

    const die = await eventFor(w, 'ev-kill', (e) => e.kind === 'die', 'die');
    expect(die).toMatchObject({ kind: 'die', container: 'ev-kill', exitCode: 137, id: container.id });
    expect(die.time).toBeGreaterThan(Date.now() - 60_000);
    const kinds = w.events.filter((e) => e.container === 'ev-kill').map((e) => e.kind);
    expect(kinds).toEqual(['start', 'kill', 'die']);
    expect(w.events.find((e) => e.kind === 'kill')?.signal).toBe('9');
  });

  it('reports docker stop as kill (signal 15), die with exit code 0, stop', async () => {
    const w = watch(docker);
    await connected(w);
    const container = await createWebContainer(docker, { name: 'ev-stop', port: await freePort() });
    await container.stop({ t: 5 });
    await eventFor(w, 'ev-stop', (e) => e.kind === 'stop', 'stop');
    const mine = w.events.filter((e) => e.container === 'ev-stop');
    expect(mine.map((e) => [e.kind, e.signal ?? e.exitCode ?? null])).toEqual([
      ['start', null],
      ['kill', '15'],
      ['die', 0],
      ['stop', null],
    ]);
  });

  it('reports health_status healthy, then unhealthy when /health starts failing', async () => {
    const w = watch(docker);
    await connected(w);
    const container = await createWebContainer(docker, { name: 'ev-health', port: await freePort(), healthcheck: true });
    await eventFor(w, 'ev-health', (e) => e.health === 'healthy', 'healthy');

    expect(await execIn(container, ['rm', '/www/health'])).toBe(0);

    const sick = await eventFor(w, 'ev-health', (e) => e.health === 'unhealthy', 'unhealthy');
    expect(sick.kind).toBe('health_status');
  });

  it('keeps retrying while the daemon is unreachable and connects once it answers', async () => {
    const p = await proxy();
    const w = watch(new Dockerode({ socketPath: p.path }));
    await pollUntil(async () => (w.disconnects.length >= 2 ? true : undefined), 'two failed attempts');
    expect(w.disconnects[0]?.message).toMatch(/ENOENT/);
    expect(w.connects).toBe(0);

    await p.up();
    await connected(w);
    await createWebContainer(docker, { name: 'ev-late', port: await freePort() });
    await eventFor(w, 'ev-late', (e) => e.kind === 'start', 'start');
  });

  it('reconnects after the stream drops and replays what happened in the gap exactly once', async () => {
    const p = await proxy();
    await p.up();
    const w = watch(new Dockerode({ socketPath: p.path }));
    await connected(w);
    const container = await createWebContainer(docker, { name: 'ev-gap', port: await freePort() });
    const first = await eventFor(w, 'ev-gap', (e) => e.kind === 'start', 'first start');

    await p.down(); // the stream ends as if the daemon went away
    await pollUntil(async () => (w.disconnects.length >= 1 && !w.watcher.connected ? true : undefined), 'disconnect');
    await container.kill({ signal: 'SIGKILL' }); // happens while nobody is listening
    await pollUntil(async () => ((await container.inspect()).State.Running ? undefined : true), 'container dead');

    await p.up();
    await connected(w, 2);
    await container.start(); // a later, live event: once it is here, the replay has been delivered
    await eventFor(w, 'ev-gap', (e) => e.kind === 'start' && e.time > first.time, 'second start');

    const kinds = w.events.filter((e) => e.container === 'ev-gap').map((e) => e.kind);
    // The replay (since = the first start) repeats that start: it must not be emitted again.
    expect(kinds).toEqual(['start', 'kill', 'die', 'start']);
    expect(w.events.find((e) => e.kind === 'die')?.exitCode).toBe(137);
  });

  it('after stop() it closes the stream, emits nothing more and never reconnects', async () => {
    const p = await proxy();
    await p.up();
    const stopped = watch(new Dockerode({ socketPath: p.path }));
    stopped.watcher.start(); // a second start() is a no-op
    const observer = watch(docker);
    await Promise.all([connected(stopped), connected(observer)]);
    expect(p.connections).toBe(1);

    await stopped.watcher.stop();
    expect(stopped.watcher.connected).toBe(false);
    await createWebContainer(docker, { name: 'ev-after', port: await freePort() });
    await eventFor(observer, 'ev-after', (e) => e.kind === 'start', 'start seen by another watcher');
    // Absence cannot be awaited: give a reconnect several backoff periods to (not) happen.
    await delay(1_000);

    expect(stopped.events.some((e) => e.container === 'ev-after')).toBe(false);
    expect(stopped.connects).toBe(1);
    expect(stopped.disconnects).toEqual([]);
    expect(p.connections).toBe(1);
  });

  it('without a docker client given, follows the daemon named by DOCKER_HOST', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${daemon.socketPath}`;
    let watcher: DockerEventWatcher;
    try {
      watcher = new DockerEventWatcher();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
    watchers.push(watcher);
    const seen: ContainerEvent[] = [];
    watcher.on('event', (e) => seen.push(e));
    const isConnected = new Promise<void>((resolve) => watcher.once('connected', resolve));
    watcher.start();
    await isConnected;
    await createWebContainer(docker, { name: 'ev-env', port: await freePort() });
    await pollUntil(async () => seen.find((e) => e.container === 'ev-env' && e.kind === 'start'), 'start via DOCKER_HOST');
  });

  it('stop() while waiting to retry cancels the retry', async () => {
    const p = await proxy();
    const w = watch(new Dockerode({ socketPath: p.path }));
    await pollUntil(async () => (w.disconnects.length >= 1 ? true : undefined), 'a failed attempt');
    await w.watcher.stop();
    await p.up();
    await delay(1_000); // see above: waiting for something that must not happen
    expect(p.connections).toBe(0);
    expect(w.connects).toBe(0);
  });
});
