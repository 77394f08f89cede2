// Deep checks (CONTRACT §14) against real stand-ins of llama-server and the detector on loopback:
// presets, the generic form with the test image in resources/, busy slots skipped, hung ones not.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, resolveService, type ServiceConfigInput } from '../../../src-shared/config-schema.js';
import { DeepCheck, resolveDeepCheck } from '../../../src-main/core/probes/deep-check.js';
import { startStandIn, type StandIn, type StandInOptions } from '../../../src-main/demo/stand-in-service.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function standIn(opts: StandInOptions): Promise<StandIn> {
  const s = await startStandIn(opts);
  running.push(s);
  return s;
}

/** A DeepCheck for a service whose health URL is `healthUrl`, with this deepCheck config. */
function deepCheck(healthUrl: string, deep: Record<string, unknown>, workingDir = REPO): DeepCheck {
  const cfg = configSchema.parse({ services: [{ name: 'svc', healthUrl, restartCmd: null, deepCheck: deep } satisfies ServiceConfigInput] });
  const check = new DeepCheck(resolveDeepCheck(resolveService(cfg, cfg.services[0]!), workingDir)!);
  running.push(check);
  return check;
}

/** A loopback server that records each request (method, path, headers, body) and answers `reply`. */
async function recorder(reply: (req: IncomingMessage, body: Buffer) => { status: number; body: string }): Promise<{ url: string; seen: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }[] }> {
  const seen: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const r = reply(req, body);
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise<void>((resolve) => (srv.closeAllConnections(), srv.close(() => resolve()))) });
  const { port } = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

