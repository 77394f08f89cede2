import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisProbe } from '../../../src-main/core/probes/redis-probe.js';
import { parseHealthUrl, type RedisTarget } from '../../../src-shared/health-url.js';
import type { Probe, ProbeResult } from '../../../src-main/core/probes/probe.js';
import { pollUntil, redisCli, redisCommands, startRedis, type RedisServer } from '../../helpers/redis-server.js';

const redises: RedisServer[] = [];
const servers: Server[] = [];
const probes: Probe[] = [];

afterEach(async () => {
  await Promise.all(probes.splice(0).map((p) => p.close()));
  await Promise.all(redises.splice(0).map((r) => r.stop()));
  for (const s of servers.splice(0)) s.close();
});

/** A probe of this URL, closed after the test. */
function probeFor(url: string, timeoutMs = 2000): RedisProbe {
  const probe = new RedisProbe(parseHealthUrl(url) as RedisTarget, timeoutMs);
  probes.push(probe);
  return probe;
}

async function redis(options?: Parameters<typeof startRedis>[0]): Promise<RedisServer> {
  const server = await startRedis(options);
  redises.push(server);
  return server;
}

/**
 * A scripted stand-in speaking raw TCP on loopback, for the cases a real Redis cannot be made to
 * produce on demand. `onConnection` scripts each accepted connection (numbered from 0).
 */
async function respServer(
  onConnection: (socket: Socket, index: number) => void,
): Promise<{ port: number; connections: () => number; closed: (index: number) => boolean }> {
  let count = 0;
  const closed = new Set<number>();
  const server = createServer((socket) => {
    const index = count++;
    socket.on('error', () => {});
    socket.on('close', () => closed.add(index));
    onConnection(socket, index);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, connections: () => count, closed: (index) => closed.has(index) };
}

/** Calls `fn` whenever the client has sent a PING (commands may arrive in one or several chunks). */
function onPing(socket: Socket, fn: () => void): void {
  let seen = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    seen += chunk;
    let at: number;
    while ((at = seen.indexOf('PING\r\n')) !== -1) {
      seen = seen.slice(at + 6);
      fn();
    }
  });
}

describe('RedisProbe against a real redis-server', () => {
  it('is up when PING answers PONG, and reuses its one connection', async () => {
    const r = await redis();
    const probe = probeFor(r.url);
    for (let i = 0; i < 3; i++) expect(await probe.check()).toMatchObject({ state: 'up', reason: 'PONG' });
    // redis-cli asking is one client; the probe's kept connection is the other.
    expect(await redisCli(r.port, 'INFO', 'clients')).toMatch(/connected_clients:2\r?\n/);
  });

  it('authenticates with the password from the URL', async () => {
    const r = await redis({ password: 's3cret pass' });
    expect(await probeFor(r.url).check()).toMatchObject({ state: 'up', reason: 'PONG' });
  });

  it('is down NOAUTH without the password and WRONGPASS with a wrong one', async () => {
    const r = await redis({ password: 's3cret' });
    const noAuth = await probeFor(`redis://127.0.0.1:${r.port}`).check();
    expect(noAuth.state).toBe('down');
    expect(noAuth.reason).toMatch(/^NOAUTH/);
    const wrong = await probeFor(`redis://:nope@127.0.0.1:${r.port}/0`).check();
    expect(wrong.state).toBe('down');
    expect(wrong.reason).toMatch(/^WRONGPASS/);
  });

  it('authenticates as an ACL user with redis://user:password@', async () => {
    const r = await redis({ extraArgs: ['--user', 'warden', 'on', '>pw', '~*', '&*', '+@all'] });
    expect(await probeFor(`redis://warden:pw@127.0.0.1:${r.port}`).check()).toMatchObject({ state: 'up' });
    expect((await probeFor(`redis://warden:bad@127.0.0.1:${r.port}`).check()).reason).toMatch(/^WRONGPASS/);
  });

  it('is down "connection refused" once killed, and up again on the same probe when it is back', async () => {
    const r = await redis();
    const probe = probeFor(r.url);
    expect((await probe.check()).state).toBe('up');
    await r.stop({ keepDir: true });
    redises.splice(redises.indexOf(r), 1);
    // The probe may first see its pooled connection close or reset while the kernel tears the
    // process down, then refused: every answer is down, and it settles on "connection refused".
    const seen = new Set<string>();
    await pollUntil(async () => {
      const r = await probe.check();
      seen.add(r.state);
      return r.reason === 'connection refused' ? true : undefined;
    }, 'connection refused');
    expect([...seen]).toEqual(['down']);
    await redis({ port: r.port, dir: r.dir });
    expect(await probe.check()).toMatchObject({ state: 'up', reason: 'PONG' });
  });

  it('is loading while Redis loads its dataset (-LOADING), then up on the same probe', async () => {
    const first = await redis({ extraArgs: ['--enable-debug-command', 'local'] });
    expect(await redisCommands(first.port, [['DEBUG', 'POPULATE', '20000'], ['SAVE']])).toEqual(['+OK', '+OK']);
    await first.stop({ keepDir: true });
    redises.splice(redises.indexOf(first), 1);
    // Slowed-down loading (200 µs a key, events every KiB): -LOADING stays observable for seconds.
    const loading = await redis({
      port: first.port,
      dir: first.dir,
      waitFor: 'listening',
      extraArgs: ['--key-load-delay', '200', '--loading-process-events-interval-bytes', '1024'],
    });
    const probe = probeFor(loading.url);
    const seen = await pollUntil(async () => {
      const result = await probe.check();
      return result.state === 'loading' ? result : undefined;
    }, 'a loading answer');
    expect(seen.reason).toMatch(/^LOADING/);
    await pollUntil(async () => ((await probe.check()).state === 'up' ? true : undefined), 'up after loading', 60_000);
  });
});

