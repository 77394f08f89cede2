import { performance } from 'node:perf_hooks';
import type Dockerode from 'dockerode';
import { load } from '../lazy-modules.js';
import type { Logger } from 'pino';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { Probe, ProbeResult } from '../probes/probe.js';
import { probeResult } from '../probes/probe-result.js';
import { startDeadline } from '../probes/deadline.js';
import { readContainerEvents, type ContainerEvent } from './docker-events.js';
import type { RestartResult, ServiceManager } from './service-manager.js';

/** A container's life-cycle state as the monitor needs it (from `docker inspect`). */
export interface ContainerState {
  running: boolean;
  /** Docker's status word: created, running, paused, restarting, removing, exited, dead. */
  status: string;
  /** Exit code of the last run; null while running or never started. */
  exitCode: number | null;
  /** HEALTHCHECK state (starting/healthy/unhealthy); null without a HEALTHCHECK. */
  health: string | null;
  /** When the last run ended (ISO 8601); null if it never has. */
  finishedAt: string | null;
  oomKilled: boolean;
}

/** What the Docker strategy needs. */
export interface DockerServiceManagerOptions {
  /** Probes for services whose healthUrl is not docker:// (the shared ProbeRegistry). */
  probes: { get(service: ResolvedService): Probe };
  /** Default: `new Dockerode()`, which honours DOCKER_HOST or uses /var/run/docker.sock. */
  docker?: Dockerode;
  logger?: Pick<Logger, 'warn'>;
  /** Containers stopped on purpose (from the event stream): their down is not a crash. */
  intents?: { stoppedOnPurpose(container: string): boolean; record(event: ContainerEvent): void; markOwn?(container: string, from: number, until: number): void };
}

const DOCKER_URL = /^docker:\/\/([^\s/]+)\/?$/i;
/** Errors that mean the daemon itself could not be reached (not an API answer). */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** How far back a catch-up reads the daemon's events (a stop's kill comes seconds before its die at most). */
const CATCH_UP_MS = 60_000;
/** After an exit, the die event follows within this (the daemon logs it as it finishes the exit). */
const DIE_SETTLE_MS = 100;
/** Docker prints this for "never" in FinishedAt. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The docker strategy (CONTRACT §1, §2): restarts containers through the Engine API and, for
 * `docker://NAME` health URLs, judges health from the container's own state and HEALTHCHECK.
 */
export class DockerServiceManager implements ServiceManager {
  readonly type = 'docker' as const;
  private client: Dockerode | null;
  private readonly probes: DockerServiceManagerOptions['probes'];
  private readonly logger: DockerServiceManagerOptions['logger'];
  private readonly intents: DockerServiceManagerOptions['intents'];
  /** When the release gate's stop of a container began: its start marks the whole span as Warden's. */
  private readonly stoppedAt = new Map<string, number>();

  constructor(options: DockerServiceManagerOptions) {
    this.client = options.docker ?? null;
    this.probes = options.probes;
    this.logger = options.logger;
    this.intents = options.intents;
  }

  /** The Engine API client, built (and dockerode loaded) when Docker is first used. */
  private get docker(): Dockerode {
    return (this.client ??= new (load.dockerode())());
  }

  /** `docker restart` of service.container, bounded by restartTimeout and the caller's signal. */
  async restart(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    const budget = abortableBudget(service.restartTimeout * 1000, signal);
    const from = Date.now();
    try {
      await this.docker.getContainer(service.container).restart({
        // Docker takes whole seconds; round up so a fractional grace is never cut short.
        t: Math.ceil(service.dockerStopTimeout),
        abortSignal: budget.signal,
      });
      return { ok: true, output: '' };
    } catch (err) {
      const expired = budget.expired();
      const reason =
        expired === undefined
          ? describeDockerError(err, service.container)
          : expired === 'aborted'
            ? 'restart aborted'
            : `restart timed out after ${service.restartTimeout} s`;
      this.logger?.warn({ service: service.name, container: service.container, err: errorMessage(err) }, 'docker restart failed');
      return { ok: false, reason, output: expired === undefined ? apiMessage(err) : '', exitCode: null, signal: null, timedOut: expired !== undefined && expired !== 'aborted' };
    } finally {
      budget.dispose();
      this.intents?.markOwn?.(service.container, from, Date.now());
    }
  }

