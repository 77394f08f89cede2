import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { configSchema } from '../../../src-shared/config-schema.js';
import type { ServiceStatusEvent, SnapshotMessage } from '../../../src-shared/protocol.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { startServer, type RunningServer } from '../../../src-main/core/server/http-server.js';
import { createWarden, type Warden } from '../../../src-main/core/warden.js';
import { isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';
import { TEST_TOKEN, nextEvent, openWs, untilStatus, startTestServer, type Inbox, type TestServer } from '../../helpers/server-harness.js';
import { freePort, standInCommand } from '../../helpers/stand-in.js';

let t: TestServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await t?.close();
  t = undefined;
});

const isStatus = (service: string, status: string) => (m: { type: string }) =>
  m.type === 'service_status' && (m as ServiceStatusEvent).service === service && (m as ServiceStatusEvent).status === status;

/** A service_status event as the monitor would send it, with a large output tail. */
function bigEvent(i: number, bytes: number): ServiceStatusEvent {
  return {
    type: 'service_status',
    service: 'alpha',
    status: 'restart_failed',
    message: `event ${i}`,
    timestamp: new Date().toISOString(),
    attempt: 1,
    maxAttempts: 3,
    nextRetryAt: null,
    latencyMs: null,
    previous: 'restarting',
    output: 'x'.repeat(bytes),
  };
}

