import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { WS_AUTH_PREFIX, WS_PROTOCOL, type ConfigNotice, type GpuSnapshot, type ServerMessage, type ServiceState, type ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { STATUS_TEXT } from './http-responses.js';
import { bearerToken, type GuardFailure, type RequestGuard } from './request-guard.js';

/** Where the hub gets its snapshot and events (the HealthMonitor). */
export interface StatusSource {
  states(): ServiceState[];
  subscribe(listener: (event: ServiceStatusEvent) => void): () => void;
}

/** GPU telemetry: a note per sample, and the snapshot to send (the GpuMonitor). */
export interface GpuSource {
  onSample(listener: () => void): () => void;
  snapshot(): Promise<GpuSnapshot>;
  readonly available: boolean;
}

/** Where the hub hears about hand edits of the config file (the Warden). */
export interface ConfigSource {
  configProblem(): string | null;
  onConfigChange(listener: (notice: ConfigNotice) => void): () => void;
}

/** Tunables; the defaults are the production values. */
export interface WsHubOptions {
  source: StatusSource;
  /** Optional: config file notices, and the standing problem in each snapshot. */
  config?: ConfigSource;
  /** Optional: `gpu` messages, at most one per sample (pollInterval), only while clients listen. */
  gpu?: GpuSource;
  guard: RequestGuard;
  logger: Logger;
  /** Application heartbeat message interval (default 15 s; the contract asks for ≤ 30 s). */
  heartbeatMs?: number;
  /** WebSocket ping interval; a peer that has not answered the previous ping is dropped (default 30 s). */
  pingMs?: number;
  /** Connected clients at most; one more gets 503 (default 64). */
  maxClients?: number;
  /** A client whose unsent data exceeds this is too slow and is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Largest message accepted from a client; larger closes with 1009 (default 64 KiB). */
  maxPayload?: number;
}

/** The path of the WebSocket endpoint. */
export const WS_PATH = '/ws';

/** The subprotocols a client offered, from its Sec-WebSocket-Protocol header(s). */
export function offeredProtocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The token a WebSocket client presented: an `auth.<token>` subprotocol (browsers), else the Authorization header. */
export function wsToken(req: IncomingMessage): string | undefined {
  const viaProtocol = offeredProtocols(req.headers['sec-websocket-protocol']).find((p) => p.startsWith(WS_AUTH_PREFIX));
  return viaProtocol !== undefined ? viaProtocol.slice(WS_AUTH_PREFIX.length) : bearerToken(req.headers.authorization);
}

/** Refuse an upgrade on the raw socket (there is no ServerResponse yet) and close it. */
function reject(socket: Duplex, failure: GuardFailure): void {
  const body = JSON.stringify({ error: failure.error });
  const head = [
    `HTTP/1.1 ${failure.status} ${STATUS_TEXT[failure.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    'Cache-Control: no-store',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(failure.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * The /ws fan-out: one monitor subscription shared by every client; each client gets the snapshot,
 * then every event in order, and heartbeats. Sending never waits on a client: one that falls
 * behind by more than `maxBufferedBytes` is dropped, so memory stays bounded.
 */
export class WsHub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly timers: NodeJS.Timeout[];
  private readonly unsubscribe: () => void;
  private readonly maxClients: number;
  private readonly maxBuffered: number;
  private closed = false;

  constructor(private readonly opts: WsHubOptions) {
    this.maxClients = opts.maxClients ?? 64;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: opts.maxPayload ?? 64 * 1024,
      // Answer warden.v1 only: echoing auth.<token> would put the token in a response header.
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    const offStatus = opts.source.subscribe((event) => this.broadcast(event));
    const offConfig = opts.config?.onConfigChange((notice) => this.broadcast(notice));
    const offGpu = opts.gpu?.onSample(() => void this.broadcastGpu());
    this.unsubscribe = () => {
      offStatus();
      offConfig?.();
      offGpu?.();
    };
    this.timers = [
      setInterval(() => this.broadcast({ type: 'heartbeat', timestamp: new Date().toISOString() }), opts.heartbeatMs ?? 15_000),
      setInterval(() => this.pingAll(), opts.pingMs ?? 30_000),
    ];
    for (const t of this.timers) t.unref();
  }

  /** Connected clients now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** The http server's 'upgrade' handler: every check runs before the handshake is answered. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A peer resetting mid-handshake must not become an uncaught 'error'.
    socket.on('error', () => socket.destroy());
    const failure = this.check(req);
    if (failure) {
      this.opts.logger.warn({ status: failure.status, error: failure.error, remote: req.socket.remoteAddress }, 'websocket upgrade refused');
      reject(socket, failure);
      return;
    }
    // Synchronous here (no verifyClient, no compression): the client count below is exact.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private check(req: IncomingMessage): GuardFailure | null {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return { status: 404, error: 'not found' };
    const site = this.opts.guard.checkSite(req);
    if (site) return site;
    const token = this.opts.guard.checkToken(wsToken(req));
    if (token) return token;
    // Browsers offer warden.v1 with auth.<token>; a header-authenticated client may offer none.
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    if (offered.length > 0 && !offered.includes(WS_PROTOCOL)) {
      return { status: 400, error: `the ${WS_PROTOCOL} subprotocol is required` };
    }
    if (this.closed || this.clients.size >= this.maxClients) return { status: 503, error: 'too many clients' };
    return null;
  }

  /** Send one message to every client (serialised once). */
  broadcast(message: ServerMessage): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(message);
    for (const ws of this.clients) this.send(ws, data);
  }

  /** The GPU snapshot to every client; skipped (no compute-apps query) while nobody listens. */
  private async broadcastGpu(): Promise<void> {
    if (this.clients.size === 0 || !this.opts.gpu) return;
    try {
      this.broadcast({ type: 'gpu', ...(await this.opts.gpu.snapshot()) });
    } catch (err) {
      this.opts.logger.warn({ err }, 'gpu snapshot failed');
    }
  }

  /** Close every client (1001 "going away"), stop the timers and leave the monitor. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) clearInterval(t);
    const gone = [...this.clients].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of this.clients) ws.close(1001, 'server shutting down');
    // A peer that never answers the close frame is cut off.
    const cutoff = setTimeout(() => {
      for (const ws of this.clients) ws.terminate();
    }, 1000);
    await Promise.all(gone);
    clearTimeout(cutoff);
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    // Clients have nothing to say: their messages are ignored (never parsed, so never a crash).
    ws.on('message', () => undefined);
    ws.on('error', (err) => this.opts.logger.debug({ err }, 'websocket client error'));
    ws.on('close', () => this.clients.delete(ws));
    // Snapshot then subscription in one synchronous step: no event can fall between them.
    const snapshot: ServerMessage = { type: 'snapshot', services: this.opts.source.states(), timestamp: new Date().toISOString(), configProblem: this.opts.config?.configProblem() ?? null };
    this.send(ws, JSON.stringify(snapshot));
    if (ws.readyState === ws.OPEN) this.clients.add(ws);
    // A new client sees the GPUs at once, not at the next sample.
    const gpu = this.opts.gpu;
    if (gpu?.available) {
      void gpu.snapshot().then(
        (g) => ws.readyState === ws.OPEN && this.send(ws, JSON.stringify({ type: 'gpu', ...g } satisfies ServerMessage)),
        () => undefined,
      );
    }
  }

  /** Each client on its own (§9.9): one that is too slow or whose socket throws is dropped alone. */
  private send(ws: WebSocket, data: string): void {
    if (ws.bufferedAmount > this.maxBuffered) {
      this.opts.logger.warn({ bufferedAmount: ws.bufferedAmount }, 'websocket client too slow; dropped');
      this.drop(ws);
      return;
    }
    try {
      ws.send(data);
    } catch (err) {
      this.opts.logger.warn({ err }, 'websocket send failed; client dropped');
      this.drop(ws);
    }
  }

  private drop(ws: WebSocket): void {
    this.clients.delete(ws);
    ws.terminate();
  }

  private pingAll(): void {
    for (const ws of this.clients) {
      if (!this.alive.has(ws)) {
        this.opts.logger.info('websocket client did not answer ping; dropped');
        this.drop(ws);
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}
