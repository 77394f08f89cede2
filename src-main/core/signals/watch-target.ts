import { parseRedisUrl } from '../probes/redis-probe.js';
import { parseTcpUrl } from '../probes/tcp-probe.js';
import { normaliseUrl } from '../probes/normalise-url.js';

/** Where a service listens, for an idle watch connection; null for docker:// or a bad URL. */
export function watchTargetOf(healthUrl: string): { host: string; port: number } | null {
  try {
    const scheme = healthUrl.slice(0, healthUrl.indexOf(':')).toLowerCase();
    if (scheme === 'redis') {
      const t = parseRedisUrl(healthUrl);
      return { host: t.host, port: t.port };
    }
    if (scheme === 'tcp') return parseTcpUrl(healthUrl);
    if (scheme === 'http' || scheme === 'https') {
      const url = normaliseUrl(healthUrl);
      return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) || (scheme === 'https' ? 443 : 80) };
    }
  } catch {
    // Config validation reports bad URLs; no watch for them.
  }
  return null;
}
