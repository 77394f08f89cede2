import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Agent, Dispatcher } from 'undici';
import { load } from '../lazy-modules.js';
import type { DeepCheckPreset, ResolvedService } from '../../../src-shared/config-schema.js';
import { startDeadline } from './deadline.js';
import { describeNetworkError } from './probe-result.js';
import { requestText } from './request-text.js';

/** A deep check's answer is read up to this much: a 1-token completion is small, a detector's answer too. */
export const MAX_DEEP_BODY_BYTES = 1024 * 1024;

/** What to expect of the answer. */
export interface DeepExpect {
  /** The status it must have; null: any 2xx. */
  status: number | null;
  /** A dot path into the JSON answer that must be there; null: the body need not be JSON. */
  json: string | null;
  /** The value at `json` (or the whole body) must not be empty. */
  nonEmpty: boolean;
  /** The value at `json` must be of this type (the llama-completion preset: a string `content`). */
  type: 'string' | null;
}

/** A deep check ready to run: every default and preset folded in, every URL absolute. */
export interface DeepCheckSpec {
  url: string;
  method: 'GET' | 'POST';
  body: { kind: 'json'; text: string } | { kind: 'file'; path: string; field: string | null; type: string } | null;
  headers: Record<string, string>;
  expect: DeepExpect;
  /** llama.cpp's `GET /slots`: when every slot is busy the check is skipped, not failed (CONTRACT §14). */
  slotsUrl: string | null;
  intervalMs: number;
  timeoutMs: number;
  /** "POST /completion": how the card and the reasons name it. */
  label: string;
}

/** One run's outcome: ok, failed (the service is unhealthy) or skipped (busy, or not runnable). */
export interface DeepOutcome {
  outcome: 'ok' | 'failed' | 'skipped';
  reason: string;
  latencyMs: number;
}

const PRESETS: Readonly<Record<DeepCheckPreset, { path: string; body: (model: string | undefined) => unknown; expect: DeepExpect }>> = {
  'llama-completion': {
    path: '/completion',
    body: () => ({ prompt: 'ping', n_predict: 1, cache_prompt: true }),
    expect: { status: null, json: 'content', nonEmpty: false, type: 'string' },
  },
  'openai-chat': {
    path: '/v1/chat/completions',
    // Without a model, none is sent: llama.cpp and Ollama's /v1 take the loaded one; vLLM wants its served name.
    body: (model) => ({ ...(model ? { model } : {}), messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }),
    expect: { status: null, json: 'choices.0', nonEmpty: false, type: null },
  },
};

const TYPES: Readonly<Record<string, string>> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.json': 'application/json' };

/**
 * A service's deep check as it runs (null: it has none). A path in `url`, and a preset, go to the
 * server its health URL names; a relative file path is read from `workingDir`, where restart
 * commands run (by default the folder that holds ai/ and resources/).
 */
export function resolveDeepCheck(svc: ResolvedService, workingDir: string): DeepCheckSpec | null {
  const d = svc.deepCheck;
  if (!d) return null;
  const preset = d.preset ? PRESETS[d.preset] : null;
  // Config validation makes sure there is an http(s) URL to resolve against.
  const url = new URL(d.url ?? preset!.path, /^https?:/i.test(svc.healthUrl) ? svc.healthUrl : undefined).href;
  let body: DeepCheckSpec['body'] = null;
  if (preset) body = { kind: 'json', text: JSON.stringify(preset.body(d.model)) };
  else if (d.file) body = { kind: 'file', path: path.resolve(workingDir, d.file.path), field: d.file.field ?? null, type: d.file.type ?? TYPES[path.extname(d.file.path).toLowerCase()] ?? 'application/octet-stream' };
  else if (d.body !== undefined) body = { kind: 'json', text: JSON.stringify(d.body) };
  const method = d.method ?? (body ? 'POST' : 'GET');
  const expect: DeepExpect = {
    status: d.expect?.status ?? preset?.expect.status ?? null,
    json: d.expect?.json ?? preset?.expect.json ?? null,
    nonEmpty: d.expect?.nonEmpty ?? preset?.expect.nonEmpty ?? false,
    type: d.expect?.json === undefined ? (preset?.expect.type ?? null) : null,
  };
  return {
    url,
    method,
    body,
    // Lower-case names: the defaults below must not sit beside a "Content-Type" of the config's.
    headers: Object.fromEntries(Object.entries(d.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    expect,
    slotsUrl: preset ? new URL('/slots', url).href : null,
    intervalMs: d.interval * 1000,
    timeoutMs: d.timeout * 1000,
    label: `${method} ${new URL(url).pathname}`,
  };
}

/** Why the answer is not what was expected, or null when it is. */
export function judgeDeepAnswer(expect: DeepExpect, status: number, body: string): string | null {
  if (expect.status !== null ? status !== expect.status : status < 200 || status > 299) {
    // An error answer says why; a success with the wrong code says nothing more.
    const detail = status >= 200 && status < 300 ? '' : errorDetail(body);
    return `HTTP ${status}${expect.status !== null ? ` (expected ${expect.status})` : ''}${detail ? `: ${detail}` : ''}`;
  }
  let value: unknown = body;
  if (expect.json !== null) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return 'the answer is not JSON';
    }
    value = at(doc, expect.json);
    if (value === undefined || value === null) return `no ${expect.json} in the answer`;
    if (expect.type !== null && typeof value !== expect.type) return `${expect.json} is not a ${expect.type}`;
  }
  if (expect.nonEmpty && isEmpty(value)) return `${expect.json ?? 'the answer'} is empty`;
  return null;
}