describe('WebSocket stream', () => {
  it('sends the snapshot first, then every event in the order the monitor emitted them', async () => {
    t = await startTestServer();
    await untilStatus(t.warden, 'alpha', 'healthy');
    const emitted: string[] = [];
    t.warden.monitor.subscribe((e) => void emitted.push(`${e.service}:${e.status}`));
    const { ws, inbox } = await openWs(t.server.port);

    const snapshot = await inbox.next<SnapshotMessage>();
    expect(snapshot.type).toBe('snapshot');
    expect(snapshot.timestamp).toMatch(/Z$/);
    expect(snapshot.services.map((s) => [s.service, s.status])).toContainEqual(['alpha', 'healthy']);

    t.warden.monitor.act('alpha', 'pause');
    t.warden.monitor.act('alpha', 'resume');
    await inbox.next(isStatus('alpha', 'healthy'));
    const received = inbox.messages.filter((m): m is ServiceStatusEvent => m.type === 'service_status').map((e) => `${e.service}:${e.status}`);
    expect(received).toEqual(emitted.slice(0, received.length));
    expect(received).toEqual(expect.arrayContaining(['alpha:paused', 'alpha:healthy']));
    ws.close();
  });

  it('a monitor subscriber that throws never silences the dashboards: every client keeps getting every event (§9.9)', async () => {
    t = await startTestServer();
    await untilStatus(t.warden, 'alpha', 'healthy');
    let throws = 0;
    t.warden.monitor.subscribe(() => {
      throws++;
      throw new Error('a broken subscriber');
    });
    const a = await openWs(t.server.port);
    const b = await openWs(t.server.port);
    for (let i = 0; i < 3; i++) {
      t.warden.monitor.act('alpha', 'pause');
      t.warden.monitor.act('alpha', 'resume');
      for (const c of [a, b]) await c.inbox.next(isStatus('alpha', 'healthy'));
    }
    expect(throws).toBeGreaterThanOrEqual(6);
    for (const c of [a, b]) {
      const statuses = c.inbox.messages.filter((m): m is ServiceStatusEvent => m.type === 'service_status').map((e) => e.status);
      expect(statuses).toEqual(['paused', 'healthy', 'paused', 'healthy', 'paused', 'healthy']);
      c.ws.close();
    }
  });

  it('a client whose socket throws on send is dropped alone; the others keep receiving', async () => {
    t = await startTestServer();
    await untilStatus(t.warden, 'alpha', 'healthy');
    const broken = await openWs(t.server.port);
    const fine = await openWs(t.server.port);
    // The server side of the first client: make its sends throw, as a socket torn down mid-send can.
    const clients = (t.server.hub as unknown as { clients: Set<{ send: () => void }> }).clients;
    const [first] = [...clients];
    first!.send = () => {
      throw new Error('socket torn down');
    };
    t.warden.monitor.act('alpha', 'pause');
    await fine.inbox.next(isStatus('alpha', 'paused'));
    await broken.inbox.closed;
    t.warden.monitor.act('alpha', 'resume');
    await fine.inbox.next(isStatus('alpha', 'healthy'));
    expect(t.server.hub.clientCount).toBe(1);
    fine.ws.close();
  });

  it('sends a heartbeat every heartbeatMs', async () => {
    t = await startTestServer({ heartbeatMs: 50 });
    const { ws, inbox } = await openWs(t.server.port);
    const beat = await inbox.next((m) => m.type === 'heartbeat');
    expect(beat).toEqual({ type: 'heartbeat', timestamp: expect.stringMatching(/Z$/) });
    await inbox.next((m) => m.type === 'heartbeat');
    ws.close();
  });

  it('ignores whatever clients send, garbage included, and keeps streaming', async () => {
    t = await startTestServer({ heartbeatMs: 50 });
    const { ws, inbox } = await openWs(t.server.port);
    await inbox.next();
    ws.send('not json {');
    ws.send(Buffer.from([0xff, 0x00, 0xfe]));
    ws.send('{"type":"ping"}');
    ws.send(JSON.stringify({ type: 'snapshot', services: 'nope' }));
    await inbox.next((m) => m.type === 'heartbeat');
    expect(ws.readyState).toBe(ws.OPEN);
    expect(t.server.hub.clientCount).toBe(1);
    ws.close();
  });

  it('drops a client that stops reading, while another keeps receiving', async () => {
    t = await startTestServer({ maxBufferedBytes: 64 * 1024 });
    const slow = await openWs(t.server.port);
    const fast = await openWs(t.server.port);
    await slow.inbox.next();
    await fast.inbox.next();
    // The slow client's process "hangs": nothing is read from its socket any more.
    (slow.ws as WebSocket & { _socket: { pause(): void; resume(): void } })._socket.pause();

    let i = 0;
    while (t.server.hub.clientCount === 2) {
      if (++i > 5000) throw new Error('the slow client was never dropped');
      t.server.hub.broadcast(bigEvent(i, 32 * 1024));
      await fast.inbox.next((m) => m.type === 'service_status' && m.message === `event ${i}`);
    }
    expect(t.server.hub.clientCount).toBe(1);
    (slow.ws as WebSocket & { _socket: { resume(): void } })._socket.resume();
    expect((await slow.inbox.closed).code).toBe(1006);

    t.server.hub.broadcast(bigEvent(-1, 10));
    await fast.inbox.next((m) => m.type === 'service_status' && m.message === 'event -1');
    fast.ws.close();
  });

  it('pings every pingMs and drops a peer that does not answer', async () => {
    t = await startTestServer({ pingMs: 300 });
    const silent = await openWs(t.server.port, TEST_TOKEN, { autoPong: false });
    const lively = await openWs(t.server.port);
    let pings = 0;
    const threePings = new Promise<void>((resolve) => lively.ws.on('ping', () => ++pings === 3 && resolve()));
    expect((await silent.inbox.closed).code).toBe(1006);
    await threePings;
    expect(lively.ws.readyState).toBe(lively.ws.OPEN);
    expect(t.server.hub.clientCount).toBe(1);
    lively.ws.close();
  });

  it('close() cuts off a peer that never answers the close frame', async () => {
    t = await startTestServer();
    const stuck = await openWs(t.server.port);
    await stuck.inbox.next();
    (stuck.ws as WebSocket & { _socket: { pause(): void; resume(): void } })._socket.pause();
    await t.server.close();
    expect(t.server.hub.clientCount).toBe(0);
    (stuck.ws as WebSocket & { _socket: { resume(): void } })._socket.resume();
    await stuck.inbox.closed;
  });

  it('close() says goodbye with 1001, leaves the monitor, and sends nothing afterwards', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-ws-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const config = configSchema.parse({ healthCheckInterval: 0.05, services: [{ name: 'alpha', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] });
    const warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
    cleanups.push(() => warden.stop());
    // The monitor's private buses: their sizes show whether the server left them.
    const buses = warden.monitor as unknown as { bus: { size: number }; probeBus: { size: number } };
    const before = [buses.bus.size, buses.probeBus.size];

    const server: RunningServer = await startServer({ warden, host: '127.0.0.1', port: 0, token: TEST_TOKEN, logger: silentLogger(), heartbeatMs: 20 });
    expect([buses.bus.size, buses.probeBus.size]).not.toEqual(before);
    const clients: { ws: WebSocket; inbox: Inbox }[] = [await openWs(server.port), await openWs(server.port)];
    await server.close();
    for (const c of clients) expect((await c.inbox.closed).code).toBe(1001);
    expect(server.hub.clientCount).toBe(0);
    expect([buses.bus.size, buses.probeBus.size]).toEqual(before);
    const counts = clients.map((c) => c.inbox.messages.length);
    const first = nextEvent(warden, () => true);
    warden.start();
    await first;
    expect(clients.map((c) => c.inbox.messages.length)).toEqual(counts);
    await server.close(); // twice is harmless
  });
});

