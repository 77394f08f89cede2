import os from 'node:os';
import path from 'node:path';

type Env = Record<string, string | undefined>;

/** `$XDG_CONFIG_HOME/warden`, default `~/.config/warden` (CONTRACT §1). */
export function configDir(env: Env = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config'), 'warden');
}

/** `$XDG_STATE_HOME/warden`, default `~/.local/state/warden` (CONTRACT §4). */
export function dataDir(env: Env = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state'), 'warden');
}

/** `--config FILE`, else `$WARDEN_CONFIG`, else `<configDir>/config.json`. */
export function configPath(flag: string | undefined, env: Env = process.env): string {
  return path.resolve(flag || env.WARDEN_CONFIG || path.join(configDir(env), 'config.json'));
}

/** `$XDG_RUNTIME_DIR/warden` (per-user, cleared at logout), else the state folder (CONTRACT §10). */
export function runtimeDir(env: Env = process.env): string {
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'warden') : dataDir(env);
}
