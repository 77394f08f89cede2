import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../src-shared/config-schema.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { ConnectionWatch } from '../../../src-main/core/signals/connection-watch.js';
import { PidWatch, pidAlive } from '../../../src-main/core/signals/pid-watch.js';
import { SignalHub } from '../../../src-main/core/signals/signal-hub.js';
import { killGroup, waitUntil } from '../../helpers/process-tree.js';
import { spawnStandIn, type SpawnedStandIn } from '../../helpers/stand-in.js';

const cleanup: (() => void | Promise<void>)[] = [];
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-signals-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

async function standIn(args: string[] = []): Promise<SpawnedStandIn> {
  const s = await spawnStandIn(args);
  cleanup.push(() => s.kill('SIGKILL'));
  return s;
}

function sleeper(): number {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  child.unref();
  cleanup.push(() => killGroup(child.pid!));
  return child.pid!;
}

describe('ConnectionWatch', () => {
  it('reports the death of a real server at once, and again after it came back', async () => {
    const first = await standIn(['--kind', 'plain']);
    const lost: number[] = [];
    const watch = new ConnectionWatch('127.0.0.1', first.port, () => lost.push(Date.now()));
    cleanup.push(() => watch.stop());
    watch.start();
    await waitUntil(() => watch.open);
    first.kill('SIGKILL');
    await waitUntil(() => lost.length === 1);

    const second = await standIn(['--kind', 'plain', '--port', String(first.port)]);
    await waitUntil(() => watch.open, { timeoutMs: 20_000 });
    second.kill('SIGKILL');
    await waitUntil(() => lost.length === 2);
  });

  it('keeps retrying a refused port without reporting anything', async () => {
    const s = await standIn(['--kind', 'plain']);
    s.kill('SIGKILL');
    await s.exited;
    let lost = 0;
    const watch = new ConnectionWatch('127.0.0.1', s.port, () => lost++);
    watch.start();
    await waitUntil(() => (watch as unknown as { retryMs: number }).retryMs >= 1000, { timeoutMs: 20_000 });
    watch.stop();
    expect(lost).toBe(0);
  });
});

describe('re-arming the watch connection when a service is healthy again', () => {
  it('connects at once on rearm(), not when its retry backoff (grown while the service was down) ends', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const turn = () => new Promise((r) => setImmediate(r));
    // The retry timer never fires on its own here: only rearm() can reconnect.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const watch = new ConnectionWatch('127.0.0.1', port, () => undefined);
    const server = net.createServer((socket) => socket.on('error', () => undefined));
    try {
      watch.start();
      // Refused once: the watch now waits for its (fake, never firing) retry timer.
      for (let i = 0; i < 100_000 && (watch as unknown as { retryMs: number }).retryMs === 250; i++) await turn();
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      const connected = once(server, 'connection');
      watch.rearm();
      await connected;
      for (let i = 0; i < 100_000 && !watch.open; i++) await turn();
      expect(watch.open).toBe(true);
      watch.rearm(); // already open: nothing happens
      expect(watch.open).toBe(true);
    } finally {
      watch.stop();
      vi.useRealTimers();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('the hub re-arms the watch of the named service only', () => {
    const hub = new SignalHub(() => undefined, silentLogger());
    hub.apply(configSchema.parse({ services: [{ name: 'svc', healthUrl: 'docker://svc', restartCmd: null }], serviceManagerType: 'docker' }));
    hub.rearm('svc'); // no watch connection for docker:// health
    hub.rearm('nope');
    expect(hub.watching('svc')).toEqual({ connected: false, pid: null });
    hub.stop();
  });
});

describe('PidWatch', () => {
  it('reports when the pid in the pidfile dies, re-reading the file after a restart', async () => {
    const pidfile = path.join(dir, 'svc.pid');
    const first = sleeper();
    await fs.writeFile(pidfile, `${first}\n`);
    const died: number[] = [];
    const watch = new PidWatch(pidfile, (pid) => died.push(pid), 20);
    cleanup.push(() => watch.stop());
    watch.start();
    await waitUntil(() => watch.watching === first);
    killGroup(first);
    await waitUntil(() => died.length === 1);
    expect(died).toEqual([first]);

    const second = sleeper();
    await fs.writeFile(pidfile, `${second}\n`);
    await waitUntil(() => watch.watching === second);
    // Hand-over: a new pid written while the old one still runs is not a death.
    const third = sleeper();
    await fs.writeFile(pidfile, `${third}\n`);
    await waitUntil(() => watch.watching === third);
    expect(died).toEqual([first]);
    killGroup(third);
    await waitUntil(() => died.length === 2);
    expect(died).toEqual([first, third]);
  });

  it('treats a zombie or a missing process as dead, and the current process as alive', async () => {
    expect(await pidAlive(process.pid)).toBe(true);
    expect(await pidAlive(2 ** 22 + 12345)).toBe(false);
    const zombieStat = path.join(dir, '4242');
    await fs.mkdir(zombieStat);
    await fs.writeFile(path.join(zombieStat, 'stat'), '4242 (sleep) Z 1 4242 4242');
    // Our own pid exists for kill(0); the fake /proc says it is a zombie.
    await fs.rename(zombieStat, path.join(dir, String(process.pid)));
    expect(await pidAlive(process.pid, dir)).toBe(false);
    expect(await pidAlive(process.pid, path.join(dir, 'no-proc'))).toBe(true);
  });
});

describe('SignalHub', () => {
  it('triggers a probe of the right service and follows config changes', async () => {
    const a = await standIn(['--kind', 'plain']);
    const b = await standIn(['--kind', 'plain']);
    const fired: string[] = [];
    const hub = new SignalHub((name, why) => fired.push(`${name}:${why}`), silentLogger(), { pidPollMs: 20 });
    cleanup.push(() => hub.stop());
    const cfg = (services: object[]) => configSchema.parse({ serviceManagerType: 'docker', services });
    hub.apply(cfg([{ name: 'a', healthUrl: a.healthUrl, restartCmd: null }, { name: 'b', healthUrl: 'docker://b', restartCmd: null, pidfile: path.join(dir, 'b.pid') }]));
    await fs.writeFile(path.join(dir, 'b.pid'), `${b.pid}\n`);
    await waitUntil(() => hub.watching('a')?.connected && hub.watching('b')?.pid === b.pid);
    expect(hub.watching('b')?.connected).toBe(false); // docker:// has no address to watch
    b.kill('SIGKILL');
    await waitUntil(() => fired.includes(`b:pid ${b.pid} exited`));
    a.kill('SIGKILL');
    await waitUntil(() => fired.includes('a:watch connection closed'));

    // Removing a service stops its watches; an unchanged one is kept.
    hub.apply(cfg([]));
    expect(hub.watching('a')).toBeUndefined();
    expect(hub.watching('b')).toBeUndefined();
  });
});

describe('ConnectionWatch against a server that hangs up at once', () => {
  it('backs off instead of reconnecting (and probing) in a tight loop', async () => {
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    let lost = 0;
    const watch = new ConnectionWatch('127.0.0.1', (server.address() as { port: number }).port, () => lost++);
    cleanup.push(() => watch.stop());
    watch.start();
    await waitUntil(() => (watch as unknown as { retryMs: number }).retryMs >= 2000, { timeoutMs: 20_000 });
    // 250 + 500 + 1000 ms of backoff so far: a handful of connects, not the hundreds of a tight loop.
    expect(accepted).toBeLessThan(20);
    expect(lost).toBe(accepted);
  });
});
