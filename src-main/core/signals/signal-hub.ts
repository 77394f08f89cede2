import type { Logger } from 'pino';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import { ConnectionWatch } from './connection-watch.js';
import { PidWatch } from './pid-watch.js';
import { watchTargetOf } from './watch-target.js';

interface Watches {
  key: string;
  stop(): void;
}

/**
 * Event-driven detection (ARCHITECTURE: a crash is seen in milliseconds): per service an idle
 * watch connection and, with a `pidfile`, a pid watch. Each only *triggers* a probe of its
 * service; the monitor's state machine stays the single decider, and polling remains for hangs.
 */
export class SignalHub {
  private readonly watches = new Map<string, Watches>();

  constructor(
    private readonly trigger: (service: string, why: string) => void,
    private readonly logger: Logger,
    private readonly opts: { pidPollMs?: number } = {},
  ) {}

  /** Start, stop or keep watches to match the config. */
  apply(config: WardenConfig): void {
    const wanted = new Map(config.services.map((s) => [s.name, s]));
    for (const [name, w] of this.watches) {
      const svc = wanted.get(name);
      if (!svc || keyOf(svc) !== w.key) {
        w.stop();
        this.watches.delete(name);
      }
    }
    for (const svc of config.services) {
      if (this.watches.has(svc.name)) continue;
      const parts: { stop(): void }[] = [];
      const target = watchTargetOf(svc.healthUrl);
      if (target) {
        const conn = new ConnectionWatch(target.host, target.port, () => this.fire(svc.name, 'watch connection closed'));
        conn.start();
        parts.push(conn);
      }
      if (svc.pidfile) {
        const pid = new PidWatch(svc.pidfile, (dead) => this.fire(svc.name, `pid ${dead} exited`), this.opts.pidPollMs);
        pid.start();
        parts.push(pid);
      }
      this.watches.set(svc.name, { key: keyOf(svc), stop: () => parts.forEach((p) => p.stop()) });
    }
  }

  stop(): void {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }

  private fire(service: string, why: string): void {
    this.logger.debug({ service, why }, 'signal: probing now');
    this.trigger(service, why);
  }
}

function keyOf(svc: WardenConfig['services'][number]): string {
  return `${svc.healthUrl}|${svc.pidfile ?? ''}`;
}
