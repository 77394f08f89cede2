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

  it('close() frees the port even with keep-alive connections open', async () => {
    const s = await start({});
    await get(s.healthUrl); // fetch keeps the connection alive
    await s.close();
    expect(await fetchError(s.healthUrl)).toBe('ECONNREFUSED');
  });
});
