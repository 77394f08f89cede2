import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { HttpProbe, MAX_HEALTH_BODY_BYTES } from '../../../src-main/core/probes/http-probe.js';
import { normaliseUrl } from '../../../src-shared/health-url.js';
import type { Probe } from '../../../src-main/core/probes/probe.js';
import { waitUntil } from '../../helpers/process-tree.js';
import { freePort } from '../../helpers/redis-server.js';
import { startStalledListener } from '../../helpers/stalled-listener.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let port: number;
let handler: Handler;
let connections = 0;
const paths: string[] = [];
const probes: Probe[] = [];

/** A probe of this test's server; closed after the test. */
function probeFor(path = '/health', timeoutMs = 2000): Probe {
  const probe = new HttpProbe(normaliseUrl(`http://127.0.0.1:${port}${path}`), timeoutMs);
  probes.push(probe);
  return probe;
}

/** Answers every request with this status and body. */
function answer(status: number, body: string, contentType = 'application/json'): void {
  handler = (_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  await Promise.all(probes.splice(0).map((p) => p.close()));
  server.closeAllConnections();
  connections = 0;
  paths.length = 0;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

describe('HttpProbe: up', () => {
  it('is up on 200 with a plain-text body', async () => {
    answer(200, 'OK', 'text/plain');
    expect(await probeFor().check()).toMatchObject({ state: 'up', reason: 'HTTP 200' });
  });

  it('is up on 200 {"status":"ok"} (llama.cpp ready)', async () => {
    answer(200, '{"status":"ok"}');
    expect(await probeFor().check()).toMatchObject({ state: 'up', reason: 'HTTP 200' });
  });

  it('is up on 200 {"status":"healthy","model_loaded":true} (RT-DETR ready)', async () => {
    answer(200, '{"status":"healthy","model_loaded":true,"device":"cuda:0"}');
    expect(await probeFor().check()).toMatchObject({ state: 'up', reason: 'HTTP 200' });
  });

  it('accepts every up status word, case-insensitively, and a 204', async () => {
    for (const word of ['OK', 'Healthy', 'up', 'READY', 'pass']) {
      answer(200, JSON.stringify({ status: word }));
      expect((await probeFor().check()).state).toBe('up');
    }
    answer(204, '');
    expect(await probeFor().check()).toMatchObject({ state: 'up', reason: 'HTTP 204' });
  });

  it('treats JSON that is not an object, broken JSON and a non-string status as plain bodies', async () => {
    for (const body of ['[1,2]', '{"status":', '{"status":1}', '{"error":"x"}']) {
      answer(200, body);
      expect((await probeFor().check()).state).toBe('up');
    }
  });

  it('reports latency as whole milliseconds', async () => {
    answer(200, 'OK', 'text/plain');
    const { latencyMs } = await probeFor().check();
    expect(Number.isInteger(latencyMs)).toBe(true);
    expect(latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe('HttpProbe: loading', () => {
  it('is loading on llama.cpp 503 "Loading model"', async () => {
    answer(503, '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}');
    expect(await probeFor().check()).toMatchObject({ state: 'loading', reason: 'Loading model' });
  });

  it('is loading on a 503 whose text body says loading', async () => {
    answer(503, 'Model is loading, please wait\n', 'text/plain');
    expect(await probeFor().check()).toMatchObject({ state: 'loading', reason: 'Model is loading, please wait' });
  });

  it('keeps a long loading message to one short line', async () => {
    answer(503, JSON.stringify({ error: { message: `Loading model ${'m'.repeat(200)}\nsecond line` } }));
    const { state, reason } = await probeFor().check();
    expect(state).toBe('loading');
    expect(reason).toHaveLength(100);
    expect(reason).toMatch(/^Loading model m+\.\.\.$/);
  });

  it('is loading on JSON status starting or loading, whatever the HTTP code', async () => {
    answer(200, '{"status":"starting"}');
    expect(await probeFor().check()).toMatchObject({ state: 'loading', reason: 'status starting' });
    answer(503, '{"status":"Loading"}');
    expect(await probeFor().check()).toMatchObject({ state: 'loading', reason: 'status Loading' });
  });
});

describe('HttpProbe: down', () => {
  it('is down on 200 {"status":"degraded","model_loaded":false} (RT-DETR without its model)', async () => {
    answer(200, '{"status":"degraded","model_loaded":false}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'status degraded' });
  });

  it('is down on 200 with status unhealthy', async () => {
    answer(200, '{"status":"unhealthy"}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'status unhealthy' });
  });

  it('is down on 200 with model_loaded false and no status', async () => {
    answer(200, '{"model_loaded":false}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'model not loaded' });
  });

  it('is down on a 503 that does not say it is loading', async () => {
    answer(503, '{"error":{"code":503,"message":"Service overloaded"}}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 503' });
    answer(503, '{"error":null}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 503' });
    answer(503, '{"error":"busy"}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 503' });
    answer(503, 'maintenance', 'text/plain');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 503' });
  });

  it('is down on 500 and on 404, even when the body says loading', async () => {
    answer(500, 'Internal Server Error', 'text/plain');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 500' });
    answer(404, '{"error":{"message":"Loading model"}}');
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'HTTP 404' });
  });

  it('is down "timeout after N ms" when the server accepts and never answers', async () => {
    handler = () => {};
    expect(await probeFor('/health', 300).check()).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
  });

  it('is down on timeout when headers arrive but the body stalls (the deadline covers the body)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":');
    };
    expect(await probeFor('/health', 300).check()).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
  });

  it('is down on timeout when the TCP connect itself hangs', async () => {
    const stalled = await startStalledListener();
    try {
      const probe = new HttpProbe(normaliseUrl(`http://127.0.0.1:${stalled.port}/health`), 300);
      probes.push(probe);
      expect(await probe.check()).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
    } finally {
      await stalled.stop();
    }
  });

  it('is down "connection refused" on a port nobody listens on', async () => {
    const closedPort = await freePort();
    const probe = new HttpProbe(normaliseUrl(`http://127.0.0.1:${closedPort}/health`), 2000);
    probes.push(probe);
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'connection refused' });
  });

  it('is down "connection reset" when the server drops the connection', async () => {
    handler = (req) => req.socket.destroy();
    expect(await probeFor().check()).toMatchObject({ state: 'down', reason: 'connection reset' });
  });

  it('is down "aborted" when the caller aborts, before or during the check', async () => {
    handler = () => {};
    const probe = probeFor('/health', 5000);
    expect(await probe.check(AbortSignal.abort())).toMatchObject({ state: 'down', reason: 'aborted' });
    const controller = new AbortController();
    const pending = probe.check(controller.signal);
    await waitUntil(() => paths.length > 0);
    controller.abort();
    expect(await pending).toMatchObject({ state: 'down', reason: 'aborted' });
  });

  it('is down "probe closed" once closed, including a check in flight', async () => {
    handler = () => {};
    const probe = probeFor('/health', 5000);
    const pending = probe.check();
    await waitUntil(() => paths.length > 0);
    await probe.close();
    expect(await pending).toMatchObject({ state: 'down', reason: 'probe closed' });
    expect(await probe.check()).toMatchObject({ state: 'down', reason: 'probe closed' });
    await probe.close();
  });
});

