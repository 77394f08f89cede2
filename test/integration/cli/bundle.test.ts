// The CLI as users run it: dist/src-main/cli/warden.js, one file bundled by scripts/bundle-cli.mjs
// after tsc (issue 16). What the bundle must keep from the unbundled tree: each module finds what
// lies next to it in dist/ (the dashboard, the demo's scripts), and the demo's launcher is not
// mistaken for the program Node was started with.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceState } from '../../../src-shared/protocol.js';
import { Log } from '../../helpers/event-log.js';
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
    // The packages loaded on first use stay outside, so they cost nothing until then.
    expect(inputs.filter((i) => /node_modules\/(dockerode|dbus-next|undici|execa|nodemailer)\//.test(i))).toEqual([]);
    // zod's namespace re-exports its 63 translations; Warden speaks English (zod's default) only.
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
    // TMPDIR: the demo's folder (its stand-ins' pid files) lands in this test's folder.
    const env = { HOME: home, TMPDIR: home, XDG_CONFIG_HOME: path.join(home, 'cfg'), XDG_STATE_HOME: path.join(home, 'state'), PATH: process.env.PATH ?? '' };
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const lines = watchLines(child);
    try {
      const dashboard = new URL((await lines.until((l) => l.startsWith('Warden dashboard: '))).slice('Warden dashboard: '.length));
      const base = dashboard.origin;
      const auth = { authorization: `Bearer ${dashboard.hash.replace('#token=', '')}` };

      const page = await request(`${base}/`);
      expect(page.statusCode).toBe(200);
      expect(await page.body.text()).toBe(await fs.readFile(path.join(ROOT, 'dist', 'renderer', 'index.html'), 'utf8'));

      // Each status event is one JSON log line on stdout.
      const event = (service: string, message: string) => (l: string) => l.includes(`"service":"${service}"`) && l.includes(`"message":"${message}"`);
      await lines.until(event('rtdetr', 'Service responding normally (HTTP 200)'));
      const crash = await request(`${base}/api/demo/rtdetr/crash`, { method: 'POST', headers: { ...auth, origin: base } });
      expect(crash.statusCode).toBe(202);
      await crash.body.dump();
      await lines.until(event('rtdetr', 'Service restarted successfully'));
      const rtdetr = ((await (await request(`${base}/api/status`, { headers: auth })).body.json()) as { services: ServiceState[] }).services.find((s) => s.service === 'rtdetr');
      expect(rtdetr).toMatchObject({ status: 'healthy', restarts: 1 });

      const pids = await standInPids(home);
      expect(pids.length).toBe(3);
      child.kill('SIGTERM');
      expect(await lines.exited).toBe(0);
      // The stand-ins are no children of this test's, so there is no exit to await: ask until gone.
      await waitUntil(() => pids.every((p) => !isAlive(p)) || null, { timeoutMs: 60_000 });
    } finally {
      // Only if an assertion failed first: Warden's group, and each stand-in's own.
      killGroup(child.pid!);
      for (const pid of await standInPids(home)) killGroup(pid);
    }
  }, 120_000);
});

/** The pids in the demo's pid files (one per stand-in, each leading its own process group). */
async function standInPids(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const demo of (await fs.readdir(home)).filter((f) => f.startsWith('warden-demo-'))) {
    for (const f of (await fs.readdir(path.join(home, demo)).catch(() => [])).filter((n) => n.endsWith('.pid'))) {
      const pid = Number(await fs.readFile(path.join(home, demo, f), 'utf8').catch(() => ''));
      if (Number.isInteger(pid) && pid > 1) pids.push(pid);
    }
  }
  return pids;
}

/**
 * A child's stdout as lines, awaited as they come (the Log of the monitor tests); a wait fails,
 * with the child's stderr, once its output has ended without the line.
 */
function watchLines(child: ChildProcessByStdio<null, Readable, Readable>) {
  const lines = new Log<string>();
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // 'close' comes after the last of stdout, so no line is still on its way.
  const ended = new Promise<never>((_, reject) => child.once('close', () => reject(new Error(`warden's output ended before the line came; stderr: ${stderr || '(none)'}`))));
  ended.catch(() => undefined); // a wait that is not racing it must not make it unhandled
  return { exited, until: (match: (line: string) => boolean) => Promise.race([lines.next(match), ended]) };
}