/** `a.0.b` into a JSON document: numbers index arrays. */
function at(doc: unknown, dotPath: string): unknown {
  let value = doc;
  for (const key of dotPath.split('.')) {
    // Own fields only: "constructor" or an array's "length" is not in the answer.
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key) || (Array.isArray(value) && !/^\d+$/.test(key))) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function isEmpty(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0;
  return false;
}

/** llama.cpp's and FastAPI's error shapes, else the body's first line; at most 120 characters. */
function errorDetail(body: string): string {
  let text = body.trim().split('\n', 1)[0] ?? '';
  try {
    const doc = JSON.parse(body) as { error?: { message?: unknown } | string; detail?: unknown; message?: unknown };
    const message = typeof doc.error === 'object' ? doc.error?.message : (doc.error ?? doc.detail ?? doc.message);
    if (typeof message === 'string') text = message;
    else if (message !== undefined) text = JSON.stringify(message);
  } catch {
    // not JSON: the first line says it
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * What llama.cpp's `/slots` says: every slot busy (a busy server is slow, not dead, so the check
 * is skipped), with a signature of how far each got — one that does not move between two looks
 * is stuck, not busy. Null when the answer is not a list of slots (disabled: 501, not llama.cpp: 404).
 */
export function readSlots(status: number, body: string): { allBusy: boolean; count: number; progress: string | null } | null {
  if (status !== 200) return null;
  let slots: unknown;
  try {
    slots = JSON.parse(body);
  } catch {
    return null;
  }
  if (!Array.isArray(slots) || slots.length === 0) return null;
  let allBusy = true;
  let known = false;
  const marks: string[] = [];
  for (const raw of slots as Record<string, unknown>[]) {
    if (typeof raw !== 'object' || raw === null) return null;
    // Newer llama.cpp: is_processing; older: state (0 idle, 1 processing).
    const busy = raw.is_processing === true || (raw.is_processing === undefined && typeof raw.state === 'number' && raw.state !== 0);
    if (!busy) allBusy = false;
    // next_token: an array in newer llama.cpp, an object before (early 2025).
    const next = (Array.isArray(raw.next_token) ? raw.next_token[0] : raw.next_token) as Record<string, unknown> | undefined;
    const decoded = (typeof next === 'object' && next !== null ? next.n_decoded : undefined) ?? raw.n_decoded;
    const prompt = raw.n_prompt_tokens_processed ?? raw.n_past;
    if (decoded !== undefined || prompt !== undefined) known = true;
    marks.push(`${String(raw.id_task)}:${String(prompt)}:${String(decoded)}`);
  }
  return { allBusy, count: slots.length, progress: known ? marks.join('|') : null };
}

/**
 * Runs one service's deep check (CONTRACT §14): for a llama.cpp preset a look at `/slots` first,
 * then the request, all within `timeoutMs`. Never throws.
 */
export class DeepCheck {
  /** Built (and undici loaded) at the first run. */
  private agent: Agent | null = null;
  /** The busy slots' progress at the last look that skipped: the same again means stuck. */
  private lastProgress: string | null = null;

  constructor(readonly spec: DeepCheckSpec) {}

  run(signal?: AbortSignal): Promise<DeepOutcome> {
    const started = performance.now();
    const done = (outcome: DeepOutcome['outcome'], reason: string): DeepOutcome => ({ outcome, reason, latencyMs: Math.max(0, Math.round(performance.now() - started)) });
    return new Promise<DeepOutcome>((resolve) => {
      const abort = new AbortController();
      const deadline = startDeadline(this.spec.timeoutMs, signal, (reason) => {
        abort.abort(new Error(reason));
        resolve(done('failed', `${this.spec.label}: ${reason === 'aborted' ? 'aborted' : `no answer within ${this.spec.timeoutMs / 1000} s`}`));
      });
      this.attempt(abort.signal, done).then(
        (outcome) => {
          deadline.dispose();
          resolve(outcome);
        },
        /* c8 ignore next 4 -- attempt() turns every failure into an outcome; a bug must still not hang the probe */
        (err: unknown) => {
          deadline.dispose();
          resolve(done('failed', `${this.spec.label}: ${describeNetworkError(err)}`));
        },
      );
    });
  }

  private async attempt(signal: AbortSignal, done: (o: DeepOutcome['outcome'], reason: string) => DeepOutcome): Promise<DeepOutcome> {
    const { spec } = this;
    if (spec.slotsUrl) {
      // With the request's headers (an --api-key server wants them on /slots too), less its body's type.
      const { 'content-type': _type, ...headers } = spec.headers;
      const slots = await this.fetch(spec.slotsUrl, { method: 'GET', headers }, signal).then((r) => readSlots(r.status, r.body), () => null);
      if (signal.aborted) return done('failed', 'aborted');
      if (slots?.allBusy) {
        const stuck = slots.progress !== null && slots.progress === this.lastProgress;
        this.lastProgress = slots.progress;
        // Busy: slow, not dead. Busy the same way as last time: hung, and the request will tell.
        if (!stuck) return done('skipped', `all ${slots.count} slot${slots.count === 1 ? '' : 's'} busy`);
      } else this.lastProgress = null;
    }
    let body: Dispatcher.DispatchOptions['body'] = null;
    const headers: Record<string, string> = { 'user-agent': 'warden-deep-check', ...spec.headers };
    if (spec.body?.kind === 'json') {
      body = spec.body.text;
      headers['content-type'] ??= 'application/json';
    } else if (spec.body?.kind === 'file') {
      let bytes: Buffer;
      try {
        bytes = await readFile(spec.body.path);
      } catch (err) {
        // A missing test file is a setting to fix, not a broken service: never restart for it.
        return done('skipped', `not run: cannot read ${spec.body.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      if (spec.body.field) {
        const form = new (load.undici().FormData)();
        form.append(spec.body.field, new Blob([new Uint8Array(bytes)], { type: spec.body.type }), path.basename(spec.body.path));
        body = form;
      } else {
        body = bytes;
        headers['content-type'] ??= spec.body.type;
      }
    }
    try {
      const answer = await this.fetch(spec.url, { method: spec.method, body, headers }, signal);
      const problem = judgeDeepAnswer(spec.expect, answer.status, answer.body);
      return problem === null ? done('ok', `${spec.label}: HTTP ${answer.status}`) : done('failed', `${spec.label}: ${problem}`);
    } catch (err) {
      return done('failed', `${spec.label}: ${describeNetworkError(err)}`);
    }
  }

  /** One request, its body read up to MAX_DEEP_BODY_BYTES. */
  private fetch(url: string, opts: Pick<Dispatcher.RequestOptions, 'method' | 'body' | 'headers'>, signal: AbortSignal): Promise<{ status: number; body: string }> {
    this.agent ??= new (load.undici().Agent)({ keepAliveTimeout: 4000, connections: 2 });
    return requestText(this.agent, url, { ...opts, signal }, MAX_DEEP_BODY_BYTES);
  }

  /** Closes its connections; a check in flight ends as failed. */
  async close(): Promise<void> {
    await this.agent?.destroy();
  }
}
