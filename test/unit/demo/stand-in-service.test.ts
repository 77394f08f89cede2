import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandIn, type StandIn, type StandInOptions } from '../../../src-main/demo/stand-in-service.js';
import { waitUntil } from '../../helpers/process-tree.js';
import { freePort } from '../../helpers/stand-in.js';

const running: StandIn[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start(opts: StandInOptions): Promise<StandIn> {
  const s = await startStandIn(opts);
  running.push(s);
  return s;
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function post(url: string, body: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await res.text() };
}

/** The errno code under a fetch failure ("fetch failed" → cause ECONNREFUSED). */
async function fetchError(url: string): Promise<string> {
  try {
    await fetch(url);
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code);
  }
  throw new Error(`${url} answered`);
}

describe('stand-in service', () => {
  it('plain: answers 200 "ok" on /health at 127.0.0.1 on a free port', async () => {
    const s = await start({});
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(s.healthUrl).toBe(`${s.url}/health`);
    expect(s.kind).toBe('plain');
    expect(await get(s.healthUrl)).toEqual({ status: 200, type: 'text/plain', body: 'ok' });
    expect(await get(`${s.healthUrl}?probe=1`)).toMatchObject({ status: 200 });
  });

  it('detector: answers like RT-DETRv2 — 200 healthy, model loaded', async () => {
    const s = await start({ kind: 'detector' });
    const res = await get(s.healthUrl);
    expect(res).toMatchObject({ status: 200, type: 'application/json' });
    expect(JSON.parse(res.body)).toEqual({ status: 'healthy', model_loaded: true, device: 'cpu' });
  });

  it('detector --degraded: still 200, but status degraded and model_loaded false', async () => {
    const s = await start({ kind: 'detector', degraded: true });
    const res = await get(s.healthUrl);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'degraded', model_loaded: false });
  });

  it('detector with a load time: refuses connections while loading (it binds after loading)', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const loading = startStandIn({ kind: 'detector', port, loadSeconds: 1000, signal: controller.signal });
    expect(await fetchError(`http://127.0.0.1:${port}/health`)).toBe('ECONNREFUSED');
    controller.abort();
    await expect(loading).rejects.toThrow(/abort/i);
  });

  it('detector with a load time: listens once loaded, on the requested port', async () => {
    const port = await freePort();
    const s = await start({ kind: 'detector', port, loadSeconds: 0.2 });
    expect(s.port).toBe(port);
    expect((await get(s.healthUrl)).status).toBe(200);
  });

  it('llm: answers like llama-server when ready — 200 {"status":"ok"}', async () => {
    const s = await start({ kind: 'llm' });
    const res = await get(s.healthUrl);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('llm with a load time: 503 "Loading model" while loading', async () => {
    const s = await start({ kind: 'llm', loadSeconds: 1000 });
    const res = await get(s.healthUrl);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
  });

  it('llm with a load time: becomes ready once the load time has passed', async () => {
    const s = await start({ kind: 'llm', loadSeconds: 0.3 });
    await waitUntil(async () => (await get(s.healthUrl)).status === 200);
  });

  it.each([
    ['plain', 'not found'],
    ['detector', '{"detail":"Not Found"}'],
    ['llm', '{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}'],
  ] as const)('%s: other paths (even //health) are 404 like the real server', async (kind, body) => {
    const s = await start({ kind });
    expect(await get(`${s.url}//health`)).toMatchObject({ status: 404, body });
    expect((await get(`${s.url}/`)).status).toBe(404);
  });

  it('--hang: accepts the connection but never answers; close() drops it', async () => {
    const s = await start({ kind: 'llm', hang: true });
    const pending = fetch(s.healthUrl);
    await waitUntil(() => s.requests() === 1);
    await s.close();
    await expect(pending).rejects.toThrow();
  });

  it('update() turns a healthy detector degraded, then hung, then back', async () => {
    const s = await start({ kind: 'detector' });
    s.update({ degraded: true });
    expect(JSON.parse((await get(s.healthUrl)).body)).toMatchObject({ status: 'degraded' });
    s.update({ hang: true });
    const pending = fetch(s.healthUrl);
    await waitUntil(() => s.requests() === 2);
    s.update({ hang: false, degraded: false });
    expect(JSON.parse((await get(s.healthUrl)).body)).toMatchObject({ status: 'healthy' });
    s.update({});
    expect(s.requests()).toBe(3);
    await s.close();
    await expect(pending).rejects.toThrow();
  });

  it('llm: answers a 1-token /completion and an OpenAI chat completion like llama-server', async () => {
    const s = await start({ kind: 'llm' });
    const completion = await post(`${s.url}/completion`, JSON.stringify({ prompt: 'ping', n_predict: 1 }));
    expect(completion.status).toBe(200);
    expect(typeof JSON.parse(completion.body).content).toBe('string');
    const chat = await post(`${s.url}/v1/chat/completions`, JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }));
    expect(JSON.parse(chat.body)).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant' } }] });
    expect((await get(`${s.url}/completion`)).status).toBe(404); // GET is not a completion
  });

  it('llm: a broken model fails or hangs its completions while /health still says ok', async () => {
    const s = await start({ kind: 'llm', completions: 'fail' });
    expect(await get(s.healthUrl)).toMatchObject({ status: 200 });
    const failed = await post(`${s.url}/completion`, '{}');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).error.message).toMatch(/CUDA error/);
    s.update({ completions: 'hang' });
    const controller = new AbortController();
    const pending = fetch(`${s.url}/completion`, { method: 'POST', body: '{}', signal: controller.signal });
    // The hung request holds its slot, and makes no progress from one look to the next.
    await waitUntil(async () => JSON.parse((await get(`${s.url}/slots`)).body)[0].is_processing === true);
    const [first] = JSON.parse((await get(`${s.url}/slots`)).body);
    const [second] = JSON.parse((await get(`${s.url}/slots`)).body);
    expect(second.next_token[0].n_decoded).toBe(first.next_token[0].n_decoded);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitUntil(async () => JSON.parse((await get(`${s.url}/slots`)).body)[0].is_processing === false);
  });

  it('llm: --busy lists every slot processing, their generation moving at each look', async () => {
    const s = await start({ kind: 'llm', slots: 3, busy: true });
    const first = JSON.parse((await get(`${s.url}/slots`)).body) as { is_processing: boolean; next_token: { n_decoded: number }[] }[];
    const second = JSON.parse((await get(`${s.url}/slots`)).body) as typeof first;
    expect(first.map((slot) => slot.is_processing)).toEqual([true, true, true]);
    expect(second[0]!.next_token[0]!.n_decoded).toBeGreaterThan(first[0]!.next_token[0]!.n_decoded);
    s.update({ busy: false });
    expect(JSON.parse((await get(`${s.url}/slots`)).body).map((slot: { is_processing: boolean }) => slot.is_processing)).toEqual([false, false, false]);
  });

  it('llm: /slots and completions say "Loading model" while it loads', async () => {
    const s = await start({ kind: 'llm', loadSeconds: 60 });
    expect((await get(`${s.url}/slots`)).status).toBe(503);
    expect((await post(`${s.url}/completion`, '{}')).status).toBe(503);
  });

  it('detector: /detect wants a multipart upload in the field "file" (FastAPI UploadFile)', async () => {
    const s = await start({ kind: 'detector' });
    const form = new FormData();
    form.append('file', new Blob([Buffer.from([0xff, 0xd8, 0xff])], { type: 'image/jpeg' }), 'test.jpg');
    const ok = await fetch(`${s.url}/detect`, { method: 'POST', body: form });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { detections: unknown[] }).detections.length).toBeGreaterThan(0);
    const missing = await post(`${s.url}/detect`, '{}');
    expect(missing.status).toBe(422);
    s.update({ completions: 'fail' });
    expect((await fetch(`${s.url}/detect`, { method: 'POST', body: form })).status).toBe(500);
  });

  it('a break file hangs the model endpoints while it exists; a new instance removes it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stand-in-break-'));
    const breakFile = path.join(dir, 'break');
    await writeFile(breakFile, '');
    const s = await start({ kind: 'llm', breakFile });
    expect(existsSync(breakFile)).toBe(false); // a restart fixes it
    await writeFile(breakFile, '');
    const controller = new AbortController();
    const pending = fetch(`${s.url}/completion`, { method: 'POST', body: '{}', signal: controller.signal });
    await waitUntil(async () => JSON.parse((await get(`${s.url}/slots`)).body)[0].is_processing === true);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await rm(breakFile);
    expect((await post(`${s.url}/completion`, '{}')).status).toBe(200);
    await rm(dir, { recursive: true, force: true });
  });

  it('close() frees the port even with keep-alive connections open', async () => {
    const s = await start({});
    await get(s.healthUrl); // fetch keeps the connection alive
    await s.close();
    expect(await fetchError(s.healthUrl)).toBe('ECONNREFUSED');
  });
});