describe('RedisProbe against scripted stand-ins', () => {
  it('is down on timeout when the server never answers, and the next check is not fooled by a late reply', async () => {
    const firstSockets: Socket[] = [];
    const server = await respServer((socket, index) => {
      if (index === 0) {
        firstSockets.push(socket); // swallow the PING; answer too late, below
        return;
      }
      onPing(socket, () => {
        firstSockets[0]?.write('-ERR late reply to the first PING\r\n');
        socket.write('+PONG\r\n');
      });
    });
    const probe = probeFor(`redis://127.0.0.1:${server.port}`, 1000);
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'timeout after 1000 ms' });
    expect(await probe.check()).toMatchObject({ state: 'up', reason: 'PONG' });
    expect(server.connections()).toBe(2);
  });

  it('reads a reply split across TCP chunks', async () => {
    const server = await respServer((socket) =>
      onPing(socket, () => {
        socket.write('+PO');
        setImmediate(() => socket.write('NG\r\n'));
      }),
    );
    expect(await probeFor(`redis://127.0.0.1:${server.port}`).check()).toMatchObject({ state: 'up', reason: 'PONG' });
  });

  it('reads AUTH and PING replies arriving in one chunk or byte by byte', async () => {
    const server = await respServer((socket, index) =>
      onPing(socket, () => {
        const reply = '+OK\r\n+PONG\r\n';
        if (index === 0) socket.write(reply);
        else for (const ch of reply) socket.write(ch);
      }),
    );
    expect((await probeFor(`redis://:pw@127.0.0.1:${server.port}`).check()).state).toBe('up');
    expect((await probeFor(`redis://:pw@127.0.0.1:${server.port}`).check()).state).toBe('up');
  });

  it('queues concurrent checks: one connection, one PING at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await respServer((socket) =>
      onPing(socket, () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          socket.write('+PONG\r\n');
        }, 20);
      }),
    );
    const probe = probeFor(`redis://127.0.0.1:${server.port}`);
    const results = await Promise.all([probe.check(), probe.check(), probe.check()]);
    expect(results.map((r: ProbeResult) => r.state)).toEqual(['up', 'up', 'up']);
    expect(maxInFlight).toBe(1);
    expect(server.connections()).toBe(1);
  });

  it('is down on an unexpected reply, e.g. when pointed at an HTTP port', async () => {
    const server = await respServer((socket) => onPing(socket, () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const result = await probeFor(`redis://127.0.0.1:${server.port}`).check();
    expect(result.state).toBe('down');
    expect(result.reason).toMatch(/^unexpected reply "HTTP\/1.1 400/);
  });

  it('is down when the server streams junk without line ends', async () => {
    const server = await respServer((socket) => onPing(socket, () => socket.write('x'.repeat(10_000))));
    expect(await probeFor(`redis://127.0.0.1:${server.port}`).check()).toMatchObject({ state: 'down', reason: 'unexpected reply (not Redis?)' });
  });

  it('drops a connection that sends unasked data and reconnects for the next check', async () => {
    const server = await respServer((socket, index) =>
      onPing(socket, () => {
        socket.write('+PONG\r\n');
        if (index === 0) setTimeout(() => socket.write('+UNASKED\r\n'), 10);
      }),
    );
    const probe = probeFor(`redis://127.0.0.1:${server.port}`);
    expect((await probe.check()).state).toBe('up');
    await pollUntil(async () => (server.connections() === 1 ? true : undefined), 'first connection');
    // Wait until the unasked line has arrived and the probe dropped the socket, seen from the server side.
    await pollUntil(async () => (server.closed(0) ? true : undefined), 'the probe to drop the first connection');
    expect((await probe.check()).state).toBe('up');
    expect(server.connections()).toBe(2);
  });

  it('is down "connection closed" when the server hangs up mid-check, and reconnects after an idle hang-up', async () => {
    const server = await respServer((socket, index) =>
      onPing(socket, () => {
        if (index === 0) socket.end();
        else if (index === 1) {
          socket.write('+PONG\r\n');
          setImmediate(() => socket.end());
        } else socket.write('+PONG\r\n');
      }),
    );
    const probe = probeFor(`redis://127.0.0.1:${server.port}`);
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'connection closed' });
    expect((await probe.check()).state).toBe('up');
    await pollUntil(async () => (server.closed(1) ? true : undefined), 'the idle hang-up');
    expect((await probe.check()).state).toBe('up');
    expect(server.connections()).toBe(3);
  });

  it('is down "aborted" when the caller aborts, before or during a check', async () => {
    const server = await respServer(() => {});
    const probe = probeFor(`redis://127.0.0.1:${server.port}`, 5000);
    expect(await probe.check(AbortSignal.abort())).toMatchObject({ state: 'down', reason: 'aborted' });
    const controller = new AbortController();
    const pending = probe.check(controller.signal);
    await pollUntil(async () => (server.connections() > 0 ? true : undefined), 'the connection');
    controller.abort();
    expect(await pending).toMatchObject({ state: 'down', reason: 'aborted' });
  });

  it('is down "probe closed" for a check in flight and for every check after close()', async () => {
    const server = await respServer(() => {});
    const probe = probeFor(`redis://127.0.0.1:${server.port}`, 5000);
    const pending = probe.check();
    await pollUntil(async () => (server.connections() > 0 ? true : undefined), 'the connection');
    await probe.close();
    expect(await pending).toMatchObject({ state: 'down', reason: 'probe closed' });
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'probe closed' });
  });
});
