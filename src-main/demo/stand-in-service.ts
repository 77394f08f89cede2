import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Which real service a stand-in imitates on `/health`. */
export type StandInKind = 'detector' | 'llm' | 'plain';
export const STAND_IN_KINDS: readonly StandInKind[] = ['detector', 'llm', 'plain'];

/** How a stand-in behaves. Every mode imitates something the real services do (notes/domain.md). */
export interface StandInOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** detector: RT-DETRv2 (FastAPI); llm: llama.cpp llama-server; plain: 200 "ok". Default plain. */
  kind?: StandInKind;
  /**
   * Model load time in seconds. llm: binds at once and answers 503 "Loading model" until then;
   * detector: binds only after it (like uvicorn loading the model first); plain: ignored.
   */
  loadSeconds?: number;
  /** detector: 200 with status "degraded", model_loaded false (model failed to load). */
  degraded?: boolean;
  /** Accept connections and never answer (a wedged event loop). */
  hang?: boolean;
  /** Aborting while the detector is still "loading" (not yet bound) rejects the start. */
  signal?: AbortSignal;
}

/** A running stand-in service. */
export interface StandIn {
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** The URL to configure as healthUrl: `${url}/health`. */
  readonly healthUrl: string;
  readonly kind: StandInKind;
  /** Requests received so far (any path). */
  requests(): number;
  /** Switch `degraded` / `hang` while running, for tests of a service that goes bad. */
  update(change: Pick<StandInOptions, 'degraded' | 'hang'>): void;
  /** Stop listening and drop every connection, hung ones included. Safe to call twice. */
  close(): Promise<void>;
}

type Reply = { status: number; body: string; type: string };

const json = (status: number, body: unknown): Reply => ({ status, body: JSON.stringify(body), type: 'application/json' });

/** What `/health` answers right now, given the mode and whether the model has loaded. */
export function healthReply(kind: StandInKind, opts: { loading: boolean; degraded: boolean }): Reply {
  switch (kind) {
    case 'detector':
      return opts.degraded
        ? json(200, { status: 'degraded', model_loaded: false, device: 'cpu' })
        : json(200, { status: 'healthy', model_loaded: true, device: 'cpu' });
    case 'llm':
      return opts.loading
        ? json(503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } })
        : json(200, { status: 'ok' });
    case 'plain':
      return { status: 200, body: 'ok', type: 'text/plain' };
  }
}

/** The 404 each real server gives for another path (FastAPI's and llama.cpp's shapes). */
function notFound(kind: StandInKind): Reply {
  if (kind === 'detector') return json(404, { detail: 'Not Found' });
  if (kind === 'llm') return json(404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
  return { status: 404, body: 'not found', type: 'text/plain' };
}

/** Start an HTTP stand-in for one of the watched services on 127.0.0.1. */
export async function startStandIn(opts: StandInOptions = {}): Promise<StandIn> {
  const kind = opts.kind ?? 'plain';
  const loadMs = (opts.loadSeconds ?? 0) * 1000;
  const state = { degraded: opts.degraded ?? false, hang: opts.hang ?? false };
  let requests = 0;
  let closing: Promise<void> | undefined;

  // The detector loads its model before it binds: connection refused meanwhile.
  if (kind === 'detector' && loadMs > 0) await sleep(loadMs, undefined, { signal: opts.signal });
  const readyAt = Date.now() + (kind === 'llm' ? loadMs : 0);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (state.hang) return; // never answer; close() destroys the socket
    const path = (req.url ?? '/').split('?')[0];
    const reply =
      path === '/health' ? healthReply(kind, { loading: Date.now() < readyAt, degraded: state.degraded }) : notFound(kind);
    res.writeHead(reply.status, { 'content-type': reply.type, 'content-length': Buffer.byteLength(reply.body) });
    res.end(reply.body);
  });
  server.listen(opts.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    port,
    url,
    healthUrl: `${url}/health`,
    kind,
    requests: () => requests,
    update(change) {
      if (change.degraded !== undefined) state.degraded = change.degraded;
      if (change.hang !== undefined) state.hang = change.hang;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive and hung connections would hold close() open
      });
      return closing;
    },
  };
}
