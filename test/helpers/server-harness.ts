import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { configSchema, type WardenConfig } from '../../src-shared/config-schema.js';
import type { ServerMessage, ServiceStatusEvent } from '../../src-shared/protocol.js';
import { silentLogger } from '../../src-main/core/log/logger.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src-main/core/server/http-server.js';
import { createWarden, type Warden } from '../../src-main/core/warden.js';
import { ScriptedManager } from './scripted-manager.js';

/** A real server on 127.0.0.1:0 over a real Warden whose strategy the test scripts. */
export interface TestServer {
  server: RunningServer;
  warden: Warden;
  manager: ScriptedManager;
  token: string;
  dir: string;
  configFile: string;
  /** `Authorization: Bearer <token>` plus a correct Host. */
  auth: Record<string, string>;
  close(): Promise<void>;
}

export const TEST_TOKEN = 'a'.repeat(64);

/** Two scripted services, "alpha" and "beta" (monitor only), probed every 0.05 s. */
export function serverConfig(input: Record<string, unknown> = {}): WardenConfig {
  return configSchema.parse({
    healthCheckInterval: 0.05,
    serviceBackoffBase: 0.05,
    services: [
      { name: 'alpha', healthUrl: 'http://127.0.0.1:1/health', restartCmd: 'true' },
      { name: 'beta', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null },
    ],
    ...input,
  });
}

/** Start Warden (scripted strategy, config file written to a temp dir) and its server. */
export async function startTestServer(
  opts: { config?: WardenConfig; start?: boolean; overlay?: (s: WardenConfig) => WardenConfig } & Partial<Omit<ServerOptions, 'warden' | 'logger' | 'token'>> = {},
): Promise<TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-server-'));
  const config = opts.config ?? serverConfig();
  const configFile = path.join(dir, 'config.json');
  await fs.writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const manager = new ScriptedManager();
  const warden = await createWarden(config, { logger: silentLogger(), configFile, dataDir: dir, createManager: () => manager, overlay: opts.overlay });
  const { config: _c, start, overlay: _o, ...serverOpts } = opts;
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    staticDir: path.join(dir, 'no-dashboard'),
    ...serverOpts,
    warden,
    token: TEST_TOKEN,
    logger: silentLogger(),
  });
  if (start !== false) warden.start();
  return {
    server,
    warden,
    manager,
    token: TEST_TOKEN,
    dir,
    configFile,
    auth: { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${TEST_TOKEN}` },
    async close() {
      await server.close();
      await warden.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the first event of the monitor that matches. */
export function nextEvent(warden: Warden, pred: (e: ServiceStatusEvent) => boolean): Promise<ServiceStatusEvent> {
  return new Promise((resolve) => {
    const off = warden.monitor.subscribe((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/** Resolves once the service has this status: at once if it already has it, else on its event. */
export function untilStatus(warden: Warden, service: string, status: ServiceStatusEvent['status']): Promise<void> {
  if (warden.monitor.state(service)?.status === status) return Promise.resolve();
  return nextEvent(warden, (e) => e.service === service && e.status === status).then(() => undefined);
}

/** A raw HTTP answer. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One HTTP request with exactly the given headers (fetch forbids setting Host and Origin).
 * `host: null` sends no Host header at all. The path is sent as written, never normalised.
 */
export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | null>; body?: string | Buffer; chunked?: boolean } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers, setHost: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written: the answer counts.
    req.on('error', reject);
    if (opts.chunked && opts.body !== undefined) {
      // No Content-Length: the server learns the size only by reading.
      const body = Buffer.from(opts.body);
      for (let i = 0; i < body.length; i += 8192) req.write(body.subarray(i, i + 8192));
      req.end();
    } else req.end(opts.body);
  });
}

/** How a WebSocket attempt ended: open (with the chosen subprotocol) or refused with a status. */
export type WsOutcome = { open: true; ws: WebSocket; protocol: string; inbox: Inbox } | { open: false; status: number; body: string };

/** Try to open a WebSocket with the given path, subprotocols and headers. */
export function connectWs(port: number, opts: { host?: string; path?: string; protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<WsOutcome> {
  const ws = new WebSocket(`ws://${opts.host ?? '127.0.0.1'}:${port}${opts.path ?? '/ws'}`, opts.protocols ?? [], {
    headers: opts.headers,
    autoPong: opts.autoPong ?? true,
  });
  // Collect from the first frame on: the snapshot may arrive with the handshake.
  const inbox = new Inbox(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ open: true, ws, protocol: ws.protocol, inbox }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

/** Open a WebSocket the way the dashboard does (warden.v1 + auth.<token>); fails the test otherwise. */
export async function openWs(port: number, token = TEST_TOKEN, opts: { host?: string; autoPong?: boolean } = {}): Promise<{ ws: WebSocket; inbox: Inbox }> {
  const outcome = await connectWs(port, { protocols: ['warden.v1', `auth.${token}`], ...opts });
  if (!outcome.open) throw new Error(`websocket refused: ${outcome.status} ${outcome.body}`);
  return { ws: outcome.ws, inbox: outcome.inbox };
}

/** Every message a client received, and a way to await the next one that matches. */
export class Inbox {
  readonly messages: ServerMessage[] = [];
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  private cursor = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as ServerMessage;
      this.messages.push(msg);
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** The next message (after those already taken) that matches; resolves at once if one is waiting. */
  next<T extends ServerMessage = ServerMessage>(pred: (m: ServerMessage) => boolean = () => true): Promise<T> {
    for (let i = this.cursor; i < this.messages.length; i++) {
      const m = this.messages[i]!;
      if (pred(m)) {
        this.cursor = i + 1;
        return Promise.resolve(m as T);
      }
    }
    return new Promise((resolve) => {
      this.waiters.push({
        pred,
        resolve: (m) => {
          this.cursor = this.messages.length;
          resolve(m as T);
        },
      });
    });
  }
}
