import { parseHealthUrl, type HealthTarget } from '../../../src-shared/health-url.js';
import type { Probe } from './probe.js';
import { HttpProbe } from './http-probe.js';
import { RedisProbe } from './redis-probe.js';
import { TcpProbe } from './tcp-probe.js';

/**
 * Builds the probe for a health URL by its scheme (CONTRACT §2): http(s)://, redis://, tcp://.
 * Parses with the same parser config validation uses, so a validated URL never throws here.
 * Throws on an invalid URL and on docker:// (checked by the docker strategy, not a URL probe).
 */
export function createProbe(url: string, timeoutMs: number): Probe {
  let target: HealthTarget;
  try {
    target = parseHealthUrl(url);
  } catch (err) {
    throw new Error(`invalid health URL "${url}": ${(err as Error).message}`, { cause: err });
  }
  switch (target.scheme) {
    case 'http':
    case 'https':
      return new HttpProbe(target.url, timeoutMs);
    case 'redis':
      return new RedisProbe(target, timeoutMs);
    case 'tcp':
      return new TcpProbe(target, timeoutMs);
    case 'docker':
      throw new Error('docker:// health needs the docker strategy');
    case 'systemd':
      throw new Error('systemd:// health needs the systemd strategy');
  }
}