describe('HttpProbe: connections and URLs', () => {
  it('reuses one keep-alive connection across checks', async () => {
    answer(200, '{"status":"ok"}');
    const probe = probeFor();
    for (let i = 0; i < 5; i++) expect((await probe.check()).state).toBe('up');
    expect(connections).toBe(1);
  });

  it('keeps reusing the connection after non-2xx answers (their bodies are drained)', async () => {
    const probe = probeFor();
    answer(503, '{"error":{"code":503,"message":"Loading model"}}');
    await probe.check();
    answer(500, 'boom', 'text/plain');
    await probe.check();
    answer(200, 'OK', 'text/plain');
    expect((await probe.check()).state).toBe('up');
    expect(connections).toBe(1);
  });

  it('reads at most 64 KiB of a huge body and still judges it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(MAX_HEALTH_BODY_BYTES * 4));
    };
    expect(await probeFor().check()).toMatchObject({ state: 'up', reason: 'HTTP 200' });
  });

  it('asks for /health, never //health, when the configured URL has stray slashes', async () => {
    answer(200, 'OK', 'text/plain');
    await probeFor('//health/').check();
    await probeFor('/health/?verbose=1').check();
    expect(paths).toEqual(['/health', '/health?verbose=1']);
  });

  it('speaks https:// with default certificate verification (a self-signed server is refused)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-tls-'));
    const tls = createHttpsServer({}, (_req, res) => res.end('OK'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
      tls.setSecureContext({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) });
      tls.listen(0, '127.0.0.1');
      await once(tls, 'listening');
      const probe = new HttpProbe(normaliseUrl(`https://127.0.0.1:${(tls.address() as { port: number }).port}/health`), 2000);
      probes.push(probe);
      const result = await probe.check();
      expect(result.state).toBe('down');
      expect(result.reason).toMatch(/self[- ]signed/i);
    } finally {
      tls.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs concurrent checks one after the other on its one connection', async () => {
    answer(200, '{"status":"ok"}');
    const probe = probeFor();
    const results = await Promise.all([probe.check(), probe.check(), probe.check()]);
    expect(results.map((r) => r.state)).toEqual(['up', 'up', 'up']);
    expect(connections).toBe(1);
  });

  it('counts the wait for its turn in a check\'s deadline', async () => {
    handler = () => {}; // the first never gets an answer
    const probe = probeFor('/health', 300);
    const [first, second] = await Promise.all([probe.check(), probe.check()]);
    expect(first).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
    expect(second).toMatchObject({ state: 'down', reason: 'timeout after 300 ms' });
  });

  it('sends again on a fresh connection when the server closes a kept-alive one as it is used', async () => {
    const perSocket = new Map<unknown, number>();
    handler = (req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n === 2) return req.socket.destroy(); // closes instead of answering its second request
      res.end('OK');
    };
    const probe = probeFor();
    expect((await probe.check()).state).toBe('up');
    expect(await probe.check()).toMatchObject({ state: 'up', reason: 'HTTP 200' });
    expect([...perSocket.values()]).toEqual([2, 1]); // the second request went again, on a new connection
  });

  it('opens a new connection once the server closed the idle one', async () => {
    answer(200, 'OK', 'text/plain');
    const sockets = new Set<Socket>();
    const count = (s: Socket) => sockets.add(s);
    server.on('connection', count);
    onTestFinished(() => void server.off('connection', count));
    const probe = probeFor();
    expect((await probe.check()).state).toBe('up');
    const [socket] = [...sockets];
    server.closeAllConnections();
    await waitUntil(() => socket!.destroyed);
    expect((await probe.check()).state).toBe('up');
    expect(sockets.size).toBe(2);
  });

  it('leaves an idle connection before the Keep-Alive timeout the server announced', async () => {
    answer(200, 'OK', 'text/plain');
    const previous = server.keepAliveTimeout;
    server.keepAliveTimeout = 1000; // announces "Keep-Alive: timeout=1": never reuse an idle one
    try {
      const sockets = new Set<unknown>();
      handler = (req, res) => {
        sockets.add(req.socket);
        res.end('OK');
      };
      const probe = probeFor();
      for (let i = 0; i < 3; i++) expect((await probe.check()).state).toBe('up');
      expect(sockets.size).toBe(3);
    } finally {
      server.keepAliveTimeout = previous;
    }
  });

  it('is down "bad HTTP response" when the port speaks something else, and drops bytes nobody asked for', async () => {
    const sockets: Socket[] = [];
    let greet = true;
    const raw = createTcpServer((socket) => {
      sockets.push(socket);
      if (greet) socket.write('SSH-2.0-OpenSSH_9.2\r\n'); // a real banner: one line, then it waits
      else
        socket.once('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
          setImmediate(() => socket.write('unasked')); // on the idle connection
        });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    try {
      const probe = new HttpProbe(normaliseUrl(`http://127.0.0.1:${(raw.address() as { port: number }).port}/health`), 2000);
      probes.push(probe);
      const result = await probe.check();
      expect(result.state).toBe('down');
      expect(result.reason).toMatch(/^bad HTTP response: not an HTTP\/1\.x response: "SSH-2\.0/);
      greet = false;
      expect((await probe.check()).state).toBe('up');
      await waitUntil(() => sockets.at(-1)!.destroyed || sockets.at(-1)!.readableEnded);
      expect((await probe.check()).state).toBe('up');
      expect(sockets).toHaveLength(3); // the one that sent unasked bytes was not reused
    } finally {
      for (const s of sockets) s.destroy();
      raw.close();
    }
  });
});
