import type { Logger } from 'pino';
import type { WardenConfig } from '../../../src-shared/config-schema.js';
import type { ContainerEvent } from '../managers/docker-event-parser.js';
import { ConnectionWatch } from './connection-watch.js';
import { PidWatch } from './pid-watch.js';
import { listenAddressOf } from '../../../src-shared/health-url.js';

interface Watches {
  key: string;
  conn: ConnectionWatch | null;
  pid: PidWatch | null;
  stop(): void;
}

/**
 * Event-driven detection (ARCHITECTURE: a crash is seen in milliseconds): per service an idle
 * watch connection and, with a `pidfile`, a pid watch. Each only *triggers* a probe of its
 * service; the monitor's state machine stays the single decider, and polling remains for hangs.
 */
/** The Docker event stream, as the hub needs it (DockerEventWatcher). */
export interface DockerEvents {
  on(event: 'event', listener: (e: ContainerEvent) => void): unknown;
  once(event: 'connected', listener: () => void): unknown;
  readonly connected: boolean;
  start(): void;
  stop(): Promise<void>;
}

export class SignalHub {
  private readonly watches = new Map<string, Watches>();
  private docker: DockerEvents | null = null;
  private containers = new Map<string, string[]>();

  constructor(
    private readonly trigger: (service: string, why: string) => void,
    private readonly logger: Logger,
    private readonly opts: {
      pidPollMs?: number;
      /** Builds the Docker event stream when a config needs it (docker strategy or docker:// URLs). */
      dockerEvents?: () => DockerEvents;
      /** Sees every container event first (stop intents). */
      onContainerEvent?: (e: ContainerEvent) => void;
    } = {},
  ) {}

  /** Start, stop or keep watches to match the config. */
  apply(config: WardenConfig): void {
    this.applyDocker(config);
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
      const target = listenAddressOf(svc.healthUrl);
      const conn = target ? new ConnectionWatch(target.host, target.port, () => this.fire(svc.name, 'watch connection closed')) : null;
      const pid = svc.pidfile ? new PidWatch(svc.pidfile, (dead) => this.fire(svc.name, `pid ${dead} exited`), this.opts.pidPollMs) : null;
      conn?.start();
      pid?.start();
      this.watches.set(svc.name, {
        key: keyOf(svc),
        conn,
        pid,
        stop: () => {
          conn?.stop();
          pid?.stop();
        },
      });
    }
  }

  /** The service is healthy again: open its watch connection now if it is not open. */
  rearm(service: string): void {
    this.watches.get(service)?.conn?.rearm();
  }

  /** What is being watched for a service: the watch connection is open; the pid seen alive. */
  watching(service: string): { connected: boolean; pid: number | null } | undefined {
    const w = this.watches.get(service);
    return w && { connected: w.conn?.open ?? false, pid: w.pid?.watching ?? null };
  }

  /** Resolves once the Docker event stream is open (at once if it is, or if none is needed). */
  dockerConnected(): Promise<void> {
    const docker = this.docker;
    if (!docker || docker.connected) return Promise.resolve();
    return new Promise((resolve) => docker.once('connected', resolve));
  }

  stop(): void {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    void this.docker?.stop();
    this.docker = null;
  }

  /** Docker events (die, oom, health_status, stop …) trigger a probe of the services on that container. */
  private applyDocker(config: WardenConfig): void {
    const needed = config.services.some((s) => (s.strategy ?? config.serviceManagerType) === 'docker' || s.healthUrl.toLowerCase().startsWith('docker://'));
    this.containers = new Map();
    for (const s of config.services) {
      const c = s.container ?? s.name;
      this.containers.set(c, [...(this.containers.get(c) ?? []), s.name]);
    }
    if (needed && !this.docker && this.opts.dockerEvents) {
      const docker = this.opts.dockerEvents();
      docker.on('event', (e) => {
        this.opts.onContainerEvent?.(e);
        for (const name of this.containers.get(e.container) ?? []) this.fire(name, `docker ${e.kind}${e.exitCode === undefined ? '' : ` (exit ${e.exitCode})`}`);
      });
      docker.start();
      this.docker = docker;
    } else if (!needed && this.docker) {
      void this.docker.stop();
      this.docker = null;
    }
  }

  private fire(service: string, why: string): void {
    this.logger.debug({ service, why }, 'signal: probing now');
    this.trigger(service, why);
  }
}

function keyOf(svc: WardenConfig['services'][number]): string {
  return `${svc.healthUrl}|${svc.pidfile ?? ''}`;
}