  /** The release gate's halves (CONTRACT §11): docker stop, then docker start. */
  canStopAndStart(): boolean {
    return true;
  }

  stopService(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    return this.call(service, signal, 'stop', (c, abortSignal) => c.stop({ t: Math.ceil(service.dockerStopTimeout), abortSignal }));
  }

  startService(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    return this.call(service, signal, 'start', (c, abortSignal) => c.start({ abortSignal }));
  }

  /** One Engine API call on the service's container, bounded by restartTimeout; 304 (already so) is fine. */
  private async call(service: ResolvedService, signal: AbortSignal | undefined, what: 'stop' | 'start', fn: (c: Dockerode.Container, abortSignal: AbortSignal) => Promise<unknown>): Promise<RestartResult> {
    const budget = abortableBudget(service.restartTimeout * 1000, signal);
    const from = what === 'start' ? (this.stoppedAt.get(service.container) ?? Date.now()) : Date.now();
    if (what === 'stop') this.stoppedAt.set(service.container, from);
    else this.stoppedAt.delete(service.container);
    try {
      await fn(this.docker.getContainer(service.container), budget.signal);
      return { ok: true, output: '' };
    } catch (err) {
      if (statusCode(err) === 304) return { ok: true, output: '' };
      const expired = budget.expired();
      const reason = expired === undefined ? describeDockerError(err, service.container) : expired === 'aborted' ? `${what} aborted` : `${what} timed out after ${service.restartTimeout} s`;
      return { ok: false, reason, output: expired === undefined ? apiMessage(err) : '', exitCode: null, signal: null, timedOut: expired !== undefined && expired !== 'aborted' };
    } finally {
      budget.dispose();
      // From the stop to the start, the stop events are Warden's own (the release gate's wait between).
      this.intents?.markOwn?.(service.container, from, Date.now());
    }
  }

  /** For docker://NAME: the container's state; for any other URL: the service's probe. Marks a deliberate stop. */
  async checkHealth(service: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    const result = await this.checkState(service, signal);
    const intents = this.intents;
    if (result.state !== 'down' || !intents) return result;
    if (!intents.stoppedOnPurpose(service.container)) await this.catchUp(service, intents, signal);
    if (!intents.stoppedOnPurpose(service.container)) return result;
    return { ...result, stoppedOnPurpose: true, reason: `container ${service.container} was stopped on purpose (docker stop)` };
  }

  /**
   * The live event stream trails a probe: the watch connection sees the port close as the process
   * exits (or a kill-triggered probe finds the container exited) before the stream delivers what
   * `docker stop` logged. So before a down answer is reported, the daemon's own record of the
   * container's recent events is read: up to now while it still runs (a stop's kill is logged as
   * the signal is sent), or up to the die of its exit (logged as the exit is done) — so a stop is
   * never taken for a crash (§9.6). The intents apply each event once and in time order, whatever
   * mix of stream and history brings it. A daemon that cannot answer changes nothing.
   */
  private async catchUp(service: ResolvedService, intents: NonNullable<DockerServiceManagerOptions['intents']>, signal?: AbortSignal): Promise<void> {
    const budget = abortableBudget(service.serviceHealthTimeout * 1000, signal);
    try {
      const state = await this.inspectState(service.container, budget.signal);
      if (state === null) return;
      const now = Date.now();
      const finished = state.running || state.finishedAt === null ? null : Date.parse(state.finishedAt);
      await readContainerEvents(
        this.docker,
        service.container,
        { since: now - CATCH_UP_MS, until: finished === null ? now : Math.max(now, finished + DIE_SETTLE_MS) },
        (event) => {
          intents.record(event);
          return finished !== null && event.kind === 'die' && event.time >= finished - 1;
        },
        budget.signal,
      );
    } catch (err) {
      this.logger?.warn({ service: service.name, err: errorMessage(err) }, 'could not read recent docker events');
    } finally {
      budget.dispose();
    }
  }

