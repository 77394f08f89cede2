import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Warden } from '../warden.js';
import { apiRoutes, dispatch, type DemoHook } from './api-routes.js';
import { sendError, sendJson } from './http-responses.js';
import { WardenMetrics } from './metrics.js';
import { bearerToken, RequestGuard } from './request-guard.js';
import { StaticFiles } from './static-files.js';
import { WsHub } from './ws-hub.js';

/** What startServer needs. */
export interface ServerOptions {
  warden: Warden;
  host: string;
  /** 0 picks a free port. */
  port: number;
  token: string;
  logger: Logger;
  /** The built dashboard (default: dist/renderer). */
  staticDir?: string;
  /** `--demo`: enables POST /api/demo/:name/crash. */
  demo?: DemoHook;
  heartbeatMs?: number;
  pingMs?: number;
  maxClients?: number;
  /** Per-client send buffer limit before a slow WebSocket client is dropped. */
  maxBufferedBytes?: number;
}

/** A running server. */
export interface RunningServer {
  port: number;
  /** `http://127.0.0.1:PORT/` (or the configured host). */
  url: string;
  /** `url` with `#token=…`: the fragment never reaches a server or a log. */
  dashboardUrl: string;
  /** The WebSocket fan-out (its client count is useful to callers and tests). */
  hub: WsHub;
  /** Open TCP connections (HTTP and WebSocket). */
  connections(): Promise<number>;
  /** How many listeners the long-lived HTTP server holds, by event (a per-connection leak shows here). */
  listenerCount(event: 'connection' | 'request' | 'upgrade' | 'clientError' | 'close'): number;
  close(): Promise<void>;
}

/** The address a browser should use for a bind address: wildcards mean this machine's loopback. */
export function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === 'localhost' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`port ${port} is in use (on ${host}); choose another with --port, or 0 for any free port`));
      else if (err.code === 'EACCES') reject(new Error(`not allowed to listen on ${host}:${port}`));
      else reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Start the embedded server (CONTRACT §5): dashboard at /, the API, /metrics, /healthz and /ws. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { warden, logger } = opts;
  const staticFiles = new StaticFiles(opts.staticDir);
  const metrics = new WardenMetrics(warden.monitor, warden.journal, warden.gpu);
  const routes = apiRoutes({ warden, metrics, demo: opts.demo });
  const onRequest = async (req: IncomingMessage, res: ServerResponse, g: RequestGuard): Promise<void> => {
    const site = g.checkSite(req);
    if (site) {
      sendError(res, site.status, site.error, site.headers);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      if (req.method === 'GET' || req.method === 'HEAD') sendJson(res, 200, { status: 'ok' });
      else sendError(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    // No CORS, ever: a preflight gets a plain refusal, so browsers block the cross-site call.
    if (req.method === 'OPTIONS') {
      sendError(res, 405, 'method not allowed');
      return;
    }
    if (url.pathname.startsWith('/api/') || url.pathname === '/api' || url.pathname === '/metrics') {
      const denied = g.checkToken(bearerToken(req.headers.authorization));
      if (denied) {
        sendError(res, denied.status, denied.error, denied.headers);
        return;
      }
      await dispatch(routes, req, res, url);
      return;
    }
    await staticFiles.handle(req, res);
  };

  // Missing Host is answered by the guard (421), not by Node's own 400.
  const server = http.createServer({ requireHostHeader: false, requestTimeout: 30_000, headersTimeout: 10_000 });
  server.keepAliveTimeout = 5000;

  let port: number;
  try {
    port = await listen(server, opts.host, opts.port);
  } catch (err) {
    metrics.close();
    throw err;
  }
  // The guard needs the chosen port. Handlers are attached in the same tick as listen resolves,
  // before any connection can be read.
  const guard = new RequestGuard({ host: opts.host, port, token: opts.token });
  const hub = new WsHub({
    source: warden.monitor,
    config: warden,
    gpu: warden.gpu,
    guard,
    logger,
    heartbeatMs: opts.heartbeatMs,
    pingMs: opts.pingMs,
    maxClients: opts.maxClients,
    maxBufferedBytes: opts.maxBufferedBytes,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res, guard).catch((err: unknown) => {
      logger.error({ err, method: req.method, url: req.url }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'internal error');
      // No handler throws after writing its head; if one ever does, cut the answer short.
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => hub.handleUpgrade(req, socket, head));
  const url = `http://${browserHost(opts.host)}:${port}/`;
  logger.info({ url, host: opts.host, port }, 'server listening');

  return {
    port,
    url,
    dashboardUrl: `${url}#token=${encodeURIComponent(opts.token)}`,
    hub: hub,
    connections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    listenerCount: (event) => server.listenerCount(event),
    async close() {
      await hub.close();
      metrics.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      logger.info('server closed');
    },
  };
}
