import fs from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { defaultConfig, validateConfig, type ConfigIssue, type WardenConfig } from '../../../src-shared/config-schema.js';
import { applyEnvOverrides } from './env-overrides.js';

/** A configuration that cannot be used; `issues` name every bad field. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => `${path.basename(file)}: ${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parse and validate a config file's text; throws ConfigError naming the file and fields. */
export function parseConfigText(file: string, text: string, env: Record<string, string | undefined> = {}): WardenConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const overridden = applyEnvOverrides(raw, env);
  const result = validateConfig(overridden.raw);
  const issues = [...overridden.issues, ...(result.ok ? [] : result.issues)];
  if (issues.length > 0 || !result.ok) throw new ConfigError(file, issues);
  return result.config;
}

export interface LoadedConfig {
  config: WardenConfig;
  file: string;
  /** The file did not exist and was written with the defaults. */
  created: boolean;
  /** The file was corrupt and moved here; defaults are in use (tray app only). */
  quarantinedTo?: string;
  quarantineError?: ConfigError;
}

/**
 * Load the config at `file`, creating it with the defaults on first run.
 * `onInvalid: 'throw'` (CLI: exit 2) or `'quarantine'` (tray app: move the file aside to
 * `<file>.bad-<time>` and run on defaults — the user's file is never silently lost).
 */
export async function loadConfig(
  file: string,
  opts: { env?: Record<string, string | undefined>; onInvalid?: 'throw' | 'quarantine'; now?: () => Date } = {},
): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(err as Error).message}` }]);
    }
    const config = defaultConfig();
    await saveConfig(file, config);
    return { config: parseConfigText(file, JSON.stringify(config), env), file, created: true };
  }
  try {
    return { config: parseConfigText(file, text, env), file, created: false };
  } catch (err) {
    if (opts.onInvalid !== 'quarantine' || !(err instanceof ConfigError)) throw err;
    const stamp = (opts.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const aside = `${file}.bad-${stamp}`;
    await fs.rename(file, aside);
    const config = defaultConfig();
    await saveConfig(file, config);
    return { config, file, created: true, quarantinedTo: aside, quarantineError: err };
  }
}

/** Save atomically (temp file + rename): a crash mid-write never leaves a half-written config. */
export async function saveConfig(file: string, config: WardenConfig): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
