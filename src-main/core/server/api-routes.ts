import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../config/config-file.js';
import { validateConfig } from '../../../src-shared/config-schema.js';
import { maskSecrets, restoreSecrets } from '../../../src-shared/secrets.js';
import { ACTIONS, type ServiceAction } from '../../../src-shared/protocol.js';
import { SettingsConflict, type Warden } from '../warden.js';
import { SECURITY_HEADERS, sendError, sendJson } from './http-responses.js';
import type { WardenMetrics } from './metrics.js';
import { readJsonBody } from './read-body.js';
import { MaintenanceRequestError } from '../maintenance/scheduler.js';

/** Largest accepted PUT /api/settings body. */
export const MAX_SETTINGS_BYTES = 64 * 1024;
/** GET …/history answers at most this many events. */
export const MAX_HISTORY = 1000;
/** GET …/uptime looks back at most this many hours (30 days). */
export const MAX_UPTIME_HOURS = 720;

/** The demo's crash button (only `warden serve --demo` passes one). */
export interface DemoHook {
  /** Kill the named stand-in service; false when there is none by that name. */
  crash(name: string): Promise<boolean>;
  /** A GPU stand-in dies of CUDA out of memory (the simulated GPU fills up); false when there is no such GPU service. */
  oom?(name: string): Promise<boolean>;
  /** A stand-in's completions hang while /health says ok (its deep check finds it); false when it has no deep check. */
  breakCompletions?(name: string): Promise<boolean>;
}

/** What the API handlers work on. */
export interface ApiContext {
  warden: Warden;
  metrics: WardenMetrics;
  demo?: DemoHook;
  now?: () => number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void> | void;

/** One row of the API table (CONTRACT §5). */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pattern: RegExp;
  handler: Handler;
}

/** A whole number in [min, max] from a query parameter, the fallback when absent, null when bad. */
function intParam(url: URL, key: string, fallback: number, min: number, max: number): number | null {
  const raw = url.searchParams.get(key);
  if (raw === null) return fallback;
  if (!/^\d{1,7}$/.test(raw)) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}

