// The CLI as users run it: dist/src-main/cli/warden.js, one file bundled by scripts/bundle-cli.mjs
// after tsc (issue 16). What the bundle must keep from the unbundled tree: each module finds what
// lies next to it in dist/ (the dashboard, the demo's scripts), and the demo's launcher is not
// mistaken for the program Node was started with.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { isAlive, killGroup, waitUntil } from '../../helpers/process-tree.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'dist', 'src-main', 'cli', 'warden.js');
const BUILT = [BIN, path.join(ROOT, 'dist', 'renderer', 'index.html'), path.join(ROOT, 'dist', 'src-main', 'demo', 'launch-detached.js')];
/** Loaded on first use (src-main/core/lazy-modules.ts), so left outside; ws's optional natives. */
const OUTSIDE = ['dockerode', 'dbus-next', 'undici', 'execa', 'nodemailer', 'bufferutil', 'utf-8-validate'];

/** The part of esbuild's metafile read here. */
interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }>; imports: { path: string; kind: string; external?: boolean }[] }>;
}

let bundle: string;
let dir: string;
beforeAll(async () => {
  // `npm test` builds first; a lone run of this file builds if the output is missing.
  const missing = await Promise.all(BUILT.map((f) => fs.access(f).then(() => false, () => true)));
  if (missing.some(Boolean)) await execa('npm', ['run', 'build'], { cwd: ROOT });
  bundle = await fs.readFile(BIN, 'utf8');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-bundle-'));
}, 180_000);
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('the bundled CLI (dist/src-main/cli/warden.js)', () => {
  it('holds all of Warden and its eager packages: it imports nothing but Node modules and the packages loaded on first use', async () => {
    expect(bundle.startsWith('#!/usr/bin/env node\n')).toBe(true);
    // esbuild's own account of this bundle, written beside it by scripts/bundle-cli.mjs.
    const meta = JSON.parse(await fs.readFile(`${BIN}.meta.json`, 'utf8')) as Metafile;
    const output = meta.outputs['dist/src-main/cli/warden.js']!;
    expect(output.bytes).toBe(Buffer.byteLength(bundle));
    expect(output.imports.length).toBeGreaterThan(10);
    expect(output.imports.filter((i) => !i.external || !(isBuiltin(i.path) || OUTSIDE.includes(i.path)))).toEqual([]);
    const inputs = Object.entries(output.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([file]) => file);
    expect(inputs).toContain('src-main/core/warden.ts');
    // zod's namespace re-exports its 50 translations; Warden speaks English (zod's default) only.
    const locales = inputs.filter((i) => i.includes('/zod/v4/locales/'));
    expect(locales).toEqual(['node_modules/zod/v4/locales/en.js']);
  });

  it('rejects a bad config as the unbundled CLI does, naming the field', async () => {
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, '{"healthCheckInterval": "often", "services": []}');
    const err = await execa(process.execPath, [BIN, 'config', 'validate', file], { reject: false });
    expect(err).toMatchObject({ exitCode: 2, stderr: 'bad.json: healthCheckInterval: must be a number of seconds' });
  });

  it('serves the built dashboard, restarts a crashed demo service through the demo launcher in dist/, and exits 0 on SIGTERM with the stand-ins gone', async () => {
    const home = await fs.mkdtemp(path.join(dir, 'home-'));
    const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'cfg'), XDG_STATE_HOME: path.join(home, 'state'), PATH: process.env.PATH ?? '' };
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const line = await waitUntil(() => /Warden dashboard: (\S+)/.exec(out), { timeoutMs: 30_000 });
      const dashboard = new URL(line[1]!);
      const base = dashboard.origin;
      const auth = { authorization: `Bearer ${dashboard.hash.replace('#token=', '')}` };

      const page = await request(`${base}/`);
      expect(page.statusCode).toBe(200);
      expect(await page.body.text()).toBe(await fs.readFile(path.join(ROOT, 'dist', 'renderer', 'index.html'), 'utf8'));

      const statuses = async () => ((await (await request(`${base}/api/status`, { headers: auth })).body.json()) as { services: ServiceState[] }).services;
      const rtdetr = async () => (await statuses()).find((s) => s.service === 'rtdetr');
      const standIns = await waitUntil(async () => {
        const all = await statuses();
        return all.length === 3 && all.every((s) => s.status === 'healthy') ? all : null;
      }, { timeoutMs: 30_000 });
      expect(standIns.map((s) => s.service).sort()).toEqual(['nemotron', 'redis', 'rtdetr']);

      const crash = await request(`${base}/api/demo/rtdetr/crash`, { method: 'POST', headers: { ...auth, origin: base } });
      expect(crash.statusCode).toBe(202);
      await waitUntil(async () => ((await rtdetr())?.restarts ?? 0) >= 1 && (await rtdetr())?.status === 'healthy', { timeoutMs: 60_000 });
      const history = (await (await request(`${base}/api/services/rtdetr/history`, { headers: auth })).body.json()) as { events: ServiceStatusEvent[] };
      expect(history.events.map((e) => e.message)).toContain('Service restarted successfully');

      // The stand-ins run in Warden's process group unless the launcher detached them; find them
      // by their pid files in the demo's folder, named in the log.
      const demoDir = /"dir":"([^"]+)"/.exec(out)?.[1];
      expect(demoDir).toBeDefined();
      const pids = (await Promise.all((await fs.readdir(demoDir!)).filter((f) => f.endsWith('.pid')).map(async (f) => Number(await fs.readFile(path.join(demoDir!, f), 'utf8'))))).filter((p) => p > 0);
      expect(pids.length).toBeGreaterThan(0);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      await waitUntil(() => pids.every((p) => !isAlive(p)) || null, { timeoutMs: 10_000 });
    } finally {
      killGroup(child.pid!); // only if an assertion failed before it stopped
    }
  }, 120_000);
});