describe('the llama-completion preset', () => {
  it('sends a 1-token /completion to the health URL’s server and passes on a string content', async () => {
    const llm = await standIn({ kind: 'llm' });
    const result = await deepCheck(llm.healthUrl, { preset: 'llama-completion' }).run();
    expect(result).toMatchObject({ outcome: 'ok', reason: 'POST /completion: HTTP 200' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('fails with the server’s own error when the model is broken (500)', async () => {
    const llm = await standIn({ kind: 'llm', completions: 'fail' });
    expect(await deepCheck(llm.healthUrl, { preset: 'llama-completion' }).run()).toMatchObject({
      outcome: 'failed',
      reason: 'POST /completion: HTTP 500: CUDA error: an illegal memory access was encountered',
    });
  });

  it('fails once its own timeout passes when completions hang while /health says ok', async () => {
    const llm = await standIn({ kind: 'llm', completions: 'hang' });
    const result = await deepCheck(llm.healthUrl, { preset: 'llama-completion', timeout: 0.3 }).run();
    expect(result).toMatchObject({ outcome: 'failed', reason: 'POST /completion: no answer within 0.3 s' });
  });

  it('is skipped, not failed, while every slot is busy generating', async () => {
    const llm = await standIn({ kind: 'llm', slots: 2, busy: true, completions: 'fail' });
    const check = deepCheck(llm.healthUrl, { preset: 'llama-completion' });
    expect(await check.run()).toMatchObject({ outcome: 'skipped', reason: 'all 2 slots busy' });
    // Still busy, and still moving: still skipped; the broken completion is never sent.
    expect(await check.run()).toMatchObject({ outcome: 'skipped' });
    llm.update({ busy: false });
    expect(await check.run()).toMatchObject({ outcome: 'failed' });
  });

  it('runs anyway when the busy slots made no progress since the last look (hung, not busy)', async () => {
    const llm = await standIn({ kind: 'llm', completions: 'hang' });
    const check = deepCheck(llm.healthUrl, { preset: 'llama-completion', timeout: 0.3 });
    // A request of someone else's hangs in the only slot.
    const stuck = new AbortController();
    const pending = fetch(`${llm.url}/completion`, { method: 'POST', body: '{}', signal: stuck.signal }).catch(() => null);
    await waitForBusySlot(llm);
    expect(await check.run()).toMatchObject({ outcome: 'skipped', reason: 'all 1 slot busy' });
    expect(await check.run()).toMatchObject({ outcome: 'failed', reason: 'POST /completion: no answer within 0.3 s' });
    stuck.abort();
    await pending;
  });

  it('goes on to the completion when /slots is not there (disabled, or not llama.cpp)', async () => {
    const srv = await recorder((req) => (req.url === '/slots' ? { status: 501, body: '{"error":{"code":501,"message":"This server does not support slots endpoint."}}' } : { status: 200, body: '{"content":"x"}' }));
    expect(await deepCheck(`${srv.url}/health`, { preset: 'llama-completion' }).run()).toMatchObject({ outcome: 'ok' });
    expect(srv.seen.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /slots', 'POST /completion']);
    expect(JSON.parse(srv.seen[1]!.body.toString())).toMatchObject({ prompt: 'ping', n_predict: 1 });
    expect(srv.seen[1]!.headers['content-type']).toBe('application/json');
  });

  it('fails when content is missing or not a string', async () => {
    const srv = await recorder((req) => (req.url === '/slots' ? { status: 404, body: '' } : { status: 200, body: '{"content":7}' }));
    expect(await deepCheck(`${srv.url}/health`, { preset: 'llama-completion' }).run()).toMatchObject({ outcome: 'failed', reason: 'POST /completion: content is not a string' });
  });

  it('fails with the network error when nothing listens', async () => {
    const llm = await standIn({ kind: 'llm' });
    await llm.close();
    expect(await deepCheck(llm.healthUrl, { preset: 'llama-completion' }).run()).toMatchObject({ outcome: 'failed', reason: 'POST /completion: connection refused' });
  });
});

describe('the openai-chat preset', () => {
  it('posts a chat completion with max_tokens 1 and the configured model', async () => {
    const srv = await recorder((req) => (req.url === '/slots' ? { status: 404, body: '' } : { status: 200, body: '{"choices":[{"message":{"role":"assistant","content":""}}]}' }));
    expect(await deepCheck(`${srv.url}/health`, { preset: 'openai-chat', model: 'nemotron-30b', headers: { Authorization: 'Bearer k' } }).run()).toMatchObject({ outcome: 'ok', reason: 'POST /v1/chat/completions: HTTP 200' });
    // An --api-key server wants the key on /slots too.
    expect(srv.seen[0]).toMatchObject({ path: '/slots', headers: { authorization: 'Bearer k' } });
    expect(srv.seen[0]!.headers['content-type']).toBeUndefined();
    expect(JSON.parse(srv.seen[1]!.body.toString())).toEqual({ model: 'nemotron-30b', messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
  });

  it('passes against the llama-server stand-in and fails on an answer without choices', async () => {
    const llm = await standIn({ kind: 'llm' });
    expect(await deepCheck(llm.healthUrl, { preset: 'openai-chat' }).run()).toMatchObject({ outcome: 'ok' });
    const srv = await recorder(() => ({ status: 200, body: '{"choices":[]}' }));
    expect(await deepCheck(`${srv.url}/health`, { preset: 'openai-chat' }).run()).toMatchObject({ outcome: 'failed', reason: 'POST /v1/chat/completions: no choices.0 in the answer' });
  });
});

describe('a request of one’s own', () => {
  it('uploads the test image from resources/ as a multipart field to the detector', async () => {
    const detector = await standIn({ kind: 'detector' });
    const check = deepCheck(detector.healthUrl, { url: '/detect', file: { path: 'resources/deep-check/test-image.jpg', field: 'file' }, expect: { json: 'detections' } });
    expect(await check.run()).toMatchObject({ outcome: 'ok', reason: 'POST /detect: HTTP 200' });
    detector.update({ completions: 'fail' });
    expect(await check.run()).toMatchObject({ outcome: 'failed', reason: 'POST /detect: HTTP 500: CUDA error: an illegal memory access was encountered' });
  });

  it('sends a file as the raw body with its media type, and the configured headers', async () => {
    const srv = await recorder(() => ({ status: 200, body: '{"ok":true}' }));
    const check = deepCheck('redis://127.0.0.1:1', { url: `${srv.url}/infer?fast=1`, file: { path: path.join(REPO, 'resources/deep-check/test-image.jpg') }, headers: { 'X-Api-Key': 'k' } });
    expect(await check.run()).toMatchObject({ outcome: 'ok' });
    const [req] = srv.seen;
    expect(req).toMatchObject({ method: 'POST', path: '/infer?fast=1' });
    expect(req!.headers).toMatchObject({ 'content-type': 'image/jpeg', 'x-api-key': 'k', 'user-agent': 'warden-deep-check' });
    expect(req!.body.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff])); // a JPEG
  });

  it('sends JSON, and checks the status, the JSON path and that it is not empty', async () => {
    let answer = { status: 201, body: '{"result":{"labels":["car"]}}' };
    const srv = await recorder(() => answer);
    const check = deepCheck(`${srv.url}/health`, { url: '/v1/infer', body: { input: [1, 2] }, headers: { 'Content-Type': 'application/json; charset=utf-8' }, expect: { status: 201, json: 'result.labels', nonEmpty: true } });
    expect(await check.run()).toMatchObject({ outcome: 'ok', reason: 'POST /v1/infer: HTTP 201' });
    expect(JSON.parse(srv.seen[0]!.body.toString())).toEqual({ input: [1, 2] });
    expect(srv.seen[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    answer = { status: 200, body: '{"result":{"labels":["car"]}}' };
    expect(await check.run()).toMatchObject({ outcome: 'failed', reason: 'POST /v1/infer: HTTP 200 (expected 201)' });
    answer = { status: 201, body: '{"result":{"labels":[]}}' };
    expect(await check.run()).toMatchObject({ outcome: 'failed', reason: 'POST /v1/infer: result.labels is empty' });
    answer = { status: 201, body: 'not json' };
    expect(await check.run()).toMatchObject({ outcome: 'failed', reason: 'POST /v1/infer: the answer is not JSON' });
  });

  it('a GET with no expectations passes on any 2xx', async () => {
    const srv = await recorder(() => ({ status: 204, body: '' }));
    expect(await deepCheck(`${srv.url}/health`, { url: '/ready' }).run()).toMatchObject({ outcome: 'ok', reason: 'GET /ready: HTTP 204' });
    expect(srv.seen[0]!.method).toBe('GET');
  });

  it('is skipped, not failed, when its file cannot be read: a setting to fix, not a broken service', async () => {
    const detector = await standIn({ kind: 'detector' });
    const check = deepCheck(detector.healthUrl, { url: '/detect', file: { path: 'no/such.jpg', field: 'file' } }, '/tmp');
    expect(await check.run()).toMatchObject({ outcome: 'skipped', reason: 'not run: cannot read /tmp/no/such.jpg (ENOENT)' });
    expect(detector.requests()).toBe(0);
  });

  it('an abort ends it at once as failed', async () => {
    const llm = await standIn({ kind: 'llm', completions: 'hang' });
    const abort = new AbortController();
    const pending = deepCheck(llm.healthUrl, { url: '/completion', body: {} }).run(abort.signal);
    await waitForBusySlot(llm);
    abort.abort();
    expect(await pending).toMatchObject({ outcome: 'failed', reason: 'POST /completion: aborted' });
  });
});

async function waitForBusySlot(llm: StandIn): Promise<void> {
  for (;;) {
    const slots = (await (await fetch(`${llm.url}/slots`)).json()) as { is_processing: boolean }[];
    if (slots[0]!.is_processing) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