/** The API table: every route, its method and its handler. */
export function apiRoutes(ctx: ApiContext): Route[] {
  const { warden } = ctx;
  const now = ctx.now ?? Date.now;
  const monitor = warden.monitor;
  // Unknown names answer 404 before the handler runs.
  const withService =
    (fn: (res: ServerResponse, name: string, url: URL) => Promise<void> | void): Handler =>
    (_req, res, [name = ''], url) => {
      if (!monitor.has(name)) sendError(res, 404, `unknown service "${name}"`);
      else return fn(res, name, url);
    };

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/api\/status$/,
      // `demo: true` tells the dashboard to offer "Simulate crash".
      handler: (_req, res) => sendJson(res, 200, { services: monitor.states(), timestamp: new Date(now()).toISOString(), ...(ctx.demo ? { demo: true } : {}) }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/services\/([^/]+)\/history$/,
      handler: withService((res, name, url) => {
        const limit = intParam(url, 'limit', 100, 1, MAX_HISTORY);
        if (limit === null) sendError(res, 400, `limit must be a whole number from 1 to ${MAX_HISTORY}`);
        else sendJson(res, 200, { service: name, events: warden.journal.history(name, limit) });
      }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/services\/([^/]+)\/uptime$/,
      handler: withService((res, name, url) => {
        const hours = intParam(url, 'hours', 24, 1, MAX_UPTIME_HOURS);
        if (hours === null) {
          sendError(res, 400, `hours must be a whole number from 1 to ${MAX_UPTIME_HOURS}`);
          return;
        }
        const { ratio, buckets } = warden.journal.uptime(name, now(), hours * 3600_000, 24);
        sendJson(res, 200, { service: name, hours, ratio, buckets });
      }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/services/([^/]+)/(${ACTIONS.join('|')})$`),
      handler: (_req, res, [name = '', action]) => {
        const result = monitor.act(name, action as ServiceAction);
        if (!result) sendError(res, 404, `unknown service "${name}"`);
        else if (result.ok) sendJson(res, 202, { ok: true, message: result.message });
        else sendJson(res, 409, { ok: false, error: result.error, message: result.message });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/maintenance$/,
      handler: (_req, res) => sendJson(res, 200, warden.maintenance.list()),
    },
    {
      method: 'POST',
      pattern: /^\/api\/maintenance$/,
      // An ad-hoc window from now (CONTRACT §14): {services?, minutes, reason?}.
      handler: async (req, res) => {
        const body = await readJsonBody(req, 4096);
        if (!body.ok) {
          sendError(res, body.status, body.error);
          return;
        }
        const problem = maintenanceBodyProblem(body.value);
        if (problem) {
          sendError(res, 400, problem);
          return;
        }
        const b = body.value as { services?: string[]; minutes: number; reason?: string };
        try {
          sendJson(res, 201, { ok: true, window: await warden.maintenance.start(b) });
        } catch (err) {
          if (!(err instanceof MaintenanceRequestError)) throw err;
          sendError(res, 400, err.message);
        }
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/maintenance$/,
      handler: async (_req, res) => sendJson(res, 200, { ok: true, ended: await warden.maintenance.endAdHoc() }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/gpus$/,
      handler: async (_req, res) => sendJson(res, 200, await warden.gpu.snapshot()),
    },
    {
      method: 'GET',
      pattern: /^\/api\/alerts$/,
      handler: (_req, res) => sendJson(res, 200, { ...warden.alerts.status(), timestamp: new Date(now()).toISOString() }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/alerts\/test$/,
      handler: async (req, res) => {
        const body = await readJsonBody(req, 4096, { allowEmpty: true });
        if (!body.ok) {
          sendError(res, body.status, body.error);
          return;
        }
        const v = body.value as { channel?: unknown } | undefined;
        if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v) || (v.channel !== undefined && typeof v.channel !== 'string'))) {
          sendError(res, 400, 'body must be empty, or {"channel": "<id from GET /api/alerts>"}');
          return;
        }
        const channel = v?.channel as string | undefined;
        if (channel !== undefined && !warden.alerts.status().channels.some((c) => c.id === channel)) {
          sendError(res, 404, `no alert channel "${channel}"`);
          return;
        }
        const results = await warden.alerts.test(channel);
        if (results.length === 0) {
          sendError(res, 409, 'no alert channels are configured (alerts.channels)');
          return;
        }
        sendJson(res, results.every((r) => r.ok) ? 200 : 502, { ok: results.every((r) => r.ok), results });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/settings$/,
      // The saved settings, not the environment's overrides, so saving them never bakes those in.
      // The ETag is the config file's version: PUT with If-Match gets 412 if it changed on disk.
      // Secrets (tokens, webhook secrets, Apprise URLs) are shown as "***" (CONTRACT §15).
      handler: (_req, res) => sendJson(res, 200, maskSecrets(warden.settings()), { ETag: warden.settingsEtag() }),
    },
    {
      method: 'PUT',
      pattern: /^\/api\/settings$/,
      handler: async (req, res) => {
        const body = await readJsonBody(req, MAX_SETTINGS_BYTES);
        if (!body.ok) {
          // An oversized body is drained and discarded (only a token holder gets this far).
          sendError(res, body.status, body.error);
          return;
        }
        // "***" keeps the stored secret it stands for.
        const restored = restoreSecrets(body.value, warden.settings());
        if (!restored.ok) {
          sendJson(res, 400, { error: 'invalid settings', issues: restored.issues });
          return;
        }
        const checked = validateConfig(restored.value);
        if (!checked.ok) {
          sendJson(res, 400, { error: 'invalid settings', issues: checked.issues });
          return;
        }
        const ifMatch = req.headers['if-match'];
        try {
          await warden.updateConfig(checked.config, { ifMatch: typeof ifMatch === 'string' ? ifMatch.trim() : undefined });
        } catch (err) {
          if (err instanceof SettingsConflict) {
            sendJson(res, 412, { error: 'changed on disk', message: err.message }, { ETag: warden.settingsEtag() });
            return;
          }
          // Valid on its own, but a WARDEN_* override no longer fits it: nothing saved.
          if (!(err instanceof ConfigError)) throw err;
          sendJson(res, 400, { error: 'invalid settings', issues: err.issues.map((i) => ({ ...i, message: `${i.message} (from the environment)` })) });
          return;
        }
        sendJson(res, 200, { ok: true, config: maskSecrets(warden.settings()) }, { ETag: warden.settingsEtag() });
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handler: async (_req, res) => {
        const text = await ctx.metrics.render();
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': ctx.metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
    },
  ];
  const demo = ctx.demo;
  if (demo) {
    /** POST /api/demo/:name/<action>: 202 when the hook did something to that stand-in, else 404. */
    const demoRoute = (action: string, hook: ((name: string) => Promise<boolean>) | undefined, done: (name: string) => string, missing: (name: string) => string) => {
      if (!hook) return;
      routes.push({
        method: 'POST',
        pattern: new RegExp(`^/api/demo/([^/]+)/${action}$`),
        handler: async (_req, res, [name = '']) => {
          if (await hook(name)) sendJson(res, 202, { ok: true, message: done(name) });
          else sendError(res, 404, missing(name));
        },
      });
    };
    demoRoute('crash', demo.crash.bind(demo), (n) => `${n} crashed`, (n) => `no demo service "${n}"`);
    demoRoute('oom', demo.oom?.bind(demo), (n) => `${n} ran out of GPU memory`, (n) => `no demo GPU service "${n}"`);
    demoRoute('break', demo.breakCompletions?.bind(demo), (n) => `${n}'s completions hang now; /health still says ok`, (n) => `no demo service with a deep check named "${n}"`);
  }
  return routes;
}

/** What is wrong with a POST /api/maintenance body, or null. */
function maintenanceBodyProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'body must be a JSON object: {"minutes": 30, "services": ["rtdetr"], "reason": "driver update"}';
  const b = v as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => !['services', 'minutes', 'reason'].includes(k));
  if (extra.length > 0) return `unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}`;
  if (typeof b.minutes !== 'number') return 'minutes is required: a number of minutes';
  if (b.services !== undefined && !(Array.isArray(b.services) && b.services.every((s) => typeof s === 'string'))) return 'services must be a list of service names (leave it out for all)';
  if (b.reason !== undefined && typeof b.reason !== 'string') return 'reason must be text';
  return null;
}

/** Route an authenticated API request: 404 for an unknown path, 405 for a known path's wrong method. */
export async function dispatch(routes: Route[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const allowed: string[] = [];
  for (const route of routes) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    if (route.method === req.method || (route.method === 'GET' && req.method === 'HEAD')) {
      const params = decodeParams(match.slice(1));
      if (params) await route.handler(req, res, params, url);
      else sendError(res, 404, 'not found');
      return;
    }
    allowed.push(route.method);
  }
  if (allowed.length > 0) sendError(res, 405, 'method not allowed', { Allow: [...new Set(allowed)].join(', ') });
  else sendError(res, 404, 'unknown API path');
}

function decodeParams(raw: string[]): string[] | null {
  try {
    return raw.map((p) => decodeURIComponent(p));
  } catch {
    return null;
  }
}
