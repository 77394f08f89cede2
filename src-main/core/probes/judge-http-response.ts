import type { ProbeState } from './probe.js';

/** The verdict on one HTTP health answer. */
export interface HttpVerdict {
  state: ProbeState;
  reason: string;
}

const UP_STATUSES = new Set(['ok', 'healthy', 'up', 'ready', 'pass']);
const LOADING_STATUSES = new Set(['loading', 'starting']);
const LOADING_RE = /loading/i;

/**
 * Applies CONTRACT §2 to a status code and (at most 64 KiB of) body: 2xx is up unless a JSON
 * `status` says otherwise or `model_loaded` is false (RT-DETR answers 200 "degraded"); a 503 that
 * says it is loading (llama.cpp "Loading model") or a JSON status loading/starting is loading.
 */
export function judgeHttpResponse(statusCode: number, body: string): HttpVerdict {
  const json = parseJsonObject(body);
  const rawStatus = typeof json?.status === 'string' ? json.status : undefined;
  const status = rawStatus?.toLowerCase();
  if (status !== undefined && LOADING_STATUSES.has(status)) return { state: 'loading', reason: `status ${short(rawStatus!)}` };
  if (statusCode >= 200 && statusCode < 300) {
    if (status !== undefined && !UP_STATUSES.has(status)) return { state: 'down', reason: `status ${short(rawStatus!)}` };
    if (json?.model_loaded === false) return { state: 'down', reason: 'model not loaded' };
    return { state: 'up', reason: `HTTP ${statusCode}` };
  }
  if (statusCode === 503) {
    const message = json ? errorMessage(json) : body.trim();
    if (message !== undefined && LOADING_RE.test(message)) return { state: 'loading', reason: short(message) };
  }
  return { state: 'down', reason: `HTTP ${statusCode}` };
}

/** The body as a JSON object, or undefined when it is not one (plain text, arrays, bad JSON). */
function parseJsonObject(body: string): Record<string, unknown> | undefined {
  // Cheap test first: most plain-text bodies ("OK") never reach JSON.parse.
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** llama.cpp shape: {"error":{"code":503,"message":"Loading model"}}. */
function errorMessage(json: Record<string, unknown>): string | undefined {
  const error = json.error as { message?: unknown } | null | undefined;
  return typeof error?.message === 'string' ? error.message : undefined;
}

/** First line, at most 100 characters: reasons are shown in a status line. */
function short(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}
