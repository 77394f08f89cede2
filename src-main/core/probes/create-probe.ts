import type { Probe } from './probe.js';
import { HttpProbe } from './http-probe.js';
import { normaliseUrl } from './normalise-url.js';
import { RedisProbe, parseRedisUrl } from './redis-probe.js';
import { TcpProbe, parseTcpUrl } from './tcp-probe.js';

/**
 * Builds the probe for a health URL by its scheme (CONTRACT §2): http(s)://, redis://, tcp://.
 * Throws on an invalid URL, on docker:// (checked by the docker strategy, not a URL probe) and on
 * any other scheme.
 */
export function createProbe(url: string, timeoutMs: number): Probe {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
  try {
    switch (scheme) {
      case 'http':
      case 'https':
        return new HttpProbe(normaliseUrl(url), timeoutMs);
      case 'redis':
        return new RedisProbe(parseRedisUrl(url), timeoutMs);
      case 'tcp':
        return new TcpProbe(parseTcpUrl(url), timeoutMs);
    }
  } catch (err) {
    throw new Error(`invalid health URL "${url}": ${(err as Error).message}`, { cause: err });
  }
  if (scheme === 'docker') throw new Error('docker:// health needs the docker strategy');
  throw new Error(`unsupported health URL "${url}": use http://, https://, redis:// or tcp://`);
}
