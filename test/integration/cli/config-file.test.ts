// The config file is the source of truth (CONTRACT §10), against the real `warden serve` process:
// a hand edit saved the way editors save (temp file, then rename over) is picked up and applied;
// an invalid one is refused, said so on the WebSocket, and the running config stays; a dashboard
// save with a stale If-Match gets 412 instead of overwriting the hand edit.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../../src-shared/protocol.js';
import { killGroup, waitUntil } from '../../helpers/process-tree.js';
import { openWs } from '../../helpers/server-harness.js';

const TOKEN = 'd'.repeat(64);
let dir: string;
const cleanup: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-cfgfile-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await fs.rm(dir, { recursive: true, force: true });
});

const service = (name: string) => ({ name, healthUrl: 'tcp://127.0.0.1:1', restartCmd: null });

async function start(config: object) {
  const file = path.join(dir, 'config.json');
  await fs.writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  const env = { XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), HOME: dir, PATH: process.env.PATH ?? '', WARDEN_TOKEN: TOKEN };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/warden.ts', 'serve', '--config', file, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  cleanup.push(() => killGroup(child.pid!));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const url = new URL((await waitUntil(() => /Warden dashboard: (\S+)/.exec(out), { timeoutMs: 30_000 }))[1]!);
  const api = async (method: 'GET' | 'PUT', route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${url.origin}${route}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, etag: res.headers.etag as string | undefined, body: (await res.body.json()) as Record<string, unknown> };
  };
  return { file, port: Number(url.port), api, log: () => out, child };
}

/** Save the way editors do: write a temp file beside it, then rename it over the old one. */
async function editorSave(file: string, text: string): Promise<void> {
  const tmp = `${file}.swp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

const names = (body: Record<string, unknown>) => (body.services as { service: string }[]).map((s) => s.service);

describe('the config file is the source of truth', () => {
  it('applies a hand edit saved by rename, refuses an invalid one (the running config stays), and a stale If-Match gets 412', async () => {
    const w = await start({ healthCheckInterval: 0.5, services: [service('alpha')] });
    const first = await w.api('GET', '/api/settings');
    expect(first.status).toBe(200);
    expect(first.etag).toMatch(/^"[0-9a-f]{32}"$/);

    // A valid hand edit: applied live.
    await editorSave(w.file, `${JSON.stringify({ healthCheckInterval: 0.5, services: [service('alpha'), service('beta')] }, null, 2)}\n`);
    await waitUntil(async () => names((await w.api('GET', '/api/status')).body).includes('beta'), { timeoutMs: 20_000 });
    const edited = await w.api('GET', '/api/settings');
    expect(edited.etag).not.toBe(first.etag);
    expect((edited.body.services as { name: string }[]).map((s) => s.name)).toEqual(['alpha', 'beta']);

    // A dashboard still holding the first version cannot overwrite the edit.
    const stale = await w.api('PUT', '/api/settings', { ...first.body, healthCheckInterval: 2 }, { 'if-match': first.etag! });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toBe('changed on disk');
    expect(JSON.parse(await fs.readFile(w.file, 'utf8')).services).toHaveLength(2);

    // An invalid hand edit: refused, said so live, the file left as the user wrote it.
    const { ws, inbox } = await openWs(w.port, TOKEN);
    cleanup.push(() => ws.close());
    await inbox.next((m) => m.type === 'snapshot');
    const bad = '{"healthCheckInterval": -1, "services": []}\n';
    await editorSave(w.file, bad);
    const notice = await inbox.next<Extract<ServerMessage, { type: 'config' }>>((m) => m.type === 'config');
    expect(notice).toMatchObject({ status: 'invalid', message: 'config.json: healthCheckInterval: must be greater than 0 (seconds)' });
    expect(names((await w.api('GET', '/api/status')).body)).toEqual(['alpha', 'beta']);
    expect(await fs.readFile(w.file, 'utf8')).toBe(bad);
    expect(w.log()).toMatch(/"msg":"config file changed on disk but cannot be used; the running config stays"/);
    // A client that connects now sees the standing problem in its snapshot.
    const late = await openWs(w.port, TOKEN);
    cleanup.push(() => late.ws.close());
    expect((await late.inbox.next((m) => m.type === 'snapshot')) as { configProblem?: string }).toMatchObject({ configProblem: notice.message });

    // Fixing it by hand applies it and clears the problem.
    await editorSave(w.file, `${JSON.stringify({ healthCheckInterval: 0.5, services: [service('gamma')] })}\n`);
    expect(await inbox.next((m) => m.type === 'config')).toMatchObject({ status: 'applied' });
    await waitUntil(async () => names((await w.api('GET', '/api/status')).body).join() === 'gamma', { timeoutMs: 20_000 });

    // A save with the current ETag goes through; its own write is the version the API reports.
    const current = await w.api('GET', '/api/settings');
    const saved = await w.api('PUT', '/api/settings', { ...current.body, healthCheckInterval: 3 }, { 'if-match': current.etag! });
    expect(saved.status).toBe(200);
    expect(saved.etag).not.toBe(current.etag);
    expect((await w.api('GET', '/api/settings')).etag).toBe(saved.etag);
    expect(JSON.parse(await fs.readFile(w.file, 'utf8')).healthCheckInterval).toBe(3);
    w.child.kill('SIGTERM');
  });
});
