// The pure parts of a deep check (CONTRACT §14): resolving the config, judging an answer, reading /slots.
import { describe, expect, it } from 'vitest';
import { configSchema, resolveService } from '../../../src-shared/config-schema.js';
import { judgeDeepAnswer, readSlots, resolveDeepCheck, type DeepExpect } from '../../../src-main/core/probes/deep-check.js';

function spec(deepCheck: Record<string, unknown>, healthUrl = 'http://127.0.0.1:8091/health') {
  const cfg = configSchema.parse({ services: [{ name: 's', healthUrl, restartCmd: null, deepCheck }] });
  return resolveDeepCheck(resolveService(cfg, cfg.services[0]!), '/srv/warden');
}

describe('resolveDeepCheck', () => {
  it('a service without one has none', () => {
    const cfg = configSchema.parse({ services: [{ name: 's', healthUrl: 'http://127.0.0.1:1/health', restartCmd: null }] });
    expect(resolveDeepCheck(resolveService(cfg, cfg.services[0]!), '/')).toBeNull();
  });

  it('llama-completion: /completion and /slots on the health URL’s server, a string content expected', () => {
    expect(spec({ preset: 'llama-completion' }, 'http://127.0.0.1:8091/v1/health')).toEqual({
      url: 'http://127.0.0.1:8091/completion',
      method: 'POST',
      body: { kind: 'json', text: JSON.stringify({ prompt: 'ping', n_predict: 1, cache_prompt: true }) },
      headers: {},
      expect: { status: null, json: 'content', nonEmpty: false, type: 'string' },
      slotsUrl: 'http://127.0.0.1:8091/slots',
      intervalMs: 300_000,
      timeoutMs: 30_000,
      label: 'POST /completion',
    });
  });

  it('a preset may move to another URL and have its expectations replaced', () => {
    const s = spec({ preset: 'openai-chat', url: 'http://127.0.0.1:9000/v1/chat/completions', expect: { json: 'choices.0.message.content', nonEmpty: true } });
    expect(s).toMatchObject({ url: 'http://127.0.0.1:9000/v1/chat/completions', slotsUrl: 'http://127.0.0.1:9000/slots', expect: { status: null, json: 'choices.0.message.content', nonEmpty: true, type: null } });
    // No model configured, none sent: llama.cpp and Ollama take the loaded one.
    expect(JSON.parse((s!.body as { text: string }).text)).toEqual({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
  });

  it('the generic form: a relative file from workingDir, its type from the extension, header names lower-cased, no /slots look', () => {
    expect(spec({ url: '/detect', file: { path: 'resources/deep-check/test-image.jpg', field: 'file' }, headers: { 'X-Key': 'k' } })).toMatchObject({
      url: 'http://127.0.0.1:8091/detect',
      method: 'POST',
      body: { kind: 'file', path: '/srv/warden/resources/deep-check/test-image.jpg', field: 'file', type: 'image/jpeg' },
      headers: { 'x-key': 'k' },
      expect: { status: null, json: null, nonEmpty: false, type: null },
      slotsUrl: null,
    });
    expect(spec({ url: '/x', file: { path: '/data/frame.bin' } })?.body).toEqual({ kind: 'file', path: '/data/frame.bin', field: null, type: 'application/octet-stream' });
    expect(spec({ url: '/x', file: { path: 'a.png', type: 'image/x-custom' } })?.body).toMatchObject({ type: 'image/x-custom' });
    expect(spec({ url: '/ready' })).toMatchObject({ method: 'GET', body: null, label: 'GET /ready' });
    expect(spec({ url: '/infer', method: 'POST' })).toMatchObject({ method: 'POST', body: null });
  });
});

describe('judgeDeepAnswer', () => {
  const any2xx: DeepExpect = { status: null, json: null, nonEmpty: false, type: null };

  it('says why an error answer failed, from llama.cpp’s, FastAPI’s or a plain body', () => {
    expect(judgeDeepAnswer(any2xx, 200, '')).toBeNull();
    expect(judgeDeepAnswer(any2xx, 503, '{"error":{"code":503,"message":"Loading model"}}')).toBe('HTTP 503: Loading model');
    expect(judgeDeepAnswer(any2xx, 422, '{"detail":[{"loc":["body","file"],"msg":"Field required"}]}')).toBe('HTTP 422: [{"loc":["body","file"],"msg":"Field required"}]');
    expect(judgeDeepAnswer(any2xx, 500, '{"error":"boom"}')).toBe('HTTP 500: boom');
    expect(judgeDeepAnswer(any2xx, 502, 'Bad Gateway\nnginx')).toBe('HTTP 502: Bad Gateway');
    expect(judgeDeepAnswer(any2xx, 500, '')).toBe('HTTP 500');
    expect(judgeDeepAnswer(any2xx, 500, `{"message":"${'x'.repeat(300)}"}`)).toMatch(/^HTTP 500: x{117}\.\.\.$/);
  });

  it('follows a dot path through objects and arrays', () => {
    const e: DeepExpect = { status: null, json: 'choices.0.message', nonEmpty: true, type: null };
    expect(judgeDeepAnswer(e, 200, '{"choices":[{"message":{"content":"hi"}}]}')).toBeNull();
    expect(judgeDeepAnswer(e, 200, '{"choices":[{"message":{}}]}')).toBe('choices.0.message is empty');
    expect(judgeDeepAnswer(e, 200, '{"choices":"none"}')).toBe('no choices.0.message in the answer');
    expect(judgeDeepAnswer(e, 200, '{"choices":[{"message":null}]}')).toBe('no choices.0.message in the answer');
    expect(judgeDeepAnswer({ ...e, json: 'n' }, 200, '{"n":0}')).toBeNull(); // a number is never empty
    // Own fields only: nothing found through the prototype chain or an array's length.
    expect(judgeDeepAnswer({ ...e, json: 'constructor' }, 200, '{}')).toBe('no constructor in the answer');
    expect(judgeDeepAnswer({ ...e, json: 'items.length' }, 200, '{"items":[]}')).toBe('no items.length in the answer');
  });

  it('nonEmpty without a path applies to the whole body', () => {
    const e: DeepExpect = { status: 200, json: null, nonEmpty: true, type: null };
    expect(judgeDeepAnswer(e, 200, 'pong')).toBeNull();
    expect(judgeDeepAnswer(e, 200, '  ')).toBe('the answer is empty');
  });
});

describe('readSlots', () => {
  const slot = (busy: boolean, decoded: number) => ({ id: 0, id_task: busy ? 7 : -1, is_processing: busy, next_token: [{ n_decoded: decoded }] });

  it('every slot busy, with a signature of how far each got', () => {
    const a = readSlots(200, JSON.stringify([slot(true, 3), slot(true, 9)]));
    const b = readSlots(200, JSON.stringify([slot(true, 4), slot(true, 9)]));
    expect(a).toMatchObject({ allBusy: true, count: 2 });
    expect(a!.progress).not.toBe(b!.progress);
    expect(readSlots(200, JSON.stringify([slot(true, 3), slot(false, 0)]))).toMatchObject({ allBusy: false });
  });

  it('reads next_token as an object too (llama.cpp before early 2025): its n_decoded moves', () => {
    const look = (decoded: number) => readSlots(200, JSON.stringify([{ id: 0, id_task: 7, is_processing: true, n_past: 40 + decoded, next_token: { has_next_token: true, n_decoded: decoded } }]));
    expect(look(10)!.progress).not.toBe(look(50)!.progress);
    expect(look(10)).toMatchObject({ allBusy: true, count: 1 });
  });

  it('reads older llama.cpp too: state 1 is processing, n_decoded at the top', () => {
    expect(readSlots(200, JSON.stringify([{ id: 0, state: 1, n_decoded: 5 }]))).toEqual({ allBusy: true, count: 1, progress: 'undefined:undefined:5' });
    expect(readSlots(200, JSON.stringify([{ id: 0, state: 0 }]))).toEqual({ allBusy: false, count: 1, progress: null });
  });

  it('anything but a list of slots is no answer: the check simply runs', () => {
    for (const [status, body] of [[501, '{}'], [200, 'not json'], [200, '{"slots":[]}'], [200, '[]'], [200, '[1]']] as const) expect(readSlots(status, body)).toBeNull();
  });
});
