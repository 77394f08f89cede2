// Packaging check, offline: electron-builder lays out the Linux app (`--linux dir`) around a
// stand-in Electron (a shell script named `electron`: the real binary cannot be downloaded here).
// This checks what goes into the package — not the app itself, which needs a real Electron.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asar from '@electron/asar';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUNDLES = ['dist/src-main/electron/main.js', 'dist/preload/preload.cjs', 'dist/renderer/index.html'];

let tmp: string;
let resources: string;
let entries: string[];

beforeAll(async () => {
  // `npm test` builds first; a lone run of this file builds if the bundles are missing.
  const missing = await Promise.all(BUNDLES.map((f) => fs.access(path.join(ROOT, f)).then(() => false, () => true)));
  if (missing.some(Boolean)) await execa('npm', ['run', 'build'], { cwd: ROOT });

  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-pack-'));
  const electronDist = path.join(tmp, 'electron-dist');
  await fs.mkdir(electronDist);
  await fs.writeFile(path.join(electronDist, 'electron'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const out = path.join(tmp, 'out');
  await execa('npx', ['electron-builder', '--linux', 'dir', `-c.electronDist=${electronDist}`, `-c.directories.output=${out}`, '--publish', 'never'], {
    cwd: ROOT,
    env: { ELECTRON_SKIP_BINARY_DOWNLOAD: '1', CI: 'true' },
    timeout: 120_000,
  });
  resources = path.join(out, 'linux-unpacked', 'resources');
  entries = asar.listPackage(path.join(resources, 'app.asar'), { isPack: false });
}, 180_000);

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('the packaged app (electron-builder --linux dir)', () => {
  it('app.asar holds the main, preload and renderer bundles and package.json pointing at main', () => {
    for (const f of BUNDLES) expect(entries).toContain(`/${f}`);
    const pkg = JSON.parse(asar.extractFile(path.join(resources, 'app.asar'), 'package.json').toString('utf8')) as { main: string };
    expect(pkg.main).toBe('dist/src-main/electron/main.js');
  });

  it('app.asar holds no sources, tests, source maps, bundle metafiles or the unbundled ESM preload', () => {
    const own = entries.filter((e) => !e.startsWith('/node_modules'));
    expect(own.filter((e) => /\.(ts|tsx|mts|cts|map|meta\.json)$/.test(e))).toEqual([]);
    expect(own.filter((e) => /^\/(src-main|src-shared|src-renderer|test|bench|scripts|ai|\.github)(\/|$)/.test(e))).toEqual([]);
    expect(own).not.toContain('/dist/src-main/electron/preload.js');
    const top = new Set(own.map((e) => e.split('/')[1]));
    expect([...top].sort()).toEqual(['dist', 'package.json']);
  });

  it('resources hold ai/*.sh with their exec bits, beside app.asar (process.resourcesPath)', async () => {
    const scripts = (await fs.readdir(path.join(ROOT, 'ai'))).filter((f) => f.endsWith('.sh'));
    expect(scripts).toContain('start_detector.sh');
    expect(scripts).toContain('start_nemotron.sh');
    for (const s of scripts) {
      const { mode } = await fs.stat(path.join(resources, 'ai', s));
      expect(mode & 0o111, s).toBe(0o111);
    }
    await fs.access(path.join(resources, 'ai', 'lib', 'common.sh'));
  });

  it('resources hold the tray icons (1x and 2x) and the app icon', async () => {
    const icons = await fs.readdir(path.join(resources, 'icons'));
    for (const sev of ['ok', 'warning', 'error', 'neutral']) {
      expect(icons).toContain(`tray-${sev}.png`);
      expect(icons).toContain(`tray-${sev}@2x.png`);
    }
    expect(icons).toContain('icon-256.png');
  });

  it('resources hold the deep checks’ test image where a relative path from workingDir finds it', async () => {
    const image = await fs.readFile(path.join(resources, 'resources', 'deep-check', 'test-image.jpg'));
    expect(image.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });
});
