import type { ConfigIssue } from '../../../src-shared/config-schema.js';

type Env = Record<string, string | undefined>;

const GLOBAL_VARS: Record<string, string> = {
  WARDEN_SERVICE_MANAGER_TYPE: 'serviceManagerType',
  WARDEN_HEALTH_CHECK_INTERVAL: 'healthCheckInterval',
  WARDEN_SERVICE_HEALTH_TIMEOUT: 'serviceHealthTimeout',
  WARDEN_SERVICE_MAX_RETRIES: 'serviceMaxRetries',
  WARDEN_SERVICE_BACKOFF_BASE: 'serviceBackoffBase',
};

/** The per-service variable prefix: name upper-cased, `-` → `_` (CONTRACT §1). */
export function envPrefix(serviceName: string): string {
  return `WARDEN_${serviceName.toUpperCase().replace(/-/g, '_')}_`;
}

/**
 * Apply the WARDEN_* environment overrides onto a (validated) config, returning a raw object for
 * the schema to check again. A value that is not a number is reported under the variable's name.
 */
export function applyEnvOverrides(config: object, env: Env): { raw: Record<string, unknown>; issues: ConfigIssue[] } {
  const out: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  const issues: ConfigIssue[] = [];
  for (const [name, key] of Object.entries(GLOBAL_VARS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (key === 'serviceManagerType') {
      out[key] = value;
      continue;
    }
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = n;
    else issues.push({ path: name, message: `must be a number (got "${value}")` });
  }
  out.services = (out.services as Record<string, unknown>[]).map((svc) => {
    const s = { ...svc };
    const prefix = envPrefix(s.name as string);
    const cmd = env[`${prefix}RESTART_CMD`];
    // An empty value means "monitor only", the environment's spelling of null.
    if (cmd !== undefined) s.restartCmd = cmd === '' ? null : cmd;
    const url = env[`${prefix}HEALTH_URL`];
    if (url !== undefined && url !== '') s.healthUrl = url;
    return s;
  });
  return { raw: out, issues };
}

/** The variable behind a schema path, for messages about an overridden value. */
export function envVarFor(path: string, serviceNames: string[]): string {
  const global = Object.entries(GLOBAL_VARS).find(([, key]) => key === path);
  if (global) return global[0];
  const m = /^services\[(\d+)\]\.(restartCmd|healthUrl)$/.exec(path);
  const name = m ? serviceNames[Number(m[1])] : undefined;
  if (m && name) return `${envPrefix(name)}${m[2] === 'restartCmd' ? 'RESTART_CMD' : 'HEALTH_URL'}`;
  return path;
}
