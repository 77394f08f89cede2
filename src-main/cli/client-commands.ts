import fs from 'node:fs/promises';
import path from 'node:path';
import { load } from '../core/lazy-modules.js';
import type { MaintenanceList, MaintenanceWindow, ServiceAction, ServiceState } from '../../src-shared/protocol.js';
import { ConfigError, parseConfigText } from '../core/config/config-file.js';
import { configDir, configPath } from '../core/config/paths.js';
import { readServerFile, serverFilePath } from '../core/server/server-file.js';
import { EXIT, type CliIo } from './io.js';

interface Target {
  base: string;
  token: string;
}

/**
 * Find the running server: `--url`, else the server file a running `warden serve` wrote (any port,
 * `--port 0` too), else the config's server.host/port; and the stored token.
 */
async function target(opts: { config?: string; url?: string }, io: CliIo): Promise<Target | number> {
  let base = opts.url ?? (await readServerFile(serverFilePath(io.env)))?.url;
  if (!base) {
    const file = configPath(opts.config, io.env);
    let host = '127.0.0.1';
    let port = 8765;
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    if (text !== null) {
      try {
        const cfg = parseConfigText(file, text, io.env);
        host = cfg.server.host;
        port = cfg.server.port;
      } catch (err) {
        io.stderr(`${(err as ConfigError).message}\n`);
        return EXIT.usage;
      }
    }
    base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  const token = io.env.WARDEN_TOKEN || (await fs.readFile(path.join(configDir(io.env), 'token'), 'utf8').catch(() => '')).trim();
  if (!token) {
    io.stderr(`no token: set WARDEN_TOKEN or run "warden serve" once to create ${path.join(configDir(io.env), 'token')}\n`);
    return EXIT.usage;
  }
  return { base: base.replace(/\/+$/, ''), token };
}

async function call(t: Target, method: 'GET' | 'POST' | 'DELETE', route: string, io: CliIo, json?: unknown): Promise<{ status: number; body: unknown } | number> {
  try {
    const res = await load.undici().request(`${t.base}${route}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    return { status: res.statusCode, body };
  } catch (err) {
    io.stderr(`warden server not reachable at ${t.base}: ${(err as Error).message}\n`);
    return EXIT.unreachable;
  }
}

const pad = (s: string, n: number) => s.padEnd(n);

/** `warden status [--json]`. */
export async function statusCommand(opts: { json?: boolean; config?: string; url?: string }, io: CliIo): Promise<number> {
  const t = await target(opts, io);
  if (typeof t === 'number') return t;
  const res = await call(t, 'GET', '/api/status', io);
  if (typeof res === 'number') return res;
  if (res.status !== 200) {
    io.stderr(`status failed: HTTP ${res.status} ${JSON.stringify(res.body)}\n`);
    return EXIT.runtime;
  }
  const { services } = res.body as { services: ServiceState[] };
  if (opts.json) {
    io.stdout(`${JSON.stringify(res.body, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout(`${pad('SERVICE', 12)}${pad('STATUS', 16)}${pad('ATTEMPT', 9)}${pad('LATENCY', 9)}MESSAGE\n`);
  for (const s of services) {
    const latency = s.latencyMs === null ? '-' : `${s.latencyMs}ms`;
    io.stdout(`${pad(s.service, 12)}${pad(s.status, 16)}${pad(`${s.attempt}/${s.maxAttempts}`, 9)}${pad(latency, 9)}${s.message}\n`);
  }
  return EXIT.ok;
}

/** `warden restart|pause|resume|reset NAME`. */
export async function actionCommand(action: ServiceAction, name: string, opts: { config?: string; url?: string }, io: CliIo): Promise<number> {
  const t = await target(opts, io);
  if (typeof t === 'number') return t;
  const res = await call(t, 'POST', `/api/services/${encodeURIComponent(name)}/${action}`, io);
  if (typeof res === 'number') return res;
  const message = (res.body as { message?: string; error?: string })?.message ?? (res.body as { error?: string })?.error ?? '';
  if (res.status === 202) {
    io.stdout(`${name}: ${action} accepted${message ? ` (${message})` : ''}\n`);
    return EXIT.ok;
  }
  if (res.status === 404) {
    io.stderr(`${name}: no such service\n`);
    return EXIT.usage;
  }
  io.stderr(`${name}: ${action} refused: HTTP ${res.status}${message ? ` ${message}` : ''}\n`);
  return EXIT.runtime;
}

/** "30m", "2h", "1h30m", "45" (minutes) → minutes; null when it is not a duration. */
export function parseMinutes(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) || null;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text);
  if (!m || text === '') return null;
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) || null;
}

/**
 * `warden maintenance [NAME…] DURATION [--reason R]` starts an ad-hoc window (all services without
 * a name); `warden maintenance --end` ends the ad-hoc ones; `warden maintenance` lists them.
 */
export async function maintenanceCommand(args: string[], opts: { config?: string; url?: string; reason?: string; end?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const t = await target(opts, io);
  if (typeof t === 'number') return t;
  if (opts.end) {
    const res = await call(t, 'DELETE', '/api/maintenance', io);
    if (typeof res === 'number') return res;
    if (res.status !== 200) return refused(res, io);
    const ended = (res.body as { ended?: number }).ended ?? 0;
    io.stdout(ended === 0 ? 'no ad-hoc maintenance window was active\n' : `ended ${ended} maintenance window${ended > 1 ? 's' : ''}\n`);
    return EXIT.ok;
  }
  if (args.length === 0) {
    const res = await call(t, 'GET', '/api/maintenance', io);
    if (typeof res === 'number') return res;
    if (res.status !== 200) return refused(res, io);
    const list = res.body as MaintenanceList;
    if (opts.json) io.stdout(`${JSON.stringify(list, null, 2)}\n`);
    else if (list.windows.length === 0) io.stdout('no maintenance windows\n');
    else for (const w of list.windows) io.stdout(`${w.active ? 'active ' : 'next   '} ${w.from} → ${w.to}  ${w.services ? w.services.join(', ') : 'all services'}${w.reason ? `  (${w.reason})` : ''}  [${w.source}]\n`);
    return EXIT.ok;
  }
  const minutes = parseMinutes(args.at(-1)!);
  if (minutes === null) {
    io.stderr(`maintenance: "${args.at(-1)}" is not a duration (e.g. 30m, 2h, 1h30m)\n`);
    return EXIT.usage;
  }
  const services = args.slice(0, -1);
  const res = await call(t, 'POST', '/api/maintenance', io, { minutes, ...(services.length ? { services } : {}), ...(opts.reason ? { reason: opts.reason } : {}) });
  if (typeof res === 'number') return res;
  if (res.status !== 201) return refused(res, io);
  const w = (res.body as { window: MaintenanceWindow }).window;
  io.stdout(`maintenance until ${w.to} for ${w.services ? w.services.join(', ') : 'all services'}\n`);
  return EXIT.ok;
}

function refused(res: { status: number; body: unknown }, io: CliIo): number {
  const error = (res.body as { error?: string } | null)?.error ?? '';
  io.stderr(`maintenance refused: HTTP ${res.status}${error ? ` ${error}` : ''}\n`);
  return res.status === 400 ? EXIT.usage : EXIT.runtime;
}
