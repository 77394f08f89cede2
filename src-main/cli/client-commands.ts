import fs from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import type { ServiceAction, ServiceState } from '../../src-shared/protocol.js';
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

async function call(t: Target, method: 'GET' | 'POST', route: string, io: CliIo): Promise<{ status: number; body: unknown } | number> {
  try {
    const res = await request(`${t.base}${route}`, {
      method,
      headers: { authorization: `Bearer ${t.token}` },
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
