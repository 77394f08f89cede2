import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
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
  /**
   * What the model endpoints do (llm: POST /completion and /v1/chat/completions; detector: POST
   * /detect): answer (default), fail with a 500 as a broken CUDA context does, or hang while
   * /health still says ok — the case deep checks exist for (CONTRACT §14).
   */
  completions?: CompletionMode;
  /** llm: how many slots `GET /slots` lists (default 1). */
  slots?: number;
  /** llm: every slot is busy generating (its n_decoded grows at each look), like a loaded server. */
  busy?: boolean;
  /**
   * While this file exists, the model endpoints hang (the demo's "Break completions"). A new
   * instance removes it when it starts: a restart fixes what was broken, as it does a hung model.
   */
  breakFile?: string;
  /** Aborting while the detector is still "loading" (not yet bound) rejects the start. */
  signal?: AbortSignal;
}

export type CompletionMode = 'ok' | 'fail' | 'hang';
export const COMPLETION_MODES: readonly CompletionMode[] = ['ok', 'fail', 'hang'];

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
  update(change: Pick<StandInOptions, 'degraded' | 'hang' | 'completions' | 'busy'>): void;
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

/** A 500 such as llama.cpp or PyTorch send once the CUDA context is broken. */
function modelError(kind: StandInKind): Reply {
  const message = 'CUDA error: an illegal memory access was encountered';
  return kind === 'llm' ? json(500, { error: { code: 500, message, type: 'server_error' } }) : json(500, { detail: message });
}

/** llama-server's answer to a 1-token /completion, and its OpenAI-compatible chat answer. */
function completionReply(path: string): Reply {
  if (path === '/completion') return json(200, { content: ' pong', id_slot: 0, stop: true, tokens_predicted: 1, tokens_evaluated: 2 });
  return json(200, {
    id: 'chatcmpl-stand-in',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'stand-in',
    choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'length' }],
    usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
  });
}

/** FastAPI's 422 for a missing upload field, or the detections of a stand-in model. */
function detectReply(contentType: string, body: Buffer): Reply {
  if (!/^multipart\/form-data/i.test(contentType) || !/name="file"/.test(body.toString('latin1'))) {
    return json(422, { detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }] });
  }
  return json(200, { detections: [{ label: 'person', score: 0.91, box: [12, 8, 40, 60] }], inference_ms: 12 });
}

const MODEL_PATHS: Readonly<Record<StandInKind, readonly string[]>> = {
  llm: ['/completion', '/v1/chat/completions'],
  detector: ['/detect'],
  plain: [],
};

/** Start an HTTP stand-in for one of the watched services on 127.0.0.1. */
export async function startStandIn(opts: StandInOptions = {}): Promise<StandIn> {
  const kind = opts.kind ?? 'plain';
  const loadMs = (opts.loadSeconds ?? 0) * 1000;
  const state = { degraded: opts.degraded ?? false, hang: opts.hang ?? false, completions: opts.completions ?? 'ok', busy: opts.busy ?? false };
  const slotCount = Math.max(1, opts.slots ?? 1);
  // Requests the model is working on (a hung one stays until its client goes away), and a
  // counter that moves while a busy server generates.
  let working = 0;
  let decoded = 0;
  let requests = 0;
  let closing: Promise<void> | undefined;
  // A new instance is a fixed one.
  if (opts.breakFile !== undefined) rmSync(opts.breakFile, { force: true });

  // The detector loads its model before it binds: connection refused meanwhile.
  if (kind === 'detector' && loadMs > 0) await sleep(loadMs, undefined, { signal: opts.signal });
  const readyAt = Date.now() + (kind === 'llm' ? loadMs : 0);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (state.hang) return; // never answer; close() destroys the socket
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (reply: Reply) => {
      res.writeHead(reply.status, { 'content-type': reply.type, 'content-length': Buffer.byteLength(reply.body) });
      res.end(reply.body);
    };
    const loading = Date.now() < readyAt;
    if (path === '/health') return send(healthReply(kind, { loading, degraded: state.degraded }));
    if (kind === 'llm' && path === '/slots' && req.method === 'GET') {
      if (loading) return send(healthReply(kind, { loading, degraded: false }));
      return send(json(200, slotsReply(slotCount, state.busy ? slotCount : Math.min(working, slotCount), state.busy ? ++decoded : decoded)));
    }
    if (!MODEL_PATHS[kind].includes(path) || req.method !== 'POST') return send(notFound(kind));
    if (loading) return send(healthReply(kind, { loading, degraded: false }));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = opts.breakFile !== undefined && existsSync(opts.breakFile) ? 'hang' : state.completions;
      if (mode === 'hang') {
        // The model never answers; its slot stays busy (and makes no progress) until the client leaves.
        working++;
        res.on('close', () => working--);
        return;
      }
      if (mode === 'fail') return send(modelError(kind));
      send(kind === 'llm' ? completionReply(path) : detectReply(req.headers['content-type'] ?? '', Buffer.concat(chunks)));
    });
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
      if (change.completions !== undefined) state.completions = change.completions;
      if (change.busy !== undefined) state.busy = change.busy;
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

/**
 * llama-server's `GET /slots`: one entry per slot; the first `busy` are processing, and
 * `n_decoded` is how far their generation got (it moves while they work, and not when hung).
 */
function slotsReply(count: number, busy: number, decoded: number): unknown[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    id_task: id < busy ? 1000 + id : -1,
    n_ctx: 4096,
    is_processing: id < busy,
    next_token: [{ has_next_token: id < busy, n_remain: -1, n_decoded: id < busy ? decoded : 0 }],
  }));
}
