import type { ConfigIssue } from '../../../src-shared/config-schema.js';

type Env = Record<string, string | undefined>;

const GLOBAL_NUMBERS: Record<string, string> = {
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
 * Apply the WARDEN_* environment overrides onto the raw (not yet validated) config, so the schema
 * then checks the result. A value that is not a number is reported under the variable's name.
 */
export function applyEnvOverrides(raw: unknown, env: Env): { raw: unknown; issues: ConfigIssue[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { raw, issues: [] };
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const issues: ConfigIssue[] = [];

  const type = env.WARDEN_SERVICE_MANAGER_TYPE;
  if (type !== undefined && type !== '') out.serviceManagerType = type;

  for (const [name, key] of Object.entries(GLOBAL_NUMBERS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = n;
    else issues.push({ path: name, message: `must be a number (got "${value}")` });
  }

  if (Array.isArray(out.services)) {
    out.services = out.services.map((svc: unknown) => {
      if (typeof svc !== 'object' || svc === null || typeof (svc as { name?: unknown }).name !== 'string') return svc;
      const s = { ...(svc as Record<string, unknown>) };
      const prefix = envPrefix(s.name as string);
      const cmd = env[`${prefix}RESTART_CMD`];
      // An empty value means "monitor only", the env spelling of null.
      if (cmd !== undefined) s.restartCmd = cmd === '' ? null : cmd;
      const url = env[`${prefix}HEALTH_URL`];
      if (url !== undefined && url !== '') s.healthUrl = url;
      return s;
    });
  }
  return { raw: out, issues };
}