  private async checkState(service: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    const name = DOCKER_URL.exec(service.healthUrl)?.[1];
    if (name === undefined) return this.probes.get(service).check(signal);
    const started = performance.now();
    const budget = abortableBudget(service.serviceHealthTimeout * 1000, signal);
    try {
      const info = await this.docker.getContainer(name).inspect({ abortSignal: budget.signal });
      const [state, reason] = judgeContainer(info.State);
      return probeResult(state, reason, started);
    } catch (err) {
      return probeResult('down', budget.expired() ?? describeDockerError(err, name), started);
    } finally {
      budget.dispose();
    }
  }

  /**
   * The container's state, or null when there is no such container. Rejects when the daemon
   * cannot answer (the caller cannot tell a stop from a crash then).
   */
  async inspectState(container: string, signal?: AbortSignal): Promise<ContainerState | null> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(container).inspect({ abortSignal: signal });
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw new Error(describeDockerError(err, container), { cause: err });
    }
    const s = info.State;
    // A never-started container reports ExitCode 0; one that failed to start reports 127 & co.
    const neverRan = s.Status === 'created' && s.ExitCode === 0;
    return {
      running: s.Running,
      status: s.Status,
      exitCode: s.Running || neverRan ? null : s.ExitCode,
      health: s.Health?.Status ?? null,
      finishedAt: s.FinishedAt && s.FinishedAt !== ZERO_TIME ? s.FinishedAt : null,
      oomKilled: s.OOMKilled,
    };
  }

  /** The container's full id (its processes' cgroup paths hold it), or null when there is none. */
  async containerId(container: string): Promise<string | null> {
    try {
      return (await this.docker.getContainer(container).inspect()).Id;
    } catch {
      return null;
    }
  }

  /** Nothing is held open: requests use one connection each and the event watcher is separate. */
  async close(): Promise<void> {}
}

/** up/loading/down from `State` (CONTRACT §2, docker row). */
export function judgeContainer(state: Dockerode.ContainerInspectInfo['State']): [ProbeResult['state'], string] {
  if (state.Restarting) return ['down', 'container restarting'];
  if (state.Paused) return ['down', 'container paused'];
  if (!state.Running) {
    if (state.Status === 'exited' || state.Status === 'dead') {
      return ['down', `container ${state.Status} (code ${state.ExitCode}${state.OOMKilled ? ', OOM killed' : ''})`];
    }
    return ['down', `container ${state.Status}${state.Error ? `: ${shorten(state.Error, 120)}` : ''}`];
  }
  const health = state.Health?.Status;
  if (health === undefined || health === 'none' || health === '') return ['up', 'container running'];
  if (health === 'healthy') return ['up', 'container running (healthy)'];
  if (health === 'starting') return ['loading', 'container health starting'];
  const last = state.Health?.Log?.at(-1)?.Output?.trim().split('\n')[0];
  return ['down', `container health ${health}${last ? `: ${shorten(last, 120)}` : ''}`];
}

/** A request's time budget as an AbortSignal; expired() says why it fired ("timeout after N ms" / "aborted"). */
function abortableBudget(timeoutMs: number, callerSignal: AbortSignal | undefined) {
  const controller = new AbortController();
  let why: string | undefined;
  const deadline = startDeadline(timeoutMs, callerSignal, (reason) => {
    why = reason;
    controller.abort(new Error(reason));
  });
  return { signal: controller.signal, expired: () => why, dispose: () => deadline.dispose() };
}

/** What docker-modem rejects with: a socket error (code) or an API answer (statusCode, json). */
type DockerError = Error & { code?: string; statusCode?: number; json?: { message?: unknown } };

function statusCode(err: unknown): number | undefined {
  return (err as DockerError).statusCode;
}

/** The daemon's own words ("No such container: x") when it answered, else the error message. */
function apiMessage(err: unknown): string {
  const message = (err as DockerError).json?.message;
  return typeof message === 'string' ? message : errorMessage(err);
}

function errorMessage(err: unknown): string {
  return (err as Error).message;
}

/** A short reason: "no such container: web", "Docker daemon not reachable: connect ENOENT /x.sock". */
export function describeDockerError(err: unknown, container: string): string {
  const code = (err as DockerError).code;
  if (code !== undefined && UNREACHABLE.has(code)) {
    return `Docker daemon not reachable: ${shorten(errorMessage(err), 160)}`;
  }
  if (statusCode(err) === 404) return `no such container: ${container}`;
  return shorten(apiMessage(err).trim(), 200);
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
