import type { IncomingHttpHeaders } from 'node:http';

/** What the checks read of a request: its parsed headers, and the raw list (duplicates kept). */
export interface GuardedRequest {
  headers: IncomingHttpHeaders;
  rawHeaders?: string[];
}
import { tokensEqual } from './token.js';

/** Why a request was refused: the HTTP status and a short message (never the token). */
export interface GuardFailure {
  status: 400 | 401 | 403 | 404 | 405 | 421 | 503;
  error: string;
  headers?: Record<string, string>;
}

/** The `host:port` form of a host as it appears in a Host header (IPv6 in brackets), lower case. */
export function hostWithPort(host: string, port: number): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The token of an `Authorization: Bearer <token>` header, else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The checks made before every API request and WebSocket upgrade (CONTRACT §5), in this order:
 * Host names this server (DNS-rebinding defence) → 421; Origin, when present, is this server's
 * own → 403; the token matches → 401.
 */
export class RequestGuard {
  private readonly hosts: ReadonlySet<string>;
  private readonly origins: ReadonlySet<string>;

  constructor(private readonly opts: { host: string; port: number; token: string }) {
    const names = ['127.0.0.1', 'localhost', '::1', opts.host];
    this.hosts = new Set(names.map((n) => hostWithPort(n, opts.port)));
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`));
  }

  /** Host and Origin checks (no token): enough for /healthz and the static dashboard. */
  checkSite(req: GuardedRequest): GuardFailure | null {
    const { headers } = req;
    // Node keeps the first of several Host headers; a proxy may route by another. Refuse (§10).
    if (countHeader(req.rawHeaders, 'host') > 1) return { status: 400, error: 'bad request: more than one Host header' };
    const host = headers.host?.toLowerCase();
    if (!host || !this.hosts.has(host)) return { status: 421, error: 'misdirected request: Host does not name this server' };
    const origin = headers.origin;
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) return { status: 403, error: 'forbidden: foreign Origin' };
    return null;
  }

  /** The token check alone; `presented` is whatever the client sent, if anything. */
  checkToken(presented: string | undefined): GuardFailure | null {
    if (presented !== undefined && tokensEqual(presented, this.opts.token)) return null;
    return {
      status: 401,
      error: presented === undefined ? 'missing token: send Authorization: Bearer <token>' : 'invalid token',
      headers: { 'WWW-Authenticate': 'Bearer realm="warden"' },
    };
  }

  /** Every check for an API request: Host, Origin, then the bearer token. */
  checkApi(req: GuardedRequest): GuardFailure | null {
    return this.checkSite(req) ?? this.checkToken(bearerToken(req.headers.authorization));
  }
}

/** How many times a header appears in a raw header list ([name, value, name, value, …]). */
function countHeader(raw: string[] | undefined, name: string): number {
  let n = 0;
  for (let i = 0; raw && i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) n++;
  return n;
}