describe('a real crash, seen live over the WebSocket', () => {
  it('a SIGKILLed stand-in is reported unhealthy → restarting → healthy, restarted by the real shell strategy', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-ws-real-'));
    const pidfile = path.join(dir, 'svc.pid');
    const started: number[] = [];
    cleanups.push(async () => {
      // Whatever the restart command left running is the group its pidfile names.
      if (existsSync(pidfile)) killGroup(Number(readFileSync(pidfile, 'utf8')));
      for (const pid of started) killGroup(pid);
      await fs.rm(dir, { recursive: true, force: true });
    });
    const port = await freePort();
    const cmd = standInCommand({ port, pidfile });
    await promisify(execFile)('/bin/sh', ['-c', cmd]);
    const firstPid = Number(readFileSync(pidfile, 'utf8'));
    started.push(firstPid);

    const config = configSchema.parse({
      healthCheckInterval: 0.5,
      serviceBackoffBase: 0.2,
      serviceHealthTimeout: 2,
      restartTimeout: 60,
      startupTimeout: 60,
      services: [{ name: 'svc', healthUrl: `http://127.0.0.1:${port}/health`, restartCmd: cmd }],
    });
    // No createManager: the real shell strategy runs the restart command.
    const warden: Warden = await createWarden(config, { logger: silentLogger(), configFile: null, dataDir: dir });
    cleanups.push(() => warden.stop());
    const server = await startServer({ warden, host: '127.0.0.1', port: 0, token: TEST_TOKEN, logger: silentLogger() });
    cleanups.push(() => server.close());
    const healthy = nextEvent(warden, (e) => e.status === 'healthy');
    warden.start();
    await healthy;

    const { ws, inbox } = await openWs(server.port);
    const snapshot = await inbox.next<SnapshotMessage>();
    expect(snapshot.type).toBe('snapshot');
    expect(snapshot.services.map((s) => [s.service, s.status])).toEqual([['svc', 'healthy']]);

    killGroup(firstPid);
    await waitUntil(() => !isAlive(firstPid));
    await inbox.next(isStatus('svc', 'healthy'));
    const statuses = inbox.messages.filter((m): m is ServiceStatusEvent => m.type === 'service_status').map((e) => e.status);
    expect(statuses).toEqual(['unhealthy', 'restarting', 'healthy']);
    const newPid = Number(readFileSync(pidfile, 'utf8'));
    expect(newPid).not.toBe(firstPid);
    started.push(newPid);
    expect(isAlive(newPid)).toBe(true);
    ws.close();
  });
});
