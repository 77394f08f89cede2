// createWarden with a real config file on disk: hand edits (by rename, as editors save), invalid
// ones, a removed file, and If-Match — in process, next to the real-bin test in cli/.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type WardenConfig } from '../../../src-shared/config-schema.js';
import type { ConfigNotice } from '../../../src-shared/protocol.js';
import { ConfigError, etagOf, serializeConfig } from '../../../src-main/core/config/config-file.js';
import { silentLogger } from '../../../src-main/core/log/logger.js';
import { SettingsConflict, createWarden, type Warden } from '../../../src-main/core/warden.js';
import { ScriptedManager } from '../../helpers/scripted-manager.js';

let dir: string;
let warden: Warden | null = null;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-handedit-'));
});
afterEach(async () => {
  await warden?.stop();
  warden = null;
  await fs.rm(dir, { recursive: true, force: true });
});

const config = (names: string[], extra: Record<string, unknown> = {}): WardenConfig =>
  configSchema.parse({ healthCheckInterval: 0.5, services: names.map((name) => ({ name, healthUrl: 'tcp://127.0.0.1:1', restartCmd: null })), ...extra });

async function start(initial: WardenConfig, configFile: string | null = path.join(dir, 'config.json')) {
  if (configFile) await fs.writeFile(configFile, serializeConfig(initial));
  const manager = new ScriptedManager();
  warden = await createWarden(initial, { logger: silentLogger(), configFile, dataDir: dir, createManager: () => manager });
  const notices: ConfigNotice[] = [];
  const waiters: ((n: ConfigNotice) => void)[] = [];
  warden.onConfigChange((n) => {
    notices.push(n);
    waiters.splice(0).forEach((w) => w(n));
  });
  warden.start();
  return { w: warden, file: configFile!, notices, next: () => new Promise<ConfigNotice>((resolve) => waiters.push(resolve)) };
}

async function editorSave(file: string, text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp`, text);
  await fs.rename(`${file}.tmp`, file);
}

describe('hand edits of the config file', () => {
  it('applies a valid edit, refuses an invalid one and a removed file (keeping the running config), and If-Match guards saves', async () => {
    const { w, file, next } = await start(config(['alpha']));
    const v1 = w.settingsEtag();
    expect(v1).toBe(etagOf(serializeConfig(config(['alpha']))));

    let notice = next();
    await editorSave(file, serializeConfig(config(['alpha', 'beta'])));
    expect(await notice).toMatchObject({ status: 'applied', message: 'config.json changed on disk: applied' });
    expect(w.monitor.states().map((s) => s.service)).toEqual(['alpha', 'beta']);
    expect(w.configProblem()).toBeNull();
    await expect(w.updateConfig(config(['gamma']), { ifMatch: v1 })).rejects.toBeInstanceOf(SettingsConflict);
    expect(w.monitor.states().map((s) => s.service)).toEqual(['alpha', 'beta']);

    notice = next();
    await editorSave(file, '{ not json');
    expect(await notice).toMatchObject({ status: 'invalid' });
    expect(w.configProblem()).toMatch(/^config\.json: \(file\): not valid JSON/);
    expect(await fs.readFile(file, 'utf8')).toBe('{ not json');

    notice = next();
    await fs.rm(file);
    expect((await notice).message).toBe('config.json: the file was removed; the running config stays (saving the settings writes it again)');
    expect(w.monitor.states().map((s) => s.service)).toEqual(['alpha', 'beta']);

    // A save writes it again; '*' matches whatever is there.
    await w.updateConfig(config(['delta']), { ifMatch: '*' });
    expect(JSON.parse(await fs.readFile(file, 'utf8')).services.map((s: { name: string }) => s.name)).toEqual(['delta']);
    expect(w.settingsEtag()).toBe(etagOf(await fs.readFile(file, 'utf8')));
    await w.updateConfig(config(['epsilon']), { ifMatch: w.settingsEtag() });
    expect(w.monitor.states().map((s) => s.service)).toEqual(['epsilon']);
  });

  it('an edit the environment overlay cannot take is refused like an invalid file', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, serializeConfig(config(['alpha'])));
    const manager = new ScriptedManager();
    warden = await createWarden(config(['alpha']), {
      logger: silentLogger(),
      configFile: file,
      dataDir: dir,
      createManager: () => manager,
      overlay: (s) => {
        if (s.healthCheckInterval === 7) throw new ConfigError('environment', [{ path: 'WARDEN_HEALTH_CHECK_INTERVAL', message: 'does not fit' }]);
        return s;
      },
    });
    const seen = new Promise<ConfigNotice>((resolve) => warden!.onConfigChange(resolve));
    warden.start();
    await editorSave(file, serializeConfig(config(['alpha'], { healthCheckInterval: 7 })));
    expect(await seen).toMatchObject({ status: 'invalid', message: 'environment: WARDEN_HEALTH_CHECK_INTERVAL: does not fit' });
    expect(warden.config().healthCheckInterval).toBe(0.5);
  });

  it('without a config file, the version is that of the settings in memory', async () => {
    const { w } = await start(config(['alpha']), null);
    const v1 = w.settingsEtag();
    await w.updateConfig(config(['beta']), { ifMatch: v1 });
    expect(w.settingsEtag()).not.toBe(v1);
    await expect(w.updateConfig(config(['gamma']), { ifMatch: v1 })).rejects.toBeInstanceOf(SettingsConflict);
  });
});
