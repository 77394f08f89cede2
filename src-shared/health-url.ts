/**
 * The one parser of health URLs (CONTRACT §2, §9.10): config validation and the probes both call
 * it, so a URL that passes validation can always be probed (port 99999, bad percent-encoding or an
 * unclosed "[" used to pass a regex and then fail at every probe, making a healthy service "down").
 * Browser-safe: only the WHATWG URL API.
 */

/** Where and how to reach one Redis (`redis://[[user]:password@]host[:port][/db]`). */
export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

/** Host and port of a `tcp://host:port` health URL. */
export interface TcpTarget {
  host: string;
  port: number;
}

/** A parsed health URL, by scheme. */
export type HealthTarget =
  | { scheme: 'http' | 'https'; url: URL }
  | ({ scheme: 'redis' } & RedisTarget)
  | ({ scheme: 'tcp' } & TcpTarget)
  | { scheme: 'docker'; container: string }
  | { scheme: 'systemd'; unit: string };

/** What a health URL must look like, for messages. */
export const HEALTH_URL_FORMS = 'http(s)://, redis://, tcp://host:port, docker://container or systemd://unit';

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\//i;
const DOCKER_RE = /^docker:\/\/([^\s/]+)\/?$/i;
/** A unit name as systemd takes it (redis-server.service, a "@" instance); ".service" when none is given. */
const SYSTEMD_RE = /^systemd:\/\/([A-Za-z0-9:_.@\\-]+)\/?$/i;

/** Parse a health URL; throws TypeError with a short reason ("port 99999 is out of range (1–65535)"). */
export function parseHealthUrl(raw: string): HealthTarget {
  const text = raw.trim();
  const scheme = SCHEME_RE.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'docker') {
    const container = DOCKER_RE.exec(text)?.[1];
    if (container === undefined) throw new TypeError('docker:// needs a container name (docker://NAME)');
    return { scheme, container };
  }
  if (scheme === 'systemd') {
    const unit = SYSTEMD_RE.exec(text)?.[1];
    if (unit === undefined) throw new TypeError('systemd:// needs a unit name (systemd://redis-server.service)');
    return { scheme, unit: /\.[a-z]+$/.test(unit) ? unit : `${unit}.service` };
  }
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'redis' && scheme !== 'tcp') throw new TypeError(`must be ${HEALTH_URL_FORMS}`);
  if (/\s/.test(text)) throw new TypeError('must not contain spaces');
  const url = parseUrl(text);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new TypeError(`${scheme}:// URL has no host`);
  const port = url.port === '' ? null : Number(url.port);
  if (port === 0) throw new TypeError('port 0 cannot be probed (use 1–65535)');
  switch (scheme) {
    case 'http':
    case 'https':
      return { scheme, url: normalisePath(url) };
    case 'tcp':
      if (port === null) throw new TypeError('tcp:// needs a port (tcp://host:port)');
      return { scheme, host, port };
    case 'redis': {
      const target: RedisTarget = { host, port: port ?? 6379 };
      const password = decode(url.password, 'password');
      if (password) target.password = password;
      if (url.username && password) target.username = decode(url.username, 'user name');
      return { scheme, ...target };
    }
  }
}

/** The http(s) URL of a health URL, path cleaned; throws like parseHealthUrl (or when not http). */
export function normaliseUrl(raw: string): URL {
  const t = parseHealthUrl(raw);
  if (t.scheme !== 'http' && t.scheme !== 'https') throw new TypeError('not an http(s):// URL');
  return t.url;
}

/** The request target (path and query) of a normalised URL: what goes on the HTTP request line. */
export function requestTarget(url: URL): string {
  return url.pathname + url.search;
}

/** Where a service listens (for an idle watch connection); null for docker:// or a bad URL. */
export function listenAddressOf(healthUrl: string): TcpTarget | null {
  let t: HealthTarget;
  try {
    t = parseHealthUrl(healthUrl);
  } catch {
    return null;
  }
  switch (t.scheme) {
    case 'docker':
    case 'systemd':
      return null;
    case 'http':
    case 'https':
      return { host: t.url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(t.url.port) || (t.scheme === 'https' ? 443 : 80) };
    default:
      return { host: t.host, port: t.port };
  }
}

/**
 * Duplicate slashes collapse and a trailing slash is dropped, so "http://h:8090//health/" asks for
 * "/health" (a stray slash once meant 404 → restarts of a healthy service). The root stays "/";
 * the query string is kept.
 */
function normalisePath(url: URL): URL {
  let path = url.pathname.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  url.pathname = path;
  return url;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    // The URL parser only says "Invalid URL": say which part is wrong.
    const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(text)?.[1] ?? '';
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    if (hostPort.startsWith('[') && !hostPort.includes(']')) throw new TypeError('unclosed "[" in the host (IPv6 looks like [::1]:8090)');
    const port = /:(\d+)$/.exec(hostPort)?.[1];
    if (port !== undefined && Number(port) > 65535) throw new TypeError(`port ${port} is out of range (1–65535)`);
    throw new TypeError('is not a valid URL');
  }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TypeError(`bad percent-encoding in the ${what} (write % as %25)`);
  }
}
