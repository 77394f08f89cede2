import { existsSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { defaultConfig, validateConfig, type ConfigIssue, type WardenConfig } from '../../../src-shared/config-schema.js';
import { applyEnvOverrides, envVarFor } from './env-overrides.js';

/** A configuration that cannot be used; `issues` name every bad field, `source` where it came from. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => `${source}: ${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parse and validate a config file's text (no overrides); throws ConfigError naming the file and fields. */
export function parseConfigFile(file: string, text: string): WardenConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path.basename(file), [{ path: '(file)', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const result = validateConfig(raw);
  if (!result.ok) throw new ConfigError(path.basename(file), result.issues);
  return result.config;
}

/** The effective config: the WARDEN_* environment applied over the file's (CONTRACT §1). Errors name the variable. */
export function withEnvOverrides(config: WardenConfig, env: Record<string, string | undefined>): WardenConfig {
  const { raw, issues } = applyEnvOverrides(config, env);
  if (issues.length) throw new ConfigError('environment', issues);
  const result = validateConfig(raw);
  if (!result.ok) {
    const names = config.services.map((s) => s.name);
    throw new ConfigError('environment', result.issues.map((i) => ({ ...i, path: envVarFor(i.path, names) })));
  }
  return result.config;
}

/** File then environment, as `warden config validate` and the client commands read it. */
export function parseConfigText(file: string, text: string, env: Record<string, string | undefined> = {}): WardenConfig {
  return withEnvOverrides(parseConfigFile(file, text), env);
}

export interface LoadedConfig {
  /** What is in effect: the file with the environment applied. */
  config: WardenConfig;
  /** What the file says: what the settings page edits and saves (overrides never written back). */
  fileConfig: WardenConfig;
  file: string;
  /** The file did not exist and was written with the defaults. */
  created: boolean;
  /** The file was corrupt and moved here; defaults are in use (tray app only). */
  quarantinedTo?: string;
  quarantineError?: ConfigError;
  /** A bad WARDEN_* variable, ignored (tray app only; the CLI exits 2 instead). */
  envError?: ConfigError;
}

/**
 * Load the config at `file`, creating it with the defaults on first run.
 * `onInvalid: 'throw'` (CLI: exit 2) or `'quarantine'` (tray app: a bad file is moved aside to
 * `<file>.bad-<time>` and defaults are used — the user's file is never silently lost; a bad
 * environment variable is ignored and reported, and never costs the user their file).
 */
export async function loadConfig(
  file: string,
  opts: { env?: Record<string, string | undefined>; onInvalid?: 'throw' | 'quarantine'; now?: () => Date; unitDirs?: readonly string[] } = {},
): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const quarantine = opts.onInvalid === 'quarantine';
  let fileConfig: WardenConfig;
  let created = false;
  let aside: Pick<LoadedConfig, 'quarantinedTo' | 'quarantineError'> = {};
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new ConfigError(path.basename(file), [{ path: '(file)', message: `cannot read: ${err.message}` }]);
  });
  if (text === null) {
    fileConfig = firstRunConfig(opts.unitDirs);
    await saveConfig(file, fileConfig);
    created = true;
  } else {
    try {
      fileConfig = parseConfigFile(file, text);
    } catch (err) {
      if (!quarantine) throw err;
      const stamp = (opts.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
      aside = { quarantinedTo: `${file}.bad-${stamp}`, quarantineError: err as ConfigError };
      await fs.rename(file, aside.quarantinedTo!);
      fileConfig = firstRunConfig(opts.unitDirs);
      await saveConfig(file, fileConfig);
      created = true;
    }
  }
  try {
    return { config: withEnvOverrides(fileConfig, env), fileConfig, file, created, ...aside };
  } catch (err) {
    if (!quarantine) throw err;
    return { config: fileConfig, fileConfig, file, created, ...aside, envError: err as ConfigError };
  }
}

/** The text a config is saved as. */
export function serializeConfig(config: WardenConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** A strong HTTP ETag for a config file's text: what `If-Match` is checked against. */
export function etagOf(text: string): string {
  return `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`;
}

/** Save atomically (temp file + rename): a crash mid-write never leaves a half-written config. Returns the text written. */
export async function saveConfig(file: string, config: WardenConfig): Promise<string> {
  const text = serializeConfig(config);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text, { mode: 0o600 });
  return text;
}

/** Exists only when systemd is PID 1 (sd_booted()). */
export const SYSTEMD_BOOTED = '/run/systemd/system';

/** Where systemd keeps unit files (Debian/Ubuntu, Fedora/Arch, the admin's own). */
export const UNIT_DIRS: readonly string[] = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

/**
 * The config a first run writes: the design's defaults, except that Redis is restarted through
 * systemd (CONTRACT §13, no sudo) when Debian/Ubuntu's redis-server.service is installed.
 */
export function firstRunConfig(unitDirs: readonly string[] = UNIT_DIRS, booted: string = SYSTEMD_BOOTED): WardenConfig {
  const config = defaultConfig();
  // systemd must be what booted this machine (not a container or WSL that merely has the package),
  // and the unit installed and not masked (a link to /dev/null).
  const unit = unitDirs.map((d) => path.join(d, 'redis-server.service')).find((f) => existsSync(f));
  if (existsSync(booted) && unit && realpathSync(unit) !== '/dev/null') {
    config.services = config.services.map((s) => (s.name === 'redis' ? { ...s, strategy: 'systemd', unit: 'redis-server.service' } : s));
  }
  return config;
}
